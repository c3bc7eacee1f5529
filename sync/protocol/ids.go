package protocol

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// DeviceID names a device by its signing key: the first 16 bytes of the
// SHA-256 of its ed25519 public key. Two devices can only share an ID if they
// share a key, so a change set's device ID and its signature vouch for each
// other.
type DeviceID [16]byte

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

const b32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// DeviceIDFromKey derives the ID of the device holding pub.
func DeviceIDFromKey(pub ed25519.PublicKey) DeviceID {
	sum := sha256.Sum256(pub)
	var id DeviceID
	copy(id[:], sum[:])
	return id
}

// String returns the ID as four dash-separated groups of seven base32
// characters, the last character of each half a check character, so an
// admin reading an ID over the phone notices a wrong character or two
// swapped neighbours. The ID of the bytes "abcdefghijklmnop" prints as
// "MFRGGZD-FMZTWQ3-2LKNNWG-23TPOAT".
func (id DeviceID) String() string {
	s := b32.EncodeToString(id[:]) // 26 characters
	full := s[:13] + string(luhn32(s[:13])) + s[13:] + string(luhn32(s[13:]))
	return full[0:7] + "-" + full[7:14] + "-" + full[14:21] + "-" + full[21:28]
}

// Short returns the first group of String, enough to tell devices apart in a
// list.
func (id DeviceID) Short() string { return id.String()[:7] }

// IsZero reports whether id is the zero ID, which names no device.
func (id DeviceID) IsZero() bool { return id == DeviceID{} }

// LogValue logs the ID in its printed form.
func (id DeviceID) LogValue() slog.Value { return slog.StringValue(id.String()) }

