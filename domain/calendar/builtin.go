package calendar

import (
	"strconv"
	"sync"

	"github.com/6tail/lunar-go/HolidayUtil"
)

// BuiltinSource names the data the Default calendar is built from (the
// version is the one go.mod requires).
const BuiltinSource = "github.com/6tail/lunar-go HolidayUtil"

// The range of years probed in lunar-go. Its data starts at 2001-12-29; the
// upper bound leaves room for many future releases.
const (
	builtinFirstYear = 1949
	builtinLastYear  = 2199
)

var (
	defaultOnce sync.Once
	defaultCal  *Calendar
)

// Default returns the calendar of official holidays and adjusted workdays
// shipped with this build, from lunar-go's HolidayUtil data. It is built once,
// on first use, and shared: never modify it (it is immutable anyway); use
// WithOverlay to add years published after the build.
//
// A year counts as covered when lunar-go holds entries of that year's own
// State Council notice. 2001 is therefore not covered although lunar-go lists
// 2001-12-29/30 (adjusted days of the 2002 New Year holiday): its own
// schedule is unknown, so it is treated as plain Monday–Friday weeks.
//
// The data is read through lunar-go's public API; a program that calls
// HolidayUtil.Fix before the first Default call changes what Default sees.
func Default() *Calendar {
	defaultOnce.Do(func() { defaultCal = buildDefault() })
	return defaultCal
}

func buildDefault() *Calendar {
	var data []*yearData
	for y := builtinFirstYear; y <= builtinLastYear; y++ {
		entries, own := lunarYear(y)
		if own {
			data = append(data, buildYear(y, entries))
		}
	}
	return newCalendar(data)
}

// lunarYear returns lunar-go's entries dated in year y and whether any of
// them belongs to y's own notice (its target festival lies in y).
func lunarYear(y int) (entries []dayEntry, own bool) {
	l := HolidayUtil.GetHolidaysByYear(y)
	prefix := strconv.Itoa(y)
	for e := l.Front(); e != nil; e = e.Next() {
		h, ok := e.Value.(*HolidayUtil.Holiday)
		if !ok || h == nil {
			continue
		}
		d, err := ParseDate(h.GetDay())
		if err != nil || d.Year != y {
			continue
		}
		if t := h.GetTarget(); len(t) >= 4 && t[:4] == prefix {
			own = true
		}
		entries = append(entries, dayEntry{date: d, holiday: !h.IsWork(), name: h.GetName()})
	}
	return entries, own
}
