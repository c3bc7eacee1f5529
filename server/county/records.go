package county

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/auth"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// The server's own buckets, beside the replica in the same file (the store
// leaves names starting with "x-" to its callers), so an approval and the
// device record it creates commit together.
var (
	bAdmins      = []byte("x-admins")      // name -> admin
	bEnrolments  = []byte("x-enrolments")  // device -> countyapi.Enrolment
	bCerts       = []byte("x-certs")       // device -> signed Certificate
	bRevocations = []byte("x-revocations") // device -> signed Revocation
	bIncidents   = []byte("x-incidents")   // time|counter -> countyapi.Incident
	bPartial     = []byte("x-partial")     // hash|offset -> chunk of an evidence upload
	bPartialSize = []byte("x-partialsize") // hash -> announced size
)

var serverBuckets = [][]byte{bAdmins, bEnrolments, bCerts, bRevocations, bIncidents, bPartial, bPartialSize,
	bUpstream, bRevPos, bAudit, bAuditHead, bLastSeen, bSnapshots, bIntakeCases, bIntakePartial, bIntakeFiles}

func ensureBuckets(st *store.Store) error {
	return st.Update(func(tx *bolt.Tx) error {
		for _, b := range serverBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
}

// admin is a county admin account as x-admins keeps it. Accounts are
// disabled, never deleted: the audit trail names them.
type admin struct {
	Name         string    `json:"name"`
	PasswordHash string    `json:"password_hash"`
	Recovery     bool      `json:"recovery"` // the credential made at init
	Created      time.Time `json:"created"`
	CreatedBy    string    `json:"created_by,omitempty"` // empty for the one made at init
	Disabled     bool      `json:"disabled,omitempty"`
	// The last time the password was set after the account was made, and
	// who set it; the last time it was disabled or enabled, who did and,
	// for a disabling, why.
	PasswordSet   time.Time `json:"password_set,omitzero"`
	PasswordSetBy string    `json:"password_set_by,omitempty"`
	Changed       time.Time `json:"changed,omitzero"`
	ChangedBy     string    `json:"changed_by,omitempty"`
	Reason        string    `json:"reason,omitempty"`
}

// info is the account as the admin API shows it, with live sessions.
func (a admin) info(sessions int) countyapi.AdminInfo {
	return countyapi.AdminInfo{Name: a.Name, Recovery: a.Recovery, Disabled: a.Disabled, Created: a.Created, CreatedBy: a.CreatedBy,
		PasswordSet: a.PasswordSet, PasswordSetBy: a.PasswordSetBy, Changed: a.Changed, ChangedBy: a.ChangedBy, Reason: a.Reason,
		Sessions: sessions}
}

// ErrBadCredential means the admin name or password is wrong.
var ErrBadCredential = errors.New("wrong admin name or password")

// ErrAdminDisabled means the admin's credential is right but the account
// is disabled; over the API it is refused as protocol.ErrNotAuthorized.
var ErrAdminDisabled = errors.New("admin account disabled")

// maxAdminName bounds an admin's name given with a request; a longer one
// is no admin's, and is checked as an unknown name is. New names are
// shorter still (countyapi.CheckAdminName); this bound is that of the
// names older versions accepted at init.
const maxAdminName = 256

// addAdmin stores a new admin account with password hashed by kdf; by
// is the admin who added it ("" at init).
func addAdmin(st *store.Store, name, password string, kdf auth.Params, recovery bool) error {
	hash, err := auth.HashPassword(password, kdf)
	if err != nil {
		return err
	}
	if err := ensureBuckets(st); err != nil {
		return err
	}
	return st.Update(func(tx *bolt.Tx) error {
		return putNewAdminTx(tx, admin{Name: name, PasswordHash: hash, Recovery: recovery, Created: st.Now().UTC()})
	})
}

// putNewAdminTx stores a, refusing a name in use.
func putNewAdminTx(tx *bolt.Tx, a admin) error {
	if a.Name == "" || len(a.Name) > maxAdminName {
		return fmt.Errorf("%w: %w", protocol.ErrInvalidOperation, countyapi.ErrBadAdminName)
	}
	if tx.Bucket(bAdmins).Get([]byte(a.Name)) != nil {
		return fmt.Errorf("%w: admin %q exists", protocol.ErrInvalidOperation, a.Name)
	}
	return putJSON(tx, bAdmins, []byte(a.Name), a)
}

// readAdmin reads the account of name; false if there is none (or the
// name is longer than any admin's).
func (s *Server) readAdmin(name string) (admin, bool, error) {
	var a admin
	var found bool
	if len(name) > maxAdminName {
		return a, false, nil
	}
	err := s.st.View(func(tx *bolt.Tx) error {
		var err error
		found, err = getJSON(tx, bAdmins, []byte(name), &a)
		return err
	})
	return a, found, err
}

// checkAdmin checks an admin credential sent from remote (host:port)
// within the bounds of passwords.go: nil, ErrBadCredential,
// ErrAdminDisabled (the password is right), a busy refusal, or the error
// reading the admin.
func (s *Server) checkAdmin(ctx context.Context, name, password, remote string) error {
	a, found, err := s.readAdmin(name)
	if err != nil {
		return err
	}
	return s.passwords.check(ctx, name, a.PasswordHash, password, found && a.Recovery, found && a.Disabled, addrString(addrKey(remote)))
}

func getJSON(tx *bolt.Tx, bucket, key []byte, v any) (bool, error) {
	raw := tx.Bucket(bucket).Get(key)
	if raw == nil {
		return false, nil
	}
	return true, json.Unmarshal(raw, v)
}

func putJSON(tx *bolt.Tx, bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).Put(key, raw)
}
