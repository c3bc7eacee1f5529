package app

import (
	"testing"

	"fyne.io/fyne/v2/test"

	"jiannuo/app/vm"
	"jiannuo/store"
)

// TestAdminAccountsTab: the 管理员账号 tab asks for the sign-in of the other
// API tabs; signed in, it lists the county's admins (the recovery account
// marked, the admin themselves too), adds a colleague (a bad name is the
// field's fault, the dialog stays), disables her with a reason and enables
// her again; signing out ends the session on the server and brings the
// sign-in back.
func TestAdminAccountsTab(t *testing.T) {
	srv, base := startTestCounty(t)
	u := newAdminTestUI(t, &store.SyncSettings{BaseURL: base.BaseURL, Fingerprint: base.Fingerprint, County: adminTestCounty})
	adm := u.main.admin
	u.main.tabs.Select(adm.admins.tab)
	if !containsText(adm.admins.box, u.T("adminui.login.needed")) || !containsText(adm.admins.box, u.T("adminui.login.title")) {
		t.Fatal("the admins tab does not ask for the sign-in")
	}
	if adm.admins.signOutBtn.Visible() {
		t.Error("signed out, the tab offers to sign out")
	}
	// The tab's own form signs every tab in.
	f := adm.logins[len(adm.logins)-1]
	test.Type(f.pass, adminTestPass)
	test.Tap(f.button)
	if adm.client == nil {
		t.Fatalf("sign-in refused: %q", f.errLine.Text)
	}
	if f.pass.Text != "" {
		t.Error("the password stays in the form after signing in")
	}
	if !containsText(adm.admins.box, u.T("adminui.admins.self", adminTestName)+" · "+u.T("adminui.admins.recovery")) {
		t.Fatal("the admins tab does not list the admin signed in")
	}
	if v := adm.admins.rows[adminTestName]; v == nil || v.disable.Visible() || !v.password.Visible() {
		t.Fatalf("the only admin offers to be disabled: %+v", v)
	}

	test.Tap(findButton(adm.admins.box, u.T("adminui.admins.add")))
	form := adm.admins.form
	test.Type(form.entry[vm.FieldName], "li si")
	test.Type(form.entry[vm.FieldPassphrase], "李四的口令-正确")
	test.Type(form.entry[vm.FieldPassphrase2], "李四的口令-正确")
	test.Tap(form.ok)
	if form.errs.Text != u.T("adminui.admins.bad_name", 64) {
		t.Fatalf("add with a space in the name: %q", form.errs.Text)
	}
	form.entry[vm.FieldName].SetText("lisi")
	test.Tap(form.ok)
	if adm.admins.rows["lisi"] == nil || adm.status.Text != u.T("adminui.admins.added", "lisi") {
		t.Fatalf("add lisi: %q, status %q", form.errs.Text, adm.status.Text)
	}

	adm.admins.openDisable(vm.AdminRow{Name: "lisi"})
	rd := adm.admins.last
	test.Type(rd.reason, "调离县信用办")
	test.Tap(rd.ok)
	if rd.errLine.Text != "" || !containsText(adm.admins.box, "调离县信用办") || !adm.admins.rows["lisi"].enable.Visible() {
		t.Fatalf("disable lisi: %q", rd.errLine.Text)
	}
	test.Tap(adm.admins.rows["lisi"].enable)
	if adm.status.Text != u.T("adminui.admins.enabled_done", "lisi") || !adm.admins.rows["lisi"].disable.Visible() {
		t.Fatalf("enable lisi: %q", adm.status.Text)
	}

	adm.signOut()
	if adm.client != nil || !containsText(adm.admins.box, u.T("adminui.login.needed")) || !containsText(adm.pendingBox, u.T("adminui.login.title")) ||
		!containsText(adm.admins.box, u.T("adminui.login.title")) || adm.admins.signOutBtn.Visible() {
		t.Fatal("signed out, the tabs do not ask for the sign-in again")
	}
	list, err := srv.Admins()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list {
		if a.Sessions != 0 {
			t.Errorf("%s has %d sessions after signing out", a.Name, a.Sessions)
		}
	}
}
