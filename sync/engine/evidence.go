package engine

import (
	"errors"

	"jiannuo/store"
	"jiannuo/sync/protocol"
	"jiannuo/sync/wsconn"
)

// Evidence moves from the welcome on, one upload and one download at a
// time side by side, so that every session that gets past its handshake
// moves some: a link that drops every few seconds still finishes.
//
//   - An upload starts as soon as the county holds the change set that
//     records the file (it refuses content no record of its replica
//     cites): held at its welcome (its head for this device), or
//     receipted since, not only once every change set is receipted. The
//     receipt that makes a waiting file ready starts it. (This device's
//     own receipts are no proof: a county restored from an old backup
//     lost some of what it receipted.)
//   - A download needs nothing first: its record came from the county's
//     feed. Files the county did not have yet (not_found) are asked for
//     after the others, in this session and the next ones.
//   - Each resumes: an upload from the offset the county holds (its
//     evidence_want), a download from the bytes this engine holds.
//   - What the county has confirmed (stored) is never offered again: the
//     store keeps it (store.MarkUploaded).

// evidencePage is how many files a walk reads from the store at a time.
const evidencePage = 64

// walk goes through a list of evidence files in hash order, a page at a
// time, and round again from the start if it was told something changed
// while it went.
type walk struct {
	page  []store.Evidence
	after protocol.Hash // the last hash paged in
	more  bool          // the last page was full: there may be more after
	again bool          // go round once more when through
}

func newWalk() walk { return walk{more: true} }

// next returns the next file that want accepts, reading pages with load,
// or nil when the walk is through.
func (w *walk) next(want func(protocol.Hash) bool, load func(after protocol.Hash) ([]store.Evidence, error)) (*store.Evidence, error) {
	for {
		for len(w.page) > 0 {
			e := w.page[0]
			w.page = w.page[1:]
			if want(e.Hash) {
				return &e, nil
			}
		}
		if !w.more {
			if !w.again {
				return nil, nil
			}
			w.again, w.after = false, protocol.Hash{}
		}
		page, err := load(w.after)
		if err != nil {
			w.more = false
			return nil, err
		}
		w.page, w.more = page, len(page) == evidencePage
		if len(page) > 0 {
			w.after = page[len(page)-1].Hash
		}
	}
}

// transfers is a link's evidence state. Only the link's reader touches it.
type transfers struct {
	uploading   *store.Evidence
	downloading *store.Evidence
	upStop      func() // ends the chunks of the upload's stream

	up    walk   // this device's files, ready for the county
	relay walk   // others' files held here, for a restored county (relay.go)
	held  uint64 // the last operation of this device the county holds
	down  walk   // files recorded here without content
	retry walk   // the same, for those the county did not have yet
	skip  map[protocol.Hash]bool
}

func newTransfers() transfers {
	return transfers{up: newWalk(), down: newWalk(), retry: newWalk(), skip: map[protocol.Hash]bool{}}
}

// startEvidence starts the first upload and download of the session.
func (l *link) startEvidence() {
	l.nextUpload()
	l.nextDownload()
}

// nextUpload offers the next file the county can take, if no upload is
// under way.
func (l *link) nextUpload() {
	e := l.e
	if l.ev.uploading != nil {
		return
	}
	want := func(h protocol.Hash) bool { return !l.ev.skip[h] }
	f, err := l.ev.up.next(want, func(after protocol.Hash) ([]store.Evidence, error) {
		return e.st.EvidenceToUpload(after, evidencePage, l.ev.held)
	})
	if err == nil && f == nil && l.rl.files && !l.rl.done {
		if f, err = l.ev.relay.next(want, l.relayedFiles); err == nil && f == nil {
			l.relayDone()
		}
	}
	if err != nil {
		e.log.Error("listing evidence to upload", "err", err)
	}
	if f == nil {
		return
	}
	l.setEvidence(&l.ev.uploading, f)
	l.sendCtrl(&protocol.Frame{Type: protocol.FrameEvidenceOffer, Hash: f.Hash, Size: f.Size})
}

// nextDownload asks for the next missing file, if no download is under
// way: first those the county has not said it lacks, then those.
func (l *link) nextDownload() {
	e := l.e
	if l.ev.downloading != nil {
		return
	}
	load := func(after protocol.Hash) ([]store.Evidence, error) { return e.st.MissingEvidence(after, evidencePage) }
	f, err := l.ev.down.next(func(h protocol.Hash) bool { return !l.ev.skip[h] && !e.notFound[h] }, load)
	if err == nil && f == nil {
		f, err = l.ev.retry.next(func(h protocol.Hash) bool { return !l.ev.skip[h] && e.notFound[h] }, load)
	}
	if err != nil {
		e.log.Error("listing missing evidence", "err", err)
	}
	if f == nil {
		return
	}
	l.setEvidence(&l.ev.downloading, f)
	l.sendCtrl(&protocol.Frame{Type: protocol.FrameEvidenceGet, Hash: f.Hash, Offset: int64(len(e.partial[f.Hash]))})
}

