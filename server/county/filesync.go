package county

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// Sync by file (docs/sync-file.md): a county admin imports a device's
// bundle — from the admin screens or `jiannuo-server import`, both through
// POST /admin/sync/import — and hands the device the return file. The
// bundle is what the device would push in a session, and it goes the way a
// session's pushes go: each change set through the ingest loop (the same
// verification, refusal codes, incidents, group commit and receipts), its
// evidence through the checks of an upload. The return file holds what the
// session would send back: the receipts and refusals, then the office's
// feed from the device's cursor exactly as feedStream reads it
// (certificates, deliveries, the county's decisions, caught_up), then the
// evidence the county confirms and the files the device lacks, as far as
// the size limit allows.

// AuditSyncImport is the audited action of an imported sync bundle.
const AuditSyncImport = "sync_import"

// fileWindow is how many of a bundle's change sets wait in the ingest loop
// at once, as many as a device's session keeps unreceipted.
const fileWindow = 128

// SyncReturn is an imported bundle's return file, kept in a temporary file
// until it is written out, with the summary of the import.
type SyncReturn struct {
	countyapi.SyncImport
	f *os.File
}

// WriteTo writes the return file to w.
func (r *SyncReturn) WriteTo(w io.Writer) (int64, error) {
	if _, err := r.f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	return io.Copy(w, r.f)
}

// Close removes the return file.
func (r *SyncReturn) Close() error {
	r.f.Close()
	return os.Remove(r.f.Name())
}

// ImportSyncFile imports a device's sync bundle read from r for the county
// admin who, from remote (for incidents): it checks the whole file first —
// intact, of this county, of an enrolled device not revoked, signed with
// its key, for its office — and refuses it with the code of the first
// failure, storing nothing and recording an incident. Then it ingests the
// change sets, stores the evidence, audits the import and writes the
// return file. The caller closes the SyncReturn.
func (s *Server) ImportSyncFile(ctx context.Context, r io.Reader, who, remote string) (*SyncReturn, error) {
	select {
	case s.syncFiles <- struct{}{}:
		defer func() { <-s.syncFiles }()
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.done:
		return nil, errors.New("server closing")
	}
	sp, err := protocol.SpoolSyncFile(r, s.cfg.Dir, s.cfg.MaxSyncFileBytes)
	if errors.Is(err, protocol.ErrOversize) {
		err = fmt.Errorf("%w: the bundle is larger than this county server takes (%d MiB): export it again on the device up to an earlier date, and the rest in another",
			protocol.ErrOversize, s.cfg.MaxSyncFileBytes>>20)
	}
	if err == nil && sp.Bundle == nil {
		sp.Close()
		err = fmt.Errorf("%w: a return file, not a device's sync bundle", protocol.ErrMalformed)
	}
	if err != nil {
		if protocol.CodeOf(err) != protocol.CodeInternal {
			s.incident(countyapi.Incident{Code: protocol.CodeOf(err), Message: "sync file: " + err.Error(), Remote: remote})
		}
		return nil, err
	}
	defer sp.Close()
	h := sp.Bundle
	rec, err := s.checkBundle(sp)
	if err != nil {
		code := protocol.CodeOf(err)
		switch code {
		case protocol.CodeInternal, protocol.CodeNotEnrolled:
		case protocol.CodeBadSignature, protocol.CodeUnknownDevice, protocol.CodeWrongServer:
			// Its device is not proven: counted by where it came from.
			s.incident(countyapi.Incident{Device: h.Device, Code: code, Message: "sync file: " + err.Error(), Remote: remote})
		default:
			s.deviceIncident(countyapi.Incident{Device: h.Device, Code: code, Message: "sync file: " + err.Error(), Remote: remote})
		}
		return nil, err
	}
	im := &fileImport{s: s, rec: rec, h: h, remote: remote, sum: countyapi.SyncImport{Device: h.Device, Office: rec.Office, Number: h.Number}}
	s.seen(h.Device, true, &protocol.HelloStatus{Software: h.Software, Seq: h.Head.Seq, PendingOps: h.PendingOps})
	defer s.seen(h.Device, false, nil)
	if err := im.ingest(ctx, sp); err != nil {
		return nil, err
	}
	ret, err := im.writeReturn(sp.Digest)
	if err != nil {
		return nil, err
	}
	sum := im.sum
	detail := fmt.Sprintf("bundle %d: %d change sets, %d receipted, %d refused; feed %d to %d, %d delivered; evidence %d in, %d out",
		sum.Number, sum.ChangeSets, sum.Receipted, sum.Refused, sum.From, sum.To, sum.Delivered, sum.EvidenceIn, sum.EvidenceOut)
	err = s.st.Update(func(tx *bolt.Tx) error {
		return putAudit(tx, countyapi.AuditEntry{Time: s.cfg.Now(), Who: who, Action: AuditSyncImport, Target: h.Device.String(),
			Detail: "office " + string(rec.Office) + "; " + detail})
	})
	if err != nil {
		ret.Close()
		return nil, err
	}
	s.log.Info("sync bundle imported", "device", h.Device, "office", string(rec.Office), "by", who, "number", sum.Number,
		"receipted", sum.Receipted, "refused", sum.Refused, "delivered", sum.Delivered, "return_bytes", sum.ReturnBytes)
	return ret, nil
}

