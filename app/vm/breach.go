package vm

import (
	"fmt"
	"slices"
	"strings"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// Breach confirmation (§四(二)–(三)): on a county-admin device, the admin
// confirms that a commitment was not kept and records the government
// dishonesty record (政务失信记录) that goes with it.

// Names of the breach form's fields, the keys of BreachForm.Validate's
// result.
const (
	BreachFieldType        = "type"
	BreachFieldOfficial    = "official"
	BreachFieldDeadline    = "deadline"
	BreachFieldExplanation = "explanation"
	BreachFieldReason      = "reason"
)

// BreachForm is the breach confirmation dialog as the admin filled it.
type BreachForm struct {
	Type        domain.DishonestyType // one of domain.DishonestyTypes()
	Official    string                // the responsible official (惩戒到人), one line
	Deadline    string                // rectification deadline (整改期限), a date as Form accepts it
	Explanation string                // written explanation received (书面说明), optional
	Reason      string                // the facts: judgment, decision or finding; required
	// Today, when set, refuses a rectification deadline before it.
	Today calendar.Date
}

// NewBreachForm returns the form for commitment c: type 未践诺, the
// commitment's responsible official.
func NewBreachForm(c store.Commitment, today calendar.Date) BreachForm {
	return BreachForm{Type: domain.DishonestyBreach, Official: strings.TrimSpace(c.Responsible), Today: today}
}

// DishonestyTypeMessage names a dishonesty type ("breachui.type.<type>").
func DishonestyTypeMessage(t domain.DishonestyType) Message {
	return Msg("breachui.type." + string(t))
}

// DishonestyStepMessage names a dishonesty record's step
// ("breachui.step.<step>"); an unknown or empty one says the record has
// not fully arrived.
func DishonestyStepMessage(s domain.DishonestyStep) Message {
	if s != domain.StepRecorded && !s.Valid() {
		return Msg("breachui.step.pending")
	}
	return Msg("breachui.step." + string(s))
}

// Validate checks the form: a known type, the official given on one line,
// a real rectification deadline not before Today, the facts given, texts
// within the limits the protocol enforces. It returns a message per field
// at fault, empty when the form is valid.
func (f BreachForm) Validate() map[string]Message {
	out := map[string]Message{}
	switch {
	case f.Type == "":
		out[BreachFieldType] = Msg("breachui.type_required")
	case !f.Type.Valid():
		out[BreachFieldType] = Msg("breachui.type_invalid")
	}
	checkText(out, BreachFieldOfficial, f.Official, "breachui.official_required", domain.MaxShortBytes)
	if _, bad := out[BreachFieldOfficial]; !bad && strings.Contains(strings.TrimSpace(f.Official), "\n") {
		out[BreachFieldOfficial] = Msg("ui.form.one_line")
	}
	if strings.TrimSpace(f.Deadline) == "" {
		out[BreachFieldDeadline] = Msg("breachui.deadline_required")
	} else if d, err := parseFormDate(f.Deadline); err != nil {
		out[BreachFieldDeadline] = Msg("ui.form.date_invalid")
	} else if !f.Today.IsZero() && d.Before(f.Today) {
		out[BreachFieldDeadline] = Msg("breachui.deadline_past", f.Today.String())
	}
	checkText(out, BreachFieldExplanation, f.Explanation, "", domain.MaxNoteBytes)
	checkText(out, BreachFieldReason, f.Reason, "breachui.reason_required", domain.MaxShortBytes)
	return out
}

// input returns the valid form as the store's input.
func (f BreachForm) input() store.DishonestyInput {
	d, _ := parseFormDate(f.Deadline)
	return store.DishonestyInput{Type: f.Type, Official: strings.TrimSpace(f.Official), Deadline: d,
		Reason: strings.TrimSpace(f.Reason), Explanation: strings.TrimSpace(f.Explanation)}
}

// CanConfirmBreach reports whether the signed-in user of se may confirm
// the breach of c now: a county admin on a county-admin device, c
// published, in progress or partly fulfilled with its status not in
// conflict — or already breached with no dishonesty record against it yet
// (a confirmation whose record failed, finished now).
func CanConfirmBreach(se *store.Session, c *store.Commitment) (bool, error) {
	if !se.Device().Admin || se.Account().Role != domain.RoleCountyAdmin {
		return false, nil
	}
	if c.Status != domain.StatusBreached {
		return ActionsFor(c, se.Account().Role, true).Breach, nil
	}
	recs, err := se.Store().DishonestyRecords(store.DishonestyFilter{Commitment: &c.Ref})
	if err != nil {
		return false, err
	}
	return len(recs) == 0, nil
}

// ConfirmBreach confirms that the commitment ref was breached and records
// the government dishonesty record of form: the commitment goes to
// breached (unless it already is) with the facts as the reason, then the
// record is made; both are signed by the admin's device and wait for the
// next sync, which the caller starts. A form that does not validate gives
// a *FormError and changes nothing; so does a user or device that may not
// confirm a breach (domain.ErrNotAllowed) and a commitment in a status
// that cannot be breached.
func ConfirmBreach(se *store.Session, ref store.Ref, form BreachForm) (protocol.EntityID, error) {
	if bad := form.Validate(); len(bad) > 0 {
		return protocol.EntityID{}, &FormError{Fields: bad}
	}
	if !se.Device().Admin || se.Account().Role != domain.RoleCountyAdmin {
		return protocol.EntityID{}, fmt.Errorf("%w: only a county admin on a county-admin device confirms a breach", domain.ErrNotAllowed)
	}
	c, err := se.Store().Commitment(ref)
	if err != nil {
		return protocol.EntityID{}, err
	}
	ok, err := CanConfirmBreach(se, &c)
	if err != nil {
		return protocol.EntityID{}, err
	}
	if !ok {
		if slices.Contains(c.Conflicted, domain.FieldStatus) {
			return protocol.EntityID{}, fmt.Errorf("%w: status of %s", store.ErrConflicted, ref)
		}
		return protocol.EntityID{}, fmt.Errorf("%w: %s is %s", store.ErrNotEditable, ref, c.Status)
	}
	in := form.input()
	if c.Status != domain.StatusBreached {
		if err := se.Transition(ref, domain.StatusBreached, in.Reason); err != nil {
			return protocol.EntityID{}, err
		}
	}
	return se.RecordDishonesty(ref, in)
}
