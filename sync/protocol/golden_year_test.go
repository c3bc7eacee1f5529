package protocol_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/sync/protocol"
)

// Golden vectors of the office's year (op kinds 13, 14 and 15): change
// set 5 of the golden county-admin device (after the dishonesty vectors'
// change set 4) urges the township 410324100 about a commitment and its
// case, and about its annual report of 2026; change set 2 of the golden
// township device (after its dishonesty change set 1) reads the first
// urge and submits the township's annual report, signed by its leader;
// change set 6 of the admin device submits the county's report compiled
// from it.

const (
	goldenYearCounty5 = "testdata/changeset-v1-seq5-urges.bin"
	goldenYearTown2   = "testdata/changeset-v1-township-seq2-report.bin"
	goldenYearCounty6 = "testdata/changeset-v1-seq6-county-report.bin"
	goldenYear        = "testdata/changeset-v1-year.json"
)

var (
	goldenUrgeID       = mustEntity("0e9e0000000000000000000000000001")
	goldenReportUrgeID = mustEntity("0e9e0000000000000000000000000002")
)

// goldenYearSets builds the three change sets.
func goldenYearSets(tb testing.TB) (urges, town, compiled *protocol.ChangeSet) {
	tb.Helper()
	dev, _, _ := goldenSets(tb)
	s4, townSeq1 := goldenDishonestySets(tb)
	_, _, townKey := goldenCaseKeys()
	const off = "410324100"
	commitment := mustEntity("0123456789abcdef0123456789abcdef")
	caseID := mustEntity("c0ffee00112233445566778899aabbcc")
	wall := int64(1796000400000) // 2026-12-30 09:00 CST
	stamp := func(ops []protocol.Op, first uint64, from int64) {
		for i := range ops {
			ops[i].Num, ops[i].HLC = first+uint64(i), protocol.MakeHLC(from+int64(i)*60_000, 0)
		}
	}

	urgeOps := []protocol.Op{
		{Kind: protocol.OpUrge, Office: off, Target: commitment, Urge: &protocol.Urge{ID: goldenUrgeID, Case: caseID,
			Note: "该投诉答复期限将至，请于12月31日前报送答复并更新践诺记录。"}},
		{Kind: protocol.OpUrge, Office: off, Urge: &protocol.Urge{ID: goldenReportUrgeID, Year: 2026,
			Note: "请于2027年1月5日前报送2026年度践诺情况报告。"}},
	}
	stamp(urgeOps, s4.LastOp()+1, wall)
	urges = &protocol.ChangeSet{Device: dev.id, Office: "410324", Author: "赵静", AuthorRole: domain.RoleCountyAdmin,
		Seq: 5, Prev: s4.Hash(), Ops: urgeOps}
	if err := urges.Seal(dev.priv); err != nil {
		tb.Fatal(err)
	}

	report := &protocol.AnnualReport{Year: 2026, AsOf: calendar.NewDate(2026, 12, 31),
		Narrative: "2026年，本镇公开承诺事项12项，按期践诺9项。\n一是……二是……",
		Notable:   []protocol.NotableRef{{Office: off, ID: commitment}},
		Figures: []protocol.ReportFigure{
			{Category: string(domain.CatElderlyCare), Total: 5, OnTime: 4, Late: 1},
			{Category: string(domain.CatConvenience), Total: 7, OnTime: 5, Breached: 1, Open: 1, Overdue: 1},
		}}
	townOps := []protocol.Op{
		{Kind: protocol.OpUrgeRead, Office: off, UrgeRead: &protocol.UrgeRead{Urge: goldenUrgeID}},
		{Kind: protocol.OpAnnualReport, Office: off, Report: report},
	}
	stamp(townOps, townSeq1.LastOp()+1, wall+3600_000)
	town = &protocol.ChangeSet{Device: townKey.id(), Office: off, Author: "张丽", AuthorRole: domain.RoleLeader,
		Seq: 2, Prev: townSeq1.Hash(), Ops: townOps}
	if err := town.Seal(townKey.priv); err != nil {
		tb.Fatal(err)
	}

	county := &protocol.AnnualReport{Year: 2026, AsOf: calendar.NewDate(2026, 12, 31),
		Narrative: "2026年，全县各乡镇公开承诺事项按期践诺率75%。",
		Notable:   []protocol.NotableRef{{Office: off, ID: commitment}},
		Figures:   report.Figures,
		Sources:   []protocol.OpID{townOps[1].ID(townKey.id())}}
	countyOps := []protocol.Op{{Kind: protocol.OpAnnualReport, Office: "410324", Report: county}}
	stamp(countyOps, urges.LastOp()+1, wall+6*86400_000)
	compiled = &protocol.ChangeSet{Device: dev.id, Office: "410324", Author: "赵静", AuthorRole: domain.RoleCountyAdmin,
		Seq: 6, Prev: urges.Hash(), Ops: countyOps}
	if err := compiled.Seal(dev.priv); err != nil {
		tb.Fatal(err)
	}
	return urges, town, compiled
}

