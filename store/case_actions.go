package store

import (
	"crypto/ed25519"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// CaseInput is a case opened from a device: a township leader's objection
// to a dishonesty record against the office, or a case a county admin
// records (a complaint received by letter or telephone, say). Cases the
// public files on a municipal page are opened by the county server
// (ServerSigner, protocol.PublicCaseOps).
type CaseInput struct {
	Kind domain.CaseKind
	// Commitment is the commitment a complaint concerns.
	Commitment Ref
	// Record is the dishonesty record an objection concerns (its office
	// and ID); the case concerns that record's commitment.
	Record Ref
	Text   string
	// Evidence are files added with AddEvidence / AddEvidenceFor.
	Evidence []protocol.Hash
	// Contact is the filer's name and phone, for a case a county admin
	// records: sealed to the county key and to every device of the office
	// enrolled now. Township objections carry none.
	Contact protocol.Contact
}

// OpenCase opens a case and returns its ID. A township leader files
// objections to records against the office; a county admin on a
// county-admin device opens complaints and objections for any office of the
// county. Refusals: domain.ErrNotAllowed (role or device), ErrNotFound (the
// commitment or record has not arrived), domain.ErrInvalidValue (the
// input), and what Op.Validate returns.
func (se *Session) OpenCase(in CaseInput) (protocol.EntityID, error) {
	source := domain.CaseSourceCounty
	switch {
	case se.rec.Admin && se.acct.Role == domain.RoleCountyAdmin:
	case !se.rec.Admin && se.acct.Role.AtLeast(domain.RoleLeader) && in.Kind == domain.CaseObjection:
		source = domain.CaseSourceTownship
	default:
		return protocol.EntityID{}, fmt.Errorf("%w: a township leader files objections; the county opens other cases", domain.ErrNotAllowed)
	}
	if source == domain.CaseSourceTownship && !in.Contact.Empty() {
		return protocol.EntityID{}, fmt.Errorf("%w: a township objection carries no contact", domain.ErrInvalidValue)
	}
	id := protocol.NewEntityID()
	_, err := se.act(func(tx *bolt.Tx) (*protocol.Op, error) {
		target := in.Commitment
		var record protocol.EntityID
		switch in.Kind {
		case domain.CaseComplaint:
			if in.Record != (Ref{}) {
				return nil, fmt.Errorf("%w: a complaint concerns a commitment, not a record", domain.ErrInvalidValue)
			}
		case domain.CaseObjection:
			var r DishonestyRecord
			if err := loadDishonesty(tx, in.Record, &r); err != nil {
				return nil, err
			}
			if !r.Recorded {
				return nil, fmt.Errorf("%w: dishonesty record %s has not fully arrived", ErrNotFound, in.Record)
			}
			target, record = r.Commitment, r.ID
		default:
			return nil, fmt.Errorf("%w: case kind %q", domain.ErrInvalidValue, in.Kind)
		}
		if _, err := arrivedView(tx, target); err != nil {
			return nil, err
		}
		if err := haveBlobs(tx, in.Evidence); err != nil {
			return nil, err
		}
		contact, err := se.sealCaseContact(tx, target.Office, in.Contact)
		if err != nil {
			return nil, err
		}
		filed := se.s.opts.Now().UnixMilli()
		return &protocol.Op{Kind: protocol.OpCase, Office: target.Office, Target: target.ID, Case: &protocol.Case{
			ID: id, Kind: in.Kind, Source: source, Number: protocol.CaseNumber(in.Kind, filed, id), Record: record,
			Text: in.Text, Evidence: protocol.SortHashes(in.Evidence), Filed: filed, Contact: contact}}, nil
	})
	if err != nil {
		return protocol.EntityID{}, err
	}
	return id, nil
}

// sealCaseContact seals a contact to the county key (from the sync
// settings) and the enrolled devices of office o.
func (se *Session) sealCaseContact(tx *bolt.Tx, o office.Code, c protocol.Contact) ([]protocol.ContactBox, error) {
	if c.Empty() {
		return nil, nil
	}
	var settings SyncSettings
	if raw := tx.Bucket(bMeta).Get(kSync); raw != nil {
		if err := unmarshal(raw, &settings); err != nil {
			return nil, err
		}
	}
	if len(settings.CountyKey) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: the county key is not known yet (enrol first)", ErrNotSetUp)
	}
	devices, err := ContactRecipientsTx(tx, o)
	if err != nil {
		return nil, err
	}
	return protocol.SealContacts(c, settings.CountyKey, devices)
}

