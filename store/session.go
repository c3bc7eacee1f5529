package store

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// account is a staff member who may sign in on this device. The device's
// private key is kept once per enabled account, sealed under that account's
// passphrase, so any member can sign and none can read another's
// passphrase. Accounts are never deleted (what they authored keeps its
// person); a disabled one keeps no sealed key at all.
type account struct {
	Name         string      `json:"name"`
	DisplayName  string      `json:"display_name"`
	Role         domain.Role `json:"role"`
	PasswordHash string      `json:"password_hash"`
	SealedKey    []byte      `json:"sealed_key"`
	Created      time.Time   `json:"created"`
	CreatedBy    string      `json:"created_by,omitempty"`
	// Disabled, DisabledAt and DisabledBy: a leader disabled the account.
	Disabled   bool      `json:"disabled,omitempty"`
	DisabledAt time.Time `json:"disabled_at,omitzero"`
	DisabledBy string    `json:"disabled_by,omitempty"`
	// MustChange: a leader reset the passphrase; its owner changes it at
	// the next sign-in before doing anything else.
	MustChange bool `json:"must_change,omitempty"`
}

func (a *account) public() Account {
	return Account{Name: a.Name, DisplayName: a.DisplayName, Role: a.Role, Disabled: a.Disabled, MustChange: a.MustChange,
		Created: a.Created, CreatedBy: a.CreatedBy, DisabledAt: a.DisabledAt, DisabledBy: a.DisabledBy}
}

// Account is what the app shows of an account.
type Account struct {
	Name        string
	DisplayName string
	Role        domain.Role
	// Disabled accounts are kept (never deleted) and sign in no more.
	Disabled bool
	// MustChange: the passphrase was reset by a leader and must be
	// changed at the next sign-in.
	MustChange bool
	Created    time.Time
	CreatedBy  string // the account that added it; empty for the first
	DisabledAt time.Time
	DisabledBy string
}

// SetupConfig describes a new device and its first user.
type SetupConfig struct {
	// Office is the office the device writes for. A county-admin device
	// (Admin) is set up for its county's code.
	Office office.Code
	// Admin makes this a county-admin device (县信用办).
	Admin bool
	// DeviceName is a label for the admin's device list, e.g. "栾川镇党政办-1".
	DeviceName string
	// Name, DisplayName, Role and Passphrase describe the first account.
	Name        string
	DisplayName string
	Role        domain.Role
	Passphrase  string
}

// Setup gives a fresh replica its identity: a new ed25519 key, the device
// record, and the first account, with the key sealed under its passphrase.
// It returns that account's session.
func (s *Store) Setup(cfg SetupConfig) (*Session, error) {
	if !cfg.Office.Valid() {
		return nil, fmt.Errorf("%w: office %q", domain.ErrInvalidValue, cfg.Office)
	}
	if cfg.Admin != (cfg.Role == domain.RoleCountyAdmin) || (cfg.Admin && cfg.Office.Level() != office.County) {
		return nil, fmt.Errorf("%w: a county-admin device belongs to a county and its first user is a county admin", domain.ErrInvalidValue)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	dev := protocol.DeviceIDFromKey(pub)
	acct, err := s.newAccount(cfg.Name, cfg.DisplayName, cfg.Role, cfg.Passphrase, priv, "")
	if err != nil {
		return nil, err
	}
	rec := DeviceRecord{ID: dev, Key: pub, Office: cfg.Office, Name: cfg.DeviceName, Admin: cfg.Admin}
	err = s.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bMeta)
		if m.Get(kDevice) != nil {
			return ErrAlreadySetUp
		}
		if err := m.Put(kDevice, dev[:]); err != nil {
			return err
		}
		if err := putU64(m, kNextOp, 1); err != nil {
			return err
		}
		if err := tx.Bucket(bDevices).Put(dev[:], marshal(rec)); err != nil {
			return err
		}
		return tx.Bucket(bAccounts).Put([]byte(acct.Name), marshal(acct))
	})
	if err != nil {
		return nil, err
	}
	s.dev.Store(&dev)
	s.log.Info("device set up", "device", dev, "office", cfg.Office, "admin", cfg.Admin)
	return &Session{s: s, acct: acct.public(), key: priv, rec: rec}, nil
}

