package vm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"

	bolt "go.etcd.io/bbolt"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// Message is user-facing text as a translation key and the fmt arguments
// of its value, e.g. {"due.overdue", [3]} → "已逾期 3 天". An argument that
// is itself a Message is translated before it is formatted in. The zero
// Message (empty key) means "nothing to show".
type Message struct {
	Key  string // translation key, e.g. "due.overdue"
	Args []any  // fmt arguments of the translation; a Message argument is translated first
}

// Msg returns the message key with args.
func Msg(key string, args ...any) Message { return Message{Key: key, Args: args} }

// IsZero reports whether m is the empty message.
func (m Message) IsZero() bool { return m.Key == "" }

// Text renders m with lookup, which returns the translation of a key (Fyne's
// lang.L, or assets.Translator.T with no arguments): the translation is used
// as a fmt format for the arguments, nested Messages rendered first. With
// no arguments the translation is returned as it is, as
// assets.Translator.T does. The empty message renders as "".
func (m Message) Text(lookup func(key string) string) string {
	if m.Key == "" {
		return ""
	}
	format := lookup(m.Key)
	if len(m.Args) == 0 {
		return format
	}
	args := make([]any, len(m.Args))
	for i, a := range m.Args {
		switch v := a.(type) {
		case Message:
			args[i] = v.Text(lookup)
		case *Message:
			if v != nil {
				args[i] = v.Text(lookup)
			}
		default:
			args[i] = a
		}
	}
	return fmt.Sprintf(format, args...)
}

// Keys returns m's key and those of nested Messages, for tests that check
// every key exists in every language.
func (m Message) Keys() []string {
	if m.Key == "" {
		return nil
	}
	out := []string{m.Key}
	for _, a := range m.Args {
		switch v := a.(type) {
		case Message:
			out = append(out, v.Keys()...)
		case *Message:
			if v != nil {
				out = append(out, v.Keys()...)
			}
		}
	}
	return out
}

// FormError is the error SaveForm, LogFulfil and Form.Draft return when the
// input does not validate: Fields maps each field at fault to its message,
// as Validate gives them. It wraps domain.ErrInvalidValue.
type FormError struct {
	Fields map[string]Message // field name (FieldTitle, FieldReason, …) → what is wrong
}

// Error describes the error for logs.
func (e *FormError) Error() string {
	return fmt.Sprintf("%v: %d fields need attention", domain.ErrInvalidValue, len(e.Fields))
}

// Unwrap makes errors.Is(err, domain.ErrInvalidValue) true.
func (e *FormError) Unwrap() error { return domain.ErrInvalidValue }

// FileError is an evidence file LogFulfil could not add: Name is the file's
// base name, Err why (os.ErrNotExist, store.ErrEvidenceTooLarge, …).
type FileError struct {
	Name string // the file's base name
	Err  error  // why it could not be added
}

// Error describes the error for logs.
func (e *FileError) Error() string { return fmt.Sprintf("evidence file %s: %v", e.Name, e.Err) }

// Unwrap returns the cause.
func (e *FileError) Unwrap() error { return e.Err }

