package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

const (
	saltLen = 16 // bytes of random salt in new hashes
	hashLen = 32 // bytes of argon2id output in new hashes

	// Bounds accepted when decoding, a little wider than what we write so
	// that hashes from other argon2 tools can still be verified.
	minSaltLen = 8
	maxSaltLen = 64
	minHashLen = 16
	maxHashLen = 64

	// maxEncodedLen bounds the input before any parsing. The longest
	// string within the limits above is about 210 bytes.
	maxEncodedLen = 256

	phcPrefix = "$argon2id$v=19$"
)

// b64 is the PHC flavour of base64: standard alphabet, no padding.
var b64 = base64.RawStdEncoding

// HashPassword hashes password with argon2id under p and a fresh 16-byte
// random salt, and returns a PHC string such as
//
//	$argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash>
//
// The parameters travel with the hash so they can be raised later (see
// [NeedsRehash]) and the string can be checked by any argon2 tool.
// The password is hashed as its exact UTF-8 bytes: no trimming or Unicode
// normalization is done here.
func HashPassword(password string, p Params) (string, error) {
	if password == "" {
		return "", ErrEmptyPassword
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: reading random salt: %w", err)
	}
	return hashPasswordWithSalt(password, salt, p)
}

// hashPasswordWithSalt is HashPassword with a caller-chosen salt, for
// known-answer tests.
func hashPasswordWithSalt(password string, salt []byte, p Params) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	if len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return "", fmt.Errorf("auth: salt length %d out of range", len(salt))
	}
	pw := []byte(password)
	defer clear(pw)
	sum := argon2.IDKey(pw, salt, p.Time, p.MemoryKiB, p.Threads, hashLen)
	defer clear(sum)
	return encodeHash(phc{params: p, salt: salt, hash: sum}), nil
}

// VerifyPassword checks password against a PHC string made by
// [HashPassword]. It returns nil on a match, [ErrWrongPassword] on a
// mismatch, and an error wrapping [ErrMalformedHash] when encoded cannot be
// decoded or asks for parameters beyond [MaxTime] or [MaxMemoryKiB], so a
// crafted user file cannot make the program exhaust memory or CPU.
// The comparison is constant-time.
func VerifyPassword(encoded, password string) error {
	h, err := decodeHash(encoded)
	if err != nil {
		return err
	}
	pw := []byte(password)
	defer clear(pw)
	sum := argon2.IDKey(pw, h.salt, h.params.Time, h.params.MemoryKiB, h.params.Threads, uint32(len(h.hash)))
	defer clear(sum)
	if subtle.ConstantTimeCompare(sum, h.hash) != 1 {
		return ErrWrongPassword
	}
	return nil
}

// HashParams returns the argon2id parameters of a PHC string made by
// [HashPassword], without running argon2id: what checking a password
// against it costs. It fails as [VerifyPassword] would on a string it
// cannot decode.
func HashParams(encoded string) (Params, error) {
	h, err := decodeHash(encoded)
	return h.params, err
}

// NeedsRehash reports whether encoded should be replaced by a fresh
// [HashPassword] result under p: it was made with other parameters or
// lengths, or it cannot be decoded at all. Call it after a successful
// [VerifyPassword], while the plain password is at hand.
func NeedsRehash(encoded string, p Params) bool {
	h, err := decodeHash(encoded)
	if err != nil {
		return true
	}
	return h.params != p || len(h.salt) != saltLen || len(h.hash) != hashLen
}

// phc is a decoded argon2id PHC string.
type phc struct {
	params Params
	salt   []byte
	hash   []byte
}

func encodeHash(h phc) string {
	var b strings.Builder
	b.Grow(maxEncodedLen)
	b.WriteString(phcPrefix)
	b.WriteString("m=")
	b.WriteString(strconv.FormatUint(uint64(h.params.MemoryKiB), 10))
	b.WriteString(",t=")
	b.WriteString(strconv.FormatUint(uint64(h.params.Time), 10))
	b.WriteString(",p=")
	b.WriteString(strconv.FormatUint(uint64(h.params.Threads), 10))
	b.WriteByte('$')
	b.WriteString(b64.EncodeToString(h.salt))
	b.WriteByte('$')
	b.WriteString(b64.EncodeToString(h.hash))
	return b.String()
}

// decodeHash parses the canonical form written by encodeHash and nothing
// else: the fields in that order, decimal numbers without sign or leading
// zeros, and base64 that re-encodes to the same text. Being strict keeps
// one hash to one string and leaves no room for parser differentials.
func decodeHash(encoded string) (phc, error) {
	bad := func(reason string) (phc, error) {
		return phc{}, fmt.Errorf("%w: %s", ErrMalformedHash, reason)
	}
	if len(encoded) > maxEncodedLen {
		return bad("too long")
	}
	rest, ok := strings.CutPrefix(encoded, phcPrefix)
	if !ok {
		switch {
		case strings.HasPrefix(encoded, "$argon2id$"):
			return bad("unsupported argon2 version (want v=19)")
		case strings.HasPrefix(encoded, "$argon2"):
			return bad("not argon2id")
		default:
			return bad("not an argon2id PHC string")
		}
	}
	fields := strings.Split(rest, "$")
	if len(fields) != 3 {
		return bad("want params, salt and hash fields")
	}
	var h phc
	kv := strings.Split(fields[0], ",")
	if len(kv) != 3 {
		return bad("want m, t and p parameters")
	}
	m, ok1 := parseParam(kv[0], "m=", MaxMemoryKiB)
	t, ok2 := parseParam(kv[1], "t=", MaxTime)
	p, ok3 := parseParam(kv[2], "p=", 255)
	if !ok1 || !ok2 || !ok3 {
		return bad("parameters must be m=<KiB>,t=<passes>,p=<threads> within limits")
	}
	h.params = Params{Time: uint32(t), MemoryKiB: uint32(m), Threads: uint8(p)}
	if err := h.params.Validate(); err != nil {
		return bad(err.Error())
	}
	var err error
	if h.salt, err = decodeB64(fields[1]); err != nil {
		return bad("salt: " + err.Error())
	}
	if h.hash, err = decodeB64(fields[2]); err != nil {
		return bad("hash: " + err.Error())
	}
	if len(h.salt) < minSaltLen || len(h.salt) > maxSaltLen {
		return bad(fmt.Sprintf("salt length %d out of range", len(h.salt)))
	}
	if len(h.hash) < minHashLen || len(h.hash) > maxHashLen {
		return bad(fmt.Sprintf("hash length %d out of range", len(h.hash)))
	}
	return h, nil
}

// parseParam parses "<key><decimal>" with no sign, no leading zeros and a
// value of at most max.
func parseParam(s, key string, max uint64) (uint64, bool) {
	digits, ok := strings.CutPrefix(s, key)
	if !ok || digits == "" || len(digits) > 10 {
		return 0, false
	}
	if len(digits) > 1 && digits[0] == '0' {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, n <= max
}

// decodeB64 decodes unpadded standard base64 and insists that the input is
// the canonical encoding of the result (the decoder alone would skip
// newlines and accept non-zero trailing bits).
func decodeB64(s string) ([]byte, error) {
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, errors.New("bad base64")
	}
	if b64.EncodeToString(b) != s {
		return nil, errors.New("non-canonical base64")
	}
	return b, nil
}
