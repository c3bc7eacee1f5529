package vm

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
)

// Names of the form fields, the keys of Validate's result.
const (
	FieldCategory     = "category"
	FieldTitle        = "title"
	FieldText         = "text"
	FieldLegalBasis   = "legal_basis"
	FieldResponsible  = "responsible"
	FieldStart        = "start"
	FieldDeadlineDate = "deadline_date"
	FieldWorkdays     = "workdays"
	FieldReason       = "reason"
)

// Form is the create/edit/amend form of a commitment as the user typed it.
// Dates are "YYYY-MM-DD" (2026/10/15, 2026.10.15, 2026年10月15日 and
// full-width digits are accepted too); Workdays is a number of working days.
type Form struct {
	Category     domain.Category     // one of domain.Categories()
	Title        string              // one line (承诺事项名称)
	Text         string              // the promise itself, any number of lines
	LegalBasis   string              // optional (法律政策依据)
	Responsible  string              // the responsible official (责任人)
	Start        string              // start date; needed for a working-day deadline
	DeadlineKind domain.DeadlineKind // none, a date, or working days from Start
	DeadlineDate string              // when DeadlineKind is domain.DeadlineDate
	Workdays     string              // when DeadlineKind is domain.DeadlineWorkdays
	Public       bool                // published to the public (信用洛阳) once published
}

// NewForm returns the form for a new commitment: starting today, a date
// deadline to fill in, public.
func NewForm(today calendar.Date) Form {
	f := Form{DeadlineKind: domain.DeadlineDate, Public: true}
	if !today.IsZero() {
		f.Start = today.String()
	}
	return f
}

// FormFrom fills a form from a commitment, for editing or amending it.
func FormFrom(c store.Commitment) Form {
	f := Form{Category: c.Category, Title: c.Title, Text: c.Text, LegalBasis: c.LegalBasis,
		Responsible: c.Responsible, Start: c.StartDate, Public: c.Public}
	dl := c.DeadlineValue()
	f.DeadlineKind = dl.Kind
	switch dl.Kind {
	case domain.DeadlineDate:
		f.DeadlineDate = dl.Date.String()
	case domain.DeadlineWorkdays:
		f.Workdays = strconv.Itoa(dl.Days)
	}
	return f
}

// Validate checks the form with the limits of domain.ValidateValue and the
// rules a person expects: category, title, text and responsible official
// given; texts within their length and free of control characters; dates
// real; a working-day deadline of 1..domain.MaxWorkdays days with a start
// date to count from; a date deadline not before the start. It returns a
// message per field at fault, empty when the form is valid.
func (f Form) Validate() map[string]Message {
	out := map[string]Message{}
	switch {
	case f.Category == "":
		out[FieldCategory] = Msg("ui.form.category_required")
	case !f.Category.Valid():
		out[FieldCategory] = Msg("ui.form.category_invalid")
	}
	checkText(out, FieldTitle, f.Title, "ui.form.title_required", domain.MaxTitleBytes)
	checkText(out, FieldText, f.Text, "ui.form.text_required", domain.MaxTextBytes)
	checkText(out, FieldLegalBasis, f.LegalBasis, "", domain.MaxShortBytes)
	checkText(out, FieldResponsible, f.Responsible, "ui.form.responsible_required", domain.MaxShortBytes)

	start, startErr := parseFormDate(f.Start)
	if startErr != nil {
		out[FieldStart] = Msg("ui.form.date_invalid")
	}
	switch f.DeadlineKind {
	case domain.NoDeadline:
	case domain.DeadlineDate:
		if strings.TrimSpace(f.DeadlineDate) == "" {
			out[FieldDeadlineDate] = Msg("ui.form.deadline_required")
			break
		}
		d, err := parseFormDate(f.DeadlineDate)
		switch {
		case err != nil:
			out[FieldDeadlineDate] = Msg("ui.form.date_invalid")
		case startErr == nil && !start.IsZero() && d.Before(start):
			out[FieldDeadlineDate] = Msg("ui.form.deadline_before_start", start.String())
		}
	case domain.DeadlineWorkdays:
		if _, err := parseWorkdays(f.Workdays); err != nil {
			out[FieldWorkdays] = Msg("ui.form.workdays_invalid", domain.MaxWorkdays)
		}
		if startErr == nil && start.IsZero() {
			out[FieldStart] = Msg("ui.form.start_required")
		}
	default:
		out[FieldDeadlineDate] = Msg("ui.form.deadline_required")
	}
	return out
}

