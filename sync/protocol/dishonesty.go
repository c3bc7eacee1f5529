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
// repaired. Both are admin-only and travel like every operation: with the
// commitment's office, down to that township's devices and up to the
// municipal platform.
//
// Encoding: the body is appended after the evidence metadata for these two
// kinds only, so the bytes of every older kind are unchanged.

// Dishonesty is the body of OpDishonesty and OpDishonestyStep. Op.Target is
// the commitment, Op.Office its office, Op.Reason the facts (for a record:
// the judgment, decision or finding; for a step: why it is taken).
type Dishonesty struct {
	Record EntityID // the dishonesty record

	// OpDishonesty only.
	Type     domain.DishonestyType
	Official string        // the responsible official (惩戒到人)
	Deadline calendar.Date // rectification deadline (整改期限); zero if none

	// Explanation is the written explanation received (书面说明): optional
	// on a record, required for StepExplained.
	Explanation string
	// Step is the step taken (OpDishonestyStep only).
	Step domain.DishonestyStep
	// Evidence files, sorted and distinct: rectification and credit repair
	// need at least one.
	Evidence []Hash
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
	return out
}

func (op *Op) validateDishonesty(role domain.Role) error {
	d := op.Dishonesty
	if role != domain.RoleCountyAdmin {
		return errorf(ErrNotAuthorized, "op %d: only a county admin records government dishonesty", op.Num)
	}
	if len(op.Writes) != 0 || d.Record.IsZero() || !domain.NonBlank(op.Reason) {
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
	if op.Kind == OpDishonesty {
		if !d.Type.Valid() || !domain.NonBlank(d.Official) || d.Step != "" {
			return errorf(ErrInvalidOperation, "op %d: dishonesty record needs a known type and the responsible official", op.Num)
		}
		return nil
	}
	if d.Type != "" || d.Official != "" || !d.Deadline.IsZero() {
		return errorf(ErrInvalidOperation, "op %d: a step does not change the record's type, official or deadline", op.Num)
	}
	switch d.Step {
	case domain.StepExplained:
		if !domain.NonBlank(d.Explanation) {
			return errorf(ErrInvalidOperation, "op %d: explanation step without the explanation", op.Num)
		}
	case domain.StepRectified, domain.StepRepaired:
		if len(d.Evidence) == 0 {
			return errorf(ErrInvalidOperation, "op %d: %s needs evidence", op.Num, d.Step)
		}
	default:
		return errorf(ErrInvalidOperation, "op %d: unknown step %q", op.Num, d.Step)
	}
	return nil
}
