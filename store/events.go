package store

import (
	"bytes"

	bolt "go.etcd.io/bbolt"
)

// Dishonesty records and cases are kept the same way: each operation on a
// record is an event in a log bucket, keyed office|record|hlc|op, and the
// record's view in another bucket is derived from the set of its events.
// These two helpers serve both.

// eventsOf returns the events of record rk from the log bucket logB, in key
// order (stamp, then operation).
func eventsOf[E any](tx *bolt.Tx, logB []byte, rk Ref) ([]E, error) {
	var out []E
	prefix := refKey(rk)
	c := tx.Bucket(logB).Cursor()
	for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
		var e E
		if err := unmarshal(v, &e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
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
