package public

import (
	"cmp"
	"errors"
	"slices"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// record is everything the public may see of one commitment. It is built
// from the store for the detail page and the JSON feed; it holds no author
// names, device IDs or operation IDs.
type record struct {
	C            store.Commitment
	Office       office.Unit // Name is the code when the directory lacks it
	County       office.Unit
	PublishedAt  time.Time
	StatusReason string // the reason given for the current status, if any
	Deadline     deadline
	Due          domain.Due
	History      []statusChange // status changes from publication on, oldest first
	Amendments   []amendment    // changes after publication, oldest first
	Entries      []entry        // fulfilment timeline, by date
	Evidence     []evidence     // every file the entries cite, in first-cited order
}

type deadline struct {
	Kind      string // "none", "date" or "workdays"
	Days      int    // for workdays
	Date      calendar.Date
	Estimated bool // the calendar does not cover the year: Monday–Friday estimate
}

type statusChange struct {
	Status domain.Status
	Time   time.Time
	Reason string
}

type amendment struct {
	Version int    // the version it created; 0 for a county admin's reconciliation
	Kind    string // "amend" or "resolve"
	Time    time.Time
	Reason  string
	Changes []fieldChange
}

type fieldChange struct {
	Field domain.Field
	From  string // stored form; "" when the previous value is not single
	To    string
}

type entry struct {
	Date     calendar.Date
	Progress int
	Note     string
	Time     time.Time // when it was recorded
	Evidence []protocol.Hash
}

type evidence struct {
	Hash      protocol.Hash
	Name      string
	MIME      string
	Size      int64
	Available bool // the content has arrived on this node
}

// errHidden means the commitment exists but is not shown; callers answer
// exactly as for one that does not exist.
var errHidden = errors.New("not public")

// loadRecord reads one commitment and everything shown about it, or
// errHidden / store.ErrNotFound.
func (h *handler) loadRecord(ref store.Ref) (*record, error) {
	c, err := h.st.Commitment(ref)
	if err != nil {
		return nil, err
	}
	if !candidate(&c) {
		return nil, errHidden
	}
	versions, err := h.st.History(ref)
	if err != nil {
		return nil, err
	}
	var status []store.Version
	for _, v := range versions {
		if v.Field == domain.FieldStatus {
			status = append(status, v)
		}
	}
	if !publishedOnce(status) {
		return nil, errHidden
	}
	r := &record{C: c, Office: h.unit(c.Office), County: h.unit(c.Office.County())}

	// Publication: the first status version that published it. Everything
	// stamped before it is the draft and is never shown.
	var pubHLC protocol.HLC
	for _, v := range status {
		if v.Value == string(domain.StatusPublished) {
			pubHLC = v.HLC
			r.PublishedAt = v.HLC.Wall().In(cst)
			break
		}
	}
	for _, v := range status {
		if v.HLC < pubHLC || v.Value == string(domain.StatusDraft) {
			continue
		}
		r.History = append(r.History, statusChange{Status: domain.Status(v.Value), Time: v.HLC.Wall().In(cst), Reason: v.Reason})
		if v.Value == string(c.Status) {
			r.StatusReason = v.Reason // the latest version with the current value
		}
	}

	r.Deadline, r.Due = h.resolveDeadline(&c)
	if c.Version > 1 || slices.ContainsFunc(versions, func(v store.Version) bool { return v.Kind == "resolve" }) {
		if r.Amendments, err = h.amendments(ref, versions, pubHLC); err != nil {
			return nil, err
		}
	}
	var entries []store.Entry
	if c.Entries > 0 {
		if entries, err = h.st.Entries(ref); err != nil {
			return nil, err
		}
	}
	seen := map[protocol.Hash]bool{}
	var cited []protocol.Hash
	for _, e := range entries {
		if e.HLC < pubHLC {
			continue
		}
		r.Entries = append(r.Entries, entry{Date: e.Date, Progress: e.Progress, Note: e.Note,
			Time: e.HLC.Wall().In(cst), Evidence: slices.Clone(e.Evidence)})
		for _, hs := range e.Evidence {
			if !seen[hs] {
				seen[hs] = true
				cited = append(cited, hs)
			}
		}
	}
	slices.SortStableFunc(r.Entries, func(a, b entry) int {
		if c := a.Date.Compare(b.Date); c != 0 {
			return c
		}
		return a.Time.Compare(b.Time)
	})
	for _, hs := range cited {
		ev, err := h.evidenceInfo(hs, c.Office)
		if err != nil {
			return nil, err
		}
		r.Evidence = append(r.Evidence, ev)
	}
	return r, nil
}

// amendments returns the content changes after publication: every
// amendment with its reason, and every reconciliation of a content field by
// the county admin, with the value before (when it was a single value) and
// after.
func (h *handler) amendments(ref store.Ref, versions []store.Version, pubHLC protocol.HLC) ([]amendment, error) {
	type key struct {
		op protocol.OpID
		f  domain.Field
	}
	byOp := map[key]store.Version{}
	for _, v := range versions {
		byOp[key{v.Op, v.Field}] = v
	}
	change := func(v store.Version) fieldChange {
		fc := fieldChange{Field: v.Field, To: v.Value}
		if len(v.Base) == 1 {
			if prev, ok := byOp[key{v.Base[0], v.Field}]; ok {
				fc.From = prev.Value
			}
		}
		return fc
	}
	ams, err := h.st.Amendments(ref)
	if err != nil {
		return nil, err
	}
	var out []amendment
	for _, a := range ams {
		am := amendment{Version: a.Version, Kind: "amend", Time: a.HLC.Wall().In(cst), Reason: a.Reason}
		for _, f := range a.Fields {
			if v, ok := byOp[key{a.Op, f}]; ok {
				am.Changes = append(am.Changes, change(v))
			}
		}
		out = append(out, am)
	}
	// Reconciliations of content after publication, grouped by operation.
	resolves := map[protocol.OpID]*amendment{}
	var order []protocol.OpID
	for _, v := range versions {
		if v.Kind != "resolve" || !v.Field.Content() || v.HLC < pubHLC {
			continue
		}
		am, ok := resolves[v.Op]
		if !ok {
			am = &amendment{Kind: "resolve", Time: v.HLC.Wall().In(cst), Reason: v.Reason}
			resolves[v.Op] = am
			order = append(order, v.Op)
		}
		fc := change(v)
		fc.From = "" // it replaced competing values, not one
		am.Changes = append(am.Changes, fc)
	}
	for _, op := range order {
		out = append(out, *resolves[op])
	}
	slices.SortStableFunc(out, func(a, b amendment) int { return a.Time.Compare(b.Time) })
	for i := range out {
		slices.SortFunc(out[i].Changes, func(a, b fieldChange) int {
			return cmp.Compare(slices.Index(domain.Fields(), a.Field), slices.Index(domain.Fields(), b.Field))
		})
	}
	return out, nil
}

// evidenceInfo describes a cited file: its metadata as recorded for the
// commitment's office (or its county), else the first recorded.
func (h *handler) evidenceInfo(hs protocol.Hash, o office.Code) (evidence, error) {
	ev := evidence{Hash: hs}
	metas, err := h.st.EvidenceMeta(hs)
	if err != nil {
		return ev, err
	}
	for i, m := range metas {
		if i == 0 || m.Office == o || m.Office.Contains(o) {
			ev.Name, ev.MIME, ev.Size = m.Name, m.MIME, m.Size
			if m.Office == o {
				break
			}
		}
	}
	ev.Available, err = h.st.HasEvidence(hs)
	return ev, err
}

// resolveDeadline gives the deadline's calendar date (working days counted
// with the holiday calendar from the start date) and where the commitment
// stands against it today.
func (h *handler) resolveDeadline(c *store.Commitment) (deadline, domain.Due) {
	dl := c.DeadlineValue()
	var d deadline
	switch dl.Kind {
	case domain.DeadlineDate:
		d.Kind, d.Date = "date", dl.Date
	case domain.DeadlineWorkdays:
		d.Kind, d.Days = "workdays", dl.Days
		due, ok, err := dl.Resolve(c.Start(), h.cal)
		if ok {
			d.Date, d.Estimated = due, err != nil
		}
	default:
		d.Kind = "none"
	}
	due := domain.ComputeDue(c.Status, c.Start(), dl, h.today(), h.cal)
	return d, due
}

func (h *handler) today() calendar.Date { return calendar.DateOf(h.now().In(cst)) }

// unit returns the directory's unit for a code, or a unit named by its
// code when the directory does not know it.
func (h *handler) unit(c office.Code) office.Unit {
	if u, ok := h.dir.Lookup(c); ok {
		return u
	}
	return office.Unit{Code: c, Name: string(c)}
}

// everShown reports whether a commitment was shown at some moment of its
// history (public, published and not draft), replaying its versions in
// order: the changes feed then tells the platform to take down one that is
// no longer shown, and says nothing of one that never was.
func everShown(versions []store.Version) bool {
	public, status, published := false, "", false
	for _, v := range versions {
		switch v.Field {
		case domain.FieldPublic:
			public = v.Value == "true"
		case domain.FieldStatus:
			status = v.Value
			published = published || v.Value == string(domain.StatusPublished)
		}
		if public && published && status != string(domain.StatusDraft) {
			return true
		}
	}
	return false
}
