package municipal_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/server/municipal"
	"jiannuo/store"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// TestEvidenceArrivingAfterTheRecord: the node learns of a fulfilment entry
// before the county holds the photo it cites (here: the entry came on a
// USB stick too small for the photo; online, the device's upload is simply
// still on its way) and is refused not_found; when the device then brings
// the photo, the node fetches it on the same session, without waiting for
// the county's feed to move on or for a session of its own to end.
func TestEvidenceArrivingAfterTheRecord(t *testing.T) {
	c := newCounty(t, luanchuan)
	m := newMunicipal(t, "市信用平台", c)
	// The node's session stays open once caught up, so only the county's
	// word can bring the photo down: no new session, which would ask
	// afresh, starts while it lasts.
	m.edit = func(cfg *municipal.Config) { cfg.Linger = time.Hour }
	m.start(c.serfAddr)
	d := c.device(township(luanchuan, 0), domain.RoleLeader)
	ref := d.create("路灯报修三日内修复", domain.WorkdaysDeadline(3))
	d.publish(ref)
	photo := jpeg(150<<10, 'g')
	eh, err := d.se.AddEvidence("修复照片.jpg", domain.MIMEJPEG, bytes.NewReader(photo))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.se.LogFulfilment(ref, store.EntryInput{Date: calendar.NewDate(2026, 11, 5), Progress: 50, Note: "已修复一半", Evidence: []protocol.Hash{eh}}); err != nil {
		t.Fatal(err)
	}

	var bundle bytes.Buffer
	sum, err := d.eng.ExportBundle(&bundle, engine.ExportOptions{MaxBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if sum.ChangeSets == 0 || sum.EvidenceSent != 0 || sum.EvidenceLeft != 1 {
		t.Fatalf("the bundle should carry the change sets without the photo: %+v", sum)
	}
	ret, err := c.srv.ImportSyncFile(context.Background(), &bundle, "admin", "127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	ret.Close()
	m.waitConverged(c)
	m.waitFor("the node asking for the photo before the county holds it", func(s municipal.Status) bool {
		return countyOf(s, luanchuan).EvidenceNotYet > 0
	})
	if ok, _ := c.srv.Store().HasEvidence(eh); ok {
		t.Fatal("the county holds the photo already: nothing to test")
	}

	d.sync() // the photo reaches the county; the feed does not move
	m.waitFor("the photo on the node", func(municipal.Status) bool {
		ok, _ := m.n.Store().HasEvidence(eh)
		return ok
	})
	if got, err := m.n.Store().EvidenceContent(eh); err != nil || !bytes.Equal(got, photo) {
		t.Fatalf("the photo on the node: %v", err)
	}
}
