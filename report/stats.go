package report

import (
	"cmp"
	"slices"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/store"
)

// Months is the length of the monthly series: the twelve months ending with
// today's month.
const Months = 12

// cst is China Standard Time, in which a stamp's wall time becomes a date.
// China has no daylight saving time, so a fixed zone is exact and needs no
// tzdata in a static binary.
var cst = time.FixedZone("CST", 8*3600)

// statusIndex maps the known statuses to small integers for counting.
var statusIndex = func() map[domain.Status]int {
	m := map[domain.Status]int{}
	for i, s := range domain.Statuses() {
		m[s] = i
	}
	return m
}()

var allStatuses = domain.Statuses()

// maxStatuses bounds the counting arrays; a new status beyond it is a build
// defect caught at start-up and by the tests.
const maxStatuses = 16

func init() {
	if len(allStatuses) > maxStatuses {
		panic("report: more statuses than maxStatuses")
	}
}

// HasVerdict reports whether a commitment in status s has been closed with a
// verdict on how it was kept: fulfilled on time, fulfilled late, partly
// fulfilled or breached. Only these count in an on-time rate. Partly
// fulfilled may still become fulfilled late or breached; it counts with the
// verdict it has today.
func HasVerdict(s domain.Status) bool {
	switch s {
	case domain.StatusFulfilledOnTime, domain.StatusFulfilledLate,
		domain.StatusPartlyFulfilled, domain.StatusBreached:
		return true
	}
	return false
}

// Tally counts a set of commitments (all of them, a category, a month of
// verdicts, an office).
type Tally struct {
	// Total is every commitment counted, drafts and withdrawn included.
	Total int `json:"total"`
	// ByStatus has every known status as a key (zero counts included).
	// A commitment with an unknown status is in Total and Unknown only.
	ByStatus map[domain.Status]int `json:"by_status"`
	Unknown  int                   `json:"unknown,omitempty"`

	// The verdicts: ByStatus of the four verdict statuses, repeated for
	// convenience.
	OnTime   int `json:"on_time"`
	Late     int `json:"late"`
	Partly   int `json:"partly"`
	Breached int `json:"breached"`

	// Open is published + in progress: commitments still to be kept.
	Open int `json:"open"`
	// Overdue and DueSoon are open commitments past their deadline, and
	// due within domain.DueSoonWorkdays working days (today included).
	Overdue int `json:"overdue"`
	DueSoon int `json:"due_soon"`
	// Conflicted is how many have a field awaiting county reconciliation.
	Conflicted int `json:"conflicted"`
}

// Closed is the number of commitments with a verdict: on time + late +
// partly + breached. Withdrawn commitments are not in it.
func (t Tally) Closed() int { return t.OnTime + t.Late + t.Partly + t.Breached }

// OnTimeRate is OnTime ÷ Closed, between 0 and 1; ok is false when nothing
// has a verdict yet (the rate is then undefined, not 0 or 100 %).
func (t Tally) OnTimeRate() (rate float64, ok bool) { return ratio(t.OnTime, t.Closed()) }

// OverdueShare is Overdue ÷ Open, between 0 and 1; ok is false when nothing
// is open. The county overview watches it for early warning (§三(四)).
func (t Tally) OverdueShare() (share float64, ok bool) { return ratio(t.Overdue, t.Open) }

func ratio(n, d int) (float64, bool) {
	if d == 0 {
		return 0, false
	}
	return float64(n) / float64(d), true
}

// CategoryStats is the tally of one category.
type CategoryStats struct {
	Category domain.Category `json:"category"`
	Tally
}

// MonthStats counts the verdicts dated (by ClosedOn) in one month.
type MonthStats struct {
	Year     int        `json:"year"`
	Month    time.Month `json:"month"`
	OnTime   int        `json:"on_time"`
	Late     int        `json:"late"`
	Partly   int        `json:"partly"`
	Breached int        `json:"breached"`
}

