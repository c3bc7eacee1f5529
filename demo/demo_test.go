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
	if p, _ := d.Township.Pending(); p.PendingOps != 0 || p.OutboxChangeSets != 0 {
		t.Fatalf("demo leaves unsynchronised work: %+v", p)
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
	colleague, err := d.Colleague.SignIn(Colleague, Passphrase)
	if err != nil {
		t.Fatal(err)
	}
	c, err := StartCounty(dir, auth.TestParams(), d.Leader, colleague)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
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
