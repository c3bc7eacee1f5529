package protocol_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/nacl/box"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/sync/protocol"
)

// Golden vectors of the supervision records: change set 3 of the golden
// device (after the two of golden_test.go), holding the metadata of an
// attached file, a public complaint (OpCase, with the municipal intake and
// the filer's contact sealed to the county and to a township device) and
// its assignment (OpCaseStep); and the intake (JNCI) on its own.

const (
	goldenSeq3   = "testdata/changeset-v1-seq3-cases.bin"
	goldenIntake = "testdata/intake-v1.bin"
	goldenCases  = "testdata/changeset-v1-cases.json"
)

// goldenTrackingCode is the tracking code of the golden complaint.
const goldenTrackingCode = "7K3M9Q2P0ABC"

// goldenContact is what the golden filer left to be called back.
var goldenContact = protocol.Contact{Name: "张三", Phone: "138-0013-8000"}

// goldenKey is one of the fixed keys of the case vectors: seed bytes
// first, first+1, … first+31.
type goldenKey struct {
	Role          string `json:"role"`
	SeedHex       string `json:"seed_hex"`
	PublicKeyHex  string `json:"public_key_hex"`
	IDHex         string `json:"id_hex"`
	BoxPublicHex  string `json:"box_public_key_hex"`  // X25519, BoxPublicKey
	BoxPrivateHex string `json:"box_private_key_hex"` // X25519, BoxPrivateKey
	priv          ed25519.PrivateKey
}

func newGoldenKey(role string, first byte) goldenKey {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = first + byte(i)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	bp, err := protocol.BoxPublicKey(pub)
	if err != nil {
		panic(err)
	}
	id := protocol.DeviceIDFromKey(pub)
	return goldenKey{Role: role, SeedHex: hex.EncodeToString(seed), PublicKeyHex: hex.EncodeToString(pub), IDHex: hex.EncodeToString(id[:]),
		BoxPublicHex: hex.EncodeToString(bp[:]), BoxPrivateHex: hex.EncodeToString(protocol.BoxPrivateKey(priv)[:]), priv: priv}
}

func (k goldenKey) pub() ed25519.PublicKey { return k.priv.Public().(ed25519.PublicKey) }
func (k goldenKey) id() protocol.DeviceID  { return protocol.DeviceIDFromKey(k.pub()) }

// The keys: the municipal node that signs the intake, the county key the
// contact is sealed to, and a device of the township the case is about.
func goldenCaseKeys() (node, county, town goldenKey) {
	return newGoldenKey("municipal node", 0x20), newGoldenKey("county", 0x40), newGoldenKey("township device 410324100", 0x60)
}

// detReader is a deterministic stream: SHA-512 of a label, repeated. It
// stands in for crypto/rand where the vectors need a fixed ephemeral key.
func detReader(label string) *bytes.Reader {
	sum := sha512.Sum512([]byte("jiannuo golden ephemeral: " + label))
	return bytes.NewReader(bytes.Repeat(sum[:], 4))
}

// sealGolden seals the golden contact to a key with a fixed ephemeral key,
// as SealContact does with a random one.
func sealGolden(tb testing.TB, to goldenKey, label string) []byte {
	tb.Helper()
	pub, err := protocol.BoxPublicKey(to.pub())
	if err != nil {
		tb.Fatal(err)
	}
	msg, _ := json.Marshal(goldenContact)
	sealed, err := box.SealAnonymous(nil, msg, pub, detReader(label))
	if err != nil {
		tb.Fatal(err)
	}
	return sealed
}

// goldenAttachment is the file filed with the golden complaint.
var goldenAttachment = []byte("\x89PNG\r\n\x1a\n golden attachment: 楼道灯照片")

