package county_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/server/county"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// Sync by USB stick (docs/sync-file.md) against a real county server: the
// device exports a bundle, the county admin imports it (through the admin
// API, or the server's method the API calls), the device imports the
// return file.

// export writes a bundle of the device's work.
func (d *device) export(opt engine.ExportOptions) ([]byte, engine.ExportSummary) {
	d.t.Helper()
	var b bytes.Buffer
	sum, err := d.eng.ExportBundle(&b, opt)
	if err != nil {
		d.t.Fatalf("export: %v", err)
	}
	if sum.Bytes != int64(b.Len()) {
		d.t.Fatalf("export says %d bytes, wrote %d", sum.Bytes, b.Len())
	}
	return b.Bytes(), sum
}

// importReturn imports a return file on the device.
func (d *device) importReturn(ret []byte) engine.ImportSummary {
	d.t.Helper()
	sum, err := d.eng.ImportReturn(context.Background(), bytes.NewReader(ret))
	if err != nil {
		d.t.Fatalf("importing the return file: %v", err)
	}
	return sum
}

// importBundle imports a bundle on the county as an admin would, and
// returns the return file.
func (h *harness) importBundle(bundle []byte) ([]byte, countyapi.SyncImport) {
	h.t.Helper()
	ret, err := h.srv.ImportSyncFile(context.Background(), bytes.NewReader(bundle), "admin", "127.0.0.1:1")
	if err != nil {
		h.t.Fatalf("importing the bundle: %v", err)
	}
	defer ret.Close()
	var b bytes.Buffer
	if _, err := ret.WriteTo(&b); err != nil {
		h.t.Fatal(err)
	}
	if int64(b.Len()) != ret.ReturnBytes {
		h.t.Fatalf("return file of %d bytes, summary says %d", b.Len(), ret.ReturnBytes)
	}
	return b.Bytes(), ret.SyncImport
}

// stick syncs the device by file: export, import on the county, import
// the return file.
func (h *harness) stick(d *device) engine.ImportSummary {
	h.t.Helper()
	bundle, _ := d.export(engine.ExportOptions{})
	ret, _ := h.importBundle(bundle)
	return d.importReturn(ret)
}

// pdf is evidence content that sniffs as a PDF, n bytes or a little more.
func pdf(label string, n int) []byte {
	b := []byte("%PDF-1.4\n" + label + "\n")
	for len(b) < n {
		b = append(b, fmt.Sprintf("%s %d\n", label, len(b))...)
	}
	return b
}

// work makes n commitments on the device (a leader's), publishes the
// first and logs a fulfilment entry citing a new evidence file on it, and
// returns the file: n+3 operations.
func (d *device) work(title string, n int, evidenceBytes int) protocol.Hash {
	d.t.Helper()
	var first store.Ref
	for i := range n {
		ref := d.create(fmt.Sprintf("%s-%d", title, i))
		if i == 0 {
			first = ref
			if err := d.se.Publish(ref); err != nil {
				d.t.Fatal(err)
			}
		}
	}
	content := pdf(title, evidenceBytes)
	h, err := d.se.AddEvidence(title+".pdf", "application/pdf", bytes.NewReader(content))
	if err != nil {
		d.t.Fatal(err)
	}
	if _, err := d.se.LogFulfilment(first, store.EntryInput{Date: calendar.NewDate(2026, 11, 3), Progress: 20, Note: title, Evidence: []protocol.Hash{h}}); err != nil {
		d.t.Fatal(err)
	}
	return h
}

// outbox is how many change sets wait for a receipt.
func (d *device) outbox() int {
	d.t.Helper()
	c, err := d.st.Pending()
	if err != nil {
		d.t.Fatal(err)
	}
	return c.OutboxChangeSets + c.PendingOps
}

func (d *device) cursor() uint64 {
	d.t.Helper()
	c, err := d.st.Cursor()
	if err != nil {
		d.t.Fatal(err)
	}
	return c
}

func (d *device) hasEvidence(h protocol.Hash) bool {
	d.t.Helper()
	ok, err := d.st.HasEvidence(h)
	if err != nil {
		d.t.Fatal(err)
	}
	return ok
}

