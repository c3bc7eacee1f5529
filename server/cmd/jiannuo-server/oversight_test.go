package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jiannuo/auth"
	"jiannuo/report"
	"jiannuo/sync/countyapi"
)

// serveStoppable runs `serve` like harness.serve and returns its address
// and a function that stops it and waits for it to exit.
func (h *harness) serveStoppable() (string, func()) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	var errb lockedBuffer
	c := newCLI(envOf(h.env), nil, io.Discard, &errb)
	c.ctx = ctx
	c.kdf = auth.TestParams() // for the admin passwords set while it runs
	c.listening = func(a net.Addr) { addrc <- a }
	done := make(chan int, 1)
	go func() { done <- c.run([]string{"serve", "-dir", h.dir, "-addr", "127.0.0.1:0"}) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if code := <-done; code != 0 {
			h.t.Errorf("serve exited %d:\n%s", code, errb.String())
		}
	}
	select {
	case a := <-addrc:
		h.t.Cleanup(stop)
		return a.String(), stop
	case code := <-done:
		cancel()
		h.t.Fatalf("serve exited %d before listening:\n%s", code, errb.String())
	}
	return "", nil
}

func TestOversightCommands(t *testing.T) {
	h := newHarness(t)
	id := h.init()
	addr := h.serve()
	base := "https://" + addr
	admin := func(args ...string) []string {
		return append(args, "-dir", h.dir, "-url", base, "-admin", "zhangwei")
	}
	dev := enrolDevice(t, base, id.Fingerprint, "410324101", "赤土店镇党政办-1", "李娜")
	h.must(0, admin("approve", dev.String())...)
	h.must(0, admin("revoke", dev.String(), "-reason", "设备报废")...)
	dev2 := enrolDevice(t, base, id.Fingerprint, "410324101", "赤土店镇党政办-2", "王芳")
	h.must(0, admin("approve", dev2.String())...)

	r := h.must(0, admin("audit")...)
	for _, want := range []string{"approve", "revoke", "设备报废", "zhangwei", dev.String(), "hash chain intact (3 entries)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("audit lacks %q:\n%s", want, r.stdout)
		}
	}
	r = h.must(0, admin("audit", "-json")...)
	var rep countyapi.AuditReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || !rep.Verified || len(rep.Entries) != 3 {
		t.Fatalf("audit -json: %v %s", err, r.stdout)
	}

	r = h.must(0, admin("overview")...)
	for _, want := range []string{"410324101 赤土店镇", "LAST SYNC", "not_synced"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("overview lacks %q:\n%s", want, r.stdout)
		}
	}
	r = h.must(0, admin("overview", "-json")...)
	var ov report.Overview
	if err := json.Unmarshal([]byte(r.stdout), &ov); err != nil || ov.County != "410324" || len(ov.Rows) != 1 || len(ov.Rows[0].Devices) != 2 || ov.Warnings != 1 {
		t.Fatalf("overview -json: %v %s", err, r.stdout)
	}
	if r := h.must(0, admin("dishonesty")...); !strings.Contains(r.stdout, "no dishonesty records") {
		t.Errorf("dishonesty: %s", r.stdout)
	}
	if r := h.must(0, admin("dishonesty", "-json", "-open")...); strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("dishonesty -json: %s", r.stdout)
	}
	if r := h.must(1, admin("dishonesty", "-office", "410325101")...); !strings.Contains(r.stderr, "out_of_scope") {
		t.Errorf("dishonesty of another county: %s", r.stderr)
	}

	dir := t.TempDir()
	for _, c := range []struct{ what, file string }{{"overview", "overview.xlsx"}, {"overview", "overview.csv"}, {"dishonesty", "失信.xlsx"}, {"dishonesty", "失信.csv"}} {
		out := filepath.Join(dir, c.file)
		h.must(0, admin("export", c.what, "-o", out)...)
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(c.file, ".xlsx") && !bytes.HasPrefix(b, []byte("PK")) {
			t.Errorf("%s is not a workbook", c.file)
		}
		if strings.HasSuffix(c.file, ".csv") && !bytes.HasPrefix(b, []byte("\uFEFF")) {
			t.Errorf("%s has no byte-order mark", c.file)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "overview.csv")); !strings.Contains(string(b), "赤土店镇") || !strings.Contains(string(b), "终端长期未同步") {
		t.Errorf("overview.csv:\n%s", b)
	}
	if r := h.must(2, admin("export", "overview", "-o", filepath.Join(dir, "x.pdf"))...); !strings.Contains(r.stderr, ".xlsx or .csv") {
		t.Errorf("export to .pdf: %s", r.stderr)
	}
	if r := h.must(2, admin("export", "everything", "-o", filepath.Join(dir, "x.csv"))...); !strings.Contains(r.stderr, "want overview or dishonesty") {
		t.Errorf("export everything: %s", r.stderr)
	}
}

func TestRecoverRevokeCommand(t *testing.T) {
	h := newHarness(t)
	id := h.init()
	addr, stop := h.serveStoppable()
	base := "https://" + addr
	admin := func(args ...string) []string {
		return append(args, "-dir", h.dir, "-url", base, "-admin", "zhangwei")
	}
	laptop := enrolDevice(t, base, id.Fingerprint, "410324", "县信用办笔记本", "张伟")
	h.must(0, admin("approve", laptop.String(), "-admin-device")...)

	// While the server runs, the file is locked.
	if r := h.must(1, "recover-revoke", "-dir", h.dir, laptop.String(), "-reason", "笔记本丢失"); !strings.Contains(r.stderr, "stop the server first") {
		t.Errorf("recover-revoke on a running server: %s", r.stderr)
	}
	stop()
	if r := h.must(2, "recover-revoke", "-dir", h.dir, laptop.String()); !strings.Contains(r.stderr, "-reason is required") {
		t.Errorf("without reason: %s", r.stderr)
	}
	good := h.env[envPassword]
	h.env[envPassword] = "wrong"
	if r := h.must(1, "recover-revoke", "-dir", h.dir, laptop.String(), "-reason", "笔记本丢失"); !strings.Contains(r.stderr, "not authorized") {
		t.Errorf("wrong password: %s", r.stderr)
	}
	h.env[envPassword] = good
	r := h.must(0, "recover-revoke", "-dir", h.dir, laptop.String(), "-reason", "笔记本丢失")
	if !strings.Contains(r.stdout, "revoked "+laptop.String()) {
		t.Errorf("recover-revoke: %s", r.stdout)
	}

	addr = h.serve()
	base = "https://" + addr
	r = h.must(0, admin("devices", "-json")...)
	var devs []countyapi.DeviceInfo
	if err := json.Unmarshal([]byte(r.stdout), &devs); err != nil || len(devs) != 1 || !devs[0].Revoked || devs[0].Reason != "笔记本丢失" {
		t.Fatalf("devices after recovery: %v %s", err, r.stdout)
	}
	r = h.must(0, admin("audit")...)
	if !strings.Contains(r.stdout, "recover_revoke") || !strings.Contains(r.stdout, "recovery:zhangwei") {
		t.Errorf("audit after recovery:\n%s", r.stdout)
	}
}
