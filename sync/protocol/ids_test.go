package protocol_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"jiannuo/sync/protocol"
)

const b32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// luhn32 is an independent implementation of the check character
// (Luhn mod 32 over the RFC 4648 base32 alphabet) as the format document
// describes it, to pin the printed form of device IDs.
func luhn32(s string) byte {
	sum := 0
	for i := 0; i < len(s); i++ {
		cp := strings.IndexByte(b32Alphabet, s[len(s)-1-i])
		if i%2 == 0 { // the rightmost character is doubled
			cp *= 2
			cp = cp/32 + cp%32
		}
		sum += cp
	}
	return b32Alphabet[(32-sum%32)%32]
}

func randomDeviceID(r *rand.Rand) protocol.DeviceID {
	var id protocol.DeviceID
	for i := range id {
		id[i] = byte(r.UintN(256))
	}
	return id
}

func TestDeviceIDStringParseRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ids := []protocol.DeviceID{{}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
	for range 2000 {
		ids = append(ids, randomDeviceID(r))
	}
	for _, id := range ids {
		s := id.String()
		if len(s) != 31 || s[7] != '-' || s[15] != '-' || s[23] != '-' {
			t.Fatalf("%x prints as %q: want four dash-separated groups of seven", id[:], s)
		}
		clean := strings.ReplaceAll(s, "-", "")
		if strings.Trim(clean, b32Alphabet) != "" {
			t.Fatalf("%q has characters outside the base32 alphabet", s)
		}
		// Layout: 13 data characters, check, 13 data characters, check,
		// where the 26 data characters are the unpadded base32 of the ID.
		if want := b32.EncodeToString(id[:]); clean[:13]+clean[14:27] != want {
			t.Fatalf("%x prints as %q: data characters are not base32 %q", id[:], s, want)
		}
		if clean[13] != luhn32(clean[:13]) || clean[27] != luhn32(clean[14:27]) {
			t.Fatalf("%q: check characters are not Luhn mod 32 of their halves", s)
		}
		got, err := protocol.ParseDeviceID(s)
		if err != nil || got != id {
			t.Fatalf("ParseDeviceID(%q) = %x, %v; want %x", s, got[:], err, id[:])
		}
	}
}

func TestDeviceIDKnownValue(t *testing.T) {
	// The example the String doc comment shows, pinned so that a change to
	// the printed form shows up here.
	const example = "MFRGGZD-FMZTWQ3-2LKNNWG-23TPOAT"
	var want protocol.DeviceID
	copy(want[:], "abcdefghijklmnop")
	if want.String() != example {
		t.Fatalf("ID of %q prints as %s, want %s", want[:], want, example)
	}
	id, err := protocol.ParseDeviceID(example)
	if err != nil || id != want {
		t.Fatalf("ParseDeviceID(%q) = %x, %v; want %x", example, id[:], err, want[:])
	}
	pub := make([]byte, 32)
	sum := sha256.Sum256(pub)
	if got := protocol.DeviceIDFromKey(pub); !bytes.Equal(got[:], sum[:16]) {
		t.Fatalf("DeviceIDFromKey = %x, want first 16 bytes of SHA-256 of the key %x", got[:], sum[:16])
	}
}

func TestParseDeviceIDLenient(t *testing.T) {
	id := randomDeviceID(rand.New(rand.NewPCG(3, 4)))
	s := id.String()
	clean := strings.ReplaceAll(s, "-", "")
	for _, in := range []string{
		s,
		strings.ToLower(s),
		clean,
		strings.ToLower(clean),
		strings.ReplaceAll(s, "-", " "),
		" " + s + " ",
		clean[:4] + " " + clean[4:11] + "--" + clean[11:],
		strings.ToLower(s[:10]) + s[10:],
	} {
		got, err := protocol.ParseDeviceID(in)
		if err != nil || got != id {
			t.Errorf("ParseDeviceID(%q) = %s, %v; want %s", in, got, err, id)
		}
	}
}

// TestParseDeviceIDCatchesEverySubstitution checks the promise that an
// admin who mistypes one character is told so: Luhn mod 32 catches every
// single-character substitution, in data and check characters alike.
func TestParseDeviceIDCatchesEverySubstitution(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, id := range []protocol.DeviceID{{}, randomDeviceID(r), randomDeviceID(r)} {
		clean := strings.ReplaceAll(id.String(), "-", "")
		tried := 0
		for pos := range len(clean) {
			for _, c := range []byte(b32Alphabet) {
				if c == clean[pos] {
					continue
				}
				bad := clean[:pos] + string(c) + clean[pos+1:]
				got, err := protocol.ParseDeviceID(bad)
				if err == nil {
					t.Fatalf("%s with %q at position %d parsed as %s: substitution not caught", id, c, pos, got)
				}
				if !errors.Is(err, protocol.ErrMalformed) || protocol.CodeOf(err) != protocol.CodeMalformed {
					t.Fatalf("ParseDeviceID(%q): %v does not wrap ErrMalformed", bad, err)
				}
				tried++
			}
		}
		if tried != 28*31 {
			t.Fatalf("tried %d substitutions, want %d", tried, 28*31)
		}
	}
}

