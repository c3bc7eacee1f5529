package auth

import (
	"errors"
	"strings"
	"testing"
)

// Known answers, computed once with hashPasswordWithSalt and confirmed with
// the reference argon2 command-line tool (Debian package argon2):
//
//	echo -n "践诺 correct horse" | argon2 jiannuo-kat-salt -id -t 1 -k 64 -p 1 -l 32 -e
//	echo -n "践诺 correct horse" | argon2 jiannuo-kat-salt -id -t 3 -k 65536 -p 2 -l 32 -e
//
// A change of encoding, salt handling or parameter order breaks them.
const (
	katPassword = "践诺 correct horse"
	katSalt     = "jiannuo-kat-salt" // 16 bytes
	katTest     = "$argon2id$v=19$m=64,t=1,p=1$amlhbm51by1rYXQtc2FsdA$gtiEl3Pm5PKoOhZ84dBQ8G+oD6gKO1HjlYdj9RM4v/Q"
	katDefault  = "$argon2id$v=19$m=65536,t=3,p=2$amlhbm51by1rYXQtc2FsdA$IMFnk5vU82S2OQlMmFTSas53I5HJHHTZY96SoZ1666s"
)

func TestHashPasswordKnownAnswer(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Params
		want string
	}{
		{"test params", TestParams(), katTest},
		{"default params", DefaultParams(), katDefault},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := hashPasswordWithSalt(katPassword, []byte(katSalt), tc.p)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("hash changed:\n got  %s\n want %s", got, tc.want)
			}
			if err := VerifyPassword(tc.want, katPassword); err != nil {
				t.Fatalf("VerifyPassword(known answer) = %v", err)
			}
			if err := VerifyPassword(tc.want, katPassword+" "); !errors.Is(err, ErrWrongPassword) {
				t.Fatalf("VerifyPassword(known answer, wrong) = %v, want ErrWrongPassword", err)
			}
		})
	}
}

func TestHashVerifyRoundTrip(t *testing.T) {
	for _, pw := range []string{
		"x",
		"correct horse battery staple",
		"践诺洛阳栾川县赤土店镇",
		"  leading and trailing spaces  ",
		strings.Repeat("长", 1000),
		"nul\x00inside",
	} {
		enc, err := HashPassword(pw, TestParams())
		if err != nil {
			t.Fatalf("HashPassword(%q): %v", pw, err)
		}
		if err := VerifyPassword(enc, pw); err != nil {
			t.Errorf("VerifyPassword(right password %q) = %v", pw, err)
		}
		for _, wrong := range []string{"", pw + "x", strings.TrimSpace(pw) + "\n", strings.ToUpper(pw)} {
			if wrong == pw {
				continue
			}
			if err := VerifyPassword(enc, wrong); !errors.Is(err, ErrWrongPassword) {
				t.Errorf("VerifyPassword(%q, wrong %q) = %v, want ErrWrongPassword", pw, wrong, err)
			}
		}
	}
}

func TestHashPasswordFormat(t *testing.T) {
	p := Params{Time: 2, MemoryKiB: 128, Threads: 2}
	a, err := HashPassword("same password", p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := HashPassword("same password", p)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatal("two hashes of the same password are equal: salt is not random")
	}
	if !strings.HasPrefix(a, "$argon2id$v=19$m=128,t=2,p=2$") {
		t.Fatalf("unexpected prefix: %s", a)
	}
	h, err := decodeHash(a)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.salt) != 16 || len(h.hash) != 32 || h.params != p {
		t.Fatalf("decoded %+v: want 16-byte salt, 32-byte hash, params %v", h, p)
	}
	fields := strings.Split(a, "$")
	if strings.Contains(fields[4]+fields[5], "=") {
		t.Fatalf("base64 padding in %s", a)
	}
}

