package domain

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"jiannuo/domain/calendar"
)

// DeadlineKind says how a deadline was given.
type DeadlineKind uint8

// The deadline kinds.
const (
	NoDeadline       DeadlineKind = iota // an open-ended commitment (rare; e.g. a standing service promise)
	DeadlineDate                         // a calendar date
	DeadlineWorkdays                     // N working days after the start date
)

// MaxWorkdays bounds a working-day deadline; longer promises are given as dates.
const MaxWorkdays = 3650

// Deadline is a commitment's time limit: a calendar date, or N working days
// counted from the start date with the official holiday calendar (§二(二)
// counts "7 working days"). Its string form, stored and signed, is "" (none),
// "date:2026-10-15" or "workdays:7".
type Deadline struct {
	Kind DeadlineKind
	Date calendar.Date // when Kind == DeadlineDate
	Days int           // when Kind == DeadlineWorkdays
}

// DeadlineNone returns the absence of a deadline.
func DeadlineNone() Deadline { return Deadline{} }

// DateDeadline returns a deadline on d.
func DateDeadline(d calendar.Date) Deadline { return Deadline{Kind: DeadlineDate, Date: d} }

// WorkdaysDeadline returns a deadline n working days after the start date.
func WorkdaysDeadline(n int) Deadline { return Deadline{Kind: DeadlineWorkdays, Days: n} }

// String returns the stored form.
func (d Deadline) String() string {
	switch d.Kind {
	case DeadlineDate:
		return "date:" + d.Date.String()
	case DeadlineWorkdays:
		return "workdays:" + strconv.Itoa(d.Days)
	}
	return ""
}

// ParseDeadline parses the stored form. Errors wrap ErrInvalidValue.
func ParseDeadline(s string) (Deadline, error) {
	if s == "" {
		return Deadline{}, nil
	}
	kind, val, ok := strings.Cut(s, ":")
	if !ok {
		return Deadline{}, fmt.Errorf("%w: deadline %q has no kind", ErrInvalidValue, s)
	}
	switch kind {
	case "date":
		d, err := parseDate(val)
		if err != nil {
			return Deadline{}, fmt.Errorf("%w: deadline: %v", ErrInvalidValue, err)
		}
		return DateDeadline(d), nil
	case "workdays":
		n, err := strconv.Atoi(val)
		if err != nil || n < 1 || n > MaxWorkdays || strconv.Itoa(n) != val {
			return Deadline{}, fmt.Errorf("%w: deadline: %q is not 1..%d working days", ErrInvalidValue, val, MaxWorkdays)
		}
		return WorkdaysDeadline(n), nil
	}
	return Deadline{}, fmt.Errorf("%w: deadline kind %q", ErrInvalidValue, kind)
}

// Resolve returns the calendar date a deadline falls on for a commitment that
// starts on start. For a working-day deadline beyond the years the calendar
// covers it returns a Monday–Friday estimate and an error wrapping
// calendar.ErrYearNotCovered; ok is false when there is no deadline or a
// working-day deadline has no start date.
func (d Deadline) Resolve(start calendar.Date, cal *calendar.Calendar) (due calendar.Date, ok bool, err error) {
	switch d.Kind {
	case DeadlineDate:
		return d.Date, true, nil
	case DeadlineWorkdays:
		if start.IsZero() {
			return calendar.Date{}, false, nil
		}
		due, err := cal.AddWorkingDays(start, d.Days)
		if err != nil && !errors.Is(err, calendar.ErrYearNotCovered) {
			return calendar.Date{}, false, err
		}
		return due, true, err
	}
	return calendar.Date{}, false, nil
}

// DueSoonWorkdays is the window in which an open commitment is shown as due
// soon: within 5 working days, as the township dashboard asks.
const DueSoonWorkdays = 5

// DueState is where an open commitment stands against its deadline today.
type DueState uint8

// The due states.
const (
	DueNone    DueState = iota // no deadline, or the commitment is closed
	DueLater                   // more than DueSoonWorkdays working days left
	DueSoon                    // due within DueSoonWorkdays working days (today included)
	DueOverdue                 // the deadline has passed
)

// String names the state for logs and translation keys.
func (s DueState) String() string {
	switch s {
	case DueLater:
		return "later"
	case DueSoon:
		return "soon"
	case DueOverdue:
		return "overdue"
	}
	return "none"
}

// Due is the derived due state of a commitment on a given day.
type Due struct {
	State        DueState
	Date         calendar.Date // the resolved deadline, if any
	DaysOverdue  int           // calendar days past the deadline, when overdue
	WorkdaysLeft int           // working days from today to the deadline, when not overdue
	Estimated    bool          // the calendar does not cover the deadline's year
}

// ComputeDue derives the due state of a commitment with the given status,
// start and deadline on the day today. It is cheap enough to call for every
// row of a list.
func ComputeDue(status Status, start calendar.Date, dl Deadline, today calendar.Date, cal *calendar.Calendar) Due {
	due, ok, err := dl.Resolve(start, cal)
	if !ok {
		return Due{}
	}
	out := Due{Date: due, Estimated: err != nil}
	if !status.Open() {
		return out
	}
	if today.After(due) {
		out.State = DueOverdue
		out.DaysOverdue = today.DaysUntil(due) * -1
		return out
	}
	out.WorkdaysLeft = cal.WorkingDaysBetween(today, due)
	if out.WorkdaysLeft <= DueSoonWorkdays {
		out.State = DueSoon
	} else {
		out.State = DueLater
	}
	return out
}

// OnTime reports whether a commitment fulfilled on the given day kept its
// deadline, which decides between fulfilled on time and fulfilled late.
func OnTime(fulfilled calendar.Date, start calendar.Date, dl Deadline, cal *calendar.Calendar) bool {
	due, ok, _ := dl.Resolve(start, cal)
	return !ok || !fulfilled.After(due)
}

func parseDate(s string) (calendar.Date, error) {
	d, err := calendar.ParseDate(s)
	if err != nil {
		return calendar.Date{}, err
	}
	return d, nil
}

func nonBlank(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return !unicode.IsSpace(r) }) >= 0
}

// checkText refuses invalid UTF-8, control characters other than newline and
// tab, and values longer than max bytes.
func checkText(f Field, v string, max int) error { return CheckText(string(f), v, max) }

// CheckText validates free text for storage: valid UTF-8, at most max bytes,
// no control characters but newline and tab. Errors wrap ErrInvalidValue.
func CheckText(what, v string, max int) error {
	if len(v) > max {
		return fmt.Errorf("%w: %s is %d bytes, the limit is %d", ErrInvalidValue, what, len(v), max)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidValue, what)
	}
	for _, r := range v {
		if r != '\n' && r != '\t' && unicode.IsControl(r) {
			return fmt.Errorf("%w: %s contains control character %U", ErrInvalidValue, what, r)
		}
	}
	return nil
}

// NonBlank reports whether s has a character that is not white space, the
// test for a reason or name that was really given.
func NonBlank(s string) bool { return nonBlank(s) }
