package protocol

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"encoding/json"
	"math/big"
	"slices"

	"golang.org/x/crypto/nacl/box"

	"jiannuo/domain"
)

// A filer's name and phone travel sealed (NaCl anonymous boxes, X25519) to
// the keys that may read them: the county's and each handling device's.
// Those parties have Ed25519 signing keys only, so the box keys are derived
// from them the way libsodium's crypto_sign_ed25519_pk_to_curve25519 and
// crypto_sign_ed25519_sk_to_curve25519 do: the public key by the birational
// map from the Edwards curve to Curve25519, the private key from the hash
// of the seed. No second key needs enrolling, backing up or rotating.

// Field arithmetic modulo p = 2^255 - 19 and the Edwards constants, for
// BoxPublicKey only: it runs once per recipient and case, so math/big's
// speed is plenty, and nothing here handles a secret.
var (
	fieldP = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	// edwardsD = -121665/121666 mod p.
	edwardsD = func() *big.Int {
		d := new(big.Int).ModInverse(big.NewInt(121666), fieldP)
		d.Mul(d, big.NewInt(-121665))
		return d.Mod(d, fieldP)
	}()
	// groupL is the order of the prime-order subgroup.
	groupL, _ = new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
)

// edPoint is a point of edwards25519 in extended coordinates (X:Y:Z:T),
// x = X/Z, y = Y/Z, xy = T/Z.
type edPoint struct{ x, y, z, t *big.Int }

func fmod(v *big.Int) *big.Int { return v.Mod(v, fieldP) }

func fmul(a, b *big.Int) *big.Int { return fmod(new(big.Int).Mul(a, b)) }

// add returns p+q with the unified formulas for a = -1 (Hisil, Wong, Carter
// and Dawson 2008), which also double.
func (p edPoint) add(q edPoint) edPoint {
	a := fmul(fmod(new(big.Int).Sub(p.y, p.x)), fmod(new(big.Int).Sub(q.y, q.x)))
	b := fmul(fmod(new(big.Int).Add(p.y, p.x)), fmod(new(big.Int).Add(q.y, q.x)))
	c := fmul(fmul(p.t, q.t), fmod(new(big.Int).Lsh(edwardsD, 1)))
	d := fmul(p.z, fmod(new(big.Int).Lsh(q.z, 1)))
	e, f := fmod(new(big.Int).Sub(b, a)), fmod(new(big.Int).Sub(d, c))
	g, h := fmod(new(big.Int).Add(d, c)), fmod(new(big.Int).Add(b, a))
	return edPoint{x: fmul(e, f), y: fmul(g, h), z: fmul(f, g), t: fmul(e, h)}
}

// mul returns [k]p by double-and-add.
func (p edPoint) mul(k *big.Int) edPoint {
	r := edPoint{x: big.NewInt(0), y: big.NewInt(1), z: big.NewInt(1), t: big.NewInt(0)}
	for i := k.BitLen() - 1; i >= 0; i-- {
		r = r.add(r)
		if k.Bit(i) == 1 {
			r = r.add(p)
		}
	}
	return r
}

// identity reports whether p is the neutral element (0, 1).
func (p edPoint) identity() bool { return p.x.Sign() == 0 && p.y.Cmp(p.z) == 0 }

// BoxPublicKey returns the X25519 public key of the holder of an Ed25519
// public key: u = (1 + y) / (1 - y) of the Edwards point. It refuses a key
// that is not 32 bytes, not a canonical encoding of a curve point, of small
// order, or outside the prime-order subgroup, as libsodium does: nobody
// holds the private key to such a point, so a box sealed to it could be
// opened by anybody or nobody. Errors wrap ErrMalformed.
func BoxPublicKey(pub ed25519.PublicKey) (*[32]byte, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, errorf(ErrMalformed, "public key of %d bytes", len(pub))
	}
	le := slices.Clone([]byte(pub))
	sign := le[31] >> 7
	le[31] &= 0x7f
	slices.Reverse(le)
	y := new(big.Int).SetBytes(le)
	if y.Cmp(fieldP) >= 0 {
		return nil, errorf(ErrMalformed, "public key: y not reduced")
	}
	// x² = (y² - 1) / (d y² + 1)
	y2 := fmul(y, y)
	num := fmod(new(big.Int).Sub(y2, big.NewInt(1)))
	den := fmod(new(big.Int).Add(fmul(edwardsD, y2), big.NewInt(1)))
	x2 := fmul(num, new(big.Int).ModInverse(den, fieldP))
	x := new(big.Int).ModSqrt(x2, fieldP)
	if x == nil {
		return nil, errorf(ErrMalformed, "public key: not a point of the curve")
	}
	if x.Sign() == 0 && sign == 1 {
		return nil, errorf(ErrMalformed, "public key: x = 0 with the sign bit set")
	}
	if x.Bit(0) != uint(sign) {
		x.Sub(fieldP, x)
	}
	p := edPoint{x: x, y: y, z: big.NewInt(1), t: fmul(x, y)}
	if p.mul(big.NewInt(8)).identity() {
		return nil, errorf(ErrMalformed, "public key: a point of small order")
	}
	if !p.mul(groupL).identity() {
		return nil, errorf(ErrMalformed, "public key: not in the prime-order subgroup")
	}
	// y ≠ 1 here (the identity has small order), so 1 - y is invertible.
	u := fmul(fmod(new(big.Int).Add(big.NewInt(1), y)), new(big.Int).ModInverse(fmod(new(big.Int).Sub(big.NewInt(1), y)), fieldP))
	var out [32]byte
	u.FillBytes(out[:])
	slices.Reverse(out[:])
	return &out, nil
}

