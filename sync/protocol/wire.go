package protocol

import (
	"crypto/ed25519"
	"encoding/hex"
	"strings"
	"unicode/utf8"

	"jiannuo/domain/office"
)

// ProtocolVersion is the session protocol this build speaks. A peer with
// another version is refused with CodeUnknownVersion before anything else.
const ProtocolVersion = 1

// Frame limits. One websocket message carries one frame.
const (
	// MaxFrameBytes bounds a frame: a full change set plus its envelope.
	MaxFrameBytes = MaxChangeSetBytes + 4<<10
	// MaxChunkBytes bounds an evidence chunk, small enough that a chunk
	// never holds a change set back for long on a slow link.
	MaxChunkBytes = 64 << 10
	// maxMessageBytes bounds the Message of error and refused frames;
	// AppendFrame cuts a longer one so the frame still decodes.
	maxMessageBytes = 1024
	// MaxSoftwareVersionBytes bounds HelloStatus.Software.
	MaxSoftwareVersionBytes = 32
)

// HelloStatus is what a device says of itself in its hello, for the county
// admin's device list: the app's version and how far its own work has got.
// It is advisory: the server records it and shows it, and decides nothing
// by it (what it accepts is decided by the change sets themselves). It is
// not covered by the hello's signature; see docs/protocol.md.
type HelloStatus struct {
	// Software is the app's version, at most MaxSoftwareVersionBytes of
	// printable ASCII (0x20–0x7E), e.g. "0.1.0"; may be empty.
	Software string
	// Seq is the device's local chain head: the sequence number of the
	// last change set it has sealed, receipted or not.
	Seq uint64
	// PendingOps counts its operations not sealed into a change set yet.
	PendingOps uint64
}

// ValidSoftwareVersion reports whether s may travel as HelloStatus.Software:
// at most MaxSoftwareVersionBytes bytes, each printable ASCII.
func ValidSoftwareVersion(s string) bool {
	return len(s) <= MaxSoftwareVersionBytes && asciiPrintable(s)
}

// asciiPrintable reports whether every byte of s is printable ASCII
// (0x20–0x7E).
func asciiPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// CleanSoftwareVersion makes s a valid HelloStatus.Software: every
// character that is not printable ASCII becomes '?', and the result is cut
// to MaxSoftwareVersionBytes. A valid s is returned unchanged.
func CleanSoftwareVersion(s string) string {
	if ValidSoftwareVersion(s) {
		return s
	}
	b := make([]byte, 0, min(len(s), MaxSoftwareVersionBytes))
	for _, r := range s {
		if len(b) == MaxSoftwareVersionBytes {
			break
		}
		if r < 0x20 || r > 0x7e {
			r = '?'
		}
		b = append(b, byte(r))
	}
	return string(b)
}

// Epoch names one life of a county server's feed: a random value made at
// init and made anew at every restore from a backup, so that a device (or
// a municipal node) can tell that the feed its cursor counts in is gone,
// however far the restored feed has grown again since. It travels as the
// optional last field of the hello (the epoch the device knows; zero when
// it knows none yet) and of the welcome (the county's), see
// docs/protocol.md.
type Epoch [16]byte

// IsZero reports whether e is the zero epoch: none known.
func (e Epoch) IsZero() bool { return e == Epoch{} }

// String is e in hex, for logs and the admin's output.
func (e Epoch) String() string { return hex.EncodeToString(e[:]) }

// FrameType identifies a message on the wire. Values are part of the
// protocol.
type FrameType uint8