// goldenUrge, goldenUrgeRead and goldenReport are the year's bodies,
// field by field.
type goldenUrge struct {
	IDHex   string `json:"id"`
	CaseHex string `json:"case"`
	Year    int    `json:"year"`
	Note    string `json:"note"`
}

type goldenUrgeRead struct {
	UrgeHex string `json:"urge"`
}

type goldenFigure struct {
	Category string   `json:"category"`
	Counts   []uint32 `json:"total_on_time_late_partly_breached_open_overdue"`
}

type goldenNotable struct {
	Office string `json:"office"`
	IDHex  string `json:"id"`
}

type goldenReport struct {
	Year      int             `json:"year"`
	AsOf      string          `json:"as_of"`
	Narrative string          `json:"narrative"`
	Notable   []goldenNotable `json:"notable,omitempty"`
	Figures   []goldenFigure  `json:"figures,omitempty"`
	Sources   []goldenOpID    `json:"sources,omitempty"`
}

func describeUrge(u *protocol.Urge) *goldenUrge {
	if u == nil {
		return nil
	}
	return &goldenUrge{IDHex: u.ID.String(), CaseHex: u.Case.String(), Year: u.Year, Note: u.Note}
}

func describeUrgeRead(r *protocol.UrgeRead) *goldenUrgeRead {
	if r == nil {
		return nil
	}
	return &goldenUrgeRead{UrgeHex: r.Urge.String()}
}

func describeReport(r *protocol.AnnualReport) *goldenReport {
	if r == nil {
		return nil
	}
	g := &goldenReport{Year: r.Year, AsOf: r.AsOf.String(), Narrative: r.Narrative}
	for _, n := range r.Notable {
		g.Notable = append(g.Notable, goldenNotable{Office: string(n.Office), IDHex: n.ID.String()})
	}
	for _, f := range r.Figures {
		g.Figures = append(g.Figures, goldenFigure{Category: f.Category, Counts: []uint32{f.Total, f.OnTime, f.Late, f.Partly, f.Breached, f.Open, f.Overdue}})
	}
	for _, s := range r.Sources {
		g.Sources = append(g.Sources, goldenOpID{Device: s.Device.String(), DeviceHex: hex.EncodeToString(s.Device[:]), Num: s.Num})
	}
	return g
}

// specDecodeYear reads the body of kinds 13, 14 and 15 following
// docs/changeset-format.md only.
func specDecodeYear(r *specReader, op *specOp) {
	take, uv, str := r.take, r.uv, r.str
	switch op.Kind {
	case 13:
		op.Urge = &goldenUrge{IDHex: hex.EncodeToString(take(16)), CaseHex: hex.EncodeToString(take(16)), Year: int(uv()), Note: str()}
	case 14:
		op.UrgeRead = &goldenUrgeRead{UrgeHex: hex.EncodeToString(take(16))}
	case 15:
		g := &goldenReport{Year: int(uv()), AsOf: str(), Narrative: str()}
		for range uv() {
			g.Notable = append(g.Notable, goldenNotable{Office: str(), IDHex: hex.EncodeToString(take(16))})
		}
		for range uv() {
			f := goldenFigure{Category: str()}
			for range 7 {
				f.Counts = append(f.Counts, uint32(uv()))
			}
			g.Figures = append(g.Figures, f)
		}
		for range uv() {
			dev := take(16)
			var did protocol.DeviceID
			copy(did[:], dev)
			g.Sources = append(g.Sources, goldenOpID{Device: did.String(), DeviceHex: hex.EncodeToString(dev), Num: uv()})
		}
		op.Report = g
	}
}

type goldenYearDoc struct {
	Description string        `json:"description"`
	Device      goldenDev     `json:"device"`
	Township    goldenKey     `json:"township_device"`
	TownOffice  string        `json:"township_office"`
	ChangeSets  []goldenCSDoc `json:"change_sets"`
}

