package store

import (
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// Commitment returns a commitment's current view.
func (s *Store) Commitment(ref Ref) (Commitment, error) {
	var c *Commitment
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		c, err = loadView(tx, ref)
		return err
	})
	if err != nil {
		return Commitment{}, err
	}
	return *c, nil
}

// Commitments calls fn for every commitment that has fully arrived, in key
// order (office, then ID), stopping early if fn returns false. The value is
// a copy fn may keep.
func (s *Store) Commitments(fn func(Commitment) bool) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bCommitments).ForEach(func(k, v []byte) error {
			c, err := decodeCommitment(k, v)
			if err != nil {
				return err
			}
			if c.Created && !fn(c) {
				return errStop
			}
			return nil
		})
	})
}

// AllCommitments returns every commitment that has fully arrived.
func (s *Store) AllCommitments() ([]Commitment, error) {
	var out []Commitment
	err := s.Commitments(func(c Commitment) bool { out = append(out, c); return true })
	if err == errStop {
		err = nil
	}
	return out, err
}

// History returns every version of every field of a commitment, oldest
// first: the full record of what it said and who changed it, when and why.
func (s *Store) History(ref Ref) ([]Version, error) {
	var out []Version
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := refKey(ref)
		c := tx.Bucket(bVersions).Cursor()
		for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			ver, err := decodeVersion(k, v)
			if err != nil {
				return err
			}
			out = append(out, ver)
		}
		return nil
	})
	slices.SortStableFunc(out, func(a, b Version) int {
		if a.after(&b) {
			return 1
		}
		if b.after(&a) {
			return -1
		}
		return 0
	})
	return out, err
}

// FieldHistory returns the versions of one field, oldest first.
func (s *Store) FieldHistory(ref Ref, f domain.Field) ([]Version, error) {
	all, err := s.History(ref)
	return slices.DeleteFunc(all, func(v Version) bool { return v.Field != f }), err
}

// Amendments returns a commitment's amendments, oldest first, each with the
// version it created (2 for the first amendment).
func (s *Store) Amendments(ref Ref) ([]Amendment, error) {
	var out []Amendment
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = scanDecoded(tx.Bucket(bAmendments), refKey(ref), decodeAmendment)
		return err
	})
	slices.SortFunc(out, func(a, b Amendment) int {
		if a.HLC != b.HLC {
			return cmpHLC(a.HLC, b.HLC)
		}
		return a.Op.Compare(b.Op)
	})
	for i := range out {
		out[i].Version = i + 2
	}
	return out, err
}

func cmpHLC(a, b protocol.HLC) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Entries returns a commitment's fulfilment entries in the order they were
// made.
func (s *Store) Entries(ref Ref) ([]Entry, error) {
	var out []Entry
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = scanEntries(tx, refKey(ref))
		return err
	})
	return out, err
}

// Conflicts returns every conflicted field on this replica, in key order.
func (s *Store) Conflicts() ([]Conflict, error) {
	var out []Conflict
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bConflicts).ForEach(func(_, v []byte) error {
			var c Conflict
			if err := unmarshal(v, &c); err != nil {
				return err
			}
			out = append(out, c)
			return nil
		})
	})
	return out, err
}

// EvidenceMeta returns what is recorded about an evidence file (one record
// per operation that added it).
func (s *Store) EvidenceMeta(h protocol.Hash) ([]Evidence, error) {
	var out []Evidence
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bEvidence).Cursor()
		for k, v := c.Seek(h[:]); k != nil && hasPrefix(k, h[:]); k, v = c.Next() {
			var e Evidence
			if err := unmarshal(v, &e); err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// EvidenceContent returns an evidence file's bytes, or ErrNotFound if they
// have not arrived on this replica yet.
func (s *Store) EvidenceContent(h protocol.Hash) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bBlobs).Get(h[:])
		if v == nil {
			return fmt.Errorf("%w: evidence %s", ErrNotFound, h.String()[:12])
		}
		out = append([]byte(nil), v...)
		return nil
	})
	return out, err
}

// The queries a county server asks inside its own transaction (see Update),
// so what it checks cannot change before it acts on it.

// CommitmentTx returns a commitment that has fully arrived, or
// ErrNotFound.
func CommitmentTx(tx *bolt.Tx, ref Ref) (Commitment, error) {
	c, err := arrivedView(tx, ref)
	if err != nil {
		return Commitment{}, err
	}
	return *c, nil
}

// DishonestyRecordTx returns a dishonesty record of office o that has
// fully arrived, with its history, or ErrNotFound.
func DishonestyRecordTx(tx *bolt.Tx, o office.Code, id protocol.EntityID) (DishonestyRecord, error) {
	var r DishonestyRecord
	if err := loadDishonesty(tx, Ref{Office: o, ID: id}, &r); err != nil {
		return DishonestyRecord{}, err
	}
	if !r.Recorded {
		return DishonestyRecord{}, fmt.Errorf("%w: dishonesty record %s has not fully arrived", ErrNotFound, id)
	}
	return r, nil
}

// HasEvidenceTx reports whether an evidence file's content is held.
func HasEvidenceTx(tx *bolt.Tx, h protocol.Hash) bool { return tx.Bucket(bBlobs).Get(h[:]) != nil }

// MissingEvidenceIn returns an evidence file a record of an office within
// o cites whose content this replica does not hold, the first in hash
// order that skip (nil: none) does not pass over; ok is false when there
// is none. A municipal node fetches such files from the county whose
// records cite them.
func (s *Store) MissingEvidenceIn(o office.Code, skip func(protocol.Hash) bool) (e Evidence, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		blobs := tx.Bucket(bBlobs)
		return tx.Bucket(bEvidence).ForEach(func(_, v []byte) error {
			var ev Evidence
			if err := unmarshal(v, &ev); err != nil {
				return err
			}
			if !o.Contains(ev.Office) || blobs.Get(ev.Hash[:]) != nil || (skip != nil && skip(ev.Hash)) {
				return nil
			}
			e, ok = ev, true
			return errStop
		})
	})
	if err == errStop {
		err = nil
	}
	return e, ok, err
}
