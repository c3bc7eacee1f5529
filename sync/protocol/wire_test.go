package protocol_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"jiannuo/sync/protocol"
)

// The county key of the wire tests: deterministic, so the fuzz seeds made
// from these frames never change.
func wireCountyKey() ed25519.PrivateKey {
	s := sha256.Sum256([]byte("jiannuo test county key: 栾川县"))
	return ed25519.NewKeyFromSeed(s[:])
}

// frameCase is a frame and its name in the seed corpus.
type frameCase struct {
	name string
	f    protocol.Frame
}

// frameCases returns a frame of every type with every field it carries set,
// built from fixed values.
func frameCases(tb testing.TB) []frameCase {
	tb.Helper()
	dev, s1, s2 := goldenSets(tb)
	ck := wireCountyKey()
	nonce := bytes.Repeat([]byte{0x5a}, 32)
	rc := protocol.Receipt{County: county, Device: dev.id, Seq: 1, Hash: s1.Hash(), Pos: 41, Time: 1772413260000}
	cert := protocol.Certificate{County: county, Device: dev.id, Key: dev.pub, Office: county, Admin: true, Name: "县信用办-1", Issued: 1772413200000}
	rv := protocol.Revocation{County: county, Device: dev.id, Reason: "终端遗失", Time: 1772413300000}
	ev := protocol.HashOf(evidenceContent)
	return []frameCase{
		{"challenge", protocol.Frame{Type: protocol.FrameChallenge, Version: protocol.ProtocolVersion, Nonce: nonce,
			County: county, CountyKey: ck.Public().(ed25519.PublicKey)}},
		{"hello", protocol.Frame{Type: protocol.FrameHello, Version: protocol.ProtocolVersion, Device: dev.id, Cursor: 300,
			Sig: protocol.SignChallenge(dev.priv, nonce, "AB:CD")}},
		{"hello-status", protocol.Frame{Type: protocol.FrameHello, Version: protocol.ProtocolVersion, Device: dev.id, Cursor: 300,
			Sig: protocol.SignChallenge(dev.priv, nonce, "AB:CD"), Status: &protocol.HelloStatus{Software: "0.1.0+build.7", Seq: 42, PendingOps: 3}}},
		{"hello-epoch", protocol.Frame{Type: protocol.FrameHello, Version: protocol.ProtocolVersion, Device: dev.id, Cursor: 300,
			Sig: protocol.SignChallenge(dev.priv, nonce, "AB:CD"), Status: &protocol.HelloStatus{Software: "0.2.0", Seq: 42, PendingOps: 3},
			Epoch: &protocol.Epoch{0x11, 0x22, 0x33, 15: 0x44}}},
		{"welcome", protocol.Frame{Type: protocol.FrameWelcome, Head: protocol.Head{Seq: 2, Hash: s2.Hash(), LastOp: 9}, Pos: 1 << 40}},
		{"welcome-epoch", protocol.Frame{Type: protocol.FrameWelcome, Head: protocol.Head{Seq: 2, Hash: s2.Hash(), LastOp: 9}, Pos: 1 << 40,
			Epoch: &protocol.Epoch{0x55, 15: 0x66}}},
		{"error", protocol.Frame{Type: protocol.FrameError, Code: protocol.CodeRevokedDevice, Message: "终端遗失，已停用"}},
		{"push", protocol.Frame{Type: protocol.FramePush, Body: s1.Bytes()}},
		{"receipt", protocol.Frame{Type: protocol.FrameReceipt, Body: rc.Sign(ck)}},
		{"refused", protocol.Frame{Type: protocol.FrameRefused, Device: dev.id, Seq: 7, Code: protocol.CodeFork, Message: "fork"}},
		{"refused-evidence", protocol.Frame{Type: protocol.FrameRefused, Device: dev.id, Code: protocol.CodeEvidenceMismatch, Message: "evidence", Hash: ev}},
		{"deliver", protocol.Frame{Type: protocol.FrameDeliver, Pos: 42, Body: s2.Bytes()}},
		{"certificate", protocol.Frame{Type: protocol.FrameCertificate, Body: cert.Sign(ck)}},
		{"revocation", protocol.Frame{Type: protocol.FrameRevocation, Body: rv.Sign(ck)}},
		{"caught-up", protocol.Frame{Type: protocol.FrameCaughtUp, Pos: 42}},
		{"ack", protocol.Frame{Type: protocol.FrameAck, Pos: 300}},
		{"evidence-offer", protocol.Frame{Type: protocol.FrameEvidenceOffer, Hash: ev, Size: 184320}},
		{"evidence-want", protocol.Frame{Type: protocol.FrameEvidenceWant, Hash: ev, Offset: 65536}},
		{"evidence-chunk", protocol.Frame{Type: protocol.FrameEvidenceChunk, Hash: ev, Offset: 65536, Body: evidenceContent}},
		{"evidence-stored", protocol.Frame{Type: protocol.FrameEvidenceStored, Hash: ev}},
		{"evidence-get", protocol.Frame{Type: protocol.FrameEvidenceGet, Hash: ev}},
		{"upstream-entry", protocol.Frame{Type: protocol.FrameUpstreamEntry, Pos: 41, Receipt: rc.Sign(ck), Body: s1.Bytes()}},
		{"upstream-revocation", protocol.Frame{Type: protocol.FrameUpstreamRevocation, Pos: 43,
			Sig: protocol.SignRevocationAt(ck, rv.Sign(ck), 43), Body: rv.Sign(ck)}},
		{"calendar", protocol.Frame{Type: protocol.FrameCalendar, Body: (&protocol.CalendarUpdate{County: "410324", Version: 2,
			Overlay: []byte(`{"format":1}`), Time: 1764000000000}).Sign(ck)}},
		{"case-intake", protocol.Frame{Type: protocol.FrameCaseIntake, Body: goldenIntakeBytes(tb)}},
		{"case-accepted", protocol.Frame{Type: protocol.FrameCaseAccepted, Case: entityID(77), Pos: 1 << 33}},
		{"case-refused", protocol.Frame{Type: protocol.FrameCaseRefused, Case: entityID(77), Code: protocol.CodeUnknownRecord,
			Message: "承诺已撤回，不再公开"}},
	}
}

