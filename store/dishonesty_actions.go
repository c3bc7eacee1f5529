package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// The actions of two-way accountability on a dishonesty record (§四(三)–
// (四)). The township's leader submits the office's written explanation
// and its rectification; the county admin accepts a submission (by taking
// the step it asks for) or sends it back, records sanctions and a
// mitigation, and corrects or withdraws the record, usually after an
// upheld objection (an objection is a case: OpenCase with
// domain.CaseObjection). Each action is refused, changing nothing, when the
// signer or the record's state does not allow it: domain.ErrNotAllowed
// together with protocol.ErrNotAuthorized for the wrong role or device
// (the code a receiver would refuse it with), protocol.ErrOutOfScope for
// another township's record, ErrNotFound for a record that has not fully
// arrived, ErrNotEditable for a state that does not allow the step, and
// what Op.Validate returns for the input.

// SubmitExplanation submits the office's written explanation (书面说明) on
// record id of office o, with evidence files (a scan of the signed letter,
// say) added with AddEvidence. A leader on a township device of the
// office; while nothing else awaits the county and the county has not yet
// received an explanation.
func (se *Session) SubmitExplanation(o office.Code, id protocol.EntityID, explanation string, evidence []protocol.Hash) error {
	return se.submit(o, id, protocol.Dishonesty{Step: domain.StepExplanationSubmitted, Explanation: explanation, Evidence: evidence}, "")
}

// SubmitRectification submits the office's rectification (整改) on record
// id of office o: what was done (description) and at least one evidence
// file. A leader on a township device of the office; while nothing else
// awaits the county and the county has not yet accepted a rectification.
func (se *Session) SubmitRectification(o office.Code, id protocol.EntityID, description string, evidence []protocol.Hash) error {
	return se.submit(o, id, protocol.Dishonesty{Step: domain.StepRectificationSubmitted, Evidence: evidence}, description)
}

func (se *Session) submit(o office.Code, id protocol.EntityID, body protocol.Dishonesty, reason string) error {
	return se.dishonestyAct(o, id, body, reason, func(r *DishonestyRecord, _ *protocol.Dishonesty) error {
		switch {
		case r.Closed:
			return fmt.Errorf("%w: dishonesty record %s is closed", ErrNotEditable, id)
		case r.Pending != nil:
			return fmt.Errorf("%w: a submission of %s awaits the county", ErrNotEditable, r.Pending.HLC.Wall().Format("2006-01-02"))
		case r.Status.Rank() >= acceptedBy(body.Step).Rank():
			return fmt.Errorf("%w: dishonesty record is %s already", ErrNotEditable, r.Status)
		}
		return nil
	})
}

// AcceptSubmission accepts the township's pending submission (the one
// made by operation submission, as DishonestyRecord.Pending shows it): an
// explanation by taking domain.StepExplained with its text and files, a
// rectification by taking domain.StepRectified with its files. reason is
// the county's note. County admins only; refused with ErrNotEditable when
// that submission no longer awaits the county (returned, replaced, or the
// record moved on).
func (se *Session) AcceptSubmission(o office.Code, id protocol.EntityID, submission protocol.OpID, reason string) error {
	// Both steps that accept are the county's; which one, the submission
	// says.
	return se.dishonestyAct(o, id, protocol.Dishonesty{Step: domain.StepExplained}, reason, func(r *DishonestyRecord, b *protocol.Dishonesty) error {
		p := r.Pending
		if p == nil || p.Op != submission {
			return fmt.Errorf("%w: submission %s does not await the county", ErrNotEditable, submission)
		}
		*b = protocol.Dishonesty{Step: acceptedBy(p.Step), Evidence: p.Evidence}
		if p.Step == domain.StepExplanationSubmitted {
			b.Explanation = p.Explanation
		}
		return nil
	})
}

// ReturnSubmission sends the township's pending submission (operation
// submission) back with the reason (退回); the township submits again.
// County admins only.
func (se *Session) ReturnSubmission(o office.Code, id protocol.EntityID, submission protocol.OpID, reason string) error {
	return se.dishonestyAct(o, id, protocol.Dishonesty{Step: domain.StepReturned}, reason, func(r *DishonestyRecord, _ *protocol.Dishonesty) error {
		if r.Pending == nil || r.Pending.Op != submission {
			return fmt.Errorf("%w: submission %s does not await the county", ErrNotEditable, submission)
		}
		return nil
	})
}

// Sanction records a disciplinary measure on an open record, with its
// reason (for domain.SanctionOther: what the measure is) and evidence (the
// decision, say). County admins only; refused on a closed record and on
// one exempt from sanctions (免于惩戒).
func (se *Session) Sanction(o office.Code, id protocol.EntityID, m domain.SanctionMeasure, reason string, evidence []protocol.Hash) error {
	return se.dishonestyAct(o, id, protocol.Dishonesty{Step: domain.StepSanctioned, Detail: string(m), Evidence: evidence}, reason,
		func(r *DishonestyRecord, _ *protocol.Dishonesty) error {
			switch {
			case r.Closed:
				return fmt.Errorf("%w: dishonesty record %s is closed", ErrNotEditable, id)
			case r.Exempt():
				return fmt.Errorf("%w: dishonesty record %s is exempt from sanctions", ErrNotEditable, id)
			}
			return nil
		})
}

