package domain

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"jiannuo/domain/calendar"
)

// Social supervision (§二(三), §三(三), §四(四)): complaints from the public
// about commitments not kept, objections to dishonesty records, and how the
// county and the township handle them. This file holds the vocabulary every
// tier shares; the signed format is in sync/protocol, the replicated view in
// store.

// CaseKind is what a case is about. The values are stored and signed: never
// rename one.
type CaseKind string

// The kinds of case.
const (
	CaseComplaint CaseKind = "complaint" // 投诉举报: a promise is not being kept
	CaseObjection CaseKind = "objection" // 异议: a dishonesty record is wrong
)

var caseKinds = []CaseKind{CaseComplaint, CaseObjection}

// CaseKinds returns the kinds in display order.
func CaseKinds() []CaseKind { return slices.Clone(caseKinds) }

// Valid reports whether k is a known kind.
func (k CaseKind) Valid() bool { return slices.Contains(caseKinds, k) }

// CaseSource is who filed a case. The values are stored and signed.
type CaseSource string

// The sources of a case.
const (
	// CaseSourcePublic: filed on the public page; the municipal node signs
	// the intake and the county server opens the case.
	CaseSourcePublic CaseSource = "public"
	// CaseSourceTownship: an objection by the office a dishonesty record is
	// against, filed by its leader on a township device.
	CaseSourceTownship CaseSource = "township"
	// CaseSourceCounty: opened by a county admin (a complaint received by
	// letter or telephone, say).
	CaseSourceCounty CaseSource = "county"
)

var caseSources = []CaseSource{CaseSourcePublic, CaseSourceTownship, CaseSourceCounty}

// CaseSources returns the sources in display order.
func CaseSources() []CaseSource { return slices.Clone(caseSources) }

// Valid reports whether s is a known source.
func (s CaseSource) Valid() bool { return slices.Contains(caseSources, s) }

// CaseStep is a step taken on an open case. The values are stored and
// signed.
type CaseStep string

// The steps, in the order a case normally goes through them.
const (
	// CaseAssigned: the county sets the deadlines (sent with the case, and
	// again to change them).
	CaseAssigned CaseStep = "assigned"
	// CaseAcknowledged: 受理, the handler has read it.
	CaseAcknowledged CaseStep = "acknowledged"
	// CaseReply: a reply drafted by the township, not public until the
	// county accepts it.
	CaseReply CaseStep = "reply"
	// CaseApproved: the leader approves a reply draft and submits it to
	// the county.
	CaseApproved CaseStep = "approved"
	// CaseAccepted: the county accepts the approved reply, which becomes
	// the public reply, and closes a complaint.
	CaseAccepted CaseStep = "accepted"
	// CaseReturned: the county sends the approved reply back, with a
	// reason; the township drafts again.
	CaseReturned CaseStep = "returned"
	// CaseDecided: the county decides an objection and closes it.
	CaseDecided CaseStep = "decided"
	// CaseLinked: a dishonesty record was created from this case.
	CaseLinked CaseStep = "linked"
	// CaseWithdrawn: the county closes the case without a finding
	// (duplicate, abusive, filed in error).
	CaseWithdrawn CaseStep = "withdrawn"
)

// CaseOpened names the opening of a case (OpCase) in its history. It is
// not a step one takes on a case: not in CaseSteps, not Valid.
const CaseOpened CaseStep = "opened"

var caseSteps = []CaseStep{CaseAssigned, CaseAcknowledged, CaseReply, CaseApproved, CaseAccepted,
	CaseReturned, CaseDecided, CaseLinked, CaseWithdrawn}

// CaseSteps returns every step in display order.
func CaseSteps() []CaseStep { return slices.Clone(caseSteps) }

// Valid reports whether s is a known step.
func (s CaseStep) Valid() bool { return slices.Contains(caseSteps, s) }

// AdminOnly reports whether only a county admin (on a county-admin device)
// takes the step: the assignment and every decision on a case.
func (s CaseStep) AdminOnly() bool { return s.LeastRole() == RoleCountyAdmin }

// LeastRole returns the least role that may take the step: any member of the
// handling office acknowledges and drafts, its leader approves, the county
// admin does the rest. A county admin may take every step. It is "" for an
// unknown step.
func (s CaseStep) LeastRole() Role {
	switch s {
	case CaseAcknowledged, CaseReply:
		return RoleStaff
	case CaseApproved:
		return RoleLeader
	case CaseAssigned, CaseAccepted, CaseReturned, CaseDecided, CaseLinked, CaseWithdrawn:
		return RoleCountyAdmin
	}
	return ""
}