// restBody reports whether a frame type ends in a body that takes the rest
// of the message (so a shorter body still decodes).
func restBody(t protocol.FrameType) bool {
	switch t {
	case protocol.FramePush, protocol.FrameReceipt, protocol.FrameCertificate, protocol.FrameRevocation,
		protocol.FrameDeliver, protocol.FrameEvidenceChunk, protocol.FrameUpstreamEntry, protocol.FrameUpstreamRevocation,
		protocol.FrameCalendar, protocol.FrameCaseIntake:
		return true
	}
	return false
}

func TestFrameRoundTrip(t *testing.T) {
	cases := frameCases(t)
	seen := map[protocol.FrameType]bool{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := protocol.AppendFrame(nil, &c.f)
			if b[0] != byte(c.f.Type) {
				t.Fatalf("first byte %d, want the type %d", b[0], c.f.Type)
			}
			got, err := protocol.DecodeFrame(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, c.f) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", *got, c.f)
			}
			// AppendFrame appends.
			prefix := []byte("前缀")
			if b2 := protocol.AppendFrame(bytes.Clone(prefix), &c.f); !bytes.Equal(b2, append(prefix, b...)) {
				t.Fatal("AppendFrame does not append to its argument")
			}
			// The decoded frame holds no reference to the input.
			bodyBefore := bytes.Clone(got.Body)
			clear(b)
			if !bytes.Equal(got.Body, bodyBefore) || (len(got.Nonce) > 0 && bytes.Equal(got.Nonce, make([]byte, len(got.Nonce)))) {
				t.Fatal("the decoded frame shares memory with its input")
			}
		})
		seen[c.f.Type] = true
	}
	for ty := protocol.FrameType(0); ty < 255; ty++ {
		if known := ty.String() != "unknown"; known != seen[ty] {
			t.Errorf("frame type %d (%s): named %v, covered by a case %v", ty, ty, known, seen[ty])
		}
	}
}

// TestFrameLayout pins the byte layout docs/protocol.md describes.
func TestFrameLayout(t *testing.T) {
	dev := goldenDevice()
	sig := bytes.Repeat([]byte{0xee}, 64)
	h := protocol.HashOf([]byte("x"))
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	cases := []struct {
		name string
		f    protocol.Frame
		want []byte
	}{
		{"ack uvarint", protocol.Frame{Type: protocol.FrameAck, Pos: 300}, []byte{12, 0xac, 0x02}},
		{"caught up zero", protocol.Frame{Type: protocol.FrameCaughtUp}, []byte{11, 0}},
		{"hello", protocol.Frame{Type: protocol.FrameHello, Version: 1, Device: dev.id, Cursor: 5, Sig: sig},
			cat([]byte{2, 1}, dev.id[:], []byte{5}, sig)},
		{"hello with status", protocol.Frame{Type: protocol.FrameHello, Version: 1, Device: dev.id, Cursor: 5, Sig: sig,
			Status: &protocol.HelloStatus{Software: "0.1.0", Seq: 300, PendingOps: 2}},
			cat([]byte{2, 1}, dev.id[:], []byte{5}, sig, []byte{5}, []byte("0.1.0"), []byte{0xac, 0x02, 2})},
		{"hello with an empty status", protocol.Frame{Type: protocol.FrameHello, Version: 1, Device: dev.id, Cursor: 5, Sig: sig,
			Status: &protocol.HelloStatus{}},
			cat([]byte{2, 1}, dev.id[:], []byte{5}, sig, []byte{0, 0, 0})},
		{"hello with an epoch", protocol.Frame{Type: protocol.FrameHello, Version: 1, Device: dev.id, Cursor: 5, Sig: sig,
			Status: &protocol.HelloStatus{Software: "0.1.0", Seq: 300, PendingOps: 2}, Epoch: &protocol.Epoch{1, 15: 2}},
			cat([]byte{2, 1}, dev.id[:], []byte{5}, sig, []byte{5}, []byte("0.1.0"), []byte{0xac, 0x02, 2}, []byte{1}, make([]byte, 14), []byte{2})},
		{"hello with an epoch and no status", protocol.Frame{Type: protocol.FrameHello, Version: 1, Device: dev.id, Cursor: 5, Sig: sig,
			Epoch: &protocol.Epoch{}},
			cat([]byte{2, 1}, dev.id[:], []byte{5}, sig, []byte{0, 0, 0}, make([]byte, 16))},
		{"error", protocol.Frame{Type: protocol.FrameError, Code: "fork", Message: "分叉"},
			cat([]byte{4, 4}, []byte("fork"), []byte{6}, []byte("分叉"))},
		{"refused", protocol.Frame{Type: protocol.FrameRefused, Device: dev.id, Seq: 2, Code: "fork"},
			cat([]byte{7}, dev.id[:], []byte{2, 4}, []byte("fork"), []byte{0}, make([]byte, 32))},
		{"offer", protocol.Frame{Type: protocol.FrameEvidenceOffer, Hash: h, Size: 128},
			cat([]byte{13}, h[:], []byte{0x80, 0x01})},
		{"chunk", protocol.Frame{Type: protocol.FrameEvidenceChunk, Hash: h, Offset: 1, Body: []byte("ab")},
			cat([]byte{15}, h[:], []byte{1}, []byte("ab"))},
		{"deliver", protocol.Frame{Type: protocol.FrameDeliver, Pos: 1, Body: []byte("JNCS")},
			cat([]byte{8, 1}, []byte("JNCS"))},
		{"welcome", protocol.Frame{Type: protocol.FrameWelcome, Head: protocol.Head{Seq: 1, Hash: h, LastOp: 3}, Pos: 4},
			cat([]byte{3, 1}, h[:], []byte{3, 4})},
		{"welcome with an epoch", protocol.Frame{Type: protocol.FrameWelcome, Head: protocol.Head{Seq: 1, Hash: h, LastOp: 3}, Pos: 4, Epoch: &protocol.Epoch{9, 15: 8}},
			cat([]byte{3, 1}, h[:], []byte{3, 4, 9}, make([]byte, 14), []byte{8})},
		{"case intake", protocol.Frame{Type: protocol.FrameCaseIntake, Body: []byte("JNCI")}, cat([]byte{21}, []byte("JNCI"))},
		{"case accepted", protocol.Frame{Type: protocol.FrameCaseAccepted, Case: protocol.EntityID{1, 2}, Pos: 300},
			cat([]byte{22, 1, 2}, make([]byte, 14), []byte{0xac, 0x02})},
		{"case refused", protocol.Frame{Type: protocol.FrameCaseRefused, Case: protocol.EntityID{1, 2}, Code: "unknown_record", Message: "无"},
			cat([]byte{23, 1, 2}, make([]byte, 14), []byte{14}, []byte("unknown_record"), []byte{3}, []byte("无"))},
	}
	for _, c := range cases {
		if got := protocol.AppendFrame(nil, &c.f); !bytes.Equal(got, c.want) {
			t.Errorf("%s:\n got %x\nwant %x", c.name, got, c.want)
		}
	}
}