// checkText mirrors domain.CheckText and the non-blank rules of
// domain.ValidateValue for one text field; required is the message key when
// the field must be given, "" when it is optional.
func checkText(out map[string]Message, field, v string, required string, max int) {
	switch {
	case required != "" && !domain.NonBlank(v):
		out[field] = Msg(required)
	case len(v) > max:
		// Chinese characters take three bytes: say both.
		out[field] = Msg("ui.form.too_long", max/3, max, len(v))
	case !utf8.ValidString(v):
		out[field] = Msg("ui.form.invalid_text")
	case strings.ContainsFunc(v, func(r rune) bool { return r != '\n' && r != '\t' && unicode.IsControl(r) }):
		out[field] = Msg("ui.form.control_chars")
	case (field == FieldTitle || field == FieldResponsible) && strings.Contains(v, "\n"):
		out[field] = Msg("ui.form.one_line")
	}
}

var looseDate = regexp.MustCompile(`^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$`)

// parseFormDate parses a date as typed: "" is the zero date; besides
// "2026-10-15" it accepts 2026/10/15, 2026.10.5, 2026年10月15日 and
// full-width digits.
func parseFormDate(s string) (calendar.Date, error) {
	s = strings.TrimSpace(fold(s))
	if s == "" {
		return calendar.Date{}, nil
	}
	if d, err := calendar.ParseDate(s); err == nil {
		return d, nil
	}
	m := looseDate.FindStringSubmatch(s)
	if m == nil {
		return calendar.Date{}, fmt.Errorf("%w: %q", calendar.ErrBadDate, s)
	}
	y, _ := strconv.Atoi(m[1])
	mo, _ := strconv.Atoi(m[2])
	d, _ := strconv.Atoi(m[3])
	return calendar.ParseDate(fmt.Sprintf("%04d-%02d-%02d", y, mo, d))
}

// parseWorkdays parses a number of working days as typed.
func parseWorkdays(s string) (int, error) {
	s = strings.TrimSpace(fold(s))
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > domain.MaxWorkdays {
		return 0, fmt.Errorf("%w: %q working days", domain.ErrInvalidValue, s)
	}
	return n, nil
}

// deadline returns the form's deadline; the form must be valid.
func (f Form) deadline() (domain.Deadline, error) {
	switch f.DeadlineKind {
	case domain.DeadlineDate:
		d, err := parseFormDate(f.DeadlineDate)
		if err != nil || d.IsZero() {
			return domain.Deadline{}, fmt.Errorf("%w: deadline date %q", domain.ErrInvalidValue, f.DeadlineDate)
		}
		return domain.DateDeadline(d), nil
	case domain.DeadlineWorkdays:
		n, err := parseWorkdays(f.Workdays)
		if err != nil {
			return domain.Deadline{}, err
		}
		return domain.WorkdaysDeadline(n), nil
	}
	return domain.DeadlineNone(), nil
}

// DeadlinePreview shows the deadline as the form gives it, computed live:
// "7 个工作日内（至 2026-10-15）", with an estimate note when the holiday
// calendar does not cover the year. ok is false when the form does not yet
// give a deadline that can be computed; the message then says what is
// missing.
func (f Form) DeadlinePreview(cal *calendar.Calendar) (Message, bool) {
	if cal == nil {
		cal = calendar.Default()
	}
	switch f.DeadlineKind {
	case domain.NoDeadline:
		return Msg("due.none"), true
	case domain.DeadlineDate:
		d, err := parseFormDate(f.DeadlineDate)
		if err != nil || d.IsZero() {
			return Msg("ui.deadline.enter_date"), false
		}
		return DeadlineMessage(domain.DateDeadline(d), calendar.Date{}, cal), true
	case domain.DeadlineWorkdays:
		n, err := parseWorkdays(f.Workdays)
		if err != nil {
			return Msg("ui.deadline.enter_workdays", domain.MaxWorkdays), false
		}
		start, err := parseFormDate(f.Start)
		if err != nil || start.IsZero() {
			return Msg("ui.deadline.workdays_no_start", n), false
		}
		return DeadlineMessage(domain.WorkdaysDeadline(n), start, cal), true
	}
	return Msg("ui.deadline.enter_date"), false
}

