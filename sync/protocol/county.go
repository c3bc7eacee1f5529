package protocol

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"strings"

	"jiannuo/domain"
	"jiannuo/domain/office"
)

// The documents below are signed by the county server's key (receipts,
// certificates, revocations) or by a device's key (enrolment requests). They
// share one layout: a 4-byte magic, a version byte, a canonical body, and a
// 64-byte ed25519 signature over a per-document context string and the
// SHA-256 of everything before the signature. Each verifies on its own, so
// the municipal platform can check a county's word without trusting the
// county server that relayed it.

const docVersion = 1

type signedDoc interface {
	magic() string
	context() string
	appendBody(e *encoder)
	decodeBody(d *decoder)
}

func signDoc(doc signedDoc, key ed25519.PrivateKey) []byte {
	e := encoder{}
	e.raw([]byte(doc.magic()))
	e.byte(docVersion)
	doc.appendBody(&e)
	sum := sha256.Sum256(e.b)
	sig := ed25519.Sign(key, append([]byte(doc.context()), sum[:]...))
	return append(e.b, sig...)
}

// openDoc decodes b into doc and returns the signed digest and signature.
func openDoc(doc signedDoc, b []byte, max int) (digest [32]byte, sig []byte, err error) {
	m := doc.magic()
	if len(b) > max {
		return digest, nil, errorf(ErrOversize, "%s: %d bytes", m, len(b))
	}
	if len(b) < len(m)+1+ed25519.SignatureSize || string(b[:len(m)]) != m {
		return digest, nil, errorf(ErrMalformed, "not a %s document", m)
	}
	if b[len(m)] != docVersion {
		return digest, nil, errorf(ErrUnknownVersion, "%s version %d", m, b[len(m)])
	}
	body := b[:len(b)-ed25519.SignatureSize]
	d := decoder{b: body[len(m)+1:]}
	doc.decodeBody(&d)
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return digest, nil, d.err
	}
	// Refuse any second encoding of the same content.
	e := encoder{}
	e.raw([]byte(m))
	e.byte(docVersion)
	doc.appendBody(&e)
	if !bytes.Equal(e.b, body) {
		return digest, nil, errorf(ErrMalformed, "%s not in canonical form", m)
	}
	return sha256.Sum256(body), b[len(body):], nil
}

func verifyDoc(doc signedDoc, digest [32]byte, sig []byte, key ed25519.PublicKey) error {
	if len(key) != ed25519.PublicKeySize || !ed25519.Verify(key, append([]byte(doc.context()), digest[:]...), sig) {
		return errorf(ErrBadSignature, "%s", doc.magic())
	}
	return nil
}

const maxDocBytes = 4 << 10

// Receipt is the county server's signed proof that it has committed a
// change set to disk: the device keeps it as proof of submission (回执).
type Receipt struct {
	County office.Code
	Device DeviceID
	Seq    uint64
	Hash   Hash   // of the change set
	Pos    uint64 // its position in the county server's log
	Time   int64  // Unix milliseconds when it was committed
}

func (*Receipt) magic() string   { return "JNRC" }
func (*Receipt) context() string { return "jiannuo/receipt/v1\x00" }
func (r *Receipt) appendBody(e *encoder) {
	e.str(string(r.County))
	e.raw(r.Device[:])
	e.uvarint(r.Seq)
	e.raw(r.Hash[:])
	e.uvarint(r.Pos)
	e.u64(uint64(r.Time))
}
func (r *Receipt) decodeBody(d *decoder) {
	r.County = office.Code(d.str(16))
	d.raw(r.Device[:])
	r.Seq = d.uvarint()
	d.raw(r.Hash[:])
	r.Pos = d.uvarint()
	r.Time = int64(d.u64())
}

// Sign returns the receipt signed with the county key.
func (r *Receipt) Sign(key ed25519.PrivateKey) []byte { return signDoc(r, key) }

// OpenReceipt decodes a receipt and checks its signature against the
// county's key.
func OpenReceipt(b []byte, countyKey ed25519.PublicKey) (*Receipt, error) {
	r := &Receipt{}
	digest, sig, err := openDoc(r, b, maxDocBytes)
	if err != nil {
		return nil, err
	}
	return r, verifyDoc(r, digest, sig, countyKey)
}

// Certificate is the county's signed statement that a device may write for
// an office (its enrolment, 注册). Receivers build their Registry from
// certificates they have verified with the county key.
type Certificate struct {
	County office.Code
	Device DeviceID
	Key    ed25519.PublicKey
	Office office.Code
	Admin  bool   // a county-admin device
	Name   string // the device's label
	Issued int64  // Unix milliseconds
}

