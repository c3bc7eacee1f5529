package vm

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// caseWorld is a county-admin replica and two devices of one township
// (the first with a leader and a staff member), all introduced, the
// admin's replica knowing the county key a contact is sealed to.
type caseWorld struct {
	adm    *store.Session
	town   *townshipDevice
	second *store.Session // another device of the township, its leader
	ref    store.Ref      // a commitment in progress
}

func newCaseWorld(t *testing.T) *caseWorld {
	t.Helper()
	w := &caseWorld{town: newTownship(t)}
	w.adm = newAdminReplicaClocked(t, (&stepClock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, cst)}).Now)
	w.second = newTownship(t).leader
	countyPub, _, err := ed25519.GenerateKey(rand.Reader)
	must(t, err)
	must(t, w.adm.Store().SetSyncSettings(store.SyncSettings{County: countyCode, CountyKey: countyPub}))
	introduceAll(t, w.town.leader, w.second, w.adm)
	w.ref = w.town.create(t, spec{title: "每月走访独居老人", status: domain.StatusInProgress})
	w.exchange(t)
	return w
}

func (w *caseWorld) exchange(t *testing.T) {
	t.Helper()
	exchangeAll(t, w.town.leader, w.second, w.adm)
}

// openComplaint opens a complaint about the world's commitment on the
// admin's replica with the filer's contact and assigns its deadlines.
func (w *caseWorld) openComplaint(t *testing.T, text string, contact protocol.Contact, ack, answer calendar.Date) protocol.EntityID {
	t.Helper()
	id, err := w.adm.OpenCase(store.CaseInput{Kind: domain.CaseComplaint, Commitment: w.ref, Text: text, Contact: contact})
	must(t, err)
	_, err = w.adm.CaseStep(w.ref.Office, id, store.CaseStepInput{Step: domain.CaseAssigned, AckDue: ack, AnswerDue: answer})
	must(t, err)
	return id
}

// rowOf returns the row of case id in l, failing the test without one.
func caseRowOf(t *testing.T, l *CaseList, id protocol.EntityID) CaseRow {
	t.Helper()
	for _, r := range l.Rows {
		if r.Case.ID == id {
			return r
		}
	}
	t.Fatalf("case %s not listed (%d rows)", id.String()[:8], len(l.Rows))
	return CaseRow{}
}