// checkBundle checks a bundle's header and signature against what the
// county knows, in the order a session's hello is checked, and returns its
// device's record.
func (s *Server) checkBundle(sp *protocol.SpooledSyncFile) (store.DeviceRecord, error) {
	h := sp.Bundle
	if h.County != s.id.County || !bytes.Equal(h.CountyKey, s.id.Key.Public().(ed25519.PublicKey)) {
		return store.DeviceRecord{}, fmt.Errorf("%w: the bundle is meant for county %s, this is county %s", protocol.ErrWrongServer, h.County, s.id.County)
	}
	rec, err := s.st.DeviceRecord(h.Device)
	if errors.Is(err, store.ErrNotFound) {
		var e countyapi.Enrolment
		found, _ := s.enrolment(h.Device, &e)
		if found && (e.Status == countyapi.EnrolPending || e.Status == countyapi.EnrolRejected) {
			return rec, fmt.Errorf("%w: enrolment %s", protocol.ErrNotEnrolled, e.Status)
		}
		return rec, fmt.Errorf("%w: %s", protocol.ErrUnknownDevice, h.Device)
	}
	if err != nil {
		return rec, err
	}
	if err := sp.VerifyBundle(rec.Key); err != nil {
		return rec, fmt.Errorf("%w: the bundle is not signed with the key of device %s", protocol.ErrBadSignature, h.Device)
	}
	if rec.Revoked {
		return rec, fmt.Errorf("%w: %s", protocol.ErrRevokedDevice, rec.Reason)
	}
	if h.Office != rec.Office {
		return rec, fmt.Errorf("%w: the bundle names office %s, the device is enrolled for %s", protocol.ErrOutOfScope, h.Office, rec.Office)
	}
	return rec, nil
}

// fileImport is one bundle being imported.
type fileImport struct {
	s      *Server
	rec    store.DeviceRecord
	h      *protocol.BundleHeader
	remote string
	sum    countyapi.SyncImport

	answers []*protocol.Frame                 // receipts and refusals, in the bundle's order
	waiting []chan *protocol.Frame            // answers the ingest loop owes, in order
	stopped bool                              // a change set was refused: the rest are not sent
	offers  []*protocol.Frame                 // the evidence files the device offered
	refused map[protocol.Hash]*protocol.Frame // evidence refused, by file
	gets    []protocol.Hash                   // the files the device lacks
	file    []byte                            // the evidence file being received
	fileAt  *protocol.Frame                   // its offer
}

