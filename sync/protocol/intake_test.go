package protocol_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"jiannuo/domain"
	"jiannuo/sync/protocol"
)

func TestIntakeRoundTrip(t *testing.T) {
	in, b := testIntake(t)
	node := nodeDevice(t)
	if in.Node != node.id {
		t.Fatalf("Sign did not name the node: %s", in.Node)
	}
	got, err := protocol.OpenIntake(b, node.pub)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Fatalf("OpenIntake:\n got %+v\nwant %+v", got, in)
	}
	if dec, err := protocol.DecodeIntake(b); err != nil || !reflect.DeepEqual(dec, in) {
		t.Fatalf("DecodeIntake = %+v, %v", dec, err)
	}
	// The layout docs/protocol.md gives, written out by hand.
	uv := func(v uint64) []byte { return binary.AppendUvarint(nil, v) }
	a := in.Attachments[0]
	body := bytes.Join([][]byte{in.ID[:], str(in.Number), str(string(in.Kind)), str(string(in.Office)), in.Commitment[:], in.Record[:],
		str(in.Text), uv(1), a.Hash[:], str(a.Name), str(a.MIME), uv(uint64(a.Size)), in.TrackHash[:], uv(uint64(len(in.Contact))),
		in.Contact, be64(in.Filed), in.Node[:]}, nil)
	if want := signedLayout(node.priv, "JNCI", "jiannuo/intake/v1\x00", 1, body); !bytes.Equal(b, want) {
		t.Fatalf("intake bytes differ from the documented layout:\n got %x\nwant %x", b, want)
	}
	// An intake that fits the case opening it; CheckCaseIntake refuses
	// anything but a public case.
	op := publicCaseOp(t)
	if err := protocol.CheckCaseIntake(&op, got); err != nil {
		t.Fatal(err)
	}
	county := countyCaseOp()
	if err := protocol.CheckCaseIntake(&county, got); !errors.Is(err, protocol.ErrInvalidOperation) {
		t.Fatalf("county case against an intake: %v", err)
	}
}

