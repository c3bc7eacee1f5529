package report

import (
	"bytes"
	"encoding/csv"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"jiannuo/assets"
	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/store"
)

var (
	zh   = assets.NewTranslator("zh_CN.UTF-8")
	en   = assets.NewTranslator("en_US.UTF-8")
	unit = office.Unit{Code: townA, Name: "赤土店镇", Kind: "镇"}
)

var noticeHeadersZh = []string{"序号", "单位", "类别", "承诺事项", "承诺内容", "法律依据", "责任人", "开始日期", "截止日期", "期限说明", "状态", "进度（%）", "事项编号"}

var annualHeadersZh = []string{"类别", "承诺事项数", "按期践诺", "逾期践诺", "部分践诺", "未践诺", "正在践诺", "其中已逾期", "按期践诺率"}

// exportFixture is a township's commitments with everything the exports
// must handle: drafts, private and withdrawn ones, another office,
// working-day and missing deadlines, a formula-like title, long text.
func exportFixture() []store.Commitment {
	return []store.Commitment{
		mk(domain.CatEmployment, domain.StatusInProgress, "2026-08-01", "date:2026-12-31", titled("岗位信息推送"), entry("2026-11-01", 45),
			func(c *store.Commitment) {
				c.Text = "对辖区内登记失业人员，每季度至少推送一次岗位信息。\n第二段。"
				c.LegalBasis = "《就业促进法》第五十二条"
				c.Responsible = "刘洋（社会事务办）"
			}),
		mk(domain.CatEmployment, domain.StatusDraft, "2026-08-01", "date:2026-12-31", titled("草稿不得公开")),
		mk(domain.CatProperty, domain.StatusPublished, "2026-11-23", "workdays:3", titled("物业投诉答复")),
		mk(domain.CatParking, domain.StatusWithdrawn, "2026-01-01", "date:2026-06-30", titled("已撤销事项")),
		mk(domain.CatParking, domain.StatusFulfilledOnTime, "2026-01-01", "date:2026-06-30", titled("停车位"), entry("2026-06-01", 100)),
		mk(domain.CatParking, domain.StatusFulfilledLate, "2026-01-01", "date:2026-06-30", titled("=HYPERLINK(\"http://x\")"), entry("2026-07-10", 100)),
		mk(domain.CatSchooling, domain.StatusBreached, "2026-01-01", "date:2026-03-31", titled("入学证明"), entry("2026-02-01", 10)),
		mk(domain.CatSchooling, domain.StatusPartlyFulfilled, "2026-01-01", "date:2026-03-31", titled("部分完成"), entry("2026-04-01", 60)),
		mk(domain.CatWorkTask, domain.StatusInProgress, "2026-01-01", "", titled("内部工作任务"), private),
		mk(domain.CatConvenience, domain.StatusPublished, "2026-01-01", "", titled("午间服务")),
		mk(domain.CatConvenience, domain.StatusPublished, "2026-01-01", "date:2026-02-01", titled("别的镇的事项"), in("410325100")),
		mk(domain.CatConvenience, domain.StatusInProgress, "2026-10-01", "date:2026-11-01", titled("逾期事项"), in(townA)),
		mk(domain.CatHousing, domain.StatusFulfilledOnTime, "2025-01-01", "date:2025-06-30", titled("去年已完成"), entry("2025-06-01", 100)),
	}
}

func openXLSX(t *testing.T, b []byte) (*excelize.File, string, [][]string) {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	sheets := f.GetSheetList()
	if len(sheets) != 1 {
		t.Fatalf("sheets %v, want one", sheets)
	}
	rows, err := f.GetRows(sheets[0])
	if err != nil {
		t.Fatal(err)
	}
	return f, sheets[0], rows
}

func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")) {
		t.Fatalf("CSV does not start with a UTF-8 byte-order mark: % x", b[:min(3, len(b))])
	}
	if !bytes.Contains(b, []byte("\r\n")) {
		t.Error("CSV lines do not end in CRLF")
	}
	recs, err := csv.NewReader(bytes.NewReader(b[3:])).ReadAll() // FieldsPerRecord 0: every row as wide as the first
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// pad makes every row as wide as n (GetRows drops trailing empty cells).
func pad(rows [][]string, n int) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = append(slices.Clone(r), make([]string, max(0, n-len(r)))...)
	}
	return out
}

