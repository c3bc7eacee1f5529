package app

import (
	"context"
	"crypto/ed25519"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// TestReenrolFromStatusBar: when sync stops on a fork the status bar
// offers re-enrolment (and only then); the dialog asks the real county
// server, shows the new device ID to read to the admin, and after the
// admin's approval switches the app to the new key and syncs again.
func TestReenrolFromStatusBar(t *testing.T) {
	srv, base := startTestCounty(t)
	ctx := context.Background()

	u := newTestUI(t)
	runInPlace(u)
	oldID := u.se.Device().ID
	if _, err := engine.RequestEnrolment(ctx, base, u.se); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Approve(oldID, countyapi.ApproveRequest{}, "admin"); err != nil {
		t.Fatal(err)
	}
	if err := u.st.SetSyncSettings(store.SyncSettings{BaseURL: base.BaseURL, Fingerprint: base.Fingerprint, County: adminTestCounty,
		CountyKey: srv.Identity().Key.Public().(ed25519.PublicKey), Enrolled: true}); err != nil {
		t.Fatal(err)
	}

	// Work made on this device that the county has not received.
	ref, err := u.se.Create(store.Draft{Category: domain.CatConvenience, Title: "分叉后新建的承诺", Text: "承诺内容",
		Responsible: "王建国", StartDate: calendar.NewDate(2026, 11, 2), Deadline: domain.WorkdaysDeadline(5), Public: true})
	if err != nil {
		t.Fatal(err)
	}
	u.status.show(engine.Status{State: engine.StateStopped, Code: protocol.CodeRevokedDevice})
	if !u.status.reenrol.Hidden {
		t.Fatal("re-enrolment offered to a revoked device")
	}
	u.status.show(engine.Status{State: engine.StateStopped, Code: protocol.CodeFork})
	if u.status.reenrol.Hidden || !strings.Contains(u.status.errLine.Text, "重新注册本终端") {
		t.Fatalf("fork: offer hidden %v, error line %q", u.status.reenrol.Hidden, u.status.errLine.Text)
	}
	test.Tap(u.status.reenrol)
	rd := u.lastReenrol
	if rd == nil || !rd.check.Disabled() {
		t.Fatal("the dialog did not open, or offers to check a request never made")
	}
	test.Tap(rd.ask)
	newID, asked, err := u.se.Successor()
	if err != nil || !asked || !strings.Contains(rd.status.Text, newID.String()) {
		t.Fatalf("after asking: %q (%v)", rd.status.Text, err)
	}
	test.Tap(rd.check)
	if u.se.Device().ID != oldID || !strings.Contains(rd.status.Text, "等待县信用办批准") {
		t.Fatalf("while pending: device %s, %q", u.se.Device().ID.Short(), rd.status.Text)
	}
	if _, err := srv.Approve(newID, countyapi.ApproveRequest{}, "admin"); err != nil {
		t.Fatal(err)
	}
	// Keep the background engine from starting after the re-key: under
	// the test driver its status callbacks would touch widgets from its
	// own goroutine. The new session is synced by hand below instead.
	set, _, _ := u.st.SyncSettings()
	set.Enrolled = false
	if err := u.st.SetSyncSettings(set); err != nil {
		t.Fatal(err)
	}
	test.Tap(rd.check)
	if u.se.Device().ID != newID || !strings.Contains(rd.status.Text, "重新注册完成") || !rd.ask.Disabled() {
		t.Fatalf("after approval: device %s, %q", u.se.Device().ID.Short(), rd.status.Text)
	}
	eng := engine.New(u.se, engine.Config{URL: base.SyncURL(), Fingerprint: base.Fingerprint,
		CountyKey: srv.Identity().Key.Public().(ed25519.PublicKey), Logger: quietLog()})
	if err := eng.SyncOnce(ctx); err != nil {
		t.Fatalf("syncing under the new key: %v", err)
	}
	if c, err := srv.Store().Commitment(ref); err != nil || c.CreatedDevice != newID {
		t.Fatalf("the device's unsent work on the county after re-enrolment: %+v %v", c, err)
	}
}