// TestFileSyncRoundTrip: a device that never connects exchanges its work
// with the county and an online device of its office through the admin
// API: its change sets receipted, its evidence up, the other's records and
// evidence down, the outbox empty, the last sync "by file".
func TestFileSyncRoundTrip(t *testing.T) {
	h := newHarness(t)
	stick := h.device(townA, domain.RoleLeader)
	online := h.device(townA, domain.RoleLeader)
	other := h.device(townB, domain.RoleLeader) // another office: nothing of it reaches townA

	theirs := online.work("在线终端", 3, 100_000)
	online.sync()
	other.work("合峪镇", 2, 1000)
	other.sync()
	mine := stick.work("U盘终端", 4, 200_000)
	if stick.outbox() == 0 {
		t.Fatal("nothing to export")
	}

	bundle, exp := stick.export(engine.ExportOptions{})
	if exp.Number != 1 || exp.ChangeSets == 0 || exp.Ops != 7 || exp.EvidenceSent != 1 || exp.EvidenceWanted != 0 || exp.First.IsZero() || exp.Last.Before(exp.First) {
		t.Fatalf("export summary %+v", exp)
	}
	if stick.outbox() == 0 {
		t.Fatal("the export emptied the outbox")
	}
	var ret bytes.Buffer
	sum, err := h.apiClient(t).ImportSyncFile(context.Background(), bytes.NewReader(bundle), int64(len(bundle)), &ret)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Device != stick.se.Device().ID || sum.Receipted != exp.ChangeSets || sum.Refused != 0 || sum.EvidenceIn != 1 || sum.EvidenceOut != 1 ||
		!sum.FeedComplete || sum.Delivered == 0 || sum.ReturnBytes != int64(ret.Len()) {
		t.Fatalf("import summary %+v (return of %d bytes)", sum, ret.Len())
	}
	if ok, _ := h.srv.Store().HasEvidence(mine); !ok {
		t.Fatal("the county lacks the evidence the bundle carried")
	}
	got := stick.importReturn(ret.Bytes())
	if got.Receipts != exp.ChangeSets || len(got.Refused) != 0 || got.Delivered != sum.Delivered || got.EvidenceReceived != 1 || got.EvidenceConfirmed != 1 || got.Outbox != 0 {
		t.Fatalf("return summary %+v", got)
	}
	if stick.outbox() != 0 || !stick.hasEvidence(theirs) {
		t.Fatalf("after the return file: outbox %d, the other's evidence %v", stick.outbox(), stick.hasEvidence(theirs))
	}
	if l, ok, err := stick.st.LastSyncState(); err != nil || !ok || l.Via != store.SyncedByFile {
		t.Fatalf("last sync %+v %v %v", l, ok, err)
	}
	if s := stick.eng.Status(); s.LastSyncVia != store.SyncedByFile || s.LastReceiptSeq == 0 {
		t.Fatalf("status after the import %+v", s)
	}
	// The online device gets the stick's work the usual way; both hold
	// the same.
	online.sync()
	if !online.hasEvidence(mine) {
		t.Fatal("the online device lacks the stick's evidence")
	}
	stick.sync() // online now: nothing left to move either way
	if stick.digest() != online.digest() {
		t.Fatal("the stick device and the online device differ")
	}
	if l, _, _ := stick.st.LastSyncState(); l.Via != store.SyncedOnline {
		t.Fatalf("last sync after a session %+v", l)
	}
	// The import is in the audit trail.
	rep, err := h.apiClient(t).Audit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(rep.Entries, func(e countyapi.AuditEntry) bool {
		return e.Action == county.AuditSyncImport && e.Target == stick.se.Device().ID.String() && e.Who == "admin"
	}) {
		t.Fatalf("no audit entry of the import: %+v", rep.Entries)
	}
}

// TestFileSyncOversize: a bundle is bounded on the device (the change sets
// must fit, evidence goes as far as it fits) and on the county (a larger
// bundle is refused as oversize, 413, nothing stored).
func TestFileSyncOversize(t *testing.T) {
	h := newHarnessWith(t, func(c *county.Config) { c.MaxSyncFileBytes = 64 << 10 })
	d := h.device(townA, domain.RoleLeader)
	d.work("大文件", 1, 100_000)
	// On the device: change sets over its limit are refused, with no day
	// to stop at (all of it is today's); evidence over it waits.
	var b bytes.Buffer
	var tl *engine.TooLargeError
	if _, err := d.eng.ExportBundle(&b, engine.ExportOptions{MaxBytes: 512}); !errors.As(err, &tl) || !errors.Is(err, protocol.ErrOversize) || !tl.Until.IsZero() {
		t.Fatalf("a bundle over the device's limit: %v", err)
	}
	if _, sum := d.export(engine.ExportOptions{MaxBytes: 4 << 10, DryRun: true}); sum.ChangeSets != 1 || sum.EvidenceSent != 0 || sum.EvidenceLeft != 1 {
		t.Fatalf("a bundle with room for the change sets only: %+v", sum)
	}
	bundle, _ := d.export(engine.ExportOptions{})
	before := h.srv.Store()
	head, _ := before.FeedHead()
	_, err := h.apiClient(t).ImportSyncFile(context.Background(), bytes.NewReader(bundle), int64(len(bundle)), &bytes.Buffer{})
	var ae *countyapi.APIError
	if !errors.As(err, &ae) || ae.Code != protocol.CodeOversize || ae.Status != 413 {
		t.Fatalf("a bundle over the county's limit: %v", err)
	}
	if after, _ := h.srv.Store().FeedHead(); after != head {
		t.Fatal("an oversize bundle stored change sets")
	}
	h.wantIncidentFor(t, protocol.DeviceID{}, protocol.CodeOversize)
}

