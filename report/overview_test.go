package report

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"jiannuo/assets"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

func f64(v float64) *float64 { return &v }

func overviewFixture() *Overview {
	return &Overview{County: "410324", Today: calendar.NewDate(2026, 11, 25), StaleDays: 7, Warnings: 2, Rows: []OverviewRow{
		{Office: "410324101", Name: "赤土店镇", Tally: Tally{Total: 10, Open: 4, OnTime: 3, Late: 1, Overdue: 2, DueSoon: 1},
			OnTimeRate: f64(0.75), OverdueShare: f64(0.5), OverdueShareBefore: f64(0.25),
			Devices:  []DeviceSeen{{Name: "党政办-1", LastSeen: time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)}},
			LastSync: time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC),
			Cases:    CaseTally{Open: 3, Overdue: 1},
			Warnings: []Warning{{Kind: WarnOverdueRising}, {Kind: WarnNotSynced}, {Kind: WarnCaseOverdue}}},
		{Office: "410324102", Name: "合峪镇"},
	}}
}

func TestOverviewExports(t *testing.T) {
	ov := overviewFixture()
	var xb, cb bytes.Buffer
	if err := WriteOverviewXLSX(&xb, ov, zh); err != nil {
		t.Fatal(err)
	}
	if err := WriteOverviewCSV(&cb, ov, zh); err != nil {
		t.Fatal(err)
	}
	_, _, rows := openXLSX(t, xb.Bytes())
	recs := readCSV(t, cb.Bytes())
	if len(rows) != 4 || len(recs) != 4 {
		t.Fatalf("rows: xlsx %d, csv %d; want title, header and 2", len(rows), len(recs))
	}
	want := []string{"赤土店镇 (410324101)", "10", "4", "3", "1", "0", "0", "75%", "2", "50%", "25%", "1", "3", "1", "1", "2026-11-01 10:00",
		"逾期占比上升；终端长期未同步；投诉举报或异议逾期未办理"}
	for i, w := range want {
		if recs[2][i] != w {
			t.Errorf("CSV column %d = %q, want %q", i, recs[2][i], w)
		}
	}
	if recs[3][7] != "—" || recs[3][15] != "—" {
		t.Errorf("undefined rate or never synced: %q", recs[3])
	}
	if rows[0][0] != "410324 各乡镇（街道）践诺监测概览（截至 2026-11-25）" {
		t.Errorf("title %q", rows[0][0])
	}
	var eb bytes.Buffer
	if err := WriteOverviewCSV(&eb, ov, en); err != nil {
		t.Fatal(err)
	}
	if recs := readCSV(t, eb.Bytes()); recs[1][9] != "Overdue share" || recs[1][12] != "Open cases" || recs[1][13] != "Cases overdue" ||
		recs[2][16] != "Overdue share rising；Device not syncing；Complaints or objections overdue" {
		t.Errorf("English: %q %q", recs[1], recs[2])
	}
}

func TestDishonestyExports(t *testing.T) {
	recs := []store.DishonestyRecord{{Office: "410324101", ID: protocol.EntityID{1}, Commitment: store.Ref{Office: "410324101", ID: protocol.EntityID{2}},
		Recorded: true, Type: domain.DishonestyBreach, Official: "王建国", Deadline: "2026-12-31", Reason: "逾期未走访",
		Explanation: "人手不足", RecordedBy: "张伟", Status: domain.StepRectified}}
	var xb, cb bytes.Buffer
	if err := WriteDishonestyXLSX(&xb, "410324", recs, calendar.NewDate(2026, 11, 25), zh); err != nil {
		t.Fatal(err)
	}
	if err := WriteDishonestyCSV(&cb, "410324", recs, calendar.NewDate(2026, 11, 25), zh); err != nil {
		t.Fatal(err)
	}
	_, _, rows := openXLSX(t, xb.Bytes())
	got := readCSV(t, cb.Bytes())
	if len(rows) != 3 || len(got) != 3 {
		t.Fatalf("rows %d/%d", len(rows), len(got))
	}
	want := []string{"1", "410324101", "未践诺", "王建国", "逾期未走访", "2026-12-31", "人手不足", "已整改", "张伟", recs[0].Commitment.String(), recs[0].ID.String()}
	for i, w := range want {
		if got[2][i] != w {
			t.Errorf("CSV column %d = %q, want %q", i, got[2][i], w)
		}
	}
	// Every type and step has its translation in both languages.
	for _, tr := range []*assets.Translator{zh, en} {
		if k := "admin.step_" + string(domain.StepWithdrawn); tr.T(k) == k {
			t.Errorf("no %s", k)
		}
	}
	for _, tr := range []*struct{ name string }{{"zh"}, {"en"}} {
		t2 := zh
		if tr.name == "en" {
			t2 = en
		}
		for _, ty := range domain.DishonestyTypes() {
			if k := "admin.type_" + string(ty); t2.T(k) == k {
				t.Errorf("%s: no %s", tr.name, k)
			}
		}
		for _, st := range []domain.DishonestyStep{domain.StepRecorded, domain.StepExplained, domain.StepRectified, domain.StepRepaired} {
			if k := "admin.step_" + string(st); t2.T(k) == k {
				t.Errorf("%s: no %s", tr.name, k)
			}
		}
	}
}

