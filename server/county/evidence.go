package county

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"jiannuo/server/internal/partial"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
	"jiannuo/sync/wsconn"
)

// Evidence files travel in chunks beside the change sets that cite them.
// Uploads resume where a cut left them: received chunks are kept in the
// x-partial bucket until the file is whole and matches its hash. A session
// gathers the chunks it receives and writes them once uploadFlush bytes
// have come, the file is whole, or the session ends (the chunks it holds
// arrived whole, cut or not): devices send small chunks, so that a link
// cut every few seconds still carries whole ones, without a write to disk
// — and a wait for the single writer — per chunk.

// uploadFlush is how many bytes of an upload a session gathers before it
// writes them: as many as the largest chunk, so a device sending the
// largest chunks costs one write per chunk, as without gathering.
const uploadFlush = protocol.MaxChunkBytes

// upload is the evidence file a session is receiving. Only the session's
// reader goroutine touches it.
type upload struct {
	hash  protocol.Hash
	size  int64
	have  int64  // contiguous bytes in x-partial, as of the last look
	buf   []byte // received after have, not written yet
	asked int64  // the offset the last evidence_want named
}

// citedInScope reports whether a record of the device's scope cites the
// evidence file: a device may upload or fetch only such files.
func (se *session) citedInScope(h protocol.Hash) bool { return se.srv.citedInScope(se.rec, h) }

// citedInScope reports whether a record of the scope of a device enrolled
// as rec cites the evidence file.
func (s *Server) citedInScope(rec store.DeviceRecord, h protocol.Hash) bool {
	offices, err := s.st.EvidenceOffice(h)
	if err != nil {
		return false
	}
	for _, o := range offices {
		if inScope(rec, o) {
			return true
		}
	}
	return false
}

func (se *session) evidenceOffer(f *protocol.Frame) {
	s := se.srv
	se.saveUpload() // another file's, if any
	if ok, _ := s.st.HasEvidence(f.Hash); ok {
		se.send(&protocol.Frame{Type: protocol.FrameEvidenceStored, Hash: f.Hash})
		return
	}
	if !se.citedInScope(f.Hash) {
		se.refuseEvidence(f.Hash, protocol.CodeOutOfScope, "no record of this device's office cites the file")
		return
	}
	// The announced size is written only when it is new: an upload that
	// resumes asks nothing of the writer.
	var have int64
	sized := false
	err := s.st.View(func(tx *bolt.Tx) error {
		if old := tx.Bucket(bPartialSize).Get(f.Hash[:]); old != nil && int64(binary.BigEndian.Uint64(old)) == f.Size {
			sized, have = true, received(tx, f.Hash)
		}
		return nil
	})
	if err == nil && !sized {
		err = s.st.Update(func(tx *bolt.Tx) error {
			sizes := tx.Bucket(bPartialSize)
			if old := sizes.Get(f.Hash[:]); old != nil && int64(binary.BigEndian.Uint64(old)) != f.Size {
				// A different size for the same hash: start again.
				if err := dropPartial(tx, f.Hash); err != nil {
					return err
				}
			}
			if err := sizes.Put(f.Hash[:], binary.BigEndian.AppendUint64(nil, uint64(f.Size))); err != nil {
				return err
			}
			have = received(tx, f.Hash)
			return nil
		})
	}
	if err != nil {
		se.fail(protocol.CodeInternal, "evidence store unavailable")
		return
	}
	se.upload = upload{hash: f.Hash, size: f.Size, have: have}
	se.want(have)
}

// want asks the device for its upload from offset at.
func (se *session) want(at int64) {
	se.upload.asked = at
	se.send(&protocol.Frame{Type: protocol.FrameEvidenceWant, Hash: se.upload.hash, Offset: at})
}

func (se *session) evidenceChunk(f *protocol.Frame) {
	s := se.srv
	u := &se.upload
	if u.hash != f.Hash {
		se.refuseEvidence(f.Hash, protocol.CodeMalformed, "chunk of a file not offered")
		return
	}
	at := u.have + int64(len(u.buf))
	if f.Offset != at || at+int64(len(f.Body)) > u.size {
		// Out of step: ask from where it stands, once; the chunks still
		// on their way from before are dropped without asking again.
		if at != u.asked {
			se.want(at)
		}
		return
	}
	u.buf = append(u.buf, f.Body...)
	at += int64(len(f.Body))
	if at < u.size && len(u.buf) < uploadFlush {
		return
	}
	whole, err := se.writeUpload()
	if err != nil {
		se.fail(protocol.CodeInternal, "evidence store unavailable")
		return
	}
	switch {
	case whole != nil:
		if sha256.Sum256(whole) != f.Hash {
			se.refuseEvidence(f.Hash, protocol.CodeEvidenceMismatch, "content does not hash to "+f.Hash.String())
			return
		}
		if err := s.st.PutEvidenceContent(f.Hash, whole); err != nil {
			se.fail(protocol.CodeInternal, "evidence store unavailable")
			return
		}
		s.evidenceArrived(f.Hash)
		se.upload = upload{}
		se.send(&protocol.Frame{Type: protocol.FrameEvidenceStored, Hash: f.Hash})
	case u.have != at:
		// x-partial changed under this session (the end of the device's
		// previous session, or a different size announced): from what it
		// holds.
		se.want(u.have)
	}
}

