package vm

import (
	"fmt"
	"testing"

	"jiannuo/domain"
	"jiannuo/report"
)

// TestDashboard: the dashboard's numbers, chart names and item lines come
// from the statistics, every message exists in both languages, and each
// overdue line carries the commitment it opens.
func TestDashboard(t *testing.T) {
	f := newListFixture(t)
	cs, err := f.d.s.AllCommitments()
	must(t, err)
	d := NewDashboard(report.Compute(cs, testToday, nil))
	if len(d.Statuses) != len(domain.Statuses()) {
		t.Fatalf("%d statuses", len(d.Statuses))
	}
	total := 0
	for _, s := range d.Statuses {
		total += s.Count
		checkMessage(t, s.Label)
	}
	if total != len(cs) {
		t.Errorf("status counts add up to %d of %d", total, len(cs))
	}
	if d.Rate.Key != "ui.dash.rate" || d.Rate.Args[0] != "100%" {
		t.Errorf("rate %v", d.Rate)
	}
	if len(d.Rates) != 1 || d.Rates[0].Category != domain.CatSchooling || d.Rates[0].Percent != 100 {
		t.Errorf("category rates %+v", d.Rates)
	}
	if len(d.Months) != 12 || d.Months[11].Label.Key != "ui.month.m11" || d.MonthRange.Args[1] != "2026-11" {
		t.Errorf("months %+v, range %v", d.Months, d.MonthRange)
	}
	if len(d.Overdue) != 1 || d.Overdue[0].Ref != f.overdue || len(d.DueSoon) != 1 || d.DueSoon[0].Ref != f.soon {
		t.Errorf("overdue %+v, due soon %+v", d.Overdue, d.DueSoon)
	}
	cats := map[domain.Category]bool{}
	for _, c := range cs {
		cats[c.Category] = true
	}
	if len(d.Rates)+len(d.Unrated) != len(cats) { // each category with commitments in the chart or in the list
		t.Errorf("%d rated and %d unrated of %d categories: %v", len(d.Rates), len(d.Unrated), len(cats), d.Unrated)
	}
	for _, m := range append(append(d.Unrated, d.Rate, d.MonthRange, d.Overdue[0].Text), d.Rates[0].Label) {
		checkMessage(t, m)
	}
	for m := 1; m <= 12; m++ {
		checkMessage(t, Msg(fmt.Sprintf("ui.month.m%d", m)))
	}
	checkMessage(t, Msg("ui.dash.no_rate"))
}
