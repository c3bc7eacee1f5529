package office

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The 14 county-level units the project serves, from the brief.
var wantCounties = []Unit{
	{"410302", "老城区", "区"},
	{"410303", "西工区", "区"},
	{"410304", "瀍河回族区", "区"},
	{"410305", "涧西区", "区"},
	{"410307", "偃师区", "区"},
	{"410308", "孟津区", "区"},
	{"410311", "洛龙区", "区"},
	{"410323", "新安县", "县"},
	{"410324", "栾川县", "县"},
	{"410325", "嵩县", "县"},
	{"410326", "汝阳县", "县"},
	{"410327", "宜阳县", "县"},
	{"410328", "洛宁县", "县"},
	{"410329", "伊川县", "县"},
}

func names(us []Unit) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.Name
	}
	return out
}

func TestLuoyangCounties(t *testing.T) {
	got := Luoyang().Counties()
	if !slices.Equal(got, wantCounties) {
		t.Fatalf("Counties() =\n%v\nwant\n%v", got, wantCounties)
	}
}

func TestLuoyangInvariants(t *testing.T) {
	d := Luoyang()
	if d.Root() != (Unit{"410000", "河南省", ""}) {
		t.Errorf("root = %v", d.Root())
	}
	if u, ok := d.Lookup("410300"); !ok || u.Name != "洛阳市" || u.Kind != "市" {
		t.Errorf("洛阳市 = %v, %v", u, ok)
	}
	if !strings.Contains(d.Note(), "统计用区划代码") {
		t.Errorf("note does not explain provenance: %q", d.Note())
	}
	units := d.Units()
	if len(units) != d.Len() {
		t.Fatal("Len and Units disagree")
	}
	if !slices.IsSortedFunc(units, func(a, b Unit) int { return strings.Compare(string(a.Code), string(b.Code)) }) {
		t.Error("units not sorted")
	}
	for _, u := range units {
		if _, err := Parse(string(u.Code)); err != nil {
			t.Errorf("%v: %v", u, err)
		}
		if strings.TrimSpace(u.Name) == "" {
			t.Errorf("%v: empty name", u)
		}
		if u.Code != d.Root().Code {
			if _, ok := d.Lookup(u.Code.Parent()); !ok {
				t.Errorf("%v: parent %s missing", u, u.Code.Parent())
			}
		}
		if got, _ := d.Lookup(u.Code); got != u {
			t.Errorf("Lookup(%s) = %v", u.Code, got)
		}
		if u.Level() == Township {
			// Statistical numbering: 街道 0xx, 镇 1xx, 乡 2xx-3xx.
			suffix := string(u.Code)[6:]
			want := map[byte]string{'0': "街道", '1': "镇", '2': "乡", '3': "乡"}[suffix[0]]
			if u.Kind != want {
				t.Errorf("%v: kind %q does not match suffix %s (want %q)", u, u.Kind, suffix, want)
			}
		}
	}
	for _, c := range wantCounties {
		ts := d.Townships(c.Code)
		if len(ts) < 5 {
			t.Errorf("%v has %d townships, want at least 5", c, len(ts))
		}
		for _, u := range ts {
			if u.Code.Parent() != c.Code || u.Level() != Township {
				t.Errorf("%v listed under %v", u, c)
			}
		}
	}
}

func TestLuoyangKnownUnits(t *testing.T) {
	d := Luoyang()
	for code, name := range map[Code]string{
		"410324101": "赤土店镇",
		"410324203": "秋扒乡",
		"410324200": "栾川乡",
		"410305001": "湖北路街道",
		"410305012": "工农街道",
		"410304200": "瀍河回族乡",
		"410328101": "王范回族镇",
		"410311103": "白马寺镇",
		"410308106": "小浪底镇",
		"410329001": "城关街道",
	} {
		if u, ok := d.Lookup(code); !ok || u.Name != name {
			t.Errorf("Lookup(%s) = %v, %v; want %s", code, u, ok, name)
		}
	}
	// 栾川县's towns named in the brief.
	luanchuan := names(d.Townships("410324"))
	for _, n := range []string{"赤土店镇", "合峪镇", "潭头镇", "三川镇", "冷水镇", "陶湾镇", "石庙镇", "庙子镇", "狮子庙镇", "白土镇", "叫河镇", "秋扒乡"} {
		if !slices.Contains(luanchuan, n) {
			t.Errorf("栾川县 lacks %s", n)
		}
	}
	if _, ok := d.Lookup("410371"); ok {
		t.Error("410371 (高新区) is not one of the 14 county-level units")
	}
}

