package protocol

import (
	"bytes"
	"errors"
	"slices"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
)

// OpKind says what an operation does. Values are part of the signed format.
type OpKind uint8

// The operation kinds.
const (
	// OpCreate creates a draft commitment, writing every field once.
	OpCreate OpKind = 1
	// OpEdit changes one content field of a draft in place.
	OpEdit OpKind = 2
	// OpAmend changes content fields of a published commitment; the
	// amendment and its reason stay in the commitment's history (§五(四)).
	OpAmend OpKind = 3
	// OpTransition moves a commitment to another status.
	OpTransition OpKind = 4
	// OpFulfil appends a fulfilment entry (践诺记录). Append-only: it never
	// conflicts.
	OpFulfil OpKind = 5
	// OpEvidence records an evidence file's metadata; its content travels
	// and is stored separately, addressed by its SHA-256.
	OpEvidence OpKind = 6
	// OpResolve is a county admin's decision on a conflicted field: it
	// supersedes every competing value.
	OpResolve OpKind = 7
	// OpDishonesty records a government dishonesty record (政务失信记录)
	// against a commitment (county admins only; see Dishonesty).
	OpDishonesty OpKind = 8
	// OpDishonestyStep moves a dishonesty record on: explanation received,
	// rectified, credit repaired, sanctioned, … (county admins), or the
	// township's explanation or rectification submitted (its leader).
	OpDishonestyStep OpKind = 9
	// OpCase opens a supervision case, a complaint or an objection (see
	// Case).
	OpCase OpKind = 10
	// OpCaseStep moves a case on (see CaseStep).
	OpCaseStep OpKind = 11
	// OpAccount records a leader's change to an account of the device's
	// office: added, disabled, passphrase reset, role or name changed (see
	// AccountChange). Its target is zero.
	OpAccount OpKind = 12
	// OpUrge is a county admin's urge (催办) to a township about a
	// commitment, a case about it, or the township's annual report (see
	// Urge).
	OpUrge OpKind = 13
	// OpUrgeRead is the township's read receipt of an urge (see UrgeRead).
	OpUrgeRead OpKind = 14
	// OpAnnualReport is an office's annual report on keeping its
	// commitments, or a county's compilation (see AnnualReport).
	OpAnnualReport OpKind = 15
)

// String names the kind for logs.
func (k OpKind) String() string {
	switch k {
	case OpCreate:
		return "create"
	case OpEdit:
		return "edit"
	case OpAmend:
		return "amend"
	case OpTransition:
		return "transition"
	case OpFulfil:
		return "fulfil"
	case OpEvidence:
		return "evidence"
	case OpResolve:
		return "resolve"
	case OpDishonesty:
		return "dishonesty"
	case OpDishonestyStep:
		return "dishonesty_step"
	case OpCase:
		return "case"
	case OpCaseStep:
		return "case_step"
	case OpAccount:
		return "account"
	case OpUrge:
		return "urge"
	case OpUrgeRead:
		return "urge_read"
	case OpAnnualReport:
		return "annual_report"
	}
	return "unknown"
}

// AdminOnly reports whether only a county-admin device may sign the kind.
// For OpDishonestyStep it depends on the step (the township submits its
// explanation and rectification), for the case kinds on the source and
// the step: their own rules decide.
func (k OpKind) AdminOnly() bool { return k == OpResolve || k == OpDishonesty || k == OpUrge }

// Limits on operations, part of the verification rules.
const (
	// MaxOpsPerChangeSet bounds the operations in one change set.
	MaxOpsPerChangeSet = 1000
	// MaxBase bounds the competing versions a write may supersede.
	MaxBase = 64
	// MaxEvidencePerEntry bounds the evidence files cited by one entry.
	MaxEvidencePerEntry = 32
	// MaxEvidenceBytes bounds one evidence file (20 MiB: scans and photos).
	MaxEvidenceBytes = 20 << 20
	// MaxNameBytes bounds author names, file names and MIME types.
	MaxNameBytes = 256
)

// FieldWrite sets one field of a commitment. Base lists the writes of that
// field the author had seen (the field's current versions on the author's
// replica); a write supersedes exactly its base, so two writes that do not
// know of each other both survive as a conflict.
type FieldWrite struct {
	Field domain.Field
	Value string
	Base  []OpID
}

// Entry is a fulfilment entry (践诺记录).
type Entry struct {
	Date     calendar.Date
	Progress uint8 // percent, 0..100
	Note     string
	Evidence []Hash // evidence files, by content hash
}

// EvidenceMeta describes an evidence file (佐证材料).
type EvidenceMeta struct {
	Hash Hash
	Name string
	MIME string
	Size int64
}

// Op is one user action. Which fields are set depends on Kind (see
// Validate); the rest are zero.
type Op struct {
	Num    uint64      // the device's operation number, gapless
	HLC    HLC         // when, in hybrid logical time
	Kind   OpKind      //
	Office office.Code // the office whose record this is
	Target EntityID    // the commitment

	Writes []FieldWrite  // create, edit, amend, transition, resolve
	From   domain.Status // transition: the status the author saw
	Reason string        // amend, transition (where required), resolve
	Entry  *Entry        // fulfil
	Meta   *EvidenceMeta // evidence

	Dishonesty *Dishonesty    // dishonesty, dishonesty step
	Case       *Case          // case
	CaseStep   *CaseStep      // case step
	Account    *AccountChange // account
	Urge       *Urge          // urge
	UrgeRead   *UrgeRead      // urge read
	Report     *AnnualReport  // annual report
}

