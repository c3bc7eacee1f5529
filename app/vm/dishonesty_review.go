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

// The county's review of dishonesty records (§四(三)–(四)), on the 失信记录
// screen of a county-admin device: accept or return (退回) what the
// township submitted, record sanctions and a mitigation (从轻处理, 免于惩戒),
// and correct (更正) or withdraw (撤销) a record after an upheld objection.

// reviewRow fills what the review needs in row from its record and the
// objections to it.
func reviewRow(row *DishonestyRow, objections []store.Case) {
	r := row.Record
	row.Status = DishonestyStatusMessage(r)
	if p := r.Pending; p != nil {
		row.Pending, row.PendingName = p, Msg("breachui.pending", DishonestyStepMessage(p.Step), p.Author, adminTime(p.HLC.Wall()))
	}
	row.Sanctions, row.Mitigation = decisionMessages(r)
	row.Objections = objections
	for _, c := range objections {
		if c.Closed && c.ClosedBy == domain.CaseDecided && c.Finding == domain.FindingUpheld {
			row.Upheld = append(row.Upheld, c)
		}
	}
	if !r.Recorded || r.Withdrawn != nil {
		return
	}
	row.Can.Review = r.Pending != nil
	row.Can.Sanction = !r.Closed && !r.Exempt()
	row.Can.Mitigate = !r.Closed
	row.Can.Correct = len(row.Upheld) > 0
	row.Can.Withdraw = len(row.Upheld) > 0
}

// Names of the review forms' fields, the keys of their Validate results.
const (
	ReviewFieldReason    = "reason"    // the note, the reason
	ReviewFieldMeasure   = "measure"   // the sanction or the mitigation
	ReviewFieldFacts     = "facts"     // the corrected facts
	ReviewFieldObjection = "objection" // the upheld objection cited
	ReviewFieldEvidence  = "evidence"
	ReviewFieldRecord    = "record" // the record does not take this now
)

// ReviewForm is the county's answer to the township's pending submission:
// accept it (taking the step it asks for) or send it back, with a note or
// the reason.
type ReviewForm struct {
	Accept bool
	Reason string
}

// Validate checks the form against the row: a submission awaits, and the
// note (accepting) or the reason (returning) is given.
func (f ReviewForm) Validate(row DishonestyRow) map[string]Message {
	out := map[string]Message{}
	if !row.Can.Review {
		out[ReviewFieldRecord] = Msg("breachui.review.none")
	}
	req := "breachui.review.return_reason_required"
	if f.Accept {
		req = "breachui.review.note_required"
	}
	checkText(out, ReviewFieldReason, f.Reason, req, domain.MaxShortBytes)
	return out
}

// Review accepts or returns the row's pending submission, then syncs and
// reloads on day today. Refusals: domain.ErrNotAllowed for a session that
// is not a county admin's, *FormError, the store's errors (ErrNotEditable
// when the submission changed meanwhile).
func (l *DishonestyList) Review(row DishonestyRow, f ReviewForm, today calendar.Date) error {
	return l.review(f.Validate(row), today, func() error {
		reason := strings.TrimSpace(f.Reason)
		if f.Accept {
			return l.se.AcceptSubmission(row.Office, row.ID, row.Pending.Op, reason)
		}
		return l.se.ReturnSubmission(row.Office, row.ID, row.Pending.Op, reason)
	})
}

// SanctionForm is a disciplinary measure as the admin chose it, with its
// reason (for domain.SanctionOther: what the measure is) and files.
type SanctionForm struct {
	Measure  domain.SanctionMeasure
	Reason   string
	Evidence []protocol.Hash
}

// Validate checks the form against the row: the record takes sanctions
// (open, not exempt), a known measure, the reason.
func (f SanctionForm) Validate(row DishonestyRow) map[string]Message {
	out := map[string]Message{}
	switch {
	case row.Record.Exempt() && row.Record.Withdrawn == nil && !row.Record.Closed:
		out[ReviewFieldRecord] = Msg("breachui.sanction.exempt")
	case !row.Can.Sanction:
		out[ReviewFieldRecord] = Msg("breachui.review.not_now")
	}
	if !f.Measure.Valid() {
		out[ReviewFieldMeasure] = Msg("breachui.sanction.measure_required")
	}
	req := "breachui.sanction.reason_required"
	if f.Measure == domain.SanctionOther {
		req = "breachui.sanction.other_required"
	}
	checkText(out, ReviewFieldReason, f.Reason, req, domain.MaxShortBytes)
	checkReviewFiles(out, f.Evidence)
	return out
}

// Sanction records the measure on the row's record, then syncs and
// reloads on day today.
func (l *DishonestyList) Sanction(row DishonestyRow, f SanctionForm, today calendar.Date) error {
	return l.review(f.Validate(row), today, func() error {
		return l.se.Sanction(row.Office, row.ID, f.Measure, strings.TrimSpace(f.Reason), f.Evidence)
	})
}

// MitigationForm is a lighter treatment (从轻处理) or an exemption (免于惩戒)
// as the admin chose it, with its reason (§四(四)).
type MitigationForm struct {
	Mitigation domain.Mitigation
	Reason     string
	Evidence   []protocol.Hash
}