// TestDecodeFrameRefuses: every way a frame can be wrong is refused as
// malformed or oversize, and nothing is returned with the error.
func TestDecodeFrameRefuses(t *testing.T) {
	h := protocol.HashOf([]byte("x"))
	enc := func(f protocol.Frame) []byte { return protocol.AppendFrame(nil, &f) }
	uv := func(v uint64) []byte { return binary.AppendUvarint(nil, v) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	helloHead := enc(protocol.Frame{Type: protocol.FrameHello, Version: 1, Device: goldenDevice().id, Cursor: 5, Sig: make([]byte, 64)})
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, protocol.ErrMalformed},
		{"type 0", []byte{0}, protocol.ErrMalformed},
		{"type 24", []byte{24, 0}, protocol.ErrMalformed},
		{"case intake empty", []byte{21}, protocol.ErrMalformed},
		{"case intake too large", cat([]byte{21}, make([]byte, protocol.MaxIntakeBytes+1)), protocol.ErrOversize},
		{"case accepted without position", cat([]byte{22}, make([]byte, 16)), protocol.ErrMalformed},
		{"case refused code too long", cat([]byte{23}, make([]byte, 16), uv(65), bytes.Repeat([]byte("c"), 65), []byte{0}), protocol.ErrMalformed},
		{"case refused message not UTF-8", cat([]byte{23}, make([]byte, 16), []byte{1, 'x', 1, 0xff}), protocol.ErrMalformed},
		{"upstream entry without receipt", cat([]byte{18, 1, 0}, []byte("JNCS")), protocol.ErrMalformed},
		{"upstream entry receipt past the end", cat([]byte{18, 1, 5}, []byte("JNRC")), protocol.ErrMalformed},
		{"upstream entry receipt too long", cat([]byte{18, 1}, uv(4097), make([]byte, 4097)), protocol.ErrMalformed},
		{"upstream revocation short signature", cat([]byte{19, 1}, make([]byte, 63)), protocol.ErrMalformed},
		{"type 255", []byte{255}, protocol.ErrMalformed},
		{"ack trailing byte", []byte{12, 1, 0}, protocol.ErrMalformed},
		{"ack truncated varint", []byte{12, 0x80}, protocol.ErrMalformed},
		{"ack non-minimal varint", []byte{12, 0x81, 0x00}, protocol.ErrMalformed},
		{"ack varint over 64 bits", cat([]byte{12}, bytes.Repeat([]byte{0xff}, 10), []byte{0x01}), protocol.ErrMalformed},
		{"stored trailing byte", cat(enc(protocol.Frame{Type: protocol.FrameEvidenceStored, Hash: h}), []byte{0}), protocol.ErrMalformed},
		{"error code too long", cat([]byte{4}, uv(65), bytes.Repeat([]byte("c"), 65), []byte{0}), protocol.ErrMalformed},
		{"error message too long", cat([]byte{4, 4}, []byte("fork"), uv(1025), bytes.Repeat([]byte("m"), 1025)), protocol.ErrMalformed},
		{"error message not UTF-8", cat([]byte{4, 4}, []byte("fork"), []byte{2, 0xc3, 0x28}), protocol.ErrMalformed},
		{"error length past the end", cat([]byte{4, 4}, []byte("fo")), protocol.ErrMalformed},
		{"hello software version too long", cat(helloHead, uv(33), bytes.Repeat([]byte("1"), 33), []byte{0, 0}), protocol.ErrMalformed},
		{"hello software version with a control character", cat(helloHead, uv(6), []byte("0.1.0\n"), []byte{0, 0}), protocol.ErrMalformed},
		{"hello software version not ASCII", cat(helloHead, uv(6), []byte("版本"), []byte{0, 0}), protocol.ErrMalformed},
		{"hello status without pending", cat(helloHead, uv(5), []byte("0.1.0"), []byte{1}), protocol.ErrMalformed},
		{"hello status trailing byte", cat(helloHead, uv(5), []byte("0.1.0"), []byte{1, 2, 0}), protocol.ErrMalformed},
		{"hello status non-minimal varint", cat(helloHead, uv(0), []byte{0x81, 0x00, 0}), protocol.ErrMalformed},
		{"hello epoch cut short", cat(helloHead, uv(0), []byte{0, 0}, make([]byte, 15)), protocol.ErrMalformed},
		{"hello epoch trailing byte", cat(helloHead, uv(0), []byte{0, 0}, make([]byte, 17)), protocol.ErrMalformed},
		{"welcome epoch cut short", cat([]byte{3, 1}, h[:], []byte{3, 4}, make([]byte, 15)), protocol.ErrMalformed},
		{"welcome epoch trailing byte", cat([]byte{3, 1}, h[:], []byte{3, 4}, make([]byte, 17)), protocol.ErrMalformed},
		{"challenge county too long", cat([]byte{1, 1}, make([]byte, 32), uv(17), bytes.Repeat([]byte("4"), 17), make([]byte, 32)), protocol.ErrMalformed},
		{"evidence size 0", cat([]byte{13}, h[:], []byte{0}), protocol.ErrMalformed},
		{"evidence size over the limit", cat([]byte{13}, h[:], uv(protocol.MaxEvidenceBytes+1)), protocol.ErrMalformed},
		{"evidence size negative as int64", cat([]byte{13}, h[:], uv(1<<63)), protocol.ErrMalformed},
		{"want offset over the limit", cat([]byte{14}, h[:], uv(protocol.MaxEvidenceBytes+1)), protocol.ErrMalformed},
		{"get offset negative as int64", cat([]byte{17}, h[:], uv(1<<63+5)), protocol.ErrMalformed},
		{"chunk empty", cat([]byte{15}, h[:], []byte{0}), protocol.ErrMalformed},
		{"chunk too large", cat([]byte{15}, h[:], []byte{0}, make([]byte, protocol.MaxChunkBytes+1)), protocol.ErrMalformed},
		{"chunk offset over the limit", cat([]byte{15}, h[:], uv(protocol.MaxEvidenceBytes+1), []byte("x")), protocol.ErrMalformed},
		{"oversize", cat([]byte{5}, make([]byte, protocol.MaxFrameBytes)), protocol.ErrOversize},
		{"oversize of any type", make([]byte, protocol.MaxFrameBytes+1), protocol.ErrOversize},
	}
	for _, c := range cases {
		f, err := protocol.DecodeFrame(c.b)
		if !errors.Is(err, c.want) || f != nil {
			t.Errorf("%s: DecodeFrame = %+v, %v; want %v", c.name, f, err, c.want)
		}
	}
	// The limits themselves are accepted.
	ok := [][]byte{
		cat([]byte{5}, make([]byte, protocol.MaxFrameBytes-1)),
		cat([]byte{15}, h[:], uv(protocol.MaxEvidenceBytes), make([]byte, protocol.MaxChunkBytes)),
		cat([]byte{13}, h[:], uv(protocol.MaxEvidenceBytes)),
		cat([]byte{4}, uv(64), bytes.Repeat([]byte("c"), 64), uv(1024), bytes.Repeat([]byte("m"), 1024)),
		cat(helloHead, uv(32), bytes.Repeat([]byte("~"), 32), []byte{0, 0}),
		{5}, // an empty push decodes; the change set inside is checked later
		cat([]byte{21}, make([]byte, protocol.MaxIntakeBytes)), // the intake inside is checked later
	}
	for i, b := range ok {
		if _, err := protocol.DecodeFrame(b); err != nil {
			t.Errorf("limit case %d: %v", i, err)
		}
	}
}

