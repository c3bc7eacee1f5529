package county_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"jiannuo/domain"
	"jiannuo/store"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// copyFile copies src to dst, replacing dst.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// restart stops the county server and starts it again on the same address
// with the same identity, after fn (if any) has run on its stopped data
// directory.
func (h *harness) restart(fn func(dir string)) {
	h.t.Helper()
	addr := h.addr
	h.stop()
	if fn != nil {
		fn(h.dir)
	}
	h.start(addr)
}

// syncExpectingReset runs one session of d against a county whose feed is
// shorter than d's cursor: the engine must reset its cursor and end the
// session, asking to be run again.
func (d *device) syncExpectingReset(t *testing.T) {
	t.Helper()
	before, err := d.st.Cursor()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = d.eng.SyncOnce(ctx)
	if err == nil || !strings.Contains(err.Error(), "resynchronising") {
		t.Fatalf("session against a county behind the cursor %d: %v, want a resynchronisation", before, err)
	}
	if c, _ := d.st.Cursor(); c != 0 {
		t.Fatalf("cursor %d after the reset, want 0", c)
	}
}

// runUntil runs a second engine of d continuously, as the app does, until
// it reports a status satisfying ok. (A "sync once" session ends as soon as
// the device's outbox is empty and it has caught up; change sets it pushes
// again because the county lost them are receipted before long, but not
// necessarily before that.)
func (d *device) runUntil(t *testing.T, h *harness, ok func(engine.Status) bool) {
	t.Helper()
	statuses := make(chan engine.Status, 64)
	stopped := make(chan struct{})
	eng := engine.New(d.se, engine.Config{URL: h.base.SyncURL(), Fingerprint: h.base.Fingerprint, CountyKey: h.key, Logger: quiet(),
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		OnStatus: func(s engine.Status) {
			select {
			case statuses <- s:
			case <-stopped:
			}
		}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- eng.Run(ctx) }()
	for {
		select {
		case s := <-statuses:
			if !ok(s) {
				continue
			}
		case err := <-ran:
			t.Fatalf("engine stopped before the expected status: %v", err)
		}
		break
	}
	close(stopped)
	cancel()
	if err := <-ran; err != nil {
		t.Fatalf("engine: %v", err)
	}
}

func titles(t *testing.T, st *store.Store) []string {
	t.Helper()
	all, err := st.AllCommitments()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range all {
		out = append(out, c.Title)
	}
	slices.Sort(out)
	return out
}

// TestCursorResetAfterCountyRestoredFromBackup: the county server is
// restored from a backup older than what its devices have applied, so its
// feed head is behind their cursors. Each device, on reconnecting, resets
// its cursor and receives the feed again from the start; it pushes again
// the change sets of its own the old county lacks (receipted before, and
// work done since), with its evidence file. In the end the county and
// every device hold everything, the devices' replicas are equal, and each
// device's receipts are the restored county's.
func TestCursorResetAfterCountyRestoredFromBackup(t *testing.T) {
	h := newHarness(t)
	a := h.device(townA, domain.RoleLeader)
	b := h.device(townA, domain.RoleLeader)

	a.create("A1 路灯维修三日内答复")
	a.sync()
	b.create("B1 便民服务窗口午间值守")
	b.sync()
	a.sync()

	// The backup: a copy of the county's database file as it is now.
	backup := filepath.Join(t.TempDir(), "county.db.bak")
	h.restart(func(dir string) { copyFile(t, filepath.Join(dir, "county.db"), backup) })
	oldHead := h.feedHead()

	// Work the backup does not hold: several change sets of a, one with an
	// evidence file, and one of b.
	ref2, ev, photo := a.publishedWithEvidence("A2 老旧小区加装电梯答复")
	a.sync()
	b.create("B2 村级公厕改造")
	b.sync()
	a.sync()
	b.sync()
	if ok, _ := b.st.HasEvidence(ev); !ok {
		t.Fatal("evidence did not reach b before the restore")
	}
	curA, _ := a.st.Cursor()
	curB, _ := b.st.Cursor()
	if curA <= oldHead || curB <= oldHead {
		t.Fatalf("cursors %d and %d not past the backup's feed head %d: nothing to test", curA, curB, oldHead)
	}
	seqA, _, _ := a.st.LastReceipt()

	// The county is restored from the backup.
	h.restart(func(dir string) { copyFile(t, backup, filepath.Join(dir, "county.db")) })
	if got := h.feedHead(); got != oldHead {
		t.Fatalf("restored feed head %d, want %d", got, oldHead)
	}
	if n := len(titles(t, h.srv.Store())); n != 2 {
		t.Fatalf("restored county holds %d commitments, want 2", n)
	}

	// a works offline meanwhile.
	a.create("A3 恢复期间离线录入")

	// b reconnects first: reset, then, running as the app runs it, it
	// pushes B2 again and receives the feed from the start (all of which
	// it holds already).
	b.syncExpectingReset(t)
	seqB, _, _ := b.st.LastReceipt()
	b.runUntil(t, h, func(s engine.Status) bool { return s.LastReceiptSeq >= seqB && s.State == engine.StateIdle })
	// Then a: reset, then it pushes A2, its entry and evidence, and A3
	// (which it waits for, so its sync once ends after all of them).
	a.syncExpectingReset(t)
	a.sync()
	// b receives what a pushed again.
	b.sync()

	want := []string{"A1 路灯维修三日内答复", "A2 老旧小区加装电梯答复", "A3 恢复期间离线录入", "B1 便民服务窗口午间值守", "B2 村级公厕改造"}
	for name, st := range map[string]*store.Store{"county": h.srv.Store(), "a": a.st, "b": b.st} {
		if got := titles(t, st); !slices.Equal(got, want) {
			t.Fatalf("%s holds %q, want %q", name, got, want)
		}
		c, err := st.Commitment(ref2)
		if err != nil || c.Status != domain.StatusPublished || c.Entries != 1 || c.Progress != 30 {
			t.Fatalf("%s: A2 %+v, %v", name, c, err)
		}
		got, err := st.EvidenceContent(ev)
		if err != nil || !bytes.Equal(got, photo) {
			t.Fatalf("%s: evidence content %d bytes, %v", name, len(got), err)
		}
	}
	if a.digest() != b.digest() {
		t.Fatal("a and b differ after resynchronising")
	}
	if a.digest() != devDigest(t, h.srv.Store()) {
		t.Fatal("the devices differ from the county after resynchronising")
	}
	// Nothing left to send, and the receipts are the restored county's,
	// one per change set of a (up to the one sealed while it was away).
	for _, d := range []*device{a, b} {
		if p, _ := d.st.Pending(); p.OutboxChangeSets != 0 || p.PendingOps != 0 {
			t.Fatalf("unsent work after resynchronising: %+v", p)
		}
		cur, _ := d.st.Cursor()
		if head := h.feedHead(); cur != head {
			t.Fatalf("cursor %d, county feed head %d", cur, head)
		}
	}
	seq, raw, err := a.st.LastReceipt()
	if err != nil || seq <= seqA {
		t.Fatalf("a's last receipt %d (before the restore %d): %v", seq, seqA, err)
	}
	rc, err := protocol.OpenReceipt(raw, h.key)
	if err != nil || rc.Seq != seq || rc.Pos > h.feedHead() || rc.Pos <= oldHead {
		t.Fatalf("a's last receipt %+v (feed head %d): %v", rc, h.feedHead(), err)
	}
	for s := uint64(1); s <= seq; s++ {
		if _, err := a.st.Receipt(s); errors.Is(err, store.ErrNotFound) {
			t.Fatalf("no receipt for a's change set %d", s)
		}
	}
}

func devDigest(t *testing.T, st *store.Store) protocol.Hash {
	t.Helper()
	d, err := st.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (h *harness) feedHead() uint64 {
	h.t.Helper()
	head, err := h.srv.Store().FeedHead()
	if err != nil {
		h.t.Fatal(err)
	}
	return head
}
