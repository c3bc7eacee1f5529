package county

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/report"
	"jiannuo/server/internal/partial"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// Cases the public files on a municipal node's page reach the county that
// owns the record on the node's upstream session (docs/protocol.md,
// "Upstream"): the node sends the signed intake (case_intake); the county
// checks it, asks for each file filed with it that it does not hold
// (evidence_want, the node answers with evidence_chunk from that offset,
// the county answers evidence_stored once the file is whole and checked),
// and once it holds every file opens the case in one change set of its own
// device (protocol.PublicCaseOps) and answers case_accepted with that
// change set's feed position. A refusal is final (case_refused with a
// stable code); what the county cannot decide now (a file still missing,
// a disk failure, the session cut) it leaves unanswered, and the node
// sends the intake again in its next session. The same intake sent again,
// on any session, is answered case_accepted again: a case is opened once.

// Bounds of one upstream session.
const (
	// maxSessionIntakes is how many intakes a session may have in
	// progress (received, neither accepted nor refused yet). A node sends
	// a few at a time (municipal: maxIntakesInFlight); one that sends more
	// ends its session with oversize.
	maxSessionIntakes = 16
	// maxUpstreamStreams is how many evidence files a session streams to
	// its node at once (evidence_get); more are refused with not_found, to
	// be asked again. Each holds its file in memory, at most
	// protocol.MaxEvidenceBytes.
	maxUpstreamStreams = 2
)

// The server's records of intakes, beside the replica. A file filed with a
// case is received chunk by chunk into x-intakepartial exactly as a
// device's evidence upload is into x-partial (resumable across sessions
// and restarts); once whole, hashed and sniffed it waits in x-intakefiles,
// and moves to the replica's evidence in the transaction that opens the
// case. A refused intake leaves none of its files behind.
var (
	bIntakeCases   = []byte("x-intakecases")   // case ID -> feed position (8 bytes) of the change set that opened it
	bIntakePartial = []byte("x-intakepartial") // hash|offset -> chunk of a file filed with a case, being received
	bIntakeFiles   = []byte("x-intakefiles")   // hash -> a whole, checked file filed with a case, until the case opens
)

// intakeID reads the case ID of a signed intake without decoding the rest
// (magic "JNCI", version, then the ID), to name the case in a refusal of
// an intake that does not decode; zero if there is none to read.
func intakeID(raw []byte) protocol.EntityID {
	var id protocol.EntityID
	if len(raw) >= 5+len(id) && string(raw[:4]) == "JNCI" {
		copy(id[:], raw[5:])
	}
	return id
}

// pendingIntake is an intake a session checked and is collecting the files
// of. Only the session's reader touches it.
type pendingIntake struct {
	in      *protocol.Intake
	raw     []byte
	missing []protocol.Attachment // files not held yet, in the intake's order
}

// intakeUpload is the file a session is receiving for an intake.
type intakeUpload struct {
	id  protocol.EntityID
	att protocol.Attachment
}

// openedIntake returns the feed position of the change set that opened
// the case of an intake, if the county opened it.
func openedIntakeTx(tx *bolt.Tx, id protocol.EntityID) (uint64, bool) {
	v := tx.Bucket(bIntakeCases).Get(id[:])
	if len(v) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(v), true
}

func (s *Server) openedIntake(id protocol.EntityID) (pos uint64, ok bool, err error) {
	err = s.st.View(func(tx *bolt.Tx) error {
		pos, ok = openedIntakeTx(tx, id)
		return nil
	})
	return pos, ok, err
}

// checkIntake opens an intake and checks what the county must know before
// it takes the case: the signing node is authorised and signed it
// (not_authorized, bad_signature), it is well formed (malformed,
// oversize, invalid_operation, attachment_type), its office is of this
// county (out_of_scope), and the commitment it concerns is published here
// (for an objection, the dishonesty record exists and is the
// commitment's): unknown_record.
func (s *Server) checkIntake(raw []byte) (*protocol.Intake, error) {
	var in *protocol.Intake
	err := s.st.View(func(tx *bolt.Tx) error {
		var err error
		if in, err = openIntakeTx(tx, raw); err != nil {
			return err
		}
		return s.checkIntakeRecordTx(tx, in)
	})
	return in, err
}

