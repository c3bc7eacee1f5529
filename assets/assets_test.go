package assets

import (
	"bytes"
	"encoding/json"
	"image/png"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// languages are the translation files that must exist.
var languages = []string{LangZhHans, LangEn}

// readCatalogue parses one translation file strictly: a flat JSON object of
// strings, with no key given twice (encoding/json would keep the last one
// silently).
func readCatalogue(t *testing.T, lang string) map[string]string {
	t.Helper()
	data, err := fs.ReadFile(Translations(), lang+".json")
	if err != nil {
		t.Fatalf("%s.json: %v", lang, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		t.Fatalf("%s.json: want a JSON object, got %v (%v)", lang, tok, err)
	}
	msgs := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%s.json: %v", lang, err)
		}
		key := tok.(string)
		var val string
		if err := dec.Decode(&val); err != nil {
			t.Fatalf("%s.json: key %q: want a plain string value: %v", lang, key, err)
		}
		if _, dup := msgs[key]; dup {
			t.Errorf("%s.json: key %q appears twice", lang, key)
		}
		msgs[key] = val
	}
	if _, err := dec.Token(); err != nil {
		t.Fatalf("%s.json: %v", lang, err)
	}
	if dec.More() {
		t.Fatalf("%s.json: trailing data after the object", lang)
	}
	return msgs
}

func TestTranslationFilesParse(t *testing.T) {
	entries, err := fs.ReadDir(Translations(), ".")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	for _, lang := range languages {
		if !slices.Contains(names, lang+".json") {
			t.Errorf("missing translation file %s.json (have %v)", lang, names)
		}
		if len(readCatalogue(t, lang)) == 0 {
			t.Errorf("%s.json is empty", lang)
		}
	}
	// The translator loads every file in the folder: each must be strict too.
	for _, name := range names {
		readCatalogue(t, strings.TrimSuffix(name, ".json"))
	}
}

func TestTranslationsHaveSameKeys(t *testing.T) {
	base := readCatalogue(t, LangZhHans)
	for _, lang := range languages[1:] {
		other := readCatalogue(t, lang)
		if missing := missingKeys(base, other); len(missing) > 0 {
			t.Errorf("%s.json lacks keys that %s.json has:\n  %s", lang, LangZhHans, strings.Join(missing, "\n  "))
		}
		if extra := missingKeys(other, base); len(extra) > 0 {
			t.Errorf("%s.json lacks keys that %s.json has:\n  %s", LangZhHans, lang, strings.Join(extra, "\n  "))
		}
	}
}