// BoxPrivateKey returns the X25519 private key of an Ed25519 key: the first
// half of SHA-512 of its seed, clamped, which is the secret scalar of the
// Ed25519 key itself; so curve25519.X25519(BoxPrivateKey(priv), Basepoint)
// is BoxPublicKey(priv.Public()).
func BoxPrivateKey(priv ed25519.PrivateKey) *[32]byte {
	h := sha512.Sum512(priv.Seed())
	var out [32]byte
	copy(out[:], h[:32])
	out[0] &= 248
	out[31] &= 127
	out[31] |= 64
	return &out
}

// Contact is what a filer may leave to be called back: both optional. It
// only ever travels sealed (SealContact).
type Contact struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

// Empty reports whether the filer left both blank.
func (c Contact) Empty() bool { return c.Name == "" && c.Phone == "" }

// SealContact seals c as JSON {"name": …, "phone": …} in an anonymous box
// to the holder of the Ed25519 key to: only that key's holder can open it,
// and not even the sealer can afterwards. An empty contact seals to nil.
// Errors wrap domain.ErrInvalidValue (c breaks domain.CheckContact) or
// ErrMalformed (to is no usable key).
func SealContact(c Contact, to ed25519.PublicKey) ([]byte, error) {
	if err := domain.CheckContact(c.Name, c.Phone); err != nil {
		return nil, err
	}
	if c.Empty() {
		return nil, nil
	}
	pub, err := BoxPublicKey(to)
	if err != nil {
		return nil, err
	}
	msg, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	return box.SealAnonymous(nil, msg, pub, rand.Reader)
}

// OpenContact opens a box SealContact sealed to priv's public key. Errors
// wrap ErrBadSignature (the box was not sealed to this key, or was altered)
// or ErrMalformed (what it holds is no valid contact).
func OpenContact(sealed []byte, priv ed25519.PrivateKey) (Contact, error) {
	pub, err := BoxPublicKey(priv.Public().(ed25519.PublicKey))
	if err != nil {
		return Contact{}, err
	}
	msg, ok := box.OpenAnonymous(nil, sealed, pub, BoxPrivateKey(priv))
	if !ok {
		return Contact{}, errorf(ErrBadSignature, "contact box does not open with this key")
	}
	var c Contact
	dec := json.NewDecoder(bytes.NewReader(msg))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || dec.More() || domain.CheckContact(c.Name, c.Phone) != nil || c.Empty() {
		return Contact{}, errorf(ErrMalformed, "sealed contact is not a valid contact")
	}
	return c, nil
}

// SealContacts seals c for a case: once to the county (device zero) and
// once to each device given (the handling office's devices enrolled when
// the case opens), sorted by device as OpCase wants them. It returns nil
// for an empty contact.
func SealContacts(c Contact, county ed25519.PublicKey, devices []DeviceInfo) ([]ContactBox, error) {
	if c.Empty() {
		return nil, domain.CheckContact(c.Name, c.Phone)
	}
	out := make([]ContactBox, 0, len(devices)+1)
	seal := func(dev DeviceID, key ed25519.PublicKey) error {
		b, err := SealContact(c, key)
		out = append(out, ContactBox{Device: dev, Box: b})
		return err
	}
	if err := seal(DeviceID{}, county); err != nil {
		return nil, err
	}
	for _, d := range devices {
		if err := seal(d.ID, d.Key); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b ContactBox) int { return bytes.Compare(a.Device[:], b.Device[:]) })
	out = slices.CompactFunc(out, func(a, b ContactBox) bool { return a.Device == b.Device })
	if len(out) > MaxContactBoxes {
		return nil, errorf(ErrOversize, "%d recipients, limit %d", len(out), MaxContactBoxes)
	}
	return out, nil
}
