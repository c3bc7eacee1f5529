package vm

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// The 投诉与异议 screen (§二(三), §三(三), §四(四)): complaints and
// objections, on a township device the office's own, on a county-admin
// device every case of the county. The township takes a case up (受理),
// drafts the reply and its leader approves it; the county accepts or
// returns the reply, decides objections, links the dishonesty record an
// upheld complaint led to, withdraws cases and changes deadlines. Every
// action is an operation signed by this device (store.Session.CaseStep).

// CaseNearWorkdays is how close, in working days, a pending deadline is
// when the list marks the case as near its limit (临期).
const CaseNearWorkdays = 2

// CaseActions are the actions the signed-in user may take on a case now.
type CaseActions struct {
	// The township's: take the case up, draft the reply, approve the
	// draft (leaders only).
	Acknowledge, Draft, Approve bool
	// The county's: accept or return the approved reply (complaints;
	// return: any replied case), decide an objection, withdraw the case,
	// change its deadlines.
	Accept, Return, Decide, Withdraw, Deadlines bool
	// Link: a complaint the county upheld may be linked to a dishonesty
	// record of its commitment (created with the breach confirmation).
	Link bool
}

// CaseRow is one case as the list shows it.
type CaseRow struct {
	Case       store.Case
	OfficeName string
	Title      string // the commitment's title; "" when it has not arrived
	KindName   Message
	SourceName Message
	StatusName Message
	// AckDue and AnswerDue are the deadlines (YYYY-MM-DD, "" when none).
	AckDue, AnswerDue string
	Due               domain.CaseDue
	// Next is the nearest deadline still pending (zero: none).
	Next calendar.Date
	// DueText says how the case stands against its deadlines ("逾期未受理 3
	// 天", "还剩 2 个工作日"); zero when nothing is pending.
	DueText Message
	// Overdue: a deadline is missed; NearLimit: the next pending deadline
	// is at most CaseNearWorkdays working days away.
	Overdue, NearLimit bool
	// Awaits says what the case waits for.
	Awaits Message
	Can    CaseActions
	// NeedsAction: the signed-in user has something to do on it (the tab's
	// badge counts these).
	NeedsAction bool
}

// Ref returns the case's office and ID.
func (r CaseRow) Ref() store.Ref { return r.Case.Ref() }

// CaseListFilter selects the rows shown; the zero value shows every case.
type CaseListFilter struct {
	Office      office.Code // one township ("" every one)
	Kind        domain.CaseKind
	Status      domain.CaseStatus
	OverdueOnly bool
}

// CaseList is the 投诉与异议 screen over the replica of se.
type CaseList struct {
	se  *store.Session
	cal *calendar.Calendar
	// Sync, when set, is called after an action so that it reaches the
	// county now (the app passes its sync engine's SyncNow).
	Sync func()
	// Rows are the cases Filter selects, most urgent first.
	Rows   []CaseRow
	filter CaseListFilter
	all    []CaseRow
	today  calendar.Date
}

// NewCaseList returns the screen's view-model over session se; cal counts
// working days (nil: calendar.Default()).
func NewCaseList(se *store.Session, cal *calendar.Calendar, sync func()) *CaseList {
	if cal == nil {
		cal = calendar.Default()
	}
	return &CaseList{se: se, cal: cal, Sync: sync}
}

// County reports whether the list acts for the county: a county admin on
// a county-admin device. Otherwise it is a township device's list of its
// office's cases.
func (l *CaseList) County() bool {
	return l.se.Device().Admin && l.se.Account().Role == domain.RoleCountyAdmin
}

// Load reads the cases on day today: a township device's office's, or
// every case on a county-admin device; then applies the filter.
func (l *CaseList) Load(today calendar.Date) error {
	st := l.se.Store()
	f := store.CaseFilter{}
	if !l.se.Device().Admin {
		f.Office = l.se.Device().Office
	}
	cases, err := st.Cases(f)
	if err != nil {
		return err
	}
	title := titleLookup(st)
	rows := make([]CaseRow, 0, len(cases))
	for _, c := range cases {
		rows = append(rows, l.row(c, today, title(c.Commitment)))
	}
	slices.SortStableFunc(rows, compareCaseRows)
	l.all, l.today = rows, today
	l.apply()
	return nil
}