// twin copies the stopped county's data directory into a second county
// server with the same identity and state, and starts both again.
func (h *harness) twin() *harness {
	h.t.Helper()
	dir2 := h.t.TempDir() + "/county"
	h.restart(func(dir string) {
		if err := os.CopyFS(dir2, os.DirFS(dir)); err != nil {
			h.t.Fatal(err)
		}
	})
	h2 := &harness{t: h.t, dir: dir2, edit: h.edit}
	h2.start("127.0.0.1:0")
	h.t.Cleanup(h2.stop)
	return h2
}

// clone copies the device's replica file (nothing may be writing it) and
// signs in on the copy: the same device, key and chain, in another file.
func (d *device) clone(h *harness) *device {
	t := d.t
	t.Helper()
	path := filepath.Join(t.TempDir(), "clone.db")
	copyFile(t.(*testing.T), d.st.Path(), path)
	st, err := store.Open(path, &store.Options{KDF: auth.TestParams(), Logger: quiet(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Check(); err != nil {
			t.Errorf("cloned replica invariants: %v", err)
		}
		st.Close()
	})
	se, err := st.SignIn("user", devPass)
	if err != nil {
		t.Fatal(err)
	}
	return &device{t: t, st: st, se: se, receipted: make(chan uint64, 1),
		eng: engine.New(se, engine.Config{URL: h.base.SyncURL(), Fingerprint: h.base.Fingerprint, CountyKey: h.key, County: countyCode, Logger: quiet()})}
}

// receipts returns the device's receipts for its change sets 1 … its head.
func (d *device) receipts() [][]byte {
	d.t.Helper()
	heads, err := d.st.Heads()
	if err != nil {
		d.t.Fatal(err)
	}
	var out [][]byte
	for seq := uint64(1); seq <= heads[d.se.Device().ID].Seq; seq++ {
		rc, err := d.st.Receipt(seq)
		if err != nil {
			d.t.Fatalf("change set %d: %v", seq, err)
		}
		out = append(out, rc)
	}
	return out
}

// fileSyncOps is how many operations TestFileSyncEqualsOnline makes:
// 10,000, or 1,000 under the race detector (which makes them some twenty
// times slower), unless -filesync.ops says.
var fileSyncOps = flag.Int("filesync.ops", 0, "operations of the device in TestFileSyncEqualsOnline (default 10,000; 1,000 under -race)")

func equalsOnlineOps() int {
	switch {
	case *fileSyncOps > 0:
		return *fileSyncOps
	case raceEnabled:
		return 1_000
	}
	return 10_000
}

// TestFileSyncEqualsOnline: a device with 10,000 operations and evidence
// syncs by stick alone with one county, and a copy of it online with a
// copy of that county: both counties end identical, both devices end
// identical (the same records, the others' evidence, the same calendar and
// revocations), with byte-identical receipts.
func TestFileSyncEqualsOnline(t *testing.T) {
	ops := equalsOnlineOps()
	if ops < 100 || ops%100 != 0 {
		t.Fatalf("-filesync.ops %d: want a multiple of 100", ops)
	}
	fixed := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	// No fsync: what is compared is the state, not its durability.
	h := newHarnessWith(t, func(c *county.Config) { c.Now, c.NoSync = func() time.Time { return fixed }, true })
	a := h.device(townA, domain.RoleLeader)
	b := h.device(townA, domain.RoleLeader)
	c := h.device(townB, domain.RoleLeader)
	x := h.device(townA, domain.RoleStaff)

	// The county's side of the work: another device of the office with
	// evidence, another office, a revoked device, a calendar update.
	theirs := b.work("乙终端", 20, 300_000)
	b.sync()
	c.work("合峪镇", 5, 1000)
	c.sync()
	x.create("已注销终端的承诺")
	x.sync()
	if err := h.srv.Revoke(x.se.Device().ID, "终端遗失", "admin"); err != nil {
		t.Fatal(err)
	}
	overlay, err := os.ReadFile("../../domain/calendar/testdata/overlay-example.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.srv.PublishCalendar(overlay, "admin"); err != nil {
		t.Fatal(err)
	}

	// The device's: 10,000 operations, two evidence files (one of many
	// chunks).
	var files []protocol.Hash
	files = append(files, a.work("甲终端", 1, 50_000)) // 4 operations
	ref := a.create("大件佐证")
	if err := a.se.Publish(ref); err != nil {
		t.Fatal(err)
	}
	big, err := a.se.AddEvidence("台账.pdf", "application/pdf", bytes.NewReader(pdf("台账", 3<<20)))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, big)
	if _, err := a.se.LogFulfilment(ref, store.EntryInput{Date: calendar.NewDate(2026, 11, 4), Progress: 50, Note: "台账", Evidence: []protocol.Hash{big}}); err != nil {
		t.Fatal(err)
	}
	items := make([]store.BatchItem, ops-8)
	for i := range items {
		title := fmt.Sprintf("批量承诺%05d", i)
		items[i] = store.BatchItem{Draft: store.Draft{Category: domain.CatConvenience, Title: title, Text: title + "：承诺内容",
			Responsible: "负责人", StartDate: calendar.NewDate(2026, 11, 2), Deadline: domain.WorkdaysDeadline(10), Public: true}}
	}
	if _, err := a.se.CreateBatch(items); err != nil {
		t.Fatal(err)
	}
	if n, _ := a.st.Pending(); n.PendingOps != ops {
		t.Fatalf("%d operations pending, want %d", n.PendingOps, ops)
	}

	// Two worlds from here: the county and the device copied.
	h2 := h.twin()
	a2 := a.clone(h2)

	a.sync() // world 1: online
	bundle, exp := a2.export(engine.ExportOptions{})
	sets := ops / store.DefaultMaxOpsPerChangeSet
	if exp.Ops != ops || exp.ChangeSets != sets || exp.EvidenceSent != 2 {
		t.Fatalf("export of %d operations: %+v", ops, exp)
	}
	ret, sum := h2.importBundle(bundle) // world 2: by stick
	if sum.Receipted != sets || sum.Refused != 0 || !sum.FeedComplete || sum.EvidenceIn != 2 {
		t.Fatalf("import: %+v", sum)
	}
	got := a2.importReturn(ret)
	if got.Receipts != sets || got.Outbox != 0 || got.Revocations != 1 || got.Calendar == 0 {
		t.Fatalf("return: %+v", got)
	}

	d1, err := h.srv.Store().Digest()
	if err != nil {
		t.Fatal(err)
	}
	d2, err := h2.srv.Store().Digest()
	if err != nil {
		t.Fatal(err)
	}
	if d1 != d2 {
		t.Fatal("the county that took the stick differs from the one that took the session")
	}
	if a.digest() != a2.digest() {
		t.Fatal("the device synced by stick differs from the one synced online")
	}
	if !slices.EqualFunc(a.receipts(), a2.receipts(), bytes.Equal) {
		t.Fatal("the receipts differ")
	}
	if a.cursor() != a2.cursor() {
		t.Fatalf("cursors %d online, %d by stick", a.cursor(), a2.cursor())
	}
	for _, w := range []struct {
		name string
		d    *device
		h    *harness
	}{{"online", a, h}, {"stick", a2, h2}} {
		if !w.d.hasEvidence(theirs) {
			t.Fatalf("%s: the other device's evidence did not come", w.name)
		}
		for _, f := range files {
			if ok, _ := w.h.srv.Store().HasEvidence(f); !ok {
				t.Fatalf("%s: the county lacks the device's evidence", w.name)
			}
		}
		if v, _, ok, _ := w.d.st.CalendarUpdate(); !ok || v != 1 {
			t.Fatalf("%s: calendar update %d", w.name, v)
		}
		if rec, err := w.d.st.DeviceRecord(x.se.Device().ID); err != nil || !rec.Revoked {
			t.Fatalf("%s: the revoked device %+v, %v", w.name, rec, err)
		}
	}
}