// ID returns the operation's ID given the device that made it.
func (op *Op) ID(dev DeviceID) OpID { return OpID{Device: dev, Num: op.Num} }

// Validate checks everything about op that needs no stored state, for an
// author with the given role on a device of the given kind. Errors wrap
// ErrInvalidOperation or ErrNotAuthorized.
func (op *Op) Validate(role domain.Role, admin bool) error {
	if err := op.validateCommon(admin); err != nil {
		return err
	}
	switch op.Kind {
	case OpCreate:
		return op.validateCreate()
	case OpEdit:
		return op.validateEdit()
	case OpAmend:
		return op.validateAmend(role)
	case OpTransition:
		return op.validateTransition(role, admin)
	case OpFulfil:
		return op.validateFulfil()
	case OpEvidence:
		return op.validateEvidence()
	case OpResolve:
		return op.validateResolve(role)
	case OpDishonesty, OpDishonestyStep:
		return op.validateDishonesty(role, admin)
	case OpCase, OpCaseStep:
		return op.validateCaseOp(role, admin)
	case OpAccount:
		return op.validateAccount(role, admin)
	case OpUrge, OpUrgeRead, OpAnnualReport:
		return op.validateYear(role, admin)
	}
	return errorf(ErrInvalidOperation, "op %d: unknown kind %d", op.Num, op.Kind)
}

// validateCommon checks what every kind shares: the stamp, the office, the
// device kind, the target, which parts are set for the kind, the reason's
// text and the field writes.
func (op *Op) validateCommon(admin bool) error {
	if op.HLC == 0 {
		return errorf(ErrInvalidOperation, "op %d: no clock stamp", op.Num)
	}
	if !op.Office.Valid() {
		return errorf(ErrInvalidOperation, "op %d: invalid office %q", op.Num, op.Office)
	}
	if op.Kind.AdminOnly() && !admin {
		return errorf(ErrNotAuthorized, "op %d: %s needs a county-admin device", op.Num, op.Kind)
	}
	// Evidence may stand alone; an account change, a read receipt and a
	// report concern no commitment, nor does an urge about a report (their
	// own rules want the target zero).
	if op.Kind != OpEvidence && op.Kind != OpAccount && !op.Kind.year() && op.Target.IsZero() {
		return errorf(ErrInvalidOperation, "op %d: no target commitment", op.Num)
	}
	if op.Kind != OpTransition && op.From != "" {
		return errorf(ErrInvalidOperation, "op %d: %s carries a from-status", op.Num, op.Kind)
	}
	if (op.Entry != nil) != (op.Kind == OpFulfil) || (op.Meta != nil) != (op.Kind == OpEvidence) ||
		(op.Dishonesty != nil) != op.Kind.dishonesty() || (op.Account != nil) != (op.Kind == OpAccount) {
		return errorf(ErrInvalidOperation, "op %d: %s with wrong body", op.Num, op.Kind)
	}
	if err := op.checkCaseBodies(); err != nil {
		return err
	}
	if err := op.checkYearBodies(); err != nil {
		return err
	}
	if err := domain.CheckText("reason", op.Reason, domain.MaxShortBytes); err != nil {
		return errorf(ErrInvalidOperation, "op %d: %v", op.Num, err)
	}
	return op.validateWrites()
}

func (op *Op) validateEdit() error {
	if len(op.Writes) != 1 || !op.Writes[0].Field.Content() || len(op.Writes[0].Base) != 1 || op.Reason != "" {
		return errorf(ErrInvalidOperation, "op %d: edit must change one content field over one version", op.Num)
	}
	return nil
}

func (op *Op) validateAmend(role domain.Role) error {
	if len(op.Writes) == 0 || !domain.NonBlank(op.Reason) {
		return errorf(ErrInvalidOperation, "op %d: amendment needs changes and a reason", op.Num)
	}
	if !role.AtLeast(domain.RoleLeader) {
		return errorf(ErrNotAuthorized, "op %d: only a leader amends a commitment", op.Num)
	}
	for _, w := range op.Writes {
		if !w.Field.Content() || len(w.Base) != 1 {
			return errorf(ErrInvalidOperation, "op %d: amendment of %s must change content over one version", op.Num, w.Field)
		}
	}
	return nil
}

func (op *Op) validateTransition(role domain.Role, admin bool) error {
	if len(op.Writes) != 1 || op.Writes[0].Field != domain.FieldStatus || len(op.Writes[0].Base) != 1 {
		return errorf(ErrInvalidOperation, "op %d: transition must write the status over one version", op.Num)
	}
	to := domain.Status(op.Writes[0].Value)
	if err := domain.CheckTransition(op.From, to, role, op.Reason); err != nil {
		// Only a role too low is an authorisation failure; an illegal
		// transition or a missing reason is a broken rule.
		if errors.Is(err, domain.ErrNotAllowed) {
			return errorf(ErrNotAuthorized, "op %d: %v", op.Num, err)
		}
		return errorf(ErrInvalidOperation, "op %d: %v", op.Num, err)
	}
	if to == domain.StatusBreached && !admin {
		return errorf(ErrNotAuthorized, "op %d: only a county-admin device confirms a breach", op.Num)
	}
	return nil
}

