package store

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// Supervision cases (complaints and objections, 投诉举报 and 异议). Like
// dishonesty records, each operation on a case (its opening and every
// later step) is kept as an event, append-only, in bCaseLog; the case in
// bCases is derived from the set of its events alone, so replicas that
// received them in any order hold the same bytes. Steps that arrive before
// their case are kept and take effect once it arrives.

// CaseEvent is one operation on a case: its opening (Step
// domain.CaseOpened) or a later step.
type CaseEvent struct {
	Op         protocol.OpID   `json:"op"`
	HLC        protocol.HLC    `json:"hlc"`
	Author     string          `json:"author"`
	Role       domain.Role     `json:"role"`
	Commitment Ref             `json:"commitment"`
	Step       domain.CaseStep `json:"step"`
	Text       string          `json:"text,omitempty"`
	Evidence   []protocol.Hash `json:"evidence,omitempty"`

	// The opening only.
	Kind    domain.CaseKind    `json:"kind,omitempty"`
	Source  domain.CaseSource  `json:"source,omitempty"`
	Number  string             `json:"number,omitempty"`
	Filed   int64              `json:"filed,omitempty"` // Unix milliseconds
	Intake  []byte             `json:"intake,omitempty"`
	Contact []CaseContactBox   `json:"contact,omitempty"`
	Record  *protocol.EntityID `json:"record,omitempty"` // objection: its dishonesty record; linked: the record created

	// The steps only.
	Reply     *protocol.OpID     `json:"reply,omitempty"` // approved: the reply approved
	Finding   domain.CaseFinding `json:"finding,omitempty"`
	AckDue    string             `json:"ack_due,omitempty"` // assigned, YYYY-MM-DD
	AnswerDue string             `json:"answer_due,omitempty"`
}

// CaseContactBox is the filer's contact sealed to one device (the zero
// device: the county). The store never opens it.
type CaseContactBox struct {
	Device protocol.DeviceID `json:"device"`
	Box    []byte            `json:"box"`
}

// CaseReply is a reply drafted by the township.
type CaseReply struct {
	Op       protocol.OpID   `json:"op"`
	HLC      protocol.HLC    `json:"hlc"`
	Author   string          `json:"author"`
	Text     string          `json:"text"`
	Evidence []protocol.Hash `json:"evidence,omitempty"`
	// ApprovedBy and ApprovedAt are set once the leader approved it.
	ApprovedBy string       `json:"approved_by,omitempty"`
	ApprovedAt protocol.HLC `json:"approved_at,omitempty"`
}

// Case is the current view of a case.
type Case struct {
	Office     office.Code       `json:"office"` // the office whose record it concerns
	ID         protocol.EntityID `json:"id"`
	Commitment Ref               `json:"commitment"`
	// Opened is false while only later steps have arrived; queries leave
	// such a case out unless asked.
	Opened    bool               `json:"opened"`
	Kind      domain.CaseKind    `json:"kind,omitempty"`
	Source    domain.CaseSource  `json:"source,omitempty"`
	Number    string             `json:"number,omitempty"`
	Record    *protocol.EntityID `json:"record,omitempty"` // an objection's dishonesty record
	Text      string             `json:"text,omitempty"`
	Evidence  []protocol.Hash    `json:"evidence,omitempty"`
	Filed     int64              `json:"filed,omitempty"`      // Unix milliseconds
	FiledDate string             `json:"filed_date,omitempty"` // in China, YYYY-MM-DD
	OpenedBy  string             `json:"opened_by,omitempty"`
	OpenedAt  protocol.HLC       `json:"opened_at,omitempty"`
	// TrackHash is the intake's tracking hash (public cases), for a
	// municipal node's tracking page (protocol.CheckTrackingCode).
	TrackHash *protocol.Hash `json:"track_hash,omitempty"`

	Status    domain.CaseStatus `json:"status"`
	AckDue    string            `json:"ack_due,omitempty"`    // YYYY-MM-DD, set by the county
	AnswerDue string            `json:"answer_due,omitempty"` // YYYY-MM-DD
	// AcknowledgedBy and AcknowledgedAt say who took it up (受理).
	AcknowledgedBy string       `json:"acknowledged_by,omitempty"`
	AcknowledgedAt protocol.HLC `json:"acknowledged_at,omitempty"`
	// Draft is the latest reply drafted and not yet approved.
	Draft *CaseReply `json:"draft,omitempty"`
	// Reply is the approved reply: awaiting the county while the status
	// is replied, the public reply once the county accepted it.
	Reply *CaseReply `json:"reply,omitempty"`
	// ReturnReason is why the county sent the last approved reply back,
	// until another is approved.
	ReturnReason string `json:"return_reason,omitempty"`

	Closed    bool               `json:"closed"`
	ClosedBy  domain.CaseStep    `json:"closed_by,omitempty"` // accepted, decided or withdrawn
	ClosedAt  protocol.HLC       `json:"closed_at,omitempty"`
	Finding   domain.CaseFinding `json:"finding,omitempty"`
	CloseText string             `json:"close_text,omitempty"` // the county's note or reason
	// Linked are the dishonesty records created from the case.
	Linked    []protocol.EntityID `json:"linked,omitempty"`
	UpdatedAt protocol.HLC        `json:"updated_at"`

	// History is every event, oldest first (filled by the queries, not
	// stored in the view).
	History []CaseEvent `json:"history,omitempty"`
}

