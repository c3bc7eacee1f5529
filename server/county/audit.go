package county

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	bolt "go.etcd.io/bbolt"

	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// The audit trail: every admin action taken on the county server
// (approving, rejecting and revoking devices, recovery revocations,
// publishing a calendar update, authorising a municipal node, adding,
// disabling and enabling admins and setting their passwords) is
// appended to x-audit in the same transaction as the action, with who,
// what, when and why. Each entry names the hash of the one before it, and
// x-audithead keeps the hash and number of the last, so editing, removing
// or reordering an entry breaks the chain and VerifyAudit says where.
//
// Admin actions that are change sets (conflict resolutions, breaches,
// dishonesty records) are not repeated here: they are signed by the admin's
// device and kept, with author and reason, in the replicated history.

var (
	bAudit     = []byte("x-audit")     // seq -> countyapi.AuditEntry
	bAuditHead = []byte("x-audithead") // "head" -> countyapi.AuditEntry of the last
	kAuditHead = []byte("head")
)

// The audited actions.
const (
	AuditApprove       = "approve"
	AuditReject        = "reject"
	AuditRevoke        = "revoke"
	AuditRecoverRevoke = "recover_revoke"
	AuditCalendar      = "publish_calendar"   // a holiday calendar update sent to every device
	AuditUpstream      = "authorise_upstream" // a municipal node allowed to pull the feed
)

// ErrAuditBroken means the audit trail was altered.
var ErrAuditBroken = errors.New("audit trail altered")

// auditDigest is the hash an entry is chained by: of the entry with Hash
// empty.
func auditDigest(e countyapi.AuditEntry) string {
	e.Hash = ""
	b, _ := json.Marshal(e)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// putAudit appends an entry inside the action's own transaction.
func putAudit(tx *bolt.Tx, e countyapi.AuditEntry) error {
	b, err := tx.CreateBucketIfNotExists(bAudit)
	if err != nil {
		return err
	}
	hb, err := tx.CreateBucketIfNotExists(bAuditHead)
	if err != nil {
		return err
	}
	var head countyapi.AuditEntry
	if v := hb.Get(kAuditHead); v != nil {
		if err := json.Unmarshal(v, &head); err != nil {
			return fmt.Errorf("%w: head: %v", ErrAuditBroken, err)
		}
	}
	e.Seq, e.Prev, e.Time = head.Seq+1, head.Hash, e.Time.UTC()
	e.Hash = auditDigest(e)
	raw, _ := json.Marshal(e)
	if err := b.Put(binary.BigEndian.AppendUint64(nil, e.Seq), raw); err != nil {
		return err
	}
	return hb.Put(kAuditHead, raw)
}

// Audit returns the audit trail, oldest first.
func (s *Server) Audit() ([]countyapi.AuditEntry, error) {
	out := []countyapi.AuditEntry{}
	err := s.st.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bAudit)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var e countyapi.AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("%w: %v", ErrAuditBroken, err)
			}
			out = append(out, e)
			return nil
		})
	})
	return out, err
}

// VerifyAudit checks the whole chain: every entry's hash, its link to the
// one before, gapless numbers, and the recorded head. The error wraps
// ErrAuditBroken and names the first bad entry.
func (s *Server) VerifyAudit() error {
	return s.st.View(verifyAuditTx)
}

func verifyAuditTx(tx *bolt.Tx) error {
	var last countyapi.AuditEntry
	if b := tx.Bucket(bAudit); b != nil {
		err := b.ForEach(func(k, v []byte) error {
			var e countyapi.AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("%w: entry %x does not decode: %v", ErrAuditBroken, k, err)
			}
			switch {
			case len(k) != 8 || binary.BigEndian.Uint64(k) != e.Seq || e.Seq != last.Seq+1:
				return fmt.Errorf("%w: entry %d out of sequence after %d", ErrAuditBroken, e.Seq, last.Seq)
			case e.Prev != last.Hash:
				return fmt.Errorf("%w: entry %d does not follow entry %d", ErrAuditBroken, e.Seq, last.Seq)
			case auditDigest(e) != e.Hash:
				return fmt.Errorf("%w: entry %d was edited", ErrAuditBroken, e.Seq)
			}
			last = e
			return nil
		})
		if err != nil {
			return err
		}
	}
	var head countyapi.AuditEntry
	if hb := tx.Bucket(bAuditHead); hb != nil {
		if v := hb.Get(kAuditHead); v != nil {
			if err := json.Unmarshal(v, &head); err != nil {
				return fmt.Errorf("%w: head: %v", ErrAuditBroken, err)
			}
		}
	}
	if head.Seq != last.Seq || head.Hash != last.Hash {
		return fmt.Errorf("%w: the trail ends at entry %d, its head says %d", ErrAuditBroken, last.Seq, head.Seq)
	}
	return nil
}

func (s *Server) serveAudit(w http.ResponseWriter, r *http.Request, _ string) {
	entries, err := s.Audit()
	if err != nil {
		s.writeErr(w, r, http.StatusInternalServerError, err)
		return
	}
	rep := countyapi.AuditReport{Entries: entries, Verified: true}
	if err := s.VerifyAudit(); err != nil {
		rep.Verified, rep.Problem = false, err.Error()
	}
	countyapi.WriteJSON(w, http.StatusOK, rep)
}

// recoveryPrefix marks the audit entries of revocations made with the
// recovery credential while the server was stopped.
const recoveryPrefix = "recovery:"

// ErrNotRecovery means the credential given is not the recovery credential.
var ErrNotRecovery = errors.New("not the recovery credential")

// RecoverRevoke revokes a device from the data directory of a stopped
// server, authenticated by the recovery credential made at Init (not any
// admin credential: the one on a lost laptop may be compromised). It is
// for a lost or stolen county-admin laptop. The revocation is signed by the
// county like any other, recorded in the audit trail as recover_revoke, and
// takes effect when the server starts again. An empty name means the
// recovery credential whatever its name. It fails if the server is running
// (the file is locked).
func RecoverRevoke(cfg Config, dev protocol.DeviceID, name, password, reason string) error {
	s, err := New(cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	if name, err = s.recoveryAdmin(name, password, "recovery revocation"); err != nil {
		return err
	}
	return s.Revoke(dev, reason, recoveryPrefix+name)
}
