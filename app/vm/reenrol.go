package vm

import (
	"context"
	"errors"

	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// A device whose chain forked (restored from an old backup, or its file
// copied to a second machine) cannot sync under its key again. Its user
// asks for re-enrolment, the county admin approves it like an enrolment,
// and the device re-keys, carrying over the work the county never
// accepted (store/rekey.go). Reenrol is that flow for the status bar.

// OffersReenrol reports whether the status bar should offer re-enrolment:
// sync stopped on a fork. While a request waits for the admin the engine
// keeps stopping on the fork at each start, so the offer stays.
func OffersReenrol(s engine.Status) bool {
	return s.State == engine.StateStopped && s.Code == protocol.CodeFork
}

// ReenrolResult is one step of the re-enrolment flow.
type ReenrolResult struct {
	// Status is the line to show: asked and pending (with the new device
	// ID to read to the admin), rejected with the reason, or done with
	// what was carried over.
	Status Message
	// Session is the session under the new key once done; the app
	// replaces its session with it and starts sync again. Nil before.
	Session *store.Session
	Rekey   store.Rekey
}

// Reenrol asks for re-enrolment when request is set or nothing was asked
// yet (asking again after a rejection is harmless: the same new key is
// asked for), and otherwise asks where the request stands; once the county
// has approved it, it re-keys the device. srv is the county server the
// device is enrolled with.
func Reenrol(ctx context.Context, se *store.Session, srv engine.Server, request bool) (ReenrolResult, error) {
	_, asked, err := se.Successor()
	if err != nil {
		return ReenrolResult{}, err
	}
	var en *engine.Enrolment
	if asked && !request {
		nse, got, res, err := engine.CompleteReenrolment(ctx, srv, se)
		switch {
		case err == nil && nse != nil:
			return ReenrolResult{Status: Msg("ui.reenrol.done", res.Carried, res.Forked), Session: nse, Rekey: res}, nil
		case err == nil && got.Status == countyapi.EnrolRejected:
			return ReenrolResult{Status: Msg("ui.reenrol.rejected", got.Reason)}, nil
		case errors.Is(err, protocol.ErrUnknownDevice) || errors.Is(err, protocol.ErrNotFound):
			request = true // the county has no such request (restored from a backup): ask again
		case err != nil:
			return ReenrolResult{}, err
		default:
			en = got
		}
	}
	if !asked || request {
		if en, err = engine.RequestReenrolment(ctx, srv, se); err != nil {
			return ReenrolResult{}, err
		}
	}
	id, _, err := se.Successor()
	if err != nil {
		return ReenrolResult{}, err
	}
	return ReenrolResult{Status: Msg("ui.reenrol.pending", id.String(), en.CarryFrom)}, nil
}
