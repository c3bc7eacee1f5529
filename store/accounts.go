package store

import (
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// Accounts on the device, and the office's account directory.
//
// The accounts themselves (passphrase hashes, the device key sealed per
// account) are local to the device (bAccounts). What a leader changes about
// them travels as OpAccount operations, without any secret, so every replica
// of the office, the county and the municipal platform can tell the person
// behind each login: the directory (bAccountDir) is derived from those
// operations (bAccountLog) like the dishonesty records and cases, so
// replicas that hold the same change sets hold the same directory.
//
// A login names one person across the devices of its office: an office
// with two devices gives a colleague the same login on both. The entry shows
// the latest name and role its changes give (by clock stamp).

// AccountEvent is one account change, as every replica keeps it.
type AccountEvent struct {
	Op          protocol.OpID          `json:"op"`
	HLC         protocol.HLC           `json:"hlc"`
	Author      string                 `json:"author"` // the leader who made the change
	AuthorRole  domain.Role            `json:"author_role"`
	Action      protocol.AccountAction `json:"action"`
	Login       string                 `json:"login"`
	DisplayName string                 `json:"display_name,omitempty"` // add, rename
	Role        domain.Role            `json:"role,omitempty"`         // add, role
	Reason      string                 `json:"reason,omitempty"`
}

// DirectoryEntry is what the replica knows of one login of an office: who
// it is, with which role, whether it may still sign in, and who changed
// that, when.
type DirectoryEntry struct {
	Office      office.Code `json:"office"`
	Login       string      `json:"login"`
	DisplayName string      `json:"display_name,omitempty"`
	Role        domain.Role `json:"role,omitempty"`
	// Added is false while only later changes have arrived.
	Added bool `json:"added"`
	// Enabled: added, and not disabled since.
	Enabled     bool              `json:"enabled"`
	AddedBy     string            `json:"added_by,omitempty"`
	AddedAt     protocol.HLC      `json:"added_at,omitempty"`
	AddedDevice protocol.DeviceID `json:"added_device,omitzero"`
	// DisabledBy, DisabledAt and DisabledReason describe the last
	// disabling, while the account stays disabled.
	DisabledBy     string       `json:"disabled_by,omitempty"`
	DisabledAt     protocol.HLC `json:"disabled_at,omitempty"`
	DisabledReason string       `json:"disabled_reason,omitempty"`
	// Resets counts the passphrase resets; ResetBy and ResetAt the last.
	Resets    int          `json:"resets,omitempty"`
	ResetBy   string       `json:"reset_by,omitempty"`
	ResetAt   protocol.HLC `json:"reset_at,omitempty"`
	UpdatedAt protocol.HLC `json:"updated_at"`

	// History is every change, oldest first (filled by the queries, not
	// stored in the view).
	History []AccountEvent `json:"history,omitempty"`
}

// Name is the name to show for the login: its display name, or the login
// itself while none has arrived.
func (e *DirectoryEntry) Name() string {
	if e.DisplayName != "" {
		return e.DisplayName
	}
	return e.Login
}

// accountKey is the directory key of a login of office o: the login's hash
// stands in for an entity ID, so the directory shares the event machinery
// (and the key layout) of dishonesty records and cases.
func accountKey(o office.Code, login string) Ref {
	h := sha256.Sum256([]byte("jiannuo/account\x00" + login))
	var id protocol.EntityID
	copy(id[:], h[:])
	return Ref{Office: o, ID: id}
}

// applyAccount appends the event and derives the directory entry again.
func applyAccount(tx *bolt.Tx, dev protocol.DeviceID, author string, role domain.Role, op *protocol.Op) error {
	a := op.Account
	e := AccountEvent{Op: op.ID(dev), HLC: op.HLC, Author: author, AuthorRole: role, Action: a.Action, Login: a.Login,
		DisplayName: a.DisplayName, Role: a.Role, Reason: op.Reason}
	return putEvent(tx, bAccountLog, bAccountDir, accountKey(op.Office, a.Login), op.HLC, e.Op, e, deriveDirectory)
}

func accountEvents(tx *bolt.Tx, k Ref) ([]AccountEvent, error) {
	return scanPrefix[AccountEvent](tx, bAccountLog, refKey(k))
}

// deriveDirectory computes an entry from its events in key order (stamp,
// then operation): the same on every replica, whatever order they came in.
func deriveDirectory(tx *bolt.Tx, k Ref) (*DirectoryEntry, error) {
	events, err := accountEvents(tx, k)
	if err != nil {
		return nil, err
	}
	d := &DirectoryEntry{Office: k.Office}
	for i := range events {
		e := &events[i]
		d.Login = e.Login
		d.UpdatedAt = max(d.UpdatedAt, e.HLC)
		switch e.Action {
		case protocol.AccountAdd:
			if !d.Added {
				d.AddedBy, d.AddedAt, d.AddedDevice = e.Author, e.HLC, e.Op.Device
			}
			d.Added, d.Enabled, d.DisplayName, d.Role = true, true, e.DisplayName, e.Role
			d.DisabledBy, d.DisabledAt, d.DisabledReason = "", 0, ""
		case protocol.AccountDisable:
			d.Enabled = false
			d.DisabledBy, d.DisabledAt, d.DisabledReason = e.Author, e.HLC, e.Reason
		case protocol.AccountReset:
			d.Resets++
			d.ResetBy, d.ResetAt = e.Author, e.HLC
		case protocol.AccountRole:
			d.Role = e.Role
		case protocol.AccountRename:
			d.DisplayName = e.DisplayName
		}
	}
	return d, nil
}

// checkDirectory verifies that every directory entry is what its events
// derive and every event belongs to an entry (Check).
func checkDirectory(tx *bolt.Tx, bad func(string, ...any)) error {
	return checkDerivedViews(tx, bAccountDir, bAccountLog, "directory entry", deriveDirectory, bad)
}

// Directory returns the directory entries of office o and every office
// under it (all of them for ""), by office then login, with their history.
func (s *Store) Directory(o office.Code) ([]DirectoryEntry, error) {
	var out []DirectoryEntry
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bAccountDir).ForEach(func(k, v []byte) error {
			var d DirectoryEntry
			if err := unmarshal(v, &d); err != nil {
				return err
			}
			if o != "" && !o.Contains(d.Office) {
				return nil
			}
			rk, _, _ := parseRefKey(k)
			var err error
			d.History, err = accountEvents(tx, rk)
			out = append(out, d)
			return err
		})
	})
	slices.SortFunc(out, func(a, b DirectoryEntry) int {
		return cmp.Or(cmp.Compare(a.Office, b.Office), cmp.Compare(a.Login, b.Login))
	})
	return out, err
}

