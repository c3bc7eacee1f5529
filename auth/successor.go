package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/hkdf"
)

// A device that is re-enrolled after a fork gets a new key, but each of its
// accounts holds the old key sealed under a passphrase only that account's
// user knows. So the new key is sealed once more under the old one: any
// account opens the old key with its passphrase, then the new key with the
// old, and re-seals the new key under its passphrase at that sign-in.
//
// Layout (JNS1): magic, 24-byte nonce, XChaCha20-Poly1305 of the new key's
// 32-byte seed with the magic and nonce as additional data. The sealing key
// is HKDF-SHA256 of the old key's seed with its own label, so it is never
// the signing key itself.
const (
	successorMagic = "JNS1"
	successorLen   = len(successorMagic) + chacha20poly1305.NonceSizeX + ed25519.SeedSize + chacha20poly1305.Overhead
)

// SealSuccessor encrypts next under prev, for [OpenSuccessor].
func SealSuccessor(next, prev ed25519.PrivateKey) ([]byte, error) {
	if err := checkPrivateKey(next); err != nil {
		return nil, err
	}
	if err := checkPrivateKey(prev); err != nil {
		return nil, err
	}
	aead, err := successorAEAD(prev)
	if err != nil {
		return nil, err
	}
	hdr := make([]byte, len(successorMagic)+chacha20poly1305.NonceSizeX, successorLen)
	copy(hdr, successorMagic)
	if _, err := rand.Read(hdr[len(successorMagic):]); err != nil {
		return nil, fmt.Errorf("auth: reading random nonce: %w", err)
	}
	seed := next.Seed()
	defer clear(seed)
	return append(hdr, aead.Seal(nil, hdr[len(successorMagic):], seed, hdr)...), nil
}

// OpenSuccessor decrypts a key sealed by [SealSuccessor] under prev. It
// returns [ErrMalformedKey] for bytes not in that format and
// [ErrWrongPassphrase] when prev is not the key it was sealed under or a
// byte was altered.
func OpenSuccessor(sealed []byte, prev ed25519.PrivateKey) (ed25519.PrivateKey, error) {
	if len(sealed) != successorLen || string(sealed[:len(successorMagic)]) != successorMagic {
		return nil, fmt.Errorf("%w: not a JNS1 successor key", ErrMalformedKey)
	}
	if err := checkPrivateKey(prev); err != nil {
		return nil, err
	}
	aead, err := successorAEAD(prev)
	if err != nil {
		return nil, err
	}
	n := len(successorMagic) + chacha20poly1305.NonceSizeX
	seed, err := aead.Open(nil, sealed[len(successorMagic):n], sealed[n:], sealed[:n])
	if err != nil {
		return nil, ErrWrongPassphrase
	}
	defer clear(seed)
	return ed25519.NewKeyFromSeed(seed), nil
}

func successorAEAD(prev ed25519.PrivateKey) (interface {
	Seal(dst, nonce, plaintext, additionalData []byte) []byte
	Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error)
}, error) {
	seed := prev.Seed()
	defer clear(seed)
	key := make([]byte, chacha20poly1305.KeySize)
	defer clear(key)
	if _, err := hkdf.New(sha256.New, seed, nil, []byte("jiannuo/successor-key/v1")).Read(key); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	return aead, nil
}
