package countyapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"jiannuo/domain/office"
	"jiannuo/store"
)

// The office's year over the admin API: urges (催办) the server signs with
// its own device in the admin's name, and the annual reports: which
// townships have submitted, reminders to the late ones, the county's
// compilation, and each report as a PDF or Excel file.

// UrgeRequest is the body of POST /admin/urges: an urge about a
// commitment (Office and Commitment), a case (Case: its number or ID; the
// commitment is the case's), or an office's annual report (Office and
// Year).
type UrgeRequest struct {
	Office     office.Code `json:"office,omitempty"`
	Commitment string      `json:"commitment,omitempty"` // the commitment's ID, hex
	Case       string      `json:"case,omitempty"`
	Year       int         `json:"year,omitempty"`
	Note       string      `json:"note"`
}

// UrgeInfo is an urge as the county admin sees it: the replicated view,
// what it concerns by name, and what the office did after it.
type UrgeInfo struct {
	store.Urge
	Title      string           `json:"title,omitempty"`       // the commitment's
	CaseNumber string           `json:"case_number,omitempty"` // the case's
	FollowUps  []store.FollowUp `json:"follow_ups"`
	// Pos is the feed position of the urge's change set (in the answer
	// of POST /admin/urges only).
	Pos uint64 `json:"pos,omitempty"`
}

// UrgeQuery selects the urges of GET /admin/urges; the zero value selects
// every urge of the county.
type UrgeQuery struct {
	Office     office.Code // this office and every office under it
	UnreadOnly bool
	Year       int // urges about the annual report of that year
}

// UrgeList is the answer of GET /admin/urges and of POST
// /admin/reports/remind: urges, newest first.
type UrgeList struct {
	Urges []UrgeInfo `json:"urges"`
}

// The statuses of an office's annual report (ReportStatusInfo.Status).
const (
	ReportOnTime  = "on_time" // submitted by the deadline
	ReportLate    = "late"    // first submitted after it
	ReportPending = "pending" // not yet, the deadline not passed
	ReportMissing = "missing" // not submitted, the deadline passed
)

// ReportStatusInfo is where one township stands on its annual report.
type ReportStatusInfo struct {
	Office office.Code `json:"office"`
	Name   string      `json:"name"`
	Status string      `json:"status"`
	// The current version's number, who signed it, when it was first
	// and last submitted (YYYY-MM-DD), its totals; zero when none.
	Version        int      `json:"version,omitempty"`
	By             string   `json:"by,omitempty"`
	FirstSubmitted string   `json:"first_submitted,omitempty"`
	Submitted      string   `json:"submitted,omitempty"`
	Total          int      `json:"total,omitempty"`
	OnTime         int      `json:"on_time,omitempty"`
	Rate           *float64 `json:"rate,omitempty"` // on-time rate 0..1; nil without a verdict
	// Reminders counts the urges sent about this report.
	Reminders int `json:"reminders"`
}

// ReportStatusList is the answer of GET /admin/reports?year=Y: the
// county's townships and their reports, late and missing first, and the
// county's own report when compiled.
type ReportStatusList struct {
	Year     int                 `json:"year"`
	Deadline string              `json:"deadline"` // YYYY-MM-DD, 5 January
	Today    string              `json:"today"`
	Offices  []ReportStatusInfo  `json:"offices"`
	County   *store.AnnualReport `json:"county,omitempty"`
}

// ReportRemind is the body of POST /admin/reports/remind: urge every
// township of the county that has not submitted its report of Year.
type ReportRemind struct {
	Year int    `json:"year"`
	Note string `json:"note"`
}

// ReportCompile is the body of POST /admin/reports/compile: the county's
// report of Year, compiled from its townships' reports (their current
// versions) and the county's statistics, signed by the server's device in
// the admin's name. Notable are commitments of the county's townships.
type ReportCompile struct {
	Year      int         `json:"year"`
	Narrative string      `json:"narrative"`
	Notable   []store.Ref `json:"notable,omitempty"`
}

// ReportCompiled is the answer of POST /admin/reports/compile.
type ReportCompiled struct {
	Report store.AnnualReport `json:"report"`
	Pos    uint64             `json:"pos"`
}

// MaxReportBody bounds the body of POST /admin/reports/compile: the
// narrative (protocol.MaxNarrativeBytes) and fifty notable commitments.
const MaxReportBody = 64 << 10

// Urge sends an urge (催办), signed by the county server's device with the
// admin as author.
func (c *Client) Urge(ctx context.Context, req UrgeRequest) (*UrgeInfo, error) {
	var out UrgeInfo
	if err := c.call(ctx, http.MethodPost, "/admin/urges", nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Urges lists the county's urges q selects, with their read receipts and
// follow-ups.
func (c *Client) Urges(ctx context.Context, q UrgeQuery) (*UrgeList, error) {
	v := url.Values{}
	if q.Office != "" {
		v.Set("office", string(q.Office))
	}
	if q.UnreadOnly {
		v.Set("unread", "1")
	}
	if q.Year != 0 {
		v.Set("year", strconv.Itoa(q.Year))
	}
	var out UrgeList
	if err := c.call(ctx, http.MethodGet, "/admin/urges", v, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Reports lists where each township of the county stands on its annual
// report of year.
func (c *Client) Reports(ctx context.Context, year int) (*ReportStatusList, error) {
	var out ReportStatusList
	if err := c.call(ctx, http.MethodGet, "/admin/reports", url.Values{"year": {strconv.Itoa(year)}}, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RemindReports urges every township that has not submitted its report of
// r.Year; it returns the urges sent.
func (c *Client) RemindReports(ctx context.Context, r ReportRemind) (*UrgeList, error) {
	var out UrgeList
	if err := c.call(ctx, http.MethodPost, "/admin/reports/remind", nil, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CompileReport compiles, signs and submits the county's annual report.
func (c *Client) CompileReport(ctx context.Context, r ReportCompile) (*ReportCompiled, error) {
	var out ReportCompiled
	if err := c.call(ctx, http.MethodPost, "/admin/reports/compile", nil, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Report fetches an office's annual report of year with every version.
func (c *Client) Report(ctx context.Context, o office.Code, year int) (*store.AnnualReport, error) {
	var out store.AnnualReport
	if err := c.call(ctx, http.MethodGet, "/admin/reports/"+url.PathEscape(string(o))+"/"+strconv.Itoa(year), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ExportReport fetches an office's annual report of year as a file:
// format "pdf" or "xlsx", headings in lang ("zh" or "en").
func (c *Client) ExportReport(ctx context.Context, o office.Code, year int, format, lang string) ([]byte, error) {
	var out []byte
	path := "/admin/reports/" + url.PathEscape(string(o)) + "/" + strconv.Itoa(year) + "/export"
	if err := c.call(ctx, http.MethodGet, path, url.Values{"format": {format}, "lang": {lang}}, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}