// Validate checks the form against the row: the record is open, a known
// mitigation, the reason.
func (f MitigationForm) Validate(row DishonestyRow) map[string]Message {
	out := map[string]Message{}
	if !row.Can.Mitigate {
		out[ReviewFieldRecord] = Msg("breachui.review.not_now")
	}
	if !f.Mitigation.Valid() {
		out[ReviewFieldMeasure] = Msg("breachui.mitigation.required")
	}
	checkText(out, ReviewFieldReason, f.Reason, "breachui.mitigation.reason_required", domain.MaxShortBytes)
	checkReviewFiles(out, f.Evidence)
	return out
}

// Mitigate records the mitigation on the row's record, then syncs and
// reloads on day today.
func (l *DishonestyList) Mitigate(row DishonestyRow, f MitigationForm, today calendar.Date) error {
	return l.review(f.Validate(row), today, func() error {
		return l.se.Mitigate(row.Office, row.ID, f.Mitigation, strings.TrimSpace(f.Reason), f.Evidence)
	})
}

// CorrectionForm corrects a record's facts after an upheld objection
// (Objection: one of the row's Upheld cases).
type CorrectionForm struct {
	Objection protocol.EntityID
	Facts     string // the corrected facts
	Reason    string // why
	Evidence  []protocol.Hash
}

// Validate checks the form against the row: an upheld objection of the
// record cited, the corrected facts and the reason given.
func (f CorrectionForm) Validate(row DishonestyRow) map[string]Message {
	out := map[string]Message{}
	checkObjection(out, row, row.Can.Correct, f.Objection)
	checkText(out, ReviewFieldFacts, f.Facts, "breachui.correct.facts_required", protocol.MaxDishonestyDetailBytes)
	checkText(out, ReviewFieldReason, f.Reason, "breachui.correct.reason_required", domain.MaxShortBytes)
	checkReviewFiles(out, f.Evidence)
	return out
}

// Correct replaces the row's record's facts with the corrected ones, then
// syncs and reloads on day today.
func (l *DishonestyList) Correct(row DishonestyRow, f CorrectionForm, today calendar.Date) error {
	return l.review(f.Validate(row), today, func() error {
		return l.se.CorrectRecord(row.Office, row.ID, strings.TrimSpace(f.Facts), strings.TrimSpace(f.Reason), f.Evidence)
	})
}

// WithdrawForm withdraws a record after an upheld objection (Objection:
// one of the row's Upheld cases), with the reason.
type WithdrawForm struct {
	Objection protocol.EntityID
	Reason    string
	Evidence  []protocol.Hash
}

// Validate checks the form against the row: an upheld objection of the
// record cited and the reason given.
func (f WithdrawForm) Validate(row DishonestyRow) map[string]Message {
	out := map[string]Message{}
	checkObjection(out, row, row.Can.Withdraw, f.Objection)
	checkText(out, ReviewFieldReason, f.Reason, "breachui.withdraw.reason_required", domain.MaxShortBytes)
	checkReviewFiles(out, f.Evidence)
	return out
}

// Withdraw withdraws the row's record (it is never published again), then
// syncs and reloads on day today.
func (l *DishonestyList) Withdraw(row DishonestyRow, f WithdrawForm, today calendar.Date) error {
	return l.review(f.Validate(row), today, func() error {
		return l.se.WithdrawRecord(row.Office, row.ID, strings.TrimSpace(f.Reason), f.Evidence)
	})
}

// checkObjection puts a message in out unless the action is open (can) and
// id names one of the row's upheld objections.
func checkObjection(out map[string]Message, row DishonestyRow, can bool, id protocol.EntityID) {
	switch {
	case row.Record.Withdrawn != nil || !row.Record.Recorded:
		out[ReviewFieldRecord] = Msg("breachui.review.not_now")
	case !can:
		out[ReviewFieldObjection] = Msg("breachui.correct.objection_required")
	case !slices.ContainsFunc(row.Upheld, func(c store.Case) bool { return c.ID == id }):
		out[ReviewFieldObjection] = Msg("breachui.correct.objection_pick")
	}
}

func checkReviewFiles(out map[string]Message, files []protocol.Hash) {
	if len(files) > protocol.MaxEvidencePerEntry {
		out[ReviewFieldEvidence] = Msg("ui.fulfil.too_many_files", protocol.MaxEvidencePerEntry)
	}
}

// review runs act for a county admin and a form without faults (bad),
// then syncs and reloads on day today.
func (l *DishonestyList) review(bad map[string]Message, today calendar.Date, act func() error) error {
	if !l.se.Device().Admin || l.se.Account().Role != domain.RoleCountyAdmin {
		return fmt.Errorf("%w: only a county admin reviews dishonesty records", domain.ErrNotAllowed)
	}
	if err := validThen(bad, act); err != nil {
		return err
	}
	if l.Sync != nil {
		l.Sync()
	}
	return l.Load(today)
}

// Row returns the row of record ref as the last Load read it, and whether
// it is there.
func (l *DishonestyList) Row(ref store.Ref) (DishonestyRow, bool) {
	i := slices.IndexFunc(l.Rows, func(r DishonestyRow) bool { return r.Office == ref.Office && r.ID == ref.ID })
	if i < 0 {
		return DishonestyRow{}, false
	}
	return l.Rows[i], true
}
