package public

import (
	"net/http"
	"net/url"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/store"
)

// The pages of published dishonesty records: one record with its steps
// (/d/{office}/{id}) and an office's published records (/d/{office}).

// recordView is one record's page.
type recordView struct {
	Type, StatusName, StatusClass string
	Title, Href, Place            string // the commitment
	Official, Deadline, Facts     string
	Corrected                     bool // Facts are as the county corrected them
	Explanation                   string
	Recorded, LastDay, Repaired   string
	Steps                         []dstepView
	Evidence                      []evidenceView
	Objections                    []caseRow
	FileHref                      string // the objection form, when filings are taken
	ListHref, OfficeName          string
}

// dstepView is one published step of a record. The template draws each
// step type with its own block ("dstep-<step>"), and steps it has no block
// for with a plain one.
type dstepView struct {
	Step                     string
	Name, Time, TimeISO      string
	Type, Official, Deadline string // recorded
	Corrected                bool   // recorded: Reason holds the corrected facts
	// Reason is why the step was taken (for the recording, the facts);
	// Detail names a sanction's measure or a mitigation.
	Reason, Detail, Explanation string
	Evidence                    []evidenceView
}

// recordStatus names where a record stands for the public.
func (h *handler) recordStatus(p *pubRecord) (name, class string) {
	if p.Repaired {
		return h.tr.T("public.record.status.repaired"), "repaired"
	}
	return h.tr.T("public.record.step." + string(p.Status)), string(p.Status)
}

// stepDetail names a published step's detail: a sanction's measure or a
// mitigation; "" for other steps.
func (h *handler) stepDetail(s store.PublicDishonestyStep) string {
	switch {
	case s.Detail == "":
		return ""
	case s.Step == domain.StepSanctioned:
		return h.tr.T("public.record.sanction." + s.Detail)
	case s.Step == domain.StepMitigated:
		return h.tr.T("public.record.mitigation." + s.Detail)
	}
	return ""
}

func (h *handler) recordView(p *pubRecord, homeLink string) (*recordView, error) {
	rv := &recordView{Type: h.tr.T("public.record.type." + string(p.Type)), Title: p.c.Title, Href: homeLink + detailHref(p.c.Ref),
		Place: h.place(p.Office), Official: p.Official, Deadline: p.Deadline, Facts: p.Facts, Corrected: p.Corrected,
		Explanation: p.Explanation, Recorded: fmtDate(p.RecordedOn), LastDay: fmtDate(p.LastDay), Repaired: fmtDate(p.RepairedOn),
		ListHref: homeLink + "d/" + string(p.Office), OfficeName: h.unit(p.Office).Name}
	rv.StatusName, rv.StatusClass = h.recordStatus(p)
	if h.intake != nil {
		rv.FileHref = homeLink + recordHref(p.ref()) + "/file"
	}
	for _, e := range p.Steps {
		t := e.Time.In(cst)
		s := dstepView{Step: string(e.Step), Name: h.tr.T("public.record.step." + string(e.Step)), Time: fmtTime(t),
			TimeISO: t.Format(time.RFC3339), Reason: e.Reason, Detail: h.stepDetail(e), Explanation: e.Explanation}
		if e.Step == domain.StepRecorded {
			s.Type, s.Official, s.Deadline, s.Corrected = rv.Type, p.Official, p.Deadline, p.Corrected
		}
		var err error
		if s.Evidence, err = h.evidenceViews(e.Evidence, p.Office, homeLink); err != nil {
			return nil, err
		}
		rv.Steps = append(rv.Steps, s)
	}
	var err error
	if rv.Evidence, err = h.evidenceViews(p.Evidence, p.Office, homeLink); err != nil {
		return nil, err
	}
	rk := p.ref()
	cases, err := h.publicCases(store.CaseFilter{Record: &rk})
	if err != nil {
		return nil, err
	}
	for i := range cases {
		row, err := h.caseRow(&cases[i], homeLink)
		if err != nil {
			return nil, err
		}
		rv.Objections = append(rv.Objections, row)
	}
	return rv, nil
}

// serveRecord is GET /d/{office}/{id}.
func (h *handler) serveRecord(w http.ResponseWriter, r *http.Request) {
	if h.notModified(w, r) {
		return
	}
	p, ok := loadPage(h, w, r, h.publishedRecord)
	if !ok {
		return
	}
	v := h.newView(r, h.tr.T("public.record.heading"))
	rv, err := h.recordView(p, v.Home)
	if err != nil {
		h.internalError(w, r, err)
		return
	}
	v.Crumbs = []crumb{{Name: h.tr.T("public.crumbs.home"), Href: v.Home}, {Name: p.c.Title, Href: rv.Href},
		{Name: h.tr.T("public.record.heading")}}
	v.Record = rv
	h.render(w, http.StatusOK, "record", v)
}

// recordListView is an office's published records.
type recordListView struct {
	Heading, Intro string
	Rows           []recordRow
}

type recordRow struct {
	Href, Type, Title, Place string
	Recorded, LastDay        string
	StatusName, StatusClass  string
}

func (h *handler) recordRow(p *pubRecord, homeLink string) recordRow {
	row := recordRow{Href: homeLink + recordHref(p.ref()), Type: h.tr.T("public.record.type." + string(p.Type)),
		Title: p.c.Title, Place: h.place(p.Office), Recorded: fmtDate(p.RecordedOn), LastDay: fmtDate(p.LastDay)}
	row.StatusName, row.StatusClass = h.recordStatus(p)
	return row
}

// serveRecordList is GET /d/{office}: the published records of an office
// (a county: of its townships too).
func (h *handler) serveRecordList(w http.ResponseWriter, r *http.Request) {
	o := office.Code(r.PathValue("office"))
	if !o.Valid() {
		h.serveNotFound(w, r)
		return
	}
	ps, err := h.publishedRecords(store.DishonestyFilter{Office: o})
	if err != nil {
		h.internalError(w, r, err)
		return
	}
	name := h.unit(o).Name
	v := h.newView(r, h.tr.T("public.records.heading", name))
	q := url.Values{}
	if o.Level() == office.Township {
		q.Set("county", string(o.County()))
		q.Set("township", string(o))
	} else {
		q.Set("county", string(o))
	}
	v.Crumbs = []crumb{{Name: h.tr.T("public.crumbs.home"), Href: v.Home}, {Name: name, Href: v.Home + "?" + q.Encode()},
		{Name: h.tr.T("public.records.crumb")}}
	lv := &recordListView{Heading: h.tr.T("public.records.heading", name), Intro: h.tr.T("public.records.intro", h.disc.Days)}
	for _, p := range ps {
		lv.Rows = append(lv.Rows, h.recordRow(p, v.Home))
	}
	v.Records = lv
	h.render(w, http.StatusOK, "records", v)
}
