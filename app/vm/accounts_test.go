package vm

import (
	"context"
	"slices"
	"testing"
	"time"

	"jiannuo/domain"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
)

func rowOf(t *testing.T, a *Accounts, name string) AccountRow {
	t.Helper()
	return rowNamed(t, a.Rows, name, func(r AccountRow) string { return r.Name })
}

// wantFields fails unless r was refused for exactly these fields, each
// with the message key given, every message rendering in every language.
func wantFields(t *testing.T, r AccountResult, want map[string]string) {
	t.Helper()
	if r.OK() || r.Err != nil || len(r.Fields) != len(want) {
		t.Fatalf("result %+v, want fields %v", r, want)
	}
	for f, key := range want {
		if r.Fields[f].Key != key {
			t.Errorf("%s: %v, want %s", f, r.Fields[f], key)
		}
		checkMessage(t, r.Fields[f])
	}
}

// TestAccountsRoleGating: a leader manages the colleagues' accounts but
// not their own role or existence; staff see the list and nothing to do.
func TestAccountsRoleGating(t *testing.T) {
	d := newTownship(t)
	a := NewAccounts(d.leader, nil)
	must(t, a.Load())
	if !a.Manage() || !slices.Equal(a.Roles(), []domain.Role{domain.RoleStaff, domain.RoleLeader}) || a.Len() != 2 {
		t.Fatalf("leader: manage %v, roles %v, %d rows", a.Manage(), a.Roles(), a.Len())
	}
	me, clerk := rowOf(t, a, "zhangli"), rowOf(t, a, "wangfang")
	if !me.Self || me.CanDisable || me.CanReset || me.CanRole || !me.CanRename {
		t.Errorf("the leader's own row: %+v", me)
	}
	if clerk.Self || !clerk.CanDisable || !clerk.CanReset || !clerk.CanRole || !clerk.CanRename || clerk.Status.Key != "ui.accounts.status_active" {
		t.Errorf("the clerk's row: %+v", clerk)
	}
	if a.Rows[0].Name != "zhangli" {
		t.Errorf("leaders first: %+v", a.Rows)
	}
	for _, r := range a.Rows {
		checkMessage(t, r.RoleLabel)
		checkMessage(t, r.Status)
	}

	s := NewAccounts(d.staff, nil)
	must(t, s.Load())
	if s.Manage() || s.Roles() != nil {
		t.Fatalf("staff manage accounts: %v %v", s.Manage(), s.Roles())
	}
	for _, r := range s.Rows {
		if r.CanDisable || r.CanReset || r.CanRole || r.CanRename {
			t.Errorf("staff may change %s: %+v", r.Name, r)
		}
	}
	// Refused with the receiver's code, nothing stored.
	before, _ := d.s.Pending()
	r := s.Add("lisi", "李四", domain.RoleStaff, testPass, testPass)
	wantFields(t, r, map[string]string{FieldRole: "ui.accounts.role_invalid"}) // no role staff may give
	for _, r := range []AccountResult{s.Disable("zhangli", ""), s.Reset("zhangli", testPass, testPass), s.Rename("zhangli", "张")} {
		if r.OK() || r.Err == nil || r.Err.Key != "error.not_authorized" {
			t.Errorf("staff's account change: %+v", r)
		}
	}
	if after, _ := d.s.Pending(); after != before {
		t.Fatal("refused changes were stored")
	}
	if accts, _ := d.s.Accounts(); len(accts) != 2 {
		t.Fatalf("accounts: %+v", accts)
	}
}