func (op *Op) validateFulfil() error {
	if len(op.Writes) != 0 || op.Reason != "" {
		return errorf(ErrInvalidOperation, "op %d: fulfilment carries writes", op.Num)
	}
	e := op.Entry
	if e.Date.IsZero() || e.Progress > 100 || len(e.Evidence) > MaxEvidencePerEntry {
		return errorf(ErrInvalidOperation, "op %d: fulfilment entry date, progress or evidence count", op.Num)
	}
	if !slices.IsSortedFunc(e.Evidence, compareHash) || len(slices.Compact(slices.Clone(e.Evidence))) != len(e.Evidence) {
		// One encoding per content: evidence is a set, kept sorted.
		return errorf(ErrInvalidOperation, "op %d: evidence not sorted and distinct", op.Num)
	}
	if err := domain.CheckText("note", e.Note, domain.MaxNoteBytes); err != nil {
		return errorf(ErrInvalidOperation, "op %d: %v", op.Num, err)
	}
	return nil
}

func (op *Op) validateEvidence() error {
	m := op.Meta
	if len(op.Writes) != 0 || op.Reason != "" || m.Hash.IsZero() || m.Size <= 0 || m.Size > MaxEvidenceBytes {
		return errorf(ErrInvalidOperation, "op %d: evidence metadata", op.Num)
	}
	if !domain.NonBlank(m.Name) || domain.CheckText("name", m.Name, MaxNameBytes) != nil || domain.CheckText("mime", m.MIME, MaxNameBytes) != nil {
		return errorf(ErrInvalidOperation, "op %d: evidence name or type", op.Num)
	}
	return nil
}

func (op *Op) validateResolve(role domain.Role) error {
	if role != domain.RoleCountyAdmin {
		return errorf(ErrNotAuthorized, "op %d: only a county admin reconciles a conflict", op.Num)
	}
	if len(op.Writes) != 1 || len(op.Writes[0].Base) < 2 || !domain.NonBlank(op.Reason) {
		return errorf(ErrInvalidOperation, "op %d: resolution must settle one field over its competing versions, with a reason", op.Num)
	}
	return nil
}

func (op *Op) validateWrites() error {
	last := -1
	for _, w := range op.Writes {
		// Writes come in domain.Fields order, each field once: one
		// encoding per content.
		i := domain.FieldIndex(w.Field)
		if i <= last {
			return errorf(ErrInvalidOperation, "op %d: field %q unknown, repeated or out of order", op.Num, w.Field)
		}
		last = i
		if err := domain.ValidateValue(w.Field, w.Value); err != nil {
			return errorf(ErrInvalidOperation, "op %d: %v", op.Num, err)
		}
		if len(w.Base) > MaxBase {
			return errorf(ErrInvalidOperation, "op %d: %s supersedes %d versions", op.Num, w.Field, len(w.Base))
		}
		// Bases are sets; the canonical form is sorted without repeats:
		// each after the one before.
		for j := 1; j < len(w.Base); j++ {
			if w.Base[j-1].Compare(w.Base[j]) >= 0 {
				return errorf(ErrInvalidOperation, "op %d: %s base not sorted and distinct", op.Num, w.Field)
			}
		}
	}
	return nil
}

func (op *Op) validateCreate() error {
	if op.Reason != "" || len(op.Writes) != domain.NumFields() {
		return errorf(ErrInvalidOperation, "op %d: create must write every field once", op.Num)
	}
	for _, w := range op.Writes {
		if len(w.Base) != 0 {
			return errorf(ErrInvalidOperation, "op %d: create with a base", op.Num)
		}
		if w.Field == domain.FieldStatus && w.Value != string(domain.StatusDraft) {
			return errorf(ErrInvalidOperation, "op %d: a commitment starts as a draft", op.Num)
		}
	}
	return nil
}

// SortWrites puts writes in their canonical order (domain.Fields order).
func SortWrites(ws []FieldWrite) {
	slices.SortFunc(ws, func(a, b FieldWrite) int { return domain.FieldIndex(a.Field) - domain.FieldIndex(b.Field) })
}

// SortHashes returns hashes in their canonical order (sorted, no repeats).
func SortHashes(hs []Hash) []Hash {
	out := slices.Clone(hs)
	slices.SortFunc(out, compareHash)
	return slices.Compact(out)
}

func compareHash(a, b Hash) int { return bytes.Compare(a[:], b[:]) }

// SortBase puts a base in its canonical order (sorted, no repeats).
func SortBase(base []OpID) []OpID {
	out := slices.Clone(base)
	slices.SortFunc(out, OpID.Compare)
	return slices.CompactFunc(out, func(a, b OpID) bool { return a == b })
}