// The frames. "S→D" goes from server to device, "D→S" the other way.
const (
	FrameChallenge      FrameType = 1  // S→D: a fresh nonce to sign, and who the server is
	FrameHello          FrameType = 2  // D→S: device, feed cursor, signed nonce; optionally the device's status
	FrameWelcome        FrameType = 3  // S→D: the device's chain head as the server has it
	FrameError          FrameType = 4  // either way: fatal; the sender closes the session
	FramePush           FrameType = 5  // D→S: one change set
	FrameReceipt        FrameType = 6  // S→D: the county's signed receipt for a pushed change set
	FrameRefused        FrameType = 7  // S→D: a pushed change set refused, with its code
	FrameDeliver        FrameType = 8  // S→D: a change set from the feed, with its position
	FrameCertificate    FrameType = 9  // S→D: an enrolment certificate
	FrameRevocation     FrameType = 10 // S→D: a revocation
	FrameCaughtUp       FrameType = 11 // S→D: the feed is delivered up to Pos
	FrameAck            FrameType = 12 // D→S: applied up to Pos (flow control)
	FrameEvidenceOffer  FrameType = 13 // D→S: I have this evidence file
	FrameEvidenceWant   FrameType = 14 // S→D: send it from Offset
	FrameEvidenceChunk  FrameType = 15 // either way: part of an evidence file
	FrameEvidenceStored FrameType = 16 // S→D: the whole file arrived and matches its hash
	FrameEvidenceGet    FrameType = 17 // D→S: send me this file from Offset

	// The upstream session (GET /upstream): a county server feeding a
	// municipal node ("M") its whole feed. Challenge, hello, welcome,
	// error, certificate, caught_up and ack are shared with /sync.
	FrameUpstreamEntry      FrameType = 18 // S→M: a change set of the feed with its position and the county's receipt
	FrameUpstreamRevocation FrameType = 19 // S→M: a revocation with the feed position it took effect at, signed
	FrameCalendar           FrameType = 20 // S→D: a county-signed holiday calendar update (CalendarUpdate)

	// Cases filed on a municipal page travel up the upstream session: the
	// node hands the intake to the county that owns the record, which
	// answers once the case is open (or will never be).
	FrameCaseIntake   FrameType = 21 // M→S: a signed intake (Intake)
	FrameCaseAccepted FrameType = 22 // S→M: the case is open, in the change set at feed position Pos
	FrameCaseRefused  FrameType = 23 // S→M: the intake is refused for good, with its code
)

// String names the frame type for logs.
func (t FrameType) String() string {
	names := map[FrameType]string{
		FrameChallenge: "challenge", FrameHello: "hello", FrameWelcome: "welcome", FrameError: "error",
		FramePush: "push", FrameReceipt: "receipt", FrameRefused: "refused", FrameDeliver: "deliver",
		FrameCertificate: "certificate", FrameRevocation: "revocation", FrameCaughtUp: "caught_up",
		FrameAck: "ack", FrameEvidenceOffer: "evidence_offer", FrameEvidenceWant: "evidence_want",
		FrameEvidenceChunk: "evidence_chunk", FrameEvidenceStored: "evidence_stored", FrameEvidenceGet: "evidence_get",
		FrameCalendar:      "calendar",
		FrameUpstreamEntry: "upstream_entry", FrameUpstreamRevocation: "upstream_revocation",
		FrameCaseIntake: "case_intake", FrameCaseAccepted: "case_accepted", FrameCaseRefused: "case_refused",
	}
	if n, ok := names[t]; ok {
		return n
	}
	return "unknown"
}

// Frame is one message. Which fields are meaningful depends on Type; the
// rest are zero and are not encoded.
type Frame struct {
	Type FrameType

	Version   uint8             // challenge, hello
	Nonce     []byte            // challenge: 32 random bytes
	County    office.Code       // challenge
	CountyKey ed25519.PublicKey // challenge
	Device    DeviceID          // hello, refused
	Cursor    uint64            // hello: feed position applied so far
	Sig       []byte            // hello: SignChallenge; upstream_revocation: SignRevocationAt
	Status    *HelloStatus      // hello: optional trailing fields; nil when absent (an older device, a municipal node)
	// Epoch is optional and last in a hello (after the status, which it
	// needs: AppendFrame writes an empty status before it if Status is
	// nil) and in a welcome; nil when absent. A hello's is the feed epoch
	// the device knows (zero: none yet) and asks the welcome to carry the
	// county's; a welcome carries it only when the hello asked.
	Epoch   *Epoch
	Head    Head     // welcome
	Pos     uint64   // welcome (feed head), deliver, caught_up, ack, upstream_entry, upstream_revocation, case_accepted
	Code    Code     // error, refused, case_refused
	Message string   // error, refused, case_refused: for logs, not for users; cut to 1024 bytes
	Seq     uint64   // refused
	Body    []byte   // push, deliver, upstream_entry: change set; receipt, certificate, revocation, upstream_revocation, case_intake: document; chunk: data
	Receipt []byte   // upstream_entry: the county's signed receipt for Body
	Hash    Hash     // evidence frames; refused: the evidence file refused, if any
	Size    int64    // evidence_offer
	Offset  int64    // evidence_want, evidence_chunk, evidence_get
	Case    EntityID // case_accepted, case_refused
}

