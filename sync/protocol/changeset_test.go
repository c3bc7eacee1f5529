package protocol_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/sync/protocol"
)

// signContext is the signing context as the format document gives it.
const signContext = "jiannuo/changeset/v1\x00"

// world is a county with its enrolled devices.
type world struct {
	town    *device // township device of 410324100
	town2   *device // second device of the same township
	neigh   *device // device of the neighbouring township 410324101
	admin   *device // county-admin device of 栾川县 410324
	revoked *device // revoked device of 410324100
	reg     memRegistry
}

func newWorld(tb testing.TB) *world {
	tb.Helper()
	w := &world{
		town:    newDevice(tb, "township", township, false),
		town2:   newDevice(tb, "township-2", township, false),
		neigh:   newDevice(tb, "neighbour", township2, false),
		admin:   newDevice(tb, "county-admin", county, true),
		revoked: newDevice(tb, "revoked", township, false),
	}
	w.revoked.info.Revoked = true
	w.reg = registryOf(w.town, w.town2, w.neigh, w.admin, w.revoked)
	return w
}

// opID names operation n of dev.
func opID(dev *device, n uint64) protocol.OpID { return protocol.OpID{Device: dev.id, Num: n} }

// good is the township device's first change set: a leader's operations of
// every kind a township device may make.
func (w *world) good(tb testing.TB) *protocol.ChangeSet {
	tb.Helper()
	return seal(tb, spec{dev: w.town, role: domain.RoleLeader, seq: 1, ops: everyTownshipKind(tb, w.town, 1)}, nil)
}

// set seals change set seq 1 of dev holding ops, numbered from 1; edit, if
// not nil, changes the change set (numbered ops included) before sealing.
func (w *world) set(tb testing.TB, dev *device, role domain.Role, edit func(*protocol.ChangeSet), ops ...protocol.Op) *protocol.ChangeSet {
	tb.Helper()
	return seal(tb, spec{dev: dev, role: role, seq: 1, ops: number(1, hlc0, ops...)}, edit)
}

// splitSig returns the body and signature of an encoded change set, copied.
func splitSig(raw []byte) (body, sig []byte) {
	n := len(raw) - ed25519.SignatureSize
	return bytes.Clone(raw[:n]), bytes.Clone(raw[n:])
}

// strLen is the encoded length of a string.
func strLen(s string) int { return len(binary.AppendUvarint(nil, uint64(len(s)))) + len(s) }

// seqOffset is where the sequence number starts in an encoded change set.
func seqOffset(cs *protocol.ChangeSet) int {
	return 4 + 1 + 16 + strLen(string(cs.Office)) + strLen(cs.Author) + strLen(string(cs.AuthorRole))
}

// countOffset is where the operation count starts.
func countOffset(cs *protocol.ChangeSet) int {
	return seqOffset(cs) + len(binary.AppendUvarint(nil, cs.Seq)) + 32
}

// resign signs body as dev would, computing the signing message from the
// format document rather than with the package.
func resign(dev *device, body []byte) []byte {
	h := sha256.Sum256(body)
	sig := ed25519.Sign(dev.priv, append([]byte(signContext), h[:]...))
	return append(bytes.Clone(body), sig...)
}

func flipBit(b []byte, i int, bit uint) []byte {
	out := bytes.Clone(b)
	out[i] ^= 1 << bit
	return out
}

func TestSealDecodeRoundTrip(t *testing.T) {
	w := newWorld(t)
	sets := map[string]*protocol.ChangeSet{
		"township leader, every township kind": w.good(t),
		"county admin, resolve and breach": w.set(t, w.admin, domain.RoleCountyAdmin, nil,
			createOp(township2, entityID(2)),
			transitionOp(township2, entityID(2), domain.StatusDraft, domain.StatusPublished, "", opID(w.admin, 1)),
			resolveOp(township, entityID(1), opID(w.town, 2), opID(w.town2, 1)),
			transitionOp(township, entityID(1), domain.StatusInProgress, domain.StatusBreached, "逾期未办结", opID(w.town, 4)),
		),
		"evidence without target": w.set(t, w.town, domain.RoleStaff, func(cs *protocol.ChangeSet) {
			cs.Ops[0].Target = protocol.EntityID{}
		}, evidenceOp(township, entityID(1))),
		"fulfil without evidence": w.set(t, w.town, domain.RoleStaff, nil, fulfilOp(t, township, entityID(1))),
	}
	for name, cs := range sets {
		t.Run(name, func(t *testing.T) {
			raw := cs.Bytes()
			body, sig := splitSig(raw)
			if cs.Hash() != sha256.Sum256(body) {
				t.Fatalf("Hash() is not the SHA-256 of the body")
			}
			h := sha256.Sum256(body)
			if !bytes.Equal(sig, cs.Sig[:]) || !ed25519.Verify(w.devOf(cs.Device).pub, append([]byte(signContext), h[:]...), sig) {
				t.Fatalf("signature is not ed25519 over context || SHA-256(body)")
			}
			if cs.Version != protocol.FormatVersion || raw[4] != protocol.FormatVersion || string(raw[:4]) != "JNCS" {
				t.Fatalf("header: version %d, bytes % x", cs.Version, raw[:5])
			}
			got, err := protocol.Decode(raw)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, cs) {
				t.Fatalf("Decode(Seal(cs)) differs:\n got %+v\nwant %+v", got, cs)
			}
			if got.Hash() != cs.Hash() || !bytes.Equal(got.Bytes(), raw) {
				t.Fatal("decoded hash or bytes differ")
			}
			if got.FirstOp() != cs.Ops[0].Num || got.LastOp() != cs.Ops[len(cs.Ops)-1].Num {
				t.Fatalf("FirstOp/LastOp = %d/%d", got.FirstOp(), got.LastOp())
			}
			// Decode keeps its own copy of the input.
			scratch := bytes.Clone(raw)
			again, _ := protocol.Decode(scratch)
			clear(scratch)
			if !bytes.Equal(again.Bytes(), raw) {
				t.Fatal("Decode's Bytes alias the caller's buffer")
			}
			// Sealing equal content again gives equal bytes: ed25519 is
			// deterministic and the encoding has one form.
			cp := *cs
			cp.Ops = slices.Clone(cs.Ops)
			if err := cp.Seal(w.privOf(cs.Device)); err != nil || !bytes.Equal(cp.Bytes(), raw) {
				t.Fatalf("resealing gave different bytes (err %v)", err)
			}
		})
	}
}

func (w *world) privOf(id protocol.DeviceID) ed25519.PrivateKey { return w.devOf(id).priv }

func (w *world) devOf(id protocol.DeviceID) *device {
	for _, d := range []*device{w.town, w.town2, w.neigh, w.admin, w.revoked} {
		if d.id == id {
			return d
		}
	}
	panic("no such device")
}

func TestDecodeOpRoundTrip(t *testing.T) {
	w := newWorld(t)
	ops := slices.Concat(everyTownshipKind(t, w.town, 1),
		number(40, hlc0, resolveOp(township, entityID(1), opID(w.town, 2), opID(w.town2, 1), opID(w.neigh, 300))))
	prefix := []byte("prefix")
	for _, op := range ops {
		t.Run(op.Kind.String(), func(t *testing.T) {
			b := protocol.AppendOp(nil, &op)
			got, err := protocol.DecodeOp(b)
			if err != nil {
				t.Fatalf("DecodeOp: %v", err)
			}
			if !reflect.DeepEqual(got, op) {
				t.Fatalf("DecodeOp(AppendOp(op)) differs:\n got %+v\nwant %+v", got, op)
			}
			if withPrefix := protocol.AppendOp(bytes.Clone(prefix), &op); !bytes.Equal(withPrefix, append(bytes.Clone(prefix), b...)) {
				t.Fatal("AppendOp does not append to its argument")
			}
			if _, err := protocol.DecodeOp(append(bytes.Clone(b), 0)); protocol.CodeOf(err) != protocol.CodeMalformed {
				t.Fatalf("DecodeOp with a trailing byte: %v, want malformed", err)
			}
			for n := range len(b) {
				if _, err := protocol.DecodeOp(b[:n]); protocol.CodeOf(err) != protocol.CodeMalformed {
					t.Fatalf("DecodeOp of %d of %d bytes: %v, want malformed", n, len(b), err)
				}
			}
		})
	}
}