// Closed is the number of verdicts in the month.
func (m MonthStats) Closed() int { return m.OnTime + m.Late + m.Partly + m.Breached }

// OnTimeRate is OnTime ÷ Closed for the month; ok is false for a month with
// no verdict.
func (m MonthStats) OnTimeRate() (rate float64, ok bool) { return ratio(m.OnTime, m.Closed()) }

// DueItem is an open commitment on the due-soon or overdue list.
type DueItem struct {
	Commitment store.Commitment `json:"commitment"`
	Due        domain.Due       `json:"due"`
}

// Stats is what the dashboard shows for a set of commitments on one day.
type Stats struct {
	Today calendar.Date `json:"today"`
	// All is the tally of every commitment.
	All Tally `json:"all"`
	// ByCategory has the fourteen public services of §五(七) always (a
	// zero row shows a service with no commitment), then every other
	// category that has at least one commitment, in domain.Categories
	// order, then unknown categories by name.
	ByCategory []CategoryStats `json:"by_category"`
	// ByMonth is the twelve months ending with today's month, oldest first.
	ByMonth []MonthStats `json:"by_month"`
	// DueSoon lists open commitments due within domain.DueSoonWorkdays
	// working days, nearest deadline first. Ties keep the input order
	// (AllCommitments gives office, then ID).
	DueSoon []DueItem `json:"due_soon"`
	// Overdue lists open commitments past their deadline, most days
	// overdue first; ties as for DueSoon.
	Overdue []DueItem `json:"overdue"`
}

// Category returns the tally of category c (zero if it has none).
func (s *Stats) Category(c domain.Category) Tally {
	for _, cs := range s.ByCategory {
		if cs.Category == c {
			return cs.Tally
		}
	}
	return Tally{ByStatus: zeroByStatus()}
}

// ClosedOn dates a commitment's verdict for the monthly series: the date of
// its latest fulfilment entry (the day staff recorded as the day work was
// done), or, if it has no entry, the day in China Standard Time of its
// newest operation (normally the closing transition itself). ok is false if
// neither is known. It is meaningful only for a commitment with a verdict.
//
// The exact stamp of the status change is in store.History, but reading
// that costs a transaction per commitment and gives the day the button was
// pressed, not the day the work was done; entry dates are in the view.
func ClosedOn(c *store.Commitment) (calendar.Date, bool) {
	if c.LastEntry != nil && !c.LastEntry.Date.IsZero() {
		return c.LastEntry.Date, true
	}
	if c.UpdatedAt != 0 {
		return calendar.DateOf(c.UpdatedAt.Wall().In(cst)), true
	}
	return calendar.Date{}, false
}

// counter accumulates a Tally with arrays; it becomes a Tally at the end.
type counter struct {
	total, unknown            int
	by                        [maxStatuses]int
	open, overdue, soon, conf int
}

func (k *counter) add(c *store.Commitment, due domain.DueState) {
	k.total++
	if i, ok := statusIndex[c.Status]; ok {
		k.by[i]++
	} else {
		k.unknown++
	}
	if c.Status.Open() {
		k.open++
	}
	switch due {
	case domain.DueOverdue:
		k.overdue++
	case domain.DueSoon:
		k.soon++
	}
	if len(c.Conflicted) > 0 {
		k.conf++
	}
}

func (k *counter) tally() Tally {
	t := Tally{Total: k.total, Unknown: k.unknown, ByStatus: make(map[domain.Status]int, len(allStatuses)),
		Open: k.open, Overdue: k.overdue, DueSoon: k.soon, Conflicted: k.conf}
	for i, s := range allStatuses {
		t.ByStatus[s] = k.by[i]
	}
	t.OnTime = t.ByStatus[domain.StatusFulfilledOnTime]
	t.Late = t.ByStatus[domain.StatusFulfilledLate]
	t.Partly = t.ByStatus[domain.StatusPartlyFulfilled]
	t.Breached = t.ByStatus[domain.StatusBreached]
	return t
}

