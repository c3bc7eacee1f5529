package protocol_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math/big"
	"slices"
	"testing"

	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/nacl/box"

	"jiannuo/domain"
	"jiannuo/sync/protocol"
)

// TestBoxKeysAgree: the X25519 public key derived from an Ed25519 public
// key is the one its private key gives, for random keys.
func TestBoxKeysAgree(t *testing.T) {
	for i := range 64 {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		got, err := protocol.BoxPublicKey(pub)
		if err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
		want, err := curve25519.X25519(protocol.BoxPrivateKey(priv)[:], curve25519.Basepoint)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[:], want) {
			t.Fatalf("key %x: derived public %x, X25519 of the derived private %x", pub, got[:], want)
		}
		// A box sealed to the derived public key opens with the derived
		// private key, and with no other.
		msg := []byte("姓名与电话")
		sealed, err := box.SealAnonymous(nil, msg, got, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if opened, ok := box.OpenAnonymous(nil, sealed, got, protocol.BoxPrivateKey(priv)); !ok || !bytes.Equal(opened, msg) {
			t.Fatalf("key %d: box does not open with the derived key", i)
		}
		_, other, _ := ed25519.GenerateKey(rand.Reader)
		if _, ok := box.OpenAnonymous(nil, sealed, got, protocol.BoxPrivateKey(other)); ok {
			t.Fatal("box opens with another key")
		}
	}
}