// TestCaseFlowAcrossReplicas: a complaint a county-admin device opens
// reaches both township devices with its deadlines and the filer's
// contact (readable there, not on the admin's desktop); staff take it up
// and draft, staff cannot approve, the leader approves; the township
// cannot accept; the county returns the reply once, then accepts it with
// its finding, confirms the breach and links the record; every replica
// ends with the same digest.
func TestCaseFlowAcrossReplicas(t *testing.T) {
	w := newCaseWorld(t)
	filer := protocol.Contact{Name: "刘秀英", Phone: "138 0379 1234"}
	id := w.openComplaint(t, "3月以来无人走访我母亲。", filer, date(2026, 11, 30), date(2026, 12, 16))
	w.exchange(t)

	synced := 0
	sync := func() { synced++ }
	staff := NewCaseList(w.town.staff, nil, sync)
	lead := NewCaseList(w.town.leader, nil, sync)
	other := NewCaseList(w.second, nil, nil)
	county := NewCaseList(w.adm, nil, sync)
	today := date(2026, 11, 26)
	load := func() {
		t.Helper()
		for _, l := range []*CaseList{staff, lead, other, county} {
			must(t, l.Load(today))
		}
	}
	load()
	row := caseRowOf(t, staff, id)
	if !row.Can.Acknowledge || row.Can.Draft || row.Can.Approve || !row.NeedsAction || staff.NeedingAction() != 1 || staff.County() {
		t.Fatalf("staff's row on arrival: %+v", row.Can)
	}
	if row.AckDue != "2026-11-30" || row.AnswerDue != "2026-12-16" || row.Overdue || row.Title != "每月走访独居老人" {
		t.Fatalf("row %+v", row)
	}
	// 26 Nov (Thu) to 30 Nov (Mon): 2 working days.
	if row.DueText.Key != "caseui.due.left" || row.Due.WorkdaysLeft != 2 || !row.NearLimit {
		t.Fatalf("due %v %+v near %v", row.DueText, row.Due, row.NearLimit)
	}
	for _, m := range []Message{row.DueText, row.Awaits, row.KindName, row.SourceName, row.StatusName} {
		checkMessage(t, m)
	}
	crow := caseRowOf(t, county, id)
	if crow.Can.Acknowledge || crow.Can.Accept || !crow.Can.Withdraw || !crow.Can.Deadlines || crow.NeedsAction || !county.County() {
		t.Fatalf("county's row on arrival: %+v", crow.Can)
	}

	// The contact: opened on both township devices, never on the admin's
	// desktop.
	for _, l := range []*CaseList{staff, other} {
		d, err := l.Detail(caseRowOf(t, l, id))
		must(t, err)
		if d.Contact == nil || *d.Contact != filer || !d.ContactNote.IsZero() {
			t.Fatalf("township contact %+v note %v", d.Contact, d.ContactNote)
		}
		checkMessage(t, ContactText(*d.Contact))
	}
	cd, err := county.Detail(crow)
	must(t, err)
	if cd.Contact != nil || cd.ContactNote.Key != "caseui.contact.admin" {
		t.Fatalf("admin contact %+v note %v", cd.Contact, cd.ContactNote)
	}
	checkMessage(t, cd.ContactNote)

	// The township acknowledges; the county may not through this screen,
	// and a draft waits for the acknowledgement.
	if err := county.Acknowledge(crow, today); !errors.Is(err, domain.ErrNotAllowed) {
		t.Fatalf("county acknowledges: %v", err)
	}
	if m := formField(t, staff.DraftReply(row, ReplyForm{Text: "已走访。"}, today), CaseFieldCase); m.Key != "caseui.form.not_now" {
		t.Errorf("draft before acknowledging: %v", m)
	}
	must(t, staff.Acknowledge(row, today))
	row = caseRowOf(t, staff, id)
	if synced != 1 || row.Case.Status != domain.CaseStatusAcknowledged || !row.Can.Draft || row.Can.Acknowledge || row.Case.AcknowledgedBy != "wangfang" {
		t.Fatalf("after acknowledging: synced %d, %+v", synced, row)
	}
	if m := formField(t, staff.Acknowledge(row, today), CaseFieldCase); m.Key != "caseui.form.not_now" {
		t.Errorf("acknowledging twice: %v", m)
	}

	// Staff draft; the form refuses what it must.
	for _, c := range []struct {
		f   ReplyForm
		key string
	}{
		{ReplyForm{Text: " \n"}, "caseui.form.reply_required"},
		{ReplyForm{Text: strings.Repeat("答", domain.MaxCaseTextRunes+1)}, "caseui.form.too_long"},
		{ReplyForm{Text: "答复\x00"}, "ui.form.control_chars"},
	} {
		if m := formField(t, staff.DraftReply(row, c.f, today), CaseFieldText); m.Key != c.key {
			t.Errorf("draft %q: %v, want %s", c.f.Text[:min(len(c.f.Text), 12)], m, c.key)
		}
	}
	photo, err := AddStepEvidence(w.town.staff, township, "走访照片.png", strings.NewReader("\x89PNG\r\n\x1a\n走访"))
	must(t, err)
	must(t, staff.DraftReply(row, ReplyForm{Text: "  已于11月26日上门走访，建立走访台账。 ", Evidence: []protocol.Hash{photo}}, today))
	row = caseRowOf(t, staff, id)
	if row.Case.Draft == nil || row.Case.Draft.Text != "已于11月26日上门走访，建立走访台账。" || row.Can.Approve || row.NeedsAction {
		t.Fatalf("staff's row after drafting: %+v", row)
	}
	if err := staff.Approve(row, today); !errors.Is(err, domain.ErrNotAllowed) {
		t.Fatalf("staff approves: %v", err)
	}
	must(t, lead.Load(today))
	lrow := caseRowOf(t, lead, id)
	if !lrow.Can.Approve || !lrow.NeedsAction || lrow.Awaits.Key != "caseui.awaits.approval" {
		t.Fatalf("leader's row with a draft: %+v", lrow)
	}
	d, err := lead.Detail(lrow)
	must(t, err)
	if len(d.DraftFiles) != 1 || d.DraftFiles[0].Name != "走访照片.png" || !d.DraftFiles[0].Here || d.DraftBy.Key != "caseui.plain" || d.DraftBy.Args[0] != "王芳" {
		t.Fatalf("draft files %+v by %q", d.DraftFiles, d.DraftBy)
	}
	must(t, lead.Approve(lrow, today))
	w.exchange(t)
	cd, err = county.Detail(caseRowOf(t, county, id))
	must(t, err)
	if cd.ReplyBy.Key != "caseui.who.office" || cd.ApprovedBy.Args[1] != "zhangli" || cd.History[0].Who.Key != "caseui.plain" {
		t.Fatalf("the county names the township's authors %v, %v, and its own %v", cd.ReplyBy, cd.ApprovedBy, cd.History[0].Who)
	}
	checkMessage(t, cd.ApprovedBy)
	if d, err = staff.Detail(caseRowOf(t, staff, id)); err != nil || d.History[0].Who.Key != "caseui.who.county" {
		t.Fatalf("the township names the county %v (%v)", d.History[0].Who, err)
	}
	checkMessage(t, d.History[0].Who)
	lrow = caseRowOf(t, lead, id)
	if lrow.Case.Status != domain.CaseStatusReplied || lrow.Can.Draft || lrow.Can.Approve || lrow.Awaits.Key != "caseui.awaits.county_review" || lead.NeedingAction() != 0 {
		t.Fatalf("after approving: %+v", lrow)
	}
	if lrow.Overdue || !lrow.DueText.IsZero() {
		t.Fatalf("a replied case awaits the county, not the township: %+v", lrow)
	}

	// The county: the township cannot accept; the form needs a finding; a
	// return sends it back to draft again.
	w.exchange(t)
	load()
	crow = caseRowOf(t, county, id)
	if !crow.Can.Accept || !crow.Can.Return || !crow.NeedsAction || county.NeedingAction() != 1 {
		t.Fatalf("county's row with a reply: %+v", crow.Can)
	}
	if err := lead.Accept(caseRowOf(t, lead, id), FindingForm{Finding: domain.FindingUpheld}, today); !errors.Is(err, domain.ErrNotAllowed) {
		t.Fatalf("the township accepts: %v", err)
	}
	if m := formField(t, county.Accept(crow, FindingForm{}, today), CaseFieldFinding); m.Key != "caseui.form.finding_required" {
		t.Errorf("accepting without a finding: %v", m)
	}
	if m := formField(t, county.Accept(crow, FindingForm{Finding: domain.FindingRejected}, today), CaseFieldFinding); m.Key != "caseui.form.finding_required" {
		t.Errorf("accepting with an objection's finding: %v", m)
	}
	if m := formField(t, county.Return(crow, ReasonForm{}, today), CaseFieldText); m.Key != "caseui.form.return_reason_required" {
		t.Errorf("returning without a reason: %v", m)
	}
	must(t, county.Return(crow, ReasonForm{Reason: "请附走访台账。"}, today))
	w.exchange(t)
	load()
	row = caseRowOf(t, staff, id)
	if row.Case.Status != domain.CaseStatusAcknowledged || row.Case.ReturnReason != "请附走访台账。" || !row.Can.Draft || row.Awaits.Key != "caseui.awaits.redraft" || !row.NeedsAction {
		t.Fatalf("the township after the return: %+v", row)
	}
	must(t, staff.DraftReply(row, ReplyForm{Text: "已上门走访并附台账。", Evidence: []protocol.Hash{photo}}, today))
	must(t, lead.Load(today))
	must(t, lead.Approve(caseRowOf(t, lead, id), today))
	w.exchange(t)
	load()
	crow = caseRowOf(t, county, id)
	must(t, county.Accept(crow, FindingForm{Finding: domain.FindingUpheld, Text: "核查属实，已督促整改。"}, today))
	crow = caseRowOf(t, county, id)
	if !crow.Case.Closed || crow.Case.Finding != domain.FindingUpheld || crow.Case.PublicReply() == nil || !crow.Can.Link || crow.Can.Withdraw {
		t.Fatalf("after accepting: %+v", crow)
	}
	checkMessage(t, crow.Awaits)

	// An upheld complaint: the county confirms the breach and links the
	// record.
	cd, err = county.Detail(crow)
	must(t, err)
	if !cd.CanConfirmBreach || len(cd.Candidates) != 0 {
		t.Fatalf("before the breach: confirm %v, candidates %d", cd.CanConfirmBreach, len(cd.Candidates))
	}
	if m := formField(t, county.Link(crow, protocol.EntityID{}, today), CaseFieldRecord); m.Key != "caseui.form.record_required" {
		t.Errorf("linking nothing: %v", m)
	}
	c, err := w.adm.Store().Commitment(w.ref)
	must(t, err)
	form := NewBreachForm(c, today)
	form.Deadline, form.Reason = "2026-12-31", "投诉核查属实：3月至11月未走访。"
	rec, err := ConfirmBreach(w.adm, w.ref, form)
	must(t, err)
	must(t, county.Link(crow, rec, today))
	cd, err = county.Detail(caseRowOf(t, county, id))
	must(t, err)
	if len(cd.Linked) != 1 || cd.Linked[0].ID != rec || len(cd.Candidates) != 0 || cd.CanConfirmBreach {
		t.Fatalf("after linking: %+v", cd)
	}
	last := cd.History[len(cd.History)-1]
	if last.What.Key != "caseui.history.linked" || cd.History[0].What.Key != "caseui.history.opened" {
		t.Fatalf("history %+v", cd.History)
	}
	for _, h := range cd.History {
		checkMessage(t, h.What)
	}

	w.exchange(t)
	load()
	if row = caseRowOf(t, staff, id); !row.Case.Closed || len(row.Case.Linked) != 1 || row.Can != (CaseActions{}) {
		t.Fatalf("the township at the end: %+v", row)
	}
	a, err := w.town.s.Digest()
	must(t, err)
	b, err := w.second.Store().Digest()
	must(t, err)
	cdg, err := w.adm.Store().Digest()
	must(t, err)
	if a != b || b != cdg {
		t.Fatal("replicas differ after exchanging every change set")
	}
}