func TestSealRefuses(t *testing.T) {
	w := newWorld(t)
	cases := []struct {
		name string
		cs   *protocol.ChangeSet
		key  ed25519.PrivateKey
		want error
	}{
		{"key of another device", &protocol.ChangeSet{Device: w.town.id, Office: township, Author: "a", AuthorRole: domain.RoleStaff, Seq: 1,
			Ops: number(1, hlc0, fulfilOp(t, township, entityID(1)))}, w.town2.priv, protocol.ErrWrongDevice},
		{"no operations", &protocol.ChangeSet{Device: w.town.id, Office: township, Author: "a", AuthorRole: domain.RoleStaff, Seq: 1}, w.town.priv, protocol.ErrInvalidOperation},
		{"too many operations", &protocol.ChangeSet{Device: w.town.id, Office: township, Author: "a", AuthorRole: domain.RoleStaff, Seq: 1,
			Ops: manyOps(t, protocol.MaxOpsPerChangeSet+1)}, w.town.priv, protocol.ErrOversize},
		{"too many bytes", &protocol.ChangeSet{Device: w.town.id, Office: township, Author: "a", AuthorRole: domain.RoleStaff, Seq: 1,
			Ops: bigOps(t, 20)}, w.town.priv, protocol.ErrOversize},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.cs.Seal(c.key); !errors.Is(err, c.want) {
				t.Fatalf("Seal = %v, want %v", err, c.want)
			}
		})
	}
	// The largest change set Seal accepts, Decode accepts too.
	max := &protocol.ChangeSet{Device: w.town.id, Office: township, Author: "a", AuthorRole: domain.RoleStaff, Seq: 1, Ops: manyOps(t, protocol.MaxOpsPerChangeSet)}
	if err := max.Seal(w.town.priv); err != nil {
		t.Fatalf("Seal of %d operations: %v", protocol.MaxOpsPerChangeSet, err)
	}
	if _, err := protocol.Verify(max.Bytes(), w.reg, memChains{}, w.town.id); err != nil {
		t.Fatalf("Verify of %d operations: %v", protocol.MaxOpsPerChangeSet, err)
	}
}

// manyOps returns n small valid fulfilment ops numbered from 1.
func manyOps(tb testing.TB, n int) []protocol.Op {
	tb.Helper()
	ops := make([]protocol.Op, n)
	for i := range ops {
		ops[i] = fulfilOp(tb, township, entityID(byte(i)))
		ops[i].Entry.Note = ""
	}
	return number(1, hlc0, ops...)
}

// bigOps returns n valid create ops whose text is as long as allowed.
func bigOps(tb testing.TB, n int) []protocol.Op {
	tb.Helper()
	ops := make([]protocol.Op, n)
	for i := range ops {
		ops[i] = createOp(township, entityID(byte(i+1)))
		for j := range ops[i].Writes {
			if ops[i].Writes[j].Field == domain.FieldText {
				ops[i].Writes[j].Value = strings.Repeat("承", domain.MaxTextBytes/3)
			}
		}
	}
	return number(1, hlc0, ops...)
}

// input is what one refusal case hands to Verify.
type input struct {
	raw    []byte
	reg    protocol.Registry // nil: the world's registry
	chains protocol.Chains   // nil: nothing accepted yet
	from   protocol.DeviceID
}

type refusal struct {
	name string
	code protocol.Code
	err  error // the sentinel
	in   func(t *testing.T, w *world) input
}

// raw is a refusal input of just bytes.
func raw(b []byte) input { return input{raw: b} }

