package county_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// A township on a link that drops every few seconds must still finish:
// every connection that gets past its handshake moves evidence forward
// (issue 18).

// addEvidenceFiles has d record n evidence files of sizes drawn from
// [minSize, maxSize) on a new published commitment, each cited by a
// fulfilment entry, and returns their hashes and contents. The bytes are
// random, so compression does not shrink what crosses the link.
func addEvidenceFiles(t *testing.T, d *device, rng *rand.Rand, n, minSize, maxSize int) map[protocol.Hash][]byte {
	t.Helper()
	ref := d.create(fmt.Sprintf("佐证材料 %d 份", n))
	if err := d.se.Publish(ref); err != nil {
		t.Fatal(err)
	}
	files := map[protocol.Hash][]byte{}
	for i := range n {
		data := make([]byte, minSize+rng.IntN(maxSize-minSize))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		h, err := d.se.AddEvidence(fmt.Sprintf("现场照片-%02d.jpg", i), "image/jpeg", bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.se.LogFulfilment(ref, store.EntryInput{Date: calendar.NewDate(2026, 11, 3), Progress: i,
			Note: fmt.Sprintf("第%d次走访", i), Evidence: []protocol.Hash{h}}); err != nil {
			t.Fatal(err)
		}
		files[h] = data
	}
	return files
}

func totalSize(sets ...map[protocol.Hash][]byte) int64 {
	var n int64
	for _, s := range sets {
		for _, data := range s {
			n += int64(len(data))
		}
	}
	return n
}

// holds reports whether st holds every file with its content.
func holds(t *testing.T, st *store.Store, files map[protocol.Hash][]byte) bool {
	t.Helper()
	for h, data := range files {
		got, err := st.EvidenceContent(h)
		if err != nil {
			return false
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("evidence %s: %d bytes that are not the file", h, len(got))
		}
	}
	return true
}

// TestEvidenceThroughShortConnections: a device with many evidence files
// to upload, and as many of another device's to download, syncs through a
// link that cuts every connection after 48 KiB (both ways together, TLS
// handshake included): less than one chunk of the protocol's largest size
// gets through a connection. Run as the app runs it — reconnecting, with a
// backoff that may grow to an hour — it ends with every file, the county
// holds each of its own, and the bytes that crossed the link stay within
// 3× the files' total size.
func TestEvidenceThroughShortConnections(t *testing.T) {
	const budget = 48 << 10
	h := newHarness(t)
	proxy := newBudgetProxy(t, h.addr, budget, 5)
	a := h.deviceVia(townA, domain.RoleLeader, "wss://"+proxy.addr()+"/sync")
	b := h.device(townA, domain.RoleLeader)
	rng := rand.New(rand.NewPCG(18, 2))
	up := addEvidenceFiles(t, a, rng, 12, 8<<10, 120<<10)
	down := addEvidenceFiles(t, b, rng, 12, 8<<10, 120<<10)
	b.sync() // b's files are on the county, over a good link
	if !holds(t, h.srv.Store(), down) {
		t.Fatal("the county does not hold b's files after b synced")
	}

	// a, over the bad link, as the app runs it. A status change is the
	// event on which to look again.
	changed := make(chan struct{}, 1)
	eng := engine.New(a.se, engine.Config{URL: "wss://" + proxy.addr() + "/sync", Fingerprint: h.base.Fingerprint,
		CountyKey: h.key, Logger: quiet(), MinBackoff: 5 * time.Millisecond, MaxBackoff: time.Hour,
		OnStatus: func(engine.Status) {
			select {
			case changed <- struct{}{}:
			default:
			}
		}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- eng.Run(ctx) }()
	for !holds(t, a.st, down) || !holds(t, h.srv.Store(), up) {
		select {
		case <-changed:
		case err := <-ran:
			t.Fatalf("the engine stopped: %v", err)
		case <-ctx.Done():
			st := eng.Status()
			t.Fatalf("not every file moved: %d of %d sent, %d of %d received, %d connections cut, %d bytes moved; status %+v",
				st.EvidenceSent, len(up), st.EvidenceReceived, len(down), proxy.made.Load(), proxy.moved.Load(), st)
		}
	}
	cancel()
	if err := <-ran; err != nil {
		t.Fatalf("run: %v", err)
	}
	moved, files := proxy.moved.Load(), totalSize(up, down)
	t.Logf("%d files (%d bytes) moved through %d cut connections: %d bytes on the link, %.2f× the files",
		len(up)+len(down), files, proxy.made.Load(), moved, float64(moved)/float64(files))
	if cuts := proxy.made.Load(); cuts < files/budget {
		t.Fatalf("only %d connections cut for %d bytes of files through %d-byte connections: the link was not short", cuts, files, budget)
	}
	if moved > 3*files {
		t.Fatalf("%d bytes crossed the link for %d bytes of files: more than 3×", moved, files)
	}
	// b fetches a's files over its good link: what the county holds is
	// whole, and the township's devices agree.
	b.sync()
	if !holds(t, b.st, up) {
		t.Fatal("b does not hold a's files")
	}
	if a.digest() != b.digest() || a.digest() != devDigest(t, h.srv.Store()) {
		t.Fatal("the replicas differ")
	}
}

// TestUploadGathersSmallChunks: the county keeps the small chunks a
// session gathered of an upload (not yet written) when the device moves to
// another file: offered again, the upload resumes after them. A run of
// chunks out of step is answered with one evidence_want, not one each (and
// none if the county has just asked from where it stands: those are the
// rest of a stream from before), and the file is stored whole in the end.
func TestUploadGathersSmallChunks(t *testing.T) {
	h := newHarness(t)
	d := h.rawEnrolled(t, townA)
	rc, _ := h.connectRaw(t, d)
	rng := rand.New(rand.NewPCG(18, 3))
	first, second := make([]byte, 10_000), make([]byte, 3_000)
	for _, b := range [][]byte{first, second} {
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
	}
	h1, h2 := protocol.HashOf(first), protocol.HashOf(second)
	create := rawCreateOp(t, townA)
	rc.accept(h, d, d.next(create, rawEvidenceOp(townA, create.Target, first), rawEvidenceOp(townA, create.Target, second)))

	offer := func(h protocol.Hash, size int, from int64) {
		t.Helper()
		rc.send(&protocol.Frame{Type: protocol.FrameEvidenceOffer, Hash: h, Size: int64(size)})
		if w := rc.await(protocol.FrameEvidenceWant); w.Hash != h || w.Offset != from {
			t.Fatalf("offered %s: the county wants %s from %d, not from %d", h, w.Hash, w.Offset, from)
		}
	}
	chunks := func(h protocol.Hash, data []byte, from, to int) {
		for off := from; off < to; off += 1000 {
			rc.send(&protocol.Frame{Type: protocol.FrameEvidenceChunk, Hash: h, Offset: int64(off), Body: data[off:min(off+1000, to)]})
		}
	}
	offer(h1, len(first), 0)
	chunks(h1, first, 0, 4000)
	offer(h2, len(second), 0) // the first file's 4,000 bytes are kept
	offer(h1, len(first), 4000)
	chunks(h1, first, 6000, 7000) // out of step, but the county just asked from 4000: dropped
	chunks(h1, first, 4000, 6000)
	chunks(h1, first, 8000, 10_000) // out of step: two chunks, one want from 6000
	chunks(h1, first, 6000, len(first))
	wants := 0
	for {
		f := rc.await(protocol.FrameEvidenceWant, protocol.FrameEvidenceStored)
		if f.Type == protocol.FrameEvidenceStored {
			if f.Hash != h1 {
				t.Fatalf("stored %s", f.Hash)
			}
			break
		}
		if f.Hash != h1 || f.Offset != 6000 {
			t.Fatalf("the county wants %s from %d", f.Hash, f.Offset)
		}
		wants++
	}
	if wants != 1 {
		t.Fatalf("%d evidence_want for a run of chunks out of step, want 1", wants)
	}
	if got, err := h.srv.Store().EvidenceContent(h1); err != nil || !bytes.Equal(got, first) {
		t.Fatalf("stored content: %d bytes, %v", len(got), err)
	}
	offer(h2, len(second), 0)
	chunks(h2, second, 0, len(second))
	if f := rc.await(protocol.FrameEvidenceStored); f.Hash != h2 {
		t.Fatalf("stored %s", f.Hash)
	}
	h.wantNoIncident(t)
}