// TestCaseListOrderFiltersAndDeadlines: the list shows an overdue case
// first, then those near their limit, then the others, closed ones last;
// the county's filters select by township, kind, status and overdue; the
// deadline form refuses what it must and changes the deadlines; a
// withdrawal needs its reason.
func TestCaseListOrderFiltersAndDeadlines(t *testing.T) {
	w := newCaseWorld(t)
	later := w.openComplaint(t, "路灯不亮。", protocol.Contact{}, date(2026, 12, 14), date(2026, 12, 31))
	overdue := w.openComplaint(t, "一直无人回复。", protocol.Contact{}, date(2026, 11, 30), date(2026, 12, 16))
	near := w.openComplaint(t, "台账不全。", protocol.Contact{}, date(2026, 12, 4), date(2026, 12, 18))
	closed := w.openComplaint(t, "重复投诉。", protocol.Contact{}, date(2026, 12, 4), date(2026, 12, 18))
	w.exchange(t)
	today := date(2026, 12, 3) // Thursday

	county := NewCaseList(w.adm, nil, nil)
	must(t, county.Load(today))
	crow := caseRowOf(t, county, closed)
	if m := formField(t, county.Withdraw(crow, ReasonForm{Reason: " "}, today), CaseFieldText); m.Key != "caseui.form.withdraw_reason_required" {
		t.Errorf("withdrawing without a reason: %v", m)
	}
	must(t, county.Withdraw(crow, ReasonForm{Reason: "与 TS 重复。"}, today))
	if r := caseRowOf(t, county, closed); !r.Case.Closed || r.Case.ClosedBy != domain.CaseWithdrawn || r.Awaits.Key != "caseui.awaits.withdrawn" || r.Can != (CaseActions{}) {
		t.Fatalf("after withdrawing: %+v", r)
	}
	w.exchange(t)

	staff := NewCaseList(w.town.staff, nil, nil)
	must(t, staff.Load(today))
	var order []protocol.EntityID
	for _, r := range staff.Rows {
		order = append(order, r.Case.ID)
	}
	if want := []protocol.EntityID{overdue, near, later, closed}; len(order) != 4 || order[0] != want[0] || order[1] != want[1] || order[2] != want[2] || order[3] != want[3] {
		t.Fatalf("order %v, want overdue, near, later, closed", order)
	}
	first := staff.Rows[0]
	if !first.Overdue || first.Due.DaysOverdue != 3 || first.DueText.Key != "caseui.due.ack_late" || !first.Due.AckLate {
		t.Fatalf("overdue row %+v", first)
	}
	if r := staff.Rows[1]; r.Overdue || !r.NearLimit || r.Due.WorkdaysLeft != 1 {
		t.Fatalf("near row %+v", r)
	}
	if r := staff.Rows[2]; r.Overdue || r.NearLimit || r.Next != date(2026, 12, 14) {
		t.Fatalf("later row %+v", r)
	}
	if staff.NeedingAction() != 3 {
		t.Fatalf("badge %d, want 3 to acknowledge", staff.NeedingAction())
	}

	// The county's filters.
	must(t, county.Load(today))
	if offices := county.Offices(); len(offices) != 1 || offices[0] != township {
		t.Fatalf("offices %v", offices)
	}
	for _, c := range []struct {
		f    CaseListFilter
		want int
	}{
		{CaseListFilter{}, 4},
		{CaseListFilter{OverdueOnly: true}, 1},
		{CaseListFilter{Status: domain.CaseStatusClosed}, 1},
		{CaseListFilter{Kind: domain.CaseObjection}, 0},
		{CaseListFilter{Office: "410324102"}, 0},
		{CaseListFilter{Office: township, Kind: domain.CaseComplaint, Status: domain.CaseStatusOpen}, 3},
	} {
		county.SetFilter(c.f)
		if len(county.Rows) != c.want || county.Total() != 4 {
			t.Errorf("filter %+v: %d rows, want %d", c.f, len(county.Rows), c.want)
		}
	}
	county.SetFilter(CaseListFilter{})
	if county.Rows[0].Case.ID != overdue {
		t.Fatal("the county's list does not start with the overdue case")
	}

	// Deadlines: the form refuses, then moves the overdue case's.
	crow = caseRowOf(t, county, overdue)
	if f := NewDeadlineForm(crow); f.AckDue != "2026-11-30" || f.AnswerDue != "2026-12-16" {
		t.Fatalf("form starts from %+v", f)
	}
	for _, c := range []struct {
		f          DeadlineForm
		field, key string
	}{
		{DeadlineForm{AnswerDue: "2026-12-20"}, CaseFieldAckDue, "caseui.form.date_required"},
		{DeadlineForm{AckDue: "2026-12-04"}, CaseFieldAnswerDue, "caseui.form.date_required"},
		{DeadlineForm{AckDue: "明天", AnswerDue: "2026-12-20"}, CaseFieldAckDue, "ui.form.date_invalid"},
		{DeadlineForm{AckDue: "2026-11-20", AnswerDue: "2026-12-20"}, CaseFieldAckDue, "caseui.form.before_filed"},
		{DeadlineForm{AckDue: "2026-12-10", AnswerDue: "2026-12-08"}, CaseFieldAnswerDue, "caseui.form.answer_before_ack"},
	} {
		if m := formField(t, county.SetDeadlines(crow, c.f, today), c.field); m.Key != c.key {
			t.Errorf("deadlines %+v: %v, want %s", c.f, m, c.key)
		}
	}
	if err := staff.SetDeadlines(caseRowOf(t, staff, overdue), DeadlineForm{AckDue: "2026-12-07", AnswerDue: "2026-12-21"}, today); !errors.Is(err, domain.ErrNotAllowed) {
		t.Fatalf("the township changes deadlines: %v", err)
	}
	srow := caseRowOf(t, staff, overdue)
	for what, err := range map[string]error{
		"withdraws": staff.Withdraw(srow, ReasonForm{Reason: "重复"}, today),
		"returns":   staff.Return(srow, ReasonForm{Reason: "退回"}, today),
		"links":     staff.Link(srow, protocol.EntityID{1}, today),
	} {
		if !errors.Is(err, domain.ErrNotAllowed) {
			t.Errorf("the township %s: %v", what, err)
		}
	}
	must(t, county.SetDeadlines(crow, DeadlineForm{AckDue: "2026年12月7日", AnswerDue: "2026-12-21"}, today))
	if r := caseRowOf(t, county, overdue); r.AckDue != "2026-12-07" || r.AnswerDue != "2026-12-21" || r.Overdue {
		t.Fatalf("after the new deadlines: %+v", r)
	}
}