// TestDishonestyExportDecisions: the county's decisions and the township's
// pending submission have their columns; a withdrawn record says so in the
// status column.
func TestDishonestyExportDecisions(t *testing.T) {
	act := func(detail, reason string) store.DishonestyAction {
		return store.DishonestyAction{Detail: detail, Reason: reason}
	}
	recs := []store.DishonestyRecord{
		{Office: "410324101", ID: protocol.EntityID{1}, Recorded: true, Type: domain.DishonestyBreach, Official: "王建国",
			Reason: "3月未走访。", Status: domain.StepRectified,
			Sanctions:   []store.DishonestyAction{act(string(domain.SanctionPublicCriticism), "予以通报。"), act(string(domain.SanctionOther), "约谈。")},
			Mitigation:  &store.DishonestyAction{Detail: string(domain.MitigationLighter), Reason: "主动整改。"},
			Corrections: []store.DishonestyAction{act("3月未走访。", "异议成立。")},
			Withdrawn:   &store.DishonestyAction{Reason: "不构成失信。"}, Closed: true},
		{Office: "410324101", ID: protocol.EntityID{2}, Recorded: true, Type: domain.DishonestyBreach, Official: "李四", Reason: "逾期。",
			Status: domain.StepRecorded, Pending: &store.DishonestySubmission{Step: domain.StepExplanationSubmitted, Explanation: "说明"}},
	}
	for _, c := range []struct {
		tr   *assets.Translator
		want [][]string // columns 7, 11–15 of each record
	}{
		{zh, [][]string{
			{"已撤销", "通报批评：予以通报。\n其他措施：约谈。", "从轻处理：主动整改。", "3月未走访。：异议成立。", "不构成失信。", ""},
			{"已记录", "", "", "", "", "已提交书面说明"}}},
		{en, [][]string{
			{"Withdrawn", "Public criticism: 予以通报。\nOther measure: 约谈。", "Lighter treatment: 主动整改。", "3月未走访。: 异议成立。", "不构成失信。", ""},
			{"Recorded", "", "", "", "", "Explanation submitted"}}},
	} {
		var b bytes.Buffer
		if err := WriteDishonestyCSV(&b, "410324", recs, calendar.NewDate(2026, 11, 25), c.tr); err != nil {
			t.Fatal(err)
		}
		rows := readCSV(t, b.Bytes())
		if len(rows) != 4 || len(rows[1]) != 16 {
			t.Fatalf("rows %q", rows)
		}
		for i, want := range c.want {
			row := rows[2+i]
			got := []string{row[7], row[11], row[12], row[13], row[14], row[15]}
			if !slices.Equal(got, want) {
				t.Errorf("record %d:\n got %q\nwant %q", i+1, got, want)
			}
		}
		var x bytes.Buffer
		if err := WriteDishonestyXLSX(&x, "410324", recs, calendar.NewDate(2026, 11, 25), c.tr); err != nil {
			t.Fatal(err)
		}
		if _, _, xrows := openXLSX(t, x.Bytes()); len(xrows) != 4 {
			t.Fatalf("xlsx rows %d", len(xrows))
		}
	}
}
