package vm

import (
	"errors"
	"slices"
	"strings"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	"jiannuo/domain"
	"jiannuo/store"
)

// NeedsSetup reports whether the store has no device identity yet, so the
// app opens the first-run Wizard instead of the sign-in screen.
func NeedsSetup(s *store.Store) bool {
	_, err := s.Device()
	return errors.Is(err, store.ErrNotSetUp)
}

// SignIn is the offline sign-in screen: pick an account, type the
// passphrase. For one goroutine at a time; Do takes as long as the
// passphrase hash (about a second with the production parameters), so run
// it off the UI goroutine.
type SignIn struct {
	s        *store.Store
	accounts []store.Account
}

// NewSignIn lists the store's accounts for the sign-in screen: the enabled
// ones (a disabled account signs in no more).
func NewSignIn(s *store.Store) (*SignIn, error) {
	accts, err := s.Accounts()
	if err != nil {
		return nil, err
	}
	accts = slices.DeleteFunc(accts, func(a store.Account) bool { return a.Disabled })
	// Leaders first, then by display name in pinyin order, as an office
	// lists its staff.
	coll := collate.New(language.Chinese)
	slices.SortStableFunc(accts, func(a, b store.Account) int {
		if a.Role != b.Role {
			if a.Role.AtLeast(b.Role) {
				return -1
			}
			return 1
		}
		return coll.CompareString(a.DisplayName, b.DisplayName)
	})
	return &SignIn{s: s, accounts: accts}, nil
}

// Accounts returns the accounts to choose from (a copy).
func (si *SignIn) Accounts() []store.Account { return slices.Clone(si.accounts) }

// Do signs in. It returns the session, or a message to show: a name or
// passphrase to fill in, a wrong passphrase, a disabled account, or
// another failure. A session that must change its passphrase first
// (MustChangePassphrase) is returned as any other; the app asks for the
// change before it opens. A leader's sign-in also announces the device's
// accounts the office's directory lacks (store.Session.AnnounceAccounts),
// so a device upgraded from before the directory names its people to the
// county without waiting for an account change.
func (si *SignIn) Do(name, pass string) (*store.Session, *Message) {
	name = strings.TrimSpace(name)
	if name == "" {
		m := Msg("ui.signin.name_required")
		return nil, &m
	}
	if pass == "" {
		m := Msg("ui.signin.pass_required")
		return nil, &m
	}
	se, err := si.s.SignIn(name, pass)
	if err != nil {
		m := ErrorMessage(err)
		return nil, &m
	}
	if CanAddAccounts(se) && !se.MustChangePassphrase() {
		// Not worth refusing the sign-in over: the next sign-in or
		// account change announces them again.
		_, _ = se.AnnounceAccounts()
	}
	return se, nil
}

// WhoText describes the signed-in user for the title bar: display name and
// role, e.g. "张丽（镇长） · 单位负责人".
func WhoText(se *store.Session) Message {
	a := se.Account()
	return Msg("ui.signin.who", a.DisplayName, RoleMessage(a.Role))
}

// CanAddAccounts reports whether the user may add accounts on this device.
func CanAddAccounts(se *store.Session) bool {
	return se.Account().Role.AtLeast(domain.RoleLeader)
}