// ingest takes the bundle's records in order: change sets to the ingest
// loop (at most fileWindow waiting), evidence files once every change set
// is answered (they need the records that cite them).
func (im *fileImport) ingest(ctx context.Context, sp *protocol.SpooledSyncFile) error {
	s := im.s
	heads, err := s.st.Heads()
	if err != nil {
		return err
	}
	held := heads[im.h.Device].Seq
	first := true
	sizes := map[protocol.Hash]int64{}
	err = sp.Records(func(f *protocol.Frame) error {
		switch f.Type {
		case protocol.FramePush:
			im.sum.ChangeSets++
			if first {
				first = false
				// A bundle that does not continue the county's chain: the
				// county lost what it receipted (restored from an older
				// backup). Its change sets would be refused one by one as
				// gaps; the return file's head tells the device where the
				// county stands, and its next bundle starts there.
				if cs, err := protocol.Decode(f.Body); err == nil && cs.Device == im.h.Device && cs.Seq > held+1 {
					im.sum.Skipped = true
				}
			}
			if im.sum.Skipped || im.stopped {
				return nil
			}
			return im.push(ctx, f.Body)
		case protocol.FrameEvidenceOffer:
			im.offers = append(im.offers, f)
			sizes[f.Hash] = f.Size
		case protocol.FrameEvidenceChunk:
			if err := im.drain(ctx, 0); err != nil {
				return err
			}
			if im.fileAt == nil || im.fileAt.Hash != f.Hash {
				im.fileAt, im.file = &protocol.Frame{Hash: f.Hash, Size: sizes[f.Hash]}, make([]byte, 0, sizes[f.Hash])
			}
			im.file = append(im.file, f.Body...)
			if int64(len(im.file)) == im.fileAt.Size {
				err := im.evidence(f.Hash, im.file)
				im.fileAt, im.file = nil, nil
				return err
			}
		case protocol.FrameEvidenceGet:
			im.gets = append(im.gets, f.Hash)
		}
		return nil
	})
	if err == nil {
		err = im.drain(ctx, 0)
	}
	return err
}

// push hands one change set to the ingest loop, as a session does, after
// waiting for answers if fileWindow are outstanding.
func (im *fileImport) push(ctx context.Context, raw []byte) error {
	s := im.s
	if refused := s.wrongDevice(im.h.Device, raw, im.remote); refused != nil {
		im.answer(refused)
		return nil
	}
	if err := im.drain(ctx, fileWindow-1); err != nil {
		return err
	}
	ch := make(chan *protocol.Frame, 1)
	if !s.submit(&pushReq{raw: raw, hint: deviceInfo(im.rec), file: ch, dev: im.h.Device, src: im.remote}, ctx.Done()) {
		if err := ctx.Err(); err != nil {
			return err
		}
		return errors.New("server closing")
	}
	im.waiting = append(im.waiting, ch)
	return nil
}

// drain waits for the ingest loop's answers until at most keep are owed.
func (im *fileImport) drain(ctx context.Context, keep int) error {
	for len(im.waiting) > keep {
		var f *protocol.Frame
		select {
		case f = <-im.waiting[0]:
		case <-ctx.Done():
			return ctx.Err()
		}
		im.waiting = im.waiting[1:]
		if f.Type == protocol.FrameError {
			return fmt.Errorf("%w: %s", protocol.ErrorFor(f.Code), f.Message)
		}
		im.answer(f)
	}
	return nil
}

// answer keeps a receipt or refusal for the return file. After a refusal
// the bundle's later change sets are not sent, as a device stops pushing.
func (im *fileImport) answer(f *protocol.Frame) {
	im.answers = append(im.answers, f)
	if f.Type == protocol.FrameReceipt {
		im.sum.Receipted++
		return
	}
	if im.sum.Refused == 0 {
		im.sum.RefusedCode = f.Code
	}
	im.sum.Refused++
	im.stopped = true
}

