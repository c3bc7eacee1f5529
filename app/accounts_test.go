package app

import (
	"context"
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/engine"
)

const (
	testLeaderPass = "测试口令-2026" // newTestUI's leader, zhangli
	testClerkPass  = "王芳的口令-2026"
	testTempPass   = "临时口令-请尽快修改"
)

func accountOf(t *testing.T, st *store.Store, name string) store.Account {
	t.Helper()
	accts, err := st.Accounts()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range accts {
		if a.Name == name {
			return a
		}
	}
	t.Fatalf("no account %s", name)
	return store.Account{}
}

// TestAccountsScreenLeader: the leader adds a colleague through the form
// (refused until valid), resets the colleague's passphrase and disables
// the account; the leader's own row offers none of that.
func TestAccountsScreenLeader(t *testing.T) {
	u := newTestUI(t)
	runInPlace(u)
	s := u.showAccounts()
	if len(s.rows) != 1 || s.add.Hidden {
		t.Fatalf("rows %d, add hidden %v", len(s.rows), s.add.Hidden)
	}
	if me := s.rows["zhangli"]; !me.disable.Hidden || !me.reset.Hidden || !me.role.Hidden || me.rename.Hidden ||
		!strings.Contains(me.label.Text, "张丽（我）") {
		t.Fatalf("the leader's own row: %q", me.label.Text)
	}

	test.Tap(s.add)
	f := s.form
	test.Tap(f.ok)
	if f.errs.Text == "" || !strings.Contains(f.errs.Text, "请填写登录名") {
		t.Fatalf("an empty form: %q", f.errs.Text)
	}
	test.Type(f.entry["name"], "wangfang")
	test.Type(f.entry["display_name"], "王芳")
	test.Type(f.entry["passphrase"], testClerkPass)
	test.Type(f.entry["passphrase2"], testClerkPass+"x")
	test.Tap(f.ok)
	if !strings.Contains(f.errs.Text, "两次输入的密码不一致") {
		t.Fatalf("mismatched passphrases: %q", f.errs.Text)
	}
	if accts, _ := u.st.Accounts(); len(accts) != 1 {
		t.Fatal("an invalid form added an account")
	}
	f.entry["passphrase2"].SetText(testClerkPass)
	test.Tap(f.ok)
	if a := accountOf(t, u.st, "wangfang"); a.DisplayName != "王芳" || a.Role != domain.RoleStaff {
		t.Fatalf("added: %+v", a)
	}
	if !strings.Contains(s.status.Text, "已新增账号") || s.rows["wangfang"] == nil || s.rows["wangfang"].disable.Hidden {
		t.Fatalf("after adding: %q", s.status.Text)
	}
	if p, _ := u.st.Pending(); p.PendingOps != 2 {
		t.Fatalf("the addition (and the leader's announcement) not queued for the county: %+v", p)
	}

	test.Tap(s.rows["wangfang"].reset)
	f = s.form
	test.Type(f.entry["passphrase"], testTempPass)
	test.Type(f.entry["passphrase2"], testTempPass)
	test.Tap(f.ok)
	if a := accountOf(t, u.st, "wangfang"); !a.MustChange || !strings.Contains(s.rows["wangfang"].label.Text, "待本人修改") {
		t.Fatalf("after the reset: %+v, %q", a, s.rows["wangfang"].label.Text)
	}

	test.Tap(s.rows["wangfang"].rename)
	f = s.form
	f.entry["display_name"].SetText("王芳（民政办）")
	test.Tap(f.ok)
	if a := accountOf(t, u.st, "wangfang"); a.DisplayName != "王芳（民政办）" {
		t.Fatalf("after renaming: %+v", a)
	}

	v := s.rows["wangfang"]
	test.Tap(v.disable)
	if v.disableConfirm == nil || v.confirmDisable == nil {
		t.Fatal("no confirmation before disabling")
	}
	v.confirmDisable("调离本单位")
	if a := accountOf(t, u.st, "wangfang"); !a.Disabled {
		t.Fatalf("after disabling: %+v", a)
	}
	if w := s.rows["wangfang"]; !w.disable.Hidden || !w.reset.Hidden || !strings.Contains(w.label.Text, "已停用") {
		t.Fatalf("the disabled row: %q", w.label.Text)
	}
	if _, err := u.st.SignIn("wangfang", testTempPass); err == nil {
		t.Fatal("a disabled account signs in")
	}
}

