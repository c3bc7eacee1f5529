package report

import (
	"cmp"
	"io"
	"strings"
	"time"

	"jiannuo/assets"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// The county overview (县级监测) and the dishonesty register, and their
// exports. The county server computes the overview (it knows the devices
// and keeps the snapshots) and serves it as JSON at GET /admin/overview in
// exactly this shape; clients decode it into Overview and export it here.
// The admin device computes one from its replica in the same shape when
// the server cannot answer.

// DeviceSeen is a device of an office and when it last talked to the county.
type DeviceSeen struct {
	Device   protocol.DeviceID `json:"device"`
	Name     string            `json:"name"`
	Admin    bool              `json:"admin,omitempty"`
	Revoked  bool              `json:"revoked,omitempty"`
	Online   bool              `json:"online"`
	LastSeen time.Time         `json:"last_seen,omitzero"` // zero: never synced
	LastSeq  uint64            `json:"last_seq"`
}

// Warning kinds of the early warning (§三(四)).
const (
	// WarnOverdueRising: the office's overdue share is higher than it was
	// 30 days before.
	WarnOverdueRising = "overdue_rising"
	// WarnNotSynced: a device of the office (not revoked) has not synced
	// for the configured number of days, or never has.
	WarnNotSynced = "not_synced"
	// WarnCaseOverdue: a complaint or objection against the office is
	// past its acknowledgement or answer deadline (domain.ComputeCaseDue).
	WarnCaseOverdue = "case_overdue"
)

// CaseTally counts an office's supervision cases (complaints and
// objections about its records) for the overview.
type CaseTally struct {
	Open    int `json:"open"`    // not closed
	Overdue int `json:"overdue"` // of those, past a deadline today
}

// Warning is one early warning on an office.
type Warning struct {
	Kind    string `json:"kind"`
	Message string `json:"message"` // English, for logs and scripts; screens translate Kind
}

// OverviewRow is one office of the county overview.
type OverviewRow struct {
	Office office.Code `json:"office"`
	Name   string      `json:"name,omitempty"`
	Tally  Tally       `json:"tally"` // commitments by status, open, overdue, due soon
	// OnTimeRate and OverdueShare are nil when undefined (nothing closed,
	// nothing open).
	OnTimeRate   *float64 `json:"on_time_rate"`
	OverdueShare *float64 `json:"overdue_share"`
	// OverdueShareBefore is the share recorded about 30 days earlier (the
	// latest snapshot at least 30 days old), nil if none.
	OverdueShareBefore *float64     `json:"overdue_share_before"`
	BeforeDate         string       `json:"before_date,omitempty"`
	Devices            []DeviceSeen `json:"devices"`
	LastSync           time.Time    `json:"last_sync,omitzero"` // the latest of its devices
	// Cases counts the complaints and objections about its records.
	Cases    CaseTally `json:"cases"`
	Warnings []Warning `json:"warnings"`
}

// Overview is the county overview on one day.
type Overview struct {
	County    office.Code   `json:"county"`
	Today     calendar.Date `json:"today"`
	StaleDays int           `json:"stale_days"`
	Rows      []OverviewRow `json:"rows"`
	Warnings  int           `json:"warnings"` // total over the rows
}

// NewOverviewRow is office o's row of the overview with its figures t:
// the on-time rate and the overdue share derived from them (nil where
// undefined), no device and no warning yet.
func NewOverviewRow(o office.Code, name string, t Tally) OverviewRow {
	r := OverviewRow{Office: o, Name: name, Tally: t, Devices: []DeviceSeen{}, Warnings: []Warning{}}
	if rate, ok := t.OnTimeRate(); ok {
		r.OnTimeRate = &rate
	}
	if share, ok := t.OverdueShare(); ok {
		r.OverdueShare = &share
	}
	return r
}

func pct(p *float64, tr *assets.Translator) any {
	if p == nil {
		return tr.T("report.rate_none")
	}
	return *p
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(cst).Format("2006-01-02 15:04")
}

func overviewTable(ov *Overview, tr *assets.Translator) table {
	return table{
		sheet:    tr.T("admin.sheet_overview"),
		preamble: []string{tr.T("admin.overview_title", string(ov.County), ov.Today.String())},
		cols: []column{
			{tr.T("report.col_office"), 22, colText},
			{tr.T("report.col_count"), 10, colInt},
			{tr.T("report.col_open"), 10, colInt},
			{tr.T("report.col_on_time"), 10, colInt},
			{tr.T("report.col_late"), 10, colInt},
			{tr.T("report.col_partly"), 10, colInt},
			{tr.T("report.col_breached"), 10, colInt},
			{tr.T("report.col_rate"), 12, colPercent},
			{tr.T("report.col_overdue"), 10, colInt},
			{tr.T("admin.col_overdue_share"), 12, colPercent},
			{tr.T("admin.col_overdue_share_before"), 14, colPercent},
			{tr.T("admin.col_due_soon"), 12, colInt},
			{tr.T("admin.col_cases_open"), 10, colInt},
			{tr.T("admin.col_cases_overdue"), 10, colInt},
			{tr.T("admin.col_devices"), 8, colInt},
			{tr.T("admin.col_last_sync"), 18, colText},
			{tr.T("admin.col_warnings"), 40, colWrap},
		},
		rows: func(yield func([]any) bool) {
			for _, r := range ov.Rows {
				var ws []string
				for _, w := range r.Warnings {
					ws = append(ws, tr.T("admin.warning_"+w.Kind))
				}
				name := string(r.Office)
				if r.Name != "" {
					name = r.Name + " (" + name + ")"
				}
				t := r.Tally
				if !yield([]any{name, t.Total, t.Open, t.OnTime, t.Late, t.Partly, t.Breached, pct(r.OnTimeRate, tr),
					t.Overdue, pct(r.OverdueShare, tr), pct(r.OverdueShareBefore, tr), t.DueSoon, r.Cases.Open, r.Cases.Overdue, len(r.Devices),
					timeText(r.LastSync), strings.Join(ws, "；")}) {
					return
				}
			}
		},
	}
}

// WriteOverviewXLSX writes the county overview as an .xlsx workbook: one
// row per office with its commitments by verdict, on-time rate, overdue
// count and share (now and 30 days before), due within 5 working days,
// open and overdue supervision cases, devices, last sync and early
// warnings.
func WriteOverviewXLSX(w io.Writer, ov *Overview, tr *assets.Translator) error {
	return writeXLSX(w, overviewTable(ov, tr))
}

// WriteOverviewCSV writes the same table as UTF-8 CSV with a byte-order mark.
func WriteOverviewCSV(w io.Writer, ov *Overview, tr *assets.Translator) error {
	return writeCSV(w, overviewTable(ov, tr))
}

func dishonestyTable(county office.Code, recs []store.DishonestyRecord, today calendar.Date, tr *assets.Translator) table {
	return table{
		sheet:    tr.T("admin.sheet_dishonesty"),
		preamble: []string{tr.T("admin.dishonesty_title", string(county), today.String())},
		cols: []column{
			{tr.T("report.col_no"), 6, colInt},
			{tr.T("report.col_office"), 14, colText},
			{tr.T("admin.col_dishonesty_type"), 14, colText},
			{tr.T("report.col_responsible"), 14, colText},
			{tr.T("admin.col_facts"), 40, colWrap},
			{tr.T("admin.col_rectify_deadline"), 14, colText},
			{tr.T("admin.col_explanation"), 40, colWrap},
			{tr.T("report.col_status"), 12, colText},
			{tr.T("admin.col_recorded_by"), 12, colText},
			{tr.T("admin.col_commitment"), 44, colText},
			{tr.T("admin.col_record_id"), 34, colText},
			{tr.T("admin.col_sanctions"), 30, colWrap},
			{tr.T("admin.col_mitigation"), 30, colWrap},
			{tr.T("admin.col_correction"), 30, colWrap},
			{tr.T("admin.col_withdrawal"), 30, colWrap},
			{tr.T("admin.col_pending"), 16, colText},
		},
		rows: func(yield func([]any) bool) {
			for i, r := range recs {
				if !yield([]any{i + 1, string(r.Office), tr.T("admin.type_" + string(r.Type)), r.Official, r.Reason,
					cmp.Or(r.Deadline, "—"), r.Explanation, dishonestyStatus(&r, tr),
					r.RecordedBy, r.Commitment.String(), r.ID.String(),
					dishonestyActions(r.Sanctions, "breachui.sanction.", tr), dishonestyActions(optional(r.Mitigation), "breachui.mitigation.", tr),
					dishonestyActions(r.Corrections, "", tr), dishonestyActions(optional(r.Withdrawn), "", tr), pendingStep(&r, tr)}) {
					return
				}
			}
		},
	}
}

// dishonestyStatus names where a record stands: its furthest progress
// step, or withdrawn.
func dishonestyStatus(r *store.DishonestyRecord, tr *assets.Translator) string {
	if r.Withdrawn != nil {
		return tr.T("admin.step_" + string(domain.StepWithdrawn))
	}
	return tr.T("admin.step_" + string(cmp.Or(r.Status, domain.StepRecorded)))
}

// dishonestyActions writes the county's decisions in one cell, one per
// line: the measure or mitigation named (its key is prefix + detail; no
// prefix: the detail as it is, the corrected facts), then the reason.
func dishonestyActions(as []store.DishonestyAction, prefix string, tr *assets.Translator) string {
	var lines []string
	for _, a := range as {
		what := a.Detail
		if prefix != "" {
			what = tr.T(prefix + a.Detail)
		}
		if what == "" {
			lines = append(lines, a.Reason)
			continue
		}
		lines = append(lines, tr.T("admin.action_cell", what, a.Reason))
	}
	return strings.Join(lines, "\n")
}

func optional(a *store.DishonestyAction) []store.DishonestyAction {
	if a == nil {
		return nil
	}
	return []store.DishonestyAction{*a}
}

// pendingStep names the township's submission awaiting review, if any.
func pendingStep(r *store.DishonestyRecord, tr *assets.Translator) string {
	if r.Pending == nil {
		return ""
	}
	return tr.T("breachui.step." + string(r.Pending.Step))
}

// WriteDishonestyXLSX writes the government dishonesty records (政务失信记录)
// as an .xlsx workbook, one row per record.
func WriteDishonestyXLSX(w io.Writer, county office.Code, recs []store.DishonestyRecord, today calendar.Date, tr *assets.Translator) error {
	return writeXLSX(w, dishonestyTable(county, recs, today, tr))
}

// WriteDishonestyCSV writes the same table as UTF-8 CSV with a byte-order
// mark.
func WriteDishonestyCSV(w io.Writer, county office.Code, recs []store.DishonestyRecord, today calendar.Date, tr *assets.Translator) error {
	return writeCSV(w, dishonestyTable(county, recs, today, tr))
}
