package engine

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// Sync by file (docs/sync-file.md): a device without a link writes a
// bundle of what it would push in a session (ExportBundle), a county admin
// imports it into the county server, and the device imports the return
// file the county wrote (ImportReturn). Receipts, the feed cursor and the
// evidence marks are the very objects a session keeps, so online sessions
// and files mix in any order: nothing is applied twice, nothing skipped.
//
// The outbox never empties at export: a change set leaves it only with the
// county's receipt, from a session or a return file.

// ExportOptions says what goes into a bundle.
type ExportOptions struct {
	// Until, if set, takes only the change sets whose every operation was
	// made before it: the work of the days before, when all of it does not
	// fit in one file. The rest waits for the next file (or session).
	Until time.Time
	// MaxBytes is the largest file written (default and at most
	// protocol.MaxSyncFileBytes). Change sets must all fit (else a
	// *TooLargeError); evidence goes in as far as it fits, the rest next
	// time.
	MaxBytes int64
	// DryRun measures the bundle and writes it to w without recording it
	// as exported: what the app shows before the user picks a folder.
	DryRun bool
	// Now is the time the bundle is made (zero: time.Now()).
	Now time.Time
}

// ExportSummary says what a bundle holds.
type ExportSummary struct {
	Number     uint64 // the bundle's number
	Created    time.Time
	Bytes      int64 // the file's size
	ChangeSets int   // change sets the county has not receipted
	Ops        int   // their operations
	// FirstSeq and LastSeq are the change sets' sequence numbers; First and
	// Last when their first and last operations were made.
	FirstSeq, LastSeq uint64
	First, Last       time.Time
	// Later are the change sets left for a later file by Until.
	Later int
	// Evidence files the county has not confirmed: Sent whole in the
	// bundle (SentBytes of content), Offered in all (so the county says
	// which it holds), the rest of those over the size limit left for
	// the next file.
	EvidenceSent      int
	EvidenceSentBytes int64
	EvidenceOffered   int
	EvidenceLeft      int
	// EvidenceWanted are the files recorded here without their content,
	// asked of the county.
	EvidenceWanted int
	Cursor         uint64 // the feed cursor the county continues from
}

// TooLargeError refuses a bundle whose change sets alone would pass the
// size limit. Until is the latest day boundary up to which the work fits
// (export with ExportOptions.Until set to it, then the rest), or zero when
// not even the first day's does.
type TooLargeError struct {
	Size, Limit int64
	Until       time.Time
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("the change sets take %d bytes, over the sync file limit of %d: export them up to an earlier date", e.Size, e.Limit)
}

// Unwrap makes errors.Is(err, protocol.ErrOversize) hold.
func (e *TooLargeError) Unwrap() error { return protocol.ErrOversize }

// errNotEnrolledHere refuses a sync file on a device not enrolled with a
// county.
var errNotEnrolledHere = fmt.Errorf("%w: this device is not enrolled with a county", protocol.ErrNotEnrolled)

// county returns the code of the county this device is enrolled with.
func (e *Engine) county() (office.Code, error) {
	if len(e.cfg.CountyKey) != ed25519.PublicKeySize {
		return "", errNotEnrolledHere
	}
	if e.cfg.County != "" {
		return e.cfg.County, nil
	}
	set, ok, err := e.st.SyncSettings()
	if err != nil {
		return "", err
	}
	if !ok || set.County == "" {
		return "", errNotEnrolledHere
	}
	return set.County, nil
}

// exportPage is how many change sets an export reads at a time.
const exportPage = 64

// outgoing is what ExportBundle learns of one change set before writing.
type outgoing struct {
	seq         uint64
	size        int64
	ops         int
	first, last time.Time
	lastOp      uint64
}

