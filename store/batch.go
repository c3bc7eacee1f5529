package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain"
	"jiannuo/sync/protocol"
)

// BatchItem is one commitment of CreateBatch: its content, and whether to
// publish it at once.
type BatchItem struct {
	Draft   Draft
	Publish bool // publish right after creating (leaders only)
}

// BatchError says which item of a batch was refused; nothing of the batch
// was stored.
type BatchError struct {
	Index int   // the item, from 0
	Err   error // why
}

// Error describes the error for logs.
func (e *BatchError) Error() string { return fmt.Sprintf("batch item %d: %v", e.Index, e.Err) }

// Unwrap returns the cause, so that errors.Is sees the refusal's sentinel.
func (e *BatchError) Unwrap() error { return e.Err }

// CreateBatch creates the items' commitments in one transaction: all of
// them or, if any is refused, none (a *BatchError names the first
// refused). Each is an ordinary create operation, followed by a
// publication when the item asks for one, numbered, validated and applied
// exactly as Create and Publish do one by one (the same Op.Validate and
// apply path a receiver uses), so the county cannot tell a batch from work
// typed in. Publishing needs a leader: a staff session asking for it is
// refused before anything is done. It returns the new commitments'
// references in the items' order.
func (se *Session) CreateBatch(items []BatchItem) ([]Ref, error) {
	if err := se.maySign(); err != nil {
		return nil, err
	}
	for i, it := range items {
		if it.Publish && !se.acct.Role.AtLeast(domain.RoleLeader) {
			return nil, &BatchError{Index: i, Err: fmt.Errorf("%w: only a leader publishes a commitment", domain.ErrNotAllowed)}
		}
	}
	refs := make([]Ref, len(items))
	err := se.s.db.Update(func(tx *bolt.Tx) error {
		for i, it := range items {
			ref := Ref{Office: se.rec.Office, ID: protocol.NewOrderedEntityID()}
			build, err := createOp(ref, it.Draft)
			if err == nil {
				_, err = se.actIn(tx, build)
			}
			if err == nil && it.Publish {
				_, err = se.actIn(tx, se.transitionOp(ref, domain.StatusPublished, ""))
			}
			if err != nil {
				return &BatchError{Index: i, Err: err}
			}
			refs[i] = ref
		}
		return nil
	})
	if err != nil {
		se.s.log.Info("batch create refused", "items", len(items), "err", err)
		return nil, err
	}
	se.s.log.Info("batch created", "items", len(items))
	return refs, nil
}
