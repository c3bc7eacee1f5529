package vm

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/report"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// The annual report (年度践诺情况报告, §六(三)) as the app prepares it: the
// statistics of the year (report.AnnualFigures), the leader's narrative
// and the notable commitments chosen from the year's list, previewed,
// then signed and submitted; a later submission supersedes it and every
// version stays listed. On a county-admin device the same screen shows
// which townships have submitted, urges the late ones, and compiles and
// signs the county's report from theirs.

// NotableCandidate is a commitment the leader may list as notable.
type NotableCandidate struct {
	Ref    store.Ref
	Title  string
	Office string // its office's name (a county's candidates are its townships')
	Status Message
}

// AnnualReport is the annual report screen of one year.
type AnnualReport struct {
	se   *store.Session
	cal  *calendar.Calendar
	sync func()

	Year    int
	Unit    office.Unit
	AsOf    calendar.Date
	Figures []protocol.ReportFigure
	// Candidates are the commitments in force during the year (the
	// office's; a county's: those its townships listed as notable).
	Candidates []NotableCandidate
	// Report is what was submitted so far; nil if nothing.
	Report *store.AnnualReport
	// Narrative and Notable are the form's, prefilled from the current
	// version.
	Narrative string
	Notable   []store.Ref
	// CanSubmit says whether the signed-in user signs the report; Why is
	// why not.
	CanSubmit bool
	Why       Message
	// County is a county-admin device's screen; Parts where each of its
	// townships stands.
	County bool
	Parts  []report.ReportStatus

	cs []store.Commitment
}

// NewAnnualReport returns the screen's view-model for se; sync is called
// after a submission (nil: nothing).
func NewAnnualReport(se *store.Session, cal *calendar.Calendar, sync func()) *AnnualReport {
	if sync == nil {
		sync = func() {}
	}
	a := &AnnualReport{se: se, cal: cal, sync: sync, County: se.Device().Admin}
	acct := se.Account()
	switch {
	case a.County && acct.Role == domain.RoleCountyAdmin, !a.County && acct.Role.AtLeast(domain.RoleLeader):
		a.CanSubmit = true
	default:
		a.Why = Msg("annual.only_leader")
	}
	a.Unit = office.Unit{Code: se.Device().Office, Name: string(se.Device().Office)}
	if u, ok := office.Luoyang().Lookup(se.Device().Office); ok {
		a.Unit = u
	}
	return a
}

// Load reads the year's figures, candidates and reports on day today.
func (a *AnnualReport) Load(year int, today calendar.Date) error {
	o := a.Unit.Code
	st := a.se.Store()
	cs, err := st.AllCommitments()
	if err != nil {
		return err
	}
	reps, err := st.AnnualReports(store.ReportFilter{Office: o, Year: year})
	if err != nil {
		return err
	}
	a.Year, a.cs, a.Report, a.Parts = year, cs, nil, nil
	a.AsOf, a.Figures = report.AnnualFigures(cs, o, year, today, a.cal)
	for i := range reps {
		if reps[i].Office == o && reps[i].Version > 0 {
			a.Report = &reps[i]
		}
	}
	names := report.Names(a.Unit)
	a.Candidates = nil
	if a.County {
		a.Parts = report.ReportStatuses(reps, countyTownships(cs, reps, o), year, today)
		seen := map[store.Ref]bool{}
		for _, p := range a.Parts {
			if p.Report == nil {
				continue
			}
			for _, it := range report.NotableItems(p.Report.Current.Notable, cs, names) {
				if !seen[it.Ref] {
					seen[it.Ref] = true
					a.Candidates = append(a.Candidates, NotableCandidate{Ref: it.Ref, Title: it.Title, Office: it.Office, Status: StatusMessage(it.Status)})
				}
			}
		}
	} else {
		var mine []store.Commitment
		for _, c := range cs {
			if c.Office == o {
				mine = append(mine, c)
			}
		}
		scope := report.AnnualScope(mine, year)
		// The year's list as the leader reads it: by start, then title.
		slices.SortStableFunc(scope, func(x, y store.Commitment) int {
			if c := x.Start().Compare(y.Start()); c != 0 {
				return c
			}
			return strings.Compare(x.Title, y.Title)
		})
		for _, c := range scope {
			a.Candidates = append(a.Candidates, NotableCandidate{Ref: c.Ref, Title: c.Title, Office: names(c.Office), Status: StatusMessage(c.Status)})
		}
	}
	a.Narrative, a.Notable = "", nil
	if a.Report != nil {
		a.Narrative, a.Notable = a.Report.Current.Narrative, slices.Clone(a.Report.Current.Notable)
	}
	return nil
}

// countyTownships are the townships of county with a commitment or a
// report on the replica, in code order.
func countyTownships(cs []store.Commitment, reps []store.AnnualReport, county office.Code) []office.Unit {
	seen := map[office.Code]bool{}
	for _, c := range cs {
		seen[c.Office] = true
	}
	for _, r := range reps {
		seen[r.Office] = true
	}
	var codes []office.Code
	for o := range seen {
		if o.Level() == office.Township && county.Contains(o) {
			codes = append(codes, o)
		}
	}
	slices.Sort(codes)
	out := make([]office.Unit, 0, len(codes))
	for _, o := range codes {
		u, ok := office.Luoyang().Lookup(o)
		if !ok {
			u = office.Unit{Code: o, Name: string(o)}
		}
		out = append(out, u)
	}
	return out
}

