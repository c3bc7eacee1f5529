package protocol

import (
	"bytes"
	"slices"

	"golang.org/x/crypto/nacl/box"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
)

// Supervision cases (complaints and objections, docs/changeset-format.md).
// OpCase opens a case about a commitment (and, for an objection, one of its
// dishonesty records); OpCaseStep moves it on. Op.Office is the office
// whose record the case concerns, Op.Target the commitment; the body is
// appended after the evidence metadata for these two kinds only, so the
// bytes of every older kind are unchanged.

// Limits of case bodies, part of the verification rules.
const (
	// MaxIntakeBytes bounds the municipal intake document an OpCase
	// carries verbatim (and the intake itself).
	MaxIntakeBytes = 16 << 10
	// MaxContactBoxes bounds the sealed copies of a filer's contact: one
	// per device of the handling office, and one for the county.
	MaxContactBoxes = 16
	// MaxContactBoxBytes bounds one sealed contact.
	MaxContactBoxBytes = 512
	// MaxCaseNumberBytes bounds a case number.
	MaxCaseNumberBytes = 32
)

// Case is the body of OpCase: a case is opened.
type Case struct {
	ID     EntityID // the case; for a public case the intake's ID
	Kind   domain.CaseKind
	Source domain.CaseSource
	// Number is the case number shown to the public (CaseNumber): printable
	// ASCII; for a public case the intake's.
	Number string
	// Record is the dishonesty record an objection concerns; zero for a
	// complaint.
	Record   EntityID
	Text     string
	Evidence []Hash // at most domain.MaxCaseAttachments, sorted and distinct
	Filed    int64  // Unix milliseconds when filed (the intake's time for a public case)
	// Intake is the municipal node's signed intake document (JNCI),
	// verbatim: required for a public case, empty otherwise.
	Intake []byte
	// Contact is the filer's name and phone, sealed to each device of the
	// handling office and (device zero) to the county: sorted by device,
	// distinct. Empty when the filer gave neither.
	Contact []ContactBox
}

// ContactBox is the filer's contact sealed to one device (SealContact); the
// zero device stands for the county.
type ContactBox struct {
	Device DeviceID
	Box    []byte
}

// CaseStep is the body of OpCaseStep: a case moves on (domain.CaseStep says
// who may take which step).
type CaseStep struct {
	Case     EntityID
	Step     domain.CaseStep
	Text     string // the reply, a note, or the reason
	Evidence []Hash // sorted and distinct
	// Ref is the reply an approval approves; zero for every other step.
	Ref     OpID
	Finding domain.CaseFinding // accepted and decided only
	// AckDue and AnswerDue are the deadlines an assignment sets; zero for
	// every other step.
	AckDue, AnswerDue calendar.Date
	// Record is the dishonesty record created from the case (linked only).
	Record EntityID
}

func appendCaseBodies(e *encoder, op *Op) {
	switch op.Kind {
	case OpCase:
		c := op.Case
		if c == nil {
			c = &Case{}
		}
		e.raw(c.ID[:])
		e.str(string(c.Kind))
		e.str(string(c.Source))
		e.str(c.Number)
		e.raw(c.Record[:])
		e.str(c.Text)
		appendHashes(e, c.Evidence)
		e.u64(uint64(c.Filed))
		e.uvarint(uint64(len(c.Intake)))
		e.raw(c.Intake)
		e.uvarint(uint64(len(c.Contact)))
		for _, b := range c.Contact {
			e.raw(b.Device[:])
			e.uvarint(uint64(len(b.Box)))
			e.raw(b.Box)
		}
	case OpCaseStep:
		s := op.CaseStep
		if s == nil {
			s = &CaseStep{}
		}
		e.raw(s.Case[:])
		e.str(string(s.Step))
		e.str(s.Text)
		appendHashes(e, s.Evidence)
		e.raw(s.Ref.Device[:])
		e.uvarint(s.Ref.Num)
		e.str(string(s.Finding))
		e.str(s.AckDue.String())
		e.str(s.AnswerDue.String())
		e.raw(s.Record[:])
	}
}

