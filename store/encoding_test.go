package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/sync/protocol"
)

// TestWriteMigrationFiles writes the files the migrations are tested on,
// with the build that runs it: testdata/schema<N>-township.db, a township
// replica through a commitment's whole life (edits, publication, an
// amendment, entries, a conflict resolved by the county and one left open,
// a withdrawal, a pending draft), and testdata/schema<N>-county.db, a
// server's replica (with a feed) holding every change set of the three
// devices, for N the build's SchemaVersion. It runs only when asked:
//
//	JIANNUO_WRITE_SCHEMA_FILES=1 go test -run TestWriteMigrationFiles ./store/
//
// schema7-township.db was written this way by the last build to keep
// versions and views as JSON; schema8-*.db by the last to keep entries,
// amendments and feed entries as JSON. Each is written once, before the
// next schema exists.
func TestWriteMigrationFiles(t *testing.T) {
	if os.Getenv("JIANNUO_WRITE_SCHEMA_FILES") == "" {
		t.Skip("writes testdata/schema<N>-*.db only when JIANNUO_WRITE_SCHEMA_FILES is set")
	}
	dir := t.TempDir()
	clock := newStepClock()
	open := func(name string, feed bool) *Store {
		// MmapReserve -1: a server's file grows in steps of 16 MB
		// otherwise, too large for testdata.
		s, err := Open(filepath.Join(dir, name), &Options{Now: clock.Now, KDF: auth.TestParams(), Logger: quietLogger(), NoSync: true, Feed: feed, MmapReserve: -1})
		must(t, err)
		return s
	}
	setup := func(s *Store, admin bool, role domain.Role) *replica {
		o := township
		if admin {
			o = county
		}
		se, err := s.Setup(SetupConfig{Office: o, Admin: admin, DeviceName: "test", Name: "user", DisplayName: "测试用户", Role: role, Passphrase: testPass})
		must(t, err)
		return &replica{Store: s, se: se}
	}
	a := setup(open("township.db", false), false, domain.RoleLeader)
	b := setup(open("colleague.db", false), false, domain.RoleLeader)
	admin := setup(open("county.db", false), true, domain.RoleCountyAdmin)
	server := &replica{Store: open("server.db", true)}
	defer b.Close()
	defer admin.Close()
	introduce(t, a, b, admin)
	for _, r := range []*replica{a, b, admin} {
		must(t, server.PutDevice(r.se.Device()))
	}

	// A commitment through its life: an edit, publication, an amendment
	// with a reason, entries, a late close.
	ref, err := a.se.Create(sampleDraft("独居老人每月走访"))
	must(t, err)
	must(t, a.se.Edit(ref, domain.FieldTitle, "独居老人每月上门走访"))
	must(t, a.se.Publish(ref))
	must(t, a.se.Amend(ref, []Change{{domain.FieldText, "每两周走访一次"}, {domain.FieldResponsible, "李秀英（民政办）"}}, "县民政局提高走访频次要求"))
	_, err = a.se.LogFulfilment(ref, EntryInput{Date: calendar.NewDate(2026, 10, 9), Progress: 40, Note: "走访十二户"})
	must(t, err)
	must(t, a.se.Transition(ref, domain.StatusInProgress, ""))
	// Two more: one conflicted and resolved by the county, one left in
	// conflict; an empty value, a withdrawal.
	resolved, err := a.se.Create(sampleDraft("便民服务窗口延时服务"))
	must(t, err)
	open2, err := a.se.Create(Draft{Category: domain.CatEmployment, Title: "技能培训", Text: "内容", Responsible: "小李"})
	must(t, err)
	gone, err := a.se.Create(sampleDraft("撤回的事项"))
	must(t, err)
	must(t, a.se.Publish(gone))
	must(t, a.se.Withdraw(gone, "上级政策调整"))
	base := a.seal(t, 0)
	deliver(t, b, base...)
	deliver(t, admin, base...)
	must(t, a.se.Edit(resolved, domain.FieldTitle, "便民服务窗口周末延时"))
	must(t, b.se.Edit(resolved, domain.FieldTitle, "便民窗口中午不休息"))
	must(t, a.se.Edit(open2, domain.FieldResponsible, "王建国"))
	must(t, b.se.Edit(open2, domain.FieldResponsible, "李秀英"))
	must(t, b.se.Edit(open2, domain.FieldLegalBasis, ""))
	fromA, fromB := a.seal(t, uint64(len(base))), b.seal(t, 0)
	deliver(t, a, fromB...)
	deliver(t, admin, append(fromA, fromB...)...)
	must(t, admin.se.Resolve(resolved, domain.FieldTitle, "便民服务窗口周末及中午延时", "两项合并"))
	fromAdmin := admin.seal(t, 0)
	deliver(t, a, fromAdmin...)
	deliver(t, server, append(append(append([][]byte(nil), base...), fromA...), append(fromB, fromAdmin...)...)...)
	// A draft still pending on the device.
	_, err = a.se.Create(sampleDraft("尚未同步的草稿"))
	must(t, err)
	must(t, a.Check())
	must(t, server.Check())
	if cs, _ := a.Conflicts(); len(cs) != 1 {
		t.Fatalf("conflicts: %+v", cs)
	}
	for name, r := range map[string]*replica{"township": a, "county": server} {
		path := r.Path()
		must(t, r.Close())
		data, err := os.ReadFile(path)
		must(t, err)
		must(t, os.WriteFile(fmt.Sprintf("testdata/schema%d-%s.db", SchemaVersion, name), data, 0o644))
	}
}