// Toggle adds a candidate to the notable commitments, or takes it out.
func (a *AnnualReport) Toggle(ref store.Ref, on bool) {
	i := slices.Index(a.Notable, ref)
	switch {
	case on && i < 0:
		a.Notable = append(a.Notable, ref)
	case !on && i >= 0:
		a.Notable = slices.Delete(a.Notable, i, i+1)
	}
}

// Validate checks the form: a narrative within the limit, at most
// protocol.MaxNotable notable commitments. The map is keyed by field
// ("narrative", "notable").
func (a *AnnualReport) Validate() map[string]Message {
	out := map[string]Message{}
	switch {
	case !domain.NonBlank(a.Narrative):
		out["narrative"] = Msg("annual.err_narrative")
	case len(a.Narrative) > protocol.MaxNarrativeBytes || domain.CheckText("narrative", a.Narrative, protocol.MaxNarrativeBytes) != nil:
		out["narrative"] = Msg("annual.err_narrative_long", utf8.RuneCountInString(a.Narrative))
	}
	if len(a.Notable) > protocol.MaxNotable {
		out["notable"] = Msg("annual.err_notable", protocol.MaxNotable)
	}
	return out
}

// Preview is the report as it would be signed, on day today.
func (a *AnnualReport) Preview(today calendar.Date) report.AnnualDoc {
	names := report.Names(a.Unit)
	return report.AnnualDoc{Unit: a.Unit, Year: a.Year, AsOf: a.AsOf, Narrative: a.Narrative, Figures: a.Figures,
		Notable: report.NotableItems(a.Notable, a.cs, names), Parts: a.Parts, Printed: today}
}

// Submitted is the current submitted version as the exports print it;
// ok is false before the first submission.
func (a *AnnualReport) Submitted(today calendar.Date) (report.AnnualDoc, bool) {
	if a.Report == nil {
		return report.AnnualDoc{}, false
	}
	return report.NewAnnualDoc(a.Report, a.Unit, a.cs, report.Names(a.Unit), a.Parts, today), true
}

// Submit signs and submits the report as the form has it, then reloads.
// Refusals: the form's messages (*FormError), and the store's.
func (a *AnnualReport) Submit(today calendar.Date) error {
	if bad := a.Validate(); len(bad) > 0 {
		return &FormError{Fields: bad}
	}
	in := store.ReportInput{Year: a.Year, AsOf: a.AsOf, Narrative: a.Narrative, Notable: a.Notable, Figures: a.Figures}
	for _, p := range a.Parts {
		if p.Report != nil {
			in.Sources = append(in.Sources, p.Report.Current.Op)
		}
	}
	if _, err := a.se.SubmitAnnualReport(in); err != nil {
		return err
	}
	a.sync()
	return a.Load(a.Year, today)
}

// Versions lists the submitted versions, newest first: number, who signed
// it and when.
func (a *AnnualReport) Versions(people *store.People) []Message {
	if a.Report == nil {
		return nil
	}
	var out []Message
	for i := len(a.Report.History) - 1; i >= 0; i-- {
		v := a.Report.History[i]
		out = append(out, Msg("annual.version", i+1, people.Name(v.Op.Device, v.Author), domain.ChinaDate(v.HLC.Wall().UnixMilli()).String()))
	}
	return out
}

// Status says where the report stands: not submitted (and how long to the
// deadline), or submitted, on time or late.
func (a *AnnualReport) Status(today calendar.Date) Message {
	deadline := report.AnnualDeadline(a.Year)
	switch {
	case a.Report == nil && today.After(deadline):
		return Msg("annual.state_missing", deadline.String())
	case a.Report == nil:
		return Msg("annual.state_pending", deadline.String())
	case a.Report.FirstSubmitted().After(deadline):
		return Msg("annual.state_late", a.Report.Version, a.Report.FirstSubmitted().String())
	}
	return Msg("annual.state_on_time", a.Report.Version, a.Report.FirstSubmitted().String())
}

// RemindLate urges, on a county-admin device, every township that has not
// submitted its report of the year, with note; it returns how many.
func (a *AnnualReport) RemindLate(note string) (int, error) {
	if !domain.NonBlank(note) {
		return 0, &FormError{Fields: map[string]Message{"note": Msg("annual.err_note")}}
	}
	n := 0
	for _, p := range a.Parts {
		if p.Report != nil {
			continue
		}
		if _, err := a.se.Urge(store.UrgeInput{Office: p.Unit.Code, Year: a.Year, Note: note}); err != nil {
			return n, err
		}
		n++
	}
	if n > 0 {
		a.sync()
	}
	return n, nil
}

// FigureRow is a row of a report's figures as the screens show them: the
// category's name and its counts, the on-time rate last; Total marks the
// totals row.
type FigureRow struct {
	Cells []string
	Total bool
}

// FigureRows lays d's figures out, a row per category and the totals,
// names from t.
func FigureRows(d report.AnnualDoc, t func(key string) string) []FigureRow {
	row := func(name string, f protocol.ReportFigure, total bool) FigureRow {
		rate := t("report.rate_none")
		if v, ok := report.FigureRate(f); ok {
			rate = report.FormatPercent(v * 100)
		}
		cells := []string{name}
		for _, n := range []uint32{f.Total, f.OnTime, f.Late, f.Partly, f.Breached, f.Open, f.Overdue} {
			cells = append(cells, strconv.Itoa(int(n)))
		}
		return FigureRow{Cells: append(cells, rate), Total: total}
	}
	var out []FigureRow
	for _, f := range d.Figures {
		name := f.Category
		if domain.Category(f.Category).Valid() {
			name = t("category." + f.Category)
		}
		out = append(out, row(name, f, false))
	}
	return append(out, row(t("report.total"), d.Totals(), true))
}
