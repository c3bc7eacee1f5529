// Package calendar is the official Chinese public-holiday calendar, with the
// adjusted working days (调休) announced each year by the General Office of
// the State Council, for counting deadlines in working days (工作日).
//
// Township offices promise things "within N working days". Under 调休 a
// working day is neither simply Monday–Friday nor simply "not a holiday":
// some weekdays are holidays and some Saturdays and Sundays are working days.
// This package answers "what kind of day is this", "what is the N-th working
// day after this date" and "how many working days lie between these dates".
//
// # Basics
//
// Dates are civil dates (Date), not instants, so results do not depend on a
// time zone. Take today's date in the zone the office is in:
//
//	loc, _ := time.LoadLocation("Asia/Shanghai")
//	today := calendar.DateOf(time.Now().In(loc))
//
// Default returns the calendar built into this binary (from lunar-go's
// HolidayUtil data, built once and shared). Counting always starts the day
// after the start date:
//
//	cal := calendar.Default()
//	due, err := cal.AddWorkingDays(calendar.NewDate(2026, time.September, 30), 7)
//	// due == 2026-10-15: Oct 1–7 are 国庆节 holidays, Sat Oct 10 is a working day.
//	switch {
//	case errors.Is(err, calendar.ErrYearNotCovered):
//		// due is an estimate (plain Monday–Friday weeks for the unknown year)
//	case err != nil:
//		// bad input; due is unusable
//	}
//
// WorkingDaysBetween(from, to) counts working days in (from, to], so it is
// the inverse of AddWorkingDays. Kind classifies a day as Workday, Weekend,
// Holiday or AdjustedWorkday; HolidayName gives the festival a Holiday or an
// AdjustedWorkday belongs to.
//
// A Calendar is immutable and safe for concurrent use. AddWorkingDays uses a
// per-year precomputed table (cumulative working-day counts and the list of
// working days), does not allocate on success, and costs time proportional to
// the number of years crossed, not to n.
//
// # Overlays
//
// The State Council publishes next year's schedule each autumn (usually in
// November), long after a binary has been installed on an offline machine.
// County administrators can distribute an overlay file; WithOverlay returns a
// new calendar in which each year of the overlay replaces that year
// wholesale (built-in entries of a replaced year are dropped, not merged):
//
//	o, err := calendar.LoadOverlayFile("holidays-2028.json")
//	if err != nil { /* errors.Is(err, calendar.ErrBadOverlay): show err to the admin */ }
//	cal := calendar.Default().WithOverlay(o)
//
// The file is UTF-8 JSON of at most MaxOverlaySize (1 MiB):
//
//	{
//	  "format": 1,
//	  "source": "国务院办公厅关于2028年部分节假日安排的通知",
//	  "years": {
//	    "2028": {
//	      "holidays": [{"name": "元旦", "dates": ["2028-01-01"]}],
//	      "workdays": [{"name": "春节", "dates": ["2028-01-29"]}]
//	    }
//	  }
//	}
//
// Fields:
//
//   - format: must be 1.
//   - source: non-empty; the notice transcribed (shown to people who ask
//     where a date came from).
//   - years: at least one entry, keyed by the four-digit calendar year.
//   - years[Y].holidays: one or more groups of days off (放假), including
//     the weekend days inside a holiday period. Required, non-empty.
//   - years[Y].workdays: groups of Saturdays/Sundays that are working days
//     (调休上班). Optional.
//   - group.name: the festival, e.g. "春节"; returned by HolidayName.
//   - group.dates: one or more dates in strict YYYY-MM-DD form.
//
// Every listed date must be a real date inside its year key (a late-December
// day of the previous year goes under that previous year), may be listed only
// once in its year (never as both holiday and workday), and workdays must be
// Saturdays or Sundays. Unknown or repeated keys (matched exactly, case
// included) and anything after the top-level object are refused. Every
// error wraps ErrBadOverlay and names the line, column and field. An
// example lives in testdata/overlay-example.json. Overlay.MarshalJSON writes
// the canonical form, and Calendar.ExportOverlay turns covered years into an
// overlay, e.g. to re-state a year in full.
//
// # Caveats
//
//   - Years not covered: for a year whose schedule is unknown (Covers is
//     false), every function uses plain Monday–Friday weeks. AddWorkingDays
//     signals this with an error wrapping ErrYearNotCovered next to a usable
//     estimated date; Kind, IsWorkingDay and WorkingDaysBetween do not signal
//     it, so check Covers when it matters. The built-in data covers 2002
//     through the last year lunar-go knows (2027 in v1.4.7); 2001 is not
//     covered although lunar-go lists two of its days (they belong to the
//     2002 notice).
//   - End of December: a year's schedule is the set of its own days, but the
//     notice for year Y+1 may turn days at the end of December of Y into
//     holidays or workdays (2023-12-30 and 12-31 belonged to the 2024 New Year
//     holiday). Until Y+1's notice is known, late-December days of Y can
//     change. Because overlays replace whole years and dates must lie in
//     their year key, such a notice needs an overlay that re-states year Y in
//     full too (ExportOverlay helps).
//   - Built-in data comes from a third-party library, github.com/6tail/lunar-go,
//     not from an official feed. Tests check 2025 and 2026 against the State
//     Council notices; other years are as lunar-go has them. Some years in
//     lunar-go list ordinary weekdays as "work" days (e.g. 2012-05-02); they
//     are treated as plain Workday. HolidayUtil.Fix, if some other code calls
//     it before the first Default call, changes what Default sees.
//   - Names are the data source's: the built-in calendar says "元旦节" and
//     "国庆中秋" where a notice says "元旦" and "国庆节、中秋节".
//   - Only national holidays are modelled: no local holidays, no half-day
//     holidays (妇女节, 青年节 and the like apply to some people only).
//   - Supported years are 0000–9999 for text forms; arithmetic works far
//     outside that but such dates cannot be marshalled.
package calendar
