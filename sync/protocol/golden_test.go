package protocol_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"unicode/utf8"

	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

var update = flag.Bool("update", false, "rewrite the golden vectors and fuzz seeds in testdata/")

const (
	goldenSeq1 = "testdata/changeset-v1-seq1.bin"
	goldenSeq2 = "testdata/changeset-v1-seq2.bin"
	goldenJSON = "testdata/changeset-v1.json"
)

// goldenSeed is the golden device's ed25519 seed: the bytes 0x00..0x1f.
func goldenSeed() []byte {
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = byte(i)
	}
	return s
}

// goldenDevice is the county-admin device of 栾川县 that signs the golden
// vectors: only a county-admin device may make every kind of operation.
func goldenDevice() *device {
	priv := ed25519.NewKeyFromSeed(goldenSeed())
	pub := priv.Public().(ed25519.PublicKey)
	id := protocol.DeviceIDFromKey(pub)
	return &device{name: "golden", priv: priv, pub: pub, id: id,
		info: protocol.DeviceInfo{ID: id, Key: pub, Office: "410324", Admin: true}}
}

func mustEntity(s string) protocol.EntityID {
	id, err := protocol.ParseEntityID(s)
	if err != nil {
		panic(err)
	}
	return id
}

// goldenSets builds the two chained golden change sets. Everything in them
// is fixed: keys, clock stamps, IDs, texts. Changing anything here changes
// the vectors; that is what -update is for.
func goldenSets(tb testing.TB) (*device, *protocol.ChangeSet, *protocol.ChangeSet) {
	tb.Helper()
	dev := goldenDevice()
	sealGolden := func(seq uint64, prev protocol.Hash, ops []protocol.Op) *protocol.ChangeSet {
		cs := &protocol.ChangeSet{Device: dev.id, Office: "410324", Author: "赵静", AuthorRole: domain.RoleCountyAdmin, Seq: seq, Prev: prev, Ops: ops}
		if err := cs.Seal(dev.priv); err != nil {
			tb.Fatalf("sealing golden seq %d: %v", seq, err)
		}
		return cs
	}
	target := mustEntity("0123456789abcdef0123456789abcdef")
	target2 := mustEntity("fedcba98765432100123456789abcdef")
	own := func(n uint64) protocol.OpID { return protocol.OpID{Device: dev.id, Num: n} }
	// Two township devices whose concurrent title edits the county resolves.
	townA := protocol.DeviceID{0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1}
	townB := protocol.DeviceID{0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b}
	const ms = int64(1772413200000) // 2026-03-02 09:00 CST
	evidence := protocol.EvidenceMeta{Hash: protocol.HashOf([]byte("golden evidence file")), Name: "走访照片.jpg", MIME: "image/jpeg", Size: 2345678}

	base := func(ids ...protocol.OpID) []protocol.OpID { return protocol.SortBase(ids) }
	ops1 := []protocol.Op{
		{Kind: protocol.OpCreate, Office: "410324100", Target: target, Writes: []protocol.FieldWrite{
			{Field: domain.FieldCategory, Value: "elderly_care"},
			{Field: domain.FieldTitle, Value: "每月上门走访辖区80岁以上独居老人"},
			{Field: domain.FieldText, Value: "社区网格员每月至少上门走访一次，登记健康与生活需求，\n问题在5个工作日内转办。"},
			{Field: domain.FieldLegalBasis, Value: "《洛阳市加强政务诚信建设实施方案》五(七)"},
			{Field: domain.FieldResponsible, Value: "王建国"},
			{Field: domain.FieldStartDate, Value: "2026-03-02"},
			{Field: domain.FieldDeadline, Value: "workdays:7"},
			{Field: domain.FieldPublic, Value: "true"},
			{Field: domain.FieldStatus, Value: "draft"},
		}},
		{Kind: protocol.OpEdit, Office: "410324100", Target: target, Writes: []protocol.FieldWrite{
			{Field: domain.FieldTitle, Value: "每月上门走访辖区独居老人", Base: base(own(1))}}},
		{Kind: protocol.OpTransition, Office: "410324100", Target: target, From: domain.StatusDraft, Writes: []protocol.FieldWrite{
			{Field: domain.FieldStatus, Value: "published", Base: base(own(1))}}},
		{Kind: protocol.OpAmend, Office: "410324100", Target: target, Reason: "经镇党委会研究，走访频次提高", Writes: []protocol.FieldWrite{
			{Field: domain.FieldText, Value: "社区网格员每两周至少上门走访一次。", Base: base(own(1))},
			{Field: domain.FieldDeadline, Value: "date:2026-12-31", Base: base(own(1))}}},
	}
	stamps1 := []protocol.HLC{protocol.MakeHLC(ms, 0), protocol.MakeHLC(ms, 1), protocol.MakeHLC(ms+60_000, 0), protocol.MakeHLC(ms+86400_000, 7)}
	for i := range ops1 {
		ops1[i].Num, ops1[i].HLC = uint64(i+1), stamps1[i]
	}
	s1 := sealGolden(1, protocol.Hash{}, ops1)

	ops2 := []protocol.Op{
		{Kind: protocol.OpTransition, Office: "410324100", Target: target, From: domain.StatusPublished, Writes: []protocol.FieldWrite{
			{Field: domain.FieldStatus, Value: "in_progress", Base: base(own(3))}}},
		{Kind: protocol.OpEvidence, Office: "410324100", Target: target, Meta: &evidence},
		{Kind: protocol.OpFulfil, Office: "410324100", Target: target, Entry: &protocol.Entry{
			Date: date(tb, "2026-03-20"), Progress: 100, Note: "已完成首轮走访，共走访独居老人46户。", Evidence: []protocol.Hash{evidence.Hash}}},
		{Kind: protocol.OpResolve, Office: "410324100", Target: target, Reason: "两次修改合并，以县信用办核定为准", Writes: []protocol.FieldWrite{
			{Field: domain.FieldTitle, Value: "每月上门走访辖区80岁以上老人", Base: base(protocol.OpID{Device: townB, Num: 12}, protocol.OpID{Device: townA, Num: 300}, own(2))}}},
		{Kind: protocol.OpTransition, Office: "410324100", Target: target2, From: domain.StatusPublished, Reason: "逾期未办结，经核实属未践诺", Writes: []protocol.FieldWrite{
			{Field: domain.FieldStatus, Value: "breached", Base: base(protocol.OpID{Device: townA, Num: 301})}}},
	}
	stamps2 := []protocol.HLC{protocol.MakeHLC(ms+2*86400_000, 0), protocol.MakeHLC(ms+18*86400_000, 0), protocol.MakeHLC(ms+18*86400_000, 1),
		protocol.MakeHLC(ms+19*86400_000, 0), protocol.MakeHLC(ms+19*86400_000, 65535)}
	for i := range ops2 {
		ops2[i].Num, ops2[i].HLC = uint64(len(ops1)+i+1), stamps2[i]
	}
	s2 := sealGolden(2, s1.Hash(), ops2)
	return dev, s1, s2
}

