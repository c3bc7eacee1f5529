package county

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// Supervision cases (complaints and objections) over the admin API: the
// list, one case with its history, the filer's contact opened with the
// county key, and the county's decisions. A decision is an OpCaseStep
// signed by the server's own device with the admin's name as author
// (signOwn), checked by the same rules a desktop admin device applies
// (store.CaseStepOpTx), and written to the audit trail in the transaction
// that applies it.

// The audited case actions: "case_" and the step (case_accepted,
// case_returned, case_decided, case_linked, case_withdrawn, case_assigned),
// and reading a filer's contact.
const (
	AuditCasePrefix    = "case_"
	AuditContactViewed = "contact_viewed"
)

func (s *Server) caseRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/cases", s.admin(s.serveCases))
	mux.HandleFunc("GET /admin/cases/{case}", s.admin(s.serveCase))
	mux.HandleFunc("POST /admin/cases/{case}/contact", s.admin(s.serveCaseContact))
	mux.HandleFunc("POST /admin/cases/{case}/{action}", s.admin(s.serveCaseDecision))
}

// today is the day in China.
func (s *Server) today() calendar.Date { return calendar.DateOf(s.cfg.Now().In(cst)) }

// caseInfo is c as the admin sees it today.
func caseInfo(c store.Case, today calendar.Date, cal *calendar.Calendar) countyapi.CaseInfo {
	due := c.Due(today, cal)
	return countyapi.CaseInfo{Case: c, Due: due, Overdue: due.Overdue()}
}

// caseCursor is where a page of cases ends: the office and ID of its last
// case, as "office:id" (the ID in hex).
func caseCursor(c *store.Case) string { return string(c.Office) + ":" + c.ID.String() }

// parseCaseCursor reads a cursor caseCursor made. Errors wrap
// protocol.ErrMalformed.
func parseCaseCursor(s string) (store.Ref, error) {
	o, id, ok := strings.Cut(s, ":")
	code, err := office.Parse(o)
	if !ok || err != nil {
		return store.Ref{}, fmt.Errorf("%w: cursor %q", protocol.ErrMalformed, s)
	}
	eid, err := protocol.ParseEntityID(id)
	if err != nil {
		return store.Ref{}, fmt.Errorf("%w: cursor %q", protocol.ErrMalformed, s)
	}
	return store.Ref{Office: code, ID: eid}, nil
}

func compareCaseRef(a, b store.Ref) int {
	return cmp.Or(cmp.Compare(a.Office, b.Office), bytes.Compare(a.ID[:], b.ID[:]))
}

// Cases returns a page of the county's cases q selects, without their
// history, in the order of their office, then ID.
func (s *Server) Cases(q countyapi.CaseQuery) (*countyapi.CasePage, error) {
	if q.Office == "" {
		q.Office = s.id.County
	}
	if !s.id.County.Contains(q.Office) {
		return nil, fmt.Errorf("%w: office %s is not in county %s", protocol.ErrOutOfScope, q.Office, s.id.County)
	}
	if q.Kind != "" && !q.Kind.Valid() {
		return nil, fmt.Errorf("%w: case kind %q", protocol.ErrMalformed, q.Kind)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = countyapi.DefaultCasePage
	}
	limit = min(limit, countyapi.MaxCasePage)
	var after *store.Ref
	if q.Cursor != "" {
		ref, err := parseCaseCursor(q.Cursor)
		if err != nil {
			return nil, err
		}
		after = &ref
	}
	today, cal := s.today(), s.calendar()
	f := store.CaseFilter{Office: q.Office, Kind: q.Kind, OpenOnly: q.OpenOnly}
	if q.OverdueOnly {
		f.OverdueOn = today
	}
	all, err := s.st.Cases(f)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(all, func(a, b store.Case) int { return compareCaseRef(a.Ref(), b.Ref()) })
	page := &countyapi.CasePage{Today: today, Cases: []countyapi.CaseInfo{}}
	for i := range all {
		c := &all[i]
		if after != nil && compareCaseRef(c.Ref(), *after) <= 0 {
			continue
		}
		if len(page.Cases) == limit {
			page.Next = caseCursor(&page.Cases[limit-1].Case)
			break
		}
		c.History = nil
		page.Cases = append(page.Cases, caseInfo(*c, today, cal))
	}
	return page, nil
}

