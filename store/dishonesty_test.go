package store

import (
	"bytes"
	"errors"
	"testing"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/sync/protocol"
)

func TestDishonestyRecords(t *testing.T) {
	town := newReplica(t, township, domain.RoleLeader)
	adminA := newReplica(t, county, domain.RoleCountyAdmin)
	adminB := newReplica(t, county, domain.RoleCountyAdmin)
	introduce(t, town, adminA, adminB)

	ref, err := town.se.Create(sampleDraft("每月走访独居老人"))
	if err != nil {
		t.Fatal(err)
	}
	if err := town.se.Publish(ref); err != nil {
		t.Fatal(err)
	}
	townSets := town.seal(t, 0)
	deliver(t, adminA, townSets...)
	deliver(t, adminB, townSets...)

	// A township user cannot record one through the session.
	if _, err := town.se.RecordDishonesty(ref, DishonestyInput{Type: domain.DishonestyBreach, Reason: "x"}); !errors.Is(err, domain.ErrNotAllowed) {
		t.Fatalf("township RecordDishonesty: %v", err)
	}

	rec, err := adminA.se.RecordDishonesty(ref, DishonestyInput{Type: domain.DishonestyBreach, Reason: "逾期三个月未走访",
		Deadline: calendar.NewDate(2026, 12, 31)})
	if err != nil {
		t.Fatal(err)
	}
	a1 := adminA.seal(t, 0)
	deliver(t, adminB, a1...)
	// Concurrently: B records the explanation, A the rectification.
	if err := adminB.se.DishonestyStep(township, rec, domain.StepExplained, "收到书面说明", "人员调整导致遗漏", nil); err != nil {
		t.Fatal(err)
	}
	ev, err := adminA.se.AddEvidence("整改报告.pdf", "application/pdf", bytes.NewReader([]byte("%PDF 整改报告")))
	if err != nil {
		t.Fatal(err)
	}
	if err := adminA.se.DishonestyStep(township, rec, domain.StepRectified, "已补走访并建立台账", "", []protocol.Hash{ev}); err != nil {
		t.Fatal(err)
	}
	// Steps only go forward.
	if err := adminA.se.DishonestyStep(township, rec, domain.StepExplained, "迟到的说明", "说明", nil); !errors.Is(err, ErrNotEditable) {
		t.Fatalf("backward step: %v", err)
	}
	a2 := adminA.seal(t, uint64(len(a1)))
	b1 := adminB.seal(t, 0)

	// Two township replicas receive everything in different orders: the
	// second sees B's step before the record it belongs to.
	t1 := newReplica(t, township, domain.RoleStaff)
	t2 := newReplica(t, township, domain.RoleStaff)
	introduce(t, town, adminA, adminB, t1, t2)
	deliver(t, t1, townSets...)
	deliver(t, t1, a1...)
	deliver(t, t1, a2...)
	deliver(t, t1, b1...)

	deliver(t, t2, b1...)
	got, err := t2.DishonestyRecords(DishonestyFilter{})
	if err != nil || len(got) != 1 || got[0].Recorded {
		t.Fatalf("a step ahead of its record: %+v, %v", got, err)
	}
	deliver(t, t2, townSets...)
	deliver(t, t2, a1...)
	deliver(t, t2, a2...)
	if digest(t, t1.Store) != digest(t, t2.Store) {
		t.Fatal("replicas that received the same dishonesty records in different orders differ")
	}
	deliver(t, adminA, b1...)
	if digest(t, t1.Store) != digest(t, adminA.Store) {
		t.Fatal("admin replica differs from township replicas")
	}

	got, err = t1.DishonestyRecords(DishonestyFilter{Office: county})
	if err != nil || len(got) != 1 {
		t.Fatalf("records: %+v, %v", got, err)
	}
	r := got[0]
	if !r.Recorded || r.Commitment != ref || r.Type != domain.DishonestyBreach || r.Official != "王建国" ||
		r.Deadline != "2026-12-31" || r.Status != domain.StepRectified || r.Closed || r.Explanation != "人员调整导致遗漏" || len(r.History) != 3 {
		t.Fatalf("record: %+v", r)
	}

	// Filters.
	for _, f := range []DishonestyFilter{{Office: township2}, {Type: domain.DishonestyCourtJudgment}, {Commitment: &Ref{Office: township}}} {
		if got, _ := t1.DishonestyRecords(f); len(got) != 0 {
			t.Errorf("filter %+v selects %d", f, len(got))
		}
	}

	// Credit repair closes it.
	if err := adminA.se.DishonestyStep(township, rec, domain.StepRepaired, "整改到位，准予信用修复", "", []protocol.Hash{ev}); err != nil {
		t.Fatal(err)
	}
	deliver(t, t1, adminA.seal(t, uint64(len(a1)+len(a2)))...)
	if got, _ := t1.DishonestyRecords(DishonestyFilter{OpenOnly: true}); len(got) != 0 {
		t.Fatalf("closed record still open: %+v", got)
	}
	r, err = t1.DishonestyRecord(township, rec)
	if err != nil || !r.Closed || r.Status != domain.StepRepaired || len(r.History) != 4 {
		t.Fatalf("after repair: %+v, %v", r, err)
	}
	if err := adminA.se.DishonestyStep(township, rec, domain.StepRepaired, "again", "", []protocol.Hash{ev}); !errors.Is(err, ErrNotEditable) {
		t.Fatalf("step on a closed record: %v", err)
	}
}

// A township device that forges a dishonesty record with its own key is
// refused with not_authorized and nothing is stored.
func TestDishonestyForgedByTownship(t *testing.T) {
	town := newReplica(t, township, domain.RoleLeader)
	other := newReplica(t, township, domain.RoleLeader)
	introduce(t, town, other)
	ref, err := town.se.Create(sampleDraft("承诺"))
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, other, town.seal(t, 0)...)
	head := mustHead(t, town)
	for _, kind := range []protocol.OpKind{protocol.OpDishonesty, protocol.OpDishonestyStep} {
		op := protocol.Op{Num: head.LastOp + 1, HLC: protocol.HLC(1 << 40), Kind: kind, Office: township, Target: ref.ID,
			Reason: "伪造", Dishonesty: &protocol.Dishonesty{Record: protocol.NewEntityID(), Type: domain.DishonestyBreach, Official: "王"}}
		if kind == protocol.OpDishonestyStep {
			op.Dishonesty = &protocol.Dishonesty{Record: op.Dishonesty.Record, Step: domain.StepRepaired, Evidence: []protocol.Hash{{1}}}
		}
		for _, role := range []domain.Role{domain.RoleLeader, domain.RoleCountyAdmin} {
			cs := &protocol.ChangeSet{Device: town.se.Device().ID, Office: township, Author: "user", AuthorRole: role,
				Seq: head.Seq + 1, Prev: head.Hash, Ops: []protocol.Op{op}}
			if err := cs.Seal(town.se.key); err != nil {
				t.Fatal(err)
			}
			d0 := digest(t, other.Store)
			res, err := other.Apply(cs.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if res[0].Code != protocol.CodeNotAuthorized || digest(t, other.Store) != d0 {
				t.Fatalf("forged %s as %s: %q", kind, role, res[0].Code)
			}
			if got, _ := other.DishonestyRecords(DishonestyFilter{}); len(got) != 0 {
				t.Fatalf("forged record stored: %+v", got)
			}
		}
	}
}