// The JSON description of the vectors, for people and for verifiers in
// other languages.
type goldenDoc struct {
	Description   string        `json:"description"`
	FormatVersion int           `json:"format_version"`
	Magic         string        `json:"magic"`
	SignContext   string        `json:"sign_context"`
	SignCtxHex    string        `json:"sign_context_hex"`
	Device        goldenDev     `json:"device"`
	ChangeSets    []goldenCSDoc `json:"change_sets"`
}

type goldenDev struct {
	SeedHex      string      `json:"seed_hex"`
	PublicKeyHex string      `json:"public_key_hex"`
	ID           string      `json:"id"`
	IDHex        string      `json:"id_hex"`
	Office       office.Code `json:"office"`
	Admin        bool        `json:"admin"`
}

type goldenCSDoc struct {
	File             string      `json:"file"`
	Size             int         `json:"size"`
	BodySize         int         `json:"body_size"`
	Seq              uint64      `json:"seq"`
	PrevHex          string      `json:"prev_hex"`
	Office           office.Code `json:"office"`
	Author           string      `json:"author"`
	AuthorRole       domain.Role `json:"author_role"`
	HashHex          string      `json:"hash_hex"`
	SignedMessageHex string      `json:"signed_message_hex"`
	SignatureHex     string      `json:"signature_hex"`
	FirstOp          uint64      `json:"first_op"`
	LastOp           uint64      `json:"last_op"`
	Ops              []goldenOp  `json:"ops"`
}

