package calendar

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func TestDayKindString(t *testing.T) {
	for k, want := range map[DayKind]string{
		Workday: "workday", Weekend: "weekend", Holiday: "holiday",
		AdjustedWorkday: "adjusted_workday", 0: "DayKind(0)", 9: "DayKind(9)",
	} {
		if got := k.String(); got != want {
			t.Errorf("DayKind(%d).String() = %q, want %q", k, got, want)
		}
	}
	var zero DayKind
	if zero.IsWorking() {
		t.Error("zero DayKind must not be a working day")
	}
}

func TestDefaultCoverage(t *testing.T) {
	cal := Default()
	if cal != Default() {
		t.Error("Default must return the same shared calendar")
	}
	years := cal.Years()
	if len(years) == 0 || years[0] != 2002 {
		t.Fatalf("Years() = %v, want to start at 2002", years)
	}
	for i, y := range years {
		if y != 2002+i {
			t.Fatalf("Years() = %v, want contiguous", years)
		}
	}
	for _, y := range []int{2002, 2024, 2025, 2026, 2027} {
		if !cal.Covers(y) {
			t.Errorf("Covers(%d) = false", y)
		}
	}
	// 2001: lunar-go has only two days from the 2002 notice.
	for _, y := range []int{1999, 2001, years[len(years)-1] + 1, 2040} {
		if cal.Covers(y) {
			t.Errorf("Covers(%d) = true", y)
		}
	}
	years[0] = 1 // Years must return a copy
	if cal.Years()[0] != 2002 {
		t.Error("Years() exposes internal state")
	}
}

func TestUncoveredYearsArePlainWeeks(t *testing.T) {
	cal := Default()
	for d := mustDate(t, "2040-01-01"); d.Year == 2040; d = d.AddDays(1) {
		want := Workday
		if w := d.Weekday(); w == time.Saturday || w == time.Sunday {
			want = Weekend
		}
		if got := cal.Kind(d); got != want {
			t.Fatalf("Kind(%s) = %v, want %v", d, got, want)
		}
		if cal.HolidayName(d) != "" {
			t.Fatalf("HolidayName(%s) non-empty", d)
		}
	}
	// 2001-12-29 is listed by lunar-go as a 2002 adjusted workday but 2001
	// is not covered, so it stays an ordinary Saturday.
	if got := cal.Kind(mustDate(t, "2001-12-29")); got != Weekend {
		t.Errorf("Kind(2001-12-29) = %v, want weekend", got)
	}
}

func TestAddWorkingDaysExamples(t *testing.T) {
	cal := Default()
	cases := []struct {
		start string
		n     int
		want  string
		why   string
	}{
		{"2026-09-30", 7, "2026-10-15", "acceptance: 国庆 Oct 1–7 off, Sat Oct 10 worked"},
		{"2026-09-30", 1, "2026-10-08", "first day after 国庆"},
		{"2026-10-09", 1, "2026-10-10", "Friday before an adjusted Saturday"},
		{"2026-10-03", 1, "2026-10-08", "start on a holiday"},
		{"2026-10-10", 1, "2026-10-12", "start on an adjusted Saturday"},
		{"2025-01-24", 1, "2025-01-26", "Friday before an adjusted Sunday (春节 2025)"},
		{"2025-01-24", 3, "2025-02-05", "across 春节 2025"},
		{"2025-01-24", 7, "2025-02-10", "across 春节 2025 incl. Sat Feb 8"},
		{"2025-01-27", 1, "2025-02-05", "last day before 春节 2025"},
		{"2025-02-07", 1, "2025-02-08", "Friday before adjusted Sat Feb 8 2025"},
		{"2026-02-13", 1, "2026-02-14", "Friday before adjusted Sat Feb 14 2026"},
		{"2026-02-13", 2, "2026-02-24", "across 春节 2026"},
		{"2026-02-13", 7, "2026-03-02", "across 春节 2026 incl. Sat Feb 28"},
		{"2025-12-31", 1, "2026-01-04", "across the year into adjusted Sun Jan 4 2026"},
		{"2025-12-31", 2, "2026-01-05", "across 元旦 2026"},
		{"2025-09-26", 1, "2025-09-28", "Friday before adjusted Sun Sep 28 2025"},
		{"2025-09-26", 2, "2025-09-29", ""},
		{"2025-09-30", 1, "2025-10-09", "国庆中秋 2025 Oct 1–8"},
		{"2025-06-01", 10, "2025-06-16", "plain weeks after 端午"},
		{"2024-02-28", 1, "2024-02-29", "leap day"},
		{"2026-12-31", 1, "2027-01-04", "元旦 2027 (data source)"},
		{"2026-01-01", 248, "2026-12-31", "a whole year"},
	}
	for _, c := range cases {
		got, err := cal.AddWorkingDays(mustDate(t, c.start), c.n)
		if err != nil || got.String() != c.want {
			t.Errorf("AddWorkingDays(%s, %d) = %s, %v; want %s (%s)", c.start, c.n, got, err, c.want, c.why)
		}
	}
}