func decodeCaseBodies(d *decoder, op *Op) {
	switch op.Kind {
	case OpCase:
		c := &Case{}
		d.raw(c.ID[:])
		c.Kind = domain.CaseKind(d.str(16))
		c.Source = domain.CaseSource(d.str(16))
		c.Number = d.str(MaxCaseNumberBytes)
		d.raw(c.Record[:])
		c.Text = d.str(domain.MaxCaseTextBytes)
		c.Evidence = decodeHashes(d, domain.MaxCaseAttachments)
		c.Filed = int64(d.u64())
		if n := d.count(MaxIntakeBytes, 1); n > 0 {
			c.Intake = make([]byte, n)
			d.raw(c.Intake)
		}
		if n := d.count(MaxContactBoxes, 16+1); n > 0 {
			c.Contact = make([]ContactBox, n)
			for i := range c.Contact {
				b := &c.Contact[i]
				d.raw(b.Device[:])
				if m := d.count(MaxContactBoxBytes, 1); m > 0 {
					b.Box = make([]byte, m)
					d.raw(b.Box)
				}
				if i > 0 && d.err == nil && bytes.Compare(c.Contact[i-1].Device[:], b.Device[:]) >= 0 {
					d.fail("contact boxes not sorted by device and distinct")
				}
			}
		}
		op.Case = c
	case OpCaseStep:
		s := &CaseStep{}
		d.raw(s.Case[:])
		s.Step = domain.CaseStep(d.str(32))
		s.Text = d.str(domain.MaxCaseTextBytes)
		s.Evidence = decodeHashes(d, MaxEvidencePerEntry)
		d.raw(s.Ref.Device[:])
		s.Ref.Num = d.uvarint()
		s.Finding = domain.CaseFinding(d.str(16))
		s.AckDue = decodeDate(d, "acknowledgement deadline")
		s.AnswerDue = decodeDate(d, "answer deadline")
		d.raw(s.Record[:])
		op.CaseStep = s
	}
}

// appendHashes writes a set of hashes: a count, then each.
func appendHashes(e *encoder, hs []Hash) {
	e.uvarint(uint64(len(hs)))
	for _, h := range hs {
		e.raw(h[:])
	}
}

// decodeHashes reads what appendHashes wrote, refusing more than max and
// any order but sorted without repeats: a set has one encoding.
func decodeHashes(d *decoder, max int) []Hash {
	n := d.count(max, 32)
	if n == 0 {
		return nil
	}
	out := make([]Hash, n)
	for i := range out {
		d.raw(out[i][:])
		if i > 0 && d.err == nil && compareHash(out[i-1], out[i]) >= 0 {
			d.fail("hashes not sorted and distinct")
		}
	}
	return out
}

// decodeDate reads a date that is either empty or strictly YYYY-MM-DD.
func decodeDate(d *decoder, what string) calendar.Date {
	s := d.str(10)
	if s == "" || d.err != nil {
		return calendar.Date{}
	}
	date, err := calendar.ParseDate(s)
	if err != nil {
		d.fail("%s %q", what, s)
	}
	return date
}

// checkCaseBodies refuses a case body on any other kind, and a case kind
// without its body.
func (op *Op) checkCaseBodies() error {
	if (op.Case != nil) != (op.Kind == OpCase) || (op.CaseStep != nil) != (op.Kind == OpCaseStep) {
		return errorf(ErrInvalidOperation, "op %d: %s with wrong body", op.Num, op.Kind)
	}
	return nil
}

// validateCaseOp checks OpCase and OpCaseStep for an author with role on a
// device that is (admin) or is not a county-admin device.
func (op *Op) validateCaseOp(role domain.Role, admin bool) error {
	if len(op.Writes) != 0 || op.Reason != "" {
		return errorf(ErrInvalidOperation, "op %d: %s writes no field and carries no reason", op.Num, op.Kind)
	}
	if admin && role != domain.RoleCountyAdmin {
		// A county-admin device acts on cases only as the county.
		return errorf(ErrNotAuthorized, "op %d: %s on a county-admin device by a %s", op.Num, op.Kind, role)
	}
	if op.Kind == OpCase {
		return op.validateCase(role, admin)
	}
	return op.validateCaseStep(role, admin)
}