// ExportBundle seals what is pending, as a session does first, and writes
// a bundle to w: every change set of this device from the oldest the
// county has not receipted (up to opt.Until), its evidence files the
// county has not confirmed (whole as far as they fit), the files it lacks,
// and its cursor, signed with the device key. Nothing leaves the outbox.
func (e *Engine) ExportBundle(w io.Writer, opt ExportOptions) (ExportSummary, error) {
	e.fileMu.Lock()
	defer e.fileMu.Unlock()
	var sum ExportSummary
	county, err := e.county()
	if err != nil {
		return sum, err
	}
	limit := opt.MaxBytes
	if limit <= 0 || limit > protocol.MaxSyncFileBytes {
		limit = protocol.MaxSyncFileBytes
	}
	now := opt.Now
	if now.IsZero() {
		now = time.Now()
	}
	if _, err := e.se.Seal(0); err != nil {
		return sum, fmt.Errorf("sealing pending operations: %w", err)
	}
	heads, err := e.st.Heads()
	if err != nil {
		return sum, err
	}
	head := heads[e.dev]
	cursor, err := e.st.Cursor()
	if err != nil {
		return sum, err
	}
	fs, err := e.st.FileSyncState()
	if err != nil {
		return sum, err
	}
	counts, err := e.st.Pending()
	if err != nil {
		return sum, err
	}
	// From the oldest change set without a receipt, or from where the
	// county's last return file said it stands if it lost some since (a
	// county restored from an older backup).
	from := head.Seq
	if first, ok, err := e.st.OutboxFirst(); err != nil {
		return sum, err
	} else if ok {
		from = first - 1
	}
	if fs.CountyHead > 0 && fs.CountyHead < from {
		from = fs.CountyHead
	}

	// What goes, measured before anything is written.
	var sets []outgoing
	var setBytes int64
	err = e.eachChangeSet(from, func(raw []byte, cs *protocol.ChangeSet) error {
		o := outgoing{seq: cs.Seq, size: protocol.RecordSize(1 + len(raw)), ops: len(cs.Ops),
			first: cs.Ops[0].HLC.Wall(), last: cs.Ops[len(cs.Ops)-1].HLC.Wall(), lastOp: cs.LastOp()}
		if !opt.Until.IsZero() && !o.last.Before(opt.Until) {
			sum.Later++
			return nil
		}
		sets = append(sets, o)
		setBytes += o.size
		return nil
	})
	if err != nil {
		return sum, err
	}
	held, err := e.lastOpHeld(from, sets)
	if err != nil {
		return sum, err
	}
	offers, err := collectEvidence(func(after protocol.Hash) ([]store.Evidence, error) {
		return e.st.EvidenceToUpload(after, evidencePage, held)
	})
	if err != nil {
		return sum, err
	}
	wanted, err := collectEvidence(func(after protocol.Hash) ([]store.Evidence, error) {
		return e.st.MissingEvidence(after, evidencePage)
	})
	if err != nil {
		return sum, err
	}
	header := &protocol.BundleHeader{County: county, CountyKey: e.cfg.CountyKey, Device: e.dev, Office: e.se.Device().Office,
		Number: fs.Number + 1, Created: now.UnixMilli(), Cursor: cursor, Head: head,
		Software: e.cfg.Version, PendingOps: uint64(counts.PendingOps)}
	// The room the head leaves, measured before anything is written: a
	// bundle that does not fit writes nothing.
	measure, err := protocol.NewBundleWriter(io.Discard, header, limit)
	if err != nil {
		return sum, err
	}
	var lists int64 // offers and gets: they must fit with the change sets
	for _, f := range offers {
		lists += protocol.RecordSize(len(protocol.AppendFrame(nil, &protocol.Frame{Type: protocol.FrameEvidenceOffer, Hash: f.Hash, Size: f.Size})))
	}
	getFrames := make([]*protocol.Frame, len(wanted))
	for i, f := range wanted {
		getFrames[i] = &protocol.Frame{Type: protocol.FrameEvidenceGet, Hash: f.Hash}
		lists += protocol.RecordSize(len(protocol.AppendFrame(nil, getFrames[i])))
	}
	if setBytes+lists > measure.Room() {
		return sum, tooLarge(sets, measure.Room()-lists, setBytes+lists, limit)
	}
	cw := &countingWriter{w: w}
	fw, err := protocol.NewBundleWriter(cw, header, limit)
	if err != nil {
		return sum, err
	}

	// The change sets, read again page by page.
	if len(sets) > 0 {
		last := sets[len(sets)-1].seq
		err = e.eachChangeSet(from, func(raw []byte, cs *protocol.ChangeSet) error {
			if cs.Seq > last {
				return errStop
			}
			return fw.Add(&protocol.Frame{Type: protocol.FramePush, Body: raw})
		})
		if err != nil && !errors.Is(err, errStop) {
			return sum, err
		}
		sum.ChangeSets, sum.FirstSeq, sum.LastSeq = len(sets), sets[0].seq, last
		sum.First, sum.Last = sets[0].first, sets[len(sets)-1].last
		for _, o := range sets {
			sum.Ops += o.ops
		}
	}
	for _, f := range offers {
		if err := fw.Add(&protocol.Frame{Type: protocol.FrameEvidenceOffer, Hash: f.Hash, Size: f.Size}); err != nil {
			return sum, err
		}
	}
	sum.EvidenceOffered = len(offers)
	var getBytes int64
	for _, g := range getFrames {
		getBytes += protocol.RecordSize(len(protocol.AppendFrame(nil, g)))
	}
	for _, f := range offers {
		frames, size, err := e.chunks(f.Hash)
		if err != nil {
			return sum, err
		}
		if frames == nil || size > fw.Room()-getBytes {
			sum.EvidenceLeft++ // next time
			continue
		}
		for _, c := range frames {
			if err := fw.Add(c); err != nil {
				return sum, err
			}
		}
		sum.EvidenceSent++
		sum.EvidenceSentBytes += f.Size
	}
	for _, g := range getFrames {
		if err := fw.Add(g); err != nil {
			return sum, err
		}
	}
	sum.EvidenceWanted = len(getFrames)
	digest, err := fw.Close(e.se.SignSyncBundle)
	if err != nil {
		return sum, err
	}
	sum.Number, sum.Created, sum.Bytes, sum.Cursor = header.Number, now, cw.n, cursor
	if opt.DryRun {
		return sum, nil
	}
	if err := e.st.RecordExport(store.ExportedBundle{Number: header.Number, Digest: digest, Time: now, Cursor: cursor}); err != nil {
		return sum, err
	}
	e.log.Info("sync bundle exported", "number", header.Number, "change_sets", sum.ChangeSets, "evidence", sum.EvidenceSent, "bytes", sum.Bytes)
	return sum, nil
}

