package theme

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	ftheme "fyne.io/fyne/v2/theme"
	"github.com/go-text/typesetting/font"
	"golang.org/x/text/encoding/simplifiedchinese"

	"jiannuo/assets"
)

// repoRoot is the module root, seen from this package's directory (go test
// runs in app/theme).
const repoRoot = "../.."

// parseFont parses data with the same loader Fyne's painter uses
// (go-text/typesetting font.ParseTTF, in fyne/internal/painter).
func parseFont(t *testing.T, name string, data []byte) *font.Face {
	t.Helper()
	if len(data) == 0 {
		t.Fatalf("%s: embedded font is empty", name)
	}
	face, err := font.ParseTTF(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: Fyne's font loader rejects it: %v", name, err)
	}
	return face
}

func embeddedFaces(t *testing.T) map[string]*font.Face {
	return map[string]*font.Face{
		FontRegularName: parseFont(t, FontRegularName, assets.FontCJK()),
		FontBoldName:    parseFont(t, FontBoldName, assets.FontCJKBold()),
	}
}

func TestFontsParse(t *testing.T) {
	const budget = 4 << 20 // docs/fonts.md: both faces together under 4 MiB
	total := len(assets.FontCJK()) + len(assets.FontCJKBold())
	if total > budget {
		t.Errorf("embedded fonts are %d bytes, over the %d-byte budget", total, budget)
	}
	for name, face := range embeddedFaces(t) {
		// The same check Fyne makes when it picks a face for a rune
		// (dynamicFontMap.ResolveFace): a nominal glyph for the rune.
		for _, r := range "践诺 Jiannuo 0-9，。" {
			if _, ok := face.NominalGlyph(r); !ok {
				t.Errorf("%s: no glyph for %q", name, r)
			}
		}
		// A glyph id does not prove an outline: the rune must also advance.
		gid, _ := face.NominalGlyph('诺')
		if adv := face.HorizontalAdvance(gid); adv <= 0 {
			t.Errorf("%s: 诺 has advance %v", name, adv)
		}
	}
}

// coverageFiles are the files whose characters must all render (keep in step
// with SCANNED in tools/fontsubset/subset.py). For JSON files only the string
// values count; Go files are scanned whole (a superset of their strings).
var coverageFiles = []string{
	"assets/i18n/*.json",
	"demo/*.go",
	"domain/office/luoyang.json",
}

// runeSource names where a character was seen, for the failure message.
type runeSource map[rune]string

func (s runeSource) addString(where, text string) {
	for _, r := range text {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) { // control characters need no glyph
			continue
		}
		if _, ok := s[r]; !ok {
			s[r] = where
		}
	}
}

// addJSON adds every string value (not key) found anywhere in a JSON document.
func (s runeSource) addJSON(t *testing.T, where string, data []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			s.addString(where, v)
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(v)
}

func requiredRunes(t *testing.T) runeSource {
	t.Helper()
	need := runeSource{}
	for _, pattern := range coverageFiles {
		paths, err := filepath.Glob(filepath.Join(repoRoot, filepath.FromSlash(pattern)))
		if err != nil || len(paths) == 0 {
			t.Fatalf("no file matches %s (err %v)", pattern, err)
		}
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(repoRoot, p)
			if strings.HasSuffix(p, ".json") {
				need.addJSON(t, rel, data)
			} else {
				need.addString(rel, string(data))
			}
		}
	}
	extra, err := os.ReadFile(filepath.Join(repoRoot, "tools", "fontsubset", "extra.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(extra), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			need.addString("tools/fontsubset/extra.txt", strings.Join(strings.Fields(line), ""))
		}
	}
	return need
}

