package auth

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"testing"
)

// Known answer for the JNK1 format: the ed25519 key with seed 00 01 … 1f,
// sealed under katPassphrase with TestParams and salt‖nonce = a0 a1 … c7.
// Confirmed independently with libsodium (PyNaCl): argon2id kdf(opslimit=1,
// memlimit=64 KiB) of the passphrase and salt, then
// crypto_aead_xchacha20poly1305_ietf_decrypt with the 53-byte header as
// additional data yields the seed. A change of layout, byte order or AEAD
// breaks it.
const (
	katPassphrase = "践诺 洛阳 key-at-rest KAT"
	katSealedHex  = "4a4e4b31000000010000004001" + // magic, t=1, m=64, p=1
		"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf" + // salt
		"b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7" + // nonce
		"8f4c06c99a93282e4e44408aa64171208c846a7e39da0941ac973b6343cae5a5" + // sealed seed
		"0099007958109b6dc87e5239e0cf6485" // tag
)

func katKey() ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	return ed25519.NewKeyFromSeed(seed)
}

func katRandom() *bytes.Reader {
	b := make([]byte, keySaltLen+24)
	for i := range b {
		b[i] = byte(0xa0 + i)
	}
	return bytes.NewReader(b)
}

func katSealed(t testing.TB) []byte {
	b, err := hex.DecodeString(katSealedHex)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newKey(t testing.TB) ed25519.PrivateKey {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func TestSealKeyKnownAnswer(t *testing.T) {
	got, err := sealKey(katKey(), katPassphrase, TestParams(), katRandom())
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(got) != katSealedHex {
		t.Fatalf("sealed format changed:\n got  %x\n want %s", got, katSealedHex)
	}
	priv, err := OpenKey(katSealed(t), katPassphrase)
	if err != nil {
		t.Fatal(err)
	}
	if !priv.Equal(katKey()) {
		t.Fatal("OpenKey(known answer) returned another key")
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	for _, pass := range []string{"correct horse battery", "践诺洛阳栾川赤土店", "a1a1a1a1"} {
		priv := newKey(t)
		sealed, err := SealKey(priv, pass, TestParams())
		if err != nil {
			t.Fatalf("SealKey(%q): %v", pass, err)
		}
		if len(sealed) != SealedKeySize {
			t.Fatalf("len = %d, want %d", len(sealed), SealedKeySize)
		}
		if bytes.Contains(sealed, priv.Seed()) {
			t.Fatal("seed appears in clear in the sealed key")
		}
		got, err := OpenKey(sealed, pass)
		if err != nil {
			t.Fatalf("OpenKey: %v", err)
		}
		if !got.Equal(priv) {
			t.Fatal("round trip returned a different key")
		}
		msg := []byte("承诺 2025-01-01")
		if !ed25519.Verify(priv.Public().(ed25519.PublicKey), msg, ed25519.Sign(got, msg)) {
			t.Fatal("opened key does not sign for the original public key")
		}
		again, err := SealKey(priv, pass, TestParams())
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(again, sealed) {
			t.Fatal("sealing twice gave identical output: salt/nonce not random")
		}
	}
}

func TestOpenKeyWrongPassphrase(t *testing.T) {
	sealed := katSealed(t)
	for _, pass := range []string{"", "践诺 洛阳 key-at-rest kat", katPassphrase + " ", "践诺"} {
		if _, err := OpenKey(sealed, pass); !errors.Is(err, ErrWrongPassphrase) {
			t.Errorf("OpenKey(%q) = %v, want ErrWrongPassphrase", pass, err)
		}
	}
}

// Every single-bit change anywhere in the blob must be refused: the magic as
// malformed, parameters as malformed or (if still within limits) as a failed
// authentication, and salt, nonce, ciphertext and tag as failed
// authentication.
func TestOpenKeyTampered(t *testing.T) {
	orig := katSealed(t)
	for i := range orig {
		for _, bit := range []byte{0x01, 0x80} {
			b := bytes.Clone(orig)
			b[i] ^= bit
			_, err := OpenKey(b, katPassphrase)
			switch {
			case err == nil:
				t.Fatalf("byte %d bit %#x flipped: OpenKey succeeded", i, bit)
			case i < len(keyMagic):
				if !errors.Is(err, ErrMalformedKey) {
					t.Errorf("magic byte %d: %v, want ErrMalformedKey", i, err)
				}
			case i < offSalt:
				if !errors.Is(err, ErrMalformedKey) && !errors.Is(err, ErrWrongPassphrase) {
					t.Errorf("param byte %d: %v", i, err)
				}
			default:
				if !errors.Is(err, ErrWrongPassphrase) {
					t.Errorf("byte %d: %v, want ErrWrongPassphrase", i, err)
				}
			}
		}
	}
}

// Swapping in weaker parameters (what an attacker would do to speed up
// guessing) must not produce a valid key even if the rest is untouched.
func TestOpenKeyParamsBoundToHeader(t *testing.T) {
	priv := newKey(t)
	p := Params{Time: 2, MemoryKiB: 256, Threads: 2}
	sealed, err := SealKey(priv, "long enough passphrase", p)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []Params{TestParams(), {Time: 2, MemoryKiB: 256, Threads: 1}, {Time: 1, MemoryKiB: 256, Threads: 2}} {
		b := bytes.Clone(sealed)
		binary.BigEndian.PutUint32(b[offTime:], q.Time)
		binary.BigEndian.PutUint32(b[offMemory:], q.MemoryKiB)
		b[offThreads] = q.Threads
		if _, err := OpenKey(b, "long enough passphrase"); !errors.Is(err, ErrWrongPassphrase) {
			t.Errorf("params swapped to %v: %v, want ErrWrongPassphrase", q, err)
		}
	}
	got, err := SealedKeyParams(sealed)
	if err != nil || got != p {
		t.Errorf("SealedKeyParams = %v, %v; want %v", got, err, p)
	}
}

func TestOpenKeyMalformed(t *testing.T) {
	good := katSealed(t)
	withParams := func(tm, m uint32, th byte) []byte {
		b := bytes.Clone(good)
		binary.BigEndian.PutUint32(b[offTime:], tm)
		binary.BigEndian.PutUint32(b[offMemory:], m)
		b[offThreads] = th
		return b
	}
	jnk2 := bytes.Clone(good)
	jnk2[3] = '2'
	for name, b := range map[string][]byte{
		"nil":          nil,
		"empty":        {},
		"short magic":  []byte("JNK"),
		"magic only":   []byte("JNK1"),
		"header only":  good[:headerLen],
		"one short":    good[:len(good)-1],
		"one long":     append(bytes.Clone(good), 0),
		"other magic":  append([]byte("PK\x03\x04"), good[4:]...),
		"version 2":    jnk2,
		"pem":          []byte("-----BEGIN PRIVATE KEY-----\n"),
		"zero time":    withParams(0, 64, 1),
		"zero threads": withParams(1, 64, 0),
		"tiny memory":  withParams(1, 7, 1),
		"huge memory":  withParams(1, 0xffffffff, 1),
		"1GiB+1":       withParams(1, MaxMemoryKiB+1, 1),
		"huge time":    withParams(0xffffffff, 64, 1),
		"time 101":     withParams(MaxTime+1, 64, 1),
	} {
		if _, err := OpenKey(b, katPassphrase); !errors.Is(err, ErrMalformedKey) {
			t.Errorf("%s: OpenKey = %v, want ErrMalformedKey", name, err)
		}
		if _, err := SealedKeyParams(b); !errors.Is(err, ErrMalformedKey) {
			t.Errorf("%s: SealedKeyParams = %v, want ErrMalformedKey", name, err)
		}
	}
}

func TestSealKeyErrors(t *testing.T) {
	priv := newKey(t)
	if _, err := SealKey(priv, "short", TestParams()); !errors.Is(err, ErrWeakPassphrase) {
		t.Errorf("weak passphrase: %v", err)
	}
	if _, err := SealKey(priv, "good passphrase", Params{}); !errors.Is(err, ErrInvalidParams) {
		t.Errorf("zero params: %v", err)
	}
	if _, err := SealKey(priv, "good passphrase", Params{Time: 1, MemoryKiB: MaxMemoryKiB + 1, Threads: 1}); !errors.Is(err, ErrInvalidParams) {
		t.Errorf("huge params: %v", err)
	}
	for name, k := range map[string]ed25519.PrivateKey{
		"nil":        nil,
		"seed only":  priv.Seed(),
		"too long":   append(bytes.Clone(priv), 0),
		"mismatched": append(bytes.Clone(priv[:32]), newKey(t)[32:]...),
	} {
		if _, err := SealKey(k, "good passphrase", TestParams()); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%s key: %v, want ErrInvalidKey", name, err)
		}
	}
}

func TestSealKeyShortRandom(t *testing.T) {
	_, err := sealKey(katKey(), katPassphrase, TestParams(), bytes.NewReader(make([]byte, 10)))
	if err == nil {
		t.Fatal("sealKey succeeded with too little randomness")
	}
}

func BenchmarkOpenKey(b *testing.B) {
	sealed, err := SealKey(newKey(b), "践诺 benchmark passphrase", DefaultParams())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := OpenKey(sealed, "践诺 benchmark passphrase"); err != nil {
			b.Fatal(err)
		}
	}
}