// FindCase returns a case of the county with its history, by its number
// or its ID (hex), or an error wrapping store.ErrNotFound.
func (s *Server) FindCase(ref string) (store.Case, error) {
	if id, err := protocol.ParseEntityID(ref); err == nil {
		cases, err := s.st.Cases(store.CaseFilter{Office: s.id.County})
		if err != nil {
			return store.Case{}, err
		}
		for _, c := range cases {
			if c.ID == id {
				return c, nil
			}
		}
		return store.Case{}, fmt.Errorf("%w: case %s", store.ErrNotFound, id)
	}
	c, err := s.st.CaseByNumber(ref)
	if err == nil && !s.id.County.Contains(c.Office) {
		err = fmt.Errorf("%w: case %s", store.ErrNotFound, ref)
	}
	return c, err
}

// CaseInfo returns a case with its history and where it stands today.
func (s *Server) CaseInfo(ref string) (countyapi.CaseInfo, error) {
	c, err := s.FindCase(ref)
	if err != nil {
		return countyapi.CaseInfo{}, err
	}
	return caseInfo(c, s.today(), s.calendar()), nil
}

// CaseContact opens the filer's contact of a case with the county key,
// after writing the reading to the audit trail under who's name: the
// plaintext is given only once the reading is on record, and never
// logged.
func (s *Server) CaseContact(ref, who string) (countyapi.CaseContact, error) {
	c, err := s.FindCase(ref)
	if err != nil {
		return countyapi.CaseContact{}, err
	}
	out := countyapi.CaseContact{Case: c.Number}
	sealed, err := s.st.CaseContactBox(c.Office, c.ID, protocol.DeviceID{})
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return out, err
	default:
		contact, err := protocol.OpenContact(sealed, s.id.Key)
		if err != nil {
			return out, fmt.Errorf("the filer's contact of case %s does not open with the county key: %w", c.Number, err)
		}
		out.Name, out.Phone, out.Present = contact.Name, contact.Phone, true
	}
	err = s.st.Update(func(tx *bolt.Tx) error {
		return putAudit(tx, countyapi.AuditEntry{Time: s.cfg.Now(), Who: who, Action: AuditContactViewed, Target: c.Number,
			Detail: fmt.Sprintf("office %s, case %s, contact given: %v", c.Office, c.ID, out.Present)})
	})
	if err != nil {
		return countyapi.CaseContact{}, err
	}
	s.log.Info("case contact viewed", "case", c.Number, "by", who, "present", out.Present)
	return out, nil
}

// DecideCase takes the county's decision action (countyapi.CaseActions) on
// a case, signed by the server's own device with who as author, and
// audits it in the same transaction. It returns the case after it and the
// feed position of the decision's change set. Refusals:
// store.ErrNotFound (no such case or record), protocol.ErrInvalidOperation
// (the action, its input or the case's state: closed, no approved reply
// awaiting the county, …), and what the ingest path refuses.
func (s *Server) DecideCase(ref, action string, d countyapi.CaseDecision, who string) (countyapi.CaseDecided, error) {
	step, ok := countyapi.CaseActions[action]
	if !ok {
		return countyapi.CaseDecided{}, fmt.Errorf("%w: case action %q (want accept, return, decide, link, withdraw or assign)", protocol.ErrInvalidOperation, action)
	}
	c, err := s.FindCase(ref)
	if err != nil {
		return countyapi.CaseDecided{}, err
	}
	in := store.CaseStepInput{Step: step, Text: d.Reason, Finding: d.Finding, Record: d.Record}
	if step == domain.CaseAssigned {
		if in.AckDue, in.AnswerDue, err = assignDeadlines(&c, d); err != nil {
			return countyapi.CaseDecided{}, err
		}
	}
	if err := domain.CheckCaseText("reason", in.Text, step.TextRequired()); err != nil {
		return countyapi.CaseDecided{}, fmt.Errorf("%w: %v", protocol.ErrInvalidOperation, err)
	}
	res, err := s.signOwn(who, func() ([]protocol.Op, error) {
		var op *protocol.Op
		err := s.st.View(func(tx *bolt.Tx) error {
			var err error
			op, err = store.CaseStepOpTx(tx, c.Office, c.ID, in)
			return err
		})
		if err != nil {
			return nil, caseRefusal(err)
		}
		return []protocol.Op{*op}, nil
	}, func(tx *bolt.Tx, r store.Result) error {
		detail := fmt.Sprintf("office %s, case %s; signed by the county server's device, change set %d at feed position %d", c.Office, c.ID, r.Seq, r.Pos)
		if d.Finding != "" {
			detail = "finding " + string(d.Finding) + "; " + detail
		}
		if !d.Record.IsZero() {
			detail = "record " + d.Record.String() + "; " + detail
		}
		if step == domain.CaseAssigned {
			detail = fmt.Sprintf("ack due %s, answer due %s; %s", cmp.Or(in.AckDue.String(), "-"), in.AnswerDue, detail)
		}
		return putAudit(tx, countyapi.AuditEntry{Time: s.cfg.Now(), Who: who, Action: AuditCasePrefix + string(step), Target: c.Number,
			Reason: d.Reason, Detail: detail})
	})
	if err != nil {
		return countyapi.CaseDecided{}, err
	}
	if res.Code != protocol.CodeOK {
		return countyapi.CaseDecided{}, fmt.Errorf("the decision on case %s was refused: %w", c.Number, res.Err)
	}
	s.log.Info("case decision", "case", c.Number, "step", string(step), "by", who, "pos", res.Pos)
	info, err := s.CaseInfo(c.ID.String())
	return countyapi.CaseDecided{Case: info, Pos: res.Pos}, err
}

