package protocol

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"slices"
	"strings"

	"golang.org/x/crypto/nacl/box"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
)

// Intake is what a municipal node signs when the public files a case on its
// page (document JNCI): the county that owns the record verifies it and
// opens the case (OpCase, which carries the document verbatim), so every
// replica can check that the case is what the public filed. The layout is
// that of every signed document (docs/protocol.md), signed by the node's
// key with the context "jiannuo/intake/v1\x00".
type Intake struct {
	ID          EntityID // the case
	Number      string   // CaseNumber(Kind, Filed, ID)
	Kind        domain.CaseKind
	Office      office.Code // the office whose record it concerns
	Commitment  EntityID
	Record      EntityID // the dishonesty record an objection concerns; zero for a complaint
	Text        string
	Attachments []Attachment // sorted by hash, distinct
	// TrackHash is TrackHash(ID, tracking code): any municipal node can
	// check a tracking code, none can recover it.
	TrackHash Hash
	// Contact is the filer's name and phone sealed to the county
	// (SealContact with the county's key); empty when both were left blank.
	Contact []byte
	Filed   int64    // Unix milliseconds
	Node    DeviceID // the municipal node that signed it (DeviceIDFromKey of its key)
}

// Attachment is a file filed with a case: its content travels separately,
// addressed by its hash, like any evidence file.
type Attachment struct {
	Hash Hash
	Name string // as the filer named it
	MIME string // from the content (domain.SniffAttachment), one of domain.AttachmentTypes
	Size int64  // 1 … domain.MaxAttachmentBytes
}

const maxAttachmentMIMEBytes = 64

func (*Intake) magic() string   { return "JNCI" }
func (*Intake) context() string { return "jiannuo/intake/v1\x00" }
func (in *Intake) appendBody(e *encoder) {
	e.raw(in.ID[:])
	e.str(in.Number)
	e.str(string(in.Kind))
	e.str(string(in.Office))
	e.raw(in.Commitment[:])
	e.raw(in.Record[:])
	e.str(in.Text)
	e.uvarint(uint64(len(in.Attachments)))
	for _, a := range in.Attachments {
		e.raw(a.Hash[:])
		e.str(a.Name)
		e.str(a.MIME)
		e.uvarint(uint64(a.Size))
	}
	e.raw(in.TrackHash[:])
	e.uvarint(uint64(len(in.Contact)))
	e.raw(in.Contact)
	e.u64(uint64(in.Filed))
	e.raw(in.Node[:])
}
func (in *Intake) decodeBody(d *decoder) {
	d.raw(in.ID[:])
	in.Number = d.str(MaxCaseNumberBytes)
	in.Kind = domain.CaseKind(d.str(16))
	in.Office = office.Code(d.str(16))
	d.raw(in.Commitment[:])
	d.raw(in.Record[:])
	in.Text = d.str(domain.MaxCaseTextBytes)
	if n := d.count(domain.MaxCaseAttachments, 32+1+1+1); n > 0 {
		in.Attachments = make([]Attachment, n)
		for i := range in.Attachments {
			a := &in.Attachments[i]
			d.raw(a.Hash[:])
			a.Name = d.str(MaxNameBytes)
			a.MIME = d.str(maxAttachmentMIMEBytes)
			size := d.uvarint()
			if size > domain.MaxAttachmentBytes {
				d.fail("attachment of %d bytes", size)
			}
			a.Size = int64(size)
			if i > 0 && d.err == nil && compareHash(in.Attachments[i-1].Hash, a.Hash) >= 0 {
				d.fail("attachments not sorted by hash and distinct")
			}
		}
	}
	d.raw(in.TrackHash[:])
	if n := d.count(MaxContactBoxBytes, 1); n > 0 {
		in.Contact = make([]byte, n)
		d.raw(in.Contact)
	}
	in.Filed = int64(d.u64())
	d.raw(in.Node[:])
}

// Sign fills Node with the ID of the node's key and returns the intake
// signed with it.
func (in *Intake) Sign(node ed25519.PrivateKey) []byte {
	in.Node = DeviceIDFromKey(node.Public().(ed25519.PublicKey))
	return signDoc(in, node)
}

// DecodeIntake decodes an intake and checks its rules, but not its
// signature: for a township device, which trusts the county's signature on
// the case that carries it. Errors wrap ErrOversize, ErrMalformed,
// ErrUnknownVersion, ErrInvalidOperation or ErrAttachmentType.
func DecodeIntake(b []byte) (*Intake, error) {
	in := &Intake{}
	if _, _, err := openDoc(in, b, MaxIntakeBytes); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	return in, nil
}