// People tells the person behind an author login: it knows the office of
// every device the replica knows and the directory of every office. Read it
// once with Store.People for a screen or a report; it does not follow later
// changes.
type People struct {
	offices map[protocol.DeviceID]office.Code
	entries map[Ref]DirectoryEntry
	// local are this device's own accounts (login -> name), for its own
	// operations before the directory has heard of them: an account made
	// by an older release, or before the first account change reached it.
	self  protocol.DeviceID
	local map[string]string
}

// People reads the directory and the devices' offices.
func (s *Store) People() (*People, error) {
	p := &People{offices: make(map[protocol.DeviceID]office.Code), entries: make(map[Ref]DirectoryEntry),
		local: make(map[string]string)}
	err := s.db.View(func(tx *bolt.Tx) error {
		p.self = selfTx(tx)
		err := tx.Bucket(bAccounts).ForEach(func(_, v []byte) error {
			var a account
			if err := unmarshal(v, &a); err != nil {
				return err
			}
			p.local[a.Name] = a.DisplayName
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(bDevices).ForEach(func(_, v []byte) error {
			var d DeviceRecord
			if err := unmarshal(v, &d); err != nil {
				return err
			}
			p.offices[d.ID] = d.Office
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bAccountDir).ForEach(func(_, v []byte) error {
			var d DirectoryEntry
			if err := unmarshal(v, &d); err != nil {
				return err
			}
			p.entries[accountKey(d.Office, d.Login)] = d
			return nil
		})
	})
	return p, err
}

// Entry returns the directory entry of the login author of device dev (a
// login belongs to the office of the device that signed).
func (p *People) Entry(dev protocol.DeviceID, author string) (DirectoryEntry, bool) {
	if p == nil {
		return DirectoryEntry{}, false
	}
	o, ok := p.offices[dev]
	if !ok {
		return DirectoryEntry{}, false
	}
	e, ok := p.entries[accountKey(o, author)]
	return e, ok
}

// Name returns the name to show for the login author of device dev: the
// person's display name, or the login when the directory does not know it
// (an account from before the directory, say, or the county server's own).
func (p *People) Name(dev protocol.DeviceID, author string) string {
	if e, ok := p.Entry(dev, author); ok && e.DisplayName != "" {
		return e.DisplayName
	}
	if p != nil && dev == p.self && !dev.IsZero() && p.local[author] != "" {
		return p.local[author]
	}
	return author
}

// Who is Name with the login, "王芳（wangfang）", or the login alone when
// the directory does not know it: how an audit names the person.
func (p *People) Who(dev protocol.DeviceID, author string) string {
	if n := p.Name(dev, author); n != author {
		return n + "（" + author + "）"
	}
	return author
}

// ---- Managing the device's accounts ----

// notAllowed is a refusal of an account change by role: the receiver's code
// (not_authorized) and the domain's sentinel, so errors.Is works with both.
func notAllowed(format string, args ...any) error {
	return fmt.Errorf("%w: %w: %s", protocol.ErrNotAuthorized, domain.ErrNotAllowed, fmt.Sprintf(format, args...))
}

// MustChangePassphrase reports whether the session was opened with a
// passphrase a leader reset: it must be changed (ChangePassphrase) before
// anything else is done.
func (se *Session) MustChangePassphrase() bool { return se.mustChange.Load() }

// leaderOnly refuses an account change by anyone but a leader (or a county
// admin on its own device).
func (se *Session) leaderOnly() error {
	if !se.acct.Role.AtLeast(domain.RoleLeader) {
		return notAllowed("a %s does not manage accounts", se.acct.Role)
	}
	return nil
}

// colleague reads the account name inside tx for a change by this session's
// user: it must exist, be enabled, not be the user's own (self is allowed
// only where stated) and have a role no higher than the user's.
func (se *Session) colleague(tx *bolt.Tx, name string, self bool) (account, error) {
	var a account
	v := tx.Bucket(bAccounts).Get([]byte(name))
	if v == nil {
		return a, fmt.Errorf("%w: account %q", ErrNotFound, name)
	}
	if err := unmarshal(v, &a); err != nil {
		return a, err
	}
	switch {
	case a.Disabled:
		return a, fmt.Errorf("%w: %s", ErrAccountDisabled, name)
	case name == se.acct.Name && !self:
		return a, notAllowed("%s may not do this to their own account", name)
	case !se.acct.Role.AtLeast(a.Role):
		return a, notAllowed("a %s may not change a %s account", se.acct.Role, a.Role)
	}
	return a, nil
}

// accountOp is an account change of this device's office.
func (se *Session) accountOp(a protocol.AccountChange, reason string) *protocol.Op {
	return &protocol.Op{Kind: protocol.OpAccount, Office: se.rec.Office, Account: &a, Reason: reason}
}

// announceTx returns an add for each enabled account of the device the
// office's directory does not know yet (but skip, about to be added), one
// this user may announce: accounts from before the directory, and the
// device's first account, reach it with the first account change a leader
// makes.
func (se *Session) announceTx(tx *bolt.Tx, skip string) ([]*protocol.Op, error) {
	var ops []*protocol.Op
	err := tx.Bucket(bAccounts).ForEach(func(k, v []byte) error {
		var a account
		if err := unmarshal(v, &a); err != nil {
			return err
		}
		if a.Disabled || a.Name == skip || !se.acct.Role.AtLeast(a.Role) {
			return nil
		}
		var d DirectoryEntry
		if dv := tx.Bucket(bAccountDir).Get(refKey(accountKey(se.rec.Office, a.Name))); dv != nil {
			if err := unmarshal(dv, &d); err != nil {
				return err
			}
		}
		if !d.Added {
			ops = append(ops, se.accountOp(protocol.AccountChange{Action: protocol.AccountAdd, Login: a.Name,
				DisplayName: a.DisplayName, Role: a.Role}, ""))
		}
		return nil
	})
	return ops, err
}

// AnnounceAccounts adds to the office's directory every enabled account of
// this device it does not know yet (see announceTx), and returns how many.
// A leader's account changes do it anyway; the app also calls it when a
// leader signs in, so an upgraded device's accounts reach the county
// without waiting for a change.
func (se *Session) AnnounceAccounts() (int, error) {
	if err := se.leaderOnly(); err != nil {
		return 0, err
	}
	ids, err := se.actAll(func(tx *bolt.Tx) ([]*protocol.Op, error) { return se.announceTx(tx, "") })
	return len(ids), err
}

// changeAccount makes one account change: edit changes the account inside
// the transaction (and may refuse it), then the change and any
// announcements go out as operations.
func (se *Session) changeAccount(name string, self bool, change protocol.AccountChange, reason string, edit func(a *account) error) error {
	if err := se.leaderOnly(); err != nil {
		return err
	}
	_, err := se.actAll(func(tx *bolt.Tx) ([]*protocol.Op, error) {
		a, err := se.colleague(tx, name, self)
		if err != nil {
			return nil, err
		}
		if err := edit(&a); err != nil {
			return nil, err
		}
		if err := tx.Bucket(bAccounts).Put([]byte(name), marshal(a)); err != nil {
			return nil, err
		}
		ops, err := se.announceTx(tx, name)
		if err != nil {
			return nil, err
		}
		change.Login = name
		return append(ops, se.accountOp(change, reason)), nil
	})
	switch {
	case errors.Is(err, errUnchanged):
		return nil
	case err == nil:
		se.s.log.Info("account changed", "account", name, "action", string(change.Action), "by", se.acct.Name)
	}
	return err
}

// AddAccount creates another account on this device with the device key
// sealed under its passphrase. Leaders and county admins add accounts of
// their own role or below; the addition reaches the office's directory
// (and the county) as an OpAccount. A staff member is refused with
// protocol.ErrNotAuthorized (and domain.ErrNotAllowed), a taken name with
// ErrAccountExists, a weak passphrase with auth.ErrWeakPassphrase; nothing
// is stored then.
func (se *Session) AddAccount(name, display string, role domain.Role, passphrase string) error {
	if err := se.leaderOnly(); err != nil {
		return err
	}
	if !se.acct.Role.AtLeast(role) {
		return notAllowed("%s may not create a %s account", se.acct.Role, role)
	}
	acct, err := se.s.newAccount(name, display, role, passphrase, se.key, se.acct.Name)
	if err != nil {
		return err
	}
	_, err = se.actAll(func(tx *bolt.Tx) ([]*protocol.Op, error) {
		b := tx.Bucket(bAccounts)
		if b.Get([]byte(name)) != nil {
			return nil, fmt.Errorf("%w: %s", ErrAccountExists, name)
		}
		if err := b.Put([]byte(name), marshal(acct)); err != nil {
			return nil, err
		}
		ops, err := se.announceTx(tx, name)
		if err != nil {
			return nil, err
		}
		return append(ops, se.accountOp(protocol.AccountChange{Action: protocol.AccountAdd, Login: acct.Name,
			DisplayName: acct.DisplayName, Role: acct.Role}, "")), nil
	})
	if err == nil {
		se.s.log.Info("account added", "account", name, "role", string(role), "by", se.acct.Name)
	}
	return err
}

// DisableAccount disables a colleague's account for good, with an optional
// reason: it signs in no more, and its sealed copy of the device key is
// removed in the same transaction, so even its passphrase unlocks nothing.
// The account is kept (what it authored keeps its person). A leader cannot
// disable their own account: another leader does.
func (se *Session) DisableAccount(name, reason string) error {
	reason = strings.TrimSpace(reason)
	return se.changeAccount(name, false, protocol.AccountChange{Action: protocol.AccountDisable}, reason, func(a *account) error {
		a.Disabled, a.DisabledAt, a.DisabledBy = true, se.s.opts.Now().UTC(), se.acct.Name
		a.SealedKey, a.MustChange = nil, false
		return nil
	})
}

// ResetPassphrase gives a colleague who forgot their passphrase a
// temporary one: the device key is sealed anew under it from this session,
// and the colleague must change it at the next sign-in. The reset (never
// the passphrase) reaches the directory. Own passphrases are changed with
// ChangePassphrase.
func (se *Session) ResetPassphrase(name, temporary string) error {
	if err := se.leaderOnly(); err != nil {
		return err
	}
	if err := auth.ValidatePassphrase(temporary); err != nil {
		return err
	}
	hash, sealed, err := se.s.sealFor(temporary, se)
	if err != nil {
		return err
	}
	return se.changeAccount(name, false, protocol.AccountChange{Action: protocol.AccountReset}, "", func(a *account) error {
		a.PasswordHash, a.SealedKey, a.MustChange = hash, sealed, true
		return nil
	})
}

// SetAccountRole gives a colleague's account another role, no higher than
// the user's own. Changing to the role it has does nothing.
func (se *Session) SetAccountRole(name string, role domain.Role) error {
	if !role.Valid() {
		return fmt.Errorf("%w: role %q", domain.ErrInvalidValue, role)
	}
	if !se.acct.Role.AtLeast(role) {
		return notAllowed("%s may not give the role %s", se.acct.Role, role)
	}
	return se.changeAccount(name, false, protocol.AccountChange{Action: protocol.AccountRole, Role: role}, "", func(a *account) error {
		if a.Role == role {
			return errUnchanged
		}
		a.Role = role
		return nil
	})
}

// RenameAccount changes the name shown for an account, the user's own
// included. Giving it the name it has does nothing.
func (se *Session) RenameAccount(name, display string) error {
	display = strings.TrimSpace(display)
	if !domain.NonBlank(display) || domain.CheckText("name", display, protocol.MaxNameBytes) != nil {
		return fmt.Errorf("%w: display name %q", domain.ErrInvalidValue, display)
	}
	return se.changeAccount(name, true, protocol.AccountChange{Action: protocol.AccountRename, DisplayName: display}, "", func(a *account) error {
		if a.DisplayName == display {
			return errUnchanged
		}
		a.DisplayName = display
		return nil
	})
}

// errUnchanged rolls back a change that would change nothing.
var errUnchanged = errors.New("unchanged")

// ChangePassphrase changes the user's own passphrase: the old one is
// required, the new one must meet the policy and differ from it. The
// device key is sealed anew under it. It is local to the device: nothing
// about it travels. After a leader's reset it is the first thing to do.
func (se *Session) ChangePassphrase(old, passphrase string) error {
	var a account
	err := se.s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bAccounts).Get([]byte(se.acct.Name))
		if v == nil {
			return fmt.Errorf("%w: account %q", ErrNotFound, se.acct.Name)
		}
		return unmarshal(v, &a)
	})
	if err != nil {
		return err
	}
	if a.Disabled {
		return fmt.Errorf("%w: %s", ErrAccountDisabled, a.Name)
	}
	if err := auth.VerifyPassword(a.PasswordHash, old); err != nil {
		if errors.Is(err, auth.ErrWrongPassword) {
			se.s.log.Info("passphrase change refused: wrong passphrase", "account", a.Name)
			return ErrWrongPassword
		}
		return err
	}
	if err := auth.ValidatePassphrase(passphrase); err != nil {
		return err
	}
	if passphrase == old {
		return fmt.Errorf("%w: the new passphrase is the old one", domain.ErrInvalidValue)
	}
	hash, sealed, err := se.s.sealFor(passphrase, se)
	if err != nil {
		return err
	}
	err = se.s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bAccounts)
		var cur account
		if err := unmarshal(b.Get([]byte(a.Name)), &cur); err != nil {
			return err
		}
		if cur.Disabled || cur.PasswordHash != a.PasswordHash {
			// Disabled or reset meanwhile: the old passphrase is no
			// longer the one to replace.
			return fmt.Errorf("%w: account %s changed meanwhile", ErrWrongPassword, a.Name)
		}
		cur.PasswordHash, cur.SealedKey, cur.MustChange = hash, sealed, false
		return b.Put([]byte(a.Name), marshal(cur))
	})
	if err != nil {
		return err
	}
	se.mustChange.Store(false)
	se.s.log.Info("passphrase changed", "account", a.Name)
	return nil
}

// sealFor hashes a passphrase and seals the session's device key under it.
func (s *Store) sealFor(passphrase string, se *Session) (hash string, sealed []byte, err error) {
	if hash, err = auth.HashPassword(passphrase, s.opts.KDF); err != nil {
		return "", nil, err
	}
	if sealed, err = auth.SealKey(se.key, passphrase, s.opts.KDF); err != nil {
		return "", nil, err
	}
	return hash, sealed, nil
}