// evidence takes one whole evidence file of the bundle, with the checks of
// an upload: a file the county holds is confirmed, one no record of the
// device's scope cites is out_of_scope, one that does not hash to its hash
// evidence_mismatch (both incidents); nothing of a refused file is kept.
func (im *fileImport) evidence(h protocol.Hash, data []byte) error {
	s := im.s
	if ok, err := s.st.HasEvidence(h); err != nil || ok {
		return err
	}
	refuse := func(code protocol.Code, msg string) {
		msg = fmt.Sprintf("evidence %s: %s", h, msg)
		s.deviceIncident(countyapi.Incident{Device: im.h.Device, Code: code, Message: "sync file: " + msg, Remote: im.remote})
		if im.refused == nil {
			im.refused = map[protocol.Hash]*protocol.Frame{}
		}
		im.refused[h] = &protocol.Frame{Type: protocol.FrameRefused, Device: im.h.Device, Code: code, Hash: h, Message: msg}
	}
	if !s.citedInScope(im.rec, h) {
		refuse(protocol.CodeOutOfScope, "no record of this device's office cites the file")
		return nil
	}
	if sha256.Sum256(data) != h {
		refuse(protocol.CodeEvidenceMismatch, "content does not hash to "+h.String())
		return nil
	}
	if err := s.st.PutEvidenceContent(h, data); err != nil {
		return err
	}
	s.evidenceArrived(h)
	im.sum.EvidenceIn++
	// What a session had gathered of it before is of no use now.
	return s.st.Update(func(tx *bolt.Tx) error { return dropPartial(tx, h) })
}

// returnReserve is what the return file keeps free, beyond the county's
// decisions and the evidence answers, for caught_up and the trailer.
const returnReserve = 1 << 10

// writeReturn writes the return file for the bundle whose digest is
// bundle.
func (im *fileImport) writeReturn(bundle protocol.Hash) (*SyncReturn, error) {
	s := im.s
	tmp, err := os.CreateTemp(s.cfg.Dir, ".jiannuo-return-*")
	if err != nil {
		return nil, err
	}
	ret := &SyncReturn{f: tmp}
	if err := im.fillReturn(tmp, bundle); err != nil {
		ret.Close()
		return nil, err
	}
	im.sum.ReturnBytes, _ = tmp.Seek(0, io.SeekCurrent)
	ret.SyncImport = im.sum
	return ret, nil
}

func (im *fileImport) fillReturn(w io.Writer, bundle protocol.Hash) error {
	s := im.s
	heads, err := s.st.Heads()
	if err != nil {
		return err
	}
	feedHead, err := s.st.FeedHead()
	if err != nil {
		return err
	}
	from := im.h.Cursor
	if from > feedHead {
		// A cursor beyond the head: the county was restored from an
		// older backup and may give positions anew. The whole feed again;
		// the device resets its cursor when it sees the head.
		from = 0
	}
	if len(im.h.Epoch) > 0 && !bytes.Equal(im.h.Epoch, s.epoch[:]) {
		// A cursor of another epoch (epochCursor): the county was
		// restored since, whatever the cursor says.
		s.log.Info("sync bundle of another feed epoch: the feed starts again from the beginning", "device", im.h.Device, "cursor", im.h.Cursor)
		from = 0
	}
	h := &protocol.ReturnHeader{County: s.id.County, Device: im.h.Device, Number: im.h.Number, Bundle: bundle, Created: s.cfg.Now().UnixMilli(),
		Head: heads[im.h.Device], FeedHead: feedHead, From: from, Epoch: s.epoch[:]}
	fw, err := protocol.NewReturnWriter(w, h, s.cfg.MaxSyncFileBytes)
	if err != nil {
		return err
	}
	for _, f := range im.answers {
		if err := fw.Add(f); err != nil {
			return err
		}
	}
	// The evidence answers are decided first: their room is kept.
	control, err := im.evidenceControl()
	if err != nil {
		return err
	}
	reserve := int64(returnReserve)
	for _, f := range control {
		reserve += protocol.RecordSize(len(protocol.AppendFrame(nil, f)))
	}
	revs, _, cal := s.decisions()
	for _, doc := range revs {
		reserve += protocol.RecordSize(1 + len(doc))
	}
	reserve += protocol.RecordSize(1 + len(cal))

	cited, err := im.feed(fw, from, feedHead, reserve)
	if err != nil {
		return err
	}
	for _, f := range control {
		if err := fw.Add(f); err != nil {
			return err
		}
	}
	if err := im.evidenceContent(fw, cited); err != nil {
		return err
	}
	_, err = fw.Close(func(d protocol.Hash) []byte { return protocol.SignReturn(s.id.Key, d) })
	return err
}