// assignDeadlines reads an assignment's deadlines: the answer deadline is
// required; a complaint keeps the acknowledgement deadline it has unless
// given another.
func assignDeadlines(c *store.Case, d countyapi.CaseDecision) (ack, answer calendar.Date, err error) {
	parse := func(what, v string) (calendar.Date, error) {
		if v == "" {
			return calendar.Date{}, nil
		}
		date, err := calendar.ParseDate(v)
		if err != nil {
			return date, fmt.Errorf("%w: %s %q: want YYYY-MM-DD", protocol.ErrInvalidOperation, what, v)
		}
		return date, nil
	}
	if answer, err = parse("answer deadline", d.AnswerDue); err != nil {
		return
	}
	if answer.IsZero() {
		return ack, answer, fmt.Errorf("%w: an assignment sets the answer deadline", protocol.ErrInvalidOperation)
	}
	if ack, err = parse("acknowledgement deadline", d.AckDue); err != nil {
		return
	}
	if ack.IsZero() && c.Kind == domain.CaseComplaint {
		ack, _ = calendar.ParseDate(c.AckDue)
	}
	return ack, answer, nil
}

// caseRefusal gives the store's refusals of a step their protocol code:
// the case's state or the input do not allow it (invalid_operation); a
// case or record that is not there stays not found.
func caseRefusal(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound), protocol.CodeOf(err) != protocol.CodeInternal:
		return err
	case errors.Is(err, store.ErrNotEditable), errors.Is(err, domain.ErrInvalidValue), errors.Is(err, domain.ErrNotAllowed):
		return fmt.Errorf("%w: %v", protocol.ErrInvalidOperation, err)
	}
	return err
}

// serveCases answers GET /admin/cases[?office=CODE][&open=1][&overdue=1]
// [&kind=K][&limit=N][&cursor=C].
func (s *Server) serveCases(w http.ResponseWriter, r *http.Request, _ string) {
	v := r.URL.Query()
	q := countyapi.CaseQuery{Office: office.Code(v.Get("office")), Kind: domain.CaseKind(v.Get("kind")), Cursor: v.Get("cursor")}
	q.OpenOnly, _ = strconv.ParseBool(v.Get("open"))
	q.OverdueOnly, _ = strconv.ParseBool(v.Get("overdue"))
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n <= 0 {
			s.writeErr(w, r, http.StatusBadRequest, fmt.Errorf("%w: limit %q", protocol.ErrMalformed, l))
			return
		}
		q.Limit = n
	}
	page, err := s.Cases(q)
	if err != nil {
		s.writeErr(w, r, statusFor(err), err)
		return
	}
	countyapi.WriteJSON(w, http.StatusOK, page)
}

func (s *Server) serveCase(w http.ResponseWriter, r *http.Request, _ string) {
	info, err := s.CaseInfo(r.PathValue("case"))
	if err != nil {
		s.writeErr(w, r, statusFor(err), err)
		return
	}
	countyapi.WriteJSON(w, http.StatusOK, info)
}

func (s *Server) serveCaseContact(w http.ResponseWriter, r *http.Request, who string) {
	c, err := s.CaseContact(r.PathValue("case"), who)
	if err != nil {
		s.writeErr(w, r, statusFor(err), err)
		return
	}
	countyapi.WriteJSON(w, http.StatusOK, c)
}

func (s *Server) serveCaseDecision(w http.ResponseWriter, r *http.Request, who string) {
	var body countyapi.CaseDecision
	err := readBody(r, &body)
	var out countyapi.CaseDecided
	if err == nil {
		out, err = s.DecideCase(r.PathValue("case"), r.PathValue("action"), body, who)
	}
	if err != nil {
		s.writeErr(w, r, statusFor(err), err)
		return
	}
	countyapi.WriteJSON(w, http.StatusOK, out)
}
