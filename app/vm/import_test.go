package vm

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"jiannuo/assets"
	"jiannuo/domain"
	"jiannuo/store"
)

var (
	trZh = assets.NewTranslator(assets.LangZhHans)
	trEn = assets.NewTranslator(assets.LangEn)
)

// template returns the import template in tr's language, opened.
func template(t testing.TB, tr *assets.Translator) *excelize.File {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteImportTemplate(&buf, tr); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// fill writes rows into the data sheet from row 3 on (after the example),
// the cells as given: a string is typed text, a time.Time a date cell
// (a day number formatted as a date, as Excel stores a typed date), an int
// a number.
func fill(t testing.TB, f *excelize.File, tr *assets.Translator, rows ...[]any) []byte {
	t.Helper()
	sheet := tr.T("import.sheet_data")
	for i, row := range rows {
		for j, v := range row {
			cell := fmt.Sprintf("%s%d", columnLetter(j), i+3)
			var err error
			switch v := v.(type) {
			case nil:
			case time.Time:
				err = f.SetCellValue(sheet, cell, v)
			default:
				err = f.SetCellValue(sheet, cell, v)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readImportBytes(data []byte, role domain.Role, existing ...store.Commitment) (*ImportPreview, error) {
	return ReadImport(bytes.NewReader(data), ImportConfig{Role: role, Existing: existing, Office: township, Logger: quiet()})
}

// TestImportTemplate: the template has the headers, the example row, the
// drop-down lists (from the hidden lists sheet), the help sheet, frozen
// headers; left as it is, it imports nothing.
func TestImportTemplate(t *testing.T) {
	for _, tr := range []*assets.Translator{trZh, trEn} {
		f := template(t, tr)
		sheet := tr.T("import.sheet_data")
		if got := f.GetSheetList(); !slices.Equal(got, []string{sheet, importSheetLists, tr.T("import.sheet_help")}) {
			t.Fatalf("%s: sheets %q", tr.Lang(), got)
		}
		if v, _ := f.GetSheetVisible(importSheetLists); v {
			t.Errorf("%s: the lists sheet is visible", tr.Lang())
		}
		rows, _ := f.GetRows(sheet)
		if !slices.Equal(rows[0], importHeaders(tr)) {
			t.Errorf("%s: headers %q", tr.Lang(), rows[0])
		}
		if !slices.Equal(rows[1], importExampleRow(tr)) {
			t.Errorf("%s: example %q", tr.Lang(), rows[1])
		}
		dvs, err := f.GetDataValidations(sheet)
		if err != nil {
			t.Fatal(err)
		}
		lists := map[string]string{}
		for _, dv := range dvs {
			lists[dv.Sqref] = dv.Formula1
		}
		for _, want := range []struct{ col, list string }{{"A", "$A$1:$A$21"}, {"G", "$B$1:$B$3"}, {"J", "$C$1:$C$2"}, {"K", "$C$1:$C$2"}} {
			got := lists[fmt.Sprintf("%s2:%s%d", want.col, want.col, MaxImportRows+2)]
			if !strings.Contains(got, importSheetLists+"!"+want.list) {
				t.Errorf("%s: drop-down list of column %s: %q (all: %v)", tr.Lang(), want.col, got, lists)
			}
		}
		cats, _ := f.GetRows(importSheetLists)
		if len(cats) != len(domain.Categories()) || cats[0][0] != tr.T("category."+string(domain.Categories()[0])) ||
			cats[0][1] != tr.T(keyKindDate) || cats[1][2] != tr.T(keyNo) {
			t.Errorf("%s: lists %q", tr.Lang(), cats)
		}
		if panes, _ := f.GetPanes(sheet); !panes.Freeze || panes.YSplit != 1 {
			t.Errorf("%s: header not frozen: %+v", tr.Lang(), panes)
		}
		help, _ := f.GetRows(tr.T("import.sheet_help"))
		if len(help) < len(importColumns)+4 || !strings.Contains(help[1][1], fmt.Sprint(MaxImportRows)) {
			t.Errorf("%s: help sheet %q", tr.Lang(), help)
		}
		var buf bytes.Buffer
		if err := f.Write(&buf); err != nil {
			t.Fatal(err)
		}
		if _, err := readImportBytes(buf.Bytes(), domain.RoleLeader); !errors.Is(err, ErrImportEmpty) {
			t.Errorf("%s: the untouched template: %v, want ErrImportEmpty", tr.Lang(), err)
		}
	}
}

// TestImportRoundTrip fills the template as a person would (names from
// the drop-down lists, a date typed into a date cell and one typed as
// text, a number of working days), imports it as the leader and finds
// every row stored as the form would have saved it, the one marked for
// publication published, in one batch of ordinary operations.
func TestImportRoundTrip(t *testing.T) {
	for _, tr := range []*assets.Translator{trZh, trEn} {
		t.Run(tr.Lang(), func(t *testing.T) {
			d := newTownship(t)
			data := fill(t, template(t, tr), tr,
				[]any{tr.T("category.employment"), "岗位信息推送", "每季度至少推送一次岗位信息。\n第二段。", "《就业促进法》", "刘洋（社会事务办）",
					time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), tr.T(keyKindDate), time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC), nil, tr.T(keyYes), tr.T(keyYes)},
				[]any{tr.T("category.elderly_care"), "高龄津贴按月发放", "每月10日前发放到账。", "", "王建国",
					"2026年10月8日", tr.T(keyKindWorkdays), nil, 20, tr.T(keyNo), ""},
				[]any{"convenience", "  午间不打烊  ", "工作日中午有人值守。", nil, "张三", nil, tr.T(keyKindNone), nil, nil, nil, nil},
			)
			p, err := readImportBytes(data, domain.RoleLeader)
			if err != nil {
				t.Fatal(err)
			}
			if !p.OK() || !p.ExampleSkipped || len(p.Rows) != 3 || p.Publish != 1 {
				t.Fatalf("preview %+v", p)
			}
			want := []Form{
				{Category: domain.CatEmployment, Title: "岗位信息推送", Text: "每季度至少推送一次岗位信息。\n第二段。", LegalBasis: "《就业促进法》",
					Responsible: "刘洋（社会事务办）", Start: "2026-03-01", DeadlineKind: domain.DeadlineDate, DeadlineDate: "2026-12-31", Public: true},
				{Category: domain.CatElderlyCare, Title: "高龄津贴按月发放", Text: "每月10日前发放到账。", Responsible: "王建国",
					Start: "2026-10-08", DeadlineKind: domain.DeadlineWorkdays, Workdays: "20", Public: false},
				{Category: domain.CatConvenience, Title: "午间不打烊", Text: "工作日中午有人值守。", Responsible: "张三",
					DeadlineKind: domain.NoDeadline, Public: true},
			}
			before, _ := d.s.Pending()
			refs, err := ApplyImport(d.leader, p)
			if err != nil {
				t.Fatal(err)
			}
			for i, ref := range refs {
				c, err := d.s.Commitment(ref)
				if err != nil {
					t.Fatal(err)
				}
				got := FormFrom(c)
				w := want[i]
				w.Start = normDate(t, w.Start)
				if got != w {
					t.Errorf("row %d stored as %+v, want %+v", p.Rows[i].Row, got, w)
				}
				if wantSt := map[bool]domain.Status{true: domain.StatusPublished, false: domain.StatusDraft}[i == 0]; c.Status != wantSt {
					t.Errorf("row %d: status %s, want %s", p.Rows[i].Row, c.Status, wantSt)
				}
			}
			if pend, _ := d.s.Pending(); pend.PendingOps != before.PendingOps+4 {
				t.Errorf("pending operations %d, want %d + 4 (three creates, one publication)", pend.PendingOps, before.PendingOps)
			}
			// Importing the same file again: a warning on every row.
			cs, _ := d.s.AllCommitments()
			p2, err := readImportBytes(data, domain.RoleLeader, cs...)
			if err != nil || !slices.Equal(p2.SameTitle, []int{3, 4, 5}) {
				t.Errorf("second import: same titles %v, %v", p2.SameTitle, err)
			}
		})
	}
}

func lookup(tr *assets.Translator) func(string) string {
	return func(k string) string { return tr.T(k) }
}

func normDate(t *testing.T, s string) string {
	t.Helper()
	if s == "" {
		return ""
	}
	d, err := parseFormDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// TestImportRowErrors: every row is checked with the form's rules and the
// template's lists; each problem is reported at its row and column; a
// file with any problem imports nothing.
func TestImportRowErrors(t *testing.T) {
	d := newTownship(t)
	tr := trZh
	ok := func(title string) []any {
		return []any{"养老", title, "内容", "", "王建国", "2026-10-08", "工作日", nil, 5, "是", "否"}
	}
	data := fill(t, template(t, tr), tr,
		ok("第一行没问题"),
		[]any{"赌博", "", "内容", "", "王建国", "2026-10-08", "工作日", nil, 5, "是", "否"},                        // row 4: category, title
		[]any{"养老", "标题", "内容", "", "", "2026-13-01", "指定日期", "2026-12-31", nil, "也许", "否"},            // row 5: responsible, start, public
		[]any{"养老", "标题", "内容", "", "王建国", "2026-10-08", "指定日期", "2026-09-30", nil, "是", "否"},          // row 6: deadline before start
		[]any{"养老", "标题", "内容", "", "王建国", "", "工作日", nil, 0, "是", "否"},                                // row 7: start needed, workdays
		[]any{"养老", "标题", "内容", "", "王建国", "2026-10-08", "", nil, nil, "是", "否"},                       // row 8: kind
		[]any{"养老", strings.Repeat("长", 200), "内容", "", "王建国", "2026-10-08", "下周", nil, nil, "是", "否"}, // row 9: title too long, kind
		ok("第十行也没问题"),
	)
	p, err := readImportBytes(data, domain.RoleLeader)
	if err != nil {
		t.Fatal(err)
	}
	type at struct {
		row int
		col string
		key string
	}
	var got []at
	for _, i := range p.Issues {
		got = append(got, at{i.Row, i.Column, i.Msg.Key})
	}
	want := []at{
		{4, "A", "import.bad_category"}, {4, "B", "ui.form.title_required"},
		{5, "E", "ui.form.responsible_required"}, {5, "F", "ui.form.date_invalid"}, {5, "J", "import.bad_choice"},
		{6, "H", "ui.form.deadline_before_start"},
		{7, "F", "ui.form.start_required"}, {7, "I", "ui.form.workdays_invalid"},
		{8, "G", "import.kind_required"},
		{9, "B", "ui.form.too_long"}, {9, "G", "import.bad_choice"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("issues\n got %v\nwant %v", got, want)
	}
	if p.OK() || len(p.Rows) != 2 {
		t.Errorf("OK %v with %d good rows", p.OK(), len(p.Rows))
	}
	if m := p.Issues[0].Message(); !strings.Contains(m.Text(lookup(trZh)), "第 4 行 A 列（类别）") || !strings.Contains(m.Text(lookup(trZh)), "赌博") {
		t.Errorf("message %q", m.Text(lookup(trZh)))
	}
	if m := p.Issues[0].Message(); !strings.Contains(m.Text(lookup(trEn)), "Row 4, column A (Category)") {
		t.Errorf("English message %q", m.Text(lookup(trEn)))
	}
	if s := p.Summary().Text(lookup(trZh)); !strings.Contains(s, "共 8 行，其中 6 行有 11 处错误") {
		t.Errorf("summary %q", s)
	}
	if _, err := ApplyImport(d.leader, p); err == nil {
		t.Fatal("a preview with issues was imported")
	}
	if cs, _ := d.s.AllCommitments(); len(cs) != 0 {
		t.Fatalf("%d commitments stored", len(cs))
	}

	// Blank rows are skipped, and rows keep their spreadsheet numbers.
	data = fill(t, template(t, tr), tr, ok("第三行"), []any{}, []any{}, []any{"养老", "第六行", "", "", "王建国", "2026-10-08", "工作日", nil, 5, "是", "否"})
	p, err = readImportBytes(data, domain.RoleLeader)
	if err != nil || len(p.Rows) != 1 || p.Rows[0].Row != 3 || len(p.Issues) != 1 || p.Issues[0].Row != 6 || p.Issues[0].Column != "C" {
		t.Errorf("with blank rows: %v %+v", err, p)
	}

	// A staff member may import drafts but not publish.
	data = fill(t, template(t, tr), tr, ok("草稿"), []any{"养老", "要发布", "内容", "", "王建国", "2026-10-08", "工作日", nil, 5, "是", "是"})
	p, err = readImportBytes(data, domain.RoleStaff)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Issues) != 1 || p.Issues[0].Row != 4 || p.Issues[0].Column != "K" || p.Issues[0].Msg.Key != "import.publish_leader_only" {
		t.Errorf("staff publishing: %+v", p.Issues)
	}
	data = fill(t, template(t, tr), tr, ok("草稿"))
	p, err = readImportBytes(data, domain.RoleStaff)
	if err != nil || !p.OK() {
		t.Fatalf("staff drafts: %v %+v", err, p)
	}
	if _, err := ApplyImport(d.staff, p); err != nil {
		t.Fatal(err)
	}
}

// badFiles are files an import must refuse as a whole, each with its
// reason.
func badFiles(t testing.TB) []struct {
	name string
	data []byte
	want error
} {
	t.Helper()
	tr := trZh
	good := fill(t, template(t, tr), tr, []any{"养老", "标题", "内容", "", "王建国", "2026-10-08", "工作日", nil, 5, "是", "否"})
	sheet := tr.T("import.sheet_data")

	wrong := excelize.NewFile()
	must(t, wrong.SetSheetRow("Sheet1", "A1", &[]any{"序号", "单位", "类别", "承诺事项"}))
	must(t, wrong.SetSheetRow("Sheet1", "A2", &[]any{1, "赤土店镇", "养老", "标题"}))
	var wrongBuf bytes.Buffer
	must(t, wrong.Write(&wrongBuf))

	merged := template(t, tr)
	must(t, merged.MergeCell(sheet, "B3", "C3"))
	formula := template(t, tr)
	must(t, formula.SetCellFormula(sheet, "B3", `CONCATENATE("标","题")`))

	// 10,000 rows, written as a stream (as a big export would be).
	many := template(t, tr)
	sw, err := many.NewStreamWriter(sheet)
	must(t, err)
	must(t, sw.SetRow("A1", []any{"类别", "承诺事项名称", "承诺内容", "法律政策依据", "责任人", "开始日期", "期限类型", "截止日期", "工作日数", "向社会公开", "立即发布"}))
	for i := range 10000 {
		must(t, sw.SetRow(fmt.Sprintf("A%d", i+2), []any{"养老", fmt.Sprintf("事项%d", i), "内容", "", "王建国", "2026-10-08", "工作日", "", 5, "是", "否"}))
	}
	must(t, sw.Flush())

	xls := append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, bytes.Repeat([]byte{0}, 4096)...)
	truncated := good[:len(good)/2]
	flipped := bytes.Clone(good)
	// Damage the compressed bytes of the sheet, past the local headers of
	// the first parts: the zip opens, a part fails its checksum.
	for i := len(flipped) / 3; i < len(flipped)/3+64; i++ {
		flipped[i] ^= 0xFF
	}
	return []struct {
		name string
		data []byte
		want error
	}{
		{"wrong template", wrongBuf.Bytes(), ErrImportTemplate},
		{"merged cells", write(t, merged), ErrImportMerged},
		{"formula", write(t, formula), ErrImportFormula},
		{"10,000 rows", write(t, many), ErrImportTooManyRows},
		{".xls", xls, ErrImportXLS},
		{"truncated zip", truncated, ErrImportCorrupt},
		{"damaged zip", flipped, ErrImportCorrupt},
		{"zip bomb", zipBomb(t), ErrImportUnzipLimit},
		{"not a spreadsheet", []byte("%PDF-1.7\n"), ErrImportNotXLSX},
		{"too large", append([]byte("PK\x03\x04"), make([]byte, MaxImportBytes)...), ErrImportTooLarge},
		{"empty", write(t, template(t, tr)), ErrImportEmpty},
	}
}

func write(t testing.TB, f *excelize.File) []byte {
	t.Helper()
	var buf bytes.Buffer
	must(t, f.Write(&buf))
	return buf.Bytes()
}

// zipBomb is a workbook-looking zip whose sheet unpacks to 128 MiB of
// zeros from about 128 KiB.
func zipBomb(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("[Content_Types].xml")
	must(t, err)
	_, err = w.Write([]byte(`<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`))
	must(t, err)
	w, err = zw.Create("xl/worksheets/sheet1.xml")
	must(t, err)
	_, err = io.CopyN(w, zeros{}, 128<<20)
	must(t, err)
	must(t, zw.Close())
	return buf.Bytes()
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestImportBadFiles: each bad file of the issue (wrong template, merged
// cells, formulas, 10,000 rows, an .xls, a corrupted zip) and a zip bomb,
// a file that is no spreadsheet, one too large and an empty template is
// refused with its own error and message, and nothing is stored.
func TestImportBadFiles(t *testing.T) {
	d := newTownship(t)
	before, _ := d.s.Pending()
	for _, bf := range badFiles(t) {
		t.Run(bf.name, func(t *testing.T) {
			p, err := readImportBytes(bf.data, domain.RoleLeader)
			if !errors.Is(err, bf.want) || p != nil {
				t.Fatalf("got %v, want %v", err, bf.want)
			}
			m := ImportErrorMessage(err)
			for _, tr := range []*assets.Translator{trZh, trEn} {
				if s := m.Text(lookup(tr)); s == m.Key || strings.Contains(s, "%!") {
					t.Errorf("%s message: %q", tr.Lang(), s)
				}
			}
			if cs, _ := d.s.AllCommitments(); len(cs) != 0 {
				t.Fatalf("%d commitments stored", len(cs))
			}
			if pend, _ := d.s.Pending(); pend != before {
				t.Fatalf("operations queued: %+v, before %+v", pend, before)
			}
		})
	}
}

// TestImportMessagesExist: every message the import can give has its
// translation in both languages, with its arguments.
func TestImportMessagesExist(t *testing.T) {
	var keys []string
	for _, c := range importColumns {
		keys = append(keys, c.key, "import.help_"+c.field)
	}
	for _, e := range []error{ErrImportTooLarge, ErrImportXLS, ErrImportNotXLSX, ErrImportCorrupt, ErrImportUnzipLimit,
		ErrImportTemplate, ErrImportMerged, ErrImportFormula, ErrImportTooManyRows, ErrImportEmpty} {
		keys = append(keys, "import.err."+e.Error())
	}
	keys = append(keys, "import.issue", "import.bad_category", "import.bad_choice", "import.kind_required",
		"import.publish_leader_only", "import.summary_bad", "import.summary_ok", "import.not_ready",
		"import.example_skipped", "import.same_title", "import.row", "import.done")
	for _, tr := range []*assets.Translator{trZh, trEn} {
		for _, k := range keys {
			if tr.T(k) == k {
				t.Errorf("%s: no translation for %s", tr.Lang(), k)
			}
		}
	}
}
