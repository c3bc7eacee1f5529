package app

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"

	"jiannuo/assets"
	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/server/county"
	"jiannuo/server/county/countytest"
	"jiannuo/store"
	"jiannuo/sync/engine"
)

const (
	adminTestCounty   = "410324"
	adminTestTownship = "410324101"
	adminTestName     = "xinyongban"
	adminTestPass     = "县信用办-管理口令-2026"
	adminTestKey      = "测试口令-2026"
)

func openAdminTestStore(t *testing.T, name string) *store.Store {
	t.Helper()
	return openTestStoreAt(t, name, nil)
}

// openTestStoreAt opens store name in a fresh directory on the clock now
// (nil: the wall clock) and checks its invariants when the test ends.
func openTestStoreAt(t *testing.T, name string, now func() time.Time) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), name), &store.Options{Now: now, KDF: auth.TestParams(), NoSync: true, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Check(); err != nil {
			t.Errorf("store invariants: %v", err)
		}
		st.Close()
	})
	return st
}

// startTestCounty starts a real county server of the test county on
// loopback with TLS, stopped when the test ends.
func startTestCounty(t *testing.T) (*county.Server, engine.Server) {
	t.Helper()
	c := countytest.Start(t, countytest.Config{County: adminTestCounty, Admin: adminTestName, Password: adminTestPass})
	return c.Server, c.Base
}

// newAdminTestUI opens the main window headless on a fresh county-admin
// device of 栾川县, in Chinese.
func newAdminTestUI(t *testing.T, settings *store.SyncSettings) *ui {
	t.Helper()
	fa := test.NewTempApp(t)
	st := openAdminTestStore(t, "admin.db")
	se, err := st.Setup(store.SetupConfig{Office: adminTestCounty, Admin: true, DeviceName: "县信用办-1", Name: adminTestName,
		DisplayName: "李明", Role: domain.RoleCountyAdmin, Passphrase: adminTestKey})
	if err != nil {
		t.Fatal(err)
	}
	if settings != nil {
		if err := st.SetSyncSettings(*settings); err != nil {
			t.Fatal(err)
		}
	}
	return uiFor(t, fa, se)
}

// uiFor shows the main window of session se in fa, its background work
// run in place.
func uiFor(t *testing.T, fa fyne.App, se *store.Session) *ui {
	u := &ui{fa: fa, tr: assets.NewTranslator("zh-Hans"), cal: calendar.Default(), st: se.Store(), se: se, log: quietLog(), bg: testBackground(t)}
	useFyneLanguage(u.tr.Lang()) // as newUI does
	runInPlace(u)
	u.win = fa.NewWindow("践诺")
	u.win.Resize(fyne.NewSize(1200, 760))
	u.showMain()
	return u
}

func newTownshipSession(t *testing.T, name string) *store.Session {
	t.Helper()
	st := openAdminTestStore(t, name)
	se, err := st.Setup(store.SetupConfig{Office: adminTestTownship, DeviceName: "赤土店镇-" + name, Name: "zhangli", DisplayName: "张丽",
		Role: domain.RoleLeader, Passphrase: adminTestKey})
	if err != nil {
		t.Fatal(err)
	}
	return se
}

func exchangeSessions(t *testing.T, ses ...*store.Session) {
	t.Helper()
	for _, from := range ses {
		if _, err := from.Seal(0); err != nil {
			t.Fatal(err)
		}
		sets, err := from.Store().ChangeSets(from.Device().ID, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, to := range ses {
			if to == from || len(sets) == 0 {
				continue
			}
			res, err := to.Store().Apply(sets...)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				if !r.Applied() {
					t.Fatalf("change set refused: %v", r.Err)
				}
			}
		}
	}
}

// TestAdminTabsOnlyForAdminDevices: a township device has no admin tabs
// (its own cases and dishonesty records after the dashboard); a
// county-admin device has the cases of the county and the eight.
func TestAdminTabsOnlyForAdminDevices(t *testing.T) {
	tabNames := func(items []*container.TabItem) string {
		var names []string
		for _, it := range items {
			names = append(names, it.Text)
		}
		return strings.Join(names, " ")
	}
	if u := newTestUI(t); u.main.admin != nil || tabNames(u.main.tabs.Items) != "承诺事项 统计概况 投诉与异议 失信记录" {
		t.Fatalf("township device: admin %v, tabs %q", u.main.admin != nil, tabNames(u.main.tabs.Items))
	}
	u := newAdminTestUI(t, nil)
	if u.main.admin == nil || len(u.main.tabs.Items) != 11 || u.main.townBreach != nil {
		t.Fatalf("admin device: %d tabs", len(u.main.tabs.Items))
	}
	if got := tabNames(u.main.tabs.Items[2:]); got != "投诉与异议 设备注册 终端 冲突核定 安全事件 辖区概况 失信记录 催办 管理员账号" {
		t.Fatalf("admin tabs %q", got)
	}
	// No county server set: the API tabs say so.
	if !containsText(u.main.admin.pendingBox, u.T("adminui.login.no_server")) {
		t.Fatal("no-server notice missing")
	}
	// The overview renders from the replica.
	u.main.tabs.Select(u.main.admin.tabOverview)
	if !containsText(u.main.admin.overviewBox, "赤土店镇") {
		t.Fatal("overview does not list the county's townships")
	}
}

