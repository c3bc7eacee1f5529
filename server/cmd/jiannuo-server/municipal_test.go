package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"jiannuo/server/municipal"
)

// freePort returns a port free for TCP and UDP on 127.0.0.1, for a
// cluster address given on the command line.
func freePort(t *testing.T) string {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		pc, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			pc.Close()
			return "127.0.0.1:" + strconv.Itoa(port)
		}
	}
	t.Fatal("no free port")
	return ""
}

// TestMunicipalRole: a county's trust entry makes a trust file; init
// -role municipal makes a node and prints its key; the county admin
// authorises it with upstream add and sees it in upstream list; the county
// serves in the cluster and the municipal node serves its public routes,
// joined to it.
func TestMunicipalRole(t *testing.T) {
	h := newHarness(t)
	id := h.init()

	r := h.must(0, "trust-entry", "-dir", h.dir)
	trust, err := municipal.ParseTrust([]byte(r.stdout))
	if err != nil || len(trust) != 1 || !trust[id.County].Equal(id.Key.Public()) {
		t.Fatalf("trust-entry printed %q: %v", r.stdout, err)
	}
	trustFile := filepath.Join(t.TempDir(), "trust.json")
	os.WriteFile(trustFile, []byte(r.stdout), 0o644)

	mdir := filepath.Join(t.TempDir(), "municipal-data")
	if r := h.must(2, "init", "-role", "municipal", "-dir", mdir, "-name", "市信用平台-1"); !strings.Contains(r.stderr, "-trust FILE is required") {
		t.Errorf("init without -trust: %s", r.stderr)
	}
	if r := h.must(2, "init", "-role", "city", "-dir", mdir); !strings.Contains(r.stderr, "want county or municipal") {
		t.Errorf("init -role city: %s", r.stderr)
	}
	r = h.must(0, "init", "-role", "municipal", "-dir", mdir, "-trust", trustFile, "-name", "市信用平台-1", "-json")
	var out struct {
		Key  string `json:"key"`
		Node string `json:"node"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.Key) != 64 {
		t.Fatalf("init -role municipal -json: %q %v", r.stdout, err)
	}
	h.must(1, "init", "-role", "municipal", "-dir", mdir, "-trust", trustFile, "-name", "again")

	if r := h.must(2, "serve", "-dir", h.dir, "-addr", "127.0.0.1:0", "-join", "127.0.0.1:7946"); !strings.Contains(r.stderr, "need -cluster-addr") {
		t.Errorf("serve -join without -cluster-addr: %s", r.stderr)
	}
	countySerf, muniSerf := freePort(t), freePort(t)
	base := "https://" + h.serve("-cluster-addr", countySerf, "-join", muniSerf)
	admin := func(args ...string) []string {
		return append(args, "-dir", h.dir, "-url", base, "-admin", "zhangwei")
	}
	if r := h.must(2, admin("upstream", "add", "-key", "abcd", "-name", "x")...); !strings.Contains(r.stderr, "64-hex-digit") {
		t.Errorf("upstream add with a short key: %s", r.stderr)
	}
	h.must(2, "upstream", "remove")
	h.must(0, admin("upstream", "add", "-key", out.Key, "-name", "市信用平台-1")...)
	if r := h.must(0, admin("upstream", "list")...); !strings.Contains(r.stdout, "市信用平台-1") || !strings.Contains(r.stdout, out.Node) {
		t.Errorf("upstream list:\n%s", r.stdout)
	}

	shortKey, questionKey := filepath.Join(t.TempDir(), "short.key"), filepath.Join(t.TempDir(), "question.key")
	os.WriteFile(shortKey, []byte("abcd\n"), 0o600)
	os.WriteFile(questionKey, []byte(strings.Repeat("5a", 32)+"\n"), 0o600)
	// The public page's settings are checked before anything starts, and
	// belong to the municipal node only; the time limits of cases to the
	// county.
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"-after-repair", "forget"}, `-after-repair "forget": want keep or withdraw`},
		{[]string{"-disclosure-days", "0"}, "at least 1"},
		{[]string{"-repair-withdraw-days", "-3"}, "at least 1"},
		{[]string{"-intake-per-hour", "6", "-intake-per-day", "5"}, "-intake-per-day (5) at least as many"},
		{[]string{"-trusted-proxy-header", "X Forwarded"}, "not a header name"},
		{[]string{"-case-ack-days", "2"}, "-case-ack-days: the county servers set"},
	} {
		args := append([]string{"serve", "-role", "municipal", "-dir", mdir, "-http", "127.0.0.1:0", "-ops", "127.0.0.1:0"}, bad.args...)
		if r := h.must(2, args...); !strings.Contains(r.stderr, bad.want) {
			t.Errorf("serve -role municipal %v: %s", bad.args, r.stderr)
		}
	}
	if r := h.must(1, "serve", "-role", "municipal", "-dir", mdir, "-http", "127.0.0.1:0", "-ops", "127.0.0.1:0", "-question-key-file", shortKey); !strings.Contains(r.stderr, "want at least 64 hex digits") {
		t.Errorf("serve -role municipal with a short question key: %s", r.stderr)
	}
	if r := h.must(2, "serve", "-dir", h.dir, "-addr", "127.0.0.1:0", "-intake-per-hour", "3"); !strings.Contains(r.stderr, "-intake-per-hour: settings of the municipal node") {
		t.Errorf("serve -intake-per-hour on a county: %s", r.stderr)
	}

	// The municipal node, joined to the county.
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	var errb lockedBuffer
	c := newCLI(envOf(h.env), nil, io.Discard, &errb)
	c.ctx, c.listening = ctx, func(a net.Addr) { addrc <- a }
	done := make(chan int, 1)
	go func() {
		done <- c.run([]string{"serve", "-role", "municipal", "-dir", mdir, "-http", "127.0.0.1:0", "-ops", "127.0.0.1:0",
			"-cluster-addr", muniSerf, "-join", countySerf, "-disclosure-days", "730", "-after-repair", "withdraw",
			"-repair-withdraw-days", "20", "-intake-per-hour", "2", "-intake-per-day", "4", "-trusted-proxy-header", "X-Forwarded-For",
			"-question-key-file", questionKey})
	}()
	var httpAddr string
	select {
	case a := <-addrc:
		httpAddr = a.String()
	case code := <-done:
		cancel()
		t.Fatalf("serve -role municipal exited %d:\n%s", code, errb.String())
	}
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve -role municipal exited %d:\n%s", code, errb.String())
		}
		if !strings.Contains(errb.String(), "municipal node serving") {
			t.Errorf("no start logged:\n%s", errb.String())
		}
	}()
	resp, err := http.Get("http://" + httpAddr + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st municipal.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/stats: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	resp, err = http.Get("http://" + httpAddr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("public page: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// The disclosure period given reaches the page.
	resp, err = http.Get("http://" + httpAddr + "/d/" + string(id.County))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "公示 730 日") {
		t.Errorf("the county's records page under -disclosure-days 730: %d\n%s", resp.StatusCode, body)
	}
}
