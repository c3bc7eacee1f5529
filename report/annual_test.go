package report

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// TestAnnualFigures: the figures a report signs are the annual export's,
// category by category, reckoned on the same day, with only categories
// that have a commitment in force during the year.
func TestAnnualFigures(t *testing.T) {
	cs := exportFixture()
	asOf, figs := AnnualFigures(cs, townA, 2026, today, cal)
	if asOf != AnnualAsOf(2026, today) {
		t.Fatalf("as of %s", asOf)
	}
	s := Compute(AnnualScope(inOffice(cs, townA), 2026), asOf, cal)
	n := 0
	for _, c := range s.ByCategory {
		if c.Total == 0 {
			continue
		}
		f := figs[n]
		n++
		if f.Category != string(c.Category) || int(f.Total) != c.Total || int(f.OnTime) != c.OnTime || int(f.Late) != c.Late ||
			int(f.Partly) != c.Partly || int(f.Breached) != c.Breached || int(f.Open) != c.Open || int(f.Overdue) != c.Overdue {
			t.Errorf("figure %+v, statistics %+v", f, c)
		}
	}
	if n != len(figs) || n == 0 {
		t.Fatalf("%d figure rows, %d categories with commitments", len(figs), n)
	}
	// They pass the format's rules.
	op := protocol.Op{Num: 1, HLC: protocol.MakeHLC(1, 0), Kind: protocol.OpAnnualReport, Office: townA,
		Report: &protocol.AnnualReport{Year: 2026, AsOf: asOf, Narrative: "总结", Figures: figs}}
	if err := op.Validate(domain.RoleLeader, false); err != nil {
		t.Fatalf("the figures do not validate: %v", err)
	}
	for _, d := range []struct {
		day  string
		year int
	}{{"2027-01-05", 2026}, {"2027-01-06", 2027}, {"2026-12-15", 2026}, {"2026-03-01", 2026}} {
		if got := ReportYear(date(d.day)); got != d.year {
			t.Errorf("ReportYear(%s) = %d, want %d", d.day, got, d.year)
		}
	}
}

func inOffice(cs []store.Commitment, o office.Code) []store.Commitment {
	var out []store.Commitment
	for _, c := range cs {
		if o.Contains(c.Office) {
			out = append(out, c)
		}
	}
	return out
}

// annualDocFixture is a county's compiled report: two townships, one on
// time, one late, one missing.
func annualDocFixture(t *testing.T) AnnualDoc {
	t.Helper()
	cs := exportFixture()
	asOf, figs := AnnualFigures(cs, townA, 2026, today, cal)
	stamp := func(day string) protocol.HLC {
		return protocol.MakeHLC(date(day).Time(cst).Add(10*3600e9).UnixMilli(), 0)
	}
	reports := []store.AnnualReport{
		{Office: townA, Year: 2026, Version: 2, FirstAt: stamp("2027-01-04"),
			Current: store.ReportVersion{HLC: stamp("2027-01-08"), Author: "张丽", AsOf: asOf.String(), Figures: figs}},
		{Office: "410324102", Year: 2026, Version: 1, FirstAt: stamp("2027-01-07"),
			Current: store.ReportVersion{HLC: stamp("2027-01-07"), Author: "李强", AsOf: asOf.String(), Figures: figs[:1]}},
	}
	units := []office.Unit{{Code: townA, Name: "赤土店镇"}, {Code: "410324102", Name: "合峪镇"}, {Code: "410324103", Name: "庙子镇"}}
	parts := ReportStatuses(reports, units, 2026, date("2027-01-10"))
	if parts[0].Late || !parts[1].Late || parts[2].Report != nil || !parts[2].Late {
		t.Fatalf("statuses: %+v", parts)
	}
	county := office.Unit{Code: "410324", Name: "栾川县"}
	return AnnualDoc{Unit: county, Year: 2026, AsOf: asOf, Figures: figs,
		Narrative: "2026年，全县各乡镇公开承诺事项按期践诺。\n\n一是健全台账；二是按月调度。",
		Notable:   NotableItems([]store.Ref{cs[0].Ref, {Office: townA, ID: protocol.EntityID{9}}}, cs, Names(county)),
		Version:   1, SignedBy: "赵静", Submitted: date("2027-01-09"), Parts: parts, Printed: date("2027-01-10")}
}

