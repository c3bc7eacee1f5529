package protocol

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
)

// FormatVersion is the change-set format this build writes and reads.
const FormatVersion = 1

// MaxChangeSetBytes bounds an encoded change set. Evidence content travels
// separately, so 1 MiB holds hundreds of operations with long texts.
const MaxChangeSetBytes = 1 << 20

var magic = []byte("JNCS")

// signContext separates change-set signatures from every other signature a
// device key makes (session challenges, enrolment requests).
const signContext = "jiannuo/changeset/v1\x00"

// ChangeSet is a batch of operations from one device and one author, signed
// by the device. Sequence numbers are gapless per device and each change set
// names the hash of the previous one, so a receiver notices anything
// missing, repeated, reordered or rewritten.
type ChangeSet struct {
	Version    uint8
	Device     DeviceID
	Office     office.Code // the office the device was enrolled for
	Author     string      // the signed-in user who made the operations
	AuthorRole domain.Role // that user's role, as the device vouches
	Seq        uint64      // 1 for a device's first change set
	Prev       Hash        // Hash of change set Seq-1; zero for Seq 1
	Ops        []Op
	Sig        [ed25519.SignatureSize]byte

	hash Hash   // of the body; set by Seal and Decode
	raw  []byte // the full encoding; set by Seal and Decode
}

// Hash returns the SHA-256 of the signed body, the value the next change set
// names as Prev. Valid after Seal or Decode.
func (cs *ChangeSet) Hash() Hash { return cs.hash }

// Bytes returns the full encoding (body and signature). Valid after Seal or
// Decode; the caller must not modify it.
func (cs *ChangeSet) Bytes() []byte { return cs.raw }

// TargetOffice returns the office whose records the change set writes: every
// operation of a verified change set belongs to the same office (for a
// township device its own; for a county-admin device one of its county's).
func (cs *ChangeSet) TargetOffice() office.Code { return cs.Ops[0].Office }

// FirstOp and LastOp return the operation numbers the change set covers.
func (cs *ChangeSet) FirstOp() uint64 { return cs.Ops[0].Num }

// LastOp returns the number of the last operation.
func (cs *ChangeSet) LastOp() uint64 { return cs.Ops[len(cs.Ops)-1].Num }

// Seal encodes the change set, signs it with priv, and records its hash and
// bytes. The device's ID must match priv's public key.
func (cs *ChangeSet) Seal(priv ed25519.PrivateKey) error {
	if DeviceIDFromKey(priv.Public().(ed25519.PublicKey)) != cs.Device {
		return errorf(ErrWrongDevice, "signing key does not belong to device %s", cs.Device)
	}
	if len(cs.Ops) == 0 {
		return errorf(ErrInvalidOperation, "empty change set")
	}
	if len(cs.Ops) > MaxOpsPerChangeSet {
		return errorf(ErrOversize, "%d operations, limit %d", len(cs.Ops), MaxOpsPerChangeSet)
	}
	cs.Version = FormatVersion
	body := cs.appendBody(nil)
	cs.hash = sha256.Sum256(body)
	copy(cs.Sig[:], ed25519.Sign(priv, signMessage(cs.hash)))
	cs.raw = append(body, cs.Sig[:]...)
	if len(cs.raw) > MaxChangeSetBytes {
		return errorf(ErrOversize, "%d bytes", len(cs.raw))
	}
	return nil
}

func signMessage(h Hash) []byte {
	return append([]byte(signContext), h[:]...)
}

// VerifySignature checks the signature against pub.
func (cs *ChangeSet) VerifySignature(pub ed25519.PublicKey) bool {
	return len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, signMessage(cs.hash), cs.Sig[:])
}

func (cs *ChangeSet) appendBody(b []byte) []byte {
	e := encoder{b: b}
	e.raw(magic)
	e.byte(cs.Version)
	e.raw(cs.Device[:])
	e.str(string(cs.Office))
	e.str(cs.Author)
	e.str(string(cs.AuthorRole))
	e.uvarint(cs.Seq)
	e.raw(cs.Prev[:])
	e.uvarint(uint64(len(cs.Ops)))
	for i := range cs.Ops {
		appendOp(&e, &cs.Ops[i])
	}
	return e.b
}

func appendOp(e *encoder, op *Op) {
	e.uvarint(op.Num)
	e.u64(uint64(op.HLC))
	e.byte(byte(op.Kind))
	e.str(string(op.Office))
	e.raw(op.Target[:])
	e.uvarint(uint64(len(op.Writes)))
	for _, w := range op.Writes {
		e.str(string(w.Field))
		e.str(w.Value)
		e.uvarint(uint64(len(w.Base)))
		for _, b := range w.Base {
			e.raw(b.Device[:])
			e.uvarint(b.Num)
		}
	}
	e.str(string(op.From))
	e.str(op.Reason)
	e.bool(op.Entry != nil)
	if en := op.Entry; en != nil {
		e.str(en.Date.String())
		e.byte(en.Progress)
		e.str(en.Note)
		e.uvarint(uint64(len(en.Evidence)))
		for _, h := range en.Evidence {
			e.raw(h[:])
		}
	}
	e.bool(op.Meta != nil)
	if m := op.Meta; m != nil {
		e.raw(m.Hash[:])
		e.str(m.Name)
		e.str(m.MIME)
		e.uvarint(uint64(m.Size))
	}
	if op.Kind.dishonesty() {
		// Only the kinds that have it: older kinds keep their bytes.
		appendDishonesty(e, op.Dishonesty)
	}
	appendCaseBodies(e, op) // cases only, like the dishonesty body
	appendAccount(e, op)    // account changes only
	appendYear(e, op)       // urges, read receipts and reports only
}

