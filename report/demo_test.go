package report_test

import (
	"bytes"
	"io"
	"log/slog"
	"testing"
	"time"

	"jiannuo/auth"
	"jiannuo/demo"
	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/report"
	"jiannuo/store"
)

// demoNow is the demo's "today": a Wednesday in late November.
var demoNow = time.Date(2026, 11, 25, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

// demoData builds the embedded demo in a temporary directory and returns the
// leader's replica's commitments.
func demoData(t testing.TB) ([]store.Commitment, *demo.Demo) {
	t.Helper()
	d, err := demo.Build(demo.Config{Dir: t.TempDir(), Now: demoNow, KDF: auth.TestParams(),
		Options: store.Options{Now: func() time.Time { return demoNow }, NoSync: true,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	cs, err := d.Township.AllCommitments()
	if err != nil {
		t.Fatal(err)
	}
	return cs, d
}

func TestComputeOnDemo(t *testing.T) {
	cs, d := demoData(t)
	s := report.Compute(cs, d.Today, d.Calendar)

	if s.All.Total != len(cs) || s.All.Unknown != 0 {
		t.Fatalf("total %d of %d, unknown %d", s.All.Total, len(cs), s.All.Unknown)
	}
	sum := 0
	for _, st := range domain.Statuses() {
		if s.All.ByStatus[st] == 0 {
			t.Errorf("demo has no %s commitment on the dashboard", st)
		}
		sum += s.All.ByStatus[st]
	}
	if sum != s.All.Total {
		t.Errorf("statuses add up to %d, total %d", sum, s.All.Total)
	}

	// Every figure agrees with a direct count using the domain's rules.
	var overdue, soon, verdicts, onTime int
	for i := range cs {
		c := &cs[i]
		switch domain.ComputeDue(c.Status, c.Start(), c.DeadlineValue(), d.Today, d.Calendar).State {
		case domain.DueOverdue:
			overdue++
		case domain.DueSoon:
			soon++
		}
		if report.HasVerdict(c.Status) {
			verdicts++
			if c.Status == domain.StatusFulfilledOnTime {
				onTime++
			}
		}
	}
	if overdue == 0 || soon == 0 {
		t.Fatalf("the demo should have overdue (%d) and due-soon (%d) items", overdue, soon)
	}
	if len(s.Overdue) != overdue || s.All.Overdue != overdue || len(s.DueSoon) != soon || s.All.DueSoon != soon {
		t.Errorf("overdue %d/%d want %d; due soon %d/%d want %d", len(s.Overdue), s.All.Overdue, overdue, len(s.DueSoon), s.All.DueSoon, soon)
	}
	for i := 1; i < len(s.Overdue); i++ {
		if s.Overdue[i-1].Due.DaysOverdue < s.Overdue[i].Due.DaysOverdue {
			t.Errorf("overdue list not most-overdue first at %d", i)
		}
	}
	for i := 1; i < len(s.DueSoon); i++ {
		if s.DueSoon[i-1].Due.Date.After(s.DueSoon[i].Due.Date) {
			t.Errorf("due-soon list not nearest first at %d", i)
		}
	}
	if r, ok := s.All.OnTimeRate(); !ok || r != float64(onTime)/float64(verdicts) {
		t.Errorf("rate %v %v, want %d/%d", r, ok, onTime, verdicts)
	}

	var catTotal, catClosed int
	for _, c := range s.ByCategory {
		catTotal += c.Total
		catClosed += c.Closed()
	}
	for _, pc := range domain.PublicServiceCategories() {
		if s.Category(pc).Total == 0 {
			t.Errorf("no demo commitment in %s", pc)
		}
	}
	if catTotal != s.All.Total || catClosed != s.All.Closed() {
		t.Errorf("categories: %d total, %d closed; all: %d, %d", catTotal, catClosed, s.All.Total, s.All.Closed())
	}
	// The demo's verdicts all have entries dated within the last year.
	monthly := 0
	for _, m := range s.ByMonth {
		monthly += m.Closed()
	}
	if monthly != s.All.Closed() {
		t.Errorf("monthly series holds %d verdicts, want %d", monthly, s.All.Closed())
	}

	// One office: ByOffice is Compute.
	by := report.ByOffice(cs, d.Today, d.Calendar)
	if len(by) != 1 || by[demo.Township].All.Total != s.All.Total || len(by[demo.Township].Overdue) != overdue {
		t.Errorf("ByOffice on the demo: %v", report.Offices(by))
	}

	// The county admin's replica holds the same data.
	county, err := d.County.AllCommitments()
	if err != nil {
		t.Fatal(err)
	}
	if cs2 := report.Compute(county, d.Today, d.Calendar); cs2.All.Total != s.All.Total || cs2.All.Breached != s.All.Breached {
		t.Errorf("county replica: %+v", cs2.All)
	}
}

func TestAnnualOnDemo(t *testing.T) {
	cs, d := demoData(t)
	u := office.Unit{Code: demo.Township, Name: "赤土店镇"}
	year := d.Today.Year
	var xb, cb bytes.Buffer
	if err := report.WriteAnnualXLSX(&xb, cs, u, year, d.Today, d.Calendar, report.Zh); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteAnnualCSV(&cb, cs, u, year, d.Today, d.Calendar, report.Zh); err != nil {
		t.Fatal(err)
	}
	f, sheet, _ := report.OpenXLSX(t, xb.Bytes())
	s := report.Annual(cs, year, d.Today, d.Calendar)
	report.CheckAnnual(t, report.Pad(report.RawRows(t, f, sheet), len(report.AnnualHeadersZh)), s, report.Zh)
	if s.All.Total == 0 || s.All.Closed() == 0 || s.All.Overdue == 0 {
		t.Errorf("demo annual report is thin: %+v", s.All)
	}
	// Against the dashboard on the same data: every non-draft,
	// non-withdrawn demo commitment is in force this year, and overdue is
	// judged on the same day.
	dash := report.Compute(cs, d.Today, d.Calendar)
	if s.All.Closed() != dash.All.Closed() || s.All.Open != dash.All.Open || s.All.Overdue != dash.All.Overdue ||
		s.All.Total != dash.All.Total-dash.All.ByStatus[domain.StatusDraft]-dash.All.ByStatus[domain.StatusWithdrawn] {
		t.Errorf("annual %+v\ndashboard %+v", s.All, dash.All)
	}
	if recs := report.ReadCSV(t, cb.Bytes()); len(recs) != 3+len(s.ByCategory)+2 {
		t.Errorf("CSV rows %d", len(recs))
	}

	// The notice of the demo: no drafts, every row public.
	var nb bytes.Buffer
	if err := report.WriteNoticeXLSX(&nb, cs, u, d.Today, d.Calendar, report.Zh); err != nil {
		t.Fatal(err)
	}
	_, _, rows := report.OpenXLSX(t, nb.Bytes())
	want := 0
	for i := range cs {
		if report.InNotice(&cs[i]) {
			want++
		}
		if cs[i].Status == domain.StatusDraft {
			for _, r := range rows[2:] {
				if r[3] == cs[i].Title {
					t.Errorf("draft %q on the public notice", r[3])
				}
			}
		}
	}
	if len(rows)-2 != want || want == 0 {
		t.Errorf("notice has %d rows, want %d", len(rows)-2, want)
	}
}
