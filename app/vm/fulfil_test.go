package vm

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jiannuo/domain"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// writeFile writes a file of the given content in dir.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	must(t, os.WriteFile(p, data, 0o600))
	return p
}

// bigFile makes a sparse file of n bytes (no disk used).
func bigFile(t *testing.T, dir, name string, n int64) string {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	must(t, err)
	must(t, f.Truncate(n))
	must(t, f.Close())
	return p
}

func pngBytes(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	must(t, png.Encode(&b, image.NewGray(image.Rect(0, 0, 4, 4))))
	return b.Bytes()
}

func validFulfil() Fulfil {
	return Fulfil{Date: "2026-11-24", Progress: "60", Note: "完成本月走访132户，建立走访台账。", Today: testToday}
}

func TestFulfilValidate(t *testing.T) {
	dir := t.TempDir()
	photo := writeFile(t, dir, "走访照片.png", pngBytes(t))
	empty := writeFile(t, dir, "空文件.pdf", nil)
	huge := bigFile(t, dir, "扫描件.pdf", protocol.MaxEvidenceBytes+1)
	limit := bigFile(t, dir, "正好.pdf", protocol.MaxEvidenceBytes)

	f := validFulfil()
	f.Evidence = []string{photo, limit}
	if bad := f.Validate(); len(bad) != 0 {
		t.Fatalf("valid: %v", bad)
	}
	many := make([]string, protocol.MaxEvidencePerEntry+1)
	for i := range many {
		many[i] = photo
	}
	for _, tc := range []struct {
		name  string
		edit  func(f *Fulfil)
		field string
		key   string
		args  []any
	}{
		{"no date", func(f *Fulfil) { f.Date = "" }, FieldDate, "ui.fulfil.date_required", nil},
		{"bad date", func(f *Fulfil) { f.Date = "11月24日" }, FieldDate, "ui.form.date_invalid", nil},
		{"future date", func(f *Fulfil) { f.Date = "2026-11-26" }, FieldDate, "ui.fulfil.date_future", []any{"2026-11-25"}},
		{"progress over 100", func(f *Fulfil) { f.Progress = "101" }, FieldProgress, "ui.fulfil.progress_invalid", nil},
		{"negative progress", func(f *Fulfil) { f.Progress = "-1" }, FieldProgress, "ui.fulfil.progress_invalid", nil},
		{"progress not a number", func(f *Fulfil) { f.Progress = "大部分" }, FieldProgress, "ui.fulfil.progress_invalid", nil},
		{"no progress", func(f *Fulfil) { f.Progress = "" }, FieldProgress, "ui.fulfil.progress_invalid", nil},
		{"no note", func(f *Fulfil) { f.Note = "  " }, FieldNote, "ui.fulfil.note_required", nil},
		{"note too long", func(f *Fulfil) { f.Note = strings.Repeat("记", domain.MaxNoteBytes/3+1) }, FieldNote, "ui.form.too_long", nil},
		{"missing file", func(f *Fulfil) { f.Evidence = []string{photo, filepath.Join(dir, "不存在.jpg")} }, FieldEvidence, "ui.fulfil.file_missing", []any{"不存在.jpg"}},
		{"empty file", func(f *Fulfil) { f.Evidence = []string{empty} }, FieldEvidence, "ui.fulfil.file_empty", []any{"空文件.pdf"}},
		{"a folder", func(f *Fulfil) { f.Evidence = []string{dir} }, FieldEvidence, "ui.fulfil.file_not_regular", []any{filepath.Base(dir)}},
		{"file too large", func(f *Fulfil) { f.Evidence = []string{huge} }, FieldEvidence, "ui.fulfil.file_too_large", []any{"扫描件.pdf", 20}},
		{"too many files", func(f *Fulfil) { f.Evidence = many }, FieldEvidence, "ui.fulfil.too_many_files", []any{protocol.MaxEvidencePerEntry}},
	} {
		f := validFulfil()
		tc.edit(&f)
		bad := f.Validate()
		m, ok := bad[tc.field]
		if !ok || m.Key != tc.key || len(bad) != 1 || (tc.args != nil && !equalArgs(m.Args, tc.args)) {
			t.Errorf("%s: %v, want %s: %s %v", tc.name, bad, tc.field, tc.key, tc.args)
			continue
		}
		checkMessage(t, m)
	}
	for _, p := range []string{"60%", "６０％", " 60 ", "0", "100"} {
		f := validFulfil()
		f.Progress = p
		if bad := f.Validate(); len(bad) != 0 {
			t.Errorf("progress %q: %v", p, bad)
		}
	}
}