// compareCaseRows orders rows most urgent first: open before closed;
// overdue first, the longest overdue first; then by the nearest pending
// deadline; then those without one (awaiting the county); the oldest
// filed first; closed ones last, the latest closed first.
func compareCaseRows(a, b CaseRow) int {
	if a.Case.Closed != b.Case.Closed {
		if a.Case.Closed {
			return 1
		}
		return -1
	}
	if a.Case.Closed {
		return cmp.Or(cmp.Compare(b.Case.ClosedAt, a.Case.ClosedAt), cmp.Compare(a.Case.ID.String(), b.Case.ID.String()))
	}
	if a.Overdue != b.Overdue {
		if a.Overdue {
			return -1
		}
		return 1
	}
	next := func(r CaseRow) string {
		if r.Next.IsZero() {
			return "9999"
		}
		return r.Next.String()
	}
	return cmp.Or(cmp.Compare(b.Due.DaysOverdue, a.Due.DaysOverdue), cmp.Compare(next(a), next(b)),
		cmp.Compare(a.Case.Filed, b.Case.Filed), cmp.Compare(a.Case.Office, b.Case.Office), cmp.Compare(a.Case.ID.String(), b.Case.ID.String()))
}

// row builds the row of case c on day today.
func (l *CaseList) row(c store.Case, today calendar.Date, title string) CaseRow {
	r := CaseRow{Case: c, OfficeName: officeName(c.Office), Title: title, KindName: CaseKindMessage(c.Kind),
		SourceName: CaseSourceMessage(c.Source), StatusName: CaseStatusMessage(c.Status), AckDue: c.AckDue, AnswerDue: c.AnswerDue}
	r.Due = c.Due(today, l.cal)
	r.Next = nextCaseDeadline(c, today)
	r.Overdue = r.Due.Overdue()
	switch {
	case r.Due.AckLate:
		r.DueText = Msg("caseui.due.ack_late", r.Due.DaysOverdue)
	case r.Due.AnswerLate:
		r.DueText = Msg("caseui.due.answer_late", r.Due.DaysOverdue)
	case !r.Next.IsZero() && r.Due.WorkdaysLeft == 0:
		r.DueText, r.NearLimit = Msg("caseui.due.today"), true
	case !r.Next.IsZero():
		r.DueText, r.NearLimit = Msg("caseui.due.left", r.Due.WorkdaysLeft), r.Due.WorkdaysLeft <= CaseNearWorkdays
	}
	r.Awaits = caseAwaits(c)
	r.Can = l.actions(c)
	if l.County() {
		r.NeedsAction = r.Can.Accept || (r.Can.Decide && c.Kind == domain.CaseObjection)
	} else {
		r.NeedsAction = r.Can.Acknowledge || (r.Can.Draft && c.Draft == nil) || r.Can.Approve
	}
	return r
}

// nextCaseDeadline returns the nearest deadline of c still pending on day
// today (as domain.ComputeCaseDue counts them), or zero.
func nextCaseDeadline(c store.Case, today calendar.Date) calendar.Date {
	var next calendar.Date
	consider := func(s string, pending bool) {
		d, err := calendar.ParseDate(s)
		if err != nil || !pending || today.After(d) {
			return
		}
		if next.IsZero() || d.Before(next) {
			next = d
		}
	}
	consider(c.AckDue, c.Status == domain.CaseStatusOpen)
	consider(c.AnswerDue, c.Status == domain.CaseStatusOpen || c.Status == domain.CaseStatusAcknowledged)
	return next
}

// caseAwaits says what case c waits for.
func caseAwaits(c store.Case) Message {
	switch {
	case c.Closed && c.ClosedBy == domain.CaseWithdrawn:
		return Msg("caseui.awaits.withdrawn")
	case c.Closed:
		return Msg("caseui.awaits.closed", CaseFindingMessage(c.Kind, c.Finding))
	case c.Status == domain.CaseStatusReplied:
		return Msg("caseui.awaits.county_review")
	case c.Source == domain.CaseSourceTownship:
		return Msg("caseui.awaits.county_decision")
	case c.Status == domain.CaseStatusOpen:
		return Msg("caseui.awaits.acknowledge")
	case c.Draft != nil:
		return Msg("caseui.awaits.approval")
	case c.ReturnReason != "":
		return Msg("caseui.awaits.redraft")
	}
	return Msg("caseui.awaits.draft")
}

