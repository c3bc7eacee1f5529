package store

import (
	"crypto/ed25519"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"jiannuo/sync/protocol"
)

// DefaultMaxOpsPerChangeSet is how many operations Seal puts in one change
// set when asked for 0: big enough to amortise a signature and an fsync,
// small enough that a cut link loses little.
const DefaultMaxOpsPerChangeSet = 100

// Seal turns the operations waiting in the outbox into signed change sets,
// in order, at most maxOps each (0 means DefaultMaxOpsPerChangeSet), a new
// change set whenever the author or the office written for changes (a
// county-admin device acts for several townships; each change set goes to
// one). They join the log and wait in the
// outbox until the county acknowledges them. It returns how many change sets
// it made. Sealing is all or nothing.
func (se *Session) Seal(maxOps int) (int, error) {
	if maxOps <= 0 {
		maxOps = DefaultMaxOpsPerChangeSet
	}
	maxOps = min(maxOps, protocol.MaxOpsPerChangeSet)
	n := 0
	err := se.s.db.Update(func(tx *bolt.Tx) error {
		n = 0
		head, err := txView{tx}.Head(se.rec.ID)
		if err != nil {
			return err
		}
		pending := tx.Bucket(bPending)
		var sets []*protocol.ChangeSet
		err = forEachPending(tx, func(p pendingOp, op protocol.Op) error {
			last := len(sets) - 1
			if last < 0 || sets[last].Author != p.Author || sets[last].AuthorRole != p.Role ||
				sets[last].Ops[0].Office != op.Office || len(sets[last].Ops) >= maxOps {
				sets = append(sets, &protocol.ChangeSet{Device: se.rec.ID, Office: se.rec.Office, Author: p.Author, AuthorRole: p.Role})
				last++
			}
			sets[last].Ops = append(sets[last].Ops, op)
			return nil
		})
		if err != nil {
			return err
		}
		for _, cs := range sets {
			cs.Seq, cs.Prev = head.Seq+1, head.Hash
			if err := sealChecked(tx, cs, se.key); err != nil {
				return err
			}
			if err := recordChangeSet(tx, cs); err != nil {
				return err
			}
			if err := tx.Bucket(bOutbox).Put(seqKey(cs.Seq), nil); err != nil {
				return err
			}
			for _, op := range cs.Ops {
				if err := pending.Delete(seqKey(op.Num)); err != nil {
					return err
				}
			}
			head = chainHead{Seq: cs.Seq, Hash: cs.Hash(), LastOp: cs.LastOp()}
		}
		n = len(sets)
		return nil
	})
	return n, err
}

// forEachPending calls fn with each operation acted but not yet sealed, in
// operation-number order.
func forEachPending(tx *bolt.Tx, fn func(p pendingOp, op protocol.Op) error) error {
	return tx.Bucket(bPending).ForEach(func(_, v []byte) error {
		var p pendingOp
		if err := unmarshal(v, &p); err != nil {
			return err
		}
		op, err := protocol.DecodeOp(p.Op)
		if err != nil {
			return fmt.Errorf("%w: pending op: %v", ErrInvariant, err)
		}
		return fn(p, op)
	})
}

// sealChecked signs the change set and verifies it exactly as a receiver
// would, so a bug never puts a change set in the outbox that the county will
// refuse forever.
func sealChecked(tx *bolt.Tx, cs *protocol.ChangeSet, key ed25519.PrivateKey) error {
	if err := cs.Seal(key); err != nil {
		return err
	}
	if _, err := protocol.Verify(cs.Bytes(), txView{tx}, txView{tx}, cs.Device); err != nil {
		return fmt.Errorf("sealed change set does not verify: %w", err)
	}
	return nil
}

// Outbox returns the change sets sealed but not yet acknowledged, oldest
// first, as they go on the wire.
func (s *Store) Outbox() ([][]byte, error) {
	var out [][]byte
	err := s.db.View(func(tx *bolt.Tx) error {
		log, self := tx.Bucket(bLog), selfTx(tx)
		return tx.Bucket(bOutbox).ForEach(func(k, _ []byte) error {
			v := log.Get(append(append([]byte(nil), self[:]...), k...))
			if v == nil {
				return fmt.Errorf("%w: outbox names missing change set", ErrInvariant)
			}
			out = append(out, append([]byte(nil), v...))
			return nil
		})
	})
	return out, err
}

// Counts summarises what waits to be synchronised.
type Counts struct {
	PendingOps       int   // acted, not yet sealed
	OutboxChangeSets int   // sealed, not yet acknowledged
	OutboxBytes      int64 // their encoded size: what is left to send
}

// Pending returns what waits to be synchronised.
func (s *Store) Pending() (Counts, error) {
	var c Counts
	err := s.db.View(func(tx *bolt.Tx) error {
		c.PendingOps = tx.Bucket(bPending).Stats().KeyN
		log, self := tx.Bucket(bLog), selfTx(tx)
		return tx.Bucket(bOutbox).ForEach(func(k, _ []byte) error {
			c.OutboxChangeSets++
			c.OutboxBytes += int64(len(log.Get(append(append([]byte(nil), self[:]...), k...))))
			return nil
		})
	})
	return c, err
}

// ChangeSets returns the raw change sets this replica holds from device dev
// with sequence numbers after seq, at most limit (0: all), in order.
func (s *Store) ChangeSets(dev protocol.DeviceID, after uint64, limit int) ([][]byte, error) {
	var out [][]byte
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bLog).Cursor()
		for k, v := c.Seek(logKey(dev, after+1)); k != nil && hasPrefix(k, dev[:]); k, v = c.Next() {
			out = append(out, append([]byte(nil), v...))
			if limit > 0 && len(out) >= limit {
				break
			}
		}
		return nil
	})
	return out, err
}

// Heads returns the last change set accepted from every device.
func (s *Store) Heads() (map[protocol.DeviceID]protocol.Head, error) {
	out := make(map[protocol.DeviceID]protocol.Head)
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bChains).ForEach(func(k, v []byte) error {
			h, err := decodeHead(v)
			if err != nil {
				return err
			}
			var id protocol.DeviceID
			copy(id[:], k)
			out[id] = h
			return nil
		})
	})
	return out, err
}
