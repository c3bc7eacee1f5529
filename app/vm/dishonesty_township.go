package vm

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// The township's side of its dishonesty records (§四(三)–(四)): the
// office's records with what each awaits from the township, and the forms
// its leader submits the written explanation (书面说明), the rectification
// (整改) and an objection (异议) with. Staff see the list; only a leader on
// the office's own device submits.

// DishonestyDue is what a dishonesty record awaits, as the township sees
// it.
type DishonestyDue string

// What a record awaits.
const (
	DueNothing       DishonestyDue = "nothing"       // closed: repaired or withdrawn
	DueExplanation   DishonestyDue = "explanation"   // the township's written explanation
	DueRectification DishonestyDue = "rectification" // the township's rectification
	DueCountyReview  DishonestyDue = "county_review" // a submission awaits the county
	DueRepair        DishonestyDue = "repair"        // rectification accepted: the county's credit repair
)

// RecordDue returns what record r awaits: nothing once closed; the
// county's review while a submission is pending; otherwise the explanation
// until the county accepted one, then the rectification, then the county's
// credit repair.
func RecordDue(r store.DishonestyRecord) DishonestyDue {
	switch {
	case !r.Recorded || r.Closed:
		return DueNothing
	case r.Pending != nil:
		return DueCountyReview
	case r.Status.Rank() < domain.StepExplained.Rank():
		return DueExplanation
	case r.Status.Rank() < domain.StepRectified.Rank():
		return DueRectification
	}
	return DueRepair
}

// Message names what is due ("breachui.due.<due>").
func (d DishonestyDue) Message() Message { return Msg("breachui.due." + string(d)) }

// ForTownship reports whether the township has something to do.
func (d DishonestyDue) ForTownship() bool { return d == DueExplanation || d == DueRectification }

// DishonestyStatusMessage names where a record stands: its progress, or
// withdrawn (撤销).
func DishonestyStatusMessage(r store.DishonestyRecord) Message {
	switch {
	case !r.Recorded:
		return DishonestyStepMessage("")
	case r.Withdrawn != nil:
		return DishonestyStepMessage(domain.StepWithdrawn)
	}
	return DishonestyStepMessage(r.Status)
}

// SanctionMessage names a disciplinary measure ("breachui.sanction.<m>").
func SanctionMessage(m domain.SanctionMeasure) Message { return Msg("breachui.sanction." + string(m)) }

// MitigationMessage names a mitigation ("breachui.mitigation.<m>").
func MitigationMessage(m domain.Mitigation) Message { return Msg("breachui.mitigation." + string(m)) }

// ObjectionStatusMessage says where an objection stands: open, upheld or
// rejected (decided), withdrawn.
func ObjectionStatusMessage(c store.Case) Message {
	switch {
	case !c.Closed:
		return Msg("breachui.objection.status.open")
	case c.ClosedBy == domain.CaseDecided:
		return Msg("breachui.objection.status." + string(c.Finding))
	}
	return Msg("breachui.objection.status.withdrawn")
}

// TownshipDishonestyRow is one record of the office, as its township sees
// it.
type TownshipDishonestyRow struct {
	Record     store.DishonestyRecord
	Title      string // the commitment's title; "" when it has not arrived
	TypeName   Message
	StatusName Message
	Due        DishonestyDue
	DueName    Message
	// Returned says the county sent the last submission back, and why;
	// zero when it did not.
	Returned Message
	// OverdueDays is how long the rectification is overdue (0: it is not).
	OverdueDays int
	Overdue     Message
	// Sanctions and Mitigation name the county's decisions.
	Sanctions  []Message
	Mitigation Message
	// Objection is the latest objection to the record, if any.
	Objection       *store.Case
	ObjectionStatus Message
	// What the signed-in user may do now.
	CanExplain, CanRectify, CanObject bool
}

// TownshipDishonesty is the township's 失信记录 screen over its replica.
type TownshipDishonesty struct {
	se *store.Session
	// Sync, when set, is called after a submission so that it reaches the
	// county now (the app passes its sync engine's SyncNow).
	Sync func()
	Rows []TownshipDishonestyRow
}

// NewTownshipDishonesty returns the screen's view-model over the township
// session se.
func NewTownshipDishonesty(se *store.Session, sync func()) *TownshipDishonesty {
	return &TownshipDishonesty{se: se, Sync: sync}
}

// MaySubmit reports whether the signed-in user submits for the office: a
// leader on the office's own device.
func (l *TownshipDishonesty) MaySubmit() bool {
	return !l.se.Device().Admin && l.se.Account().Role.AtLeast(domain.RoleLeader)
}

