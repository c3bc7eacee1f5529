package calendar

import (
	"fmt"
	"sort"
	"time"
)

// DayKind classifies a day for working-day arithmetic. The zero value is not
// a valid kind, so an unset field is never mistaken for a working day.
type DayKind uint8

// The kinds a Calendar assigns. Workday and AdjustedWorkday are working days;
// Weekend and Holiday are not.
const (
	// Workday is an ordinary Monday–Friday working day.
	Workday DayKind = iota + 1
	// Weekend is a Saturday or Sunday that is not an adjusted workday.
	Weekend
	// Holiday is a statutory holiday or a day off given by 调休, on any
	// weekday (weekend days inside a holiday period are Holiday too).
	Holiday
	// AdjustedWorkday is a Saturday or Sunday made a working day (调休上班).
	AdjustedWorkday
)

// String returns "workday", "weekend", "holiday" or "adjusted_workday"
// (stable, suitable for storage and APIs), or "DayKind(N)" for invalid values.
func (k DayKind) String() string {
	switch k {
	case Workday:
		return "workday"
	case Weekend:
		return "weekend"
	case Holiday:
		return "holiday"
	case AdjustedWorkday:
		return "adjusted_workday"
	}
	return fmt.Sprintf("DayKind(%d)", uint8(k))
}

// IsWorking reports whether k is Workday or AdjustedWorkday.
func (k DayKind) IsWorking() bool { return k == Workday || k == AdjustedWorkday }

// MaxWorkingDays is the largest n AddWorkingDays accepts (about 4,000 years
// of working days); it keeps date arithmetic far from integer overflow.
const MaxWorkingDays = 1_000_000

// Calendar is a holiday schedule: for each year it covers, which days are
// holidays and which weekend days are adjusted workdays. Years it does not
// cover are treated as plain Monday–Friday weeks (see AddWorkingDays).
//
// A Calendar is immutable after construction and safe for concurrent use.
// Obtain one from Default, then layer overlays with WithOverlay. The zero
// Calendar and a nil *Calendar are valid and cover no year.
type Calendar struct {
	minYear int         // year of byYear[0]
	byYear  []*yearData // indexed by year-minYear; nil where not covered
	years   []int       // covered years, ascending
}

// yearData is the precomputed schedule of one calendar year (Jan 1–Dec 31).
type yearData struct {
	year  int
	first int               // day number of January 1
	kinds []DayKind         // by day of year (0-based)
	cum   []uint16          // cum[i] = working days among days 0..i-1; len(kinds)+1 entries
	work  []uint16          // days of year that are working days, ascending
	names map[uint16]string // day of year -> holiday name, for Holiday and AdjustedWorkday
}

// dayEntry is one listed day of a schedule, as read from a data source.
type dayEntry struct {
	date    Date
	holiday bool // false: listed as a working day
	name    string
}

// buildYear precomputes a year from its listed days, which must all lie in
// year. A day listed as a working day becomes AdjustedWorkday on a weekend
// and stays an unnamed Workday on a weekday (some sources list those).
func buildYear(year int, entries []dayEntry) *yearData {
	first := daysFromCivil(year, time.January, 1)
	n := daysFromCivil(year+1, time.January, 1) - first
	yd := &yearData{
		year:  year,
		first: first,
		kinds: make([]DayKind, n),
		cum:   make([]uint16, n+1),
		names: make(map[uint16]string),
	}
	for i := range yd.kinds {
		switch weekdayOf(first + i) {
		case time.Saturday, time.Sunday:
			yd.kinds[i] = Weekend
		default:
			yd.kinds[i] = Workday
		}
	}
	for _, e := range entries {
		i := e.date.days() - first
		if i < 0 || i >= n {
			continue // callers validate; never index out of the year
		}
		switch {
		case e.holiday:
			yd.kinds[i] = Holiday
			yd.names[uint16(i)] = e.name
		case yd.kinds[i] == Weekend || yd.kinds[i] == AdjustedWorkday:
			yd.kinds[i] = AdjustedWorkday
			yd.names[uint16(i)] = e.name
		default:
			yd.kinds[i] = Workday
			delete(yd.names, uint16(i))
		}
	}
	yd.work = make([]uint16, 0, n)
	for i, k := range yd.kinds {
		c := yd.cum[i]
		if k.IsWorking() {
			yd.work = append(yd.work, uint16(i))
			c++
		}
		yd.cum[i+1] = c
	}
	return yd
}