func TestHashPasswordErrors(t *testing.T) {
	if _, err := HashPassword("", TestParams()); !errors.Is(err, ErrEmptyPassword) {
		t.Errorf("empty password: %v", err)
	}
	for _, p := range []Params{
		{},
		{Time: 0, MemoryKiB: 64, Threads: 1},
		{Time: 1, MemoryKiB: 64, Threads: 0},
		{Time: 1, MemoryKiB: 7, Threads: 1},
		{Time: 1, MemoryKiB: 64, Threads: 9}, // 64 < 8*9
		{Time: MaxTime + 1, MemoryKiB: 64, Threads: 1},
		{Time: 1, MemoryKiB: MaxMemoryKiB + 1, Threads: 1},
	} {
		if _, err := HashPassword("pw", p); !errors.Is(err, ErrInvalidParams) {
			t.Errorf("HashPassword with %+v: %v, want ErrInvalidParams", p, err)
		}
	}
}

func TestParamsDefaults(t *testing.T) {
	d := DefaultParams()
	if d != (Params{Time: 3, MemoryKiB: 65536, Threads: 2}) {
		t.Fatalf("DefaultParams() = %+v", d)
	}
	d.Time = 99
	if DefaultParams().Time != 3 {
		t.Fatal("DefaultParams shares state between calls")
	}
	for _, p := range []Params{DefaultParams(), TestParams(), {Time: MaxTime, MemoryKiB: MaxMemoryKiB, Threads: 255}} {
		if err := p.Validate(); err != nil {
			t.Errorf("%v.Validate() = %v", p, err)
		}
	}
	if got := DefaultParams().String(); got != "m=65536,t=3,p=2" {
		t.Errorf("String() = %q", got)
	}
}

func TestVerifyPasswordMalformed(t *testing.T) {
	const s = "amlhbm51by1rYXQtc2FsdA"                      // katSalt
	const h = "gtiEl3Pm5PKoOhZ84dBQ8G+oD6gKO1HjlYdj9RM4v/Q" // 32 bytes
	for _, enc := range []string{
		"",
		"$",
		"password",
		"$argon2i$v=19$m=64,t=1,p=1$" + s + "$" + h,
		"$argon2d$v=19$m=64,t=1,p=1$" + s + "$" + h,
		"$argon2id$v=16$m=64,t=1,p=1$" + s + "$" + h,
		"$argon2id$m=64,t=1,p=1$" + s + "$" + h,
		"$argon2id$v=19$t=1,m=64,p=1$" + s + "$" + h,      // wrong order
		"$argon2id$v=19$m=64,t=1$" + s + "$" + h,          // missing p
		"$argon2id$v=19$m=64,t=1,p=1,k=2$" + s + "$" + h,  // extra key
		"$argon2id$v=19$m=064,t=1,p=1$" + s + "$" + h,     // leading zero
		"$argon2id$v=19$m=+64,t=1,p=1$" + s + "$" + h,     // sign
		"$argon2id$v=19$m= 64,t=1,p=1$" + s + "$" + h,     // space
		"$argon2id$v=19$m=64,t=0,p=1$" + s + "$" + h,      // t=0
		"$argon2id$v=19$m=64,t=1,p=0$" + s + "$" + h,      // p=0
		"$argon2id$v=19$m=64,t=1,p=256$" + s + "$" + h,    // p overflows uint8
		"$argon2id$v=19$m=7,t=1,p=1$" + s + "$" + h,       // m < 8p
		"$argon2id$v=19$m=1048577,t=1,p=1$" + s + "$" + h, // > 1 GiB
		"$argon2id$v=19$m=4294967295,t=1,p=1$" + s + "$" + h,
		"$argon2id$v=19$m=99999999999,t=1,p=1$" + s + "$" + h,
		"$argon2id$v=19$m=64,t=101,p=1$" + s + "$" + h, // t > 100
		"$argon2id$v=19$m=64,t=4294967295,p=1$" + s + "$" + h,
		"$argon2id$v=19$m=64,t=1,p=1$" + s,                      // no hash
		"$argon2id$v=19$m=64,t=1,p=1$" + s + "$" + h + "$",      // extra field
		"$argon2id$v=19$m=64,t=1,p=1$" + s + "==$" + h,          // padding
		"$argon2id$v=19$m=64,t=1,p=1$" + s + "$" + h + "=",      // padding
		"$argon2id$v=19$m=64,t=1,p=1$" + s + "$" + h[:42] + "R", // non-zero trailing bits
		"$argon2id$v=19$m=64,t=1,p=1$" + s + "$" + h[:20] + "\n" + h[20:],
		"$argon2id$v=19$m=64,t=1,p=1$" + s + "$" + strings.ReplaceAll(h, "+", "-"), // URL alphabet
		"$argon2id$v=19$m=64,t=1,p=1$YWJj$" + h,                                    // salt 3 bytes
		"$argon2id$v=19$m=64,t=1,p=1$$" + h,                                        // empty salt
		"$argon2id$v=19$m=64,t=1,p=1$" + s + "$YWJjZGVmZ2g",                        // hash 8 bytes
		"$argon2id$v=19$m=64,t=1,p=1$" + s + "$" + strings.Repeat("A", 300),
		" " + katTest,
		katTest + " ",
	} {
		err := VerifyPassword(enc, katPassword)
		if !errors.Is(err, ErrMalformedHash) {
			t.Errorf("VerifyPassword(%q) = %v, want ErrMalformedHash", enc, err)
		}
		if !NeedsRehash(enc, TestParams()) {
			t.Errorf("NeedsRehash(%q) = false for a malformed hash", enc)
		}
	}
}

