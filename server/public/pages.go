package public

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

//go:embed templates/*.html
var templateFS embed.FS

type nonceKey struct{}

func withNonce(ctx context.Context, n string) context.Context {
	return context.WithValue(ctx, nonceKey{}, n)
}

func nonceOf(ctx context.Context) string {
	n, _ := ctx.Value(nonceKey{}).(string)
	return n
}

// parseTemplates parses the page templates with the translator's T as "t".
func (h *handler) parseTemplates() *template.Template {
	return template.Must(template.New("pages").Funcs(template.FuncMap{
		"t": func(key string, args ...any) string { return h.tr.T(key, args...) },
	}).ParseFS(templateFS, "templates/*.html"))
}

// view is what every page template gets.
type view struct {
	Nonce     string
	PageTitle string
	Home      string // relative link to the list page
	Crumbs    []crumb
	Generated string
	List      *listView
	Detail    *detailView
	Err       *errView
	Form      *formView
	Confirm   *confirmView
	Track     *trackView
	Record    *recordView
	Records   *recordListView
	Reports   *reportsView // reports.go
	Report    *reportView
}

type crumb struct{ Name, Href string }

type errView struct{ Heading, Message string }

type opt struct {
	Value, Label string
	Selected     bool
}

type optGroup struct {
	Label string
	Opts  []opt
}

type listView struct {
	Filter   filter
	Filtered bool
	// The <option> elements of the four filter lists, rendered by
	// optionsHTML (some 200 townships: too many for the template engine on
	// every page).
	Counties, Townships, Categories, Statuses template.HTML
	Total                                     int
	Stats                                     []stat
	Rows                                      []row
	Cursor                                    bool // this is not the first page
	FirstHref                                 string
	NextHref                                  string
}

type row struct {
	ID, Href, Title         string
	Status                  domain.Status
	StatusName, Category    string
	Place, Responsible      string
	Deadline, Due, DueClass string
	Progress                int
	HasEntries              bool
	Updated, UpdatedISO     string
	Reason, ReasonLabel     string
}

// stat is one status's count among the matching commitments, linking to
// the list narrowed to it.
type stat struct {
	Status     domain.Status
	Name, Href string
	Count      int
	Current    bool
}

type detailView struct {
	Title, Text, LegalBasis, Responsible string
	Status                               domain.Status
	StatusName, Category, Place          string
	Version                              int
	StartDate, Deadline, Due, DueClass   string
	Progress                             int
	Published, Updated                   string
	Reason, ReasonLabel                  string
	Entries                              []entryView
	Evidence                             []evidenceView
	Amendments                           []amendView
	History                              []historyView

	// Supervision: the cases about it, its published dishonesty records,
	// the link to the complaint form (empty when this node takes no
	// filings) and to its office's published records.
	Cases         []caseRow
	Records       []recordRow
	FileHref      string
	RecordsHref   string
	OfficeRecords int
}

type entryView struct {
	Date     string
	Progress int
	Note     string
	Recorded string
	Evidence []string // file names
}

type evidenceView struct {
	Name, Size, Hash, Href string
}

type amendView struct {
	Heading, Time, TimeISO, Reason string
	Changes                        []changeView
}

type changeView struct{ Field, From, To string }

type historyView struct {
	Status                    domain.Status
	StatusName, Time, TimeISO string
	Reason                    string
}

// home returns the relative link from the request's path to the list page,
// so the pages work under whatever prefix the node mounts them.
func home(path string) string {
	depth := strings.Count(path, "/") - 1
	if depth <= 0 {
		return "./"
	}
	return strings.Repeat("../", depth)
}

func (h *handler) newView(r *http.Request, title string) view {
	return view{Nonce: nonceOf(r.Context()), PageTitle: title, Home: home(r.URL.Path),
		Generated: h.now().In(cst).Format("2006-01-02 15:04")}
}