// newCalendar assembles a Calendar from per-year data (any order, no nils).
func newCalendar(data []*yearData) *Calendar {
	c := &Calendar{}
	if len(data) == 0 {
		return c
	}
	lo, hi := data[0].year, data[0].year
	for _, yd := range data {
		lo, hi = min(lo, yd.year), max(hi, yd.year)
	}
	c.minYear = lo
	c.byYear = make([]*yearData, hi-lo+1)
	for _, yd := range data {
		c.byYear[yd.year-lo] = yd
	}
	for _, yd := range c.byYear {
		if yd != nil {
			c.years = append(c.years, yd.year)
		}
	}
	return c
}

// year returns the data of a covered year, or nil.
func (c *Calendar) year(y int) *yearData {
	if c == nil {
		return nil
	}
	i := y - c.minYear
	if i < 0 || i >= len(c.byYear) {
		return nil
	}
	return c.byYear[i]
}

// lookup returns the year data and day-of-year index of day number z, or nil
// if z lies in a year the calendar does not cover. hint is the probable year.
func (c *Calendar) lookup(z, hint int) (*yearData, int) {
	if yd := c.year(hint); yd != nil {
		if i := z - yd.first; i >= 0 && i < len(yd.kinds) {
			return yd, i
		}
	}
	if yd := c.year(yearOfDays(z)); yd != nil {
		return yd, z - yd.first
	}
	return nil, 0
}

// Kind classifies d. In a year the calendar does not cover, Saturdays and
// Sundays are Weekend and every other day is Workday; check Covers to know
// whether the answer is official.
func (c *Calendar) Kind(d Date) DayKind {
	z := d.days()
	if yd, i := c.lookup(z, d.Year); yd != nil {
		return yd.kinds[i]
	}
	switch weekdayOf(z) {
	case time.Saturday, time.Sunday:
		return Weekend
	}
	return Workday
}

// HolidayName returns the name of the festival a Holiday or AdjustedWorkday
// belongs to, as the data source spells it (the built-in data uses e.g.
// "元旦节", "春节", "国庆节", "国庆中秋"; overlays use their own names). It
// returns "" for ordinary days and for days in years not covered.
func (c *Calendar) HolidayName(d Date) string {
	if yd, i := c.lookup(d.days(), d.Year); yd != nil {
		return yd.names[uint16(i)]
	}
	return ""
}

// IsWorkingDay reports whether d is a Workday or an AdjustedWorkday.
func (c *Calendar) IsWorkingDay(d Date) bool { return c.Kind(d).IsWorking() }

// Covers reports whether the calendar knows the official schedule of year.
// Note that a covered year's last days of December can still be changed by
// the next year's notice (e.g. 2023-12-30/31 were holidays of the 2024
// notice); see the package Caveats.
func (c *Calendar) Covers(year int) bool { return c.year(year) != nil }

// Years returns the covered years in ascending order (a fresh slice).
func (c *Calendar) Years() []int {
	if c == nil {
		return nil
	}
	return append([]int(nil), c.years...)
}

// nextCovered returns the smallest covered year greater than y.
func (c *Calendar) nextCovered(y int) (int, bool) {
	if c == nil {
		return 0, false
	}
	i := sort.SearchInts(c.years, y+1)
	if i == len(c.years) {
		return 0, false
	}
	return c.years[i], true
}