func TestChildrenAndTownships(t *testing.T) {
	d := Luoyang()
	if got := d.Children(""); len(got) != 1 || got[0].Code != "410000" {
		t.Errorf("Children(\"\") = %v", got)
	}
	if got := d.Children("410000"); len(got) != 1 || got[0].Code != "410300" {
		t.Errorf("Children(410000) = %v", got)
	}
	if got := d.Children("410300"); !slices.Equal(got, wantCounties) {
		t.Errorf("Children(410300) = %v", got)
	}
	got := d.Townships("410305")
	if len(got) == 0 || got[0].Name != "湖北路街道" {
		t.Errorf("Townships(涧西区) = %v", got)
	}
	if !slices.IsSortedFunc(got, func(a, b Unit) int { return strings.Compare(string(a.Code), string(b.Code)) }) {
		t.Error("townships not sorted by code")
	}
	for _, c := range []Code{"410300", "410000", "410324101", "410399", "bogus", ""} {
		if ts := d.Townships(c); ts != nil {
			t.Errorf("Townships(%q) = %v, want nil", c, ts)
		}
	}
	if d.Children("410324101") != nil || d.Children("999999") != nil {
		t.Error("leaf or unknown code has children")
	}
	// Returned slices are copies.
	got[0].Name = "changed"
	if d.Townships("410305")[0].Name != "湖北路街道" {
		t.Fatal("caller modified the directory through a returned slice")
	}
}

func TestPath(t *testing.T) {
	d := Luoyang()
	if got := names(d.Path("410324101")); !slices.Equal(got, []string{"河南省", "洛阳市", "栾川县", "赤土店镇"}) {
		t.Errorf("Path(赤土店镇) = %v", got)
	}
	if got := names(d.Path("410300")); !slices.Equal(got, []string{"河南省", "洛阳市"}) {
		t.Errorf("Path(洛阳市) = %v", got)
	}
	if got := names(d.Path("410000")); !slices.Equal(got, []string{"河南省"}) {
		t.Errorf("Path(河南省) = %v", got)
	}
	for _, c := range []Code{"410324999", "", "bogus", "420000"} {
		if p := d.Path(c); p != nil {
			t.Errorf("Path(%q) = %v, want nil", c, p)
		}
	}
}

func TestSearch(t *testing.T) {
	d := Luoyang()
	codes := func(us []Unit) []Code {
		out := make([]Code, len(us))
		for i, u := range us {
			out[i] = u.Code
		}
		return out
	}
	for _, tc := range []struct {
		q    string
		want []Code // exact result, in order
	}{
		{"赤土店", []Code{"410324101"}},
		{"赤土店镇", []Code{"410324101"}},
		{"栾川", []Code{"410324", "410324200"}},
		{"栾川 城关", nil}, // 栾川's 城关镇 became 耕莘街道
		{"嵩县 城关", []Code{"410325100"}},
		{"嵩 城关", []Code{"410325100"}},
		{"城关 嵩县", []Code{"410325100"}},
		{"伊川　城关", []Code{"410329001"}}, // ideographic space
		{"410324", []Code{"410324", "410324001", "410324101", "410324102", "410324103", "410324104", "410324105", "410324106", "410324107", "410324108", "410324109", "410324110", "410324111", "410324200", "410324203"}},
		{"４１０３２４１０１", []Code{"410324101"}}, // full-width digits
		{"41032410", []Code{"410324101", "410324102", "410324103", "410324104", "410324105", "410324106", "410324107", "410324108", "410324109"}},
		{"涧西 工农", []Code{"410305012"}},
		{"回族", []Code{"410304", "410304200", "410328101"}},
		{"洛阳", []Code{"410300"}},
		{"", nil},
		{"   ", nil},
		{"北京", nil},
		{"luanchuan", nil},
		{"999", nil},
	} {
		if got := codes(d.Search(tc.q)); !slices.Equal(got, tc.want) {
			t.Errorf("Search(%q) = %v, want %v", tc.q, got, tc.want)
		}
	}

	// Every 城关镇 is found, exact matches first.
	got := d.Search("城关")
	if len(got) != 7 { // six 城关镇 and 伊川县城关街道
		t.Errorf("Search(城关) found %d units: %v", len(got), names(got))
	}
	for _, u := range got {
		if !strings.HasPrefix(u.Name, "城关") {
			t.Errorf("Search(城关) returned %v", u)
		}
	}
	// Exact name beats substring: "白土" ranks 白土镇 (name minus kind) first.
	if got := d.Search("白土"); len(got) == 0 || got[0].Name != "白土镇" {
		t.Errorf("Search(白土) = %v", got)
	}
	// Counties before their townships at equal rank.
	if got := d.Search("洛宁"); len(got) == 0 || got[0].Code != "410328" {
		t.Errorf("Search(洛宁) = %v", got)
	}
}