func (*Certificate) magic() string   { return "JNEC" }
func (*Certificate) context() string { return "jiannuo/enrolment/v1\x00" }
func (c *Certificate) appendBody(e *encoder) {
	e.str(string(c.County))
	e.raw(c.Device[:])
	e.raw(c.Key)
	e.str(string(c.Office))
	e.bool(c.Admin)
	e.str(c.Name)
	e.u64(uint64(c.Issued))
}
func (c *Certificate) decodeBody(d *decoder) {
	c.County = office.Code(d.str(16))
	d.raw(c.Device[:])
	c.Key = make(ed25519.PublicKey, ed25519.PublicKeySize)
	d.raw(c.Key)
	c.Office = office.Code(d.str(16))
	c.Admin = d.bool()
	c.Name = d.str(MaxNameBytes)
	c.Issued = int64(d.u64())
}

// Sign returns the certificate signed with the county key.
func (c *Certificate) Sign(key ed25519.PrivateKey) []byte { return signDoc(c, key) }

// OpenCertificate decodes a certificate, checks the county's signature, that
// the device ID belongs to the key, and that the office lies in the county.
func OpenCertificate(b []byte, countyKey ed25519.PublicKey) (*Certificate, error) {
	c := &Certificate{}
	digest, sig, err := openDoc(c, b, maxDocBytes)
	if err != nil {
		return nil, err
	}
	if err := verifyDoc(c, digest, sig, countyKey); err != nil {
		return nil, err
	}
	if DeviceIDFromKey(c.Key) != c.Device {
		return nil, errorf(ErrWrongDevice, "certificate key does not match device %s", c.Device)
	}
	if !c.County.Valid() || !c.County.Contains(c.Office) || (c.Admin && c.Office != c.County) {
		return nil, errorf(ErrOutOfScope, "certificate of county %s for office %s", c.County, c.Office)
	}
	return c, nil
}

// Info returns what a receiver registers for the certified device.
func (c *Certificate) Info() DeviceInfo {
	return DeviceInfo{ID: c.Device, Key: c.Key, Office: c.Office, Admin: c.Admin}
}

// Revocation is the county's signed statement that a device may no longer
// write. Change sets it made before stay valid.
type Revocation struct {
	County office.Code
	Device DeviceID
	Reason string
	Time   int64 // Unix milliseconds
}

func (*Revocation) magic() string   { return "JNRV" }
func (*Revocation) context() string { return "jiannuo/revocation/v1\x00" }
func (r *Revocation) appendBody(e *encoder) {
	e.str(string(r.County))
	e.raw(r.Device[:])
	e.str(r.Reason)
	e.u64(uint64(r.Time))
}
func (r *Revocation) decodeBody(d *decoder) {
	r.County = office.Code(d.str(16))
	d.raw(r.Device[:])
	r.Reason = d.str(domain.MaxShortBytes)
	r.Time = int64(d.u64())
}

// Sign returns the revocation signed with the county key.
func (r *Revocation) Sign(key ed25519.PrivateKey) []byte { return signDoc(r, key) }

// OpenRevocation decodes a revocation and checks the county's signature.
func OpenRevocation(b []byte, countyKey ed25519.PublicKey) (*Revocation, error) {
	r := &Revocation{}
	digest, sig, err := openDoc(r, b, maxDocBytes)
	if err != nil {
		return nil, err
	}
	return r, verifyDoc(r, digest, sig, countyKey)
}

// EnrolRequest is a device asking its county to be enrolled, signed with the
// device's own key to prove it holds it.
type EnrolRequest struct {
	Key        ed25519.PublicKey
	Office     office.Code
	DeviceName string
	Staff      string // who asks, for the admin's phone call
	Time       int64  // Unix milliseconds
}

func (*EnrolRequest) magic() string   { return "JNER" }
func (*EnrolRequest) context() string { return "jiannuo/enrol-request/v1\x00" }
func (r *EnrolRequest) appendBody(e *encoder) {
	e.raw(r.Key)
	e.str(string(r.Office))
	e.str(r.DeviceName)
	e.str(r.Staff)
	e.u64(uint64(r.Time))
}
func (r *EnrolRequest) decodeBody(d *decoder) {
	r.Key = make(ed25519.PublicKey, ed25519.PublicKeySize)
	d.raw(r.Key)
	r.Office = office.Code(d.str(16))
	r.DeviceName = d.str(MaxNameBytes)
	r.Staff = d.str(MaxNameBytes)
	r.Time = int64(d.u64())
}

