package municipal

import (
	"crypto/sha256"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain/office"
	"jiannuo/server/internal/partial"
	"jiannuo/server/public"
	"jiannuo/store"
	"jiannuo/sync/protocol"
	"jiannuo/sync/wsconn"
)

// What an upstream session carries besides the county's feed
// (docs/protocol.md, "Upstream"): the intakes of cases filed on this node's
// page go up to the county (case_intake; the files the county asks for,
// evidence_want → evidence_chunk; its answer, case_accepted or
// case_refused), and the content of every evidence file the feed cites comes
// down (evidence_get → evidence_chunk), so the public page can serve it.
//
// The reader (pull.go) handles what arrives; a sender goroutine per session
// sends the pending intakes, a few at a time, and starts fetching the next
// missing file. A session stays open while an intake it sent is unanswered
// or a file is being fetched, and lingers only once neither is the case.

// maxIntakesInFlight is how many intakes a session has sent and not had
// answered; the next goes when one is answered. It is below what a county
// takes on one session (16).
const maxIntakesInFlight = 4

// wakeSender has the session's sender look at its intakes and fetches.
func (p *puller) wakeSender() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// sender sends what the session has to send until it ends.
func (p *puller) sender() {
	for {
		select {
		case <-p.wake:
		case <-p.pump.Done():
			return
		}
		p.sendIntakes()
		p.startFetch()
	}
}

// idle reports whether the session has nothing in flight: every intake it
// sent answered, no file being fetched and none left to fetch.
func (p *puller) idle() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.idleLocked()
}

func (p *puller) idleLocked() bool { return len(p.sent) == 0 && p.fetch == nil && p.fetchDone }

// hasPendingIntakes reports whether a county has intakes waiting.
func (n *Node) hasPendingIntakes(code office.Code) bool {
	list, err := n.pendingIntakes(code)
	return err == nil && len(list) > 0
}

// sendIntakes sends the county's pending intakes this session has not sent
// yet, in the order they were filed, while fewer than maxIntakesInFlight
// are unanswered.
func (p *puller) sendIntakes() {
	list, err := p.n.pendingIntakes(p.t.code)
	if err != nil {
		p.n.log.Error("reading intakes", "county", string(p.t.code), "err", err)
		return
	}
	var frames []*protocol.Frame
	p.mu.Lock()
	for _, o := range list {
		if len(p.sent) >= maxIntakesInFlight {
			break
		}
		if _, sent := p.sent[o.in.ID]; sent {
			continue
		}
		p.sent[o.in.ID] = o
		frames = append(frames, &protocol.Frame{Type: protocol.FrameCaseIntake, Body: o.raw})
	}
	p.rearm()
	p.mu.Unlock()
	for _, f := range frames {
		in := p.sentIntake(f.Body)
		p.n.log.Info("intake sent", "county", string(p.t.code), "case", in)
		if !p.pump.Send(wsconn.Stream, f) {
			return
		}
	}
}

// sentIntake names an intake's case for logs: its number.
func (p *puller) sentIntake(raw []byte) string {
	in, err := protocol.DecodeIntake(raw)
	if err != nil {
		return "?"
	}
	return in.Number
}

// intakeAnswer records the county's answer to an intake.
func (p *puller) intakeAnswer(f *protocol.Frame) error {
	n := p.n
	state := public.IntakeAccepted
	if f.Type == protocol.FrameCaseRefused {
		state = public.IntakeRefused
	}
	p.mu.Lock()
	o, sent := p.sent[f.Case]
	p.mu.Unlock()
	if !sent {
		// An answer to an intake not sent on this session: a county that
		// sends what nobody asked is not to be believed.
		n.log.Warn("the county answered an intake not sent on this session; ignored", "county", string(p.t.code), "case", f.Case, "frame", f.Type.String())
		return nil
	}
	rec, changed, err := n.intakeAnswered(f.Case, state, f.Pos, f.Code, f.Message)
	if err != nil {
		return err
	}
	p.mu.Lock()
	delete(p.sent, f.Case)
	p.mu.Unlock()
	n.update(p.c, func(*county) {}) // the status counts the intakes pending
	switch {
	case !changed:
	case state == public.IntakeAccepted:
		n.log.Info("case accepted by the county", "county", string(p.t.code), "case", o.in.Number, "pos", rec.Pos)
	default:
		// The county's message names the case and the rule, never what was
		// filed; it is logged, not shown to the filer as such.
		n.log.Warn("case refused by the county", "county", string(p.t.code), "case", o.in.Number, "code", string(f.Code), "message", f.Message)
	}
	p.wakeSender()
	return nil
}

// evidenceWant sends the county a file of an intake sent on this session,
// from the offset it asks for.
func (p *puller) evidenceWant(f *protocol.Frame) {
	p.mu.Lock()
	var id protocol.EntityID
	found := false
	for _, o := range p.sent {
		for _, a := range o.in.Attachments {
			if a.Hash == f.Hash {
				id, found = o.in.ID, true
			}
		}
	}
	p.mu.Unlock()
	var data []byte
	if found {
		data, found = p.n.intakeFile(id, f.Hash)
	}
	if !found || f.Offset > int64(len(data)) {
		p.n.log.Warn("the county asked for a file this node cannot send", "county", string(p.t.code), "hash", f.Hash, "offset", f.Offset, "err", errNoIntake)
		return
	}
	p.pump.StreamChunks(f.Hash, f.Offset, data)
}

