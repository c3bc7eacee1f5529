package app

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// caseClock is a store clock starting on 2026-09-28 09:00 (two days before
// the widget tests' today) that advances a millisecond per reading.
type caseClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *caseClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func openClockedStore(t *testing.T, name string) *store.Store {
	t.Helper()
	return openTestStoreAt(t, name, (&caseClock{t: time.Date(2026, 9, 28, 9, 0, 0, 0, time.Local)}).Now)
}

// caseFixture is a township device (a leader and a staff member), a
// county-admin device that knows the county's key, and a commitment in
// progress on both.
type caseFixture struct {
	leader, staff, adm *store.Session
	ref                store.Ref
}

func newCaseFixture(t *testing.T) *caseFixture {
	t.Helper()
	town := openClockedStore(t, "township.db")
	leader, err := town.Setup(store.SetupConfig{Office: adminTestTownship, DeviceName: "赤土店镇-1", Name: "zhangli", DisplayName: "张丽",
		Role: domain.RoleLeader, Passphrase: adminTestKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := leader.AddAccount("wangfang", "王芳", domain.RoleStaff, adminTestKey); err != nil {
		t.Fatal(err)
	}
	staff, err := town.SignIn("wangfang", adminTestKey)
	if err != nil {
		t.Fatal(err)
	}
	admin := openClockedStore(t, "admin.db")
	adm, err := admin.Setup(store.SetupConfig{Office: adminTestCounty, Admin: true, DeviceName: "县信用办-1", Name: adminTestName,
		DisplayName: "李明", Role: domain.RoleCountyAdmin, Passphrase: adminTestKey})
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	if err := admin.SetSyncSettings(store.SyncSettings{County: adminTestCounty, CountyKey: pub}); err != nil {
		t.Fatal(err)
	}
	if err := town.PutDevice(adm.Device()); err != nil {
		t.Fatal(err)
	}
	if err := admin.PutDevice(leader.Device()); err != nil {
		t.Fatal(err)
	}
	ref, err := leader.Create(store.Draft{Category: domain.CatElderlyCare, Title: "每月走访独居老人", Text: "每月走访一次", Responsible: "王建国"})
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []domain.Status{domain.StatusPublished, domain.StatusInProgress} {
		if err := leader.Transition(ref, to, ""); err != nil {
			t.Fatal(err)
		}
	}
	f := &caseFixture{leader: leader, staff: staff, adm: adm, ref: ref}
	f.exchange(t)
	return f
}

func (f *caseFixture) exchange(t *testing.T) { exchangeSessions(t, f.leader, f.adm) }

// open opens a complaint on the admin's device with deadlines.
func (f *caseFixture) open(t *testing.T, text string, contact protocol.Contact, ack, answer calendar.Date) store.Ref {
	t.Helper()
	id, err := f.adm.OpenCase(store.CaseInput{Kind: domain.CaseComplaint, Commitment: f.ref, Text: text, Contact: contact})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.adm.CaseStep(f.ref.Office, id, store.CaseStepInput{Step: domain.CaseAssigned, AckDue: ack, AnswerDue: answer}); err != nil {
		t.Fatal(err)
	}
	return store.Ref{Office: f.ref.Office, ID: id}
}

// caseRowTexts draws row i of the cases list and returns its texts.
func caseRowTexts(s *casesScreen, i int) string {
	o := s.newRow()
	s.updateRow(i, o)
	return strings.Join(visibleTexts(o), " | ")
}

// tapConfirm answers Yes to the confirmation dialog on top of w.
func tapConfirm(t *testing.T, w fyne.Window) {
	t.Helper()
	yes := buttonIn(topOverlay(w), "是")
	if yes == nil {
		t.Fatalf("no confirmation shown: %q", visibleTexts(topOverlay(w)))
	}
	test.Tap(yes)
}

var filer = protocol.Contact{Name: "刘秀英", Phone: "13903791234"}

// TestCasesTabTownship: on the township device the overdue case is listed
// first and the tab counts the cases awaiting the user; the detail shows
// the filer's contact; staff take it up and draft a reply with a file
// (Escape closes the dialog; a blank reply is refused), the approve
// button is there for the leader only, and the leader's approval sends it
// to the county.
func TestCasesTabTownship(t *testing.T) {
	f := newCaseFixture(t)
	later := f.open(t, "路灯坏了无人修。", protocol.Contact{}, calendar.NewDate(2026, 10, 9), calendar.NewDate(2026, 10, 23))
	overdue := f.open(t, "3月以来无人走访我母亲。", filer, calendar.NewDate(2026, 9, 29), calendar.NewDate(2026, 10, 20))
	f.exchange(t)

	fa := test.NewTempApp(t)
	staffUI, leaderUI := uiFor(t, fa, f.staff), uiFor(t, fa, f.leader)
	s := staffUI.main.cases
	if s.tab.Text != "投诉与异议（2）" {
		t.Fatalf("tab %q, want the count of cases to take up", s.tab.Text)
	}
	if len(s.vm.Rows) != 2 || s.vm.Rows[0].Ref() != overdue || s.vm.Rows[1].Ref() != later {
		t.Fatalf("rows %+v", s.vm.Rows)
	}
	first := caseRowTexts(s, 0)
	if !strings.Contains(first, s.vm.Rows[0].Case.Number) || !strings.Contains(first, staffUI.T("app.badge.overdue")) ||
		!strings.Contains(first, "逾期未受理 1 天") || !strings.Contains(first, "每月走访独居老人") {
		t.Fatalf("first row %q", first)
	}
	// 30 September to 9 October: two working days across National Day.
	if second := caseRowTexts(s, 1); strings.Contains(second, staffUI.T("app.badge.overdue")) || !strings.Contains(second, "还剩 2 个工作日") ||
		!strings.Contains(second, staffUI.T("caseui.badge.near")) {
		t.Fatalf("second row %q", second)
	}

	staffUI.main.tabs.Select(s.tab)
	s.list.Select(0)
	if !showsText(s.detail, "刘秀英 · 13903791234") || !showsText(s.detail, "3月以来无人走访我母亲。") {
		t.Fatalf("detail %q", visibleTexts(s.detail))
	}
	if buttonIn(s.detail, "审批并报送县级") != nil {
		t.Fatal("approve offered before any draft")
	}
	test.Tap(buttonIn(s.detail, "受理"))
	if s.note.Text != staffUI.T("caseui.done.acknowledged") || s.tab.Text != "投诉与异议（2）" || !showsText(s.detail, "待拟写答复") {
		t.Fatalf("after acknowledging: note %q tab %q", s.note.Text, s.tab.Text)
	}

	ad := s.openReply()
	staffUI.escape()
	if len(staffUI.dialogs) != 0 || topOverlay(staffUI.win) != nil {
		t.Fatal("Escape left the reply dialog open")
	}
	ad = s.openReply()
	test.Tap(ad.ok)
	if ad.errLine.Text != "请填写答复内容" {
		t.Fatalf("blank reply: %q", ad.errLine.Text)
	}
	ad.attach("走访照片.png", strings.NewReader("\x89PNG\r\n\x1a\n走访"))
	test.Type(ad.text, "已于9月30日上门走访，建立台账。")
	test.Tap(ad.ok)
	if ad.errLine.Text != "" || len(staffUI.dialogs) != 0 {
		t.Fatalf("draft refused: %q", ad.errLine.Text)
	}
	if !showsText(s.detail, "已于9月30日上门走访") || !showsText(s.detail, "走访照片.png") || buttonIn(s.detail, "修改答复稿") == nil {
		t.Fatalf("detail after drafting %q", visibleTexts(s.detail))
	}
	if buttonIn(s.detail, "审批并报送县级") != nil {
		t.Fatal("staff are offered the approval")
	}

	l := leaderUI.main.cases
	l.load()
	leaderUI.main.tabs.Select(l.tab)
	l.selectCase(overdue)
	approve := buttonIn(l.detail, "审批并报送县级")
	if approve == nil || l.tab.Text != "投诉与异议（2）" {
		t.Fatalf("the leader has no approve button (tab %q): %q", l.tab.Text, visibleTexts(l.detail))
	}
	test.Tap(approve)
	tapConfirm(t, leaderUI.win)
	c, err := f.leader.Store().Case(overdue.Office, overdue.ID)
	if err != nil || c.Status != domain.CaseStatusReplied || c.Reply == nil || c.Reply.ApprovedBy != "zhangli" {
		t.Fatalf("case after approval: %+v %v", c, err)
	}
	if l.tab.Text != "投诉与异议（1）" || !showsText(l.detail, "答复已报送，待县级审核") || buttonIn(l.detail, "审批并报送县级") != nil {
		t.Fatalf("after approval: tab %q, detail %q", l.tab.Text, visibleTexts(l.detail))
	}
}

// TestCasesTabAdmin: on a county-admin device every case of the county is
// listed with its township; the filer's contact is not shown (the detail
// says why); the admin accepts a reply with its finding through the
// dialog (refused without one), then confirms the breach and links the
// record; the township filter lists the townships.
func TestCasesTabAdmin(t *testing.T) {
	f := newCaseFixture(t)
	ref := f.open(t, "3月以来无人走访我母亲。", filer, calendar.NewDate(2026, 9, 29), calendar.NewDate(2026, 10, 20))
	f.exchange(t)
	if err := f.staff.AcknowledgeCase(ref.Office, ref.ID); err != nil {
		t.Fatal(err)
	}
	draft, err := f.staff.DraftReply(ref.Office, ref.ID, "已上门走访。", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.leader.ApproveReply(ref.Office, ref.ID, draft); err != nil {
		t.Fatal(err)
	}
	f.exchange(t)

	u := uiFor(t, test.NewTempApp(t), f.adm)
	s := u.main.cases
	u.main.tabs.Select(s.tab)
	if len(s.township.Options) != 2 || s.township.Options[1] != "赤土店镇" || s.tab.Text != "投诉与异议（1）" {
		t.Fatalf("township filter %q, tab %q", s.township.Options, s.tab.Text)
	}
	if row := caseRowTexts(s, 0); !strings.Contains(row, "赤土店镇") || !strings.Contains(row, "答复已报送，待县级审核") {
		t.Fatalf("row %q", row)
	}
	s.list.Select(0)
	if showsText(s.detail, "13903791234") || showsText(s.detail, "刘秀英") || !showsText(s.detail, "县信用办桌面终端无法查看") {
		t.Fatalf("the admin's detail: %q", visibleTexts(s.detail))
	}
	if buttonIn(s.detail, "受理") != nil || buttonIn(s.detail, "审批并报送县级") != nil {
		t.Fatal("township actions on the admin's device")
	}
	ad := s.openAccept()
	test.Tap(ad.ok)
	if ad.errLine.Text != "请选择认定结果" {
		t.Fatalf("no finding: %q", ad.errLine.Text)
	}
	ad.finding.SetSelected("属实")
	test.Type(ad.text, "核查属实。")
	test.Tap(ad.ok)
	if ad.errLine.Text != "" {
		t.Fatalf("accept refused: %q", ad.errLine.Text)
	}
	if s.tab.Text != "投诉与异议" || !showsText(s.detail, "已办结（属实）") || buttonIn(s.detail, "确认未践诺并关联失信记录") == nil {
		t.Fatalf("after accepting: tab %q, detail %q", s.tab.Text, visibleTexts(s.detail))
	}

	bd := s.openBreachAndLink()
	test.Type(bd.deadline, "2026-12-31")
	test.Type(bd.reason, "投诉核查属实")
	test.Tap(bd.ok)
	if bd.errLine.Text != "" {
		t.Fatalf("breach refused: %q", bd.errLine.Text)
	}
	c, err := f.adm.Store().Case(ref.Office, ref.ID)
	if err != nil || len(c.Linked) != 1 {
		t.Fatalf("case not linked: %+v %v", c.Linked, err)
	}
	if s.note.Text != u.T("caseui.done.breach_linked") || !showsText(s.detail, "已关联失信记录") || buttonIn(s.detail, "确认未践诺并关联失信记录") != nil {
		t.Fatalf("after the breach: %q, %q", s.note.Text, visibleTexts(s.detail))
	}
	f.exchange(t)
	if tc, _ := f.leader.Store().Case(ref.Office, ref.ID); len(tc.Linked) != 1 || tc.Finding != domain.FindingUpheld {
		t.Fatalf("the township's replica: %+v", tc)
	}
}

// TestDishonestyTabsBothSides: the township leader submits the written
// explanation from the township's 失信记录 tab (refused blank), staff only
// read; the county accepts it and records a sanction from its own tab;
// the leader's objection becomes a case the county decides from the cases
// tab, and the upheld objection leads to the record's correction.
func TestDishonestyTabsBothSides(t *testing.T) {
	f := newCaseFixture(t)
	fa := test.NewTempApp(t)
	admin := uiFor(t, fa, f.adm)
	confirmBreachUI(t, admin, f.ref)
	f.exchange(t)

	leader, staff := uiFor(t, fa, f.leader), uiFor(t, fa, f.staff)
	tb := leader.main.townBreach
	leader.main.tabs.SelectIndex(3)
	if !showsText(tb.box, "每月走访独居老人") || !showsText(tb.box, "待提交书面说明") || buttonIn(tb.box, "提交书面说明") == nil || buttonIn(tb.box, "提出异议") == nil {
		t.Fatalf("the leader's tab: %q", visibleTexts(tb.box))
	}
	staff.main.tabs.SelectIndex(3)
	if sb := staff.main.townBreach; buttonIn(sb.box, "提交书面说明") != nil || !showsText(sb.obj, "由本单位领导提交") {
		t.Fatalf("the staff's tab: %q", visibleTexts(sb.obj))
	}
	ad := tb.openExplain(tb.vm.Rows[0])
	test.Tap(ad.ok)
	if ad.errLine.Text != "请填写书面说明" {
		t.Fatalf("blank explanation: %q", ad.errLine.Text)
	}
	test.Type(ad.text, "人员调整导致遗漏，已补充网格员。")
	test.Tap(ad.ok)
	if ad.errLine.Text != "" || !showsText(tb.box, "已提交，待县级审核") || buttonIn(tb.box, "提交书面说明") != nil {
		t.Fatalf("after submitting: %q %q", ad.errLine.Text, visibleTexts(tb.box))
	}
	f.exchange(t)

	b := admin.main.admin.breach
	admin.main.tabs.Select(b.tab)
	if !showsText(b.box, "待审核：") || buttonIn(b.box, "认可") == nil || buttonIn(b.box, "退回") == nil {
		t.Fatalf("the county's tab: %q", visibleTexts(b.box))
	}
	rv := admin.openReview(b.list, b.list.Rows[0], true, func() { b.render() })
	test.Type(rv.text, "说明属实。")
	test.Tap(rv.ok)
	if rv.errLine.Text != "" || b.list.Rows[0].Step != domain.StepExplained {
		t.Fatalf("review: %q %+v", rv.errLine.Text, b.list.Rows[0].Record.Status)
	}
	sn := admin.openSanction(b.list, b.list.Rows[0], func() { b.render() })
	test.Type(sn.text, "予以通报批评。")
	test.Tap(sn.ok)
	if sn.errLine.Text != "请选择惩戒措施" {
		t.Fatalf("no measure: %q", sn.errLine.Text)
	}
	sn.choice.SetSelected("通报批评")
	test.Tap(sn.ok)
	if sn.errLine.Text != "" || !showsText(b.box, "惩戒措施：通报批评（予以通报批评。）") {
		t.Fatalf("sanction: %q %q", sn.errLine.Text, visibleTexts(b.box))
	}
	f.exchange(t)

	// The leader objects; the county upholds the objection and corrects
	// the record from the case.
	tb.load()
	ob := tb.openObject(tb.vm.Rows[0])
	test.Type(ob.text, "1月、2月已走访，有台账为证。")
	test.Tap(ob.ok)
	if ob.errLine.Text != "" || !showsText(tb.box, "异议处理中") || !showsText(tb.box, "惩戒措施：通报批评") {
		t.Fatalf("objection: %q %q", ob.errLine.Text, visibleTexts(tb.box))
	}
	if lc := leader.main.cases; len(lc.vm.Rows) != 1 || lc.vm.Rows[0].Case.Kind != domain.CaseObjection || lc.tab.Text != "投诉与异议" {
		t.Fatalf("the objection on the township's cases tab: %d rows, tab %q", len(lc.vm.Rows), lc.tab.Text)
	}
	f.exchange(t)
	cs := admin.main.cases
	cs.load()
	admin.main.tabs.Select(cs.tab)
	cs.list.Select(0)
	if !showsText(cs.detail, "异议所涉失信记录") || cs.tab.Text != "投诉与异议（1）" {
		t.Fatalf("objection detail: %q", visibleTexts(cs.detail))
	}
	dd := cs.openDecide()
	dd.finding.SetSelected("异议成立")
	test.Type(dd.text, "台账证实1月、2月已走访。")
	test.Tap(dd.ok)
	if dd.errLine.Text != "" || buttonIn(cs.detail, "更正") == nil || buttonIn(cs.detail, "撤销") == nil {
		t.Fatalf("decide: %q %q", dd.errLine.Text, visibleTexts(cs.detail))
	}
	test.Tap(buttonIn(cs.detail, "更正"))
	cd := admin.lastAct
	if cd.choice.Selected == "" {
		t.Fatal("the correction does not cite the objection decided")
	}
	cd.text.SetText("3月未按期走访。")
	test.Type(cd.second, "异议成立：1月、2月已走访。")
	test.Tap(cd.ok)
	if cd.errLine.Text != "" {
		t.Fatalf("correction refused: %q", cd.errLine.Text)
	}
	recs, _ := f.adm.Store().DishonestyRecords(store.DishonestyFilter{})
	if len(recs) != 1 || recs[0].Reason != "3月未按期走访。" || len(recs[0].Corrections) != 1 {
		t.Fatalf("record after the correction: %+v", recs)
	}
	f.exchange(t)
	tb.load()
	if !showsText(tb.box, "认定事实：3月未按期走访。") || !showsText(tb.box, "异议成立") {
		t.Fatalf("the township after the correction: %q", visibleTexts(tb.box))
	}
}

// TestCaseScenes: the scenes of the cases and records screens open what
// they say, on the township device and on the county's.
func TestCaseScenes(t *testing.T) {
	f := newCaseFixture(t)
	overdue := f.open(t, "3月以来无人走访我母亲。", filer, calendar.NewDate(2026, 9, 29), calendar.NewDate(2026, 10, 20))
	drafted := f.open(t, "路灯坏了无人修。", protocol.Contact{}, calendar.NewDate(2026, 10, 9), calendar.NewDate(2026, 10, 23))
	f.exchange(t)
	if err := f.staff.AcknowledgeCase(drafted.Office, drafted.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.staff.DraftReply(drafted.Office, drafted.ID, "已报修。", nil); err != nil {
		t.Fatal(err)
	}
	fa := test.NewTempApp(t)
	u := uiFor(t, fa, f.leader)
	if err := u.scene("cases"); err != nil {
		t.Fatal(err)
	}
	s := u.main.cases
	if u.main.tabs.Selected() != s.tab || s.shown == nil || *s.shown != drafted || buttonIn(s.detail, "审批并报送县级") == nil || !s.md.detailShown() {
		t.Fatalf("cases scene: %q", visibleTexts(s.detail))
	}
	if err := u.scene("case"); err != nil {
		t.Fatal(err)
	}
	if *s.shown != overdue || !showsText(s.detail, "刘秀英") {
		t.Fatalf("case scene: %q", visibleTexts(s.detail))
	}
	if err := u.scene("records"); err != nil || u.main.tabs.Selected().Content != u.main.townBreach.obj {
		t.Fatalf("records scene: %v", err)
	}

	f.exchange(t)
	if err := f.leader.ApproveReply(drafted.Office, drafted.ID, mustCase(t, f.leader, drafted).Draft.Op); err != nil {
		t.Fatal(err)
	}
	f.exchange(t)
	a := uiFor(t, fa, f.adm)
	if !AdminScene("admin-cases") || AdminScene("cases") {
		t.Fatal("AdminScene")
	}
	if err := a.scene("admin-cases"); err != nil {
		t.Fatal(err)
	}
	if as := a.main.cases; as.shown == nil || *as.shown != drafted || buttonIn(as.detail, "认可答复并办结") == nil {
		t.Fatalf("admin-cases scene: %q", visibleTexts(as.detail))
	}
	if err := a.scene("records"); err == nil {
		t.Fatal("the records scene opened on a county-admin device")
	}
}

func mustCase(t *testing.T, se *store.Session, ref store.Ref) store.Case {
	t.Helper()
	c, err := se.Store().Case(ref.Office, ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestDemoOpensOnEitherDevice: the demo opens on the leader's device with
// the township's cases and records, and with DemoAdmin (or an admin scene)
// on the county admin's device with every case of the county; neither
// screen is empty.
func TestDemoOpensOnEitherDevice(t *testing.T) {
	dir := t.TempDir()
	for _, admin := range []bool{false, true} {
		// The window opens on the dashboard (today's panel), whose figures
		// are computed as background work: run it in step with the test.
		bg := newBackground()
		bg.spawn = func(f func()) { f() }
		bg.later = func(time.Duration, func()) {}
		u, err := newUIWith(test.NewTempApp(t), Options{Demo: true, DemoDir: dir, DemoAdmin: admin, Lang: "zh-Hans", KDF: auth.TestParams()}, bg)
		if err != nil {
			t.Fatal(err)
		}
		// The demo syncs with its local county; stop it before looking: in
		// the test driver its reports touch the widgets on its goroutine.
		if u.sync != nil {
			u.cancel()
			u.sync.wait()
		}
		if u.se.Device().Admin != admin || (u.main.admin != nil) != admin || (u.main.townBreach == nil) != admin {
			t.Fatalf("DemoAdmin %v: device admin %v", admin, u.se.Device().Admin)
		}
		if n := len(u.main.cases.vm.Rows); n < 5 || u.main.cases.vm.NeedingAction() == 0 {
			t.Fatalf("DemoAdmin %v: %d cases, %d awaiting", admin, n, u.main.cases.vm.NeedingAction())
		}
		if !admin {
			u.main.townBreach.load()
			if len(u.main.townBreach.vm.Rows) != 1 {
				t.Fatalf("the township's records: %d", len(u.main.townBreach.vm.Rows))
			}
		}
		u.close()
	}
}