// TestAdminResolveConflictScreen: two township devices edit one title; the
// admin's conflict screen shows both values; resolving needs a choice and a
// reason, then the conflict leaves the queue and the replica.
func TestAdminResolveConflictScreen(t *testing.T) {
	u := newAdminTestUI(t, nil)
	a, b := newTownshipSession(t, "a"), newTownshipSession(t, "b")
	all := []*store.Session{a, b, u.se}
	for _, x := range all {
		for _, y := range all {
			if x != y {
				if err := x.Store().PutDevice(y.Device()); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	ref, err := a.Create(store.Draft{Category: domain.CatElderlyCare, Title: "高龄津贴发放", Text: "每月10日前发放", Responsible: "王建国"})
	if err != nil {
		t.Fatal(err)
	}
	exchangeSessions(t, all...)
	if err := a.Edit(ref, domain.FieldTitle, "高龄津贴按月发放"); err != nil {
		t.Fatal(err)
	}
	if err := b.Edit(ref, domain.FieldTitle, "高龄津贴每月10日前发放"); err != nil {
		t.Fatal(err)
	}
	exchangeSessions(t, all...)

	adm := u.main.admin
	u.main.tabs.Select(adm.tabConflicts)
	if adm.conflicts.Len() != 1 {
		t.Fatalf("queue has %d conflicts", adm.conflicts.Len())
	}
	if !containsText(adm.conflictsBox, "高龄津贴按月发放") || !containsText(adm.conflictsBox, "高龄津贴每月10日前发放") {
		t.Fatal("the conflict screen does not show both values")
	}
	if !strings.Contains(adm.tabConflicts.Text, "(1)") {
		t.Fatalf("tab %q does not count the conflict", adm.tabConflicts.Text)
	}

	rd := adm.openResolve(adm.conflicts.Items[0])
	if len(rd.choice.Options) != 3 {
		t.Fatalf("options %v", rd.choice.Options)
	}
	test.Tap(rd.ok)
	if rd.errLine.Text != u.T("adminui.conflicts.choose_required") {
		t.Fatalf("no choice: %q", rd.errLine.Text)
	}
	rd.choice.SetSelected(rd.choice.Options[2]) // the merged value
	if rd.merged.Disabled() {
		t.Fatal("merged entry stays disabled")
	}
	rd.merged.SetText("")
	test.Type(rd.merged, "高龄津贴每月10日前按月发放")
	test.Tap(rd.ok)
	if rd.errLine.Text != u.T("adminui.reason_required") || adm.conflicts.Len() != 1 {
		t.Fatalf("no reason: %q, %d conflicts", rd.errLine.Text, adm.conflicts.Len())
	}
	test.Type(rd.reason, "两版合并，保留发放日期")
	test.Tap(rd.ok)
	if rd.errLine.Text != "" {
		t.Fatalf("refused: %q", rd.errLine.Text)
	}
	if adm.conflicts.Len() != 0 || !containsText(adm.conflictsBox, u.T("adminui.conflicts.none")) {
		t.Fatal("the conflict stays in the queue")
	}
	c, err := u.st.Commitment(ref)
	if err != nil {
		t.Fatal(err)
	}
	if c.Title != "高龄津贴每月10日前按月发放" || c.IsConflicted() {
		t.Fatalf("replica: %q conflicted %v", c.Title, c.Conflicted)
	}
	if p, _ := u.st.Pending(); p.PendingOps != 1 {
		t.Fatalf("the resolution is not queued for sync: %+v", p)
	}
	// It reaches both township devices.
	exchangeSessions(t, all...)
	for _, se := range []*store.Session{a, b} {
		if c, _ := se.Store().Commitment(ref); c.Title != "高龄津贴每月10日前按月发放" || c.IsConflicted() {
			t.Fatalf("township replica: %q %v", c.Title, c.Conflicted)
		}
	}
}

// TestAdminApprovePendingScreen: against a real county server, the admin
// signs in to the API (a wrong password is refused), sees a requesting
// device and approves it; a rejection needs a reason.
func TestAdminApprovePendingScreen(t *testing.T) {
	_, base := startTestCounty(t)

	township, other := newTownshipSession(t, "a"), newTownshipSession(t, "b")
	for _, se := range []*store.Session{township, other} {
		if _, err := engine.RequestEnrolment(context.Background(), base, se); err != nil {
			t.Fatal(err)
		}
	}

	u := newAdminTestUI(t, &store.SyncSettings{BaseURL: base.BaseURL, Fingerprint: base.Fingerprint, County: adminTestCounty})
	adm := u.main.admin
	// One on each tab that needs the API: 设备注册, 终端, 安全事件, 管理员账号.
	if len(adm.logins) != 4 || adm.client != nil {
		t.Fatalf("%d credential prompts", len(adm.logins))
	}
	f := adm.logins[0]
	if f.name.Text != adminTestName {
		t.Fatalf("name prefilled as %q", f.name.Text)
	}
	test.Type(f.pass, "错误的口令")
	test.Tap(f.button)
	if adm.client != nil || f.errLine.Text != u.T("error.not_authorized") {
		t.Fatalf("wrong password: %q", f.errLine.Text)
	}
	f.pass.SetText("")
	test.Type(f.pass, adminTestPass)
	test.Tap(f.button)
	if adm.client == nil {
		t.Fatalf("sign-in refused: %q", f.errLine.Text)
	}
	u.main.tabs.Select(adm.tabPending)
	if len(adm.pending.Rows) != 2 || !containsText(adm.pendingBox, township.Device().ID.String()) || !containsText(adm.pendingBox, "赤土店镇-a") {
		t.Fatalf("pending screen: %+v", adm.pending.Rows)
	}
	var row, otherRow = adm.pending.Rows[0], adm.pending.Rows[1]
	if row.Device != township.Device().ID {
		row, otherRow = otherRow, row
	}

	ad := adm.openApprove(row)
	if ad.admin.Checked {
		t.Fatal("a township device is proposed as an admin device")
	}
	test.Tap(ad.ok)
	if ad.errLine.Text != "" {
		t.Fatalf("approval refused: %q", ad.errLine.Text)
	}
	en, err := engine.EnrolmentStatus(context.Background(), base, township)
	if err != nil || en.Status != "approved" {
		t.Fatalf("after approval: %+v %v", en, err)
	}
	if len(adm.pending.Rows) != 1 || containsText(adm.pendingBox, township.Device().ID.String()) {
		t.Fatal("the approved device is still pending")
	}
	if !containsText(adm.devicesBox, "赤土店镇-a") {
		t.Fatal("the approved device is not on the devices screen")
	}

	rd := adm.openReject(otherRow)
	test.Tap(rd.ok)
	if rd.errLine.Text != u.T("adminui.reason_required") {
		t.Fatalf("reject without reason: %q", rd.errLine.Text)
	}
	test.Type(rd.reason, "未经单位登记")
	test.Tap(rd.ok)
	if rd.errLine.Text != "" || len(adm.pending.Rows) != 0 {
		t.Fatalf("reject: %q, %d pending", rd.errLine.Text, len(adm.pending.Rows))
	}
	if en, _ := engine.EnrolmentStatus(context.Background(), base, other); en.Status != "rejected" || en.Reason != "未经单位登记" {
		t.Fatalf("rejected device sees %+v", en)
	}

	// Revoke from the devices screen: reason required.
	var dev = adm.devices.Rows[0]
	rv := adm.openRevoke(dev)
	test.Tap(rv.ok)
	if rv.errLine.Text != u.T("adminui.reason_required") {
		t.Fatalf("revoke without reason: %q", rv.errLine.Text)
	}
	test.Type(rv.reason, "终端遗失")
	test.Tap(rv.ok)
	if rv.errLine.Text != "" || !adm.devices.Rows[len(adm.devices.Rows)-1].Revoked {
		t.Fatalf("revoke: %q %+v", rv.errLine.Text, adm.devices.Rows)
	}

	// Incidents: the wrong password is one.
	u.main.tabs.Select(adm.tabIncidents)
	if !containsText(adm.incidentsBox, u.T("error.not_authorized")) {
		t.Fatal("the refused credential is not among the incidents")
	}
}