// actions returns what the signed-in user may do on c now. The township
// answers cases filed about it, not its own objections (the county decides
// those); it takes a case up before drafting, and only a leader approves.
func (l *CaseList) actions(c store.Case) CaseActions {
	var a CaseActions
	if c.Closed {
		if l.County() && c.Kind == domain.CaseComplaint && c.ClosedBy == domain.CaseAccepted && c.Finding == domain.FindingUpheld {
			a.Link = true
		}
		return a
	}
	if l.County() {
		a.Accept = c.Kind == domain.CaseComplaint && c.Status == domain.CaseStatusReplied
		a.Return = c.Status == domain.CaseStatusReplied
		a.Decide = c.Kind == domain.CaseObjection
		a.Withdraw, a.Deadlines = true, true
		return a
	}
	dev := l.se.Device()
	if dev.Admin || dev.Office != c.Office || c.Source == domain.CaseSourceTownship {
		return a
	}
	a.Acknowledge = c.Status == domain.CaseStatusOpen
	a.Draft = c.Status == domain.CaseStatusAcknowledged
	a.Approve = a.Draft && c.Draft != nil && l.se.Account().Role.AtLeast(domain.RoleLeader)
	return a
}

// Filter returns the filter in force.
func (l *CaseList) Filter() CaseListFilter { return l.filter }

// SetFilter shows the rows f selects.
func (l *CaseList) SetFilter(f CaseListFilter) {
	l.filter = f
	l.apply()
}

func (l *CaseList) apply() {
	f := l.filter
	l.Rows = l.Rows[:0]
	for _, r := range l.all {
		c := r.Case
		if (f.Office == "" || f.Office == c.Office) && (f.Kind == "" || f.Kind == c.Kind) &&
			(f.Status == "" || f.Status == c.Status) && (!f.OverdueOnly || r.Overdue) {
			l.Rows = append(l.Rows, r)
		}
	}
}

// Total returns how many cases were read, whatever the filter.
func (l *CaseList) Total() int { return len(l.all) }

// NeedingAction counts the cases on which the signed-in user has
// something to do, whatever the filter: the tab's badge.
func (l *CaseList) NeedingAction() int {
	n := 0
	for _, r := range l.all {
		if r.NeedsAction {
			n++
		}
	}
	return n
}

// Offices returns the offices the cases read concern, in code order, for
// the county's township filter.
func (l *CaseList) Offices() []office.Code {
	var out []office.Code
	for _, r := range l.all {
		if !slices.Contains(out, r.Case.Office) {
			out = append(out, r.Case.Office)
		}
	}
	slices.Sort(out)
	return out
}

// Find returns the index in Rows of the case ref, or -1.
func (l *CaseList) Find(ref store.Ref) int {
	return slices.IndexFunc(l.Rows, func(r CaseRow) bool { return r.Ref() == ref })
}

// Lookup returns the row of case ref whatever the filter, and whether it
// was read.
func (l *CaseList) Lookup(ref store.Ref) (CaseRow, bool) {
	i := slices.IndexFunc(l.all, func(r CaseRow) bool { return r.Ref() == ref })
	if i < 0 {
		return CaseRow{}, false
	}
	return l.all[i], true
}

// ---- names ----

// CaseKindMessage names a kind ("caseui.kind.<kind>").
func CaseKindMessage(k domain.CaseKind) Message { return Msg("caseui.kind." + string(k)) }

// CaseSourceMessage names where a case came from ("caseui.source.<s>").
func CaseSourceMessage(s domain.CaseSource) Message { return Msg("caseui.source." + string(s)) }

// CaseStatusMessage names a status ("caseui.status.<s>").
func CaseStatusMessage(s domain.CaseStatus) Message { return Msg("caseui.status." + string(s)) }

// CaseStepMessage names a step in a case's history, its opening included
// ("caseui.step.<step>").
func CaseStepMessage(s domain.CaseStep) Message { return Msg("caseui.step." + string(s)) }

// CaseFindingMessage names a finding on a case of kind k
// ("caseui.finding.<kind>.<f>": a complaint is 属实 or 不属实, an objection
// 成立 or 不成立); none gives "caseui.finding.none".
func CaseFindingMessage(k domain.CaseKind, f domain.CaseFinding) Message {
	if f == "" || !k.Valid() {
		return Msg("caseui.finding.none")
	}
	return Msg("caseui.finding." + string(k) + "." + string(f))
}

