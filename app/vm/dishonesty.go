package vm

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// The 失信记录 screen (§四(二)–(四)): the government dishonesty records on
// the county-admin device's replica, and the steps that close them:
// written explanation received, rectified with evidence, credit repaired
// with evidence.

// NextDishonestySteps are the steps a record may take now, in order. A
// record that has not fully arrived, or is closed, takes none. From
// recorded: the explanation, or the rectification straight away (the
// explanation is not always given); from explained: the rectification;
// from rectified: credit repair, which closes it. Credit repair always
// follows a rectification.
func NextDishonestySteps(r store.DishonestyRecord) []domain.DishonestyStep {
	if !r.Recorded || r.Closed {
		return nil
	}
	switch r.Status {
	case domain.StepRecorded, "":
		return []domain.DishonestyStep{domain.StepExplained, domain.StepRectified}
	case domain.StepExplained:
		return []domain.DishonestyStep{domain.StepRectified}
	case domain.StepRectified:
		return []domain.DishonestyStep{domain.StepRepaired}
	}
	return nil
}

// DishonestyStepAction names the button for a step ("breachui.next.<step>").
func DishonestyStepAction(s domain.DishonestyStep) Message {
	return Msg("breachui.next." + string(s))
}

// RectificationOverdue reports how many days the rectification of r is
// overdue on day today: its deadline passed and it is neither rectified
// nor closed. 0 when it is not overdue.
func RectificationOverdue(r store.DishonestyRecord, today calendar.Date) int {
	if r.Deadline == "" || r.Closed || r.Status.Rank() >= domain.StepRectified.Rank() || today.IsZero() {
		return 0
	}
	d, err := calendar.ParseDate(r.Deadline)
	if err != nil || !today.After(d) {
		return 0
	}
	return d.DaysUntil(today)
}

// DishonestyRow is one record of the 失信记录 screen.
type DishonestyRow struct {
	Record     store.DishonestyRecord
	Office     office.Code
	ID         protocol.EntityID
	OfficeName string
	Title      string // the commitment's title; "" when it has not arrived
	TypeName   Message
	Official   string
	Deadline   string // YYYY-MM-DD, "" when none
	Step       domain.DishonestyStep
	StepName   Message
	Closed     bool
	// OverdueDays is how long the rectification is overdue (0: it is not);
	// Overdue is its message, zero when not overdue.
	OverdueDays int
	Overdue     Message
	Next        []domain.DishonestyStep // NextDishonestySteps

	// Status names where the record stands, withdrawn included.
	Status Message
	// Pending is the township's submission awaiting review (nil: none),
	// PendingName what it is.
	Pending     *store.DishonestySubmission
	PendingName Message
	// Sanctions and Mitigation name the county's decisions.
	Sanctions  []Message
	Mitigation Message
	// Objections are the objections to the record, in the order filed;
	// Upheld those the county upheld (a correction or withdrawal cites one).
	Objections []store.Case
	Upheld     []store.Case
	// Can says which of the review actions the record takes now.
	Can ReviewActions
}

// ReviewActions are the county's actions a record takes now.
type ReviewActions struct {
	Review   bool // a submission awaits: accept or return it
	Sanction bool // open, not exempt from sanctions
	Mitigate bool // open
	// Correct and Withdraw: not withdrawn, and an objection upheld.
	Correct, Withdraw bool
}

// DishonestyList is the 失信记录 screen over the admin device's replica.
type DishonestyList struct {
	se *store.Session
	// Sync, when set, is called after a step so that it reaches the county
	// now (the app passes its sync engine's SyncNow).
	Sync func()
	// Records are the records as read, for the export; Rows the same for
	// the screen, in display order.
	Records []store.DishonestyRecord
	Rows    []DishonestyRow
}

// NewDishonestyList returns the screen's view-model over the county-admin
// session se.
func NewDishonestyList(se *store.Session, sync func()) *DishonestyList {
	return &DishonestyList{se: se, Sync: sync}
}

