package protocol_test

import (
	"errors"
	"reflect"
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

func stepOp(off office.Code, target, record protocol.EntityID, step domain.DishonestyStep) protocol.Op {
	d := &protocol.Dishonesty{Record: record, Step: step}
	switch step {
	case domain.StepExplained:
		d.Explanation = "书面说明已收到"
	default:
		d.Evidence = protocol.SortHashes([]protocol.Hash{protocol.HashOf([]byte("整改报告")), protocol.HashOf([]byte("走访台账"))})
	}
	return protocol.Op{Kind: protocol.OpDishonestyStep, Office: off, Target: target, Reason: "按期完成整改", Dishonesty: d}
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