// missingKeys lists, sorted, the keys of have that want lacks.
func missingKeys(have, want map[string]string) []string {
	var out []string
	for k := range have {
		if _, ok := want[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// reservedKeys are field names that make Fyne's go-i18n parser treat the
// whole object as one message instead of a map of messages.
var reservedKeys = []string{"id", "description", "hash", "leftdelim", "rightdelim",
	"zero", "one", "two", "few", "many", "other", "translation"}

var keyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

func TestTranslationValues(t *testing.T) {
	for _, lang := range languages {
		for key, val := range readCatalogue(t, lang) {
			if strings.TrimSpace(val) == "" {
				t.Errorf("%s.json: %q has an empty value", lang, key)
			}
			if val != strings.TrimSpace(val) {
				t.Errorf("%s.json: %q has leading or trailing spaces: %q", lang, key, val)
			}
			if !keyPattern.MatchString(key) {
				t.Errorf("%s.json: key %q is not of the form group.name (lower case, digits, _)", lang, key)
			}
			if slices.Contains(reservedKeys, strings.ToLower(key)) {
				t.Errorf("%s.json: key %q is reserved by Fyne's translation parser", lang, key)
			}
			// Fyne runs messages through text/template: keep them free of actions.
			if strings.Contains(val, "{{") {
				t.Errorf("%s.json: %q contains a template action {{: use fmt verbs", lang, key)
			}
		}
	}
}

// verbPattern matches one fmt verb, flags, width, precision and argument
// index included; "%%" is matched so that it can be skipped.
var verbPattern = regexp.MustCompile(`%(?:\[\d+\])?[-+# 0]*(?:\*|\d+)?(?:\.(?:\*|\d+)?)?(?:\[\d+\])?[a-zA-Z%]`)

// argIndex matches an explicit argument index such as "[2]".
var argIndex = regexp.MustCompile(`\[(\d+)\]`)

// verbs returns the fmt verbs of a format string in argument order, without
// their flags ("%5.2f" -> "%f"), skipping "%%". Explicit argument indexes
// ("%[2]s") place a verb at its argument, so a translation may reorder
// arguments as its grammar needs.
func verbs(format string) []string {
	byArg := map[int]string{}
	next := 1
	for _, v := range verbPattern.FindAllString(format, -1) {
		if v == "%%" {
			continue
		}
		arg := next
		if m := argIndex.FindStringSubmatch(v); m != nil {
			arg, _ = strconv.Atoi(m[1])
		}
		byArg[arg] = "%" + v[len(v)-1:]
		next = arg + 1
	}
	var out []string
	for i := 1; i <= len(byArg); i++ {
		out = append(out, byArg[i])
	}
	return out
}

func TestVerbs(t *testing.T) {
	for format, want := range map[string][]string{
		"plain":                     nil,
		"已逾期 %d 天":                  {"%d"},
		"%d 个工作日内（至 %s）":            {"%d", "%s"},
		"100%% done, %5.2f left %v": {"%f", "%v"},
		"%[1]d of %[2]s":            {"%d", "%s"},
		"%[2]s 之后第 %[1]d 个":         {"%d", "%s"},
	} {
		if got := verbs(format); !slices.Equal(got, want) {
			t.Errorf("verbs(%q) = %v, want %v", format, got, want)
		}
	}
}

func TestFormatVerbsMatch(t *testing.T) {
	base := readCatalogue(t, LangZhHans)
	for _, lang := range languages[1:] {
		other := readCatalogue(t, lang)
		for key, zh := range base {
			val, ok := other[key]
			if !ok {
				continue // reported by TestTranslationsHaveSameKeys
			}
			if a, b := verbs(zh), verbs(val); !slices.Equal(a, b) {
				t.Errorf("%q: %s has verbs %v (%q), %s has %v (%q)", key, LangZhHans, a, zh, lang, b, val)
			}
		}
	}
}

// requiredKeys are keys that code elsewhere relies on. Spot checks, not a
// full list: every key must exist in every language anyway.
var requiredKeys = []string{
	"app.name", "app.tagline",
	"category.employment", "category.fire_theft", "category.payment",
	"status.draft", "status.breached", "status.withdrawn",
	"level.province", "level.township",
	"role.staff", "role.leader", "role.county_admin",
	"due.overdue", "due.soon", "due.ok", "due.none",
	"deadline.date", "deadline.workdays",
	"demo.title", "demo.store", "demo.counts", "demo.overdue", "demo.due_soon",
	"demo.verified", "demo.yes", "demo.no", "demo.conflicts",
}

// errorCodes are the stable refusal reasons shown to clerks as error.<code>.
var errorCodes = []string{
	"malformed", "unknown_version", "oversize", "unknown_device", "wrong_device",
	"revoked_device", "bad_signature", "replay", "sequence_gap", "broken_chain",
	"fork", "out_of_scope", "invalid_operation", "not_authorized",
	"conflicted_field", "illegal_transition", "reason_required", "not_found",
	"wrong_password", "weak_passphrase", "evidence_too_large", "evidence_mismatch",
}

func TestRequiredKeys(t *testing.T) {
	keys := slices.Clone(requiredKeys)
	for _, c := range errorCodes {
		keys = append(keys, "error."+c)
	}
	for _, lang := range languages {
		msgs := readCatalogue(t, lang)
		for _, k := range keys {
			if _, ok := msgs[k]; !ok {
				t.Errorf("%s.json lacks %q", lang, k)
			}
		}
	}
}

func TestResolveLang(t *testing.T) {
	for in, want := range map[string]string{
		"zh-Hans":           LangZhHans,
		"zh_Hans":           LangZhHans,
		"zh":                LangZhHans,
		"zh_CN":             LangZhHans,
		"zh-CN":             LangZhHans,
		"zh_CN.UTF-8":       LangZhHans,
		"zh_CN.GB18030":     LangZhHans,
		"ZH_cn.utf8":        LangZhHans,
		"zh_TW.UTF-8":       LangZhHans, // no Traditional catalogue: Simplified is closest
		"en":                LangEn,
		"en_US":             LangEn,
		"en-GB":             LangEn,
		"en_US.UTF-8":       LangEn,
		"EN_us.utf8":        LangEn,
		"en@quot":           LangEn,
		"C":                 LangZhHans,
		"C.UTF-8":           LangZhHans,
		"POSIX":             LangZhHans,
		"":                  LangZhHans,
		"   ":               LangZhHans,
		"fr_FR.UTF-8":       LangZhHans,
		"english":           LangZhHans, // not a locale name
		"fr:en":             LangEn,     // $LANGUAGE priority list
		"en_US:zh_CN":       LangEn,
		"de:zh_CN.UTF-8:en": LangZhHans,
	} {
		if got := ResolveLang(in); got != want {
			t.Errorf("ResolveLang(%q) = %q, want %q", in, got, want)
		}
		if got := NewTranslator(in).Lang(); got != want {
			t.Errorf("NewTranslator(%q).Lang() = %q, want %q", in, got, want)
		}
	}
}

func TestNewTranslatorLangC(t *testing.T) {
	// LANG=C is what CI machines and bare servers have: Chinese, no error.
	t.Setenv("LC_ALL", "")
	t.Setenv("LC_MESSAGES", "")
	t.Setenv("LANGUAGE", "")
	t.Setenv("LANG", "C")
	tr := NewTranslator(LocaleFromEnv())
	if tr.Lang() != LangZhHans {
		t.Fatalf("LANG=C gave %q", tr.Lang())
	}
	if got := tr.T("app.name"); got != "践诺" {
		t.Fatalf("T(app.name) = %q", got)
	}
}

func TestTranslatorT(t *testing.T) {
	zh, en := NewTranslator("zh_CN.UTF-8"), NewTranslator("en_US.UTF-8")
	for _, tc := range []struct {
		tr   *Translator
		key  string
		args []any
		want string
	}{
		{zh, "app.name", nil, "践诺"},
		{en, "app.name", nil, "Jiannuo"},
		{zh, "status.breached", nil, "未践诺（失信）"},
		{zh, "due.overdue", []any{3}, "已逾期 3 天"},
		{en, "due.overdue", []any{3}, "Overdue by 3 days"},
		{zh, "deadline.workdays", []any{7, "2026-12-04"}, "7 个工作日内（至 2026-12-04）"},
		{en, "deadline.workdays", []any{7, "2026-12-04"}, "Within 7 working days (by 2026-12-04)"},
		{zh, "error.revoked_device", nil, "本终端已被县信用办注销，请联系县信用办管理员。"},
		{zh, "due.overdue", nil, "已逾期 %d 天"}, // no args: the raw message
		{zh, "no.such.key", nil, "no.such.key"},
		{en, "no.such.key", []any{1}, "no.such.key"},
	} {
		if got := tc.tr.T(tc.key, tc.args...); got != tc.want {
			t.Errorf("[%s] T(%q, %v) = %q, want %q", tc.tr.Lang(), tc.key, tc.args, got, tc.want)
		}
	}
}

func TestTranslatorFallsBackToChinese(t *testing.T) {
	// A key missing from (or empty in) English falls back to Chinese.
	tr := &Translator{
		lang:     LangEn,
		msgs:     map[string]string{"only.en": "English only", "empty.en": ""},
		fallback: map[string]string{"app.name": "践诺", "empty.en": "中文"},
	}
	for key, want := range map[string]string{
		"only.en":  "English only",
		"app.name": "践诺",
		"empty.en": "中文",
		"nowhere":  "nowhere",
	} {
		if got := tr.T(key); got != want {
			t.Errorf("T(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestNilAndZeroTranslator(t *testing.T) {
	var nilTr *Translator
	if got := nilTr.T("app.name"); got != "践诺" {
		t.Errorf("nil translator: %q", got)
	}
	if got := nilTr.Lang(); got != LangZhHans {
		t.Errorf("nil translator lang: %q", got)
	}
	var zero Translator
	if got := zero.T("due.soon", 2); got != "剩余 2 个工作日" {
		t.Errorf("zero translator: %q", got)
	}
}

func TestLocaleFromEnv(t *testing.T) {
	vars := []string{"LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"}
	set := func(vals ...string) {
		for i, v := range vars {
			t.Setenv(v, vals[i])
		}
	}
	for _, tc := range []struct {
		vals []string
		want string
	}{
		{[]string{"en_US.UTF-8", "zh_CN.UTF-8", "C", "fr"}, "en_US.UTF-8"},
		{[]string{"", "zh_CN.UTF-8", "C", "fr"}, "zh_CN.UTF-8"},
		{[]string{"", "", "C", "en"}, "C"},
		{[]string{"", "", "", "en_GB:en"}, "en_GB:en"},
		{[]string{"", "", "", ""}, ""},
	} {
		set(tc.vals...)
		if got := LocaleFromEnv(); got != tc.want {
			t.Errorf("LocaleFromEnv with %v = %q, want %q", tc.vals, got, tc.want)
		}
	}
}

func TestIcon(t *testing.T) {
	b := Icon()
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("icon.png: %v", err)
	}
	if cfg.Width != 512 || cfg.Height != 512 {
		t.Fatalf("icon.png is %dx%d, want 512x512", cfg.Width, cfg.Height)
	}
	b[0] ^= 0xFF // callers get a copy: changing it must not change the next one
	if Icon()[0] == b[0] {
		t.Fatal("Icon returns shared bytes")
	}
}

func TestTranslationsEmbed(t *testing.T) {
	efs, dir := TranslationsEmbed()
	for _, lang := range languages {
		if _, err := efs.ReadFile(dir + "/" + lang + ".json"); err != nil {
			t.Errorf("TranslationsEmbed: %v", err)
		}
	}
}

// TestFyneStrings: the copies of Fyne's own strings parse, have the same
// keys in both languages, cover every string Fyne v2.7.1 translates (read
// from the module, when the go command can find it) and say each in the
// language asked for.
func TestFyneStrings(t *testing.T) {
	parse := func(b []byte) map[string]any {
		t.Helper()
		m := map[string]any{}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	zh, en := parse(FyneStrings("zh_CN.UTF-8")), parse(FyneStrings("C"+":en"))
	if zh["Quit"] != "退出" || zh["No"] != "否" || zh["Cancel"] != "取消" || en["Quit"] != "Quit" {
		t.Errorf("zh Quit %v No %v Cancel %v, en Quit %v", zh["Quit"], zh["No"], zh["Cancel"], en["Quit"])
	}
	if p := parse(FyneStrings("C")); p["Yes"] != "是" {
		t.Errorf("LANG=C gives %v, want Chinese", p["Yes"])
	}
	for k := range zh {
		if _, ok := en[k]; !ok {
			t.Errorf("en lacks %q", k)
		}
	}
	for k := range en {
		if _, ok := zh[k]; !ok {
			t.Errorf("zh-Hans lacks %q", k)
		}
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "fyne.io/fyne/v2").Output()
	if err != nil {
		t.Skipf("cannot locate the Fyne module to compare: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "lang", "translations")
	for file, ours := range map[string]map[string]any{"base.zh_Hans.json": zh, "base.en.json": en} {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Skipf("Fyne's catalogue: %v", err)
		}
		for k := range parse(b) {
			if _, ok := ours[k]; !ok {
				t.Errorf("Fyne translates %q (%s) and our copy does not", k, file)
			}
		}
	}
}