func refusals() []refusal {
	var rows []refusal
	add := func(code protocol.Code, sentinel error, name string, in func(t *testing.T, w *world) input) {
		rows = append(rows, refusal{name: name, code: code, err: sentinel, in: in})
	}
	// opCase seals ops (numbered from 1) from dev with role, after edit.
	opCase := func(code protocol.Code, sentinel error, name string, dev func(*world) *device, role domain.Role,
		edit func(cs *protocol.ChangeSet), ops func(t *testing.T, w *world) []protocol.Op) {
		add(code, sentinel, name, func(t *testing.T, w *world) input {
			return raw(w.set(t, dev(w), role, edit, ops(t, w)...).Bytes())
		})
	}
	town := func(w *world) *device { return w.town }
	admin := func(w *world) *device { return w.admin }
	// townOps: a leader's valid create then the op under test as op 2.
	invalid := func(name string, op func(t *testing.T, w *world) protocol.Op) {
		opCase(protocol.CodeInvalidOperation, protocol.ErrInvalidOperation, name, town, domain.RoleLeader, nil,
			func(t *testing.T, w *world) []protocol.Op {
				return []protocol.Op{createOp(township, entityID(1)), op(t, w)}
			})
	}
	invalidEdit := func(name string, edit func(cs *protocol.ChangeSet)) {
		opCase(protocol.CodeInvalidOperation, protocol.ErrInvalidOperation, name, town, domain.RoleLeader, edit,
			func(t *testing.T, w *world) []protocol.Op { return everyTownshipKind(t, w.town, 1) })
	}
	c := entityID(1)

	// --- malformed: the bytes are not one canonical change set.
	M, ME := protocol.CodeMalformed, protocol.ErrMalformed
	add(M, ME, "empty", func(t *testing.T, w *world) input { return raw(nil) })
	add(M, ME, "truncated by one byte", func(t *testing.T, w *world) input {
		b := w.good(t).Bytes()
		return raw(b[:len(b)-1])
	})
	add(M, ME, "truncated inside the header", func(t *testing.T, w *world) input { return raw(w.good(t).Bytes()[:40]) })
	add(M, ME, "trailing byte after the signature", func(t *testing.T, w *world) input {
		return raw(append(bytes.Clone(w.good(t).Bytes()), 0))
	})
	add(M, ME, "trailing byte in the body, signed", func(t *testing.T, w *world) input {
		body, _ := splitSig(w.good(t).Bytes())
		return raw(resign(w.town, append(body, 0)))
	})
	add(M, ME, "bad magic", func(t *testing.T, w *world) input {
		b := bytes.Clone(w.good(t).Bytes())
		copy(b, "JNCX")
		return raw(b)
	})
	add(M, ME, "non-minimal varint, signed", func(t *testing.T, w *world) input {
		cs := w.good(t)
		body, _ := splitSig(cs.Bytes())
		off := seqOffset(cs)
		if body[off] != 0x01 {
			t.Fatalf("sequence number 1 not at offset %d: % x", off, body[off:off+4])
		}
		// Seq 1 as the two-byte varint 0x81 0x00: the same number, not minimal.
		nb := slices.Concat(body[:off], []byte{0x81, 0x00}, body[off+1:])
		return raw(resign(w.town, nb))
	})
	add(M, ME, "varint longer than 64 bits", func(t *testing.T, w *world) input {
		cs := w.good(t)
		body, _ := splitSig(cs.Bytes())
		off := seqOffset(cs)
		nb := slices.Concat(body[:off], bytes.Repeat([]byte{0xff}, 10), []byte{0x01}, body[off+1:])
		return raw(resign(w.town, nb))
	})
	add(M, ME, "invalid UTF-8 author, signed", func(t *testing.T, w *world) input {
		return raw(seal(t, spec{dev: w.town, role: domain.RoleLeader, seq: 1, ops: everyTownshipKind(t, w.town, 1)},
			func(cs *protocol.ChangeSet) { cs.Author = "李\xff明" }).Bytes())
	})
	add(M, ME, "invalid UTF-8 field value, signed", func(t *testing.T, w *world) input {
		return raw(w.set(t, w.town, domain.RoleLeader, func(cs *protocol.ChangeSet) {
			cs.Ops[1].Writes[0].Value = "走访\xe8\xb5"
		}, createOp(township, c), editOp(township, c, opID(w.town, 1))).Bytes())
	})
	add(M, ME, "boolean byte 2, signed", func(t *testing.T, w *world) input {
		body, _ := splitSig(w.set(t, w.town, domain.RoleLeader, nil, createOp(township, c)).Bytes())
		if body[len(body)-1] != 0 {
			t.Fatalf("last body byte is not the evidence-meta flag")
		}
		body[len(body)-1] = 2
		return raw(resign(w.town, body))
	})
	add(M, ME, "no operations, signed", func(t *testing.T, w *world) input {
		cs := w.good(t)
		body, _ := splitSig(cs.Bytes())
		return raw(resign(w.town, append(body[:countOffset(cs)], 0)))
	})
	add(M, ME, "operation count beyond the bytes", func(t *testing.T, w *world) input {
		cs := w.good(t)
		body, _ := splitSig(cs.Bytes())
		off := countOffset(cs)
		body[off] = 200 // 0xc8 0x01: 200 ops in under 6 KB
		body = slices.Insert(body, off+1, 0x01)
		return raw(resign(w.town, body))
	})
	add(M, ME, "fulfilment entry without a date, signed", func(t *testing.T, w *world) input {
		// The zero Date has no encoding (it prints as ""), so Seal writes
		// what Decode cannot read.
		return raw(w.set(t, w.town, domain.RoleStaff, func(cs *protocol.ChangeSet) {
			cs.Ops[0].Entry.Date = calendar.Date{}
		}, fulfilOp(t, township, c)).Bytes())
	})
	add(M, ME, "evidence larger than MaxEvidenceBytes, signed", func(t *testing.T, w *world) input {
		return raw(w.set(t, w.town, domain.RoleStaff, func(cs *protocol.ChangeSet) {
			cs.Ops[0].Meta.Size = protocol.MaxEvidenceBytes + 1
		}, evidenceOp(township, c)).Bytes())
	})
	add(M, ME, "more than MaxBase versions, signed", func(t *testing.T, w *world) input {
		base := make([]protocol.OpID, protocol.MaxBase+1)
		for i := range base {
			base[i] = protocol.OpID{Device: w.neigh.id, Num: uint64(i + 1)}
		}
		return raw(w.set(t, w.admin, domain.RoleCountyAdmin, nil, resolveOp(township, c, base...)).Bytes())
	})
	add(M, ME, "more than MaxEvidencePerEntry evidence files, signed", func(t *testing.T, w *world) input {
		return raw(w.set(t, w.town, domain.RoleStaff, func(cs *protocol.ChangeSet) {
			for i := range protocol.MaxEvidencePerEntry + 1 {
				cs.Ops[0].Entry.Evidence = append(cs.Ops[0].Entry.Evidence, protocol.HashOf([]byte{byte(i)}))
			}
		}, fulfilOp(t, township, c)).Bytes())
	})
	add(M, ME, "header office longer than 16 bytes, signed", func(t *testing.T, w *world) input {
		return raw(seal(t, spec{dev: w.town, role: domain.RoleLeader, seq: 1, ops: everyTownshipKind(t, w.town, 1)},
			func(cs *protocol.ChangeSet) { cs.Office = township + "00000000" }).Bytes())
	})

	// --- unknown_version
	add(protocol.CodeUnknownVersion, protocol.ErrUnknownVersion, "version 2", func(t *testing.T, w *world) input {
		b := bytes.Clone(w.good(t).Bytes())
		b[4] = 2
		return raw(b)
	})
	add(protocol.CodeUnknownVersion, protocol.ErrUnknownVersion, "version 0, signed", func(t *testing.T, w *world) input {
		body, _ := splitSig(w.good(t).Bytes())
		body[4] = 0
		return raw(resign(w.town, body))
	})

	// --- oversize
	add(protocol.CodeOversize, protocol.ErrOversize, "more than MaxChangeSetBytes", func(t *testing.T, w *world) input {
		b := w.good(t).Bytes()
		return raw(slices.Concat(b, make([]byte, protocol.MaxChangeSetBytes+1-len(b))))
	})
	add(protocol.CodeOversize, protocol.ErrOversize, "more than MaxOpsPerChangeSet operations, signed", func(t *testing.T, w *world) input {
		cs := seal(t, spec{dev: w.town, role: domain.RoleStaff, seq: 1, ops: manyOps(t, protocol.MaxOpsPerChangeSet)}, nil)
		body, _ := splitSig(cs.Bytes())
		off := countOffset(cs)
		count := binary.AppendUvarint(nil, protocol.MaxOpsPerChangeSet)
		if !bytes.Equal(body[off:off+len(count)], count) {
			t.Fatalf("operation count not at offset %d", off)
		}
		extra := manyOps(t, protocol.MaxOpsPerChangeSet+1)[protocol.MaxOpsPerChangeSet]
		nb := slices.Concat(body[:off], binary.AppendUvarint(nil, protocol.MaxOpsPerChangeSet+1), body[off+len(count):], protocol.AppendOp(nil, &extra))
		return raw(resign(w.town, nb))
	})

	// --- unknown_device
	add(protocol.CodeUnknownDevice, protocol.ErrUnknownDevice, "never enrolled", func(t *testing.T, w *world) input {
		stranger := newDevice(t, "stranger", township, false)
		return raw(w.set(t, stranger, domain.RoleLeader, nil, everyTownshipKind(t, stranger, 1)...).Bytes())
	})
	add(protocol.CodeUnknownDevice, protocol.ErrUnknownDevice, "device ID changed, signed by nobody enrolled", func(t *testing.T, w *world) input {
		b := bytes.Clone(w.good(t).Bytes())
		b[5] ^= 0x80
		return raw(b)
	})

	// --- wrong_device
	add(protocol.CodeWrongDevice, protocol.ErrWrongDevice, "sent by another device", func(t *testing.T, w *world) input {
		return input{raw: w.good(t).Bytes(), from: w.town2.id}
	})
	add(protocol.CodeWrongDevice, protocol.ErrWrongDevice, "registered key does not match the ID", func(t *testing.T, w *world) input {
		reg := maps.Clone(w.reg)
		info := reg[w.town.id]
		info.Key = w.town2.pub
		reg[w.town.id] = info
		return input{raw: w.good(t).Bytes(), reg: reg}
	})

	// --- revoked_device
	add(protocol.CodeRevokedDevice, protocol.ErrRevokedDevice, "revoked", func(t *testing.T, w *world) input {
		return raw(w.set(t, w.revoked, domain.RoleLeader, nil, everyTownshipKind(t, w.revoked, 1)...).Bytes())
	})

	// --- bad_signature
	B, BE := protocol.CodeBadSignature, protocol.ErrBadSignature
	add(B, BE, "signature bit flipped (R)", func(t *testing.T, w *world) input {
		b := w.good(t).Bytes()
		return raw(flipBit(b, len(b)-ed25519.SignatureSize, 0))
	})
	add(B, BE, "signature bit flipped (S)", func(t *testing.T, w *world) input {
		b := w.good(t).Bytes()
		return raw(flipBit(b, len(b)-1, 3))
	})
	add(B, BE, "deadline changed after sealing: workdays:7 to workdays:6", func(t *testing.T, w *world) input {
		b := w.good(t).Bytes()
		i := bytes.Index(b, []byte("workdays:7"))
		if i < 0 {
			t.Fatal("deadline not found in the encoding")
		}
		return raw(flipBit(b, i+len("workdays:"), 0)) // '7' 0x37 → '6' 0x36
	})
	add(B, BE, "target changed after sealing", func(t *testing.T, w *world) input {
		b := w.good(t).Bytes()
		i := bytes.Index(b, c[:])
		if i < 0 {
			t.Fatal("target not found in the encoding")
		}
		return raw(flipBit(b, i+15, 7))
	})
	add(B, BE, "signed by another enrolled device", func(t *testing.T, w *world) input {
		body, _ := splitSig(w.good(t).Bytes())
		return raw(resign(w.town2, body))
	})
	add(B, BE, "signed without the context string", func(t *testing.T, w *world) input {
		body, _ := splitSig(w.good(t).Bytes())
		h := sha256.Sum256(body)
		return raw(append(body, ed25519.Sign(w.town.priv, h[:])...))
	})
	add(B, BE, "signed over the body instead of its hash", func(t *testing.T, w *world) input {
		body, _ := splitSig(w.good(t).Bytes())
		return raw(append(body, ed25519.Sign(w.town.priv, append([]byte(signContext), body...))...))
	})
	add(B, BE, "all-zero signature", func(t *testing.T, w *world) input {
		body, _ := splitSig(w.good(t).Bytes())
		return raw(append(body, make([]byte, ed25519.SignatureSize)...))
	})

	// --- sequence_gap
	G, GE := protocol.CodeSequenceGap, protocol.ErrSequenceGap
	add(G, GE, "first change set numbered 2", func(t *testing.T, w *world) input {
		return raw(seal(t, spec{dev: w.town, role: domain.RoleLeader, seq: 2, ops: everyTownshipKind(t, w.town, 1)}, nil).Bytes())
	})
	add(G, GE, "sequence number 0", func(t *testing.T, w *world) input {
		return raw(seal(t, spec{dev: w.town, role: domain.RoleLeader, seq: 0, ops: everyTownshipKind(t, w.town, 1)}, nil).Bytes())
	})
	add(G, GE, "seq 3 after seq 1", func(t *testing.T, w *world) input {
		s1 := w.good(t)
		s3 := seal(t, spec{dev: w.town, role: domain.RoleStaff, seq: 3, prev: s1.Hash(), ops: number(8, hlc0, fulfilOp(t, township, c))}, nil)
		return input{raw: s3.Bytes(), chains: chainsWith(t, s1)}
	})
	add(G, GE, "first operation numbered 2", func(t *testing.T, w *world) input {
		return raw(seal(t, spec{dev: w.town, role: domain.RoleLeader, seq: 1, ops: number(2, hlc0, createOp(township, c))}, nil).Bytes())
	})
	add(G, GE, "operation numbers restart in seq 2", func(t *testing.T, w *world) input {
		s1 := w.good(t)
		s2 := seal(t, spec{dev: w.town, role: domain.RoleStaff, seq: 2, prev: s1.Hash(), ops: number(1, hlc0+protocol.MakeHLC(60_000, 0), fulfilOp(t, township, c))}, nil)
		return input{raw: s2.Bytes(), chains: chainsWith(t, s1)}
	})
	add(G, GE, "operation numbers skip one between change sets", func(t *testing.T, w *world) input {
		s1 := w.good(t)
		s2 := seal(t, spec{dev: w.town, role: domain.RoleStaff, seq: 2, prev: s1.Hash(), ops: number(s1.LastOp()+2, hlc0+protocol.MakeHLC(60_000, 0), fulfilOp(t, township, c))}, nil)
		return input{raw: s2.Bytes(), chains: chainsWith(t, s1)}
	})
	add(G, GE, "operation numbers skip one inside a change set", func(t *testing.T, w *world) input {
		return raw(w.set(t, w.town, domain.RoleLeader, func(cs *protocol.ChangeSet) { cs.Ops[1].Num = 3 },
			createOp(township, c), fulfilOp(t, township, c)).Bytes())
	})

	// --- broken_chain
	add(protocol.CodeBrokenChain, protocol.ErrBrokenChain, "seq 2 names a zero previous hash", func(t *testing.T, w *world) input {
		s1 := w.good(t)
		s2 := seal(t, spec{dev: w.town, role: domain.RoleStaff, seq: 2, ops: number(8, hlc0+protocol.MakeHLC(60_000, 0), fulfilOp(t, township, c))}, nil)
		return input{raw: s2.Bytes(), chains: chainsWith(t, s1)}
	})
	add(protocol.CodeBrokenChain, protocol.ErrBrokenChain, "seq 2 names another change set", func(t *testing.T, w *world) input {
		s1 := w.good(t)
		s2 := seal(t, spec{dev: w.town, role: domain.RoleStaff, seq: 2, prev: protocol.HashOf(s1.Bytes()), ops: number(8, hlc0+protocol.MakeHLC(60_000, 0), fulfilOp(t, township, c))}, nil)
		return input{raw: s2.Bytes(), chains: chainsWith(t, s1)}
	})
	add(protocol.CodeBrokenChain, protocol.ErrBrokenChain, "seq 1 names a previous hash", func(t *testing.T, w *world) input {
		return raw(seal(t, spec{dev: w.town, role: domain.RoleLeader, seq: 1, prev: protocol.HashOf([]byte("x")), ops: everyTownshipKind(t, w.town, 1)}, nil).Bytes())
	})

	// --- fork
	add(protocol.CodeFork, protocol.ErrFork, "another seq 1 after seq 1", func(t *testing.T, w *world) input {
		s1 := w.good(t)
		restored := seal(t, spec{dev: w.town, role: domain.RoleStaff, seq: 1, ops: number(1, hlc0, fulfilOp(t, township, c))}, nil)
		return input{raw: restored.Bytes(), chains: chainsWith(t, s1)}
	})
	add(protocol.CodeFork, protocol.ErrFork, "another seq 1 after seq 2", func(t *testing.T, w *world) input {
		s1 := w.good(t)
		s2 := seal(t, spec{dev: w.town, role: domain.RoleStaff, seq: 2, prev: s1.Hash(), ops: number(8, hlc0+protocol.MakeHLC(60_000, 0), fulfilOp(t, township, c))}, nil)
		other := seal(t, spec{dev: w.town, role: domain.RoleLeader, seq: 1, ops: everyTownshipKind(t, w.town, 1)}, func(cs *protocol.ChangeSet) { cs.Author = "张华" })
		return input{raw: other.Bytes(), chains: chainsWith(t, s1, s2)}
	})

	// --- out_of_scope
	O, OE := protocol.CodeOutOfScope, protocol.ErrOutOfScope
	add(O, OE, "header office is not the device's", func(t *testing.T, w *world) input {
		return raw(seal(t, spec{dev: w.town, role: domain.RoleStaff, seq: 1, ops: number(1, hlc0, fulfilOp(t, township2, c))},
			func(cs *protocol.ChangeSet) { cs.Office = township2 }).Bytes())
	})
	add(O, OE, "county-admin device writes as one of its townships", func(t *testing.T, w *world) input {
		// Every operation is in the admin's scope; only the header lies.
		return raw(w.set(t, w.admin, domain.RoleCountyAdmin, func(cs *protocol.ChangeSet) { cs.Office = township },
			fulfilOp(t, township, c)).Bytes())
	})
	add(O, OE, "operation for another township", func(t *testing.T, w *world) input {
		return raw(w.set(t, w.town, domain.RoleStaff, nil, fulfilOp(t, township, c), fulfilOp(t, township2, c)).Bytes())
	})
	add(O, OE, "township device writes for its county", func(t *testing.T, w *world) input {
		return raw(w.set(t, w.town, domain.RoleStaff, nil, fulfilOp(t, county, c)).Bytes())
	})
	add(O, OE, "county admin writes for a township of another county", func(t *testing.T, w *world) input {
		return raw(w.set(t, w.admin, domain.RoleCountyAdmin, nil, fulfilOp(t, township, c), fulfilOp(t, otherTownship, c)).Bytes())
	})
	add(O, OE, "county admin writes for another county", func(t *testing.T, w *world) input {
		return raw(w.set(t, w.admin, domain.RoleCountyAdmin, nil, fulfilOp(t, otherCounty, c)).Bytes())
	})
	add(O, OE, "county admin writes for its city", func(t *testing.T, w *world) input {
		return raw(w.set(t, w.admin, domain.RoleCountyAdmin, nil, fulfilOp(t, "410300", c)).Bytes())
	})
	add(O, OE, "county admin changes a township's accounts", func(t *testing.T, w *world) input {
		return raw(w.set(t, w.admin, domain.RoleCountyAdmin, nil, addAccount(township)).Bytes())
	})
	add(protocol.CodeInvalidOperation, protocol.ErrInvalidOperation, "county admin writes for two of its townships in one change set", func(t *testing.T, w *world) input {
		return raw(w.set(t, w.admin, domain.RoleCountyAdmin, nil, fulfilOp(t, township, c), fulfilOp(t, township2, c)).Bytes())
	})
	add(protocol.CodeInvalidOperation, protocol.ErrInvalidOperation, "county admin writes for a township and the county in one change set", func(t *testing.T, w *world) input {
		return raw(w.set(t, w.admin, domain.RoleCountyAdmin, nil, fulfilOp(t, county, c), fulfilOp(t, township, c)).Bytes())
	})

	// --- invalid_operation: every rule of Op.Validate, and the author.
	id := func(w *world, n uint64) protocol.OpID { return opID(w.town, n) }
	invalid("create without every field", func(t *testing.T, w *world) protocol.Op {
		op := createOp(township, entityID(2))
		op.Writes = slices.DeleteFunc(op.Writes, func(fw protocol.FieldWrite) bool { return fw.Field == domain.FieldDeadline })
		return op
	})
	invalid("create with status published", func(t *testing.T, w *world) protocol.Op {
		op := createOp(township, entityID(2))
		op.Writes[len(op.Writes)-1] = protocol.FieldWrite{Field: domain.FieldStatus, Value: string(domain.StatusPublished)}
		return op
	})
	invalid("create with a base", func(t *testing.T, w *world) protocol.Op {
		op := createOp(township, entityID(2))
		op.Writes[1].Base = []protocol.OpID{id(w, 1)}
		return op
	})
	invalid("create with a reason", func(t *testing.T, w *world) protocol.Op {
		op := createOp(township, entityID(2))
		op.Reason = "原因"
		return op
	})
	invalid("create with a blank title", func(t *testing.T, w *world) protocol.Op {
		op := createOp(township, entityID(2))
		op.Writes[1].Value = " \t"
		return op
	})
	invalid("create without a target", func(t *testing.T, w *world) protocol.Op {
		return createOp(township, protocol.EntityID{})
	})
	invalid("edit of the status field", func(t *testing.T, w *world) protocol.Op {
		op := editOp(township, c, id(w, 1))
		op.Writes[0] = protocol.FieldWrite{Field: domain.FieldStatus, Value: string(domain.StatusPublished), Base: []protocol.OpID{id(w, 1)}}
		return op
	})
	invalid("edit over two versions", func(t *testing.T, w *world) protocol.Op {
		op := editOp(township, c, id(w, 1))
		op.Writes[0].Base = protocol.SortBase([]protocol.OpID{id(w, 1), opID(w.town2, 1)})
		return op
	})
	invalid("edit with a reason", func(t *testing.T, w *world) protocol.Op {
		op := editOp(township, c, id(w, 1))
		op.Reason = "原因"
		return op
	})
	invalid("edit with a from-status", func(t *testing.T, w *world) protocol.Op {
		op := editOp(township, c, id(w, 1))
		op.From = domain.StatusDraft
		return op
	})
	invalid("edit of an unknown field", func(t *testing.T, w *world) protocol.Op {
		op := editOp(township, c, id(w, 1))
		op.Writes[0].Field = "budget"
		return op
	})
	invalid("invalid category value", func(t *testing.T, w *world) protocol.Op {
		op := editOp(township, c, id(w, 1))
		op.Writes[0] = protocol.FieldWrite{Field: domain.FieldCategory, Value: "sports", Base: []protocol.OpID{id(w, 1)}}
		return op
	})
	invalid("invalid deadline value", func(t *testing.T, w *world) protocol.Op {
		op := editOp(township, c, id(w, 1))
		op.Writes[0] = protocol.FieldWrite{Field: domain.FieldDeadline, Value: "workdays:07", Base: []protocol.OpID{id(w, 1)}}
		return op
	})
	invalid("amend without a reason", func(t *testing.T, w *world) protocol.Op {
		op := amendOp(township, c, id(w, 1))
		op.Reason = ""
		return op
	})
	invalid("amend with a blank reason", func(t *testing.T, w *world) protocol.Op {
		op := amendOp(township, c, id(w, 1))
		op.Reason = "　 " // ideographic and ASCII space
		return op
	})
	invalid("amend of the status", func(t *testing.T, w *world) protocol.Op {
		op := amendOp(township, c, id(w, 1))
		op.Writes[0] = protocol.FieldWrite{Field: domain.FieldStatus, Value: string(domain.StatusWithdrawn), Base: []protocol.OpID{id(w, 1)}}
		return op
	})
	invalid("repeated field", func(t *testing.T, w *world) protocol.Op {
		op := amendOp(township, c, id(w, 1))
		op.Writes = append(op.Writes, protocol.FieldWrite{Field: domain.FieldText, Value: "另一种写法", Base: []protocol.OpID{id(w, 1)}})
		return op
	})
	invalid("reason with a control character", func(t *testing.T, w *world) protocol.Op {
		op := amendOp(township, c, id(w, 1))
		op.Reason = "原因\x1b[2J"
		return op
	})
	invalid("transition draft to fulfilled_on_time", func(t *testing.T, w *world) protocol.Op {
		return transitionOp(township, c, domain.StatusDraft, domain.StatusFulfilledOnTime, "", id(w, 1))
	})
	invalid("transition from an unknown status", func(t *testing.T, w *world) protocol.Op {
		return transitionOp(township, c, "archived", domain.StatusPublished, "", id(w, 1))
	})
	invalid("transition to an unknown status", func(t *testing.T, w *world) protocol.Op {
		return transitionOp(township, c, domain.StatusDraft, "approved", "", id(w, 1))
	})
	invalid("withdrawal without a reason", func(t *testing.T, w *world) protocol.Op {
		// A missing reason is a broken rule, not a lack of authority: the
		// leader may withdraw.
		return transitionOp(township, c, domain.StatusDraft, domain.StatusWithdrawn, "", id(w, 1))
	})
	invalid("transition writing another field too", func(t *testing.T, w *world) protocol.Op {
		op := transitionOp(township, c, domain.StatusDraft, domain.StatusPublished, "", id(w, 1))
		op.Writes = append(op.Writes, protocol.FieldWrite{Field: domain.FieldTitle, Value: "新标题", Base: []protocol.OpID{id(w, 1)}})
		return op
	})
	invalid("fulfil progress 101", func(t *testing.T, w *world) protocol.Op {
		op := fulfilOp(t, township, c)
		op.Entry.Progress = 101
		return op
	})
	invalid("fulfil with writes", func(t *testing.T, w *world) protocol.Op {
		op := fulfilOp(t, township, c)
		op.Writes = editOp(township, c, id(w, 1)).Writes
		return op
	})
	invalid("fulfil without an entry", func(t *testing.T, w *world) protocol.Op {
		op := fulfilOp(t, township, c)
		op.Entry = nil
		return op
	})
	invalid("fulfil with an evidence body too", func(t *testing.T, w *world) protocol.Op {
		op := fulfilOp(t, township, c)
		op.Meta = evidenceOp(township, c).Meta
		return op
	})
	invalid("evidence size 0", func(t *testing.T, w *world) protocol.Op {
		op := evidenceOp(township, c)
		op.Meta.Size = 0
		return op
	})
	invalid("evidence without a name", func(t *testing.T, w *world) protocol.Op {
		op := evidenceOp(township, c)
		op.Meta.Name = " "
		return op
	})
	invalid("evidence without a content hash", func(t *testing.T, w *world) protocol.Op {
		op := evidenceOp(township, c)
		op.Meta.Hash = protocol.Hash{}
		return op
	})
	invalid("unknown operation kind", func(t *testing.T, w *world) protocol.Op {
		op := fulfilOp(t, township, c)
		op.Kind, op.Entry = 42, nil
		return op
	})
	invalid("operation kind 0", func(t *testing.T, w *world) protocol.Op {
		op := fulfilOp(t, township, c)
		op.Kind, op.Entry = 0, nil
		return op
	})
	opCase(protocol.CodeInvalidOperation, protocol.ErrInvalidOperation, "unsorted base", admin, domain.RoleCountyAdmin,
		func(cs *protocol.ChangeSet) { slices.Reverse(cs.Ops[0].Writes[0].Base) },
		func(t *testing.T, w *world) []protocol.Op {
			return []protocol.Op{resolveOp(township, c, opID(w.town, 2), opID(w.town2, 1))}
		})
	opCase(protocol.CodeInvalidOperation, protocol.ErrInvalidOperation, "repeated base", admin, domain.RoleCountyAdmin,
		func(cs *protocol.ChangeSet) {
			b := cs.Ops[0].Writes[0].Base
			cs.Ops[0].Writes[0].Base = []protocol.OpID{b[0], b[0]}
		},
		func(t *testing.T, w *world) []protocol.Op {
			return []protocol.Op{resolveOp(township, c, opID(w.town, 2), opID(w.town2, 1))}
		})
	opCase(protocol.CodeInvalidOperation, protocol.ErrInvalidOperation, "resolve over one version", admin, domain.RoleCountyAdmin, nil,
		func(t *testing.T, w *world) []protocol.Op {
			return []protocol.Op{resolveOp(township, c, opID(w.town, 2))}
		})
	opCase(protocol.CodeInvalidOperation, protocol.ErrInvalidOperation, "resolve without a reason", admin, domain.RoleCountyAdmin,
		func(cs *protocol.ChangeSet) { cs.Ops[0].Reason = "" },
		func(t *testing.T, w *world) []protocol.Op {
			return []protocol.Op{resolveOp(township, c, opID(w.town, 2), opID(w.town2, 1))}
		})
	invalidEdit("clock stamp not increasing within a change set", func(cs *protocol.ChangeSet) { cs.Ops[3].HLC = cs.Ops[2].HLC })
	invalidEdit("clock stamp going back within a change set", func(cs *protocol.ChangeSet) { cs.Ops[3].HLC = cs.Ops[0].HLC - 1 })
	invalidEdit("zero clock stamp", func(cs *protocol.ChangeSet) { cs.Ops[0].HLC = 0 })
	invalidEdit("blank author", func(cs *protocol.ChangeSet) { cs.Author = "  " })
	invalidEdit("unknown author role", func(cs *protocol.ChangeSet) { cs.AuthorRole = "director" })

	// --- not_authorized
	opCase(protocol.CodeNotAuthorized, protocol.ErrNotAuthorized, "resolve from a township device", town, domain.RoleLeader, nil,
		func(t *testing.T, w *world) []protocol.Op {
			return []protocol.Op{resolveOp(township, c, opID(w.town, 2), opID(w.town2, 1))}
		})
	opCase(protocol.CodeNotAuthorized, protocol.ErrNotAuthorized, "breach from a township device", town, domain.RoleLeader, nil,
		func(t *testing.T, w *world) []protocol.Op {
			return []protocol.Op{
				createOp(township, c),
				transitionOp(township, c, domain.StatusDraft, domain.StatusPublished, "", id(w, 1)),
				transitionOp(township, c, domain.StatusPublished, domain.StatusBreached, "逾期未办结", id(w, 2)),
			}
		})
	opCase(protocol.CodeNotAuthorized, protocol.ErrNotAuthorized, "staff publishing", town, domain.RoleStaff, nil,
		func(t *testing.T, w *world) []protocol.Op {
			return []protocol.Op{createOp(township, c), transitionOp(township, c, domain.StatusDraft, domain.StatusPublished, "", id(w, 1))}
		})
	opCase(protocol.CodeNotAuthorized, protocol.ErrNotAuthorized, "staff withdrawing, with a reason", town, domain.RoleStaff, nil,
		func(t *testing.T, w *world) []protocol.Op {
			return []protocol.Op{createOp(township, c), transitionOp(township, c, domain.StatusDraft, domain.StatusWithdrawn, "重复录入", id(w, 1))}
		})
	opCase(protocol.CodeNotAuthorized, protocol.ErrNotAuthorized, "breach by a leader on a county-admin device", admin, domain.RoleLeader, nil,
		func(t *testing.T, w *world) []protocol.Op {
			return []protocol.Op{transitionOp(township, c, domain.StatusPublished, domain.StatusBreached, "逾期未办结", id(w, 2))}
		})
	opCase(protocol.CodeNotAuthorized, protocol.ErrNotAuthorized, "staff adds an account", town, domain.RoleStaff, nil,
		func(t *testing.T, w *world) []protocol.Op { return []protocol.Op{addAccount(township)} })
	opCase(protocol.CodeNotAuthorized, protocol.ErrNotAuthorized, "county_admin author on a township device", town, domain.RoleCountyAdmin, nil,
		func(t *testing.T, w *world) []protocol.Op { return everyTownshipKind(t, w.town, 1) })
	return rows
}

