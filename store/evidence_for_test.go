package store

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// unreadable fails the test if an action reads it: a refused
// AddEvidenceFor must not even read the file.
type unreadable struct{ t *testing.T }

func (u unreadable) Read([]byte) (int, error) {
	u.t.Error("a refused AddEvidenceFor read the file")
	return 0, errors.New("must not be read")
}

// nothingStored checks that r holds no trace of evidence h: no content, no
// metadata, no operation waiting to be sealed.
func nothingStored(t *testing.T, r *replica, h protocol.Hash) {
	t.Helper()
	if ok, err := r.HasEvidence(h); err != nil || ok {
		t.Fatalf("content stored after a refusal (%v)", err)
	}
	if metas, err := r.EvidenceMeta(h); err != nil || len(metas) != 0 {
		t.Fatalf("metadata stored after a refusal: %+v %v", metas, err)
	}
	if p, err := r.Pending(); err != nil || p.PendingOps != 0 || p.OutboxChangeSets != 0 {
		t.Fatalf("work queued after a refusal: %+v %v", p, err)
	}
}

// TestAddEvidenceForScope: evidence is recorded for the office of the
// record that cites it, within the scope every action has: a county-admin
// device for any office of its county, never outside it; a township device
// only for its own office. A refusal is a clear out-of-scope error and
// stores nothing.
func TestAddEvidenceForScope(t *testing.T) {
	content := []byte("%PDF 整改报告")
	h := protocol.Hash(sha256.Sum256(content))

	admin := newReplica(t, county, domain.RoleCountyAdmin)
	for _, o := range []office.Code{otherCnty, otherCnty + "101"} {
		_, err := admin.se.AddEvidenceFor(o, "整改报告.pdf", "application/pdf", unreadable{t})
		if !errors.Is(err, protocol.ErrOutOfScope) || !strings.Contains(err.Error(), string(o)) || !strings.Contains(err.Error(), string(county)) {
			t.Fatalf("admin of %s adding evidence for %s: %v", county, o, err)
		}
		if protocol.CodeOf(err) != protocol.CodeOutOfScope {
			t.Fatalf("code %s", protocol.CodeOf(err))
		}
	}
	if _, err := admin.se.AddEvidenceFor("4103", "x.pdf", "application/pdf", unreadable{t}); !errors.Is(err, office.ErrInvalidCode) {
		t.Fatalf("invalid office: %v", err)
	}
	nothingStored(t, admin, h)

	town := newReplica(t, township, domain.RoleLeader)
	for _, o := range []office.Code{township2, county, otherCnty + "101"} {
		_, err := town.se.AddEvidenceFor(o, "整改报告.pdf", "application/pdf", unreadable{t})
		if !errors.Is(err, protocol.ErrOutOfScope) || !strings.Contains(err.Error(), string(o)) {
			t.Fatalf("township device adding evidence for %s: %v", o, err)
		}
	}
	nothingStored(t, town, h)

	// Within scope: the admin records it for the township, the township
	// device for itself (AddEvidence is the same for its own office).
	got, err := admin.se.AddEvidenceFor(township, "整改报告.pdf", "application/pdf", bytes.NewReader(content))
	if err != nil || got != h {
		t.Fatalf("admin for a township of its county: %v", err)
	}
	if _, err := admin.se.AddEvidenceFor(county, "县级材料.pdf", "application/pdf", bytes.NewReader(content)); err != nil {
		t.Fatalf("admin for its own county: %v", err)
	}
	metas, err := admin.EvidenceMeta(h)
	if err != nil || len(metas) != 2 {
		t.Fatalf("metadata: %+v %v", metas, err)
	}
	offices := map[office.Code]string{}
	for _, m := range metas {
		offices[m.Office] = m.Name
	}
	if offices[township] != "整改报告.pdf" || offices[county] != "县级材料.pdf" {
		t.Fatalf("metadata offices: %+v", metas)
	}
	// Each goes out in a change set for its office.
	sets := admin.seal(t, 0)
	if len(sets) != 2 {
		t.Fatalf("%d change sets, want one per office", len(sets))
	}
	for i, want := range []office.Code{township, county} {
		cs, err := protocol.Decode(sets[i])
		if err != nil || cs.TargetOffice() != want {
			t.Fatalf("change set %d for %s, want %s (%v)", i, cs.TargetOffice(), want, err)
		}
	}

	if _, err := town.se.AddEvidenceFor(township, "照片.jpg", "image/jpeg", bytes.NewReader(content)); err != nil {
		t.Fatalf("township device for itself: %v", err)
	}
	if _, err := town.se.AddEvidence("照片2.jpg", "image/jpeg", bytes.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	metas, err = town.EvidenceMeta(h)
	if err != nil || len(metas) != 2 || metas[0].Office != township || metas[1].Office != township {
		t.Fatalf("township metadata: %+v %v", metas, err)
	}
}