var errStop = errors.New("stop")

// eachChangeSet calls fn with each change set of this device after seq
// from, in order, a page at a time.
func (e *Engine) eachChangeSet(from uint64, fn func(raw []byte, cs *protocol.ChangeSet) error) error {
	for after := from; ; {
		page, err := e.st.ChangeSets(e.dev, after, exportPage)
		if err != nil {
			return err
		}
		for _, raw := range page {
			cs, err := protocol.Decode(raw)
			if err != nil {
				return fmt.Errorf("%w: change set after %d: %v", store.ErrInvariant, after, err)
			}
			if err := fn(raw, cs); err != nil {
				return err
			}
			after = cs.Seq
		}
		if len(page) < exportPage {
			return nil
		}
	}
}

// lastOpHeld is the last operation of this device the county will hold
// once it has taken the bundle: the last change set in it, or the one it
// continues from. Its evidence files up to there may go up.
func (e *Engine) lastOpHeld(from uint64, sets []outgoing) (uint64, error) {
	if len(sets) > 0 {
		return sets[len(sets)-1].lastOp, nil
	}
	if from == 0 {
		return 0, nil
	}
	raw, err := e.st.ChangeSets(e.dev, from-1, 1)
	if err != nil || len(raw) != 1 {
		return 0, fmt.Errorf("%w: change set %d missing: %v", store.ErrInvariant, from, err)
	}
	cs, err := protocol.Decode(raw[0])
	if err != nil {
		return 0, err
	}
	return cs.LastOp(), nil
}

