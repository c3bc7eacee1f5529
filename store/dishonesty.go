package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// Government dishonesty records (政务失信记录). Each operation on a record
// (its creation and every later step) is kept as an event, append-only, in
// bDishonestyLog; the record in bDishonesty is derived from the set of its
// events alone, so replicas that received them in any order hold the same
// bytes.

// DishonestyEvent is one operation on a dishonesty record: its creation
// (Step domain.StepRecorded) or a later step.
type DishonestyEvent struct {
	Op          protocol.OpID         `json:"op"`
	HLC         protocol.HLC          `json:"hlc"`
	Author      string                `json:"author"`
	Commitment  Ref                   `json:"commitment"`
	Step        domain.DishonestyStep `json:"step"`
	Reason      string                `json:"reason"`
	Type        domain.DishonestyType `json:"type,omitempty"`
	Official    string                `json:"official,omitempty"`
	Deadline    string                `json:"deadline,omitempty"` // YYYY-MM-DD
	Explanation string                `json:"explanation,omitempty"`
	Evidence    []protocol.Hash       `json:"evidence,omitempty"`
}

// DishonestyRecord is the current view of a government dishonesty record.
type DishonestyRecord struct {
	Office     office.Code       `json:"office"` // the commitment's office (township)
	ID         protocol.EntityID `json:"id"`
	Commitment Ref               `json:"commitment"`
	// Recorded is false while only later steps have arrived (they may
	// overtake the record itself on the way).
	Recorded    bool                  `json:"recorded"`
	Type        domain.DishonestyType `json:"type,omitempty"`
	Official    string                `json:"official,omitempty"` // 惩戒到人
	Deadline    string                `json:"deadline,omitempty"` // rectification deadline, YYYY-MM-DD
	Reason      string                `json:"reason,omitempty"`   // the facts recorded
	Explanation string                `json:"explanation,omitempty"`
	RecordedBy  string                `json:"recorded_by,omitempty"`
	RecordedAt  protocol.HLC          `json:"recorded_at,omitempty"`
	// Status is the furthest step reached; StepRepaired closes the record.
	Status    domain.DishonestyStep `json:"status"`
	Closed    bool                  `json:"closed"`
	UpdatedAt protocol.HLC          `json:"updated_at"`

	// History is every event, oldest first (filled by the queries, not
	// stored in the view).
	History []DishonestyEvent `json:"history,omitempty"`
}

// DishonestyInput is a new dishonesty record.
type DishonestyInput struct {
	Type domain.DishonestyType
	// Official is the responsible official; empty means the commitment's.
	Official    string
	Deadline    calendar.Date // rectification deadline; zero if none
	Reason      string        // the judgment, decision or finding
	Explanation string        // written explanation already received, if any
	Evidence    []protocol.Hash
}

// DishonestyFilter selects dishonesty records; the zero value selects all.
type DishonestyFilter struct {
	Office     office.Code // this office and every office under it
	Commitment *Ref
	Type       domain.DishonestyType
	OpenOnly   bool // leave out closed (credit-repaired) records
}

func (f DishonestyFilter) match(r *DishonestyRecord) bool {
	return (f.Office == "" || f.Office.Contains(r.Office)) &&
		(f.Commitment == nil || *f.Commitment == r.Commitment) &&
		(f.Type == "" || f.Type == r.Type) &&
		(!f.OpenOnly || !r.Closed)
}

func eventOf(dev protocol.DeviceID, author string, op *protocol.Op) DishonestyEvent {
	d := op.Dishonesty
	e := DishonestyEvent{Op: op.ID(dev), HLC: op.HLC, Author: author, Commitment: Ref{Office: op.Office, ID: op.Target},
		Step: d.Step, Reason: op.Reason, Type: d.Type, Official: d.Official, Explanation: d.Explanation, Evidence: d.Evidence}
	if op.Kind == protocol.OpDishonesty {
		e.Step = domain.StepRecorded
	}
	if !d.Deadline.IsZero() {
		e.Deadline = d.Deadline.String()
	}
	return e
}

func dishonestyKey(op *protocol.Op) Ref { return Ref{Office: op.Office, ID: op.Dishonesty.Record} }

// applyDishonesty appends the event and derives the record again.
func applyDishonesty(tx *bolt.Tx, dev protocol.DeviceID, author string, op *protocol.Op) error {
	e := eventOf(dev, author, op)
	return putEvent(tx, bDishonestyLog, bDishonesty, dishonestyKey(op), op.HLC, e.Op, e, deriveDishonesty)
}

func dishonestyEvents(tx *bolt.Tx, rk Ref) ([]DishonestyEvent, error) {
	return scanPrefix[DishonestyEvent](tx, bDishonestyLog, refKey(rk))
}

// deriveDishonesty computes a record from its events in key order (stamp,
// then operation): the same on every replica.
func deriveDishonesty(tx *bolt.Tx, rk Ref) (*DishonestyRecord, error) {
	events, err := dishonestyEvents(tx, rk)
	if err != nil {
		return nil, err
	}
	rec := &DishonestyRecord{Office: rk.Office, ID: rk.ID}
	for _, e := range events {
		if rec.Commitment == (Ref{}) {
			rec.Commitment = e.Commitment
		}
		if e.Step == domain.StepRecorded && !rec.Recorded {
			rec.Recorded, rec.Commitment = true, e.Commitment
			rec.Type, rec.Official, rec.Deadline, rec.Reason = e.Type, e.Official, e.Deadline, e.Reason
			rec.RecordedBy, rec.RecordedAt = e.Author, e.HLC
		}
		if e.Explanation != "" {
			rec.Explanation = e.Explanation
		}
		if e.Step.Rank() > rec.Status.Rank() {
			rec.Status = e.Step
		}
		rec.UpdatedAt = max(rec.UpdatedAt, e.HLC)
	}
	rec.Closed = rec.Status == domain.StepRepaired
	return rec, nil
}