// OpenIntake decodes an intake, checks that it is signed by nodeKey and
// names that key's node, then checks its rules (DecodeIntake). The county
// and municipal nodes, which know the node keys, open every intake this
// way.
func OpenIntake(b []byte, nodeKey ed25519.PublicKey) (*Intake, error) {
	in := &Intake{}
	digest, sig, err := openDoc(in, b, MaxIntakeBytes)
	if err != nil {
		return nil, err
	}
	if err := verifyDoc(in, digest, sig, nodeKey); err != nil {
		return nil, err
	}
	if DeviceIDFromKey(nodeKey) != in.Node {
		return nil, errorf(ErrBadSignature, "intake names node %s, signed by %s", in.Node.Short(), DeviceIDFromKey(nodeKey).Short())
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	return in, nil
}

// check applies the rules that need nothing but the intake itself.
func (in *Intake) check() error {
	if in.ID.IsZero() || in.Commitment.IsZero() || in.TrackHash.IsZero() || in.Node.IsZero() || in.Filed <= 0 {
		return errorf(ErrInvalidOperation, "intake needs an ID, a commitment, a tracking hash, a node and a filing time")
	}
	if !in.Kind.Valid() || !in.Office.Valid() {
		return errorf(ErrInvalidOperation, "intake of kind %q for office %q", in.Kind, in.Office)
	}
	if in.Record.IsZero() != (in.Kind == domain.CaseComplaint) {
		return errorf(ErrInvalidOperation, "an objection names its dishonesty record, a complaint none")
	}
	if want := CaseNumber(in.Kind, in.Filed, in.ID); in.Number != want {
		return errorf(ErrInvalidOperation, "intake number %q, its ID and time give %q", in.Number, want)
	}
	if err := domain.CheckCaseText("case text", in.Text, true); err != nil {
		return errorf(ErrInvalidOperation, "intake: %v", err)
	}
	for _, a := range in.Attachments {
		if !domain.AttachmentTypeAllowed(a.MIME) {
			return errorf(ErrAttachmentType, "attachment of type %q", a.MIME)
		}
		if a.Hash.IsZero() || a.Size <= 0 || !domain.NonBlank(a.Name) || domain.CheckText("name", a.Name, MaxNameBytes) != nil {
			return errorf(ErrInvalidOperation, "attachment needs a hash, a size and a name")
		}
	}
	if len(in.Contact) > 0 && len(in.Contact) <= box.AnonymousOverhead {
		return errorf(ErrInvalidOperation, "sealed contact of %d bytes", len(in.Contact))
	}
	return nil
}

// Evidence returns the hashes of the attachments, sorted: what the OpCase
// that opens the case cites.
func (in *Intake) Evidence() []Hash {
	var out []Hash
	for _, a := range in.Attachments {
		out = append(out, a.Hash)
	}
	return out
}

// CheckCaseIntake checks that an OpCase is the case its intake describes:
// same ID, kind, office, commitment, record, text, files, number and filing
// time, and a public source. Errors wrap ErrInvalidOperation.
func CheckCaseIntake(op *Op, in *Intake) error {
	c := op.Case
	if c == nil || op.Kind != OpCase || c.Source != domain.CaseSourcePublic {
		return errorf(ErrInvalidOperation, "op %d: not a public case", op.Num)
	}
	if c.ID != in.ID || c.Kind != in.Kind || op.Office != in.Office || op.Target != in.Commitment || c.Record != in.Record ||
		c.Text != in.Text || c.Number != in.Number || c.Filed != in.Filed || !slices.Equal(c.Evidence, in.Evidence()) {
		return errorf(ErrInvalidOperation, "op %d: case %s differs from its intake", op.Num, c.ID)
	}
	return nil
}

// crockford is Crockford's base32 alphabet: no I, L, O or U, so a code read
// aloud or typed from paper is hard to get wrong.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// crockfordOf writes the n*5 low bits of v as n characters, most
// significant first.
func crockfordOf(v uint64, n int) string {
	b := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		b[i] = crockford[v&31]
		v >>= 5
	}
	return string(b)
}

// CaseNumber returns the number of a case as the public sees it: TS
// (投诉, a complaint) or YY (异议, an objection), the filing date in China
// (YYYYMMDD), a dash, and 8 Crockford base32 characters from the ID, e.g.
// TS20261207-7K3M9Q2P. It is "" for an unknown kind.
func CaseNumber(kind domain.CaseKind, filed int64, id EntityID) string {
	var prefix string
	switch kind {
	case domain.CaseComplaint:
		prefix = "TS"
	case domain.CaseObjection:
		prefix = "YY"
	default:
		return ""
	}
	date := strings.ReplaceAll(domain.ChinaDate(filed).String(), "-", "")
	v := uint64(id[0])<<32 | uint64(binary.BigEndian.Uint32(id[1:5]))
	return prefix + date + "-" + crockfordOf(v, 8)
}