// TestNoTofu is the "no tofu boxes" guarantee: every character the app can
// show from its own files (translations, demo data, office directory) and
// the extra name characters have a glyph in both embedded faces, so they
// render on a machine without any CJK system font. The CI screenshot step
// (.ci/screenshot.sh) relies on this test for the tofu part of its check.
//
// On failure: run tools/fontsubset/subset.py and commit assets/fonts/.
func TestNoTofu(t *testing.T) {
	need := requiredRunes(t)
	if len(need) < 500 {
		t.Fatalf("only %d distinct characters found: are the scanned files in place?", len(need))
	}
	for name, face := range embeddedFaces(t) {
		var missing []string
		for r, where := range need {
			if unicode.IsSpace(r) && r != ' ' && r != '\u3000' {
				continue // line and paragraph separators, tabs: never drawn
			}
			if _, ok := face.NominalGlyph(r); !ok {
				missing = append(missing, fmt.Sprintf("%c U+%04X (%s)", r, r, where))
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("%s lacks %d characters; run tools/fontsubset/subset.py and commit assets/fonts/:\n  %s",
				name, len(missing), strings.Join(missing, "\n  "))
		}
	}
}

// gb2312Hanzi returns the 6,763 hanzi of GB2312: the codes 0xB0A1–0xF7FE
// (rows 16–87), less 0xD7FA–0xD7FE, decoded as EUC-CN (GBK is a superset with
// the same codes there).
func gb2312Hanzi(t *testing.T) []rune {
	t.Helper()
	dec := simplifiedchinese.GBK.NewDecoder()
	var out []rune
	for hi := 0xb0; hi <= 0xf7; hi++ {
		for lo := 0xa1; lo <= 0xfe; lo++ {
			if hi == 0xd7 && lo >= 0xfa {
				continue
			}
			b, err := dec.Bytes([]byte{byte(hi), byte(lo)})
			if err != nil {
				t.Fatalf("decoding %02X%02X: %v", hi, lo, err)
			}
			rs := []rune(string(b))
			if len(rs) != 1 || !unicode.Is(unicode.Han, rs[0]) {
				t.Fatalf("%02X%02X decodes to %q, not one hanzi", hi, lo, b)
			}
			out = append(out, rs[0])
		}
	}
	return out
}

// TestGB2312Covered: beyond the app's own strings, anything staff type that
// is in GB2312 renders too.
func TestGB2312Covered(t *testing.T) {
	hanzi := gb2312Hanzi(t)
	if len(hanzi) != 6763 {
		t.Fatalf("GB2312 has 6763 hanzi, generated %d", len(hanzi))
	}
	for name, face := range embeddedFaces(t) {
		var missing []rune
		for _, r := range hanzi {
			if _, ok := face.NominalGlyph(r); !ok {
				missing = append(missing, r)
			}
		}
		if len(missing) > 0 {
			t.Errorf("%s lacks %d GB2312 hanzi: %s", name, len(missing), string(missing))
		}
	}
}

func TestFonts(t *testing.T) {
	for _, v := range []Variant{System, Light, Dark} {
		th := New(v)
		for _, tc := range []struct {
			style fyne.TextStyle
			want  fyne.Resource
		}{
			{fyne.TextStyle{}, FontRegular()},
			{fyne.TextStyle{Italic: true}, FontRegular()},
			{fyne.TextStyle{Bold: true}, FontBold()},
			{fyne.TextStyle{Bold: true, Italic: true}, FontBold()},
			{fyne.TextStyle{Underline: true}, FontRegular()},
			{fyne.TextStyle{Monospace: true}, ftheme.DefaultTextMonospaceFont()},
			{fyne.TextStyle{Symbol: true}, ftheme.DefaultSymbolFont()},
		} {
			if got := th.Font(tc.style); got != tc.want {
				t.Errorf("%v: Font(%+v) = %s, want %s", v, tc.style, got.Name(), tc.want.Name())
			}
		}
	}
	if FontRegular().Name() != FontRegularName || !bytes.Equal(FontRegular().Content(), assets.FontCJK()) {
		t.Error("FontRegular is not the embedded regular face")
	}
	if FontBold().Name() != FontBoldName || !bytes.Equal(FontBold().Content(), assets.FontCJKBold()) {
		t.Error("FontBold is not the embedded bold face")
	}
}

func nrgba(c color.Color) color.NRGBA { return color.NRGBAModel.Convert(c).(color.NRGBA) }

func TestColoursPerVariant(t *testing.T) {
	test.NewTempApp(t) // the default theme reads the app's settings
	light, dark := ftheme.VariantLight, ftheme.VariantDark
	def := ftheme.DefaultTheme()
	for _, tc := range []struct {
		v           Variant
		asked, want fyne.ThemeVariant
	}{
		{System, light, light}, {System, dark, dark},
		{Light, light, light}, {Light, dark, light},
		{Dark, light, dark}, {Dark, dark, dark},
	} {
		th := New(tc.v)
		primary, link, focus, border := PrimaryDark, HyperlinkDark, FocusDark, InputBorderDark
		if tc.want == light {
			primary, link, focus, border = PrimaryLight, HyperlinkLight, FocusLight, InputBorderLight
		}
		for name, want := range map[fyne.ThemeColorName]color.NRGBA{
			ftheme.ColorNamePrimary:             primary,
			ftheme.ColorNameForegroundOnPrimary: OnPrimary,
			ftheme.ColorNameHyperlink:           link,
			ftheme.ColorNameFocus:               withAlpha(focus, focusAlpha),
			ftheme.ColorNameInputBorder:         border,
			ftheme.ColorNameSelection:           withAlpha(primary, selectionAlpha),
		} {
			if got := nrgba(th.Color(name, tc.asked)); got != want {
				t.Errorf("%v asked %v: %s = %v, want %v", tc.v, tc.asked, name, got, want)
			}
		}
		// Everything else is Fyne's palette for the chosen variant.
		for _, name := range []fyne.ThemeColorName{
			ftheme.ColorNameBackground, ftheme.ColorNameForeground, ftheme.ColorNameButton,
			ftheme.ColorNameInputBackground, ftheme.ColorNameError, ftheme.ColorNameSeparator,
		} {
			if got, want := nrgba(th.Color(name, tc.asked)), nrgba(def.Color(name, tc.want)); got != want {
				t.Errorf("%v asked %v: %s = %v, want Fyne's %v", tc.v, tc.asked, name, got, want)
			}
		}
	}
	if a, b := nrgba(New(Light).Color(ftheme.ColorNameBackground, dark)),
		nrgba(New(Dark).Color(ftheme.ColorNameBackground, light)); a == b {
		t.Errorf("light and dark backgrounds are both %v", a)
	}
}

// luminance is WCAG 2.1 relative luminance of an opaque colour.
func luminance(c color.NRGBA) float64 {
	ch := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(c.R) + 0.7152*ch(c.G) + 0.0722*ch(c.B)
}

func contrast(a, b color.NRGBA) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func TestContrast(t *testing.T) {
	test.NewTempApp(t)
	for _, v := range []Variant{Light, Dark} {
		th := New(v)
		c := func(n fyne.ThemeColorName) color.NRGBA { return nrgba(th.Color(n, ftheme.VariantDark)) }
		bg := c(ftheme.ColorNameBackground)
		for _, tc := range []struct {
			what string
			a, b color.NRGBA
			min  float64
		}{
			{"text on primary buttons", c(ftheme.ColorNameForegroundOnPrimary), c(ftheme.ColorNamePrimary), 4.5},
			{"primary controls on the background", c(ftheme.ColorNamePrimary), bg, 3},
			{"hyperlinks on the background", c(ftheme.ColorNameHyperlink), bg, 4.5},
			{"hyperlinks on input fields", c(ftheme.ColorNameHyperlink), c(ftheme.ColorNameInputBackground), 4.5},
			{"text on the background", c(ftheme.ColorNameForeground), bg, 4.5},
			{"input borders and unselected radio buttons on the background", c(ftheme.ColorNameInputBorder), bg, 3},
			{"input borders on input fields", c(ftheme.ColorNameInputBorder), c(ftheme.ColorNameInputBackground), 3},
			{"a focused entry's border on the background", withAlpha(c(ftheme.ColorNameFocus), 0xff), bg, 3},
		} {
			if got := contrast(tc.a, tc.b); got < tc.min {
				t.Errorf("%v: %s: contrast %.2f:1, want at least %.1f:1", v, tc.what, got, tc.min)
			} else {
				t.Logf("%v: %s: %.2f:1", v, tc.what, got)
			}
		}
	}
}

// TestFocusIsNotError: focus is blue, errors red, so the field being typed
// in does not look wrong; entries (Input) draw their focused border in it.
func TestFocusIsNotError(t *testing.T) {
	a := test.NewTempApp(t)
	for _, v := range []Variant{Light, Dark} {
		a.Settings().SetTheme(New(v))
		th := New(v)
		focus := nrgba(th.Color(ftheme.ColorNameFocus, ftheme.VariantDark))
		errc := nrgba(th.Color(ftheme.ColorNameError, ftheme.VariantDark))
		if focus.B <= focus.R || errc.R <= errc.B {
			t.Errorf("%v: focus %v and error %v are not blue and red", v, focus, errc)
		}
		if got := nrgba(Input().Color(ftheme.ColorNamePrimary, ftheme.VariantDark)); got != withAlpha(focus, 0xff) {
			t.Errorf("%v: entries' primary is %v, want the focus colour %v", v, got, withAlpha(focus, 0xff))
		}
		if got := nrgba(Input().Color(ftheme.ColorNameBackground, ftheme.VariantDark)); got != nrgba(th.Color(ftheme.ColorNameBackground, ftheme.VariantDark)) {
			t.Errorf("%v: entries' background %v", v, got)
		}
		if Input().Font(fyne.TextStyle{}) != th.Font(fyne.TextStyle{}) {
			t.Errorf("%v: entries use another font", v)
		}
	}
}

func TestParseVariant(t *testing.T) {
	for _, v := range []Variant{System, Light, Dark} {
		got, err := ParseVariant(v.String())
		if err != nil || got != v {
			t.Errorf("ParseVariant(%q) = %v, %v", v.String(), got, err)
		}
	}
	for in, want := range map[string]Variant{"": System, " Dark ": Dark, "LIGHT": Light} {
		if got, err := ParseVariant(in); err != nil || got != want {
			t.Errorf("ParseVariant(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseVariant("purple"); err == nil {
		t.Error("ParseVariant(purple) gave no error")
	}
	if New(Variant(42)).(*jnTheme).variant != System {
		t.Error("an unknown variant should fall back to System")
	}
}

// TestRendersWithTheme lays out Chinese text in every style through Fyne's
// own (software) painter with the theme set: the font loads where Fyne loads
// it, and CJK text gets a real width (tofu boxes and missing faces would give
// a different one: compare with the width of the same count of '国').
func TestRendersWithTheme(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(New(Light))
	for _, style := range []fyne.TextStyle{{}, {Bold: true}, {Italic: true}} {
		size := fyne.MeasureText("践诺承诺事项", 14, style)
		ref := fyne.MeasureText("国国国国国国", 14, style)
		if size.Width <= 0 || math.Abs(float64(size.Width-ref.Width)) > 0.5 {
			t.Errorf("%+v: 践诺承诺事项 measures %v, 6×国 %v: CJK glyphs should be full-width", style, size, ref)
		}
		if latin := fyne.MeasureText("iiiiii", 14, style); latin.Width >= size.Width/2 {
			t.Errorf("%+v: iiiiii measures %v against %v for six hanzi", style, latin, size)
		}
	}
}

func TestFontLicence(t *testing.T) {
	lic := assets.FontLicense()
	for _, want := range []string{"SIL OPEN FONT LICENSE Version 1.1", "Copyright 2014-2021 Adobe", "Reserved Font Name 'Source'"} {
		if !strings.Contains(lic, want) {
			t.Errorf("assets.FontLicense() lacks %q", want)
		}
	}
}
