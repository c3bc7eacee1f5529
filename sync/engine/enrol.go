package engine

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"time"

	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// Server names a county server as a device knows it after enrolment: where
// it is and how to recognise it.
type Server struct {
	// BaseURL is https://host:port (http:// only for loopback development:
	// elsewhere every call fails with countyapi.ErrInsecureURL).
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

// client is the county API client for the server, without an admin
// credential: a device only asks about its own enrolment.
func (s Server) client() *countyapi.Client {
	return countyapi.New(countyapi.DefaultConfig(s.BaseURL, s.Fingerprint))
}

// Enrolment is what the county says about this device's enrolment.
type Enrolment struct {
	Status    countyapi.EnrolmentStatus
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

// RequestEnrolment asks the county to enrol this device. It is safe to call
// again: a pending request stays pending.
func RequestEnrolment(ctx context.Context, srv Server, se *store.Session) (*Enrolment, error) {
	st, err := srv.client().Enrol(ctx, se.EnrolRequest(time.Now()))
	return enrolment(st, err, se.Device())
}

// EnrolmentStatus asks where this device's enrolment stands; the app polls
// it to show pending → approved live. When approved, it also registers the
// device's certificate in the store.
func EnrolmentStatus(ctx context.Context, srv Server, se *store.Session) (*Enrolment, error) {
	st, err := srv.client().EnrolmentStatus(ctx, se.Device().ID)
	return enrolment(st, err, se.Device())
}

// enrolment turns the county's answer to an enrolment request or status
// query into an Enrolment and, when it is an approval, checks that the
// certificate is for rec: its key, office and kind. A server that is not
// the pinned one stops the device (FatalError, wrong_server).
func enrolment(st *countyapi.EnrolStatus, err error, rec store.DeviceRecord) (*Enrolment, error) {
	if errors.Is(err, protocol.ErrWrongServer) {
		return nil, &FatalError{Code: protocol.CodeWrongServer, Message: err.Error()}
	}
	if err != nil {
		return nil, fmt.Errorf("enrolment: %w", err)
	}
	out := &Enrolment{Status: st.Status, Reason: st.Reason, County: st.County, CountyKey: st.CountyKey,
		Replaces: st.Replaces, CarryFrom: st.CarryFrom}
	if st.Status == countyapi.EnrolApproved {
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
