package protocol_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"

	"jiannuo/sync/protocol"
)

// Golden vectors of the sync files (docs/sync-file.md): a bundle of the
// golden device carrying its change sets 1 and 2, one evidence file whole
// and one only offered, and asking for a third; and the county's return
// file answering it: both receipts, a township device's certificate and
// change set from the feed, a revocation, caught_up, the county's word on
// the two files offered, and the file asked for.

const (
	goldenBundle = "testdata/syncfile-v1-bundle.bin"
	goldenReturn = "testdata/syncfile-v1-return.bin"
)

const goldenMs = int64(1772413200000) // 2026-03-02 09:00 CST

// The golden evidence: a file sent whole in the bundle (two chunks), one
// only offered (the county holds it already), one the device lacks.
var (
	goldenFileSent    = []byte("走访照片：村委会门前，2026 年 3 月 2 日上午。")
	goldenFileOffered = protocol.HashOf([]byte("golden evidence file"))
	goldenFileWanted  = []byte("县级平台下发的佐证材料。")
)

// goldenSyncFiles builds the golden bundle and return file, and returns
// the county key that signs the return.
func goldenSyncFiles(tb testing.TB) (bundle, ret []byte, county goldenKey) {
	tb.Helper()
	dev, s1, s2 := goldenSets(tb)
	_, county, town := goldenCaseKeys()
	_, townSet := goldenDishonestySets(tb)
	sent := protocol.HashOf(goldenFileSent)

	var b bytes.Buffer
	w, err := protocol.NewBundleWriter(&b, &protocol.BundleHeader{County: "410324", CountyKey: county.pub(), Device: dev.id, Office: "410324",
		Number: 1, Created: goldenMs, Cursor: 0, Head: protocol.Head{Seq: 2, Hash: s2.Hash(), LastOp: s2.LastOp()},
		Software: "0.1.0", PendingOps: 2}, 0)
	if err != nil {
		tb.Fatal(err)
	}
	offers := []*protocol.Frame{
		{Type: protocol.FrameEvidenceOffer, Hash: goldenFileOffered, Size: 2345678},
		{Type: protocol.FrameEvidenceOffer, Hash: sent, Size: int64(len(goldenFileSent))},
	}
	if bytes.Compare(offers[0].Hash[:], offers[1].Hash[:]) > 0 {
		offers[0], offers[1] = offers[1], offers[0]
	}
	frames := []*protocol.Frame{{Type: protocol.FramePush, Body: s1.Bytes()}, {Type: protocol.FramePush, Body: s2.Bytes()}}
	frames = append(frames, offers...)
	frames = append(frames,
		&protocol.Frame{Type: protocol.FrameEvidenceChunk, Hash: sent, Offset: 0, Body: goldenFileSent[:30]},
		&protocol.Frame{Type: protocol.FrameEvidenceChunk, Hash: sent, Offset: 30, Body: goldenFileSent[30:]},
		&protocol.Frame{Type: protocol.FrameEvidenceGet, Hash: protocol.HashOf(goldenFileWanted)})
	for _, f := range frames {
		if err := w.Add(f); err != nil {
			tb.Fatalf("bundle %s: %v", f.Type, err)
		}
	}
	digest, err := w.Close(func(d protocol.Hash) []byte { return protocol.SignBundle(dev.priv, d) })
	if err != nil {
		tb.Fatal(err)
	}

	var r bytes.Buffer
	rw, err := protocol.NewReturnWriter(&r, &protocol.ReturnHeader{County: "410324", Device: dev.id, Number: 1, Bundle: digest,
		Created: goldenMs + 3_600_000, Head: protocol.Head{Seq: 2, Hash: s2.Hash(), LastOp: s2.LastOp()}, FeedHead: 3, From: 0}, 0)
	if err != nil {
		tb.Fatal(err)
	}
	receipt := func(cs *protocol.ChangeSet, pos uint64) []byte {
		rc := protocol.Receipt{County: "410324", Device: cs.Device, Seq: cs.Seq, Hash: cs.Hash(), Pos: pos, Time: goldenMs + 3_600_000}
		return rc.Sign(county.priv)
	}
	cert := protocol.Certificate{County: "410324", Device: town.id(), Key: town.pub(), Office: "410324100", Name: "城关镇-1", Issued: goldenMs}
	revoked := newGoldenKey("revoked township device", 0x80)
	rv := protocol.Revocation{County: "410324", Device: revoked.id(), Reason: "终端遗失", Time: goldenMs + 1000}
	control := []*protocol.Frame{
		{Type: protocol.FrameEvidenceStored, Hash: goldenFileOffered},
		{Type: protocol.FrameEvidenceStored, Hash: sent},
	}
	if bytes.Compare(control[0].Hash[:], control[1].Hash[:]) > 0 {
		control[0], control[1] = control[1], control[0]
	}
	want := protocol.HashOf(goldenFileWanted)
	frames = []*protocol.Frame{
		{Type: protocol.FrameReceipt, Body: receipt(s1, 1)},
		{Type: protocol.FrameReceipt, Body: receipt(s2, 2)},
		{Type: protocol.FrameCertificate, Body: cert.Sign(county.priv)},
		{Type: protocol.FrameDeliver, Pos: 3, Body: townSet.Bytes()},
		{Type: protocol.FrameRevocation, Body: rv.Sign(county.priv)},
		{Type: protocol.FrameCaughtUp, Pos: 3},
	}
	frames = append(frames, control...)
	frames = append(frames,
		&protocol.Frame{Type: protocol.FrameEvidenceOffer, Hash: want, Size: int64(len(goldenFileWanted))},
		&protocol.Frame{Type: protocol.FrameEvidenceChunk, Hash: want, Offset: 0, Body: goldenFileWanted})
	for _, f := range frames {
		if err := rw.Add(f); err != nil {
			tb.Fatalf("return %s: %v", f.Type, err)
		}
	}
	if _, err := rw.Close(func(d protocol.Hash) []byte { return protocol.SignReturn(county.priv, d) }); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes(), r.Bytes(), county
}