type goldenOp struct {
	Num     uint64         `json:"num"`
	HLC     uint64         `json:"hlc"`
	HLCHex  string         `json:"hlc_hex"`
	Wall    string         `json:"hlc_wall_utc"`
	Logical uint16         `json:"hlc_logical"`
	Kind    string         `json:"kind"`
	KindNum uint8          `json:"kind_byte"`
	Office  office.Code    `json:"office"`
	Target  string         `json:"target"`
	Writes  []goldenWrite  `json:"writes,omitempty"`
	From    string         `json:"from,omitempty"`
	Reason  string         `json:"reason,omitempty"`
	Entry   *goldenEntry   `json:"entry,omitempty"`
	Meta    *goldenMeta    `json:"evidence_meta,omitempty"`
	Case    *goldenCase    `json:"case,omitempty"`      // kind 10
	Step    *goldenStep    `json:"case_step,omitempty"` // kind 11
	Account *goldenAccount `json:"account,omitempty"`   // kind 12
	// Dishonesty is the body of kinds 8 and 9.
	Dishonesty *goldenDishonestyJS `json:"dishonesty,omitempty"`
	// The bodies of kinds 13, 14 and 15.
	Urge     *goldenUrge     `json:"urge,omitempty"`
	UrgeRead *goldenUrgeRead `json:"urge_read,omitempty"`
	Report   *goldenReport   `json:"annual_report,omitempty"`
}

type goldenWrite struct {
	Field string       `json:"field"`
	Value string       `json:"value"`
	Base  []goldenOpID `json:"base,omitempty"`
}

type goldenOpID struct {
	Device    string `json:"device"`
	DeviceHex string `json:"device_hex"`
	Num       uint64 `json:"num"`
}

type goldenEntry struct {
	Date     string   `json:"date"`
	Progress uint8    `json:"progress"`
	Note     string   `json:"note"`
	Evidence []string `json:"evidence_hex"`
}

type goldenMeta struct {
	HashHex string `json:"hash_hex"`
	Name    string `json:"name"`
	MIME    string `json:"mime"`
	Size    int64  `json:"size"`
}

func describeGolden(dev *device, sets ...*protocol.ChangeSet) goldenDoc {
	doc := goldenDoc{
		Description: "Golden vectors of the Jiannuo change-set format v1: two chained change sets of one county-admin device " +
			"holding every operation kind. See docs/changeset-format.md; regenerate with " +
			"`go test ./sync/protocol -run Golden -update` only when the format changes on purpose.",
		FormatVersion: protocol.FormatVersion,
		Magic:         "JNCS",
		SignContext:   signContext,
		SignCtxHex:    hex.EncodeToString([]byte(signContext)),
		Device: goldenDev{
			SeedHex: hex.EncodeToString(goldenSeed()), PublicKeyHex: hex.EncodeToString(dev.pub),
			ID: dev.id.String(), IDHex: hex.EncodeToString(dev.id[:]), Office: dev.info.Office, Admin: dev.info.Admin,
		},
	}
	for i, cs := range sets {
		doc.ChangeSets = append(doc.ChangeSets, describeSet(filepath.Base([]string{goldenSeq1, goldenSeq2}[i]), cs))
	}
	return doc
}

