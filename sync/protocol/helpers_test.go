package protocol_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"testing"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// Offices used throughout the tests: two townships of 栾川县 (410324), the
// county itself, and a township of 嵩县 (410325), another county.
const (
	township      = office.Code("410324100")
	township2     = office.Code("410324101")
	county        = office.Code("410324")
	otherCounty   = office.Code("410325")
	otherTownship = office.Code("410325100")
)

// hlc0 is the first clock stamp the fixtures use: 2026-03-02 09:00:00 CST.
var hlc0 = protocol.MakeHLC(1772413200000, 0)

// device is a test device with a deterministic key.
type device struct {
	name string
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
	id   protocol.DeviceID
	info protocol.DeviceInfo
}

// seedFor derives a device's 32-byte ed25519 seed from its name.
func seedFor(name string) []byte {
	s := sha256.Sum256([]byte("jiannuo test device seed: " + name))
	return s[:]
}

// newDevice makes a device enrolled for off; admin marks a county-admin device.
func newDevice(tb testing.TB, name string, off office.Code, admin bool) *device {
	tb.Helper()
	priv := ed25519.NewKeyFromSeed(seedFor(name))
	pub := priv.Public().(ed25519.PublicKey)
	id := protocol.DeviceIDFromKey(pub)
	return &device{
		name: name, priv: priv, pub: pub, id: id,
		info: protocol.DeviceInfo{ID: id, Key: pub, Office: off, Admin: admin},
	}
}

// memRegistry is a Registry backed by a map.
type memRegistry map[protocol.DeviceID]protocol.DeviceInfo

func (r memRegistry) Device(id protocol.DeviceID) (protocol.DeviceInfo, error) {
	d, ok := r[id]
	if !ok {
		return protocol.DeviceInfo{}, fmt.Errorf("%w: %s", protocol.ErrUnknownDevice, id)
	}
	return d, nil
}

func registryOf(devs ...*device) memRegistry {
	r := memRegistry{}
	for _, d := range devs {
		r[d.id] = d.info
	}
	return r
}

// memChains is a Chains backed by a map: for each device, the hashes and
// last operation numbers of its accepted change sets, index seq-1.
type memChains map[protocol.DeviceID][]protocol.Head

func (c memChains) Head(id protocol.DeviceID) (protocol.Head, error) {
	l := c[id]
	if len(l) == 0 {
		return protocol.Head{}, nil
	}
	return l[len(l)-1], nil
}

func (c memChains) HashAt(id protocol.DeviceID, seq uint64) (protocol.Hash, bool, error) {
	l := c[id]
	if seq == 0 || seq > uint64(len(l)) {
		return protocol.Hash{}, false, nil
	}
	return l[seq-1].Hash, true, nil
}

// accept records cs as the device's next accepted change set, as a receiver
// does after Verify succeeds.
func (c memChains) accept(tb testing.TB, cs *protocol.ChangeSet) {
	tb.Helper()
	if want := uint64(len(c[cs.Device])) + 1; cs.Seq != want {
		tb.Fatalf("accept: seq %d, chain expects %d", cs.Seq, want)
	}
	c[cs.Device] = append(c[cs.Device], protocol.Head{Seq: cs.Seq, Hash: cs.Hash(), LastOp: cs.LastOp()})
}

// chainsWith returns chains that have accepted the given change sets.
func chainsWith(tb testing.TB, sets ...*protocol.ChangeSet) memChains {
	tb.Helper()
	c := memChains{}
	for _, cs := range sets {
		c.accept(tb, cs)
	}
	return c
}

// entityID returns a deterministic commitment ID.
func entityID(n byte) protocol.EntityID {
	var id protocol.EntityID
	for i := range id {
		id[i] = n ^ byte(i*37)
	}
	id[0] = n
	return id
}