func TestSearchFolding(t *testing.T) {
	d, err := ParseDirectory([]byte(`[
		{"code":"410300","name":"洛阳市","kind":"市"},
		{"code":"410371","name":"洛阳高新技术产业开发区","kind":""},
		{"code":"410371401","name":"ＡＢＣ产业园","kind":""},
		{"code":"410371402","name":"Smart Park","kind":""}]`))
	if err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]Code{
		"abc":        "410371401",
		"ＡＢＣ":        "410371401",
		"ａｂｃ产业":      "410371401",
		"SMART":      "410371402",
		"smart park": "410371402",
		"高新 park":    "410371402",
		"４１０３７１４０２":  "410371402",
	} {
		if got := d.Search(q); len(got) != 1 || got[0].Code != want {
			t.Errorf("Search(%q) = %v, want %s", q, got, want)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			d := Luoyang()
			for range 50 {
				d.Search("城关")
				d.Path("410324101")
				d.Townships("410324")
				d.Lookup("410305001")
			}
		})
	}
	wg.Wait()
}

func TestParseDirectoryForms(t *testing.T) {
	array := `[
		{"code":"410300","name":"洛阳市","kind":"市"},
		{"code":"410324","name":"栾川县","kind":"县"},
		{"code":"410324101","name":"赤土店镇","kind":"镇"}
	]`
	d, err := ParseDirectory([]byte(array))
	if err != nil {
		t.Fatal(err)
	}
	if d.Root().Code != "410300" || d.Len() != 3 || d.Note() != "" {
		t.Errorf("root %v, len %d, note %q", d.Root(), d.Len(), d.Note())
	}
	if got := names(d.Path("410324101")); !slices.Equal(got, []string{"洛阳市", "栾川县", "赤土店镇"}) {
		t.Errorf("Path = %v", got)
	}
	// Object form, BOM and surrounding whitespace, units out of order, no kind.
	obj := "\ufeff \n" + `{"note":"test","units":[
		{"code":"410324101","name":"赤土店镇"},
		{"code":"410000","name":"河南省","kind":""},
		{"code":"410300","name":"洛阳市","kind":"市"},
		{"code":"410324","name":"栾川县","kind":"县"}]}` + "\n"
	d, err = ParseDirectory([]byte(obj))
	if err != nil {
		t.Fatal(err)
	}
	if d.Root().Code != "410000" || d.Note() != "test" || d.Units()[3].Code != "410324101" {
		t.Errorf("object form parsed as %v", d.Units())
	}
	// MarshalJSON round-trips.
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := ParseDirectory(b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Units(), d2.Units()) || d.Note() != d2.Note() {
		t.Errorf("round trip changed the directory: %s", b)
	}
	// The embedded default round-trips too, and LuoyangJSON is a copy.
	def := LuoyangJSON()
	def[0] = 'x'
	if LuoyangJSON()[0] == 'x' {
		t.Error("LuoyangJSON shares its buffer")
	}
	b, _ = json.Marshal(Luoyang())
	if d3, err := ParseDirectory(b); err != nil || !slices.Equal(d3.Units(), Luoyang().Units()) {
		t.Errorf("Luoyang round trip: %v", err)
	}
}