// feed writes the device's feed after from, as a session streams it, up
// to feedHead and as far as the file has room beyond reserve; then, if it
// got to the head, the county's decisions; then caught_up. It returns the
// evidence files the delivered change sets cite.
func (im *fileImport) feed(fw *protocol.SyncFileWriter, from, feedHead uint64, reserve int64) (map[protocol.Hash]bool, error) {
	s := im.s
	v := s.deviceFeed(im.h.Device, im.rec)
	b := feedFrames{certSent: map[protocol.DeviceID]bool{}}
	cited := map[protocol.Hash]bool{}
	sent := from
	atHead := false
	// A kept entry takes at most a frame and its device's certificate.
	const entryMax = protocol.MaxFrameBytes + 4<<10
	var batch int64
	room := func(e store.FeedEntry) bool {
		if e.Pos > feedHead {
			atHead = true
			return false
		}
		return batch+entryMax <= fw.Room()-reserve
	}
	took := func(store.FeedEntry) { batch += entryMax }
	for {
		b.frames, batch = nil, 0
		var visited int
		var limited bool
		var err error
		sent, visited, limited, err = s.readFeed(v, &b, sent, room, took)
		if err != nil {
			return nil, err
		}
		for _, f := range s.fillCertificates(b.frames) {
			if err := fw.Add(f); err != nil {
				return nil, err
			}
			if f.Type == protocol.FrameDeliver {
				im.sum.Delivered++
				if cs, err := protocol.Decode(f.Body); err == nil {
					for _, op := range cs.Ops {
						if op.Kind == protocol.OpEvidence && op.Meta != nil {
							cited[op.Meta.Hash] = true
						}
					}
				}
			}
		}
		if limited && !atHead {
			break // the rest next time
		}
		if visited == feedBatch && !atHead {
			continue
		}
		for _, f := range v.settled() {
			if err := fw.Add(f); err != nil {
				return nil, err
			}
		}
		im.sum.FeedComplete = true
		break
	}
	im.sum.From, im.sum.To = from, sent
	return cited, fw.Add(&protocol.Frame{Type: protocol.FrameCaughtUp, Pos: sent})
}

// evidenceControl is what the county says of the evidence files: those the
// device offered that it holds (evidence_stored), those it refused, and
// those the device asked for that it may not have or does not hold yet
// (refused, as a session would answer the evidence_get), in hash order.
func (im *fileImport) evidenceControl() ([]*protocol.Frame, error) {
	s := im.s
	out := map[protocol.Hash]*protocol.Frame{}
	for h, f := range im.refused {
		out[h] = f
	}
	for _, o := range im.offers {
		if out[o.Hash] != nil {
			continue
		}
		ok, err := s.st.HasEvidence(o.Hash)
		if err != nil {
			return nil, err
		}
		if ok {
			out[o.Hash] = &protocol.Frame{Type: protocol.FrameEvidenceStored, Hash: o.Hash}
		}
	}
	for _, h := range im.gets {
		if out[h] != nil {
			continue
		}
		if !s.citedInScope(im.rec, h) {
			msg := fmt.Sprintf("evidence %s: no record of this device's office cites the file", h)
			s.deviceIncident(countyapi.Incident{Device: im.h.Device, Code: protocol.CodeOutOfScope, Message: "sync file: " + msg, Remote: im.remote})
			out[h] = &protocol.Frame{Type: protocol.FrameRefused, Device: im.h.Device, Code: protocol.CodeOutOfScope, Hash: h, Message: msg}
			continue
		}
		if ok, err := s.st.HasEvidence(h); err != nil {
			return nil, err
		} else if !ok {
			// Not uploaded yet by its author: asked again next time.
			out[h] = &protocol.Frame{Type: protocol.FrameRefused, Device: im.h.Device, Code: protocol.CodeNotFound, Hash: h,
				Message: fmt.Sprintf("evidence %s: not on the server yet", h)}
		}
	}
	keys := make([]protocol.Hash, 0, len(out))
	for h := range out {
		keys = append(keys, h)
	}
	slices.SortFunc(keys, func(a, b protocol.Hash) int { return bytes.Compare(a[:], b[:]) })
	frames := make([]*protocol.Frame, len(keys))
	for i, h := range keys {
		frames[i] = out[h]
	}
	return frames, nil
}

