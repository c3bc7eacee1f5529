package engine

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

	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// Server names a county server as a device knows it after enrolment: where
// it is and how to recognise it.
type Server struct {
	// BaseURL is https://host:port (http:// only for loopback development).
	BaseURL string
	// Fingerprint is the TLS certificate fingerprint read out by the county
	// admin and pinned by the device.
	Fingerprint string
}

// SyncURL returns the websocket endpoint of the server.
func (s Server) SyncURL() string {
	u := strings.TrimSuffix(s.BaseURL, "/")
	switch {
	case strings.HasPrefix(u, "https://"):
		u = "wss://" + strings.TrimPrefix(u, "https://")
	case strings.HasPrefix(u, "http://"):
		u = "ws://" + strings.TrimPrefix(u, "http://")
	}
	return u + "/sync"
}

func (s Server) client() *http.Client {
	tr := &http.Transport{TLSClientConfig: protocol.PinnedTLSConfig(s.Fingerprint), ResponseHeaderTimeout: 30 * time.Second}
	return &http.Client{Transport: tr, Timeout: time.Minute}
}

// Enrolment is what the county says about this device's enrolment.
type Enrolment struct {
	Status    string // pending, approved, rejected, revoked
	Reason    string // of a rejection or revocation
	County    office.Code
	CountyKey ed25519.PublicKey
	// Certificate is set once approved, verified with CountyKey and checked
	// to be for this device.
	Certificate *protocol.Certificate
	// Replaces and CarryFrom answer a re-enrolment: the device this one
	// replaces and the first of its change sets to carry over.
	Replaces  protocol.DeviceID
	CarryFrom uint64
}

type enrolStatus struct {
	Status      string            `json:"status"`
	Reason      string            `json:"reason"`
	County      office.Code       `json:"county"`
	CountyKey   []byte            `json:"county_key"`
	Certificate []byte            `json:"certificate"`
	Replaces    protocol.DeviceID `json:"replaces"`
	CarryFrom   uint64            `json:"carry_from"`
}

type apiError struct {
	Code    protocol.Code `json:"code"`
	Message string        `json:"message"`
}

// RequestEnrolment asks the county to enrol this device. It is safe to call
// again: a pending request stays pending.
func RequestEnrolment(ctx context.Context, srv Server, se *store.Session) (*Enrolment, error) {
	body := se.EnrolRequest(time.Now())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(srv.BaseURL, "/")+"/enrol", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	return doEnrol(srv, req, se.Device())
}

// EnrolmentStatus asks where this device's enrolment stands; the app polls
// it to show pending → approved live. When approved, it also registers the
// device's certificate in the store.
func EnrolmentStatus(ctx context.Context, srv Server, se *store.Session) (*Enrolment, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(srv.BaseURL, "/")+"/enrol/"+se.Device().ID.String(), nil)
	if err != nil {
		return nil, err
	}
	return doEnrol(srv, req, se.Device())
}

// doEnrol sends an enrolment request or status query and, when the answer
// is an approval, checks that the certificate is for rec: its key, office
// and kind.
func doEnrol(srv Server, req *http.Request, rec store.DeviceRecord) (*Enrolment, error) {
	resp, err := srv.client().Do(req)
	if err != nil {
		if strings.Contains(err.Error(), "pinned fingerprint") {
			return nil, &FatalError{Code: protocol.CodeWrongServer, Message: err.Error()}
		}
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		var ae apiError
		if json.Unmarshal(raw, &ae) == nil && ae.Code != "" {
			return nil, fmt.Errorf("enrolment: %w: %s", protocol.ErrorFor(ae.Code), ae.Message)
		}
		return nil, fmt.Errorf("enrolment: %s", resp.Status)
	}
	var st enrolStatus
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("enrolment: %w: %v", protocol.ErrMalformed, err)
	}
	out := &Enrolment{Status: st.Status, Reason: st.Reason, County: st.County, CountyKey: st.CountyKey,
		Replaces: st.Replaces, CarryFrom: st.CarryFrom}
	if st.Status == "approved" {
		cert, err := protocol.OpenCertificate(st.Certificate, st.CountyKey)
		if err != nil {
			return nil, fmt.Errorf("enrolment certificate: %w", err)
		}
		if cert.Device != rec.ID {
			return nil, fmt.Errorf("%w: certificate for another device", protocol.ErrWrongDevice)
		}
		if cert.Office != rec.Office || cert.Admin != rec.Admin {
			// Records made offline belong to the office the device was set
			// up for; binding it elsewhere would strand them.
			return nil, fmt.Errorf("%w: the county enrolled this device for office %s (admin %v), it was set up for %s (admin %v): set it up again for that office",
				protocol.ErrOutOfScope, cert.Office, cert.Admin, rec.Office, rec.Admin)
		}
		out.Certificate = cert
	}
	return out, nil
}

// Calendar returns the holiday calendar a device should use: the built-in
// one, with the newest county calendar update it has received laid over
// it. An update that no longer verifies is ignored.
func Calendar(st *store.Store, countyKey ed25519.PublicKey) *calendar.Calendar {
	cal := calendar.Default()
	_, doc, ok, err := st.CalendarUpdate()
	if err != nil || !ok || len(countyKey) == 0 {
		return cal
	}
	u, err := protocol.OpenCalendarUpdate(doc, countyKey)
	if err != nil {
		return cal
	}
	o, err := calendar.ParseOverlay(u.Overlay)
	if err != nil {
		return cal
	}
	return cal.WithOverlay(o)
}