func date(tb testing.TB, s string) calendar.Date {
	tb.Helper()
	d, err := calendar.ParseDate(s)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// createValues are the values a create op writes, one per domain field.
var createValues = map[domain.Field]string{
	domain.FieldCategory:    string(domain.CatElderlyCare),
	domain.FieldTitle:       "每月上门走访辖区80岁以上独居老人",
	domain.FieldText:        "社区网格员每月至少上门走访一次，登记健康与生活需求，\n问题在5个工作日内转办。",
	domain.FieldLegalBasis:  "《洛阳市加强政务诚信建设实施方案》五(七)",
	domain.FieldResponsible: "王建国",
	domain.FieldStartDate:   "2026-03-02",
	domain.FieldDeadline:    "workdays:7",
	domain.FieldPublic:      "true",
	domain.FieldStatus:      string(domain.StatusDraft),
}

// Op constructors. Each returns a valid operation of its kind with Num and
// HLC zero; number assigns them.

func createOp(off office.Code, target protocol.EntityID) protocol.Op {
	op := protocol.Op{Kind: protocol.OpCreate, Office: off, Target: target}
	for _, f := range domain.Fields() {
		v, ok := createValues[f]
		if !ok {
			panic("createValues lacks field " + string(f))
		}
		op.Writes = append(op.Writes, protocol.FieldWrite{Field: f, Value: v})
	}
	return op
}

func editOp(off office.Code, target protocol.EntityID, base protocol.OpID) protocol.Op {
	return protocol.Op{Kind: protocol.OpEdit, Office: off, Target: target,
		Writes: []protocol.FieldWrite{{Field: domain.FieldTitle, Value: "每月上门走访辖区独居老人", Base: []protocol.OpID{base}}}}
}

func amendOp(off office.Code, target protocol.EntityID, base protocol.OpID) protocol.Op {
	return protocol.Op{Kind: protocol.OpAmend, Office: off, Target: target, Reason: "经镇党委会研究，走访频次提高",
		Writes: []protocol.FieldWrite{{Field: domain.FieldText, Value: "社区网格员每两周至少上门走访一次。", Base: []protocol.OpID{base}}}}
}

func transitionOp(off office.Code, target protocol.EntityID, from, to domain.Status, reason string, base protocol.OpID) protocol.Op {
	return protocol.Op{Kind: protocol.OpTransition, Office: off, Target: target, From: from, Reason: reason,
		Writes: []protocol.FieldWrite{{Field: domain.FieldStatus, Value: string(to), Base: []protocol.OpID{base}}}}
}

func fulfilOp(tb testing.TB, off office.Code, target protocol.EntityID, evidence ...protocol.Hash) protocol.Op {
	tb.Helper()
	return protocol.Op{Kind: protocol.OpFulfil, Office: off, Target: target,
		Entry: &protocol.Entry{Date: date(tb, "2026-03-10"), Progress: 40, Note: "已走访12户，登记需求3项。", Evidence: evidence}}
}

// evidenceContent is the content of the evidence file the fixtures cite.
var evidenceContent = []byte("走访登记表 2026-03-10（扫描件）")

func evidenceOp(off office.Code, target protocol.EntityID) protocol.Op {
	return protocol.Op{Kind: protocol.OpEvidence, Office: off, Target: target,
		Meta: &protocol.EvidenceMeta{Hash: protocol.HashOf(evidenceContent), Name: "走访登记表.pdf", MIME: "application/pdf", Size: 184320}}
}

func resolveOp(off office.Code, target protocol.EntityID, bases ...protocol.OpID) protocol.Op {
	return protocol.Op{Kind: protocol.OpResolve, Office: off, Target: target, Reason: "两次修改合并，以县信用办核定为准",
		Writes: []protocol.FieldWrite{{Field: domain.FieldTitle, Value: "每月上门走访辖区80岁以上老人", Base: protocol.SortBase(bases)}}}
}

// number gives ops consecutive numbers from first and increasing clock
// stamps from hlc, in place, and returns them.
func number(first uint64, hlc protocol.HLC, ops ...protocol.Op) []protocol.Op {
	for i := range ops {
		ops[i].Num = first + uint64(i)
		ops[i].HLC = hlc + protocol.HLC(i)*protocol.MakeHLC(1000, 0) // a second apart
	}
	return ops
}

// spec describes a change set to seal.
type spec struct {
	dev  *device
	role domain.Role
	seq  uint64
	prev protocol.Hash
	ops  []protocol.Op
}

// seal builds and seals a change set; edit, if not nil, changes it just
// before sealing.
func seal(tb testing.TB, s spec, edit func(*protocol.ChangeSet)) *protocol.ChangeSet {
	tb.Helper()
	cs := &protocol.ChangeSet{
		Device: s.dev.id, Office: s.dev.info.Office, Author: "李明", AuthorRole: s.role,
		Seq: s.seq, Prev: s.prev, Ops: s.ops,
	}
	if edit != nil {
		edit(cs)
	}
	if err := cs.Seal(s.dev.priv); err != nil {
		tb.Fatalf("Seal: %v", err)
	}
	return cs
}

// everyTownshipKind returns ops 1.. of a township leader: create, edit,
// publish, start, fulfil, evidence, amend: every kind but resolve.
func everyTownshipKind(tb testing.TB, dev *device, first uint64) []protocol.Op {
	tb.Helper()
	c := entityID(1)
	id := func(n uint64) protocol.OpID { return protocol.OpID{Device: dev.id, Num: n} }
	ev := protocol.HashOf(evidenceContent)
	return number(first, hlc0,
		createOp(township, c),
		editOp(township, c, id(first)),
		transitionOp(township, c, domain.StatusDraft, domain.StatusPublished, "", id(first)),
		transitionOp(township, c, domain.StatusPublished, domain.StatusInProgress, "", id(first+2)),
		evidenceOp(township, c),
		fulfilOp(tb, township, c, ev),
		amendOp(township, c, id(first)),
	)
}