// describeSet describes one change set, stored in file, field by field.
func describeSet(file string, cs *protocol.ChangeSet) goldenCSDoc {
	h := cs.Hash()
	d := goldenCSDoc{
		File: file, Size: len(cs.Bytes()), BodySize: len(cs.Bytes()) - ed25519.SignatureSize,
		Seq: cs.Seq, PrevHex: cs.Prev.String(), Office: cs.Office, Author: cs.Author, AuthorRole: cs.AuthorRole,
		HashHex: h.String(), SignedMessageHex: hex.EncodeToString(append([]byte(signContext), h[:]...)),
		SignatureHex: hex.EncodeToString(cs.Sig[:]), FirstOp: cs.FirstOp(), LastOp: cs.LastOp(),
	}
	for _, op := range cs.Ops {
		g := goldenOp{Num: op.Num, HLC: uint64(op.HLC), HLCHex: fmt.Sprintf("%016x", uint64(op.HLC)),
			Wall: op.HLC.Wall().UTC().Format("2006-01-02T15:04:05.000Z"), Logical: op.HLC.Logical(),
			Kind: op.Kind.String(), KindNum: uint8(op.Kind), Office: op.Office, Target: op.Target.String(),
			From: string(op.From), Reason: op.Reason}
		for _, w := range op.Writes {
			gw := goldenWrite{Field: string(w.Field), Value: w.Value}
			for _, b := range w.Base {
				gw.Base = append(gw.Base, goldenOpID{Device: b.Device.String(), DeviceHex: hex.EncodeToString(b.Device[:]), Num: b.Num})
			}
			g.Writes = append(g.Writes, gw)
		}
		if e := op.Entry; e != nil {
			g.Entry = &goldenEntry{Date: e.Date.String(), Progress: e.Progress, Note: e.Note}
			for _, h := range e.Evidence {
				g.Entry.Evidence = append(g.Entry.Evidence, h.String())
			}
		}
		if m := op.Meta; m != nil {
			g.Meta = &goldenMeta{HashHex: m.Hash.String(), Name: m.Name, MIME: m.MIME, Size: m.Size}
		}
		g.Case, g.Step, g.Account = describeCase(op.Case), describeCaseStep(op.CaseStep), describeAccount(op.Account)
		g.Dishonesty = describeDishonesty(op.Dishonesty)
		g.Urge, g.UrgeRead, g.Report = describeUrge(op.Urge), describeUrgeRead(op.UrgeRead), describeReport(op.Report)
		d.Ops = append(d.Ops, g)
	}
	return d
}

func marshalGolden(tb testing.TB, doc any) []byte {
	tb.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// fuzzSeed is a seed corpus file in Go's format holding one []byte value.
func fuzzSeed(b []byte) []byte {
	return fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b)
}

// goldenFiles returns every file the golden test owns, by path, with the
// content it must have.
func goldenFiles(tb testing.TB) map[string][]byte {
	tb.Helper()
	dev, s1, s2 := goldenSets(tb)
	files := map[string][]byte{
		goldenSeq1: s1.Bytes(),
		goldenSeq2: s2.Bytes(),
		goldenJSON: marshalGolden(tb, describeGolden(dev, s1, s2)),
	}
	for _, f := range []string{"FuzzDecode", "FuzzVerify"} {
		files["testdata/fuzz/"+f+"/golden-seq1"] = fuzzSeed(s1.Bytes())
		files["testdata/fuzz/"+f+"/golden-seq2"] = fuzzSeed(s2.Bytes())
	}
	for _, cs := range []*protocol.ChangeSet{s1, s2} {
		for _, op := range cs.Ops {
			name := fmt.Sprintf("testdata/fuzz/FuzzDecodeOp/golden-op%d-%s", op.Num, op.Kind)
			files[name] = fuzzSeed(protocol.AppendOp(nil, &op))
		}
	}
	return files
}