// Ref returns the case's key: its office and ID.
func (c *Case) Ref() Ref { return Ref{Office: c.Office, ID: c.ID} }

// PublicReply returns the reply the public may see: the approved reply of
// a complaint the county accepted; nil otherwise.
func (c *Case) PublicReply() *CaseReply {
	if c.Closed && c.ClosedBy == domain.CaseAccepted {
		return c.Reply
	}
	return nil
}

// Due returns the case's due state on the day today (domain.ComputeCaseDue).
func (c *Case) Due(today calendar.Date, cal *calendar.Calendar) domain.CaseDue {
	ack, _ := calendar.ParseDate(c.AckDue)
	answer, _ := calendar.ParseDate(c.AnswerDue)
	return domain.ComputeCaseDue(c.Status, ack, answer, today, cal)
}

// CaseFilter selects cases; the zero value selects every opened case.
type CaseFilter struct {
	Office     office.Code // this office and every office under it
	Commitment *Ref
	Record     *Ref // objections to this dishonesty record (its office and ID)
	Kind       domain.CaseKind
	Status     domain.CaseStatus
	OpenOnly   bool // leave out closed cases
	// OverdueOn, when set, keeps only cases overdue on that day.
	OverdueOn calendar.Date
	// Unopened includes cases whose steps arrived before the case itself.
	Unopened bool
}

func (f CaseFilter) match(c *Case) bool {
	return (c.Opened || f.Unopened) &&
		(f.Office == "" || f.Office.Contains(c.Office)) &&
		(f.Commitment == nil || *f.Commitment == c.Commitment) &&
		(f.Record == nil || (c.Record != nil && f.Record.Office == c.Office && f.Record.ID == *c.Record)) &&
		(f.Kind == "" || f.Kind == c.Kind) &&
		(f.Status == "" || f.Status == c.Status) &&
		(!f.OpenOnly || !c.Closed) &&
		(f.OverdueOn.IsZero() || c.Due(f.OverdueOn, nil).Overdue())
}

// caseKey returns the key of the case an operation concerns.
func caseKey(op *protocol.Op) Ref {
	if op.Kind == protocol.OpCase {
		return Ref{Office: op.Office, ID: op.Case.ID}
	}
	return Ref{Office: op.Office, ID: op.CaseStep.Case}
}

func caseEventOf(dev protocol.DeviceID, author string, role domain.Role, op *protocol.Op) CaseEvent {
	e := CaseEvent{Op: op.ID(dev), HLC: op.HLC, Author: author, Role: role, Commitment: Ref{Office: op.Office, ID: op.Target}}
	if c := op.Case; c != nil {
		e.Step, e.Text, e.Evidence = domain.CaseOpened, c.Text, c.Evidence
		e.Kind, e.Source, e.Number, e.Filed, e.Intake = c.Kind, c.Source, c.Number, c.Filed, c.Intake
		for _, b := range c.Contact {
			e.Contact = append(e.Contact, CaseContactBox{Device: b.Device, Box: b.Box})
		}
		if !c.Record.IsZero() {
			e.Record = &c.Record
		}
		return e
	}
	s := op.CaseStep
	e.Step, e.Text, e.Evidence, e.Finding = s.Step, s.Text, s.Evidence, s.Finding
	e.AckDue, e.AnswerDue = s.AckDue.String(), s.AnswerDue.String()
	if s.Ref != (protocol.OpID{}) {
		e.Reply = &s.Ref
	}
	if !s.Record.IsZero() {
		e.Record = &s.Record
	}
	return e
}

// applyCase appends the event and derives the case again.
func applyCase(tx *bolt.Tx, dev protocol.DeviceID, author string, role domain.Role, op *protocol.Op) error {
	e := caseEventOf(dev, author, role, op)
	return putEvent(tx, bCaseLog, bCases, caseKey(op), op.HLC, e.Op, e, deriveCase)
}

func caseEvents(tx *bolt.Tx, ck Ref) ([]CaseEvent, error) {
	return scanPrefix[CaseEvent](tx, bCaseLog, refKey(ck))
}

