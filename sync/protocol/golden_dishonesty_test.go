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

// Golden vectors of the dishonesty records with the steps of two-way
// accountability: change set 4 of the golden county-admin device (after
// the three of golden_test.go and golden_case_test.go) records a record
// and takes every county step on it, the new ones with their detail; change
// set 1 of the golden township device (the key of golden_case_test.go) is
// the township leader's: the rectification's evidence, the explanation and
// the rectification submitted.

const (
	goldenSeq4       = "testdata/changeset-v1-seq4-dishonesty.bin"
	goldenTownSeq1   = "testdata/changeset-v1-township-seq1-dishonesty.bin"
	goldenDishonesty = "testdata/changeset-v1-dishonesty.json"
)

// goldenRecordID is the golden dishonesty record.
var goldenRecordID = mustEntity("d15b0e57000000000000000000000001")

// goldenRectification is the file the township submits as rectification.
var goldenRectification = []byte("%PDF-1.7 golden rectification: 走访台账（2026年4月）")

// goldenDishonestySets builds change set 4 of the golden admin device and
// change set 1 of the golden township device.
func goldenDishonestySets(tb testing.TB) (county, town *protocol.ChangeSet) {
	tb.Helper()
	dev, _, _ := goldenSets(tb)
	s3 := goldenCaseSet(tb)
	_, _, townKey := goldenCaseKeys()
	const off = "410324100"
	target := mustEntity("0123456789abcdef0123456789abcdef")
	rec := goldenRecordID
	ev := protocol.HashOf(goldenRectification)
	step := func(s domain.DishonestyStep, reason, detail string) protocol.Op {
		return protocol.Op{Kind: protocol.OpDishonestyStep, Office: off, Target: target, Reason: reason,
			Dishonesty: &protocol.Dishonesty{Record: rec, Step: s, Detail: detail}}
	}
	explained := step(domain.StepExplained, "书面说明属实，予以认可。", "")
	explained.Dishonesty.Explanation = "因网格员调整，3月走访出现遗漏，已补充人员并补走访。"
	countyOps := []protocol.Op{
		{Kind: protocol.OpDishonesty, Office: off, Target: target, Reason: "2026年1月至3月未按承诺每月走访独居老人，经核查属实。",
			Dishonesty: &protocol.Dishonesty{Record: rec, Type: domain.DishonestyBreach, Official: "王建国", Deadline: calendar.NewDate(2026, 5, 29)}},
		step(domain.StepReturned, "整改材料缺少走访台账，请补充后重新提交。", ""),
		explained,
		step(domain.StepSanctioned, "依据县政务诚信建设实施方案，予以通报批评。", string(domain.SanctionPublicCriticism)),
		step(domain.StepMitigated, "主动整改、及时消除影响，从轻处理。", string(domain.MitigationLighter)),
		step(domain.StepCorrected, "异议成立：1月、2月已走访，有台账为证。", "2026年3月未按承诺每月走访独居老人。"),
		step(domain.StepWithdrawn, "异议成立：该承诺已依法变更，不构成失信。", ""),
	}
	wall := int64(1772413200000) + 60*86400_000 // 2026-05-01 09:00 CST
	for i := range countyOps {
		countyOps[i].Num, countyOps[i].HLC = s3.LastOp()+uint64(i)+1, protocol.MakeHLC(wall+int64(i)*3600_000, 0)
	}
	county = &protocol.ChangeSet{Device: dev.id, Office: "410324", Author: "赵静", AuthorRole: domain.RoleCountyAdmin, Seq: 4, Prev: s3.Hash(), Ops: countyOps}
	if err := county.Seal(dev.priv); err != nil {
		tb.Fatal(err)
	}

	submitted := step(domain.StepExplanationSubmitted, "", "")
	submitted.Dishonesty.Explanation = "因网格员调整，3月走访出现遗漏，已补充人员并补走访。"
	rectified := step(domain.StepRectificationSubmitted, "已补走访独居老人46户，建立月度走访台账。", "")
	rectified.Dishonesty.Evidence = []protocol.Hash{ev}
	townOps := []protocol.Op{
		{Kind: protocol.OpEvidence, Office: off, Target: target, Meta: &protocol.EvidenceMeta{Hash: ev, Name: "走访台账.pdf", MIME: domain.MIMEPDF, Size: int64(len(goldenRectification))}},
		submitted,
		rectified,
	}
	for i := range townOps {
		townOps[i].Num, townOps[i].HLC = uint64(i)+1, protocol.MakeHLC(wall-86400_000+int64(i)*60_000, 0)
	}
	town = &protocol.ChangeSet{Device: townKey.id(), Office: off, Author: "张丽", AuthorRole: domain.RoleLeader, Seq: 1, Ops: townOps}
	if err := town.Seal(townKey.priv); err != nil {
		tb.Fatal(err)
	}
	return county, town
}

// goldenDishonestyJS is a dishonesty body, field by field.
type goldenDishonestyJS struct {
	RecordHex   string   `json:"record"`
	Type        string   `json:"type"`
	Official    string   `json:"official"`
	Deadline    string   `json:"deadline"`
	Explanation string   `json:"explanation"`
	Step        string   `json:"step"`
	Evidence    []string `json:"evidence_hex,omitempty"`
	// Detail is present (and encoded) for the steps sanctioned, mitigated
	// and corrected only.
	Detail *string `json:"detail,omitempty"`
}

