package loadgen

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// enrolClient speaks the server's HTTPS API: POST /enrol as a device, the
// admin API as the county admin.
type enrolClient struct {
	lg    *Loadgen
	c     *countyapi.Client
	admin chan struct{} // admin API calls in flight (argon2id per call)
}

func newEnrolClient(lg *Loadgen) *enrolClient {
	cfg := countyapi.DefaultConfig(lg.cfg.URL, lg.cfg.Fingerprint)
	cfg.Admin, cfg.Password = lg.cfg.Admin, lg.cfg.Password
	cfg.Timeout, cfg.ResponseHeaderTimeout = 2*time.Minute, time.Minute
	cfg.MaxIdleConnsPerHost = lg.cfg.SetupConcurrency
	cfg.DialContext = lg.dialTCP
	return &enrolClient{lg: lg, c: countyapi.New(cfg), admin: make(chan struct{}, 2)}
}

func (e *enrolClient) close() { e.c.CloseIdleConnections() }

// failed labels an error of the API client for the run's error counts: a
// refusal by its code, an answer that does not decode as enrol, anything
// else (no connection, no TLS, the pin) as dial.
func failed(err error) error {
	var ae *countyapi.APIError
	switch {
	case errors.As(err, &ae):
		return fail(string(ae.Code), err)
	case errors.Is(err, protocol.ErrMalformed):
		return fail(codeEnrol, err)
	}
	return fail(codeDial, err)
}

// enrol asks the county to enrol d and has the request approved.
func (e *enrolClient) enrol(ctx context.Context, d *device) error {
	lg := e.lg
	r := protocol.EnrolRequest{Key: d.key.Public().(ed25519.PublicKey), Office: d.office,
		DeviceName: fmt.Sprintf("压测终端-%04d", d.i+1), Staff: "压测工作人员", Time: time.Now().UnixMilli()}
	st, err := e.c.Enrol(ctx, r.Sign(d.key))
	if err != nil {
		return failed(err)
	}
	county, key := lg.County()
	if st.County != county || (key != nil && !bytes.Equal(st.CountyKey, key)) {
		return fail(string(protocol.CodeWrongServer), fmt.Errorf("enrolment answered for county %s with another key", st.County))
	}
	switch st.Status {
	case countyapi.EnrolApproved:
		return nil
	case countyapi.EnrolPending:
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
	if _, err := e.c.Approve(ctx, d.id, countyapi.ApproveRequest{}); err != nil {
		return failed(err)
	}
	return nil
}

// Online asks the admin API how many devices have a session open. It
// needs the admin credential.
func (lg *Loadgen) Online(ctx context.Context) (int, error) {
	devs, err := lg.http.c.Devices(ctx)
	if err != nil {
		return 0, failed(err)
	}
	n := 0
	for _, d := range devs {
		if d.Online {
			n++
		}
	}
	return n, nil
}