// goldenSyncFileFiles are the files TestGoldenSyncFileVectors owns.
func goldenSyncFileFiles(tb testing.TB) map[string][]byte {
	bundle, ret, _ := goldenSyncFiles(tb)
	return map[string][]byte{
		goldenBundle: bundle,
		goldenReturn: ret,
		"testdata/fuzz/FuzzReadSyncFile/golden-bundle":         fuzzSeed(bundle),
		"testdata/fuzz/FuzzReadSyncFile/golden-return":         fuzzSeed(ret),
		"testdata/fuzz/FuzzReadSyncFile/golden-bundle-damaged": fuzzSeed(flipBit(bundle, len(bundle)/2, 4)),
		"testdata/fuzz/FuzzReadSyncFile/golden-return-cut":     fuzzSeed(ret[:len(ret)-70]),
	}
}

// TestGoldenSyncFileVectors re-creates the golden sync files and compares
// them byte for byte with testdata/ (-update rewrites them).
func TestGoldenSyncFileVectors(t *testing.T) { checkGoldenFiles(t, goldenSyncFileFiles(t)) }

// readAll reads a sync file and returns it with its frames.
func readAll(t *testing.T, b []byte, limit int64) (*protocol.SyncFile, []*protocol.Frame, error) {
	t.Helper()
	var frames []*protocol.Frame
	f, err := protocol.ReadSyncFile(bytes.NewReader(b), limit, func(fr *protocol.Frame) error {
		frames = append(frames, fr)
		return nil
	})
	return f, frames, err
}

