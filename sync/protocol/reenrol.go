package protocol

import (
	"bytes"
	"crypto/ed25519"
)

// MaxReenrolHeld bounds how many change sets beyond its last receipt a
// device may list in a re-enrolment request. At the default of 100
// operations per change set that is some 400,000 operations never confirmed
// by the county: a device further adrift than that needs the county's help
// by hand, not a request.
const MaxReenrolHeld = 4096

// MaxReenrolBytes bounds an encoded ReenrolRequest: the enrolment request
// inside, the held hashes, and the fixed fields. A server reads no more.
const MaxReenrolBytes = maxDocBytes + MaxReenrolHeld*len(Hash{}) + 256

// ReenrolRequest asks the county to enrol a new key in place of a device
// whose chain of change sets forked: the device was restored from an old
// backup, or its file was copied to a second machine, so two different
// change sets carry the same sequence number and the county refuses the
// second branch. Re-enrolment settles the fork without dropping either
// branch: the county keeps what it accepted from the old key, and the device
// carries the work the county never accepted over to the new key as new
// change sets.
//
// The document is signed by the OLD key, proving that the new key is asked
// for by a holder of the forked device's key; Enrol inside it is a normal
// enrolment request signed by the NEW key. Held lists the hashes of the old
// device's change sets this replica holds from sequence From on (From is
// one past its last receipt), so the county can tell exactly where the two
// branches part.
type ReenrolRequest struct {
	Enrol []byte            // signed EnrolRequest of the new key
	Old   ed25519.PublicKey // key of the device being replaced
	From  uint64            // sequence number of Held[0]
	Held  []Hash            // hashes of the old device's change sets held here, From onwards
	Time  int64             // Unix milliseconds
}

func (*ReenrolRequest) magic() string   { return "JNRE" }
func (*ReenrolRequest) context() string { return "jiannuo/reenrol-request/v1\x00" }
func (r *ReenrolRequest) appendBody(e *encoder) {
	e.uvarint(uint64(len(r.Enrol)))
	e.raw(r.Enrol)
	e.raw(r.Old)
	e.uvarint(r.From)
	e.uvarint(uint64(len(r.Held)))
	for _, h := range r.Held {
		e.raw(h[:])
	}
	e.u64(uint64(r.Time))
}
func (r *ReenrolRequest) decodeBody(d *decoder) {
	n := d.count(maxDocBytes, 1)
	r.Enrol = make([]byte, n)
	d.raw(r.Enrol)
	r.Old = make(ed25519.PublicKey, ed25519.PublicKeySize)
	d.raw(r.Old)
	r.From = d.uvarint()
	n = d.count(MaxReenrolHeld, len(Hash{}))
	r.Held = make([]Hash, n)
	for i := range r.Held {
		d.raw(r.Held[i][:])
	}
	r.Time = int64(d.u64())
}

// OldDevice returns the ID of the device being replaced.
func (r *ReenrolRequest) OldDevice() DeviceID { return DeviceIDFromKey(r.Old) }

// Sign returns the request signed with the old device's key.
func (r *ReenrolRequest) Sign(old ed25519.PrivateKey) []byte { return signDoc(r, old) }

// OpenReenrolRequest decodes and verifies a re-enrolment request: the outer
// signature with the old key it names, the enrolment request inside with
// the new key, and that the two keys differ. It returns both requests.
// Errors wrap ErrMalformed, ErrOversize, ErrUnknownVersion, ErrBadSignature
// or ErrInvalidOperation.
func OpenReenrolRequest(b []byte) (*ReenrolRequest, *EnrolRequest, error) {
	r := &ReenrolRequest{}
	digest, sig, err := openDoc(r, b, MaxReenrolBytes)
	if err != nil {
		return nil, nil, err
	}
	if err := verifyDoc(r, digest, sig, r.Old); err != nil {
		return nil, nil, err
	}
	inner, err := OpenEnrolRequest(r.Enrol)
	if err != nil {
		return nil, nil, err
	}
	if bytes.Equal(inner.Key, r.Old) {
		return nil, nil, errorf(ErrInvalidOperation, "re-enrolment names the same key twice")
	}
	if r.From == 0 {
		return nil, nil, errorf(ErrInvalidOperation, "re-enrolment: held change sets start at sequence 0")
	}
	return r, inner, nil
}
