package protocol

import (
	"slices"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
)

// Government dishonesty records (政务失信记录, §四(二)–(四)); their types and
// steps are domain's (domain.DishonestyType, domain.DishonestyStep). A
// county admin records one against a commitment with OpDishonesty and moves
// it on with OpDishonestyStep: explanation received, rectified, credit
// repaired; sanctioned, mitigated, corrected, withdrawn; a submission sent
// back. The township's leader submits the office's explanation and
// rectification with OpDishonestyStep too (domain.DishonestyStep.LeastRole
// says who takes which step). Both kinds travel like every operation: with
// the commitment's office, down to that township's devices and up to the
// municipal platform.
//
// Encoding: the body is appended after the evidence metadata for these two
// kinds only, so the bytes of every older kind are unchanged; within it the
// detail follows the evidence only for the steps that have one
// (domain.DishonestyStep.HasDetail), so every older step keeps its bytes
// too.

// MaxDishonestyDetailBytes bounds a step's detail (the corrected facts are
// the longest).
const MaxDishonestyDetailBytes = 2000

// Dishonesty is the body of OpDishonesty and OpDishonestyStep. Op.Target is
// the commitment, Op.Office its office, Op.Reason the facts (for a record:
// the judgment, decision or finding; for a step: why it is taken, or what a
// submitted rectification consists of).
type Dishonesty struct {
	Record EntityID // the dishonesty record

	// OpDishonesty only.
	Type     domain.DishonestyType
	Official string        // the responsible official (惩戒到人)
	Deadline calendar.Date // rectification deadline (整改期限); zero if none

	// Explanation is the written explanation (书面说明): optional on a
	// record, required for StepExplained and StepExplanationSubmitted,
	// empty on the other new steps.
	Explanation string
	// Step is the step taken (OpDishonestyStep only).
	Step domain.DishonestyStep
	// Evidence files, sorted and distinct: rectification (submitted or
	// accepted) and credit repair need at least one.
	Evidence []Hash
	// Detail is what the steps marked † in the format carry, and only
	// they: the measure of StepSanctioned (a domain.SanctionMeasure), the
	// mitigation of StepMitigated (a domain.Mitigation), the corrected
	// facts of StepCorrected. At most MaxDishonestyDetailBytes.
	Detail string
}

func (k OpKind) dishonesty() bool { return k == OpDishonesty || k == OpDishonestyStep }

func appendDishonesty(e *encoder, d *Dishonesty) {
	if d == nil {
		d = &Dishonesty{}
	}
	e.raw(d.Record[:])
	e.str(string(d.Type))
	e.str(d.Official)
	date := ""
	if !d.Deadline.IsZero() {
		date = d.Deadline.String()
	}
	e.str(date)
	e.str(d.Explanation)
	e.str(string(d.Step))
	e.uvarint(uint64(len(d.Evidence)))
	for _, h := range d.Evidence {
		e.raw(h[:])
	}
	if d.Step.HasDetail() {
		e.str(d.Detail)
	}
}

func decodeDishonesty(d *decoder) *Dishonesty {
	out := &Dishonesty{}
	d.raw(out.Record[:])
	out.Type = domain.DishonestyType(d.str(64))
	out.Official = d.str(domain.MaxShortBytes)
	if date := d.str(10); date != "" && d.err == nil {
		var err error
		if out.Deadline, err = calendar.ParseDate(date); err != nil {
			d.fail("rectification deadline %q", date)
		}
	}
	out.Explanation = d.str(domain.MaxNoteBytes)
	out.Step = domain.DishonestyStep(d.str(32))
	if n := d.count(MaxEvidencePerEntry, 32); n > 0 {
		out.Evidence = make([]Hash, n)
		for j := range out.Evidence {
			d.raw(out.Evidence[j][:])
		}
	}
	if out.Step.HasDetail() {
		out.Detail = d.str(MaxDishonestyDetailBytes)
	}
	return out
}

