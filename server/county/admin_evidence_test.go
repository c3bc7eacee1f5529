package county_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// TestAdminEvidenceReachesTownship: a county admin confirms the breach of a
// township's commitment and records the dishonesty record; later it records
// the rectification with an evidence file, then the credit repair with
// another. The township's devices — one that syncs at once and one that
// joins afterwards — receive the steps, the files' names and the files
// themselves, through the real county server. Another township receives
// none of it.
func TestAdminEvidenceReachesTownship(t *testing.T) {
	h := newHarness(t)
	town := h.device(townA, domain.RoleLeader)
	other := h.device(townB, domain.RoleLeader)
	adm := h.device(countyCode, domain.RoleCountyAdmin)

	ref := town.create("每月走访独居老人")
	if err := town.se.Publish(ref); err != nil {
		t.Fatal(err)
	}
	if err := town.se.Transition(ref, domain.StatusInProgress, ""); err != nil {
		t.Fatal(err)
	}
	town.sync()
	adm.sync()

	// The admin confirms the breach and records the dishonesty record.
	const facts = "逾期三个月未走访"
	if err := adm.se.Transition(ref, domain.StatusBreached, facts); err != nil {
		t.Fatal(err)
	}
	rec, err := adm.se.RecordDishonesty(ref, store.DishonestyInput{Type: domain.DishonestyBreach, Reason: facts,
		Deadline: calendar.NewDate(2026, 12, 31)})
	if err != nil {
		t.Fatal(err)
	}
	adm.sync()
	town.sync()
	if c, err := town.st.Commitment(ref); err != nil || c.Status != domain.StatusBreached {
		t.Fatalf("breach on the township device: %+v, %v", c, err)
	}

	// Later: the rectification, with a report of several chunks.
	report := bytes.Repeat([]byte("%PDF 整改报告：已补走访并建立台账。"), 8_000) // ~400 KB
	ev, err := adm.se.AddEvidenceFor(ref.Office, "整改报告.pdf", "application/pdf", bytes.NewReader(report))
	if err != nil {
		t.Fatal(err)
	}
	if err := adm.se.DishonestyStep(ref.Office, rec, domain.StepRectified, "已补走访并建立台账", "", []protocol.Hash{ev}); err != nil {
		t.Fatal(err)
	}
	adm.sync()
	if ok, err := h.srv.Store().HasEvidence(ev); err != nil || !ok {
		t.Fatalf("the admin's evidence did not reach the county: %v", err)
	}
	town.sync()
	wantEvidence(t, town, ev, "整改报告.pdf", report)
	r, err := town.st.DishonestyRecord(ref.Office, rec)
	if err != nil || r.Status != domain.StepRectified || len(r.History) != 2 || !slices.Contains(r.History[1].Evidence, ev) {
		t.Fatalf("rectification on the township device: %+v, %v", r, err)
	}

	// Credit repair with a second file; a second device of the township
	// enrols afterwards and receives both.
	decision := []byte("JPEG 信用修复决定书")
	ev2, err := adm.se.AddEvidenceFor(ref.Office, "信用修复决定.jpg", "image/jpeg", bytes.NewReader(decision))
	if err != nil {
		t.Fatal(err)
	}
	if err := adm.se.DishonestyStep(ref.Office, rec, domain.StepRepaired, "整改到位，准予信用修复", "", []protocol.Hash{ev2}); err != nil {
		t.Fatal(err)
	}
	adm.sync()
	town.sync()
	late := h.device(townA, domain.RoleStaff)
	late.sync()
	for _, d := range []*device{town, late} {
		wantEvidence(t, d, ev, "整改报告.pdf", report)
		wantEvidence(t, d, ev2, "信用修复决定.jpg", decision)
		r, err := d.st.DishonestyRecord(ref.Office, rec)
		if err != nil || !r.Closed {
			t.Fatalf("record on a township device: %+v, %v", r, err)
		}
	}
	if town.digest() != late.digest() {
		t.Fatal("the township's replicas differ")
	}

	// The other township sees neither the record nor the files.
	other.sync()
	for _, h := range []protocol.Hash{ev, ev2} {
		if metas, _ := other.st.EvidenceMeta(h); len(metas) != 0 {
			t.Fatalf("another township received evidence metadata: %+v", metas)
		}
		if ok, _ := other.st.HasEvidence(h); ok {
			t.Fatal("another township received the evidence content")
		}
	}
	if recs, _ := other.st.DishonestyRecords(store.DishonestyFilter{}); len(recs) != 0 {
		t.Fatalf("another township received the dishonesty record: %+v", recs)
	}
	// Nor can that township's device claim the files: evidence only for
	// its own office.
	if _, err := other.se.AddEvidenceFor(townA, "冒用.pdf", "application/pdf", bytes.NewReader(report)); !errors.Is(err, protocol.ErrOutOfScope) {
		t.Fatalf("township device adding evidence for another township: %v", err)
	}
	if ok, _ := other.st.HasEvidence(ev); ok {
		t.Fatal("a refused AddEvidenceFor stored the content")
	}
}

// wantEvidence checks that device d holds evidence file h: its content,
// byte for byte, and its metadata under the given name, recorded for d's
// office.
func wantEvidence(t *testing.T, d *device, h protocol.Hash, name string, content []byte) {
	t.Helper()
	ok, err := d.st.HasEvidence(h)
	if err != nil || !ok {
		t.Fatalf("%s: content of %s not on the device (%v)", name, h.String()[:12], err)
	}
	got, err := d.st.EvidenceContent(h)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("%s: content differs (%d bytes, want %d): %v", name, len(got), len(content), err)
	}
	metas, err := d.st.EvidenceMeta(h)
	if err != nil {
		t.Fatal(err)
	}
	office := d.se.Device().Office
	if !slices.ContainsFunc(metas, func(m store.Evidence) bool {
		return m.Name == name && m.Office == office && m.Size == int64(len(content)) && strings.Contains(m.MIME, "/")
	}) {
		t.Fatalf("%s: metadata on the device: %+v", name, metas)
	}
}