// TestGoldenVectors re-creates the golden vectors and compares them byte for
// byte with testdata/: any change to the encoding, the signing message or
// the hash fails here. Run with -update to rewrite them after a deliberate
// change (and a new FormatVersion).
func TestGoldenVectors(t *testing.T) { checkGoldenFiles(t, goldenFiles(t)) }

// checkGoldenFiles compares each file with the content it must have, after
// writing it with -update.
func checkGoldenFiles(t *testing.T, files map[string][]byte) {
	t.Helper()
	paths := slices.Sorted(maps.Keys(files))
	if *update {
		for _, path := range paths {
			want := files[path]
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s (%d bytes)", path, len(want))
		}
	}
	for _, path := range paths {
		want := files[path]
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%v (run go test ./sync/protocol -run Golden -update to create it)", err)
			continue
		}
		if !bytes.Equal(got, want) {
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			t.Errorf("%s differs from the re-created vector at byte %d of %d (want %d bytes): the encoding changed. "+
				"If that is deliberate, bump FormatVersion and run go test ./sync/protocol -run Golden -update", path, i, len(got), len(want))
		}
	}
}

// readJSON reads a JSON description from path into v.
func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	desc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(desc, v); err != nil {
		t.Fatal(err)
	}
}

// TestGoldenVectorsVerify checks the files on disk, not the re-created ones,
// the way a verifier in another language would: hash and signature computed
// from the bytes and the JSON description alone, then the full Verify.
func TestGoldenVectorsVerify(t *testing.T) {
	var doc goldenDoc
	readJSON(t, goldenJSON, &doc)
	seed, _ := hex.DecodeString(doc.Device.SeedHex)
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	if hex.EncodeToString(pub) != doc.Device.PublicKeyHex {
		t.Fatal("public key in the description does not belong to the seed")
	}
	idSum := sha256.Sum256(pub)
	if hex.EncodeToString(idSum[:16]) != doc.Device.IDHex {
		t.Fatal("device id is not the first 16 bytes of SHA-256(public key)")
	}
	id, err := protocol.ParseDeviceID(doc.Device.ID)
	if err != nil || hex.EncodeToString(id[:]) != doc.Device.IDHex {
		t.Fatalf("printed device id %q: %v", doc.Device.ID, err)
	}
	reg := memRegistry{id: {ID: id, Key: pub, Office: doc.Device.Office, Admin: doc.Device.Admin}}
	chains := memChains{}
	prev := make([]byte, 32)
	for _, d := range doc.ChangeSets {
		raw, err := os.ReadFile(filepath.Join("testdata", d.File))
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) != d.Size || d.BodySize != len(raw)-64 {
			t.Fatalf("%s: %d bytes, description says %d", d.File, len(raw), d.Size)
		}
		body, sig := raw[:len(raw)-64], raw[len(raw)-64:]
		h := sha256.Sum256(body)
		msg := append([]byte(signContext), h[:]...)
		if hex.EncodeToString(h[:]) != d.HashHex || hex.EncodeToString(msg) != d.SignedMessageHex || hex.EncodeToString(sig) != d.SignatureHex {
			t.Fatalf("%s: hash, signed message or signature differ from the description", d.File)
		}
		if !ed25519.Verify(pub, msg, sig) {
			t.Fatalf("%s: signature does not verify over context || SHA-256(body)", d.File)
		}
		if d.PrevHex != hex.EncodeToString(prev) {
			t.Fatalf("%s: prev %s, want the hash of the change set before it %x", d.File, d.PrevHex, prev)
		}
		prev = h[:]

		// An independent reading of the layout the format document gives.
		got := specDecode(t, body)
		if got.seq != d.Seq || !bytes.Equal(got.prev, mustHex(t, d.PrevHex)) || got.author != d.Author ||
			got.role != string(d.AuthorRole) || got.office != string(d.Office) || !bytes.Equal(got.device, id[:]) {
			t.Fatalf("%s: header read by the spec decoder: %+v", d.File, got)
		}
		if !reflect.DeepEqual(got.ops, specOpsOf(d.Ops)) {
			t.Fatalf("%s: operations read by the spec decoder differ from the description:\n got %+v\nwant %+v", d.File, got.ops, specOpsOf(d.Ops))
		}

		cs, err := protocol.Verify(raw, reg, chains, id)
		if err != nil {
			t.Fatalf("%s: Verify: %v", d.File, err)
		}
		chains.accept(t, cs)
	}
	// Every kind appears.
	kinds := map[string]bool{}
	for _, d := range doc.ChangeSets {
		for _, op := range d.Ops {
			kinds[op.Kind] = true
		}
	}
	for k := protocol.OpCreate; k <= protocol.OpResolve; k++ {
		if !kinds[k.String()] {
			t.Errorf("golden vectors lack a %s operation", k)
		}
	}
}

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// specCS and specOp are what specDecode reads: plain values, as a decoder in
// another language would have them.
type specCS struct {
	version              byte
	device, prev         []byte
	office, author, role string
	seq                  uint64
	ops                  []specOp
}