// Load reads the office's records on day today: those awaiting the
// township first (overdue ones first), then those awaiting the county,
// then the closed ones; by deadline within each.
func (l *TownshipDishonesty) Load(today calendar.Date) error {
	st := l.se.Store()
	o := l.se.Device().Office
	recs, err := st.DishonestyRecords(store.DishonestyFilter{Office: o})
	if err != nil {
		return err
	}
	objections, err := objectionsByRecord(st, o)
	if err != nil {
		return err
	}
	may := l.MaySubmit()
	title := titleLookup(st)
	var rows []TownshipDishonestyRow
	for _, r := range recs {
		if !r.Recorded {
			continue
		}
		due := RecordDue(r)
		row := TownshipDishonestyRow{Record: r, Title: title(r.Commitment), TypeName: DishonestyTypeMessage(r.Type), StatusName: DishonestyStatusMessage(r),
			Due: due, DueName: due.Message()}
		if ret := r.Returned; ret != nil {
			row.Returned = Msg("breachui.returned", DishonestyStepMessage(ret.Step), ret.ReturnReason)
		}
		if n := RectificationOverdue(r, today); n > 0 {
			row.OverdueDays, row.Overdue = n, Msg("breachui.list.overdue", n)
		}
		row.Sanctions, row.Mitigation = decisionMessages(r)
		if cs := objections[store.Ref{Office: r.Office, ID: r.ID}]; len(cs) > 0 {
			row.Objection = &cs[len(cs)-1]
			row.ObjectionStatus = ObjectionStatusMessage(*row.Objection)
		}
		open := r.Pending == nil && !r.Closed
		row.CanExplain = may && open && r.Status.Rank() < domain.StepExplained.Rank()
		row.CanRectify = may && open && r.Status.Rank() < domain.StepRectified.Rank()
		row.CanObject = may && r.Withdrawn == nil && (row.Objection == nil || row.Objection.Closed)
		rows = append(rows, row)
	}
	rank := func(d DishonestyDue) int {
		return map[DishonestyDue]int{DueExplanation: 0, DueRectification: 0, DueCountyReview: 1, DueRepair: 2, DueNothing: 3}[d]
	}
	slices.SortStableFunc(rows, func(a, b TownshipDishonestyRow) int {
		return cmp.Or(cmp.Compare(rank(a.Due), rank(b.Due)), cmp.Compare(b.OverdueDays, a.OverdueDays),
			cmp.Compare(cmp.Or(a.Record.Deadline, "9999"), cmp.Or(b.Record.Deadline, "9999")), cmp.Compare(a.Record.ID.String(), b.Record.ID.String()))
	})
	l.Rows = rows
	return nil
}

// objectionsByRecord returns the objections to the records of office o
// and the offices under it, by record, in the order they were filed.
func objectionsByRecord(st *store.Store, o office.Code) (map[store.Ref][]store.Case, error) {
	cases, err := st.Cases(store.CaseFilter{Office: o, Kind: domain.CaseObjection})
	if err != nil {
		return nil, err
	}
	out := map[store.Ref][]store.Case{}
	for _, c := range cases {
		if c.Record != nil {
			k := store.Ref{Office: c.Office, ID: *c.Record}
			out[k] = append(out[k], c)
		}
	}
	for _, cs := range out {
		slices.SortStableFunc(cs, func(a, b store.Case) int { return cmp.Compare(a.Filed, b.Filed) })
	}
	return out, nil
}

// decisionMessages names a record's sanctions and its mitigation.
func decisionMessages(r store.DishonestyRecord) ([]Message, Message) {
	var sanctions []Message
	for _, s := range r.Sanctions {
		sanctions = append(sanctions, SanctionMessage(s.Measure()))
	}
	var m Message
	if r.Mitigation != nil {
		m = MitigationMessage(r.Mitigation.Mitigation())
	}
	return sanctions, m
}

// Names of the township's forms' fields, the keys of their Validate
// results.
const (
	SubmitFieldText     = "text"     // the explanation, the rectification's description, the objection
	SubmitFieldEvidence = "evidence" // the files
	SubmitFieldRecord   = "record"   // the record does not take this now
)

// ExplanationForm is the written explanation (书面说明) as the leader
// filled it, with optional files (a scan of the signed letter).
type ExplanationForm struct {
	Text     string
	Evidence []protocol.Hash
}

// Validate checks the form against the row: the record awaits an
// explanation, the text is given and within the limits.
func (f ExplanationForm) Validate(row TownshipDishonestyRow) map[string]Message {
	out := map[string]Message{}
	if !row.CanExplain {
		out[SubmitFieldRecord] = Msg("breachui.submit.not_now")
	}
	checkText(out, SubmitFieldText, f.Text, "breachui.submit.explanation_required", domain.MaxNoteBytes)
	checkFiles(out, f.Evidence, false, protocol.MaxEvidencePerEntry)
	return out
}

