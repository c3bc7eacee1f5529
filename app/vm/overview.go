package vm

import (
	"time"

	"jiannuo/domain"
	"jiannuo/report"
)

// The 辖区概况 screen from the county server: GET /admin/overview
// (countyapi.Client.Overview), which knows every device's last sync and
// keeps the snapshots the early warning compares with. Without an admin
// credential the screen computes the overview from the admin device's
// replica (LoadOverview).

// ServerOverview turns the county server's overview into the screen's
// rows: the last change is the township's last device sync, the warnings
// its early warnings by kind ("breachui.overview.warn.<kind>"); now is for
// the days since that sync.
func ServerOverview(ov *report.Overview, now time.Time) *Overview {
	if now.IsZero() {
		now = time.Now()
	}
	out := &Overview{Total: report.Tally{ByStatus: map[domain.Status]int{}}, Report: ov}
	for _, r := range ov.Rows {
		row := overviewRow(r, now)
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
