package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// TestImportCommand: a device that never connects exports a bundle to a
// file; `import FILE` against the running server writes the return file
// beside it and says what it did; the device imports it and its outbox is
// empty. A file that is no bundle is refused with its code.
func TestImportCommand(t *testing.T) {
	h := newHarness(t)
	id := h.init()
	base := "https://" + h.serve()
	admin := func(args ...string) []string {
		return append(args, "-dir", h.dir, "-url", base, "-admin", "zhangwei")
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "device.db"), &store.Options{KDF: auth.TestParams(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	se, err := st.Setup(store.SetupConfig{Office: "410324101", DeviceName: "赤土店镇党政办-U盘", Name: "lina", DisplayName: "李娜", Role: domain.RoleLeader, Passphrase: "镇工作人员口令2026"})
	if err != nil {
		t.Fatal(err)
	}
	srv := engine.Server{BaseURL: base, Fingerprint: id.Fingerprint}
	ctx := context.Background()
	if _, err := engine.RequestEnrolment(ctx, srv, se); err != nil {
		t.Fatal(err)
	}
	h.must(0, admin("approve", se.Device().ID.String())...)
	en, err := engine.EnrolmentStatus(ctx, srv, se)
	if err != nil || en.Status != countyapi.EnrolApproved {
		t.Fatalf("enrolment %+v: %v", en, err)
	}
	eng := engine.New(se, engine.Config{URL: srv.SyncURL(), Fingerprint: id.Fingerprint, CountyKey: en.CountyKey, County: en.County})
	if _, err := se.Create(store.Draft{Category: domain.CatConvenience, Title: "村道路灯七日内修复", Text: "村道路灯七日内修复",
		Responsible: "李娜", StartDate: calendar.NewDate(2026, 11, 2), Deadline: domain.WorkdaysDeadline(7), Public: true}); err != nil {
		t.Fatal(err)
	}

	stick := t.TempDir()
	bundle := filepath.Join(stick, "赤土店镇-1"+protocol.BundleFileExt)
	f, err := os.Create(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.ExportBundle(f, engine.ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	f.Close()

	r := h.must(0, admin("import", bundle)...)
	ret := filepath.Join(stick, "赤土店镇-1"+protocol.ReturnFileExt)
	for _, want := range []string{"bundle imported", se.Device().ID.String(), "410324101 赤土店镇", "已回执 receipted 1", ret} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("import lacks %q:\n%s", want, r.stdout)
		}
	}
	rf, err := os.Open(ret)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := eng.ImportReturn(ctx, rf)
	rf.Close()
	if err != nil || sum.Receipts != 1 || sum.Outbox != 0 {
		t.Fatalf("importing the return file: %+v, %v", sum, err)
	}

	// -json prints the server's summary; -out puts the file elsewhere.
	other := filepath.Join(t.TempDir(), "back.jnsr")
	r = h.must(0, admin("import", bundle, "-out", other, "-json")...)
	var s countyapi.SyncImport
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil || s.Device != se.Device().ID || s.Receipted != 1 || s.ReturnBytes == 0 {
		t.Fatalf("import -json: %s (%v)", r.stdout, err)
	}
	if fi, err := os.Stat(other); err != nil || fi.Size() != s.ReturnBytes {
		t.Fatalf("-out: %v %v", fi, err)
	}

	// Not a bundle: refused, and no return file is left.
	junk := filepath.Join(stick, "junk"+protocol.BundleFileExt)
	os.WriteFile(junk, []byte("JNSB\x01 not a bundle"), 0o600)
	r = h.must(1, admin("import", junk)...)
	if !strings.Contains(r.stderr, "malformed") {
		t.Errorf("a junk file: %s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(stick, "junk"+protocol.ReturnFileExt)); !os.IsNotExist(err) {
		t.Errorf("a refused import left a return file: %v", err)
	}
	h.must(2, admin("import")...)
}