func (op *Op) validateCase(role domain.Role, admin bool) error {
	c := op.Case
	switch c.Source {
	case domain.CaseSourcePublic, domain.CaseSourceCounty:
		if !admin {
			return errorf(ErrNotAuthorized, "op %d: only the county opens a %s case", op.Num, c.Source)
		}
	case domain.CaseSourceTownship:
		if admin || !role.AtLeast(domain.RoleLeader) {
			return errorf(ErrNotAuthorized, "op %d: a township objection is filed by a leader of the office", op.Num)
		}
		if c.Kind != domain.CaseObjection {
			return errorf(ErrInvalidOperation, "op %d: a township files objections only", op.Num)
		}
	default:
		return errorf(ErrInvalidOperation, "op %d: unknown case source %q", op.Num, c.Source)
	}
	if c.ID.IsZero() || !c.Kind.Valid() || c.Filed <= 0 || !printableASCII(c.Number, MaxCaseNumberBytes) {
		return errorf(ErrInvalidOperation, "op %d: case needs an ID, a known kind, a filing time and a printable number", op.Num)
	}
	if c.Record.IsZero() != (c.Kind == domain.CaseComplaint) {
		return errorf(ErrInvalidOperation, "op %d: an objection names its dishonesty record, a complaint none", op.Num)
	}
	if err := domain.CheckCaseText("case text", c.Text, true); err != nil {
		return errorf(ErrInvalidOperation, "op %d: %v", op.Num, err)
	}
	if err := checkHashSet(c.Evidence, domain.MaxCaseAttachments); err != nil {
		return errorf(ErrInvalidOperation, "op %d: evidence: %v", op.Num, err)
	}
	if len(c.Intake) > MaxIntakeBytes || len(c.Contact) > MaxContactBoxes {
		return errorf(ErrInvalidOperation, "op %d: intake or contact too large", op.Num)
	}
	for i, b := range c.Contact {
		if len(b.Box) <= box.AnonymousOverhead || len(b.Box) > MaxContactBoxBytes {
			return errorf(ErrInvalidOperation, "op %d: contact box of %d bytes", op.Num, len(b.Box))
		}
		if i > 0 && bytes.Compare(c.Contact[i-1].Device[:], b.Device[:]) >= 0 {
			return errorf(ErrInvalidOperation, "op %d: contact boxes not sorted by device and distinct", op.Num)
		}
	}
	if (c.Source == domain.CaseSourcePublic) != (len(c.Intake) > 0) {
		return errorf(ErrInvalidOperation, "op %d: a public case carries its intake, no other case does", op.Num)
	}
	if c.Source == domain.CaseSourcePublic {
		in, err := DecodeIntake(c.Intake)
		if err != nil {
			return errorf(ErrInvalidOperation, "op %d: intake: %v", op.Num, err)
		}
		if err := CheckCaseIntake(op, in); err != nil {
			return err
		}
	}
	return nil
}

func (op *Op) validateCaseStep(role domain.Role, admin bool) error {
	s := op.CaseStep
	if !s.Step.Valid() {
		return errorf(ErrInvalidOperation, "op %d: unknown case step %q", op.Num, s.Step)
	}
	if s.Step.AdminOnly() && !admin {
		return errorf(ErrNotAuthorized, "op %d: only the county takes the step %s", op.Num, s.Step)
	}
	if !role.AtLeast(s.Step.LeastRole()) {
		return errorf(ErrNotAuthorized, "op %d: %s needs role %s, not %q", op.Num, s.Step, s.Step.LeastRole(), role)
	}
	if s.Case.IsZero() {
		return errorf(ErrInvalidOperation, "op %d: case step without a case", op.Num)
	}
	if err := domain.CheckCaseText("step text", s.Text, s.Step.TextRequired()); err != nil {
		return errorf(ErrInvalidOperation, "op %d: %s: %v", op.Num, s.Step, err)
	}
	if err := checkHashSet(s.Evidence, MaxEvidencePerEntry); err != nil {
		return errorf(ErrInvalidOperation, "op %d: evidence: %v", op.Num, err)
	}
	if len(s.Evidence) > 0 && !s.Step.TakesEvidence() {
		return errorf(ErrInvalidOperation, "op %d: %s cites no evidence", op.Num, s.Step)
	}
	if (s.Ref != OpID{}) != (s.Step == domain.CaseApproved) || (s.Step == domain.CaseApproved && (s.Ref.Device.IsZero() || s.Ref.Num == 0)) {
		return errorf(ErrInvalidOperation, "op %d: an approval names the reply it approves, no other step names one", op.Num)
	}
	if s.Record.IsZero() != (s.Step != domain.CaseLinked) {
		return errorf(ErrInvalidOperation, "op %d: a link names the dishonesty record, no other step names one", op.Num)
	}
	if findings := domain.FindingFor(s.Step); !slices.Contains(findings, s.Finding) && (len(findings) > 0 || s.Finding != "") {
		return errorf(ErrInvalidOperation, "op %d: %s with finding %q", op.Num, s.Step, s.Finding)
	}
	if s.Step != domain.CaseAssigned {
		if !s.AckDue.IsZero() || !s.AnswerDue.IsZero() {
			return errorf(ErrInvalidOperation, "op %d: only an assignment sets deadlines", op.Num)
		}
		return nil
	}
	if s.AnswerDue.IsZero() || (!s.AckDue.IsZero() && s.AnswerDue.Before(s.AckDue)) {
		return errorf(ErrInvalidOperation, "op %d: an assignment sets the answer deadline, not before the acknowledgement deadline", op.Num)
	}
	return nil
}

// checkHashSet refuses more than max hashes, and hashes not sorted or
// repeated: a set has one encoding.
func checkHashSet(hs []Hash, max int) error {
	if len(hs) > max {
		return errorf(ErrInvalidOperation, "%d files, limit %d", len(hs), max)
	}
	for i := 1; i < len(hs); i++ {
		if compareHash(hs[i-1], hs[i]) >= 0 {
			return errorf(ErrInvalidOperation, "not sorted and distinct")
		}
	}
	return nil
}

// printableASCII reports whether s is 1 to max bytes of 0x20–0x7E.
func printableASCII(s string, max int) bool { return s != "" && len(s) <= max && asciiPrintable(s) }