// values returns the form as the stored string form of each content field.
func (f Form) values() (map[domain.Field]string, error) {
	start, err := parseFormDate(f.Start)
	if err != nil {
		return nil, err
	}
	dl, err := f.deadline()
	if err != nil {
		return nil, err
	}
	s := ""
	if !start.IsZero() {
		s = start.String()
	}
	return map[domain.Field]string{
		domain.FieldCategory:    string(f.Category),
		domain.FieldTitle:       strings.TrimSpace(f.Title),
		domain.FieldText:        f.Text,
		domain.FieldLegalBasis:  strings.TrimSpace(f.LegalBasis),
		domain.FieldResponsible: strings.TrimSpace(f.Responsible),
		domain.FieldStartDate:   s,
		domain.FieldDeadline:    dl.String(),
		domain.FieldPublic:      strconv.FormatBool(f.Public),
	}, nil
}

// Draft returns the form as a new commitment's content, or a *FormError.
func (f Form) Draft() (store.Draft, error) {
	if bad := f.Validate(); len(bad) > 0 {
		return store.Draft{}, &FormError{Fields: bad}
	}
	start, _ := parseFormDate(f.Start)
	dl, err := f.deadline()
	if err != nil {
		return store.Draft{}, err
	}
	return store.Draft{Category: f.Category, Title: strings.TrimSpace(f.Title), Text: f.Text,
		LegalBasis: strings.TrimSpace(f.LegalBasis), Responsible: strings.TrimSpace(f.Responsible),
		StartDate: start, Deadline: dl, Public: f.Public}, nil
}

// Changes returns the content fields in which the form differs from c, in
// field order, with their new stored values: what an edit writes or an
// amendment records. Surrounding spaces of one-line fields do not count as
// a change. The form should be valid (fields it cannot read are skipped).
func (f Form) Changes(c store.Commitment) []store.Change {
	vals, err := f.values()
	if err != nil {
		return nil
	}
	var out []store.Change
	for _, fld := range domain.Fields() {
		v, ok := vals[fld]
		if !ok {
			continue
		}
		old := c.Get(fld)
		if fld == domain.FieldTitle || fld == domain.FieldLegalBasis || fld == domain.FieldResponsible {
			old = strings.TrimSpace(old)
		}
		if v != old {
			out = append(out, store.Change{Field: fld, Value: v})
		}
	}
	return out
}

// SaveForm saves the form: it creates a commitment when ref is nil; edits
// a draft field by field; or amends a published one, which needs a reason
// (and a leader). It returns the commitment's reference. A form that does
// not validate gives a *FormError and writes nothing; so do a missing
// reason and a conflicted field among those changed.
func SaveForm(se *store.Session, ref *store.Ref, f Form, reason string) (store.Ref, error) {
	if bad := f.Validate(); len(bad) > 0 {
		return store.Ref{}, &FormError{Fields: bad}
	}
	if ref == nil {
		d, err := f.Draft()
		if err != nil {
			return store.Ref{}, err
		}
		return se.Create(d)
	}
	c, err := se.Store().Commitment(*ref)
	if err != nil {
		return *ref, err
	}
	changes := f.Changes(c)
	if len(changes) == 0 {
		return *ref, nil
	}
	for _, ch := range changes {
		for _, x := range c.Conflicted {
			if x == ch.Field {
				return *ref, fmt.Errorf("%w: %s", store.ErrConflicted, ch.Field)
			}
		}
	}
	switch {
	case domain.Editable(c.Status):
		for _, ch := range editOrder(changes) {
			if err := se.Edit(*ref, ch.Field, ch.Value); err != nil {
				return *ref, err
			}
		}
		return *ref, nil
	case domain.Amendable(c.Status):
		if !se.Account().Role.AtLeast(domain.RoleLeader) {
			return *ref, fmt.Errorf("%w: only a leader amends a commitment", domain.ErrNotAllowed)
		}
		if m, ok := ValidateReason(reason); !ok {
			return *ref, &FormError{Fields: map[string]Message{FieldReason: m}}
		}
		return *ref, se.Amend(*ref, changes, strings.TrimSpace(reason))
	}
	return *ref, fmt.Errorf("%w: %s is %s", store.ErrNotEditable, ref, c.Status)
}