// TestAccountsActions: each action through the screen: validation per
// field, the change made and sent, the list reloaded.
func TestAccountsActions(t *testing.T) {
	d := newTownship(t)
	synced := 0
	a := NewAccounts(d.leader, func() { synced++ })
	must(t, a.Load())

	wantFields(t, a.Add("", "", domain.RoleStaff, "短", "短2"), map[string]string{FieldName: "ui.wizard.name_required",
		FieldPassphrase: "ui.wizard.pass_short", FieldPassphrase2: "ui.wizard.pass_mismatch"})
	wantFields(t, a.Add("陈静", "陈静", domain.RoleStaff, "aaaaaaaaaaaa", "aaaaaaaaaaaa"), map[string]string{FieldName: "ui.wizard.name_invalid",
		FieldPassphrase: "error.weak_passphrase"})
	wantFields(t, a.Add("chenjing", "陈静", domain.RoleCountyAdmin, testPass, testPass), map[string]string{FieldRole: "ui.accounts.role_invalid"})
	if r := a.Add("wangfang", "又一个王芳", domain.RoleStaff, testPass, testPass); r.Err == nil || r.Err.Key != "ui.error.account_exists" {
		t.Fatalf("a login twice: %+v", r)
	}
	if synced != 0 {
		t.Fatal("refused additions were sent")
	}
	r := a.Add(" chenjing ", " 陈静 ", domain.RoleStaff, testPass, testPass)
	if !r.OK() || r.Done.Key != "ui.accounts.added" || synced != 1 || a.Len() != 3 {
		t.Fatalf("add: %+v, synced %d, %d rows", r, synced, a.Len())
	}
	checkMessage(t, r.Done)
	if row := rowOf(t, a, "chenjing"); row.DisplayName != "陈静" || row.Role != domain.RoleStaff {
		t.Fatalf("the new row: %+v", row)
	}

	wantFields(t, a.Reset("chenjing", testPass, testPass+"x"), map[string]string{FieldPassphrase2: "ui.wizard.pass_mismatch"})
	r = a.Reset("chenjing", "临时口令-请尽快修改", "临时口令-请尽快修改")
	if !r.OK() || rowOf(t, a, "chenjing").Status.Key != "ui.accounts.status_must_change" {
		t.Fatalf("reset: %+v %+v", r, rowOf(t, a, "chenjing"))
	}
	wantFields(t, a.Rename("chenjing", "  "), map[string]string{FieldDisplayName: "ui.wizard.display_invalid"})
	if r := a.Rename("chenjing", "陈静（民政办）"); !r.OK() || rowOf(t, a, "chenjing").DisplayName != "陈静（民政办）" {
		t.Fatalf("rename: %+v", r)
	}
	wantFields(t, a.SetRole("chenjing", "director"), map[string]string{FieldRole: "ui.accounts.role_invalid"})
	if r := a.SetRole("chenjing", domain.RoleLeader); !r.OK() || rowOf(t, a, "chenjing").Role != domain.RoleLeader {
		t.Fatalf("role: %+v", r)
	}
	if r := a.Disable("zhangli", ""); r.Err == nil || r.Err.Key != "error.not_authorized" {
		t.Fatalf("disabling oneself: %+v", r)
	}
	q := DisableQuestion(rowOf(t, a, "wangfang"))
	checkMessage(t, q)
	if r := a.Disable("wangfang", "调离本单位"); !r.OK() || r.Done.Key != "ui.accounts.disabled" {
		t.Fatalf("disable: %+v", r)
	}
	last := a.Rows[len(a.Rows)-1]
	if last.Name != "wangfang" || !last.Disabled || last.Status.Key != "ui.accounts.status_disabled" || last.CanRename || last.CanReset {
		t.Fatalf("the disabled row, listed last: %+v", last)
	}
	checkMessage(t, last.Status)
	if synced != 5 {
		t.Fatalf("%d changes sent, want 5", synced)
	}
	// The disabled account is gone from the sign-in list and is refused
	// by name.
	si := mustSignIn(t, d.s)
	for _, ac := range si.Accounts() {
		if ac.Name == "wangfang" {
			t.Fatal("a disabled account offered for sign-in")
		}
	}
	if se, m := si.Do("wangfang", testPass); se != nil || m == nil || m.Key != "error.account_disabled" {
		t.Fatalf("a disabled account signs in: %v %v", se, m)
	}
	checkMessage(t, Msg("error.account_disabled"))

	// The colleague whose passphrase was reset must change it first.
	se, m := si.Do("chenjing", "临时口令-请尽快修改")
	if m != nil || !MustChangePassphrase(se) {
		t.Fatalf("after a reset: %v, must change %v", m, se != nil && MustChangePassphrase(se))
	}
	if _, err := se.Create(store.Draft{Category: domain.CatParking, Title: "t", Text: "x", Responsible: "r"}); ErrorMessage(err).Key != "ui.accounts.must_change" {
		t.Fatalf("acting before the change: %v", err)
	}
	wantFields(t, ChangePassphrase(se, "", testPass, testPass), map[string]string{FieldOldPassphrase: "ui.signin.pass_required"})
	wantFields(t, ChangePassphrase(se, "猜错的口令-2026", testPass, testPass), map[string]string{FieldOldPassphrase: "error.wrong_password"})
	wantFields(t, ChangePassphrase(se, "临时口令-请尽快修改", "临时口令-请尽快修改", "临时口令-请尽快修改"),
		map[string]string{FieldPassphrase: "ui.accounts.same_passphrase"})
	wantFields(t, ChangePassphrase(se, "临时口令-请尽快修改", "新口令-2026-陈静", "新口令-2026"), map[string]string{FieldPassphrase2: "ui.wizard.pass_mismatch"})
	if r := ChangePassphrase(se, "临时口令-请尽快修改", "新口令-2026-陈静", "新口令-2026-陈静"); !r.OK() || MustChangePassphrase(se) {
		t.Fatalf("change: %+v", r)
	}
	checkMessage(t, Msg("ui.accounts.changed"))
}

