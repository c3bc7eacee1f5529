package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"jiannuo/sync/protocol"
)

// Unconfirmed returns the commitments that have operations of this device
// the county has not yet acknowledged: acted but not sealed (pending), or
// sealed into a change set still in the outbox. The app marks them "not yet
// confirmed by the county". Evidence operations name no commitment and are
// not counted; the fulfilment entry citing the evidence is.
//
// It reads every pending operation and every change set in the outbox, so
// its cost grows with what waits to be sent, not with the size of the store.
func (s *Store) Unconfirmed() (map[Ref]bool, error) {
	out := make(map[Ref]bool)
	err := s.db.View(func(tx *bolt.Tx) error {
		mark := func(op *protocol.Op) {
			if !op.Target.IsZero() {
				out[Ref{Office: op.Office, ID: op.Target}] = true
			}
		}
		err := forEachPending(tx, func(_ pendingOp, op protocol.Op) error {
			mark(&op)
			return nil
		})
		if err != nil {
			return err
		}
		log, self := tx.Bucket(bLog), selfTx(tx)
		return tx.Bucket(bOutbox).ForEach(func(k, _ []byte) error {
			raw := log.Get(logKey(self, binary.BigEndian.Uint64(k)))
			if raw == nil {
				return fmt.Errorf("%w: outbox names missing change set", ErrInvariant)
			}
			cs, err := protocol.Decode(raw)
			if err != nil {
				return fmt.Errorf("%w: outbox change set: %v", ErrInvariant, err)
			}
			for i := range cs.Ops {
				mark(&cs.Ops[i])
			}
			return nil
		})
	})
	return out, err
}

// Confirmation says how far an operation has got on its way to the county.
type Confirmation struct {
	// Confirmed: the county has committed the operation. An operation of
	// another device reached this replica through the county, so it is
	// confirmed; one of this device's is once its change set has left the
	// outbox with the county's receipt.
	Confirmed bool
	// Seq is the sequence number of this device's change set that carries
	// the operation; 0 while it is pending or for another device's.
	Seq uint64
	// Receipt is the county's signed receipt for that change set, when this
	// replica keeps one (verified when it arrived; protocol.OpenReceipt
	// decodes it).
	Receipt []byte
}

// OpConfirmation reports whether the county has confirmed operation op and,
// for one of this device's, the receipt that proves it. It returns
// ErrNotFound for an operation of this device that was never made.
func (s *Store) OpConfirmation(op protocol.OpID) (Confirmation, error) {
	var out Confirmation
	err := s.db.View(func(tx *bolt.Tx) error {
		self := selfTx(tx)
		if op.Device != self || self.IsZero() {
			out.Confirmed = true
			return nil
		}
		if tx.Bucket(bPending).Get(seqKey(op.Num)) != nil {
			return nil // acted, not yet sealed
		}
		head, err := txView{tx}.Head(self)
		if err != nil {
			return err
		}
		log := tx.Bucket(bLog)
		// Operation numbers grow with sequence numbers: find the first
		// change set whose last operation is at or after op.
		var found uint64
		lo, hi := uint64(1), head.Seq
		for lo <= hi {
			mid := lo + (hi-lo)/2
			raw := log.Get(logKey(self, mid))
			if raw == nil {
				return fmt.Errorf("%w: change set %d missing from the log", ErrInvariant, mid)
			}
			cs, err := protocol.Decode(raw)
			if err != nil {
				return fmt.Errorf("%w: change set %d: %v", ErrInvariant, mid, err)
			}
			switch {
			case cs.LastOp() < op.Num:
				lo = mid + 1
			case cs.FirstOp() > op.Num:
				hi = mid - 1
			default:
				found = mid
				lo = hi + 1
			}
		}
		if found == 0 {
			return fmt.Errorf("%w: operation %s", ErrNotFound, op)
		}
		out.Seq = found
		if tx.Bucket(bOutbox).Get(seqKey(found)) != nil {
			return nil
		}
		out.Confirmed = true
		if v := tx.Bucket(bReceipts).Get(seqKey(found)); v != nil {
			out.Receipt = append([]byte(nil), v...)
		}
		return nil
	})
	return out, err
}
