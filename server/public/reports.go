package public

import (
	"bytes"
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/report"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// The annual reports (年度践诺情况报告, §六(三)) on the public page: the
// reports the offices signed and submitted (townships') and the counties
// compiled, each with its figures, narrative, notable commitments (those
// shown on the page) and versions; the city's compiled by this node from
// the counties' reports and the commitments it holds. Never shown: who
// signed a report (an account name), device IDs, operation IDs.
//
//	/r                          the reports, by year
//	/r/{office}/{year}          one report (the city's code: the city's compilation)
//	/r/{office}/{year}/report.pdf, report.xlsx   the same as a file
//	/api/v1/reports[?year=Y][&office=CODE]       the reports in the JSON feed

// SchemaReports names the reports endpoint's answer.
const SchemaReports = "jiannuo.public.reports/v1"

// Report is an annual report in the JSON feed.
type Report struct {
	Office         string              `json:"office"`
	OfficeName     string              `json:"office_name"`
	Level          string              `json:"level"` // township, county or city
	Year           int                 `json:"year"`
	URL            string              `json:"url"`
	Version        int                 `json:"version"` // 0 for the city's compilation
	FirstSubmitted string              `json:"first_submitted"`
	Submitted      string              `json:"submitted"`
	Late           bool                `json:"late"` // first submitted after 5 January
	AsOf           string              `json:"as_of"`
	Narrative      string              `json:"narrative"`
	Figures        []ReportFigure      `json:"figures"`
	Totals         ReportFigure        `json:"totals"`
	OnTimeRate     *float64            `json:"on_time_rate"`
	Notable        []NotableCommitment `json:"notable"`
	Sources        []ReportSource      `json:"sources"`  // the reports a county's or the city's compiles
	Versions       []ReportVersion     `json:"versions"` // oldest first
	Compiled       bool                `json:"compiled"` // the city's, compiled by the node, not signed
}

// ReportFigure is one category's row of a report's figures.
type ReportFigure struct {
	Category     string `json:"category"`
	CategoryName string `json:"category_name"`
	Total        int    `json:"total"`
	OnTime       int    `json:"on_time"`
	Late         int    `json:"late"`
	Partly       int    `json:"partly"`
	Breached     int    `json:"breached"`
	Open         int    `json:"open"`
	Overdue      int    `json:"overdue"`
}

// NotableCommitment is a notable commitment a report lists, while shown.
type NotableCommitment struct {
	Office string `json:"office"`
	ID     string `json:"id"`
	Title  string `json:"title"`
	URL    string `json:"url"`
}

// ReportSource is a report a compilation is made from.
type ReportSource struct {
	Office     string `json:"office"`
	OfficeName string `json:"office_name"`
	URL        string `json:"url"`
}

// ReportVersion is one submitted version: its number and day.
type ReportVersion struct {
	Version   int    `json:"version"`
	Submitted string `json:"submitted"`
}

// ReportsPage is the answer of GET /api/v1/reports: every report, newest
// year first, then by office.
type ReportsPage = ListPage[Report]

// pubReport is a report as the public sees it, signed or compiled.
type pubReport struct {
	rep      store.AnnualReport // zero Version: the city's compilation
	unit     office.Unit
	notable  []store.Commitment // shown ones only
	sources  []store.AnnualReport
	compiled *report.AnnualDoc // the city's
}

func (p *pubReport) late() bool {
	return p.rep.Version > 0 && p.rep.FirstSubmitted().After(report.AnnualDeadline(p.rep.Year))
}

func reportHref(o office.Code, year int) string { return "r/" + string(o) + "/" + strconv.Itoa(year) }

// publicReports returns the submitted reports f selects, each with its
// shown notable commitments and its sources.
func (h *handler) publicReports(f store.ReportFilter) ([]*pubReport, error) {
	reps, err := h.st.AnnualReports(f)
	if err != nil {
		return nil, err
	}
	snap, err := h.idx.get()
	if err != nil {
		return nil, err
	}
	var all []store.AnnualReport
	if len(reps) > 0 {
		if all, err = h.st.AnnualReports(store.ReportFilter{}); err != nil {
			return nil, err
		}
	}
	var out []*pubReport
	for _, r := range reps {
		if r.Version == 0 {
			continue
		}
		p := &pubReport{rep: r, unit: h.unit(r.Office)}
		for _, n := range r.Current.Notable {
			if it, ok := snap.refs[n]; ok {
				p.notable = append(p.notable, it.c)
			}
		}
		for _, s := range all {
			if s.Year == r.Year && slices.ContainsFunc(s.History, func(v store.ReportVersion) bool { return slices.Contains(r.Current.Sources, v.Op) }) {
				p.sources = append(p.sources, s)
			}
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *pubReport) int {
		return cmp.Or(cmp.Compare(b.rep.Year, a.rep.Year), cmp.Compare(a.rep.Office, b.rep.Office))
	})
	return out, nil
}

// cityReport compiles the city's report of year from the counties'
// reports and the commitments the node holds; nil when no office of the
// city has reported that year.
func (h *handler) cityReport(year int) (*pubReport, error) {
	city := h.city()
	reps, err := h.st.AnnualReports(store.ReportFilter{Office: city.Code, Year: year})
	if err != nil || !slices.ContainsFunc(reps, func(r store.AnnualReport) bool { return r.Version > 0 }) {
		return nil, err
	}
	cs, err := h.st.AllCommitments()
	if err != nil {
		return nil, err
	}
	today := h.today()
	asOf, figs := report.AnnualFigures(cs, city.Code, year, today, h.cal)
	seen := map[office.Code]bool{}
	for _, c := range cs {
		if city.Code.Contains(c.Office) {
			seen[c.Office.County()] = true
		}
	}
	var counties []store.AnnualReport
	for _, r := range reps {
		seen[r.Office.County()] = true
		if r.Office.Level() == office.County && r.Version > 0 {
			counties = append(counties, r)
		}
	}
	var units []office.Unit
	for _, u := range h.dir.Counties() {
		if seen[u.Code] {
			units = append(units, u)
		}
	}
	parts := report.ReportStatuses(counties, units, year, today)
	done := 0
	for _, p := range parts {
		if p.Report != nil {
			done++
		}
	}
	doc := report.AnnualDoc{Unit: city, Year: year, AsOf: asOf, Figures: figs, Parts: parts, Printed: today,
		Narrative:  h.tr.T("annual.city_narrative", asOf.String(), len(units), done),
		CompiledBy: h.tr.T("annual.city_compiler")}
	p := &pubReport{rep: store.AnnualReport{Office: city.Code, Year: year}, unit: city, compiled: &doc, sources: counties}
	p.rep.Current.AsOf, p.rep.Current.Narrative, p.rep.Current.Figures = asOf.String(), doc.Narrative, figs
	return p, nil
}

// city is the city whose page this is: the directory's city (its root,
// in a directory of one province with one city, is the province).
func (h *handler) city() office.Unit {
	for _, u := range h.dir.Units() {
		if u.Level() == office.City {
			return u
		}
	}
	return h.dir.Root()
}

// doc is the report as the exports print it.
func (h *handler) doc(p *pubReport) report.AnnualDoc {
	if p.compiled != nil {
		return *p.compiled
	}
	names := func(o office.Code) string { return h.unit(o).Name }
	d := report.NewAnnualDoc(&p.rep, p.unit, p.notable, names, nil, h.today())
	var refs []store.Ref
	for _, c := range p.notable {
		refs = append(refs, c.Ref)
	}
	d.Notable = report.NotableItems(refs, p.notable, names) // the shown ones only
	d.SignedBy = p.unit.Name                                // the office signed it; an account name is never shown
	return d
}

func levelName(o office.Code) string {
	switch o.Level() {
	case office.Township:
		return "township"
	case office.County:
		return "county"
	}
	return "city"
}

func (h *handler) apiFigure(f protocol.ReportFigure) ReportFigure {
	name := f.Category
	if domain.Category(f.Category).Valid() {
		name = h.tr.T("category." + f.Category)
	}
	return ReportFigure{Category: f.Category, CategoryName: name, Total: int(f.Total), OnTime: int(f.OnTime), Late: int(f.Late),
		Partly: int(f.Partly), Breached: int(f.Breached), Open: int(f.Open), Overdue: int(f.Overdue)}
}

func (h *handler) apiReport(p *pubReport, base string) Report {
	r := &p.rep
	out := Report{Office: string(r.Office), OfficeName: p.unit.Name, Level: levelName(r.Office), Year: r.Year,
		URL: base + "/" + reportHref(r.Office, r.Year), Version: r.Version, AsOf: r.Current.AsOf, Narrative: r.Current.Narrative,
		Figures: []ReportFigure{}, Notable: []NotableCommitment{}, Sources: []ReportSource{}, Versions: []ReportVersion{},
		Compiled: p.compiled != nil, Late: p.late()}
	if r.Version > 0 {
		out.FirstSubmitted, out.Submitted = r.FirstSubmitted().String(), r.Submitted().String()
	}
	for _, f := range r.Current.Figures {
		out.Figures = append(out.Figures, h.apiFigure(f))
	}
	t := (&protocol.AnnualReport{Figures: r.Current.Figures}).Totals()
	out.Totals = h.apiFigure(t)
	out.Totals.Category, out.Totals.CategoryName = "", h.tr.T("report.total")
	if v, ok := report.FigureRate(t); ok {
		out.OnTimeRate = &v
	}
	for _, c := range p.notable {
		out.Notable = append(out.Notable, NotableCommitment{Office: string(c.Office), ID: c.ID.String(), Title: c.Title, URL: base + "/" + detailHref(c.Ref)})
	}
	for _, s := range p.sources {
		out.Sources = append(out.Sources, ReportSource{Office: string(s.Office), OfficeName: h.unit(s.Office).Name, URL: base + "/" + reportHref(s.Office, s.Year)})
	}
	for i, v := range r.History {
		out.Versions = append(out.Versions, ReportVersion{Version: i + 1, Submitted: domain.ChinaDate(v.HLC.Wall().UnixMilli()).String()})
	}
	return out
}

// reportYearParam reads ?year=, zero when absent; ok false when malformed.
func reportYearParam(r *http.Request) (int, bool) {
	v := strings.TrimSpace(r.URL.Query().Get("year"))
	if v == "" {
		return 0, true
	}
	y, err := strconv.Atoi(v)
	return y, err == nil && y >= protocol.MinReportYear && y <= protocol.MaxReportYear
}

// serveAPIReports is GET /api/v1/reports[?year=Y][&office=CODE]: every
// submitted report (an office's code: it and the offices inside it), and
// the city's compilation of each year, newest year first. The list is
// small (one report per office and year): one page.
func (h *handler) serveAPIReports(w http.ResponseWriter, r *http.Request) {
	o, _, ok := h.listParams(w, r)
	if !ok {
		return
	}
	year, ok := reportYearParam(r)
	if !ok {
		h.apiFail(w, http.StatusBadRequest, "bad_request", "year must be a year between 2000 and 2100")
		return
	}
	ps, err := h.publicReports(store.ReportFilter{Office: o, Year: year})
	if err != nil {
		h.apiInternal(w, r, err)
		return
	}
	if o == "" || o == h.city().Code {
		if ps, err = h.withCity(ps); err != nil {
			h.apiInternal(w, r, err)
			return
		}
	}
	base := basePath(r)
	out := ReportsPage{Schema: SchemaReports, GeneratedAt: h.now().In(cst).Format(time.RFC3339), Total: len(ps), Items: []Report{}}
	for _, p := range ps {
		out.Items = append(out.Items, h.apiReport(p, base))
	}
	h.writeJSON(w, http.StatusOK, out)
}

// withCity adds the city's compilation before the reports of each year.
func (h *handler) withCity(ps []*pubReport) ([]*pubReport, error) {
	var out []*pubReport
	for i, p := range ps {
		if i == 0 || ps[i-1].rep.Year != p.rep.Year {
			c, err := h.cityReport(p.rep.Year)
			if err != nil {
				return nil, err
			}
			if c != nil {
				out = append(out, c)
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// reportsView is the reports page: a group a year.
type reportsView struct {
	Years []reportYearView
}

type reportYearView struct {
	Year     int
	Deadline string
	Rows     []reportRow
}

type reportRow struct {
	Href, Place, Level     string
	Version                int
	Submitted, Total, Rate string
	Late, Compiled         bool
}

func (h *handler) reportRow(p *pubReport, home string) reportRow {
	r := &p.rep
	t := (&protocol.AnnualReport{Figures: r.Current.Figures}).Totals()
	row := reportRow{Href: home + reportHref(r.Office, r.Year), Place: h.place(r.Office), Level: levelName(r.Office), Version: r.Version,
		Total: strconv.Itoa(int(t.Total)), Rate: h.tr.T("report.rate_none"), Late: p.late(), Compiled: p.compiled != nil}
	if r.Office.Level() < office.County {
		row.Place = p.unit.Name
	}
	if v, ok := report.FigureRate(t); ok {
		row.Rate = report.FormatPercent(v * 100)
	}
	if r.Version > 0 {
		row.Submitted = r.FirstSubmitted().String()
	}
	return row
}

// serveReports is GET /r: the reports, newest year first.
func (h *handler) serveReports(w http.ResponseWriter, r *http.Request) {
	if h.notModified(w, r) {
		return
	}
	ps, err := h.publicReports(store.ReportFilter{})
	if err == nil {
		ps, err = h.withCity(ps)
	}
	if err != nil {
		h.internalError(w, r, err)
		return
	}
	v := h.newView(r, h.tr.T("public.reports.heading"))
	v.Crumbs = []crumb{{Name: h.tr.T("public.crumbs.home"), Href: v.Home}, {Name: h.tr.T("public.reports.heading")}}
	rv := &reportsView{}
	for _, p := range ps {
		if n := len(rv.Years); n == 0 || rv.Years[n-1].Year != p.rep.Year {
			rv.Years = append(rv.Years, reportYearView{Year: p.rep.Year, Deadline: report.AnnualDeadline(p.rep.Year).String()})
		}
		y := &rv.Years[len(rv.Years)-1]
		y.Rows = append(y.Rows, h.reportRow(p, v.Home))
	}
	v.Reports = rv
	h.render(w, http.StatusOK, "reports", v)
}

// reportView is one report's page.
type reportView struct {
	Title, Place, Intro         string
	Version                     int
	FirstSubmitted, Submitted   string
	AsOf                        string
	Late, Compiled              bool
	Paragraphs                  []string
	Figures                     []ReportFigure
	Totals                      ReportFigure
	Rate                        string
	Notable                     []reportLink
	Sources                     []reportLink
	Versions                    []ReportVersion
	Parts                       []partRow
	PDFHref, XLSXHref, ListHref string
}

type reportLink struct{ Title, Href string }

type partRow struct{ Place, Status, Submitted, Href string }

// loadReport finds the report of /r/{office}/{year}: a submitted one, or
// the city's compilation; nil when there is none.
func (h *handler) loadReport(r *http.Request) (*pubReport, error) {
	o := office.Code(r.PathValue("office"))
	year, err := strconv.Atoi(r.PathValue("year"))
	if !o.Valid() || err != nil || year < protocol.MinReportYear || year > protocol.MaxReportYear {
		return nil, nil
	}
	if o == h.city().Code {
		return h.cityReport(year)
	}
	ps, err := h.publicReports(store.ReportFilter{Office: o, Year: year})
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if p.rep.Office == o {
			return p, nil
		}
	}
	return nil, nil
}

// reportOrAnswer returns the report of /r/{office}/{year}, or answers
// the request itself (not modified, not found, an error) and returns nil.
func (h *handler) reportOrAnswer(w http.ResponseWriter, r *http.Request) *pubReport {
	if h.notModified(w, r) {
		return nil
	}
	p, err := h.loadReport(r)
	if err != nil {
		h.internalError(w, r, err)
		return nil
	}
	if p == nil {
		h.serveNotFound(w, r)
	}
	return p
}

// serveReport is GET /r/{office}/{year}.
func (h *handler) serveReport(w http.ResponseWriter, r *http.Request) {
	p := h.reportOrAnswer(w, r)
	if p == nil {
		return
	}
	d := h.doc(p)
	title := h.tr.T("report.annual_title", p.unit.Name, p.rep.Year)
	v := h.newView(r, title)
	v.Crumbs = []crumb{{Name: h.tr.T("public.crumbs.home"), Href: v.Home}, {Name: h.tr.T("public.reports.heading"), Href: v.Home + "r"},
		{Name: title}}
	a := h.apiReport(p, strings.TrimSuffix(v.Home, "/"))
	href := v.Home + reportHref(p.rep.Office, p.rep.Year)
	rv := &reportView{Title: title, Place: h.place(p.rep.Office), Version: p.rep.Version, FirstSubmitted: a.FirstSubmitted,
		Submitted: a.Submitted, AsOf: a.AsOf, Late: a.Late, Compiled: a.Compiled, Figures: a.Figures, Totals: a.Totals,
		Rate: h.tr.T("report.rate_none"), Versions: a.Versions, PDFHref: href + "/report.pdf", XLSXHref: href + "/report.xlsx",
		ListHref: v.Home + "r"}
	if p.rep.Office.Level() < office.County {
		rv.Place = p.unit.Name
	}
	if a.OnTimeRate != nil {
		rv.Rate = report.FormatPercent(*a.OnTimeRate * 100)
	}
	for _, para := range strings.Split(a.Narrative, "\n") {
		if para = strings.TrimSpace(para); para != "" {
			rv.Paragraphs = append(rv.Paragraphs, para)
		}
	}
	for _, c := range p.notable {
		rv.Notable = append(rv.Notable, reportLink{Title: c.Title, Href: v.Home + detailHref(c.Ref)})
	}
	for _, s := range p.sources {
		rv.Sources = append(rv.Sources, reportLink{Title: h.place(s.Office), Href: v.Home + reportHref(s.Office, s.Year)})
	}
	for _, part := range d.Parts {
		row := partRow{Place: part.Unit.Name, Status: h.tr.T(part.Key())}
		if part.Report != nil {
			row.Submitted, row.Href = part.Report.FirstSubmitted().String(), v.Home+reportHref(part.Unit.Code, p.rep.Year)
		}
		rv.Parts = append(rv.Parts, row)
	}
	v.Report = rv
	h.render(w, http.StatusOK, "report", v)
}

// serveReportFile is GET /r/{office}/{year}/{file}: report.pdf or
// report.xlsx.
func (h *handler) serveReportFile(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	if file != "report.pdf" && file != "report.xlsx" {
		h.serveNotFound(w, r)
		return
	}
	p := h.reportOrAnswer(w, r)
	if p == nil {
		return
	}
	var buf bytes.Buffer
	var err error
	ctype := "application/pdf"
	if file == "report.xlsx" {
		ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
		err = report.WriteAnnualReportXLSX(&buf, h.doc(p), h.tr)
	} else {
		_, err = report.WriteAnnualReportPDF(&buf, h.doc(p), h.tr)
	}
	if err != nil {
		h.internalError(w, r, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", ctype)
	hd.Set("Cache-Control", "no-cache")
	hd.Set("Content-Disposition", "attachment; filename=\""+string(p.rep.Office)+"-"+strconv.Itoa(p.rep.Year)+file[len("report"):]+"\"")
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