func TestNoticeXLSX(t *testing.T) {
	cs := exportFixture()
	var buf bytes.Buffer
	if err := WriteNoticeXLSX(&buf, cs, unit, today, cal, zh); err != nil {
		t.Fatal(err)
	}
	f, sheet, rows := openXLSX(t, buf.Bytes())
	if sheet != "公开承诺事项清单" {
		t.Errorf("sheet name %q", sheet)
	}
	if got := rows[0][0]; got != "赤土店镇公开承诺事项清单（截至 2026-11-25）" {
		t.Errorf("title %q", got)
	}
	if !slices.Equal(rows[1], noticeHeadersZh) {
		t.Errorf("headers %q", rows[1])
	}
	body := pad(rows[2:], len(noticeHeadersZh))
	var titles []string
	for _, r := range body {
		titles = append(titles, r[3])
	}
	// Public and published only, this office only, in category order
	// (employment, property, schooling, housing, parking, convenience) then
	// by deadline (none last), start date and title.
	want := []string{"岗位信息推送", "物业投诉答复", "入学证明", "部分完成", "去年已完成", "=HYPERLINK(\"http://x\")", "停车位", "逾期事项", "午间服务"}
	if !slices.Equal(titles, want) {
		t.Errorf("rows:\n%q\nwant\n%q", titles, want)
	}
	for _, bad := range []string{"草稿不得公开", "已撤销事项", "内部工作任务", "别的镇的事项"} {
		if slices.Contains(titles, bad) {
			t.Errorf("%q must not be on the public notice", bad)
		}
	}
	first := body[0]
	wantFirst := []string{"1", "赤土店镇", "就业", "岗位信息推送", "对辖区内登记失业人员，每季度至少推送一次岗位信息。\n第二段。",
		"《就业促进法》第五十二条", "刘洋（社会事务办）", "2026-08-01", "2026-12-31", "指定日期", "践诺中", "45", cs[0].Ref.String()}
	if !slices.Equal(first, wantFirst) {
		t.Errorf("first row\n%q\nwant\n%q", first, wantFirst)
	}
	// The deadline is a date; how it was promised is in the next column.
	if got := body[1][8:10]; got[0] != "2026-11-26" || got[1] != "3 个工作日" {
		t.Errorf("working-day deadline shown as %q", got)
	}
	if got := body[len(body)-1][8:10]; got[0] != "" || got[1] != "无截止日期" {
		t.Errorf("no deadline shown as %q", got)
	}
	// Numbers are numbers, dates are dates (Excel sorts and filters them);
	// the formula-like title is text, not a formula.
	for _, cell := range []string{"L3", "H3", "I3", "I4"} {
		if typ, _ := f.GetCellType(sheet, cell); typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString {
			t.Errorf("cell %s type %v, want a number", cell, typ)
		}
	}
	if raw, _ := f.GetCellValue(sheet, "I3", excelize.Options{RawCellValue: true}); raw != "46387" { // 2026-12-31 as an Excel serial date
		t.Errorf("deadline cell holds %q, want the serial date 46387", raw)
	}
	if fm, _ := f.GetCellFormula(sheet, "D8"); fm != "" || rows[7][3] != "=HYPERLINK(\"http://x\")" {
		t.Errorf("title became formula %q", fm)
	}
	// Layout: header frozen, widths set, the full text column wide.
	panes, err := f.GetPanes(sheet)
	if err != nil || !panes.Freeze || panes.YSplit != 2 {
		t.Errorf("panes %+v %v", panes, err)
	}
	if w, _ := f.GetColWidth(sheet, "E"); w != 60 {
		t.Errorf("text column width %v", w)
	}
	if st, _ := f.GetCellStyle(sheet, "A2"); st == 0 {
		t.Error("header row has no style")
	} else if s, _ := f.GetStyle(st); s == nil || s.Font == nil || !s.Font.Bold {
		t.Errorf("header style %+v", s)
	}
	if m, _ := f.GetMergeCells(sheet); len(m) != 1 || m[0].GetStartAxis() != "A1" || m[0].GetEndAxis() != "M1" {
		t.Errorf("merged cells %v", m)
	}
}