// editOrder orders a draft's field edits so that each leaves a valid
// commitment: a new start date before a working-day deadline that counts
// from it, a deadline that no longer needs a start before the start is
// cleared.
func editOrder(changes []store.Change) []store.Change {
	var startIdx, dlIdx = -1, -1
	for i, ch := range changes {
		switch ch.Field {
		case domain.FieldStartDate:
			startIdx = i
		case domain.FieldDeadline:
			dlIdx = i
		}
	}
	if startIdx < 0 || dlIdx < 0 {
		return changes
	}
	out := make([]store.Change, 0, len(changes))
	for i, ch := range changes {
		if i != startIdx && i != dlIdx {
			out = append(out, ch)
		}
	}
	if changes[startIdx].Value == "" {
		return append(out, changes[dlIdx], changes[startIdx])
	}
	return append(out, changes[startIdx], changes[dlIdx])
}

// ValidateReason checks the reason of an amendment, withdrawal, partial
// fulfilment or breach: given, one paragraph within domain.MaxShortBytes.
func ValidateReason(reason string) (Message, bool) {
	out := map[string]Message{}
	checkText(out, FieldReason, reason, "ui.form.reason_required", domain.MaxShortBytes)
	m, bad := out[FieldReason]
	return m, !bad
}

// Withdraw withdraws a commitment; reason is its legal basis, required.
func Withdraw(se *store.Session, ref store.Ref, reason string) error {
	if m, ok := ValidateReason(reason); !ok {
		return &FormError{Fields: map[string]Message{FieldReason: m}}
	}
	return se.Withdraw(ref, strings.TrimSpace(reason))
}

// Transition moves a commitment to status to, with reason where the state
// machine asks for one; a missing or over-long reason gives a *FormError.
func Transition(se *store.Session, ref store.Ref, to domain.Status, reason string) error {
	if domain.NonBlank(reason) || to == domain.StatusPartlyFulfilled || to == domain.StatusBreached || to == domain.StatusWithdrawn {
		if m, ok := ValidateReason(reason); !ok {
			return &FormError{Fields: map[string]Message{FieldReason: m}}
		}
	}
	return se.Transition(ref, to, strings.TrimSpace(reason))
}

// FormFields are the form's fields in the order a screen shows them, the
// order FormView.Blockers names them in.
func FormFields() []string {
	return []string{FieldCategory, FieldTitle, FieldText, FieldLegalBasis, FieldResponsible, FieldStart,
		FieldDeadlineDate, FieldWorkdays, FieldReason}
}

// FormView decides what a form shows while it is being filled in. A
// field's message appears only once the user has changed or left that
// field, or pressed Save: a form that opens covered in red, with messages
// vanishing one by one as fields are filled, is read as broken. Until the
// form is valid, Blockers names every field still at fault, so the screen
// can say why Save is not yet possible. The zero value is a fresh form.
type FormView struct {
	touched map[string]bool
	all     bool
}

// Touch records that the user changed or left field.
func (v *FormView) Touch(field string) {
	if v.touched == nil {
		v.touched = map[string]bool{}
	}
	v.touched[field] = true
}

// ShowAll shows every field's message from now on (the user pressed Save).
func (v *FormView) ShowAll() { v.all = true }

// Shown returns the messages of errs (Validate's result) to show now.
func (v *FormView) Shown(errs map[string]Message) map[string]Message {
	out := map[string]Message{}
	for f, m := range errs {
		if v.all || v.touched[f] {
			out[f] = m
		}
	}
	return out
}

// Blockers returns the fields of errs in FormFields order (others after,
// sorted): what must be filled in or corrected before saving.
func (v *FormView) Blockers(errs map[string]Message) []string {
	var out []string
	for _, f := range FormFields() {
		if _, ok := errs[f]; ok {
			out = append(out, f)
		}
	}
	var rest []string
	for f := range errs {
		if !slices.Contains(out, f) {
			rest = append(rest, f)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}