func TestSyncFileReadsGolden(t *testing.T) {
	bundle, ret, county := goldenSyncFiles(t)
	dev, s1, s2 := goldenSets(t)

	f, frames, err := readAll(t, bundle, 0)
	if err != nil {
		t.Fatal(err)
	}
	if f.Bundle == nil || f.Return != nil || f.Bundle.Device != dev.id || f.Bundle.Number != 1 || f.Bundle.Head.Seq != 2 || f.Bundle.Software != "0.1.0" {
		t.Fatalf("bundle header %+v", f.Bundle)
	}
	if f.Size != int64(len(bundle)) {
		t.Fatalf("size %d, file of %d bytes", f.Size, len(bundle))
	}
	if err := f.VerifyBundle(dev.pub); err != nil {
		t.Fatal(err)
	}
	if err := f.VerifyBundle(county.pub()); protocol.CodeOf(err) != protocol.CodeBadSignature {
		t.Fatalf("bundle verified with the county key: %v", err)
	}
	if err := f.VerifyReturn(county.pub()); protocol.CodeOf(err) != protocol.CodeMalformed {
		t.Fatalf("a bundle verified as a return file: %v", err)
	}
	if len(frames) != 7 || !bytes.Equal(frames[0].Body, s1.Bytes()) || !bytes.Equal(frames[1].Body, s2.Bytes()) {
		t.Fatalf("bundle frames %+v", frames)
	}

	r, frames, err := readAll(t, ret, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r.Return == nil || r.Return.Bundle != f.Digest || r.Return.Number != 1 || r.Return.FeedHead != 3 {
		t.Fatalf("return header %+v", r.Return)
	}
	if err := r.VerifyReturn(county.pub()); err != nil {
		t.Fatal(err)
	}
	if err := r.VerifyReturn(dev.pub); protocol.CodeOf(err) != protocol.CodeBadSignature {
		t.Fatalf("return verified with the device key: %v", err)
	}
	rc, err := protocol.OpenReceipt(frames[0].Body, county.pub())
	if err != nil || rc.Seq != 1 || rc.Hash != s1.Hash() {
		t.Fatalf("first receipt %+v: %v", rc, err)
	}
	if last := frames[len(frames)-1]; last.Type != protocol.FrameEvidenceChunk || !bytes.Equal(last.Body, goldenFileWanted) {
		t.Fatalf("last frame %+v", last)
	}
}

// TestSyncFileCanonical: writing again what was read, with its signature,
// gives the very bytes (FuzzReadSyncFile holds every accepted input to it).
func TestSyncFileCanonical(t *testing.T) {
	bundle, ret, _ := goldenSyncFiles(t)
	for _, b := range [][]byte{bundle, ret} {
		if again := rewrite(t, b); !bytes.Equal(again, b) {
			t.Fatalf("rewritten file differs")
		}
	}
}

// rewrite reads a sync file and writes it again with its own signature.
func rewrite(t *testing.T, b []byte) []byte {
	t.Helper()
	f, frames, err := readAll(t, b, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	var w *protocol.SyncFileWriter
	if f.Bundle != nil {
		w, err = protocol.NewBundleWriter(&out, f.Bundle, 0)
	} else {
		w, err = protocol.NewReturnWriter(&out, f.Return, 0)
	}
	if err != nil {
		t.Fatalf("writing again the header read: %v", err)
	}
	for _, fr := range frames {
		if err := w.Add(fr); err != nil {
			t.Fatalf("writing again the %s frame read: %v", fr.Type, err)
		}
	}
	d, err := w.Close(func(protocol.Hash) []byte { return f.Sig })
	if err != nil || d != f.Digest {
		t.Fatalf("digest %s, read %s: %v", d, f.Digest, err)
	}
	return out.Bytes()
}

// TestSyncFileDamage: a file cut at any byte, with any bit flipped, or with
// a byte added is refused before its signature is even looked at —
// except a flip inside the signature, which the signature check refuses.
func TestSyncFileDamage(t *testing.T) {
	bundle, ret, county := goldenSyncFiles(t)
	dev, _, _ := goldenSets(t)
	for _, c := range []struct {
		name string
		b    []byte
		key  ed25519.PublicKey
	}{{"bundle", bundle, dev.pub}, {"return", ret, county.pub()}} {
		for n := range len(c.b) {
			if _, _, err := readAll(t, c.b[:n], 0); protocol.CodeOf(err) != protocol.CodeMalformed {
				t.Fatalf("%s cut at %d of %d: %v", c.name, n, len(c.b), err)
			}
		}
		if _, _, err := readAll(t, append(bytes.Clone(c.b), 0), 0); protocol.CodeOf(err) != protocol.CodeMalformed {
			t.Fatalf("%s with a byte added: %v", c.name, err)
		}
		sigAt := len(c.b) - ed25519.SignatureSize
		for i := range len(c.b) {
			bit := uint(i % 8)
			f, _, err := readAll(t, flipBit(c.b, i, bit), 0)
			switch {
			case i == 4:
				if protocol.CodeOf(err) != protocol.CodeUnknownVersion {
					t.Fatalf("%s with the version's bit %d flipped: %v", c.name, bit, err)
				}
			case i < sigAt:
				if code := protocol.CodeOf(err); code != protocol.CodeMalformed && code != protocol.CodeOversize {
					t.Fatalf("%s with bit %d of byte %d flipped: %v", c.name, bit, i, err)
				}
			default:
				if err != nil {
					t.Fatalf("%s with a bit of its signature flipped does not read: %v", c.name, err)
				}
				verify := f.VerifyBundle
				if f.Return != nil {
					verify = f.VerifyReturn
				}
				if err := verify(c.key); protocol.CodeOf(err) != protocol.CodeBadSignature {
					t.Fatalf("%s with bit %d of signature byte %d flipped: %v", c.name, bit, i-sigAt, err)
				}
			}
		}
	}
}

// TestSyncFileLimits: a reader stops at its limit, a length that claims
// more than a frame allocates nothing, and a writer refuses a record that
// would pass its limit and goes on.
func TestSyncFileLimits(t *testing.T) {
	bundle, _, _ := goldenSyncFiles(t)
	if _, _, err := readAll(t, bundle, int64(len(bundle))); err != nil {
		t.Fatalf("a file at its limit: %v", err)
	}
	if _, _, err := readAll(t, bundle, int64(len(bundle)-1)); protocol.CodeOf(err) != protocol.CodeOversize {
		t.Fatalf("a file one byte over the limit: %v", err)
	}
	// A record claiming 2⁴⁰ bytes just after the header.
	f, _, err := readAll(t, bundle, 0)
	if err != nil {
		t.Fatal(err)
	}
	var head bytes.Buffer
	if _, err := protocol.NewBundleWriter(&head, f.Bundle, 0); err != nil {
		t.Fatal(err)
	}
	bomb := binary.AppendUvarint(bytes.Clone(head.Bytes()), 1<<40)
	if _, _, err := readAll(t, bomb, 0); protocol.CodeOf(err) != protocol.CodeMalformed || !strings.Contains(err.Error(), "record of") {
		t.Fatalf("a record claiming 2^40 bytes: %v", err)
	}

	var out bytes.Buffer
	small, err := protocol.NewBundleWriter(&out, f.Bundle, int64(head.Len())+400)
	if err != nil {
		t.Fatal(err)
	}
	_, s1, _ := goldenSets(t)
	if err := small.Add(&protocol.Frame{Type: protocol.FramePush, Body: s1.Bytes()}); protocol.CodeOf(err) != protocol.CodeOversize {
		t.Fatalf("a change set past the limit: %v", err)
	}
	get := &protocol.Frame{Type: protocol.FrameEvidenceGet, Hash: protocol.HashOf([]byte("x"))}
	if err := small.Add(get); err != nil {
		t.Fatalf("a small record after a refused one: %v", err)
	}
	dev, _, _ := goldenSets(t)
	if _, err := small.Close(func(d protocol.Hash) []byte { return protocol.SignBundle(dev.priv, d) }); err != nil {
		t.Fatal(err)
	}
	if _, frames, err := readAll(t, out.Bytes(), 0); err != nil || len(frames) != 1 || !reflect.DeepEqual(frames[0], get) {
		t.Fatalf("the file after a refused record: %v %+v", err, frames)
	}
}

// TestSyncFileRules: each kind of file takes its frames in its order only;
// a writer refuses what a reader would, and the file goes on.
func TestSyncFileRules(t *testing.T) {
	dev, s1, _ := goldenSets(t)
	_, county, _ := goldenCaseKeys()
	h := func(s string) protocol.Hash { return protocol.HashOf([]byte(s)) }
	a, b := h("a"), h("b")
	if bytes.Compare(a[:], b[:]) > 0 {
		a, b = b, a
	}
	push := &protocol.Frame{Type: protocol.FramePush, Body: s1.Bytes()}
	offer := func(x protocol.Hash, size int64) *protocol.Frame {
		return &protocol.Frame{Type: protocol.FrameEvidenceOffer, Hash: x, Size: size}
	}
	chunk := func(x protocol.Hash, at int64, data string) *protocol.Frame {
		return &protocol.Frame{Type: protocol.FrameEvidenceChunk, Hash: x, Offset: at, Body: []byte(data)}
	}
	get := func(x protocol.Hash) *protocol.Frame {
		return &protocol.Frame{Type: protocol.FrameEvidenceGet, Hash: x}
	}
	bundleHeader := &protocol.BundleHeader{County: "410324", CountyKey: county.pub(), Device: dev.id, Office: "410324", Number: 1}
	returnHeader := &protocol.ReturnHeader{County: "410324", Device: dev.id, Number: 1, FeedHead: 10, From: 2}
	deliver := func(pos uint64) *protocol.Frame {
		return &protocol.Frame{Type: protocol.FrameDeliver, Pos: pos, Body: s1.Bytes()}
	}
	caughtUp := func(pos uint64) *protocol.Frame { return &protocol.Frame{Type: protocol.FrameCaughtUp, Pos: pos} }
	stored := func(x protocol.Hash) *protocol.Frame {
		return &protocol.Frame{Type: protocol.FrameEvidenceStored, Hash: x}
	}
	cases := []struct {
		name   string
		bundle bool
		ok     []*protocol.Frame // accepted in order
		bad    *protocol.Frame   // then refused
		endBad bool              // the file may not end after ok
	}{
		{"push after an offer", true, []*protocol.Frame{offer(a, 3)}, push, false},
		{"offers out of order", true, []*protocol.Frame{offer(b, 3)}, offer(a, 3), false},
		{"the same offer twice", true, []*protocol.Frame{offer(a, 3)}, offer(a, 3), false},
		{"a chunk not offered", true, []*protocol.Frame{offer(a, 3)}, chunk(b, 0, "x"), false},
		{"a chunk not from 0", true, []*protocol.Frame{offer(a, 3)}, chunk(a, 1, "x"), false},
		{"a chunk past the size", true, []*protocol.Frame{offer(a, 3)}, chunk(a, 0, "xyzw"), false},
		{"a chunk out of step", true, []*protocol.Frame{offer(a, 3), chunk(a, 0, "x")}, chunk(a, 2, "x"), false},
		{"another file before the first is whole", true, []*protocol.Frame{offer(a, 3), offer(b, 3), chunk(a, 0, "x")}, chunk(b, 0, "x"), false},
		{"files out of hash order", true, []*protocol.Frame{offer(a, 1), offer(b, 1), chunk(b, 0, "x")}, chunk(a, 0, "x"), false},
		{"the end before a file is whole", true, []*protocol.Frame{offer(a, 3), chunk(a, 0, "x")}, nil, true},
		{"a get before a file is whole", true, []*protocol.Frame{offer(a, 3), chunk(a, 0, "x")}, get(b), false},
		{"a get then an offer", true, []*protocol.Frame{get(a)}, offer(b, 1), false},
		{"gets out of order", true, []*protocol.Frame{get(b)}, get(a), false},
		{"a get from an offset", true, nil, &protocol.Frame{Type: protocol.FrameEvidenceGet, Hash: a, Offset: 5}, false},
		{"a receipt in a bundle", true, nil, &protocol.Frame{Type: protocol.FrameReceipt, Body: []byte("x")}, false},
		{"an ack in a bundle", true, nil, &protocol.Frame{Type: protocol.FrameAck, Pos: 1}, false},

		{"a return without caught_up", false, []*protocol.Frame{deliver(3)}, nil, true},
		{"a delivery at the cursor", false, nil, deliver(2), false},
		{"a delivery past the head", false, nil, deliver(11), false},
		{"deliveries out of order", false, []*protocol.Frame{deliver(5)}, deliver(4), false},
		{"a delivery after a revocation", false, []*protocol.Frame{{Type: protocol.FrameRevocation, Body: []byte("x")}}, deliver(4), false},
		{"caught up before the last delivery", false, []*protocol.Frame{deliver(5)}, caughtUp(4), false},
		{"caught up before the cursor", false, nil, caughtUp(1), false},
		{"caught up twice", false, []*protocol.Frame{caughtUp(3)}, caughtUp(3), false},
		{"a receipt after the feed", false, []*protocol.Frame{deliver(3)}, &protocol.Frame{Type: protocol.FrameReceipt, Body: []byte("x")}, false},
		{"evidence before caught_up", false, []*protocol.Frame{deliver(3)}, stored(a), false},
		{"evidence answers out of order", false, []*protocol.Frame{caughtUp(3), stored(b)}, &protocol.Frame{Type: protocol.FrameRefused, Hash: a, Code: protocol.CodeNotFound}, false},
		{"a change set refused after the feed", false, []*protocol.Frame{caughtUp(3)}, &protocol.Frame{Type: protocol.FrameRefused, Seq: 1, Code: protocol.CodeSequenceGap}, false},
		{"a chunk without its offer", false, []*protocol.Frame{caughtUp(3)}, chunk(a, 0, "x"), false},
		{"the end before a file sent is whole", false, []*protocol.Frame{caughtUp(3), offer(a, 2), chunk(a, 0, "x")}, nil, true},
		{"a push in a return", false, nil, push, false},
		{"an evidence get in a return", false, []*protocol.Frame{caughtUp(3)}, get(a), false},
	}
	for _, c := range cases {
		var out bytes.Buffer
		var w *protocol.SyncFileWriter
		var err error
		if c.bundle {
			w, err = protocol.NewBundleWriter(&out, bundleHeader, 0)
		} else {
			w, err = protocol.NewReturnWriter(&out, returnHeader, 0)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range c.ok {
			if err := w.Add(f); err != nil {
				t.Fatalf("%s: %s refused: %v", c.name, f.Type, err)
			}
		}
		if c.bad != nil {
			before := out.Len()
			if err := w.Add(c.bad); protocol.CodeOf(err) != protocol.CodeMalformed {
				t.Fatalf("%s: the writer took it: %v", c.name, err)
			}
			if out.Len() != before {
				t.Fatalf("%s: a refused record was written", c.name)
			}
		}
		sign := func(d protocol.Hash) []byte { return protocol.SignReturn(county.priv, d) }
		if c.bundle {
			sign = func(d protocol.Hash) []byte { return protocol.SignBundle(dev.priv, d) }
		}
		if c.endBad {
			if _, err := w.Close(sign); protocol.CodeOf(err) != protocol.CodeMalformed {
				t.Fatalf("%s: closed: %v", c.name, err)
			}
			continue
		}
		// The same file with the bad record in it does not read.
		raw := append(binary.AppendUvarint(nil, uint64(len(protocol.AppendFrame(nil, c.bad)))), protocol.AppendFrame(nil, c.bad)...)
		forged := append(bytes.Clone(out.Bytes()), raw...)
		forged = append(forged, 0)
		digest := protocol.HashOf(forged)
		forged = append(append(forged, digest[:]...), sign(digest)...)
		if _, _, err := readAll(t, forged, 0); protocol.CodeOf(err) != protocol.CodeMalformed {
			t.Fatalf("%s: read: %v", c.name, err)
		}
	}
}

// FuzzReadSyncFile: the reader never panics, refuses with the codes of a
// damaged file only, and whatever it accepts is canonical: written again
// with its signature it is the very bytes.
func FuzzReadSyncFile(f *testing.F) {
	bundle, ret, _ := goldenSyncFiles(f)
	for _, b := range [][]byte{bundle, ret} {
		f.Add(b)
		f.Add(b[:len(b)/2])
		f.Add(flipBit(b, 12, 1))
	}
	f.Add([]byte("JNSB\x01"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		sf, _, err := readAll(t, data, 1<<20)
		if err != nil {
			if errors.Is(err, protocol.ErrMalformed) || errors.Is(err, protocol.ErrOversize) || errors.Is(err, protocol.ErrUnknownVersion) {
				return
			}
			t.Fatalf("refused with %v (%s)", err, protocol.CodeOf(err))
		}
		if (sf.Bundle == nil) == (sf.Return == nil) || sf.Size != int64(len(data)) {
			t.Fatalf("read %+v from %d bytes", sf, len(data))
		}
		if again := rewrite(t, data); !bytes.Equal(again, data) {
			t.Fatal("an accepted file is not canonical")
		}
	})
}
