package store

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/sync/protocol"
)

// TestMigrateSchema8 opens the township replica and the server replica
// (with a feed) written by the schema-8 build, whose entries, amendments
// and feed entries are JSON, and checks that the migration rewrites each
// in the binary encoding, decoding to what its JSON said, changes nothing
// else, keeps every invariant, and that both work on: the township's
// entries and amendments read back and it logs and seals a new entry; the
// server's feed reads back in order and takes a new change set at the
// next position.
func TestMigrateSchema8(t *testing.T) {
	defer func(n int) { migrateChunk = n }(migrateChunk)
	migrateChunk = 2 // several chunks even in these small files

	township := migrateTestFile(t, "testdata/schema8-township.db", 8)
	defer township.Close()
	n := map[string]int{}
	for k := range dumpAll(t, "testdata/schema8-township.db") {
		n[strings.SplitN(k, "/", 2)[0]]++
	}
	if n[string(bEntries)] == 0 || n[string(bAmendments)] == 0 {
		t.Fatalf("the schema-8 township file holds %d entries and %d amendments", n[string(bEntries)], n[string(bAmendments)])
	}
	var life Ref
	must(t, township.Commitments(func(c Commitment) bool {
		if c.Title == "独居老人每月上门走访" {
			life = c.Ref
		}
		return true
	}))
	es, err := township.Entries(life)
	must(t, err)
	if len(es) != 1 || es[0].Note != "走访十二户" || es[0].Progress != 40 || es[0].Date != calendar.NewDate(2026, 10, 9) || es[0].Author != "user" {
		t.Fatalf("entries after the migration: %+v", es)
	}
	as, err := township.Amendments(life)
	must(t, err)
	if len(as) != 1 || as[0].Reason != "县民政局提高走访频次要求" || as[0].Version != 2 ||
		!reflect.DeepEqual(as[0].Fields, []domain.Field{domain.FieldText, domain.FieldResponsible}) {
		t.Fatalf("amendments after the migration: %+v", as)
	}
	se, err := township.SignIn("user", testPass)
	must(t, err)
	_, err = se.LogFulfilment(life, EntryInput{Date: calendar.NewDate(2026, 11, 2), Progress: 70, Note: "回访五户", Evidence: nil})
	must(t, err)
	if n, err := se.Seal(0); err != nil || n == 0 {
		t.Fatalf("Seal after the migration: %d, %v", n, err)
	}
	if es, _ := township.Entries(life); len(es) != 2 || es[1].Note != "回访五户" {
		t.Fatalf("entries after a new one: %+v", es)
	}
	must(t, township.Check())

	// Opened again as a server opens its file, with its feed.
	migrated := migrateTestFile(t, "testdata/schema8-county.db", 8)
	path := migrated.Path()
	must(t, migrated.Close())
	server, err := Open(path, &Options{Now: newStepClock().Now, KDF: auth.TestParams(), Logger: quietLogger(), NoSync: true, Feed: true})
	must(t, err)
	defer server.Close()
	var feed []FeedEntry
	must(t, server.Feed(0, 0, func(e FeedEntry, raw []byte) bool {
		if len(raw) == 0 {
			t.Errorf("feed %d without its change set", e.Pos)
		}
		feed = append(feed, e)
		return true
	}))
	if len(feed) < 4 {
		t.Fatalf("the server's feed after the migration: %d entries", len(feed))
	}
	for i, e := range feed {
		fe, ok, err := server.FeedEntryOf(e.Device, e.Seq)
		if err != nil || !ok || fe != e || e.Pos != uint64(i+1) || e.Office == "" || e.Time == 0 {
			t.Fatalf("feed entry %d after the migration: %+v; by its change set: %+v %v %v", i, e, fe, ok, err)
		}
	}
	// The township's new change set reaches the server's feed next.
	last, err := township.ChangeSets(se.Device().ID, 0, 0)
	must(t, err)
	res, err := server.Apply(last[len(last)-1])
	must(t, err)
	if !res[0].Applied() || res[0].Pos != uint64(len(feed)+1) {
		t.Fatalf("a change set after the migration: %+v", res[0])
	}
	must(t, server.Check())
}