// TestDecodeFrameEveryTruncation: a frame cut short anywhere in its fixed
// part is refused; one with a trailing byte is refused unless its last
// field takes the rest of the message.
func TestDecodeFrameEveryTruncation(t *testing.T) {
	for _, c := range frameCases(t) {
		b := protocol.AppendFrame(nil, &c.f)
		header := len(b) - len(c.f.Body)
		// A hello's status and epoch and a welcome's epoch are optional:
		// cut right before them, the frame is that of an older peer.
		withoutEpoch, withoutStatus := -1, -1
		if c.f.Epoch != nil {
			plain := c.f
			plain.Epoch = nil
			withoutEpoch = len(protocol.AppendFrame(nil, &plain))
		}
		if c.f.Status != nil {
			plain := c.f
			plain.Status, plain.Epoch = nil, nil
			withoutStatus = len(protocol.AppendFrame(nil, &plain))
		}
		for n := 0; n < len(b); n++ {
			if restBody(c.f.Type) && n >= header {
				break // a shorter body is another body
			}
			if n == withoutStatus {
				if f, err := protocol.DecodeFrame(b[:n]); err != nil || f.Status != nil || f.Epoch != nil {
					t.Fatalf("%s without its status: %+v, %v", c.name, f, err)
				}
				continue
			}
			if n == withoutEpoch {
				if f, err := protocol.DecodeFrame(b[:n]); err != nil || f.Epoch != nil || (c.f.Status != nil) != (f.Status != nil) {
					t.Fatalf("%s without its epoch: %+v, %v", c.name, f, err)
				}
				continue
			}
			if f, err := protocol.DecodeFrame(b[:n]); !errors.Is(err, protocol.ErrMalformed) || f != nil {
				t.Fatalf("%s cut to %d of %d bytes: %+v, %v", c.name, n, len(b), f, err)
			}
		}
		if restBody(c.f.Type) {
			continue
		}
		if _, err := protocol.DecodeFrame(append(bytes.Clone(b), 0)); !errors.Is(err, protocol.ErrMalformed) {
			t.Fatalf("%s with a trailing byte: %v", c.name, err)
		}
	}
}

// TestFrameMessageClipped: a message longer than a frame may carry is cut
// at a character boundary, and invalid UTF-8 replaced, so the frame still
// decodes and its code still arrives.
func TestFrameMessageClipped(t *testing.T) {
	for _, msg := range []string{
		strings.Repeat("因", 400),        // 1200 bytes, 3 per character: 1024 is not a boundary
		strings.Repeat("a", 5000),       // far over
		"bad \xff byte",                 // not UTF-8
		strings.Repeat("x", 1023) + "因", // the limit falls inside the last character
		strings.Repeat("y", 1024),       // exactly the limit: unchanged
	} {
		for _, ty := range []protocol.FrameType{protocol.FrameError, protocol.FrameRefused, protocol.FrameCaseRefused} {
			f := protocol.Frame{Type: ty, Code: protocol.CodeInvalidOperation, Message: msg}
			got, err := protocol.DecodeFrame(protocol.AppendFrame(nil, &f))
			if err != nil {
				t.Fatalf("%s with a %d-byte message: %v", ty, len(msg), err)
			}
			if got.Code != f.Code || len(got.Message) > 1024 || !utf8.ValidString(got.Message) {
				t.Fatalf("%s: code %q, message of %d bytes", ty, got.Code, len(got.Message))
			}
			if valid := utf8.ValidString(msg); valid && !strings.HasPrefix(msg, got.Message) {
				t.Fatalf("%s: message %q is not a prefix of the original", ty, got.Message)
			}
			if len(msg) <= 1024 && utf8.ValidString(msg) && got.Message != msg {
				t.Fatalf("%s: a message within the limit changed", ty)
			}
			if len(msg) > 1024 && len(got.Message) < 1024-utf8.UTFMax {
				t.Fatalf("%s: cut to %d bytes, more than a character short of the limit", ty, len(got.Message))
			}
		}
	}
}