// TestAnnualReportPDF writes a county's compiled report and reads it back
// with pdftotext: the Chinese headings, the title, who signed which
// version, the narrative, the notable commitment and every township's
// status are there; a township's preview says it is not signed.
func TestAnnualReportPDF(t *testing.T) {
	d := annualDocFixture(t)
	var buf bytes.Buffer
	res, err := WriteAnnualReportPDF(&buf, d, zh)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Missing) != 0 {
		t.Errorf("characters without a glyph: %q", string(res.Missing))
	}
	flat := strings.Join(strings.Fields(pdfText(t, buf.Bytes())), "")
	for _, s := range []string{"栾川县2026年度践诺情况报告", "一、践诺情况统计", "二、工作情况", "三、重点承诺事项", "四、各单位报送情况",
		"第1版，由赵静于2027-01-09签署报送", "统计截至2026-11-25", "一是健全台账；二是按月调度。", "1.赤土店镇：岗位信息推送",
		"责任人：刘洋（社会事务办）", "按时报送", "逾期报送", "逾期未报", "庙子镇", "报送截止日期：2027-01-05", "合计", "第1页共"} {
		if !strings.Contains(flat, s) {
			t.Errorf("extracted text lacks %q:\n%s", s, flat)
		}
	}
	if res.Pages < 1 {
		t.Fatalf("%d pages", res.Pages)
	}

	town := d
	town.Unit, town.Parts, town.Version, town.Notable = unit, nil, 0, nil
	buf.Reset()
	if _, err := WriteAnnualReportPDF(&buf, town, zh); err != nil {
		t.Fatal(err)
	}
	flat = strings.Join(strings.Fields(pdfText(t, buf.Bytes())), "")
	for _, s := range []string{"赤土店镇2026年度践诺情况报告", "预览（尚未签署报送）", "本年度未列出重点承诺事项。"} {
		if !strings.Contains(flat, s) {
			t.Errorf("the preview lacks %q", s)
		}
	}
	if strings.Contains(flat, "各单位报送情况") {
		t.Error("a township's report lists offices")
	}
	buf.Reset()
	if _, err := WriteAnnualReportPDF(&buf, d, en); err != nil {
		t.Fatal(err)
	}
	if flat := strings.Join(strings.Fields(pdfText(t, buf.Bytes())), ""); !strings.Contains(flat, "1.Figuresbycategory") {
		t.Errorf("the English report lacks its first heading:\n%s", flat)
	}
}

// TestAnnualReportXLSX: the workbook has the figures with their totals,
// the narrative a paragraph a row, the notable commitments and the
// offices' statuses, each on its sheet.
func TestAnnualReportXLSX(t *testing.T) {
	d := annualDocFixture(t)
	var buf bytes.Buffer
	if err := WriteAnnualReportXLSX(&buf, d, zh); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := strings.Join(f.GetSheetList(), " "); got != "统计 报告正文 重点承诺事项 各单位报送情况" {
		t.Fatalf("sheets %q", got)
	}
	rows, _ := f.GetRows("统计")
	if rows[0][0] != "栾川县2026年度践诺情况报告" || !strings.Contains(rows[2][0], "赵静") || strings.Join(rows[3], ",") != strings.Join(annualHeadersZh, ",") {
		t.Fatalf("figures sheet starts %q", rows[:4])
	}
	total := d.Totals()
	last := rows[4+len(d.Figures)]
	if last[0] != "合计" || last[1] != strconv.Itoa(int(total.Total)) {
		t.Errorf("totals row %q, want %d commitments", last, total.Total)
	}
	rows, _ = f.GetRows("报告正文")
	if len(rows) != 4 || rows[3][0] != "一是健全台账；二是按月调度。" {
		t.Errorf("narrative sheet %q", rows)
	}
	rows, _ = f.GetRows("重点承诺事项")
	if len(rows) != 4 || rows[2][2] != "岗位信息推送" || rows[2][3] != "刘洋（社会事务办）" {
		t.Errorf("notable sheet %q", rows)
	}
	rows, _ = f.GetRows("各单位报送情况")
	if len(rows) != 6 || rows[3][0] != "赤土店镇" || rows[3][1] != "按时报送" || rows[5][1] != "逾期未报" {
		t.Errorf("offices sheet %q", rows)
	}
}