// goldenIntakeDoc returns the golden intake and its signed bytes.
func goldenIntakeDoc(tb testing.TB) (*protocol.Intake, []byte) {
	tb.Helper()
	node, county, _ := goldenCaseKeys()
	const ms = int64(1772413200000) // 2026-03-02 09:00 CST, as in golden_test.go
	id := mustEntity("c0ffee00112233445566778899aabbcc")
	filed := ms + 18*86400_000 + 90*60_000 // 2026-03-20 10:30 CST
	in := &protocol.Intake{ID: id, Number: protocol.CaseNumber(domain.CaseComplaint, filed, id), Kind: domain.CaseComplaint,
		Office: "410324100", Commitment: mustEntity("0123456789abcdef0123456789abcdef"),
		Text: "楼道灯坏了三个月，多次反映无人修理。\n承诺“问题在5个工作日内转办”未兑现。",
		Attachments: []protocol.Attachment{{Hash: protocol.HashOf(goldenAttachment), Name: "楼道.png", MIME: domain.MIMEPNG,
			Size: int64(len(goldenAttachment))}},
		TrackHash: protocol.TrackHash(id, goldenTrackingCode), Contact: sealGolden(tb, county, "intake"), Filed: filed}
	return in, in.Sign(node.priv)
}

func goldenIntakeBytes(tb testing.TB) []byte { _, b := goldenIntakeDoc(tb); return b }

// goldenCaseSet builds change set 3 of the golden device.
func goldenCaseSet(tb testing.TB) *protocol.ChangeSet {
	tb.Helper()
	dev, _, s2 := goldenSets(tb)
	_, _, town := goldenCaseKeys()
	in, raw := goldenIntakeDoc(tb)
	filed := domain.ChinaDate(in.Filed)
	ackDue, err := domain.CaseDeadline(filed, domain.DefaultCaseAckDays, calendar.Default())
	if err != nil {
		tb.Fatal(err)
	}
	answerDue, err := domain.CaseDeadline(filed, domain.DefaultCaseAnswerDays, calendar.Default())
	if err != nil {
		tb.Fatal(err)
	}
	a := in.Attachments[0]
	// The county box is the intake's, verbatim; the township device's is
	// sealed anew.
	contact := []protocol.ContactBox{{Box: in.Contact}, {Device: town.id(), Box: sealGolden(tb, town, "township device")}}
	slices.SortFunc(contact, func(a, b protocol.ContactBox) int { return bytes.Compare(a.Device[:], b.Device[:]) })
	ops := []protocol.Op{
		{Kind: protocol.OpEvidence, Office: in.Office, Target: in.Commitment, Meta: &protocol.EvidenceMeta{Hash: a.Hash, Name: a.Name, MIME: a.MIME, Size: a.Size}},
		{Kind: protocol.OpCase, Office: in.Office, Target: in.Commitment, Case: &protocol.Case{ID: in.ID, Kind: in.Kind,
			Source: domain.CaseSourcePublic, Number: in.Number, Text: in.Text, Evidence: in.Evidence(), Filed: in.Filed, Intake: raw, Contact: contact}},
		{Kind: protocol.OpCaseStep, Office: in.Office, Target: in.Commitment, CaseStep: &protocol.CaseStep{Case: in.ID,
			Step: domain.CaseAssigned, AckDue: ackDue, AnswerDue: answerDue}},
	}
	wall := in.Filed + 5*60_000
	for i := range ops {
		ops[i].Num, ops[i].HLC = s2.LastOp()+uint64(i)+1, protocol.MakeHLC(wall, uint16(i))
	}
	cs := &protocol.ChangeSet{Device: dev.id, Office: "410324", Author: "县级平台", AuthorRole: domain.RoleCountyAdmin, Seq: 3, Prev: s2.Hash(), Ops: ops}
	if err := cs.Seal(dev.priv); err != nil {
		tb.Fatal(err)
	}
	return cs
}

// JSON description of the case vectors.

type goldenCaseDoc struct {
	Description  string          `json:"description"`
	Device       goldenDev       `json:"device"`
	Keys         []goldenKey     `json:"keys"`
	Contact      goldenContactJS `json:"contact_plaintext"`
	TrackingCode string          `json:"tracking_code"`
	ChangeSet    goldenCSDoc     `json:"change_set"`
	Intake       goldenIntakeJS  `json:"intake"`
}