func TestNoticeCSVMatchesXLSX(t *testing.T) {
	cs := exportFixture()
	var xb, cb bytes.Buffer
	if err := WriteNoticeXLSX(&xb, cs, unit, today, cal, zh); err != nil {
		t.Fatal(err)
	}
	if err := WriteNoticeCSV(&cb, cs, unit, today, cal, zh); err != nil {
		t.Fatal(err)
	}
	_, _, xrows := openXLSX(t, xb.Bytes())
	recs := readCSV(t, cb.Bytes())
	if len(recs) != 2+9 {
		t.Fatalf("CSV has %d rows, want title + header + 9", len(recs))
	}
	xrows = pad(xrows, len(noticeHeadersZh))
	for i := range recs {
		got := recs[i]
		if i == 7 { // the formula-like title is defused in CSV only
			if got[3] != "'=HYPERLINK(\"http://x\")" {
				t.Errorf("CSV formula guard: %q", got[3])
			}
			got = slices.Clone(got)
			got[3] = strings.TrimPrefix(got[3], "'")
		}
		if !slices.Equal(got, xrows[i]) {
			t.Errorf("row %d: CSV %q\nxlsx %q", i+1, got, xrows[i])
		}
	}
	if recs[0][0] != "赤土店镇公开承诺事项清单（截至 2026-11-25）" || !slices.Equal(recs[1], noticeHeadersZh) {
		t.Errorf("CSV title/header %q %q", recs[0], recs[1])
	}
}

func TestNoticeEnglish(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteNoticeXLSX(&buf, exportFixture(), unit, today, cal, en); err != nil {
		t.Fatal(err)
	}
	_, sheet, rows := openXLSX(t, buf.Bytes())
	if sheet != "Public commitments" || rows[1][3] != "Commitment" || rows[2][2] != "Employment" || rows[2][10] != "In progress" || rows[1][9] != "Deadline basis" ||
		!strings.HasPrefix(rows[0][0], "赤土店镇: public commitments as of 2026-11-25") {
		t.Errorf("English notice: sheet %q, headers %q, row %q", sheet, rows[1], rows[2])
	}
}

func TestNoticeEmpty(t *testing.T) {
	var xb, cb bytes.Buffer
	if err := WriteNoticeXLSX(&xb, nil, unit, today, cal, zh); err != nil {
		t.Fatal(err)
	}
	if err := WriteNoticeCSV(&cb, nil, unit, today, cal, nil); err != nil {
		t.Fatal(err)
	}
	_, _, rows := openXLSX(t, xb.Bytes())
	if len(rows) != 2 || len(readCSV(t, cb.Bytes())) != 2 {
		t.Errorf("empty notice: %d rows", len(rows))
	}
}

// checkAnnual compares an annual report's rows with Annual on the same data.
func checkAnnual(t *testing.T, rows [][]string, s Stats, tr *assets.Translator) {
	t.Helper()
	if !slices.Equal(rows[2], annualHeadersZh) {
		t.Fatalf("headers %q", rows[2])
	}
	body := rows[3 : 3+len(s.ByCategory)]
	check := func(what string, got []string, label string, tl Tally) {
		t.Helper()
		want := []string{label, strconv.Itoa(tl.Total), strconv.Itoa(tl.OnTime), strconv.Itoa(tl.Late), strconv.Itoa(tl.Partly),
			strconv.Itoa(tl.Breached), strconv.Itoa(tl.Open), strconv.Itoa(tl.Overdue)}
		if !slices.Equal(got[:8], want) {
			t.Errorf("%s: %q, want %q", what, got, want)
		}
		r, ok := tl.OnTimeRate()
		v, err := strconv.ParseFloat(got[8], 64)
		if ok && (err != nil || math.Abs(v-r) > 1e-12) || !ok && got[8] != "—" {
			t.Errorf("%s: rate %q, want %v (%v)", what, got[8], r, ok)
		}
	}
	for i, c := range s.ByCategory {
		check("category "+string(c.Category), body[i], tr.T("category."+string(c.Category)), c.Tally)
	}
	check("totals", rows[3+len(s.ByCategory)], "合计", s.All)
	// Every commitment counted is in exactly one column.
	if s.All.Total != s.All.Closed()+s.All.Open {
		t.Errorf("total %d ≠ verdicts %d + open %d", s.All.Total, s.All.Closed(), s.All.Open)
	}
	if len(rows) != 3+len(s.ByCategory)+2 || !strings.HasPrefix(rows[len(rows)-1][0], "说明") {
		t.Errorf("want a note after the totals, got %q", rows[len(rows)-1])
	}
}

