package vm

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

const backupPass = "乡镇终端备份口令2026"

// TestDeviceBackupRestore: a township device's backup file, restored on
// a new machine (a fresh data directory), signs in with the accounts it
// holds and syncs on; an old backup — the device went on and synced after
// it — is stopped by the county as a fork at the first sync, never
// silently, and re-enrolment settles it with nothing lost; a device set up
// anew for the office (a replaced laptop) receives every record of the
// office from the county, evidence files too. Bad files change nothing.
func TestDeviceBackupRestore(t *testing.T) {
	c := startTestCounty(t)
	srv, base := c.srv, c.base
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := openStore(t)
	se, err := s.Setup(store.SetupConfig{Office: township, DeviceName: "党政办", Name: "zhangli", DisplayName: "张丽",
		Role: domain.RoleLeader, Passphrase: testPass})
	must(t, err)
	syncOnce := c.enrolNow(ctx, t, se)
	ref, err := se.Create(sampleDraft("备份前的承诺"))
	must(t, err)
	must(t, se.Publish(ref))
	photo := bytes.Repeat([]byte("现场照片"), 20_000)
	ev, err := se.AddEvidence("现场.jpg", "image/jpeg", bytes.NewReader(photo))
	must(t, err)
	_, err = se.LogFulfilment(ref, store.EntryInput{Date: calendar.NewDate(2026, 11, 24), Progress: 40, Note: "已入户", Evidence: []protocol.Hash{ev}})
	must(t, err)
	must(t, syncOnce(se))

	now := time.Date(2026, 11, 25, 10, 0, 0, 0, cst)
	if m := BackupReminder(s, DefaultBackupDays, now.AddDate(0, 0, 8)); m.Key != "ui.backup.reminder_never" {
		t.Fatalf("reminder before the first backup: %+v", m)
	}
	dir := t.TempDir()
	current := filepath.Join(dir, BackupFileName(s, now))
	if m := CheckBackupPassphrase(backupPass, backupPass+"x"); m == nil || m.Key != "ui.backup.passphrases_differ" {
		t.Fatalf("differing passphrases: %+v", m)
	}
	if m := CheckBackupPassphrase("短", "短"); m == nil {
		t.Fatal("a weak passphrase passed")
	}
	man, err := BackupDevice(s, current, backupPass, auth.TestParams(), now)
	must(t, err)
	if fi, err := os.Stat(current); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file %v %v", fi, err)
	}
	if man.Device != se.Device().ID.String() || man.Office != string(township) || man.Seq == 0 {
		t.Fatalf("manifest %+v", man)
	}
	if m := BackupReminder(s, DefaultBackupDays, now.AddDate(0, 0, 6)); !m.IsZero() {
		t.Fatalf("reminder 6 days after a backup: %+v", m)
	}
	if m := BackupReminder(s, DefaultBackupDays, now.AddDate(0, 0, 9)); m.Key != "ui.backup.reminder" || m.Args[0] != 9 {
		t.Fatalf("reminder 9 days after a backup: %+v", m)
	}
	checkMessage(t, BackupReminder(s, 7, now.AddDate(0, 0, 9)))
	if m := BackupReminder(s, 0, now.AddDate(1, 0, 0)); !m.IsZero() {
		t.Fatalf("reminders off, yet %+v", m)
	}

	// Bad restores write nothing.
	fresh := filepath.Join(t.TempDir(), "jiannuo.db")
	pass := func(p string) func() (string, error) { return func() (string, error) { return p, nil } }
	raw, _ := os.ReadFile(current)
	cut := filepath.Join(dir, "cut.jnbk")
	must(t, os.WriteFile(cut, raw[:len(raw)/2], 0o600))
	for _, bad := range []struct {
		file, pass, key string
	}{
		{current, "别的口令-2026年11月", "ui.backup.wrong_passphrase"},
		{cut, backupPass, "ui.backup.damaged"},
		{s.Path(), backupPass, "ui.backup.not_backup"},
	} {
		_, err := RestoreDevice(bad.file, pass(bad.pass), fresh, now)
		if m := BackupErrorMessage(err); m.Key != bad.key {
			t.Fatalf("restoring %s: %v (%+v), want %s", filepath.Base(bad.file), err, m, bad.key)
		} else {
			checkMessage(t, m)
		}
		if entries, _ := os.ReadDir(filepath.Dir(fresh)); len(entries) != 0 {
			t.Fatalf("a refused restore left %v", entries)
		}
	}
	setUp := filepath.Join(t.TempDir(), "jiannuo.db")
	bs, err := store.Open(setUp, &store.Options{KDF: auth.TestParams(), Logger: quiet(), NoSync: true})
	must(t, err)
	_, err = bs.Setup(store.SetupConfig{Office: township, DeviceName: "另一台", Name: "wang", DisplayName: "王", Role: domain.RoleLeader, Passphrase: testPass})
	must(t, err)
	must(t, bs.Close())
	if _, err := RestoreDevice(current, pass(backupPass), setUp, now); !errors.Is(err, ErrRestoreOverDevice) {
		t.Fatalf("restore over a set-up device: %v", err)
	} else {
		checkMessage(t, BackupErrorMessage(err))
	}

	// The current backup on a new machine: sign in, work, sync.
	_, err = RestoreDevice(current, pass(backupPass), fresh, now)
	must(t, err)
	restored, err := store.Open(fresh, &store.Options{KDF: auth.TestParams(), Logger: quiet(), NoSync: true})
	must(t, err)
	defer restored.Close()
	rse, err := restored.SignIn("zhangli", testPass)
	must(t, err)
	if got, err := restored.EvidenceContent(ev); err != nil || !bytes.Equal(got, photo) {
		t.Fatalf("the restored replica's evidence: %d bytes, %v", len(got), err)
	}
	after, err := rse.Create(sampleDraft("新电脑上的承诺"))
	must(t, err)
	must(t, syncOnce(rse))
	if _, err := srv.Store().Commitment(after); err != nil {
		t.Fatalf("the restored device's work did not reach the county: %v", err)
	}

	// An old backup: the device (the restored one, now) went on and synced
	// after it. Restored on yet another machine, its first sync stops on
	// the fork; re-enrolment keeps both branches.
	old := current
	goneOn, err := rse.Create(sampleDraft("备份之后、同步过的承诺"))
	must(t, err)
	must(t, syncOnce(rse))
	other := filepath.Join(t.TempDir(), "jiannuo.db")
	_, err = RestoreDevice(old, pass(backupPass), other, now)
	must(t, err)
	ost, err := store.Open(other, &store.Options{KDF: auth.TestParams(), Logger: quiet(), NoSync: true})
	must(t, err)
	defer ost.Close()
	ose, err := ost.SignIn("zhangli", testPass)
	must(t, err)
	mine, err := ose.Create(sampleDraft("旧备份恢复后新建的承诺"))
	must(t, err)
	err = syncOnce(ose)
	var fatal *engine.FatalError
	if !errors.As(err, &fatal) || fatal.Code != protocol.CodeFork || !OffersReenrol(engine.Status{State: engine.StateStopped, Code: fatal.Code}) {
		t.Fatalf("an old backup synced without a fork: %v", err)
	}
	res, err := Reenrol(ctx, ose, base, false)
	must(t, err)
	newID, _, _ := ose.Successor()
	_, err = srv.Approve(newID, countyapi.ApproveRequest{}, "admin")
	must(t, err)
	res, err = Reenrol(ctx, ose, base, false)
	if err != nil || res.Session == nil {
		t.Fatalf("re-enrolment: %+v %v", res, err)
	}
	must(t, syncOnce(res.Session))
	for _, r := range []store.Ref{ref, after, goneOn, mine} {
		for name, st := range map[string]*store.Store{"county": srv.Store(), "re-enrolled": ost} {
			if _, err := st.Commitment(r); err != nil {
				t.Fatalf("%s lacks %v after re-enrolment: %v", name, r, err)
			}
		}
	}

	// A replaced laptop: the office sets a device up anew, enrols it, and
	// receives every record of the office from the county's feed from 0,
	// the evidence file too.
	ns := openStore(t)
	nse, err := ns.Setup(store.SetupConfig{Office: township, DeviceName: "党政办-新", Name: "lina", DisplayName: "李娜",
		Role: domain.RoleLeader, Passphrase: testPass})
	must(t, err)
	_, _, err = EnrolNow(ctx, nse, base, true)
	must(t, err)
	_, err = srv.Approve(nse.Device().ID, countyapi.ApproveRequest{}, "admin")
	must(t, err)
	if _, ok, err := EnrolNow(ctx, nse, base, false); err != nil || !ok {
		t.Fatalf("enrolment of the new device: %v %v", ok, err)
	}
	if cur, _ := ns.Cursor(); cur != 0 {
		t.Fatalf("a new device starts at cursor %d", cur)
	}
	must(t, syncOnce(nse))
	want, err := srv.Store().AllCommitments()
	must(t, err)
	got, err := ns.AllCommitments()
	must(t, err)
	title := func(cs []store.Commitment) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Title)
		}
		slices.Sort(out)
		return out
	}
	if !slices.Equal(title(got), title(want)) || len(want) != 4 {
		t.Fatalf("the new device holds %q, the county %q", title(got), title(want))
	}
	if content, err := ns.EvidenceContent(ev); err != nil || !bytes.Equal(content, photo) {
		t.Fatalf("the new device's copy of the evidence: %d bytes, %v", len(content), err)
	}
	if d1, _ := ns.Digest(); d1 != func() protocol.Hash { d, _ := srv.Store().Digest(); return d }() {
		t.Fatal("the new device's replica differs from the county's")
	}
}
