package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain"
	"jiannuo/sync/protocol"
)

// Digest returns a hash of every replicated bucket, key by key. Two replicas
// that hold the same change sets have the same digest; local things (the
// outbox, accounts, evidence content that has not arrived yet) are left out.
func (s *Store) Digest() (protocol.Hash, error) {
	h := sha256.New()
	err := s.db.View(func(tx *bolt.Tx) error {
		for _, name := range replicated {
			h.Write(binary.AppendUvarint(nil, uint64(len(name))))
			h.Write(name)
			err := tx.Bucket(name).ForEach(func(k, v []byte) error {
				h.Write(binary.AppendUvarint(nil, uint64(len(k))))
				h.Write(k)
				h.Write(binary.AppendUvarint(nil, uint64(len(v))))
				h.Write(v)
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	var out protocol.Hash
	copy(out[:], h.Sum(nil))
	return out, err
}

// Dump returns every replicated key and value, for tests that want to show
// where two replicas differ.
func (s *Store) Dump() (map[string]string, error) {
	out := make(map[string]string)
	err := s.db.View(func(tx *bolt.Tx) error {
		for _, name := range replicated {
			err := tx.Bucket(name).ForEach(func(k, v []byte) error {
				out[fmt.Sprintf("%s/%x", name, k)] = string(v)
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// Check verifies the store's invariants and returns an error wrapping
// ErrInvariant describing the first few violations:
//
//   - every operation in the log or the outbox has all its effects in the
//     state, and every record in the state belongs to such an operation
//     (no state change without its operation, nor the reverse);
//   - each device's chain in the log is gapless and hash-linked, and its
//     head matches;
//   - operation numbers of this device continue without gaps from the log
//     into the pending queue, and the next number follows the last;
//   - every commitment view and conflict equals what its versions derive,
//     and every dishonesty record and case what its events derive.
//
// It reads the whole file; tests call it after every crash and at cleanup.
func (s *Store) Check() error {
	var problems []string
	bad := func(format string, args ...any) {
		if len(problems) < 10 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		ops := make(map[protocol.OpID]*protocol.Op)
		expect := make(map[string]protocol.OpID) // effect key -> op

		addEffects := func(dev protocol.DeviceID, op *protocol.Op) {
			id := op.ID(dev)
			ops[id] = op
			ref := Ref{Office: op.Office, ID: op.Target}
			switch op.Kind {
			case protocol.OpEvidence:
				expect[string(bEvidence)+string(opKey(append([]byte(nil), op.Meta.Hash[:]...), id))] = id
			case protocol.OpFulfil:
				expect[string(bEntries)+string(entryKey(ref, op.HLC, id))] = id
			case protocol.OpDishonesty, protocol.OpDishonestyStep:
				expect[string(bDishonestyLog)+string(entryKey(dishonestyKey(op), op.HLC, id))] = id
			case protocol.OpCase, protocol.OpCaseStep:
				expect[string(bCaseLog)+string(entryKey(caseKey(op), op.HLC, id))] = id
			default:
				for _, w := range op.Writes {
					expect[string(bVersions)+string(versionKey(ref, w.Field, id))] = id
				}
				if op.Kind == protocol.OpAmend {
					expect[string(bAmendments)+string(opKey(refKey(ref), id))] = id
				}
			}
		}

		// The log: chains gapless and linked, heads right; a partial chain
		// (protocol.PartialChains) may skip, but only forward.
		partial := func(dev protocol.DeviceID) bool {
			info, err := txView{tx}.Device(dev)
			return err == nil && txView{tx}.Partial(info)
		}
		heads := make(map[protocol.DeviceID]protocol.Head)
		err := tx.Bucket(bLog).ForEach(func(k, v []byte) error {
			cs, err := protocol.Decode(v)
			if err != nil {
				bad("log %x: %v", k, err)
				return nil
			}
			if !bytes.Equal(k, logKey(cs.Device, cs.Seq)) {
				bad("log key %x holds %s/%d", k, cs.Device.Short(), cs.Seq)
			}
			prev := heads[cs.Device]
			switch {
			case cs.Seq == prev.Seq+1:
				if cs.Prev != prev.Hash || cs.FirstOp() != prev.LastOp+1 {
					bad("chain of %s broken at %d", cs.Device.Short(), cs.Seq)
				}
			case partial(cs.Device) && cs.Seq > prev.Seq && cs.FirstOp() > prev.LastOp:
				// A county-admin device's change sets for other offices
				// never reach a township replica.
			default:
				bad("chain of %s broken at %d", cs.Device.Short(), cs.Seq)
			}
			heads[cs.Device] = protocol.Head{Seq: cs.Seq, Hash: cs.Hash(), LastOp: cs.LastOp()}
			for i := range cs.Ops {
				addEffects(cs.Device, &cs.Ops[i])
			}
			return nil
		})
		if err != nil {
			return err
		}
		stored := make(map[protocol.DeviceID]bool)
		err = tx.Bucket(bChains).ForEach(func(k, v []byte) error {
			var id protocol.DeviceID
			copy(id[:], k)
			stored[id] = true
			h, err := decodeHead(v)
			if err != nil || h != heads[id] {
				bad("chain head of %s does not match its log", id.Short())
			}
			return nil
		})
		if err != nil {
			return err
		}
		for id := range heads {
			if !stored[id] {
				bad("device %s has a log but no chain head", id.Short())
			}
		}

		// The outbox and the pending operations of this device.
		if self := selfTx(tx); !self.IsZero() {
			err = tx.Bucket(bOutbox).ForEach(func(k, _ []byte) error {
				if tx.Bucket(bLog).Get(append(append([]byte(nil), self[:]...), k...)) == nil {
					bad("outbox names change set %x that is not in the log", k)
				}
				return nil
			})
			if err != nil {
				return err
			}
			next := heads[self].LastOp + 1
			err = tx.Bucket(bPending).ForEach(func(k, v []byte) error {
				var p pendingOp
				if err := unmarshal(v, &p); err != nil {
					return err
				}
				op, err := protocol.DecodeOp(p.Op)
				if err != nil {
					bad("pending %x: %v", k, err)
					return nil
				}
				if op.Num != next || binary.BigEndian.Uint64(k) != op.Num {
					bad("pending operation %d where %d was due", op.Num, next)
				}
				next = op.Num + 1
				addEffects(self, &op)
				return nil
			})
			if err != nil {
				return err
			}
			if got := getU64(tx.Bucket(bMeta), kNextOp); got != next {
				bad("next operation number is %d, operations end at %d", got, next-1)
			}
		}

		// Every effect has its operation and every operation its effects.
		for _, name := range [][]byte{bVersions, bEntries, bEvidence, bAmendments, bDishonestyLog, bCaseLog} {
			err := tx.Bucket(name).ForEach(func(k, _ []byte) error {
				key := string(name) + string(k)
				if _, ok := expect[key]; !ok {
					bad("%s record %x has no operation in the log or outbox", name, k)
				}
				delete(expect, key)
				return nil
			})
			if err != nil {
				return err
			}
		}
		for _, id := range expect {
			bad("operation %s has an effect missing from the state", id)
		}

		// Dishonesty records and cases are what their events derive.
		if err := checkDishonesty(tx, bad); err != nil {
			return err
		}
		if err := checkCases(tx, bad); err != nil {
			return err
		}

		// Views and conflicts are what the versions derive.
		return tx.Bucket(bCommitments).ForEach(func(k, v []byte) error {
			var c Commitment
			if err := unmarshal(v, &c); err != nil {
				return err
			}
			var conflicted []domain.Field
			for _, f := range domain.Fields() {
				all, err := fieldVersions(tx, c.Ref, f)
				if err != nil {
					return err
				}
				heads := currentVersions(all)
				if len(heads) == 0 {
					continue
				}
				if c.Get(f) != heads[0].Value {
					bad("%s: %s shows %q, versions give %q", c.Ref, f, c.Get(f), heads[0].Value)
				}
				hasConflict := tx.Bucket(bConflicts).Get(fieldKey(c.Ref, f)) != nil
				if hasConflict != (len(heads) > 1) {
					bad("%s: %s conflict record %v, %d current versions", c.Ref, f, hasConflict, len(heads))
				}
				if len(heads) > 1 {
					conflicted = append(conflicted, f)
				}
			}
			if !slices.Equal(conflicted, c.Conflicted) {
				bad("%s: conflicted fields %v, versions give %v", c.Ref, c.Conflicted, conflicted)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvariant, problems)
	}
	return nil
}
