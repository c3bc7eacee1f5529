package vm

import (
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// The 账号管理 screen: a leader lists the device's accounts, adds one,
// renames it, changes its role, resets a forgotten passphrase and disables
// an account (never deletes it: what it authored keeps its person); every
// user changes their own passphrase. Each change is a signed operation that
// reaches the county (store.Session.AddAccount and the others), so the
// screen asks the sync engine to send it at once.

// More names of form fields, the keys of AccountResult.Fields.
const (
	FieldRole          = "role"
	FieldOldPassphrase = "old_passphrase"
)

// AccountResult is the outcome of an account action: Done says what was
// done (for the status line) when it succeeded; otherwise Fields holds a
// message per field at fault, or Err a refusal not tied to one field.
type AccountResult struct {
	Done   Message
	Fields map[string]Message
	Err    *Message
}

// OK reports whether the action was done.
func (r AccountResult) OK() bool { return len(r.Fields) == 0 && r.Err == nil }

func failed(err error) AccountResult {
	m := ErrorMessage(err)
	return AccountResult{Err: &m}
}

func invalid(fields map[string]Message) AccountResult { return AccountResult{Fields: fields} }

// AccountRow is one account of the list.
type AccountRow struct {
	Name        string // the login
	DisplayName string
	Role        domain.Role
	RoleLabel   Message
	Status      Message // active, disabled, or waiting for its owner to change a reset passphrase
	Disabled    bool
	Self        bool // the signed-in user
	// What the signed-in user may do to it.
	CanRename, CanRole, CanReset, CanDisable bool
}

// Accounts is the 账号管理 screen over a session. For one goroutine at a
// time; Add and Reset take as long as a passphrase hash (about a second
// with the production parameters): run them off the UI goroutine.
type Accounts struct {
	se *store.Session
	// Sync, when set, is called after every change so that it reaches the
	// county now; the app passes its sync engine's SyncNow.
	Sync func()
	Rows []AccountRow
}

// NewAccounts returns the screen of session se.
func NewAccounts(se *store.Session, sync func()) *Accounts { return &Accounts{se: se, Sync: sync} }

// Manage reports whether the signed-in user manages the accounts (a
// leader, or a county admin on its device); everyone else sees the list
// and changes their own passphrase only.
func (a *Accounts) Manage() bool { return CanAddAccounts(a.se) }

// Roles are the roles the user may give: staff and leader, and county
// admin for a county admin on a county-admin device.
func (a *Accounts) Roles() []domain.Role {
	if !a.Manage() {
		return nil
	}
	out := []domain.Role{domain.RoleStaff, domain.RoleLeader}
	if a.se.Device().Admin && a.se.Account().Role == domain.RoleCountyAdmin {
		out = append(out, domain.RoleCountyAdmin)
	}
	return out
}

// Load reads the accounts: enabled ones first, leaders before staff, then
// by name in pinyin order.
func (a *Accounts) Load() error {
	accts, err := a.se.Store().Accounts()
	if err != nil {
		return err
	}
	me := a.se.Account()
	manage := a.Manage()
	rows := make([]AccountRow, 0, len(accts))
	for _, ac := range accts {
		r := AccountRow{Name: ac.Name, DisplayName: ac.DisplayName, Role: ac.Role, RoleLabel: RoleMessage(ac.Role),
			Disabled: ac.Disabled, Self: ac.Name == me.Name, Status: Msg("ui.accounts.status_active")}
		switch {
		case ac.Disabled:
			r.Status = Msg("ui.accounts.status_disabled", ac.DisabledBy, ac.DisabledAt.Local().Format("2006-01-02"))
		case ac.MustChange:
			r.Status = Msg("ui.accounts.status_must_change")
		}
		colleague := manage && !ac.Disabled && !r.Self && me.Role.AtLeast(ac.Role)
		r.CanRename = manage && !ac.Disabled && (r.Self || me.Role.AtLeast(ac.Role))
		r.CanRole, r.CanReset, r.CanDisable = colleague, colleague, colleague
		rows = append(rows, r)
	}
	coll := collate.New(language.Chinese)
	slices.SortStableFunc(rows, func(x, y AccountRow) int {
		switch {
		case x.Disabled != y.Disabled:
			if y.Disabled {
				return -1
			}
			return 1
		case x.Role != y.Role:
			if x.Role.AtLeast(y.Role) {
				return -1
			}
			return 1
		}
		return coll.CompareString(x.DisplayName, y.DisplayName)
	})
	a.Rows = rows
	return nil
}

// Len is the number of accounts listed.
func (a *Accounts) Len() int { return len(a.Rows) }

// changed reloads the list and sends the change to the county.
func (a *Accounts) changed(done Message) AccountResult {
	if a.Sync != nil {
		a.Sync()
	}
	if err := a.Load(); err != nil {
		return failed(err)
	}
	return AccountResult{Done: done}
}

// Add adds an account: a login (letters, digits, ".", "_", "-"), the name
// shown (the login when empty), a role the user may give, and the
// passphrase twice, which the colleague types or the leader hands over.
func (a *Accounts) Add(name, display string, role domain.Role, pass, pass2 string) AccountResult {
	name, display, fields := CheckAccount(name, display, pass, pass2)
	if !slices.Contains(a.Roles(), role) {
		fields[FieldRole] = Msg("ui.accounts.role_invalid")
	}
	if len(fields) > 0 {
		return invalid(fields)
	}
	if err := a.se.AddAccount(name, display, role, pass); err != nil {
		return failed(err)
	}
	return a.changed(Msg("ui.accounts.added", display, name, RoleMessage(role)))
}

// Rename changes the name shown for an account.
func (a *Accounts) Rename(name, display string) AccountResult {
	display = strings.TrimSpace(display)
	if display == "" || domain.CheckText("name", display, protocol.MaxNameBytes) != nil {
		return invalid(map[string]Message{FieldDisplayName: Msg("ui.wizard.display_invalid")})
	}
	if err := a.se.RenameAccount(name, display); err != nil {
		return failed(err)
	}
	return a.changed(Msg("ui.accounts.renamed", name, display))
}

// SetRole gives an account another role.
func (a *Accounts) SetRole(name string, role domain.Role) AccountResult {
	if !slices.Contains(a.Roles(), role) {
		return invalid(map[string]Message{FieldRole: Msg("ui.accounts.role_invalid")})
	}
	if err := a.se.SetAccountRole(name, role); err != nil {
		return failed(err)
	}
	return a.changed(Msg("ui.accounts.role_changed", name, RoleMessage(role)))
}

// Reset gives a colleague who forgot their passphrase a temporary one
// (twice), to be told in person; the colleague must change it at the next
// sign-in.
func (a *Accounts) Reset(name, temp, temp2 string) AccountResult {
	if fields := checkPassphrase(temp, temp2, FieldPassphrase, FieldPassphrase2); len(fields) > 0 {
		return invalid(fields)
	}
	if err := a.se.ResetPassphrase(name, temp); err != nil {
		return failed(err)
	}
	return a.changed(Msg("ui.accounts.reset_done", name))
}

// Disable disables an account for good, with an optional reason.
func (a *Accounts) Disable(name, reason string) AccountResult {
	reason = strings.TrimSpace(reason)
	if domain.CheckText("reason", reason, domain.MaxShortBytes) != nil {
		return invalid(map[string]Message{FieldReason: Msg("ui.accounts.reason_invalid")})
	}
	if err := a.se.DisableAccount(name, reason); err != nil {
		return failed(err)
	}
	return a.changed(Msg("ui.accounts.disabled", name))
}

// DisableQuestion is what the app asks before disabling an account.
func DisableQuestion(r AccountRow) Message {
	return Msg("ui.accounts.disable_confirm", r.DisplayName, r.Name)
}

// ChangePassphrase changes the signed-in user's own passphrase: the old
// one, and the new one twice. After a leader's reset it is what the user
// does first (MustChangePassphrase).
func ChangePassphrase(se *store.Session, old, pass, pass2 string) AccountResult {
	fields := checkPassphrase(pass, pass2, FieldPassphrase, FieldPassphrase2)
	switch {
	case old == "":
		fields[FieldOldPassphrase] = Msg("ui.signin.pass_required")
	case old == pass && len(fields) == 0:
		fields[FieldPassphrase] = Msg("ui.accounts.same_passphrase")
	}
	if len(fields) > 0 {
		return invalid(fields)
	}
	err := se.ChangePassphrase(old, pass)
	switch {
	case err == nil:
		return AccountResult{Done: Msg("ui.accounts.changed")}
	case IsWrongPassword(err):
		return invalid(map[string]Message{FieldOldPassphrase: Msg("error.wrong_password")})
	}
	return failed(err)
}

// MustChangePassphrase reports whether the session must change its
// passphrase before anything else: a leader reset it.
func MustChangePassphrase(se *store.Session) bool { return se.MustChangePassphrase() }

// IsWrongPassword reports whether err means a wrong name or passphrase.
func IsWrongPassword(err error) bool { return ErrorMessage(err).Key == "error.wrong_password" }

// CheckAccount checks a new account as typed: a sign-in name (letters,
// digits, ".", "_", "-"), the name shown (the sign-in name when empty),
// and the passphrase twice. It returns the trimmed names and a message per
// field at fault (FieldName, FieldDisplayName, FieldPassphrase,
// FieldPassphrase2); the map is empty, not nil, when all is well.
func CheckAccount(name, display, pass, pass2 string) (string, string, map[string]Message) {
	out := checkPassphrase(pass, pass2, FieldPassphrase, FieldPassphrase2)
	name = strings.TrimSpace(name)
	display = strings.TrimSpace(display)
	switch {
	case name == "":
		out[FieldName] = Msg("ui.wizard.name_required")
	case len(name) > protocol.MaxNameBytes || strings.ContainsFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	}):
		out[FieldName] = Msg("ui.wizard.name_invalid")
	}
	if display == "" {
		display = name
	}
	if len(display) > protocol.MaxNameBytes || domain.CheckText("name", display, protocol.MaxNameBytes) != nil {
		out[FieldDisplayName] = Msg("ui.wizard.display_invalid")
	}
	return name, display, out
}

// checkPassphrase checks a new passphrase typed twice against the policy
// (auth.ValidatePassphrase), with the messages under the two field names.
func checkPassphrase(pass, pass2, field, field2 string) map[string]Message {
	out := map[string]Message{}
	if err := auth.ValidatePassphrase(pass); err != nil {
		if utf8.RuneCountInString(pass) < auth.MinPassphraseRunes {
			out[field] = Msg("ui.wizard.pass_short", auth.MinPassphraseRunes)
		} else {
			out[field] = Msg("error.weak_passphrase")
		}
	}
	if pass != pass2 {
		out[field2] = Msg("ui.wizard.pass_mismatch")
	}
	return out
}
