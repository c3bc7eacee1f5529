package vm

import (
	"context"
	"net/http"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/report"
)

// The 辖区概况 screen from the county server: GET /admin/overview, which
// knows every device's last sync and keeps the snapshots the early
// warning compares with. Without an admin credential the screen computes
// the overview from the admin device's replica (LoadOverview).

// Overview fetches the county overview from the county server.
func (c *AdminClient) Overview(ctx context.Context) (*report.Overview, error) {
	var out report.Overview
	if err := c.do(ctx, http.MethodGet, "/admin/overview", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ServerOverview turns the county server's overview into the screen's
// rows: the last change is the township's last device sync, the warnings
// its early warnings by kind ("breachui.overview.warn.<kind>"); now is for
// the days since that sync.
func ServerOverview(ov *report.Overview, now time.Time) *Overview {
	if now.IsZero() {
		now = time.Now()
	}
	out := &Overview{Total: report.Tally{ByStatus: map[domain.Status]int{}}}
	for _, r := range ov.Rows {
		name := r.Name
		if name == "" {
			name = officeName(r.Office)
		}
		row := OverviewRow{Office: r.Office, Name: name, Tally: r.Tally, Overdue: r.Tally.Overdue, DueSoon: r.Tally.DueSoon, SilentDays: -1}
		if r.OnTimeRate != nil {
			row.OnTimeRate, row.HasRate = *r.OnTimeRate, true
			row.Rate = Msg("adminui.overview.rate", *r.OnTimeRate*100)
		} else {
			row.Rate = Msg("adminui.overview.no_rate")
		}
		if r.OverdueShare != nil {
			row.OverdueShare = *r.OverdueShare
		}
		if !r.LastSync.IsZero() {
			row.LastChange, row.LastWhen = r.LastSync, adminTime(r.LastSync)
			row.SilentDays = max(0, int(now.Sub(r.LastSync)/(24*time.Hour)))
		}
		for _, w := range r.Warnings {
			row.Warnings = append(row.Warnings, Msg("breachui.overview.warn."+w.Kind))
		}
		out.Rows = append(out.Rows, row)
		addTally(&out.Total, r.Tally)
	}
	return out
}

func addTally(t *report.Tally, x report.Tally) {
	t.Total += x.Total
	t.Unknown += x.Unknown
	t.OnTime += x.OnTime
	t.Late += x.Late
	t.Partly += x.Partly
	t.Breached += x.Breached
	t.Open += x.Open
	t.Overdue += x.Overdue
	t.DueSoon += x.DueSoon
	t.Conflicted += x.Conflicted
	for s, n := range x.ByStatus {
		t.ByStatus[s] += n
	}
}

// ReportOverview is a locally computed overview in the shape of the
// server's, for report.WriteOverviewXLSX: no device list and no earlier
// share (the replica keeps no snapshots); a township from which nothing
// has arrived for the silent days carries the not-synced warning.
func ReportOverview(ov *Overview, county office.Code, today calendar.Date, silentDays int) *report.Overview {
	if silentDays <= 0 {
		silentDays = DefaultSilentDays
	}
	out := &report.Overview{County: county, Today: today, StaleDays: silentDays}
	for _, r := range ov.Rows {
		row := report.OverviewRow{Office: r.Office, Name: r.Name, Tally: r.Tally, LastSync: r.LastChange}
		if r.HasRate {
			v := r.OnTimeRate
			row.OnTimeRate = &v
		}
		if sh, ok := r.Tally.OverdueShare(); ok {
			row.OverdueShare = &sh
		}
		if r.SilentDays < 0 || r.SilentDays >= silentDays {
			row.Warnings = append(row.Warnings, report.Warning{Kind: report.WarnNotSynced})
			out.Warnings++
		}
		out.Rows = append(out.Rows, row)
	}
	return out
}