// TestAccountsScreenStaff: a staff member sees the list and nothing to
// change but their own passphrase.
func TestAccountsScreenStaff(t *testing.T) {
	u := newTestUI(t)
	runInPlace(u)
	if err := u.se.AddAccount("wangfang", "王芳", domain.RoleStaff, testClerkPass); err != nil {
		t.Fatal(err)
	}
	staff, err := u.st.SignIn("wangfang", testClerkPass)
	if err != nil {
		t.Fatal(err)
	}
	u.signedIn(staff)
	s := u.showAccounts()
	if len(s.rows) != 2 || s.vm.Manage() {
		t.Fatalf("rows %d, manage %v", len(s.rows), s.vm.Manage())
	}
	for name, r := range s.rows {
		if !r.disable.Hidden || !r.reset.Hidden || !r.role.Hidden || !r.rename.Hidden {
			t.Errorf("staff may change %s", name)
		}
	}
	// Their own passphrase, from the account menu.
	f := u.showChangePassphrase()
	test.Type(f.entry["old_passphrase"], "猜错的口令-2026")
	test.Type(f.entry["passphrase"], "王芳的新口令-2026")
	test.Type(f.entry["passphrase2"], "王芳的新口令-2026")
	test.Tap(f.ok)
	if !strings.Contains(f.errs.Text, "密码不正确") {
		t.Fatalf("a wrong old passphrase: %q", f.errs.Text)
	}
	f.entry["old_passphrase"].SetText(testClerkPass)
	test.Tap(f.ok)
	if _, err := u.st.SignIn("wangfang", "王芳的新口令-2026"); err != nil {
		t.Fatalf("the new passphrase: %v", err)
	}
}

// TestForcedChangeAfterReset: a colleague whose passphrase the leader reset
// signs in to a window that offers only the change, then the main window.
func TestForcedChangeAfterReset(t *testing.T) {
	u := newTestUI(t)
	runInPlace(u)
	if err := u.se.AddAccount("wangfang", "王芳", domain.RoleStaff, testClerkPass); err != nil {
		t.Fatal(err)
	}
	if err := u.se.ResetPassphrase("wangfang", testTempPass); err != nil {
		t.Fatal(err)
	}
	se, err := u.st.SignIn("wangfang", testTempPass)
	if err != nil {
		t.Fatal(err)
	}
	u.main = nil
	u.signedIn(se)
	f := u.lastPassphrase
	if u.main != nil || f == nil || !containsText(u.win.Content(), "请先设置只有您自己知道的新口令") {
		t.Fatal("the main window opened before the change")
	}
	test.Type(f.entry["old_passphrase"], testTempPass)
	test.Type(f.entry["passphrase"], testTempPass)
	test.Type(f.entry["passphrase2"], testTempPass)
	test.Tap(f.ok)
	if u.main != nil || !strings.Contains(f.errs.Text, "新口令不能与原口令相同") {
		t.Fatalf("the same passphrase again: %q", f.errs.Text)
	}
	f.entry["passphrase"].SetText("王芳的新口令-2026")
	f.entry["passphrase2"].SetText("王芳的新口令-2026")
	test.Tap(f.ok)
	if u.main == nil || se.MustChangePassphrase() {
		t.Fatal("the main window did not open after the change")
	}
	if _, err := u.st.SignIn("wangfang", "王芳的新口令-2026"); err != nil {
		t.Fatal(err)
	}
}

// TestAccountMenus: the account menu and the enrolment item are in the
// main menu.
func TestAccountMenus(t *testing.T) {
	u := newTestUI(t)
	var labels []string
	for _, m := range u.win.MainMenu().Items {
		for _, it := range m.Items {
			labels = append(labels, m.Label+"/"+it.Label)
		}
	}
	all := strings.Join(labels, ",")
	for _, want := range []string{"账号/账号管理…", "账号/修改我的口令…", "设置/注册县级平台…"} {
		if !strings.Contains(all, want) {
			t.Errorf("menu lacks %s: %s", want, all)
		}
	}
}

