package vm

import (
	"errors"
	"strings"
	"testing"
	"time"

	"jiannuo/domain"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

func TestRecordDue(t *testing.T) {
	pending := &store.DishonestySubmission{Step: domain.StepExplanationSubmitted}
	for _, c := range []struct {
		r    store.DishonestyRecord
		want DishonestyDue
	}{
		{store.DishonestyRecord{Status: domain.StepExplained}, DueNothing},
		{store.DishonestyRecord{Recorded: true, Status: domain.StepRecorded}, DueExplanation},
		{store.DishonestyRecord{Recorded: true, Status: domain.StepRecorded, Pending: pending}, DueCountyReview},
		{store.DishonestyRecord{Recorded: true, Status: domain.StepExplained}, DueRectification},
		{store.DishonestyRecord{Recorded: true, Status: domain.StepRectified}, DueRepair},
		{store.DishonestyRecord{Recorded: true, Status: domain.StepRepaired, Closed: true}, DueNothing},
		{store.DishonestyRecord{Recorded: true, Status: domain.StepRecorded, Closed: true, Withdrawn: &store.DishonestyAction{}}, DueNothing},
	} {
		if got := RecordDue(c.r); got != c.want {
			t.Errorf("%+v: %s, want %s", c.r, got, c.want)
		}
		checkMessage(t, c.want.Message())
	}
	// Every name this package builds from the vocabulary exists.
	for _, s := range domain.DishonestySteps() {
		checkMessage(t, DishonestyStepMessage(s))
	}
	for _, m := range domain.SanctionMeasures() {
		checkMessage(t, SanctionMessage(m))
	}
	for _, m := range domain.Mitigations() {
		checkMessage(t, MitigationMessage(m))
	}
	for _, c := range []store.Case{{}, {Closed: true, ClosedBy: domain.CaseDecided, Finding: domain.FindingUpheld},
		{Closed: true, ClosedBy: domain.CaseDecided, Finding: domain.FindingRejected}, {Closed: true, ClosedBy: domain.CaseWithdrawn}} {
		checkMessage(t, ObjectionStatusMessage(c))
	}
	checkMessage(t, DishonestyStatusMessage(store.DishonestyRecord{Recorded: true, Withdrawn: &store.DishonestyAction{}}))
}

// formField returns the message of field in a *FormError, failing the test
// when err is not one.
func formField(t *testing.T, err error, field string) Message {
	t.Helper()
	var fe *FormError
	if !errors.As(err, &fe) {
		t.Fatalf("not a form error: %v", err)
	}
	checkMessage(t, fe.Fields[field])
	return fe.Fields[field]
}

// TestDishonestyTwoWayScreens: on real replicas, the township's leader
// answers a record (an explanation returned once and submitted again, a
// rectification, an objection) and the county reviews it (accepts,
// sanctions, mitigates, corrects and withdraws after the objection is
// upheld); staff only look; every form refuses what it must with its
// message.
func TestDishonestyTwoWayScreens(t *testing.T) {
	town := newTownship(t)
	// The county's clock agrees with the township's: steps of different
	// devices are ordered by their stamps.
	adm := newAdminReplicaClocked(t, (&stepClock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, cst)}).Now)
	introduceAll(t, town.leader, adm)
	ref := town.create(t, spec{title: "每月走访独居老人", status: domain.StatusInProgress})
	exchangeAll(t, town.leader, adm)
	c, err := adm.Store().Commitment(ref)
	must(t, err)
	form := NewBreachForm(c, testToday)
	form.Deadline, form.Reason = "2026-12-31", "1月至3月未按期走访。"
	_, err = ConfirmBreach(adm, ref, form)
	must(t, err)
	exchangeAll(t, town.leader, adm)

	synced := 0
	lead := NewTownshipDishonesty(town.leader, func() { synced++ })
	staff := NewTownshipDishonesty(town.staff, nil)
	county := NewDishonestyList(adm, func() { synced++ })
	reload := func() {
		t.Helper()
		exchangeAll(t, town.leader, adm)
		must(t, lead.Load(testToday))
		must(t, staff.Load(testToday))
		must(t, county.Load(testToday))
	}
	reload()
	if len(lead.Rows) != 1 || len(county.Rows) != 1 {
		t.Fatalf("rows %d / %d", len(lead.Rows), len(county.Rows))
	}
	row := lead.Rows[0]
	if row.Due != DueExplanation || !row.CanExplain || !row.CanRectify || !row.CanObject || row.Title != "每月走访独居老人" || !lead.MaySubmit() {
		t.Fatalf("leader's row %+v", row)
	}
	checkMessage(t, row.DueName)
	checkMessage(t, row.StatusName)
	if s := staff.Rows[0]; s.CanExplain || s.CanRectify || s.CanObject || staff.MaySubmit() {
		t.Fatalf("staff may submit: %+v", s)
	}
	if err := staff.SubmitExplanation(staff.Rows[0], ExplanationForm{Text: "说明"}, testToday); !errors.Is(err, domain.ErrNotAllowed) {
		t.Fatalf("staff submits: %v", err)
	}
	if _, err := staff.FileObjection(staff.Rows[0], ObjectionForm{Text: "异议"}, testToday); !errors.Is(err, domain.ErrNotAllowed) {
		t.Fatalf("staff objects: %v", err)
	}
	checkMessage(t, ErrorMessage(domain.ErrNotAllowed))

	// The township's forms refuse what they must.
	if m := formField(t, lead.SubmitExplanation(row, ExplanationForm{Text: " "}, testToday), SubmitFieldText); m.Key != "breachui.submit.explanation_required" {
		t.Errorf("blank explanation: %v", m)
	}
	err = lead.SubmitRectification(row, RectificationForm{Description: "已整改。"}, testToday)
	if m := formField(t, err, SubmitFieldEvidence); m.Key != "breachui.submit.evidence_required" {
		t.Errorf("rectification without files: %v", m)
	}
	err = lead.SubmitRectification(row, RectificationForm{Evidence: []protocol.Hash{{1}}}, testToday)
	if m := formField(t, err, SubmitFieldText); m.Key != "breachui.submit.rectification_required" {
		t.Errorf("rectification without a description: %v", m)
	}
	for _, c := range []struct {
		f    ObjectionForm
		key  string
		each string
	}{
		{ObjectionForm{Text: "\n"}, "breachui.objection.text_required", SubmitFieldText},
		{ObjectionForm{Text: strings.Repeat("错", domain.MaxCaseTextRunes+1)}, "breachui.objection.too_long", SubmitFieldText},
		{ObjectionForm{Text: "异议", Evidence: []protocol.Hash{{1}, {2}, {3}, {4}}}, "breachui.objection.too_many_files", SubmitFieldEvidence},
	} {
		_, err := lead.FileObjection(row, c.f, testToday)
		if m := formField(t, err, c.each); m.Key != c.key {
			t.Errorf("objection %q: %v, want %s", c.f.Text, m, c.key)
		}
	}
	if synced != 0 {
		t.Fatal("a refused form synced")
	}

	// The explanation: submitted, returned, submitted again, accepted.
	must(t, lead.SubmitExplanation(row, ExplanationForm{Text: "人员调整。"}, testToday))
	if synced != 1 || lead.Rows[0].Due != DueCountyReview || lead.Rows[0].CanExplain || lead.Rows[0].CanRectify {
		t.Fatalf("after submitting: synced %d, %+v", synced, lead.Rows[0])
	}
	if m := formField(t, lead.SubmitExplanation(lead.Rows[0], ExplanationForm{Text: "再说明。"}, testToday), SubmitFieldRecord); m.Key != "breachui.submit.not_now" {
		t.Errorf("a second submission: %v", m)
	}
	reload()
	crow := county.Rows[0]
	if !crow.Can.Review || crow.Pending == nil || crow.Pending.Explanation != "人员调整。" || crow.Can.Correct || crow.Can.Withdraw {
		t.Fatalf("the county's row: %+v", crow)
	}
	checkMessage(t, crow.PendingName)
	checkMessage(t, crow.Status)
	if m := formField(t, county.Review(crow, ReviewForm{}, testToday), ReviewFieldReason); m.Key != "breachui.review.return_reason_required" {
		t.Errorf("returning without a reason: %v", m)
	}
	if m := formField(t, county.Review(crow, ReviewForm{Accept: true}, testToday), ReviewFieldReason); m.Key != "breachui.review.note_required" {
		t.Errorf("accepting without a note: %v", m)
	}
	if err := NewDishonestyList(town.leader, nil).Review(crow, ReviewForm{Reason: "退回"}, testToday); !errors.Is(err, domain.ErrNotAllowed) {
		t.Fatalf("a township leader reviews: %v", err)
	}
	must(t, county.Review(crow, ReviewForm{Reason: "请写明补救措施。"}, testToday))
	if county.Rows[0].Can.Review || county.Rows[0].Pending != nil {
		t.Fatalf("still pending after the return: %+v", county.Rows[0])
	}
	if m := formField(t, county.Review(county.Rows[0], ReviewForm{Reason: "再退回"}, testToday), ReviewFieldRecord); m.Key != "breachui.review.none" {
		t.Errorf("reviewing nothing: %v", m)
	}
	reload()
	row = lead.Rows[0]
	if row.Due != DueExplanation || row.Returned.IsZero() || !row.CanExplain {
		t.Fatalf("the township after the return: %+v", row)
	}
	checkMessage(t, row.Returned)
	scan, err := AddStepEvidence(town.leader, township, "书面说明.pdf", strings.NewReader("%PDF 书面说明"))
	must(t, err)
	must(t, lead.SubmitExplanation(row, ExplanationForm{Text: "人员调整，已补充网格员两名。", Evidence: []protocol.Hash{scan}}, testToday))
	reload()
	content, err := town.s.EvidenceContent(scan)
	must(t, err)
	must(t, adm.Store().PutEvidenceContent(scan, content))
	must(t, county.Review(county.Rows[0], ReviewForm{Accept: true, Reason: "说明属实。"}, testToday))
	reload()
	if row = lead.Rows[0]; row.Due != DueRectification || !row.Returned.IsZero() || row.Record.Explanation != "人员调整，已补充网格员两名。" || row.CanExplain || !row.CanRectify {
		t.Fatalf("after acceptance: %+v", row)
	}

	// The rectification.
	ledger, err := AddStepEvidence(town.leader, township, "走访台账.pdf", strings.NewReader("%PDF 走访台账"))
	must(t, err)
	must(t, lead.SubmitRectification(row, RectificationForm{Description: "已补走访46户。", Evidence: []protocol.Hash{ledger}}, testToday))
	reload()
	content, err = town.s.EvidenceContent(ledger)
	must(t, err)
	must(t, adm.Store().PutEvidenceContent(ledger, content))
	must(t, county.Review(county.Rows[0], ReviewForm{Accept: true, Reason: "整改到位。"}, testToday))
	reload()
	if row = lead.Rows[0]; row.Due != DueRepair || row.Record.Status != domain.StepRectified || row.CanRectify {
		t.Fatalf("after the rectification: %+v", row)
	}

	// Sanctions and mitigation.
	crow = county.Rows[0]
	for _, c := range []struct {
		f     SanctionForm
		field string
		key   string
	}{
		{SanctionForm{Reason: "通报"}, ReviewFieldMeasure, "breachui.sanction.measure_required"},
		{SanctionForm{Measure: domain.SanctionPublicCriticism}, ReviewFieldReason, "breachui.sanction.reason_required"},
		{SanctionForm{Measure: domain.SanctionOther, Reason: " "}, ReviewFieldReason, "breachui.sanction.other_required"},
	} {
		if m := formField(t, county.Sanction(crow, c.f, testToday), c.field); m.Key != c.key {
			t.Errorf("sanction %+v: %v, want %s", c.f, m, c.key)
		}
	}
	must(t, county.Sanction(crow, SanctionForm{Measure: domain.SanctionPublicCriticism, Reason: "予以通报批评。"}, testToday))
	if m := formField(t, county.Mitigate(county.Rows[0], MitigationForm{Reason: "从轻"}, testToday), ReviewFieldMeasure); m.Key != "breachui.mitigation.required" {
		t.Errorf("mitigation without its kind: %v", m)
	}
	if m := formField(t, county.Mitigate(county.Rows[0], MitigationForm{Mitigation: domain.MitigationExempt}, testToday), ReviewFieldReason); m.Key != "breachui.mitigation.reason_required" {
		t.Errorf("mitigation without a reason: %v", m)
	}
	must(t, county.Mitigate(county.Rows[0], MitigationForm{Mitigation: domain.MitigationExempt, Reason: "情节轻微。"}, testToday))
	crow = county.Rows[0]
	if len(crow.Sanctions) != 1 || crow.Mitigation.Key != "breachui.mitigation.exempt" || crow.Can.Sanction {
		t.Fatalf("after sanction and mitigation: %+v", crow)
	}
	if m := formField(t, county.Sanction(crow, SanctionForm{Measure: domain.SanctionHonoursWithdrawn, Reason: "取消资格。"}, testToday), ReviewFieldRecord); m.Key != "breachui.sanction.exempt" {
		t.Errorf("a sanction on an exempt record: %v", m)
	}
	if m := formField(t, county.Correct(crow, CorrectionForm{Facts: "3月未走访。", Reason: "核实"}, testToday), ReviewFieldObjection); m.Key != "breachui.correct.objection_required" {
		t.Errorf("a correction without an upheld objection: %v", m)
	}

	// The objection, upheld; the correction and the withdrawal.
	reload()
	obj, err := lead.FileObjection(lead.Rows[0], ObjectionForm{Text: "1月、2月已走访，有台账为证。", Evidence: []protocol.Hash{ledger}}, testToday)
	must(t, err)
	if row = lead.Rows[0]; row.Objection == nil || row.Objection.ID != obj || row.CanObject || row.ObjectionStatus.Key != "breachui.objection.status.open" {
		t.Fatalf("after the objection: %+v", row)
	}
	if _, err := lead.FileObjection(row, ObjectionForm{Text: "再次异议"}, testToday); formField(t, err, SubmitFieldRecord).Key != "breachui.objection.not_now" {
		t.Errorf("a second objection: %v", err)
	}
	reload()
	_, err = adm.CaseStep(township, obj, store.CaseStepInput{Step: domain.CaseDecided, Finding: domain.FindingUpheld, Text: "异议成立。"})
	must(t, err)
	reload()
	crow = county.Rows[0]
	if len(crow.Objections) != 1 || len(crow.Upheld) != 1 || !crow.Can.Correct || !crow.Can.Withdraw {
		t.Fatalf("after the objection was upheld: %+v", crow)
	}
	if m := formField(t, county.Correct(crow, CorrectionForm{Objection: protocol.EntityID{9}, Facts: "3月未走访。", Reason: "异议成立"}, testToday), ReviewFieldObjection); m.Key != "breachui.correct.objection_pick" {
		t.Errorf("citing another objection: %v", m)
	}
	if m := formField(t, county.Correct(crow, CorrectionForm{Objection: obj, Reason: "异议成立"}, testToday), ReviewFieldFacts); m.Key != "breachui.correct.facts_required" {
		t.Errorf("a correction without facts: %v", m)
	}
	must(t, county.Correct(crow, CorrectionForm{Objection: obj, Facts: "3月未按期走访。", Reason: "异议成立：1月、2月已走访。"}, testToday))
	reload()
	if row = lead.Rows[0]; row.Record.Reason != "3月未按期走访。" || row.ObjectionStatus.Key != "breachui.objection.status.upheld" || !row.CanObject {
		t.Fatalf("the township after the correction: %+v", row)
	}
	if m := formField(t, county.Withdraw(county.Rows[0], WithdrawForm{Objection: obj}, testToday), ReviewFieldReason); m.Key != "breachui.withdraw.reason_required" {
		t.Errorf("a withdrawal without a reason: %v", m)
	}
	must(t, county.Withdraw(county.Rows[0], WithdrawForm{Objection: obj, Reason: "承诺已依法变更，不构成失信。"}, testToday))
	crow = county.Rows[0]
	if !crow.Closed || crow.Status.Key != "breachui.step.withdrawn" || crow.Can != (ReviewActions{}) || len(crow.Next) != 0 {
		t.Fatalf("the county after the withdrawal: %+v", crow)
	}
	if m := formField(t, county.Withdraw(crow, WithdrawForm{Objection: obj, Reason: "again"}, testToday), ReviewFieldRecord); m.Key != "breachui.review.not_now" {
		t.Errorf("withdrawing twice: %v", m)
	}
	reload()
	if row = lead.Rows[0]; row.Due != DueNothing || row.CanObject || row.CanExplain || row.StatusName.Key != "breachui.step.withdrawn" {
		t.Fatalf("the township after the withdrawal: %+v", row)
	}
}