// TestFileSyncMixed: online sessions, bundles and return files in random
// order — bundles imported late, twice or never, return files imported
// late, twice or never — against another device of the office working
// online all along. Every return file the model says is current is
// taken and every other one refused as stale; the cursor never goes back;
// in the end every change set is in the county once, every one of the
// device's receipted, and both devices hold the same.
func TestFileSyncMixed(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { fileSyncMixed(t, seed, 30) })
	}
}

func fileSyncMixed(t *testing.T, seed uint64, steps int) {
	h := newHarness(t)
	a := h.device(townA, domain.RoleLeader) // online and by stick
	b := h.device(townA, domain.RoleLeader) // online only
	rng := rand.New(rand.NewPCG(seed, 2026))
	type bundle struct {
		number uint64
		raw    []byte
	}
	var bundles []bundle
	var returns []bundle
	awaiting := map[uint64]bool{} // bundles exported whose return file is current
	var imported uint64           // the last return file imported
	cursor := a.cursor()
	n := 0
	act := func(d *device) {
		n++
		ref := d.create(fmt.Sprintf("第%d项", n))
		if rng.IntN(3) == 0 {
			if err := d.se.Publish(ref); err != nil {
				t.Fatal(err)
			}
			f, err := d.se.AddEvidence("照片.pdf", "application/pdf", bytes.NewReader(pdf(fmt.Sprint("证", n), 1+rng.IntN(90_000))))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.se.LogFulfilment(ref, store.EntryInput{Date: calendar.NewDate(2026, 11, 3), Progress: 10, Note: "走访", Evidence: []protocol.Hash{f}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for step := range steps {
		switch k := rng.IntN(7); k {
		case 0, 1:
			act(a)
		case 2:
			act(b)
			b.sync()
		case 3:
			a.sync()
		case 4:
			raw, sum := a.export(engine.ExportOptions{})
			bundles = append(bundles, bundle{sum.Number, raw})
			awaiting[sum.Number] = true
		case 5:
			if len(bundles) == 0 {
				continue
			}
			// Mostly the newest, sometimes an older one again.
			i := len(bundles) - 1
			if rng.IntN(3) == 0 {
				i = rng.IntN(len(bundles))
			}
			raw, sum := h.importBundle(bundles[i].raw)
			if sum.Refused != 0 {
				t.Fatalf("step %d: the county refused a bundle's change sets: %+v", step, sum)
			}
			returns = append(returns, bundle{bundles[i].number, raw})
		case 6:
			if len(returns) == 0 {
				continue
			}
			i := len(returns) - 1
			if rng.IntN(3) == 0 {
				i = rng.IntN(len(returns))
			}
			r := returns[i]
			_, err := a.eng.ImportReturn(context.Background(), bytes.NewReader(r.raw))
			current := r.number > imported && awaiting[r.number]
			switch {
			case current && err != nil:
				t.Fatalf("step %d: the return file of bundle %d (last imported %d) was refused: %v", step, r.number, imported, err)
			case !current && protocol.CodeOf(err) != protocol.CodeStaleFile:
				t.Fatalf("step %d: the return file of bundle %d (last imported %d) was not refused as stale: %v", step, r.number, imported, err)
			case current:
				imported = r.number
				for k := range awaiting {
					if k <= imported {
						delete(awaiting, k)
					}
				}
			}
		}
		if c := a.cursor(); c < cursor {
			t.Fatalf("step %d: the cursor went back from %d to %d", step, cursor, c)
		} else {
			cursor = c
		}
	}
	// The last of it by stick, then online.
	h.stick(a)
	if c := a.cursor(); c < cursor {
		t.Fatalf("the cursor went back from %d to %d", cursor, c)
	}
	a.sync()
	b.sync()
	if a.outbox() != 0 || b.outbox() != 0 {
		t.Fatalf("outboxes %d and %d after everything", a.outbox(), b.outbox())
	}
	a.receipts() // each of a's change sets has its receipt
	heads, err := h.srv.Store().Heads()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[protocol.DeviceID]map[uint64]bool{}
	err = h.srv.Store().Feed(0, 0, func(e store.FeedEntry, _ []byte) bool {
		if seen[e.Device] == nil {
			seen[e.Device] = map[uint64]bool{}
		}
		if seen[e.Device][e.Seq] {
			t.Fatalf("change set %s/%d twice in the feed", e.Device.Short(), e.Seq)
		}
		seen[e.Device][e.Seq] = true
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*device{a, b} {
		id := d.se.Device().ID
		if mine, _ := d.st.Heads(); uint64(len(seen[id])) != heads[id].Seq || heads[id] != mine[id] {
			t.Fatalf("device %s: %d change sets in the feed, county head %+v, the device's %+v", id.Short(), len(seen[id]), heads[id], mine[id])
		}
	}
	if a.digest() != b.digest() {
		t.Fatal("the two devices of the office differ")
	}
}

// unenrolled is a device with its own key and replica that never enrolled
// with h, set up to make sync files for h's county.
func (h *harness) unenrolled(o office.Code) *device {
	t := h.t
	st, err := store.Open(filepath.Join(t.TempDir(), "unenrolled.db"), &store.Options{KDF: auth.TestParams(), Logger: quiet(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	se, err := st.Setup(store.SetupConfig{Office: o, DeviceName: "未注册终端", Name: "user", DisplayName: "工作人员", Role: domain.RoleLeader, Passphrase: devPass})
	if err != nil {
		t.Fatal(err)
	}
	return &device{t: t, st: st, se: se, receipted: make(chan uint64, 1),
		eng: engine.New(se, engine.Config{URL: h.base.SyncURL(), Fingerprint: h.base.Fingerprint, CountyKey: h.key, County: countyCode, Logger: quiet()})}
}

// reseal writes a sync file again with edit applied to its header, signed
// by sign.
func reseal(t *testing.T, raw []byte, edit func(*protocol.SyncFile), sign func(protocol.Hash) []byte) []byte {
	t.Helper()
	var frames []*protocol.Frame
	f, err := protocol.ReadSyncFile(bytes.NewReader(raw), 0, func(fr *protocol.Frame) error {
		frames = append(frames, fr)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	edit(f)
	var out bytes.Buffer
	var w *protocol.SyncFileWriter
	if f.Bundle != nil {
		w, err = protocol.NewBundleWriter(&out, f.Bundle, 0)
	} else {
		w, err = protocol.NewReturnWriter(&out, f.Return, 0)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, fr := range frames {
		if err := w.Add(fr); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Close(sign); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestFileSyncBadBundles: a bundle cut at any byte, damaged, of another
// county, forged for another device, of a device unknown or revoked, or a
// return file in its place: each refused with its code and recorded,
// nothing stored.
func TestFileSyncBadBundles(t *testing.T) {
	h := newHarness(t)
	a := h.device(townA, domain.RoleLeader)
	b := h.device(townA, domain.RoleLeader)
	file := a.work("坏文件", 1, 1500)
	bundle, _ := a.export(engine.ExportOptions{})
	before := h.replicaSnapshot(t)
	try := func(name string, raw []byte, want ...protocol.Code) {
		t.Helper()
		ret, err := h.srv.ImportSyncFile(context.Background(), bytes.NewReader(raw), "admin", "127.0.0.1:1")
		if err == nil {
			ret.Close()
			t.Fatalf("%s: imported", name)
		}
		if !slices.Contains(want, protocol.CodeOf(err)) {
			t.Fatalf("%s: refused with %s (%v), want %v", name, protocol.CodeOf(err), err, want)
		}
	}
	for n := range len(bundle) {
		try(fmt.Sprintf("cut at %d of %d", n, len(bundle)), bundle[:n], protocol.CodeMalformed)
	}
	h.wantUnchanged(t, before)
	h.wantIncidentFor(t, protocol.DeviceID{}, protocol.CodeMalformed)
	sigAt := len(bundle) - 64
	for i := 0; i < len(bundle); i += 1 + i/4 {
		try(fmt.Sprintf("bit flipped in byte %d", i), flip(bundle, i), protocol.CodeMalformed, protocol.CodeUnknownVersion)
	}
	for i := sigAt; i < len(bundle); i += 7 {
		try(fmt.Sprintf("bit flipped in signature byte %d", i-sigAt), flip(bundle, i), protocol.CodeBadSignature)
	}
	try("a byte more", append(bytes.Clone(bundle), 0), protocol.CodeMalformed)

	// Another county's: same code, another key.
	other := newHarness(t)
	z := other.device(townA, domain.RoleLeader)
	z.work("外县", 1, 100)
	zb, _ := z.export(engine.ExportOptions{})
	try("another county's bundle", zb, protocol.CodeWrongServer)
	h.wantIncidentFor(t, z.se.Device().ID, protocol.CodeWrongServer)

	// Forged for another device: b's name, a's signature.
	forged := reseal(t, bundle, func(f *protocol.SyncFile) { f.Bundle.Device = b.se.Device().ID }, a.se.SignSyncBundle)
	try("a bundle claiming another device", forged, protocol.CodeBadSignature)
	h.wantIncidentFor(t, b.se.Device().ID, protocol.CodeBadSignature)
	// Signed right but claiming another office.
	forged = reseal(t, bundle, func(f *protocol.SyncFile) { f.Bundle.Office = townB }, a.se.SignSyncBundle)
	try("a bundle claiming another office", forged, protocol.CodeOutOfScope)
	h.wantIncidentFor(t, a.se.Device().ID, protocol.CodeOutOfScope)

	u := h.unenrolled(townA)
	u.create("未注册")
	ub, _ := u.export(engine.ExportOptions{})
	try("a device never enrolled", ub, protocol.CodeUnknownDevice)
	h.wantIncidentFor(t, u.se.Device().ID, protocol.CodeUnknownDevice)

	b.create("注销前")
	bb, _ := b.export(engine.ExportOptions{})
	if err := h.srv.Revoke(b.se.Device().ID, "终端遗失", "admin"); err != nil {
		t.Fatal(err)
	}
	before = h.replicaSnapshot(t)
	try("a revoked device", bb, protocol.CodeRevokedDevice)
	h.wantIncidentFor(t, b.se.Device().ID, protocol.CodeRevokedDevice)

	// A return file is no bundle.
	ret, _ := h.importBundle(bundle)
	before = h.replicaSnapshot(t)
	try("a return file", ret, protocol.CodeMalformed)
	// A record claiming 2⁴⁰ bytes: refused before anything is read.
	head := bundle[:5+1+int(bundle[5])]
	try("a length bomb", binary.AppendUvarint(bytes.Clone(head), 1<<40), protocol.CodeMalformed)
	h.wantUnchanged(t, before)
	if ok, _ := h.srv.Store().HasEvidence(file); !ok {
		t.Fatal("the good bundle's evidence is missing")
	}
}

// flip returns b with one bit of byte i flipped.
func flip(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i] ^= 1 << (i % 8)
	return out
}

// deviceState is what must not change on a device when a return file is
// refused.
type deviceState struct {
	digest   protocol.Hash
	cursor   uint64
	counts   store.Counts
	files    string
	lastSync store.LastSync
}

func (d *device) snapshot() deviceState {
	d.t.Helper()
	c, err := d.st.Pending()
	if err != nil {
		d.t.Fatal(err)
	}
	fs, err := d.st.FileSyncState()
	if err != nil {
		d.t.Fatal(err)
	}
	l, _, err := d.st.LastSyncState()
	if err != nil {
		d.t.Fatal(err)
	}
	return deviceState{digest: d.digest(), cursor: d.cursor(), counts: c, files: fmt.Sprintf("%+v", fs), lastSync: l}
}

// TestFileSyncBadReturns: a return file cut at any byte, damaged, of
// another county, for another device, a bundle in its place, an old one
// replayed: each refused with its code, nothing stored on the device.
func TestFileSyncBadReturns(t *testing.T) {
	h := newHarness(t)
	a := h.device(townA, domain.RoleLeader)
	b := h.device(townA, domain.RoleLeader)
	b.work("乙", 1, 700)
	b.sync()
	a.work("甲", 1, 500)
	bundle, _ := a.export(engine.ExportOptions{})
	ret, sum := h.importBundle(bundle)
	if sum.Delivered == 0 || sum.EvidenceOut == 0 || sum.Receipted == 0 {
		t.Fatalf("the return file to damage holds too little: %+v", sum)
	}
	before := a.snapshot()
	try := func(name string, raw []byte, want ...protocol.Code) {
		t.Helper()
		_, err := a.eng.ImportReturn(context.Background(), bytes.NewReader(raw))
		if !slices.Contains(want, protocol.CodeOf(err)) {
			t.Fatalf("%s: %s (%v), want %v", name, protocol.CodeOf(err), err, want)
		}
		if after := a.snapshot(); after != before {
			t.Fatalf("%s: the device changed: %+v → %+v", name, before, after)
		}
	}
	for n := range len(ret) {
		try(fmt.Sprintf("cut at %d of %d", n, len(ret)), ret[:n], protocol.CodeMalformed)
	}
	sigAt := len(ret) - 64
	for i := 0; i < sigAt; i += 1 + i/4 {
		try(fmt.Sprintf("bit flipped in byte %d", i), flip(ret, i), protocol.CodeMalformed, protocol.CodeUnknownVersion)
	}
	for i := sigAt; i < len(ret); i += 7 {
		try(fmt.Sprintf("bit flipped in signature byte %d", i-sigAt), flip(ret, i), protocol.CodeWrongServer)
	}
	try("a bundle", bundle, protocol.CodeMalformed)

	other := newHarness(t)
	z := other.device(townA, domain.RoleLeader)
	z.create("外县")
	zb, _ := z.export(engine.ExportOptions{})
	zr, _ := other.importBundle(zb)
	try("another county's return file", zr, protocol.CodeWrongServer)

	b.create("乙又一项")
	bb, _ := b.export(engine.ExportOptions{})
	br, _ := h.importBundle(bb)
	try("another device's return file", br, protocol.CodeWrongDevice)

	// Forged: the county's file for a, edited and signed by a itself.
	forged := reseal(t, ret, func(f *protocol.SyncFile) { f.Return.Number = 2 }, a.se.SignSyncBundle)
	try("a return file not signed by the county", forged, protocol.CodeWrongServer)

	// The real one goes in; then neither it nor an older one again.
	got := a.importReturn(ret)
	if got.Receipts != sum.Receipted || got.Outbox != 0 {
		t.Fatalf("the good return file: %+v", got)
	}
	before = a.snapshot()
	try("the same return file again", ret, protocol.CodeStaleFile)
	a.create("第二件")
	b2, _ := a.export(engine.ExportOptions{})
	r2, _ := h.importBundle(b2)
	a.create("第三件")
	b3, _ := a.export(engine.ExportOptions{})
	r3, _ := h.importBundle(b3)
	a.importReturn(r3)
	before = a.snapshot()
	try("an older return file after a newer one", r2, protocol.CodeStaleFile)
	try("the first return file replayed", ret, protocol.CodeStaleFile)
	if a.outbox() != 0 {
		t.Fatal("the newest return file did not empty the outbox")
	}
}

// TestFileSyncRefusedLikeOnline: the county refuses a bundle's change set
// as it refuses a pushed one — same code, same incident, nothing stored —
// here a copy of the device that synced other work online first (a fork);
// the device refuses the return file as it refuses such a welcome.
func TestFileSyncRefusedLikeOnline(t *testing.T) {
	h := newHarness(t)
	a := h.device(townA, domain.RoleLeader)
	a.create("原件")
	copied := a.clone(h)
	copied.create("复制件另做的")
	copied.sync()
	bundle, _ := a.export(engine.ExportOptions{})
	before := h.replicaSnapshot(t)
	ret, sum := h.importBundle(bundle)
	if sum.Refused != 1 || sum.RefusedCode != protocol.CodeFork || sum.Receipted != 0 {
		t.Fatalf("import of a forked chain: %+v", sum)
	}
	h.wantUnchanged(t, before)
	h.wantIncidentFor(t, a.se.Device().ID, protocol.CodeFork)
	st := a.snapshot()
	if _, err := a.eng.ImportReturn(context.Background(), bytes.NewReader(ret)); protocol.CodeOf(err) != protocol.CodeFork {
		t.Fatalf("the return file of a forked device: %v", err)
	}
	if a.snapshot() != st {
		t.Fatal("a refused return file changed the device")
	}
	// Online, the same device stops with the same code.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := a.eng.SyncOnce(ctx); protocol.CodeOf(err) != protocol.CodeFork {
		t.Fatalf("online: %v", err)
	}
}

// TestFileSyncAfterCountyRestored: the county is restored from a backup
// older than what a device synced online. The device's first bundle does
// not continue the county's chain of it: the county takes none of its
// change sets (no gap refused) and sends its feed from the start; the
// device resets its cursor, and its next bundle carries again what the
// county lost, evidence included. In the end the county holds all of it.
func TestFileSyncAfterCountyRestored(t *testing.T) {
	h := newHarness(t)
	a := h.device(townA, domain.RoleLeader)
	b := h.device(townA, domain.RoleLeader)
	a.create("A1")
	a.sync()
	b.create("B1")
	b.sync()
	backup := filepath.Join(t.TempDir(), "county.db.bak")
	h.restart(func(dir string) { copyFile(t, filepath.Join(dir, "county.db"), backup) })
	lost := a.work("A2 恢复前在线同步", 2, 40_000)
	a.sync()
	b.create("B2")
	b.sync()
	a.sync()
	cursor := a.cursor()
	h.restart(func(dir string) { copyFile(t, backup, filepath.Join(dir, "county.db")) })
	if h.feedHead() >= cursor {
		t.Fatal("nothing lost by the restore")
	}

	a.create("A3 恢复后离线录入")
	first, _ := a.export(engine.ExportOptions{})
	ret, sum := h.importBundle(first)
	if !sum.Skipped || sum.Receipted != 0 || sum.Refused != 0 || sum.From != 0 {
		t.Fatalf("a bundle that does not continue the county's chain: %+v", sum)
	}
	h.wantNoIncident(t)
	got := a.importReturn(ret)
	if !got.Reset || got.Cursor != h.feedHead() {
		t.Fatalf("the first return file after the restore: %+v (county head %d)", got, h.feedHead())
	}
	second, exp := a.export(engine.ExportOptions{})
	if exp.FirstSeq != 2 || exp.EvidenceSent != 1 {
		t.Fatalf("the second bundle does not carry again what the county lost: %+v", exp)
	}
	ret, sum = h.importBundle(second)
	if sum.Skipped || sum.Refused != 0 || sum.Receipted != exp.ChangeSets {
		t.Fatalf("the second bundle: %+v", sum)
	}
	got = a.importReturn(ret)
	if got.Outbox != 0 || got.Reset {
		t.Fatalf("the second return file: %+v", got)
	}
	if fs, _ := a.st.FileSyncState(); fs.CountyHead != 0 {
		t.Fatalf("the county's head is still remembered as behind: %+v", fs)
	}
	if ok, _ := h.srv.Store().HasEvidence(lost); !ok {
		t.Fatal("the county lacks the evidence it lost")
	}
	if want := []string{"A1", "A2 恢复前在线同步-0", "A2 恢复前在线同步-1", "A3 恢复后离线录入", "B1"}; !slices.Equal(titles(t, h.srv.Store()), want) {
		t.Fatalf("the county holds %v, want %v", titles(t, h.srv.Store()), want)
	}
	heads, _ := h.srv.Store().Heads()
	if seq, _, _ := a.st.LastReceipt(); seq != heads[a.se.Device().ID].Seq {
		t.Fatalf("last receipt %d, county head %d", seq, heads[a.se.Device().ID].Seq)
	}
}