// AddWorkingDays returns the n-th working day after start; start itself never
// counts, so AddWorkingDays(Friday, 1) is the next Monday in an ordinary week
// (or Saturday when that Saturday is an adjusted workday). n must be in
// 1..MaxWorkingDays, else it returns the zero Date and an error wrapping
// ErrBadCount.
//
// If any day examined (those after start up to the result) lies in a year the
// calendar does not cover, the result is still computed, with plain
// Monday–Friday weeks for those years, and returned together with a
// YearNotCoveredError (errors.Is(err, ErrYearNotCovered)); show such a date
// as an estimate. Any other non-nil error means the Date is unusable.
//
// It does not allocate on success and runs in time proportional to the number
// of years crossed, not to n.
func (c *Calendar) AddWorkingDays(start Date, n int) (Date, error) {
	if n < 1 || n > MaxWorkingDays {
		return Date{}, fmt.Errorf("%w: %d (want 1..%d)", ErrBadCount, n, MaxWorkingDays)
	}
	pos := start.days() + 1 // first day examined
	y := start.Year
	if yd := c.year(y); yd == nil || pos-yd.first >= len(yd.kinds) || pos < yd.first {
		y = yearOfDays(pos)
	}
	rem := n
	missing, estimated := 0, false
	for {
		if yd := c.year(y); yd != nil {
			done := int(yd.cum[pos-yd.first]) // working days of this year before pos
			if done+rem <= len(yd.work) {
				z := yd.first + int(yd.work[done+rem-1])
				if estimated {
					return fromDays(z), YearNotCoveredError{missing}
				}
				return fromDays(z), nil
			}
			rem -= len(yd.work) - done
			pos = yd.first + len(yd.kinds)
			y++
			continue
		}
		if !estimated {
			missing, estimated = y, true
		}
		next, ok := c.nextCovered(y)
		if ok {
			end := daysFromCivil(next, time.January, 1)
			if cnt := monFri(pos, end); cnt < rem {
				rem -= cnt
				pos, y = end, next
				continue
			}
		}
		return fromDays(nthMonFri(pos-1, rem)), YearNotCoveredError{missing}
	}
}

// WorkingDaysBetween counts the working days in (from, to]: from itself is
// excluded and to is included, so WorkingDaysBetween(s, AddWorkingDays(s, n))
// == n. If to is before from the result is negative: minus the count of
// working days in (to, from]. Days in years the calendar does not cover are
// counted as plain Monday–Friday weeks, without any error; use Covers on the
// years involved to know whether the count is official.
func (c *Calendar) WorkingDaysBetween(from, to Date) int {
	a, b := from.days()+1, to.days()+1
	if a <= b {
		return c.count(a, b)
	}
	return -c.count(b, a)
}

// count returns the number of working days with day numbers in [a, b), a <= b:
// the Monday–Friday count, corrected year by year where the calendar knows
// better.
func (c *Calendar) count(a, b int) int {
	total := monFri(a, b)
	if c == nil || a == b {
		return total
	}
	for i := sort.SearchInts(c.years, yearOfDays(a)); i < len(c.years); i++ {
		yd := c.year(c.years[i])
		if yd.first >= b {
			break
		}
		lo, hi := max(a, yd.first), min(b, yd.first+len(yd.kinds))
		if lo >= hi {
			continue
		}
		total += int(yd.cum[hi-yd.first]) - int(yd.cum[lo-yd.first]) - monFri(lo, hi)
	}
	return total
}

// mondayAnchor is the day number of Monday 1970-01-05.
const mondayAnchor = 4

// monFriBefore returns the number of Monday–Friday days in [mondayAnchor, z)
// (negative, counting backwards, when z is before the anchor).
func monFriBefore(z int) int {
	x := z - mondayAnchor
	return 5*floorDiv(x, 7) + min(floorMod(x, 7), 5)
}

// monFri returns the number of Monday–Friday days with day numbers in [a, b).
func monFri(a, b int) int { return monFriBefore(b) - monFriBefore(a) }

// nthMonFri returns the day number of the n-th Monday–Friday day after s.
func nthMonFri(s, n int) int {
	t := monFriBefore(s+1) + n - 1 // index of the wanted day among all Mon–Fri days
	return mondayAnchor + 7*floorDiv(t, 5) + floorMod(t, 5)
}