// TestEnrolLaterFromStatusBar: a device set up offline, with work done,
// enrols later from the status bar against a real county server: the
// device ID shown whole and copied, the fingerprint field wide enough to
// show it whole, pending until the admin approves, then approved live; sync
// starts and the status bar shows everything sent, with the county's
// receipt.
func TestEnrolLaterFromStatusBar(t *testing.T) {
	srv, base := startTestCounty(t)
	u := newTestUI(t)
	runInPlace(u)
	var timers []func()
	u.bg.later = func(_ time.Duration, f func()) { timers = append(timers, f) }
	// The engine runs once, when the test has looked at the approval:
	// under the test driver its reports touch the widgets from its own
	// goroutine.
	start, synced := make(chan struct{}), make(chan error, 1)
	u.bg.runSync = func(ctx context.Context, eng *engine.Engine) {
		<-start
		synced <- eng.SyncOnce(ctx)
	}

	ref, err := u.se.Create(store.Draft{Category: domain.CatConvenience, Title: "离线时录入的承诺", Text: "承诺内容",
		Responsible: "王建国", StartDate: calendar.NewDate(2026, 11, 2), Deadline: domain.WorkdaysDeadline(5), Public: true})
	if err != nil {
		t.Fatal(err)
	}
	u.status.refreshPending()
	if u.status.enrol.Hidden || !strings.Contains(u.status.line.Text, "尚未在县级平台注册") {
		t.Fatalf("status bar of a device set up offline: enrol hidden %v, %q", u.status.enrol.Hidden, u.status.line.Text)
	}
	test.Tap(u.status.enrol)
	ed := u.lastEnrol
	id := u.se.Device().ID.String()
	if ed == nil || ed.deviceID.Text != id {
		t.Fatalf("device ID shown: %v", ed)
	}
	test.Tap(ed.copy)
	if got := u.fa.Clipboard().Content(); got != id {
		t.Fatalf("copied %q, want %q", got, id)
	}
	whole := fyne.MeasureText(base.Fingerprint, ed.fp.Theme().Size("text"), fyne.TextStyle{Monospace: true}).Width
	if len(base.Fingerprint) != 95 || ed.fpBox.MinSize().Width < whole {
		t.Fatalf("fingerprint field %v wide, the fingerprint %v", ed.fpBox.MinSize().Width, whole)
	}

	test.Tap(ed.enrol) // nothing typed yet
	if !strings.Contains(ed.status.Text, "县级服务器地址") || len(timers) != 0 {
		t.Fatalf("enrolling without an address: %q", ed.status.Text)
	}
	ed.url.SetText(base.BaseURL)
	ed.fp.SetText(strings.ToLower(base.Fingerprint))
	test.Tap(ed.enrol)
	if !strings.Contains(ed.status.Text, "等待县信用办管理员批准") || len(timers) != 1 || !ed.enrol.Disabled() {
		t.Fatalf("after asking: %q, %d polls scheduled", ed.status.Text, len(timers))
	}
	timers[0]() // still pending
	if len(timers) != 2 || u.sync != nil {
		t.Fatalf("while pending: %d polls, sync %v", len(timers), u.sync)
	}
	if _, err := srv.Approve(u.se.Device().ID, countyapi.ApproveRequest{}, "admin"); err != nil {
		t.Fatal(err)
	}
	timers[1]()
	if !strings.Contains(ed.status.Text, "已批准") || len(timers) != 2 || u.sync == nil || !u.status.enrol.Hidden {
		t.Fatalf("after the approval: %q, %d polls, sync %v", ed.status.Text, len(timers), u.sync != nil)
	}
	close(start)
	select {
	case err := <-synced:
		if err != nil {
			t.Fatalf("first sync: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the first sync did not end")
	}
	if line := u.status.line.Text; !strings.Contains(line, "无待同步数据") || !strings.Contains(line, "县级平台最后确认") {
		t.Fatalf("status bar after the first sync: %q", line)
	}
	if c, err := srv.Store().Commitment(ref); err != nil || c.Title != "离线时录入的承诺" {
		t.Fatalf("the offline work on the county: %+v %v", c, err)
	}
	set, _, _ := u.st.SyncSettings()
	if !set.Enrolled || !ed25519.PublicKey(set.CountyKey).Equal(srv.Identity().Key.Public()) {
		t.Fatalf("settings after enrolling: %+v", set)
	}
	ed.d.Hide()
}
