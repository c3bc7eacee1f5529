package loadgen

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// enrolClient speaks the server's HTTPS API: POST /enrol as a device, the
// admin API as the county admin.
type enrolClient struct {
	lg    *Loadgen
	c     *http.Client
	admin chan struct{} // admin API calls in flight (argon2id per call)
}

func newEnrolClient(lg *Loadgen) *enrolClient {
	tr := &http.Transport{
		MaxIdleConnsPerHost:   lg.cfg.SetupConcurrency,
		ResponseHeaderTimeout: time.Minute,
		DialContext:           lg.dialTCP,
	}
	if strings.HasPrefix(lg.cfg.URL, "https://") {
		tr.TLSClientConfig = protocol.PinnedTLSConfig(lg.cfg.Fingerprint)
	}
	return &enrolClient{lg: lg, c: &http.Client{Transport: tr, Timeout: 2 * time.Minute}, admin: make(chan struct{}, 2)}
}

func (e *enrolClient) close() { e.c.CloseIdleConnections() }

// enrolReply is the JSON of /enrol answers and of refusals.
type enrolReply struct {
	Status    string        `json:"status"`
	Reason    string        `json:"reason"`
	County    office.Code   `json:"county"`
	CountyKey []byte        `json:"county_key"`
	Code      protocol.Code `json:"code"`
	Message   string        `json:"message"`
}

// do sends a request and decodes the JSON answer into v; a refusal becomes
// an error carrying the server's code.
func (e *enrolClient) do(req *http.Request, v any) error {
	resp, err := e.c.Do(req)
	if err != nil {
		return fail(codeDial, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fail(codeConnection, err)
	}
	if resp.StatusCode >= 300 {
		var r enrolReply
		if json.Unmarshal(raw, &r) == nil && r.Code != "" {
			return fail(string(r.Code), fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Path, resp.Status, r.Message))
		}
		return fail(codeEnrol, fmt.Errorf("%s %s: %s", req.Method, req.URL.Path, resp.Status))
	}
	if v == nil {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fail(codeEnrol, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err))
	}
	return nil
}

// enrol asks the county to enrol d and has the request approved.
func (e *enrolClient) enrol(ctx context.Context, d *device) error {
	lg := e.lg
	r := protocol.EnrolRequest{Key: d.key.Public().(ed25519.PublicKey), Office: d.office,
		DeviceName: fmt.Sprintf("压测终端-%04d", d.i+1), Staff: "压测工作人员", Time: time.Now().UnixMilli()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, lg.cfg.URL+"/enrol", bytes.NewReader(r.Sign(d.key)))
	if err != nil {
		return err
	}
	var st enrolReply
	if err := e.do(req, &st); err != nil {
		return err
	}
	county, key := lg.County()
	if st.County != county || (key != nil && !bytes.Equal(st.CountyKey, key)) {
		return fail(string(protocol.CodeWrongServer), fmt.Errorf("enrolment answered for county %s with another key", st.County))
	}
	switch st.Status {
	case "approved":
		return nil
	case "pending":
	default:
		return fail(codeEnrol, fmt.Errorf("enrolment is %s: %s", st.Status, st.Reason))
	}
	if lg.cfg.Approve != nil {
		return lg.cfg.Approve(ctx, d.id)
	}
	select {
	case e.admin <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-e.admin }()
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, lg.cfg.URL+"/admin/enrolments/"+d.id.String()+"/approve", strings.NewReader("{}"))
	if err != nil {
		return err
	}
	req.SetBasicAuth(lg.cfg.Admin, lg.cfg.Password)
	req.Header.Set("Content-Type", "application/json")
	return e.do(req, nil)
}

// Online asks the admin API how many devices have a session open. It
// needs the admin credential.
func (lg *Loadgen) Online(ctx context.Context) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, lg.cfg.URL+"/admin/devices", nil)
	if err != nil {
		return 0, err
	}
	req.SetBasicAuth(lg.cfg.Admin, lg.cfg.Password)
	var devs []struct {
		Online bool `json:"online"`
	}
	if err := lg.http.do(req, &devs); err != nil {
		return 0, err
	}
	n := 0
	for _, d := range devs {
		if d.Online {
			n++
		}
	}
	return n, nil
}
