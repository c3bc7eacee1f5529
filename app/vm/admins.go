package vm

import (
	"context"
	"errors"
	"strings"

	"jiannuo/domain"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// The 管理员账号 screen of a county-admin device: the county server's admin
// accounts (each county admin with their own password), added, disabled,
// enabled again and given a new password through the admin API; every
// change is audited on the server under the name of the admin signed in.
// The admin screens hold a session token, not the password
// (AdminSignIn): when the server ends the session (30 minutes idle, 8 hours
// at most, or the account changed) the calls are refused with
// session_expired and the screens ask to sign in again.

// AdminSignIn signs in to the admin API of the server in settings as name
// with password and returns the client holding the session and not the
// password. A wrong credential is refused (protocol.ErrNotAuthorized, with
// countyapi.IsCredentialError), as is a disabled admin's (HTTP 403).
func AdminSignIn(ctx context.Context, settings store.SyncSettings, name, password string) (*countyapi.Client, error) {
	c := NewAdminClient(settings, name, password)
	if _, err := c.Login(ctx); err != nil {
		c.CloseIdleConnections()
		return nil, err
	}
	c.ForgetPassword()
	return c, nil
}

// AdminRow is one admin account.
type AdminRow struct {
	Name     string
	Recovery bool // the credential made at init: the last resort on the stopped server
	Disabled bool
	Self     bool // the admin signed in
	// State is enabled, or disabled with who did it and why; Created,
	// PasswordSet and Sessions describe the account.
	State, Created, PasswordSet, Sessions Message
	// What the admin signed in may do to it: disable it (not the last
	// enabled admin), enable it, set its password (their own, or anyone's
	// but the recovery credential's).
	CanDisable, CanEnable, CanSetPassword bool
}

// AdminAccounts is the 管理员账号 screen's view-model.
type AdminAccounts struct {
	c    *countyapi.Client
	Rows []AdminRow
}

// NewAdminAccounts returns the view-model over the signed-in client c.
func NewAdminAccounts(c *countyapi.Client) *AdminAccounts { return &AdminAccounts{c: c} }

// Load reads the accounts into Rows.
func (a *AdminAccounts) Load(ctx context.Context) error {
	rows, err := a.Fetch(ctx)
	if err != nil {
		return err
	}
	a.Rows = rows
	return nil
}

// Fetch reads the accounts, by name, without touching Rows: a screen
// fetches off the UI goroutine and sets Rows on it.
func (a *AdminAccounts) Fetch(ctx context.Context) ([]AdminRow, error) {
	list, err := a.c.Admins(ctx)
	if err != nil {
		return nil, err
	}
	enabled := 0
	for _, x := range list {
		if !x.Disabled {
			enabled++
		}
	}
	me := a.c.Admin()
	rows := make([]AdminRow, 0, len(list))
	for _, x := range list {
		r := AdminRow{Name: x.Name, Recovery: x.Recovery, Disabled: x.Disabled, Self: x.Name == me,
			State: Msg("adminui.admins.enabled"), Sessions: Msg("adminui.admins.sessions", x.Sessions)}
		if x.Disabled {
			r.State = Msg("adminui.admins.disabled", adminTime(x.Changed), x.ChangedBy, x.Reason)
		}
		r.Created = Msg("adminui.admins.created_init", adminTime(x.Created))
		if x.CreatedBy != "" {
			r.Created = Msg("adminui.admins.created", adminTime(x.Created), x.CreatedBy)
		}
		if !x.PasswordSet.IsZero() {
			r.PasswordSet = Msg("adminui.admins.password_set", adminTime(x.PasswordSet), x.PasswordSetBy)
		}
		r.CanDisable = !x.Disabled && enabled > 1
		r.CanEnable = x.Disabled
		r.CanSetPassword = r.Self || !x.Recovery
		rows = append(rows, r)
	}
	return rows, nil
}

// Add adds an admin: a name (CheckAdminName) and the password twice.
func (a *AdminAccounts) Add(ctx context.Context, name, pass, pass2 string) AccountResult {
	name = strings.TrimSpace(name)
	fields := checkPassphrase(pass, pass2, FieldPassphrase, FieldPassphrase2)
	if countyapi.CheckAdminName(name) != nil {
		fields[FieldName] = Msg("adminui.admins.bad_name", countyapi.MaxAdminNameBytes)
	}
	if len(fields) == 0 && countyapi.CheckAdminPassword(pass) != nil {
		fields[FieldPassphrase] = Msg("error.weak_passphrase")
	}
	if len(fields) > 0 {
		return invalid(fields)
	}
	if _, err := a.c.AddAdmin(ctx, name, pass); err != nil {
		return failed(err)
	}
	return AccountResult{Done: Msg("adminui.admins.added", name)}
}

// Disable disables an admin with a reason (required): they can no longer
// sign in, and their sessions end.
func (a *AdminAccounts) Disable(ctx context.Context, name, reason string) AccountResult {
	reason = strings.TrimSpace(reason)
	if !domain.NonBlank(reason) || domain.CheckText("reason", reason, domain.MaxShortBytes) != nil {
		return invalid(map[string]Message{FieldReason: Msg("adminui.admins.reason_required")})
	}
	if _, err := a.c.DisableAdmin(ctx, name, reason); err != nil {
		return failed(err)
	}
	return AccountResult{Done: Msg("adminui.admins.disabled_done", name)}
}

// DisableAdminQuestion is what the screen asks before disabling r.
func DisableAdminQuestion(r AdminRow) Message {
	if r.Self {
		return Msg("adminui.admins.disable_self_confirm")
	}
	return Msg("adminui.admins.disable_confirm", r.Name)
}

// Enable lets a disabled admin sign in again.
func (a *AdminAccounts) Enable(ctx context.Context, name string) AccountResult {
	if _, err := a.c.EnableAdmin(ctx, name); err != nil {
		return failed(err)
	}
	return AccountResult{Done: Msg("adminui.admins.enabled_done", name)}
}

// SetPassword sets the password of name, typed twice: the admin's own
// needs their present one (current; the screen goes on with a new
// session), another admin's does not (their sessions end; tell them the
// new password in person).
func (a *AdminAccounts) SetPassword(ctx context.Context, name, current, pass, pass2 string) AccountResult {
	own := name == a.c.Admin()
	fields := checkPassphrase(pass, pass2, FieldPassphrase, FieldPassphrase2)
	switch {
	case own && current == "":
		fields[FieldOldPassphrase] = Msg("ui.signin.pass_required")
	case own && current == pass && len(fields) == 0:
		fields[FieldPassphrase] = Msg("ui.accounts.same_passphrase")
	}
	if len(fields) == 0 && countyapi.CheckAdminPassword(pass) != nil {
		fields[FieldPassphrase] = Msg("error.weak_passphrase")
	}
	if len(fields) > 0 {
		return invalid(fields)
	}
	if !own {
		current = ""
	}
	_, err := a.c.SetAdminPassword(ctx, name, pass, current)
	switch {
	case err == nil && own:
		return AccountResult{Done: Msg("adminui.admins.own_password_done")}
	case err == nil:
		return AccountResult{Done: Msg("adminui.admins.password_done", name)}
	case own && errors.Is(err, protocol.ErrNotAuthorized) && !countyapi.IsCredentialError(err):
		return invalid(map[string]Message{FieldOldPassphrase: Msg("error.wrong_password")})
	}
	return failed(err)
}

// SignOut ends the admin's session on the server; the screens then ask
// to sign in again.
func (a *AdminAccounts) SignOut(ctx context.Context) error { return a.c.Logout(ctx) }
