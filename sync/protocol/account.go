package protocol

import "jiannuo/domain"

// Accounts of a device (docs/changeset-format.md, kind 12). Change sets
// name their author by login only; so that the county, the municipal
// platform and every device of the office can tell the person behind a
// login, a leader's changes to the accounts of the office's devices travel
// as OpAccount operations: who was added (login, name shown, role), renamed,
// given another role, disabled, or had the passphrase reset, by whom and
// when. Never a passphrase, a hash or a key: the secrets stay on the
// device.
//
// Op.Office is the device's own office (a county-admin device's accounts
// are its county's) and Op.Target is zero: an account is no commitment.
// Op.Reason may say why (a disabling, say). The body is appended after the
// case bodies for this kind only, so the bytes of every older kind are
// unchanged.

// AccountAction says what an OpAccount does to an account.
type AccountAction string

// The account actions.
const (
	// AccountAdd adds an account: its login, the name shown and its role.
	AccountAdd AccountAction = "add"
	// AccountDisable disables an account for good: it signs in no more.
	// Accounts are never deleted, so what they authored keeps its person.
	AccountDisable AccountAction = "disable"
	// AccountReset records that a leader reset the account's passphrase
	// (the account must change it at its next sign-in).
	AccountReset AccountAction = "reset"
	// AccountRole gives the account another role.
	AccountRole AccountAction = "role"
	// AccountRename changes the name shown for the account.
	AccountRename AccountAction = "rename"
)

// Valid reports whether a is a known action.
func (a AccountAction) Valid() bool {
	switch a {
	case AccountAdd, AccountDisable, AccountReset, AccountRole, AccountRename:
		return true
	}
	return false
}

// AccountChange is the body of OpAccount.
type AccountChange struct {
	Action AccountAction
	// Login is the account's sign-in name: the Author of the change sets
	// it signs.
	Login string
	// DisplayName is the name shown: set for add and rename, empty
	// otherwise.
	DisplayName string
	// Role is the account's role: set for add and role, empty otherwise.
	Role domain.Role
}

func appendAccount(e *encoder, op *Op) {
	if op.Kind != OpAccount {
		return
	}
	a := op.Account
	if a == nil {
		a = &AccountChange{}
	}
	e.str(string(a.Action))
	e.str(a.Login)
	e.str(a.DisplayName)
	e.str(string(a.Role))
}

func decodeAccount(d *decoder, op *Op) {
	if op.Kind != OpAccount {
		return
	}
	a := &AccountChange{}
	a.Action = AccountAction(d.str(16))
	a.Login = d.str(MaxNameBytes)
	a.DisplayName = d.str(MaxNameBytes)
	a.Role = domain.Role(d.str(32))
	op.Account = a
}

// validateAccount checks OpAccount for an author with role on a device
// that is (admin) or is not a county-admin device. That the office is the
// device's own is Verify's to check (it knows the device).
func (op *Op) validateAccount(role domain.Role, admin bool) error {
	a := op.Account
	if len(op.Writes) != 0 || !op.Target.IsZero() {
		return errorf(ErrInvalidOperation, "op %d: an account change writes no field and has no target", op.Num)
	}
	if !role.AtLeast(domain.RoleLeader) {
		return errorf(ErrNotAuthorized, "op %d: only a leader manages the accounts, not %q", op.Num, role)
	}
	if !a.Action.Valid() {
		return errorf(ErrInvalidOperation, "op %d: unknown account action %q", op.Num, a.Action)
	}
	if !domain.NonBlank(a.Login) || domain.CheckText("login", a.Login, MaxNameBytes) != nil {
		return errorf(ErrInvalidOperation, "op %d: account login %q", op.Num, a.Login)
	}
	named := a.Action == AccountAdd || a.Action == AccountRename
	if named != (a.DisplayName != "") {
		return errorf(ErrInvalidOperation, "op %d: %s names the account exactly when it adds or renames it", op.Num, a.Action)
	}
	if named && (!domain.NonBlank(a.DisplayName) || domain.CheckText("display name", a.DisplayName, MaxNameBytes) != nil) {
		return errorf(ErrInvalidOperation, "op %d: account display name %q", op.Num, a.DisplayName)
	}
	roled := a.Action == AccountAdd || a.Action == AccountRole
	if roled != (a.Role != "") || (roled && !a.Role.Valid()) {
		return errorf(ErrInvalidOperation, "op %d: %s gives a known role exactly when it adds an account or changes its role", op.Num, a.Action)
	}
	if roled && (!role.AtLeast(a.Role) || (a.Role == domain.RoleCountyAdmin && !admin)) {
		return errorf(ErrNotAuthorized, "op %d: a %s may not give the role %s here", op.Num, role, a.Role)
	}
	return nil
}
