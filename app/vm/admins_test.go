package vm

import (
	"context"
	"errors"
	"testing"

	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// TestAdminAccounts: against a real county server, the admin signs in
// (the client keeps the session, not the password), adds a colleague
// (names and passwords checked first, field by field), sets her password,
// disables and enables her; the last enabled admin offers no "disable";
// the recovery credential's password is offered to no one else; changing
// one's own password needs the present one and keeps the screen signed
// in; signing out ends the session.
func TestAdminAccounts(t *testing.T) {
	c := startTestCounty(t)
	ctx := context.Background()
	settings := store.SyncSettings{BaseURL: c.base.BaseURL, Fingerprint: c.base.Fingerprint, County: countyCode}
	if _, err := AdminSignIn(ctx, settings, testAdmin, "错误的口令-不对"); !countyapi.IsCredentialError(err) {
		t.Fatalf("sign-in with a wrong password: %v", err)
	}
	cl, err := AdminSignIn(ctx, settings, testAdmin, testAdminPass)
	if err != nil {
		t.Fatal(err)
	}
	a := NewAdminAccounts(cl)
	must(t, a.Load(ctx))
	if len(a.Rows) != 1 || !a.Rows[0].Self || !a.Rows[0].Recovery || a.Rows[0].CanDisable || a.Rows[0].CanEnable || !a.Rows[0].CanSetPassword {
		t.Fatalf("one admin: %+v", a.Rows)
	}
	for _, r := range a.Rows {
		for _, m := range []Message{r.State, r.Created, r.Sessions} {
			checkMessage(t, m)
		}
	}

	r := a.Add(ctx, "li si", "短", "不一样")
	for _, f := range []string{FieldName, FieldPassphrase, FieldPassphrase2} {
		if _, ok := r.Fields[f]; !ok {
			t.Errorf("add with a bad name and passwords: no message for %s: %+v", f, r)
		}
	}
	for _, m := range r.Fields {
		checkMessage(t, m)
	}
	const lisi = "李四的口令-正确"
	if r := a.Add(ctx, "lisi", lisi, lisi); !r.OK() {
		t.Fatalf("add lisi: %+v", r)
	} else {
		checkMessage(t, r.Done)
	}
	if r := a.Add(ctx, "lisi", lisi, lisi); r.Err == nil || r.Err.Key != "error.invalid_operation" {
		t.Fatalf("add lisi again: %+v", r)
	}
	must(t, a.Load(ctx))
	if len(a.Rows) != 2 || !adminRow(t, a, testAdmin).CanDisable || !adminRow(t, a, "lisi").CanDisable || !adminRow(t, a, "lisi").CanSetPassword {
		t.Fatalf("two admins: %+v", a.Rows)
	}

	if r := a.Disable(ctx, "lisi", " "); r.Fields[FieldReason].Key != "adminui.admins.reason_required" {
		t.Fatalf("disable without a reason: %+v", r)
	}
	if r := a.Disable(ctx, "lisi", "调离"); !r.OK() {
		t.Fatalf("disable lisi: %+v", r)
	}
	must(t, a.Load(ctx))
	if l := adminRow(t, a, "lisi"); !l.Disabled || !l.CanEnable || l.CanDisable || adminRow(t, a, testAdmin).CanDisable {
		t.Fatalf("after disabling lisi: %+v", a.Rows)
	} else {
		checkMessage(t, l.State)
		checkMessage(t, DisableAdminQuestion(l))
	}
	if _, err := AdminSignIn(ctx, settings, "lisi", lisi); !errors.Is(err, protocol.ErrNotAuthorized) || countyapi.IsCredentialError(err) {
		t.Fatalf("a disabled admin signs in: %v", err)
	}
	if r := a.Enable(ctx, "lisi"); !r.OK() {
		t.Fatalf("enable lisi: %+v", r)
	}
	const lisi2 = "李四的新口令-2027"
	if r := a.SetPassword(ctx, "lisi", "", lisi2, lisi2); !r.OK() {
		t.Fatalf("set lisi's password: %+v", r)
	}
	lc, err := AdminSignIn(ctx, settings, "lisi", lisi2)
	if err != nil {
		t.Fatal(err)
	}
	// lisi may not set the recovery credential's password.
	la := NewAdminAccounts(lc)
	must(t, la.Load(ctx))
	if adminRow(t, la, testAdmin).CanSetPassword || !adminRow(t, la, "lisi").Self || !adminRow(t, la, "lisi").CanSetPassword {
		t.Fatalf("lisi's view: %+v", la.Rows)
	}

	// One's own: the present password first, and a wrong one is the
	// field's fault.
	const newAdminPass = "县信用办-新管理口令-2027"
	if r := a.SetPassword(ctx, testAdmin, "", newAdminPass, newAdminPass); r.Fields[FieldOldPassphrase].IsZero() {
		t.Fatalf("own password without the present one: %+v", r)
	}
	if r := a.SetPassword(ctx, testAdmin, "不是当前口令-错误", newAdminPass, newAdminPass); r.Fields[FieldOldPassphrase].Key != "error.wrong_password" {
		t.Fatalf("own password with a wrong present one: %+v", r)
	}
	if r := a.SetPassword(ctx, testAdmin, testAdminPass, newAdminPass, newAdminPass); !r.OK() {
		t.Fatalf("own password: %+v", r)
	}
	must(t, a.Load(ctx)) // still signed in, with the session handed over
	if r := adminRow(t, a, testAdmin); r.PasswordSet.IsZero() {
		t.Fatalf("after the own change: %+v", r)
	} else {
		checkMessage(t, r.PasswordSet)
	}

	must(t, a.SignOut(ctx))
	if err := a.Load(ctx); !countyapi.IsCredentialError(err) {
		t.Fatalf("after signing out: %v", err)
	}
}

// adminRow is the row of name.
func adminRow(t *testing.T, a *AdminAccounts, name string) AdminRow {
	t.Helper()
	return rowNamed(t, a.Rows, name, func(r AdminRow) string { return r.Name })
}

// rowNamed is the row of rows that nameOf calls name.
func rowNamed[R any](t *testing.T, rows []R, name string, nameOf func(R) string) R {
	t.Helper()
	for _, r := range rows {
		if nameOf(r) == name {
			return r
		}
	}
	t.Fatalf("no row %s in %+v", name, rows)
	var zero R
	return zero
}