// writeUpload writes the gathered chunks of the upload where x-partial's
// contiguous bytes end, as far as they reach past it, and returns the
// content (its partial gone) once all of it is there.
func (se *session) writeUpload() (whole []byte, err error) {
	u := &se.upload
	have := u.have
	err = se.srv.st.Update(func(tx *bolt.Tx) error {
		have = received(tx, u.hash)
		end := u.have + int64(len(u.buf))
		if have >= u.have && have < end {
			k := binary.BigEndian.AppendUint64(append([]byte(nil), u.hash[:]...), uint64(have))
			if err := tx.Bucket(bPartial).Put(k, u.buf[have-u.have:]); err != nil {
				return err
			}
			have = end
		}
		if have == u.size {
			whole = assemble(tx, u.hash)
			return dropPartial(tx, u.hash)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	u.have, u.buf = have, nil
	return whole, nil
}

// saveUpload writes what the session gathered of its upload, when the
// session ends or moves to another file.
func (se *session) saveUpload() {
	if len(se.upload.buf) == 0 {
		return
	}
	whole, err := se.writeUpload()
	if err == nil && whole != nil && sha256.Sum256(whole) == se.upload.hash {
		if err = se.srv.st.PutEvidenceContent(se.upload.hash, whole); err == nil {
			se.srv.evidenceArrived(se.upload.hash)
		}
	}
	if err != nil && !errors.Is(err, bolt.ErrDatabaseNotOpen) {
		se.log.Error("saving an evidence upload", "hash", se.upload.hash, "err", err)
	}
	se.upload = upload{}
}

// refuseEvidence refuses an evidence transfer and records the incident,
// unless the file is only not there yet (not_found).
func (se *session) refuseEvidence(h protocol.Hash, code protocol.Code, msg string) {
	se.upload = upload{}
	msg = fmt.Sprintf("evidence %s: %s", h, msg)
	if code != protocol.CodeNotFound {
		se.srv.deviceIncident(countyapi.Incident{Device: se.dev, Code: code, Message: msg, Remote: se.remote})
	}
	se.send(&protocol.Frame{Type: protocol.FrameRefused, Device: se.dev, Code: code, Hash: h, Message: msg})
}

// evidenceGet streams a file to the device from the asked offset, as
// low-priority frames.
func (se *session) evidenceGet(f *protocol.Frame) {
	s := se.srv
	if !se.citedInScope(f.Hash) {
		se.refuseEvidence(f.Hash, protocol.CodeOutOfScope, "no record of this device's office cites the file")
		return
	}
	data, err := s.st.EvidenceContent(f.Hash)
	if err != nil {
		// Not uploaded yet by its author: the device asks again later.
		se.refuseEvidence(f.Hash, protocol.CodeNotFound, "not on the server yet")
		return
	}
	se.pump.StreamChunks(f.Hash, f.Offset, data)
}

// received returns how many contiguous bytes of an upload are stored.
func received(tx *bolt.Tx, h protocol.Hash) int64 { return partial.Have(tx.Bucket(bPartial), h) }

func assemble(tx *bolt.Tx, h protocol.Hash) []byte { return partial.Whole(tx.Bucket(bPartial), h) }

func dropPartial(tx *bolt.Tx, h protocol.Hash) error {
	if err := partial.Drop(tx.Bucket(bPartial), h); err != nil {
		return err
	}
	return tx.Bucket(bPartialSize).Delete(h[:])
}

// evidenceArrived tells the municipal nodes that the content of an
// evidence file is here now. A node that asked for it before it arrived
// was refused not_found and would not ask again while its session lasts:
// an open upstream session gets evidence_stored for it, and the cluster
// announcement brings a node whose session has ended back to fetch it.
// Idle device feeds stay parked: the feed did not move.
func (s *Server) evidenceArrived(h protocol.Hash) {
	for _, us := range s.upstreamSessions() {
		// Advisory: a node too slow to take it fetches the file at its
		// next session.
		us.pump.Offer(wsconn.Control, &protocol.Frame{Type: protocol.FrameEvidenceStored, Hash: h})
	}
	s.announce()
}