// TextRequired reports whether the step needs a text: the reply itself, or
// the reason for sending back, deciding or withdrawing.
func (s CaseStep) TextRequired() bool {
	return s == CaseReply || s == CaseReturned || s == CaseDecided || s == CaseWithdrawn
}

// TakesEvidence reports whether the step may cite evidence files: those
// that carry a text.
func (s CaseStep) TakesEvidence() bool {
	return s == CaseReply || s == CaseAccepted || s == CaseReturned || s == CaseDecided || s == CaseWithdrawn
}

// Fits reports whether the step applies to a case of kind k: a complaint is
// closed by accepting the township's reply, an objection by the county's
// decision.
func (s CaseStep) Fits(k CaseKind) bool {
	switch s {
	case CaseAccepted:
		return k == CaseComplaint
	case CaseDecided:
		return k == CaseObjection
	}
	return s.Valid() && k.Valid()
}

// Closes reports whether the step closes a case.
func (s CaseStep) Closes() bool { return s == CaseAccepted || s == CaseDecided || s == CaseWithdrawn }

// CaseFinding is the county's finding when it closes a case. The values are
// stored and signed.
type CaseFinding string

// The findings.
const (
	FindingUpheld    CaseFinding = "upheld"     // 属实 / 异议成立
	FindingNotUpheld CaseFinding = "not_upheld" // 不属实 (complaints)
	FindingRejected  CaseFinding = "rejected"   // 异议不成立 (objections)
)

// CaseFindings returns the findings a case of kind k may close with.
func CaseFindings(k CaseKind) []CaseFinding {
	switch k {
	case CaseComplaint:
		return []CaseFinding{FindingUpheld, FindingNotUpheld}
	case CaseObjection:
		return []CaseFinding{FindingUpheld, FindingRejected}
	}
	return nil
}

// FindingFor returns the findings the closing step takes: accepted closes a
// complaint, decided an objection; other steps take none.
func FindingFor(s CaseStep) []CaseFinding {
	switch s {
	case CaseAccepted:
		return CaseFindings(CaseComplaint)
	case CaseDecided:
		return CaseFindings(CaseObjection)
	}
	return nil
}

// CaseStatus is where a case stands, derived from its steps; it is never
// signed.
type CaseStatus string

// The statuses of a case.
const (
	CaseStatusOpen         CaseStatus = "open"         // filed, not yet acknowledged
	CaseStatusAcknowledged CaseStatus = "acknowledged" // 受理: the township works on it
	CaseStatusReplied      CaseStatus = "replied"      // an approved reply awaits the county
	CaseStatusClosed       CaseStatus = "closed"       // accepted, decided or withdrawn
)

var caseStatuses = []CaseStatus{CaseStatusOpen, CaseStatusAcknowledged, CaseStatusReplied, CaseStatusClosed}

// CaseStatuses returns the statuses in lifecycle order.
func CaseStatuses() []CaseStatus { return slices.Clone(caseStatuses) }

// Valid reports whether s is a known status.
func (s CaseStatus) Valid() bool { return slices.Contains(caseStatuses, s) }

// SanctionMeasure is a disciplinary measure recorded on a dishonesty record
// (§四(三)). The values are stored and signed.
type SanctionMeasure string

// The measures.
const (
	SanctionPublicCriticism   SanctionMeasure = "public_criticism"   // 通报批评
	SanctionHonoursWithdrawn  SanctionMeasure = "honours_withdrawn"  // 取消评先评优资格
	SanctionHonoursRestricted SanctionMeasure = "honours_restricted" // 限制评优评先 (officials)
	SanctionAccountability    SanctionMeasure = "accountability"     // 追究主要负责人责任
	SanctionOther             SanctionMeasure = "other"              // the reason says what
)

var sanctionMeasures = []SanctionMeasure{SanctionPublicCriticism, SanctionHonoursWithdrawn,
	SanctionHonoursRestricted, SanctionAccountability, SanctionOther}

// SanctionMeasures returns the measures in display order.
func SanctionMeasures() []SanctionMeasure { return slices.Clone(sanctionMeasures) }

// Valid reports whether m is a known measure.
func (m SanctionMeasure) Valid() bool { return slices.Contains(sanctionMeasures, m) }

