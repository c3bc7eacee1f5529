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
	bUpstream, bRevPos, bAudit, bAuditHead, bLastSeen, bSnapshots, bIntakeCases, bIntakePartial, bIntakeFiles,
	bMeta, bServerDevices}

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

type admin struct {
	Name         string    `json:"name"`
	PasswordHash string    `json:"password_hash"`
	Recovery     bool      `json:"recovery"` // the credential made at init
	Created      time.Time `json:"created"`
}

// ErrBadCredential means the admin name or password is wrong.
var ErrBadCredential = errors.New("wrong admin name or password")

// maxAdminName bounds an admin's name; a longer one given with a request
// is no admin's, and is checked as an unknown name is.
const maxAdminName = 256

func addAdmin(st *store.Store, name, password string, kdf auth.Params, recovery bool) error {
	if name == "" || len(name) > maxAdminName {
		return fmt.Errorf("an admin name is 1 to %d bytes", maxAdminName)
	}
	hash, err := auth.HashPassword(password, kdf)
	if err != nil {
		return err
	}
	if err := ensureBuckets(st); err != nil {
		return err
	}
	return st.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bAdmins)
		if b.Get([]byte(name)) != nil {
			return fmt.Errorf("admin %q exists", name)
		}
		v, _ := json.Marshal(admin{Name: name, PasswordHash: hash, Recovery: recovery, Created: st.Now().UTC()})
		return b.Put([]byte(name), v)
	})
}

// checkAdmin checks an admin credential sent from remote (host:port)
// within the bounds of passwords.go: nil, ErrBadCredential, a busy
// refusal, or the error reading the admin.
func (s *Server) checkAdmin(ctx context.Context, name, password, remote string) error {
	var a admin
	var found bool
	if len(name) <= maxAdminName {
		err := s.st.View(func(tx *bolt.Tx) error {
			var err error
			found, err = getJSON(tx, bAdmins, []byte(name), &a)
			return err
		})
		if err != nil {
			return err
		}
	}
	return s.passwords.check(ctx, name, a.PasswordHash, password, found && a.Recovery, addrString(addrKey(remote)))
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