// evidenceContent writes the files the device lacks — those it asked for
// and those the delivered change sets cite — that the county holds, in
// hash order, each whole, as far as they fit.
func (im *fileImport) evidenceContent(fw *protocol.SyncFileWriter, cited map[protocol.Hash]bool) error {
	s := im.s
	for _, h := range im.gets {
		cited[h] = true
	}
	keys := make([]protocol.Hash, 0, len(cited))
	for h := range cited {
		keys = append(keys, h)
	}
	slices.SortFunc(keys, func(a, b protocol.Hash) int { return bytes.Compare(a[:], b[:]) })
	for _, h := range keys[:min(len(keys), protocol.MaxSyncFileEvidence)] {
		if !s.citedInScope(im.rec, h) {
			continue
		}
		data, err := s.st.EvidenceContent(h)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		offer := &protocol.Frame{Type: protocol.FrameEvidenceOffer, Hash: h, Size: int64(len(data))}
		frames := []*protocol.Frame{offer}
		size := protocol.RecordSize(len(protocol.AppendFrame(nil, offer)))
		for at := 0; at < len(data); at += protocol.MaxChunkBytes {
			c := &protocol.Frame{Type: protocol.FrameEvidenceChunk, Hash: h, Offset: int64(at), Body: data[at:min(at+protocol.MaxChunkBytes, len(data))]}
			frames = append(frames, c)
			size += protocol.RecordSize(len(protocol.AppendFrame(nil, c)))
		}
		if size > fw.Room() {
			im.sum.EvidenceLeft++
			continue
		}
		for _, f := range frames {
			if err := fw.Add(f); err != nil {
				return err
			}
		}
		im.sum.EvidenceOut++
	}
	return nil
}

// serveSyncImport is POST /admin/sync/import: the body is a device's sync
// bundle, streamed to disk with the size limit; the answer is its return
// file, with the summary in the SyncImportHeader header.
func (s *Server) serveSyncImport(w http.ResponseWriter, r *http.Request, who string) {
	// A bundle of the largest size takes its time over a slow link; the
	// server's ReadTimeout and WriteTimeout are for ordinary requests.
	rc := http.NewResponseController(w)
	deadline := time.Now().Add(s.cfg.SyncFileTimeout)
	rc.SetReadDeadline(deadline)
	rc.SetWriteDeadline(deadline)
	// ImportSyncFile reads no more than the limit and a byte.
	ret, err := s.ImportSyncFile(r.Context(), r.Body, who, r.RemoteAddr)
	if err != nil {
		status := statusFor(err)
		if errors.Is(err, protocol.ErrOversize) {
			status = http.StatusRequestEntityTooLarge
		}
		s.writeErr(w, r, status, err)
		return
	}
	defer ret.Close()
	summary, _ := json.Marshal(ret.SyncImport)
	w.Header().Set(countyapi.SyncImportHeader, string(summary))
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(ret.ReturnBytes, 10))
	w.WriteHeader(http.StatusOK)
	if _, err := ret.WriteTo(w); err != nil {
		s.log.Warn("writing a return file", "device", ret.Device, "err", err)
	}
}