func rawRows(t *testing.T, f *excelize.File, sheet string) [][]string {
	rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestAnnualXLSXAndCSV(t *testing.T) {
	cs := exportFixture()
	reportDay := date("2027-01-05")
	var xb, cb bytes.Buffer
	if err := WriteAnnualXLSX(&xb, cs, unit, 2026, reportDay, cal, zh); err != nil {
		t.Fatal(err)
	}
	if err := WriteAnnualCSV(&cb, cs, unit, 2026, reportDay, cal, zh); err != nil {
		t.Fatal(err)
	}
	f, sheet, _ := openXLSX(t, xb.Bytes())
	if sheet != "年度践诺情况报告" {
		t.Errorf("sheet %q", sheet)
	}
	rows := pad(rawRows(t, f, sheet), len(annualHeadersZh))
	if rows[0][0] != "赤土店镇2026年度践诺情况报告" || rows[1][0] != "统计截至 2026-12-31" {
		t.Errorf("title rows %q / %q", rows[0][0], rows[1][0])
	}

	var mine []store.Commitment
	for _, c := range cs {
		if c.Office == townA {
			mine = append(mine, c)
		}
	}
	s := Annual(mine, 2026, reportDay, cal)
	checkAnnual(t, rows, s, zh)
	// Hand-checked: in force in 2026 are employment, property, 2 parking
	// (not the withdrawn one), 2 schooling, the private work task and 2
	// convenience of this office; not the draft, not last year's housing.
	// Overdue on 31 December: property (due 26 November) and 逾期事项.
	a := s.All
	if a.Total != 9 || a.OnTime != 1 || a.Late != 1 || a.Partly != 1 || a.Breached != 1 || a.Open != 5 || a.Overdue != 2 {
		t.Errorf("2026 totals %+v", a)
	}
	if r, _ := a.OnTimeRate(); r != 0.25 {
		t.Errorf("rate %v", r)
	}
	// The rate is a number formatted as a percentage.
	if v, _ := f.GetCellValue(sheet, "I"+strconv.Itoa(4+len(s.ByCategory))); v != "25.0%" {
		t.Errorf("total rate shown as %q", v)
	}
	panes, _ := f.GetPanes(sheet)
	if !panes.Freeze || panes.YSplit != 3 {
		t.Errorf("panes %+v", panes)
	}

	recs := readCSV(t, cb.Bytes())
	if len(recs) != len(rows) {
		t.Fatalf("CSV has %d rows, xlsx %d", len(recs), len(rows))
	}
	for i := range recs {
		want := rows[i]
		if i >= 3 && i < len(rows)-1 && want[8] != "—" { // rates: "25%" in CSV
			r, _ := strconv.ParseFloat(want[8], 64)
			want = slices.Clone(want)
			want[8] = FormatPercent(r * 100)
		}
		if !slices.Equal(recs[i], want) {
			t.Errorf("CSV row %d %q, want %q", i+1, recs[i], want)
		}
	}
	if got := recs[3+len(s.ByCategory)]; got[0] != "合计" || got[8] != "25%" {
		t.Errorf("CSV totals %q", got)
	}
}

func TestSheetName(t *testing.T) {
	for in, want := range map[string]string{
		"公开承诺事项清单":              "公开承诺事项清单",
		"a/b:c[d]":              "a_b_c_d_",
		"":                      "Sheet1",
		strings.Repeat("长", 40): strings.Repeat("长", 31),
	} {
		if got := sheetName(in); got != want {
			t.Errorf("sheetName(%q) = %q, want %q", in, got, want)
		}
	}
}