func TestVerifyRefusals(t *testing.T) {
	w := newWorld(t)
	rows := refusals()
	seen := map[protocol.Code]int{}
	for _, r := range rows {
		t.Run(string(r.code)+"/"+r.name, func(t *testing.T) {
			seen[r.code]++
			in := r.in(t, w)
			reg := protocol.Registry(w.reg)
			if in.reg != nil {
				reg = in.reg
			}
			chains := protocol.Chains(memChains{})
			if in.chains != nil {
				chains = in.chains
			}
			cs, err := protocol.Verify(in.raw, reg, chains, in.from)
			if got := protocol.CodeOf(err); got != r.code {
				t.Fatalf("Verify: code %q (%v), want %q", got, err, r.code)
			}
			if !errors.Is(err, r.err) {
				t.Fatalf("Verify: %v does not wrap %v", err, r.err)
			}
			if protocol.ErrorFor(r.code) != r.err {
				t.Fatalf("ErrorFor(%q) is not the row's sentinel", r.code)
			}
			if cs != nil {
				t.Fatalf("Verify refused with %q but returned a change set", r.code)
			}
		})
	}
	// Every refusal code a change set can earn is covered, replay by
	// TestVerifyReplay.
	for _, c := range changeSetCodes {
		if c.code != protocol.CodeReplay && seen[c.code] == 0 {
			t.Errorf("no refusal test for code %q", c.code)
		}
	}
}