// TestOpenIntakeRefuses: every way an intake can be wrong, with its code.
func TestOpenIntakeRefuses(t *testing.T) {
	node := nodeDevice(t)
	_, good := testIntake(t)
	resign := func(edit func(in *protocol.Intake)) []byte {
		in, _ := testIntake(t)
		edit(in)
		return in.Sign(node.priv)
	}
	renumber := func(in *protocol.Intake) { in.Number = protocol.CaseNumber(in.Kind, in.Filed, in.ID) }
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 1
		return b
	}
	// Signed by another node, and signed by the node but naming another.
	other := newDevice(t, "another-node", "4103", false)
	in, _ := testIntake(t)
	byOther := in.Sign(other.priv)
	namesOther := signedLayout(node.priv, "JNCI", "jiannuo/intake/v1\x00", 1, byOther[5:len(byOther)-ed25519.SignatureSize])

	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"signed by another node", byOther, protocol.ErrBadSignature},
		{"names another node", namesOther, protocol.ErrBadSignature},
		{"a bit of the text flipped", flip(len(good) - 64 - 200), protocol.ErrBadSignature},
		{"a bit of the signature flipped", flip(len(good) - 1), protocol.ErrBadSignature},
		{"truncated", good[:len(good)-1], protocol.ErrMalformed},
		{"trailing byte", append(bytes.Clone(good), 0), protocol.ErrMalformed},
		{"wrong magic", append([]byte("JNCX"), good[4:]...), protocol.ErrMalformed},
		{"version 2", append(append([]byte("JNCI"), 2), good[5:]...), protocol.ErrUnknownVersion},
		{"too large", append(bytes.Clone(good), make([]byte, protocol.MaxIntakeBytes)...), protocol.ErrOversize},
		{"empty", nil, protocol.ErrMalformed},
		// Rules, on documents the node did sign.
		{"no ID", resign(func(in *protocol.Intake) { in.ID = protocol.EntityID{}; renumber(in) }), protocol.ErrInvalidOperation},
		{"no commitment", resign(func(in *protocol.Intake) { in.Commitment = protocol.EntityID{} }), protocol.ErrInvalidOperation},
		{"no tracking hash", resign(func(in *protocol.Intake) { in.TrackHash = protocol.Hash{} }), protocol.ErrInvalidOperation},
		{"no filing time", resign(func(in *protocol.Intake) { in.Filed = 0; renumber(in) }), protocol.ErrInvalidOperation},
		{"unknown kind", resign(func(in *protocol.Intake) { in.Kind = "praise" }), protocol.ErrInvalidOperation},
		{"invalid office", resign(func(in *protocol.Intake) { in.Office = "41032410" }), protocol.ErrInvalidOperation},
		{"complaint naming a record", resign(func(in *protocol.Intake) { in.Record = entityID(9) }), protocol.ErrInvalidOperation},
		{"objection without record", resign(func(in *protocol.Intake) { in.Kind = domain.CaseObjection; renumber(in) }), protocol.ErrInvalidOperation},
		{"number not its own", resign(func(in *protocol.Intake) { in.Number = "TS20260302-00000000" }), protocol.ErrInvalidOperation},
		{"blank text", resign(func(in *protocol.Intake) { in.Text = "  " }), protocol.ErrInvalidOperation},
		{"text too long", resign(func(in *protocol.Intake) { in.Text = strings.Repeat("字", domain.MaxCaseTextRunes+1) }), protocol.ErrInvalidOperation},
		{"text with a control character", resign(func(in *protocol.Intake) { in.Text = "<b>\x07</b>" }), protocol.ErrInvalidOperation},
		{"an HTML attachment", resign(func(in *protocol.Intake) { in.Attachments[0].MIME = "text/html" }), protocol.ErrAttachmentType},
		{"an attachment without type", resign(func(in *protocol.Intake) { in.Attachments[0].MIME = "" }), protocol.ErrAttachmentType},
		{"an attachment without a name", resign(func(in *protocol.Intake) { in.Attachments[0].Name = " " }), protocol.ErrInvalidOperation},
		{"an empty attachment", resign(func(in *protocol.Intake) { in.Attachments[0].Size = 0 }), protocol.ErrInvalidOperation},
		{"an attachment without hash", resign(func(in *protocol.Intake) { in.Attachments[0].Hash = protocol.Hash{} }), protocol.ErrInvalidOperation},
		{"an attachment too large", resign(func(in *protocol.Intake) { in.Attachments[0].Size = domain.MaxAttachmentBytes + 1 }), protocol.ErrMalformed},
		{"attachments not sorted", resign(func(in *protocol.Intake) {
			a := in.Attachments[0]
			b := a
			b.Hash = protocol.Hash{0xff}
			in.Attachments = []protocol.Attachment{b, a}
		}), protocol.ErrMalformed},
		{"an attachment twice", resign(func(in *protocol.Intake) { in.Attachments = append(in.Attachments, in.Attachments[0]) }), protocol.ErrMalformed},
		{"four attachments", resign(func(in *protocol.Intake) {
			a := in.Attachments[0]
			in.Attachments = nil
			for i := range 4 {
				a.Hash = protocol.Hash{byte(i + 1)}
				in.Attachments = append(in.Attachments, a)
			}
		}), protocol.ErrMalformed},
		{"contact too small to be sealed", resign(func(in *protocol.Intake) { in.Contact = make([]byte, 48) }), protocol.ErrInvalidOperation},
		{"contact too large", resign(func(in *protocol.Intake) { in.Contact = make([]byte, protocol.MaxContactBoxBytes+1) }), protocol.ErrMalformed},
	}
	for _, c := range cases {
		got, err := protocol.OpenIntake(c.b, node.pub)
		if !errors.Is(err, c.want) || got != nil {
			t.Errorf("%s: OpenIntake = %+v, %v; want %v", c.name, got, err, c.want)
		}
	}
	if _, err := protocol.OpenIntake(good, other.pub); !errors.Is(err, protocol.ErrBadSignature) {
		t.Errorf("opened with another node's key: %v", err)
	}
	// Without the key only the signature goes unchecked.
	if _, err := protocol.DecodeIntake(flip(len(good) - 1)); err != nil {
		t.Errorf("DecodeIntake checks the signature: %v", err)
	}
	if _, err := protocol.DecodeIntake(resign(func(in *protocol.Intake) { in.Attachments[0].MIME = "image/svg+xml" })); protocol.CodeOf(err) != protocol.CodeAttachmentType {
		t.Errorf("DecodeIntake of an SVG: %v", err)
	}
}