func (s *Store) newAccount(name, display string, role domain.Role, pass string, key ed25519.PrivateKey, by string) (account, error) {
	if !domain.NonBlank(name) || domain.CheckText("name", name, protocol.MaxNameBytes) != nil {
		return account{}, fmt.Errorf("%w: account name %q", domain.ErrInvalidValue, name)
	}
	if !role.Valid() {
		return account{}, fmt.Errorf("%w: role %q", domain.ErrInvalidValue, role)
	}
	if err := auth.ValidatePassphrase(pass); err != nil {
		return account{}, err
	}
	hash, err := auth.HashPassword(pass, s.opts.KDF)
	if err != nil {
		return account{}, err
	}
	sealed, err := auth.SealKey(key, pass, s.opts.KDF)
	if err != nil {
		return account{}, err
	}
	if display == "" {
		display = name
	}
	return account{Name: name, DisplayName: display, Role: role, PasswordHash: hash, SealedKey: sealed,
		Created: s.opts.Now().UTC(), CreatedBy: by}, nil
}

// SignIn checks a user's passphrase and unlocks the device key for the
// session. It works offline. The error is ErrWrongPassword whether the name
// or the passphrase was wrong.
func (s *Store) SignIn(name, passphrase string) (*Session, error) {
	var acct account
	var rec DeviceRecord
	var self protocol.DeviceID
	err := s.db.View(func(tx *bolt.Tx) error {
		self = selfTx(tx)
		if self.IsZero() {
			return ErrNotSetUp
		}
		v := tx.Bucket(bAccounts).Get([]byte(name))
		if v == nil {
			return ErrWrongPassword
		}
		if err := unmarshal(v, &acct); err != nil {
			return err
		}
		return unmarshal(tx.Bucket(bDevices).Get(self[:]), &rec)
	})
	if err != nil {
		return nil, err
	}
	if err := auth.VerifyPassword(acct.PasswordHash, passphrase); err != nil {
		if errors.Is(err, auth.ErrWrongPassword) {
			s.log.Info("sign-in refused", "account", name)
			return nil, ErrWrongPassword
		}
		return nil, err
	}
	if acct.Disabled {
		// Its sealed key is gone too: there is nothing it could unlock.
		s.log.Info("sign-in refused: account disabled", "account", name, "by", acct.DisabledBy)
		return nil, fmt.Errorf("%w: %s", ErrAccountDisabled, name)
	}
	key, err := auth.OpenKey(acct.SealedKey, passphrase)
	if err != nil {
		return nil, fmt.Errorf("unlocking device key: %w", err)
	}
	if protocol.DeviceIDFromKey(key.Public().(ed25519.PublicKey)) != self {
		// The device was re-keyed since this account last signed in.
		if key, err = s.followRekeys(name, passphrase, key, self); err != nil {
			return nil, err
		}
	}
	se := &Session{s: s, acct: acct.public(), key: key, rec: rec}
	se.mustChange.Store(acct.MustChange)
	return se, nil
}

// Accounts lists the accounts on this device, disabled ones included, by
// login.
func (s *Store) Accounts() ([]Account, error) {
	var out []Account
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bAccounts).ForEach(func(_, v []byte) error {
			var a account
			if err := unmarshal(v, &a); err != nil {
				return err
			}
			out = append(out, a.public())
			return nil
		})
	})
	return out, err
}

// Session is a signed-in user on this device. Every action goes through a
// session: it knows who acts, with which role, and holds the unlocked device
// key for sealing change sets. Safe for concurrent use.
type Session struct {
	s    *Store
	acct Account
	key  ed25519.PrivateKey
	rec  DeviceRecord
	// mustChange: signed in under a passphrase a leader reset; nothing is
	// done before ChangePassphrase.
	mustChange atomic.Bool
}

// Account returns the signed-in user.
func (se *Session) Account() Account { return se.acct }

// Device returns this device's record.
func (se *Session) Device() DeviceRecord { return se.rec }

// Store returns the store the session acts on.
func (se *Session) Store() *Store { return se.s }

// SignChallenge proves to a county server that this device holds its key,
// without the key leaving the session (see protocol.SignChallenge).
func (se *Session) SignChallenge(nonce []byte, serverFingerprint string) []byte {
	return protocol.SignChallenge(se.key, nonce, serverFingerprint)
}

// EnrolRequest returns a signed request to enrol this device for its office.
func (se *Session) EnrolRequest(now time.Time) []byte {
	r := protocol.EnrolRequest{Key: se.rec.Key, Office: se.rec.Office, DeviceName: se.rec.Name, Staff: se.acct.DisplayName, Time: now.UnixMilli()}
	return r.Sign(se.key)
}