// render executes a page template into a buffer first, so a failure
// becomes a clean error page instead of half a page.
func (h *handler) render(w http.ResponseWriter, status int, name string, v view) {
	var buf bytes.Buffer
	if err := h.pages.ExecuteTemplate(&buf, name, v); err != nil {
		h.log.Error("rendering page", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	if hd.Get("Cache-Control") == "" { // pages showing a tracking code set no-store
		hd.Set("Cache-Control", "no-cache")
	}
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	if status != http.StatusOK {
		hd.Del("ETag") // an error page is not the representation the ETag names
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (h *handler) pageError(w http.ResponseWriter, r *http.Request, status int, heading, msg string) {
	v := h.newView(r, heading)
	v.Crumbs = []crumb{{Name: h.tr.T("public.crumbs.home"), Href: v.Home}, {Name: heading}}
	v.Err = &errView{Heading: heading, Message: msg}
	h.render(w, status, "error", v)
}

func (h *handler) internalError(w http.ResponseWriter, r *http.Request, err error) {
	h.log.Error("public page", "path", r.URL.Path, "err", err)
	h.pageError(w, r, http.StatusInternalServerError, h.tr.T("public.error.internal_heading"), h.tr.T("public.error.internal"))
}

func (h *handler) serveNotFound(w http.ResponseWriter, r *http.Request) {
	h.pageError(w, r, http.StatusNotFound, h.tr.T("public.error.not_found_heading"), h.tr.T("public.error.not_found"))
}

// serveList is GET /: the filtered list, newest update first.
func (h *handler) serveList(w http.ResponseWriter, r *http.Request) {
	if h.notModified(w, r) {
		return
	}
	q := r.URL.Query()
	f, err := parseFilter(q)
	if err != nil {
		h.pageError(w, r, http.StatusBadRequest, h.tr.T("public.error.bad_request_heading"), h.tr.T("public.error.bad_filter"))
		return
	}
	var after *item
	if c := q.Get("cursor"); c != "" {
		if after, err = parseListCursor(c); err != nil {
			h.pageError(w, r, http.StatusBadRequest, h.tr.T("public.error.bad_request_heading"), h.tr.T("public.error.bad_cursor"))
			return
		}
	}
	snap, err := h.idx.get()
	if err != nil {
		h.internalError(w, r, err)
		return
	}
	p := walk(snap, snap.byUpdated, cmpUpdated, after, &f, h.pageSize)

	lv := &listView{Filter: f, Filtered: !f.empty(), Total: p.total, Cursor: after != nil}
	h.fillOptions(lv, &f)
	for _, it := range p.items {
		rw, err := h.row(it)
		if err != nil {
			h.internalError(w, r, err)
			return
		}
		lv.Rows = append(lv.Rows, rw)
	}
	for i, s := range domain.Statuses() {
		if n := p.byStatus[i]; n > 0 {
			q := filterQuery(&f)
			q.Set("status", string(s))
			lv.Stats = append(lv.Stats, stat{Status: s, Name: h.tr.T("status." + string(s)), Href: "?" + q.Encode(),
				Count: n, Current: f.Status == s})
		}
	}
	base := filterQuery(&f)
	lv.FirstHref = "?" + base.Encode()
	if p.more {
		next := filterQuery(&f)
		next.Set("cursor", listCursor(p.items[len(p.items)-1]))
		lv.NextHref = "?" + next.Encode()
	}
	v := h.newView(r, h.tr.T("public.list.heading"))
	v.Crumbs = []crumb{{Name: h.tr.T("public.crumbs.home")}}
	v.List = lv
	h.render(w, http.StatusOK, "list", v)
}

// filterQuery is the filter as URL parameters, for the pager's links.
func filterQuery(f *filter) url.Values {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("q", f.Query)
	set("county", string(f.County))
	set("township", string(f.Township))
	set("category", string(f.Category))
	set("status", string(f.Status))
	return v
}

// fillOptions lists the choices of the filter form. Without script the
// township list cannot follow the county list as it changes, so it offers
// the chosen county's townships, or every county's grouped by county.
func (h *handler) fillOptions(lv *listView, f *filter) {
	var counties []opt
	var townships []optGroup
	for _, u := range h.dir.Counties() {
		counties = append(counties, opt{Value: string(u.Code), Label: u.Name, Selected: u.Code == f.County})
		if f.County != "" && u.Code != f.County {
			continue
		}
		g := optGroup{Label: u.Name}
		for _, t := range h.dir.Townships(u.Code) {
			g.Opts = append(g.Opts, opt{Value: string(t.Code), Label: t.Name, Selected: t.Code == f.Township})
		}
		townships = append(townships, g)
	}
	cats := domain.Categories()
	groups := []optGroup{{Label: h.tr.T("public.filter.category_services")}, {Label: h.tr.T("public.filter.category_other")}}
	for i, c := range cats {
		g := &groups[0]
		if i >= len(domain.PublicServiceCategories()) {
			g = &groups[1]
		}
		g.Opts = append(g.Opts, opt{Value: string(c), Label: h.tr.T("category." + string(c)), Selected: c == f.Category})
	}
	var statuses []opt
	for _, s := range domain.Statuses() {
		if s == domain.StatusDraft {
			continue
		}
		statuses = append(statuses, opt{Value: string(s), Label: h.tr.T("status." + string(s)), Selected: s == f.Status})
	}
	lv.Counties = optionsHTML(optGroup{Opts: counties})
	lv.Townships = optionsHTML(townships...)
	lv.Categories = optionsHTML(groups...)
	lv.Statuses = optionsHTML(optGroup{Opts: statuses})
}

// optionsHTML renders <option> elements, in an <optgroup> where the group
// has a label. Every value and label is escaped (they come from the
// directory and the translations, but escape anyway).
func optionsHTML(groups ...optGroup) template.HTML {
	var b strings.Builder
	esc := template.HTMLEscapeString
	for _, g := range groups {
		if g.Label != "" {
			b.WriteString(`<optgroup label="` + esc(g.Label) + `">`)
		}
		for _, o := range g.Opts {
			b.WriteString(`<option value="` + esc(o.Value) + `"`)
			if o.Selected {
				b.WriteString(" selected")
			}
			b.WriteString(">" + esc(o.Label) + "</option>\n")
		}
		if g.Label != "" {
			b.WriteString("</optgroup>\n")
		}
	}
	return template.HTML(b.String()) // every part escaped above
}

// place is "栾川县 · 赤土店镇" (or just the county for a county's own
// commitment).
func (h *handler) place(o office.Code) string {
	u := h.unit(o)
	if o.Level() == office.Township {
		return h.unit(o.County()).Name + " · " + u.Name
	}
	return u.Name
}

// reasonLabel names the reason shown for a status that has one.
func (h *handler) reasonLabel(s domain.Status) string {
	switch s {
	case domain.StatusWithdrawn, domain.StatusBreached, domain.StatusPartlyFulfilled:
		return h.tr.T("public.reason." + string(s))
	}
	return ""
}

// statusReason returns the reason given with the commitment's current
// status: the latest status version with that value.
func (h *handler) statusReason(c *store.Commitment) (string, error) {
	vs, err := h.st.FieldHistory(c.Ref, domain.FieldStatus)
	if err != nil {
		return "", err
	}
	reason := ""
	for _, v := range vs {
		if v.Value == string(c.Status) {
			reason = v.Reason
		}
	}
	return reason, nil
}

func (h *handler) row(it *item) (row, error) {
	c := &it.c
	dl, due := h.resolveDeadline(c)
	rw := row{ID: c.ID.String(), Href: "c/" + string(c.Office) + "/" + c.ID.String(), Title: c.Title,
		Status: c.Status, StatusName: h.tr.T("status." + string(c.Status)), Category: h.tr.T("category." + string(c.Category)),
		Place: h.place(c.Office), Responsible: c.Responsible, Deadline: h.deadlineText(dl), Progress: c.Progress,
		HasEntries: c.Entries > 0}
	rw.Due, rw.DueClass = h.dueText(due)
	t := c.UpdatedAt.Wall().In(cst)
	rw.Updated, rw.UpdatedISO = t.Format("2006-01-02"), t.Format(time.RFC3339)
	if rw.ReasonLabel = h.reasonLabel(c.Status); rw.ReasonLabel != "" {
		var err error
		if rw.Reason, err = h.statusReason(c); err != nil {
			return rw, err
		}
	}
	return rw, nil
}

func (h *handler) deadlineText(d deadline) string {
	switch d.Kind {
	case "date":
		return d.Date.String()
	case "workdays":
		if d.Date.IsZero() {
			return h.tr.T("public.deadline.workdays_plain", d.Days)
		}
		s := h.tr.T("deadline.workdays", d.Days, d.Date.String())
		if d.Estimated {
			s += h.tr.T("public.deadline.estimated")
		}
		return s
	}
	return h.tr.T("due.none")
}

// dueText says where an open commitment stands: overdue or due soon.
func (h *handler) dueText(d domain.Due) (string, string) {
	switch d.State {
	case domain.DueOverdue:
		return h.tr.T("due.overdue", d.DaysOverdue), "overdue"
	case domain.DueSoon:
		return h.tr.T("due.soon", d.WorkdaysLeft), "soon"
	}
	return "", ""
}

// parseRef reads the {office}/{id} of a detail or feed URL.
func parseRef(o, id string) (store.Ref, bool) {
	c := office.Code(o)
	if !c.Valid() {
		return store.Ref{}, false
	}
	eid, err := protocol.ParseEntityID(id)
	if err != nil {
		return store.Ref{}, false
	}
	return store.Ref{Office: c, ID: eid}, true
}

// loadPage reads what the page at /…/{office}/{id} shows with load. It
// answers the request itself (ok false): 404 for a malformed, unknown or
// hidden reference, as if it did not exist, and 500 for a failure.
func loadPage[T any](h *handler, w http.ResponseWriter, r *http.Request, load func(store.Ref) (T, error)) (v T, ok bool) {
	ref, ok := parseRef(r.PathValue("office"), r.PathValue("id"))
	if !ok {
		h.serveNotFound(w, r)
		return v, false
	}
	v, err := load(ref)
	if errors.Is(err, errHidden) || errors.Is(err, store.ErrNotFound) {
		h.serveNotFound(w, r)
		return v, false
	}
	if err != nil {
		h.internalError(w, r, err)
		return v, false
	}
	return v, true
}

// serveDetail is GET /c/{office}/{id}.
func (h *handler) serveDetail(w http.ResponseWriter, r *http.Request) {
	if h.notModified(w, r) {
		return
	}
	rec, ok := loadPage(h, w, r, h.loadRecord)
	if !ok {
		return
	}
	ref := rec.C.Ref
	v := h.newView(r, rec.C.Title)
	v.Crumbs = []crumb{{Name: h.tr.T("public.crumbs.home"), Href: v.Home}}
	if rec.County.Code != "" {
		q := url.Values{"county": {string(rec.County.Code)}}
		v.Crumbs = append(v.Crumbs, crumb{Name: rec.County.Name, Href: v.Home + "?" + q.Encode()})
	}
	if rec.Office.Code.Level() == office.Township {
		q := url.Values{"county": {string(rec.County.Code)}, "township": {string(rec.Office.Code)}}
		v.Crumbs = append(v.Crumbs, crumb{Name: rec.Office.Name, Href: v.Home + "?" + q.Encode()})
	}
	v.Crumbs = append(v.Crumbs, crumb{Name: rec.C.Title})
	v.Detail = h.detailView(rec, v.Home)
	if err := h.addSupervision(v.Detail, ref, v.Home); err != nil {
		h.internalError(w, r, err)
		return
	}
	h.render(w, http.StatusOK, "detail", v)
}

// addSupervision fills the detail page's cases and dishonesty records.
func (h *handler) addSupervision(d *detailView, ref store.Ref, homeLink string) error {
	if h.intake != nil {
		d.FileHref = homeLink + detailHref(ref) + "/file"
	}
	cases, err := h.publicCases(store.CaseFilter{Commitment: &ref})
	if err != nil {
		return err
	}
	for i := range cases {
		row, err := h.caseRow(&cases[i], homeLink)
		if err != nil {
			return err
		}
		d.Cases = append(d.Cases, row)
	}
	recs, err := h.publishedRecords(store.DishonestyFilter{Office: ref.Office})
	if err != nil {
		return err
	}
	d.OfficeRecords = len(recs)
	d.RecordsHref = homeLink + "d/" + string(ref.Office)
	for _, p := range recs {
		if p.Commitment != ref {
			continue
		}
		d.Records = append(d.Records, h.recordRow(p, homeLink))
	}
	return nil
}

func (h *handler) detailView(rec *record, homeLink string) *detailView {
	c := &rec.C
	d := &detailView{Title: c.Title, Text: c.Text, LegalBasis: c.LegalBasis, Responsible: c.Responsible,
		Status: c.Status, StatusName: h.tr.T("status." + string(c.Status)), Category: h.tr.T("category." + string(c.Category)),
		Place: h.place(c.Office), Version: c.Version, StartDate: c.StartDate, Deadline: h.deadlineText(rec.Deadline),
		Progress: c.Progress, Published: fmtTime(rec.PublishedAt), Updated: fmtTime(c.UpdatedAt.Wall().In(cst)),
		ReasonLabel: h.reasonLabel(c.Status), Reason: rec.StatusReason}
	if d.Reason == "" {
		d.ReasonLabel = ""
	}
	d.Due, d.DueClass = h.dueText(rec.Due)
	names := map[protocol.Hash]string{}
	for _, e := range rec.Evidence {
		name := e.Name
		if name == "" {
			name = h.tr.T("public.evidence.unnamed")
		}
		names[e.Hash] = name
		ev := evidenceView{Name: name, Size: fmtSize(e.Size), Hash: e.Hash.String()}
		if e.Available {
			ev.Href = homeLink + "evidence/" + e.Hash.String()
		}
		d.Evidence = append(d.Evidence, ev)
	}
	for _, e := range rec.Entries {
		ev := entryView{Date: e.Date.String(), Progress: e.Progress, Note: e.Note, Recorded: fmtTime(e.Time)}
		for _, hs := range e.Evidence {
			ev.Evidence = append(ev.Evidence, names[hs])
		}
		d.Entries = append(d.Entries, ev)
	}
	for _, a := range rec.Amendments {
		av := amendView{Time: fmtTime(a.Time), TimeISO: a.Time.Format(time.RFC3339), Reason: a.Reason}
		if a.Kind == "resolve" {
			av.Heading = h.tr.T("public.amend.resolve")
		} else {
			av.Heading = h.tr.T("public.amend.heading", a.Version)
		}
		for _, fc := range a.Changes {
			av.Changes = append(av.Changes, changeView{Field: h.tr.T("public.field." + string(fc.Field)),
				From: h.fieldValue(fc.Field, fc.From), To: h.fieldValue(fc.Field, fc.To)})
		}
		d.Amendments = append(d.Amendments, av)
	}
	for _, s := range rec.History {
		d.History = append(d.History, historyView{Status: s.Status, StatusName: h.tr.T("status." + string(s.Status)),
			Time: fmtTime(s.Time), TimeISO: s.Time.Format(time.RFC3339), Reason: s.Reason})
	}
	return d
}

// fieldValue shows a stored field value to the public.
func (h *handler) fieldValue(f domain.Field, v string) string {
	if v == "" {
		return ""
	}
	switch f {
	case domain.FieldCategory:
		return h.tr.T("category." + v)
	case domain.FieldPublic:
		if v == "true" {
			return h.tr.T("public.yes")
		}
		return h.tr.T("public.no")
	case domain.FieldDeadline:
		dl, err := domain.ParseDeadline(v)
		if err != nil {
			return v
		}
		switch dl.Kind {
		case domain.DeadlineDate:
			return dl.Date.String()
		case domain.DeadlineWorkdays:
			return h.tr.T("public.deadline.workdays_plain", dl.Days)
		}
		return h.tr.T("due.none")
	}
	return v
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(cst).Format("2006-01-02 15:04")
}

// fmtSize gives a file size in B, KB or MB.
func fmtSize(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1024*1024:
		return fmt.Sprintf("%.1f KB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1024*1024))
}