func (s *Server) checkIntakeRecordTx(tx *bolt.Tx, in *protocol.Intake) error {
	if !s.id.County.Contains(in.Office) || in.Office == s.id.County {
		return fmt.Errorf("%w: the case concerns office %s, not a township of county %s", protocol.ErrOutOfScope, in.Office, s.id.County)
	}
	ref := store.Ref{Office: in.Office, ID: in.Commitment}
	c, err := store.CommitmentTx(tx, ref)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !report.InNotice(&c)) {
		return fmt.Errorf("%w: commitment %s is not published by county %s", protocol.ErrUnknownRecord, ref, s.id.County)
	}
	if err != nil {
		return err
	}
	if in.Kind != domain.CaseObjection {
		return nil
	}
	r, err := store.DishonestyRecordTx(tx, in.Office, in.Record)
	if errors.Is(err, store.ErrNotFound) || (err == nil && r.Commitment != ref) {
		return fmt.Errorf("%w: no dishonesty record %s of commitment %s", protocol.ErrUnknownRecord, in.Record, ref)
	}
	return err
}

// fileHeldTx reports whether the county holds a file: in the replica's
// evidence, or received whole for an intake.
func fileHeldTx(tx *bolt.Tx, h protocol.Hash) bool {
	return store.HasEvidenceTx(tx, h) || tx.Bucket(bIntakeFiles).Get(h[:]) != nil
}

// caseIntake takes an intake the node sent.
func (us *upstreamSession) caseIntake(raw []byte) {
	s := us.srv
	id := intakeID(raw)
	if _, busy := us.intakes[id]; busy && !id.IsZero() {
		return // in progress on this session: its answer will come
	}
	in, err := s.checkIntake(raw)
	if err != nil {
		us.refuseIntake(id, "", err)
		return
	}
	if pos, ok, err := s.openedIntake(in.ID); err != nil {
		us.log.Error("reading intakes", "err", err)
		return // unanswered: the node sends it again
	} else if ok {
		us.send(&protocol.Frame{Type: protocol.FrameCaseAccepted, Case: in.ID, Pos: pos})
		return
	}
	if len(us.intakes) >= maxSessionIntakes {
		err := fmt.Errorf("%w: more than %d intakes in progress on one session", protocol.ErrOversize, maxSessionIntakes)
		s.deviceIncident(countyapi.Incident{Device: us.node.ID, Code: protocol.CodeOversize, Message: "upstream: " + err.Error(), Remote: us.remote})
		us.fail(protocol.CodeOversize, err.Error())
		return
	}
	p := &pendingIntake{in: in, raw: raw}
	err = s.st.View(func(tx *bolt.Tx) error {
		for _, a := range in.Attachments {
			if !fileHeldTx(tx, a.Hash) {
				p.missing = append(p.missing, a)
			}
		}
		return nil
	})
	if err != nil {
		us.log.Error("reading intake files", "err", err)
		return
	}
	us.intakes[in.ID] = p
	us.order = append(us.order, in.ID)
	us.log.Info("intake received", "case", in.Number, "office", string(in.Office), "files", len(in.Attachments), "missing", len(p.missing))
	us.progressIntakes()
}

