package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/store"
	"jiannuo/sync/engine"
)

// TestDirectoryCommand: `directory` lists who each login of the county's
// offices is, from the account changes the devices sent: a township leader
// adds a colleague and later disables the account.
func TestDirectoryCommand(t *testing.T) {
	h := newHarness(t)
	id := h.init()
	base := "https://" + h.serve()
	admin := func(args ...string) []string {
		return append(args, "-dir", h.dir, "-url", base, "-admin", "zhangwei")
	}
	if r := h.must(0, admin("directory")...); !strings.Contains(r.stdout, "no accounts known yet") {
		t.Fatalf("an empty county: %s", r.stdout)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "device.db"), &store.Options{KDF: auth.TestParams(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	se, err := st.Setup(store.SetupConfig{Office: "410324101", DeviceName: "赤土店镇党政办-1", Name: "zhangli", DisplayName: "张丽",
		Role: domain.RoleLeader, Passphrase: "张丽的口令-2026"})
	if err != nil {
		t.Fatal(err)
	}
	if err := se.AddAccount("wangfang", "王芳", domain.RoleStaff, "王芳的口令-2026"); err != nil {
		t.Fatal(err)
	}
	if err := se.DisableAccount("wangfang", "调离本单位"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv := engine.Server{BaseURL: base, Fingerprint: id.Fingerprint}
	if _, err := engine.RequestEnrolment(ctx, srv, se); err != nil {
		t.Fatal(err)
	}
	h.must(0, admin("approve", se.Device().ID.String())...)
	eng := engine.New(se, engine.Config{URL: srv.SyncURL(), Fingerprint: id.Fingerprint, CountyKey: id.Key.Public().(ed25519.PublicKey)})
	if err := eng.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	r := h.must(0, admin("directory", "-office", "410324101")...)
	for _, want := range []string{"zhangli", "张丽", "wangfang", "王芳", "已停用 disabled", "调离本单位", "负责人 leader", "工作人员 staff"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("directory lacks %q:\n%s", want, r.stdout)
		}
	}
	r = h.must(0, admin("directory", "-json")...)
	var rows []store.DirectoryEntry
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) != 2 {
		t.Fatalf("directory -json: %v\n%s", err, r.stdout)
	}
	if r := h.must(1, admin("directory", "-office", "410325100")...); !strings.Contains(r.stderr, "out_of_scope") {
		t.Fatalf("another county's office: %s", r.stderr)
	}
}