// TestObjectionCase: the township leader's objection to a record shows on
// the township's list as the county's to decide (no township action); the
// county decides it, rejected with its reason or upheld; the decide form
// refuses what it must.
func TestObjectionCase(t *testing.T) {
	w := newCaseWorld(t)
	c, err := w.adm.Store().Commitment(w.ref)
	must(t, err)
	form := NewBreachForm(c, testToday)
	form.Deadline, form.Reason = "2026-12-31", "1月至3月未按期走访。"
	_, err = ConfirmBreach(w.adm, w.ref, form)
	must(t, err)
	w.exchange(t)
	td := NewTownshipDishonesty(w.town.leader, nil)
	must(t, td.Load(testToday))
	obj, err := td.FileObjection(td.Rows[0], ObjectionForm{Text: "1月、2月已走访。"}, testToday)
	must(t, err)
	w.exchange(t)

	lead := NewCaseList(w.town.leader, nil, nil)
	must(t, lead.Load(testToday))
	row := caseRowOf(t, lead, obj)
	if row.Can != (CaseActions{}) || row.NeedsAction || row.Awaits.Key != "caseui.awaits.county_decision" || row.Case.Kind != domain.CaseObjection {
		t.Fatalf("the township's own objection: %+v", row)
	}
	d, err := lead.Detail(row)
	must(t, err)
	if d.Record == nil || d.Record.Reason != "1月至3月未按期走访。" || d.ContactNote.Key != "caseui.contact.none" {
		t.Fatalf("objection detail: record %+v, contact %v", d.Record, d.ContactNote)
	}

	county := NewCaseList(w.adm, nil, nil)
	must(t, county.Load(testToday))
	crow := caseRowOf(t, county, obj)
	if !crow.Can.Decide || crow.Can.Accept || !crow.NeedsAction {
		t.Fatalf("the county's objection row: %+v", crow.Can)
	}
	if err := lead.Decide(row, FindingForm{Finding: domain.FindingUpheld, Text: "成立"}, testToday); !errors.Is(err, domain.ErrNotAllowed) {
		t.Fatalf("the township decides: %v", err)
	}
	for _, c := range []struct {
		f          FindingForm
		field, key string
	}{
		{FindingForm{Text: "理由"}, CaseFieldFinding, "caseui.form.finding_required"},
		{FindingForm{Finding: domain.FindingNotUpheld, Text: "理由"}, CaseFieldFinding, "caseui.form.finding_required"},
		{FindingForm{Finding: domain.FindingRejected}, CaseFieldText, "caseui.form.decide_reason_required"},
	} {
		if m := formField(t, county.Decide(crow, c.f, testToday), c.field); m.Key != c.key {
			t.Errorf("decide %+v: %v, want %s", c.f, m, c.key)
		}
	}
	must(t, county.Decide(crow, FindingForm{Finding: domain.FindingUpheld, Text: "台账证实1月、2月已走访。"}, testToday))
	crow = caseRowOf(t, county, obj)
	if !crow.Case.Closed || crow.Case.Finding != domain.FindingUpheld || crow.Can.Link || crow.Awaits.Key != "caseui.awaits.closed" {
		t.Fatalf("after deciding: %+v", crow)
	}
	checkMessage(t, crow.Awaits)
	dl := NewDishonestyList(w.adm, nil)
	must(t, dl.Load(testToday))
	drow, ok := dl.Row(store.Ref{Office: crow.Case.Office, ID: *crow.Case.Record})
	if !ok || !drow.Can.Correct || !drow.Can.Withdraw || len(drow.Upheld) != 1 || drow.Upheld[0].ID != obj {
		t.Fatalf("the record after the objection was upheld: %v %+v", ok, drow.Can)
	}
	if _, ok := dl.Row(store.Ref{Office: township, ID: protocol.EntityID{9}}); ok {
		t.Fatal("Row found a record that is not there")
	}
}