// Mitigate treats an open record more lightly (从轻处理) or exempts it from
// sanctions (免于惩戒), with the reason (§四(四)); a later mitigation
// replaces an earlier one. County admins only.
func (se *Session) Mitigate(o office.Code, id protocol.EntityID, m domain.Mitigation, reason string, evidence []protocol.Hash) error {
	return se.dishonestyAct(o, id, protocol.Dishonesty{Step: domain.StepMitigated, Detail: string(m), Evidence: evidence}, reason,
		func(r *DishonestyRecord, _ *protocol.Dishonesty) error {
			if r.Closed {
				return fmt.Errorf("%w: dishonesty record %s is closed", ErrNotEditable, id)
			}
			return nil
		})
}

// CorrectRecord replaces the facts shown with corrected ones (更正), saying
// why (an upheld objection); the original facts stay in the history. A
// credit-repaired record may still be corrected: it may still be shown.
// County admins only.
func (se *Session) CorrectRecord(o office.Code, id protocol.EntityID, facts, reason string, evidence []protocol.Hash) error {
	return se.dishonestyAct(o, id, protocol.Dishonesty{Step: domain.StepCorrected, Detail: facts, Evidence: evidence}, reason, nil)
}

// WithdrawRecord withdraws the record (撤销) with the reason: it closes and
// is never published again. A credit-repaired record may still be
// withdrawn. County admins only.
func (se *Session) WithdrawRecord(o office.Code, id protocol.EntityID, reason string, evidence []protocol.Hash) error {
	return se.dishonestyAct(o, id, protocol.Dishonesty{Step: domain.StepWithdrawn, Evidence: evidence}, reason, nil)
}

// dishonestyAct signs body (a step) on record id of office o with reason,
// after who may take the step and check (the record's state; nil: any
// state but withdrawn) allow it. check may complete the body from the
// record (an acceptance copies the submission), within the same signer.
func (se *Session) dishonestyAct(o office.Code, id protocol.EntityID, body protocol.Dishonesty, reason string, check func(*DishonestyRecord, *protocol.Dishonesty) error) error {
	if err := se.mayTakeDishonestyStep(o, body.Step); err != nil {
		return err
	}
	_, err := se.act(func(tx *bolt.Tx) (*protocol.Op, error) {
		var r DishonestyRecord
		if err := loadDishonesty(tx, Ref{Office: o, ID: id}, &r); err != nil {
			return nil, err
		}
		if !r.Recorded {
			return nil, fmt.Errorf("%w: dishonesty record %s has not fully arrived", ErrNotFound, id)
		}
		if r.Withdrawn != nil {
			return nil, fmt.Errorf("%w: dishonesty record %s is withdrawn", ErrNotEditable, id)
		}
		b := body
		if check != nil {
			if err := check(&r, &b); err != nil {
				return nil, err
			}
		}
		if b.Step.Rank() > 0 && (r.Closed || b.Step.Rank() <= r.Status.Rank()) {
			// Progress only goes forward, and not past a closed record.
			return nil, fmt.Errorf("%w: dishonesty record is %s, cannot go to %s", ErrNotEditable, r.Status, b.Step)
		}
		if err := haveBlobs(tx, b.Evidence); err != nil {
			return nil, err
		}
		b.Record, b.Evidence = id, protocol.SortHashes(b.Evidence)
		return &protocol.Op{Kind: protocol.OpDishonestyStep, Office: o, Target: r.Commitment.ID, Reason: reason, Dishonesty: &b}, nil
	})
	return err
}

// mayTakeDishonestyStep mirrors the receiver's rule (protocol: the step's
// signer, then the scope of the device) for this session.
func (se *Session) mayTakeDishonestyStep(o office.Code, step domain.DishonestyStep) error {
	if step.AdminOnly() {
		if !se.rec.Admin || se.acct.Role != domain.RoleCountyAdmin {
			return fmt.Errorf("%w: %w: only a county admin on a county-admin device takes the step %q", domain.ErrNotAllowed, protocol.ErrNotAuthorized, step)
		}
	} else if se.rec.Admin || !se.acct.Role.AtLeast(domain.RoleLeader) {
		return fmt.Errorf("%w: %w: %s is submitted by a leader of the office on its own device", domain.ErrNotAllowed, protocol.ErrNotAuthorized, step)
	}
	if !se.inScope(o) {
		return fmt.Errorf("%w: %s is not %s", protocol.ErrOutOfScope, o, se.rec.Office)
	}
	return nil
}
