package vm

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"jiannuo/domain"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

func TestNextDishonestySteps(t *testing.T) {
	for _, c := range []struct {
		r    store.DishonestyRecord
		want []domain.DishonestyStep
	}{
		{store.DishonestyRecord{Recorded: false, Status: domain.StepExplained}, nil},
		{store.DishonestyRecord{Recorded: true, Status: domain.StepRecorded}, []domain.DishonestyStep{domain.StepExplained, domain.StepRectified}},
		{store.DishonestyRecord{Recorded: true, Status: domain.StepExplained}, []domain.DishonestyStep{domain.StepRectified}},
		{store.DishonestyRecord{Recorded: true, Status: domain.StepRectified}, []domain.DishonestyStep{domain.StepRepaired}},
		{store.DishonestyRecord{Recorded: true, Status: domain.StepRepaired, Closed: true}, nil},
	} {
		if got := NextDishonestySteps(c.r); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.r.Status, got, c.want)
		}
		for _, s := range c.want {
			checkMessage(t, DishonestyStepAction(s))
		}
	}
	rec := store.DishonestyRecord{Recorded: true, Status: domain.StepRecorded, Deadline: "2026-11-20"}
	if n := RectificationOverdue(rec, testToday); n != 5 {
		t.Fatalf("overdue %d days, want 5", n)
	}
	for _, r := range []store.DishonestyRecord{
		{Recorded: true, Status: domain.StepRecorded, Deadline: "2026-11-25"}, // due today
		{Recorded: true, Status: domain.StepRecorded},                         // no deadline
		{Recorded: true, Status: domain.StepRectified, Deadline: "2026-11-20"},
		{Recorded: true, Status: domain.StepRepaired, Closed: true, Deadline: "2026-11-20"},
	} {
		if n := RectificationOverdue(r, testToday); n != 0 {
			t.Errorf("%+v overdue %d", r, n)
		}
	}
	var h protocol.Hash
	h[0] = 1
	for _, c := range []struct {
		r     store.DishonestyRecord
		f     StepForm
		field string
		key   string
	}{
		{rec, StepForm{Step: domain.StepRepaired, Reason: "x", Evidence: []protocol.Hash{h}}, StepFieldStep, "breachui.step.not_next"},
		{rec, StepForm{Step: domain.StepExplained, Reason: "收到"}, StepFieldExplanation, "breachui.step.explanation_required"},
		{rec, StepForm{Step: domain.StepRectified, Reason: "已整改"}, StepFieldEvidence, "breachui.step.evidence_required"},
		{rec, StepForm{Step: domain.StepRectified, Evidence: []protocol.Hash{h}}, StepFieldReason, "breachui.reason_required"},
	} {
		bad := c.f.Validate(c.r)
		if len(bad) != 1 || bad[c.field].Key != c.key {
			t.Errorf("%+v: %v, want %s", c.f, bad, c.key)
		}
		checkMessage(t, bad[c.field])
	}
	if bad := (StepForm{Step: domain.StepExplained, Reason: "收到", Explanation: "人员调整"}).Validate(rec); len(bad) != 0 {
		t.Fatalf("valid step refused: %v", bad)
	}
}

// TestDishonestyListSteps: on a real admin replica, a confirmed breach
// shows in the list, overdue for rectification once its deadline passed;
// it goes through explanation, rectification and credit repair with
// evidence; each reaches the township.
func TestDishonestyListSteps(t *testing.T) {
	town := newTownship(t)
	adm := newAdminReplica(t)
	introduceAll(t, town.leader, adm)
	ref := town.create(t, spec{title: "每月走访独居老人", status: domain.StatusInProgress})
	exchangeAll(t, town.leader, adm)
	c, err := adm.Store().Commitment(ref)
	must(t, err)
	form := NewBreachForm(c, testToday)
	form.Deadline, form.Reason = "2026-12-31", "逾期未走访"
	id, err := ConfirmBreach(adm, ref, form)
	must(t, err)

	synced := 0
	l := NewDishonestyList(adm, func() { synced++ })
	must(t, l.Load(testToday))
	if len(l.Rows) != 1 || len(l.Records) != 1 {
		t.Fatalf("rows %+v", l.Rows)
	}
	row := l.Rows[0]
	if row.ID != id || row.Title != "每月走访独居老人" || row.OfficeName != "赤土店镇" || row.Official != "王建国" ||
		row.Step != domain.StepRecorded || row.OverdueDays != 0 || len(row.Next) != 2 {
		t.Fatalf("row %+v", row)
	}
	checkMessage(t, row.TypeName)
	checkMessage(t, row.StepName)
	// A month later the rectification is overdue.
	later := date(2027, time.January, 5)
	must(t, l.Load(later))
	if l.Rows[0].OverdueDays != 5 {
		t.Fatalf("overdue %d", l.Rows[0].OverdueDays)
	}
	checkMessage(t, l.Rows[0].Overdue)

	// Repair before rectification: refused, nothing written.
	err = l.TakeStep(l.Rows[0], StepForm{Step: domain.StepRepaired, Reason: "修复"}, later)
	var fe *FormError
	if !errors.As(err, &fe) || fe.Fields[StepFieldStep].Key != "breachui.step.not_next" {
		t.Fatalf("repair first: %v", err)
	}
	must(t, l.TakeStep(l.Rows[0], StepForm{Step: domain.StepExplained, Reason: "收到书面说明", Explanation: "人员调整导致遗漏"}, later))
	if l.Rows[0].Step != domain.StepExplained || l.Rows[0].Record.Explanation != "人员调整导致遗漏" || synced != 1 {
		t.Fatalf("after explanation %+v, synced %d", l.Rows[0], synced)
	}
	ev, err := AddStepEvidence(adm, l.Rows[0].Office, "整改报告.pdf", strings.NewReader("%PDF 整改报告"))
	must(t, err)
	must(t, l.TakeStep(l.Rows[0], StepForm{Step: domain.StepRectified, Reason: "已补走访并建立台账", Evidence: []protocol.Hash{ev}}, later))
	if l.Rows[0].Step != domain.StepRectified || l.Rows[0].OverdueDays != 0 || !slices.Equal(l.Rows[0].Next, []domain.DishonestyStep{domain.StepRepaired}) {
		t.Fatalf("after rectification %+v", l.Rows[0])
	}
	ev2, err := AddStepEvidence(adm, l.Rows[0].Office, "信用修复决定.jpg", strings.NewReader("JPEG 决定书"))
	must(t, err)
	must(t, l.TakeStep(l.Rows[0], StepForm{Step: domain.StepRepaired, Reason: "信用修复", Evidence: []protocol.Hash{ev2}}, later))
	if !l.Rows[0].Closed || len(l.Rows[0].Next) != 0 || synced != 3 {
		t.Fatalf("after repair %+v", l.Rows[0])
	}
	exchangeAll(t, town.leader, adm)
	recs, err := town.s.DishonestyRecords(store.DishonestyFilter{})
	must(t, err)
	if len(recs) != 1 || !recs[0].Closed || len(recs[0].History) != 4 {
		t.Fatalf("township replica %+v", recs)
	}
}