// TestHelloStatusRoundTrip: a hello carries the device's status (software
// version, local chain head, unsealed operations) as optional trailing
// fields; a hello without them, as older devices send it, still decodes,
// with no status; the signature covers the same bytes either way.
func TestHelloStatusRoundTrip(t *testing.T) {
	dev := goldenDevice()
	nonce := bytes.Repeat([]byte{9}, 32)
	sig := protocol.SignChallenge(dev.priv, nonce, "AB:CD")
	plain := protocol.Frame{Type: protocol.FrameHello, Version: protocol.ProtocolVersion, Device: dev.id, Cursor: 17, Sig: sig}
	for _, st := range []*protocol.HelloStatus{
		nil,
		{},
		{Software: "0.1.0", Seq: 1, PendingOps: 0},
		{Software: strings.Repeat("9", protocol.MaxSoftwareVersionBytes), Seq: 1 << 40, PendingOps: 1 << 20},
		{Software: " v2 (rc1) ~", Seq: 0, PendingOps: 7},
	} {
		f := plain
		f.Status = st
		b := protocol.AppendFrame(nil, &f)
		got, err := protocol.DecodeFrame(b)
		if err != nil {
			t.Fatalf("status %+v: %v", st, err)
		}
		if !reflect.DeepEqual(*got, f) {
			t.Fatalf("round trip:\n got %+v (status %+v)\nwant %+v (status %+v)", *got, got.Status, f, st)
		}
		if !bytes.HasPrefix(b, protocol.AppendFrame(nil, &plain)) {
			t.Fatal("the status is not a suffix of the hello an older device sends")
		}
		if !protocol.VerifyChallenge(dev.pub, nonce, "AB:CD", got.Sig) {
			t.Fatal("the signature no longer verifies")
		}
	}
	// A version the wire cannot carry is cleaned by the sender, so its
	// hello is never refused.
	for in, want := range map[string]string{
		"0.1.0":                      "0.1.0",
		"":                           "",
		"版本1.0":                      "??1.0",
		"1.0\n\x00":                  "1.0??",
		strings.Repeat("x", 40):      strings.Repeat("x", 32),
		strings.Repeat("因", 40):      strings.Repeat("?", 32),
		"v" + strings.Repeat("好", 3): "v???",
	} {
		if got := protocol.CleanSoftwareVersion(in); got != want || !protocol.ValidSoftwareVersion(got) {
			t.Errorf("CleanSoftwareVersion(%q) = %q, want %q", in, got, want)
		}
		f := plain
		f.Status = &protocol.HelloStatus{Software: in, Seq: 3}
		got, err := protocol.DecodeFrame(protocol.AppendFrame(nil, &f))
		if err != nil || got.Status == nil || got.Status.Software != want || got.Status.Seq != 3 {
			t.Errorf("hello with version %q: %+v, %v", in, got, err)
		}
	}
}

// TestHelloStatusRefused: a hello whose status breaks the rules — a
// version over 32 bytes or not printable ASCII, a field missing, a byte too
// many — is refused as malformed, with no frame returned.
func TestHelloStatusRefused(t *testing.T) {
	dev := goldenDevice()
	head := protocol.AppendFrame(nil, &protocol.Frame{Type: protocol.FrameHello, Version: 1, Device: dev.id, Sig: make([]byte, 64)})
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	long := strings.Repeat("1", protocol.MaxSoftwareVersionBytes+1)
	for name, b := range map[string][]byte{
		"version of 33 bytes":   cat(head, []byte{33}, []byte(long), []byte{1, 0}),
		"version of 1000 bytes": cat(head, binary.AppendUvarint(nil, 1000), bytes.Repeat([]byte("1"), 1000), []byte{1, 0}),
		"version with DEL":      cat(head, []byte{2}, []byte{'1', 0x7f}, []byte{1, 0}),
		"version with a tab":    cat(head, []byte{3}, []byte("1\t2"), []byte{1, 0}),
		"version not UTF-8":     cat(head, []byte{2}, []byte{0xc3, 0x28}, []byte{1, 0}),
		"only a version":        cat(head, []byte{1}, []byte("1")),
		"version past the end":  cat(head, []byte{9}, []byte("1.0")),
		"a byte too many":       cat(head, []byte{1}, []byte("1"), []byte{1, 0, 0}),
	} {
		f, err := protocol.DecodeFrame(b)
		if f != nil || !errors.Is(err, protocol.ErrMalformed) || protocol.CodeOf(err) != protocol.CodeMalformed {
			t.Errorf("%s: DecodeFrame = %+v, %v; want malformed", name, f, err)
		}
	}
}

func TestFrameTypeString(t *testing.T) {
	want := []string{"unknown", "challenge", "hello", "welcome", "error", "push", "receipt", "refused", "deliver",
		"certificate", "revocation", "caught_up", "ack", "evidence_offer", "evidence_want", "evidence_chunk",
		"evidence_stored", "evidence_get", "upstream_entry", "upstream_revocation", "calendar", "case_intake", "case_accepted",
		"case_refused", "unknown"}
	for i, w := range want {
		if got := protocol.FrameType(i).String(); got != w {
			t.Errorf("FrameType(%d) = %q, want %q", i, got, w)
		}
	}
}