type goldenContactJS struct {
	JSON  string `json:"json"`
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

type goldenCase struct {
	IDHex     string      `json:"id"`
	Kind      string      `json:"kind"`
	Source    string      `json:"source"`
	Number    string      `json:"number"`
	RecordHex string      `json:"record"`
	Text      string      `json:"text"`
	Evidence  []string    `json:"evidence_hex,omitempty"`
	Filed     int64       `json:"filed_ms"`
	IntakeHex string      `json:"intake_hex"`
	Contact   []goldenBox `json:"contact,omitempty"`
}

type goldenBox struct {
	DeviceHex string `json:"device_hex"` // zero: the county
	BoxHex    string `json:"box_hex"`
}

type goldenStep struct {
	CaseHex      string   `json:"case"`
	Step         string   `json:"step"`
	Text         string   `json:"text"`
	Evidence     []string `json:"evidence_hex,omitempty"`
	RefDeviceHex string   `json:"ref_device_hex"`
	RefNum       uint64   `json:"ref_num"`
	Finding      string   `json:"finding"`
	AckDue       string   `json:"ack_due"`
	AnswerDue    string   `json:"answer_due"`
	RecordHex    string   `json:"record"`
}

type goldenIntakeJS struct {
	File             string           `json:"file"`
	Size             int              `json:"size"`
	SignContext      string           `json:"sign_context"`
	SignedMessageHex string           `json:"signed_message_hex"`
	SignatureHex     string           `json:"signature_hex"`
	IDHex            string           `json:"id"`
	Number           string           `json:"number"`
	Kind             string           `json:"kind"`
	Office           string           `json:"office"`
	CommitmentHex    string           `json:"commitment"`
	RecordHex        string           `json:"record"`
	Text             string           `json:"text"`
	Attachments      []goldenAttachJS `json:"attachments"`
	TrackHashHex     string           `json:"track_hash_hex"`
	ContactHex       string           `json:"contact_hex"`
	Filed            int64            `json:"filed_ms"`
	NodeHex          string           `json:"node_hex"`
}

type goldenAttachJS struct {
	HashHex string `json:"hash_hex"`
	Name    string `json:"name"`
	MIME    string `json:"mime"`
	Size    int64  `json:"size"`
}

func describeCase(c *protocol.Case) *goldenCase {
	if c == nil {
		return nil
	}
	g := &goldenCase{IDHex: c.ID.String(), Kind: string(c.Kind), Source: string(c.Source), Number: c.Number, RecordHex: c.Record.String(),
		Text: c.Text, Filed: c.Filed, IntakeHex: hex.EncodeToString(c.Intake)}
	for _, h := range c.Evidence {
		g.Evidence = append(g.Evidence, h.String())
	}
	for _, b := range c.Contact {
		g.Contact = append(g.Contact, goldenBox{DeviceHex: hex.EncodeToString(b.Device[:]), BoxHex: hex.EncodeToString(b.Box)})
	}
	return g
}

func describeCaseStep(s *protocol.CaseStep) *goldenStep {
	if s == nil {
		return nil
	}
	g := &goldenStep{CaseHex: s.Case.String(), Step: string(s.Step), Text: s.Text, RefDeviceHex: hex.EncodeToString(s.Ref.Device[:]),
		RefNum: s.Ref.Num, Finding: string(s.Finding), AckDue: s.AckDue.String(), AnswerDue: s.AnswerDue.String(), RecordHex: s.Record.String()}
	for _, h := range s.Evidence {
		g.Evidence = append(g.Evidence, h.String())
	}
	return g
}

func describeIntake(in *protocol.Intake, raw []byte) goldenIntakeJS {
	body := raw[:len(raw)-ed25519.SignatureSize]
	sum := sha256.Sum256(body)
	g := goldenIntakeJS{File: filepath.Base(goldenIntake), Size: len(raw), SignContext: "jiannuo/intake/v1\x00",
		SignedMessageHex: hex.EncodeToString(append([]byte("jiannuo/intake/v1\x00"), sum[:]...)),
		SignatureHex:     hex.EncodeToString(raw[len(body):]), IDHex: in.ID.String(), Number: in.Number, Kind: string(in.Kind),
		Office: string(in.Office), CommitmentHex: in.Commitment.String(), RecordHex: in.Record.String(), Text: in.Text,
		TrackHashHex: in.TrackHash.String(), ContactHex: hex.EncodeToString(in.Contact), Filed: in.Filed, NodeHex: hex.EncodeToString(in.Node[:])}
	for _, a := range in.Attachments {
		g.Attachments = append(g.Attachments, goldenAttachJS{HashHex: a.Hash.String(), Name: a.Name, MIME: a.MIME, Size: a.Size})
	}
	return g
}

func goldenCaseFiles(tb testing.TB) map[string][]byte {
	tb.Helper()
	dev, _, _ := goldenSets(tb)
	node, county, town := goldenCaseKeys()
	cs := goldenCaseSet(tb)
	in, raw := goldenIntakeDoc(tb)
	msg, _ := json.Marshal(goldenContact)
	doc := goldenCaseDoc{
		Description: "Golden vectors of the supervision records (op kinds 10 and 11, intake JNCI): change set 3 of the golden device of " +
			"changeset-v1.json, chained to its change set 2, and the municipal intake it carries. See docs/changeset-format.md; regenerate with " +
			"`go test ./sync/protocol -run Golden -update` only when the format changes on purpose.",
		Device: goldenDev{SeedHex: hex.EncodeToString(goldenSeed()), PublicKeyHex: hex.EncodeToString(dev.pub),
			ID: dev.id.String(), IDHex: hex.EncodeToString(dev.id[:]), Office: dev.info.Office, Admin: dev.info.Admin},
		Keys:         []goldenKey{node, county, town},
		Contact:      goldenContactJS{JSON: string(msg), Name: goldenContact.Name, Phone: goldenContact.Phone},
		TrackingCode: goldenTrackingCode,
		ChangeSet:    describeSet(filepath.Base(goldenSeq3), cs),
		Intake:       describeIntake(in, raw),
	}
	files := map[string][]byte{
		goldenSeq3:   cs.Bytes(),
		goldenIntake: raw,
		goldenCases:  marshalGolden(tb, doc),
		"testdata/fuzz/FuzzDecode/golden-seq3-cases":    fuzzSeed(cs.Bytes()),
		"testdata/fuzz/FuzzDecodeIntake/golden-intake":  fuzzSeed(raw),
		"testdata/fuzz/FuzzDecodeIntake/golden-damaged": fuzzSeed(flipBit(raw, 40, 2)),
	}
	for _, op := range cs.Ops {
		files[fmt.Sprintf("testdata/fuzz/FuzzDecodeOp/golden-op%d-%s", op.Num, op.Kind)] = fuzzSeed(protocol.AppendOp(nil, &op))
	}
	return files
}

// TestGoldenCaseVectors re-creates the case vectors and compares them byte
// for byte with testdata/ (rewrites them with -update).
func TestGoldenCaseVectors(t *testing.T) { checkGoldenFiles(t, goldenCaseFiles(t)) }

// TestGoldenCaseVectorsVerify reads the files on disk as a verifier in
// another language would: the intake's signature and fields, the sealed
// contacts opened with the X25519 keys of the description, the change set
// read by the spec decoder and verified after change sets 1 and 2.
func TestGoldenCaseVectorsVerify(t *testing.T) {
	var doc goldenCaseDoc
	readJSON(t, goldenCases, &doc)
	keys := map[string]goldenKey{}
	for _, k := range doc.Keys {
		seed := mustHex(t, k.SeedHex)
		priv := ed25519.NewKeyFromSeed(seed)
		if hex.EncodeToString(priv.Public().(ed25519.PublicKey)) != k.PublicKeyHex {
			t.Fatalf("%s: public key does not belong to the seed", k.Role)
		}
		// The X25519 keys, computed from the description alone: the
		// private key is the clamped first half of SHA-512(seed), the
		// public key its X25519 multiple of the base point.
		h := sha512.Sum512(seed)
		h[0] &= 248
		h[31] &= 127
		h[31] |= 64
		pub, _ := curve25519.X25519(h[:32], curve25519.Basepoint)
		if hex.EncodeToString(h[:32]) != k.BoxPrivateHex || hex.EncodeToString(pub) != k.BoxPublicHex {
			t.Fatalf("%s: X25519 keys differ from the description", k.Role)
		}
		k.priv = priv
		keys[k.Role] = k
	}
	node, county, town := keys["municipal node"], keys["county"], keys["township device 410324100"]
	openBox := func(k goldenKey, sealed []byte) string {
		t.Helper()
		var pub, priv [32]byte
		copy(pub[:], mustHex(t, k.BoxPublicHex))
		copy(priv[:], mustHex(t, k.BoxPrivateHex))
		msg, ok := box.OpenAnonymous(nil, sealed, &pub, &priv)
		if !ok {
			t.Fatalf("box for %s does not open", k.Role)
		}
		return string(msg)
	}

	// The intake.
	raw, err := os.ReadFile(filepath.Join("testdata", doc.Intake.File))
	if err != nil {
		t.Fatal(err)
	}
	body, sig := raw[:len(raw)-64], raw[len(raw)-64:]
	sum := sha256.Sum256(body)
	msg := append([]byte(doc.Intake.SignContext), sum[:]...)
	if len(raw) != doc.Intake.Size || hex.EncodeToString(msg) != doc.Intake.SignedMessageHex || hex.EncodeToString(sig) != doc.Intake.SignatureHex {
		t.Fatal("intake: size, signed message or signature differ from the description")
	}
	if !ed25519.Verify(node.pub(), msg, sig) {
		t.Fatal("intake: signature does not verify with the node key")
	}
	if got := specDecodeIntake(t, body); !reflect.DeepEqual(got, doc.Intake) {
		t.Fatalf("intake read by the spec decoder:\n got %+v\nwant %+v", got, doc.Intake)
	}
	if doc.Intake.NodeHex != node.IDHex {
		t.Fatal("intake does not name the node that signed it")
	}
	if got := openBox(county, mustHex(t, doc.Intake.ContactHex)); got != doc.Contact.JSON {
		t.Fatalf("intake contact opens to %q", got)
	}
	id := mustEntity(doc.Intake.IDHex)
	track := sha256.Sum256(append(append([]byte("jiannuo/track/v1\x00"), id[:]...), doc.TrackingCode...))
	if hex.EncodeToString(track[:]) != doc.Intake.TrackHashHex {
		t.Fatal("track hash is not SHA-256 of context, id and code")
	}
	if _, err := protocol.OpenIntake(raw, node.pub()); err != nil {
		t.Fatalf("OpenIntake: %v", err)
	}

	// The change set.
	d := doc.ChangeSet
	raw, err = os.ReadFile(filepath.Join("testdata", d.File))
	if err != nil {
		t.Fatal(err)
	}
	body, sig = raw[:len(raw)-64], raw[len(raw)-64:]
	h := sha256.Sum256(body)
	msg = append([]byte(signContext), h[:]...)
	devPub := ed25519.NewKeyFromSeed(mustHex(t, doc.Device.SeedHex)).Public().(ed25519.PublicKey)
	if len(raw) != d.Size || hex.EncodeToString(h[:]) != d.HashHex || hex.EncodeToString(msg) != d.SignedMessageHex ||
		hex.EncodeToString(sig) != d.SignatureHex || !ed25519.Verify(devPub, msg, sig) {
		t.Fatal("change set 3: size, hash, signed message or signature wrong")
	}
	got := specDecode(t, body)
	if got.seq != 3 || !reflect.DeepEqual(got.ops, specOpsOf(d.Ops)) {
		t.Fatalf("change set 3 read by the spec decoder differs from the description:\n got %+v\nwant %+v", got.ops, specOpsOf(d.Ops))
	}
	c := d.Ops[1].Case
	if c == nil || c.IntakeHex != hex.EncodeToString(mustHexFile(t, doc.Intake.File)) {
		t.Fatal("the case does not carry the intake verbatim")
	}
	for _, b := range c.Contact {
		k := county
		if b.DeviceHex == town.IDHex {
			k = town
		} else if b.DeviceHex != hex.EncodeToString(make([]byte, 16)) {
			t.Fatalf("box for unknown device %s", b.DeviceHex)
		}
		if got := openBox(k, mustHex(t, b.BoxHex)); got != doc.Contact.JSON {
			t.Fatalf("box for %s opens to %q", k.Role, got)
		}
	}
	if s := d.Ops[2].Step; s == nil || s.AckDue != "2026-03-25" || s.AnswerDue != "2026-04-13" {
		t.Fatalf("assignment: %+v (3 and 15 working days after 2026-03-20, Qingming 04-04…04-06 off)", s)
	}
	// The full Verify, after change sets 1 and 2.
	id0 := protocol.DeviceIDFromKey(devPub)
	reg := memRegistry{id0: {ID: id0, Key: devPub, Office: doc.Device.Office, Admin: true}}
	chains := memChains{}
	for _, f := range []string{goldenSeq1, goldenSeq2} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := protocol.Verify(b, reg, chains, id0)
		if err != nil {
			t.Fatal(err)
		}
		chains.accept(t, cs)
	}
	if _, err := protocol.Verify(raw, reg, chains, id0); err != nil {
		t.Fatalf("Verify change set 3: %v", err)
	}
	// And both new kinds are there.
	kinds := map[string]bool{}
	for _, op := range d.Ops {
		kinds[op.Kind] = true
	}
	if !kinds[protocol.OpCase.String()] || !kinds[protocol.OpCaseStep.String()] {
		t.Fatalf("case vectors lack a kind: %v", kinds)
	}
}

func mustHexFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// specDecodeIntake reads an intake without its signature, magic and
// version included, following docs/protocol.md only.
func specDecodeIntake(t *testing.T, b []byte) goldenIntakeJS {
	t.Helper()
	r := &specReader{t: t, name: "spec intake decoder", b: b}
	fail, take, uv, str := r.fail, r.take, r.uv, r.str
	if string(take(4)) != "JNCI" || take(1)[0] != 1 {
		fail("magic or version")
	}
	g := goldenIntakeJS{File: filepath.Base(goldenIntake), SignContext: "jiannuo/intake/v1\x00"}
	g.IDHex = hex.EncodeToString(take(16))
	g.Number, g.Kind, g.Office = str(), str(), str()
	g.CommitmentHex, g.RecordHex = hex.EncodeToString(take(16)), hex.EncodeToString(take(16))
	g.Text = str()
	for range uv() {
		g.Attachments = append(g.Attachments, goldenAttachJS{HashHex: hex.EncodeToString(take(32)), Name: str(), MIME: str(), Size: int64(uv())})
	}
	g.TrackHashHex = hex.EncodeToString(take(32))
	g.ContactHex = hex.EncodeToString(take(int(uv())))
	g.Filed = int64(binary.BigEndian.Uint64(take(8)))
	g.NodeHex = hex.EncodeToString(take(16))
	if len(r.b) != 0 {
		fail("trailing bytes")
	}
	// What the decoder cannot know from the body alone comes from the file.
	raw := mustHexFile(t, g.File)
	sum := sha256.Sum256(raw[:len(raw)-64])
	g.Size = len(raw)
	g.SignedMessageHex = hex.EncodeToString(append([]byte(g.SignContext), sum[:]...))
	g.SignatureHex = hex.EncodeToString(raw[len(raw)-64:])
	return g
}
