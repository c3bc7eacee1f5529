package store

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/sync/protocol"
)

// Re-enrolment settles a fork. A device restored from an old backup, or
// whose file was copied to a second machine, has change sets with sequence
// numbers the county already accepted from the other branch; the county
// refuses them (protocol.ErrFork) and the engine stops. Dropping either
// branch would lose a township's work, and reusing the old key cannot work:
// its sequence and operation numbers are taken. So the device asks for a
// new key (PrepareReenrolment), a county admin approves, and Rekey switches
// the replica to the new key in one transaction:
//
//   - the old device's change sets from the fork point on (the county says
//     where: the first sequence number whose hash differs from its own) are
//     moved out of the log into the forked bucket, kept for the record;
//   - the replicated state is derived again from the log, now without them;
//   - their operations, and the ones never sealed, are issued again as new
//     operations of the new device, with their authors, roles and clock
//     stamps, and references between them renumbered; they go out as
//     ordinary change sets of the new device;
//   - the feed cursor is reset, so the county's branch of the old device
//     arrives and is applied like any other device's work.
//
// Where both branches wrote the same field, the county's conflict queue
// shows both values to the admin: nothing is settled silently.

// ErrReenrolment means a re-enrolment step does not fit this replica's
// state: nothing to re-key, a certificate for another key or office, a fork
// point the county cannot claim, or more unconfirmed work than a request
// can describe.
var ErrReenrolment = errors.New("re-enrolment does not fit this device")

// Rekey records one re-key of this replica, shown to its users and kept for
// support.
type Rekey struct {
	Time      time.Time         `json:"time"`
	Old       protocol.DeviceID `json:"old"`
	New       protocol.DeviceID `json:"new"`
	CarryFrom uint64            `json:"carry_from"` // first change set of Old set aside
	Forked    int               `json:"forked"`     // change sets set aside
	Carried   int               `json:"carried"`    // operations issued again under New
	By        string            `json:"by"`         // the account that completed it
}

// PrepareReenrolment returns a signed request (protocol.ReenrolRequest) to
// replace this device's key, and the ID the new key will have. The new key
// is made on the first call and kept, sealed under the current key, so
// asking again asks for the same key. The request lists the hashes of this
// device's change sets after the county's last receipt, so the county can
// find where the branches part.
func (se *Session) PrepareReenrolment(now time.Time) ([]byte, protocol.DeviceID, error) {
	var out []byte
	var id protocol.DeviceID
	err := se.s.db.Update(func(tx *bolt.Tx) error {
		if selfTx(tx) != se.rec.ID {
			return fmt.Errorf("%w: this session's key was replaced; sign in again", ErrReenrolment)
		}
		next, err := se.successorTx(tx, true)
		if err != nil {
			return err
		}
		id = protocol.DeviceIDFromKey(next.Public().(ed25519.PublicKey))
		from := lastReceiptTx(tx) + 1
		head, err := txView{tx}.Head(se.rec.ID)
		if err != nil {
			return err
		}
		var held []protocol.Hash
		if head.Seq >= from {
			if head.Seq-from+1 > protocol.MaxReenrolHeld {
				return fmt.Errorf("%w: %d change sets were never confirmed by the county (limit %d); the county admin must help by hand",
					ErrReenrolment, head.Seq-from+1, protocol.MaxReenrolHeld)
			}
			log := tx.Bucket(bLog)
			for seq := from; seq <= head.Seq; seq++ {
				cs, err := protocol.Decode(log.Get(logKey(se.rec.ID, seq)))
				if err != nil {
					return fmt.Errorf("%w: change set %d: %v", ErrInvariant, seq, err)
				}
				held = append(held, cs.Hash())
			}
		}
		in := protocol.EnrolRequest{Key: next.Public().(ed25519.PublicKey), Office: se.rec.Office,
			DeviceName: se.rec.Name, Staff: se.acct.DisplayName, Time: now.UnixMilli()}
		r := protocol.ReenrolRequest{Enrol: in.Sign(next), Old: se.rec.Key, From: from, Held: held, Time: now.UnixMilli()}
		out = r.Sign(se.key)
		return nil
	})
	return out, id, err
}