func TestVerifyAcceptsEveryKind(t *testing.T) {
	w := newWorld(t)
	chains := memChains{}
	s1 := w.good(t)
	got, err := protocol.Verify(s1.Bytes(), w.reg, chains, w.town.id)
	if err != nil {
		t.Fatalf("township change set refused: %v", err)
	}
	if !reflect.DeepEqual(got, s1) {
		t.Fatal("Verify returned a change set unlike the one sealed")
	}
	chains.accept(t, got)

	// A second device of the same township, staff role, starting its own chain.
	o1 := seal(t, spec{dev: w.town2, role: domain.RoleStaff, seq: 1, ops: number(1, hlc0, fulfilOp(t, township, entityID(1)),
		editOp(township, entityID(1), opID(w.town, 1)))}, nil)
	if _, err := protocol.Verify(o1.Bytes(), w.reg, chains, protocol.DeviceID{}); err != nil {
		t.Fatalf("second device's change set refused: %v", err)
	}
	chains.accept(t, o1)

	// The county admin: a resolution and a breach for one township, then
	// records for another township and for the county itself, one office
	// per change set.
	a1 := w.set(t, w.admin, domain.RoleCountyAdmin, nil,
		resolveOp(township, entityID(1), opID(w.town, 2), opID(w.town2, 2)),
		transitionOp(township, entityID(1), domain.StatusInProgress, domain.StatusBreached, "逾期未办结", opID(w.town, 4)),
	)
	a2 := seal(t, spec{dev: w.admin, role: domain.RoleCountyAdmin, seq: 2, prev: a1.Hash(),
		ops: number(3, hlc0+protocol.MakeHLC(60_000, 0), createOp(township2, entityID(2)))}, nil)
	a3 := seal(t, spec{dev: w.admin, role: domain.RoleCountyAdmin, seq: 3, prev: a2.Hash(),
		ops: number(4, hlc0+protocol.MakeHLC(120_000, 0), evidenceOp(county, protocol.EntityID{}))}, nil)
	for _, cs := range []*protocol.ChangeSet{a1, a2, a3} {
		got, err := protocol.Verify(cs.Bytes(), w.reg, chains, w.admin.id)
		if err != nil {
			t.Fatalf("county admin's change set %d refused: %v", cs.Seq, err)
		}
		if got.TargetOffice() != cs.Ops[0].Office {
			t.Fatalf("TargetOffice = %s, want %s", got.TargetOffice(), cs.Ops[0].Office)
		}
		chains.accept(t, got)
	}

	// The township's second change set continues the chain.
	s2 := seal(t, spec{dev: w.town, role: domain.RoleLeader, seq: 2, prev: s1.Hash(),
		ops: number(s1.LastOp()+1, hlc0+protocol.MakeHLC(3600_000, 0),
			transitionOp(township, entityID(1), domain.StatusInProgress, domain.StatusFulfilledLate, "", opID(w.town, 4)))}, nil)
	if _, err := protocol.Verify(s2.Bytes(), w.reg, chains, w.town.id); err != nil {
		t.Fatalf("seq 2 refused: %v", err)
	}
}