func TestAddWorkingDaysBadCount(t *testing.T) {
	for _, n := range []int{0, -1, -1 << 40, MaxWorkingDays + 1} {
		d, err := Default().AddWorkingDays(mustDate(t, "2026-01-01"), n)
		if !errors.Is(err, ErrBadCount) || !d.IsZero() {
			t.Errorf("AddWorkingDays(n=%d) = %v, %v; want zero Date and ErrBadCount", n, d, err)
		}
		if errors.Is(err, ErrYearNotCovered) {
			t.Errorf("n=%d: ErrBadCount must not look like an estimate", n)
		}
	}
	if _, err := Default().AddWorkingDays(mustDate(t, "2026-01-01"), MaxWorkingDays); err == nil || !errors.Is(err, ErrYearNotCovered) {
		t.Errorf("n=MaxWorkingDays: %v, want an estimate", err)
	}
}

func TestAddWorkingDaysNotCovered(t *testing.T) {
	cal := Default()
	cases := []struct {
		start   string
		n       int
		want    string
		missing int
	}{
		{"2039-12-30", 1, "2040-01-02", 2039}, // Fri -> Mon; Sat 2039-12-31 was examined first
		{"2040-02-28", 5, "2040-03-06", 2040}, // across the leap day
		{"2040-01-01", 260, "2040-12-28", 2040},
		{"2027-12-31", 1, "2028-01-03", 2028}, // from the last covered year
		{"2027-12-20", 30, "2028-01-31", 2028},
	}
	for _, c := range cases {
		got, err := cal.AddWorkingDays(mustDate(t, c.start), c.n)
		if got.String() != c.want {
			t.Errorf("AddWorkingDays(%s, %d) = %s, want estimate %s", c.start, c.n, got, c.want)
		}
		if !errors.Is(err, ErrYearNotCovered) {
			t.Errorf("AddWorkingDays(%s, %d): err = %v, want ErrYearNotCovered", c.start, c.n, err)
		}
		var ync YearNotCoveredError
		if !errors.As(err, &ync) || ync.Year != c.missing {
			t.Errorf("AddWorkingDays(%s, %d): err = %v, want year %d", c.start, c.n, err, c.missing)
		}
	}
	// Starting in an uncovered year but examining only covered days: exact.
	if got, err := cal.AddWorkingDays(mustDate(t, "2001-12-31"), 1); err != nil || got.String() != "2002-01-04" {
		t.Errorf("AddWorkingDays(2001-12-31, 1) = %s, %v; want 2002-01-04 (元旦 2002 Jan 1–3)", got, err)
	}
	// Crossing an uncovered gap into a covered year still flags the gap.
	cal2 := cal.WithOverlay(mustOverlay(t, `{"format":1,"source":"t","years":{"2030":{"holidays":[{"name":"x","dates":["2030-01-02"]}]}}}`))
	got, err := cal2.AddWorkingDays(mustDate(t, "2027-12-31"), 600)
	var ync YearNotCoveredError
	if !errors.As(err, &ync) || ync.Year != 2028 || got.Year != 2030 {
		t.Errorf("gap: %s, %v", got, err)
	}
	if cal2.WorkingDaysBetween(mustDate(t, "2027-12-31"), got) != 600 {
		t.Error("gap: WorkingDaysBetween disagrees")
	}
}

// naiveAdd is the obvious day-by-day definition of AddWorkingDays, built on
// Kind (which the official-schedule tests pin down).
func naiveAdd(c *Calendar, s Date, n int) (Date, int, bool) {
	missing, est := 0, false
	d := s
	for n > 0 {
		d = d.AddDays(1)
		if !c.Covers(d.Year) && !est {
			missing, est = d.Year, true
		}
		if c.IsWorkingDay(d) {
			n--
		}
	}
	return d, missing, est
}

func naiveBetween(c *Calendar, from, to Date) int {
	sign := 1
	if to.Before(from) {
		from, to, sign = to, from, -1
	}
	n := 0
	for d := from.AddDays(1); !d.After(to); d = d.AddDays(1) {
		if c.IsWorkingDay(d) {
			n++
		}
	}
	return sign * n
}

func testCalendars(t *testing.T) map[string]*Calendar {
	example, err := LoadOverlayFile("testdata/overlay-example.json")
	if err != nil {
		t.Fatal(err)
	}
	gappy := mustOverlay(t, `{"format":1,"source":"t","years":{
		"2031":{"holidays":[{"name":"a","dates":["2031-01-01","2031-06-30"]}],"workdays":[{"name":"a","dates":["2031-01-04"]}]},
		"2034":{"holidays":[{"name":"b","dates":["2034-12-29","2034-12-31"]}]}}}`)
	var nilCal *Calendar
	return map[string]*Calendar{
		"default":         Default(),
		"default+example": Default().WithOverlay(example),
		"default+gappy":   Default().WithOverlay(gappy),
		"overlay only":    nilCal.WithOverlay(gappy),
		"empty":           {},
		"nil":             nilCal,
	}
}

func TestAddWorkingDaysMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(20260930, 7))
	base := mustDate(t, "1998-01-01")
	for name, cal := range testCalendars(t) {
		for range 3000 {
			s := base.AddDays(r.IntN(365 * 40))
			n := 1 + r.IntN(30)
			if r.IntN(4) == 0 {
				n = 1 + r.IntN(900)
			}
			got, err := cal.AddWorkingDays(s, n)
			want, missing, est := naiveAdd(cal, s, n)
			if got != want {
				t.Fatalf("%s: AddWorkingDays(%s, %d) = %s, naive %s", name, s, n, got, want)
			}
			var ync YearNotCoveredError
			switch {
			case est && (!errors.As(err, &ync) || ync.Year != missing):
				t.Fatalf("%s: AddWorkingDays(%s, %d): err %v, want not covered %d", name, s, n, err, missing)
			case !est && err != nil:
				t.Fatalf("%s: AddWorkingDays(%s, %d): unexpected err %v", name, s, n, err)
			}
			// The defining property: exactly n working days in (s, result].
			if w := cal.WorkingDaysBetween(s, got); w != n {
				t.Fatalf("%s: WorkingDaysBetween(%s, %s) = %d, want %d", name, s, got, w, n)
			}
			if w := cal.WorkingDaysBetween(got, s); w != -n {
				t.Fatalf("%s: WorkingDaysBetween(%s, %s) = %d, want %d", name, got, s, w, -n)
			}
			if !cal.IsWorkingDay(got) {
				t.Fatalf("%s: result %s is not a working day", name, got)
			}
		}
	}
}

func TestWorkingDaysBetweenMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	base := mustDate(t, "1998-01-01")
	for name, cal := range testCalendars(t) {
		for range 1500 {
			a := base.AddDays(r.IntN(365 * 40))
			b := a.AddDays(r.IntN(1500) - 750)
			if got, want := cal.WorkingDaysBetween(a, b), naiveBetween(cal, a, b); got != want {
				t.Fatalf("%s: WorkingDaysBetween(%s, %s) = %d, naive %d", name, a, b, got, want)
			}
		}
		d := mustDate(t, "2026-05-05")
		if cal.WorkingDaysBetween(d, d) != 0 {
			t.Fatalf("%s: WorkingDaysBetween(d, d) != 0", name)
		}
	}
	// Far-apart dates finish quickly and agree with Mon–Fri arithmetic
	// outside the covered years.
	cal := Default()
	a, b := mustDate(t, "1000-01-01"), mustDate(t, "9999-12-31")
	got := cal.WorkingDaysBetween(a, b)
	if got <= 0 || got != -cal.WorkingDaysBetween(b, a) {
		t.Errorf("WorkingDaysBetween(1000, 9999) = %d", got)
	}
}

func TestWorkingDaysBetweenExamples(t *testing.T) {
	cal := Default()
	cases := []struct {
		from, to string
		want     int
	}{
		{"2026-09-30", "2026-10-15", 7},
		{"2026-10-15", "2026-09-30", -7},
		{"2026-09-30", "2026-10-07", 0},
		{"2026-10-09", "2026-10-10", 1},
		{"2025-01-27", "2025-02-05", 1},
	}
	for _, c := range cases {
		if got := cal.WorkingDaysBetween(mustDate(t, c.from), mustDate(t, c.to)); got != c.want {
			t.Errorf("WorkingDaysBetween(%s, %s) = %d, want %d", c.from, c.to, got, c.want)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	var wg sync.WaitGroup
	results := make([]Date, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cal := Default()
			for range 200 {
				d, _ := cal.AddWorkingDays(NewDate(2026, 9, 30), 7)
				results[i] = d
				_ = cal.WithOverlay(Overlay{})
				_ = cal.Kind(NewDate(2026, 10, 1))
			}
		}()
	}
	wg.Wait()
	for _, d := range results {
		if d.String() != "2026-10-15" {
			t.Fatalf("concurrent result %s", d)
		}
	}
}

func TestAddWorkingDaysDoesNotAllocate(t *testing.T) {
	cal := Default()
	s := mustDate(t, "2025-09-15")
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := cal.AddWorkingDays(s, 120); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("AddWorkingDays allocates %v times per call", allocs)
	}
}

func BenchmarkAddWorkingDays(b *testing.B) {
	cal := Default()
	// 50,000 commitments, as when rendering a long list: starts spread over
	// 2024–2027, deadlines of 1–60 working days (some crossing into 2028).
	r := rand.New(rand.NewPCG(5, 6))
	type job struct {
		start Date
		n     int
	}
	jobs := make([]job, 50000)
	base := NewDate(2024, 1, 1)
	for i := range jobs {
		jobs[i] = job{base.AddDays(r.IntN(4 * 365)), 1 + r.IntN(60)}
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		j := jobs[i%len(jobs)]
		_, _ = cal.AddWorkingDays(j.start, j.n)
		i++
	}
}

func BenchmarkWorkingDaysBetween(b *testing.B) {
	cal := Default()
	from, to := NewDate(2025, 3, 1), NewDate(2026, 11, 30)
	b.ReportAllocs()
	for b.Loop() {
		_ = cal.WorkingDaysBetween(from, to)
	}
}
