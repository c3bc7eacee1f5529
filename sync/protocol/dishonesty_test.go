package protocol_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

func dishonestyOp(off office.Code, target, record protocol.EntityID) protocol.Op {
	return protocol.Op{Kind: protocol.OpDishonesty, Office: off, Target: target, Reason: "逾期未兑现养老走访承诺，经核查属实",
		Dishonesty: &protocol.Dishonesty{Record: record, Type: domain.DishonestyBreach, Official: "王建国",
			Deadline: calendar.NewDate(2026, 12, 31), Explanation: "人手不足，已补充人员"}}
}

// stepOp returns a valid step of each kind on record: the fields each
// step needs, and nothing it may not carry.
func stepOp(off office.Code, target, record protocol.EntityID, step domain.DishonestyStep) protocol.Op {
	d := &protocol.Dishonesty{Record: record, Step: step}
	reason := "按期完成整改"
	switch step {
	case domain.StepExplained:
		d.Explanation = "书面说明已收到"
	case domain.StepExplanationSubmitted:
		d.Explanation, reason = "因人员调整，走访工作出现遗漏，现已补充网格员两名。", ""
	case domain.StepRectified, domain.StepRepaired, domain.StepRectificationSubmitted:
		d.Evidence = protocol.SortHashes([]protocol.Hash{protocol.HashOf([]byte("整改报告")), protocol.HashOf([]byte("走访台账"))})
	case domain.StepReturned:
		reason = "整改材料缺少走访台账，请补充后重新提交。"
	case domain.StepSanctioned:
		d.Detail, reason = string(domain.SanctionPublicCriticism), "依据县政务诚信建设实施方案，予以通报批评。"
	case domain.StepMitigated:
		d.Detail, reason = string(domain.MitigationLighter), "主动整改、及时消除影响，依据§四(四)从轻处理。"
	case domain.StepCorrected:
		d.Detail, reason = "2026年3月至5月未按承诺每月走访独居老人（原记录误为1月至5月）。", "异议成立：1月、2月已走访，有台账为证。"
	case domain.StepWithdrawn:
		reason = "异议成立：该承诺已依法变更，不构成失信。"
	}
	return protocol.Op{Kind: protocol.OpDishonestyStep, Office: off, Target: target, Reason: reason, Dishonesty: d}
}

func TestDishonestyRoundTrip(t *testing.T) {
	w := newWorld(t)
	rec := entityID(9)
	cs := w.set(t, w.admin, domain.RoleCountyAdmin, nil,
		dishonestyOp(township, entityID(1), rec),
		stepOp(township, entityID(1), rec, domain.StepExplained),
		stepOp(township, entityID(1), rec, domain.StepRectified),
		stepOp(township, entityID(1), rec, domain.StepRepaired))
	got, err := protocol.Verify(cs.Bytes(), w.reg, memChains{}, w.admin.id)
	if err != nil {
		t.Fatalf("admin dishonesty change set refused: %v", err)
	}
	if !reflect.DeepEqual(got.Ops, cs.Ops) {
		t.Fatalf("ops differ after decode:\n%+v\n%+v", got.Ops, cs.Ops)
	}
	for i := range got.Ops {
		b := protocol.AppendOp(nil, &got.Ops[i])
		op, err := protocol.DecodeOp(b)
		if err != nil || !reflect.DeepEqual(op, got.Ops[i]) {
			t.Fatalf("op %d: DecodeOp(AppendOp) = %+v, %v", i, op, err)
		}
	}
}

func TestDishonestyForgedByTownship(t *testing.T) {
	w := newWorld(t)
	for _, op := range []protocol.Op{dishonestyOp(township, entityID(1), entityID(9)), stepOp(township, entityID(1), entityID(9), domain.StepRepaired)} {
		for _, role := range []domain.Role{domain.RoleLeader, domain.RoleStaff} {
			cs := w.set(t, w.town, role, nil, op)
			_, err := protocol.Verify(cs.Bytes(), w.reg, memChains{}, w.town.id)
			if !errors.Is(err, protocol.ErrNotAuthorized) || protocol.CodeOf(err) != protocol.CodeNotAuthorized {
				t.Errorf("%s by township %s: err %v, want not_authorized", op.Kind, role, err)
			}
		}
	}
	// An admin device whose signed-in user is not a county admin.
	cs := w.set(t, w.admin, domain.RoleLeader, nil, dishonestyOp(township, entityID(1), entityID(9)))
	if _, err := protocol.Verify(cs.Bytes(), w.reg, memChains{}, w.admin.id); protocol.CodeOf(err) != protocol.CodeNotAuthorized {
		t.Errorf("dishonesty by a leader on an admin device: %v", err)
	}
}