// progressIntakes opens the cases whose files are all held, then asks for
// the next missing file if none is being received: one file at a time per
// session, so what a node has in flight is one chunk.
func (us *upstreamSession) progressIntakes() {
	for _, id := range slices.Clone(us.order) {
		if p := us.intakes[id]; p != nil && len(p.missing) == 0 {
			us.openCase(p)
		}
	}
	if us.upload != nil {
		return
	}
	for _, id := range us.order {
		p := us.intakes[id]
		if len(p.missing) == 0 {
			continue
		}
		a := p.missing[0]
		var have int64
		us.srv.st.View(func(tx *bolt.Tx) error {
			have = partial.Have(tx.Bucket(bIntakePartial), a.Hash)
			return nil
		})
		us.upload = &intakeUpload{id: id, att: a}
		us.send(&protocol.Frame{Type: protocol.FrameEvidenceWant, Hash: a.Hash, Offset: have})
		return
	}
}

// forgetIntake forgets an intake of the session, answered or given up.
func (us *upstreamSession) forgetIntake(id protocol.EntityID) {
	delete(us.intakes, id)
	us.order = slices.DeleteFunc(us.order, func(x protocol.EntityID) bool { return x == id })
	if us.upload != nil && us.upload.id == id {
		us.upload = nil
	}
}

