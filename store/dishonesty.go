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
	// Detail is a † step's: the measure, the mitigation or the corrected
	// facts (protocol.Dishonesty.Detail).
	Detail string `json:"detail,omitempty"`
}

// DishonestyRecord is the current view of a government dishonesty record.
//
// The fields added for two-way accountability are all left out of the
// stored JSON when empty, so a record whose events predate them derives the
// very bytes it always had: replicas written by earlier releases pass Check
// without a migration.
type DishonestyRecord struct {
	Office     office.Code       `json:"office"` // the commitment's office (township)
	ID         protocol.EntityID `json:"id"`
	Commitment Ref               `json:"commitment"`
	// Recorded is false while only later steps have arrived (they may
	// overtake the record itself on the way).
	Recorded bool                  `json:"recorded"`
	Type     domain.DishonestyType `json:"type,omitempty"`
	Official string                `json:"official,omitempty"` // 惩戒到人
	Deadline string                `json:"deadline,omitempty"` // rectification deadline, YYYY-MM-DD
	// Reason is the facts shown: as recorded, or as last corrected (the
	// original stays in the history: OriginalFacts).
	Reason string `json:"reason,omitempty"`
	// Explanation is the written explanation the county holds: given with
	// the record or accepted (StepExplained). A submitted one awaiting the
	// county is in Pending.
	Explanation string       `json:"explanation,omitempty"`
	RecordedBy  string       `json:"recorded_by,omitempty"`
	RecordedAt  protocol.HLC `json:"recorded_at,omitempty"`
	// Status is the furthest progress step reached (recorded, explained,
	// rectified, repaired); StepRepaired closes the record.
	Status domain.DishonestyStep `json:"status"`
	// Closed: credit repaired, or withdrawn.
	Closed    bool         `json:"closed"`
	UpdatedAt protocol.HLC `json:"updated_at"`

	// Pending is what the township submitted (an explanation, or a
	// rectification with its evidence) that the county has neither
	// accepted (by taking StepExplained or StepRectified) nor returned.
	Pending *DishonestySubmission `json:"pending,omitempty"`
	// Returned is the last submission the county sent back, with its
	// reason, until the township submits again or the county moves the
	// record on.
	Returned *DishonestySubmission `json:"returned,omitempty"`
	// Sanctions are the disciplinary measures taken, oldest first (Detail:
	// a domain.SanctionMeasure).
	Sanctions []DishonestyAction `json:"sanctions,omitempty"`
	// Mitigation is the latest lighter treatment or exemption (Detail: a
	// domain.Mitigation).
	Mitigation *DishonestyAction `json:"mitigation,omitempty"`
	// Corrections are the corrections of the facts, oldest first (Detail:
	// the corrected facts; Reason: why). The last one's facts are Reason.
	Corrections []DishonestyAction `json:"corrections,omitempty"`
	// Withdrawn is the withdrawal (撤销) that closed the record: it is
	// never published again, and takes no further step.
	Withdrawn *DishonestyAction `json:"withdrawn,omitempty"`

	// History is every event, oldest first (filled by the queries, not
	// stored in the view).
	History []DishonestyEvent `json:"history,omitempty"`
}

// DishonestySubmission is what the township submitted on a record: a
// written explanation, or a rectification (its description and evidence).
type DishonestySubmission struct {
	Op          protocol.OpID         `json:"op"`
	HLC         protocol.HLC          `json:"hlc"`
	Author      string                `json:"author"`
	Step        domain.DishonestyStep `json:"step"` // StepExplanationSubmitted or StepRectificationSubmitted
	Explanation string                `json:"explanation,omitempty"`
	Description string                `json:"description,omitempty"` // a rectification's, or a note with an explanation
	Evidence    []protocol.Hash       `json:"evidence,omitempty"`
	// ReturnReason, ReturnedBy and ReturnedAt say why, by whom and when
	// the county sent it back (Returned only).
	ReturnReason string       `json:"return_reason,omitempty"`
	ReturnedBy   string       `json:"returned_by,omitempty"`
	ReturnedAt   protocol.HLC `json:"returned_at,omitempty"`
}

// DishonestyAction is a decision of the county on a record: a sanction, a
// mitigation, a correction or the withdrawal.
type DishonestyAction struct {
	Op     protocol.OpID `json:"op"`
	HLC    protocol.HLC  `json:"hlc"`
	Author string        `json:"author"`
	// Detail is the measure, the mitigation or the corrected facts; empty
	// for a withdrawal.
	Detail   string          `json:"detail,omitempty"`
	Reason   string          `json:"reason"`
	Evidence []protocol.Hash `json:"evidence,omitempty"`
}

// Measure returns a sanction's measure.
func (a DishonestyAction) Measure() domain.SanctionMeasure { return domain.SanctionMeasure(a.Detail) }

// Mitigation returns a mitigation's kind.
func (a DishonestyAction) Mitigation() domain.Mitigation { return domain.Mitigation(a.Detail) }

// Exempt reports whether the record is exempt from sanctions (免于惩戒).
func (r *DishonestyRecord) Exempt() bool {
	return r.Mitigation != nil && r.Mitigation.Mitigation() == domain.MitigationExempt
}