// TestBoxKeyKnownValue pins the derivation to libsodium's test vector of
// crypto_sign_ed25519_pk_to_curve25519 and crypto_sign_ed25519_sk_to_curve25519
// (test/default/ed25519_convert.c).
func TestBoxKeyKnownValue(t *testing.T) {
	seed, _ := hex.DecodeString("421151a459faeade3d247115f94aedae42318124095afabe4d1451a559faedee")
	priv := ed25519.NewKeyFromSeed(seed)
	got, err := protocol.BoxPublicKey(priv.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if h := hex.EncodeToString(got[:]); h != "f1814f0e8ff1043d8a44d25babff3cedcae6c22c3edaa48f857ae70de2baae50" {
		t.Errorf("public: %s", h)
	}
	if h := hex.EncodeToString(protocol.BoxPrivateKey(priv)[:]); h != "8052030376d47112be7f73ed7a019293dd12ad910b654455798b4667d73de166" {
		t.Errorf("private: %s", h)
	}
}

func TestBoxPublicKeyRefuses(t *testing.T) {
	mustHex := func(s string) ed25519.PublicKey {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// An honest key plus the point of order 2, (x, y) + (0, -1) = (-x, -y):
	// on the curve, but outside the prime-order subgroup.
	honest := goldenDevice().pub
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	le := slices.Clone([]byte(honest))
	sign := le[31] >> 7
	le[31] &= 0x7f
	slices.Reverse(le)
	y := new(big.Int).Sub(p, new(big.Int).SetBytes(le))
	mixed := make([]byte, 32)
	y.FillBytes(mixed)
	slices.Reverse(mixed)
	mixed[31] |= (sign ^ 1) << 7

	bad := map[string]ed25519.PublicKey{
		"short":            honest[:31],
		"long":             append(slices.Clone(honest), 0),
		"empty":            nil,
		"y = p":            mustHex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
		"y = p + 1":        mustHex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
		"not on the curve": mustHex("0200000000000000000000000000000000000000000000000000000000000000"),
		"identity":         mustHex("0100000000000000000000000000000000000000000000000000000000000000"),
		"identity, x sign": mustHex("0100000000000000000000000000000000000000000000000000000000000080"),
		"order 2":          mustHex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
		"order 4":          mustHex("0000000000000000000000000000000000000000000000000000000000000000"),
		"order 4, negated": mustHex("0000000000000000000000000000000000000000000000000000000000000080"),
		"order 8 (1)":      mustHex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
		"order 8 (2)":      mustHex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"),
		"order 8 (3)":      mustHex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
		"order 8 (4)":      mustHex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"),
		"mixed order":      mixed,
	}
	for name, key := range bad {
		if got, err := protocol.BoxPublicKey(key); !errors.Is(err, protocol.ErrMalformed) || got != nil {
			t.Errorf("%s: %x, %v", name, got, err)
		}
		if _, err := protocol.SealContact(protocol.Contact{Phone: "13800138000"}, key); !errors.Is(err, protocol.ErrMalformed) {
			t.Errorf("%s: sealing to it: %v", name, err)
		}
	}
}

func TestSealOpenContact(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	for _, c := range []protocol.Contact{{Name: "张三", Phone: "13800138000"}, {Name: "李四"}, {Phone: "+86 371-6000-0000"}} {
		sealed, err := protocol.SealContact(c, pub)
		if err != nil {
			t.Fatal(err)
		}
		if len(sealed) > protocol.MaxContactBoxBytes || bytes.Contains(sealed, []byte(c.Phone)) && c.Phone != "" {
			t.Fatalf("sealed contact of %d bytes, or in the clear", len(sealed))
		}
		got, err := protocol.OpenContact(sealed, priv)
		if err != nil || got != c {
			t.Fatalf("OpenContact = %+v, %v; want %+v", got, err, c)
		}
		if _, err := protocol.OpenContact(sealed, other); !errors.Is(err, protocol.ErrBadSignature) {
			t.Fatalf("opened with another key: %v", err)
		}
		for i := range sealed {
			damaged := bytes.Clone(sealed)
			damaged[i] ^= 0x40
			if _, err := protocol.OpenContact(damaged, priv); !errors.Is(err, protocol.ErrBadSignature) {
				t.Fatalf("byte %d changed: %v", i, err)
			}
		}
		// Every seal is new: nothing links two cases of one filer.
		again, _ := protocol.SealContact(c, pub)
		if bytes.Equal(again, sealed) {
			t.Fatal("sealing twice gives the same bytes")
		}
	}
	// Nothing to seal.
	if sealed, err := protocol.SealContact(protocol.Contact{}, pub); sealed != nil || err != nil {
		t.Fatalf("empty contact sealed to %x, %v", sealed, err)
	}
	// Invalid contacts are refused before sealing.
	for _, c := range []protocol.Contact{{Name: " "}, {Phone: "12"}, {Phone: "<b>13800138000</b>"}} {
		if _, err := protocol.SealContact(c, pub); !errors.Is(err, domain.ErrInvalidValue) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	// A box holding anything but one valid contact does not open as one.
	boxKey, _ := protocol.BoxPublicKey(pub)
	for _, msg := range []string{`not json`, `{"name":"张三","phone":"13800138000","address":"x"}`, `{"name":"张三"} {}`,
		`{"phone":"12"}`, `{}`, `{"name":"a\u0000b"}`, `[]`} {
		sealed, _ := box.SealAnonymous(nil, []byte(msg), boxKey, rand.Reader)
		if got, err := protocol.OpenContact(sealed, priv); !errors.Is(err, protocol.ErrMalformed) {
			t.Errorf("%s: %+v, %v", msg, got, err)
		}
	}
}

func TestSealContacts(t *testing.T) {
	ck := countyKeyDevice(t)
	devs := []*device{newDevice(t, "township", township, false), newDevice(t, "township-2", township, false), newDevice(t, "township-3", township, false)}
	var infos []protocol.DeviceInfo
	for _, d := range devs {
		infos = append(infos, d.info)
	}
	c := protocol.Contact{Name: "王五", Phone: "13900139000"}
	boxes, err := protocol.SealContacts(c, ck.pub, infos)
	if err != nil {
		t.Fatal(err)
	}
	if len(boxes) != 4 || !boxes[0].Device.IsZero() {
		t.Fatalf("%d boxes, the first for %s", len(boxes), boxes[0].Device)
	}
	if !slices.IsSortedFunc(boxes, func(a, b protocol.ContactBox) int { return bytes.Compare(a.Device[:], b.Device[:]) }) {
		t.Fatal("boxes not sorted by device")
	}
	keys := map[protocol.DeviceID]ed25519.PrivateKey{{}: ck.priv}
	for _, d := range devs {
		keys[d.id] = d.priv
	}
	for _, b := range boxes {
		if got, err := protocol.OpenContact(b.Box, keys[b.Device]); err != nil || got != c {
			t.Fatalf("box of %s: %+v, %v", b.Device, got, err)
		}
	}
	// The boxes fit an OpCase.
	op := countyCaseOp()
	op.Case.Contact = boxes
	op = number(1, hlc0, op)[0]
	if err := op.Validate(domain.RoleCountyAdmin, true); err != nil {
		t.Fatalf("case with the boxes: %v", err)
	}
	if got, err := protocol.SealContacts(protocol.Contact{}, ck.pub, infos); got != nil || err != nil {
		t.Fatalf("empty contact: %v, %v", got, err)
	}
	many := make([]protocol.DeviceInfo, protocol.MaxContactBoxes)
	for i := range many {
		many[i] = newDevice(t, "township-many-"+string(rune('a'+i)), township, false).info
	}
	if _, err := protocol.SealContacts(c, ck.pub, many); !errors.Is(err, protocol.ErrOversize) {
		t.Fatalf("%d recipients: %v", len(many)+1, err)
	}
}
