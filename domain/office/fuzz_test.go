package office

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

var updateFuzzSeeds = flag.Bool("update-fuzz-seeds", false, "rewrite the seed corpora under testdata/fuzz")

// FuzzParse checks that Parse never panics, that every accepted code
// round-trips (Parse(c.String()) == c) and behaves consistently, and that
// every refused one is refused by all methods alike.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidCode) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrInvalidCode", s, err)
			}
			x := Code(s)
			if x.Valid() || x.Level() != 0 || x.Parent() != "" || x.County() != "" || x.Contains(x) {
				t.Fatalf("invalid %q behaves as valid", s)
			}
			if s != "" {
				if _, err := x.MarshalText(); err == nil {
					t.Fatalf("MarshalText(%q) succeeded", s)
				}
				if err := new(Code).UnmarshalText([]byte(s)); err == nil {
					t.Fatalf("UnmarshalText(%q) succeeded", s)
				}
			}
			return
		}
		if c.String() != s {
			t.Fatalf("Parse(%q) = %q", s, c)
		}
		if again, err := Parse(c.String()); err != nil || again != c {
			t.Fatalf("round trip: Parse(%q) = %q, %v", c, again, err)
		}
		if !c.Valid() || c.Level() < Province || c.Level() > Township {
			t.Fatalf("%q: valid %v, level %v", c, c.Valid(), c.Level())
		}
		if !c.Contains(c) {
			t.Fatalf("%q does not contain itself", c)
		}
		p := c.Parent()
		if c.Level() == Province {
			if p != "" {
				t.Fatalf("province %q has parent %q", c, p)
			}
		} else if !p.Valid() || p.Level() != c.Level()-1 || !p.Contains(c) || c.Contains(p) {
			t.Fatalf("%q: bad parent %q", c, p)
		}
		if cty := c.County(); (c.Level() >= County) != (cty != "") || (cty != "" && (cty.Level() != County || !cty.Contains(c))) {
			t.Fatalf("%q: bad county %q", c, cty)
		}
		text, err := c.MarshalText()
		if err != nil || string(text) != s {
			t.Fatalf("MarshalText(%q) = %q, %v", c, text, err)
		}
		var back Code
		if err := back.UnmarshalText(text); err != nil || back != c {
			t.Fatalf("UnmarshalText(%q) = %q, %v", text, back, err)
		}
	})
}

// FuzzParseDirectory checks that ParseDirectory never panics, refuses with
// ErrBadDirectory, and that every accepted directory keeps its invariants
// and survives a MarshalJSON/ParseDirectory round trip.
func FuzzParseDirectory(f *testing.F) {
	f.Add(LuoyangJSON()) // not a file: it would go stale with every edit of luoyang.json
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDirectory(data)
		if err != nil {
			if !errors.Is(err, ErrBadDirectory) {
				t.Fatalf("error %v does not wrap ErrBadDirectory", err)
			}
			return
		}
		units := d.Units()
		if len(units) == 0 || len(units) != d.Len() {
			t.Fatalf("%d units, Len %d", len(units), d.Len())
		}
		root := d.Root()
		if lv := root.Level(); lv != Province && lv != City {
			t.Fatalf("root %v is a %v", root, lv)
		}
		for i, u := range units {
			if again, err := Parse(u.Code.String()); err != nil || again != u.Code {
				t.Fatalf("unit code %q does not round-trip", u.Code)
			}
			if i > 0 && units[i-1].Code >= u.Code {
				t.Fatalf("units not strictly sorted at %v", u)
			}
			if u.Name == "" {
				t.Fatalf("%q has an empty name", u.Code)
			}
			path := d.Path(u.Code)
			if len(path) == 0 || path[0] != root || path[len(path)-1] != u {
				t.Fatalf("Path(%s) = %v", u.Code, path)
			}
			for k := 1; k < len(path); k++ {
				if path[k].Code.Parent() != path[k-1].Code {
					t.Fatalf("Path(%s) = %v skips a level", u.Code, path)
				}
			}
			if i < 20 && !slices.Contains(d.Search(u.Name), u) {
				t.Fatalf("Search(%q) does not find %v", u.Name, u)
			}
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		d2, err := ParseDirectory(b)
		if err != nil {
			t.Fatalf("re-parsing marshaled directory: %v\n%s", err, b)
		}
		if !slices.Equal(d2.Units(), units) || d2.Note() != d.Note() {
			t.Fatalf("round trip changed the directory")
		}
	})
}

