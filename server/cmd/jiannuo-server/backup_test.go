package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jiannuo/auth"
	"jiannuo/backup"
	"jiannuo/server/cluster"
	"jiannuo/server/county"
	"jiannuo/server/municipal"
)

const testBackupPass = "县服务器备份口令2026"

// nothingWritten fails the test if dir, or anything named after it beside
// it, exists: a refused restore writes nothing, not even a temporary
// directory.
func nothingWritten(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(dir); err == nil {
		t.Fatalf("%s was written", dir)
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	for _, e := range entries {
		if strings.Contains(e.Name(), filepath.Base(dir)) {
			t.Fatalf("left behind: %s", e.Name())
		}
	}
}

// TestBackupRestoreCheck: the admin backs up the running county server
// with the command (encrypted, mode 0600, no overwriting by accident, no
// passphrase on the command line), restores it into a new directory and
// over one with -force (not while a server uses it), and checks it; bad
// backup files — a wrong passphrase, cut short at several places, a bit
// flipped, another kind of backup, no backup at all — are refused with a
// clear message and nothing written.
func TestBackupRestoreCheck(t *testing.T) {
	h := newHarness(t)
	id := h.init()
	base := "https://" + h.serve()
	admin := []string{"-dir", h.dir, "-url", base, "-admin", "zhangwei"}
	enrolDevice(t, base, id.Fingerprint, "410324101", "赤土店镇党政办-1", "李娜")
	h.must(0, append([]string{"approve", mustDeviceID(t, h, admin)}, admin...)...)

	dir := t.TempDir()
	file := filepath.Join(dir, "county-20261120.jnbk")
	// No passphrase and no terminal: refused, nothing written.
	if r := h.must(2, append([]string{"backup", "-o", file}, admin...)...); !strings.Contains(r.stderr, envBackupPassphrase) {
		t.Errorf("backup without a passphrase: %s", r.stderr)
	}
	if _, err := os.Stat(file); err == nil {
		t.Fatal("a backup was written without a passphrase")
	}
	h.env[envBackupPassphrase] = testBackupPass
	r := h.must(0, append([]string{"backup", "-o", file}, admin...)...)
	if !strings.Contains(r.stdout, "备份完成") || !strings.Contains(r.stdout, "argon2id") || strings.Contains(r.stdout+r.stderr, testBackupPass) {
		t.Errorf("backup output:\n%s\n%s", r.stdout, r.stderr)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, %v", fi, err)
	}
	if hdr, err := backup.Inspect(file); err != nil || !hdr.Encrypted || hdr.Kind != backup.KindCounty {
		t.Fatalf("backup header %+v, %v", hdr, err)
	}
	if r := h.must(2, append([]string{"backup", "-o", file}, admin...)...); !strings.Contains(r.stderr, "exists") {
		t.Errorf("backup over an existing file: %s", r.stderr)
	}
	plain := filepath.Join(dir, "plain.jnbk")
	delete(h.env, envBackupPassphrase)
	r = h.must(0, append([]string{"backup", "-o", plain, "-no-passphrase"}, admin...)...)
	if !strings.Contains(r.stdout, "否 no") {
		t.Errorf("an unencrypted backup does not say so:\n%s", r.stdout)
	}
	h.env[envBackupPassphrase] = testBackupPass

	// Restored into a new directory, it checks; the running server's own
	// directory is refused even with -force.
	restored := filepath.Join(t.TempDir(), "county-data")
	r = h.must(0, "restore", "-i", file, "-dir", restored)
	for _, want := range []string{"恢复完成", "410324", id.Fingerprint, "jiannuo-server serve"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("restore output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = h.must(0, "check", "-dir", restored)
	if !strings.Contains(r.stdout, "检查通过") {
		t.Errorf("check output:\n%s", r.stdout)
	}
	rep, err := county.Check(restored)
	if err != nil || rep.Devices != 2 { // the device and the server's own
		t.Fatalf("check: %+v %v", rep, err)
	}
	if r := h.must(2, "restore", "-i", file, "-dir", restored); !strings.Contains(r.stderr, "not empty") {
		t.Errorf("restore over a directory without -force: %s", r.stderr)
	}
	if r := h.must(1, "restore", "-i", file, "-dir", h.dir, "-force"); !strings.Contains(r.stderr, "in use") {
		t.Errorf("restore over the running server: %s", r.stderr)
	}
	r = h.must(0, "restore", "-i", plain, "-dir", restored, "-force", "-json")
	if !strings.Contains(r.stdout, ".before-restore-") {
		t.Errorf("restore -force does not say where the old directory went:\n%s", r.stdout)
	}

	// Bad files.
	raw, _ := os.ReadFile(file)
	put := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	device := filepath.Join(dir, "device.jnbk")
	if err := backup.Create(device, backup.WriterOptions{Kind: backup.KindDevice, Passphrase: testBackupPass, KDF: auth.TestParams()},
		backup.Manifest{}, func(a *backup.Archive) error { return a.Bytes("device.db", 0o600, []byte("x")) }); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, file, pass, want string
	}{
		{"wrong passphrase", file, "另一个备份口令2026", "wrong passphrase"},
		{"cut in the header", put("cut-header", raw[:30]), testBackupPass, "incomplete"},
		{"cut in the first chunk", put("cut-1", raw[:200]), testBackupPass, "incomplete"},
		{"cut in the middle", put("cut-2", raw[:len(raw)/2]), testBackupPass, "incomplete"},
		{"cut before the end", put("cut-3", raw[:len(raw)-5]), testBackupPass, "incomplete"},
		{"a bit flipped", put("flip", func() []byte { b := bytes.Clone(raw); b[len(b)*2/3] ^= 4; return b }()), testBackupPass, "altered"},
		{"another kind", device, testBackupPass, "device backup"},
		{"no backup", put("notes.txt", []byte("县服务器数据目录备份 2026-11-20")), testBackupPass, "not a Jiannuo backup"},
	}
	for _, c := range cases {
		h.env[envBackupPassphrase] = c.pass
		target := filepath.Join(t.TempDir(), "restore-"+strings.ReplaceAll(c.name, " ", "-"))
		r := h.must(1, "restore", "-i", c.file, "-dir", target)
		if !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: stderr %q lacks %q", c.name, r.stderr, c.want)
		}
		nothingWritten(t, target)
	}
	h.env[envBackupPassphrase] = testBackupPass

	// A damaged directory fails the check.
	if err := os.WriteFile(filepath.Join(restored, "county.key"), []byte("-----BEGIN PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.must(1, "check", "-dir", restored)
}

// mustDeviceID returns the one pending enrolment's device ID.
func mustDeviceID(t *testing.T, h *harness, admin []string) string {
	t.Helper()
	r := h.must(0, append([]string{"enrolments"}, admin...)...)
	for _, line := range strings.Split(r.stdout, "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.Count(f[0], "-") == 3 {
			return f[0]
		}
	}
	t.Fatalf("no pending enrolment:\n%s", r.stdout)
	return ""
}

// TestMunicipalBackupRestore: the operator backs up a running municipal
// node through its operators' port with the token of its data directory,
// restores it into a new directory and checks it.
func TestMunicipalBackupRestore(t *testing.T) {
	h := newHarness(t)
	id := h.init()
	trust, _ := municipal.Trust{id.County: id.Key.Public().(ed25519.PublicKey)}.MarshalJSON()
	mdir := filepath.Join(t.TempDir(), "municipal-data")
	if _, err := municipal.Init(mdir, municipal.InitConfig{Name: "市信用平台-1", Trust: trust}); err != nil {
		t.Fatal(err)
	}
	cfg := municipal.DefaultConfig(mdir)
	cfg.HTTPAddr, cfg.OpsAddr = "", "127.0.0.1:0"
	cfg.Cluster = cluster.DefaultLocalConfig()
	cfg.Logger = slog.New(slog.DiscardHandler)
	n, err := municipal.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- n.Serve(ctx) }()
	defer func() {
		cancel()
		<-served
		n.Close()
	}()
	file := filepath.Join(t.TempDir(), "municipal.jnbk")
	h.env[envBackupPassphrase] = testBackupPass
	ops := n.OpsAddr() // listening since New
	if r := h.must(1, "backup", "-role", "municipal", "-o", file, "-ops", ops, "-dir", t.TempDir()); !strings.Contains(r.stderr, "token") {
		t.Errorf("backup without the token: %s", r.stderr)
	}
	h.must(0, "backup", "-role", "municipal", "-o", file, "-ops", ops, "-dir", mdir)
	restored := filepath.Join(t.TempDir(), "municipal-data")
	r := h.must(0, "restore", "-i", file, "-dir", restored)
	if !strings.Contains(r.stdout, "市信用平台-1") {
		t.Errorf("restore output:\n%s", r.stdout)
	}
	h.must(0, "check", "-role", "municipal", "-dir", restored)
	if _, err := os.Stat(filepath.Join(restored, "node.key")); err != nil {
		t.Fatal(err)
	}
}