// refuseIntake answers case_refused for good, records the incident and
// forgets the intake with the files received for it. The message names
// the case, never what the filer wrote or left to be called back.
func (us *upstreamSession) refuseIntake(id protocol.EntityID, number string, err error) {
	s := us.srv
	code := protocol.CodeOf(err)
	if code == protocol.CodeInternal || code == protocol.CodeOK {
		us.log.Error("taking an intake", "case", id, "err", err)
		return // not the intake's fault: unanswered, the node sends it again
	}
	msg := protocol.MessageOf(err)
	what := "intake " + id.String()
	if number != "" {
		what = "intake " + number
	}
	s.deviceIncident(countyapi.Incident{Device: us.node.ID, Code: code, Message: "upstream: " + what + ": " + msg, Remote: us.remote})
	if p := us.intakes[id]; p != nil {
		err := s.st.Update(func(tx *bolt.Tx) error {
			for _, a := range p.in.Attachments {
				if err := partial.Drop(tx.Bucket(bIntakePartial), a.Hash); err != nil {
					return err
				}
				if err := tx.Bucket(bIntakeFiles).Delete(a.Hash[:]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			us.log.Error("dropping the files of a refused intake", "case", number, "err", err)
		}
	}
	us.forgetIntake(id)
	us.send(&protocol.Frame{Type: protocol.FrameCaseRefused, Case: id, Code: code, Message: msg})
	us.progressIntakes()
}

// intakeChunk takes a chunk of the file the session asked for.
func (us *upstreamSession) intakeChunk(f *protocol.Frame) {
	s := us.srv
	u := us.upload
	if u == nil || u.att.Hash != f.Hash {
		msg := fmt.Sprintf("evidence %s: chunk of a file not asked for", f.Hash)
		s.deviceIncident(countyapi.Incident{Device: us.node.ID, Code: protocol.CodeMalformed, Message: "upstream: " + msg, Remote: us.remote})
		us.send(&protocol.Frame{Type: protocol.FrameRefused, Device: us.node.ID, Code: protocol.CodeMalformed, Hash: f.Hash, Message: msg})
		return
	}
	p := us.intakes[u.id]
	var have int64
	var whole []byte
	var over bool
	var bad error
	err := s.st.Update(func(tx *bolt.Tx) error {
		pb := tx.Bucket(bIntakePartial)
		var err error
		if have, whole, over, err = takeChunk(pb, f, u.att.Size); err != nil {
			return err
		}
		if over {
			bad = fmt.Errorf("%w: file %s is larger than the %d bytes the intake says", protocol.ErrOversize, f.Hash, u.att.Size)
			return partial.Drop(pb, f.Hash)
		}
		if whole == nil {
			return nil
		}
		if sha256.Sum256(whole) != f.Hash {
			bad = fmt.Errorf("%w: file %s: content does not hash to it", protocol.ErrEvidenceMismatch, f.Hash)
			return nil
		}
		mime, err := domain.SniffAttachment(whole[:min(len(whole), 512)])
		if err == nil && mime != u.att.MIME {
			err = fmt.Errorf("%w: file %s is %s, the intake says %s", protocol.ErrAttachmentType, f.Hash, mime, u.att.MIME)
		}
		if err != nil {
			bad = fmt.Errorf("file %s: %w", f.Hash, err)
			return nil
		}
		return tx.Bucket(bIntakeFiles).Put(f.Hash[:], whole)
	})
	switch {
	case err != nil:
		us.log.Error("storing an intake file", "err", err)
		us.fail(protocol.CodeInternal, "evidence store unavailable")
	case bad != nil:
		us.refuseIntake(u.id, p.in.Number, bad)
	case whole != nil:
		us.upload = nil
		for _, q := range us.intakes { // two filings may carry one file
			q.missing = slices.DeleteFunc(q.missing, func(a protocol.Attachment) bool { return a.Hash == f.Hash })
		}
		us.send(&protocol.Frame{Type: protocol.FrameEvidenceStored, Hash: f.Hash})
		us.progressIntakes()
	case f.Offset+int64(len(f.Body)) != have:
		us.send(&protocol.Frame{Type: protocol.FrameEvidenceWant, Hash: f.Hash, Offset: have})
	}
}

// openCase opens the case of an intake whose files are all held and
// answers the node.
func (us *upstreamSession) openCase(p *pendingIntake) {
	pos, err := us.srv.openIntakeCase(p.in, p.raw)
	var missing *missingFileError
	switch {
	case errors.As(err, &missing):
		// Dropped meanwhile by another intake's refusal: ask for it again.
		for _, a := range p.in.Attachments {
			if a.Hash == missing.hash {
				p.missing = append(p.missing, a)
			}
		}
		return
	case err != nil:
		us.refuseIntake(p.in.ID, p.in.Number, err)
		return
	}
	us.forgetIntake(p.in.ID)
	us.log.Info("case opened", "case", p.in.Number, "office", string(p.in.Office), "pos", pos)
	us.send(&protocol.Frame{Type: protocol.FrameCaseAccepted, Case: p.in.ID, Pos: pos})
}

type missingFileError struct{ hash protocol.Hash }

func (e *missingFileError) Error() string { return "file " + e.hash.String() + " is not held" }

// openIntakeCase opens the case an intake describes in one change set of
// the server device: the files' metadata, the case with the intake and the
// filer's contact sealed to the county and to each device of the office,
// and its assignment with the deadlines (protocol.PublicCaseOps); the
// files move to the replica's evidence and the case ID is recorded with
// the feed position in the same transaction. An intake whose case is
// open already gives that case's position. It returns the feed position;
// a refusal of the intake carries its code (the record no longer
// published, a contact that does not open, …); an error without a code
// means it could not be decided now.
func (s *Server) openIntakeCase(in *protocol.Intake, raw []byte) (uint64, error) {
	var pos uint64
	opened := false
	files := map[protocol.Hash][]byte{}
	res, err := s.signOwn(store.ServerAuthor, func() ([]protocol.Op, error) {
		// The deadlines read the county's calendar in a transaction of
		// their own: never inside the one below (store/doc.go: a nested
		// read transaction deadlocks against a writer growing the file).
		ack, answer, err := s.caseDeadlines(in.Kind, in.Filed)
		if err != nil {
			return nil, err
		}
		var ops []protocol.Op
		err = s.st.View(func(tx *bolt.Tx) error {
			if pos, opened = openedIntakeTx(tx, in.ID); opened {
				return nil
			}
			if err := s.checkIntakeRecordTx(tx, in); err != nil {
				return err
			}
			for _, a := range in.Attachments {
				if v := tx.Bucket(bIntakeFiles).Get(a.Hash[:]); v != nil {
					files[a.Hash] = slices.Clone(v)
				} else if !store.HasEvidenceTx(tx, a.Hash) {
					return &missingFileError{hash: a.Hash}
				}
			}
			boxes, err := s.sealIntakeContactTx(tx, in)
			if err != nil {
				return err
			}
			ops = protocol.PublicCaseOps(in, raw, boxes, ack, answer)
			return nil
		})
		return ops, err
	}, func(tx *bolt.Tx, r store.Result) error {
		for h, data := range files {
			if err := store.PutEvidenceContentTx(tx, h, data); err != nil {
				return err
			}
			if err := tx.Bucket(bIntakeFiles).Delete(h[:]); err != nil {
				return err
			}
		}
		return tx.Bucket(bIntakeCases).Put(in.ID[:], binary.BigEndian.AppendUint64(nil, r.Pos))
	})
	switch {
	case err != nil:
		return 0, err
	case opened:
		return pos, nil
	case res.Code != protocol.CodeOK:
		return 0, fmt.Errorf("the county's own change set for case %s was refused: %w", in.Number, res.Err)
	}
	return res.Pos, nil
}

// sealIntakeContactTx opens the filer's contact, sealed to the county, and
// seals it again to the county and to each enrolled device of the office
// (store.ContactRecipientsTx). The plaintext lives only in this call.
func (s *Server) sealIntakeContactTx(tx *bolt.Tx, in *protocol.Intake) ([]protocol.ContactBox, error) {
	if len(in.Contact) == 0 {
		return nil, nil
	}
	c, err := protocol.OpenContact(in.Contact, s.id.Key)
	if err != nil {
		return nil, fmt.Errorf("the filer's contact: %w", err)
	}
	devices, err := store.ContactRecipientsTx(tx, in.Office)
	if err != nil {
		return nil, err
	}
	boxes, err := protocol.SealContacts(c, s.id.Key.Public().(ed25519.PublicKey), devices)
	if err != nil {
		return nil, fmt.Errorf("%w: sealing the filer's contact: %v", protocol.ErrInvalidOperation, err)
	}
	return boxes, nil
}

// caseDeadlines returns the deadlines of a case filed at filed (Unix
// milliseconds): for a complaint, acknowledgement and answer CaseAckDays
// and CaseAnswerDays working days after the day it was filed in China; for
// an objection, the county's decision ObjectionDays after it and no
// acknowledgement. A year the calendar does not cover gives a Monday–Friday
// estimate, logged.
func (s *Server) caseDeadlines(kind domain.CaseKind, filed int64) (ack, answer calendar.Date, err error) {
	cal := s.calendar()
	day := domain.ChinaDate(filed)
	due := func(n int) (calendar.Date, error) {
		d, err := domain.CaseDeadline(day, n, cal)
		if errors.Is(err, calendar.ErrYearNotCovered) {
			s.log.Warn("case deadline estimated: the calendar does not cover its year; publish the year's calendar", "filed", day.String(), "due", d.String())
			err = nil
		}
		return d, err
	}
	if kind == domain.CaseObjection {
		answer, err = due(s.cfg.ObjectionDays)
		return calendar.Date{}, answer, err
	}
	if ack, err = due(s.cfg.CaseAckDays); err != nil {
		return ack, answer, err
	}
	answer, err = due(s.cfg.CaseAnswerDays)
	return ack, answer, err
}

// takeChunk stores a chunk of a file of size bytes in the partial bucket
// b if it starts at what is held and stays within the size (over reports
// one that starts there and would pass it), and returns what is held after
// it and, once that is the whole file, the content, with its chunks
// dropped from b. The hash is the caller's to check.
func takeChunk(b *bolt.Bucket, f *protocol.Frame, size int64) (have int64, whole []byte, over bool, err error) {
	have = partial.Have(b, f.Hash)
	if f.Offset == have && have+int64(len(f.Body)) > size {
		return have, nil, true, nil
	}
	have, took, err := partial.Put(b, f.Hash, f.Offset, f.Body)
	if err != nil || !took || have != size {
		return have, nil, false, err
	}
	whole = partial.Whole(b, f.Hash)
	return have, whole, false, partial.Drop(b, f.Hash)
}
