package report

import (
	"cmp"
	"io"
	"slices"
	"strings"
	"time"

	"jiannuo/assets"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// The annual report (年度践诺情况报告, §六(三)): each office's leader signs
// and submits the year's report by 5 January — the statistics the annual
// export computes, a narrative and the year's notable commitments; the
// county compiles its report from its townships' and its own statistics;
// the municipal node compiles the city's from the counties'. Each exports
// to Excel and to PDF.

// AnnualDeadline returns the day the report of year is due: 5 January of
// the next year.
func AnnualDeadline(year int) calendar.Date { return calendar.NewDate(year+1, time.January, 5) }

// AnnualReminderFrom returns the day from which the app reminds the leader
// of the report of year: 15 December.
func AnnualReminderFrom(year int) calendar.Date { return calendar.NewDate(year, time.December, 15) }

// ReportYear returns the year whose report is the one to prepare on day
// today: the year before in January up to the deadline, else today's.
func ReportYear(today calendar.Date) int {
	if !today.After(AnnualDeadline(today.Year - 1)) {
		return today.Year - 1
	}
	return today.Year
}

// AnnualFigures returns the figures of office o's report of year (o and
// the offices inside it): the day they are reckoned on (AnnualAsOf) and,
// per category with at least one commitment in force during the year
// (AnnualScope), in the statistics' order, the counts the annual export
// shows.
func AnnualFigures(cs []store.Commitment, o office.Code, year int, today calendar.Date, cal *calendar.Calendar) (calendar.Date, []protocol.ReportFigure) {
	var mine []store.Commitment
	for i := range cs {
		if o.Contains(cs[i].Office) {
			mine = append(mine, cs[i])
		}
	}
	asOf := AnnualAsOf(year, today)
	s := Compute(AnnualScope(mine, year), asOf, cal)
	var out []protocol.ReportFigure
	for _, c := range s.ByCategory {
		if c.Total == 0 {
			continue
		}
		out = append(out, protocol.ReportFigure{Category: string(c.Category), Total: uint32(c.Total), OnTime: uint32(c.OnTime),
			Late: uint32(c.Late), Partly: uint32(c.Partly), Breached: uint32(c.Breached), Open: uint32(c.Open), Overdue: uint32(c.Overdue)})
	}
	return asOf, out
}

// FigureRate is the on-time rate of a figure row: on time ÷ (on time +
// late + partly + breached); ok is false with no verdict.
func FigureRate(f protocol.ReportFigure) (float64, bool) {
	return ratio(int(f.OnTime), int(f.OnTime+f.Late+f.Partly+f.Breached))
}

// ReportStatus is where one office stands on its report of a year.
type ReportStatus struct {
	Unit office.Unit
	// Report is the office's report, nil when none was submitted.
	Report *store.AnnualReport
	// Late: submitted first after the deadline, or not submitted and the
	// deadline has passed.
	Late bool
}

// ReportStatuses returns, for each office of units, its report of year
// among reports and whether it is late on day today, in the order of
// units.
func ReportStatuses(reports []store.AnnualReport, units []office.Unit, year int, today calendar.Date) []ReportStatus {
	deadline := AnnualDeadline(year)
	out := make([]ReportStatus, 0, len(units))
	for _, u := range units {
		st := ReportStatus{Unit: u}
		for i := range reports {
			if r := &reports[i]; r.Office == u.Code && r.Year == year && r.Version > 0 {
				st.Report = r
			}
		}
		if st.Report != nil {
			st.Late = st.Report.FirstSubmitted().After(deadline)
		} else {
			st.Late = today.After(deadline)
		}
		out = append(out, st)
	}
	return out
}

// NotableItem is a notable commitment as a report prints it.
type NotableItem struct {
	Ref         store.Ref
	Office      string // the office's name
	Title       string
	Responsible string
	Status      domain.Status
}

// AnnualDoc is an annual report as the exports print it: a submitted
// version (Version ≥ 1), or a preview of one not yet signed.
type AnnualDoc struct {
	Unit      office.Unit
	Year      int
	AsOf      calendar.Date
	Narrative string
	Figures   []protocol.ReportFigure
	Notable   []NotableItem
	// Version, SignedBy and Submitted say who signed which version when;
	// Version 0 is a preview.
	Version   int
	SignedBy  string
	Submitted calendar.Date
	// CompiledBy, when set, names who compiled the document without
	// signing it (the municipal platform's compilation of the city).
	CompiledBy string
	// Parts are the reports of the offices a county or city compiles,
	// with where each stands; empty for a township's report.
	Parts []ReportStatus
	// Printed is the day the document is made.
	Printed calendar.Date
}

// NotableItems looks the notable commitments refs up among cs, in the
// order given; a commitment not held is printed by its ID.
func NotableItems(refs []store.Ref, cs []store.Commitment, names func(office.Code) string) []NotableItem {
	byRef := make(map[store.Ref]*store.Commitment, len(cs))
	for i := range cs {
		byRef[cs[i].Ref] = &cs[i]
	}
	out := make([]NotableItem, 0, len(refs))
	for _, r := range refs {
		it := NotableItem{Ref: r, Office: names(r.Office), Title: r.ID.String()}
		if c := byRef[r]; c != nil {
			it.Title, it.Responsible, it.Status = c.Title, c.Responsible, c.Status
		}
		out = append(out, it)
	}
	return out
}

// NewAnnualDoc is the document of report r's current version, of the
// office u: notable commitments looked up in cs; parts, for a
// compilation, as ReportStatuses gives them.
func NewAnnualDoc(r *store.AnnualReport, u office.Unit, cs []store.Commitment, names func(office.Code) string, parts []ReportStatus, printed calendar.Date) AnnualDoc {
	asOf, _ := calendar.ParseDate(r.Current.AsOf)
	return AnnualDoc{Unit: u, Year: r.Year, AsOf: asOf, Narrative: r.Current.Narrative, Figures: r.Current.Figures,
		Notable: NotableItems(r.Current.Notable, cs, names), Version: r.Version, SignedBy: r.Current.Author,
		Submitted: r.Submitted(), Parts: parts, Printed: printed}
}

// Names returns a function naming offices from the Luoyang directory
// (their code when unknown), u by its own name.
func Names(u office.Unit) func(office.Code) string { return officeNamer(u) }

// title is the report's title.
func (d *AnnualDoc) title(tr *assets.Translator) string {
	return tr.T("report.annual_title", cmp.Or(d.Unit.Name, string(d.Unit.Code)), d.Year)
}

// signedLine says which version was signed by whom and when, or that this
// is a preview.
func (d *AnnualDoc) signedLine(tr *assets.Translator) string {
	if d.CompiledBy != "" {
		return tr.T("annual.compiled_line", d.CompiledBy, d.Printed.String())
	}
	if d.Version == 0 {
		return tr.T("annual.preview_line")
	}
	return tr.T("annual.signed_line", d.Version, d.SignedBy, d.Submitted.String())
}

// Paragraphs splits the narrative into its paragraphs, blank lines out.
func (d *AnnualDoc) Paragraphs() []string {
	var out []string
	for _, p := range strings.Split(d.Narrative, "\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Totals is the figures' totals row.
func (d *AnnualDoc) Totals() protocol.ReportFigure {
	r := protocol.AnnualReport{Figures: d.Figures}
	return r.Totals()
}

func categoryName(c string, tr *assets.Translator) string {
	if domain.Category(c).Valid() {
		return tr.T("category." + c)
	}
	return c
}

// figuresTable is the statistics sheet: a row per category and the totals.
func (d *AnnualDoc) figuresTable(tr *assets.Translator) table {
	rate := func(f protocol.ReportFigure) any {
		if r, ok := FigureRate(f); ok {
			return r
		}
		return tr.T("report.rate_none")
	}
	line := func(label string, f protocol.ReportFigure) []any {
		return []any{label, int(f.Total), int(f.OnTime), int(f.Late), int(f.Partly), int(f.Breached), int(f.Open), int(f.Overdue), rate(f)}
	}
	return table{
		sheet:    tr.T("annual.sheet_figures"),
		preamble: []string{d.title(tr), tr.T("report.annual_asof", d.AsOf.String()), d.signedLine(tr)},
		cols:     figureColumns(tr),
		rows: func(yield func([]any) bool) {
			for _, f := range d.Figures {
				if !yield(line(categoryName(f.Category, tr), f)) {
					return
				}
			}
		},
		footer: [][]any{line(tr.T("report.total"), d.Totals())},
		notes:  []string{tr.T("report.annual_note")},
	}
}

// narrativeTable is the narrative sheet: a paragraph a row.
func (d *AnnualDoc) narrativeTable(tr *assets.Translator) table {
	paras := d.Paragraphs()
	return table{
		sheet:    tr.T("annual.sheet_narrative"),
		preamble: []string{d.title(tr)},
		cols:     []column{{tr.T("annual.narrative"), 110, colWrap}},
		rows: func(yield func([]any) bool) {
			for _, p := range paras {
				if !yield([]any{p}) {
					return
				}
			}
		},
	}
}

// notableTable lists the notable commitments.
func (d *AnnualDoc) notableTable(tr *assets.Translator) table {
	return table{
		sheet:    tr.T("annual.sheet_notable"),
		preamble: []string{d.title(tr)},
		cols: []column{
			{tr.T("report.col_no"), 6, colInt},
			{tr.T("report.col_office"), 20, colText},
			{tr.T("report.col_title"), 50, colWrap},
			{tr.T("report.col_responsible"), 14, colText},
			{tr.T("report.col_status"), 14, colText},
		},
		rows: func(yield func([]any) bool) {
			for i, n := range d.Notable {
				status := ""
				if n.Status != "" {
					status = tr.T("status." + string(n.Status))
				}
				if !yield([]any{i + 1, n.Office, n.Title, n.Responsible, status}) {
					return
				}
			}
		},
	}
}

// Key is the translation key of where the office stands on its report.
func (p ReportStatus) Key() string {
	switch {
	case p.Report == nil && p.Late:
		return "annual.status_missing"
	case p.Report == nil:
		return "annual.status_pending"
	case p.Late:
		return "annual.status_late"
	}
	return "annual.status_on_time"
}

// partsTable lists the offices' reports a compilation is made from.
func (d *AnnualDoc) partsTable(tr *assets.Translator) table {
	return table{
		sheet:    tr.T("annual.sheet_parts"),
		preamble: []string{d.title(tr), tr.T("annual.deadline_line", AnnualDeadline(d.Year).String())},
		cols: []column{
			{tr.T("report.col_office"), 22, colText},
			{tr.T("annual.col_status"), 14, colText},
			{tr.T("annual.col_first"), 14, colDate},
			{tr.T("annual.col_version"), 8, colInt},
			{tr.T("report.col_count"), 12, colInt},
			{tr.T("report.col_on_time"), 12, colInt},
			{tr.T("report.col_rate"), 12, colPercent},
		},
		rows: func(yield func([]any) bool) {
			for _, p := range d.Parts {
				row := []any{cmp.Or(p.Unit.Name, string(p.Unit.Code)), tr.T(p.Key()), nil, nil, nil, nil, nil}
				if r := p.Report; r != nil {
					rep := protocol.AnnualReport{Figures: r.Current.Figures}
					t := rep.Totals()
					row[2], row[3], row[4], row[5] = r.FirstSubmitted(), r.Version, int(t.Total), int(t.OnTime)
					if v, ok := FigureRate(t); ok {
						row[6] = v
					} else {
						row[6] = tr.T("report.rate_none")
					}
				}
				if !yield(row) {
					return
				}
			}
		},
	}
}

// tables are the document's sheets, in order.
func (d *AnnualDoc) tables(tr *assets.Translator) []table {
	out := []table{d.figuresTable(tr), d.narrativeTable(tr), d.notableTable(tr)}
	if len(d.Parts) > 0 {
		out = append(out, d.partsTable(tr))
	}
	return out
}

// WriteAnnualReportXLSX writes the annual report d as an .xlsx workbook:
// the figures by category with the totals, the narrative, the notable
// commitments and, for a county's or city's compilation, where each
// office's report stands. Headers and names come from tr.
func WriteAnnualReportXLSX(w io.Writer, d AnnualDoc, tr *assets.Translator) error {
	return writeXLSX(w, d.tables(tr)...)
}

// SortedStatuses orders statuses as the county reads them: late and
// missing first, then the others, each by office code.
func SortedStatuses(st []ReportStatus) []ReportStatus {
	out := slices.Clone(st)
	slices.SortStableFunc(out, func(a, b ReportStatus) int {
		rank := func(s ReportStatus) int {
			switch {
			case s.Report == nil && s.Late:
				return 0
			case s.Report == nil:
				return 1
			case s.Late:
				return 2
			}
			return 3
		}
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a.Unit.Code, b.Unit.Code))
	})
	return out
}