func zeroByStatus() map[domain.Status]int {
	m := make(map[domain.Status]int, len(allStatuses))
	for _, s := range allStatuses {
		m[s] = 0
	}
	return m
}

// monthNumber numbers months consecutively: year*12 + month-1.
func monthNumber(d calendar.Date) int { return d.Year*12 + int(d.Month) - 1 }

// Compute derives the dashboard statistics of cs on the day today, with
// working days from cal. It is a pure function of its arguments and does
// not keep or modify cs.
func Compute(cs []store.Commitment, today calendar.Date, cal *calendar.Calendar) Stats {
	today = calendar.NewDate(today.Year, today.Month, today.Day) // normalised
	var all counter
	cats := make(map[domain.Category]*counter, 24)
	first := monthNumber(today) - (Months - 1)
	var months [Months]MonthStats
	for i := range months {
		n := first + i
		months[i].Year, months[i].Month = n/12, time.Month(n%12+1)
	}
	// The lists are gathered as indexes and sorted before copying the
	// views: a view is a few hundred bytes, and overdue lists can be long.
	var soon, overdue []dueKey

	for i := range cs {
		c := &cs[i]
		state := domain.DueNone
		if c.Status.Open() {
			d := domain.ComputeDue(c.Status, c.Start(), c.DeadlineValue(), today, cal)
			state = d.State
			switch d.State {
			case domain.DueSoon:
				soon = append(soon, dueKey{i: i, due: d})
			case domain.DueOverdue:
				overdue = append(overdue, dueKey{i: i, due: d})
			}
		}
		all.add(c, state)
		k := cats[c.Category]
		if k == nil {
			k = &counter{}
			cats[c.Category] = k
		}
		k.add(c, state)

		if HasVerdict(c.Status) {
			if on, ok := ClosedOn(c); ok {
				if m := monthNumber(on) - first; m >= 0 && m < Months {
					switch c.Status {
					case domain.StatusFulfilledOnTime:
						months[m].OnTime++
					case domain.StatusFulfilledLate:
						months[m].Late++
					case domain.StatusPartlyFulfilled:
						months[m].Partly++
					case domain.StatusBreached:
						months[m].Breached++
					}
				}
			}
		}
	}

	s := Stats{Today: today, All: all.tally(), ByMonth: months[:]}
	known := domain.Categories()
	for i, c := range known {
		k := cats[c]
		if k == nil && i >= len(domain.PublicServiceCategories()) {
			continue
		}
		if k == nil {
			k = &counter{}
		}
		s.ByCategory = append(s.ByCategory, CategoryStats{Category: c, Tally: k.tally()})
	}
	var unknown []domain.Category
	for c := range cats {
		if !c.Valid() {
			unknown = append(unknown, c)
		}
	}
	slices.Sort(unknown)
	for _, c := range unknown {
		s.ByCategory = append(s.ByCategory, CategoryStats{Category: c, Tally: cats[c].tally()})
	}

	slices.SortFunc(soon, func(a, b dueKey) int {
		return cmp.Or(a.due.Date.Compare(b.due.Date), cmp.Compare(a.i, b.i))
	})
	slices.SortFunc(overdue, func(a, b dueKey) int {
		return cmp.Or(cmp.Compare(b.due.DaysOverdue, a.due.DaysOverdue), cmp.Compare(a.i, b.i))
	})
	s.DueSoon, s.Overdue = dueItems(cs, soon), dueItems(cs, overdue)
	return s
}

// dueKey is an entry of a due list before it is sorted: the index of the
// commitment in the input and its due state.
type dueKey struct {
	i   int
	due domain.Due
}

func dueItems(cs []store.Commitment, keys []dueKey) []DueItem {
	if len(keys) == 0 {
		return nil
	}
	out := make([]DueItem, len(keys))
	for j, k := range keys {
		out[j] = DueItem{Commitment: cs[k.i], Due: k.due}
	}
	return out
}