// Load reads the records on day today: open ones first, those overdue for
// rectification first among them (most overdue first), then by deadline,
// office and record.
func (l *DishonestyList) Load(today calendar.Date) error {
	st := l.se.Store()
	recs, err := st.DishonestyRecords(store.DishonestyFilter{})
	if err != nil {
		return err
	}
	objections, err := objectionsByRecord(st, "")
	if err != nil {
		return err
	}
	title := titleLookup(st)
	rows := make([]DishonestyRow, 0, len(recs))
	for _, r := range recs {
		row := DishonestyRow{Record: r, Office: r.Office, ID: r.ID, OfficeName: officeName(r.Office), Title: title(r.Commitment),
			TypeName: DishonestyTypeMessage(r.Type), Official: r.Official, Deadline: r.Deadline, Step: r.Status,
			StepName: DishonestyStepMessage(r.Status), Closed: r.Closed, Next: NextDishonestySteps(r)}
		if !r.Recorded {
			row.StepName = DishonestyStepMessage("")
		}
		if n := RectificationOverdue(r, today); n > 0 {
			row.OverdueDays, row.Overdue = n, Msg("breachui.list.overdue", n)
		}
		reviewRow(&row, objections[store.Ref{Office: r.Office, ID: r.ID}])
		rows = append(rows, row)
	}
	slices.SortStableFunc(rows, func(a, b DishonestyRow) int {
		if a.Closed != b.Closed {
			if a.Closed {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(b.OverdueDays, a.OverdueDays), cmp.Compare(cmp.Or(a.Deadline, "9999"), cmp.Or(b.Deadline, "9999")),
			cmp.Compare(a.Office, b.Office), cmp.Compare(a.ID.String(), b.ID.String()))
	})
	l.Records, l.Rows = recs, rows
	return nil
}

// titleLookup returns a lookup of commitments' titles in st, each read once;
// "" for a commitment that has not arrived.
func titleLookup(st *store.Store) func(store.Ref) string {
	seen := map[store.Ref]string{}
	return func(ref store.Ref) string {
		t, ok := seen[ref]
		if !ok {
			if c, err := st.Commitment(ref); err == nil {
				t = c.Title
			}
			seen[ref] = t
		}
		return t
	}
}

// Names of the step form's fields, the keys of StepForm.Validate's result.
const (
	StepFieldReason      = "reason"
	StepFieldExplanation = "explanation"
	StepFieldEvidence    = "evidence"
	StepFieldStep        = "step"
)

// StepForm is one step on a dishonesty record as the admin filled it.
type StepForm struct {
	Step        domain.DishonestyStep
	Reason      string // why the step is taken; required
	Explanation string // the written explanation, for StepExplained
	Evidence    []protocol.Hash
}

// Validate checks the form against the record: the step one of
// NextDishonestySteps(r), a reason, the explanation for StepExplained and
// at least one evidence file for a rectification or credit repair.
func (f StepForm) Validate(r store.DishonestyRecord) map[string]Message {
	out := map[string]Message{}
	if !slices.Contains(NextDishonestySteps(r), f.Step) {
		out[StepFieldStep] = Msg("breachui.step.not_next")
	}
	checkText(out, StepFieldReason, f.Reason, "breachui.reason_required", domain.MaxShortBytes)
	req := ""
	if f.Step == domain.StepExplained {
		req = "breachui.step.explanation_required"
	}
	checkText(out, StepFieldExplanation, f.Explanation, req, domain.MaxNoteBytes)
	if (f.Step == domain.StepRectified || f.Step == domain.StepRepaired) && len(f.Evidence) == 0 {
		out[StepFieldEvidence] = Msg("breachui.step.evidence_required")
	}
	if len(f.Evidence) > protocol.MaxEvidencePerEntry {
		out[StepFieldEvidence] = Msg("ui.fulfil.too_many_files", protocol.MaxEvidencePerEntry)
	}
	return out
}

// TakeStep takes a step on the record of row: validated with StepForm,
// signed by the admin's device, then synced and reloaded on day today.
func (l *DishonestyList) TakeStep(row DishonestyRow, f StepForm, today calendar.Date) error {
	if bad := f.Validate(row.Record); len(bad) > 0 {
		return &FormError{Fields: bad}
	}
	expl := ""
	if f.Step == domain.StepExplained {
		expl = strings.TrimSpace(f.Explanation)
	}
	ev := protocol.SortHashes(f.Evidence)
	if err := l.se.DishonestyStep(row.Office, row.ID, f.Step, strings.TrimSpace(f.Reason), expl, ev); err != nil {
		return err
	}
	if l.Sync != nil {
		l.Sync()
	}
	return l.Load(today)
}

// AddStepEvidence adds an evidence file for a step on a record of office o
// (the row's Office: the township) from r, its type from its name
// (MIMEOf); the hash goes in StepForm.Evidence. The file is recorded for
// the township, not the admin's county, so the township's devices receive
// it with the step.
func AddStepEvidence(se *store.Session, o office.Code, name string, r io.Reader) (protocol.Hash, error) {
	if strings.TrimSpace(name) == "" {
		return protocol.Hash{}, fmt.Errorf("%w: evidence without a name", domain.ErrInvalidValue)
	}
	return se.AddEvidenceFor(o, name, MIMEOf(name), r)
}