func TestCaseNumber(t *testing.T) {
	id := protocol.EntityID{0x3a, 0x67, 0x48, 0x8b, 0x22, 0xff}
	// 2026-12-06 16:30 UTC is 2026-12-07 00:30 in China.
	filed := time.Date(2026, 12, 6, 16, 30, 0, 0, time.UTC).UnixMilli()
	// The first 40 bits, 0x3a67488b22, in groups of five: 00111 01001 10011
	// 10100 10001 00010 11001 00010 = 7 9 19 20 17 2 25 2.
	if got := protocol.CaseNumber(domain.CaseComplaint, filed, id); got != "TS20261207-79KMH2S2" {
		t.Errorf("complaint number %q", got)
	}
	if got := protocol.CaseNumber(domain.CaseObjection, filed-31*60*1000, id); got != "YY20261206-79KMH2S2" {
		t.Errorf("objection number %q", got)
	}
	if got := protocol.CaseNumber("praise", filed, id); got != "" {
		t.Errorf("unknown kind numbered %q", got)
	}
	// Different IDs, different numbers (40 bits).
	seen := map[string]bool{}
	for range 1000 {
		n := protocol.CaseNumber(domain.CaseComplaint, filed, protocol.NewEntityID())
		if seen[n] || len(n) != 19 {
			t.Fatalf("number %q repeated or of the wrong length", n)
		}
		seen[n] = true
	}
}

func TestTrackingCode(t *testing.T) {
	id := entityID(77)
	seen := map[string]bool{}
	first := map[byte]bool{}
	for range 2000 {
		code := protocol.NewTrackingCode()
		if len(code) != protocol.TrackingCodeLen || strings.Trim(code, "0123456789ABCDEFGHJKMNPQRSTVWXYZ") != "" || seen[code] {
			t.Fatalf("code %q", code)
		}
		seen[code] = true
		first[code[0]] = true
		if n, ok := protocol.NormalizeTrackingCode(code); !ok || n != code {
			t.Fatalf("%q normalizes to %q, %v", code, n, ok)
		}
	}
	if len(first) != 32 {
		t.Fatalf("only %d different first characters in 2000 codes: the top bits are not random", len(first))
	}
	code := "7K3M9Q2P0ABC"
	h := protocol.TrackHash(id, code)
	sum := sha256.Sum256(append(append([]byte("jiannuo/track/v1\x00"), id[:]...), code...))
	if h != protocol.Hash(sum) {
		t.Fatal("TrackHash is not SHA-256 of context, id and code")
	}
	for _, typed := range []string{code, "7k3m-9q2p-0abc", " 7K3M 9Q2P OABC ", "7K3M9Q2POABC", protocol.FormatTrackingCode(code)} {
		if !protocol.CheckTrackingCode(id, typed, h) {
			t.Errorf("%q refused", typed)
		}
	}
	if protocol.FormatTrackingCode(code) != "7K3M-9Q2P-0ABC" {
		t.Errorf("formatted %q", protocol.FormatTrackingCode(code))
	}
	for _, typed := range []string{"7K3M9Q2P0ABD", "7K3M9Q2P0AB", "7K3M9Q2P0ABCD", "7K3M9Q2P0ABU", "", "7K3M9Q2P0AB好", "7K3M9Q2P0AB\x00"} {
		if protocol.CheckTrackingCode(id, typed, h) {
			t.Errorf("%q accepted", typed)
		}
	}
	if protocol.CheckTrackingCode(entityID(78), code, h) {
		t.Error("code accepted for another case")
	}
	// I and L read as 1.
	h1 := protocol.TrackHash(id, "111111111111")
	if !protocol.CheckTrackingCode(id, "IiLl1111111l", h1) {
		t.Error("I and L not read as 1")
	}
}

// FuzzDecodeIntake: DecodeIntake never panics; what it refuses has a code;
// what it accepts is canonical: signed again by the golden node it decodes
// to the same intake, byte for byte in the body when it names that node.
func FuzzDecodeIntake(f *testing.F) {
	_, good := testIntake(f)
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(append(bytes.Clone(good), 0))
	f.Add([]byte("JNCI\x01"))
	f.Add(goldenIntakeBytes(f))
	node := nodeDevice(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := protocol.DecodeIntake(data)
		if err != nil {
			if in != nil || protocol.CodeOf(err) == protocol.CodeInternal {
				t.Fatalf("DecodeIntake = %+v, %v", in, err)
			}
			return
		}
		orig := *in
		again := in.Sign(node.priv)
		dec, err := protocol.DecodeIntake(again)
		if err != nil {
			t.Fatalf("re-signed intake refused: %v", err)
		}
		dec.Node = orig.Node
		if !reflect.DeepEqual(*dec, orig) {
			t.Fatalf("re-signed intake decodes to another:\n%+v\n%+v", *dec, orig)
		}
		if orig.Node == node.id && !bytes.Equal(again[:len(again)-ed25519.SignatureSize], data[:len(data)-ed25519.SignatureSize]) {
			t.Fatal("two encodings of one intake")
		}
	})
}