// RectificationForm is the rectification (整改) as the leader filled it:
// what was done, and at least one file showing it.
type RectificationForm struct {
	Description string
	Evidence    []protocol.Hash
}

// Validate checks the form against the row: the record awaits a
// rectification, the description and at least one file are given.
func (f RectificationForm) Validate(row TownshipDishonestyRow) map[string]Message {
	out := map[string]Message{}
	if !row.CanRectify {
		out[SubmitFieldRecord] = Msg("breachui.submit.not_now")
	}
	checkText(out, SubmitFieldText, f.Description, "breachui.submit.rectification_required", domain.MaxShortBytes)
	checkFiles(out, f.Evidence, true, protocol.MaxEvidencePerEntry)
	return out
}

// ObjectionForm is an objection (异议) to a record as the leader filled
// it: what is wrong, and up to domain.MaxCaseAttachments files.
type ObjectionForm struct {
	Text     string
	Evidence []protocol.Hash
}

// Validate checks the form against the row: no objection open on the
// record, the text given within the limits of a case's text.
func (f ObjectionForm) Validate(row TownshipDishonestyRow) map[string]Message {
	out := map[string]Message{}
	if !row.CanObject {
		out[SubmitFieldRecord] = Msg("breachui.objection.not_now")
	}
	checkCaseText(out, SubmitFieldText, f.Text, "breachui.objection.text_required", "breachui.objection.too_long")
	if len(f.Evidence) > domain.MaxCaseAttachments {
		out[SubmitFieldEvidence] = Msg("breachui.objection.too_many_files", domain.MaxCaseAttachments)
	}
	return out
}

// checkFiles puts a message for field SubmitFieldEvidence in out when
// files are required and missing, or too many.
func checkFiles(out map[string]Message, files []protocol.Hash, required bool, max int) {
	switch {
	case required && len(files) == 0:
		out[SubmitFieldEvidence] = Msg("breachui.submit.evidence_required")
	case len(files) > max:
		out[SubmitFieldEvidence] = Msg("ui.fulfil.too_many_files", max)
	}
}

// SubmitExplanation submits the explanation on the row's record, then
// syncs and reloads on day today. Refusals: domain.ErrNotAllowed for a
// user who does not submit, *FormError for the form, the store's errors.
func (l *TownshipDishonesty) SubmitExplanation(row TownshipDishonestyRow, f ExplanationForm, today calendar.Date) error {
	r := row.Record
	return l.submitForm(f.Validate(row), today, func() error {
		return l.se.SubmitExplanation(r.Office, r.ID, strings.TrimSpace(f.Text), f.Evidence)
	})
}

// SubmitRectification submits the rectification on the row's record, then
// syncs and reloads on day today.
func (l *TownshipDishonesty) SubmitRectification(row TownshipDishonestyRow, f RectificationForm, today calendar.Date) error {
	r := row.Record
	return l.submitForm(f.Validate(row), today, func() error {
		return l.se.SubmitRectification(r.Office, r.ID, strings.TrimSpace(f.Description), f.Evidence)
	})
}

// FileObjection files an objection to the row's record (a case of kind
// objection, which the county decides), then syncs and reloads on day
// today; it returns the case's ID.
func (l *TownshipDishonesty) FileObjection(row TownshipDishonestyRow, f ObjectionForm, today calendar.Date) (protocol.EntityID, error) {
	r := row.Record
	var id protocol.EntityID
	err := l.submitForm(f.Validate(row), today, func() error {
		var err error
		id, err = l.se.OpenCase(store.CaseInput{Kind: domain.CaseObjection, Record: store.Ref{Office: r.Office, ID: r.ID},
			Text: strings.TrimSpace(f.Text), Evidence: f.Evidence})
		return err
	})
	return id, err
}

// submitForm runs act for a user who submits for the office and a form
// without faults (bad), then syncs and reloads on day today.
func (l *TownshipDishonesty) submitForm(bad map[string]Message, today calendar.Date, act func() error) error {
	if !l.MaySubmit() {
		return fmt.Errorf("%w: only a leader of the office submits", domain.ErrNotAllowed)
	}
	if err := validThen(bad, act); err != nil {
		return err
	}
	return l.done(nil, today)
}

func (l *TownshipDishonesty) done(err error, today calendar.Date) error {
	if err != nil {
		return err
	}
	if l.Sync != nil {
		l.Sync()
	}
	return l.Load(today)
}

// validThen returns a *FormError for the faults in bad, or else what act
// returns.
func validThen(bad map[string]Message, act func() error) error {
	if len(bad) > 0 {
		return &FormError{Fields: bad}
	}
	return act()
}
