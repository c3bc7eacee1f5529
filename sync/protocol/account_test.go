package protocol_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// accountOp is a valid account change of office off, unnumbered.
func accountOp(off office.Code, a protocol.AccountChange) protocol.Op {
	return protocol.Op{Kind: protocol.OpAccount, Office: off, Account: &a}
}

// addAccount adds a staff member to off.
func addAccount(off office.Code) protocol.Op {
	return accountOp(off, protocol.AccountChange{Action: protocol.AccountAdd, Login: "wangfang", DisplayName: "王芳", Role: domain.RoleStaff})
}

// everyAccountAction is one change of each action, as a leader makes them.
func everyAccountAction(off office.Code) []protocol.Op {
	return []protocol.Op{
		addAccount(off),
		accountOp(off, protocol.AccountChange{Action: protocol.AccountRename, Login: "wangfang", DisplayName: "王芳（民政）"}),
		accountOp(off, protocol.AccountChange{Action: protocol.AccountRole, Login: "wangfang", Role: domain.RoleLeader}),
		accountOp(off, protocol.AccountChange{Action: protocol.AccountReset, Login: "wangfang"}),
		func() protocol.Op {
			op := accountOp(off, protocol.AccountChange{Action: protocol.AccountDisable, Login: "wangfang"})
			op.Reason = "调离本单位"
			return op
		}(),
	}
}

