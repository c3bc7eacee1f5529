package county

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/auth"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
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

type admin struct {
	Name         string    `json:"name"`
	PasswordHash string    `json:"password_hash"`
	Recovery     bool      `json:"recovery"` // the credential made at init
	Created      time.Time `json:"created"`
}

// ErrBadCredential means the admin name or password is wrong.
var ErrBadCredential = errors.New("wrong admin name or password")

func addAdmin(st *store.Store, name, password string, kdf auth.Params, recovery bool) error {
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

func checkAdmin(st *store.Store, name, password string) error {
	var a admin
	err := st.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bAdmins).Get([]byte(name))
		if v == nil {
			return ErrBadCredential
		}
		return json.Unmarshal(v, &a)
	})
	if err != nil {
		return err
	}
	if err := auth.VerifyPassword(a.PasswordHash, password); err != nil {
		return ErrBadCredential
	}
	return nil
}

// incidentID is the ID of the incident stored under key k.
func incidentID(k []byte) string { return hex.EncodeToString(k) }

// incidentKey parses an incident ID back into its key.
func incidentKey(id string) ([]byte, bool) {
	k, err := hex.DecodeString(id)
	return k, err == nil && len(k) == 16
}

func putIncident(tx *bolt.Tx, in countyapi.Incident) error {
	b := tx.Bucket(bIncidents)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	k := binary.BigEndian.AppendUint64(nil, uint64(in.Time.UnixMilli()))
	k = binary.BigEndian.AppendUint64(k, seq)
	in.ID = ""
	v, _ := json.Marshal(in)
	return b.Put(k, v)
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
