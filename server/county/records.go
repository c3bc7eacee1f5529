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
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// The server's own buckets, beside the replica in the same file (the store
// leaves names starting with "x-" to its callers), so an approval and the
// device record it creates commit together.
var (
	bAdmins      = []byte("x-admins")      // name -> admin
	bEnrolments  = []byte("x-enrolments")  // device -> Enrolment
	bCerts       = []byte("x-certs")       // device -> signed Certificate
	bRevocations = []byte("x-revocations") // device -> signed Revocation
	bIncidents   = []byte("x-incidents")   // time|counter -> Incident
	bPartial     = []byte("x-partial")     // hash|offset -> chunk of an evidence upload
	bPartialSize = []byte("x-partialsize") // hash -> announced size
)

var serverBuckets = [][]byte{bAdmins, bEnrolments, bCerts, bRevocations, bIncidents, bPartial, bPartialSize,
	bUpstream, bRevPos, bAudit, bAuditHead, bLastSeen, bSnapshots}

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

// EnrolmentStatus is where a device's enrolment stands.
type EnrolmentStatus string

// The enrolment statuses.
const (
	EnrolPending  EnrolmentStatus = "pending"
	EnrolApproved EnrolmentStatus = "approved"
	EnrolRejected EnrolmentStatus = "rejected"
	EnrolRevoked  EnrolmentStatus = "revoked"
)

// Enrolment is a device's request and what the county decided.
type Enrolment struct {
	Device     protocol.DeviceID `json:"device"`
	Office     office.Code       `json:"office"` // requested, or as approved
	DeviceName string            `json:"device_name"`
	Staff      string            `json:"staff"`
	Status     EnrolmentStatus   `json:"status"`
	Reason     string            `json:"reason,omitempty"` // of a rejection or revocation
	Admin      bool              `json:"admin"`            // approved as a county-admin device
	Requested  time.Time         `json:"requested"`
	Decided    time.Time         `json:"decided,omitzero"`
	DecidedBy  string            `json:"decided_by,omitempty"`
	Request    []byte            `json:"request"` // the signed EnrolRequest
	// Re-enrolment after a fork (reenrol.go): the device this one
	// replaces, where the two branches part (CarryFrom: the first change
	// set of the old device the county does not hold as the device has
	// it), how many change sets the device holds from there on (Carried:
	// they come back as new change sets of the new key), and the county's
	// head for the old device when asked.
	Replaces   protocol.DeviceID `json:"replaces,omitzero"`
	CarryFrom  uint64            `json:"carry_from,omitempty"`
	Carried    int               `json:"carried,omitempty"`
	CountyHead uint64            `json:"county_head,omitempty"`
}

// Incident is refused input kept for the county admin: forks, scope
// violations, forged signatures and every other refusal but a harmless
// replay.
type Incident struct {
	// ID names the incident for POST /admin/incidents/{id}/ack: the hex
	// of its key in x-incidents (time|counter). Derived when read, never
	// stored.
	ID      string            `json:"id,omitempty"`
	Time    time.Time         `json:"time"`
	Device  protocol.DeviceID `json:"device"`
	Seq     uint64            `json:"seq,omitempty"`
	Code    protocol.Code     `json:"code"`
	Message string            `json:"message"`
	Remote  string            `json:"remote,omitempty"`
	// Acknowledged is set when a county admin has acknowledged the
	// incident: who (the admin credential), when, and the note given.
	Acknowledged bool      `json:"acknowledged,omitempty"`
	AckedBy      string    `json:"acked_by,omitempty"`
	AckedAt      time.Time `json:"acked_at,omitzero"`
	AckNote      string    `json:"ack_note,omitempty"`
}

// incidentID is the ID of the incident stored under key k.
func incidentID(k []byte) string { return hex.EncodeToString(k) }

// incidentKey parses an incident ID back into its key.
func incidentKey(id string) ([]byte, bool) {
	k, err := hex.DecodeString(id)
	return k, err == nil && len(k) == 16
}

func putIncident(tx *bolt.Tx, in Incident) error {
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
