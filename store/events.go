package store

import (
	"bytes"

	bolt "go.etcd.io/bbolt"

	"jiannuo/sync/protocol"
)

// Dishonesty records and cases are kept the same way: each operation on a
// record is an event in a log bucket, keyed office|record|hlc|op, and the
// record's view in another bucket is derived from the set of its events.
// These helpers serve both.

// scanPrefix decodes every value of bucket b whose key starts with prefix,
// in key order: the events of one record (prefix refKey), the versions of
// one field (fieldKey).
func scanPrefix[E any](tx *bolt.Tx, b, prefix []byte) ([]E, error) {
	var out []E
	c := tx.Bucket(b).Cursor()
	for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
		var e E
		if err := unmarshal(v, &e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// putEvent appends event e of record rk, made by operation id at stamp hlc,
// to the log bucket logB, derives the record again and stores its view in
// viewB.
func putEvent[E, V any](tx *bolt.Tx, logB, viewB []byte, rk Ref, hlc protocol.HLC, id protocol.OpID, e E, derive func(*bolt.Tx, Ref) (V, error)) error {
	if err := tx.Bucket(logB).Put(entryKey(rk, hlc, id), marshal(e)); err != nil {
		return err
	}
	view, err := derive(tx, rk)
	if err != nil {
		return err
	}
	return tx.Bucket(viewB).Put(refKey(rk), marshal(view))
}

// checkDerivedViews verifies that every view in viewB is what derive makes
// of its events, and that every event in logB belongs to a view (Check);
// what names the records in the messages.
func checkDerivedViews[V any](tx *bolt.Tx, viewB, logB []byte, what string, derive func(*bolt.Tx, Ref) (V, error), bad func(string, ...any)) error {
	seen := make(map[string]bool)
	err := tx.Bucket(viewB).ForEach(func(k, v []byte) error {
		seen[string(k)] = true
		rk, rest, ok := parseRefKey(k)
		if !ok || len(rest) != 0 {
			bad("%s key %x", what, k)
			return nil
		}
		want, err := derive(tx, rk)
		if err != nil {
			return err
		}
		if !bytes.Equal(marshal(want), v) {
			bad("%s %s differs from what its events derive", what, rk)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tx.Bucket(logB).ForEach(func(k, _ []byte) error {
		rk, _, ok := parseRefKey(k)
		if !ok || !seen[string(refKey(rk))] {
			bad("%s event %x has no %s", what, k, what)
		}
		return nil
	})
}
