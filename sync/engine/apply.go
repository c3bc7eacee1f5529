package engine

import (
	"errors"
	"fmt"
	"time"

	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// What the county sends down is taken the same way whether it came over a
// session or in a return file (file.go): each signed document is opened
// with the county key first, then stored.

// openCertificate opens a certificate the county sent.
func (e *Engine) openCertificate(body []byte) (*protocol.Certificate, error) {
	cert, err := protocol.OpenCertificate(body, e.cfg.CountyKey)
	if err != nil {
		return nil, &FatalError{Code: protocol.CodeOf(err), Message: "certificate from the server: " + err.Error()}
	}
	return cert, nil
}

// putCertificate records a device the county certified, so this replica
// verifies what it wrote.
func (e *Engine) putCertificate(body []byte) error {
	cert, err := e.openCertificate(body)
	if err != nil {
		return err
	}
	return e.st.PutDevice(store.DeviceRecord{ID: cert.Device, Key: cert.Key, Office: cert.Office, Name: cert.Name, Admin: cert.Admin})
}

// openCalendar opens a calendar update the county sent.
func (e *Engine) openCalendar(body []byte) (*protocol.CalendarUpdate, error) {
	u, err := protocol.OpenCalendarUpdate(body, e.cfg.CountyKey)
	if err != nil {
		return nil, &FatalError{Code: protocol.CodeOf(err), Message: "calendar update from the server: " + err.Error()}
	}
	return u, nil
}

// putCalendar stores the county's working-day calendar if it is newer,
// and returns its version if it was.
func (e *Engine) putCalendar(body []byte) error {
	_, err := e.storeCalendar(body)
	return err
}

func (e *Engine) storeCalendar(body []byte) (uint64, error) {
	u, err := e.openCalendar(body)
	if err != nil {
		return 0, err
	}
	stored, err := e.st.SetCalendarUpdate(u.Version, body)
	if err != nil || !stored {
		return 0, err
	}
	e.log.Info("calendar update received", "version", u.Version)
	e.update(func(s *Status) { s.CalendarVersion = u.Version })
	return u.Version, nil
}

// openRevocation opens a revocation the county sent.
func (e *Engine) openRevocation(body []byte) (*protocol.Revocation, error) {
	rv, err := protocol.OpenRevocation(body, e.cfg.CountyKey)
	if err != nil {
		return nil, &FatalError{Code: protocol.CodeOf(err), Message: "revocation from the server: " + err.Error()}
	}
	return rv, nil
}

// putRevocation records that the county revoked a device: this replica
// then refuses anything newer from it (it already holds all it wrote
// before).
func (e *Engine) putRevocation(body []byte) error {
	rv, err := e.openRevocation(body)
	if err != nil {
		return err
	}
	rec, err := e.st.DeviceRecord(rv.Device)
	if errors.Is(err, store.ErrNotFound) || rv.Device == e.dev {
		return nil // a device this replica never heard of; or this one (told at hello)
	}
	if err != nil || rec.Revoked {
		return err
	}
	rec.Revoked, rec.Reason = true, rv.Reason
	return e.st.PutDevice(rec)
}

// openReceipt checks a receipt: it verifies with the county key, names
// this device, and names the change set this device holds with its
// number (else the device forked). It returns that change set.
func (e *Engine) openReceipt(body []byte) (*protocol.Receipt, *protocol.ChangeSet, error) {
	rc, err := protocol.OpenReceipt(body, e.cfg.CountyKey)
	if err != nil || rc.Device != e.dev {
		return nil, nil, &FatalError{Code: protocol.CodeWrongServer, Message: fmt.Sprintf("receipt does not verify with the county key: %v", err)}
	}
	raw, err := e.st.ChangeSets(e.dev, rc.Seq-1, 1)
	if err != nil || len(raw) != 1 {
		return nil, nil, fmt.Errorf("receipt for change set %d this device does not hold", rc.Seq)
	}
	cs, err := protocol.Decode(raw[0])
	if err != nil || cs.Hash() != rc.Hash || cs.Seq != rc.Seq {
		return nil, nil, &FatalError{Code: protocol.CodeFork, Message: fmt.Sprintf("the county's receipt for %d names other content", rc.Seq)}
	}
	return rc, cs, nil
}

// acknowledge stores a receipt openReceipt checked: the change set leaves
// the outbox.
func (e *Engine) acknowledge(rc *protocol.Receipt, body []byte) error {
	if err := e.st.Acknowledge(rc.Seq, body); err != nil {
		return err
	}
	e.progress.Add(1)
	e.update(func(s *Status) { s.LastReceiptSeq, s.LastReceiptTime = rc.Seq, time.UnixMilli(rc.Time) })
	return nil
}

// applyDelivered applies change sets from the county's feed with the feed
// position of the last (0: the cursor stays), in one transaction.
func (e *Engine) applyDelivered(pos uint64, raws [][]byte) error {
	res, err := e.st.ApplyFrom(pos, raws...)
	if err != nil {
		return err
	}
	for _, r := range res {
		if !r.Applied() {
			// The county accepted it, this replica cannot: a missing
			// certificate or a bug. Keep going; the admin sees the log.
			e.log.Error("change set from the county refused here", "from", r.Device, "seq", r.Seq, "code", string(r.Code), "err", r.Err)
		}
	}
	n := len(raws)
	e.update(func(s *Status) { s.ReceivedChangeSets += n })
	return nil
}