// collectEvidence lists distinct evidence files, a page at a time, at most
// protocol.MaxSyncFileEvidence (the rest go in a later file).
func collectEvidence(load func(after protocol.Hash) ([]store.Evidence, error)) ([]store.Evidence, error) {
	var out []store.Evidence
	after := protocol.Hash{}
	for len(out) < protocol.MaxSyncFileEvidence {
		page, err := load(after)
		if err != nil {
			return nil, err
		}
		for _, f := range page {
			if len(out) == 0 || out[len(out)-1].Hash != f.Hash {
				out = append(out, f)
			}
		}
		if len(page) < evidencePage {
			break
		}
		after = page[len(page)-1].Hash
	}
	return out[:min(len(out), protocol.MaxSyncFileEvidence)], nil
}

// chunks returns an evidence file as the chunks a sync file carries and
// the bytes they take; nil if its content is not here.
func (e *Engine) chunks(h protocol.Hash) ([]*protocol.Frame, int64, error) {
	data, err := e.st.EvidenceContent(h)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	frames := chunkFrames(h, data)
	var size int64
	for _, f := range frames {
		size += protocol.RecordSize(len(protocol.AppendFrame(nil, f)))
	}
	return frames, size, nil
}

// chunkFrames cuts a file into evidence chunks of the largest size.
func chunkFrames(h protocol.Hash, data []byte) []*protocol.Frame {
	var out []*protocol.Frame
	for at := 0; at < len(data); at += protocol.MaxChunkBytes {
		end := min(at+protocol.MaxChunkBytes, len(data))
		out = append(out, &protocol.Frame{Type: protocol.FrameEvidenceChunk, Hash: h, Offset: int64(at), Body: data[at:end]})
	}
	return out
}

// tooLarge says how far the change sets fit: up to the start of the day
// (local time) of the first that does not, if that leaves any.
func tooLarge(sets []outgoing, room, size, limit int64) *TooLargeError {
	out := &TooLargeError{Size: size, Limit: limit}
	var used int64
	for _, o := range sets {
		used += o.size
		if used > room {
			y, m, d := o.last.Date()
			day := time.Date(y, m, d, 0, 0, 0, 0, o.last.Location())
			if sets[0].last.Before(day) {
				out.Until = day
			}
			break
		}
	}
	return out
}

// countingWriter counts what it writes.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Refusal is what the county refused in a return file: a change set (Seq)
// or an evidence file (Hash), with its code.
type Refusal struct {
	Seq     uint64
	Hash    protocol.Hash
	Code    protocol.Code
	Message string
}

// ImportSummary says what a return file brought.
type ImportSummary struct {
	Number  uint64    // the bundle it answers
	Created time.Time // when the county made it
	// Receipts are the county's receipts for this device's change sets;
	// Refused the change sets (and evidence files) it refused.
	Receipts int
	Refused  []Refusal
	// Delivered are the change sets of other devices from the county's
	// feed; Certificates, Revocations the county's documents with them.
	Delivered, Certificates, Revocations int
	Calendar                             uint64 // a newer calendar update's version, 0 if none
	// EvidenceConfirmed are this device's files the county holds;
	// EvidenceReceived the files stored here from the county.
	EvidenceConfirmed, EvidenceReceived int
	Cursor                              uint64 // the feed cursor after
	// Outbox is what still waits for a receipt (the change sets the
	// county refused, or left out by a bundle cut by date, or sealed
	// since the export).
	Outbox int
	// Reset: the county did not continue its feed from the bundle's
	// cursor, which lay beyond its head (it was restored from an older
	// backup), so the cursor was reset and the county's feed, sent from
	// the start, taken again.
	Reset bool
	// Partial: the file's feed starts after this device's cursor (it was
	// reset since the bundle was made), so the cursor stayed where it
	// was; the next sync brings the rest.
	Partial bool
}