func TestVerifyReplay(t *testing.T) {
	w := newWorld(t)
	s1 := w.good(t)
	s2 := seal(t, spec{dev: w.town, role: domain.RoleStaff, seq: 2, prev: s1.Hash(),
		ops: number(s1.LastOp()+1, hlc0+protocol.MakeHLC(60_000, 0), fulfilOp(t, township, entityID(1)))}, nil)
	chains := chainsWith(t, s1, s2)
	for _, old := range []*protocol.ChangeSet{s1, s2} {
		cs, err := protocol.Verify(bytes.Clone(old.Bytes()), w.reg, chains, w.town.id)
		if protocol.CodeOf(err) != protocol.CodeReplay || !errors.Is(err, protocol.ErrReplay) {
			t.Fatalf("seq %d again: %v, want replay", old.Seq, err)
		}
		if cs == nil || cs.Hash() != old.Hash() || cs.Seq != old.Seq || !reflect.DeepEqual(cs, old) {
			t.Fatalf("seq %d again: Verify did not return the decoded change set with its replay", old.Seq)
		}
	}
	// A replay is still checked for who sent it and for its signature first.
	if cs, err := protocol.Verify(s1.Bytes(), w.reg, chains, w.town2.id); protocol.CodeOf(err) != protocol.CodeWrongDevice || cs != nil {
		t.Fatalf("replay sent by another device: %v", err)
	}
	b := s1.Bytes()
	if cs, err := protocol.Verify(flipBit(b, len(b)-1, 0), w.reg, chains, w.town.id); protocol.CodeOf(err) != protocol.CodeBadSignature || cs != nil {
		t.Fatalf("replay with a bad signature: %v", err)
	}
}

