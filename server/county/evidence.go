package county

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// Evidence files travel in chunks beside the change sets that cite them.
// Uploads resume where a cut left them: received chunks are kept in the
// x-partial bucket until the file is whole and matches its hash.

// upload is the evidence file a session is receiving. Only the session's
// reader goroutine touches it.
type upload struct {
	hash protocol.Hash
	size int64
}

// citedInScope reports whether a record of the device's scope cites the
// evidence file: a device may upload or fetch only such files.
func (se *session) citedInScope(h protocol.Hash) bool {
	offices, err := se.srv.st.EvidenceOffice(h)
	if err != nil {
		return false
	}
	for _, o := range offices {
		if se.inScope(o) {
			return true
		}
	}
	return false
}

func (se *session) evidenceOffer(f *protocol.Frame) {
	s := se.srv
	if ok, _ := s.st.HasEvidence(f.Hash); ok {
		se.send(&protocol.Frame{Type: protocol.FrameEvidenceStored, Hash: f.Hash})
		return
	}
	if !se.citedInScope(f.Hash) {
		se.refuseEvidence(f.Hash, protocol.CodeOutOfScope, "no record of this device's office cites the file")
		return
	}
	var have int64
	err := s.st.Update(func(tx *bolt.Tx) error {
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
	if err != nil {
		se.fail(protocol.CodeInternal, "evidence store unavailable")
		return
	}
	se.upload = upload{hash: f.Hash, size: f.Size}
	se.send(&protocol.Frame{Type: protocol.FrameEvidenceWant, Hash: f.Hash, Offset: have})
}

func (se *session) evidenceChunk(f *protocol.Frame) {
	s := se.srv
	if se.upload.hash != f.Hash {
		se.refuseEvidence(f.Hash, protocol.CodeMalformed, "chunk of a file not offered")
		return
	}
	var whole []byte
	var have int64
	err := s.st.Update(func(tx *bolt.Tx) error {
		have = received(tx, f.Hash)
		if f.Offset != have || have+int64(len(f.Body)) > se.upload.size {
			return nil // out of step after a cut: answered with a new want below
		}
		k := binary.BigEndian.AppendUint64(append([]byte(nil), f.Hash[:]...), uint64(f.Offset))
		if err := tx.Bucket(bPartial).Put(k, f.Body); err != nil {
			return err
		}
		have += int64(len(f.Body))
		if have == se.upload.size {
			whole = assemble(tx, f.Hash)
			return dropPartial(tx, f.Hash)
		}
		return nil
	})
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
		se.upload = upload{}
		se.send(&protocol.Frame{Type: protocol.FrameEvidenceStored, Hash: f.Hash})
	case f.Offset+int64(len(f.Body)) != have:
		se.send(&protocol.Frame{Type: protocol.FrameEvidenceWant, Hash: f.Hash, Offset: have})
	}
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
func received(tx *bolt.Tx, h protocol.Hash) int64 {
	var n int64
	c := tx.Bucket(bPartial).Cursor()
	for k, v := c.Seek(h[:]); k != nil && bytes.HasPrefix(k, h[:]); k, v = c.Next() {
		if int64(binary.BigEndian.Uint64(k[len(h):])) != n {
			break
		}
		n += int64(len(v))
	}
	return n
}

func assemble(tx *bolt.Tx, h protocol.Hash) []byte {
	var out []byte
	c := tx.Bucket(bPartial).Cursor()
	for k, v := c.Seek(h[:]); k != nil && bytes.HasPrefix(k, h[:]); k, v = c.Next() {
		out = append(out, v...)
	}
	return out
}

func dropPartial(tx *bolt.Tx, h protocol.Hash) error {
	c := tx.Bucket(bPartial).Cursor()
	for k, _ := c.Seek(h[:]); k != nil && bytes.HasPrefix(k, h[:]); k, _ = c.Seek(h[:]) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return tx.Bucket(bPartialSize).Delete(h[:])
}
