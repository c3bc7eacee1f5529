package main

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/store"
)

// townshipWork creates and publishes commitments on a fresh device of
// township o and returns its device record and sealed change sets.
func townshipWork(t *testing.T, o office.Code, titles ...string) (store.DeviceRecord, [][]byte) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "device.db"), &store.Options{KDF: auth.TestParams(), NoSync: true, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	se, err := st.Setup(store.SetupConfig{Office: o, DeviceName: "党政办-1", Name: "lina", DisplayName: "李娜",
		Role: domain.RoleLeader, Passphrase: "测试口令-2026"})
	if err != nil {
		t.Fatal(err)
	}
	var items []store.BatchItem
	for _, title := range titles {
		items = append(items, store.BatchItem{Publish: true, Draft: store.Draft{Category: domain.CatConvenience, Title: title,
			Text: title + "，按时办结。", Responsible: "陈静", StartDate: calendar.NewDate(2026, 9, 1),
			Deadline: domain.DateDeadline(calendar.NewDate(2026, 12, 31)), Public: true}})
	}
	if _, err := se.CreateBatch(items); err != nil {
		t.Fatal(err)
	}
	if _, err := se.Seal(0); err != nil {
		t.Fatal(err)
	}
	sets, err := st.ChangeSets(se.Device().ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return se.Device(), sets
}

// TestNoticeCommand prints the public notice from a stopped county
// server's replica, for one township and for the whole county, and is
// refused clearly while the server runs.
func TestNoticeCommand(t *testing.T) {
	h := newHarness(t)
	h.init()
	rep, err := store.Open(filepath.Join(h.dir, replicaFile), &store.Options{Feed: true, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		o      office.Code
		titles []string
	}{{"410324101", []string{"赤土店镇的承诺一", "赤土店镇的承诺二"}}, {"410324102", []string{"合峪镇的承诺"}}} {
		dev, sets := townshipWork(t, w.o, w.titles...)
		if err := rep.PutDevice(dev); err != nil {
			t.Fatal(err)
		}
		res, err := rep.Apply(sets...)
		if err != nil || !res[0].Applied() {
			t.Fatalf("apply: %v %+v", err, res)
		}
	}
	must(t, rep.Close())

	out := filepath.Join(t.TempDir(), "公示.pdf")
	r := h.must(0, "notice", "-dir", h.dir, "-office", "410324101", "-o", out, "-public-url", "https://xy.example.gov.cn/gongshi", "-date", "2026-11-25")
	if !strings.Contains(r.stdout, "410324101 赤土店镇, 2 commitments, 1 pages, 2 QR codes") {
		t.Errorf("stdout: %s", r.stdout)
	}
	if b, err := os.ReadFile(out); err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("the PDF: %v", err)
	}
	r = h.must(0, "notice", "-dir", h.dir, "-county", "-o", out)
	if !strings.Contains(r.stdout, "410324 栾川县, 3 commitments, 2 pages, 0 QR codes") || !strings.Contains(r.stdout, "no QR codes") {
		t.Errorf("county stdout: %s", r.stdout)
	}
	// A copy of the replica, as from a backup.
	cp := filepath.Join(t.TempDir(), "county-copy.db")
	b, err := os.ReadFile(filepath.Join(h.dir, replicaFile))
	must(t, err)
	must(t, os.WriteFile(cp, b, 0o600))
	h.must(0, "notice", "-db", cp, "-office", "410324", "-o", out)

	for _, bad := range [][]string{
		{"notice", "-dir", h.dir, "-o", out},
		{"notice", "-dir", h.dir, "-county", "-office", "410324101", "-o", out},
		{"notice", "-dir", h.dir, "-county", "-o", filepath.Join(t.TempDir(), "x.xlsx")},
		{"notice", "-dir", h.dir, "-county", "-o", out, "-public-url", "xy.example.gov.cn"},
		{"notice", "-db", cp, "-county", "-o", out},
	} {
		h.must(2, bad...)
	}

	h.serve()
	r = h.must(1, "notice", "-dir", h.dir, "-county", "-o", out)
	if !strings.Contains(r.stderr, "stop the server first") {
		t.Errorf("while serving: %s", r.stderr)
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
