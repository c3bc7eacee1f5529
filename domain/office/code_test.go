package office

import (
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	for _, tc := range []struct {
		in    string
		level Level
	}{
		{"410000", Province},
		{"110000", Province},
		{"410300", City},
		{"419000", City},
		{"110100", City},
		{"410324", County},
		{"410302", County},
		{"419001", County},
		{"410324101", Township},
		{"410324001", Township},
		{"410304200", Township},
		{"410324999", Township},
		{"410311194", Township},
	} {
		c, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q) = %v", tc.in, err)
			continue
		}
		if c.String() != tc.in || !c.Valid() {
			t.Errorf("Parse(%q) = %q, valid %v", tc.in, c, c.Valid())
		}
		if c.Level() != tc.level {
			t.Errorf("%s.Level() = %v, want %v", c, c.Level(), tc.level)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range []struct {
		in, reason string
	}{
		{"", "empty"},
		{"000000", `province digits "00"`},
		{"001234", `province digits "00"`},
		{"410024", "county digits set under a zero city part"},
		{"410324000", `township digits "000"`},
		{"410300101", "must start with a county code"},
		{"410000101", "must start with a county code"},
		{"000101101", "must start with a county code"},
		{"410024101", "must start with a county code"},
		{"410324101001", "12-digit village-level codes"},
		{"410324101001111", "15 digits"},
		{"41032", "5 digits"},
		{"4103241", "7 digits"},
		{"41032410", "8 digits"},
		{"4103241011", "10 digits"},
		{" 410324", "whitespace at byte 0"},
		{"410324 ", "whitespace at byte 6"},
		{"410 324", "whitespace"},
		{"410324\n", "whitespace"},
		{"４１０３２４", "full-width digit"},
		{"41032４", "full-width digit"},
		{"410324\u3000", "whitespace"},
		{"41032a", `non-digit 'a'`},
		{"-41032", "non-digit '-'"},
		{"+410324", "non-digit '+'"},
		{"41.324", "non-digit '.'"},
		{"栾川县", "non-digit"},
		{"٤١٠٣٢٤", "non-digit"}, // Arabic-Indic digits
		{"41032\xff", "UTF-8"},
	} {
		c, err := Parse(tc.in)
		if !errors.Is(err, ErrInvalidCode) {
			t.Errorf("Parse(%q) = %q, %v; want ErrInvalidCode", tc.in, c, err)
			continue
		}
		if c != "" {
			t.Errorf("Parse(%q) returned %q with an error", tc.in, c)
		}
		if !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("Parse(%q) error %q does not mention %q", tc.in, err, tc.reason)
		}
		if Code(tc.in).Valid() {
			t.Errorf("Code(%q).Valid() = true", tc.in)
		}
	}
}

func TestParseLongInputTruncatedInError(t *testing.T) {
	_, err := Parse(strings.Repeat("9", 10000))
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("error for long input is %d bytes", len(err.Error()))
	}
}

func TestHierarchy(t *testing.T) {
	for _, tc := range []struct {
		c, parent, county Code
	}{
		{"410324101", "410324", "410324"},
		{"410324", "410300", "410324"},
		{"410300", "410000", ""},
		{"410000", "", ""},
		{"419001", "419000", "419001"},
		{"", "", ""},
		{"bogus", "", ""},
		{"410324000", "", ""},
		{"410324101001", "", ""},
	} {
		if got := tc.c.Parent(); got != tc.parent {
			t.Errorf("%q.Parent() = %q, want %q", tc.c, got, tc.parent)
		}
		if got := tc.c.County(); got != tc.county {
			t.Errorf("%q.County() = %q, want %q", tc.c, got, tc.county)
		}
	}
	if Code("bogus").Level() != 0 || Level(0).String() != "invalid" {
		t.Error("invalid code should have level 0, \"invalid\"")
	}
}

func TestLevelString(t *testing.T) {
	for l, want := range map[Level]string{
		Province: "province", City: "city", County: "county", Township: "township",
		0: "invalid", 9: "Level(9)",
	} {
		if got := l.String(); got != want {
			t.Errorf("Level(%d).String() = %q, want %q", l, got, want)
		}
	}
}