// CaseNumberIDPrefix returns the first five bytes of the ID a case number
// was made from (CaseNumber writes them as its last 8 characters), so a
// replica can find the case by number without reading every case. ok is
// false for a string that does not end in a dash and 8 Crockford
// characters.
func CaseNumberIDPrefix(number string) (prefix [5]byte, ok bool) {
	if len(number) < 9 || number[len(number)-9] != '-' {
		return prefix, false
	}
	var v uint64
	for _, c := range []byte(number[len(number)-8:]) {
		i := strings.IndexByte(crockford, c)
		if i < 0 {
			return prefix, false
		}
		v = v<<5 | uint64(i)
	}
	prefix[0] = byte(v >> 32)
	binary.BigEndian.PutUint32(prefix[1:], uint32(v))
	return prefix, true
}

// TrackingCodeLen is the length of a tracking code: 12 characters, 60 bits.
const TrackingCodeLen = 12

// NewTrackingCode returns a fresh tracking code: 60 random bits as 12
// Crockford base32 characters. It is shown to the filer once and never
// stored; only TrackHash is.
func NewTrackingCode() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("protocol: no randomness: " + err.Error()) // crypto/rand never fails on supported systems
	}
	return crockfordOf(binary.BigEndian.Uint64(b[:])>>4, TrackingCodeLen)
}

// NormalizeTrackingCode returns the canonical form of a tracking code as a
// person typed it: case, spaces and dashes ignored, O read as 0 and I or L
// as 1. ok is false unless that gives exactly 12 characters of the
// alphabet.
func NormalizeTrackingCode(s string) (code string, ok bool) {
	b := make([]byte, 0, TrackingCodeLen)
	for _, r := range strings.ToUpper(s) {
		switch r {
		case ' ', '-':
			continue
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if r > 0x7f || strings.IndexByte(crockford, byte(r)) < 0 || len(b) == TrackingCodeLen {
			return "", false
		}
		b = append(b, byte(r))
	}
	return string(b), len(b) == TrackingCodeLen
}

// FormatTrackingCode shows a code in three groups of four, XXXX-XXXX-XXXX.
func FormatTrackingCode(code string) string {
	if len(code) != TrackingCodeLen {
		return code
	}
	return code[:4] + "-" + code[4:8] + "-" + code[8:]
}

// trackContext separates tracking hashes from every other hash.
const trackContext = "jiannuo/track/v1\x00"

// TrackHash returns SHA-256("jiannuo/track/v1\x00" || id || code) of a
// canonical tracking code (NormalizeTrackingCode).
func TrackHash(id EntityID, code string) Hash {
	h := sha256.New()
	h.Write([]byte(trackContext))
	h.Write(id[:])
	h.Write([]byte(code))
	var out Hash
	h.Sum(out[:0])
	return out
}

// CheckTrackingCode reports whether a tracking code as a person typed it
// belongs to the case with the given ID and tracking hash, comparing in
// constant time so the time taken says nothing about how close a guess was.
func CheckTrackingCode(id EntityID, typed string, want Hash) bool {
	code, ok := NormalizeTrackingCode(typed)
	if !ok {
		return false
	}
	got := TrackHash(id, code)
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// PublicCaseOps returns the operations that open the case an intake
// describes, as the county server signs them in one change set: the
// metadata of each attachment (OpEvidence), the case itself (OpCase, with
// raw, the intake's signed bytes, and the filer's contact sealed for the
// handling office, SealContacts), and its assignment with the deadlines
// (OpCaseStep assigned; ackDue zero for an objection). Num and HLC are left
// for the signer.
func PublicCaseOps(in *Intake, raw []byte, contact []ContactBox, ackDue, answerDue calendar.Date) []Op {
	var ops []Op
	for _, a := range in.Attachments {
		ops = append(ops, Op{Kind: OpEvidence, Office: in.Office, Target: in.Commitment,
			Meta: &EvidenceMeta{Hash: a.Hash, Name: a.Name, MIME: a.MIME, Size: a.Size}})
	}
	return append(ops,
		Op{Kind: OpCase, Office: in.Office, Target: in.Commitment, Case: &Case{ID: in.ID, Kind: in.Kind,
			Source: domain.CaseSourcePublic, Number: in.Number, Record: in.Record, Text: in.Text, Evidence: in.Evidence(),
			Filed: in.Filed, Intake: raw, Contact: contact}},
		Op{Kind: OpCaseStep, Office: in.Office, Target: in.Commitment, CaseStep: &CaseStep{Case: in.ID,
			Step: domain.CaseAssigned, AckDue: ackDue, AnswerDue: answerDue}})
}