// sameRecord fails the test unless the binary record after, under key k,
// decodes to what the JSON record before said.
func sameRecord[T any](t *testing.T, k, before, after []byte, decode func(k, b []byte) (T, error)) {
	t.Helper()
	var want T
	must(t, json.Unmarshal(before, &want))
	got, err := decode(k, after)
	if err != nil {
		t.Errorf("%T %x after the migration: %v", want, k, err)
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%T %x after the migration:\n got %+v\nwant %+v", want, k, got, want)
	}
}

// TestMigrateSchema7 opens a township replica written by the schema-7
// build (versions and views as JSON) and checks that the migration rewrites
// every version record and commitment view in the binary encodings, each
// decoding to what its JSON said, changes nothing else, keeps every invariant and every answer the
// store gives (histories, conflicts, views), and that the device works
// on: it signs in, edits, seals, and its history reads back.
func TestMigrateSchema7(t *testing.T) {
	const file = "testdata/schema7-township.db"
	before := dumpAll(t, file)
	nver, ncom := 0, 0
	for k := range before {
		nver += bool2int(strings.HasPrefix(k, string(bVersions)+"/"))
		ncom += bool2int(strings.HasPrefix(k, string(bCommitments)+"/"))
	}
	if nver < 20 || ncom != 5 {
		t.Fatalf("%s holds %d versions, %d commitments", file, nver, ncom)
	}
	// Many chunks: every seek past the last key rewritten is taken.
	defer func(n int) { migrateChunk = n }(migrateChunk)
	migrateChunk = 3
	s := migrateTestFile(t, file, 7)
	defer s.Close()
	// Compacted after the migration: no bigger than before, and nothing
	// left beside it.
	if size, was := s.Size(), int64(len(mustRead(t, file))); size == 0 || size > was {
		t.Fatalf("the file after migration is %d bytes, before %d", size, was)
	}
	if _, err := os.Stat(s.Path() + ".compact"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("compaction left its file: %v", err)
	}
	se, err := s.SignIn("user", testPass)
	must(t, err)
	cs, err := s.Conflicts()
	must(t, err)
	if len(cs) != 1 || cs[0].Field != domain.FieldResponsible || len(cs[0].Versions) != 2 {
		t.Fatalf("conflicts after migration: %+v", cs)
	}
	var life Ref
	must(t, s.Commitments(func(c Commitment) bool {
		if c.Title == "独居老人每月上门走访" {
			life = c.Ref
		}
		return true
	}))
	texts, err := s.FieldHistory(life, domain.FieldText)
	must(t, err)
	if len(texts) != 2 || texts[1].Value != "每两周走访一次" || texts[1].Reason != "县民政局提高走访频次要求" || texts[1].Kind != "amend" ||
		len(texts[1].Base) != 1 || texts[1].Base[0] != texts[0].Op || texts[1].Author != "user" || texts[1].Role != domain.RoleLeader {
		t.Fatalf("text history after migration: %+v", texts)
	}
	must(t, se.Transition(life, domain.StatusFulfilledLate, ""))
	if n, err := se.Seal(0); err != nil || n == 0 {
		t.Fatalf("Seal after migration: %d, %v", n, err)
	}
	st, err := s.FieldHistory(life, domain.FieldStatus)
	must(t, err)
	if last := st[len(st)-1]; last.Value != string(domain.StatusFulfilledLate) || last.Kind != "transition" {
		t.Fatalf("status history after migration: %+v", st)
	}
	must(t, s.Check())
}