func describeDishonesty(d *protocol.Dishonesty) *goldenDishonestyJS {
	if d == nil {
		return nil
	}
	g := &goldenDishonestyJS{RecordHex: d.Record.String(), Type: string(d.Type), Official: d.Official, Explanation: d.Explanation, Step: string(d.Step)}
	if !d.Deadline.IsZero() {
		g.Deadline = d.Deadline.String()
	}
	for _, h := range d.Evidence {
		g.Evidence = append(g.Evidence, h.String())
	}
	if d.Step.HasDetail() {
		detail := d.Detail
		g.Detail = &detail
	}
	return g
}

type goldenDishonestyDoc struct {
	Description string        `json:"description"`
	Device      goldenDev     `json:"device"`
	Township    goldenKey     `json:"township_device"`
	TownOffice  string        `json:"township_office"`
	ChangeSets  []goldenCSDoc `json:"change_sets"`
}

func goldenDishonestyFiles(tb testing.TB) map[string][]byte {
	tb.Helper()
	dev, _, _ := goldenSets(tb)
	_, _, town := goldenCaseKeys()
	county, townSet := goldenDishonestySets(tb)
	doc := goldenDishonestyDoc{
		Description: "Golden vectors of the dishonesty records with the steps of two-way accountability (op kinds 8 and 9): change set 4 of " +
			"the golden county-admin device of changeset-v1.json, chained to its change set 3, and change set 1 of the township device " +
			"of changeset-v1-cases.json, signed by a leader. See docs/changeset-format.md; regenerate with " +
			"`go test ./sync/protocol -run Golden -update` only when the format changes on purpose.",
		Device: goldenDev{SeedHex: hex.EncodeToString(goldenSeed()), PublicKeyHex: hex.EncodeToString(dev.pub),
			ID: dev.id.String(), IDHex: hex.EncodeToString(dev.id[:]), Office: dev.info.Office, Admin: dev.info.Admin},
		Township:   town,
		TownOffice: "410324100",
		ChangeSets: []goldenCSDoc{describeSet(filepath.Base(goldenSeq4), county), describeSet(filepath.Base(goldenTownSeq1), townSet)},
	}
	files := map[string][]byte{
		goldenSeq4:       county.Bytes(),
		goldenTownSeq1:   townSet.Bytes(),
		goldenDishonesty: marshalGolden(tb, doc),
		"testdata/fuzz/FuzzDecode/golden-seq4-dishonesty":          fuzzSeed(county.Bytes()),
		"testdata/fuzz/FuzzDecode/golden-township-seq1-dishonesty": fuzzSeed(townSet.Bytes()),
	}
	for _, cs := range []*protocol.ChangeSet{county, townSet} {
		for _, op := range cs.Ops {
			who := "county"
			if cs == townSet {
				who = "township"
			}
			name := fmt.Sprintf("testdata/fuzz/FuzzDecodeOp/golden-%s-op%d-%s", who, op.Num, op.Kind)
			if op.Dishonesty != nil && op.Dishonesty.Step != "" {
				name += "-" + string(op.Dishonesty.Step)
			}
			files[name] = fuzzSeed(protocol.AppendOp(nil, &op))
		}
	}
	return files
}

// TestGoldenDishonestyVectors re-creates the dishonesty vectors and
// compares them byte for byte with testdata/ (rewrites them with -update).
func TestGoldenDishonestyVectors(t *testing.T) { checkGoldenFiles(t, goldenDishonestyFiles(t)) }

// TestGoldenDishonestyVectorsVerify reads the files on disk as a verifier
// in another language would: hash and signature from the bytes, the
// operations read by the spec decoder, then the full Verify (the admin's
// change set after change sets 1 to 3).
func TestGoldenDishonestyVectorsVerify(t *testing.T) {
	var doc goldenDishonestyDoc
	readJSON(t, goldenDishonesty, &doc)
	adminPub := ed25519.NewKeyFromSeed(mustHex(t, doc.Device.SeedHex)).Public().(ed25519.PublicKey)
	townPub := ed25519.NewKeyFromSeed(mustHex(t, doc.Township.SeedHex)).Public().(ed25519.PublicKey)
	if hex.EncodeToString(townPub) != doc.Township.PublicKeyHex {
		t.Fatal("township key does not belong to its seed")
	}
	adminID, townID := protocol.DeviceIDFromKey(adminPub), protocol.DeviceIDFromKey(townPub)
	reg := memRegistry{
		adminID: {ID: adminID, Key: adminPub, Office: doc.Device.Office, Admin: true},
		townID:  {ID: townID, Key: townPub, Office: "410324100"},
	}
	chains := memChains{}
	for _, f := range []string{goldenSeq1, goldenSeq2, goldenSeq3} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := protocol.Verify(b, reg, chains, adminID)
		if err != nil {
			t.Fatal(err)
		}
		chains.accept(t, cs)
	}
	steps := map[string]bool{}
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
		if _, err := protocol.Verify(raw, reg, chains, id); err != nil {
			t.Fatalf("Verify %s: %v", d.File, err)
		}
		for _, op := range d.Ops {
			if op.Dishonesty != nil {
				steps[op.Dishonesty.Step] = true
				if (op.Dishonesty.Detail != nil) != domain.DishonestyStep(op.Dishonesty.Step).HasDetail() {
					t.Errorf("%s: detail %v", op.Dishonesty.Step, op.Dishonesty.Detail)
				}
			}
		}
	}
	// The record, and every step but credit repair and the accepted
	// rectification, whose bodies are those of explained.
	for _, s := range append(domain.DishonestySteps(), "") {
		if !steps[string(s)] && s != domain.StepRectified && s != domain.StepRepaired {
			t.Errorf("dishonesty vectors lack the step %q", s)
		}
	}
}