// Decode parses an encoded change set. It checks the form only (size,
// version, canonical encoding); Verify checks who signed it and whether it
// fits. Errors wrap ErrOversize, ErrMalformed or ErrUnknownVersion.
func Decode(raw []byte) (*ChangeSet, error) {
	if len(raw) > MaxChangeSetBytes {
		return nil, errorf(ErrOversize, "%d bytes, limit %d", len(raw), MaxChangeSetBytes)
	}
	if len(raw) < len(magic)+1+ed25519.SignatureSize || !bytes.Equal(raw[:len(magic)], magic) {
		return nil, errorf(ErrMalformed, "not a change set")
	}
	if v := raw[len(magic)]; v != FormatVersion {
		return nil, errorf(ErrUnknownVersion, "version %d, this build reads %d", v, FormatVersion)
	}
	body := raw[:len(raw)-ed25519.SignatureSize]
	d := decoder{b: body[len(magic)+1:]}
	cs := &ChangeSet{Version: FormatVersion}
	d.raw(cs.Device[:])
	cs.Office = office.Code(d.str(16))
	cs.Author = d.str(MaxNameBytes)
	cs.AuthorRole = domain.Role(d.str(32))
	cs.Seq = d.uvarint()
	d.raw(cs.Prev[:])
	// Too many operations is a limit, like too many bytes, not a malformed
	// encoding: look at the count before count refuses it as malformed.
	if v, k := binary.Uvarint(d.b); d.err == nil && k > 0 && v > MaxOpsPerChangeSet {
		return nil, errorf(ErrOversize, "%d operations, limit %d", v, MaxOpsPerChangeSet)
	}
	n := d.count(MaxOpsPerChangeSet, minOpBytes)
	if d.err == nil && n == 0 {
		d.fail("no operations")
	}
	cs.Ops = make([]Op, n)
	for i := range cs.Ops {
		decodeOp(&d, &cs.Ops[i])
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return nil, d.err
	}
	copy(cs.Sig[:], raw[len(body):])
	cs.hash = sha256.Sum256(body)
	cs.raw = bytes.Clone(raw)
	// Belt and braces: the decoder refuses every non-canonical form it
	// knows of; re-encoding proves there is none it missed, so equal
	// content always means equal hash.
	if !bytes.Equal(cs.appendBody(make([]byte, 0, len(body))), body) {
		return nil, errorf(ErrMalformed, "not in canonical form")
	}
	return cs, nil
}

// minOpBytes is the least an encoded operation can take, used to refuse
// absurd counts before allocating.
const minOpBytes = 1 + 8 + 1 + 1 + 16 + 1 + 1 + 1 + 1 + 1

func decodeOp(d *decoder, op *Op) {
	op.Num = d.uvarint()
	op.HLC = HLC(d.u64())
	op.Kind = OpKind(d.byte())
	op.Office = office.Code(d.str(16))
	d.raw(op.Target[:])
	nw := d.count(domain.NumFields(), 3)
	if nw > 0 {
		op.Writes = make([]FieldWrite, nw)
	}
	for i := range op.Writes {
		w := &op.Writes[i]
		w.Field = domain.Field(d.str(32))
		w.Value = d.str(domain.MaxTextBytes)
		nb := d.count(MaxBase, 17)
		if nb > 0 {
			w.Base = make([]OpID, nb)
		}
		for j := range w.Base {
			d.raw(w.Base[j].Device[:])
			w.Base[j].Num = d.uvarint()
		}
	}
	op.From = domain.Status(d.str(32))
	op.Reason = d.str(domain.MaxShortBytes)
	if d.bool() {
		en := &Entry{}
		date := d.str(10)
		if d.err == nil {
			var err error
			if en.Date, err = calendar.ParseDate(date); err != nil {
				d.fail("entry date %q", date)
			}
		}
		en.Progress = d.byte()
		en.Note = d.str(domain.MaxNoteBytes)
		ne := d.count(MaxEvidencePerEntry, 32)
		if ne > 0 {
			en.Evidence = make([]Hash, ne)
		}
		for j := range en.Evidence {
			d.raw(en.Evidence[j][:])
		}
		op.Entry = en
	}
	if d.bool() {
		m := &EvidenceMeta{}
		d.raw(m.Hash[:])
		m.Name = d.str(MaxNameBytes)
		m.MIME = d.str(MaxNameBytes)
		size := d.uvarint()
		if size > MaxEvidenceBytes {
			d.fail("evidence size %d", size)
		}
		m.Size = int64(size)
		op.Meta = m
	}
	if op.Kind.dishonesty() {
		op.Dishonesty = decodeDishonesty(d)
	}
	decodeCaseBodies(d, op)
	decodeAccount(d, op)
	decodeYear(d, op)
}