func equalArgs(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLogFulfil(t *testing.T) {
	d := newTownship(t)
	ref := d.create(t, spec{cat: domain.CatElderlyCare, title: "独居老人上门走访", start: date(2026, 11, 2),
		deadline: domain.DateDeadline(date(2026, 12, 31)), status: domain.StatusInProgress})
	dir := t.TempDir()
	photo := writeFile(t, dir, "走访照片.PNG", pngBytes(t))
	sheet := writeFile(t, dir, "走访台账.xlsx", []byte("PK\x03\x04 not really a spreadsheet"))

	f := validFulfil()
	f.Evidence = []string{photo, sheet, photo} // the same file twice is cited once
	if err := LogFulfil(d.staff, ref, f); err != nil {
		t.Fatalf("LogFulfil: %v", err)
	}
	entries, err := d.s.Entries(ref)
	must(t, err)
	if len(entries) != 1 {
		t.Fatalf("entries %+v", entries)
	}
	e := entries[0]
	if e.Date != date(2026, 11, 24) || e.Progress != 60 || e.Note != f.Note || len(e.Evidence) != 2 || e.Author != "wangfang" {
		t.Fatalf("entry %+v", e)
	}
	mimes := map[string]string{}
	for _, h := range e.Evidence {
		meta, err := d.s.EvidenceMeta(h)
		must(t, err)
		if len(meta) != 1 {
			t.Fatalf("evidence %s: %+v", h, meta)
		}
		mimes[meta[0].Name] = meta[0].MIME
		content, err := d.s.EvidenceContent(h)
		must(t, err)
		if protocol.HashOf(content) != h {
			t.Fatalf("content of %s does not hash to it", meta[0].Name)
		}
	}
	if mimes["走访照片.PNG"] != "image/png" || mimes["走访台账.xlsx"] != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Fatalf("MIME types %v", mimes)
	}
	c, _ := d.s.Commitment(ref)
	if c.Progress != 60 || c.Entries != 1 {
		t.Fatalf("commitment after logging: %+v", c)
	}

	// Too large: refused with a clear message, nothing written.
	huge := bigFile(t, dir, "全年影像资料.zip", protocol.MaxEvidenceBytes+1)
	f = validFulfil()
	f.Evidence = []string{photo, huge}
	err = LogFulfil(d.staff, ref, f)
	var fe *FormError
	if !errors.As(err, &fe) || fe.Fields[FieldEvidence].Key != "ui.fulfil.file_too_large" {
		t.Fatalf("too large: %v", err)
	}
	if entries, _ := d.s.Entries(ref); len(entries) != 1 {
		t.Fatalf("an entry was logged with a refused file")
	}
	// The same when the file grew after it was checked.
	if _, err := addEvidence(d.staff, huge); !errors.Is(err, store.ErrEvidenceTooLarge) {
		t.Fatalf("addEvidence of a large file: %v", err)
	}

	// A draft takes no fulfilment, and no evidence is stored for it.
	draft := d.create(t, spec{title: "草稿事项"})
	before, _ := d.s.Pending()
	f = validFulfil()
	f.Evidence = []string{photo}
	if err := LogFulfil(d.staff, draft, f); !errors.Is(err, store.ErrNotEditable) {
		t.Fatalf("fulfilment of a draft: %v", err)
	}
	if after, _ := d.s.Pending(); after != before {
		t.Fatalf("something was written: %+v → %+v", before, after)
	}
}

func TestMIMEAndNames(t *testing.T) {
	for name, want := range map[string]string{
		"a.pdf": "application/pdf", "扫描件.JPG": "image/jpeg", "b.ofd": "application/ofd",
		"c.docx":       "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		"d.unknownext": "application/octet-stream", "noext": "application/octet-stream",
	} {
		if got := MIMEOf(name); got != want {
			t.Errorf("MIMEOf(%q) = %q, want %q", name, got, want)
		}
	}
	if !IsImage("image/png") || IsImage("application/pdf") || !IsImage("image/jpeg; q=1") {
		t.Errorf("IsImage")
	}
	long := strings.Repeat("佐证", 100) + ".pdf"
	n := EvidenceName("/tmp/" + long)
	if len(n) > protocol.MaxNameBytes || !strings.HasSuffix(n, ".pdf") || !strings.HasPrefix(n, "佐证") {
		t.Errorf("long name → %q (%d bytes)", n, len(n))
	}
	if got := EvidenceName("/tmp/a\x01b.pdf"); got != "a_b.pdf" {
		t.Errorf("control character: %q", got)
	}
}

// TestNextEntryAndClosing: the next entry's form starts at the progress
// of the latest one; closing as fulfilled below 100 % carries a warning;
// the timeline names the person, not the sign-in name.
func TestNextEntryAndClosing(t *testing.T) {
	d := newTownship(t)
	ref := d.create(t, spec{cat: domain.CatElderlyCare, title: "独居老人上门走访", start: date(2026, 11, 2),
		deadline: domain.DateDeadline(date(2026, 12, 31)), status: domain.StatusInProgress})
	c, err := d.s.Commitment(ref)
	must(t, err)
	if f := FulfilFor(&c, testToday); f.Progress != "0" || f.Date != "2026-11-25" || f.Today != testToday {
		t.Errorf("first entry: %+v", f)
	}
	f := validFulfil()
	f.Progress = "45"
	must(t, LogFulfil(d.staff, ref, f))
	c, err = d.s.Commitment(ref)
	must(t, err)
	if f := FulfilFor(&c, testToday); f.Progress != "45" || f.ProgressValue() != 45 {
		t.Errorf("after an entry of 45 %%: %+v", f)
	}
	m, ok := CloseWarning(&c)
	if !ok || m.Key != "ui.close.progress_warning" || m.Args[0] != 45 {
		t.Errorf("closing at 45 %%: %v %v", m, ok)
	}
	checkMessage(t, m)
	c.Progress = 100
	if _, ok := CloseWarning(&c); ok {
		t.Error("a warning at 100 %")
	}
	det, err := LoadDetail(d.leader, ref, testToday, nil)
	must(t, err)
	if got := det.Who(det.Entries[0].Op, det.Entries[0].Author); got != "王芳（"+det.Entries[0].Author+"）" {
		t.Errorf("the entry's author is shown as %q", got)
	}
	if got := det.Who(protocol.OpID{}, "someone.elsewhere"); got != "someone.elsewhere" {
		t.Errorf("an author of another device: %q", got)
	}
}
