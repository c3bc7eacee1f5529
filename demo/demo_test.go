package demo

import (
	"context"
	"testing"
	"time"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/store"
	"jiannuo/sync/engine"
)

// TestDemoCoversWhatTheDesktopShows checks the embedded default has what
// the README promises: every category of §五(七), every status, overdue
// and due-soon items, replicas in agreement, and a consistent store.
func TestDemoCoversWhatTheDesktopShows(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	d, err := Build(Config{Dir: t.TempDir(), Now: now, KDF: auth.TestParams()})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	all, err := d.Township.AllCommitments()
	if err != nil {
		t.Fatal(err)
	}
	cats := map[domain.Category]bool{}
	statuses := map[domain.Status]bool{}
	due := map[domain.DueState]int{}
	for _, c := range all {
		cats[c.Category] = true
		statuses[c.Status] = true
		due[domain.ComputeDue(c.Status, c.Start(), c.DeadlineValue(), d.Today, d.Calendar).State]++
	}
	for _, c := range domain.PublicServiceCategories() {
		if !cats[c] {
			t.Errorf("no demo commitment in category %s", c)
		}
	}
	for _, s := range domain.Statuses() {
		if !statuses[s] {
			t.Errorf("no demo commitment in status %s", s)
		}
	}
	if due[domain.DueOverdue] == 0 || due[domain.DueSoon] == 0 {
		t.Errorf("demo needs overdue and due-soon items: %v", due)
	}
	for _, s := range []*store.Store{d.Township, d.Colleague, d.County} {
		if err := s.Check(); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := d.Township.Digest()
	b, _ := d.Colleague.Digest()
	c, _ := d.County.Digest()
	if a != b || b != c {
		t.Fatal("demo replicas differ after exchanging every change set")
	}
	// Every device knows the people behind the others' logins.
	colleagueDev, err := d.Colleague.Device()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*store.Store{d.Township, d.County} {
		people, err := s.People()
		if err != nil {
			t.Fatal(err)
		}
		if got := people.Name(colleagueDev, Colleague); got != "李强" {
			t.Errorf("%s names the colleague %q", s.Path(), got)
		}
	}
	if p, _ := d.Township.Pending(); p.PendingOps != 0 || p.OutboxChangeSets == 0 {
		t.Fatalf("demo work not sealed, or not waiting for the county: %+v", p)
	}
	// The local county takes every device's work in and receipts it: the
	// demo opens with nothing waiting and every badge truthful.
	county, err := d.StartCounty(context.Background(), auth.TestParams())
	if err != nil {
		t.Fatal(err)
	}
	defer county.Close()
	for _, s := range []*store.Store{d.Township, d.Colleague, d.County} {
		if p, _ := s.Pending(); p.PendingOps != 0 || p.OutboxChangeSets != 0 {
			t.Fatalf("demo leaves unsynchronised work after the local county: %+v", p)
		}
	}
	if a, _ := county.Server.Store().Digest(); a != c {
		t.Fatal("the local county differs from the demo devices")
	}
}

func TestDemoReopensWithoutReseeding(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, KDF: auth.TestParams()}
	d, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := d.Township.AllCommitments()
	if _, err := d.Leader.Create(store.Draft{Category: domain.CatParking, Title: "用户自己加的", Text: "正文", Responsible: "某人"}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d, err = Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	again, _ := d.Township.AllCommitments()
	if len(again) != len(first)+1 {
		t.Fatalf("reopened demo has %d commitments, want %d (the user's work kept, nothing seeded twice)", len(again), len(first)+1)
	}
}

// TestDemoSyncsWithLocalCounty: the demo's local county server enrols the
// demo devices and the township's work reaches the colleague through it.
func TestDemoSyncsWithLocalCounty(t *testing.T) {
	dir := t.TempDir()
	d, err := Build(Config{Dir: dir, KDF: auth.TestParams()})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c, err := d.StartCounty(context.Background(), auth.TestParams())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	colleague, err := d.Colleague.SignIn(Colleague, Passphrase)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := d.Leader.Create(store.Draft{Category: domain.CatHousing, Title: "经县级平台同步的承诺", Text: "正文", Responsible: "某人"})
	if err != nil {
		t.Fatal(err)
	}
	for _, se := range []*store.Session{d.Leader, colleague, d.Leader, colleague} {
		st, _, err := se.Store().SyncSettings()
		if err != nil || !st.Enrolled {
			t.Fatalf("sync settings not saved: %+v %v", st, err)
		}
		eng := engine.New(se, engine.Config{URL: engine.Server{BaseURL: st.BaseURL}.SyncURL(), Fingerprint: st.Fingerprint, CountyKey: st.CountyKey})
		if err := eng.SyncOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := d.Colleague.Commitment(ref); err != nil || got.Title != "经县级平台同步的承诺" {
		t.Fatalf("colleague did not receive the commitment through the local county: %v", err)
	}
}

// TestDemoHasCasesInEveryState: the cases and dishonesty screens are not
// empty: complaints open and overdue, with a draft awaiting the leader,
// with a reply awaiting the county, closed upheld (linked to the breach's
// record) and not upheld; the township's objection awaiting the county;
// the record explained, sanctioned, its rectification awaiting review; the
// filer's contact readable on the leader's device.
func TestDemoHasCasesInEveryState(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	d, err := Build(Config{Dir: t.TempDir(), Now: now, KDF: auth.TestParams()})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	cases, err := d.Township.Cases(store.CaseFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var overdue, drafted, replied, upheld, notUpheld, objection int
	for _, c := range cases {
		due := c.Due(d.Today, d.Calendar)
		switch {
		case c.Kind == domain.CaseObjection && !c.Closed && c.AnswerDue != "":
			objection++
		case c.Status == domain.CaseStatusOpen && due.AckLate:
			overdue++
			ct, err := d.Leader.CaseContact(c.Office, c.ID)
			if err != nil || ct.Name != "刘秀英" {
				t.Errorf("the overdue case's contact on the leader's device: %+v %v", ct, err)
			}
		case c.Status == domain.CaseStatusAcknowledged && c.Draft != nil:
			drafted++
		case c.Status == domain.CaseStatusReplied:
			replied++
		case c.Closed && c.Finding == domain.FindingUpheld && len(c.Linked) == 1:
			upheld++
		case c.Closed && c.Finding == domain.FindingNotUpheld:
			notUpheld++
		}
		if c.Filed >= now.UnixMilli() || c.FiledDate == d.Today.String() {
			t.Errorf("case %s filed %s, not in the past", c.Number, c.FiledDate)
		}
	}
	if overdue != 1 || drafted != 1 || replied != 1 || upheld != 1 || notUpheld != 1 || objection != 1 {
		t.Fatalf("cases: overdue %d, drafted %d, replied %d, upheld %d, not upheld %d, objection %d", overdue, drafted, replied, upheld, notUpheld, objection)
	}
	recs, err := d.Township.DishonestyRecords(store.DishonestyFilter{})
	if err != nil || len(recs) != 1 {
		t.Fatalf("records %d %v", len(recs), err)
	}
	r := recs[0]
	if r.Status != domain.StepExplained || len(r.Sanctions) != 1 || r.Pending == nil || r.Pending.Step != domain.StepRectificationSubmitted {
		t.Fatalf("record %+v", r)
	}
	for _, s := range []*store.Store{d.Township, d.Colleague, d.County} {
		if err := s.Check(); err != nil {
			t.Fatal(err)
		}
	}
}