// DeviceInfo is what a receiver knows of an enrolled device.
type DeviceInfo struct {
	ID      DeviceID
	Key     ed25519.PublicKey
	Office  office.Code // the office it may write for
	Admin   bool        // a county-admin device: may resolve conflicts and act for every township of its county
	Revoked bool
}

// Registry answers who a device is. The store implements it from enrolment
// records; the server from its device table.
type Registry interface {
	// Device returns the device's record, or an error wrapping
	// ErrUnknownDevice.
	Device(id DeviceID) (DeviceInfo, error)
}

// Head is the last change set a receiver accepted from a device.
type Head struct {
	Seq    uint64
	Hash   Hash
	LastOp uint64 // number of its last operation
}

// Chains answers what a receiver has already accepted from each device.
type Chains interface {
	// Head returns the device's last accepted change set, zero if none.
	Head(id DeviceID) (Head, error)
	// HashAt returns the hash of the device's change set seq, if accepted.
	HashAt(id DeviceID, seq uint64) (Hash, bool, error)
}

// PartialChains is implemented by a receiver that holds only part of some
// devices' chains. A township replica receives from a county-admin device
// only the change sets written for its own office: the admin's chain, whole
// on the county server, arrives here with gaps. For a device the receiver
// calls partial, Verify accepts a change set beyond the next sequence number
// (its operation numbers must still lie beyond the last accepted); the
// county has checked the whole chain before serving any of it.
type PartialChains interface {
	Partial(dev DeviceInfo) bool
}

func checkChain(cs *ChangeSet, chains Chains, partial bool) error {
	head, err := chains.Head(cs.Device)
	if err != nil {
		return fmt.Errorf("reading chain head: %w", err)
	}
	if cs.Seq == 0 {
		return errorf(ErrSequenceGap, "sequence 0")
	}
	if cs.Seq <= head.Seq {
		h, ok, err := chains.HashAt(cs.Device, cs.Seq)
		if err != nil {
			return fmt.Errorf("reading chain: %w", err)
		}
		if ok && h == cs.hash {
			return errorf(ErrReplay, "%s/%d already accepted", cs.Device.Short(), cs.Seq)
		}
		return errorf(ErrFork, "%s/%d differs from the change set accepted with that number", cs.Device.Short(), cs.Seq)
	}
	if cs.Seq > head.Seq+1 && partial {
		// Change sets for other offices lie in between: the chain link
		// cannot be checked here, only that the numbers move forward.
		for i := range cs.Ops {
			if cs.Ops[i].Num <= head.LastOp || (i > 0 && cs.Ops[i].Num != cs.Ops[i-1].Num+1) {
				return errorf(ErrSequenceGap, "%s/%d: operation numbers must continue past %d", cs.Device.Short(), cs.Seq, head.LastOp)
			}
		}
		return nil
	}
	if cs.Seq != head.Seq+1 {
		return errorf(ErrSequenceGap, "%s: got %d, expected %d", cs.Device.Short(), cs.Seq, head.Seq+1)
	}
	if cs.Prev != head.Hash {
		return errorf(ErrBrokenChain, "%s/%d names %s as previous, accepted %s", cs.Device.Short(), cs.Seq, cs.Prev.String()[:12], head.Hash.String()[:12])
	}
	for i := range cs.Ops {
		if cs.Ops[i].Num != head.LastOp+1+uint64(i) {
			return errorf(ErrSequenceGap, "%s/%d: operation numbers must continue from %d", cs.Device.Short(), cs.Seq, head.LastOp+1)
		}
	}
	return nil
}

// AppendOp appends op's canonical encoding to b. The store keeps
// operations that are not yet sealed into a change set in this form.
func AppendOp(b []byte, op *Op) []byte {
	e := encoder{b: b}
	appendOp(&e, op)
	return e.b
}

// DecodeOp parses what AppendOp wrote; the whole input must be one
// operation. Errors wrap ErrMalformed.
func DecodeOp(b []byte) (Op, error) {
	d := decoder{b: b}
	var op Op
	decodeOp(&d, &op)
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	return op, d.err
}

// PeekDevice returns the device a change set claims, without decoding the
// rest, so a server can refuse another device's change set before queueing
// it. ok is false if raw is too short to say.
func PeekDevice(raw []byte) (id DeviceID, ok bool) {
	const at = 4 + 1 // magic, version
	if len(raw) < at+len(id) {
		return id, false
	}
	copy(id[:], raw[at:])
	return id, true
}