// strictRoundTrip checks that record b under key k decodes to want, and
// that b cut short anywhere or lengthened by a byte does not decode.
func strictRoundTrip[T any](t *testing.T, k, b []byte, want T, decode func(k, b []byte) (T, error)) {
	t.Helper()
	got, err := decode(k, b)
	must(t, err)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
	for n := range len(b) {
		if _, err := decode(k, b[:n]); !errors.Is(err, ErrInvariant) {
			t.Fatalf("%d of %d bytes decode: %v", n, len(b), err)
		}
	}
	if _, err := decode(k, append(b, 0)); !errors.Is(err, ErrInvariant) {
		t.Fatalf("a trailing byte decodes: %v", err)
	}
}

// TestVersionEncodingRoundTrip: every shape of version reads back equal,
// and a record cut short or lengthened anywhere does not decode.
func TestVersionEncodingRoundTrip(t *testing.T) {
	ref := Ref{Office: township, ID: [16]byte{1, 2, 3}}
	dev := protocol.DeviceID{9, 8, 7}
	for _, v := range []Version{
		{Field: domain.FieldTitle, Op: protocol.OpID{Device: dev, Num: 1}, HLC: 1 << 50, Kind: "create", Value: "独居老人每月走访", Author: "user", Role: domain.RoleLeader},
		{Field: domain.FieldText, Op: protocol.OpID{Device: dev, Num: 1 << 40}, HLC: 7, Kind: "resolve", Value: "",
			Base: []protocol.OpID{{Device: dev, Num: 1}, {Device: protocol.DeviceID{0xff}, Num: 300}}, Author: "管理员", Role: domain.RoleCountyAdmin, Reason: "两项合并"},
		{},
	} {
		k := versionKey(ref, v.Field, v.Op)
		b := encodeVersion(&v)
		strictRoundTrip(t, k, b, v, decodeVersion)
		if _, err := decodeVersion(k[:len(k)-1], b); !errors.Is(err, ErrInvariant) {
			t.Fatalf("a short key decodes: %v", err)
		}
	}
}

// FuzzDecodeVersion: no input makes the decoder panic or allocate past the
// record, and what decodes encodes to a record that decodes the same.
func FuzzDecodeVersion(f *testing.F) {
	dev := protocol.DeviceID{9, 8, 7}
	k := versionKey(Ref{Office: township, ID: [16]byte{1}}, domain.FieldTitle, protocol.OpID{Device: dev, Num: 3})
	f.Add(k, encodeVersion(&Version{HLC: 5, Kind: "edit", Value: "标题", Base: []protocol.OpID{{Device: dev, Num: 1}}, Author: "user", Role: domain.RoleLeader, Reason: "r"}))
	f.Add(k, []byte{versionFormat})
	f.Add(k[:10], []byte{versionFormat, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, k, b []byte) {
		v, err := decodeVersion(k, b)
		if err != nil {
			if !errors.Is(err, ErrInvariant) {
				t.Fatalf("error without ErrInvariant: %v", err)
			}
			return
		}
		again, err := decodeVersion(versionKey(Ref{}, v.Field, v.Op), encodeVersion(&v))
		if err != nil || !reflect.DeepEqual(again, v) {
			t.Fatalf("re-encoded %+v: %+v, %v", v, again, err)
		}
	})
}