// validateDishonesty checks OpDishonesty and OpDishonestyStep for an
// author with role on a device that is (admin) or is not a county-admin
// device: who may take the step first, then the body's rules.
func (op *Op) validateDishonesty(role domain.Role, admin bool) error {
	d := op.Dishonesty
	if err := op.authorizeDishonesty(role, admin); err != nil {
		return err
	}
	reasonRequired := d.Step != domain.StepExplanationSubmitted // the explanation says it all
	if len(op.Writes) != 0 || d.Record.IsZero() || (reasonRequired && !domain.NonBlank(op.Reason)) {
		return errorf(ErrInvalidOperation, "op %d: %s needs a record ID and a reason, and writes no field", op.Num, op.Kind)
	}
	if len(d.Evidence) > MaxEvidencePerEntry || !slices.IsSortedFunc(d.Evidence, compareHash) ||
		len(slices.Compact(slices.Clone(d.Evidence))) != len(d.Evidence) {
		return errorf(ErrInvalidOperation, "op %d: evidence not sorted and distinct", op.Num)
	}
	if err := domain.CheckText("explanation", d.Explanation, domain.MaxNoteBytes); err != nil {
		return errorf(ErrInvalidOperation, "op %d: %v", op.Num, err)
	}
	if err := domain.CheckText("official", d.Official, domain.MaxShortBytes); err != nil {
		return errorf(ErrInvalidOperation, "op %d: %v", op.Num, err)
	}
	if err := domain.CheckText("detail", d.Detail, MaxDishonestyDetailBytes); err != nil {
		return errorf(ErrInvalidOperation, "op %d: %v", op.Num, err)
	}
	if d.Detail != "" && !d.Step.HasDetail() {
		// It would not be encoded: the receiver would see another op.
		return errorf(ErrInvalidOperation, "op %d: %q carries no detail", op.Num, d.Step)
	}
	if op.Kind == OpDishonesty {
		if !d.Type.Valid() || !domain.NonBlank(d.Official) || d.Step != "" {
			return errorf(ErrInvalidOperation, "op %d: dishonesty record needs a known type and the responsible official", op.Num)
		}
		return nil
	}
	if d.Type != "" || d.Official != "" || !d.Deadline.IsZero() {
		return errorf(ErrInvalidOperation, "op %d: a step does not change the record's type, official or deadline", op.Num)
	}
	return op.validateDishonestyStep()
}

// authorizeDishonesty: a record and every county step need a county admin
// on a county-admin device; the township's submissions a leader on a
// township device (of the record's office: Verify's scope rule).
func (op *Op) authorizeDishonesty(role domain.Role, admin bool) error {
	if op.Kind == OpDishonesty || op.Dishonesty.Step.AdminOnly() {
		if !admin || role != domain.RoleCountyAdmin {
			return errorf(ErrNotAuthorized, "op %d: only a county admin records government dishonesty or takes the step %q", op.Num, op.Dishonesty.Step)
		}
		return nil
	}
	if admin || !role.AtLeast(domain.RoleLeader) {
		return errorf(ErrNotAuthorized, "op %d: %s is submitted by a leader of the office on a township device", op.Num, op.Dishonesty.Step)
	}
	return nil
}

// validateDishonestyStep checks a step's own rules.
func (op *Op) validateDishonestyStep() error {
	d := op.Dishonesty
	// The progress steps always allowed one; the new ones but the submitted
	// explanation have no use for it.
	if d.Step.Rank() == 0 && d.Explanation != "" && d.Step != domain.StepExplanationSubmitted {
		return errorf(ErrInvalidOperation, "op %d: %s carries no explanation", op.Num, d.Step)
	}
	switch d.Step {
	case domain.StepExplained, domain.StepExplanationSubmitted:
		if !domain.NonBlank(d.Explanation) {
			return errorf(ErrInvalidOperation, "op %d: %s without the explanation", op.Num, d.Step)
		}
	case domain.StepRectified, domain.StepRepaired, domain.StepRectificationSubmitted:
		if len(d.Evidence) == 0 {
			return errorf(ErrInvalidOperation, "op %d: %s needs evidence", op.Num, d.Step)
		}
	case domain.StepReturned, domain.StepWithdrawn:
		// The reason, checked above, is all they need.
	case domain.StepSanctioned:
		if !domain.SanctionMeasure(d.Detail).Valid() {
			return errorf(ErrInvalidOperation, "op %d: unknown sanction %q", op.Num, d.Detail)
		}
	case domain.StepMitigated:
		if !domain.Mitigation(d.Detail).Valid() {
			return errorf(ErrInvalidOperation, "op %d: unknown mitigation %q", op.Num, d.Detail)
		}
	case domain.StepCorrected:
		if !domain.NonBlank(d.Detail) {
			return errorf(ErrInvalidOperation, "op %d: a correction without the corrected facts", op.Num)
		}
	default:
		return errorf(ErrInvalidOperation, "op %d: unknown step %q", op.Num, d.Step)
	}
	return nil
}