func TestNeedsRehash(t *testing.T) {
	if NeedsRehash(katTest, TestParams()) {
		t.Error("fresh hash with same params needs rehash")
	}
	if !NeedsRehash(katTest, DefaultParams()) {
		t.Error("test-params hash does not need rehash under DefaultParams")
	}
	if NeedsRehash(katDefault, DefaultParams()) {
		t.Error("default hash needs rehash under DefaultParams")
	}
	stronger := DefaultParams()
	stronger.Time++
	if !NeedsRehash(katDefault, stronger) {
		t.Error("no rehash when time was raised")
	}
	weaker := DefaultParams()
	weaker.MemoryKiB /= 2
	if !NeedsRehash(katDefault, weaker) {
		t.Error("no rehash when parameters changed downwards")
	}
	// Hashes from other tools with other lengths verify but get rehashed.
	other := encodeHash(phc{params: TestParams(), salt: make([]byte, 8), hash: make([]byte, 16)})
	if !NeedsRehash(other, TestParams()) {
		t.Error("no rehash for non-standard salt and hash lengths")
	}
	if err := VerifyPassword(other, "x"); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("VerifyPassword(short salt/hash) = %v, want ErrWrongPassword", err)
	}
}

func TestSentinelMessagesLowerCase(t *testing.T) {
	for _, err := range []error{
		ErrWrongPassword, ErrMalformedHash, ErrWrongPassphrase, ErrMalformedKey,
		ErrWeakPassphrase, ErrInvalidParams, ErrInvalidKey, ErrEmptyPassword,
	} {
		msg := err.Error()
		if msg != strings.ToLower(msg) || strings.HasSuffix(msg, ".") {
			t.Errorf("error message %q should be lower case without final period", msg)
		}
	}
}

func BenchmarkHashPassword(b *testing.B) {
	p := DefaultParams()
	for b.Loop() {
		if _, err := HashPassword("践诺 benchmark password", p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyPassword(b *testing.B) {
	enc, err := HashPassword("践诺 benchmark password", DefaultParams())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := VerifyPassword(enc, "践诺 benchmark password"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestHashPasswordWithSaltBounds(t *testing.T) {
	for _, n := range []int{0, minSaltLen - 1, maxSaltLen + 1} {
		if _, err := hashPasswordWithSalt("pw", make([]byte, n), TestParams()); err == nil {
			t.Errorf("salt of %d bytes accepted", n)
		}
	}
}