// ErrorMessage turns any error into a plain-language message that says what
// happened and what to do: protocol refusals and the engine's FatalError as
// "error.<code>"; domain rules (illegal transition, reason required, not
// allowed, invalid value); store errors (conflicted field, not editable,
// wrong password, evidence too large or mismatched, not found, …); files,
// network and cancellation; anything else as "error.unknown". nil gives the
// zero Message.
func ErrorMessage(err error) Message {
	if err == nil {
		return Message{}
	}
	var fe *FormError
	if errors.As(err, &fe) {
		return Msg("ui.error.form_invalid")
	}
	var file *FileError
	if errors.As(err, &file) {
		switch {
		case errors.Is(err, store.ErrEvidenceTooLarge):
			return Msg("ui.fulfil.file_too_large", file.Name, protocol.MaxEvidenceBytes>>20)
		case errors.Is(err, os.ErrNotExist):
			return Msg("ui.fulfil.file_missing", file.Name)
		case errors.Is(err, os.ErrPermission):
			return Msg("ui.fulfil.file_unreadable", file.Name)
		}
	}
	var fatal *engine.FatalError
	if errors.As(err, &fatal) {
		return CodeMessage(fatal.Code)
	}
	switch {
	// The store's own errors first: they may wrap domain errors.
	case errors.Is(err, store.ErrConflicted):
		return Msg("error.conflicted_field")
	case errors.Is(err, store.ErrNotEditable):
		return Msg("ui.error.not_editable")
	case errors.Is(err, store.ErrWrongPassword), errors.Is(err, auth.ErrWrongPassword), errors.Is(err, auth.ErrWrongPassphrase):
		return Msg("error.wrong_password")
	case errors.Is(err, auth.ErrWeakPassphrase):
		return Msg("error.weak_passphrase")
	case errors.Is(err, store.ErrEvidenceTooLarge):
		return Msg("error.evidence_too_large")
	case errors.Is(err, protocol.ErrEvidenceMismatch): // store's is the same sentinel
		return Msg("error.evidence_mismatch")
	case errors.Is(err, protocol.ErrNotFound): // store's is the same sentinel
		return Msg("error.not_found")
	case errors.Is(err, store.ErrNotSetUp):
		return Msg("ui.error.not_set_up")
	case errors.Is(err, store.ErrAlreadySetUp):
		return Msg("ui.error.already_set_up")
	case errors.Is(err, store.ErrAccountExists):
		return Msg("ui.error.account_exists")
	case errors.Is(err, store.ErrAccountDisabled):
		return Msg("error.account_disabled")
	case errors.Is(err, store.ErrMustChangePassphrase):
		return Msg("ui.accounts.must_change")
	case errors.Is(err, store.ErrSchemaTooNew):
		return Msg("ui.error.schema_too_new")
	case errors.Is(err, store.ErrInvariant):
		return Msg("ui.error.store_damaged")
	case errors.Is(err, bolt.ErrTimeout):
		return Msg("ui.error.store_locked")
	// Domain rules.
	case errors.Is(err, domain.ErrIllegalTransition):
		return Msg("error.illegal_transition")
	case errors.Is(err, domain.ErrReasonRequired):
		return Msg("error.reason_required")
	case errors.Is(err, domain.ErrNotAllowed):
		return Msg("error.not_authorized")
	case errors.Is(err, domain.ErrInvalidValue), errors.Is(err, calendar.ErrBadDate), errors.Is(err, office.ErrInvalidCode):
		return Msg("error.invalid_operation")
	}
	if c := protocol.CodeOf(err); c != protocol.CodeInternal {
		return CodeMessage(c)
	}
	switch {
	case errors.Is(err, context.Canceled):
		return Msg("ui.error.canceled")
	case errors.Is(err, os.ErrNotExist):
		return Msg("ui.error.file_missing")
	case errors.Is(err, os.ErrPermission):
		return Msg("ui.error.file_permission")
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return Msg("ui.error.network")
	}
	return Msg("error.unknown")
}

// CodeMessage returns the message for a refusal code: "error.<code>", or
// "error.unknown" for the empty code or one this build does not know.
func CodeMessage(c protocol.Code) Message {
	if c == protocol.CodeInternal {
		return Msg("error.internal")
	}
	for _, k := range protocol.Codes() {
		if k == c {
			return Msg("error." + string(c))
		}
	}
	return Msg("error.unknown")
}

// StatusMessage names a status ("status.<status>").
func StatusMessage(s domain.Status) Message { return Msg("status." + string(s)) }

// CategoryMessage names a category ("category.<category>").
func CategoryMessage(c domain.Category) Message { return Msg("category." + string(c)) }

// RoleMessage names a role ("role.<role>").
func RoleMessage(r domain.Role) Message { return Msg("role." + string(r)) }

// DueMessage describes where a commitment stands against its deadline:
// overdue by N days, N working days left (due soon), "截止 <date>", or no
// deadline.
func DueMessage(d domain.Due) Message {
	switch d.State {
	case domain.DueOverdue:
		return Msg("due.overdue", d.DaysOverdue)
	case domain.DueSoon:
		return Msg("due.soon", d.WorkdaysLeft)
	}
	if d.Date.IsZero() {
		return Msg("due.none")
	}
	if d.Estimated {
		return Msg("ui.due.ok_estimated", d.Date.String())
	}
	return Msg("due.ok", d.Date.String())
}

// DeadlineMessage describes a deadline as promised: "截止日期 <date>",
// "N 个工作日内（至 <date>）" (with an estimate note when the holiday
// calendar does not cover the year), "N 个工作日内" when there is no start
// date to count from, or "无截止日期".
func DeadlineMessage(dl domain.Deadline, start calendar.Date, cal *calendar.Calendar) Message {
	switch dl.Kind {
	case domain.DeadlineDate:
		return Msg("deadline.date", dl.Date.String())
	case domain.DeadlineWorkdays:
		due, ok, err := dl.Resolve(start, cal)
		if !ok {
			return Msg("ui.deadline.workdays_no_start", dl.Days)
		}
		var nc calendar.YearNotCoveredError
		if errors.As(err, &nc) {
			return Msg("ui.deadline.workdays_estimate", dl.Days, due.String(), nc.Year)
		}
		return Msg("deadline.workdays", dl.Days, due.String())
	}
	return Msg("due.none")
}

// FormatBytes formats a size for people: "512 B", "12.5 KB", "3.2 MB".
func FormatBytes(n int64) string {
	switch {
	case n < 1<<10:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KB"
	case n < 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB"
	}
	return strconv.FormatFloat(float64(n)/(1<<30), 'f', 1, 64) + " GB"
}