func TestDishonestyValidate(t *testing.T) {
	rec, target := entityID(9), entityID(1)
	bad := map[string]func(op *protocol.Op){
		"no record":      func(op *protocol.Op) { op.Dishonesty.Record = protocol.EntityID{} },
		"no reason":      func(op *protocol.Op) { op.Reason = " " },
		"unknown type":   func(op *protocol.Op) { op.Dishonesty.Type = "rumour" },
		"no official":    func(op *protocol.Op) { op.Dishonesty.Official = "" },
		"step on record": func(op *protocol.Op) { op.Dishonesty.Step = domain.StepRepaired },
		"no body":        func(op *protocol.Op) { op.Dishonesty = nil },
		"writes":         func(op *protocol.Op) { op.Writes = []protocol.FieldWrite{{Field: domain.FieldTitle, Value: "x"}} },
		"unsorted":       func(op *protocol.Op) { op.Dishonesty.Evidence = []protocol.Hash{{2}, {1}} },
		"body on resolve": func(op *protocol.Op) {
			*op = resolveOp(township, target, opID(newDevice(t, "a", township, false), 1), opID(newDevice(t, "b", township, false), 1))
			op.Dishonesty = &protocol.Dishonesty{}
		},
	}
	for name, edit := range bad {
		op := number(1, hlc0, dishonestyOp(township, target, rec))[0]
		edit(&op)
		if err := op.Validate(domain.RoleCountyAdmin, true); !errors.Is(err, protocol.ErrInvalidOperation) {
			t.Errorf("%s: %v, want invalid_operation", name, err)
		}
	}
	badStep := map[string]func(op *protocol.Op){
		"unknown step":              func(op *protocol.Op) { op.Dishonesty.Step = "forgiven" },
		"recorded as step":          func(op *protocol.Op) { op.Dishonesty.Step = domain.StepRecorded },
		"repair without evidence":   func(op *protocol.Op) { op.Dishonesty.Evidence = nil },
		"step changes the type":     func(op *protocol.Op) { op.Dishonesty.Type = domain.DishonestyBreach },
		"step changes the official": func(op *protocol.Op) { op.Dishonesty.Official = "张三" },
	}
	for name, edit := range badStep {
		op := number(1, hlc0, stepOp(township, target, rec, domain.StepRepaired))[0]
		edit(&op)
		if err := op.Validate(domain.RoleCountyAdmin, true); !errors.Is(err, protocol.ErrInvalidOperation) {
			t.Errorf("%s: %v, want invalid_operation", name, err)
		}
	}
	op := number(1, hlc0, stepOp(township, target, rec, domain.StepExplained))[0]
	op.Dishonesty.Explanation = ""
	if err := op.Validate(domain.RoleCountyAdmin, true); !errors.Is(err, protocol.ErrInvalidOperation) {
		t.Errorf("explained without explanation: %v", err)
	}
	for _, ty := range domain.DishonestyTypes() {
		op := number(1, hlc0, dishonestyOp(township, target, rec))[0]
		op.Dishonesty.Type = ty
		if err := op.Validate(domain.RoleCountyAdmin, true); err != nil {
			t.Errorf("type %s: %v", ty, err)
		}
	}
}

// TestDishonestyNewStepsRoundTrip: every step survives the encoding, in
// change sets of the county (its steps) and of a township leader (the
// submissions), and only the steps with a detail grow by it.
func TestDishonestyNewStepsRoundTrip(t *testing.T) {
	w := newWorld(t)
	rec, target := entityID(9), entityID(1)
	var county, town []protocol.Op
	for _, s := range domain.DishonestySteps() {
		if s.AdminOnly() {
			county = append(county, stepOp(township, target, rec, s))
		} else {
			town = append(town, stepOp(township, target, rec, s))
		}
	}
	for _, c := range []struct {
		dev  *device
		role domain.Role
		ops  []protocol.Op
	}{{w.admin, domain.RoleCountyAdmin, county}, {w.town, domain.RoleLeader, town}} {
		cs := w.set(t, c.dev, c.role, nil, c.ops...)
		got, err := protocol.Verify(cs.Bytes(), w.reg, memChains{}, c.dev.id)
		if err != nil {
			t.Fatalf("%s: %v", c.role, err)
		}
		if !reflect.DeepEqual(got.Ops, cs.Ops) {
			t.Fatalf("ops differ after decode:\n%+v\n%+v", got.Ops, cs.Ops)
		}
		for i := range got.Ops {
			op := got.Ops[i]
			b := protocol.AppendOp(nil, &op)
			back, err := protocol.DecodeOp(b)
			if err != nil || !reflect.DeepEqual(back, op) {
				t.Fatalf("%s: DecodeOp(AppendOp) = %+v, %v", op.Dishonesty.Step, back, err)
			}
			// Without its detail the op is one string shorter: the detail
			// is there for † steps and only for them.
			bare := op
			d := *op.Dishonesty
			d.Detail = ""
			bare.Dishonesty = &d
			extra := len(b) - len(protocol.AppendOp(nil, &bare))
			want := 0
			if op.Dishonesty.Step.HasDetail() {
				want = len(op.Dishonesty.Detail) // its length fits one varint byte
			}
			if extra != want {
				t.Errorf("%s: the detail takes %d bytes, want %d", op.Dishonesty.Step, extra, want)
			}
		}
	}
}