// TestEntryEncodingRoundTrip: every shape of entry, amendment and feed
// entry reads back equal, and a record cut short or lengthened anywhere
// does not decode.
func TestRecordEncodingRoundTrip(t *testing.T) {
	ref := Ref{Office: township, ID: [16]byte{1, 2, 3}}
	dev := protocol.DeviceID{9, 8, 7}
	for _, e := range []Entry{
		{Op: protocol.OpID{Device: dev, Num: 7}, HLC: 1 << 50, Author: "user", Date: calendar.NewDate(2026, 10, 9), Progress: 100,
			Note: "走访十二户，发放慰问品。", Evidence: []protocol.Hash{{1}, {0xff, 2}}},
		{Op: protocol.OpID{Device: dev, Num: 1 << 40}, Date: calendar.NewDate(2026, 1, 1)},
		{},
	} {
		k := entryKey(ref, e.HLC, e.Op)
		strictRoundTrip(t, k, encodeEntry(&e), e, decodeEntry)
		if _, err := decodeEntry(k[:len(k)-1], encodeEntry(&e)); !errors.Is(err, ErrInvariant) {
			t.Fatalf("a short key decodes: %v", err)
		}
	}
	for _, a := range []Amendment{
		{Op: protocol.OpID{Device: dev, Num: 3}, HLC: 1<<50 + 1, Author: "user", Reason: "县民政局提高走访频次要求",
			Fields: []domain.Field{domain.FieldText, domain.FieldResponsible}},
		{},
	} {
		k := opKey(refKey(ref), a.Op)
		strictRoundTrip(t, k, encodeAmendment(&a), a, decodeAmendment)
	}
	for _, e := range []FeedEntry{
		{Pos: 1 << 33, Device: dev, Seq: 1 << 20, Hash: protocol.Hash{7, 7}, Office: township, Time: 1_780_000_000_000},
		{},
	} {
		strictRoundTrip(t, seqKey(e.Pos), encodeFeedEntry(&e), e, decodeFeedEntry)
		if _, err := decodeFeedEntry(seqKey(e.Pos)[1:], encodeFeedEntry(&e)); !errors.Is(err, ErrInvariant) {
			t.Fatalf("a short key decodes: %v", err)
		}
	}
}

// fuzzRecord is the body of the record decoders' fuzz targets: no input
// makes a decoder panic or allocate past the record, every refusal is an
// ErrInvariant, and what decodes encodes to a record that decodes the
// same.
func fuzzRecord[T any](t *testing.T, k, b []byte, decode func(k, b []byte) (T, error), key func(T) []byte, encode func(*T) []byte) {
	v, err := decode(k, b)
	if err != nil {
		if !errors.Is(err, ErrInvariant) {
			t.Fatalf("error without ErrInvariant: %v", err)
		}
		return
	}
	again, err := decode(key(v), encode(&v))
	if err != nil || !reflect.DeepEqual(again, v) {
		t.Fatalf("re-encoded %+v: %+v, %v", v, again, err)
	}
}

func FuzzDecodeEntry(f *testing.F) {
	k := entryKey(Ref{Office: township, ID: [16]byte{1}}, 5, protocol.OpID{Device: protocol.DeviceID{9}, Num: 3})
	f.Add(k, encodeEntry(&Entry{Author: "user", Date: calendar.NewDate(2026, 10, 9), Progress: 40, Note: "走访", Evidence: []protocol.Hash{{1}}}))
	f.Add(k, []byte{entryFormat, 0, 0xff, 0xff, 0xff, 0x7f})
	f.Add(k[:9], []byte{entryFormat})
	f.Fuzz(func(t *testing.T, k, b []byte) {
		fuzzRecord(t, k, b, decodeEntry, func(e Entry) []byte { return entryKey(Ref{}, e.HLC, e.Op) }, encodeEntry)
	})
}

func FuzzDecodeAmendment(f *testing.F) {
	k := opKey(refKey(Ref{Office: township, ID: [16]byte{1}}), protocol.OpID{Device: protocol.DeviceID{9}, Num: 3})
	f.Add(k, encodeAmendment(&Amendment{HLC: 5, Author: "user", Reason: "理由", Fields: []domain.Field{domain.FieldTitle}}))
	f.Add(k, []byte{amendmentFormat, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0xff, 0xff, 0x03})
	f.Fuzz(func(t *testing.T, k, b []byte) {
		fuzzRecord(t, k, b, decodeAmendment, func(a Amendment) []byte { return opKey(refKey(Ref{}), a.Op) }, encodeAmendment)
	})
}

func FuzzDecodeFeedEntry(f *testing.F) {
	f.Add(seqKey(3), encodeFeedEntry(&FeedEntry{Device: protocol.DeviceID{9}, Seq: 2, Hash: protocol.Hash{1}, Office: township, Time: 1_780_000_000_000}))
	f.Add(seqKey(1), []byte{feedFormat})
	f.Fuzz(func(t *testing.T, k, b []byte) {
		fuzzRecord(t, k, b, decodeFeedEntry, func(e FeedEntry) []byte { return seqKey(e.Pos) }, encodeFeedEntry)
	})
}
