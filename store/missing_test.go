package store

import (
	"bytes"
	"testing"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// TestMissingEvidenceIn: a replica that holds the metadata of an evidence
// file and not its content names it for the offices it lies within, until
// skipped or held.
func TestMissingEvidenceIn(t *testing.T) {
	a := newReplica(t, township, domain.RoleLeader)
	b := newReplica(t, township2, domain.RoleStaff)
	introduce(t, a, b)
	ref, err := a.se.Create(sampleDraft("路灯报修"))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.se.Publish(ref); err != nil {
		t.Fatal(err)
	}
	content := []byte("\xff\xd8\xff\xe0照片")
	h, err := a.se.AddEvidence("照片.jpg", domain.MIMEJPEG, bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.se.LogFulfilment(ref, EntryInput{Date: calendar.NewDate(2026, 11, 5), Progress: 10, Evidence: []protocol.Hash{h}}); err != nil {
		t.Fatal(err)
	}
	deliver(t, b, a.seal(t, 0)...)
	if e, ok, err := b.MissingEvidenceIn(county, nil); err != nil || !ok || e.Hash != h || e.Office != township {
		t.Fatalf("missing in the county: %+v %v %v", e, ok, err)
	}
	for _, c := range []struct {
		name string
		skip func(protocol.Hash) bool
		o    string
	}{
		{"another county", nil, string(otherCnty)},
		{"skipped", func(x protocol.Hash) bool { return x == h }, string(county)},
	} {
		if _, ok, err := b.MissingEvidenceIn(office.Code(c.o), c.skip); err != nil || ok {
			t.Fatalf("%s: %v %v", c.name, ok, err)
		}
	}
	if _, ok, _ := a.MissingEvidenceIn(county, nil); ok {
		t.Fatal("the replica that holds the file names it missing")
	}
	if err := b.PutEvidenceContent(h, content); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := b.MissingEvidenceIn(county, nil); ok {
		t.Fatal("a file held is named missing")
	}
}