// MarshalText implements encoding.TextMarshaler.
func (id DeviceID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseDeviceID.
func (id *DeviceID) UnmarshalText(b []byte) error {
	v, err := ParseDeviceID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ParseDeviceID parses the printed form, ignoring case, dashes and spaces,
// and checks both check characters. Errors wrap ErrMalformed.
func ParseDeviceID(s string) (DeviceID, error) {
	clean := strings.ToUpper(idSeparators.Replace(s))
	if len(clean) != 28 {
		return DeviceID{}, fmt.Errorf("%w: device id %q: want 28 characters", ErrMalformed, s)
	}
	a, ca, b, cb := clean[:13], clean[13], clean[14:27], clean[27]
	if luhn32(a) != ca || luhn32(b) != cb {
		return DeviceID{}, fmt.Errorf("%w: device id %q: check character mismatch", ErrMalformed, s)
	}
	raw, err := b32.DecodeString(a + b)
	if err != nil || len(raw) != 16 {
		return DeviceID{}, fmt.Errorf("%w: device id %q: not base32", ErrMalformed, s)
	}
	var id DeviceID
	copy(id[:], raw)
	if id.String() != clean[0:7]+"-"+clean[7:14]+"-"+clean[14:21]+"-"+clean[21:28] {
		// The last base32 character carries spare bits; refuse non-canonical forms.
		return DeviceID{}, fmt.Errorf("%w: device id %q: not canonical", ErrMalformed, s)
	}
	return id, nil
}

// idSeparators are what people put between the groups of a device ID.
var idSeparators = strings.NewReplacer("-", "", " ", "")

// luhn32 is the Luhn mod N algorithm over the base32 alphabet: from the
// right, every other code point is doubled (digits summed in base 32),
// starting with the rightmost, so that with the check character appended
// the weights alternate and an adjacent transposition is caught too. A
// character outside the alphabet yields '?', which never matches.
func luhn32(s string) byte {
	const n = 32
	factor, sum := 2, 0
	for i := len(s) - 1; i >= 0; i-- {
		cp := strings.IndexByte(b32Alphabet, s[i])
		if cp < 0 {
			return '?'
		}
		addend := factor * cp
		if factor == 2 {
			factor = 1
		} else {
			factor = 2
		}
		sum += addend/n + addend%n
	}
	return b32Alphabet[(n-sum%n)%n]
}

// EntityID names a commitment (or another replicated record) across every
// replica. Devices make them at random (128 bits make collisions a
// non-issue), or, for commitments, in time order (NewOrderedEntityID).
type EntityID [16]byte

// NewOrderedEntityID returns an ID that starts with the time it was made
// (48 bits of Unix milliseconds, big-endian) followed by 80 random bits,
// for records that are made often and keyed by their ID: commitments.
// A replica's keys for new commitments then arrive in about the order
// they sort, so their inserts land at the end of each office's range
// instead of all over the file, and bbolt fills pages instead of
// splitting them half full (see docs/benchmarks-app.md). 80 random bits
// within each millisecond keep collisions out of reach at any rate an
// office makes records. The time is not a secret: a commitment's
// creation stamp is published with it. Records whose ID must reveal
// nothing, or whose number is drawn from the ID (cases: CaseNumber), keep
// NewEntityID.
//
// IDs made by one process only ever increase, even many in one
// millisecond or when the clock steps back: such an ID is the last one
// plus one, as a 128-bit number (ULID's monotonic rule), so even a burst
// of imports appends.
func NewOrderedEntityID() EntityID {
	id := OrderedEntityIDAt(time.Now())
	lastOrdered.Lock()
	defer lastOrdered.Unlock()
	if bytes.Compare(id[:], lastOrdered.id[:]) <= 0 {
		id = lastOrdered.id
		for i := len(id) - 1; i >= 0; i-- {
			if id[i]++; id[i] != 0 {
				break
			}
		}
	}
	lastOrdered.id = id
	return id
}

// lastOrdered is the last ID NewOrderedEntityID returned.
var lastOrdered struct {
	sync.Mutex
	id EntityID
}

// OrderedEntityIDAt is NewOrderedEntityID made at time t.
func OrderedEntityIDAt(t time.Time) EntityID {
	var id EntityID
	ms := uint64(t.UnixMilli())
	for i := 5; i >= 0; i-- {
		id[i] = byte(ms)
		ms >>= 8
	}
	if _, err := rand.Read(id[6:]); err != nil {
		panic("protocol: no randomness: " + err.Error()) // crypto/rand never fails on supported systems
	}
	return id
}

// NewEntityID returns a random ID.
func NewEntityID() EntityID {
	var id EntityID
	if _, err := rand.Read(id[:]); err != nil {
		panic("protocol: no randomness: " + err.Error()) // crypto/rand never fails on supported systems
	}
	return id
}

// String returns the ID in hex.
func (id EntityID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is the zero ID.
func (id EntityID) IsZero() bool { return id == EntityID{} }

// LogValue logs the ID in hex.
func (id EntityID) LogValue() slog.Value { return slog.StringValue(id.String()) }

// MarshalText implements encoding.TextMarshaler.
func (id EntityID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *EntityID) UnmarshalText(b []byte) error {
	v, err := ParseEntityID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ParseEntityID parses the hex form. Errors wrap ErrMalformed.
func ParseEntityID(s string) (EntityID, error) {
	var id EntityID
	raw, err := hex.DecodeString(s)
	if err != nil || len(raw) != len(id) {
		return id, fmt.Errorf("%w: entity id %q", ErrMalformed, s)
	}
	copy(id[:], raw)
	return id, nil
}

// OpID names one operation: the device that made it and that device's
// operation number. Operation numbers are gapless per device, so an OpID is
// known the moment a user acts, before the operation is sealed into a
// change set.
type OpID struct {
	Device DeviceID
	Num    uint64
}

// String returns "DEVICE-SHORT/num".
func (o OpID) String() string { return fmt.Sprintf("%s/%d", o.Device.Short(), o.Num) }

// Compare orders OpIDs by device then number.
func (o OpID) Compare(p OpID) int {
	if c := strings.Compare(string(o.Device[:]), string(p.Device[:])); c != 0 {
		return c
	}
	switch {
	case o.Num < p.Num:
		return -1
	case o.Num > p.Num:
		return 1
	}
	return 0
}

// Hash is a SHA-256 digest: of a change set's signed body, or of an evidence
// file's content.
type Hash [32]byte

// String returns the hash in hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is all zeros, the "previous hash" of a device's
// first change set.
func (h Hash) IsZero() bool { return h == Hash{} }

// LogValue logs the first 12 hex digits, enough to tell hashes apart.
func (h Hash) LogValue() slog.Value { return slog.StringValue(h.String()[:12]) }

// MarshalText implements encoding.TextMarshaler.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *Hash) UnmarshalText(b []byte) error {
	raw, err := hex.DecodeString(string(b))
	if err != nil || len(raw) != len(h) {
		return fmt.Errorf("%w: hash %q", ErrMalformed, b)
	}
	copy(h[:], raw)
	return nil
}

// HashOf returns the SHA-256 of b.
func HashOf(b []byte) Hash { return sha256.Sum256(b) }