// DishonestyRecords returns the records f selects, with their history, in
// key order (office, then ID).
func (s *Store) DishonestyRecords(f DishonestyFilter) ([]DishonestyRecord, error) {
	var out []DishonestyRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bDishonesty).ForEach(func(_, v []byte) error {
			var r DishonestyRecord
			if err := unmarshal(v, &r); err != nil {
				return err
			}
			if !f.match(&r) {
				return nil
			}
			var err error
			r.History, err = dishonestyEvents(tx, Ref{Office: r.Office, ID: r.ID})
			out = append(out, r)
			return err
		})
	})
	return out, err
}

// DishonestyRecord returns one record of office o, with its history.
func (s *Store) DishonestyRecord(o office.Code, id protocol.EntityID) (DishonestyRecord, error) {
	var r DishonestyRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		return loadDishonesty(tx, Ref{Office: o, ID: id}, &r)
	})
	return r, err
}

func loadDishonesty(tx *bolt.Tx, rk Ref, r *DishonestyRecord) error {
	v := tx.Bucket(bDishonesty).Get(refKey(rk))
	if v == nil {
		return fmt.Errorf("%w: dishonesty record %s", ErrNotFound, rk)
	}
	if err := unmarshal(v, r); err != nil {
		return err
	}
	var err error
	r.History, err = dishonestyEvents(tx, rk)
	return err
}

// RecordDishonesty records a government dishonesty record against a
// commitment (§四(二)–(三)). County admins on a county-admin device only;
// confirming the breach itself is Transition to domain.StatusBreached.
func (se *Session) RecordDishonesty(ref Ref, in DishonestyInput) (protocol.EntityID, error) {
	if !se.rec.Admin || se.acct.Role != domain.RoleCountyAdmin {
		return protocol.EntityID{}, fmt.Errorf("%w: only a county admin records government dishonesty", domain.ErrNotAllowed)
	}
	id := protocol.NewEntityID()
	_, err := se.act(func(tx *bolt.Tx) (*protocol.Op, error) {
		view, err := arrivedView(tx, ref)
		if err != nil {
			return nil, err
		}
		if err := haveBlobs(tx, in.Evidence); err != nil {
			return nil, err
		}
		official := in.Official
		if official == "" {
			official = view.Responsible
		}
		return &protocol.Op{Kind: protocol.OpDishonesty, Office: ref.Office, Target: ref.ID, Reason: in.Reason,
			Dishonesty: &protocol.Dishonesty{Record: id, Type: in.Type, Official: official, Deadline: in.Deadline,
				Explanation: in.Explanation, Evidence: protocol.SortHashes(in.Evidence)}}, nil
	})
	if err != nil {
		return protocol.EntityID{}, err
	}
	return id, nil
}

// DishonestyStep takes a record of office o a step further: explanation
// received (explanation required), rectified or credit repaired (evidence
// required; repair closes it). Steps only go forward; a closed record
// takes none.
func (se *Session) DishonestyStep(o office.Code, id protocol.EntityID, step domain.DishonestyStep, reason, explanation string, evidence []protocol.Hash) error {
	if !se.rec.Admin || se.acct.Role != domain.RoleCountyAdmin {
		return fmt.Errorf("%w: only a county admin moves a dishonesty record on", domain.ErrNotAllowed)
	}
	_, err := se.act(func(tx *bolt.Tx) (*protocol.Op, error) {
		var r DishonestyRecord
		if err := loadDishonesty(tx, Ref{Office: o, ID: id}, &r); err != nil {
			return nil, err
		}
		if !r.Recorded {
			return nil, fmt.Errorf("%w: dishonesty record %s has not fully arrived", ErrNotFound, id)
		}
		if r.Closed || step.Rank() <= r.Status.Rank() {
			return nil, fmt.Errorf("%w: dishonesty record is %s, cannot go to %s", ErrNotEditable, r.Status, step)
		}
		if err := haveBlobs(tx, evidence); err != nil {
			return nil, err
		}
		return &protocol.Op{Kind: protocol.OpDishonestyStep, Office: o, Target: r.Commitment.ID, Reason: reason,
			Dishonesty: &protocol.Dishonesty{Record: id, Step: step, Explanation: explanation, Evidence: protocol.SortHashes(evidence)}}, nil
	})
	return err
}

func haveBlobs(tx *bolt.Tx, hs []protocol.Hash) error {
	blobs := tx.Bucket(bBlobs)
	for _, h := range hs {
		if blobs.Get(h[:]) == nil {
			return fmt.Errorf("%w: evidence %s", ErrNotFound, h.String()[:12])
		}
	}
	return nil
}

// checkDishonesty verifies that every record is what its events derive and
// every event belongs to a record (Check).
func checkDishonesty(tx *bolt.Tx, bad func(string, ...any)) error {
	return checkDerivedViews(tx, bDishonesty, bDishonestyLog, "dishonesty record", deriveDishonesty, bad)
}