// startFetch asks the county for the next evidence file of its records the
// replica cites and does not hold, one at a time per session and at most
// Config.EvidenceFetches at a time on the node (each file is assembled in
// memory to check its hash: at most protocol.MaxEvidenceBytes).
func (p *puller) startFetch() {
	p.mu.Lock()
	busy := p.fetch != nil || p.fetchDone || !p.atHead
	p.mu.Unlock()
	if busy {
		return
	}
	ev, ok, err := p.nextMissing()
	if err != nil {
		p.n.log.Error("reading the evidence to fetch", "county", string(p.t.code), "err", err)
	}
	if !ok {
		p.mu.Lock()
		p.fetchDone = true
		p.rearm()
		p.mu.Unlock()
		return
	}
	select {
	case p.n.fetchSem <- struct{}{}:
	case <-p.pump.Done():
		return
	}
	var have int64
	p.n.st.View(func(tx *bolt.Tx) error {
		have = partial.Have(tx.Bucket(bEvPartial), ev.Hash)
		return nil
	})
	p.mu.Lock()
	p.fetch = &ev
	p.rearm()
	p.mu.Unlock()
	p.pump.Send(wsconn.Control, &protocol.Frame{Type: protocol.FrameEvidenceGet, Hash: ev.Hash, Offset: have})
}

// nextMissing returns an evidence file of the county's records that the
// replica does not hold and this session has not given up on.
func (p *puller) nextMissing() (store.Evidence, bool, error) {
	return p.n.st.MissingEvidenceIn(p.t.code, func(h protocol.Hash) bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.skip[h] || p.notYet[h]
	})
}

// evidenceStored takes the county's word that it holds a file: one it
// refused as not there yet is asked for again.
func (p *puller) evidenceStored(h protocol.Hash) {
	p.mu.Lock()
	retry := p.notYet[h]
	if retry {
		delete(p.notYet, h)
		if p.fetch == nil {
			p.fetchDone = false
		}
	}
	p.mu.Unlock()
	p.n.log.Debug("the county holds an evidence file", "county", string(p.t.code), "hash", h, "asked_before", retry)
	if retry {
		p.wakeSender()
	}
}

// endFetch ends the fetch in progress, if any, and frees its slot; skip
// keeps the session from asking for the file again.
func (p *puller) endFetch(skip ...protocol.Hash) {
	p.mu.Lock()
	ended := p.fetch != nil
	p.fetch = nil
	for _, h := range skip {
		p.skip[h] = true
	}
	if p.conn != nil {
		p.rearm()
	}
	p.mu.Unlock()
	if ended {
		<-p.n.fetchSem
		p.wakeSender()
	}
}

// evidenceChunk stores a chunk of the file being fetched. Chunks are kept
// on disk as they come (x-evpartial), so a fetch cut at any byte resumes
// from there in a later session; the whole file is stored in the replica
// only if it hashes to what the records cite.
func (p *puller) evidenceChunk(f *protocol.Frame) error {
	p.mu.Lock()
	fe := p.fetch
	p.mu.Unlock()
	if fe == nil || fe.Hash != f.Hash {
		return nil // the rest of a stream this session gave up on
	}
	var whole []byte
	var over bool
	err := p.n.st.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bEvPartial)
		have := partial.Have(b, f.Hash)
		if f.Offset == have && have+int64(len(f.Body)) > fe.Size {
			over = true
			return partial.Drop(b, f.Hash)
		}
		have, _, err := partial.Put(b, f.Hash, f.Offset, f.Body)
		if err != nil || have != fe.Size {
			return err
		}
		whole = partial.Whole(b, f.Hash)
		return partial.Drop(b, f.Hash)
	})
	switch {
	case err != nil:
		return err
	case over:
		p.badEvidence(f.Hash, fmt.Sprintf("the county sent more than the %d bytes its record says", fe.Size))
	case whole == nil:
	case sha256.Sum256(whole) != f.Hash:
		p.badEvidence(f.Hash, "the content the county sent does not hash to what its records cite")
	default:
		if err := p.n.st.PutEvidenceContent(f.Hash, whole); err != nil {
			return err
		}
		p.n.log.Debug("evidence fetched", "county", string(p.t.code), "hash", f.Hash, "size", len(whole))
		p.n.update(p.c, func(c *county) { c.fetched++ })
		p.endFetch()
	}
	return nil
}

// badEvidence gives up on a file the county sent wrong, for this session,
// and records the incident.
func (p *puller) badEvidence(h protocol.Hash, msg string) {
	in := Incident{Time: p.n.cfg.Now().UTC(), County: p.t.code, Code: protocol.CodeEvidenceMismatch, Message: "evidence " + h.String() + ": " + msg, Server: p.t.upstream}
	p.n.log.Error("evidence refused", "county", string(p.t.code), "hash", h, "message", msg)
	if err := p.n.st.Update(func(tx *bolt.Tx) error { return putIncident(tx, in) }); err != nil {
		p.n.log.Error("recording an incident", "err", err)
	}
	p.endFetch(h)
}

// evidenceRefused takes the county's refusal of a file: one it does not
// hold yet (not_found) is asked for again when the county says it holds it
// (evidence_stored) or its feed moves on; the
// refusal of a chunk of an intake's file is the county's to act on.
func (p *puller) evidenceRefused(f *protocol.Frame) {
	p.mu.Lock()
	fetching := p.fetch != nil && p.fetch.Hash == f.Hash
	p.mu.Unlock()
	p.n.log.Info("the county refused an evidence transfer", "county", string(p.t.code), "hash", f.Hash, "code", string(f.Code), "message", f.Message)
	if !fetching {
		return
	}
	if f.Code == protocol.CodeNotFound {
		// Not there yet: the device's upload may still be on its way.
		p.mu.Lock()
		p.notYet[f.Hash] = true
		p.mu.Unlock()
		p.endFetch()
		p.n.update(p.c, func(c *county) { c.notYet++ })
		return
	}
	p.endFetch(f.Hash)
}
