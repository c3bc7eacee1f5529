package auth

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

var updateFuzzSeeds = flag.Bool("update-fuzz-seeds", false, "rewrite the seed corpora under testdata/fuzz")

// cheap reports whether argon2id under p is fast enough to run on every
// fuzz input. Costlier inputs are still decoded, just not derived.
func cheap(p Params) bool {
	return p.MemoryKiB <= 1024 && p.Time <= 4
}

// FuzzVerifyPassword feeds arbitrary text to the PHC decoder. It must never
// panic, must classify every input as well formed or ErrMalformedHash, and
// must accept only the one canonical spelling of a hash.
func FuzzVerifyPassword(f *testing.F) {
	f.Fuzz(func(t *testing.T, encoded, password string) {
		h, err := decodeHash(encoded)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("decodeHash(%q) = %v, not ErrMalformedHash", encoded, err)
			}
			if err := VerifyPassword(encoded, password); !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("VerifyPassword(%q) = %v after decode failed", encoded, err)
			}
			if !NeedsRehash(encoded, DefaultParams()) {
				t.Fatalf("NeedsRehash(%q) = false for an undecodable hash", encoded)
			}
			return
		}
		if again := encodeHash(h); again != encoded {
			t.Fatalf("non-canonical input accepted:\n in  %q\n out %q", encoded, again)
		}
		if err := h.params.Validate(); err != nil {
			t.Fatalf("decoded params %v are invalid: %v", h.params, err)
		}
		if !cheap(h.params) {
			return
		}
		if err := VerifyPassword(encoded, password); err != nil && !errors.Is(err, ErrWrongPassword) {
			t.Fatalf("VerifyPassword(%q) = %v on a decodable hash", encoded, err)
		}
	})
}

// FuzzOpenKey feeds arbitrary bytes and passphrases to OpenKey. It must
// never panic and never succeed: no seed holds a valid blob together with
// its passphrase, and forging one would mean breaking Poly1305.
func FuzzOpenKey(f *testing.F) {
	f.Fuzz(func(t *testing.T, sealed []byte, passphrase string) {
		if p, err := SealedKeyParams(sealed); err == nil && !cheap(p) {
			t.Skip("costly parameters")
		}
		priv, err := OpenKey(sealed, passphrase)
		if err == nil {
			t.Fatalf("OpenKey succeeded on fuzzed input %x with %q: key %x", sealed, passphrase, priv.Seed())
		}
		if !errors.Is(err, ErrMalformedKey) && !errors.Is(err, ErrWrongPassphrase) {
			t.Fatalf("OpenKey error %v is neither ErrMalformedKey nor ErrWrongPassphrase", err)
		}
	})
}

// fuzzSeeds is the committed seed corpus. TestFuzzSeedCorpus checks that
// testdata/fuzz holds exactly these files (plus any the fuzzer added), and
// rewrites them with -update-fuzz-seeds.
func fuzzSeeds(t *testing.T) map[string]map[string][]any {
	const s = "amlhbm51by1rYXQtc2FsdA"
	const h = "gtiEl3Pm5PKoOhZ84dBQ8G+oD6gKO1HjlYdj9RM4v/Q"
	blob := katSealed(t)
	tagFlip := bytes.Clone(blob)
	tagFlip[len(tagFlip)-1] ^= 1
	hugeMem := bytes.Clone(blob)
	copy(hugeMem[offMemory:], []byte{0xff, 0xff, 0xff, 0xff})
	jnk2 := bytes.Clone(blob)
	jnk2[3] = '2'
	return map[string]map[string][]any{
		"FuzzVerifyPassword": {
			"kat_match":        {katTest, katPassword},
			"kat_wrong":        {katTest, "wrong"},
			"default_params":   {katDefault, "x"},
			"empty":            {"", ""},
			"prefix_only":      {"$argon2id$v=19$", "x"},
			"argon2i":          {"$argon2i$v=19$m=64,t=1,p=1$" + s + "$" + h, "x"},
			"old_version":      {"$argon2id$v=16$m=64,t=1,p=1$" + s + "$" + h, "x"},
			"leading_zero":     {"$argon2id$v=19$m=064,t=1,p=1$" + s + "$" + h, "x"},
			"huge_memory":      {"$argon2id$v=19$m=4294967295,t=1,p=1$" + s + "$" + h, "x"},
			"huge_time":        {"$argon2id$v=19$m=64,t=4294967295,p=1$" + s + "$" + h, "x"},
			"padded_base64":    {"$argon2id$v=19$m=64,t=1,p=1$" + s + "==$" + h, "x"},
			"newline_in_b64":   {"$argon2id$v=19$m=64,t=1,p=1$" + s + "$" + h[:10] + "\n" + h[10:], "x"},
			"short_salt":       {"$argon2id$v=19$m=64,t=1,p=1$YWJj$" + h, "x"},
			"chinese_password": {"$argon2id$v=19$m=64,t=1,p=1$" + s + "$" + h, "践诺"},
		},
		"FuzzOpenKey": {
			"kat_wrong_pass": {blob, "not the passphrase"},
			"kat_empty_pass": {blob, ""},
			"tag_flipped":    {tagFlip, "not the passphrase"},
			"huge_memory":    {hugeMem, "x"},
			"version_2":      {jnk2, "x"},
			"zero_params":    {append([]byte("JNK1"), make([]byte, SealedKeySize-4)...), "x"},
			"empty":          {[]byte{}, ""},
			"magic_only":     {[]byte("JNK1"), "x"},
			"text":           {[]byte("-----BEGIN PRIVATE KEY-----"), "践诺洛阳"},
		},
	}
}

// corpusFile renders values in the "go test fuzz v1" format.
func corpusFile(vals []any) []byte {
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for _, v := range vals {
		switch v := v.(type) {
		case string:
			fmt.Fprintf(&b, "string(%s)\n", strconv.Quote(v))
		case []byte:
			fmt.Fprintf(&b, "[]byte(%s)\n", strconv.Quote(string(v)))
		default:
			panic(fmt.Sprintf("unsupported corpus type %T", v))
		}
	}
	return b.Bytes()
}

func TestFuzzSeedCorpus(t *testing.T) {
	for target, seeds := range fuzzSeeds(t) {
		dir := filepath.Join("testdata", "fuzz", target)
		if *updateFuzzSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for name, vals := range seeds {
			path := filepath.Join(dir, "seed_"+name)
			want := corpusFile(vals)
			if *updateFuzzSeeds {
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("missing seed (run go test -run TestFuzzSeedCorpus -update-fuzz-seeds): %v", err)
				continue
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s is stale; run go test -run TestFuzzSeedCorpus -update-fuzz-seeds", path)
			}
		}
	}
}