func TestContains(t *testing.T) {
	for _, tc := range []struct {
		c, o Code
		want bool
	}{
		{"410000", "410324101", true},
		{"410300", "410324101", true},
		{"410324", "410324101", true},
		{"410324101", "410324101", true},
		{"410324", "410324", true},
		{"410300", "410324", true},
		{"410000", "410300", true},
		{"410324101", "410324", false},
		{"410324", "410300", false},
		{"410325", "410324101", false},
		{"410300", "410424101", false},
		{"410000", "420300", false},
		{"410324", "410324000", false}, // invalid o
		{"410324", "41032410", false},
		{"", "410324", false},
		{"", "", false},
		{"bogus", "bogus", false},
		{"410324", "", false},
		{"41", "410324", false},
		{"4103", "410324", false},
	} {
		if got := tc.c.Contains(tc.o); got != tc.want {
			t.Errorf("%q.Contains(%q) = %v, want %v", tc.c, tc.o, got, tc.want)
		}
	}
}

func TestInScope(t *testing.T) {
	for _, tc := range []struct {
		own   Code
		admin bool
		o     Code
		want  bool
	}{
		{"410324101", false, "410324101", true},
		{"410324101", false, "410324102", false},
		{"410324101", false, "410324", false},
		{"410324", false, "410324101", false}, // a county code without admin: itself only
		{"410324", false, "410324", true},
		{"410324", true, "410324101", true},
		{"410324", true, "410324", true},
		{"410324", true, "410325101", false},
		{"410324101", true, "410324102", false}, // admin of a township reaches no neighbour
		{"", true, "", false},
	} {
		if got := InScope(tc.own, tc.admin, tc.o); got != tc.want {
			t.Errorf("InScope(%q, %v, %q) = %v, want %v", tc.own, tc.admin, tc.o, got, tc.want)
		}
	}
}

func TestTextMarshaling(t *testing.T) {
	type rec struct {
		Office Code `json:"office"`
	}
	b, err := json.Marshal(rec{Office: "410324101"})
	if err != nil || string(b) != `{"office":"410324101"}` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var r rec
	if err := json.Unmarshal(b, &r); err != nil || r.Office != "410324101" {
		t.Fatalf("Unmarshal = %+v, %v", r, err)
	}
	// The zero Code round-trips, for optional fields.
	b, err = json.Marshal(rec{})
	if err != nil || string(b) != `{"office":""}` {
		t.Fatalf("Marshal(zero) = %s, %v", b, err)
	}
	if err := json.Unmarshal(b, &r); err != nil || r.Office != "" {
		t.Fatalf("Unmarshal(zero) = %+v, %v", r, err)
	}
	if _, err := json.Marshal(rec{Office: "410324000"}); !errors.Is(err, ErrInvalidCode) {
		t.Errorf("Marshal(invalid) = %v, want ErrInvalidCode", err)
	}
	for _, in := range []string{`{"office":"４１０３２４"}`, `{"office":"410324101001"}`, `{"office":" 410324"}`} {
		if err := json.Unmarshal([]byte(in), &r); !errors.Is(err, ErrInvalidCode) {
			t.Errorf("Unmarshal(%s) = %v, want ErrInvalidCode", in, err)
		}
	}
	var c Code
	if err := c.UnmarshalText([]byte("410300")); err != nil || c != "410300" {
		t.Errorf("UnmarshalText = %q, %v", c, err)
	}
}

func TestLogValue(t *testing.T) {
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("x", "office", Code("410324101"))
	if !strings.Contains(b.String(), "office=410324101") {
		t.Errorf("log line %q", b.String())
	}
	if v := Code("410324").LogValue(); v.Kind() != slog.KindString || v.String() != "410324" {
		t.Errorf("LogValue = %v", v)
	}
}

func TestMustParse(t *testing.T) {
	if MustParse("410324") != "410324" {
		t.Fatal("MustParse")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("MustParse did not panic on an invalid code")
		}
	}()
	MustParse("410324000")
}