// TestParseDeviceIDCatchesTranspositions checks the other half of the Luhn
// promise: two swapped neighbours are caught, except the one pair Luhn mod
// 32 cannot tell apart ('A' and '7', code points 0 and 31), and except where
// the swap happens not to change the string.
func TestParseDeviceIDCatchesTranspositions(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for range 500 {
		id := randomDeviceID(r)
		clean := strings.ReplaceAll(id.String(), "-", "")
		for p := range len(clean) - 1 {
			x, y := clean[p], clean[p+1]
			if x == y || (x == 'A' && y == '7') || (x == '7' && y == 'A') {
				continue
			}
			b := []byte(clean)
			b[p], b[p+1] = y, x
			if got, err := protocol.ParseDeviceID(string(b)); err == nil {
				t.Fatalf("%s with positions %d and %d swapped (%s) parsed as %s", id, p, p+1, b, got)
			}
		}
	}
}

func TestParseDeviceIDRefuses(t *testing.T) {
	id := randomDeviceID(rand.New(rand.NewPCG(7, 8)))
	s := id.String()
	clean := strings.ReplaceAll(s, "-", "")

	// The 26th data character carries 2 spare bits (26*5 = 130 bits for 128).
	// Setting one and fixing the check character must still be refused:
	// otherwise four strings would name each device.
	last := strings.IndexByte(b32Alphabet, clean[26])
	nonCanonical := ""
	for spare := 1; spare < 4; spare++ {
		c := b32Alphabet[last^spare]
		half := clean[14:26] + string(c)
		nonCanonical = clean[:14] + half + string(luhn32(half))
		if _, err := protocol.ParseDeviceID(nonCanonical); err == nil {
			t.Errorf("non-canonical %q (spare bits %b) parsed", nonCanonical, spare)
		}
	}

	cases := map[string]string{
		"empty":                  "",
		"one short":              clean[:27],
		"one long":               clean + "A",
		"first half only":        clean[:14],
		"twice":                  clean + clean,
		"padding":                clean[:27] + "=",
		"digit outside alphabet": clean[:5] + "1" + clean[6:],
		"zero":                   clean[:5] + "0" + clean[6:],
		"non-ASCII":              clean[:26] + "é",
		"underscore separator":   strings.ReplaceAll(s, "-", "_"),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := protocol.ParseDeviceID(in)
			if err == nil {
				t.Fatalf("ParseDeviceID(%q) = %s, want error", in, got)
			}
			if !errors.Is(err, protocol.ErrMalformed) {
				t.Fatalf("ParseDeviceID(%q): %v does not wrap ErrMalformed", in, err)
			}
			if !got.IsZero() {
				t.Fatalf("ParseDeviceID(%q) returned %s with its error", in, got)
			}
		})
	}
}