// Mitigation is a lighter treatment or exemption of a dishonesty record
// (§四(四)). The values are stored and signed.
type Mitigation string

// The mitigations.
const (
	MitigationLighter Mitigation = "lighter" // 从轻
	MitigationExempt  Mitigation = "exempt"  // 免于惩戒
)

var mitigations = []Mitigation{MitigationLighter, MitigationExempt}

// Mitigations returns the mitigations in display order.
func Mitigations() []Mitigation { return slices.Clone(mitigations) }

// Valid reports whether m is a known mitigation.
func (m Mitigation) Valid() bool { return slices.Contains(mitigations, m) }

// Limits of what the public files and the township answers. The form states
// them; every tier checks them.
const (
	// MaxCaseTextRunes bounds a case's text and a step's text, in
	// characters.
	MaxCaseTextRunes = 2000
	// MaxCaseTextBytes bounds the same texts in bytes of UTF-8.
	MaxCaseTextBytes = 8000
	// MaxContactNameRunes bounds a filer's name.
	MaxContactNameRunes = 40
	// MinPhoneDigits and MinPhoneChars, MaxPhoneChars bound a phone
	// number: 5–20 characters of digits, spaces, '+' and '-', with at
	// least 5 digits.
	MinPhoneChars  = 5
	MaxPhoneChars  = 20
	MinPhoneDigits = 5
	// MaxCaseAttachments bounds the files filed with a case.
	MaxCaseAttachments = 3
	// MaxAttachmentBytes bounds one attached file.
	MaxAttachmentBytes = 5 << 20
)

// The attachment types the public may file, by their content.
const (
	MIMEJPEG = "image/jpeg"
	MIMEPNG  = "image/png"
	MIMEPDF  = "application/pdf"
)

var attachmentTypes = []string{MIMEJPEG, MIMEPNG, MIMEPDF}

// AttachmentTypes returns the MIME types an attachment may have.
func AttachmentTypes() []string { return slices.Clone(attachmentTypes) }

// AttachmentTypeAllowed reports whether mime is one of AttachmentTypes.
func AttachmentTypeAllowed(mime string) bool { return slices.Contains(attachmentTypes, mime) }

// ErrAttachmentType means a file's content is not one of the allowed types,
// whatever its name says.
var ErrAttachmentType = errors.New("attachment type not allowed")

// SniffAttachment returns the type of an attachment from its first bytes
// (512 are plenty): JPEG, PNG or PDF, or an error wrapping
// ErrAttachmentType. The name and the type the browser claims are never
// trusted.
func SniffAttachment(head []byte) (string, error) {
	switch {
	case bytes.HasPrefix(head, []byte{0xff, 0xd8, 0xff}):
		return MIMEJPEG, nil
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return MIMEPNG, nil
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return MIMEPDF, nil
	}
	return "", fmt.Errorf("%w: the content is not JPEG, PNG or PDF", ErrAttachmentType)
}

// CheckCaseText validates a case's text or a step's text: valid UTF-8
// without control characters but newline and tab, at most
// MaxCaseTextRunes characters and MaxCaseTextBytes bytes, and, when
// required, not blank. Errors wrap ErrInvalidValue.
func CheckCaseText(what, v string, required bool) error {
	if required && !nonBlank(v) {
		return fmt.Errorf("%w: %s is empty", ErrInvalidValue, what)
	}
	if err := CheckText(what, v, MaxCaseTextBytes); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(v); n > MaxCaseTextRunes {
		return fmt.Errorf("%w: %s is %d characters, the limit is %d", ErrInvalidValue, what, n, MaxCaseTextRunes)
	}
	return nil
}