// ContactRecipientsTx returns, inside a caller's transaction, the devices
// a filer's contact is sealed to for a case of office o: its enrolled
// township devices, not revoked, in ID order. The county server calls it
// when it opens a public case (protocol.SealContacts).
func ContactRecipientsTx(tx *bolt.Tx, o office.Code) ([]protocol.DeviceInfo, error) {
	var out []protocol.DeviceInfo
	err := tx.Bucket(bDevices).ForEach(func(_, v []byte) error {
		var d DeviceRecord
		if err := unmarshal(v, &d); err != nil {
			return err
		}
		if !d.Admin && !d.Revoked && d.Office == o {
			out = append(out, d.Info())
		}
		return nil
	})
	return out, err
}

// CaseStepInput is a step taken on a case; which fields matter depends on
// the step (protocol.CaseStep).
type CaseStepInput struct {
	Step     domain.CaseStep
	Text     string          // the reply, a note, or the reason
	Evidence []protocol.Hash // files added with AddEvidence / AddEvidenceFor
	Reply    protocol.OpID   // approved: the draft approved (Case.Draft.Op)
	Finding  domain.CaseFinding
	// AckDue and AnswerDue are an assignment's deadlines (AckDue required
	// for a complaint; see domain.CaseDeadline).
	AckDue, AnswerDue calendar.Date
	Record            protocol.EntityID // linked: the dishonesty record created
}

// CaseStep takes a step on case id of office o and returns its operation.
// The township acknowledges, drafts replies and (a leader) approves one; a
// county admin on a county-admin device takes every step. Refusals:
// domain.ErrNotAllowed (role or device, as receivers check them),
// ErrNotFound (no such case, draft or record here), ErrNotEditable (the
// case's state does not allow the step: closed, awaiting the county, …),
// domain.ErrInvalidValue, protocol.ErrOutOfScope and what Op.Validate
// returns.
func (se *Session) CaseStep(o office.Code, id protocol.EntityID, in CaseStepInput) (protocol.OpID, error) {
	if err := se.mayTakeStep(in.Step); err != nil {
		return protocol.OpID{}, err
	}
	return se.act(func(tx *bolt.Tx) (*protocol.Op, error) { return CaseStepOpTx(tx, o, id, in) })
}

// CaseStepOpTx returns, inside a caller's transaction (see View), the
// operation that takes a step on case id of office o, after the checks
// every signer of a step applies: the case has arrived, its kind and state
// allow the step (a closed case takes only a link, an accepted reply needs
// an approved one awaiting the county, …) and the evidence cited is held.
// Session.CaseStep builds its operation with it; so does a county server
// that signs a county admin's decision with its own device, so the two
// ways of deciding keep one set of rules. Num and HLC are left for the
// signer; who may take the step is the signer's to check (mayTakeStep, a
// county-admin device). Refusals as Session.CaseStep's.
func CaseStepOpTx(tx *bolt.Tx, o office.Code, id protocol.EntityID, in CaseStepInput) (*protocol.Op, error) {
	var c Case
	if err := loadCase(tx, Ref{Office: o, ID: id}, &c); err != nil {
		return nil, err
	}
	if err := checkStepFits(tx, &c, in); err != nil {
		return nil, err
	}
	if err := haveBlobs(tx, in.Evidence); err != nil {
		return nil, err
	}
	return &protocol.Op{Kind: protocol.OpCaseStep, Office: o, Target: c.Commitment.ID, CaseStep: &protocol.CaseStep{
		Case: id, Step: in.Step, Text: in.Text, Evidence: protocol.SortHashes(in.Evidence), Ref: in.Reply,
		Finding: in.Finding, AckDue: in.AckDue, AnswerDue: in.AnswerDue, Record: in.Record}}, nil
}

