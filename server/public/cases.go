package public

import (
	"cmp"
	"slices"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// Cases (complaints and objections) on the public page. A case is shown
// once it is opened on this replica and the commitment it concerns is
// shown. The public sees its number, kind, filing date, status, deadlines,
// whether it is overdue, the county's finding and, once the county
// accepted it, the township's reply; never the filer's text or files
// (a person writes them to the county, and they may hold their own or
// others' personal details), which only the holder of the tracking code
// sees, and never who handled it.

// publicCases returns the shown cases f selects, newest first.
func (h *handler) publicCases(f store.CaseFilter) ([]store.Case, error) {
	snap, err := h.idx.get()
	if err != nil {
		return nil, err
	}
	cs, err := h.st.Cases(f)
	if err != nil {
		return nil, err
	}
	cs = slices.DeleteFunc(cs, func(c store.Case) bool { return snap.refs[c.Commitment] == nil })
	slices.SortStableFunc(cs, func(a, b store.Case) int {
		if c := cmp.Compare(b.Filed, a.Filed); c != 0 {
			return c
		}
		return cmp.Compare(a.Number, b.Number)
	})
	return cs, nil
}

// caseStatus names where a case stands for the public: its status, or for
// a closed case how it was closed.
func caseStatus(c *store.Case) string {
	if c.Closed {
		return string(c.ClosedBy)
	}
	return string(c.Status)
}

// caseRow is a case in a list (and the head of the tracking page).
type caseRow struct {
	Number, Kind                string
	Filed, FiledISO             string
	Status, StatusName          string
	AckDue, AnswerDue           string
	Overdue                     string // "" unless a deadline is missed
	Reply                       *replyView
	Decision                    *decisionView
	RecordHref, RecordName      string // an objection's record, while published
	HasDeadlines, IsObjection   bool
	AckLate, AnswerLate, Closed bool
}

// replyView is the township's reply, public once the county accepted it.
type replyView struct {
	Text, Time string
	Evidence   []evidenceView
}

// decisionView is how the county closed a case.
type decisionView struct {
	Heading, Finding, Text, Time string
	Evidence                     []evidenceView
}

// caseDue is the case's due state today.
func (h *handler) caseDue(c *store.Case) domain.CaseDue { return c.Due(h.today(), h.cal) }

func (h *handler) caseRow(c *store.Case, homeLink string) (caseRow, error) {
	filed := time.UnixMilli(c.Filed).In(cst)
	row := caseRow{Number: c.Number, Kind: h.tr.T("public.case.kind." + string(c.Kind)),
		Filed: filed.Format("2006-01-02"), FiledISO: filed.Format(time.RFC3339),
		Status: caseStatus(c), StatusName: h.tr.T("public.case.status." + caseStatus(c)),
		AckDue: c.AckDue, AnswerDue: c.AnswerDue, HasDeadlines: c.AckDue != "" || c.AnswerDue != "",
		IsObjection: c.Kind == domain.CaseObjection, Closed: c.Closed}
	if d := h.caseDue(c); d.Overdue() {
		row.Overdue = h.tr.T("due.overdue", d.DaysOverdue)
		row.AckLate, row.AnswerLate = d.AckLate, d.AnswerLate
	}
	var err error
	if rep := c.PublicReply(); rep != nil {
		row.Reply = &replyView{Text: rep.Text, Time: fmtTime(rep.ApprovedAt.Wall())}
		if row.Reply.Evidence, err = h.evidenceViews(rep.Evidence, c.Office, homeLink); err != nil {
			return row, err
		}
	}
	if c.Closed {
		d := &decisionView{Heading: h.tr.T("public.case.closed_by." + string(c.ClosedBy)), Text: c.CloseText, Time: fmtTime(c.ClosedAt.Wall())}
		if c.Finding != "" {
			d.Finding = h.tr.T("public.case.finding." + string(c.Kind) + "." + string(c.Finding))
		}
		if e := closingEvent(c); e != nil {
			if d.Evidence, err = h.evidenceViews(e.Evidence, c.Office, homeLink); err != nil {
				return row, err
			}
		}
		row.Decision = d
	}
	if c.Record != nil {
		if pr, err := h.publishedRecord(store.Ref{Office: c.Office, ID: *c.Record}); err == nil {
			row.RecordHref = homeLink + recordHref(pr.ref())
			row.RecordName = h.tr.T("public.record.type." + string(pr.Type))
		}
	}
	return row, nil
}

// closingEvent is the event that closed the case.
func closingEvent(c *store.Case) *store.CaseEvent {
	for i := range c.History {
		if e := &c.History[i]; e.Step == c.ClosedBy && e.HLC == c.ClosedAt {
			return e
		}
	}
	return nil
}

// evidenceViews describes files for a table: name, size, hash and, when
// the content is here, the link.
func (h *handler) evidenceViews(hs []protocol.Hash, o office.Code, homeLink string) ([]evidenceView, error) {
	var out []evidenceView
	for _, x := range hs {
		ev, err := h.evidenceInfo(x, o)
		if err != nil {
			return nil, err
		}
		name := ev.Name
		if name == "" {
			name = h.tr.T("public.evidence.unnamed")
		}
		v := evidenceView{Name: name, Size: fmtSize(ev.Size), Hash: x.String()}
		if ev.Available {
			v.Href = homeLink + "evidence/" + x.String()
		}
		out = append(out, v)
	}
	return out, nil
}

// stepView is one step of a case's history on the tracking page.
type stepView struct {
	Time, TimeISO, Name, Text string
	LinkHref, LinkText        string
}

// caseSteps is a case's history as the filer sees it: no drafts, no
// names, no reason for sending a reply back (it discusses a reply that was
// never public), nothing after the case closed but the records created
// from it.
func (h *handler) caseSteps(c *store.Case, homeLink string) []stepView {
	var out []stepView
	closed := false
	for _, e := range c.History {
		t := e.HLC.Wall().In(cst)
		s := stepView{Time: fmtTime(t), TimeISO: t.Format(time.RFC3339)}
		if closed && e.Step != domain.CaseLinked {
			continue
		}
		switch e.Step {
		case domain.CaseOpened:
			t = time.UnixMilli(c.Filed).In(cst)
			s.Time, s.TimeISO, s.Name = fmtTime(t), t.Format(time.RFC3339), h.tr.T("public.case.step.opened")
		case domain.CaseAssigned:
			s.Name = h.tr.T("public.case.step.assigned")
			switch {
			case e.AckDue != "" && e.AnswerDue != "":
				s.Text = h.tr.T("public.case.deadlines_both", e.AckDue, e.AnswerDue)
			case e.AnswerDue != "":
				s.Text = h.tr.T("public.case.deadline_answer", e.AnswerDue)
			}
		case domain.CaseAcknowledged, domain.CaseApproved, domain.CaseReturned:
			s.Name = h.tr.T("public.case.step." + string(e.Step))
		case domain.CaseAccepted, domain.CaseDecided, domain.CaseWithdrawn:
			closed = true
			s.Name, s.Text = h.tr.T("public.case.closed_by."+string(e.Step)), e.Text
			if e.Finding != "" {
				s.Name += " · " + h.tr.T("public.case.finding."+string(c.Kind)+"."+string(e.Finding))
			}
		case domain.CaseLinked:
			s.Name = h.tr.T("public.case.step.linked")
			if e.Record != nil {
				if pr, err := h.publishedRecord(store.Ref{Office: c.Office, ID: *e.Record}); err == nil {
					s.LinkHref, s.LinkText = homeLink+recordHref(pr.ref()), h.tr.T("public.record.view")
				}
			}
		default:
			continue // drafts, and steps this page does not know yet
		}
		out = append(out, s)
	}
	return out
}