// ---- detail ----

// CaseFile is one evidence file a case or a step cites.
type CaseFile struct {
	Hash protocol.Hash
	Name string
	MIME string
	// Here: its content has arrived on this device (it can be opened).
	Here bool
}

// CaseHistoryLine is one event of a case, as the detail lists it.
type CaseHistoryLine struct {
	When  string  // local time, YYYY-MM-DD HH:MM
	Who   Message // who took the step (AuthorMessage)
	What  Message
	Text  string
	Files []CaseFile
}

// CaseDetail is everything the detail shows about one case.
type CaseDetail struct {
	Row CaseRow
	// Files are the files filed with the case.
	Files []CaseFile
	// DraftFiles and ReplyFiles are the files of the latest draft and of
	// the approved reply; DraftBy, DraftAt, ReplyBy and ApprovedBy who
	// wrote them, when, and who approved the reply.
	DraftFiles, ReplyFiles       []CaseFile
	DraftBy, ReplyBy, ApprovedBy Message
	DraftAt                      string
	History                      []CaseHistoryLine
	// Contact is the filer's name and phone, opened on this device: only
	// on a township device of the handling office that was enrolled when
	// the case opened. ContactNote says why there is none otherwise. The
	// contact is shown, never logged or written anywhere.
	Contact     *protocol.Contact
	ContactNote Message
	// Record is the dishonesty record an objection concerns; Linked the
	// records created from the case.
	Record *store.DishonestyRecord
	Linked []store.DishonestyRecord
	// Candidates are the records of the commitment a complaint may be
	// linked to now (not linked yet), for the county.
	Candidates []store.DishonestyRecord
	// CanConfirmBreach: the county may confirm the breach of the
	// commitment now (the breach flow; the record made is then linked).
	CanConfirmBreach bool
}