// TestDishonestyOldStepBytes: a step of the first release encodes exactly
// as it did: body fields up to the evidence, nothing after.
func TestDishonestyOldStepBytes(t *testing.T) {
	for _, s := range []domain.DishonestyStep{domain.StepExplained, domain.StepRectified, domain.StepRepaired} {
		op := number(1, hlc0, stepOp(township, entityID(1), entityID(9), s))[0]
		b := protocol.AppendOp(nil, &op)
		d := op.Dishonesty
		var tail []byte
		tail = append(tail, d.Record[:]...)
		tail = append(tail, 0, 0, 0) // type, official, deadline
		tail = appendStr(tail, d.Explanation)
		tail = appendStr(tail, string(d.Step))
		tail = append(tail, byte(len(d.Evidence)))
		for _, h := range d.Evidence {
			tail = append(tail, h[:]...)
		}
		if !bytes.HasSuffix(b, tail) {
			t.Errorf("%s: the body does not end with its evidence:\n%x\nwant suffix %x", s, b, tail)
		}
	}
}

func appendStr(b []byte, s string) []byte { return append(append(b, byte(len(s))), s...) }

// TestDishonestyStepSigners: who may sign each step, checked by Verify as a
// receiver would (the role and device rules, and the scope rule for a
// township device writing for another office).
func TestDishonestyStepSigners(t *testing.T) {
	w := newWorld(t)
	rec, target := entityID(9), entityID(1)
	type signer struct {
		name string
		dev  *device
		role domain.Role
	}
	leader := signer{"township leader", w.town, domain.RoleLeader}
	staff := signer{"township staff", w.town, domain.RoleStaff}
	admin := signer{"county admin", w.admin, domain.RoleCountyAdmin}
	adminLeader := signer{"leader on the county-admin device", w.admin, domain.RoleLeader}
	neighbour := signer{"leader of another township", w.neigh, domain.RoleLeader}
	for _, step := range domain.DishonestySteps() {
		for _, s := range []signer{leader, staff, admin, adminLeader, neighbour} {
			want := protocol.CodeNotAuthorized
			switch {
			case s == neighbour:
				want = protocol.CodeOutOfScope
			case step.AdminOnly() && s == admin, !step.AdminOnly() && s == leader:
				want = protocol.CodeOK
			}
			cs := w.set(t, s.dev, s.role, nil, stepOp(township, target, rec, step))
			_, err := protocol.Verify(cs.Bytes(), w.reg, memChains{}, s.dev.id)
			if got := protocol.CodeOf(err); got != want {
				t.Errorf("%s by %s: %q (%v), want %q", step, s.name, got, err, want)
			}
		}
	}
}

