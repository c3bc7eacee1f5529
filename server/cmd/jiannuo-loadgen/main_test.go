package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"jiannuo/server/county"
	"jiannuo/server/county/countytest"
)

const adminPass = "县信用办管理员口令"

// serve runs a county server on 127.0.0.1 from a fresh data directory and
// returns the directory and the server's URL.
func serve(t *testing.T) (string, string) {
	t.Helper()
	c := countytest.Start(t, countytest.Config{County: "410324", Admin: "admin", Password: adminPass, NoSync: true})
	return c.Dir, c.Base.BaseURL
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestPushJSON(t *testing.T) {
	dir, url := serve(t)
	var out, errOut bytes.Buffer
	code := run([]string{"-url", url, "-dir", dir, "-admin", "admin", "-devices", "2", "-changesets", "3", "-ops", "20", "-json", "-text", "clauses", "-seed", "9"},
		env(map[string]string{envPassword: adminPass}), &out, &errOut, context.Background())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var r struct {
		Ops     int            `json:"ops_acknowledged"`
		County  string         `json:"county"`
		PerOp   float64        `json:"sent_bytes_per_op"`
		Errors  map[string]int `json:"errors"`
		Refused int            `json:"refused"`
		Text    string         `json:"text"`
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if r.Ops != 120 || r.County != "410324" || r.PerOp <= 0 || len(r.Errors) != 0 || r.Refused != 0 || r.Text != "clauses" {
		t.Fatalf("result: %s", out.String())
	}
}

func TestPushTableWithFingerprint(t *testing.T) {
	dir, url := serve(t)
	fp, err := county.FingerprintOf(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run([]string{"-url", url, "-fingerprint", strings.ToLower(strings.ReplaceAll(fp, ":", "")), "-devices", "1", "-changesets", "2", "-ops", "10"},
		env(map[string]string{envPassword: adminPass, envAdmin: "admin"}), &out, &errOut, context.Background())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"acknowledged", "2 change sets, 20 ops", "errors", "none", "hanzi, permessage-deflate"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestIdleHold(t *testing.T) {
	dir, url := serve(t)
	var out, errOut bytes.Buffer
	code := run([]string{"-url", url, "-dir", dir, "-admin", "admin", "-idle", "4", "-hold", "50ms"},
		env(map[string]string{envPassword: adminPass}), &out, &errOut, context.Background())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !regexp.MustCompile(`idle devices connected +4 in`).MatchString(out.String()) ||
		!regexp.MustCompile(`online \(admin API\) +4`).MatchString(out.String()) {
		t.Fatalf("output:\n%s", out.String())
	}
}

// TestIdleKeys: the devices of a keys file are reused without enrolment
// (no admin credential needed the second time).
func TestIdleKeys(t *testing.T) {
	dir, url := serve(t)
	keys := filepath.Join(t.TempDir(), "keys.txt")
	var out, errOut bytes.Buffer
	args := []string{"-url", url, "-dir", dir, "-idle", "3", "-hold", "10ms", "-keys", keys}
	if code := run(append(args, "-admin", "admin"), env(map[string]string{envPassword: adminPass}), &out, &errOut, context.Background()); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	raw, err := os.ReadFile(keys)
	if err != nil || len(strings.Fields(string(raw))) != 3 {
		t.Fatalf("keys file: %v %q", err, raw)
	}
	if code := run(args, env(nil), &out, &errOut, context.Background()); code != 0 {
		t.Fatalf("second run, exit %d: %s", code, errOut.String())
	}
	if code := run([]string{"-url", url, "-dir", dir, "-keys", keys}, env(nil), &out, &errOut, context.Background()); code != 2 {
		t.Fatalf("-keys without -idle: exit %d", code)
	}
}

func TestUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	for _, args := range [][]string{
		{"-url", "https://127.0.0.1:1"},                                           // no fingerprint
		{"-url", "https://127.0.0.1:1", "-fingerprint", "AB:CD"},                  // bad fingerprint
		{"-url", "https://127.0.0.1:1", "-fingerprint", strings.Repeat("ab", 32)}, // no admin
		{"stray"},
		{"-url", "https://127.0.0.1:1", "-fingerprint", strings.Repeat("ab", 32), "-text", "lorem"}, // unknown text mode
	} {
		if code := run(args, env(nil), &out, &errOut, context.Background()); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}
