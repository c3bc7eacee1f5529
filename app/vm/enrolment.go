package vm

import (
	"context"

	"jiannuo/store"
	"jiannuo/sync/engine"
)

// Enrolment later: a device set up without enrolling (skipped in the
// wizard, or its request was rejected) enrols from the menu or the status
// bar with the wizard's own steps (ParseServer, EnrolNow): the device ID to
// read to the county admin, the server's address and certificate
// fingerprint as the county gives them, pending → approved as the admin
// decides.

// FingerprintChars is how wide a fingerprint field must be to show one
// whole, 32 hex pairs and 31 colons, so that it can be checked by eye.
const FingerprintChars = 95

// NeedsEnrolment reports whether the device works without a county: it
// never enrolled, or its request is pending or was rejected. The menu and
// the status bar offer enrolment then.
func NeedsEnrolment(s *store.Store) bool {
	set, ok, err := s.SyncSettings()
	return err == nil && (!ok || !set.Enrolled)
}

// EnrolPending reports whether m, what Request or Check said, is that the
// request waits for the county admin: the dialog asks again in a while.
func EnrolPending(m Message) bool { return m.Key == "ui.enrol.pending" }

// LaterEnrolment is the enrolment dialog's view-model. For one goroutine
// at a time; Request and Check go to the network: run them off the UI
// goroutine.
type LaterEnrolment struct {
	se *store.Session
}

// NewLaterEnrolment returns the enrolment of session se's device.
func NewLaterEnrolment(se *store.Session) *LaterEnrolment { return &LaterEnrolment{se: se} }

// DeviceID is the device's ID, whole, as the admin sees it in the request
// ("MFRGGZD-FMZTWQ3-2LKNNWG-23TPOAT"): to read out, or to copy.
func (e *LaterEnrolment) DeviceID() string { return e.se.Device().ID.String() }

// Saved returns the county server address and fingerprint the device
// asked before (a pending or rejected request), to fill the fields in;
// empty when it never asked.
func (e *LaterEnrolment) Saved() (address, fingerprint string) {
	set, ok, err := e.se.Store().SyncSettings()
	if err != nil || !ok {
		return "", ""
	}
	return set.BaseURL, set.Fingerprint
}

// Request sends the enrolment request to srv (asking again is harmless;
// after a rejection it asks anew) and says where it stands.
func (e *LaterEnrolment) Request(ctx context.Context, srv engine.Server) (Message, bool, error) {
	return EnrolNow(ctx, e.se, srv, true)
}

// Check asks srv where the request stands, sending it if the county has
// none; approved once the admin approved it (the settings are saved and
// the device is marked enrolled: sync can start).
func (e *LaterEnrolment) Check(ctx context.Context, srv engine.Server) (Message, bool, error) {
	return EnrolNow(ctx, e.se, srv, false)
}