// TestVerifyChainOrder delivers a device's change sets out of order, twice
// and late, to a receiver that stores what Verify accepts: only the next
// one in line is accepted, each exactly once.
func TestVerifyChainOrder(t *testing.T) {
	w := newWorld(t)
	var sets []*protocol.ChangeSet
	prev, next := protocol.Hash{}, uint64(1)
	for seq := uint64(1); seq <= 4; seq++ {
		ops := number(next, hlc0+protocol.MakeHLC(int64(seq)*60_000, 0), fulfilOp(t, township, entityID(1)), fulfilOp(t, township, entityID(2)))
		cs := seal(t, spec{dev: w.town, role: domain.RoleStaff, seq: seq, prev: prev, ops: ops}, nil)
		sets = append(sets, cs)
		prev, next = cs.Hash(), cs.LastOp()+1
	}
	chains := memChains{}
	deliveries := []struct {
		seq  int
		want protocol.Code
	}{
		{2, protocol.CodeSequenceGap},
		{1, protocol.CodeOK},
		{3, protocol.CodeSequenceGap},
		{1, protocol.CodeReplay},
		{2, protocol.CodeOK},
		{4, protocol.CodeSequenceGap},
		{2, protocol.CodeReplay},
		{3, protocol.CodeOK},
		{1, protocol.CodeReplay},
		{4, protocol.CodeOK},
		{4, protocol.CodeReplay},
	}
	for i, d := range deliveries {
		cs, err := protocol.Verify(sets[d.seq-1].Bytes(), w.reg, chains, w.town.id)
		if got := protocol.CodeOf(err); got != d.want {
			t.Fatalf("delivery %d (seq %d): %q (%v), want %q", i, d.seq, got, err, d.want)
		}
		if err == nil {
			chains.accept(t, cs)
		}
	}
	if h, _ := chains.Head(w.town.id); h.Seq != 4 || h.Hash != sets[3].Hash() || h.LastOp != 8 {
		t.Fatalf("head after deliveries: %+v", h)
	}
}

// TestVerifyEveryTruncation cuts a valid change set at every byte: each
// prefix is refused as malformed and yields no change set.
func TestVerifyEveryTruncation(t *testing.T) {
	w := newWorld(t)
	b := w.good(t).Bytes()
	for n := range len(b) {
		cs, err := protocol.Verify(b[:n], w.reg, memChains{}, w.town.id)
		if protocol.CodeOf(err) != protocol.CodeMalformed || cs != nil {
			t.Fatalf("first %d of %d bytes: %q (%v), want malformed", n, len(b), protocol.CodeOf(err), err)
		}
	}
}

// TestVerifyEveryByteFlip changes one bit in every byte of a valid change
// set: every change is refused with some code and yields no change set.
func TestVerifyEveryByteFlip(t *testing.T) {
	w := newWorld(t)
	b := w.good(t).Bytes()
	codes := map[protocol.Code]int{}
	for i := range b {
		for _, bit := range []uint{uint(i % 8), 7 - uint(i%8)} {
			cs, err := protocol.Verify(flipBit(b, i, bit), w.reg, memChains{}, protocol.DeviceID{})
			code := protocol.CodeOf(err)
			if err == nil || cs != nil {
				t.Fatalf("byte %d bit %d flipped: accepted (%v)", i, bit, err)
			}
			if code == protocol.CodeInternal {
				t.Fatalf("byte %d bit %d flipped: %v is not a refusal code", i, bit, err)
			}
			codes[code]++
		}
	}
	t.Logf("codes for %d flipped bits: %v", 2*len(b), codes)
	if codes[protocol.CodeBadSignature] == 0 || codes[protocol.CodeMalformed] == 0 {
		t.Fatalf("expected both bad_signature and malformed among %v", codes)
	}
}

func TestVerifyStoreFailures(t *testing.T) {
	w := newWorld(t)
	s1 := w.good(t)
	diskErr := errors.New("disk on fire")
	cs, err := protocol.Verify(s1.Bytes(), failingRegistry{diskErr}, memChains{}, w.town.id)
	if cs != nil || !errors.Is(err, diskErr) || protocol.CodeOf(err) != protocol.CodeInternal {
		t.Fatalf("registry failure: %v (code %q), want internal", err, protocol.CodeOf(err))
	}
	cs, err = protocol.Verify(s1.Bytes(), w.reg, failingChains{err: diskErr}, w.town.id)
	if cs != nil || !errors.Is(err, diskErr) || protocol.CodeOf(err) != protocol.CodeInternal {
		t.Fatalf("chain head failure: %v (code %q), want internal", err, protocol.CodeOf(err))
	}
	head := protocol.Head{Seq: 1, Hash: s1.Hash(), LastOp: s1.LastOp()}
	cs, err = protocol.Verify(s1.Bytes(), w.reg, failingChains{head: head, err: diskErr, onlyHashAt: true}, w.town.id)
	if cs != nil || !errors.Is(err, diskErr) || protocol.CodeOf(err) != protocol.CodeInternal {
		t.Fatalf("chain lookup failure: %v (code %q), want internal", err, protocol.CodeOf(err))
	}
}

type failingRegistry struct{ err error }

func (f failingRegistry) Device(protocol.DeviceID) (protocol.DeviceInfo, error) {
	return protocol.DeviceInfo{}, f.err
}

type failingChains struct {
	head       protocol.Head
	err        error
	onlyHashAt bool
}

func (f failingChains) Head(protocol.DeviceID) (protocol.Head, error) {
	if f.onlyHashAt {
		return f.head, nil
	}
	return protocol.Head{}, f.err
}