// deriveCase computes a case from its events in key order (stamp, then
// operation): the same on every replica. The first opening is the case;
// each step takes effect when the case is in a state that allows it, and is
// otherwise only history (two county admins deciding at once, say: the
// earlier decision closes the case).
func deriveCase(tx *bolt.Tx, ck Ref) (*Case, error) {
	events, err := caseEvents(tx, ck)
	if err != nil {
		return nil, err
	}
	c := &Case{Office: ck.Office, ID: ck.ID}
	replies := make(map[protocol.OpID]*CaseEvent)
	for i := range events {
		e := &events[i]
		if c.Commitment == (Ref{}) {
			c.Commitment = e.Commitment
		}
		c.UpdatedAt = max(c.UpdatedAt, e.HLC)
		switch e.Step {
		case domain.CaseOpened:
			if !c.Opened {
				openCase(c, e)
			}
		case domain.CaseReply:
			replies[e.Op] = e
		}
	}
	if !c.Opened {
		return c, nil
	}
	for i := range events {
		stepCase(c, &events[i], replies)
	}
	return c, nil
}

func openCase(c *Case, e *CaseEvent) {
	c.Opened, c.Commitment, c.Status = true, e.Commitment, domain.CaseStatusOpen
	c.Kind, c.Source, c.Number, c.Record, c.Text, c.Evidence = e.Kind, e.Source, e.Number, e.Record, e.Text, e.Evidence
	c.Filed, c.FiledDate = e.Filed, domain.ChinaDate(e.Filed).String()
	c.OpenedBy, c.OpenedAt = e.Author, e.HLC
	if len(e.Intake) > 0 {
		if in, err := protocol.DecodeIntake(e.Intake); err == nil {
			c.TrackHash = &in.TrackHash
		}
	}
}

// stepCase applies one step to an opened case, if its state allows it.
func stepCase(c *Case, e *CaseEvent, replies map[protocol.OpID]*CaseEvent) {
	if e.Step == domain.CaseLinked {
		if e.Record != nil && !slices.Contains(c.Linked, *e.Record) {
			c.Linked = append(c.Linked, *e.Record)
			slices.SortFunc(c.Linked, func(a, b protocol.EntityID) int { return bytes.Compare(a[:], b[:]) })
		}
		return
	}
	if c.Closed || !e.Step.Fits(c.Kind) {
		return
	}
	switch e.Step {
	case domain.CaseAssigned:
		c.AckDue, c.AnswerDue = e.AckDue, e.AnswerDue
	case domain.CaseAcknowledged:
		if c.Status == domain.CaseStatusOpen {
			c.Status, c.AcknowledgedBy, c.AcknowledgedAt = domain.CaseStatusAcknowledged, e.Author, e.HLC
		}
	case domain.CaseReply:
		if c.Status != domain.CaseStatusReplied {
			c.Draft = replyOf(e)
		}
	case domain.CaseApproved:
		r, ok := replies[derefOp(e.Reply)]
		if !ok || c.Status == domain.CaseStatusReplied {
			return
		}
		c.Status, c.Reply, c.ReturnReason = domain.CaseStatusReplied, replyOf(r), ""
		c.Reply.ApprovedBy, c.Reply.ApprovedAt = e.Author, e.HLC
		if c.Draft != nil && c.Draft.Op == r.Op {
			c.Draft = nil
		}
	case domain.CaseReturned:
		if c.Status == domain.CaseStatusReplied {
			c.Status, c.Reply, c.ReturnReason = domain.CaseStatusAcknowledged, nil, e.Text
		}
	case domain.CaseAccepted:
		if c.Status == domain.CaseStatusReplied {
			closeCase(c, e)
		}
	case domain.CaseDecided, domain.CaseWithdrawn:
		closeCase(c, e)
	}
}

func closeCase(c *Case, e *CaseEvent) {
	c.Status, c.Closed, c.ClosedBy, c.ClosedAt = domain.CaseStatusClosed, true, e.Step, e.HLC
	c.Finding, c.CloseText = e.Finding, e.Text
}

func replyOf(e *CaseEvent) *CaseReply {
	return &CaseReply{Op: e.Op, HLC: e.HLC, Author: e.Author, Text: e.Text, Evidence: e.Evidence}
}

func derefOp(id *protocol.OpID) protocol.OpID {
	if id == nil {
		return protocol.OpID{}
	}
	return *id
}

// Cases returns the cases f selects, with their history, in key order
// (office, then ID).
func (s *Store) Cases(f CaseFilter) ([]Case, error) {
	var out []Case
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bCases).ForEach(func(_, v []byte) error {
			var c Case
			if err := unmarshal(v, &c); err != nil {
				return err
			}
			if !f.match(&c) {
				return nil
			}
			var err error
			c.History, err = caseEvents(tx, c.Ref())
			out = append(out, c)
			return err
		})
	})
	return out, err
}