// TestSignInAnnouncesAccounts: a leader's sign-in announces the accounts
// the office's directory lacks (a device from before the directory).
func TestSignInAnnouncesAccounts(t *testing.T) {
	s := openStore(t)
	_, err := s.Setup(store.SetupConfig{Office: township, DeviceName: "赤土店镇-1", Name: "zhangli", DisplayName: "张丽",
		Role: domain.RoleLeader, Passphrase: testPass})
	must(t, err)
	if dir, _ := s.Directory(""); len(dir) != 0 {
		t.Fatalf("directory before any sign-in: %+v", dir)
	}
	se, m := mustSignIn(t, s).Do("zhangli", testPass)
	if m != nil {
		t.Fatal(*m)
	}
	people, err := s.People()
	must(t, err)
	if people.Name(se.Device().ID, "zhangli") != "张丽" {
		t.Fatal("the leader's sign-in did not announce the leader")
	}
	if p, _ := s.Pending(); p.PendingOps != 1 {
		t.Fatalf("pending after the sign-in: %+v", p)
	}
	if _, m := mustSignIn(t, s).Do("zhangli", testPass); m != nil {
		t.Fatal(*m)
	}
	if p, _ := s.Pending(); p.PendingOps != 1 {
		t.Fatalf("announced twice: %+v", p)
	}
}

// TestLaterEnrolment: a device set up offline enrols later against a real
// county server: needs enrolment, request, pending while the admin has not
// decided, rejected with the reason, asked anew, approved.
func TestLaterEnrolment(t *testing.T) {
	c := startTestCounty(t)
	s := openStore(t)
	se, err := s.Setup(store.SetupConfig{Office: township, DeviceName: "赤土店镇-1", Name: "zhangli", DisplayName: "张丽",
		Role: domain.RoleLeader, Passphrase: testPass})
	must(t, err)
	if !NeedsEnrolment(s) {
		t.Fatal("a device set up offline does not need enrolment")
	}
	e := NewLaterEnrolment(se)
	if e.DeviceID() != se.Device().ID.String() || len(e.DeviceID()) != 31 {
		t.Fatalf("device ID %q", e.DeviceID())
	}
	if addr, fp := e.Saved(); addr != "" || fp != "" {
		t.Fatalf("saved before any request: %q %q", addr, fp)
	}
	if len(c.base.Fingerprint) != FingerprintChars {
		t.Fatalf("a fingerprint is %d characters, the field is %d wide", len(c.base.Fingerprint), FingerprintChars)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, ok, err := e.Request(ctx, c.base)
	if err != nil || ok || m.Key != "ui.enrol.pending" {
		t.Fatalf("request: %v %v %v", m, ok, err)
	}
	if addr, fp := e.Saved(); addr != c.base.BaseURL || fp != c.base.Fingerprint || !NeedsEnrolment(s) {
		t.Fatalf("saved while pending: %q %q", addr, fp)
	}
	if err := c.client(testAdminPass).Reject(ctx, se.Device().ID, "请先核对终端名称"); err != nil {
		t.Fatal(err)
	}
	m, ok, err = e.Check(ctx, c.base)
	if err != nil || ok || m.Key != "ui.enrol.rejected" || m.Args[0] != "请先核对终端名称" {
		t.Fatalf("after the rejection: %v %v %v", m, ok, err)
	}
	checkMessage(t, m)
	if m, ok, err = e.Request(ctx, c.base); err != nil || ok || m.Key != "ui.enrol.pending" {
		t.Fatalf("asked anew after the rejection: %v %v %v", m, ok, err)
	}
	if _, err := c.srv.Approve(se.Device().ID, countyapi.ApproveRequest{}, "admin"); err != nil {
		t.Fatal(err)
	}
	if m, ok, err = e.Check(ctx, c.base); err != nil || !ok || m.Key != "ui.enrol.approved" || NeedsEnrolment(s) {
		t.Fatalf("after the approval: %v %v %v", m, ok, err)
	}
}

// TestDetailNamesTheAuthor: the detail screen names the person behind each
// author login, from the office's account directory.
func TestDetailNamesTheAuthor(t *testing.T) {
	d := newTownship(t)
	ref := d.create(t, spec{title: "低保申请受理", start: date(2026, 11, 2), deadline: domain.WorkdaysDeadline(5), status: domain.StatusPublished})
	_, err := d.staff.LogFulfilment(ref, store.EntryInput{Date: date(2026, 11, 3), Progress: 20, Note: "已受理"})
	must(t, err)
	det, err := LoadDetail(d.leader, ref, date(2026, 11, 4), nil)
	must(t, err)
	if len(det.Entries) != 1 {
		t.Fatalf("entries: %+v", det.Entries)
	}
	e := det.Entries[0]
	if got := det.Who(e.Op, e.Author); got != "王芳（wangfang）" {
		t.Fatalf("the entry's author: %q", got)
	}
	if got := det.Who(e.Op, "nobody"); got != "nobody" {
		t.Fatalf("an unknown login: %q", got)
	}
}
