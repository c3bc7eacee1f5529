package vm

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"jiannuo/domain"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// syncer enrols se with the test county (approved at once) and returns a
// function that syncs it once, as the app's "sync now" does.
func (c *testCounty) syncer(t *testing.T, se *store.Session) func() {
	t.Helper()
	ctx := context.Background()
	c.request(t, se)
	if _, err := c.srv.Approve(se.Device().ID, countyapi.ApproveRequest{Admin: se.Device().Admin}, testAdmin); err != nil {
		t.Fatal(err)
	}
	en, err := engine.EnrolmentStatus(ctx, c.base, se)
	if err != nil || en.Status != "approved" {
		t.Fatalf("enrolment: %+v %v", en, err)
	}
	eng := engine.New(se, engine.Config{URL: c.base.SyncURL(), Fingerprint: c.base.Fingerprint, CountyKey: en.CountyKey,
		Logger: quiet(), MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	return func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := eng.SyncOnce(ctx); err != nil {
			t.Fatalf("sync %s: %v", se.Device().Office, err)
		}
	}
}

// TestAdminEvidenceThroughScreens: what the admin screens attach to a
// township's records — the rectification and credit-repair files of the
// 失信记录 tab, and the files of a fulfilment entry the admin logs on the
// township's commitment — is recorded for the township, so through a real
// county server the township's device receives each file, name and
// content.
func TestAdminEvidenceThroughScreens(t *testing.T) {
	c := startTestCounty(t)
	town := newTownship(t)
	adm := newAdminReplica(t)
	syncTown, syncAdm := c.syncer(t, town.leader), c.syncer(t, adm)

	ref := town.create(t, spec{title: "每月走访独居老人", status: domain.StatusInProgress})
	logged := town.create(t, spec{title: "便民服务窗口午间值守", status: domain.StatusInProgress})
	syncTown()
	syncAdm()

	// A fulfilment entry the admin logs on the township's commitment.
	dir := t.TempDir()
	photo := bytes.Repeat([]byte("督查照片"), 30_000) // several chunks
	f := validFulfil()
	f.Evidence = []string{writeFile(t, dir, "督查照片.jpg", photo)}
	if err := LogFulfil(adm, logged, f); err != nil {
		t.Fatal(err)
	}

	// The breach, then its rectification and credit repair from the list.
	form := NewBreachForm(adminEvidenceCommitment(t, adm, ref), testToday)
	form.Deadline, form.Reason = "2026-12-31", "逾期未走访"
	if _, err := ConfirmBreach(adm, ref, form); err != nil {
		t.Fatal(err)
	}
	l := NewDishonestyList(adm, syncAdm)
	if err := l.Load(testToday); err != nil || len(l.Rows) != 1 {
		t.Fatalf("list: %+v %v", l.Rows, err)
	}
	report := []byte("%PDF 整改报告：已补走访并建立台账")
	ev, err := AddStepEvidence(adm, l.Rows[0].Office, "整改报告.pdf", bytes.NewReader(report))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.TakeStep(l.Rows[0], StepForm{Step: domain.StepRectified, Reason: "已补走访并建立台账", Evidence: []protocol.Hash{ev}}, testToday); err != nil {
		t.Fatal(err)
	}
	decision := []byte("JPEG 信用修复决定书")
	ev2, err := AddStepEvidence(adm, l.Rows[0].Office, "信用修复决定.jpg", bytes.NewReader(decision))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.TakeStep(l.Rows[0], StepForm{Step: domain.StepRepaired, Reason: "信用修复", Evidence: []protocol.Hash{ev2}}, testToday); err != nil {
		t.Fatal(err)
	}
	syncTown()

	d, err := LoadDetail(town.leader, logged, testToday, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Entries) != 1 || len(d.Entries[0].Evidence) != 1 {
		t.Fatalf("admin's entry on the township device: %+v", d.Entries)
	}
	photoHash := d.Entries[0].Evidence[0]
	for _, want := range []struct {
		h       protocol.Hash
		name    string
		content []byte
	}{{photoHash, "督查照片.jpg", photo}, {ev, "整改报告.pdf", report}, {ev2, "信用修复决定.jpg", decision}} {
		got, err := town.s.EvidenceContent(want.h)
		if err != nil || !bytes.Equal(got, want.content) {
			t.Fatalf("%s: content on the township device: %d bytes, %v", want.name, len(got), err)
		}
		metas, err := town.s.EvidenceMeta(want.h)
		if err != nil || !slices.ContainsFunc(metas, func(m store.Evidence) bool { return m.Name == want.name && m.Office == township }) {
			t.Fatalf("%s: metadata on the township device: %+v %v", want.name, metas, err)
		}
	}
	if !d.Here[photoHash] || !strings.HasSuffix(d.Evidence[photoHash][0].Name, ".jpg") {
		t.Fatalf("detail screen: here %v, evidence %+v", d.Here, d.Evidence[photoHash])
	}
	r, err := town.s.DishonestyRecord(township, l.Rows[0].ID)
	if err != nil || !r.Closed {
		t.Fatalf("record on the township device: %+v %v", r, err)
	}
}

func adminEvidenceCommitment(t *testing.T, se *store.Session, ref store.Ref) store.Commitment {
	t.Helper()
	c, err := se.Store().Commitment(ref)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