// Successor returns the ID of the key this device asked to be re-enrolled
// with, if it asked.
func (se *Session) Successor() (protocol.DeviceID, bool, error) {
	var id protocol.DeviceID
	var ok bool
	err := se.s.db.View(func(tx *bolt.Tx) error {
		next, err := se.successorTx(tx, false)
		if next != nil {
			id, ok = protocol.DeviceIDFromKey(next.Public().(ed25519.PublicKey)), true
		}
		return err
	})
	return id, ok, err
}

// successorTx opens the pending successor key, making one if create is set
// and there is none.
func (se *Session) successorTx(tx *bolt.Tx, create bool) (ed25519.PrivateKey, error) {
	m := tx.Bucket(bMeta)
	if sealed := m.Get(kSuccessor); sealed != nil {
		return auth.OpenSuccessor(sealed, se.key)
	}
	if !create {
		return nil, nil
	}
	_, next, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	sealed, err := auth.SealSuccessor(next, se.key)
	if err != nil {
		return nil, err
	}
	return next, m.Put(kSuccessor, sealed)
}

func lastReceiptTx(tx *bolt.Tx) uint64 {
	k, _ := tx.Bucket(bReceipts).Cursor().Last()
	if k == nil {
		return 0
	}
	return binary.BigEndian.Uint64(k)
}

// carriedOp is an operation of the old key on its way to the new one.
type carriedOp struct {
	author string
	role   domain.Role
	op     protocol.Op
}

// Rekey completes a re-enrolment the county approved: cert is the new key's
// certificate (verified by the caller with the county key) and carryFrom
// the first sequence number of this device's chain the county does not
// hold as this replica has it. It returns the session under the new key;
// the old session must no longer be used. See the top of this file.
func (se *Session) Rekey(cert *protocol.Certificate, carryFrom uint64) (*Session, Rekey, error) {
	s := se.s
	var res Rekey
	var next ed25519.PrivateKey
	var rec DeviceRecord
	err := s.db.Update(func(tx *bolt.Tx) error {
		old := se.rec.ID
		if selfTx(tx) != old {
			return fmt.Errorf("%w: this device was re-keyed already; sign in again", ErrReenrolment)
		}
		var err error
		if next, err = se.successorTx(tx, false); err != nil {
			return err
		}
		if next == nil {
			return fmt.Errorf("%w: no re-enrolment was asked for", ErrReenrolment)
		}
		pub := next.Public().(ed25519.PublicKey)
		newID := protocol.DeviceIDFromKey(pub)
		if cert.Device != newID || !bytes.Equal(cert.Key, pub) || cert.Office != se.rec.Office || cert.Admin != se.rec.Admin {
			return fmt.Errorf("%w: the certificate is for %s, office %s, admin %v", ErrReenrolment, cert.Device, cert.Office, cert.Admin)
		}
		head, err := txView{tx}.Head(old)
		if err != nil {
			return err
		}
		if receipted := lastReceiptTx(tx); carryFrom <= receipted || carryFrom > head.Seq+1 {
			return fmt.Errorf("%w: the county puts the fork at %d, but it receipted up to %d and this device holds up to %d",
				ErrReenrolment, carryFrom, receipted, head.Seq)
		}
		carried, forked, err := setAside(tx, old, carryFrom, head.Seq)
		if err != nil {
			return err
		}
		if err := rewindChain(tx, old, carryFrom); err != nil {
			return err
		}
		if err := moveReceipts(tx, old); err != nil {
			return err
		}
		if err := rebuildDerived(tx); err != nil {
			return err
		}
		// The new identity, then the carried work under it.
		rec = DeviceRecord{ID: newID, Key: pub, Office: cert.Office, Name: cert.Name, Admin: cert.Admin}
		m := tx.Bucket(bMeta)
		if err := m.Put(kDevice, newID[:]); err != nil {
			return err
		}
		if err := tx.Bucket(bDevices).Put(newID[:], marshal(rec)); err != nil {
			return err
		}
		if err := reissue(tx, old, newID, rec.Admin, carried); err != nil {
			return err
		}
		if err := putU64(m, kNextOp, uint64(len(carried))+1); err != nil {
			return err
		}
		if err := putU64(m, kCursor, 0); err != nil {
			return err
		}
		// Accounts still hold the old key; sign-in follows this link to
		// the new one and re-seals it under the account's passphrase.
		if err := m.Put(append(append([]byte(nil), pPrevKey...), old[:]...), m.Get(kSuccessor)); err != nil {
			return err
		}
		if err := m.Delete(kSuccessor); err != nil {
			return err
		}
		res = Rekey{Time: s.opts.Now().UTC(), Old: old, New: newID, CarryFrom: carryFrom, Forked: forked,
			Carried: len(carried), By: se.acct.Name}
		var all []Rekey
		if v := m.Get(kRekeys); v != nil {
			if err := unmarshal(v, &all); err != nil {
				return err
			}
		}
		return m.Put(kRekeys, marshal(append(all, res)))
	})
	if err != nil {
		return nil, Rekey{}, err
	}
	s.dev.Store(&res.New)
	s.log.Warn("device re-keyed after a fork", "old", res.Old, "new", res.New, "carry_from", res.CarryFrom,
		"forked_change_sets", res.Forked, "carried_ops", res.Carried)
	return &Session{s: s, acct: se.acct, key: next, rec: rec}, res, nil
}

