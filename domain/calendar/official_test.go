package calendar

import (
	"strings"
	"testing"
	"time"
)

// span is a run of consecutive days of one kind in a schedule.
type span struct {
	from, to string // inclusive
	kind     DayKind
	name     string // a word the festival's name must contain
}

// schedule2025 is transcribed from 国务院办公厅关于2025年部分节假日安排的通知
// (国办发明电〔2024〕12号), not from the data source under test.
var schedule2025 = []span{
	{"2025-01-01", "2025-01-01", Holiday, "元旦"},
	{"2025-01-26", "2025-01-26", AdjustedWorkday, "春节"}, // Sunday
	{"2025-01-28", "2025-02-04", Holiday, "春节"},
	{"2025-02-08", "2025-02-08", AdjustedWorkday, "春节"}, // Saturday
	{"2025-04-04", "2025-04-06", Holiday, "清明"},
	{"2025-04-27", "2025-04-27", AdjustedWorkday, "劳动"}, // Sunday
	{"2025-05-01", "2025-05-05", Holiday, "劳动"},
	{"2025-05-31", "2025-06-02", Holiday, "端午"},
	{"2025-09-28", "2025-09-28", AdjustedWorkday, "国庆"}, // Sunday
	{"2025-10-01", "2025-10-08", Holiday, "国庆"},         // 国庆节、中秋节
	{"2025-10-11", "2025-10-11", AdjustedWorkday, "国庆"}, // Saturday
}

// schedule2026 is transcribed from 国务院办公厅关于2026年部分节假日安排的通知
// (国办发明电〔2025〕7号), not from the data source under test.
var schedule2026 = []span{
	{"2026-01-01", "2026-01-03", Holiday, "元旦"},
	{"2026-01-04", "2026-01-04", AdjustedWorkday, "元旦"}, // Sunday
	{"2026-02-14", "2026-02-14", AdjustedWorkday, "春节"}, // Saturday
	{"2026-02-15", "2026-02-23", Holiday, "春节"},
	{"2026-02-28", "2026-02-28", AdjustedWorkday, "春节"}, // Saturday
	{"2026-04-04", "2026-04-06", Holiday, "清明"},
	{"2026-05-01", "2026-05-05", Holiday, "劳动"},
	{"2026-05-09", "2026-05-09", AdjustedWorkday, "劳动"}, // Saturday
	{"2026-06-19", "2026-06-21", Holiday, "端午"},
	{"2026-09-20", "2026-09-20", AdjustedWorkday, "国庆"}, // Sunday
	{"2026-09-25", "2026-09-27", Holiday, "中秋"},
	{"2026-10-01", "2026-10-07", Holiday, "国庆"},
	{"2026-10-10", "2026-10-10", AdjustedWorkday, "国庆"}, // Saturday
}

// schedule2027 is NOT from an official notice: these figures are what the
// data source (lunar-go v1.4.7 HolidayUtil) holds for 2027, tested so that a
// data upgrade that changes them is noticed. Only 元旦, 春节 and 国庆.
var schedule2027 = []span{
	{"2027-01-01", "2027-01-03", Holiday, "元旦"},
	{"2027-01-31", "2027-01-31", AdjustedWorkday, "春节"}, // Sunday
	{"2027-02-05", "2027-02-13", Holiday, "春节"},
	{"2027-02-14", "2027-02-14", AdjustedWorkday, "春节"}, // Sunday
	{"2027-09-26", "2027-09-26", AdjustedWorkday, "国庆"}, // Sunday
	{"2027-10-01", "2027-10-07", Holiday, "国庆"},
	{"2027-10-09", "2027-10-09", AdjustedWorkday, "国庆"}, // Saturday
}

// ordinary days around the listed ones, with their plain kind.
var ordinary = []struct {
	date string
	kind DayKind
}{
	{"2024-12-31", Workday}, {"2025-01-02", Workday}, {"2025-01-04", Weekend},
	{"2025-01-25", Weekend}, {"2025-01-27", Workday}, {"2025-02-05", Workday},
	{"2025-02-07", Workday}, {"2025-02-09", Weekend}, {"2025-04-03", Workday},
	{"2025-04-07", Workday}, {"2025-04-26", Weekend}, {"2025-04-30", Workday},
	{"2025-05-06", Workday}, {"2025-05-10", Weekend}, {"2025-05-30", Workday},
	{"2025-06-03", Workday}, {"2025-09-27", Weekend}, {"2025-09-30", Workday},
	{"2025-10-09", Workday}, {"2025-10-12", Weekend}, {"2025-12-31", Workday},
	{"2026-01-05", Workday}, {"2026-01-10", Weekend}, {"2026-02-13", Workday},
	{"2026-02-24", Workday}, {"2026-03-01", Weekend}, {"2026-04-03", Workday},
	{"2026-04-07", Workday}, {"2026-04-30", Workday}, {"2026-05-06", Workday},
	{"2026-05-10", Weekend}, {"2026-06-18", Workday}, {"2026-06-22", Workday},
	{"2026-09-19", Weekend}, {"2026-09-24", Workday}, {"2026-09-28", Workday},
	{"2026-09-30", Workday}, {"2026-10-08", Workday}, {"2026-10-09", Workday},
	{"2026-10-11", Weekend}, {"2026-12-31", Workday},
	{"2027-01-04", Workday}, {"2027-01-30", Weekend}, {"2027-02-04", Workday},
	{"2027-02-15", Workday}, {"2027-09-25", Weekend}, {"2027-09-30", Workday},
	{"2027-10-08", Workday}, {"2027-10-10", Weekend},
}

