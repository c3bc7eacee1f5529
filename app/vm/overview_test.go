package vm

import (
	"bytes"
	"context"
	"testing"
	"time"

	"jiannuo/assets"
	"jiannuo/domain"
	"jiannuo/report"
	"jiannuo/store"
)

// TestServerOverview: the real county server's overview decodes, every
// row is one of the county's offices and every warning has its words; a
// sample with rates, a last sync and both warning kinds converts as the
// screen needs; a replica's overview exports in the server's shape.
func TestServerOverview(t *testing.T) {
	c := startTestCounty(t)
	ov, err := c.client(testAdminPass).Overview(context.Background())
	must(t, err)
	if ov.County != countyCode {
		t.Fatalf("overview of %s", ov.County)
	}
	for _, r := range ServerOverview(ov, time.Time{}).Rows {
		if !countyCode.Contains(r.Office) {
			t.Fatalf("row %s outside the county", r.Office)
		}
	}
	_, err = c.client("错误的口令").Overview(context.Background())
	wantKey(t, err, "error.not_authorized")

	rate, share := 0.75, 0.5
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, cst)
	sample := &report.Overview{County: countyCode, Rows: []report.OverviewRow{
		{Office: township, Tally: report.Tally{Total: 6, Open: 2, Overdue: 1, OnTime: 3, Late: 1, ByStatus: map[domain.Status]int{domain.StatusInProgress: 2}},
			OnTimeRate: &rate, OverdueShare: &share, LastSync: now.Add(-72 * time.Hour),
			Warnings: []report.Warning{{Kind: report.WarnOverdueRising}, {Kind: report.WarnNotSynced}}},
		{Office: "410324102", Tally: report.Tally{Total: 1, Open: 1, ByStatus: map[domain.Status]int{domain.StatusInProgress: 1}}},
	}}
	got := ServerOverview(sample, now)
	if len(got.Rows) != 2 || got.Total.Total != 7 || got.Total.Open != 3 || got.Total.ByStatus[domain.StatusInProgress] != 3 {
		t.Fatalf("overview %+v", got)
	}
	r := got.Rows[0]
	if r.Name != "赤土店镇" || !r.HasRate || r.OnTimeRate != 0.75 || r.SilentDays != 3 || len(r.Warnings) != 2 || !r.Warned() {
		t.Fatalf("row %+v", r)
	}
	for _, m := range append(r.Warnings, r.Rate, got.Rows[1].Rate) {
		checkMessage(t, m)
	}
	if got.Rows[1].HasRate || got.Rows[1].SilentDays != -1 {
		t.Fatalf("row without rate or sync %+v", got.Rows[1])
	}

	// A replica's overview, exported.
	town := newTownship(t)
	town.create(t, spec{title: "道路维修", status: domain.StatusInProgress})
	local := ComputeOverview(mustAll(t, town), OverviewConfig{County: countyCode, Today: testToday, Now: now, AllTownships: true})
	rep := local.Report
	if len(rep.Rows) != len(local.Rows) || rep.County != countyCode || rep.Warnings == 0 {
		t.Fatalf("report overview %+v", rep)
	}
	var buf bytes.Buffer
	must(t, report.WriteOverviewXLSX(&buf, rep, assets.NewTranslator("zh-Hans")))
	if !bytes.HasPrefix(buf.Bytes(), []byte("PK")) {
		t.Fatal("not a workbook")
	}
}

func mustAll(t *testing.T, d *townshipDevice) []store.Commitment {
	t.Helper()
	cs, err := d.s.AllCommitments()
	must(t, err)
	return cs
}