// Rekeys lists the re-keys of this replica, oldest first.
func (s *Store) Rekeys() ([]Rekey, error) {
	var out []Rekey
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bMeta).Get(kRekeys); v != nil {
			return unmarshal(v, &out)
		}
		return nil
	})
	return out, err
}

// setAside moves change sets from..to of dev out of the log into the forked
// bucket and empties the outbox and the pending queue, returning every
// operation they held, in order.
func setAside(tx *bolt.Tx, dev protocol.DeviceID, from, to uint64) ([]carriedOp, int, error) {
	var out []carriedOp
	log, forked := tx.Bucket(bLog), tx.Bucket(bForked)
	n := 0
	for seq := from; seq <= to; seq++ {
		k := logKey(dev, seq)
		raw := log.Get(k)
		cs, err := protocol.Decode(raw)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: change set %d: %v", ErrInvariant, seq, err)
		}
		for _, op := range cs.Ops {
			out = append(out, carriedOp{author: cs.Author, role: cs.AuthorRole, op: op})
		}
		if err := forked.Put(k, raw); err != nil {
			return nil, 0, err
		}
		if err := log.Delete(k); err != nil {
			return nil, 0, err
		}
		n++
	}
	err := forEachPending(tx, func(p pendingOp, op protocol.Op) error {
		out = append(out, carriedOp{author: p.Author, role: p.Role, op: op})
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	for _, b := range [][]byte{bPending, bOutbox} {
		if err := recreate(tx, b); err != nil {
			return nil, 0, err
		}
	}
	return out, n, nil
}

// rewindChain makes dev's chain head the change set before from.
func rewindChain(tx *bolt.Tx, dev protocol.DeviceID, from uint64) error {
	if from == 1 {
		return tx.Bucket(bChains).Delete(dev[:])
	}
	cs, err := protocol.Decode(tx.Bucket(bLog).Get(logKey(dev, from-1)))
	if err != nil {
		return fmt.Errorf("%w: change set %d: %v", ErrInvariant, from-1, err)
	}
	return tx.Bucket(bChains).Put(dev[:], encodeHead(chainHead{Seq: cs.Seq, Hash: cs.Hash(), LastOp: cs.LastOp()}))
}

// moveReceipts keeps the county's receipts for the old key under its ID:
// the receipts bucket is numbered by the current key's sequence numbers.
func moveReceipts(tx *bolt.Tx, old protocol.DeviceID) error {
	prev := tx.Bucket(bPrevReceipts)
	err := tx.Bucket(bReceipts).ForEach(func(k, v []byte) error {
		return prev.Put(append(append([]byte(nil), old[:]...), k...), v)
	})
	if err != nil {
		return err
	}
	return recreate(tx, bReceipts)
}

// derived are the replicated buckets that follow from the log.
var derived = [][]byte{bCommitments, bVersions, bConflicts, bAmendments, bEntries, bEvidence, bDishonesty, bDishonestyLog,
	bCases, bCaseLog, bAccountDir, bAccountLog}

// rebuildDerived derives the replicated state again from every change set
// in the log. Apply is independent of arrival order, so the log's key order
// gives the same state as the order the change sets came in.
func rebuildDerived(tx *bolt.Tx) error {
	for _, b := range derived {
		if err := recreate(tx, b); err != nil {
			return err
		}
	}
	views := newViewCache(tx)
	err := tx.Bucket(bLog).ForEach(func(_, raw []byte) error {
		cs, err := protocol.Decode(raw)
		if err != nil {
			return fmt.Errorf("%w: log: %v", ErrInvariant, err)
		}
		for i := range cs.Ops {
			if err := applyOp(tx, views, cs.Device, cs.Author, cs.AuthorRole, &cs.Ops[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return views.flush(tx)
}

// reissue applies the carried operations as operations 1… of the new
// device and queues them for sealing. A reference to a carried operation
// (the base of a later edit) is renumbered to its new ID; references to
// anything else stay.
func reissue(tx *bolt.Tx, old, dev protocol.DeviceID, admin bool, carried []carriedOp) error {
	renum := make(map[uint64]uint64, len(carried))
	for i, c := range carried {
		renum[c.op.Num] = uint64(i) + 1
	}
	views := newViewCache(tx)
	pending := tx.Bucket(bPending)
	for i := range carried {
		c := &carried[i]
		op := c.op
		op.Num = uint64(i) + 1
		for w := range op.Writes {
			base := append([]protocol.OpID(nil), op.Writes[w].Base...)
			for j, b := range base {
				if n, ok := renum[b.Num]; ok && b.Device == old {
					base[j] = protocol.OpID{Device: dev, Num: n}
				}
			}
			op.Writes[w].Base = protocol.SortBase(base)
		}
		if st := op.CaseStep; st != nil && st.Ref.Device == old {
			// An approval of a carried reply approves it under its new ID.
			if n, ok := renum[st.Ref.Num]; ok {
				cp := *st
				cp.Ref = protocol.OpID{Device: dev, Num: n}
				op.CaseStep = &cp
			}
		}
		role := c.role
		if err := op.Validate(role, admin); err != nil {
			return fmt.Errorf("%w: carried operation %d: %v", ErrInvariant, c.op.Num, err)
		}
		if err := applyOp(tx, views, dev, c.author, role, &op); err != nil {
			return err
		}
		p := pendingOp{Author: c.author, Role: role, Op: protocol.AppendOp(nil, &op)}
		if err := pending.Put(seqKey(op.Num), marshal(p)); err != nil {
			return err
		}
	}
	return views.flush(tx)
}

func recreate(tx *bolt.Tx, name []byte) error {
	if err := tx.DeleteBucket(name); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
		return err
	}
	_, err := tx.CreateBucket(name)
	return err
}

// followRekeys opens the device's current key from an older one, link by
// link (each re-key seals the new key under the one it replaced), and
// re-seals it under the account's passphrase so the next sign-in is direct.
func (s *Store) followRekeys(name, passphrase string, key ed25519.PrivateKey, self protocol.DeviceID) (ed25519.PrivateKey, error) {
	for range 64 {
		id := protocol.DeviceIDFromKey(key.Public().(ed25519.PublicKey))
		if id == self {
			break
		}
		var sealed []byte
		err := s.db.View(func(tx *bolt.Tx) error {
			sealed = bytes.Clone(tx.Bucket(bMeta).Get(append(append([]byte(nil), pPrevKey...), id[:]...)))
			return nil
		})
		if err != nil {
			return nil, err
		}
		if sealed == nil {
			return nil, fmt.Errorf("%w: account %s holds another device's key", ErrInvariant, name)
		}
		if key, err = auth.OpenSuccessor(sealed, key); err != nil {
			return nil, fmt.Errorf("%w: opening the re-keyed device key: %v", ErrInvariant, err)
		}
	}
	if protocol.DeviceIDFromKey(key.Public().(ed25519.PublicKey)) != self {
		return nil, fmt.Errorf("%w: account %s: no way from its key to the device's", ErrInvariant, name)
	}
	sealed, err := auth.SealKey(key, passphrase, s.opts.KDF)
	if err != nil {
		// A passphrase that no longer meets the policy still signs in;
		// the account keeps following the chain until it is changed.
		s.log.Warn("re-keyed device key not re-sealed", "account", name, "err", err)
		return key, nil
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bAccounts)
		var a account
		if err := unmarshal(b.Get([]byte(name)), &a); err != nil {
			return err
		}
		a.SealedKey = sealed
		return b.Put([]byte(name), marshal(a))
	})
	return key, err
}

// ChainsTx returns the device chains (heads, and hashes by sequence number)
// as tx sees them, for a county server that compares a re-enrolment
// request with its own chain inside its own transaction.
func ChainsTx(tx *bolt.Tx) protocol.Chains { return txView{tx} }
