package county_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
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

// adminClient is the admin API client of the harness's admin.
func (h *harness) adminClient() *countyapi.Client {
	cfg := countyapi.DefaultConfig(h.base.BaseURL, h.base.Fingerprint)
	cfg.Admin, cfg.Password = "admin", adminPass
	return countyapi.New(cfg)
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
	sum, err := h.adminClient().ImportSyncFile(context.Background(), bytes.NewReader(bundle), int64(len(bundle)), &ret)
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
	rep, err := h.adminClient().Audit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(rep.Entries, func(e countyapi.AuditEntry) bool {
		return e.Action == county.AuditSyncImport && e.Target == stick.se.Device().ID.String() && e.Who == "admin"
	}) {
		t.Fatalf("no audit entry of the import: %+v", rep.Entries)
	}
}

// TestFileSyncRefusalsLikeOnline: a bundle whose change sets the county
// refuses is answered with the same codes and incidents as a session: here
// a device whose own change set was accepted online from another copy of
// it (a fork).
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
	_, err := h.adminClient().ImportSyncFile(context.Background(), bytes.NewReader(bundle), int64(len(bundle)), &bytes.Buffer{})
	var ae *countyapi.APIError
	if !errors.As(err, &ae) || ae.Code != protocol.CodeOversize || ae.Status != 413 {
		t.Fatalf("a bundle over the county's limit: %v", err)
	}
	if after, _ := h.srv.Store().FeedHead(); after != head {
		t.Fatal("an oversize bundle stored change sets")
	}
	_ = time.Second
}