// OriginalFacts returns the facts as first recorded, from the history
// (the record as the queries return it): different from Reason once the
// record was corrected.
func (r *DishonestyRecord) OriginalFacts() string {
	for _, e := range r.History {
		if e.Step == domain.StepRecorded {
			return e.Reason
		}
	}
	return r.Reason
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
		Step: d.Step, Reason: op.Reason, Type: d.Type, Official: d.Official, Explanation: d.Explanation, Evidence: d.Evidence,
		Detail: d.Detail}
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
// then operation): the same on every replica. The progress steps apply as
// they always did (the furthest reached is the status); a submission
// counts only while the progress it asks for is not yet reached, a return
// only while something is pending; once withdrawn, later events are history
// only.
func deriveDishonesty(tx *bolt.Tx, rk Ref) (*DishonestyRecord, error) {
	events, err := dishonestyEvents(tx, rk)
	if err != nil {
		return nil, err
	}
	rec := &DishonestyRecord{Office: rk.Office, ID: rk.ID}
	for i := range events {
		e := &events[i]
		if rec.Commitment == (Ref{}) {
			rec.Commitment = e.Commitment
		}
		rec.UpdatedAt = max(rec.UpdatedAt, e.HLC)
		if e.Step == domain.StepRecorded && !rec.Recorded {
			rec.Recorded, rec.Commitment = true, e.Commitment
			rec.Type, rec.Official, rec.Deadline, rec.Reason = e.Type, e.Official, e.Deadline, e.Reason
			rec.RecordedBy, rec.RecordedAt = e.Author, e.HLC
		}
		if rec.Withdrawn == nil {
			stepDishonesty(rec, e)
		}
	}
	rec.Closed = rec.Status == domain.StepRepaired || rec.Withdrawn != nil
	return rec, nil
}

// stepDishonesty applies one event to a record that is not withdrawn.
func stepDishonesty(rec *DishonestyRecord, e *DishonestyEvent) {
	if e.Step.Rank() > 0 { // the record and the progress steps, as in the first release
		if e.Explanation != "" {
			rec.Explanation = e.Explanation
		}
		if e.Step.Rank() > rec.Status.Rank() {
			rec.Status = e.Step
		}
		// Accepting a submission settles it, and with it any earlier return.
		switch {
		case e.Step == domain.StepRecorded:
		case e.Step == domain.StepExplained && rec.Pending != nil && rec.Pending.Step != domain.StepExplanationSubmitted:
			// A rectification awaits the county still.
			rec.Returned = nil
		default:
			rec.Pending, rec.Returned = nil, nil
		}
		return
	}
	action := func() *DishonestyAction {
		return &DishonestyAction{Op: e.Op, HLC: e.HLC, Author: e.Author, Detail: e.Detail, Reason: e.Reason, Evidence: e.Evidence}
	}
	switch e.Step {
	case domain.StepExplanationSubmitted, domain.StepRectificationSubmitted:
		if rec.Status.Rank() < acceptedBy(e.Step).Rank() {
			rec.Pending = &DishonestySubmission{Op: e.Op, HLC: e.HLC, Author: e.Author, Step: e.Step,
				Explanation: e.Explanation, Description: e.Reason, Evidence: e.Evidence}
			rec.Returned = nil
		}
	case domain.StepReturned:
		if p := rec.Pending; p != nil {
			p.ReturnReason, p.ReturnedBy, p.ReturnedAt = e.Reason, e.Author, e.HLC
			rec.Pending, rec.Returned = nil, p
		}
	case domain.StepSanctioned:
		rec.Sanctions = append(rec.Sanctions, *action())
	case domain.StepMitigated:
		rec.Mitigation = action()
	case domain.StepCorrected:
		rec.Corrections = append(rec.Corrections, *action())
		rec.Reason = e.Detail
	case domain.StepWithdrawn:
		rec.Withdrawn, rec.Pending = action(), nil
	}
}

// acceptedBy returns the step by which the county accepts a submission.
func acceptedBy(submission domain.DishonestyStep) domain.DishonestyStep {
	if submission == domain.StepExplanationSubmitted {
		return domain.StepExplained
	}
	return domain.StepRectified
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
	if err := se.mayTakeDishonestyStep(ref.Office, domain.StepRecorded); err != nil {
		return protocol.EntityID{}, err
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

// DishonestyStep takes a record of office o a step of progress further:
// explanation received (explanation required), rectified or credit
// repaired (evidence required; repair closes it). County admins only.
// Steps only go forward; a closed record takes none. The other steps have
// their own actions (dishonesty_actions.go).
func (se *Session) DishonestyStep(o office.Code, id protocol.EntityID, step domain.DishonestyStep, reason, explanation string, evidence []protocol.Hash) error {
	if step.Rank() < domain.StepExplained.Rank() {
		return fmt.Errorf("%w: %q is not a step of progress", domain.ErrInvalidValue, step)
	}
	return se.dishonestyAct(o, id, protocol.Dishonesty{Step: step, Explanation: explanation, Evidence: evidence}, reason, nil)
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
