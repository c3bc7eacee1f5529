package vm

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// TestReenrolAfterFork: the status bar's re-enrolment flow on a real county
// server. A device restored from an old backup stops on the fork and is
// offered re-enrolment; asking shows the new device ID to read to the
// admin; once approved the next check hands over the session under the new
// key, which syncs again with the work made after the restore.
func TestReenrolAfterFork(t *testing.T) {
	c := startTestCounty(t)
	srv, base := c.srv, c.base
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := openStore(t)
	se, err := s.Setup(store.SetupConfig{Office: township, DeviceName: "党政办", Name: "zhangli", DisplayName: "张丽",
		Role: domain.RoleStaff, Passphrase: testPass})
	must(t, err)
	syncOnce := c.enrolNow(ctx, t, se)
	_, err = se.Create(sampleDraft("备份前的承诺"))
	must(t, err)
	must(t, syncOnce(se))
	backup := filepath.Join(t.TempDir(), "backup.db")
	must(t, s.View(func(tx *bolt.Tx) error { return tx.CopyFile(backup, 0o600) }))
	_, err = se.Create(sampleDraft("备份后、原机上的承诺"))
	must(t, err)
	must(t, syncOnce(se))

	restored, err := store.Open(backup, &store.Options{KDF: auth.TestParams(), Logger: quiet(), NoSync: true})
	must(t, err)
	defer restored.Close()
	rse, err := restored.SignIn("zhangli", testPass)
	must(t, err)
	mine, err := rse.Create(sampleDraft("恢复后新建的承诺"))
	must(t, err)
	_, err = rse.Seal(0)
	must(t, err)
	err = syncOnce(rse)
	var fatal *engine.FatalError
	if !errors.As(err, &fatal) || !OffersReenrol(engine.Status{State: engine.StateStopped, Code: fatal.Code}) {
		t.Fatalf("restored device: %v; re-enrolment not offered", err)
	}
	if OffersReenrol(engine.Status{State: engine.StateStopped, Code: protocol.CodeRevokedDevice}) {
		t.Error("re-enrolment offered to a revoked device")
	}

	res, err := Reenrol(ctx, rse, base, false)
	newID, _, _ := rse.Successor()
	if err != nil || res.Session != nil || res.Status.Key != "ui.reenrol.pending" || res.Status.Args[0] != newID.String() {
		t.Fatalf("asking: %+v %v", res, err)
	}
	checkMessage(t, res.Status)
	if res, err := Reenrol(ctx, rse, base, false); err != nil || res.Status.Key != "ui.reenrol.pending" {
		t.Fatalf("checking while pending: %+v %v", res, err)
	}
	_, err = srv.Approve(newID, countyapi.ApproveRequest{}, "admin")
	must(t, err)
	res, err = Reenrol(ctx, rse, base, false)
	if err != nil || res.Session == nil || res.Session.Device().ID != newID || res.Status.Key != "ui.reenrol.done" {
		t.Fatalf("after approval: %+v %v", res, err)
	}
	checkMessage(t, res.Status)
	must(t, syncOnce(res.Session))
	if _, err := srv.Store().Commitment(mine); err != nil {
		t.Fatalf("the work made after the restore did not reach the county: %v", err)
	}
	if n, err := restored.Pending(); err != nil || n.PendingOps+n.OutboxChangeSets != 0 {
		t.Fatalf("left to send after re-enrolment: %+v %v", n, err)
	}
}

func sampleDraft(title string) store.Draft {
	return store.Draft{Category: domain.CatConvenience, Title: title, Text: title + "：承诺内容", Responsible: "王建国",
		StartDate: calendar.NewDate(2026, 11, 2), Deadline: domain.WorkdaysDeadline(10), Public: true}
}