const frameCorpus = "testdata/fuzz/FuzzDecodeFrame"

// TestFrameSeedCorpus checks the seed corpus of FuzzDecodeFrame holds one
// file per frame case, as re-created here (go test -run FrameSeed -update
// rewrites them).
func TestFrameSeedCorpus(t *testing.T) {
	for _, c := range frameCases(t) {
		path := filepath.Join(frameCorpus, c.name)
		want := fuzzSeed(protocol.AppendFrame(nil, &c.f))
		if *update {
			if err := os.MkdirAll(frameCorpus, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%v (go test ./sync/protocol -run FrameSeed -update creates it)", err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the frame it seeds: the frame encoding changed", path)
		}
	}
}

// FuzzDecodeFrame: DecodeFrame never panics; what it refuses is malformed
// or oversize; what it accepts is canonical: encoding it again gives the
// input bytes, which decode to an equal frame.
func FuzzDecodeFrame(f *testing.F) {
	for _, c := range frameCases(f) {
		b := protocol.AppendFrame(nil, &c.f)
		f.Add(b)
		f.Add(b[:len(b)-1])
		f.Add(append(bytes.Clone(b), 0))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := protocol.DecodeFrame(data)
		if err != nil {
			if fr != nil {
				t.Fatalf("a frame returned with error %v", err)
			}
			if c := protocol.CodeOf(err); c != protocol.CodeMalformed && c != protocol.CodeOversize {
				t.Fatalf("error %v has code %q", err, c)
			}
			return
		}
		if fr.Type.String() == "unknown" {
			t.Fatalf("accepted unknown frame type %d", fr.Type)
		}
		again := protocol.AppendFrame(nil, fr)
		if !bytes.Equal(again, data) {
			t.Fatalf("re-encoding differs from the accepted input:\n got %x\nwant %x", again, data)
		}
		fr2, err := protocol.DecodeFrame(again)
		if err != nil {
			t.Fatalf("the re-encoded frame does not decode: %v", err)
		}
		if !reflect.DeepEqual(fr, fr2) {
			t.Fatalf("decoding again gives another frame:\n%+v\n%+v", fr, fr2)
		}
	})
}

// Signed documents.

// signedLayout builds a document the way docs/protocol.md describes it:
// magic, version, body, then ed25519 over context and SHA-256 of the rest.
func signedLayout(key ed25519.PrivateKey, magic, context string, version byte, body []byte) []byte {
	b := append(append([]byte(magic), version), body...)
	sum := sha256.Sum256(b)
	return append(b, ed25519.Sign(key, append([]byte(context), sum[:]...))...)
}

func str(s string) []byte { return append(binary.AppendUvarint(nil, uint64(len(s))), s...) }