func TestParseDirectoryErrors(t *testing.T) {
	const city = `{"code":"410300","name":"洛阳市","kind":"市"}`
	const county = `{"code":"410324","name":"栾川县","kind":"县"}`
	for _, tc := range []struct {
		name, in, reason string
	}{
		{"empty", ``, "empty file"},
		{"spaces", "  \n", "empty file"},
		{"not json", `hello`, "want a JSON array"},
		{"number", `42`, "want a JSON array"},
		{"null", `null`, "want a JSON array"},
		{"empty array", `[]`, "no units"},
		{"empty object", `{}`, "no units"},
		{"null units", `{"units":null}`, "no units"},
		{"truncated", `[` + city, "unexpected EOF"},
		{"trailing data", `[` + city + `] []`, "after the JSON value"},
		{"trailing garbage", `[` + city + `]x`, "after the JSON value"},
		{"unknown unit field", `[{"code":"410300","name":"洛阳市","kind":"市","pop":1}]`, "unknown field"},
		{"unknown top field", `{"units":[` + city + `],"version":2}`, "unknown field"},
		{"invalid code", `[{"code":"410324000","name":"x","kind":""}]`, "invalid division code"},
		{"full-width code", `[{"code":"４１０３００","name":"洛阳市","kind":"市"}]`, "full-width"},
		{"village code", `[` + city + `,` + county + `,{"code":"410324101001","name":"某村","kind":""}]`, "village-level"},
		{"numeric code", `[{"code":410300,"name":"洛阳市","kind":"市"}]`, "cannot unmarshal"},
		{"missing code", `[{"name":"洛阳市","kind":"市"}]`, "has no code"},
		{"empty code", `[{"code":"","name":"洛阳市","kind":"市"}]`, "has no code"},
		{"empty name", `[{"code":"410300","name":"","kind":""}]`, "is empty"},
		{"padded name", `[{"code":"410300","name":" 洛阳市","kind":"市"}]`, "leading or trailing space"},
		{"control in name", `[{"code":"410300","name":"洛阳\u0007市","kind":"市"}]`, "control character"},
		{"long name", `[{"code":"410300","name":"` + strings.Repeat("洛", 65) + `","kind":""}]`, "longer than"},
		{"bad utf8 name", "[{\"code\":\"410300\",\"name\":\"\xff\",\"kind\":\"\"}]", "UTF-8"},
		{"unknown kind", `[{"code":"410300","name":"洛阳市","kind":"地级市"}]`, "not allowed for a city"},
		{"kind for level", `[` + city + `,{"code":"410324","name":"栾川镇","kind":"镇"}]`, "not allowed for a county"},
		{"township kind", `[` + city + `,` + county + `,{"code":"410324101","name":"赤土店县","kind":"县"}]`, "not allowed for a township"},
		{"kind not suffix", `[` + city + `,{"code":"410324","name":"栾川县","kind":"区"}]`, "does not end with its kind"},
		{"name is kind", `[` + city + `,{"code":"410324","name":"县","kind":"县"}]`, "only the kind"},
		{"duplicate", `[` + city + `,` + county + `,` + county + `]`, "duplicate code 410324"},
		{"duplicate sibling name", `[` + city + `,` + county + `,{"code":"410325","name":"栾川县","kind":"县"}]`, "share a name"},
		{"missing county", `[` + city + `,{"code":"410324101","name":"赤土店镇","kind":"镇"}]`, "parent 410324 of 赤土店镇 (410324101) is missing"},
		{"missing city", `[{"code":"410000","name":"河南省","kind":""},` + county + `]`, "parent 410300 of 栾川县 (410324) is missing"},
		{"county root", `[` + county + `]`, "parent 410300"},
		{"two roots", `[` + city + `,{"code":"410200","name":"开封市","kind":"市"}]`, "two roots"},
		{"digit name", `[{"code":"410300","name":"410300","kind":""}]`, "only digits"},
		{"full-width digit name", `[{"code":"410300","name":"４１０３００","kind":""}]`, "only digits"},
		{"two provinces", `[{"code":"410000","name":"河南省","kind":""},{"code":"420000","name":"湖北省","kind":""}]`, "two roots"},
	} {
		d, err := ParseDirectory([]byte(tc.in))
		if !errors.Is(err, ErrBadDirectory) {
			t.Errorf("%s: ParseDirectory = %v, %v; want ErrBadDirectory", tc.name, d, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%s: error %q does not mention %q", tc.name, err, tc.reason)
		}
	}
	// Code errors keep their own sentinel too.
	_, err := ParseDirectory([]byte(`[{"code":"410324000","name":"x","kind":""}]`))
	if !errors.Is(err, ErrInvalidCode) {
		t.Errorf("invalid code in a file: %v does not wrap ErrInvalidCode", err)
	}
	// Too many units.
	var b strings.Builder
	b.WriteString(`[{"code":"410300","name":"洛阳市","kind":"市"}`)
	for i := range maxUnits {
		fmt.Fprintf(&b, `,{"code":"%06d","name":"x"}`, 110101+i%9) // validity is checked after the count
	}
	b.WriteString("]")
	if _, err := ParseDirectory([]byte(b.String())); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("too many units: %v", err)
	}
	// Oversized input is refused before parsing.
	big := make([]byte, maxDirectoryBytes+1)
	if _, err := ParseDirectory(big); !errors.Is(err, ErrBadDirectory) {
		t.Errorf("oversized: %v", err)
	}
}

func BenchmarkSearch(b *testing.B) {
	d := Luoyang()
	for b.Loop() {
		d.Search("嵩 城关")
	}
}
