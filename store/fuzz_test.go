package store

import (
	"os"
	"path/filepath"
	"testing"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
)

func TestExpOwnDeviceFork(t *testing.T) {
	b := newReplica(t, township, domain.RoleLeader)
	ref, _ := b.se.Create(sampleDraft("x"))
	b.se.Publish(ref)
	b.seal(t, 0)
	backup := filepath.Join(t.TempDir(), "backup.db")
	data, _ := os.ReadFile(b.Path())
	os.WriteFile(backup, data, 0o600)
	b.se.LogFulfilment(ref, EntryInput{Date: calendar.NewDate(2026, 10, 8), Progress: 10, Note: "a"})
	later := b.seal(t, 1)
	r, err := Open(backup, &Options{KDF: auth.TestParams(), Logger: quietLogger(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	se, err := r.SignIn("user", testPass)
	if err != nil {
		t.Fatal(err)
	}
	se.LogFulfilment(ref, EntryInput{Date: calendar.NewDate(2026, 10, 9), Progress: 20, Note: "b"})
	res, err := r.Apply(later...)
	t.Logf("res %+v err %v", res, err)
	t.Logf("check: %v", r.Check())
	n, err := se.Seal(0)
	t.Logf("seal %d %v", n, err)
	t.Logf("check: %v", r.Check())
}