// Case returns one opened case of office o, with its history, or
// ErrNotFound.
func (s *Store) Case(o office.Code, id protocol.EntityID) (Case, error) {
	var c Case
	err := s.db.View(func(tx *bolt.Tx) error { return loadCase(tx, Ref{Office: o, ID: id}, &c) })
	return c, err
}

// CaseByNumber returns the opened case with the given number (the public's
// handle on it), or ErrNotFound.
//
// The public's tracking page asks it for whatever number anyone types, so
// it reads no more than a few keys per office: a number carries the first
// five bytes of its case's ID (protocol.CaseNumber), and cases are keyed by
// office and ID, so each office's cases with that prefix are one seek
// away. A case whose number was not made by CaseNumber is not found by it.
func (s *Store) CaseByNumber(number string) (Case, error) {
	prefix, ok := protocol.CaseNumberIDPrefix(number)
	if !ok {
		return Case{}, fmt.Errorf("%w: case %q", ErrNotFound, number)
	}
	var out Case
	found := false
	err := s.db.View(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bCases).Cursor()
		for k, _ := cur.First(); k != nil; {
			ref, _, ok := parseRefKey(k)
			if !ok {
				return fmt.Errorf("%w: case key %x", ErrInvariant, k)
			}
			office := refKey(Ref{Office: ref.Office})[:1+len(ref.Office)]
			seek := append(slices.Clip(office), prefix[:]...)
			for k, v := cur.Seek(seek); k != nil && hasPrefix(k, seek); k, v = cur.Next() {
				var c Case
				if err := unmarshal(v, &c); err != nil {
					return err
				}
				if c.Number == number && c.Opened {
					found = true
					return loadCase(tx, c.Ref(), &out)
				}
			}
			// The next office's first case: past the last key this
			// office can have.
			last := append(slices.Clip(office), bytes.Repeat([]byte{0xff}, 16)...)
			if k, _ = cur.Seek(last); k != nil && bytes.Equal(k, last) {
				k, _ = cur.Next()
			}
		}
		return nil
	})
	if err != nil {
		return Case{}, err
	}
	if !found {
		return Case{}, fmt.Errorf("%w: case %q", ErrNotFound, number)
	}
	return out, nil
}

func loadCase(tx *bolt.Tx, ck Ref, c *Case) error {
	v := tx.Bucket(bCases).Get(refKey(ck))
	if v == nil {
		return fmt.Errorf("%w: case %s", ErrNotFound, ck)
	}
	if err := unmarshal(v, c); err != nil {
		return err
	}
	if !c.Opened {
		return fmt.Errorf("%w: case %s has not fully arrived", ErrNotFound, ck)
	}
	var err error
	c.History, err = caseEvents(tx, ck)
	return err
}

// opening returns the event that opened the case: the first opening in
// the history, as deriveCase takes it.
func (c *Case) opening() *CaseEvent {
	for i := range c.History {
		if e := &c.History[i]; e.Step == domain.CaseOpened {
			return e
		}
	}
	return nil
}

// CaseIntake returns the municipal intake a public case was opened with
// (its signed bytes), or ErrNotFound for another case.
func (s *Store) CaseIntake(o office.Code, id protocol.EntityID) ([]byte, error) {
	c, err := s.Case(o, id)
	if err != nil {
		return nil, err
	}
	if e := c.opening(); e != nil && len(e.Intake) > 0 {
		return e.Intake, nil
	}
	return nil, fmt.Errorf("%w: case %s has no intake", ErrNotFound, id)
}

// CaseContactBox returns the filer's contact sealed to device dev (the
// zero device: the county), for that device to open
// (protocol.OpenContact), or ErrNotFound if the filer left none or it was
// not sealed to dev.
func (s *Store) CaseContactBox(o office.Code, id protocol.EntityID, dev protocol.DeviceID) ([]byte, error) {
	c, err := s.Case(o, id)
	if err != nil {
		return nil, err
	}
	if e := c.opening(); e != nil {
		for _, b := range e.Contact {
			if b.Device == dev {
				return b.Box, nil
			}
		}
	}
	return nil, fmt.Errorf("%w: no contact of case %s for device %s", ErrNotFound, id, dev.Short())
}

// CaseOpenedTx reports, inside a caller's transaction (see Update), whether
// a case of office o has arrived: a county server refuses a step on a case
// it never opened, which a replica that may receive the step first keeps.
func CaseOpenedTx(tx *bolt.Tx, o office.Code, id protocol.EntityID) (bool, error) {
	var c Case
	err := loadCase(tx, Ref{Office: o, ID: id}, &c)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// checkCases verifies that every case is what its events derive and every
// event belongs to a case (Check).
func checkCases(tx *bolt.Tx, bad func(string, ...any)) error {
	return checkDerivedViews(tx, bCases, bCaseLog, "case", deriveCase, bad)
}