func be64(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

func TestReceipt(t *testing.T) {
	ck := wireCountyKey()
	pub := ck.Public().(ed25519.PublicKey)
	dev := goldenDevice()
	r := protocol.Receipt{County: county, Device: dev.id, Seq: 300, Hash: protocol.HashOf([]byte("cs")), Pos: 1 << 33, Time: 1772413260000}
	b := r.Sign(ck)
	got, err := protocol.OpenReceipt(b, pub)
	if err != nil || !reflect.DeepEqual(*got, r) {
		t.Fatalf("OpenReceipt = %+v, %v", got, err)
	}
	// The layout, built by hand.
	body := bytes.Join([][]byte{str(string(county)), dev.id[:], binary.AppendUvarint(nil, 300), r.Hash[:],
		binary.AppendUvarint(nil, 1<<33), be64(r.Time)}, nil)
	if hand := signedLayout(ck, "JNRC", "jiannuo/receipt/v1\x00", 1, body); !bytes.Equal(hand, b) {
		t.Fatalf("receipt layout:\n got %x\nwant %x", b, hand)
	}
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	nonCanonical := bytes.Join([][]byte{str(string(county)), dev.id[:], {0xac, 0x82, 0x00}, r.Hash[:],
		binary.AppendUvarint(nil, 1<<33), be64(r.Time)}, nil) // 300 in three bytes
	for _, c := range []struct {
		name string
		b    []byte
		key  ed25519.PublicKey
		want error
	}{
		{"bad signature", flipBit(b, len(b)-1, 0), pub, protocol.ErrBadSignature},
		{"content changed", flipBit(b, 30, 2), pub, protocol.ErrBadSignature},
		{"wrong county key", b, other, protocol.ErrBadSignature},
		{"no key", b, nil, protocol.ErrBadSignature},
		{"trailing byte", append(bytes.Clone(b), 0), pub, protocol.ErrMalformed},
		{"truncated", b[:len(b)-1], pub, protocol.ErrMalformed},
		{"too short", b[:10], pub, protocol.ErrMalformed},
		{"another document", (&protocol.Revocation{County: county, Device: dev.id, Reason: "x"}).Sign(ck), pub, protocol.ErrMalformed},
		{"version 2", signedLayout(ck, "JNRC", "jiannuo/receipt/v1\x00", 2, body), pub, protocol.ErrUnknownVersion},
		{"non-canonical varint", signedLayout(ck, "JNRC", "jiannuo/receipt/v1\x00", 1, nonCanonical), pub, protocol.ErrMalformed},
		{"signed for another context", signedLayout(ck, "JNRC", "jiannuo/enrolment/v1\x00", 1, body), pub, protocol.ErrBadSignature},
		{"oversize", append(bytes.Clone(b), make([]byte, 4<<10)...), pub, protocol.ErrOversize},
	} {
		if got, err := protocol.OpenReceipt(c.b, c.key); !errors.Is(err, c.want) {
			t.Errorf("%s: OpenReceipt = %+v, %v; want %v", c.name, got, err, c.want)
		}
	}
}

func TestCertificate(t *testing.T) {
	ck := wireCountyKey()
	pub := ck.Public().(ed25519.PublicKey)
	dev := newDevice(t, "wire-cert", township, false)
	good := protocol.Certificate{County: county, Device: dev.id, Key: dev.pub, Office: township, Name: "赤土店镇党政办-1", Issued: 1772413200000}
	b := good.Sign(ck)
	got, err := protocol.OpenCertificate(b, pub)
	if err != nil || !reflect.DeepEqual(*got, good) {
		t.Fatalf("OpenCertificate = %+v, %v", got, err)
	}
	if info := got.Info(); !reflect.DeepEqual(info, protocol.DeviceInfo{ID: dev.id, Key: dev.pub, Office: township}) {
		t.Fatalf("Info() = %+v", info)
	}
	admin := good
	admin.Office, admin.Admin = county, true
	if _, err := protocol.OpenCertificate(admin.Sign(ck), pub); err != nil {
		t.Fatalf("county-admin certificate: %v", err)
	}
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	edit := func(fn func(*protocol.Certificate)) []byte {
		c := good
		fn(&c)
		return c.Sign(ck)
	}
	for _, c := range []struct {
		name string
		b    []byte
		key  ed25519.PublicKey
		want error
	}{
		{"bad signature", flipBit(b, len(b)-5, 7), pub, protocol.ErrBadSignature},
		{"wrong county key", b, other, protocol.ErrBadSignature},
		{"office outside the county", edit(func(c *protocol.Certificate) { c.Office = otherTownship }), pub, protocol.ErrOutOfScope},
		{"another county's certificate", edit(func(c *protocol.Certificate) { c.County, c.Office = otherCounty, otherTownship }), pub, nil},
		{"invalid county", edit(func(c *protocol.Certificate) { c.County = "county" }), pub, protocol.ErrOutOfScope},
		{"admin for a township", edit(func(c *protocol.Certificate) { c.Admin = true }), pub, protocol.ErrOutOfScope},
		{"device id not its key", edit(func(c *protocol.Certificate) { c.Device[0] ^= 1 }), pub, protocol.ErrWrongDevice},
		{"another device's key", edit(func(c *protocol.Certificate) { c.Key = goldenDevice().pub }), pub, protocol.ErrWrongDevice},
		{"trailing byte", append(bytes.Clone(b), 0), pub, protocol.ErrMalformed},
		{"admin flag not a boolean", certWithAdminByte(t, ck, good, 2), pub, protocol.ErrMalformed},
	} {
		got, err := protocol.OpenCertificate(c.b, c.key)
		if c.want == nil {
			// Signed by this county's key, yet naming another county:
			// valid in form; a receiver checks County against its own.
			if err != nil || got.County != otherCounty {
				t.Errorf("%s: %+v, %v", c.name, got, err)
			}
			continue
		}
		if !errors.Is(err, c.want) || got != nil {
			t.Errorf("%s: OpenCertificate = %+v, %v; want %v", c.name, got, err, c.want)
		}
	}
}

// certWithAdminByte signs a certificate whose admin flag is the byte v.
func certWithAdminByte(t *testing.T, key ed25519.PrivateKey, c protocol.Certificate, v byte) []byte {
	t.Helper()
	body := bytes.Join([][]byte{str(string(c.County)), c.Device[:], c.Key, str(string(c.Office)), {v}, str(c.Name), be64(c.Issued)}, nil)
	// The same layout with a proper boolean is the real certificate.
	proper := bytes.Join([][]byte{str(string(c.County)), c.Device[:], c.Key, str(string(c.Office)), {0}, str(c.Name), be64(c.Issued)}, nil)
	if !bytes.Equal(signedLayout(key, "JNEC", "jiannuo/enrolment/v1\x00", 1, proper), c.Sign(key)) {
		t.Fatal("certificate layout differs from the one built by hand")
	}
	return signedLayout(key, "JNEC", "jiannuo/enrolment/v1\x00", 1, body)
}

func TestRevocation(t *testing.T) {
	ck := wireCountyKey()
	pub := ck.Public().(ed25519.PublicKey)
	r := protocol.Revocation{County: county, Device: goldenDevice().id, Reason: "终端遗失，已停用", Time: 1772413300000}
	b := r.Sign(ck)
	got, err := protocol.OpenRevocation(b, pub)
	if err != nil || !reflect.DeepEqual(*got, r) {
		t.Fatalf("OpenRevocation = %+v, %v", got, err)
	}
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	long := r
	long.Reason = strings.Repeat("因", 342) // 1026 bytes
	for _, c := range []struct {
		name string
		b    []byte
		key  ed25519.PublicKey
		want error
	}{
		{"bad signature", flipBit(b, len(b)-1, 3), pub, protocol.ErrBadSignature},
		{"wrong county key", b, other, protocol.ErrBadSignature},
		{"trailing byte", append(bytes.Clone(b), 0), pub, protocol.ErrMalformed},
		{"reason too long", long.Sign(ck), pub, protocol.ErrMalformed},
		{"a receipt", (&protocol.Receipt{County: county}).Sign(ck), pub, protocol.ErrMalformed},
	} {
		if got, err := protocol.OpenRevocation(c.b, c.key); !errors.Is(err, c.want) {
			t.Errorf("%s: OpenRevocation = %+v, %v; want %v", c.name, got, err, c.want)
		}
	}
}

func TestEnrolRequest(t *testing.T) {
	dev := newDevice(t, "wire-enrol", township, false)
	r := protocol.EnrolRequest{Key: dev.pub, Office: township, DeviceName: "赤土店镇党政办-1", Staff: "王建国", Time: 1772413200000}
	b := r.Sign(dev.priv)
	got, err := protocol.OpenEnrolRequest(b)
	if err != nil || !reflect.DeepEqual(*got, r) || got.Device() != dev.id {
		t.Fatalf("OpenEnrolRequest = %+v, %v", got, err)
	}
	edit := func(fn func(*protocol.EnrolRequest)) []byte {
		c := r
		fn(&c)
		return c.Sign(dev.priv)
	}
	for _, c := range []struct {
		name string
		b    []byte
		want error
	}{
		{"signed by another key", (&r).Sign(goldenDevice().priv), protocol.ErrBadSignature},
		{"bad signature", flipBit(b, len(b)-1, 1), protocol.ErrBadSignature},
		{"key changed after signing", flipBit(b, 5, 0), protocol.ErrBadSignature},
		{"invalid office", edit(func(r *protocol.EnrolRequest) { r.Office = "41032410" }), protocol.ErrInvalidOperation},
		{"blank device name", edit(func(r *protocol.EnrolRequest) { r.DeviceName = " " }), protocol.ErrInvalidOperation},
		{"no staff", edit(func(r *protocol.EnrolRequest) { r.Staff = "" }), protocol.ErrInvalidOperation},
		{"trailing byte", append(bytes.Clone(b), 0), protocol.ErrMalformed},
		{"empty", nil, protocol.ErrMalformed},
	} {
		if got, err := protocol.OpenEnrolRequest(c.b); !errors.Is(err, c.want) {
			t.Errorf("%s: OpenEnrolRequest = %+v, %v; want %v", c.name, got, err, c.want)
		}
	}
}

func TestChallenge(t *testing.T) {
	dev := goldenDevice()
	nonce := bytes.Repeat([]byte{7}, 32)
	const fp = "AA:BB"
	sig := protocol.SignChallenge(dev.priv, nonce, fp)
	if !protocol.VerifyChallenge(dev.pub, nonce, fp, sig) {
		t.Fatal("a challenge signature does not verify")
	}
	other := bytes.Clone(nonce)
	other[0] ^= 1
	for name, ok := range map[string]bool{
		"another nonce":       protocol.VerifyChallenge(dev.pub, other, fp, sig),
		"another server":      protocol.VerifyChallenge(dev.pub, nonce, "AA:BC", sig),
		"another key":         protocol.VerifyChallenge(newDevice(t, "x", township, false).pub, nonce, fp, sig),
		"short key":           protocol.VerifyChallenge(dev.pub[:31], nonce, fp, sig),
		"a change-set signer": protocol.VerifyChallenge(dev.pub, nonce, fp, ed25519.Sign(dev.priv, append([]byte(signContext), nonce...))),
	} {
		if ok {
			t.Errorf("%s: verified", name)
		}
	}
}

func TestFingerprint(t *testing.T) {
	got := protocol.Fingerprint([]byte("abc"))
	const want = "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
	if got != want {
		t.Fatalf("Fingerprint(abc) = %s", got)
	}
}

// testCert makes a self-signed TLS certificate.
func testCert(t *testing.T, name string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestPinnedTLSConfig: a device trusts exactly the pinned certificate,
// whatever it names and whoever signed it, and refuses any other with
// ErrWrongServer.
func TestPinnedTLSConfig(t *testing.T) {
	a, b := testCert(t, "county server"), testCert(t, "impostor")
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{a}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.(*tls.Conn).Handshake()
				c.Write([]byte("ok"))
			}()
		}
	}()
	dial := func(fp string) error {
		d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: protocol.PinnedTLSConfig(fp)}
		c, err := d.Dial("tcp", ln.Addr().String())
		if err != nil {
			return err
		}
		defer c.Close()
		buf := make([]byte, 2)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err = c.Read(buf)
		return err
	}
	if err := dial(protocol.Fingerprint(a.Certificate[0])); err != nil {
		t.Fatalf("the pinned certificate is refused: %v", err)
	}
	for name, fp := range map[string]string{
		"another certificate": protocol.Fingerprint(b.Certificate[0]),
		"nothing pinned":      "",
	} {
		if err := dial(fp); !errors.Is(err, protocol.ErrWrongServer) {
			t.Errorf("%s: %v, want ErrWrongServer", name, err)
		}
	}
	if cfg := protocol.PinnedTLSConfig("x"); cfg.MinVersion < tls.VersionTLS12 {
		t.Errorf("MinVersion %x", cfg.MinVersion)
	}
}