func goldenYearFiles(tb testing.TB) map[string][]byte {
	tb.Helper()
	dev, _, _ := goldenSets(tb)
	_, _, town := goldenCaseKeys()
	urges, townSet, compiled := goldenYearSets(tb)
	doc := goldenYearDoc{
		Description: "Golden vectors of the office's year (op kinds 13, 14 and 15): change set 5 of the golden county-admin device of " +
			"changeset-v1.json (after changeset-v1-dishonesty.json's change set 4) urges township 410324100 about a commitment and its " +
			"case and about its 2026 annual report; change set 2 of the township device (after its dishonesty change set 1), signed by " +
			"its leader, reads the first urge and submits the annual report; change set 6 of the admin device submits the county's report " +
			"compiled from it. See docs/changeset-format.md; regenerate with `go test ./sync/protocol -run Golden -update` only when " +
			"the format changes on purpose.",
		Device: goldenDev{SeedHex: hex.EncodeToString(goldenSeed()), PublicKeyHex: hex.EncodeToString(dev.pub),
			ID: dev.id.String(), IDHex: hex.EncodeToString(dev.id[:]), Office: dev.info.Office, Admin: dev.info.Admin},
		Township:   town,
		TownOffice: "410324100",
		ChangeSets: []goldenCSDoc{describeSet(filepath.Base(goldenYearCounty5), urges), describeSet(filepath.Base(goldenYearTown2), townSet),
			describeSet(filepath.Base(goldenYearCounty6), compiled)},
	}
	files := map[string][]byte{
		goldenYearCounty5: urges.Bytes(),
		goldenYearTown2:   townSet.Bytes(),
		goldenYearCounty6: compiled.Bytes(),
		goldenYear:        marshalGolden(tb, doc),
		"testdata/fuzz/FuzzDecode/golden-seq5-urges":           fuzzSeed(urges.Bytes()),
		"testdata/fuzz/FuzzDecode/golden-township-seq2-report": fuzzSeed(townSet.Bytes()),
		"testdata/fuzz/FuzzDecode/golden-seq6-county-report":   fuzzSeed(compiled.Bytes()),
	}
	for who, cs := range map[string]*protocol.ChangeSet{"county": urges, "township": townSet, "county-report": compiled} {
		for _, op := range cs.Ops {
			files[fmt.Sprintf("testdata/fuzz/FuzzDecodeOp/golden-%s-op%d-%s", who, op.Num, op.Kind)] = fuzzSeed(protocol.AppendOp(nil, &op))
		}
	}
	return files
}

// TestGoldenYearVectors re-creates the year's vectors and compares them
// byte for byte with testdata/ (rewrites them with -update).
func TestGoldenYearVectors(t *testing.T) { checkGoldenFiles(t, goldenYearFiles(t)) }

// TestGoldenYearVectorsVerify reads the files on disk as a verifier in
// another language would: hash and signature from the bytes, the
// operations read by the spec decoder, then the full Verify of each
// after the change sets before it; the township's report is refused for
// a staff author and for a device of another township.
func TestGoldenYearVectorsVerify(t *testing.T) {
	var doc goldenYearDoc
	readJSON(t, goldenYear, &doc)
	adminPub := ed25519.NewKeyFromSeed(mustHex(t, doc.Device.SeedHex)).Public().(ed25519.PublicKey)
	townPub := ed25519.NewKeyFromSeed(mustHex(t, doc.Township.SeedHex)).Public().(ed25519.PublicKey)
	adminID, townID := protocol.DeviceIDFromKey(adminPub), protocol.DeviceIDFromKey(townPub)
	reg := memRegistry{
		adminID: {ID: adminID, Key: adminPub, Office: doc.Device.Office, Admin: true},
		townID:  {ID: townID, Key: townPub, Office: "410324100"},
	}
	chains := memChains{}
	for _, f := range []string{goldenSeq1, goldenSeq2, goldenSeq3, goldenSeq4, goldenTownSeq1} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dev := adminID
		if f == goldenTownSeq1 {
			dev = townID
		}
		cs, err := protocol.Verify(b, reg, chains, dev)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		chains.accept(t, cs)
	}
	kinds := map[uint8]bool{}
	for i, d := range doc.ChangeSets {
		pub, id := adminPub, adminID
		if i == 1 {
			pub, id = townPub, townID
		}
		raw := mustHexFile(t, d.File)
		body, sig := raw[:len(raw)-64], raw[len(raw)-64:]
		h := sha256.Sum256(body)
		msg := append([]byte(signContext), h[:]...)
		if len(raw) != d.Size || hex.EncodeToString(h[:]) != d.HashHex || hex.EncodeToString(msg) != d.SignedMessageHex ||
			hex.EncodeToString(sig) != d.SignatureHex || !ed25519.Verify(pub, msg, sig) {
			t.Fatalf("%s: size, hash, signed message or signature wrong", d.File)
		}
		got := specDecode(t, body)
		if got.seq != d.Seq || got.role != string(d.AuthorRole) || !reflect.DeepEqual(got.ops, specOpsOf(d.Ops)) {
			t.Fatalf("%s read by the spec decoder differs from the description:\n got %+v\nwant %+v", d.File, got.ops, specOpsOf(d.Ops))
		}
		cs, err := protocol.Verify(raw, reg, chains, id)
		if err != nil {
			t.Fatalf("Verify %s: %v", d.File, err)
		}
		chains.accept(t, cs)
		for _, op := range d.Ops {
			kinds[op.KindNum] = true
		}
	}
	for _, k := range []uint8{13, 14, 15} {
		if !kinds[k] {
			t.Errorf("the year's vectors lack kind %d", k)
		}
	}
}