func cmpRef(a, b store.Ref) int {
	return cmp.Or(cmp.Compare(a.Office, b.Office), slices.Compare(a.ID[:], b.ID[:]))
}

// ByOffice computes Stats separately for each office in cs: the county
// overview by township. Each office's Stats is what Compute gives for that
// office's commitments alone.
func ByOffice(cs []store.Commitment, today calendar.Date, cal *calendar.Calendar) map[office.Code]Stats {
	groups := map[office.Code][]store.Commitment{}
	for i := range cs {
		groups[cs[i].Office] = append(groups[cs[i].Office], cs[i])
	}
	out := make(map[office.Code]Stats, len(groups))
	for o, g := range groups {
		out[o] = Compute(g, today, cal)
	}
	return out
}

// TallyByOffice counts cs by office, each office's Tally as Compute's All
// for that office's commitments alone, without the rest of Stats: the
// county overview's figures.
func TallyByOffice(cs []store.Commitment, today calendar.Date, cal *calendar.Calendar) map[office.Code]Tally {
	today = calendar.NewDate(today.Year, today.Month, today.Day) // normalised, as Compute
	counters := map[office.Code]*counter{}
	for i := range cs {
		c := &cs[i]
		state := domain.DueNone
		if c.Status.Open() {
			state = domain.ComputeDue(c.Status, c.Start(), c.DeadlineValue(), today, cal).State
		}
		k := counters[c.Office]
		if k == nil {
			k = &counter{}
			counters[c.Office] = k
		}
		k.add(c, state)
	}
	out := make(map[office.Code]Tally, len(counters))
	for o, k := range counters {
		out[o] = k.tally()
	}
	return out
}

// Offices returns the keys of a ByOffice (or TallyByOffice) result in code
// order, for a table.
func Offices[V any](m map[office.Code]V) []office.Code {
	out := make([]office.Code, 0, len(m))
	for o := range m {
		out = append(out, o)
	}
	slices.Sort(out)
	return out
}

// AnnualAsOf is the day an annual report for year is reckoned on: 31
// December of that year, or today if that is earlier (a report on the year
// in progress). Overdue is judged on this day.
func AnnualAsOf(year int, today calendar.Date) calendar.Date {
	end := calendar.NewDate(year, time.December, 31)
	if today.Before(end) {
		return today
	}
	return end
}

// AnnualScope returns the commitments an annual report for year counts:
// those in force at some time during the year. That is every commitment
// that is neither a draft nor withdrawn, that had started by 31 December
// (start date, or if it has none the day it was created; with neither it
// counts), and that did not get its verdict before 1 January (ClosedOn).
// The order of cs is kept.
func AnnualScope(cs []store.Commitment, year int) []store.Commitment {
	first := calendar.NewDate(year, time.January, 1)
	last := calendar.NewDate(year, time.December, 31)
	var out []store.Commitment
	for i := range cs {
		c := &cs[i]
		if c.Status == domain.StatusDraft || c.Status == domain.StatusWithdrawn {
			continue
		}
		start := c.Start()
		if start.IsZero() && c.CreatedAt != 0 {
			start = calendar.DateOf(c.CreatedAt.Wall().In(cst))
		}
		if !start.IsZero() && start.After(last) {
			continue
		}
		if HasVerdict(c.Status) {
			if on, ok := ClosedOn(c); ok && on.Before(first) {
				continue
			}
		}
		out = append(out, *c)
	}
	return out
}

// Annual is the annual report of fulfilment by category (§六(三)) for one
// year: Compute on AnnualScope, reckoned on AnnualAsOf.
func Annual(cs []store.Commitment, year int, today calendar.Date, cal *calendar.Calendar) Stats {
	return Compute(AnnualScope(cs, year), AnnualAsOf(year, today), cal)
}
