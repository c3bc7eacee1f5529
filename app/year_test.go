package app

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
)

// introduceSessions registers every session's device with the others, as
// enrolment does.
func introduceSessions(t *testing.T, ses ...*store.Session) {
	t.Helper()
	for _, x := range ses {
		for _, y := range ses {
			if x != y {
				if err := x.Store().PutDevice(y.Device()); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// publishDue creates and publishes a commitment of se due on day.
func publishDue(t *testing.T, se *store.Session, title string, due calendar.Date) store.Ref {
	t.Helper()
	ref, err := se.Create(store.Draft{Category: domain.CatConvenience, Title: title, Text: title + "，按时办结。", Responsible: "陈静",
		StartDate: calendar.NewDate(2026, 9, 1), Deadline: domain.DateDeadline(due), Public: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := se.Publish(ref); err != nil {
		t.Fatal(err)
	}
	return ref
}

// TestTodayAtSignInAndInTheBackground: on 30 September 2026 the township's
// window opens on the dashboard with today's panel first — the county's
// unread urge, the overdue commitment, the one due in five working days
// across the holiday — and the urge's banner above the tabs; each is
// notified once. Checked again the same day, nothing is notified twice;
// the half-hourly check in the background on the next working day
// notifies them again (four now: one summary), and not twice. Reading the urge signs a receipt and takes the
// banner down; a line of the panel opens its commitment.
func TestTodayAtSignInAndInTheBackground(t *testing.T) {
	town := newTownshipSession(t, "town.db")
	admin := newTownshipSessionAdmin(t)
	introduceSessions(t, town, admin)
	late := publishDue(t, town, "路灯报修三日内修复", calendar.NewDate(2026, 9, 29))
	publishDue(t, town, "节后第五个工作日到期", calendar.NewDate(2026, 10, 13))
	publishDue(t, town, "节后第六个工作日到期", calendar.NewDate(2026, 10, 14))
	exchangeSessions(t, town, admin)
	if _, err := admin.Urge(store.UrgeInput{Commitment: late, Note: "请于节前办结并更新践诺记录。"}); err != nil {
		t.Fatal(err)
	}
	exchangeSessions(t, town, admin)

	u := uiFor(t, test.NewTempApp(t), town)
	var timers []func()
	u.bg.later = func(_ time.Duration, f func()) { timers = append(timers, f) }
	p := u.main.today
	if u.main.tabs.SelectedIndex() != 1 {
		t.Fatalf("signed in on tab %d, want the dashboard", u.main.tabs.SelectedIndex())
	}
	if p.banner.Hidden || !strings.Contains(p.bannerTx.Text, "请于节前办结") {
		t.Fatalf("urge banner hidden %v: %q", p.banner.Hidden, p.bannerTx.Text)
	}
	for _, want := range []string{"县级催办", "路灯报修三日内修复", "已逾期 1 天", "节后第五个工作日到期"} {
		if !showsText(p.card, want) {
			t.Errorf("today's panel lacks %q: %q", want, visibleTexts(p.card))
		}
	}
	if showsText(p.card, "节后第六个工作日到期") {
		t.Error("today's panel shows a commitment six working days away")
	}
	if len(p.sent) != 3 || u.msg(p.sent[0].Title) != "践诺：县级催办" {
		t.Fatalf("notifications at sign-in: %+v", p.sent)
	}
	p.load()
	if len(p.sent) != 3 {
		t.Fatalf("notified again the same day: %d", len(p.sent))
	}
	// The next working day, the app in the background: the timer fires.
	u.bg.now = func() time.Time { return time.Date(2026, 10, 8, 9, 0, 0, 0, time.Local) }
	p.tick()
	// Four items now (14 October is four working days away): one summary.
	if len(p.sent) != 4 || len(timers) == 0 || !strings.Contains(u.msg(p.sent[3].Content), "有 4 项需要处理") {
		t.Fatalf("the next day's check: %d notifications, %d timers", len(p.sent), len(timers))
	}
	timers[len(timers)-1]() // half an hour later: nothing new
	if len(p.sent) != 4 {
		t.Fatalf("the same day's second check notified again: %d", len(p.sent))
	}

	// Reading the urge.
	test.Tap(buttonIn(p.banner, "查看催办"))
	ud := u.lastUrges
	if ud == nil || len(ud.read) != 1 {
		t.Fatalf("urges dialog: %+v", ud)
	}
	for _, b := range ud.read {
		test.Tap(b)
	}
	if !p.banner.Hidden {
		t.Fatal("the banner stays after the urge was read")
	}
	if got, _ := u.st.Urges(store.UrgeFilter{UnreadOnly: true}); len(got) != 0 {
		t.Fatalf("still unread: %+v", got)
	}
	if pend, _ := u.st.Pending(); pend.PendingOps == 0 {
		t.Fatal("no read receipt queued for the county")
	}
	ud.d.Hide()
	// The read urge stays listed under File → 县级催办….
	for _, it := range u.win.MainMenu().Items[0].Items {
		if it.Label == "县级催办…" {
			it.Action()
		}
	}
	if u.lastUrges == ud || len(u.lastUrges.read) != 0 || !showsText(u.lastUrges.box, "请于节前办结") || !showsText(u.lastUrges.box, "已阅") {
		t.Fatalf("the urges from the menu: %q", visibleTexts(u.lastUrges.box))
	}
	u.lastUrges.d.Hide()
	// A line opens its commitment.
	for _, l := range hyperlinks(p.card) {
		if strings.Contains(l.Text, "路灯报修三日内修复") {
			l.OnTapped()
			break
		}
	}
	if u.main.tabs.SelectedIndex() != 0 || u.main.detail.ref == nil || *u.main.detail.ref != late {
		t.Fatalf("the line opened tab %d, detail %v", u.main.tabs.SelectedIndex(), u.main.detail.ref)
	}
}

// hyperlinks returns the shown hyperlinks under o.
func hyperlinks(o fyne.CanvasObject) []*widget.Hyperlink {
	var out []*widget.Hyperlink
	walkVisible(o, func(x fyne.CanvasObject) {
		if h, ok := x.(*widget.Hyperlink); ok {
			out = append(out, h)
		}
	})
	return out
}

// newTownshipSessionAdmin is a county-admin device of the test county.
func newTownshipSessionAdmin(t *testing.T) *store.Session {
	t.Helper()
	st := openAdminTestStore(t, "admin.db")
	se, err := st.Setup(store.SetupConfig{Office: adminTestCounty, Admin: true, DeviceName: "县信用办-1", Name: adminTestName,
		DisplayName: "李明", Role: domain.RoleCountyAdmin, Passphrase: adminTestKey})
	if err != nil {
		t.Fatal(err)
	}
	return se
}

// TestUrgeFromTheAdminDevice: on the county-admin device a township's
// commitment has 催办; the note is required; the urge is sent, reaches the
// township, and once read there the 催办 tab says who read it and what was
// done after.
func TestUrgeFromTheAdminDevice(t *testing.T) {
	town := newTownshipSession(t, "town.db")
	admin := newTownshipSessionAdmin(t)
	introduceSessions(t, town, admin)
	ref := publishDue(t, town, "窗口午间值守", calendar.NewDate(2026, 10, 20))
	if _, err := town.AnnounceAccounts(); err != nil { // as the leader's sign-in does
		t.Fatal(err)
	}
	exchangeSessions(t, town, admin)
	u := uiFor(t, test.NewTempApp(t), admin)
	u.showCommitment(ref)
	b := buttonIn(u.main.detail.content, "催办")
	if b == nil {
		t.Fatalf("no 催办 on the admin device: %q", visibleTexts(u.main.detail.content))
	}
	test.Tap(b)
	ad := u.lastAct
	test.Tap(ad.ok)
	if ad.errLine.Text == "" {
		t.Fatal("an urge without a note was sent")
	}
	test.Type(ad.text, "请本周内更新践诺记录。")
	test.Tap(ad.ok)
	if ad.errLine.Text != "" {
		t.Fatalf("urge refused: %s", ad.errLine.Text)
	}
	exchangeSessions(t, town, admin)
	unread, _ := town.Store().Urges(store.UrgeFilter{UnreadOnly: true})
	if len(unread) != 1 {
		t.Fatalf("on the township: %+v", unread)
	}
	if err := town.ReadUrge(unread[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := town.LogFulfilment(ref, store.EntryInput{Date: calendar.NewDate(2026, 9, 30), Progress: 30, Note: "已排班"}); err != nil {
		t.Fatal(err)
	}
	exchangeSessions(t, town, admin)
	u.main.tabs.Select(u.main.admin.urges.tab)
	box := u.main.admin.urges.box
	for _, want := range []string{"窗口午间值守", "已阅：张丽", "践诺记录：进度 30%，已排班"} {
		if !showsText(box, want) {
			t.Errorf("the 催办 tab lacks %q: %q", want, visibleTexts(box))
		}
	}
}

// TestAnnualReportScreen: in December the leader opens the annual report,
// writes the narrative, chooses a notable commitment, previews and signs
// it; the version is listed and the today panel stops reminding; a clerk
// sees it but cannot sign.
func TestAnnualReportScreen(t *testing.T) {
	town := newTownshipSession(t, "town.db")
	publishDue(t, town, "窗口午间值守", calendar.NewDate(2026, 10, 20))
	if err := town.AddAccount("wangfang", "王芳", domain.RoleStaff, adminTestKey); err != nil {
		t.Fatal(err)
	}
	u := uiFor(t, test.NewTempApp(t), town)
	u.bg.now = func() time.Time { return time.Date(2026, 12, 20, 10, 0, 0, 0, time.Local) }
	u.main.today.load()
	if !showsText(u.main.today.card, "2026年度践诺情况报告尚未报送") {
		t.Fatalf("no report reminder on 20 December: %q", visibleTexts(u.main.today.card))
	}
	u.showAnnualReport(0)
	ad := u.lastReport
	if ad == nil || ad.a.Year != 2026 || ad.submit.Disabled() || len(ad.checks) != 1 {
		t.Fatalf("the report screen: %+v", ad)
	}
	test.Tap(ad.submit)
	if ad.errLine.Text == "" {
		t.Fatal("signed without a narrative")
	}
	test.Type(ad.narrative, "2026年本镇公开承诺事项按期办理。")
	for _, c := range ad.checks {
		test.Tap(c)
	}
	ad.showPreview()
	if top := topOverlay(u.win); !showsText(top, "2026年本镇公开承诺事项按期办理。") || !showsText(top, "预览（尚未签署报送）") {
		t.Fatalf("preview: %q", visibleTexts(top))
	}
	ad.preview.Hide()
	test.Tap(ad.submit)
	tapConfirm(t, u.win)
	if ad.a.Report == nil || ad.a.Report.Version != 1 || len(ad.a.Report.Current.Notable) != 1 {
		t.Fatalf("after signing: %+v", ad.a.Report)
	}
	if !showsText(ad.body, "第 1 版") {
		t.Errorf("the version is not listed: %q", visibleTexts(ad.body))
	}
	if showsText(u.main.today.card, "尚未报送") {
		t.Error("the today panel still reminds of the report")
	}

	staff, err := town.Store().SignIn("wangfang", adminTestKey)
	if err != nil {
		t.Fatal(err)
	}
	su := uiFor(t, test.NewTempApp(t), staff)
	su.showAnnualReport(2026)
	if !su.lastReport.submit.Disabled() || !showsText(su.lastReport.body, "由本单位负责人签署报送") {
		t.Fatal("a clerk may sign the report")
	}
}

// TestAnnualReportsAtTheCountyAdminDevice: on 8 January 2027 the
// county-admin device's today panel says one township has not submitted
// the report of 2026; the line opens the report screen, which lists
// 赤土店镇 as submitted on time and 合峪镇 as missing; 催报 urges 合峪镇
// alone, and the reminder reaches its device unread.
func TestAnnualReportsAtTheCountyAdminDevice(t *testing.T) {
	town := newTownshipSession(t, "town.db")
	st := openAdminTestStore(t, "other.db")
	other, err := st.Setup(store.SetupConfig{Office: "410324102", DeviceName: "合峪镇-1", Name: "wangqiang", DisplayName: "王强",
		Role: domain.RoleLeader, Passphrase: adminTestKey})
	if err != nil {
		t.Fatal(err)
	}
	admin := newTownshipSessionAdmin(t)
	introduceSessions(t, town, other, admin)
	publishDue(t, town, "窗口午间值守", calendar.NewDate(2026, 10, 20))
	publishDue(t, other, "农村道路养护", calendar.NewDate(2026, 11, 20))
	if _, err := town.SubmitAnnualReport(store.ReportInput{Year: 2026, AsOf: calendar.NewDate(2026, 12, 31),
		Narrative: "全年按期践诺。"}); err != nil {
		t.Fatal(err)
	}
	exchangeSessions(t, town, other, admin)

	u := uiFor(t, test.NewTempApp(t), admin)
	u.bg.now = func() time.Time { return time.Date(2027, 1, 8, 10, 0, 0, 0, time.Local) }
	u.main.today.load()
	var line *widget.Hyperlink
	for _, l := range hyperlinks(u.main.today.card) {
		if strings.Contains(l.Text, "1 个乡镇尚未报送") {
			line = l
		}
	}
	if line == nil {
		t.Fatalf("no reminder of the townships' reports: %q", visibleTexts(u.main.today.card))
	}
	line.OnTapped()
	ad := u.lastReport
	if ad == nil || ad.a.Year != 2026 || !ad.a.County {
		t.Fatalf("the report screen: %+v", ad)
	}
	for _, want := range []string{"赤土店镇", "按时报送", "合峪镇", "逾期未报"} {
		if !showsText(ad.body, want) {
			t.Errorf("the county's screen lacks %q: %q", want, visibleTexts(ad.body))
		}
	}
	remind := buttonIn(ad.body, "催报未报送单位（1）")
	if remind == nil || remind.Disabled() {
		t.Fatalf("no reminder button: %q", visibleTexts(ad.body))
	}
	test.Tap(remind)
	test.Tap(u.lastAct.ok)
	if u.lastAct.errLine.Text != "" {
		t.Fatalf("reminder refused: %s", u.lastAct.errLine.Text)
	}
	exchangeSessions(t, town, other, admin)
	if got, _ := other.Store().Urges(store.UrgeFilter{UnreadOnly: true, Year: 2026}); len(got) != 1 || !strings.Contains(got[0].Note, "2027-01-05") {
		t.Fatalf("the reminder on 合峪镇: %+v", got)
	}
	if got, _ := town.Store().Urges(store.UrgeFilter{Office: adminTestTownship, Year: 2026}); len(got) != 0 {
		t.Fatalf("赤土店镇, which submitted, was reminded: %+v", got)
	}
}
