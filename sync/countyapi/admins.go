package countyapi

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"jiannuo/auth"
	"jiannuo/store"
)

// County admin accounts and their sessions (docs/county-server.md, "Admin
// accounts and sessions"): a county has several admins, each with their
// own password; POST /admin/login exchanges a name and password for a
// short-lived session token that the other admin calls carry as
// "Authorization: Bearer", so argon2id runs once per sign-in, not once per
// call.

// MaxAdminNameBytes bounds a new admin's name.
const MaxAdminNameBytes = 64

// MaxAdminPasswordBytes bounds a new admin password (auth.ValidatePassphrase
// sets the least).
const MaxAdminPasswordBytes = 1024

// ErrBadAdminName means a name no new admin may have.
var ErrBadAdminName = errors.New("an admin name is 1 to 64 bytes of letters, digits, '.', '_', '-' and '@'")

// CheckAdminName checks the name of a new admin: 1 to MaxAdminNameBytes
// bytes of letters (Chinese included), digits and . _ - @. A colon would
// not survive HTTP basic authentication, spaces and control characters
// would not survive a table or a log line, and the server's own author
// name (store.ServerAuthor) is reserved. The error is ErrBadAdminName.
func CheckAdminName(name string) error {
	bad := name == "" || len(name) > MaxAdminNameBytes || !utf8.ValidString(name) || name == store.ServerAuthor
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r) && !strings.ContainsRune("._-@", r) {
			bad = true
		}
	}
	if bad {
		return ErrBadAdminName
	}
	return nil
}

// CheckAdminPassword checks a new admin password: the passphrase policy
// (auth.ValidatePassphrase: at least 8 characters, not one repeated) and
// at most MaxAdminPasswordBytes. The error wraps auth.ErrWeakPassphrase.
func CheckAdminPassword(p string) error {
	if len(p) > MaxAdminPasswordBytes {
		return fmt.Errorf("%w: longer than %d bytes", auth.ErrWeakPassphrase, MaxAdminPasswordBytes)
	}
	return auth.ValidatePassphrase(p)
}

// LoginRequest is the JSON body of POST /admin/login, for a client that
// does not send HTTP basic authentication.
type LoginRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// AdminSession is the answer of POST /admin/login: a session token for
// the admin calls. The server keeps only its SHA-256, in memory: it ends
// after IdleSeconds without a call, at Expires whatever the use, when its
// admin signs out, is disabled or changes password, and when the server
// restarts. Its String and LogValue leave the token out: it is never
// printed or logged.
type AdminSession struct {
	Token       string    `json:"token,omitempty"`
	Admin       string    `json:"admin"`
	Expires     time.Time `json:"expires"`      // the latest it may be used, however busy
	IdleSeconds int       `json:"idle_seconds"` // it ends this long after its last call
}

// String describes the session without its token.
func (s AdminSession) String() string {
	return fmt.Sprintf("admin session of %s until %s (idle %ds)", s.Admin, s.Expires.Format(time.RFC3339), s.IdleSeconds)
}

// LogValue logs the session without its token.
func (s AdminSession) LogValue() slog.Value {
	return slog.GroupValue(slog.String("admin", s.Admin), slog.Time("expires", s.Expires), slog.Int("idle_seconds", s.IdleSeconds))
}

// AdminInfo is a county admin account: a row of GET /admin/admins and the
// answer of the calls that change one. The password hash never leaves the
// server.
type AdminInfo struct {
	Name string `json:"name"`
	// Recovery marks the credential made by init: the one the recover-*
	// commands and `admins reset` accept on a stopped server.
	Recovery  bool      `json:"recovery"`
	Disabled  bool      `json:"disabled"`
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by,omitempty"` // empty for the one made by init
	// PasswordSet is when the password was last set after the account
	// was made, and by whom (the admin themselves, another admin, or
	// recovery:NAME); zero if never.
	PasswordSet   time.Time `json:"password_set,omitzero"`
	PasswordSetBy string    `json:"password_set_by,omitempty"`
	// Changed is when it was last disabled or enabled again, by whom and,
	// for a disabling, why; zero if never.
	Changed   time.Time `json:"changed,omitzero"`
	ChangedBy string    `json:"changed_by,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	// Sessions is how many session tokens of the admin are live now.
	Sessions int `json:"sessions"`
}

// NewAdminRequest is the body of POST /admin/admins: a new admin.
type NewAdminRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// PasswordRequest is the body of POST /admin/admins/{name}/password.
// Current is the admin's own password when they change it themselves
// (checked again, whatever authenticated the call); empty when an admin
// sets another's.
type PasswordRequest struct {
	Password string `json:"password"`
	Current  string `json:"current,omitempty"`
}

// PasswordChanged is the answer of POST /admin/admins/{name}/password:
// the account, and for an admin who changed their own password a new
// session (every session of theirs, the calling one included, ended).
type PasswordChanged struct {
	Admin   AdminInfo     `json:"admin"`
	Session *AdminSession `json:"session,omitempty"`
}