func (f failingChains) HashAt(protocol.DeviceID, uint64) (protocol.Hash, bool, error) {
	return protocol.Hash{}, false, f.err
}

// changeSetCodes are the codes Verify can give a change set, with the text
// that travels on the wire and names translations: it never changes.
var changeSetCodes = []struct {
	code protocol.Code
	text string
	err  error
}{
	{protocol.CodeMalformed, "malformed", protocol.ErrMalformed},
	{protocol.CodeUnknownVersion, "unknown_version", protocol.ErrUnknownVersion},
	{protocol.CodeOversize, "oversize", protocol.ErrOversize},
	{protocol.CodeUnknownDevice, "unknown_device", protocol.ErrUnknownDevice},
	{protocol.CodeWrongDevice, "wrong_device", protocol.ErrWrongDevice},
	{protocol.CodeRevokedDevice, "revoked_device", protocol.ErrRevokedDevice},
	{protocol.CodeBadSignature, "bad_signature", protocol.ErrBadSignature},
	{protocol.CodeReplay, "replay", protocol.ErrReplay},
	{protocol.CodeSequenceGap, "sequence_gap", protocol.ErrSequenceGap},
	{protocol.CodeBrokenChain, "broken_chain", protocol.ErrBrokenChain},
	{protocol.CodeFork, "fork", protocol.ErrFork},
	{protocol.CodeOutOfScope, "out_of_scope", protocol.ErrOutOfScope},
	{protocol.CodeInvalidOperation, "invalid_operation", protocol.ErrInvalidOperation},
	{protocol.CodeNotAuthorized, "not_authorized", protocol.ErrNotAuthorized},
}

func TestCodes(t *testing.T) {
	all := protocol.Codes()
	for _, c := range changeSetCodes {
		if string(c.code) != c.text {
			t.Errorf("code %q changed its text, was %q", c.code, c.text)
		}
		if !slices.Contains(all, c.code) {
			t.Errorf("Codes() lacks %q", c.code)
		}
		if protocol.ErrorFor(c.code) != c.err {
			t.Errorf("ErrorFor(%q) is not its sentinel", c.code)
		}
	}
	// Every listed code maps to a sentinel and back, and no two share text.
	seen := map[protocol.Code]bool{}
	for _, code := range all {
		if seen[code] || code == protocol.CodeOK || code == protocol.CodeInternal {
			t.Errorf("Codes() lists %q twice or lists a non-refusal", code)
		}
		seen[code] = true
		sentinel := protocol.ErrorFor(code)
		if got := protocol.CodeOf(sentinel); got != code {
			t.Errorf("CodeOf(ErrorFor(%q)) = %q", code, got)
		}
		if got := protocol.CodeOf(fmt.Errorf("context: %w", fmt.Errorf("%w: detail", sentinel))); got != code {
			t.Errorf("CodeOf(wrapped %q) = %q", code, got)
		}
	}
	if protocol.CodeOf(nil) != protocol.CodeOK || protocol.CodeOK != "" {
		t.Error("CodeOf(nil) is not CodeOK")
	}
	if protocol.CodeOf(errors.New("disk full")) != protocol.CodeInternal || protocol.CodeInternal != "internal" {
		t.Error("CodeOf(other error) is not internal")
	}
	if err := protocol.ErrorFor("gremlins"); err == nil || !strings.Contains(err.Error(), "gremlins") || protocol.CodeOf(err) != protocol.CodeInternal {
		t.Errorf("ErrorFor(unknown code) = %v", err)
	}
}

func TestOpKindString(t *testing.T) {
	want := map[protocol.OpKind]string{1: "create", 2: "edit", 3: "amend", 4: "transition", 5: "fulfil", 6: "evidence", 7: "resolve",
		8: "dishonesty", 9: "dishonesty_step", 10: "case", 11: "case_step", 12: "account",
		13: "urge", 14: "urge_read", 15: "annual_report", 0: "unknown", 16: "unknown"}
	for k, s := range want {
		if k.String() != s {
			t.Errorf("OpKind(%d).String() = %q, want %q", k, k.String(), s)
		}
		// Kind 9 is admin-only per step (the township submits two of them):
		// its own rules decide, tested in dishonesty_test.go.
		if k.AdminOnly() != (k == protocol.OpResolve || k == protocol.OpDishonesty || k == protocol.OpUrge) {
			t.Errorf("OpKind(%d).AdminOnly() = %v", k, k.AdminOnly())
		}
	}
	if got := (&protocol.Op{Num: 7}).ID(protocol.DeviceID{1}); got != (protocol.OpID{Device: protocol.DeviceID{1}, Num: 7}) {
		t.Errorf("Op.ID = %v", got)
	}
}

// TestValidateLimits covers the rules of Op.Validate that the decoder
// enforces first (so Verify reports them as malformed), for callers that
// validate an operation before encoding it, as the store does.
func TestValidateLimits(t *testing.T) {
	dev := protocol.DeviceID{1}
	c := entityID(1)
	many := func(n int) []protocol.OpID {
		out := make([]protocol.OpID, n)
		for i := range out {
			out[i] = protocol.OpID{Device: dev, Num: uint64(i + 1)}
		}
		return out
	}
	ok := number(1, hlc0, fulfilOp(t, township, c))[0]
	if err := ok.Validate(domain.RoleStaff, false); err != nil {
		t.Fatalf("valid fulfilment: %v", err)
	}
	cases := map[string]func(op *protocol.Op){
		"entry without a date": func(op *protocol.Op) { op.Entry.Date = calendar.Date{} },
		"too much evidence": func(op *protocol.Op) {
			for i := range protocol.MaxEvidencePerEntry + 1 {
				op.Entry.Evidence = append(op.Entry.Evidence, protocol.HashOf([]byte{byte(i)}))
			}
		},
		"note too long":  func(op *protocol.Op) { op.Entry.Note = strings.Repeat("x", domain.MaxNoteBytes+1) },
		"invalid office": func(op *protocol.Op) { op.Office = "4103241" },
		"evidence too large": func(op *protocol.Op) {
			*op = number(1, hlc0, evidenceOp(township, c))[0]
			op.Meta.Size = protocol.MaxEvidenceBytes + 1
		},
		"negative evidence size": func(op *protocol.Op) {
			*op = number(1, hlc0, evidenceOp(township, c))[0]
			op.Meta.Size = -1
		},
		"too many versions superseded": func(op *protocol.Op) {
			*op = number(1, hlc0, resolveOp(township, c, many(protocol.MaxBase+1)...))[0]
		},
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			op := number(1, hlc0, fulfilOp(t, township, c))[0]
			edit(&op)
			err := op.Validate(domain.RoleCountyAdmin, true)
			if protocol.CodeOf(err) != protocol.CodeInvalidOperation || !errors.Is(err, protocol.ErrInvalidOperation) {
				t.Fatalf("Validate = %v, want invalid_operation", err)
			}
		})
	}
	// Rules Verify reaches through earlier checks, called directly.
	zero := number(1, hlc0, fulfilOp(t, township, c))[0]
	zero.HLC = 0
	if err := zero.Validate(domain.RoleStaff, false); protocol.CodeOf(err) != protocol.CodeInvalidOperation {
		t.Errorf("zero clock stamp: Validate = %v, want invalid_operation", err)
	}
	breach := number(1, hlc0, transitionOp(township, c, domain.StatusPublished, domain.StatusBreached, "逾期", protocol.OpID{Num: 1}))[0]
	if err := breach.Validate(domain.RoleCountyAdmin, false); protocol.CodeOf(err) != protocol.CodeNotAuthorized {
		t.Errorf("breach by a county_admin role on a township device: Validate = %v, want not_authorized", err)
	}
	if err := breach.Validate(domain.RoleCountyAdmin, true); err != nil {
		t.Errorf("breach from a county-admin device: %v", err)
	}

	// The largest base allowed is fine.
	op := number(1, hlc0, resolveOp(township, c, many(protocol.MaxBase)...))[0]
	if err := op.Validate(domain.RoleCountyAdmin, true); err != nil {
		t.Fatalf("resolve over MaxBase versions: %v", err)
	}
}