// TestAccountValidate: the rules of an account change, one row each, with
// the code a receiver gives.
func TestAccountValidate(t *testing.T) {
	for _, op := range number(1, hlc0, everyAccountAction(township)...) {
		if err := op.Validate(domain.RoleLeader, false); err != nil {
			t.Errorf("%s by a leader: %v", op.Account.Action, err)
		}
	}
	rows := []struct {
		name  string
		role  domain.Role
		admin bool
		edit  func(op *protocol.Op)
		want  protocol.Code
	}{
		{"staff adds", domain.RoleStaff, false, nil, protocol.CodeNotAuthorized},
		{"staff disables", domain.RoleStaff, false, func(op *protocol.Op) {
			op.Account = &protocol.AccountChange{Action: protocol.AccountDisable, Login: "zhangli"}
		}, protocol.CodeNotAuthorized},
		{"leader adds a county admin on a township device", domain.RoleLeader, false, func(op *protocol.Op) { op.Account.Role = domain.RoleCountyAdmin },
			protocol.CodeNotAuthorized},
		{"county_admin role adds a county admin on a township device", domain.RoleCountyAdmin, false,
			func(op *protocol.Op) { op.Account.Role = domain.RoleCountyAdmin }, protocol.CodeNotAuthorized},
		{"leader promotes to county admin", domain.RoleLeader, true, func(op *protocol.Op) {
			op.Account = &protocol.AccountChange{Action: protocol.AccountRole, Login: "wangfang", Role: domain.RoleCountyAdmin}
		}, protocol.CodeNotAuthorized},
		{"a target", domain.RoleLeader, false, func(op *protocol.Op) { op.Target = entityID(1) }, protocol.CodeInvalidOperation},
		{"a field write", domain.RoleLeader, false, func(op *protocol.Op) {
			op.Writes = []protocol.FieldWrite{{Field: domain.FieldTitle, Value: "x"}}
		}, protocol.CodeInvalidOperation},
		{"no body", domain.RoleLeader, false, func(op *protocol.Op) { op.Account = nil }, protocol.CodeInvalidOperation},
		{"a body on another kind", domain.RoleLeader, false, func(op *protocol.Op) {
			*op = number(1, hlc0, fulfilOp(t, township, entityID(1)))[0]
			op.Account = &protocol.AccountChange{Action: protocol.AccountReset, Login: "x"}
		}, protocol.CodeInvalidOperation},
		{"unknown action", domain.RoleLeader, false, func(op *protocol.Op) { op.Account.Action = "delete" }, protocol.CodeInvalidOperation},
		{"blank login", domain.RoleLeader, false, func(op *protocol.Op) { op.Account.Login = " " }, protocol.CodeInvalidOperation},
		{"login with a control character", domain.RoleLeader, false, func(op *protocol.Op) { op.Account.Login = "wang\x00fang" },
			protocol.CodeInvalidOperation},
		{"login too long", domain.RoleLeader, false, func(op *protocol.Op) { op.Account.Login = strings.Repeat("w", protocol.MaxNameBytes+1) },
			protocol.CodeInvalidOperation},
		{"add without a name", domain.RoleLeader, false, func(op *protocol.Op) { op.Account.DisplayName = "" }, protocol.CodeInvalidOperation},
		{"add with a blank name", domain.RoleLeader, false, func(op *protocol.Op) { op.Account.DisplayName = "　" }, protocol.CodeInvalidOperation},
		{"add without a role", domain.RoleLeader, false, func(op *protocol.Op) { op.Account.Role = "" }, protocol.CodeInvalidOperation},
		{"add with an unknown role", domain.RoleLeader, false, func(op *protocol.Op) { op.Account.Role = "director" }, protocol.CodeInvalidOperation},
		{"disable naming the account", domain.RoleLeader, false, func(op *protocol.Op) { op.Account.Action = protocol.AccountDisable; op.Account.Role = "" },
			protocol.CodeInvalidOperation},
		{"reset giving a role", domain.RoleLeader, false, func(op *protocol.Op) { op.Account.Action = protocol.AccountReset; op.Account.DisplayName = "" },
			protocol.CodeInvalidOperation},
		{"rename giving a role", domain.RoleLeader, false, func(op *protocol.Op) { op.Account.Action = protocol.AccountRename }, protocol.CodeInvalidOperation},
		{"role change naming the account", domain.RoleLeader, false, func(op *protocol.Op) { op.Account.Action = protocol.AccountRole },
			protocol.CodeInvalidOperation},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			op := cloneOp(t, number(1, hlc0, addAccount(township))[0])
			if r.edit != nil {
				r.edit(&op)
			}
			err := op.Validate(r.role, r.admin)
			if got := protocol.CodeOf(err); got != r.want {
				t.Fatalf("Validate = %v (%q), want %q", err, got, r.want)
			}
		})
	}
	// A county-admin device manages its own accounts, county admins
	// included.
	op := number(1, hlc0, accountOp(county, protocol.AccountChange{Action: protocol.AccountAdd, Login: "deputy", DisplayName: "副主任",
		Role: domain.RoleCountyAdmin}))[0]
	if err := op.Validate(domain.RoleCountyAdmin, true); err != nil {
		t.Fatalf("county admin adds a county admin on its device: %v", err)
	}
}

