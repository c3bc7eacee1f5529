package vm

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jiannuo/assets"
	"jiannuo/auth"
	"jiannuo/domain/calendar"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

func zhText(m Message) string {
	zh := assets.NewTranslator(assets.LangZhHans)
	return m.Text(func(k string) string { return zh.T(k) })
}

// TestSyncViewLastSync: once the device has synced, the status bar's last
// part says when and how — online or by USB stick — and still names the
// county's last receipt; before, it is as it was.
func TestSyncViewLastSync(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 40, 0, 0, cst)
	s := engine.Status{State: engine.StateOffline, LastReceiptSeq: 4, LastReceiptTime: time.Date(2026, 11, 23, 9, 0, 0, 0, cst)}
	if v := SyncViewOf(s, now); v.Parts[2].Key != "ui.sync.last_receipt" {
		t.Fatalf("without a last sync: %v", v.Parts[2])
	}
	s.LastSync, s.LastSyncVia = time.Date(2026, 11, 23, 9, 1, 0, 0, cst), store.SyncedByFile
	v := SyncViewOf(s, now)
	checkMessage(t, v.Line)
	if len(v.Parts) != 3 || zhText(v.Parts[2]) != "上次同步 11-23 09:01（U盘） · 县级平台最后确认 11-23 09:00" {
		t.Fatalf("after a sync by file: %q", zhText(v.Parts[2]))
	}
	s.LastSync, s.LastSyncVia, s.LastReceiptTime = time.Date(2025, 12, 30, 16, 5, 0, 0, cst), store.SyncedOnline, time.Time{}
	if got := zhText(SyncViewOf(s, now).Parts[2]); got != "上次同步 2025-12-30 16:05（联网） · 尚无县级平台确认" {
		t.Fatalf("after an online sync last year: %q", got)
	}
	// The engine reports only its own run's: the store's is kept until.
	merged := MergeStatus(engine.Status{LastSync: s.LastSync, LastSyncVia: store.SyncedOnline}, engine.Status{State: engine.StateIdle})
	if merged.LastSync != s.LastSync || merged.LastSyncVia != store.SyncedOnline {
		t.Fatalf("merged %+v", merged)
	}
}

// TestInitialStatusLastSync: the status bar starts from the last sync the
// store noted.
func TestInitialStatusLastSync(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "d.db"), &store.Options{KDF: auth.TestParams(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if s, err := InitialStatus(st); err != nil || !s.LastSync.IsZero() {
		t.Fatalf("before any sync: %+v %v", s, err)
	}
	at := time.Date(2026, 11, 23, 9, 1, 0, 0, time.UTC)
	if err := st.SetLastSync(store.LastSync{Time: at, Via: store.SyncedByFile}); err != nil {
		t.Fatal(err)
	}
	if s, err := InitialStatus(st); err != nil || !s.LastSync.Equal(at) || s.LastSyncVia != store.SyncedByFile {
		t.Fatalf("after a sync by file: %+v %v", s, err)
	}
}

// TestSyncFileMessages: what the export, the import and the admin's import
// say, in both languages.
func TestSyncFileMessages(t *testing.T) {
	loc := cst
	first := time.Date(2026, 11, 2, 9, 0, 0, 0, loc)
	exp := engine.ExportSummary{Number: 3, Bytes: 5 << 20, ChangeSets: 12, Ops: 1100, First: first, Last: first.Add(50 * time.Hour),
		Later: 2, EvidenceSent: 4, EvidenceSentBytes: 4 << 20, EvidenceLeft: 1, EvidenceWanted: 2}
	lines := ExportSummaryLines(exp, loc)
	for _, m := range lines {
		checkMessage(t, m)
	}
	if got := zhText(lines[0]); got != "第 3 号同步包：12 个变更集（1100 项操作），操作日期 2026-11-02 至 2026-11-04" {
		t.Errorf("summary: %q", got)
	}
	if got := zhText(lines[len(lines)-1]); !strings.Contains(got, "仍保留在“待同步”中") {
		t.Errorf("the outbox note: %q", got)
	}
	for _, m := range ExportSummaryLines(engine.ExportSummary{Number: 1}, loc) {
		checkMessage(t, m)
	}

	// Too large: the date to cut at is the day before the first that does
	// not fit.
	err := fmt.Errorf("export: %w", &engine.TooLargeError{Size: 300 << 20, Limit: 256 << 20, Until: time.Date(2026, 11, 20, 0, 0, 0, 0, loc)})
	m, until, ok := ExportTooLarge(err, loc)
	if !ok || until != calendar.NewDate(2026, 11, 19) || !strings.Contains(zhText(m), "建议截至 2026-11-19") {
		t.Fatalf("too large: %q %v %v", zhText(m), until, ok)
	}
	checkMessage(t, m)
	m, until, ok = ExportTooLarge(&engine.TooLargeError{Size: 300 << 20, Limit: 256 << 20}, loc)
	if !ok || !until.IsZero() || m.Key != "app.syncfile.too_large_no_day" {
		t.Fatalf("too large, no day fits: %v %v %v", m, until, ok)
	}
	if _, _, ok := ExportTooLarge(protocol.ErrOversize, loc); ok {
		t.Fatal("another error taken for a bundle too large")
	}
	cut, err := ParseUntil(" 2026-11-19 ", loc)
	if err != nil || !cut.Equal(time.Date(2026, 11, 20, 0, 0, 0, 0, loc)) {
		t.Fatalf("until: %v %v", cut, err)
	}
	if cut, err := ParseUntil("", loc); err != nil || !cut.IsZero() {
		t.Fatalf("no end date: %v %v", cut, err)
	}
	if _, err := ParseUntil("11/19", loc); err == nil {
		t.Fatal("a bad date was taken")
	}

	imp := engine.ImportSummary{Number: 3, Created: first, Receipts: 12, Delivered: 40, EvidenceReceived: 3, Outbox: 2, Reset: true, Partial: true,
		Refused: []engine.Refusal{{Hash: protocol.HashOf([]byte("x")), Code: protocol.CodeNotFound}, {Seq: 13, Code: protocol.CodeFork}}}
	lines = ImportSummaryLines(imp, loc)
	for _, m := range lines {
		checkMessage(t, m)
	}
	if len(lines) != 6 || lines[3].Key != "app.syncfile.imported_refused" || lines[3].Args[0] != 1 {
		t.Fatalf("import lines %v", lines)
	}

	dev := protocol.DeviceIDFromKey(make([]byte, 32))
	adm := AdminImportLines(countyapi.SyncImport{Device: dev, Office: "410324101", Number: 3, ChangeSets: 12, Receipted: 11, Refused: 1,
		RefusedCode: protocol.CodeFork, Skipped: true, EvidenceLeft: 1}, "/media/u/x.jnsr")
	for _, m := range adm {
		checkMessage(t, m)
	}
	if !strings.Contains(zhText(adm[0]), "赤土店镇") || !strings.Contains(zhText(adm[len(adm)-1]), "/media/u/x.jnsr") {
		t.Fatalf("admin lines %q … %q", zhText(adm[0]), zhText(adm[len(adm)-1]))
	}

	name := BundleFileName("410324101", dev, 3, first)
	if !strings.HasSuffix(name, protocol.BundleFileExt) || !strings.Contains(name, "410324101") || ReturnFileName(name) != strings.TrimSuffix(name, protocol.BundleFileExt)+protocol.ReturnFileExt {
		t.Fatalf("file names %q, %q", name, ReturnFileName(name))
	}
	for _, r := range name {
		if r > 0x7e {
			t.Fatalf("bundle name %q is not plain ASCII", name)
		}
	}
}
