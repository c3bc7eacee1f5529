package vm

import (
	"fmt"
	"math"

	"jiannuo/domain"
	"jiannuo/report"
	"jiannuo/store"
)

// Dashboard is what the dashboard screen shows, from report.Compute: the
// overall on-time rate, a count per status, the on-time rate per category
// and per month (with the names the charts draw under their bars and
// points), and what is due soon or overdue, each item able to open its
// commitment.
type Dashboard struct {
	Rate     Message        // the overall on-time rate ("87.5%"), or "—" with no verdict yet
	Statuses []StatusTally  // every status, in lifecycle order
	Rates    []CategoryRate // the categories with a verdict, in the statistics' order
	// Unrated names the categories with commitments but no verdict yet,
	// each with its count ("就业（1项）"): not in the rate chart.
	Unrated []Message
	Months  []MonthRate // the twelve months to today's, oldest first
	// MonthRange names the months' span for the chart's axis
	// ("2025-12 — 2026-11").
	MonthRange Message
	DueSoon    []DueEntry // nearest deadline first
	Overdue    []DueEntry // most days overdue first
}

// StatusTally is one status's count on the dashboard.
type StatusTally struct {
	Status domain.Status
	Label  Message // the status's name
	Count  int
}

// CategoryRate is one category's on-time rate in percent (0–100).
type CategoryRate struct {
	Category domain.Category
	Label    Message
	Percent  float64
}

// MonthRate is one month's on-time rate in percent; Valid is false for a
// month without a verdict (the chart's line breaks there).
type MonthRate struct {
	Label   Message // the month's name ("11月", "Nov")
	Percent float64
	Valid   bool
}

// DueEntry is a line of the due-soon or overdue list; Ref opens it.
type DueEntry struct {
	Ref  store.Ref
	Text Message // "title — responsible, overdue by 3 days"
}

// NewDashboard lays the statistics out for the dashboard.
func NewDashboard(st report.Stats) Dashboard {
	d := Dashboard{Rate: Msg("ui.dash.no_rate")}
	if r, ok := st.All.OnTimeRate(); ok {
		d.Rate = Msg("ui.dash.rate", report.FormatPercent(r*100))
	}
	for _, s := range domain.Statuses() {
		d.Statuses = append(d.Statuses, StatusTally{Status: s, Label: StatusMessage(s), Count: st.All.ByStatus[s]})
	}
	for _, c := range st.ByCategory {
		if c.Total == 0 {
			continue
		}
		if r, ok := c.OnTimeRate(); ok {
			d.Rates = append(d.Rates, CategoryRate{Category: c.Category, Label: CategoryMessage(c.Category), Percent: r * 100})
		} else {
			d.Unrated = append(d.Unrated, Msg("ui.dash.category_count", CategoryMessage(c.Category), c.Total))
		}
	}
	for _, m := range st.ByMonth {
		mr := MonthRate{Label: Msg(fmt.Sprintf("ui.month.m%d", int(m.Month)))}
		if r, ok := m.OnTimeRate(); ok && !math.IsNaN(r) {
			mr.Percent, mr.Valid = r*100, true
		}
		d.Months = append(d.Months, mr)
	}
	if n := len(st.ByMonth); n > 0 {
		first, last := st.ByMonth[0], st.ByMonth[n-1]
		d.MonthRange = Msg("ui.dash.month_range", fmt.Sprintf("%d-%02d", first.Year, first.Month), fmt.Sprintf("%d-%02d", last.Year, last.Month))
	}
	entry := func(it report.DueItem) DueEntry {
		return DueEntry{Ref: it.Commitment.Ref, Text: Msg("ui.dash.item", it.Commitment.Title, it.Commitment.Responsible, DueMessage(it.Due))}
	}
	for _, it := range st.DueSoon {
		d.DueSoon = append(d.DueSoon, entry(it))
	}
	for _, it := range st.Overdue {
		d.Overdue = append(d.Overdue, entry(it))
	}
	return d
}