// ImportReturn imports a return file the county wrote for this device: it
// copies it beside the replica, checks it whole — intact, signed with the
// county key this device pinned, for this device, answering a bundle it
// exported and whose answer it has not imported — and only then takes
// what it holds, as a session would: receipts (the outbox empties), the
// office's feed with its certificates and the county's decisions (the
// cursor moves on), evidence confirmed and received. A file refused
// changes nothing; its error has the code (protocol.CodeOf).
func (e *Engine) ImportReturn(ctx context.Context, r io.Reader) (ImportSummary, error) {
	e.fileMu.Lock()
	defer e.fileMu.Unlock()
	var sum ImportSummary
	county, err := e.county()
	if err != nil {
		return sum, err
	}
	sp, err := protocol.SpoolSyncFile(r, filepath.Dir(e.st.Path()), 0)
	if err != nil {
		return sum, err
	}
	defer sp.Close()
	h := sp.Return
	switch {
	case h == nil:
		return sum, fmt.Errorf("%w: a sync bundle, not a return file", protocol.ErrMalformed)
	case h.County != county:
		return sum, fmt.Errorf("%w: a return file of county %s, this device is enrolled with %s", protocol.ErrWrongServer, h.County, county)
	}
	if err := sp.VerifyReturn(e.cfg.CountyKey); err != nil {
		return sum, fmt.Errorf("%w: the return file is not signed with the key of the county this device enrolled with", protocol.ErrWrongServer)
	}
	if h.Device != e.dev {
		return sum, fmt.Errorf("%w: a return file for device %s", protocol.ErrWrongDevice, h.Device)
	}
	fs, err := e.st.FileSyncState()
	if err != nil {
		return sum, err
	}
	exported, ok := fs.Waiting(h.Number, h.Bundle)
	if !ok {
		return sum, fmt.Errorf("%w: it answers bundle %d; the last return file imported answered bundle %d, and %d bundles await theirs",
			protocol.ErrStaleFile, h.Number, fs.Imported, len(fs.Exported))
	}
	heads, err := e.st.Heads()
	if err != nil {
		return sum, err
	}
	mine := heads[e.dev]
	if h.Head.Seq > mine.Seq || (h.Head.Seq == mine.Seq && h.Head.Hash != mine.Hash) {
		return sum, fmt.Errorf("%w: the county holds change sets of this device up to %d, this device only up to %d: it was restored from an old backup or copied; ask the county admin to re-enrol it",
			protocol.ErrFork, h.Head.Seq, mine.Seq)
	}
	// Everything the county says must open before anything is stored.
	err = sp.Records(func(f *protocol.Frame) error {
		var err error
		switch f.Type {
		case protocol.FrameReceipt:
			_, _, err = e.openReceipt(f.Body)
		case protocol.FrameCertificate:
			_, err = e.openCertificate(f.Body)
		case protocol.FrameRevocation:
			_, err = e.openRevocation(f.Body)
		case protocol.FrameCalendar:
			_, err = e.openCalendar(f.Body)
		}
		return err
	})
	if err != nil {
		var fe *FatalError
		if errors.As(err, &fe) {
			return sum, fmt.Errorf("%w: %s", protocol.ErrorFor(fe.Code), fe.Message)
		}
		return sum, err
	}
	sum, err = e.applyReturn(ctx, sp, exported)
	if err != nil {
		return sum, err
	}
	e.log.Info("return file imported", "number", h.Number, "receipts", sum.Receipts, "refused", len(sum.Refused),
		"delivered", sum.Delivered, "cursor", sum.Cursor, "evidence_in", sum.EvidenceReceived)
	return sum, nil
}