type specOp struct {
	Num, HLC       uint64
	Kind           byte
	Office, Target string
	Writes         []goldenWrite
	From, Reason   string
	HasEntry       bool
	Date           string
	Progress       byte
	Note           string
	Evidence       []string
	HasMeta        bool
	MetaHash       string
	Name, MIME     string
	Size           uint64
	Case           *goldenCase
	Step           *goldenStep
	Dishonesty     *goldenDishonestyJS
	Account        *goldenAccount
	Urge           *goldenUrge
	UrgeRead       *goldenUrgeRead
	Report         *goldenReport
}

func specOpsOf(ops []goldenOp) []specOp {
	var out []specOp
	for _, g := range ops {
		s := specOp{Num: g.Num, HLC: g.HLC, Kind: g.KindNum, Office: string(g.Office), Target: g.Target,
			Writes: g.Writes, From: g.From, Reason: g.Reason}
		if e := g.Entry; e != nil {
			s.HasEntry, s.Date, s.Progress, s.Note, s.Evidence = true, e.Date, e.Progress, e.Note, e.Evidence
		}
		if m := g.Meta; m != nil {
			s.HasMeta, s.MetaHash, s.Name, s.MIME, s.Size = true, m.HashHex, m.Name, m.MIME, uint64(m.Size)
		}
		s.Case, s.Step, s.Dishonesty, s.Account = g.Case, g.Step, g.Dishonesty, g.Account
		s.Urge, s.UrgeRead, s.Report = g.Urge, g.UrgeRead, g.Report
		out = append(out, s)
	}
	return out
}

