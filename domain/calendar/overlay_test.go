package calendar

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestOverlayExampleFile(t *testing.T) {
	o, err := LoadOverlayFile("testdata/overlay-example.json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(o.Source(), "2028") || !reflect.DeepEqual(o.Years(), []int{2028}) {
		t.Fatalf("Source %q, Years %v", o.Source(), o.Years())
	}
	base := Default()
	cal := base.WithOverlay(o)
	if !cal.Covers(2028) || base.Covers(2028) {
		t.Fatalf("Covers(2028): overlay %v, base %v", cal.Covers(2028), base.Covers(2028))
	}
	for _, c := range []struct {
		date string
		kind DayKind
		name string
	}{
		{"2028-01-01", Holiday, "元旦"},
		{"2028-01-03", Holiday, "元旦"},
		{"2028-01-04", Workday, ""},
		{"2028-01-23", AdjustedWorkday, "春节"},
		{"2028-01-29", Holiday, "春节"},
		{"2028-02-01", Holiday, "春节"},
		{"2028-02-05", AdjustedWorkday, "春节"},
		{"2028-02-06", Weekend, ""},
		{"2028-09-30", AdjustedWorkday, "国庆节、中秋节"},
		{"2028-10-04", Holiday, "国庆节、中秋节"},
		{"2028-10-08", AdjustedWorkday, "国庆节、中秋节"},
	} {
		d := mustDate(t, c.date)
		if got := cal.Kind(d); got != c.kind {
			t.Errorf("Kind(%s) = %v, want %v", d, got, c.kind)
		}
		if got := cal.HolidayName(d); got != c.name {
			t.Errorf("HolidayName(%s) = %q, want %q", d, got, c.name)
		}
	}
	// Results change, and stop being estimates.
	start := mustDate(t, "2027-12-31")
	if d, err := base.AddWorkingDays(start, 1); d.String() != "2028-01-03" || !errors.Is(err, ErrYearNotCovered) {
		t.Errorf("base: %s, %v", d, err)
	}
	if d, err := cal.AddWorkingDays(start, 1); d.String() != "2028-01-04" || err != nil {
		t.Errorf("overlay: %s, %v", d, err)
	}
	if d, err := cal.AddWorkingDays(mustDate(t, "2028-01-21"), 1); d.String() != "2028-01-23" || err != nil {
		t.Errorf("overlay adjusted Sunday: %s, %v", d, err)
	}
	// Other years are untouched.
	if d, err := cal.AddWorkingDays(mustDate(t, "2026-09-30"), 7); d.String() != "2026-10-15" || err != nil {
		t.Errorf("2026 with overlay: %s, %v", d, err)
	}
}

func TestOverlayReplacesYearWholesale(t *testing.T) {
	o := mustOverlay(t, `{"format":1,"source":"test","years":{"2026":{"holidays":[{"name":"元旦","dates":["2026-01-01"]}]}}}`)
	cal := Default().WithOverlay(o)
	if got := cal.Kind(mustDate(t, "2026-10-01")); got != Workday {
		t.Errorf("replaced 2026: Kind(2026-10-01) = %v, want workday (built-in 国庆 dropped)", got)
	}
	if got := cal.Kind(mustDate(t, "2026-01-04")); got != Weekend {
		t.Errorf("replaced 2026: Kind(2026-01-04) = %v, want weekend", got)
	}
	if got := cal.Kind(mustDate(t, "2026-01-01")); got != Holiday {
		t.Errorf("replaced 2026: Kind(2026-01-01) = %v", got)
	}
	if got := Default().Kind(mustDate(t, "2026-10-01")); got != Holiday {
		t.Errorf("Default changed by WithOverlay: %v", got)
	}
	if got := cal.Kind(mustDate(t, "2025-10-01")); got != Holiday {
		t.Errorf("2025 lost: %v", got)
	}
	// Later overlays win over earlier ones.
	o2 := mustOverlay(t, `{"format":1,"source":"test2","years":{"2026":{"holidays":[{"name":"x","dates":["2026-03-03"]}]}}}`)
	cal2 := cal.WithOverlay(o2)
	if cal2.Kind(mustDate(t, "2026-01-01")) != Workday || cal2.HolidayName(mustDate(t, "2026-03-03")) != "x" {
		t.Error("second overlay did not replace the first")
	}
	if Default().WithOverlay(Overlay{}) != Default() {
		t.Error("an empty overlay should return the calendar itself")
	}
}