// mayTakeStep mirrors the receiver's rule: a county-admin device acts on
// cases as a county admin only; a township device takes the township's
// steps with the role each needs.
func (se *Session) mayTakeStep(step domain.CaseStep) error {
	if !step.Valid() {
		return fmt.Errorf("%w: case step %q", domain.ErrInvalidValue, step)
	}
	if se.rec.Admin {
		if se.acct.Role != domain.RoleCountyAdmin {
			return fmt.Errorf("%w: on a county-admin device only a county admin acts on cases", domain.ErrNotAllowed)
		}
		return nil
	}
	if step.AdminOnly() || !se.acct.Role.AtLeast(step.LeastRole()) {
		return fmt.Errorf("%w: %s needs role %s", domain.ErrNotAllowed, step, step.LeastRole())
	}
	return nil
}

// checkStepFits refuses a step the case's kind or state does not allow.
func checkStepFits(tx *bolt.Tx, c *Case, in CaseStepInput) error {
	if !in.Step.Fits(c.Kind) {
		return fmt.Errorf("%w: %s does not apply to a %s", domain.ErrInvalidValue, in.Step, c.Kind)
	}
	if c.Closed && in.Step != domain.CaseLinked {
		return fmt.Errorf("%w: case %s is closed", ErrNotEditable, c.Number)
	}
	notNow := func() error {
		return fmt.Errorf("%w: case %s is %s, no %s now", ErrNotEditable, c.Number, c.Status, in.Step)
	}
	switch in.Step {
	case domain.CaseAssigned:
		if c.Kind == domain.CaseComplaint && in.AckDue.IsZero() {
			return fmt.Errorf("%w: a complaint's assignment sets the acknowledgement deadline", domain.ErrInvalidValue)
		}
	case domain.CaseAcknowledged:
		if c.Status != domain.CaseStatusOpen {
			return notNow()
		}
	case domain.CaseReply:
		if c.Status == domain.CaseStatusReplied {
			return notNow()
		}
	case domain.CaseApproved:
		if c.Status == domain.CaseStatusReplied {
			return notNow()
		}
		if c.Draft == nil || c.Draft.Op != in.Reply {
			return fmt.Errorf("%w: no draft reply %s on case %s", ErrNotFound, in.Reply, c.Number)
		}
	case domain.CaseAccepted, domain.CaseReturned:
		if c.Status != domain.CaseStatusReplied {
			return notNow()
		}
	case domain.CaseLinked:
		var r DishonestyRecord
		if err := loadDishonesty(tx, Ref{Office: c.Office, ID: in.Record}, &r); err != nil {
			return err
		}
		if !r.Recorded {
			return fmt.Errorf("%w: dishonesty record %s has not fully arrived", ErrNotFound, in.Record)
		}
		for _, l := range c.Linked {
			if l == in.Record {
				return fmt.Errorf("%w: case %s is linked to %s already", ErrNotEditable, c.Number, in.Record)
			}
		}
	}
	return nil
}

// AcknowledgeCase takes up a case (受理): any member of the office.
func (se *Session) AcknowledgeCase(o office.Code, id protocol.EntityID) error {
	_, err := se.CaseStep(o, id, CaseStepInput{Step: domain.CaseAcknowledged})
	return err
}

// DraftReply drafts the office's reply to a case; it returns the draft's
// operation, which a leader approves (ApproveReply).
func (se *Session) DraftReply(o office.Code, id protocol.EntityID, text string, evidence []protocol.Hash) (protocol.OpID, error) {
	return se.CaseStep(o, id, CaseStepInput{Step: domain.CaseReply, Text: text, Evidence: evidence})
}

// ApproveReply approves the draft reply (Case.Draft) and submits it to the
// county: leaders only.
func (se *Session) ApproveReply(o office.Code, id protocol.EntityID, reply protocol.OpID) error {
	_, err := se.CaseStep(o, id, CaseStepInput{Step: domain.CaseApproved, Reply: reply})
	return err
}

// CaseContact opens the filer's contact sealed to this device, or returns
// ErrNotFound when there is none for it (the filer left none, or the device
// was enrolled after the case opened).
func (se *Session) CaseContact(o office.Code, id protocol.EntityID) (protocol.Contact, error) {
	sealed, err := se.s.CaseContactBox(o, id, se.rec.ID)
	if err != nil {
		return protocol.Contact{}, err
	}
	return protocol.OpenContact(sealed, se.key)
}
