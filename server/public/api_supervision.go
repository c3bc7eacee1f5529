package public

import (
	"cmp"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"slices"
	"strings"
	"time"

	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// Schema names of the supervision endpoints.
const (
	SchemaCases      = "jiannuo.public.cases/v1"
	SchemaDishonesty = "jiannuo.public.dishonesty/v1"
)

// Case is a shown case in the JSON feed: public fields only. The filer's
// text, files and contact and the names of those who handled it are never
// in it.
type Case struct {
	Number        string        `json:"number"`
	Kind          string        `json:"kind"`
	KindName      string        `json:"kind_name"`
	Office        string        `json:"office"`
	OfficeName    string        `json:"office_name"`
	County        string        `json:"county"`
	CountyName    string        `json:"county_name"`
	Commitment    string        `json:"commitment"`
	CommitmentURL string        `json:"commitment_url"`
	Record        string        `json:"record"`     // an objection's dishonesty record, while published
	RecordURL     string        `json:"record_url"` //
	Filed         string        `json:"filed"`
	Status        string        `json:"status"` // open, acknowledged, replied, accepted, decided, withdrawn
	StatusName    string        `json:"status_name"`
	AckDue        string        `json:"ack_due"`
	AnswerDue     string        `json:"answer_due"`
	Overdue       CaseOverdue   `json:"overdue"`
	PublicReply   *CaseReply    `json:"public_reply"`
	Decision      *CaseDecision `json:"decision"`
	LinkedRecords []string      `json:"linked_records"` // dishonesty records created from it, while published
	UpdatedAt     string        `json:"updated_at"`
}

// CaseOverdue is where an open case stands against its deadlines today.
type CaseOverdue struct {
	Overdue     bool `json:"overdue"`
	AckLate     bool `json:"ack_late"`
	AnswerLate  bool `json:"answer_late"`
	DaysOverdue int  `json:"days_overdue"`
}

// CaseReply is the township's reply the county accepted.
type CaseReply struct {
	Text     string         `json:"text"`
	Time     string         `json:"time"` // when the township's leader approved it
	Evidence []EvidenceFile `json:"evidence"`
}

// CaseDecision is how the county closed a case.
type CaseDecision struct {
	Step        string         `json:"step"` // accepted, decided or withdrawn
	Finding     string         `json:"finding"`
	FindingName string         `json:"finding_name"`
	Text        string         `json:"text"`
	Time        string         `json:"time"`
	Evidence    []EvidenceFile `json:"evidence"`
}

// ListPage is one page of a supervision list.
type ListPage[T any] struct {
	Schema      string  `json:"schema"`
	GeneratedAt string  `json:"generated_at"`
	Total       int     `json:"total"` // items in the whole list now
	Items       []T     `json:"items"`
	NextCursor  *string `json:"next_cursor"` // nil on the last page
}

// CasesPage is the answer of GET /api/v1/cases.
type CasesPage = ListPage[Case]

// DishonestyRecord is a published dishonesty record in the JSON feed:
// what store.DishonestyRecord.Public publishes of it. Never what the
// township submitted and the county has not accepted, a return, a
// withdrawn record, or the names of county staff.
type DishonestyRecord struct {
	ID            string `json:"id"`
	URL           string `json:"url"`
	Office        string `json:"office"`
	OfficeName    string `json:"office_name"`
	County        string `json:"county"`
	CountyName    string `json:"county_name"`
	Commitment    string `json:"commitment"`
	CommitmentURL string `json:"commitment_url"`
	Type          string `json:"type"`
	TypeName      string `json:"type_name"`
	Official      string `json:"official"`
	// Facts are the facts as last corrected; Corrected says the county
	// corrected them (the original facts are not published).
	Facts          string           `json:"facts"`
	Corrected      bool             `json:"corrected"`
	Explanation    string           `json:"explanation"`
	Deadline       string           `json:"rectification_deadline"`
	Status         string           `json:"status"`
	StatusName     string           `json:"status_name"`
	RecordedAt     string           `json:"recorded_at"`
	RepairedOn     string           `json:"repaired_on"`
	PublishedUntil string           `json:"published_until"`
	Steps          []DishonestyStep `json:"steps"`
	Evidence       []EvidenceFile   `json:"evidence"`
	Objections     []string         `json:"objections"` // numbers of the cases objecting to it
	UpdatedAt      string           `json:"updated_at"` // its latest published step
}

// DishonestyStep is one published step of a record, oldest first.
type DishonestyStep struct {
	Step     string `json:"step"`
	StepName string `json:"step_name"`
	Time     string `json:"time"`
	// Reason is why the step was taken; for the recording, the facts (as
	// corrected).
	Reason string `json:"reason"`
	// Detail is a sanction's measure (public_criticism, honours_withdrawn,
	// honours_restricted, accountability, other) or a mitigation (lighter,
	// exempt), DetailName its name; empty for the other steps.
	Detail      string   `json:"detail"`
	DetailName  string   `json:"detail_name"`
	Explanation string   `json:"explanation"`
	Evidence    []string `json:"evidence"`
}

// DishonestyPage is the answer of GET /api/v1/dishonesty.
type DishonestyPage = ListPage[DishonestyRecord]

// cursorCase is the kind byte of a cases cursor: filing time, number.
const cursorCase = 'k'

func caseCursor(c *store.Case) string {
	b := append([]byte{cursorCase}, binary.BigEndian.AppendUint64(nil, uint64(c.Filed))...)
	return base64.RawURLEncoding.EncodeToString(append(b, c.Number...))
}

func parseCaseCursor(s string) (int64, string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 9 || b[0] != cursorCase || len(b) > 9+protocol.MaxCaseNumberBytes {
		return 0, "", false
	}
	return int64(binary.BigEndian.Uint64(b[1:9])), string(b[9:]), true
}

// listParams reads ?office= (a county or township code; "" for all) and
// ?limit= of a supervision list, answering the request itself when one is
// malformed (ok false).
func (h *handler) listParams(w http.ResponseWriter, r *http.Request) (o office.Code, limit int, ok bool) {
	if v := strings.TrimSpace(r.URL.Query().Get("office")); v != "" {
		if o = office.Code(v); !o.Valid() {
			h.apiFail(w, http.StatusBadRequest, "bad_request", "office must be a county or township code")
			return "", 0, false
		}
	}
	if limit, ok = h.limitParam(r); !ok {
		h.apiFail(w, http.StatusBadRequest, "bad_request", "limit must be a positive integer")
	}
	return o, limit, ok
}

// serveAPICases is GET /api/v1/cases: the shown cases, oldest filing
// first, cursor paged.
func (h *handler) serveAPICases(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	o, limit, ok := h.listParams(w, r)
	if !ok {
		return
	}
	var afterFiled int64
	var afterNumber string
	if c := q.Get("cursor"); c != "" {
		if afterFiled, afterNumber, ok = parseCaseCursor(c); !ok {
			h.apiFail(w, http.StatusBadRequest, "bad_cursor", "cursor is not one this endpoint gave out")
			return
		}
	}
	cs, err := h.publicCases(store.CaseFilter{Office: o})
	if err != nil {
		h.apiInternal(w, r, err)
		return
	}
	// Oldest first: new cases arrive at the end, so paging never skips one.
	slices.SortFunc(cs, func(a, b store.Case) int {
		if c := cmp.Compare(a.Filed, b.Filed); c != 0 {
			return c
		}
		return cmp.Compare(a.Number, b.Number)
	})
	out := CasesPage{Schema: SchemaCases, GeneratedAt: h.now().In(cst).Format(time.RFC3339), Total: len(cs)}
	base := basePath(r)
	out.Items, out.NextCursor, err = pageAfter(cs, limit,
		func(c store.Case) bool {
			return afterNumber != "" && (c.Filed < afterFiled || (c.Filed == afterFiled && c.Number <= afterNumber))
		},
		func(c store.Case) (Case, error) { return h.apiCase(&c, base) },
		func(c store.Case) string { return caseCursor(&c) })
	if err != nil {
		h.apiInternal(w, r, err)
		return
	}
	h.writeJSON(w, http.StatusOK, out)
}

// pageAfter returns up to limit items of sorted, converted by conv,
// leaving out those skip says the cursor has passed, and the cursor of the
// next page (nil on the last).
func pageAfter[S, T any](sorted []S, limit int, skip func(S) bool, conv func(S) (T, error), cursor func(S) string) ([]T, *string, error) {
	items := []T{}
	var last S
	for _, s := range sorted {
		if skip(s) {
			continue
		}
		if len(items) == limit {
			next := cursor(last)
			return items, &next, nil
		}
		t, err := conv(s)
		if err != nil {
			return nil, nil, err
		}
		items, last = append(items, t), s
	}
	return items, nil, nil
}

func (h *handler) apiEvidence(hs []protocol.Hash, o office.Code, base string) ([]EvidenceFile, error) {
	out := []EvidenceFile{}
	for _, x := range hs {
		ev, err := h.evidenceInfo(x, o)
		if err != nil {
			return nil, err
		}
		out = append(out, EvidenceFile{SHA256: x.String(), Name: ev.Name, MIME: ev.MIME, Size: ev.Size,
			Available: ev.Available, URL: base + "/evidence/" + x.String()})
	}
	return out, nil
}

func (h *handler) apiCase(c *store.Case, base string) (Case, error) {
	ou, cu := h.unit(c.Office), h.unit(c.Office.County())
	out := Case{Number: c.Number, Kind: string(c.Kind), KindName: h.tr.T("public.case.kind." + string(c.Kind)),
		Office: string(c.Office), OfficeName: ou.Name, County: string(cu.Code), CountyName: cu.Name,
		Commitment: c.Commitment.ID.String(), CommitmentURL: base + "/" + detailHref(c.Commitment),
		Filed: rfc3339(time.UnixMilli(c.Filed)), Status: caseStatus(c), StatusName: h.tr.T("public.case.status." + caseStatus(c)),
		AckDue: c.AckDue, AnswerDue: c.AnswerDue, LinkedRecords: []string{}, UpdatedAt: rfc3339(c.UpdatedAt.Wall())}
	d := h.caseDue(c)
	out.Overdue = CaseOverdue{Overdue: d.Overdue(), AckLate: d.AckLate, AnswerLate: d.AnswerLate, DaysOverdue: d.DaysOverdue}
	if c.Record != nil {
		if pr, err := h.publishedRecord(store.Ref{Office: c.Office, ID: *c.Record}); err == nil {
			out.Record, out.RecordURL = pr.ID.String(), base+"/"+recordHref(pr.ref())
		}
	}
	for _, l := range c.Linked {
		if pr, err := h.publishedRecord(store.Ref{Office: c.Office, ID: l}); err == nil {
			out.LinkedRecords = append(out.LinkedRecords, pr.ID.String())
		}
	}
	var err error
	if rep := c.PublicReply(); rep != nil {
		out.PublicReply = &CaseReply{Text: rep.Text, Time: rfc3339(rep.ApprovedAt.Wall())}
		if out.PublicReply.Evidence, err = h.apiEvidence(rep.Evidence, c.Office, base); err != nil {
			return out, err
		}
	}
	if c.Closed {
		d := &CaseDecision{Step: string(c.ClosedBy), Finding: string(c.Finding), Text: c.CloseText, Time: rfc3339(c.ClosedAt.Wall())}
		if c.Finding != "" {
			d.FindingName = h.tr.T("public.case.finding." + string(c.Kind) + "." + string(c.Finding))
		}
		var hs []protocol.Hash
		if e := closingEvent(c); e != nil {
			hs = e.Evidence
		}
		if d.Evidence, err = h.apiEvidence(hs, c.Office, base); err != nil {
			return out, err
		}
		out.Decision = d
	}
	return out, nil
}

// serveAPIDishonesty is GET /api/v1/dishonesty: the published dishonesty
// records, by office and ID, cursor paged.
func (h *handler) serveAPIDishonesty(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	o, limit, ok := h.listParams(w, r)
	if !ok {
		return
	}
	var after *item
	if c := q.Get("cursor"); c != "" {
		_, ref, err := decodeCursor(cursorRecord, c)
		if err != nil {
			h.apiFail(w, http.StatusBadRequest, "bad_cursor", "cursor is not one this endpoint gave out")
			return
		}
		after = &item{c: store.Commitment{Ref: ref}}
	}
	ps, err := h.publishedRecords(store.DishonestyFilter{Office: o})
	if err != nil {
		h.apiInternal(w, r, err)
		return
	}
	key := func(p *pubRecord) *item { return &item{c: store.Commitment{Ref: p.ref()}} }
	slices.SortFunc(ps, func(a, b *pubRecord) int { return cmpRef(key(a), key(b)) })
	out := DishonestyPage{Schema: SchemaDishonesty, GeneratedAt: h.now().In(cst).Format(time.RFC3339), Total: len(ps)}
	base := basePath(r)
	out.Items, out.NextCursor, err = pageAfter(ps, limit,
		func(p *pubRecord) bool { return after != nil && cmpRef(key(p), after) <= 0 },
		func(p *pubRecord) (DishonestyRecord, error) { return h.apiRecord(p, base) },
		func(p *pubRecord) string { return encodeCursor(cursorRecord, 0, p.ref()) })
	if err != nil {
		h.apiInternal(w, r, err)
		return
	}
	h.writeJSON(w, http.StatusOK, out)
}

// cursorRecord is the kind byte of a dishonesty cursor: office, ID.
const cursorRecord = 'd'

func (h *handler) apiRecord(p *pubRecord, base string) (DishonestyRecord, error) {
	ou, cu := h.unit(p.Office), h.unit(p.Office.County())
	out := DishonestyRecord{ID: p.ID.String(), URL: base + "/" + recordHref(p.ref()), Office: string(p.Office), OfficeName: ou.Name,
		County: string(cu.Code), CountyName: cu.Name, Commitment: p.Commitment.ID.String(), CommitmentURL: base + "/" + detailHref(p.Commitment),
		Type: string(p.Type), TypeName: h.tr.T("public.record.type." + string(p.Type)), Official: p.Official, Facts: p.Facts,
		Corrected: p.Corrected, Explanation: p.Explanation, Deadline: p.Deadline, RecordedAt: rfc3339(p.recordedAt),
		RepairedOn: fmtDate(p.RepairedOn), PublishedUntil: fmtDate(p.LastDay), Steps: []DishonestyStep{}, Objections: []string{},
		UpdatedAt: rfc3339(p.updatedAt())}
	out.Status = string(p.Status)
	out.StatusName, _ = h.recordStatus(p)
	for _, e := range p.Steps {
		s := DishonestyStep{Step: string(e.Step), StepName: h.tr.T("public.record.step." + string(e.Step)), Time: rfc3339(e.Time),
			Reason: e.Reason, DetailName: h.stepDetail(e), Explanation: e.Explanation, Evidence: []string{}}
		if s.DetailName != "" {
			s.Detail = e.Detail
		}
		for _, x := range e.Evidence {
			s.Evidence = append(s.Evidence, x.String())
		}
		out.Steps = append(out.Steps, s)
	}
	var err error
	if out.Evidence, err = h.apiEvidence(p.Evidence, p.Office, base); err != nil {
		return out, err
	}
	rk := p.ref()
	cs, err := h.publicCases(store.CaseFilter{Record: &rk})
	if err != nil {
		return out, err
	}
	for _, c := range cs {
		out.Objections = append(out.Objections, c.Number)
	}
	return out, nil
}
