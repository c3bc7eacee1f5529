package auth

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// Layout of a sealed key; see the package documentation.
const (
	keyMagic     = "JNK1"
	keyMagicBase = "JNK" // the last magic byte is the format version
	keySaltLen   = 16
	offTime      = 4
	offMemory    = 8
	offThreads   = 12
	offSalt      = 13
	offNonce     = offSalt + keySaltLen                   // 29
	headerLen    = offNonce + chacha20poly1305.NonceSizeX // 53
	sealedKeyLen = SealedKeySize                          // 101
)

// SealedKeySize is the exact length of every sealed key in format JNK1:
// 53 header bytes, the 32-byte seed and a 16-byte tag.
const SealedKeySize = headerLen + ed25519.SeedSize + chacha20poly1305.Overhead

// SealKey encrypts an ed25519 private key under passphrase so it can rest on
// disk: argon2id with p turns the passphrase and a fresh random salt into a
// 32-byte key, and XChaCha20-Poly1305 encrypts the key's 32-byte seed with
// the whole header as additional data. The random 24-byte nonce makes
// accidental reuse impossible in practice even though each file has its own
// key anyway.
//
// The passphrase must pass [ValidatePassphrase]: a key sealed under a weak
// passphrase is a key on disk in the clear. priv must be a consistent
// 64-byte ed25519 private key (seed followed by its public key), else
// [ErrInvalidKey].
func SealKey(priv ed25519.PrivateKey, passphrase string, p Params) ([]byte, error) {
	if err := ValidatePassphrase(passphrase); err != nil {
		return nil, err
	}
	return sealKey(priv, passphrase, p, rand.Reader)
}

// sealKey is SealKey without the passphrase policy and with a chosen source
// of randomness, for known-answer tests.
func sealKey(priv ed25519.PrivateKey, passphrase string, p Params, rnd io.Reader) ([]byte, error) {
	if err := checkPrivateKey(priv); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	hdr := make([]byte, headerLen, sealedKeyLen)
	copy(hdr, keyMagic)
	binary.BigEndian.PutUint32(hdr[offTime:], p.Time)
	binary.BigEndian.PutUint32(hdr[offMemory:], p.MemoryKiB)
	hdr[offThreads] = p.Threads
	if _, err := io.ReadFull(rnd, hdr[offSalt:headerLen]); err != nil {
		return nil, fmt.Errorf("auth: reading random salt and nonce: %w", err)
	}
	key := deriveSealKey(passphrase, hdr[offSalt:offNonce], p)
	defer clear(key)
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	seed := priv.Seed()
	defer clear(seed)
	ct := aead.Seal(nil, hdr[offNonce:headerLen], seed, hdr)
	return append(hdr, ct...), nil
}

// OpenKey decrypts a key sealed by [SealKey]. It returns an error wrapping
// [ErrMalformedKey] when sealed is not a JNK1 blob or names parameters
// beyond [MaxTime] or [MaxMemoryKiB] (checked before any key derivation, so
// a crafted file cannot exhaust memory), and [ErrWrongPassphrase] when
// authentication fails: a wrong passphrase, or any altered byte of header or
// ciphertext. The passphrase policy is not applied here, so keys sealed
// under an older, laxer policy still open.
func OpenKey(sealed []byte, passphrase string) (ed25519.PrivateKey, error) {
	bad := func(reason string) (ed25519.PrivateKey, error) {
		return nil, fmt.Errorf("%w: %s", ErrMalformedKey, reason)
	}
	switch {
	case len(sealed) >= len(keyMagic) && string(sealed[:len(keyMagic)]) == keyMagic:
	case len(sealed) >= len(keyMagic) && bytes.HasPrefix(sealed, []byte(keyMagicBase)):
		return bad(fmt.Sprintf("unsupported format version %q", sealed[len(keyMagicBase)]))
	default:
		return bad("not a jiannuo sealed key")
	}
	if len(sealed) != sealedKeyLen {
		return bad(fmt.Sprintf("length %d, want %d", len(sealed), sealedKeyLen))
	}
	p := Params{
		Time:      binary.BigEndian.Uint32(sealed[offTime:]),
		MemoryKiB: binary.BigEndian.Uint32(sealed[offMemory:]),
		Threads:   sealed[offThreads],
	}
	if err := p.Validate(); err != nil {
		return bad(err.Error())
	}
	hdr := sealed[:headerLen]
	key := deriveSealKey(passphrase, hdr[offSalt:offNonce], p)
	defer clear(key)
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	seed, err := aead.Open(nil, hdr[offNonce:], sealed[headerLen:], hdr)
	if err != nil {
		return nil, ErrWrongPassphrase
	}
	defer clear(seed)
	return ed25519.NewKeyFromSeed(seed), nil
}

// SealedKeyParams reports the argon2id parameters stored in a sealed key
// without opening it, so callers can decide to re-seal under stronger
// parameters after a successful [OpenKey].
func SealedKeyParams(sealed []byte) (Params, error) {
	if len(sealed) != sealedKeyLen || string(sealed[:len(keyMagic)]) != keyMagic {
		return Params{}, fmt.Errorf("%w: not a JNK1 sealed key", ErrMalformedKey)
	}
	p := Params{
		Time:      binary.BigEndian.Uint32(sealed[offTime:]),
		MemoryKiB: binary.BigEndian.Uint32(sealed[offMemory:]),
		Threads:   sealed[offThreads],
	}
	if err := p.Validate(); err != nil {
		return Params{}, fmt.Errorf("%w: %v", ErrMalformedKey, err)
	}
	return p, nil
}

func deriveSealKey(passphrase string, salt []byte, p Params) []byte {
	pw := []byte(passphrase)
	defer clear(pw)
	return argon2.IDKey(pw, salt, p.Time, p.MemoryKiB, p.Threads, chacha20poly1305.KeySize)
}

// checkPrivateKey insists that priv's second half is the public key of its
// seed: only the seed is sealed, so an inconsistent key would otherwise come
// back from OpenKey silently different.
func checkPrivateKey(priv ed25519.PrivateKey) error {
	if len(priv) != ed25519.PrivateKeySize {
		return fmt.Errorf("%w: length %d, want %d", ErrInvalidKey, len(priv), ed25519.PrivateKeySize)
	}
	seed := priv.Seed()
	defer clear(seed)
	derived := ed25519.NewKeyFromSeed(seed)
	defer clear(derived)
	if !bytes.Equal(derived[ed25519.SeedSize:], priv[ed25519.SeedSize:]) {
		return fmt.Errorf("%w: public half does not match seed", ErrInvalidKey)
	}
	return nil
}