// AppendFrame appends the frame's encoding to b.
func AppendFrame(b []byte, f *Frame) []byte {
	e := encoder{b: b}
	e.byte(byte(f.Type))
	switch f.Type {
	case FrameChallenge:
		e.byte(f.Version)
		e.raw(f.Nonce)
		e.str(string(f.County))
		e.raw(f.CountyKey)
	case FrameHello:
		e.byte(f.Version)
		e.raw(f.Device[:])
		e.uvarint(f.Cursor)
		e.raw(f.Sig)
		st := f.Status
		if st == nil && f.Epoch != nil {
			st = &HelloStatus{} // the epoch comes after a status
		}
		if st != nil {
			// Trailing and optional: a hello without them is the
			// version 1 hello of older devices.
			e.str(CleanSoftwareVersion(st.Software))
			e.uvarint(st.Seq)
			e.uvarint(st.PendingOps)
		}
		if f.Epoch != nil {
			e.raw(f.Epoch[:])
		}
	case FrameWelcome:
		e.uvarint(f.Head.Seq)
		e.raw(f.Head.Hash[:])
		e.uvarint(f.Head.LastOp)
		e.uvarint(f.Pos)
		if f.Epoch != nil {
			// Trailing and optional: only for a hello that carried an
			// epoch, since older devices refuse trailing bytes.
			e.raw(f.Epoch[:])
		}
	case FrameError:
		e.str(string(f.Code))
		e.str(clip(f.Message))
	case FramePush, FrameReceipt, FrameCertificate, FrameRevocation, FrameCalendar:
		e.raw(f.Body)
	case FrameRefused:
		e.raw(f.Device[:])
		e.uvarint(f.Seq)
		e.str(string(f.Code))
		e.str(clip(f.Message))
		e.raw(f.Hash[:])
	case FrameDeliver:
		e.uvarint(f.Pos)
		e.raw(f.Body)
	case FrameCaughtUp, FrameAck:
		e.uvarint(f.Pos)
	case FrameEvidenceOffer:
		e.raw(f.Hash[:])
		e.uvarint(uint64(f.Size))
	case FrameEvidenceWant, FrameEvidenceGet:
		e.raw(f.Hash[:])
		e.uvarint(uint64(f.Offset))
	case FrameEvidenceChunk:
		e.raw(f.Hash[:])
		e.uvarint(uint64(f.Offset))
		e.raw(f.Body)
	case FrameEvidenceStored:
		e.raw(f.Hash[:])
	case FrameUpstreamEntry:
		e.uvarint(f.Pos)
		e.uvarint(uint64(len(f.Receipt)))
		e.raw(f.Receipt)
		e.raw(f.Body)
	case FrameUpstreamRevocation:
		e.uvarint(f.Pos)
		e.raw(f.Sig)
		e.raw(f.Body)
	case FrameCaseIntake:
		e.raw(f.Body)
	case FrameCaseAccepted:
		e.raw(f.Case[:])
		e.uvarint(f.Pos)
	case FrameCaseRefused:
		e.raw(f.Case[:])
		e.str(string(f.Code))
		e.str(clip(f.Message))
	}
	return e.b
}

