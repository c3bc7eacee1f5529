package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"jiannuo/auth"
	"jiannuo/domain/office"
	"jiannuo/server/county"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

const testPassword = "栾川县信用办2026"

// lockedBuffer is a bytes.Buffer that the server's goroutines may log to
// while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// harness runs the command the way main does, with cheap argon2 and the
// admin password in the environment.
type harness struct {
	t   *testing.T
	dir string
	env map[string]string
}

func newHarness(t *testing.T) *harness {
	return &harness{t: t, dir: filepath.Join(t.TempDir(), "county-data"),
		env: map[string]string{envPassword: testPassword}}
}

type result struct {
	code           int
	stdout, stderr string
}

func (h *harness) run(args ...string) result {
	h.t.Helper()
	var out, errb lockedBuffer
	c := newCLI(envOf(h.env), strings.NewReader(""), &out, &errb)
	c.kdf = auth.TestParams()
	code := c.run(args)
	return result{code, out.String(), errb.String()}
}

// must runs args and fails the test unless the exit status is want.
func (h *harness) must(want int, args ...string) result {
	h.t.Helper()
	r := h.run(args...)
	if r.code != want {
		h.t.Fatalf("jiannuo-server %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	return r
}

func (h *harness) init() *county.Identity {
	h.t.Helper()
	h.must(0, "init", "-dir", h.dir, "-county", "410324", "-hosts", "localhost,127.0.0.1,county.example", "-admin", "zhangwei")
	id, err := county.LoadIdentity(h.dir)
	if err != nil {
		h.t.Fatal(err)
	}
	return id
}

// serve runs `serve` in-process on 127.0.0.1 until the test ends and
// returns the listening address.
func (h *harness) serve(extra ...string) string {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	var errb lockedBuffer
	c := newCLI(envOf(h.env), nil, io.Discard, &errb)
	c.ctx = ctx
	c.listening = func(a net.Addr) { addrc <- a }
	done := make(chan int, 1)
	go func() {
		done <- c.run(append([]string{"serve", "-dir", h.dir, "-addr", "127.0.0.1:0"}, extra...))
	}()
	select {
	case a := <-addrc:
		h.t.Cleanup(func() {
			cancel()
			if code := <-done; code != 0 {
				h.t.Errorf("serve exited %d:\n%s", code, errb.String())
			}
			if !strings.Contains(errb.String(), "county server listening") {
				h.t.Errorf("serve logged no start:\n%s", errb.String())
			}
		})
		return a.String()
	case code := <-done:
		cancel()
		h.t.Fatalf("serve exited %d before listening:\n%s", code, errb.String())
	}
	return ""
}

// device enrols a new device key for an office over the device endpoint,
// pinning the server as a device does.
func enrolDevice(t *testing.T, base, fingerprint string, o office.Code, name, staff string) protocol.DeviceID {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	req := protocol.EnrolRequest{Key: pub, Office: o, DeviceName: name, Staff: staff, Time: time.Now().UnixMilli()}
	tr := &http.Transport{TLSClientConfig: protocol.PinnedTLSConfig(fingerprint)}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Post(base+"/enrol", "application/octet-stream", bytes.NewReader(req.Sign(priv)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /enrol: %d %s", resp.StatusCode, body)
	}
	return protocol.DeviceIDFromKey(pub)
}

func TestInitAndFingerprint(t *testing.T) {
	h := newHarness(t)
	r := h.must(0, "init", "-dir", h.dir, "-county", "410324", "-hosts", "localhost,127.0.0.1,county.example", "-admin", "zhangwei")
	id, err := county.LoadIdentity(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	pub := hex.EncodeToString(id.Key.Public().(ed25519.PublicKey))
	for _, want := range []string{id.Fingerprint, pub, "410324 栾川县", "zhangwei", "county.example", "serve -dir", "back up"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("init output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout+r.stderr, testPassword) {
		t.Error("init printed the password")
	}
	for _, name := range []string{"county.key", "tls.key"} {
		fi, err := os.Stat(filepath.Join(h.dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v", name, fi.Mode().Perm())
		}
	}

	// fingerprint prints exactly what devices pin, from the certificate file.
	r = h.must(0, "fingerprint", "-dir", h.dir)
	if r.stdout != id.Fingerprint+"\n" {
		t.Errorf("fingerprint printed %q, want %q", r.stdout, id.Fingerprint)
	}
	r = h.must(0, "fingerprint", "-dir", h.dir, "-json")
	var fp struct{ Fingerprint string }
	if err := json.Unmarshal([]byte(r.stdout), &fp); err != nil || fp.Fingerprint != id.Fingerprint {
		t.Errorf("fingerprint -json = %s (%v)", r.stdout, err)
	}
	// Through the top-level run, as main calls it.
	var out, errb bytes.Buffer
	if code := run([]string{"fingerprint", "-dir", h.dir}, envOf(nil), nil, &out, &errb); code != 0 || out.String() != id.Fingerprint+"\n" {
		t.Errorf("run fingerprint: %d %q %s", code, out.String(), errb.String())
	}

	// A second init never overwrites the identity devices pinned.
	r = h.must(1, "init", "-dir", h.dir, "-county", "410324", "-admin", "lisi")
	if !strings.Contains(r.stderr, "already initialised") {
		t.Errorf("second init: %s", r.stderr)
	}
	if again, _ := county.LoadIdentity(h.dir); again.Fingerprint != id.Fingerprint {
		t.Error("second init changed the identity")
	}

	// -json gives the same facts to scripts.
	dir2 := filepath.Join(t.TempDir(), "d2")
	r = h.must(0, "init", "-dir", dir2, "-county", "410325", "-admin", "wangfang", "-json")
	var got struct {
		County      string   `json:"county"`
		Fingerprint string   `json:"fingerprint"`
		CountyKey   string   `json:"county_key"`
		Hosts       []string `json:"hosts"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("init -json: %v\n%s", err, r.stdout)
	}
	id2, err := county.LoadIdentity(dir2)
	if err != nil {
		t.Fatal(err)
	}
	if got.County != "410325" || got.Fingerprint != id2.Fingerprint || got.CountyKey != hex.EncodeToString(id2.Key.Public().(ed25519.PublicKey)) ||
		strings.Join(got.Hosts, ",") != "localhost,127.0.0.1" {
		t.Errorf("init -json = %+v", got)
	}
}

func TestInitRefusals(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"no county", nil, []string{"-admin", "a"}, 2, "-county is required"},
		{"township code", nil, []string{"-county", "410324101", "-admin", "a"}, 2, "county-level"},
		{"bad code", nil, []string{"-county", "41O324", "-admin", "a"}, 2, "-county"},
		{"no admin", nil, []string{"-county", "410324"}, 2, "-admin NAME is required"},
		{"no password", map[string]string{}, []string{"-county", "410324", "-admin", "a"}, 2, envPassword},
		{"weak password", map[string]string{envPassword: "1234567"}, []string{"-county", "410324", "-admin", "a"}, 1, "admin password"},
		{"stray argument", nil, []string{"-county", "410324", "-admin", "a", "extra"}, 2, "unexpected argument"},
		{"unknown flag", nil, []string{"-county", "410324", "-admin", "a", "-colour"}, 2, "-colour"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hh := *h
			hh.t = t
			if tc.env != nil {
				hh.env = tc.env
			}
			dir := filepath.Join(t.TempDir(), "d")
			r := hh.must(tc.code, append([]string{"init", "-dir", dir}, tc.args...)...)
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, r.stderr)
			}
			if _, err := os.Stat(filepath.Join(dir, "county.json")); err == nil {
				t.Error("a refused init left an identity")
			}
		})
	}
}

func TestUsage(t *testing.T) {
	h := newHarness(t)
	if r := h.must(2); !strings.Contains(r.stderr, "usage: jiannuo-server COMMAND") {
		t.Errorf("no args: %s", r.stderr)
	}
	if r := h.must(2, "frobnicate"); !strings.Contains(r.stderr, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: %s", r.stderr)
	}
	r := h.must(0, "help")
	for _, cmd := range commands {
		if !strings.Contains(r.stdout, "  "+cmd.name+" ") {
			t.Errorf("help does not list %s", cmd.name)
		}
	}
	if r := h.must(0, "approve", "-h"); !strings.Contains(r.stderr, "-admin-device") {
		t.Errorf("approve -h: %s", r.stderr)
	}
	if r := h.must(1, "fingerprint", "-dir", t.TempDir()); !strings.Contains(r.stderr, "run init") {
		t.Errorf("fingerprint of an empty dir: %s", r.stderr)
	}
	// Admin commands check their arguments before calling anyone.
	if r := h.must(2, "approve", "-admin", "a"); !strings.Contains(r.stderr, "want DEVICE") {
		t.Errorf("approve without device: %s", r.stderr)
	}
	if r := h.must(2, "approve", "MFRGGZD-FMZTWQ3-2LKNNWG-23TPOAA", "-admin", "a"); !strings.Contains(r.stderr, "read it again") {
		t.Errorf("approve with a misheard ID: %s", r.stderr)
	}
	if r := h.must(2, "revoke", "MFRGGZD-FMZTWQ3-2LKNNWG-23TPOAT", "-admin", "a", "-reason", " "); !strings.Contains(r.stderr, "-reason is required") {
		t.Errorf("revoke without reason: %s", r.stderr)
	}
	if r := h.must(2, "devices", "-dir", h.dir); !strings.Contains(r.stderr, "-admin NAME is required") {
		t.Errorf("devices without admin: %s", r.stderr)
	}
	if r := h.must(2, "devices", "-admin", "a", "-fingerprint", "12:34"); !strings.Contains(r.stderr, "not a SHA-256 fingerprint") {
		t.Errorf("bad fingerprint: %s", r.stderr)
	}
	if r := h.must(2, "devices", "-admin", "a", "-url", "http://192.0.2.7:8080"); !strings.Contains(r.stderr, "loopback") {
		t.Errorf("plain http to another host: %s", r.stderr)
	}
}

func TestAdminCommands(t *testing.T) {
	h := newHarness(t)
	id := h.init()
	addr := h.serve()
	base := "https://" + addr
	admin := func(args ...string) []string {
		return append(args, "-dir", h.dir, "-url", base, "-admin", "zhangwei")
	}

	if r := h.must(0, admin("enrolments")...); !strings.Contains(r.stdout, "no pending enrolment requests") {
		t.Errorf("enrolments, none yet: %s", r.stdout)
	}
	if r := h.must(0, admin("devices")...); !strings.Contains(r.stdout, "no enrolled devices") {
		t.Errorf("devices, none yet: %s", r.stdout)
	}

	dev := enrolDevice(t, base, id.Fingerprint, "410324101", "赤土店镇党政办-1", "李娜")
	r := h.must(0, admin("enrolments")...)
	for _, want := range []string{dev.String(), "410324101 赤土店镇", "赤土店镇党政办-1", "李娜", "待审核 pending", "approve DEVICE"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("enrolments lacks %q:\n%s", want, r.stdout)
		}
	}

	// Out of the county: refused by the server with its stable code.
	r = h.must(1, admin("approve", dev.String(), "-office", "410325101")...)
	if !strings.Contains(r.stderr, "out_of_scope") || !strings.Contains(r.stderr, "HTTP 400") {
		t.Errorf("approve out of scope: %s", r.stderr)
	}

	// The admin types the ID as heard: lower case, spaces instead of dashes.
	heard := strings.ToLower(strings.ReplaceAll(dev.String(), "-", " "))
	r = h.must(0, admin("approve", heard)...)
	for _, want := range []string{"已批准 approved", dev.String(), "410324101 赤土店镇", "赤土店镇党政办-1", "township"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("approve output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = h.must(1, admin("approve", dev.String())...)
	if !strings.Contains(r.stderr, "not_found") {
		t.Errorf("approving twice: %s", r.stderr)
	}

	r = h.must(0, admin("devices", "-json")...)
	var devs []countyapi.DeviceInfo
	if err := json.Unmarshal([]byte(r.stdout), &devs); err != nil {
		t.Fatalf("devices -json: %v\n%s", err, r.stdout)
	}
	if len(devs) != 1 || devs[0].ID != dev || devs[0].Office != "410324101" || devs[0].Revoked || devs[0].Name != "赤土店镇党政办-1" {
		t.Fatalf("devices -json = %+v", devs)
	}
	r = h.must(0, admin("devices")...)
	for _, want := range []string{dev.String(), "410324101 赤土店镇", "在用 active"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("devices lacks %q:\n%s", want, r.stdout)
		}
	}

	// Revocation, reason first.
	h.must(2, admin("revoke", dev.String())...)
	r = h.must(0, admin("revoke", dev.String(), "-reason", "笔记本电脑丢失")...)
	if !strings.Contains(r.stdout, "已吊销 revoked") || !strings.Contains(r.stdout, "笔记本电脑丢失") {
		t.Errorf("revoke output:\n%s", r.stdout)
	}
	r = h.must(0, admin("devices", "-json")...)
	devs = nil
	if err := json.Unmarshal([]byte(r.stdout), &devs); err != nil || len(devs) != 1 || !devs[0].Revoked || devs[0].Reason != "笔记本电脑丢失" {
		t.Fatalf("devices after revoke: %s (%v)", r.stdout, err)
	}
	if r := h.must(0, admin("devices")...); !strings.Contains(r.stdout, "已吊销 revoked") {
		t.Errorf("devices after revoke:\n%s", r.stdout)
	}

	// Rejection of a second device, then the full list.
	dev2 := enrolDevice(t, base, id.Fingerprint, "410324102", "合峪镇-1", "王强")
	h.must(2, admin("reject", dev2.String())...)
	h.must(0, admin("reject", dev2.String(), "-reason", "设备号核对不一致")...)
	r = h.must(0, admin("enrolments", "-all")...)
	for _, want := range []string{dev.String(), dev2.String(), "已吊销 revoked", "已拒绝 rejected", "设备号核对不一致", "zhangwei"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("enrolments -all lacks %q:\n%s", want, r.stdout)
		}
	}
	r = h.must(0, admin("enrolments", "-json")...)
	if strings.TrimSpace(r.stdout) != "null" && strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("enrolments -json with none pending: %s", r.stdout)
	}

	// A wrong password: the stable code and message, an incident.
	h.env[envPassword] = "not the password"
	r = h.must(1, admin("devices")...)
	if !strings.Contains(r.stderr, "not_authorized") || !strings.Contains(r.stderr, "HTTP 401") {
		t.Errorf("wrong password: %s", r.stderr)
	}
	r = h.must(1, admin("devices", "-json")...)
	if !strings.Contains(r.stdout, `"code":"not_authorized"`) {
		t.Errorf("wrong password, -json stdout: %s", r.stdout)
	}
	h.env[envPassword] = testPassword

	r = h.must(0, admin("incidents")...)
	for _, want := range []string{"not_authorized", "bad credential for zhangwei", "127.0.0.1", "TIME"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("incidents lacks %q:\n%s", want, r.stdout)
		}
	}
	// The two wrong passwords are one incident counting both; a wrong
	// name is another.
	h.must(1, "devices", "-dir", h.dir, "-url", base, "-admin", "lisi")
	r = h.must(0, admin("incidents", "-limit", "1")...)
	if !strings.Contains(r.stdout, "older incidents not shown") || !strings.Contains(r.stdout, "lisi") || strings.Contains(r.stdout, "zhangwei") {
		t.Errorf("incidents -limit 1:\n%s", r.stdout)
	}
	r = h.must(0, admin("incidents", "-json")...)
	var in []countyapi.Incident
	if err := json.Unmarshal([]byte(r.stdout), &in); err != nil || len(in) < 2 || in[0].Times()+in[1].Times() < 3 {
		t.Errorf("incidents -json: %s (%v)", r.stdout, err)
	}

	if r := h.must(0, admin("conflicts")...); !strings.Contains(r.stdout, "no conflicts") {
		t.Errorf("conflicts: %s", r.stdout)
	}
	if r := h.must(0, admin("conflicts", "-json")...); strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("conflicts -json: %q", r.stdout)
	}

	// Pinning by -fingerprint as typed, without the data directory.
	loose := strings.ToLower(strings.ReplaceAll(id.Fingerprint, ":", ""))
	h.must(0, "devices", "-url", base, "-fingerprint", loose, "-admin", "zhangwei", "-dir", t.TempDir())
	// Another server's fingerprint: refused before any password is sent.
	other := newHarness(t)
	otherID := other.init()
	r = h.must(1, "devices", "-url", base, "-fingerprint", otherID.Fingerprint, "-admin", "zhangwei")
	if !strings.Contains(r.stderr, "not the county server you pinned") {
		t.Errorf("wrong pin: %s", r.stderr)
	}
}

func TestEnrolmentsShowsNoTerminalEscapes(t *testing.T) {
	h := newHarness(t)
	id := h.init()
	base := "https://" + h.serve()
	enrolDevice(t, base, id.Fingerprint, "410324101", "pc\x1b[2J\x1b]0;pwned\x07", "张\u202e三")
	r := h.must(0, "enrolments", "-dir", h.dir, "-url", base, "-admin", "zhangwei")
	if strings.ContainsAny(r.stdout, "\x1b\x07\u202e") {
		t.Fatalf("enrolments printed control characters: %q", r.stdout)
	}
	if !strings.Contains(r.stdout, "pc\ufffd[2J") {
		t.Errorf("cleaned name not shown: %q", r.stdout)
	}
}

func TestServeInsecureLoopback(t *testing.T) {
	h := newHarness(t)
	h.init()
	for _, addr := range []string{"0.0.0.0:0", ":8080", "192.0.2.7:8080"} {
		r := h.must(2, "serve", "-dir", h.dir, "-insecure-loopback", "-addr", addr)
		if !strings.Contains(r.stderr, "only on a loopback address") {
			t.Errorf("serve -insecure-loopback -addr %s: %s", addr, r.stderr)
		}
	}
	// On loopback it serves plain http, and the admin commands follow.
	addr := h.serve("-insecure-loopback")
	r := h.must(0, "devices", "-url", "http://"+addr, "-admin", "zhangwei", "-json")
	if strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("devices over plain http: %q", r.stdout)
	}
}

func TestServeNotInitialised(t *testing.T) {
	h := newHarness(t)
	r := h.must(1, "serve", "-dir", h.dir, "-addr", "127.0.0.1:0")
	if !strings.Contains(r.stderr, "run init first") {
		t.Errorf("serve without init: %s", r.stderr)
	}
}

// TestCalendarAndAck: the admin publishes next year's holiday schedule and
// acknowledges an incident from the command line.
func TestCalendarAndAck(t *testing.T) {
	h := newHarness(t)
	h.init()
	base := "https://" + h.serve()
	admin := func(args ...string) []string {
		return append(args, "-dir", h.dir, "-url", base, "-admin", "zhangwei")
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"format":2}`), 0o600)
	if r := h.must(1, admin("calendar", bad)...); !strings.Contains(r.stderr, "bad.json") {
		t.Errorf("a bad overlay: %s", r.stderr)
	}
	r := h.must(0, admin("calendar", "../../../domain/calendar/testdata/overlay-example.json")...)
	if !strings.Contains(r.stdout, "version 1") {
		t.Errorf("calendar publish: %s", r.stdout)
	}
	// A wrong password makes an incident to acknowledge.
	h.env[envPassword] = "not the password"
	h.must(1, admin("devices")...)
	h.env[envPassword] = testPassword
	r = h.must(0, admin("incidents", "-json")...)
	var in []countyapi.Incident
	if err := json.Unmarshal([]byte(r.stdout), &in); err != nil || len(in) == 0 || in[0].ID == "" {
		t.Fatalf("incidents -json: %s (%v)", r.stdout, err)
	}
	id := in[0].ID
	h.must(2, admin("ack", id)...)
	r = h.must(0, admin("ack", id, "-reason", "已核实为管理员输错口令")...)
	if !strings.Contains(r.stdout, "acknowledged") {
		t.Errorf("ack: %s", r.stdout)
	}
	r = h.must(0, admin("incidents", "-json")...)
	json.Unmarshal([]byte(r.stdout), &in)
	acked := false
	for _, i := range in {
		acked = acked || (i.ID == id && i.Acknowledged)
	}
	if !acked {
		t.Errorf("incident %s not acknowledged: %s", id, r.stdout)
	}
}