// applyReturn takes what a checked return file holds, in its order, then
// notes it imported.
func (e *Engine) applyReturn(ctx context.Context, sp *protocol.SpooledSyncFile, exported store.ExportedBundle) (ImportSummary, error) {
	h := sp.Return
	sum := ImportSummary{Number: h.Number, Created: time.UnixMilli(h.Created)}
	cursor, err := e.st.Cursor()
	if err != nil {
		return sum, err
	}
	if h.From < exported.Cursor {
		// The county did not continue from the bundle's cursor: it lay
		// beyond the county's feed head, so the county was restored from
		// an older backup and may give positions anew, and it sent its
		// feed from the start. (A head behind the cursor is no sign here,
		// unlike at a welcome: a return file may be imported days after
		// sessions moved the cursor on.)
		e.log.Warn("county feed behind this device's cursor; resynchronising from the start", "cursor", exported.Cursor, "county_head", h.FeedHead)
		if err := e.st.ResetCursor(); err != nil {
			return sum, err
		}
		cursor, sum.Reset = 0, true
	}
	// The feed continues the cursor only if it starts at or before it;
	// otherwise its change sets are applied and the cursor stays.
	continues := h.From <= cursor
	sum.Partial = !continues
	var pending [][]byte
	var pendingPos uint64
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		pos := pendingPos
		if !continues {
			pos = 0
		}
		if err := e.applyDelivered(pos, pending); err != nil {
			return err
		}
		sum.Delivered += len(pending)
		pending = pending[:0]
		return nil
	}
	var file *protocol.Frame // the evidence file being received
	var content []byte
	err = sp.Records(func(f *protocol.Frame) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if f.Type != protocol.FrameDeliver {
			if err := flush(); err != nil {
				return err
			}
		}
		switch f.Type {
		case protocol.FrameReceipt:
			rc, _, err := e.openReceipt(f.Body)
			if err != nil {
				return err
			}
			sum.Receipts++
			return e.acknowledge(rc, f.Body)
		case protocol.FrameRefused:
			sum.Refused = append(sum.Refused, Refusal{Seq: f.Seq, Hash: f.Hash, Code: f.Code, Message: f.Message})
			e.log.Warn("refused by the county", "seq", f.Seq, "hash", f.Hash, "code", string(f.Code), "message", f.Message)
		case protocol.FrameCertificate:
			sum.Certificates++
			return e.putCertificate(f.Body)
		case protocol.FrameDeliver:
			pending = append(pending, f.Body)
			pendingPos = f.Pos
			if len(pending) >= e.cfg.ApplyBatch {
				return flush()
			}
		case protocol.FrameRevocation:
			sum.Revocations++
			return e.putRevocation(f.Body)
		case protocol.FrameCalendar:
			v, err := e.storeCalendar(f.Body)
			sum.Calendar = max(sum.Calendar, v)
			return err
		case protocol.FrameCaughtUp:
			if !continues {
				return nil
			}
			if _, err := e.st.ApplyFrom(f.Pos); err != nil {
				return err
			}
		case protocol.FrameEvidenceStored:
			sum.EvidenceConfirmed++
			return e.st.MarkUploaded(f.Hash)
		case protocol.FrameEvidenceOffer:
			file, content = f, make([]byte, 0, f.Size)
		case protocol.FrameEvidenceChunk:
			content = append(content, f.Body...)
			if int64(len(content)) == file.Size {
				if err := e.st.PutEvidenceContent(f.Hash, content); err != nil {
					if !errors.Is(err, store.ErrEvidenceMismatch) && !errors.Is(err, store.ErrEvidenceTooLarge) {
						return err
					}
					e.log.Error("evidence from the county does not match its hash", "hash", f.Hash)
				} else {
					sum.EvidenceReceived++
				}
				file, content = nil, nil
			}
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return sum, err
	}
	// The county lost change sets it had receipted (restored from an
	// older backup): the next bundle carries them again.
	var countyHead uint64
	if seq, _, err := e.st.LastReceipt(); err == nil && seq > h.Head.Seq {
		countyHead = h.Head.Seq
	}
	now := time.Now()
	if err := e.st.RecordImport(h.Number, countyHead, now); err != nil {
		return sum, err
	}
	if sum.Cursor, err = e.st.Cursor(); err != nil {
		return sum, err
	}
	c, err := e.st.Pending()
	if err != nil {
		return sum, err
	}
	sum.Outbox = c.OutboxChangeSets
	e.update(func(s *Status) {
		s.LastSync, s.LastSyncVia = now, store.SyncedByFile
		s.EvidenceSent += sum.EvidenceConfirmed
		s.EvidenceReceived += sum.EvidenceReceived
		for _, r := range sum.Refused {
			if r.Hash.IsZero() {
				s.Code, s.Err = r.Code, r.Message
			}
		}
	})
	return sum, nil
}