// setEvidence sets an upload or download under the link's lock (finished
// reads them).
func (l *link) setEvidence(p **store.Evidence, f *store.Evidence) {
	l.mu.Lock()
	*p = f
	l.mu.Unlock()
}

// receipted is called with each change set of this device the county
// receipted: it holds every operation up to its last (the county's chains
// have no gaps), and the files it records may go up now. The others were
// ready at the welcome, or are in change sets receipted before or after.
func (l *link) receipted(cs *protocol.ChangeSet) {
	l.ev.held = max(l.ev.held, cs.LastOp())
	for i := range cs.Ops {
		if cs.Ops[i].Kind == protocol.OpEvidence {
			l.ev.up.again = true
			l.nextUpload()
			return
		}
	}
}

// applied is called after change sets from the feed were applied: they
// may record files to fetch.
func (l *link) applied() {
	l.ev.down.again, l.ev.retry.again = true, true
	l.nextDownload()
}

// sendEvidence streams an upload from the offset the server asked for,
// ending the stream it asked for before, if any.
func (l *link) sendEvidence(f *protocol.Frame) {
	e := l.e
	if l.ev.uploading == nil || l.ev.uploading.Hash != f.Hash {
		return
	}
	if f.Offset > e.upAt[f.Hash] {
		e.upAt[f.Hash] = f.Offset // the county holds more than before
		e.progress.Add(1)
	}
	data, err := e.st.EvidenceContent(f.Hash)
	if err != nil {
		l.ev.skip[f.Hash] = true
		l.setEvidence(&l.ev.uploading, nil)
		l.nextUpload()
		return
	}
	if l.ev.upStop != nil {
		l.ev.upStop()
	}
	l.ev.upStop = l.pump.StreamChunks(f.Hash, f.Offset, data)
}

// evidenceStored finishes the upload the server now holds whole.
func (l *link) evidenceStored(h protocol.Hash) error {
	e := l.e
	if l.ev.uploading == nil || l.ev.uploading.Hash != h {
		return nil
	}
	if err := e.st.MarkUploaded(h); err != nil {
		return err
	}
	delete(e.upAt, h)
	l.setEvidence(&l.ev.uploading, nil)
	e.progress.Add(1)
	e.update(func(s *Status) { s.EvidenceSent++ })
	l.nextUpload()
	return nil
}

// evidenceRefused leaves a refused file alone for the rest of the session.
func (l *link) evidenceRefused(f *protocol.Frame) {
	e := l.e
	e.log.Warn("evidence refused", "hash", f.Hash, "code", string(f.Code), "message", f.Message)
	l.ev.skip[f.Hash] = true
	if l.ev.uploading != nil && l.ev.uploading.Hash == f.Hash {
		if l.ev.upStop != nil {
			l.ev.upStop()
		}
		l.setEvidence(&l.ev.uploading, nil)
		l.nextUpload()
	}
	if l.ev.downloading != nil && l.ev.downloading.Hash == f.Hash {
		l.setEvidence(&l.ev.downloading, nil)
		if f.Code == protocol.CodeNotFound {
			// Not uploaded by its author yet: keep what arrived, and ask
			// for the others first from now on.
			e.notFound[f.Hash] = true
		} else {
			delete(e.partial, f.Hash)
		}
		l.nextDownload()
	}
	if f.Code != protocol.CodeNotFound {
		e.update(func(s *Status) { s.Code, s.Err = f.Code, f.Message })
	}
}

func (l *link) evidenceChunk(f *protocol.Frame) error {
	e := l.e
	d := l.ev.downloading
	if d == nil || d.Hash != f.Hash {
		return nil // a chunk of a download given up on
	}
	have := e.partial[f.Hash]
	if f.Offset != int64(len(have)) {
		return nil // a duplicate after a resume
	}
	have = append(have, f.Body...)
	e.progress.Add(1)
	if int64(len(have)) < d.Size {
		e.partial[f.Hash] = have
		return nil
	}
	delete(e.partial, f.Hash)
	delete(e.notFound, f.Hash)
	l.setEvidence(&l.ev.downloading, nil)
	if err := e.st.PutEvidenceContent(f.Hash, have); err != nil {
		if !errors.Is(err, store.ErrEvidenceMismatch) && !errors.Is(err, store.ErrEvidenceTooLarge) {
			return err
		}
		e.log.Error("evidence from the county does not match its hash", "hash", f.Hash)
		l.ev.skip[f.Hash] = true
		e.update(func(s *Status) { s.Code, s.Err = protocol.CodeEvidenceMismatch, err.Error() })
	} else {
		e.update(func(s *Status) { s.EvidenceReceived++ })
	}
	l.nextDownload()
	return nil
}

func (l *link) sendCtrl(f *protocol.Frame) { l.pump.Send(wsconn.Control, f) }