func expand(t *testing.T, spans []span) map[Date]span {
	t.Helper()
	m := map[Date]span{}
	for _, s := range spans {
		from, to := mustDate(t, s.from), mustDate(t, s.to)
		for d := from; !d.After(to); d = d.AddDays(1) {
			if s.kind == AdjustedWorkday && d.Weekday() != time.Saturday && d.Weekday() != time.Sunday {
				t.Fatalf("test table error: adjusted workday %s is a %v", d, d.Weekday())
			}
			m[d] = s
		}
	}
	return m
}

func checkListed(t *testing.T, cal *Calendar, spans []span) map[Date]span {
	t.Helper()
	listed := expand(t, spans)
	for d, s := range listed {
		if got := cal.Kind(d); got != s.kind {
			t.Errorf("Kind(%s) = %v, want %v", d, got, s.kind)
		}
		if got := cal.IsWorkingDay(d); got != (s.kind == AdjustedWorkday) {
			t.Errorf("IsWorkingDay(%s) = %v", d, got)
		}
		if got := cal.HolidayName(d); !strings.Contains(got, s.name) {
			t.Errorf("HolidayName(%s) = %q, want it to contain %q", d, got, s.name)
		}
	}
	return listed
}

func TestOfficialSchedules(t *testing.T) {
	cal := Default()
	for _, year := range []struct {
		year  int
		spans []span
	}{{2025, schedule2025}, {2026, schedule2026}} {
		t.Run(time.Date(year.year, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006"), func(t *testing.T) {
			if !cal.Covers(year.year) {
				t.Fatalf("Covers(%d) = false", year.year)
			}
			listed := checkListed(t, cal, year.spans)
			// Every other day of the year is a plain weekday or weekend: the
			// notice lists all exceptions, and neither neighbouring notice
			// touches these years' first or last days.
			holidays, adjusted := 0, 0
			for d := NewDate(year.year, 1, 1); d.Year == year.year; d = d.AddDays(1) {
				if _, ok := listed[d]; ok {
					if cal.Kind(d) == Holiday {
						holidays++
					} else {
						adjusted++
					}
					continue
				}
				want := Workday
				if w := d.Weekday(); w == time.Saturday || w == time.Sunday {
					want = Weekend
				}
				if got := cal.Kind(d); got != want {
					t.Errorf("Kind(%s) = %v (%q), want %v: not in the notice", d, got, cal.HolidayName(d), want)
				}
				if got := cal.HolidayName(d); got != "" {
					t.Errorf("HolidayName(%s) = %q, want empty", d, got)
				}
			}
			t.Logf("%d: %d holiday days, %d adjusted workdays", year.year, holidays, adjusted)
		})
	}
}

func TestDataSource2027(t *testing.T) {
	cal := Default()
	if !cal.Covers(2027) {
		t.Fatal("lunar-go v1.4.7 has 2027 data; Covers(2027) = false")
	}
	checkListed(t, cal, schedule2027)
}

func TestOrdinaryDaysAround(t *testing.T) {
	cal := Default()
	for _, o := range ordinary {
		d := mustDate(t, o.date)
		if got := cal.Kind(d); got != o.kind {
			t.Errorf("Kind(%s) = %v, want %v", d, got, o.kind)
		}
		if got := cal.HolidayName(d); got != "" {
			t.Errorf("HolidayName(%s) = %q, want empty", d, got)
		}
	}
}

func TestWorkingDayTotals(t *testing.T) {
	// Working days in a year follow from the notice: Mon–Fri days, minus
	// weekday holidays, plus adjusted workdays, computed here from the tables.
	cal := Default()
	for _, y := range []struct {
		year  int
		spans []span
	}{{2025, schedule2025}, {2026, schedule2026}} {
		listed := expand(t, y.spans)
		want := 0
		for d := NewDate(y.year, 1, 1); d.Year == y.year; d = d.AddDays(1) {
			s, ok := listed[d]
			weekend := d.Weekday() == time.Saturday || d.Weekday() == time.Sunday
			switch {
			case ok && s.kind == AdjustedWorkday:
				want++
			case ok:
			case !weekend:
				want++
			}
		}
		got := cal.WorkingDaysBetween(NewDate(y.year-1, 12, 31), NewDate(y.year, 12, 31))
		if got != want {
			t.Errorf("working days in %d = %d, want %d", y.year, got, want)
		}
	}
	// Independent check: since the 2025 reform there are 13 statutory
	// holiday days, so a 365-day year has 365 − 104 weekend days − 13 = 248
	// working days (调休 moves days off, it does not add any).
	for _, y := range []int{2025, 2026} {
		if got := cal.WorkingDaysBetween(NewDate(y-1, 12, 31), NewDate(y, 12, 31)); got != 248 {
			t.Errorf("working days in %d = %d, want 248", y, got)
		}
	}
}
