package calendar

import (
	"fmt"
	"time"
)

// Date is a civil (wall-calendar) date with no time of day and no time zone.
// Working-day deadlines are about dates, not instants: "10 working days after
// 2026-09-30" must not move when a laptop changes zone. Use DateOf to take the
// date of a time.Time in the zone the user means.
//
// Build Dates with NewDate or ParseDate. A literal with out-of-range fields
// (Date{2025, 2, 30}) is treated by every method as its normalised equivalent
// (2025-03-02), but == compares the raw fields, so compare with Compare or
// normalise first. The zero Date means "no date": it prints as "" and
// marshals to empty text, but it is not a meaningful day for arithmetic.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// NewDate returns the date y-m-d, normalised like time.Date: months and days
// outside their usual ranges roll over, so NewDate(2025, 1, 32) is 2025-02-01
// and NewDate(2025, 13, 1) is 2026-01-01.
func NewDate(y int, m time.Month, d int) Date {
	return fromDays(daysFromCivil(y, m, d))
}

// ParseDate parses the strict form "2006-01-02": exactly four year digits, two
// month digits and two day digits, and the date must exist (2025-02-29 is
// refused). Anything else yields an error wrapping ErrBadDate. It never
// normalises, so for every accepted s, ParseDate(s).String() == s.
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, fmt.Errorf("%w: %q is not in YYYY-MM-DD form", ErrBadDate, s)
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 {
		return Date{}, fmt.Errorf("%w: %q is not in YYYY-MM-DD form", ErrBadDate, s)
	}
	if m < 1 || m > 12 || d < 1 || d > daysIn(y, time.Month(m)) {
		return Date{}, fmt.Errorf("%w: %q does not exist", ErrBadDate, s)
	}
	return Date{y, time.Month(m), d}, nil
}

// digits parses a string of ASCII decimal digits (no sign, no spaces).
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// DateOf returns the date of t as seen in t's own location. Convert t first
// (t.In(loc)) if the date should be taken in another zone, e.g. Asia/Shanghai.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// Time returns midnight at the start of d in loc (loc must not be nil).
func (d Date) Time(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// String formats d as "2006-01-02" (normalised first). The zero Date prints
// as "" so that an unset deadline renders as blank rather than a bogus date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	n := d.norm()
	if n.Year >= 0 && n.Year <= 9999 {
		var b [10]byte
		put4(b[0:4], n.Year)
		b[4] = '-'
		put2(b[5:7], int(n.Month))
		b[7] = '-'
		put2(b[8:10], n.Day)
		return string(b[:])
	}
	return fmt.Sprintf("%04d-%02d-%02d", n.Year, int(n.Month), n.Day)
}

func put4(b []byte, v int) {
	b[0] = byte('0' + v/1000)
	b[1] = byte('0' + v/100%10)
	b[2] = byte('0' + v/10%10)
	b[3] = byte('0' + v%10)
}

func put2(b []byte, v int) {
	b[0] = byte('0' + v/10)
	b[1] = byte('0' + v%10)
}

// IsZero reports whether d is the zero Date, i.e. "no date".
func (d Date) IsZero() bool { return d == Date{} }

// AddDays returns the date n calendar days after d (before d if n < 0).
func (d Date) AddDays(n int) Date { return fromDays(d.days() + n) }

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday { return weekdayOf(d.days()) }

// Compare returns -1 if d is before o, 0 if they are the same day and +1 if d
// is after o. Unnormalised Dates compare by the day they denote.
func (d Date) Compare(o Date) int {
	a, b := d.days(), o.days()
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Before reports whether d is strictly before o.
func (d Date) Before(o Date) bool { return d.days() < o.days() }

// After reports whether d is strictly after o.
func (d Date) After(o Date) bool { return d.days() > o.days() }

// DaysUntil returns the number of calendar days from d to o (o − d): 1 if o is
// the next day, negative if o is earlier.
func (d Date) DaysUntil(o Date) int { return o.days() - d.days() }

// MarshalText implements encoding.TextMarshaler with the "2006-01-02" form.
// The zero Date marshals to empty text, so optional dates survive JSON as "".
// Years outside 0000–9999 cannot be written in that form and give an error
// wrapping ErrBadDate.
func (d Date) MarshalText() ([]byte, error) {
	if d.IsZero() {
		return []byte{}, nil
	}
	n := d.norm()
	if n.Year < 0 || n.Year > 9999 {
		return nil, fmt.Errorf("%w: year %d outside 0000–9999", ErrBadDate, n.Year)
	}
	return []byte(n.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler. Empty text gives the
// zero Date; anything else must satisfy ParseDate. On error d is unchanged.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// norm returns d with fields in their usual ranges.
func (d Date) norm() Date {
	if d.Month >= 1 && d.Month <= 12 && d.Day >= 1 && d.Day <= 28 {
		return d
	}
	return fromDays(d.days())
}

// days returns the day number of d: days since 1970-01-01 (negative before).
func (d Date) days() int { return daysFromCivil(d.Year, d.Month, d.Day) }

// fromDays is the inverse of Date.days.
func fromDays(z int) Date {
	y, m, d := civilFromDays(z)
	return Date{y, m, d}
}

// daysFromCivil converts a proleptic Gregorian date to a day number, after
// H. Hinnant's "chrono-compatible low-level date algorithms". The month is
// normalised first; the result is linear in d, so day overflow normalises too.
func daysFromCivil(y int, month time.Month, d int) int {
	m := int(month) - 1
	y += floorDiv(m, 12)
	m = m - floorDiv(m, 12)*12 + 1 // 1..12
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400                     // [0, 399]
	mp := (m + 9) % 12                     // March = 0
	doy := (153*mp+2)/5 + d - 1            // day of the March-based year
	doe := yoe*365 + yoe/4 - yoe/100 + doy // day of the 400-year era
	return era*146097 + doe - 719468       // 719468 = days from 0000-03-01 to 1970-01-01
}

// civilFromDays converts a day number back to year, month and day.
func civilFromDays(z int) (int, time.Month, int) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, time.Month(m), d
}

// yearOfDays returns the year containing day number z.
func yearOfDays(z int) int {
	y, _, _ := civilFromDays(z)
	return y
}

// weekdayOf returns the weekday of day number z (1970-01-01 was a Thursday).
func weekdayOf(z int) time.Weekday {
	return time.Weekday(floorMod(z+4, 7))
}

// weekendDay reports whether d falls on a Saturday or Sunday.
func weekendDay(d Date) bool {
	w := d.Weekday()
	return w == time.Saturday || w == time.Sunday
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y int, m time.Month) int {
	switch m {
	case time.February:
		if isLeap(y) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int) int { return a - floorDiv(a, b)*b }
