package protocol_test

import (
	"bytes"
	"testing"
	"time"

	"jiannuo/sync/protocol"
)

// TestOrderedEntityID: an ordered ID starts with its time in Unix
// milliseconds, so IDs made in later milliseconds sort after earlier ones
// (what keeps a replica's inserts at the end of its buckets), and the
// random rest keeps IDs of the same millisecond apart.
func TestOrderedEntityID(t *testing.T) {
	t0 := time.UnixMilli(1_780_000_000_000)
	var prev protocol.EntityID
	seen := map[protocol.EntityID]bool{}
	for i := range 1000 {
		at := t0.Add(time.Duration(i/10) * time.Millisecond) // ten IDs a millisecond
		id := protocol.OrderedEntityIDAt(at)
		if ms := int64(id[0])<<40 | int64(id[1])<<32 | int64(id[2])<<24 | int64(id[3])<<16 | int64(id[4])<<8 | int64(id[5]); ms != at.UnixMilli() {
			t.Fatalf("ID %s starts with %d, made at %d", id, ms, at.UnixMilli())
		}
		if i%10 == 0 && i > 0 && bytes.Compare(id[:], prev[:]) <= 0 {
			t.Fatalf("ID %s of a later millisecond sorts before %s", id, prev)
		}
		if seen[id] {
			t.Fatalf("ID %s made twice", id)
		}
		seen[id] = true
		prev = id
	}
	// Made in a burst, many in one millisecond: each sorts after the one
	// before.
	prev = protocol.NewOrderedEntityID()
	for range 10000 {
		id := protocol.NewOrderedEntityID()
		if bytes.Compare(id[:], prev[:]) <= 0 {
			t.Fatalf("ID %s made after %s sorts before it", id, prev)
		}
		prev = id
	}
}