// fuzzSeeds is the committed seed corpus. TestFuzzSeedCorpus checks that
// testdata/fuzz holds these files (plus any the fuzzer added), and rewrites
// them with -update-fuzz-seeds.
func fuzzSeeds() map[string]map[string]any {
	const city = `{"code":"410300","name":"洛阳市","kind":"市"}`
	const county = `{"code":"410324","name":"栾川县","kind":"县"}`
	const town = `{"code":"410324101","name":"赤土店镇","kind":"镇"}`
	return map[string]map[string]any{
		"FuzzParse": {
			"province":        "410000",
			"city":            "410300",
			"county":          "410324",
			"township":        "410324101",
			"street":          "410305001",
			"empty":           "",
			"province_00":     "000000",
			"county_no_city":  "410024",
			"township_000":    "410324000",
			"township_city":   "410300101",
			"village":         "410324101001",
			"five_digits":     "41032",
			"fullwidth":       "４１０３２４",
			"space":           " 410324",
			"ideographic_sp":  "410324\u3000",
			"letters":         "41032a",
			"chinese":         "栾川县",
			"invalid_utf8":    "41032\xff",
			"fifteen_digits":  "410324101001111",
			"municipal_child": "110101",
		},
		"FuzzParseDirectory": {
			"array":          []byte(`[` + city + `,` + county + `,` + town + `]`),
			"object":         []byte(`{"note":"n","units":[` + city + `,` + county + `,` + town + `]}`),
			"no_kind":        []byte(`[{"code":"410300","name":"洛阳市"}]`),
			"bom":            []byte("\ufeff[" + city + "]"),
			"empty":          []byte(``),
			"empty_array":    []byte(`[]`),
			"missing_parent": []byte(`[` + city + `,` + town + `]`),
			"duplicate":      []byte(`[` + city + `,` + county + `,` + county + `]`),
			"two_roots":      []byte(`[` + city + `,{"code":"410200","name":"开封市","kind":"市"}]`),
			"bad_kind":       []byte(`[{"code":"410300","name":"洛阳市","kind":"镇"}]`),
			"unknown_field":  []byte(`[{"code":"410300","name":"洛阳市","kind":"市","x":1}]`),
			"trailing":       []byte(`[` + city + `]]`),
			"fullwidth_name": []byte(`[{"code":"410300","name":"ＡＢ市","kind":"市"}]`),
			"spaced_name":    []byte(`[{"code":"410300","name":"洛 阳\u3000市","kind":"市"}]`),
			"digits_in_name": []byte(`[{"code":"410300","name":"洛阳 123","kind":""}]`),
		},
	}
}

// corpusFile renders one value in the "go test fuzz v1" format.
func corpusFile(v any) []byte {
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	switch v := v.(type) {
	case string:
		fmt.Fprintf(&b, "string(%s)\n", strconv.Quote(v))
	case []byte:
		fmt.Fprintf(&b, "[]byte(%s)\n", strconv.Quote(string(v)))
	default:
		panic(fmt.Sprintf("unsupported corpus type %T", v))
	}
	return b.Bytes()
}

func TestFuzzSeedCorpus(t *testing.T) {
	for target, seeds := range fuzzSeeds() {
		dir := filepath.Join("testdata", "fuzz", target)
		if *updateFuzzSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for name, v := range seeds {
			path := filepath.Join(dir, "seed_"+name)
			want := corpusFile(v)
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