// TestCommitmentEncodingRoundTrip: every shape of view reads back equal,
// and a record cut short or lengthened anywhere does not decode.
func TestCommitmentEncodingRoundTrip(t *testing.T) {
	dev := protocol.DeviceID{9, 8, 7}
	full := Commitment{Ref: Ref{Office: township, ID: [16]byte{1, 2, 3}}, Created: true, CreatedBy: "user", CreatedAt: 1 << 50, CreatedDevice: dev,
		Category: domain.CatElderlyCare, Title: "独居老人每月走访", Text: "对辖区内80岁以上独居老人每月上门走访一次。", LegalBasis: "《条例》",
		Responsible: "王建国", StartDate: "2026-09-30", Deadline: "workdays:7", Public: true, Status: domain.StatusInProgress,
		Version: 3, Conflicted: []domain.Field{domain.FieldTitle, domain.FieldResponsible}, UpdatedAt: 1<<50 + 9, Entries: 12, Progress: 40,
		LastEntry: &EntryPointer{Date: calendar.NewDate(2026, 10, 9), HLC: 1<<50 + 3, Op: protocol.OpID{Device: dev, Num: 300}}}
	for _, c := range []Commitment{full, {Ref: Ref{Office: county, ID: [16]byte{0xff}}, Status: domain.StatusDraft}, {}} {
		k := refKey(c.Ref)
		b := encodeCommitment(&c)
		strictRoundTrip(t, k, b, c, decodeCommitment)
		if _, err := decodeCommitment(append(k, 0), b); !errors.Is(err, ErrInvariant) {
			t.Fatalf("a long key decodes: %v", err)
		}
		bad := append([]byte(nil), b...)
		bad[1] |= 0x80
		if _, err := decodeCommitment(k, bad); !errors.Is(err, ErrInvariant) {
			t.Fatalf("an unknown flag decodes: %v", err)
		}
	}
}

// FuzzDecodeCommitment: no input makes the decoder panic, and what decodes
// encodes to a record that decodes the same.
func FuzzDecodeCommitment(f *testing.F) {
	k := refKey(Ref{Office: township, ID: [16]byte{1}})
	f.Add(k, encodeCommitment(&Commitment{Created: true, Title: "标题", Conflicted: []domain.Field{domain.FieldTitle},
		LastEntry: &EntryPointer{Date: calendar.NewDate(2026, 10, 9), HLC: 3}}))
	f.Add(k, []byte{commitmentFormat, 0})
	f.Fuzz(func(t *testing.T, k, b []byte) {
		c, err := decodeCommitment(k, b)
		if err != nil {
			if !errors.Is(err, ErrInvariant) {
				t.Fatalf("error without ErrInvariant: %v", err)
			}
			return
		}
		again, err := decodeCommitment(refKey(c.Ref), encodeCommitment(&c))
		if err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("re-encoded %+v: %+v, %v", c, again, err)
		}
	})
}

func bool2int(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestMigrateWithoutRoomToCompact: when the compaction after the upgrade
// cannot be made (here its temporary file's name is taken by a directory
// that cannot be removed; on a device, a disk without room for a second
// copy), the upgraded file opens all the same, whole and checked: an
// office is never kept from its work by a file only larger than it need be.
func TestMigrateWithoutRoomToCompact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "replica.db")
	must(t, os.WriteFile(path, mustRead(t, "testdata/schema7-township.db"), 0o600))
	must(t, os.MkdirAll(filepath.Join(path+".compact", "in-the-way"), 0o700))
	s, err := Open(path, &Options{Now: newStepClock().Now, KDF: auth.TestParams(), Logger: quietLogger(), NoSync: true})
	if err != nil {
		t.Fatalf("the upgrade failed for want of a compaction: %v", err)
	}
	defer s.Close()
	if v, _ := s.Schema(); v != SchemaVersion {
		t.Fatalf("schema %d after the upgrade", v)
	}
	must(t, s.Check())
	se, err := s.SignIn("user", testPass)
	must(t, err)
	n := 0
	must(t, s.Commitments(func(Commitment) bool { n++; return true }))
	if n != 5 || se == nil {
		t.Fatalf("%d commitments after the upgrade", n)
	}
}
