package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// ErrNoReenrolment means this device has not asked to be re-enrolled.
var ErrNoReenrolment = errors.New("no re-enrolment was asked for")

// RequestReenrolment asks the county to enrol a new key in place of this
// device, the way out of a fork (see store.Session.PrepareReenrolment). It
// is safe to call again: the same new key is asked for.
func RequestReenrolment(ctx context.Context, srv Server, se *store.Session) (*Enrolment, error) {
	body, id, err := se.PrepareReenrolment(time.Now())
	if err != nil {
		return nil, err
	}
	st, err := srv.client().Reenrol(ctx, body)
	return enrolment(st, err, successorRecord(se, id))
}

// ReenrolmentStatus asks where this device's re-enrolment stands.
func ReenrolmentStatus(ctx context.Context, srv Server, se *store.Session) (*Enrolment, error) {
	id, ok, err := se.Successor()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNoReenrolment
	}
	st, err := srv.client().EnrolmentStatus(ctx, id)
	return enrolment(st, err, successorRecord(se, id))
}

// CompleteReenrolment re-keys the device once the county has approved its
// re-enrolment, carrying over the work the county never accepted, and
// returns the session under the new key (the old one must no longer be
// used; restart the engine with the new one). While the request is pending
// or was rejected it returns a nil session and the enrolment as it stands.
func CompleteReenrolment(ctx context.Context, srv Server, se *store.Session) (*store.Session, *Enrolment, store.Rekey, error) {
	en, err := ReenrolmentStatus(ctx, srv, se)
	if err != nil || en.Status != countyapi.EnrolApproved {
		return nil, en, store.Rekey{}, err
	}
	if en.Replaces != se.Device().ID || en.CarryFrom == 0 {
		return nil, en, store.Rekey{}, fmt.Errorf("%w: the county's approval replaces %s from %d, this device is %s",
			protocol.ErrWrongDevice, en.Replaces, en.CarryFrom, se.Device().ID)
	}
	nse, res, err := se.Rekey(en.Certificate, en.CarryFrom)
	return nse, en, res, err
}

// successorRecord is what the certificate for the new key must say: the
// old device's office and kind.
func successorRecord(se *store.Session, id protocol.DeviceID) store.DeviceRecord {
	rec := se.Device()
	rec.ID = id
	return rec
}