// Device returns the ID of the requesting device.
func (r *EnrolRequest) Device() DeviceID { return DeviceIDFromKey(r.Key) }

// Sign returns the request signed with the device's key.
func (r *EnrolRequest) Sign(key ed25519.PrivateKey) []byte { return signDoc(r, key) }

// OpenEnrolRequest decodes a request and checks it is signed by the key it
// carries and names a valid office.
func OpenEnrolRequest(b []byte) (*EnrolRequest, error) {
	r := &EnrolRequest{}
	digest, sig, err := openDoc(r, b, maxDocBytes)
	if err != nil {
		return nil, err
	}
	if err := verifyDoc(r, digest, sig, r.Key); err != nil {
		return nil, err
	}
	if !r.Office.Valid() || !domain.NonBlank(r.DeviceName) || !domain.NonBlank(r.Staff) {
		return nil, errorf(ErrInvalidOperation, "enrolment request needs a valid office, device name and staff name")
	}
	return r, nil
}

// sessionContext separates session-challenge signatures from the others.
const sessionContext = "jiannuo/session/v1\x00"

// SignChallenge proves possession of a device key for a session: the
// signature covers the server's fresh nonce and the server certificate's
// fingerprint, so it cannot be replayed to another session or server.
func SignChallenge(key ed25519.PrivateKey, nonce []byte, serverFingerprint string) []byte {
	return ed25519.Sign(key, challengeMessage(nonce, serverFingerprint))
}

// VerifyChallenge checks a session-challenge signature.
func VerifyChallenge(pub ed25519.PublicKey, nonce []byte, serverFingerprint string, sig []byte) bool {
	return len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, challengeMessage(nonce, serverFingerprint), sig)
}

func challengeMessage(nonce []byte, fp string) []byte {
	m := append([]byte(sessionContext), nonce...)
	return append(m, fp...)
}

// Fingerprint returns the SHA-256 fingerprint of a DER certificate as
// colon-separated upper-case hex pairs, the form an admin reads aloud and a
// device pins at enrolment.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// PinnedTLSConfig returns a client TLS configuration that trusts exactly the
// server certificate with the given fingerprint, whatever CA signed it or
// host name it names: devices pin their county server at enrolment, and
// township offices have no PKI to rely on.
func PinnedTLSConfig(fingerprint string) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // replaced by the pin check below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || Fingerprint(raw[0]) != fingerprint {
				return errorf(ErrWrongServer, "server certificate does not match the pinned fingerprint")
			}
			return nil
		},
	}
}

// CalendarUpdate is the county's signed distribution of an official holiday
// schedule (a domain/calendar overlay file): when the State Council
// publishes next year's schedule, county admins send it to every device
// without a new build. A device keeps the one with the highest Version.
type CalendarUpdate struct {
	County  office.Code
	Version uint64
	Overlay []byte // the overlay file, JSON (calendar.ParseOverlay)
	Time    int64  // Unix milliseconds
}

// MaxCalendarBytes bounds a calendar update.
const MaxCalendarBytes = 64 << 10

func (*CalendarUpdate) magic() string   { return "JNCA" }
func (*CalendarUpdate) context() string { return "jiannuo/calendar/v1\x00" }
func (c *CalendarUpdate) appendBody(e *encoder) {
	e.str(string(c.County))
	e.uvarint(c.Version)
	e.uvarint(uint64(len(c.Overlay)))
	e.raw(c.Overlay)
	e.u64(uint64(c.Time))
}
func (c *CalendarUpdate) decodeBody(d *decoder) {
	c.County = office.Code(d.str(16))
	c.Version = d.uvarint()
	n := d.count(MaxCalendarBytes, 1)
	c.Overlay = make([]byte, n)
	d.raw(c.Overlay)
	c.Time = int64(d.u64())
}

// Sign returns the update signed with the county key.
func (c *CalendarUpdate) Sign(key ed25519.PrivateKey) []byte { return signDoc(c, key) }

// OpenCalendarUpdate decodes an update and checks the county's signature.
// The overlay itself is validated by the caller with calendar.ParseOverlay.
func OpenCalendarUpdate(b []byte, countyKey ed25519.PublicKey) (*CalendarUpdate, error) {
	c := &CalendarUpdate{}
	digest, sig, err := openDoc(c, b, MaxCalendarBytes+maxDocBytes)
	if err != nil {
		return nil, err
	}
	return c, verifyDoc(c, digest, sig, countyKey)
}