// CheckContact validates the filer's optional name and phone number. Both
// may be empty; a name that is given is not blank, at most
// MaxContactNameRunes characters, without control characters; a phone
// number that is given has 5–20 characters, only digits, spaces, '+' and
// '-', and at least 5 digits. Errors wrap ErrInvalidValue.
func CheckContact(name, phone string) error {
	if name != "" {
		if !nonBlank(name) {
			return fmt.Errorf("%w: name is blank", ErrInvalidValue)
		}
		if err := CheckText("name", name, 4*MaxContactNameRunes); err != nil {
			return err
		}
		if n := utf8.RuneCountInString(name); n > MaxContactNameRunes {
			return fmt.Errorf("%w: name is %d characters, the limit is %d", ErrInvalidValue, n, MaxContactNameRunes)
		}
		for _, r := range name {
			if r == '\n' || r == '\t' {
				return fmt.Errorf("%w: name spans lines", ErrInvalidValue)
			}
		}
	}
	if phone != "" {
		if len(phone) < MinPhoneChars || len(phone) > MaxPhoneChars {
			return fmt.Errorf("%w: phone number of %d characters (want %d–%d)", ErrInvalidValue, len(phone), MinPhoneChars, MaxPhoneChars)
		}
		digits := 0
		for i := 0; i < len(phone); i++ {
			switch c := phone[i]; {
			case c >= '0' && c <= '9':
				digits++
			case c == ' ' || c == '+' || c == '-':
			default:
				return fmt.Errorf("%w: phone number may hold only digits, spaces, + and -", ErrInvalidValue)
			}
		}
		if digits < MinPhoneDigits {
			return fmt.Errorf("%w: phone number has %d digits, at least %d are needed", ErrInvalidValue, digits, MinPhoneDigits)
		}
	}
	return nil
}

// Default time limits of a case, in working days counted from the day it
// was filed (the county may set others).
const (
	DefaultCaseAckDays    = 3  // 受理
	DefaultCaseAnswerDays = 15 // 答复
	DefaultObjectionDays  = 15 // the county's decision on an objection
)

// chinaZone is China Standard Time. It has had no daylight saving since
// 1991, so a fixed zone needs no time zone database on the machine.
var chinaZone = time.FixedZone("CST", 8*3600)

// ChinaDate returns the civil date in China of an instant given in Unix
// milliseconds: the day a case counts as filed, whatever zone the machine
// that received it runs in.
func ChinaDate(ms int64) calendar.Date { return calendar.DateOf(time.UnixMilli(ms).In(chinaZone)) }

// CaseDeadline returns the day n working days after filed (filed itself
// not counted), with the official calendar. For a year the calendar does
// not cover it still returns a Monday–Friday estimate, with an error
// wrapping calendar.ErrYearNotCovered; any other error means no date.
func CaseDeadline(filed calendar.Date, n int, cal *calendar.Calendar) (calendar.Date, error) {
	due, err := cal.AddWorkingDays(filed, n)
	if err != nil && !errors.Is(err, calendar.ErrYearNotCovered) {
		return calendar.Date{}, err
	}
	return due, err
}

// CaseDue is where a case stands against its deadlines on a given day.
type CaseDue struct {
	// AckLate: not acknowledged and the acknowledgement deadline has
	// passed.
	AckLate bool
	// AnswerLate: neither closed nor replied (an approved reply awaiting
	// the county) and the answer deadline has passed.
	AnswerLate bool
	// DaysOverdue counts calendar days past the earliest deadline missed.
	DaysOverdue int
	// WorkdaysLeft counts working days from today to the next deadline
	// still ahead (0 when due today or when nothing is due).
	WorkdaysLeft int
}

// Overdue reports whether any deadline is missed.
func (d CaseDue) Overdue() bool { return d.AckLate || d.AnswerLate }

// ComputeCaseDue derives a case's due state on the day today from its
// status and deadlines (zero dates: no such deadline). A case with an
// approved reply awaiting the county is the county's to close, not overdue
// for the township; a closed case is never overdue. Every tier uses it, so
// the county overview, the app and the public page agree.
func ComputeCaseDue(status CaseStatus, ackDue, answerDue, today calendar.Date, cal *calendar.Calendar) CaseDue {
	var d CaseDue
	var missed []calendar.Date
	var ahead calendar.Date
	consider := func(due calendar.Date, pending bool) bool {
		if due.IsZero() || !pending {
			return false
		}
		if today.After(due) {
			missed = append(missed, due)
			return true
		}
		if ahead.IsZero() || due.Before(ahead) {
			ahead = due
		}
		return false
	}
	d.AckLate = consider(ackDue, status == CaseStatusOpen)
	d.AnswerLate = consider(answerDue, status == CaseStatusOpen || status == CaseStatusAcknowledged)
	for _, m := range missed {
		d.DaysOverdue = max(d.DaysOverdue, m.DaysUntil(today))
	}
	if !ahead.IsZero() && cal != nil {
		d.WorkdaysLeft = cal.WorkingDaysBetween(today, ahead)
	}
	return d
}