func TestDeviceIDText(t *testing.T) {
	id := randomDeviceID(rand.New(rand.NewPCG(9, 10)))
	text, err := id.MarshalText()
	if err != nil || string(text) != id.String() {
		t.Fatalf("MarshalText = %q, %v; want %q", text, err, id.String())
	}
	var back protocol.DeviceID
	if err := back.UnmarshalText([]byte(strings.ToLower(string(text)))); err != nil || back != id {
		t.Fatalf("UnmarshalText(lower case) = %s, %v; want %s", back, err, id)
	}
	// Through JSON, as a value and as a map key.
	type rec struct {
		ID  protocol.DeviceID
		Ptr *protocol.DeviceID
		M   map[protocol.DeviceID]int
	}
	in := rec{ID: id, Ptr: &id, M: map[protocol.DeviceID]int{id: 1}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"`+id.String()+`"`)) {
		t.Fatalf("JSON %s does not show the printed ID", b)
	}
	var out rec
	if err := json.Unmarshal(b, &out); err != nil || out.ID != id || *out.Ptr != id || out.M[id] != 1 {
		t.Fatalf("JSON round trip: %+v, %v", out, err)
	}
	before := back
	if err := back.UnmarshalText([]byte("not an id")); !errors.Is(err, protocol.ErrMalformed) {
		t.Fatalf("UnmarshalText(garbage) = %v, want ErrMalformed", err)
	}
	if back != before {
		t.Fatal("failed UnmarshalText changed the ID")
	}
}

func TestDeviceIDShortAndZero(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for range 100 {
		id := randomDeviceID(r)
		if got, want := id.Short(), id.String()[:7]; got != want {
			t.Fatalf("Short() = %q, want first group %q", got, want)
		}
		if id.IsZero() {
			t.Fatal("random ID is zero")
		}
	}
	var zero protocol.DeviceID
	if !zero.IsZero() || zero.Short() != "AAAAAAA" {
		t.Fatalf("zero ID: IsZero %v, Short %q", zero.IsZero(), zero.Short())
	}
	if got := zero.LogValue().String(); got != zero.String() {
		t.Fatalf("LogValue = %q, want %q", got, zero.String())
	}
}

func TestEntityIDText(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for range 200 {
		var id protocol.EntityID
		for i := range id {
			id[i] = byte(r.UintN(256))
		}
		s := id.String()
		if len(s) != 32 || strings.ToLower(s) != s {
			t.Fatalf("EntityID prints as %q: want 32 lower-case hex digits", s)
		}
		got, err := protocol.ParseEntityID(s)
		if err != nil || got != id {
			t.Fatalf("ParseEntityID(%q) = %s, %v", s, got, err)
		}
		var back protocol.EntityID
		text, _ := id.MarshalText()
		if err := back.UnmarshalText(text); err != nil || back != id {
			t.Fatalf("text round trip of %s: %s, %v", id, back, err)
		}
	}
	if a, b := protocol.NewEntityID(), protocol.NewEntityID(); a == b || a.IsZero() {
		t.Fatalf("NewEntityID gave %s and %s", a, b)
	}
	for _, bad := range []string{"", "00", strings.Repeat("0", 31), strings.Repeat("0", 33), strings.Repeat("g", 32), strings.Repeat("0", 34)} {
		if _, err := protocol.ParseEntityID(bad); !errors.Is(err, protocol.ErrMalformed) {
			t.Errorf("ParseEntityID(%q) = %v, want ErrMalformed", bad, err)
		}
		var id protocol.EntityID
		if err := id.UnmarshalText([]byte(bad)); !errors.Is(err, protocol.ErrMalformed) {
			t.Errorf("EntityID.UnmarshalText(%q) = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestHashText(t *testing.T) {
	h := protocol.HashOf([]byte("abc"))
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" // SHA-256("abc")
	if h.String() != want {
		t.Fatalf("HashOf(abc) = %s, want %s", h, want)
	}
	text, err := h.MarshalText()
	if err != nil || string(text) != want {
		t.Fatalf("MarshalText = %q, %v", text, err)
	}
	var back protocol.Hash
	if err := back.UnmarshalText(text); err != nil || back != h {
		t.Fatalf("UnmarshalText = %s, %v", back, err)
	}
	if got := h.LogValue().String(); got != want[:12] {
		t.Fatalf("LogValue = %q, want %q", got, want[:12])
	}
	if h.IsZero() || !(protocol.Hash{}).IsZero() {
		t.Fatal("IsZero wrong")
	}
	for _, bad := range []string{"", want[:62], want + "00", "x" + want[1:]} {
		before := back
		if err := back.UnmarshalText([]byte(bad)); !errors.Is(err, protocol.ErrMalformed) {
			t.Errorf("Hash.UnmarshalText(%q) = %v, want ErrMalformed", bad, err)
		}
		if back != before {
			t.Errorf("failed Hash.UnmarshalText(%q) changed the hash", bad)
		}
	}
}

func TestOpIDCompare(t *testing.T) {
	a := protocol.DeviceID{1}
	b := protocol.DeviceID{2}
	c := protocol.DeviceID{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1} // after a, before b
	ordered := []protocol.OpID{
		{Device: protocol.DeviceID{}, Num: 0},
		{Device: protocol.DeviceID{}, Num: 1 << 40},
		{Device: a, Num: 0},
		{Device: a, Num: 1},
		{Device: a, Num: 2},
		{Device: a, Num: 300}, // numbers compare as numbers, not as varint bytes
		{Device: c, Num: 1},
		{Device: b, Num: 0},
		{Device: b, Num: ^uint64(0)},
		{Device: protocol.DeviceID{0xff}, Num: 0},
	}
	for i, x := range ordered {
		for j, y := range ordered {
			want := 0
			switch {
			case i < j:
				want = -1
			case i > j:
				want = 1
			}
			if got := x.Compare(y); got != want {
				t.Errorf("%v.Compare(%v) = %d, want %d", x, y, got, want)
			}
		}
	}
	shuffled := slices.Clone(ordered)
	rand.New(rand.NewPCG(15, 16)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	shuffled = append(shuffled, ordered[3], ordered[0]) // repeats
	if got := protocol.SortBase(shuffled); !slices.Equal(got, ordered) {
		t.Errorf("SortBase = %v, want %v", got, ordered)
	}
	if got := (protocol.OpID{Device: a, Num: 42}).String(); got != a.Short()+"/42" {
		t.Errorf("OpID.String = %q", got)
	}
}