// TestAccountVerify: account changes in signed change sets, as a receiver
// sees them: a leader's of its own office pass; a staff author is
// not_authorized; any other office is out_of_scope, even in a county-admin
// device's county.
func TestAccountVerify(t *testing.T) {
	w := newWorld(t)
	cs := w.set(t, w.town, domain.RoleLeader, nil, everyAccountAction(township)...)
	got, err := protocol.Verify(cs.Bytes(), w.reg, memChains{}, w.town.id)
	if err != nil {
		t.Fatalf("a leader's account changes: %v", err)
	}
	if !reflect.DeepEqual(got.Ops, cs.Ops) {
		t.Fatal("account changes differ after decode")
	}
	admin := w.set(t, w.admin, domain.RoleCountyAdmin, nil, accountOp(county, protocol.AccountChange{Action: protocol.AccountAdd,
		Login: "deputy", DisplayName: "副主任", Role: domain.RoleCountyAdmin}))
	if _, err := protocol.Verify(admin.Bytes(), w.reg, memChains{}, w.admin.id); err != nil {
		t.Fatalf("the county admin's own accounts: %v", err)
	}
	refused := []struct {
		name string
		dev  *device
		role domain.Role
		op   protocol.Op
		want protocol.Code
	}{
		{"staff adds an account", w.town, domain.RoleStaff, addAccount(township), protocol.CodeNotAuthorized},
		{"staff resets a passphrase", w.town, domain.RoleStaff,
			accountOp(township, protocol.AccountChange{Action: protocol.AccountReset, Login: "zhangli"}), protocol.CodeNotAuthorized},
		{"a leader of another township", w.neigh, domain.RoleLeader, addAccount(township), protocol.CodeOutOfScope},
		{"a township for its county", w.town, domain.RoleLeader, addAccount(county), protocol.CodeOutOfScope},
		{"the county admin for a township", w.admin, domain.RoleCountyAdmin, addAccount(township), protocol.CodeOutOfScope},
		{"the county admin for another county", w.admin, domain.RoleCountyAdmin, addAccount(otherCounty), protocol.CodeOutOfScope},
		{"a target", w.town, domain.RoleLeader, func() protocol.Op { op := addAccount(township); op.Target = entityID(1); return op }(),
			protocol.CodeInvalidOperation},
	}
	for _, r := range refused {
		cs := w.set(t, r.dev, r.role, nil, r.op)
		got, err := protocol.Verify(cs.Bytes(), w.reg, memChains{}, r.dev.id)
		if protocol.CodeOf(err) != r.want || got != nil {
			t.Errorf("%s: %v, want %s", r.name, err, r.want)
		}
		if r.want == protocol.CodeNotAuthorized && !errors.Is(err, protocol.ErrNotAuthorized) {
			t.Errorf("%s: %v does not wrap ErrNotAuthorized", r.name, err)
		}
	}
}

// TestAccountDecode: the body has one encoding, limits are malformed, and
// no other kind carries it.
func TestAccountDecode(t *testing.T) {
	enc := func(op protocol.Op) []byte {
		op = number(1, hlc0, op)[0]
		return protocol.AppendOp(nil, &op)
	}
	good := enc(addAccount(township))
	if op, err := protocol.DecodeOp(good); err != nil || op.Account == nil || *op.Account != *addAccount(township).Account {
		t.Fatalf("round trip: %+v, %v", op, err)
	}
	long := func(edit func(a *protocol.AccountChange)) []byte {
		op := addAccount(township)
		edit(op.Account)
		return enc(op)
	}
	cases := map[string][]byte{
		"truncated":          good[:len(good)-1],
		"trailing byte":      append(bytes.Clone(good), 0),
		"login too long":     long(func(a *protocol.AccountChange) { a.Login = strings.Repeat("w", protocol.MaxNameBytes+1) }),
		"name too long":      long(func(a *protocol.AccountChange) { a.DisplayName = strings.Repeat("王", protocol.MaxNameBytes) }),
		"action too long":    long(func(a *protocol.AccountChange) { a.Action = protocol.AccountAction(strings.Repeat("a", 17)) }),
		"role too long":      long(func(a *protocol.AccountChange) { a.Role = domain.Role(strings.Repeat("r", 33)) }),
		"name is not UTF-8":  long(func(a *protocol.AccountChange) { a.DisplayName = "\xff" }),
		"login is not UTF-8": long(func(a *protocol.AccountChange) { a.Login = "\xc3" }),
	}
	for name, b := range cases {
		if op, err := protocol.DecodeOp(b); !errors.Is(err, protocol.ErrMalformed) {
			t.Errorf("%s: DecodeOp = %+v, %v; want malformed", name, op, err)
		}
	}
	// An account body on any other kind is not encoded: older kinds keep
	// their bytes.
	w := newWorld(t)
	for _, op := range everyTownshipKind(t, w.town, 1) {
		with := op
		with.Account = &protocol.AccountChange{Action: protocol.AccountAdd, Login: "x", DisplayName: "x", Role: domain.RoleStaff}
		if !bytes.Equal(protocol.AppendOp(nil, &op), protocol.AppendOp(nil, &with)) {
			t.Errorf("%s: a stray account body changes the encoding", op.Kind)
		}
	}
}
