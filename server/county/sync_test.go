package county_test

import (
	"bytes"
	"testing"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// TestThreeDevicesOfOneTownshipConverge: three devices of one township and
// one of another enrol, work offline, sync; the township's replicas end
// equal, the county has everything, the other township sees none of it, and
// each device holds a county receipt for every change set it made.
func TestThreeDevicesOfOneTownshipConverge(t *testing.T) {
	h := newHarness(t)
	a1 := h.device(townA, domain.RoleLeader)
	a2 := h.device(townA, domain.RoleLeader)
	a3 := h.device(townA, domain.RoleStaff)
	b1 := h.device(townB, domain.RoleLeader)

	ref := a1.create("便民服务窗口午间值守")
	if err := a1.se.Publish(ref); err != nil {
		t.Fatal(err)
	}
	a2.create("老旧小区加装电梯答复")
	b1.create("合峪镇的承诺")
	for _, d := range []*device{a1, a2, a3, b1} {
		d.sync()
	}
	// a3 logs fulfilment on a1's commitment with evidence, offline.
	photo := bytes.Repeat([]byte("现场照片"), 40_000) // 480 KB: several chunks
	ev, err := a3.se.AddEvidence("值守照片.jpg", "image/jpeg", bytes.NewReader(photo))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a3.se.LogFulfilment(ref, store.EntryInput{Date: calendar.NewDate(2026, 11, 20), Progress: 50, Note: "已安排专人值守", Evidence: []protocol.Hash{ev}}); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 2; round++ {
		for _, d := range []*device{a3, a1, a2, b1} {
			d.sync()
		}
	}
	if a1.digest() != a2.digest() || a1.digest() != a3.digest() {
		t.Fatal("the township's replicas differ after syncing")
	}
	all, _ := a2.st.AllCommitments()
	if len(all) != 2 {
		t.Fatalf("township A replica has %d commitments, want 2", len(all))
	}
	c, _ := a2.st.Commitment(ref)
	if c.Entries != 1 || c.Progress != 50 || c.Status != domain.StatusPublished {
		t.Fatalf("fulfilment did not reach a2: %+v", c)
	}
	got, err := a1.st.EvidenceContent(ev)
	if err != nil || !bytes.Equal(got, photo) {
		t.Fatalf("evidence content did not reach a1: %v", err)
	}
	others, _ := b1.st.AllCommitments()
	if len(others) != 1 || others[0].Office != townB {
		t.Fatalf("township B sees %d commitments: %+v", len(others), others)
	}
	county, _ := h.srv.Store().AllCommitments()
	if len(county) != 3 {
		t.Fatalf("county has %d commitments, want 3", len(county))
	}
	for _, d := range []*device{a1, a2, a3, b1} {
		p, _ := d.st.Pending()
		if p.OutboxChangeSets != 0 || p.PendingOps != 0 {
			t.Fatalf("device still has unsent work: %+v", p)
		}
		seq, raw, err := d.st.LastReceipt()
		if err != nil {
			t.Fatal(err)
		}
		rc, err := protocol.OpenReceipt(raw, h.key)
		if err != nil || rc.Seq != seq || rc.Device != d.se.Device().ID || rc.County != countyCode {
			t.Fatalf("receipt does not verify with the county key: %v %+v", err, rc)
		}
	}
}

// TestConflictQueuedAndResolvedThroughServer: two devices edit the same
// field offline; the conflict appears once in the county's queue and on
// every replica; a county-admin device resolves it and every device
// converges on the decision.
func TestConflictQueuedAndResolvedThroughServer(t *testing.T) {
	h := newHarness(t)
	a1 := h.device(townA, domain.RoleLeader)
	a2 := h.device(townA, domain.RoleLeader)
	adm := h.device(countyCode, domain.RoleCountyAdmin)
	ref := a1.create("村级公厕改造")
	a1.sync()
	a2.sync()
	if err := a1.se.Edit(ref, domain.FieldTitle, "村级公厕改造10座"); err != nil {
		t.Fatal(err)
	}
	if err := a2.se.Edit(ref, domain.FieldTitle, "村级公厕改造12座"); err != nil {
		t.Fatal(err)
	}
	a1.sync()
	a2.sync()
	a1.sync()
	queue, err := h.srv.Store().Conflicts()
	if err != nil || len(queue) != 1 || queue[0].Field != domain.FieldTitle || len(queue[0].Versions) != 2 {
		t.Fatalf("county conflict queue: %+v %v", queue, err)
	}
	adm.sync()
	if err := adm.se.Resolve(ref, domain.FieldTitle, "村级公厕改造12座（含2座补建）", "以镇政府会议纪要为准"); err != nil {
		t.Fatal(err)
	}
	adm.sync()
	a1.sync()
	a2.sync()
	for _, d := range []*device{a1, a2, adm} {
		c, _ := d.st.Commitment(ref)
		if c.Title != "村级公厕改造12座（含2座补建）" || c.IsConflicted() {
			t.Fatalf("after resolution: %q conflicted %v", c.Title, c.Conflicted)
		}
	}
	if q, _ := h.srv.Store().Conflicts(); len(q) != 0 {
		t.Fatalf("conflict still queued: %+v", q)
	}
	if a1.digest() != a2.digest() {
		t.Fatal("township replicas differ after resolution")
	}
}
