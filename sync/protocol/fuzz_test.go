package protocol_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"reflect"
	"strings"
	"testing"

	"jiannuo/domain"
	"jiannuo/sync/protocol"
)

// addSeeds adds the golden change sets and a few damaged copies.
func addSeeds(f *testing.F) (s1, s2 *protocol.ChangeSet) {
	f.Helper()
	_, s1, s2 = goldenSets(f)
	for _, cs := range []*protocol.ChangeSet{s1, s2} {
		b := cs.Bytes()
		f.Add(b)
		f.Add(b[:len(b)-1])
		f.Add(b[:len(b)/2])
		f.Add(append(bytes.Clone(b), 0))
		f.Add(flipBit(b, len(b)-1, 0))
		f.Add(flipBit(b, 4, 1)) // version
		f.Add(flipBit(b, 100, 3))
	}
	f.Add([]byte{})
	f.Add([]byte("JNCS\x01"))
	return s1, s2
}

// FuzzDecode: Decode never panics, and whatever it accepts is canonical:
// the bytes it keeps are the input, decoding them again gives an equal
// change set, and the hash is the SHA-256 of the body.
func FuzzDecode(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		cs, err := protocol.Decode(data)
		if err != nil {
			if cs != nil {
				t.Fatalf("Decode returned a change set with error %v", err)
			}
			switch protocol.CodeOf(err) {
			case protocol.CodeMalformed, protocol.CodeUnknownVersion, protocol.CodeOversize:
			default:
				t.Fatalf("Decode error %v has code %q", err, protocol.CodeOf(err))
			}
			return
		}
		if !bytes.Equal(cs.Bytes(), data) {
			t.Fatal("Bytes() differ from the accepted input")
		}
		body := data[:len(data)-ed25519.SignatureSize]
		if cs.Hash() != sha256.Sum256(body) {
			t.Fatal("Hash() is not the SHA-256 of the body")
		}
		if len(cs.Ops) == 0 || len(cs.Ops) > protocol.MaxOpsPerChangeSet || len(data) > protocol.MaxChangeSetBytes {
			t.Fatalf("accepted %d ops in %d bytes", len(cs.Ops), len(data))
		}
		again, err := protocol.Decode(cs.Bytes())
		if err != nil {
			t.Fatalf("Decode(cs.Bytes()): %v", err)
		}
		if !reflect.DeepEqual(again, cs) || again.Hash() != cs.Hash() {
			t.Fatal("decoding the accepted bytes again gives a different change set")
		}
		// Re-encoding operation by operation gives the same bytes as the
		// body holds, in order.
		var ops []byte
		for i := range cs.Ops {
			ops = protocol.AppendOp(ops, &cs.Ops[i])
		}
		if !bytes.HasSuffix(body, ops) {
			t.Fatal("re-encoded operations are not the tail of the body")
		}
	})
}

// FuzzDecodeOp: DecodeOp never panics, and what it accepts re-encodes to
// exactly the input.
func FuzzDecodeOp(f *testing.F) {
	_, s1, s2 := goldenSets(f)
	for _, cs := range []*protocol.ChangeSet{s1, s2} {
		for i := range cs.Ops {
			b := protocol.AppendOp(nil, &cs.Ops[i])
			f.Add(b)
			f.Add(b[:len(b)-1])
		}
	}
	// A case of each source and a step of each kind.
	cases := []protocol.Op{publicCaseOp(f), countyCaseOp(), townshipObjectionOp()}
	for _, step := range domain.CaseSteps() {
		cases = append(cases, caseStepOp(step))
	}
	// A dishonesty record and a step of each kind, the steps with a
	// detail among them.
	cases = append(cases, dishonestyOp(township, entityID(1), entityID(9)))
	for _, step := range domain.DishonestySteps() {
		cases = append(cases, stepOp(township, entityID(1), entityID(9), step))
	}
	for _, op := range number(20, hlc0, cases...) {
		f.Add(protocol.AppendOp(nil, &op))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		op, err := protocol.DecodeOp(data)
		if err != nil {
			if protocol.CodeOf(err) != protocol.CodeMalformed {
				t.Fatalf("DecodeOp error %v has code %q", err, protocol.CodeOf(err))
			}
			return
		}
		if got := protocol.AppendOp(nil, &op); !bytes.Equal(got, data) {
			t.Fatalf("AppendOp(DecodeOp(b)) != b:\n got %x\nwant %x", got, data)
		}
		// Validate must not panic on anything that decodes.
		for _, role := range []domain.Role{domain.RoleStaff, domain.RoleLeader, domain.RoleCountyAdmin, "x"} {
			for _, admin := range []bool{false, true} {
				if err := op.Validate(role, admin); err != nil {
					if c := protocol.CodeOf(err); c != protocol.CodeInvalidOperation && c != protocol.CodeNotAuthorized {
						t.Fatalf("Validate error %v has code %q", err, c)
					}
				}
			}
		}
	})
}

// FuzzVerify runs Verify on random bytes and on damaged golden change sets,
// against a receiver that knows one device (the golden device) and has
// accepted its change set 1. Nothing can be accepted but the golden change
// set 2 itself, and nothing recognised as a replay but change set 1: the
// fuzzer cannot forge a signature.
func FuzzVerify(f *testing.F) {
	s1, s2 := addSeeds(f)
	dev := goldenDevice()
	reg := registryOf(dev)
	chains := chainsWith(f, s1)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, from := range []protocol.DeviceID{{}, dev.id} {
			cs, err := protocol.Verify(data, reg, chains, from)
			code := protocol.CodeOf(err)
			switch {
			case err == nil:
				if !bytes.Equal(data, s2.Bytes()) {
					t.Fatalf("accepted bytes that are not the signed change set 2: %x", data)
				}
				if !cs.VerifySignature(dev.pub) {
					t.Fatal("accepted a change set whose signature does not verify")
				}
				if again, err := protocol.Decode(cs.Bytes()); err != nil || !reflect.DeepEqual(again, cs) {
					t.Fatalf("accepted bytes do not decode to the same change set: %v", err)
				}
			case errors.Is(err, protocol.ErrReplay):
				if !bytes.Equal(data, s1.Bytes()) || cs == nil || cs.Hash() != s1.Hash() {
					t.Fatalf("replay of bytes that are not change set 1: %x", data)
				}
			case cs != nil:
				t.Fatalf("refused with %q but returned a change set", code)
			case code == protocol.CodeInternal:
				t.Fatalf("%v is not a refusal", err)
			}
		}
	})
}

// FuzzParseDeviceID: ParseDeviceID never panics, and what it accepts is the
// printed form of the ID it returns, up to case, dashes and spaces.
func FuzzParseDeviceID(f *testing.F) {
	f.Add("MFRGGZD-FMZTWQ3-2LKNNWG-23TPOAT")
	f.Add("mfrggzdfmztwq32lknnwg23tpoat")
	f.Add(goldenDevice().id.String())
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := protocol.ParseDeviceID(s)
		if err != nil {
			if !errors.Is(err, protocol.ErrMalformed) || !id.IsZero() {
				t.Fatalf("ParseDeviceID(%q) = %s, %v", s, id, err)
			}
			return
		}
		clean := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(s))
		if clean != strings.ReplaceAll(id.String(), "-", "") {
			t.Fatalf("ParseDeviceID(%q) = %s: not its printed form", s, id)
		}
	})
}
