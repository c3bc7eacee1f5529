package calendar

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package wraps exactly one of
// them, so callers should test with errors.Is rather than comparing messages;
// the wrapped message adds the detail (which input, which line, which year).
var (
	// ErrBadDate reports text that is not a real calendar date in the strict
	// "2006-01-02" form (ParseDate, Date.UnmarshalText), or a Date that cannot
	// be written in that form (Date.MarshalText of a year outside 0000–9999).
	ErrBadDate = errors.New("calendar: bad date")

	// ErrBadCount reports a working-day count outside 1..MaxWorkingDays given
	// to Calendar.AddWorkingDays. The returned Date is then the zero Date.
	ErrBadCount = errors.New("calendar: bad working-day count")

	// ErrYearNotCovered reports that a computation looked at days of a year
	// whose official holiday schedule the Calendar does not know. It is a
	// warning more than a failure: AddWorkingDays still returns a usable date,
	// computed with plain Monday–Friday weeks for the unknown years, which a
	// caller should present as an estimate ("预计"). The concrete error is a
	// YearNotCoveredError naming the first such year.
	ErrYearNotCovered = errors.New("calendar: year not covered by the holiday schedule")

	// ErrBadOverlay reports an overlay file that is not valid JSON, does not
	// follow the documented format, or breaks one of its rules. The wrapped
	// message names the line, column and field at fault where they are known.
	ErrBadOverlay = errors.New("calendar: bad overlay")
)

// YearNotCoveredError is the concrete error behind ErrYearNotCovered. Year is
// the first year, in the order the days were examined, that the calendar does
// not cover; a UI can use it to say e.g. "2028年节假日安排尚未发布，日期为估算".
type YearNotCoveredError struct {
	Year int
}

// Error implements error.
func (e YearNotCoveredError) Error() string {
	return fmt.Sprintf("%v: %d (date estimated with Monday–Friday weeks)", ErrYearNotCovered, e.Year)
}

// Unwrap makes errors.Is(err, ErrYearNotCovered) true.
func (e YearNotCoveredError) Unwrap() error { return ErrYearNotCovered }
