package store

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"jiannuo/domain"
	"jiannuo/sync/protocol"
)

// The sync engine walks the files to upload and to fetch a page at a time,
// in hash order, and uploads a file only once the county holds the change
// set that records it.

func hashesOf(es []Evidence) []protocol.Hash {
	var out []protocol.Hash
	for _, e := range es {
		out = append(out, e.Hash)
	}
	return out
}

func sortedHashes(hs []protocol.Hash) []protocol.Hash {
	return slices.SortedFunc(slices.Values(hs), func(a, b protocol.Hash) int { return bytes.Compare(a[:], b[:]) })
}

func TestEvidenceToUploadAndMissing(t *testing.T) {
	a := newReplica(t, township, domain.RoleLeader)
	b := newReplica(t, township, domain.RoleLeader)
	introduce(t, a, b)
	// a's operations 1…4 record four files; the fourth is the first again
	// under another name (one file, two records).
	var mine []protocol.Hash
	for i := range 3 {
		h, err := a.se.AddEvidence(fmt.Sprintf("照片-%d.jpg", i), "image/jpeg", strings.NewReader(fmt.Sprintf("a 的现场照片 %d", i)))
		if err != nil {
			t.Fatal(err)
		}
		mine = append(mine, h)
	}
	if _, err := a.se.AddEvidence("照片-0-副本.jpg", "image/jpeg", strings.NewReader("a 的现场照片 0")); err != nil {
		t.Fatal(err)
	}
	opOf := map[protocol.Hash]uint64{mine[0]: 1, mine[1]: 2, mine[2]: 3}

	upload := func(after protocol.Hash, limit int, held uint64) []protocol.Hash {
		t.Helper()
		ready, err := a.EvidenceToUpload(after, limit, held)
		if err != nil {
			t.Fatal(err)
		}
		return hashesOf(ready)
	}
	// The county holds none of a's operations: nothing is ready.
	if got := upload(protocol.Hash{}, 10, 0); len(got) != 0 {
		t.Fatalf("county holds nothing: ready %v", got)
	}
	// It holds operations 1 and 2: those files are ready, in hash order.
	if got, want := upload(protocol.Hash{}, 10, 2), sortedHashes(mine[:2]); !slices.Equal(got, want) {
		t.Fatalf("county holds ops 1-2: ready %v, want %v", got, want)
	}
	// All of them (the fourth record names the first file again), a page
	// of one at a time.
	all := sortedHashes(mine)
	var walked []protocol.Hash
	for after := (protocol.Hash{}); ; {
		page := upload(after, 1, 4)
		if len(page) == 0 {
			break
		}
		walked = append(walked, page...)
		after = page[0]
	}
	if !slices.Equal(walked, all) {
		t.Fatalf("walked %v, want %v", walked, all)
	}
	// Once the county confirmed a file, it is never offered again.
	if err := a.MarkUploaded(all[0]); err != nil {
		t.Fatal(err)
	}
	if got := upload(protocol.Hash{}, 10, 4); !slices.Equal(got, all[1:]) {
		t.Fatalf("after one confirmed: %v, want %v", got, all[1:])
	}
	for h, op := range opOf {
		if got := upload(protocol.Hash{}, 10, op-1); slices.Contains(got, h) {
			t.Fatalf("file of op %d ready while the county holds up to op %d", op, op-1)
		}
	}

	// b receives a's records: the files are missing there, walked in
	// hash order a page at a time; b's own file is not missing.
	if _, err := b.se.AddEvidence("b.jpg", "image/jpeg", strings.NewReader("b 的照片")); err != nil {
		t.Fatal(err)
	}
	deliver(t, b, a.seal(t, 0)...)
	walked = nil
	for after := (protocol.Hash{}); ; {
		page, err := b.MissingEvidence(after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		walked = append(walked, hashesOf(page)...)
		after = page[len(page)-1].Hash
	}
	if !slices.Equal(walked, all) {
		t.Fatalf("missing on b: %v, want %v", walked, all)
	}
}