// TestDishonestyStepRules: each rule of the design's table, broken once,
// is refused as an invalid operation; what a rule leaves optional passes.
func TestDishonestyStepRules(t *testing.T) {
	rec, target := entityID(9), entityID(1)
	long := strings.Repeat("实", protocol.MaxDishonestyDetailBytes/3+1)
	type rule struct {
		name string
		step domain.DishonestyStep
		edit func(d *protocol.Dishonesty, op *protocol.Op)
		ok   bool
	}
	rules := []rule{
		{"explanation submitted without it", domain.StepExplanationSubmitted, func(d *protocol.Dishonesty, _ *protocol.Op) { d.Explanation = " \n" }, false},
		{"explanation submitted with a reason", domain.StepExplanationSubmitted, func(_ *protocol.Dishonesty, op *protocol.Op) { op.Reason = "补充说明" }, true},
		{"explanation submitted with a scan", domain.StepExplanationSubmitted, func(d *protocol.Dishonesty, _ *protocol.Op) { d.Evidence = []protocol.Hash{{1}} }, true},
		{"rectification submitted without evidence", domain.StepRectificationSubmitted, func(d *protocol.Dishonesty, _ *protocol.Op) { d.Evidence = nil }, false},
		{"rectification submitted without a description", domain.StepRectificationSubmitted, func(_ *protocol.Dishonesty, op *protocol.Op) { op.Reason = "" }, false},
		{"rectification submitted with an explanation", domain.StepRectificationSubmitted, func(d *protocol.Dishonesty, _ *protocol.Op) { d.Explanation = "说明" }, false},
		{"returned without a reason", domain.StepReturned, func(_ *protocol.Dishonesty, op *protocol.Op) { op.Reason = "　" }, false},
		{"returned with a detail", domain.StepReturned, func(d *protocol.Dishonesty, _ *protocol.Op) { d.Detail = "public_criticism" }, false},
		{"sanction without a measure", domain.StepSanctioned, func(d *protocol.Dishonesty, _ *protocol.Op) { d.Detail = "" }, false},
		{"unknown sanction", domain.StepSanctioned, func(d *protocol.Dishonesty, _ *protocol.Op) { d.Detail = "fine" }, false},
		{"sanction without a reason", domain.StepSanctioned, func(_ *protocol.Dishonesty, op *protocol.Op) { op.Reason = "" }, false},
		{"sanction with an explanation", domain.StepSanctioned, func(d *protocol.Dishonesty, _ *protocol.Op) { d.Explanation = "说明" }, false},
		{"sanction with its decision", domain.StepSanctioned, func(d *protocol.Dishonesty, _ *protocol.Op) { d.Evidence = []protocol.Hash{{2}} }, true},
		{"other sanction", domain.StepSanctioned, func(d *protocol.Dishonesty, _ *protocol.Op) { d.Detail = string(domain.SanctionOther) }, true},
		{"unknown mitigation", domain.StepMitigated, func(d *protocol.Dishonesty, _ *protocol.Op) { d.Detail = "pardon" }, false},
		{"mitigation without a reason", domain.StepMitigated, func(_ *protocol.Dishonesty, op *protocol.Op) { op.Reason = "" }, false},
		{"exemption", domain.StepMitigated, func(d *protocol.Dishonesty, _ *protocol.Op) { d.Detail = string(domain.MitigationExempt) }, true},
		{"correction without facts", domain.StepCorrected, func(d *protocol.Dishonesty, _ *protocol.Op) { d.Detail = "\t" }, false},
		{"correction without a reason", domain.StepCorrected, func(_ *protocol.Dishonesty, op *protocol.Op) { op.Reason = "" }, false},
		{"corrected facts too long", domain.StepCorrected, func(d *protocol.Dishonesty, _ *protocol.Op) { d.Detail = long }, false},
		{"corrected facts with a control character", domain.StepCorrected, func(d *protocol.Dishonesty, _ *protocol.Op) { d.Detail = "事实\x00" }, false},
		{"withdrawal without a reason", domain.StepWithdrawn, func(_ *protocol.Dishonesty, op *protocol.Op) { op.Reason = "" }, false},
		{"withdrawal with a deadline", domain.StepWithdrawn, func(d *protocol.Dishonesty, _ *protocol.Op) { d.Deadline = calendar.NewDate(2027, 1, 1) }, false},
		{"a detail on an old step", domain.StepExplained, func(d *protocol.Dishonesty, _ *protocol.Op) { d.Detail = "x" }, false},
		{"an explanation on an old step, as ever", domain.StepRectified, func(d *protocol.Dishonesty, _ *protocol.Op) { d.Explanation = "附说明" }, true},
	}
	for _, r := range rules {
		op := number(1, hlc0, stepOp(township, target, rec, r.step))[0]
		r.edit(op.Dishonesty, &op)
		role, admin := domain.RoleCountyAdmin, true
		if !r.step.AdminOnly() {
			role, admin = domain.RoleLeader, false
		}
		err := op.Validate(role, admin)
		if r.ok && err != nil {
			t.Errorf("%s: refused: %v", r.name, err)
		}
		if !r.ok && !errors.Is(err, protocol.ErrInvalidOperation) {
			t.Errorf("%s: %v, want invalid_operation", r.name, err)
		}
	}
	// A detail on the record itself is refused: it would not be encoded.
	op := number(1, hlc0, dishonestyOp(township, target, rec))[0]
	op.Dishonesty.Detail = "public_criticism"
	if err := op.Validate(domain.RoleCountyAdmin, true); !errors.Is(err, protocol.ErrInvalidOperation) {
		t.Errorf("detail on a record: %v", err)
	}
	// Over its limit the detail does not even decode.
	op = number(1, hlc0, stepOp(township, target, rec, domain.StepCorrected))[0]
	op.Dishonesty.Detail = long
	if _, err := protocol.DecodeOp(protocol.AppendOp(nil, &op)); protocol.CodeOf(err) != protocol.CodeMalformed {
		t.Errorf("decoding a detail of %d bytes: %v", len(long), err)
	}
}