// TestProtocolDocument: docs/protocol.md documents every frame type under
// its number and every error code, so a new one cannot be added silently.
func TestProtocolDocument(t *testing.T) {
	doc, err := os.ReadFile("../../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	for ty := protocol.FrameType(1); ty.String() != "unknown"; ty++ {
		if row := "| " + strconv.Itoa(int(ty)) + " | `" + ty.String() + "` |"; !strings.Contains(text, row) {
			t.Errorf("docs/protocol.md has no frame table row %q", row)
		}
	}
	for _, c := range append(protocol.Codes(), protocol.CodeInternal) {
		if row := "| `" + string(c) + "` |"; !strings.Contains(text, row) {
			t.Errorf("docs/protocol.md has no error code row %q", row)
		}
	}
}

// TestRevocationAt: the county's signature on the position a revocation
// took effect at binds both the revocation's bytes and the position.
func TestRevocationAt(t *testing.T) {
	ck := wireCountyKey()
	pub := ck.Public().(ed25519.PublicKey)
	rv := (&protocol.Revocation{County: county, Device: goldenDevice().id, Reason: "终端遗失", Time: 1772413300000}).Sign(ck)
	sig := protocol.SignRevocationAt(ck, rv, 43)
	if !protocol.VerifyRevocationAt(pub, rv, 43, sig) {
		t.Fatal("a good signature does not verify")
	}
	other := bytes.Clone(rv)
	other[len(other)/2] ^= 1
	_, otherKey, _ := ed25519.GenerateKey(nil)
	for name, ok := range map[string]bool{
		"another position":   protocol.VerifyRevocationAt(pub, rv, 44, sig),
		"another revocation": protocol.VerifyRevocationAt(pub, other, 43, sig),
		"another key":        protocol.VerifyRevocationAt(otherKey.Public().(ed25519.PublicKey), rv, 43, sig),
		"short signature":    protocol.VerifyRevocationAt(pub, rv, 43, sig[:63]),
		"no key":             protocol.VerifyRevocationAt(nil, rv, 43, sig),
	} {
		if ok {
			t.Errorf("%s: verified", name)
		}
	}
}