// The brief's own example, minimal form.
const briefExample = `{"format":1,"source":"国务院办公厅关于2028年部分节假日安排的通知","years":{"2028":{"holidays":[{"name":"元旦","dates":["2028-01-01"]}],"workdays":[{"name":"春节","dates":["2028-01-29"]}]}}}`

func TestParseOverlayMinimal(t *testing.T) {
	cal := Default().WithOverlay(mustOverlay(t, briefExample))
	if cal.Kind(mustDate(t, "2028-01-29")) != AdjustedWorkday || cal.Kind(mustDate(t, "2028-01-01")) != Holiday {
		t.Error("brief example not applied")
	}
}

func TestParseOverlayRejects(t *testing.T) {
	year := func(body string) string {
		return `{"format":1,"source":"s","years":{"2028":` + body + `}}`
	}
	hol := `"holidays":[{"name":"元旦","dates":["2028-01-01"]}]`
	pretty := "{\n  \"format\": 1,\n  \"source\": \"s\",\n  \"years\": {\n    \"2028\": {\n      \"holidays\": [\n        {\"name\": \"元旦\", \"dates\": [\"2028-01-01\", \"2028-02-30\"]}\n      ]\n    }\n  }\n}\n"
	cases := []struct {
		name, in string
		want     []string // substrings of the message
	}{
		{"too big", strings.Repeat(" ", MaxOverlaySize) + briefExample, []string{"limit"}},
		{"empty", "", []string{"empty"}},
		{"blank", " \n\t", []string{"empty"}},
		{"syntax", "{\n\"format\": 1,\n\"source\": \"s\" \"years\": {}}", []string{"line 3", "invalid JSON"}},
		{"truncated", briefExample[:40], []string{"unexpected end"}},
		{"not an object", `[1,2]`, []string{"line 1, col 1: top level: found an array where an object is expected"}},
		{"null", `null`, []string{"top level: found null where an object is expected"}},
		{"format 2", strings.Replace(briefExample, `"format":1`, `"format":2`, 1), []string{"format: is 2"}},
		{"format missing", strings.Replace(briefExample, `"format":1,`, ``, 1), []string{"format: is 0"}},
		{"format string", strings.Replace(briefExample, `"format":1`, `"format":"1"`, 1), []string{"line 1, col 11: format: found a string where an integer is expected"}},
		{"format float", strings.Replace(briefExample, `"format":1`, `"format":1.5`, 1), []string{"format: found number 1.5 where an integer is expected"}},
		{"source missing", strings.Replace(briefExample, `"source":"国务院办公厅关于2028年部分节假日安排的通知",`, ``, 1), []string{"source: is missing"}},
		{"source blank", strings.Replace(briefExample, `国务院办公厅关于2028年部分节假日安排的通知`, `  `, 1), []string{"source: is missing"}},
		{"source control", strings.Replace(briefExample, `国务院办公厅关于2028年部分节假日安排的通知`, `a\u0007b`, 1), []string{"source", "control"}},
		{"no years", `{"format":1,"source":"s","years":{}}`, []string{"years: lists no year"}},
		{"years null", `{"format":1,"source":"s","years":null}`, []string{"years: lists no year"}},
		{"short year key", strings.Replace(briefExample, `"2028"`, `"28"`, 1), []string{`years["28"]`, "four digits"}},
		{"padded year key", strings.Replace(briefExample, `"2028"`, `"02028"`, 1), []string{"four digits"}},
		{"alpha year key", strings.Replace(briefExample, `"2028"`, `"2o28"`, 1), []string{"four digits"}},
		{"no holidays", year(`{"workdays":[{"name":"春节","dates":["2028-01-29"]}]}`), []string{`years["2028"].holidays: lists no holiday`}},
		{"empty name", year(`{"holidays":[{"name":" ","dates":["2028-01-01"]}]}`), []string{`holidays[0].name: is missing`}},
		{"no dates", year(`{"holidays":[{"name":"元旦","dates":[]}]}`), []string{`holidays[0].dates: lists no date`}},
		{"not a real date", year(`{"holidays":[{"name":"元旦","dates":["2028-02-30"]}]}`), []string{`dates[0]`, `"2028-02-30" is not a real date`}},
		{"loose date form", year(`{"holidays":[{"name":"元旦","dates":["2028-1-1"]}]}`), []string{`"2028-1-1" is not a real date`}},
		{"date outside year", year(`{"holidays":[{"name":"元旦","dates":["2027-12-31","2028-01-01"]}]}`), []string{`dates[0]`, "2027-12-31 is not in 2028"}},
		{"workday outside year", year(`{` + hol + `,"workdays":[{"name":"元旦","dates":["2029-01-06"]}]}`), []string{"2029-01-06 is not in 2028"}},
		{"holiday and workday", year(`{"holidays":[{"name":"春节","dates":["2028-01-29"]}],"workdays":[{"name":"春节","dates":["2028-01-29"]}]}`), []string{`workdays[0].dates[0]`, "both as a holiday and as a workday", `holidays[0].dates[0]`}},
		{"holiday twice", year(`{"holidays":[{"name":"a","dates":["2028-01-01"]},{"name":"b","dates":["2028-01-01"]}]}`), []string{"listed twice"}},
		{"workday on weekday", year(`{` + hol + `,"workdays":[{"name":"春节","dates":["2028-01-27"]}]}`), []string{"2028-01-27 is a Thursday", "Saturdays or Sundays"}},
		{"unknown top field", strings.Replace(briefExample, `"format":1,`, `"format":1,"comment":"x",`, 1), []string{`top level: unknown field "comment"`, "line 1, col 13"}},
		{"unknown year field", year(`{` + hol + `,"holiday":[]}`), []string{`unknown field "holiday"`, "holidays, workdays"}},
		{"wrong-case field", year(`{"holidays":[{"Name":"元旦","dates":["2028-01-01"]}]}`), []string{`unknown field "Name"`}},
		{"repeated key", strings.Replace(briefExample, `"format":1,`, `"format":1,"format":1,`, 1), []string{`key "format" appears twice`}},
		{"repeated year", `{"format":1,"source":"s","years":{"2028":{` + hol + `},"2028":{` + hol + `}}}`, []string{`years: key "2028" appears twice`}},
		{"trailing data", briefExample + " {}", []string{"after the top-level object"}},
		{"trailing garbage", briefExample + "x", []string{"after the top-level object"}},
		{"dates not array", year(`{"holidays":[{"name":"元旦","dates":"2028-01-01"}]}`), []string{"line 1, col 76: years[\"2028\"].holidays[0].dates: found a string where an array is expected"}},
		{"date not string", year(`{"holidays":[{"name":"元旦","dates":[20280101]}]}`), []string{`dates[0]: found number 20280101 where a string is expected`}},
		{"year not object", `{"format":1,"source":"s","years":{"2028":[]}}`, []string{`years["2028"]: found an array where an object is expected`}},
		{"huge format", strings.Replace(briefExample, `"format":1`, `"format":1e400`, 1), []string{"format: found number 1e400 where an integer is expected"}},
		{"deep nesting", `{"format":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, []string{"format: found an array where an integer is expected"}},
		{"position of bad date", pretty, []string{"line 7, col 48", `holidays[0].dates[1]`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, err := ParseOverlay([]byte(c.in))
			if !errors.Is(err, ErrBadOverlay) {
				t.Fatalf("err = %v, want ErrBadOverlay", err)
			}
			t.Log(err)
			if !reflect.DeepEqual(o, Overlay{}) {
				t.Errorf("non-zero Overlay returned with error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestOverlayMarshalRoundTrip(t *testing.T) {
	data, err := os.ReadFile("testdata/overlay-example.json")
	if err != nil {
		t.Fatal(err)
	}
	o1, err := ParseOverlay(data)
	if err != nil {
		t.Fatal(err)
	}
	b1, err := o1.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	o2, err := ParseOverlay(b1)
	if err != nil {
		t.Fatalf("canonical form does not parse: %v\n%s", err, b1)
	}
	if !reflect.DeepEqual(o1, o2) {
		t.Fatal("round trip changed the overlay")
	}
	b2, _ := o2.MarshalJSON()
	if !bytes.Equal(b1, b2) {
		t.Fatalf("not canonical:\n%s\n%s", b1, b2)
	}
	// Order of input does not matter.
	shuffled := `{"years":{"2028":{"workdays":[{"dates":["2028-02-05","2028-01-23"],"name":"春节"},{"name":"国庆节、中秋节","dates":["2028-10-08","2028-09-30"]}],"holidays":[
		{"name":"国庆节、中秋节","dates":["2028-10-07","2028-10-06","2028-10-05","2028-10-04","2028-10-03","2028-10-02","2028-10-01"]},
		{"name":"春节","dates":["2028-02-01","2028-01-31","2028-01-30","2028-01-29","2028-01-28","2028-01-27","2028-01-26","2028-01-25"]},
		{"name":"元旦","dates":["2028-01-03","2028-01-02","2028-01-01"]}]}},
		"source":` + string(mustJSON(t, o1.Source())) + `,"format":1}`
	b3, _ := mustOverlay(t, shuffled).MarshalJSON()
	if !bytes.Equal(b1, b3) {
		t.Errorf("canonical form depends on input order:\n%s\n%s", b1, b3)
	}
	// encoding/json integration.
	type config struct {
		Holidays Overlay `json:"holidays"`
	}
	enc, err := json.Marshal(config{o1})
	if err != nil {
		t.Fatal(err)
	}
	var back config
	if err := json.Unmarshal(enc, &back); err != nil || !reflect.DeepEqual(back.Holidays, o1) {
		t.Fatalf("embedded round trip: %v", err)
	}
	if err := json.Unmarshal([]byte(`{"holidays":{"format":3}}`), &back); !errors.Is(err, ErrBadOverlay) {
		t.Errorf("embedded bad overlay: %v", err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestExportOverlayRoundTripsBuiltinData(t *testing.T) {
	base := Default()
	o, err := base.ExportOverlay(BuiltinSource, base.Years()...)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := o.MarshalJSON()
	if len(b) > MaxOverlaySize {
		t.Fatalf("export of all years is %d bytes", len(b))
	}
	parsed, err := ParseOverlay(b)
	if err != nil {
		t.Fatal(err)
	}
	rebuilt := (*Calendar)(nil).WithOverlay(parsed)
	if !reflect.DeepEqual(rebuilt.Years(), base.Years()) {
		t.Fatalf("years %v vs %v", rebuilt.Years(), base.Years())
	}
	for d := NewDate(base.Years()[0], 1, 1); d.Year <= 2027; d = d.AddDays(1) {
		if base.Kind(d) != rebuilt.Kind(d) || base.HolidayName(d) != rebuilt.HolidayName(d) {
			t.Fatalf("%s: %v %q vs %v %q", d, base.Kind(d), base.HolidayName(d), rebuilt.Kind(d), rebuilt.HolidayName(d))
		}
	}
	if _, err := base.ExportOverlay("x", 2040); !errors.Is(err, ErrYearNotCovered) {
		t.Errorf("export 2040: %v", err)
	}
	if _, err := base.ExportOverlay("", 2026); !errors.Is(err, ErrBadOverlay) {
		t.Errorf("export without source: %v", err)
	}
	if _, err := base.ExportOverlay("x"); !errors.Is(err, ErrBadOverlay) {
		t.Errorf("export without years: %v", err)
	}
}

func TestLoadOverlayFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadOverlayFile(filepath.Join(dir, "missing.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"format":2}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOverlayFile(bad); !errors.Is(err, ErrBadOverlay) || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad file: %v", err)
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, bytes.Repeat([]byte(" "), MaxOverlaySize+10), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOverlayFile(big); !errors.Is(err, ErrBadOverlay) || !strings.Contains(err.Error(), "limit") {
		t.Errorf("big file: %v", err)
	}
}