// DecodeFrame parses one frame. Errors wrap ErrOversize or ErrMalformed;
// nothing about the content (signatures, change sets) is checked here.
func DecodeFrame(b []byte) (*Frame, error) {
	if len(b) > MaxFrameBytes {
		return nil, errorf(ErrOversize, "frame of %d bytes, limit %d", len(b), MaxFrameBytes)
	}
	d := decoder{b: b}
	f := &Frame{Type: FrameType(d.byte())}
	rest := func() []byte { // the remaining bytes, as a copy
		if d.err != nil {
			return nil
		}
		out := append([]byte(nil), d.b...)
		d.b = nil
		return out
	}
	switch f.Type {
	case FrameChallenge:
		f.Version = d.byte()
		f.Nonce = make([]byte, 32)
		d.raw(f.Nonce)
		f.County = office.Code(d.str(16))
		f.CountyKey = make(ed25519.PublicKey, ed25519.PublicKeySize)
		d.raw(f.CountyKey)
	case FrameHello:
		f.Version = d.byte()
		d.raw(f.Device[:])
		f.Cursor = d.uvarint()
		f.Sig = make([]byte, ed25519.SignatureSize)
		d.raw(f.Sig)
		if d.err == nil && len(d.b) > 0 {
			// The optional status: present when any byte follows the
			// signature, and then complete.
			st := &HelloStatus{Software: d.str(MaxSoftwareVersionBytes)}
			if d.err == nil && !ValidSoftwareVersion(st.Software) {
				d.fail("software version %q is not printable ASCII", st.Software)
			}
			st.Seq = d.uvarint()
			st.PendingOps = d.uvarint()
			f.Status = st
			f.Epoch = d.epoch()
		}
	case FrameWelcome:
		f.Head.Seq = d.uvarint()
		d.raw(f.Head.Hash[:])
		f.Head.LastOp = d.uvarint()
		f.Pos = d.uvarint()
		f.Epoch = d.epoch()
	case FrameError:
		f.Code = Code(d.str(64))
		f.Message = d.str(maxMessageBytes)
	case FramePush, FrameReceipt, FrameCertificate, FrameRevocation, FrameCalendar:
		f.Body = rest()
	case FrameRefused:
		d.raw(f.Device[:])
		f.Seq = d.uvarint()
		f.Code = Code(d.str(64))
		f.Message = d.str(maxMessageBytes)
		d.raw(f.Hash[:])
	case FrameDeliver:
		f.Pos = d.uvarint()
		f.Body = rest()
	case FrameCaughtUp, FrameAck:
		f.Pos = d.uvarint()
	case FrameEvidenceOffer:
		d.raw(f.Hash[:])
		f.Size = int64(d.uvarint())
		if f.Size <= 0 || f.Size > MaxEvidenceBytes {
			d.fail("evidence size %d", f.Size)
		}
	case FrameEvidenceWant, FrameEvidenceGet:
		d.raw(f.Hash[:])
		f.Offset = int64(d.uvarint())
		if f.Offset < 0 || f.Offset > MaxEvidenceBytes {
			d.fail("evidence offset %d", f.Offset)
		}
	case FrameEvidenceChunk:
		d.raw(f.Hash[:])
		f.Offset = int64(d.uvarint())
		f.Body = rest()
		if f.Offset < 0 || f.Offset > MaxEvidenceBytes || len(f.Body) == 0 || len(f.Body) > MaxChunkBytes {
			d.fail("evidence chunk at %d of %d bytes", f.Offset, len(f.Body))
		}
	case FrameEvidenceStored:
		d.raw(f.Hash[:])
	case FrameUpstreamEntry:
		f.Pos = d.uvarint()
		n := d.uvarint()
		if d.err == nil && (n == 0 || n > maxDocBytes || n > uint64(len(d.b))) {
			d.fail("upstream entry receipt of %d bytes (%d left)", n, len(d.b))
		}
		if d.err == nil {
			f.Receipt = append([]byte(nil), d.b[:n]...)
			d.b = d.b[n:]
		}
		f.Body = rest()
	case FrameUpstreamRevocation:
		f.Pos = d.uvarint()
		f.Sig = make([]byte, ed25519.SignatureSize)
		d.raw(f.Sig)
		f.Body = rest()
	case FrameCaseIntake:
		f.Body = rest()
		if d.err == nil && len(f.Body) > MaxIntakeBytes {
			return nil, errorf(ErrOversize, "intake of %d bytes, limit %d", len(f.Body), MaxIntakeBytes)
		}
		if d.err == nil && len(f.Body) == 0 {
			d.fail("empty intake")
		}
	case FrameCaseAccepted:
		d.raw(f.Case[:])
		f.Pos = d.uvarint()
	case FrameCaseRefused:
		d.raw(f.Case[:])
		f.Code = Code(d.str(64))
		f.Message = d.str(maxMessageBytes)
	default:
		d.fail("unknown frame type %d", f.Type)
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes in %s frame", len(d.b), f.Type)
	}
	if d.err != nil {
		return nil, d.err
	}
	return f, nil
}

// epoch reads an optional trailing epoch: nil when nothing follows, else
// exactly 16 bytes.
func (d *decoder) epoch() *Epoch {
	if d.err != nil || len(d.b) == 0 {
		return nil
	}
	var e Epoch
	d.raw(e[:])
	return &e
}

// clip makes a message valid UTF-8 of at most maxMessageBytes, cut at a
// character boundary: error texts can quote long values, and a frame the
// peer cannot decode would hide the code it carries.
func clip(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= maxMessageBytes {
		return s
	}
	n := maxMessageBytes
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
