package e2e

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"testing"

	"jiannuo/app/vm"
	"jiannuo/domain"
	"jiannuo/server/county/countytest"
	"jiannuo/server/municipal"
	"jiannuo/server/public"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// gate cuts a device off the network: while shut, its engine cannot dial.
type gate struct {
	mu   sync.Mutex
	shut bool
}

var errCut = errors.New("the device is offline")

func (g *gate) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	g.mu.Lock()
	shut := g.shut
	g.mu.Unlock()
	if shut {
		return nil, errCut
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func (g *gate) set(shut bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.shut = shut
}

// countyMember reads the county's cluster status as the node sees it.
func countyMember(s municipal.Status) municipal.CountyStatus {
	for _, cs := range s.Counties {
		if cs.County == county {
			return cs
		}
	}
	return municipal.CountyStatus{}
}

// TestTiersOffline: two complaints filed while the county server is down
// wait on the municipal node (the tracking page says they are on their
// way) and arrive once each when it is back; a township device offline
// while the county moves the deadlines and closes the case gets all of it
// once it syncs. In the end the county, the node and both devices hold
// every case alike, each event once, and the node holds exactly the
// county's replica.
func TestTiersOffline(t *testing.T) {
	c := newCity(t, beforeNationalDay)
	leader := c.device(townA, domain.RoleLeader, "王镇长")
	var cut gate
	staff := c.enrol(countytest.DeviceConfig{Office: townA, Role: domain.RoleStaff, DisplayName: "李干事", NetDial: cut.dial})
	ref := publish(t, leader, "村口路灯损坏三日内修复")
	leader.Sync()
	c.converge()

	// The county is down while the public files.
	c.county.Kill()
	c.node.waitFor("the county seen failed", func(s municipal.Status) bool { return countyMember(s).Member == "failed" })
	type filed struct{ number, code string }
	var cases []filed
	for _, text := range []string{complaintText, "村口路灯又不亮了，晚上出行不便。"} {
		number, code := c.site.file(commitmentPath(ref)+"/file", filing{kind: "complaint", text: text, name: filerName, phone: filerPhone})
		cases = append(cases, filed{number, code})
	}
	if got := countyMember(c.node.n.Status()).IntakesPending; got != 2 {
		t.Fatalf("%d filings wait on the node, want 2", got)
	}
	_, tracked := c.site.track(cases[0].number, cases[0].code)
	contains(t, "the tracking page of a filing on its way", tracked, cases[0].number, "已提交，正在转交县级平台", complaintText)

	// Back up: each arrives once.
	c.county.Start()
	var ids []protocol.EntityID
	for _, f := range cases {
		ids = append(ids, c.node.waitIntake(f.number, public.IntakeAccepted))
	}
	c.converge()
	for what, st := range map[string]*store.Store{"the county": c.county.Store(), "the municipal node": c.node.n.Store()} {
		if cs, err := st.Cases(store.CaseFilter{}); err != nil || len(cs) != 2 {
			t.Fatalf("%s holds %d cases: %v", what, len(cs), err)
		}
	}
	staff.Sync() // it knows them before it goes offline
	leader.Sync()

	// The staff's device is offline while the township answers the first
	// case from the leader's device and the county moves the second one's
	// deadline, then accepts the first and withdraws the second.
	cut.set(true)
	if err := staff.TrySync(); !errors.Is(err, errCut) {
		t.Fatalf("the offline device synced: %v", err)
	}
	today := c.clock.today()
	first := store.Ref{Office: townA, ID: ids[0]}
	l, row := caseRow(t, leader, first, today)
	if err := l.Acknowledge(row, today); err != nil {
		t.Fatal(err)
	}
	row, _ = l.Lookup(first)
	if err := l.DraftReply(row, vm.ReplyForm{Text: replyText}, today); err != nil {
		t.Fatal(err)
	}
	row, _ = l.Lookup(first)
	if err := l.Approve(row, today); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, step := range []struct {
		number, action string
		d              countyapi.CaseDecision
	}{
		{cases[1].number, "assign", countyapi.CaseDecision{AckDue: wantAckDue, AnswerDue: "2026-11-06"}},
		{cases[0].number, "accept", countyapi.CaseDecision{Finding: domain.FindingUpheld, Reason: acceptNote}},
		{cases[1].number, "withdraw", countyapi.CaseDecision{Reason: "与 " + cases[0].number + " 反映的是同一事项，合并办理。"}},
	} {
		if _, err := c.api.DecideCase(ctx, step.number, step.action, step.d); err != nil {
			t.Fatalf("%s %s: %v", step.action, step.number, err)
		}
	}

	// Online again: everything arrives, once.
	cut.set(false)
	staff.Sync()
	leader.Sync()
	c.converge()
	replicas := map[string]*store.Store{"the municipal node": c.node.n.Store(), "the leader's device": leader.Store, "the staff's device": staff.Store}
	accepted := c.sameCase(townA, ids[0], replicas)
	withdrawn := c.sameCase(townA, ids[1], replicas)
	if !accepted.Closed || accepted.ClosedBy != domain.CaseAccepted || !withdrawn.Closed || withdrawn.ClosedBy != domain.CaseWithdrawn ||
		withdrawn.AnswerDue != "2026-11-06" {
		t.Fatalf("the cases: %s by %s; %s by %s, answer due %s", accepted.Status, accepted.ClosedBy, withdrawn.Status, withdrawn.ClosedBy, withdrawn.AnswerDue)
	}
	for what, st := range replicas {
		if cs, err := st.Cases(store.CaseFilter{}); err != nil || len(cs) != 2 {
			t.Fatalf("%s holds %d cases: %v", what, len(cs), err)
		}
	}
	cd, err := c.county.Store().Digest()
	if err != nil {
		t.Fatal(err)
	}
	if nd, err := c.node.n.Store().Digest(); err != nil || nd != cd {
		t.Fatalf("the node's replica is not the county's: %v", err)
	}
	if status, page := c.site.get(commitmentPath(ref)); status != http.StatusOK {
		t.Fatalf("the commitment page: %d", status)
	} else {
		contains(t, "the commitment page", page, cases[0].number, cases[1].number, replyText, "已撤销")
	}
	c.nowhere()
}
