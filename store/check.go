package store

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"log/slog"
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
//   - every version record and commitment view decodes, in the binary
//     encodings of schema 8;
//   - every commitment view and conflict equals what its versions derive,
//     and every dishonesty record, case, directory entry, urge and annual
//     report what its events derive.
//
// It reads the whole file; tests call it after every crash and at cleanup.
func (s *Store) Check() error {
	c := &checker{expect: make(map[string]protocol.OpID), heads: make(map[protocol.DeviceID]protocol.Head)}
	err := s.db.View(func(tx *bolt.Tx) error {
		c.tx = tx
		// In this order: the log and the queue say which effects to expect
		// before the state is compared with them.
		for _, step := range []func() error{
			c.log,
			c.chainHeads,
			c.queue,
			c.effects,
			c.feed,
			func() error { return checkDishonesty(tx, c.bad) }, // records are what their events derive
			func() error { return checkCases(tx, c.bad) },      // cases too
			func() error { return checkDirectory(tx, c.bad) },  // and the account directory
			func() error { return checkYear(tx, c.bad) },       // and the urges and annual reports
			c.views,
		} {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(c.problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvariant, c.problems)
	}
	return nil
}

// checker is one run of Check inside one read transaction.
type checker struct {
	tx       *bolt.Tx
	problems []string                            // the first ten found
	expect   map[string]protocol.OpID            // effect key (bucket name + key) -> the operation that made it
	heads    map[protocol.DeviceID]protocol.Head // each device's chain as the log gives it
}

// bad records a violation; a broken store gives many, the first few say enough.
func (c *checker) bad(format string, args ...any) {
	if len(c.problems) < 10 {
		c.problems = append(c.problems, fmt.Sprintf(format, args...))
	}
}

// addEffects notes the records op must have left in the state.
func (c *checker) addEffects(dev protocol.DeviceID, op *protocol.Op) {
	id := op.ID(dev)
	ref := Ref{Office: op.Office, ID: op.Target}
	switch op.Kind {
	case protocol.OpEvidence:
		c.expect[string(bEvidence)+string(opKey(append([]byte(nil), op.Meta.Hash[:]...), id))] = id
	case protocol.OpFulfil:
		c.expect[string(bEntries)+string(entryKey(ref, op.HLC, id))] = id
	case protocol.OpDishonesty, protocol.OpDishonestyStep:
		c.expect[string(bDishonestyLog)+string(entryKey(dishonestyKey(op), op.HLC, id))] = id
	case protocol.OpCase, protocol.OpCaseStep:
		c.expect[string(bCaseLog)+string(entryKey(caseKey(op), op.HLC, id))] = id
	case protocol.OpAccount:
		c.expect[string(bAccountLog)+string(entryKey(accountKey(op.Office, op.Account.Login), op.HLC, id))] = id
	case protocol.OpUrge, protocol.OpUrgeRead, protocol.OpAnnualReport:
		c.expect[yearEffect(op, id)] = id
	default:
		for _, w := range op.Writes {
			c.expect[string(bVersions)+string(versionKey(ref, w.Field, id))] = id
		}
		if op.Kind == protocol.OpAmend {
			c.expect[string(bAmendments)+string(opKey(refKey(ref), id))] = id
		}
	}
}

// log checks that chains are gapless and linked; a partial chain
// (protocol.PartialChains) may skip, but only forward.
func (c *checker) log() error {
	tx := c.tx
	partial := func(dev protocol.DeviceID) bool {
		info, err := txView{tx}.Device(dev)
		return err == nil && txView{tx}.Partial(info)
	}
	return tx.Bucket(bLog).ForEach(func(k, v []byte) error {
		cs, err := protocol.Decode(v)
		if err != nil {
			c.bad("log %x: %v", k, err)
			return nil
		}
		if !bytes.Equal(k, logKey(cs.Device, cs.Seq)) {
			c.bad("log key %x holds %s/%d", k, cs.Device.Short(), cs.Seq)
		}
		prev := c.heads[cs.Device]
		switch {
		case cs.Seq == prev.Seq+1:
			if cs.Prev != prev.Hash || cs.FirstOp() != prev.LastOp+1 {
				c.bad("chain of %s broken at %d", cs.Device.Short(), cs.Seq)
			}
		case partial(cs.Device) && cs.Seq > prev.Seq && cs.FirstOp() > prev.LastOp:
			// A county-admin device's change sets for other offices
			// never reach a township replica.
		default:
			c.bad("chain of %s broken at %d", cs.Device.Short(), cs.Seq)
		}
		c.heads[cs.Device] = protocol.Head{Seq: cs.Seq, Hash: cs.Hash(), LastOp: cs.LastOp()}
		for i := range cs.Ops {
			c.addEffects(cs.Device, &cs.Ops[i])
		}
		return nil
	})
}

// chainHeads checks that the stored chain heads are the ones the log gives.
func (c *checker) chainHeads() error {
	stored := make(map[protocol.DeviceID]bool)
	err := c.tx.Bucket(bChains).ForEach(func(k, v []byte) error {
		var id protocol.DeviceID
		copy(id[:], k)
		stored[id] = true
		h, err := decodeHead(v)
		if err != nil || h != c.heads[id] {
			c.bad("chain head of %s does not match its log", id.Short())
		}
		return nil
	})
	if err != nil {
		return err
	}
	for id := range c.heads {
		if !stored[id] {
			c.bad("device %s has a log but no chain head", id.Short())
		}
	}
	return nil
}

// queue checks the outbox and the pending operations of this device: the
// outbox names logged change sets, and operation numbers run on from the
// log through the pending queue to the next number.
func (c *checker) queue() error {
	tx := c.tx
	self := selfTx(tx)
	if self.IsZero() {
		return nil
	}
	err := tx.Bucket(bOutbox).ForEach(func(k, _ []byte) error {
		if tx.Bucket(bLog).Get(append(append([]byte(nil), self[:]...), k...)) == nil {
			c.bad("outbox names change set %x that is not in the log", k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	next := c.heads[self].LastOp + 1
	err = tx.Bucket(bPending).ForEach(func(k, v []byte) error {
		var p pendingOp
		if err := unmarshal(v, &p); err != nil {
			return err
		}
		op, err := protocol.DecodeOp(p.Op)
		if err != nil {
			c.bad("pending %x: %v", k, err)
			return nil
		}
		if op.Num != next || binary.BigEndian.Uint64(k) != op.Num {
			c.bad("pending operation %d where %d was due", op.Num, next)
		}
		next = op.Num + 1
		c.addEffects(self, &op)
		return nil
	})
	if err != nil {
		return err
	}
	if got := getU64(tx.Bucket(bMeta), kNextOp); got != next {
		c.bad("next operation number is %d, operations end at %d", got, next-1)
	}
	return nil
}

// feed checks a serving replica's feed: every entry decodes, names a
// change set the log holds, with its hash, and the index finds it at its
// position. (A device's feed is empty.)
func (c *checker) feed() error {
	log, idx := c.tx.Bucket(bLog), c.tx.Bucket(bFeedIdx)
	return c.tx.Bucket(bFeed).ForEach(func(k, v []byte) error {
		e, err := decodeFeedEntry(k, v)
		if err != nil {
			c.bad("%v", err)
			return nil
		}
		raw := log.Get(logKey(e.Device, e.Seq))
		switch {
		case raw == nil || len(raw) < ed25519.SignatureSize:
			c.bad("feed %d names change set %s/%d, which the log does not hold", e.Pos, e.Device.Short(), e.Seq)
		case protocol.Hash(sha256.Sum256(raw[:len(raw)-ed25519.SignatureSize])) != e.Hash:
			c.bad("feed %d names change set %s/%d with another hash", e.Pos, e.Device.Short(), e.Seq)
		}
		if p := idx.Get(logKey(e.Device, e.Seq)); string(p) != string(k) {
			c.bad("feed index of %s/%d does not point at position %d", e.Device.Short(), e.Seq, e.Pos)
		}
		return nil
	})
}

// recordDecoders decode the binary records of a bucket, for Check.
var recordDecoders = map[string]func(k, v []byte) error{
	string(bVersions):   func(k, v []byte) error { _, err := decodeVersion(k, v); return err },
	string(bEntries):    func(k, v []byte) error { _, err := decodeEntry(k, v); return err },
	string(bAmendments): func(k, v []byte) error { _, err := decodeAmendment(k, v); return err },
}

// effects checks that every effect has its operation and every operation
// its effects.
func (c *checker) effects() error {
	for _, name := range [][]byte{bVersions, bEntries, bEvidence, bAmendments, bDishonestyLog, bCaseLog, bAccountLog, bUrgeLog, bReportLog} {
		err := c.tx.Bucket(name).ForEach(func(k, v []byte) error {
			key := string(name) + string(k)
			if decode := recordDecoders[string(name)]; decode != nil {
				if err := decode(k, v); err != nil {
					c.bad("%v", err)
				}
			}
			if _, ok := c.expect[key]; !ok {
				c.bad("%s record %x has no operation in the log or outbox", name, k)
			}
			delete(c.expect, key)
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, id := range c.expect {
		c.bad("operation %s has an effect missing from the state", id)
	}
	return nil
}

// views checks that views and conflicts are what the versions derive.
func (c *checker) views() error {
	tx := c.tx
	return tx.Bucket(bCommitments).ForEach(func(k, v []byte) error {
		cm, err := decodeCommitment(k, v)
		if err != nil {
			return err
		}
		var conflicted []domain.Field
		for _, f := range domain.Fields() {
			all, err := fieldVersions(tx, cm.Ref, f)
			if err != nil {
				return err
			}
			heads := currentVersions(all)
			if len(heads) == 0 {
				continue
			}
			if cm.Get(f) != heads[0].Value {
				c.bad("%s: %s shows %q, versions give %q", cm.Ref, f, cm.Get(f), heads[0].Value)
			}
			hasConflict := tx.Bucket(bConflicts).Get(fieldKey(cm.Ref, f)) != nil
			if hasConflict != (len(heads) > 1) {
				c.bad("%s: %s conflict record %v, %d current versions", cm.Ref, f, hasConflict, len(heads))
			}
			if len(heads) > 1 {
				conflicted = append(conflicted, f)
			}
		}
		if !slices.Equal(conflicted, cm.Conflicted) {
			c.bad("%s: conflicted fields %v, versions give %v", cm.Ref, cm.Conflicted, conflicted)
		}
		return nil
	})
}

// CheckFile checks the serving replica (Options.Feed) in the file at path
// of a stopped server, as its check command and a restore do: prepare
// makes the server's own buckets, the replica's invariants are checked
// (Check), view reads what the server's report tells, and the schema and
// digest are returned.
func CheckFile(path string, prepare func(*Store) error, view func(*bolt.Tx) error) (schema int, digest protocol.Hash, err error) {
	st, err := Open(path, &Options{Feed: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return 0, digest, err
	}
	defer st.Close()
	if err := prepare(st); err != nil {
		return 0, digest, err
	}
	if err := st.Check(); err != nil {
		return 0, digest, fmt.Errorf("the replica: %w", err)
	}
	if err := st.View(view); err != nil {
		return 0, digest, err
	}
	if schema, err = st.Schema(); err != nil {
		return 0, digest, err
	}
	digest, err = st.Digest()
	return schema, digest, err
}