// Detail reads everything about the case of row.
func (l *CaseList) Detail(row CaseRow) (*CaseDetail, error) {
	st := l.se.Store()
	c, err := st.Case(row.Case.Office, row.Case.ID)
	if err != nil {
		return nil, err
	}
	if r, ok := l.Lookup(c.Ref()); ok {
		row = r
	}
	row.Case = c
	d := &CaseDetail{Row: row}
	names, err := accountNames(st)
	if err != nil {
		return nil, err
	}
	files := func(hs []protocol.Hash) ([]CaseFile, error) {
		var out []CaseFile
		for _, h := range hs {
			f, err := caseFile(st, h)
			if err != nil {
				return nil, err
			}
			out = append(out, f)
		}
		return out, nil
	}
	if d.Files, err = files(c.Evidence); err != nil {
		return nil, err
	}
	// Who took a step: a person of this device by name, else the county
	// or the office and the sign-in name the change set carries.
	roles := map[protocol.OpID]domain.Role{}
	for _, e := range c.History {
		roles[e.Op] = e.Role
	}
	name := func(login string, role domain.Role) Message {
		switch {
		case names[login] != "":
			return Msg("caseui.plain", names[login])
		case role == domain.RoleCountyAdmin:
			return Msg("caseui.who.county", login)
		}
		return Msg("caseui.who.office", officeName(c.Office), login)
	}
	if c.Draft != nil {
		if d.DraftFiles, err = files(c.Draft.Evidence); err != nil {
			return nil, err
		}
		d.DraftBy, d.DraftAt = name(c.Draft.Author, roles[c.Draft.Op]), adminTime(c.Draft.HLC.Wall())
	}
	if c.Reply != nil {
		if d.ReplyFiles, err = files(c.Reply.Evidence); err != nil {
			return nil, err
		}
		d.ReplyBy, d.ApprovedBy = name(c.Reply.Author, roles[c.Reply.Op]), name(c.Reply.ApprovedBy, approverRole(c))
	}
	for _, e := range c.History {
		line := CaseHistoryLine{When: adminTime(e.HLC.Wall()), Who: name(e.Author, e.Role), What: caseEventMessage(c.Kind, e), Text: e.Text}
		if e.Step == domain.CaseOpened {
			line.Text = "" // the case's text is shown above the history
		} else if line.Files, err = files(e.Evidence); err != nil {
			return nil, err
		}
		d.History = append(d.History, line)
	}
	d.Contact, d.ContactNote = l.contact(c)
	if c.Record != nil {
		if r, err := st.DishonestyRecord(c.Office, *c.Record); err == nil {
			d.Record = &r
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	for _, id := range c.Linked {
		if r, err := st.DishonestyRecord(c.Office, id); err == nil {
			d.Linked = append(d.Linked, r)
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	if row.Can.Link {
		recs, err := st.DishonestyRecords(store.DishonestyFilter{Commitment: &c.Commitment})
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			if r.Recorded && !slices.Contains(c.Linked, r.ID) {
				d.Candidates = append(d.Candidates, r)
			}
		}
		if cm, err := st.Commitment(c.Commitment); err == nil {
			if d.CanConfirmBreach, err = CanConfirmBreach(l.se, &cm); err != nil {
				return nil, err
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	return d, nil
}

// approverRole returns the role of whoever approved c's reply.
func approverRole(c store.Case) domain.Role {
	for _, e := range c.History {
		if e.Step == domain.CaseApproved && e.Reply != nil && c.Reply != nil && *e.Reply == c.Reply.Op {
			return e.Role
		}
	}
	return ""
}

// contact opens the filer's contact sealed to this device. A county-admin
// desktop holds no key for it (the contact is sealed to the county
// server's key and the township's devices); a township device enrolled
// after the case opened has no box of its own.
func (l *CaseList) contact(c store.Case) (*protocol.Contact, Message) {
	if l.se.Device().Admin {
		return nil, Msg("caseui.contact.admin")
	}
	sealed := false
	for _, e := range c.History {
		if e.Step == domain.CaseOpened && len(e.Contact) > 0 {
			sealed = true
		}
	}
	if !sealed {
		return nil, Msg("caseui.contact.none")
	}
	ct, err := l.se.CaseContact(c.Office, c.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, Msg("caseui.contact.not_for_device")
	case err != nil:
		return nil, Msg("caseui.contact.unreadable")
	case ct.Empty():
		return nil, Msg("caseui.contact.none")
	}
	return &ct, Message{}
}

// ContactText renders an opened contact ("张三 · 13800000000"), with a
// placeholder for a part the filer left blank.
func ContactText(c protocol.Contact) Message {
	name, phone := Msg("caseui.contact.no_name"), Msg("caseui.contact.no_phone")
	if c.Name != "" {
		name = Msg("caseui.plain", c.Name)
	}
	if c.Phone != "" {
		phone = Msg("caseui.plain", c.Phone)
	}
	return Msg("caseui.contact.value", name, phone)
}

// caseEventMessage says what an event of a case's history did.
func caseEventMessage(k domain.CaseKind, e store.CaseEvent) Message {
	switch e.Step {
	case domain.CaseOpened:
		return Msg("caseui.history.opened", CaseKindMessage(e.Kind), CaseSourceMessage(e.Source))
	case domain.CaseAssigned:
		return Msg("caseui.history.assigned", cmp.Or(e.AckDue, "—"), cmp.Or(e.AnswerDue, "—"))
	case domain.CaseAccepted, domain.CaseDecided:
		return Msg("caseui.history.finding", CaseStepMessage(e.Step), CaseFindingMessage(k, e.Finding))
	case domain.CaseLinked:
		rec := ""
		if e.Record != nil {
			rec = e.Record.String()[:8]
		}
		return Msg("caseui.history.linked", rec)
	}
	return CaseStepMessage(e.Step)
}

// caseFile describes evidence file h as st knows it.
func caseFile(st *store.Store, h protocol.Hash) (CaseFile, error) {
	f := CaseFile{Hash: h, Name: h.String()[:12]}
	metas, err := st.EvidenceMeta(h)
	if err != nil {
		return f, err
	}
	if len(metas) > 0 {
		f.Name, f.MIME = metas[0].Name, metas[0].MIME
	}
	f.Here, err = st.HasEvidence(h)
	return f, err
}

// accountNames maps this device's sign-in names to people's names.
func accountNames(st *store.Store) (map[string]string, error) {
	accts, err := st.Accounts()
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(accts))
	for _, a := range accts {
		if a.DisplayName != "" {
			out[a.Name] = a.DisplayName
		}
	}
	return out, nil
}

// ---- forms ----

// Names of the case forms' fields, the keys of their Validate results.
const (
	CaseFieldText      = "text"     // the reply, the note, the reason
	CaseFieldFinding   = "finding"  // upheld / not upheld / rejected
	CaseFieldEvidence  = "evidence" // the files
	CaseFieldAckDue    = "ack_due"
	CaseFieldAnswerDue = "answer_due"
	CaseFieldRecord    = "record" // the dishonesty record linked
	CaseFieldCase      = "case"   // the case does not take this now
)

// CaseFieldOrder is the order the fields read in a dialog: the first at
// fault is the one a dialog names.
var CaseFieldOrder = []string{CaseFieldCase, CaseFieldFinding, CaseFieldAckDue, CaseFieldAnswerDue, CaseFieldRecord, CaseFieldText, CaseFieldEvidence}

// checkCaseText puts a message for field in out when v is not a valid
// case text: blank when required (required names the message), longer than
// domain.MaxCaseTextRunes characters or domain.MaxCaseTextBytes bytes (the
// tooLong message, with the limit), not UTF-8, or with control characters.
func checkCaseText(out map[string]Message, field, v, required, tooLong string) {
	switch {
	case required != "" && !domain.NonBlank(v):
		out[field] = Msg(required)
	case utf8.RuneCountInString(v) > domain.MaxCaseTextRunes || len(v) > domain.MaxCaseTextBytes:
		out[field] = Msg(tooLong, domain.MaxCaseTextRunes)
	case !utf8.ValidString(v):
		out[field] = Msg("ui.form.invalid_text")
	case strings.ContainsFunc(v, func(r rune) bool { return r != '\n' && r != '\t' && unicode.IsControl(r) }):
		out[field] = Msg("ui.form.control_chars")
	}
}

// checkCaseFiles puts a message in out for more files than a step cites.
func checkCaseFiles(out map[string]Message, files []protocol.Hash) {
	if len(files) > protocol.MaxEvidencePerEntry {
		out[CaseFieldEvidence] = Msg("ui.fulfil.too_many_files", protocol.MaxEvidencePerEntry)
	}
}

// checkFinding puts a message in out unless f is a finding of kind k.
func checkFinding(out map[string]Message, k domain.CaseKind, f domain.CaseFinding) {
	if !slices.Contains(domain.CaseFindings(k), f) {
		out[CaseFieldFinding] = Msg("caseui.form.finding_required")
	}
}

// notNow puts the case-level message in out when can is false.
func notNow(out map[string]Message, can bool) {
	if !can {
		out[CaseFieldCase] = Msg("caseui.form.not_now")
	}
}

// ReplyForm is the township's reply as staff or the leader drafted it,
// with files (the evidence of what was done).
type ReplyForm struct {
	Text     string
	Evidence []protocol.Hash
}

// Validate checks the form against the row: the case takes a draft now,
// the reply is given within the limits of a case's text.
func (f ReplyForm) Validate(row CaseRow) map[string]Message {
	out := map[string]Message{}
	notNow(out, row.Can.Draft)
	checkCaseText(out, CaseFieldText, f.Text, "caseui.form.reply_required", "caseui.form.too_long")
	checkCaseFiles(out, f.Evidence)
	return out
}

// FindingForm closes a case with the county's finding, and files:
// accepting a complaint's approved reply (属实 / 不属实; Text an optional
// note) or deciding an objection (异议成立 / 不成立; Text the reason,
// required; after an upheld one the record is corrected or withdrawn with
// the dishonesty forms).
type FindingForm struct {
	Finding  domain.CaseFinding
	Text     string
	Evidence []protocol.Hash
}

func (f FindingForm) validate(can bool, k domain.CaseKind, required string) map[string]Message {
	out := map[string]Message{}
	notNow(out, can)
	checkFinding(out, k, f.Finding)
	checkCaseText(out, CaseFieldText, f.Text, required, "caseui.form.too_long")
	checkCaseFiles(out, f.Evidence)
	return out
}

// ValidateAccept checks an acceptance against the row: a complaint's
// reply awaits, a complaint's finding, the note within the limits.
func (f FindingForm) ValidateAccept(row CaseRow) map[string]Message {
	return f.validate(row.Can.Accept, domain.CaseComplaint, "")
}

// ValidateDecide checks a decision against the row: an open objection, an
// objection's finding, the reason.
func (f FindingForm) ValidateDecide(row CaseRow) map[string]Message {
	return f.validate(row.Can.Decide, domain.CaseObjection, "caseui.form.decide_reason_required")
}

// ReasonForm is a step that needs only a reason: returning a reply to the
// township (退回), withdrawing a case (撤销).
type ReasonForm struct {
	Reason string
}

func (f ReasonForm) validate(can bool, required string) map[string]Message {
	out := map[string]Message{}
	notNow(out, can)
	checkCaseText(out, CaseFieldText, f.Reason, required, "caseui.form.too_long")
	return out
}

// ValidateReturn checks a return against the row: a reply awaits the
// county and the reason is given.
func (f ReasonForm) ValidateReturn(row CaseRow) map[string]Message {
	return f.validate(row.Can.Return, "caseui.form.return_reason_required")
}

// ValidateWithdraw checks a withdrawal against the row: the case is open
// and the reason (duplicate, abusive, filed in error) is given.
func (f ReasonForm) ValidateWithdraw(row CaseRow) map[string]Message {
	return f.validate(row.Can.Withdraw, "caseui.form.withdraw_reason_required")
}

// DeadlineForm is a new assignment of a case's deadlines, dates as the
// forms accept them (2026-12-07, 2026年12月7日, …).
type DeadlineForm struct {
	AckDue, AnswerDue string
}

// NewDeadlineForm returns the form filled with the row's deadlines.
func NewDeadlineForm(row CaseRow) DeadlineForm {
	return DeadlineForm{AckDue: row.AckDue, AnswerDue: row.AnswerDue}
}

// dates returns the form's dates, with messages for those at fault in out.
func (f DeadlineForm) dates(out map[string]Message, row CaseRow) (ack, answer calendar.Date) {
	parse := func(field, v string, required bool) calendar.Date {
		d, err := parseFormDate(v)
		switch {
		case err != nil:
			out[field] = Msg("ui.form.date_invalid")
		case d.IsZero() && required:
			out[field] = Msg("caseui.form.date_required")
		}
		return d
	}
	ack = parse(CaseFieldAckDue, f.AckDue, row.Case.Kind == domain.CaseComplaint)
	answer = parse(CaseFieldAnswerDue, f.AnswerDue, true)
	filed, _ := calendar.ParseDate(row.Case.FiledDate)
	for field, d := range map[string]calendar.Date{CaseFieldAckDue: ack, CaseFieldAnswerDue: answer} {
		if _, bad := out[field]; !bad && !d.IsZero() && !filed.IsZero() && d.Before(filed) {
			out[field] = Msg("caseui.form.before_filed", filed.String())
		}
	}
	if _, bad := out[CaseFieldAnswerDue]; !bad && !ack.IsZero() && !answer.IsZero() && answer.Before(ack) {
		out[CaseFieldAnswerDue] = Msg("caseui.form.answer_before_ack")
	}
	return ack, answer
}

// Validate checks the form against the row: the case is open, the answer
// deadline (and for a complaint the acknowledgement deadline) is a real
// date, neither before the day the case was filed, the answer not before
// the acknowledgement.
func (f DeadlineForm) Validate(row CaseRow) map[string]Message {
	out := map[string]Message{}
	notNow(out, row.Can.Deadlines)
	f.dates(out, row)
	return out
}

// ---- actions ----

// townshipAct runs act for a user of the handling office's device, then
// syncs and reloads on day today.
func (l *CaseList) townshipAct(bad map[string]Message, today calendar.Date, act func() error) error {
	if l.se.Device().Admin {
		return fmt.Errorf("%w: the township's devices answer cases", domain.ErrNotAllowed)
	}
	return l.done(validThen(bad, act), today)
}

// countyAct runs act for a county admin on a county-admin device, then
// syncs and reloads on day today.
func (l *CaseList) countyAct(bad map[string]Message, today calendar.Date, act func() error) error {
	if !l.County() {
		return fmt.Errorf("%w: only a county admin decides on cases", domain.ErrNotAllowed)
	}
	return l.done(validThen(bad, act), today)
}

func (l *CaseList) done(err error, today calendar.Date) error {
	if err != nil {
		return err
	}
	if l.Sync != nil {
		l.Sync()
	}
	return l.Load(today)
}

// Acknowledge takes the case of row up (受理), then syncs and reloads on
// day today.
func (l *CaseList) Acknowledge(row CaseRow, today calendar.Date) error {
	bad := map[string]Message{}
	notNow(bad, row.Can.Acknowledge)
	return l.townshipAct(bad, today, func() error { return l.se.AcknowledgeCase(row.Case.Office, row.Case.ID) })
}

// DraftReply saves the reply as a draft (an operation of its own, which a
// leader approves), then syncs and reloads on day today.
func (l *CaseList) DraftReply(row CaseRow, f ReplyForm, today calendar.Date) error {
	return l.townshipAct(f.Validate(row), today, func() error {
		_, err := l.se.DraftReply(row.Case.Office, row.Case.ID, strings.TrimSpace(f.Text), f.Evidence)
		return err
	})
}

// Approve approves the case's draft reply and so submits it to the county
// (leaders only), then syncs and reloads on day today.
func (l *CaseList) Approve(row CaseRow, today calendar.Date) error {
	if !l.se.Device().Admin && !l.se.Account().Role.AtLeast(domain.RoleLeader) {
		return fmt.Errorf("%w: only a leader approves a reply", domain.ErrNotAllowed)
	}
	bad := map[string]Message{}
	notNow(bad, row.Can.Approve && row.Case.Draft != nil)
	return l.townshipAct(bad, today, func() error {
		return l.se.ApproveReply(row.Case.Office, row.Case.ID, row.Case.Draft.Op)
	})
}

// Accept accepts the approved reply of a complaint with the finding,
// closing it (the reply becomes the public reply), then syncs and reloads.
func (l *CaseList) Accept(row CaseRow, f FindingForm, today calendar.Date) error {
	return l.countyAct(f.ValidateAccept(row), today, func() error { return l.close(row, domain.CaseAccepted, f) })
}

// Return sends the approved reply back to the township with the reason;
// the township drafts again.
func (l *CaseList) Return(row CaseRow, f ReasonForm, today calendar.Date) error {
	return l.countyAct(f.ValidateReturn(row), today, func() error {
		return l.step(row, store.CaseStepInput{Step: domain.CaseReturned, Text: strings.TrimSpace(f.Reason)})
	})
}

// Decide decides an objection, closing it.
func (l *CaseList) Decide(row CaseRow, f FindingForm, today calendar.Date) error {
	return l.countyAct(f.ValidateDecide(row), today, func() error { return l.close(row, domain.CaseDecided, f) })
}

// close takes step (accepted or decided) with the form's finding.
func (l *CaseList) close(row CaseRow, step domain.CaseStep, f FindingForm) error {
	return l.step(row, store.CaseStepInput{Step: step, Finding: f.Finding, Text: strings.TrimSpace(f.Text), Evidence: f.Evidence})
}

// Withdraw closes the case without a finding (duplicate, abusive, filed
// in error), with the reason.
func (l *CaseList) Withdraw(row CaseRow, f ReasonForm, today calendar.Date) error {
	return l.countyAct(f.ValidateWithdraw(row), today, func() error {
		return l.step(row, store.CaseStepInput{Step: domain.CaseWithdrawn, Text: strings.TrimSpace(f.Reason)})
	})
}

// SetDeadlines assigns the case new deadlines.
func (l *CaseList) SetDeadlines(row CaseRow, f DeadlineForm, today calendar.Date) error {
	bad := map[string]Message{}
	notNow(bad, row.Can.Deadlines)
	ack, answer := f.dates(bad, row)
	return l.countyAct(bad, today, func() error {
		return l.step(row, store.CaseStepInput{Step: domain.CaseAssigned, AckDue: ack, AnswerDue: answer})
	})
}

// Link links an upheld complaint to dishonesty record id of its office
// (the record its breach confirmation created).
func (l *CaseList) Link(row CaseRow, id protocol.EntityID, today calendar.Date) error {
	bad := map[string]Message{}
	notNow(bad, row.Can.Link)
	if id.IsZero() {
		bad[CaseFieldRecord] = Msg("caseui.form.record_required")
	}
	return l.countyAct(bad, today, func() error {
		return l.step(row, store.CaseStepInput{Step: domain.CaseLinked, Record: id})
	})
}

func (l *CaseList) step(row CaseRow, in store.CaseStepInput) error {
	_, err := l.se.CaseStep(row.Case.Office, row.Case.ID, in)
	return err
}