// specDecode reads a change-set body following docs/changeset-format.md
// only. It checks the layout, not the canonical-form rules.
func specDecode(t *testing.T, b []byte) specCS {
	t.Helper()
	r := &specReader{t: t, name: "spec decoder", b: b}
	fail, take, uv, str := r.fail, r.take, r.uv, r.str
	var cs specCS
	if string(take(4)) != "JNCS" {
		fail("magic")
	}
	cs.version = take(1)[0]
	cs.device = take(16)
	cs.office, cs.author, cs.role = str(), str(), str()
	cs.seq = uv()
	cs.prev = take(32)
	for range uv() {
		var op specOp
		op.Num = uv()
		op.HLC = binary.BigEndian.Uint64(take(8))
		op.Kind = take(1)[0]
		op.Office = str()
		op.Target = hex.EncodeToString(take(16))
		for range uv() {
			w := goldenWrite{Field: str(), Value: str()}
			for range uv() {
				dev := take(16)
				var did protocol.DeviceID
				copy(did[:], dev)
				w.Base = append(w.Base, goldenOpID{Device: did.String(), DeviceHex: hex.EncodeToString(dev), Num: uv()})
			}
			op.Writes = append(op.Writes, w)
		}
		op.From, op.Reason = str(), str()
		if take(1)[0] == 1 {
			op.HasEntry = true
			op.Date = str()
			op.Progress = take(1)[0]
			op.Note = str()
			for range uv() {
				op.Evidence = append(op.Evidence, hex.EncodeToString(take(32)))
			}
		}
		if take(1)[0] == 1 {
			op.HasMeta = true
			op.MetaHash = hex.EncodeToString(take(32))
			op.Name, op.MIME = str(), str()
			op.Size = uv()
		}
		// The dishonesty body for kinds 8 and 9, the case bodies for
		// kinds 10 and 11 (no presence flag).
		switch op.Kind {
		case 8, 9:
			d := &goldenDishonestyJS{RecordHex: hex.EncodeToString(take(16)), Type: str(), Official: str(), Deadline: str(),
				Explanation: str(), Step: str()}
			for range uv() {
				d.Evidence = append(d.Evidence, hex.EncodeToString(take(32)))
			}
			// The detail: only for the steps sanctioned, mitigated and
			// corrected.
			switch d.Step {
			case "sanctioned", "mitigated", "corrected":
				detail := str()
				d.Detail = &detail
			}
			op.Dishonesty = d
		case 10:
			c := &goldenCase{IDHex: hex.EncodeToString(take(16)), Kind: str(), Source: str(), Number: str(),
				RecordHex: hex.EncodeToString(take(16)), Text: str()}
			for range uv() {
				c.Evidence = append(c.Evidence, hex.EncodeToString(take(32)))
			}
			c.Filed = int64(binary.BigEndian.Uint64(take(8)))
			c.IntakeHex = hex.EncodeToString(take(int(uv())))
			for range uv() {
				c.Contact = append(c.Contact, goldenBox{DeviceHex: hex.EncodeToString(take(16)), BoxHex: hex.EncodeToString(take(int(uv())))})
			}
			op.Case = c
		case 11:
			s := &goldenStep{CaseHex: hex.EncodeToString(take(16)), Step: str(), Text: str()}
			for range uv() {
				s.Evidence = append(s.Evidence, hex.EncodeToString(take(32)))
			}
			s.RefDeviceHex, s.RefNum = hex.EncodeToString(take(16)), uv()
			s.Finding, s.AckDue, s.AnswerDue = str(), str(), str()
			s.RecordHex = hex.EncodeToString(take(16))
			op.Step = s
		case 12: // the account body (no presence flag)
			op.Account = &goldenAccount{Action: str(), Login: str(), DisplayName: str(), Role: str()}
		case 13, 14, 15: // the year's bodies (golden_year_test.go)
			specDecodeYear(r, &op)
		}
		cs.ops = append(cs.ops, op)
	}
	if len(r.b) != 0 {
		fail("trailing bytes")
	}
	if cs.version != 1 {
		t.Fatalf("spec decoder: version %d", cs.version)
	}
	return cs
}

// specReader reads the primitive encodings of docs/changeset-format.md,
// failing the test on anything it cannot read.
type specReader struct {
	t    *testing.T
	name string
	b    []byte
}

func (r *specReader) fail(what string) {
	r.t.Fatalf("%s: %s at %d bytes left", r.name, what, len(r.b))
}

func (r *specReader) take(n int) []byte {
	if n < 0 || len(r.b) < n {
		r.fail("truncated")
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *specReader) uv() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad varint")
	}
	r.b = r.b[n:]
	return v
}

func (r *specReader) str() string {
	s := string(r.take(int(r.uv())))
	if !utf8.ValidString(s) {
		r.fail("not UTF-8")
	}
	return s
}
