package store

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// Draft is the content of a new commitment.
type Draft struct {
	Category    domain.Category
	Title       string
	Text        string
	LegalBasis  string
	Responsible string // the responsible official (责任人), for "惩戒到人"
	StartDate   calendar.Date
	Deadline    domain.Deadline
	Public      bool
}

// Change is one field of an amendment.
type Change struct {
	Field domain.Field
	Value string
}

// act is the one way a local action reaches the store: in a single
// transaction it numbers and stamps the operation, checks it with the same
// rules a receiver applies, applies it through the same path as a received
// operation, and queues it in the outbox. State never changes without its
// operation queued, nor the reverse, whatever instant the process dies.
func (se *Session) act(build func(tx *bolt.Tx) (*protocol.Op, error)) (protocol.OpID, error) {
	ids, err := se.actAll(func(tx *bolt.Tx) ([]*protocol.Op, error) {
		op, err := build(tx)
		return []*protocol.Op{op}, err
	})
	if err != nil {
		return protocol.OpID{}, err
	}
	return ids[0], nil
}

// actAll is act for several operations made together (an account change
// and the announcement of accounts the office's directory lacks, say): all
// of them or none, in one transaction.
func (se *Session) actAll(build func(tx *bolt.Tx) ([]*protocol.Op, error)) ([]protocol.OpID, error) {
	if err := se.maySign(); err != nil {
		return nil, err
	}
	var ids []protocol.OpID
	err := se.s.db.Update(func(tx *bolt.Tx) error {
		ops, err := build(tx)
		if err != nil {
			return err
		}
		views := newViewCache(tx)
		for _, op := range ops {
			id, err := se.actOne(tx, views, op)
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		if err := views.flush(tx); err != nil {
			return err
		}
		return se.s.persistClock(tx)
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// maySign refuses every action of a session whose passphrase a leader
// reset: it is known to two people until its owner changes it, so nothing
// is signed under it before.
func (se *Session) maySign() error {
	if se.mustChange.Load() {
		return fmt.Errorf("%w: %s", ErrMustChangePassphrase, se.acct.Name)
	}
	return nil
}

// actOne numbers, stamps, validates, applies and queues one operation in
// the caller's transaction; views collects the views it changes.
func (se *Session) actOne(tx *bolt.Tx, views *viewCache, op *protocol.Op) (protocol.OpID, error) {
	m := tx.Bucket(bMeta)
	op.Num = getU64(m, kNextOp)
	op.HLC = se.s.clock.Now()
	if op.Office == "" {
		op.Office = se.rec.Office
	}
	if err := op.Validate(se.acct.Role, se.rec.Admin); err != nil {
		return protocol.OpID{}, err
	}
	if !se.inScope(op.Office) || (op.Kind.OwnOffice() && op.Office != se.rec.Office) {
		return protocol.OpID{}, fmt.Errorf("%w: %s is not %s", protocol.ErrOutOfScope, op.Office, se.rec.Office)
	}
	if err := applyOp(tx, views, se.rec.ID, se.acct.Name, se.acct.Role, op); err != nil {
		return protocol.OpID{}, err
	}
	p := pendingOp{Author: se.acct.Name, Role: se.acct.Role, Op: protocol.AppendOp(nil, op)}
	if err := tx.Bucket(bPending).Put(seqKey(op.Num), marshal(p)); err != nil {
		return protocol.OpID{}, err
	}
	if err := putU64(m, kNextOp, op.Num+1); err != nil {
		return protocol.OpID{}, err
	}
	return op.ID(se.rec.ID), nil
}

// actIn acts one operation built from what the caller's transaction holds
// so far (a publication after its create: CreateBatch); the caller checked
// maySign.
func (se *Session) actIn(tx *bolt.Tx, build func(tx *bolt.Tx) (*protocol.Op, error)) (protocol.OpID, error) {
	op, err := build(tx)
	if err != nil {
		return protocol.OpID{}, err
	}
	views := newViewCache(tx)
	id, err := se.actOne(tx, views, op)
	if err != nil {
		return protocol.OpID{}, err
	}
	if err := views.flush(tx); err != nil {
		return protocol.OpID{}, err
	}
	return id, se.s.persistClock(tx)
}

// inScope is the receiver's rule (office.InScope) for this session's device.
func (se *Session) inScope(o office.Code) bool {
	return office.InScope(se.rec.Office, se.rec.Admin, o)
}

// pendingOp is an operation acted but not yet sealed into a change set.
type pendingOp struct {
	Author string      `json:"author"`
	Role   domain.Role `json:"role"`
	Op     []byte      `json:"op"` // protocol.AppendOp encoding
}

// Create records a new draft commitment of this device's office.
func (se *Session) Create(d Draft) (Ref, error) {
	ref := Ref{Office: se.rec.Office, ID: protocol.NewOrderedEntityID()}
	build, err := createOp(ref, d)
	if err != nil {
		return Ref{}, err
	}
	_, err = se.act(build)
	return ref, err
}

// createOp checks what a create needs beyond Op.Validate and returns the
// build of ref's create operation, writing every field of d.
func createOp(ref Ref, d Draft) (func(*bolt.Tx) (*protocol.Op, error), error) {
	public := "false"
	if d.Public {
		public = "true"
	}
	start := ""
	if !d.StartDate.IsZero() {
		start = d.StartDate.String()
	}
	values := map[domain.Field]string{
		domain.FieldCategory: string(d.Category), domain.FieldTitle: d.Title, domain.FieldText: d.Text,
		domain.FieldLegalBasis: d.LegalBasis, domain.FieldResponsible: d.Responsible,
		domain.FieldStartDate: start, domain.FieldDeadline: d.Deadline.String(), domain.FieldPublic: public,
		domain.FieldStatus: string(domain.StatusDraft),
	}
	if d.Deadline.Kind == domain.DeadlineWorkdays && d.StartDate.IsZero() {
		return nil, fmt.Errorf("%w: a deadline in working days needs a start date", domain.ErrInvalidValue)
	}
	return func(*bolt.Tx) (*protocol.Op, error) {
		op := &protocol.Op{Kind: protocol.OpCreate, Office: ref.Office, Target: ref.ID}
		for _, f := range domain.Fields() {
			op.Writes = append(op.Writes, protocol.FieldWrite{Field: f, Value: values[f]})
		}
		return op, nil
	}, nil
}

// current returns the commitment and the current versions of field f,
// refusing a conflicted field: it awaits the county admin.
func current(tx *bolt.Tx, ref Ref, f domain.Field) (*Commitment, []protocol.OpID, error) {
	view, err := arrivedView(tx, ref)
	if err != nil {
		return nil, nil, err
	}
	all, err := fieldVersions(tx, ref, f)
	if err != nil {
		return nil, nil, err
	}
	heads := currentVersions(all)
	if len(heads) != 1 {
		return view, nil, fmt.Errorf("%w: %s of %s", ErrConflicted, f, ref)
	}
	return view, []protocol.OpID{heads[0].Op}, nil
}

// Edit changes a content field of a draft in place. Published commitments
// change only through Amend.
func (se *Session) Edit(ref Ref, f domain.Field, value string) error {
	_, err := se.act(func(tx *bolt.Tx) (*protocol.Op, error) {
		if !f.Content() {
			return nil, fmt.Errorf("%w: %s is not editable content", domain.ErrInvalidValue, f)
		}
		view, base, err := current(tx, ref, f)
		if err != nil {
			return nil, err
		}
		if !domain.Editable(view.Status) {
			return nil, fmt.Errorf("%w: %s is %s; amend it with a reason", ErrNotEditable, ref, view.Status)
		}
		if view.Get(f) == value {
			return nil, errNoChange
		}
		if f == domain.FieldDeadline {
			if err := checkWorkdaysStart(value, view.StartDate); err != nil {
				return nil, err
			}
		}
		return &protocol.Op{Kind: protocol.OpEdit, Office: ref.Office, Target: ref.ID,
			Writes: []protocol.FieldWrite{{Field: f, Value: value, Base: base}}}, nil
	})
	if errors.Is(err, errNoChange) {
		return nil
	}
	return err
}

var errNoChange = errors.New("no change")

func checkWorkdaysStart(deadline, start string) error {
	dl, err := domain.ParseDeadline(deadline)
	if err != nil {
		return err
	}
	if dl.Kind == domain.DeadlineWorkdays && start == "" {
		return fmt.Errorf("%w: a deadline in working days needs a start date", domain.ErrInvalidValue)
	}
	return nil
}

// Amend changes the content of a published commitment. The reason is
// required and, with the author and time, stays in the history beside every
// earlier version (§五(四): no silent change). Leaders only.
func (se *Session) Amend(ref Ref, changes []Change, reason string) error {
	if !se.acct.Role.AtLeast(domain.RoleLeader) {
		return fmt.Errorf("%w: only a leader amends a commitment", domain.ErrNotAllowed)
	}
	if !domain.NonBlank(reason) {
		return fmt.Errorf("%w: amendment", domain.ErrReasonRequired)
	}
	_, err := se.act(func(tx *bolt.Tx) (*protocol.Op, error) {
		op := &protocol.Op{Kind: protocol.OpAmend, Office: ref.Office, Target: ref.ID, Reason: reason}
		for _, c := range changes {
			if !c.Field.Content() {
				return nil, fmt.Errorf("%w: %s is not amendable content", domain.ErrInvalidValue, c.Field)
			}
			view, base, err := current(tx, ref, c.Field)
			if err != nil {
				return nil, err
			}
			if !domain.Amendable(view.Status) {
				return nil, fmt.Errorf("%w: a %s commitment cannot be amended", ErrNotEditable, view.Status)
			}
			if view.Get(c.Field) == c.Value {
				continue
			}
			op.Writes = append(op.Writes, protocol.FieldWrite{Field: c.Field, Value: c.Value, Base: base})
		}
		if len(op.Writes) == 0 {
			return nil, errNoChange
		}
		protocol.SortWrites(op.Writes)
		return op, nil
	})
	if errors.Is(err, errNoChange) {
		return nil
	}
	return err
}

// Transition moves a commitment to another status, with a reason where the
// state machine asks for one (withdrawal, partial fulfilment, breach).
func (se *Session) Transition(ref Ref, to domain.Status, reason string) error {
	_, err := se.act(se.transitionOp(ref, to, reason))
	return err
}

// transitionOp is the build of a transition of ref to status to.
func (se *Session) transitionOp(ref Ref, to domain.Status, reason string) func(*bolt.Tx) (*protocol.Op, error) {
	return func(tx *bolt.Tx) (*protocol.Op, error) {
		view, base, err := current(tx, ref, domain.FieldStatus)
		if err != nil {
			return nil, err
		}
		if err := domain.CheckTransition(view.Status, to, se.acct.Role, reason); err != nil {
			return nil, err
		}
		return &protocol.Op{Kind: protocol.OpTransition, Office: ref.Office, Target: ref.ID, From: view.Status, Reason: reason,
			Writes: []protocol.FieldWrite{{Field: domain.FieldStatus, Value: string(to), Base: base}}}, nil
	}
}

// Publish makes a draft public (leaders).
func (se *Session) Publish(ref Ref) error { return se.Transition(ref, domain.StatusPublished, "") }

// Withdraw withdraws a commitment; the reason (its legal basis) is required.
func (se *Session) Withdraw(ref Ref, reason string) error {
	return se.Transition(ref, domain.StatusWithdrawn, reason)
}

// CloseFulfilled closes a commitment as fulfilled on the given day: on time
// if that day is not after its deadline, late otherwise (leaders).
func (se *Session) CloseFulfilled(ref Ref, on calendar.Date, cal *calendar.Calendar) error {
	c, err := se.s.Commitment(ref)
	if err != nil {
		return err
	}
	to := domain.StatusFulfilledLate
	if domain.OnTime(on, c.Start(), c.DeadlineValue(), cal) {
		to = domain.StatusFulfilledOnTime
	}
	return se.Transition(ref, to, "")
}

// EntryInput is a new fulfilment entry.
type EntryInput struct {
	Date     calendar.Date
	Progress int // percent
	Note     string
	Evidence []protocol.Hash // files added with AddEvidence
}

// LogFulfilment appends a fulfilment entry (践诺记录). Entries are
// append-only and never conflict.
func (se *Session) LogFulfilment(ref Ref, in EntryInput) (protocol.OpID, error) {
	if in.Progress < 0 || in.Progress > 100 {
		return protocol.OpID{}, fmt.Errorf("%w: progress %d%%", domain.ErrInvalidValue, in.Progress)
	}
	return se.act(func(tx *bolt.Tx) (*protocol.Op, error) {
		view, err := loadView(tx, ref)
		if err != nil {
			return nil, err
		}
		if view.Status == domain.StatusDraft || view.Status == domain.StatusWithdrawn {
			return nil, fmt.Errorf("%w: fulfilment of a %s commitment", ErrNotEditable, view.Status)
		}
		blobs := tx.Bucket(bBlobs)
		for _, h := range in.Evidence {
			if blobs.Get(h[:]) == nil {
				return nil, fmt.Errorf("%w: evidence %s", ErrNotFound, h.String()[:12])
			}
		}
		return &protocol.Op{Kind: protocol.OpFulfil, Office: ref.Office, Target: ref.ID,
			Entry: &protocol.Entry{Date: in.Date, Progress: uint8(in.Progress), Note: in.Note, Evidence: protocol.SortHashes(in.Evidence)}}, nil
	})
}

// AddEvidence stores an evidence file once, addressed by its SHA-256, and
// records its metadata as an operation of this device's office. Adding the
// same content again records the new name but stores no second copy. A
// county-admin device attaching a file to a township's record uses
// AddEvidenceFor with that township.
func (se *Session) AddEvidence(name, mime string, r io.Reader) (protocol.Hash, error) {
	return se.AddEvidenceFor(se.rec.Office, name, mime, r)
}

// AddEvidenceFor is AddEvidence for the records of office o: the office of
// the record that will cite the file (a commitment's office, a dishonesty
// record's township). The metadata operation belongs to o, so it reaches
// o's devices, and the county server hands the file's content only to
// devices of the offices whose records cite it: evidence a county admin
// attaches to a township's record must be recorded for that township, or
// the township sees the hash and never the file. The scope rule is that of
// every action: a township device adds evidence only for its own office, a
// county-admin device for any office of its county; anything else is
// refused with protocol.ErrOutOfScope before r is read, and nothing is
// stored.
func (se *Session) AddEvidenceFor(o office.Code, name, mime string, r io.Reader) (protocol.Hash, error) {
	if !o.Valid() {
		return protocol.Hash{}, fmt.Errorf("%w: evidence for office %q", office.ErrInvalidCode, o)
	}
	if !se.inScope(o) {
		if se.rec.Admin {
			return protocol.Hash{}, fmt.Errorf("%w: evidence for %s: the county-admin device of %s adds evidence only for offices of its county",
				protocol.ErrOutOfScope, o, se.rec.Office)
		}
		return protocol.Hash{}, fmt.Errorf("%w: evidence for %s: a device of %s adds evidence only for its own office",
			protocol.ErrOutOfScope, o, se.rec.Office)
	}
	data, err := io.ReadAll(io.LimitReader(r, protocol.MaxEvidenceBytes+1))
	if err != nil {
		return protocol.Hash{}, err
	}
	if len(data) > protocol.MaxEvidenceBytes {
		return protocol.Hash{}, fmt.Errorf("%w: limit %d MiB", ErrEvidenceTooLarge, protocol.MaxEvidenceBytes>>20)
	}
	h := protocol.Hash(sha256.Sum256(data))
	_, err = se.act(func(tx *bolt.Tx) (*protocol.Op, error) {
		if err := putBlob(tx, h, data); err != nil {
			return nil, err
		}
		return &protocol.Op{Kind: protocol.OpEvidence, Office: o,
			Meta: &protocol.EvidenceMeta{Hash: h, Name: name, MIME: mime, Size: int64(len(data))}}, nil
	})
	return h, err
}

func putBlob(tx *bolt.Tx, h protocol.Hash, data []byte) error {
	b := tx.Bucket(bBlobs)
	if old := b.Get(h[:]); old != nil {
		if !bytes.Equal(old, data) {
			return fmt.Errorf("%w: stored blob %s", ErrInvariant, h.String()[:12])
		}
		return nil
	}
	return b.Put(h[:], data)
}

// PutEvidenceContent stores evidence content received from elsewhere,
// refusing bytes that do not hash to want.
func (s *Store) PutEvidenceContent(want protocol.Hash, data []byte) error {
	return s.db.Update(func(tx *bolt.Tx) error { return PutEvidenceContentTx(tx, want, data) })
}

// PutEvidenceContentTx is PutEvidenceContent inside a caller's transaction
// (see Update): a county server stores the files filed with a public case
// in the transaction that opens the case, so a refused filing leaves no
// file behind.
func PutEvidenceContentTx(tx *bolt.Tx, want protocol.Hash, data []byte) error {
	if len(data) > protocol.MaxEvidenceBytes {
		return ErrEvidenceTooLarge
	}
	if protocol.Hash(sha256.Sum256(data)) != want {
		return fmt.Errorf("%w: %s", ErrEvidenceMismatch, want.String()[:12])
	}
	return putBlob(tx, want, data)
}

// Resolve settles a conflicted field with a value (one of the competing
// values or a merged one) and a reason. County-admin devices only; the
// decision supersedes every competing version and flows to every replica.
func (se *Session) Resolve(ref Ref, f domain.Field, value, reason string) error {
	if !se.rec.Admin || se.acct.Role != domain.RoleCountyAdmin {
		return fmt.Errorf("%w: only a county admin reconciles conflicts", domain.ErrNotAllowed)
	}
	_, err := se.act(func(tx *bolt.Tx) (*protocol.Op, error) {
		all, err := fieldVersions(tx, ref, f)
		if err != nil {
			return nil, err
		}
		heads := currentVersions(all)
		if len(heads) < 2 {
			return nil, fmt.Errorf("%w: %s of %s is not conflicted", ErrNotFound, f, ref)
		}
		base := make([]protocol.OpID, len(heads))
		for i, h := range heads {
			base[i] = h.Op
		}
		return &protocol.Op{Kind: protocol.OpResolve, Office: ref.Office, Target: ref.ID, Reason: reason,
			Writes: []protocol.FieldWrite{{Field: f, Value: value, Base: protocol.SortBase(base)}}}, nil
	})
	return err
}
