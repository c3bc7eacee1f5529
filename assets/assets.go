// Package assets holds the files embedded in every 践诺 Jiannuo binary: the
// application icon and the translation catalogues, plus a small translator for
// commands without a GUI (CLI demo, server). It is pure Go and does not import
// Fyne, so servers and the lower layers may use it.
//
// Translation files live in i18n/ as <language>.json, in the format Fyne's
// lang package reads: one flat JSON object, key -> string. The key is a stable
// identifier ("status.breached", "error.fork"); values may hold fmt verbs
// (%d, %s), filled in by the caller with fmt.Sprintf, which Translator.T does.
// Simplified Chinese (zh-Hans) is the default and the fallback language.
//
// In the GUI, load the same catalogues into Fyne with
//
//	lang.AddTranslationsFS(assets.TranslationsEmbed())
//
// (Fyne v2.7's AddTranslationsFS takes an embed.FS and a directory, not an
// fs.FS; Translations returns the fs.FS view for everything else.)
package assets

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
)

//go:generate go run ../tools/mkicon -o icon.png

//go:embed i18n/*.json icon.png
var files embed.FS

// fyneFiles are Fyne's own strings (Quit, Yes/No, Cancel, the file
// dialog), one file per language as Fyne's lang package reads them: a copy
// of the catalogues Fyne v2.7.1 ships in lang/translations, the Chinese
// worded as an office expects (否 and 确定 rather than 不 and 好). The app
// registers them so that Fyne speaks the app's language whatever the
// system locale says; Fyne's own choice follows the locale only, and LANG=C
// gives English.
//
//go:embed fyne/*.json
var fyneFiles embed.FS

// Language identifiers, as the translation file names spell them.
const (
	LangZhHans = "zh-Hans" // Simplified Chinese: default and fallback
	LangEn     = "en"      // English

	// DefaultLang is used when the locale names no supported language,
	// including "C", "POSIX" and an empty locale.
	DefaultLang = LangZhHans
)

// i18nDir is the folder inside files that holds the translation files.
const i18nDir = "i18n"

// Translations returns the translation files as a file system rooted at the
// i18n folder: "zh-Hans.json", "en.json", ...
func Translations() fs.FS {
	sub, err := fs.Sub(files, i18nDir)
	if err != nil { // cannot happen: i18nDir is a valid, embedded path
		panic(err)
	}
	return sub
}

// TranslationsEmbed returns the embedded file system and the folder in it
// that holds the translation files, the two arguments of Fyne's
// lang.AddTranslationsFS.
func TranslationsEmbed() (embed.FS, string) {
	return files, i18nDir
}

// FyneStrings returns Fyne's own strings in lang ("zh-Hans" or "en"; any
// locale, resolved as for NewTranslator) as a JSON catalogue for Fyne's
// lang.AddTranslationsForLocale.
func FyneStrings(lang string) []byte {
	b, err := fyneFiles.ReadFile("fyne/" + ResolveLang(lang) + ".json")
	if err != nil { // cannot happen: both files are embedded
		panic(err)
	}
	return b
}

// Icon returns the 512×512 PNG application icon (a fresh copy on each call).
func Icon() []byte {
	b, err := files.ReadFile("icon.png")
	if err != nil { // cannot happen: the file is embedded
		panic(err)
	}
	return b
}

// catalogues maps a language ("zh-Hans", "en") to its messages. The embedded
// files are checked by the tests, so a parse error here is a build defect.
var catalogues = sync.OnceValue(func() map[string]map[string]string {
	entries, err := fs.ReadDir(files, i18nDir)
	if err != nil {
		panic(fmt.Sprintf("assets: reading %s: %v", i18nDir, err))
	}
	all := make(map[string]map[string]string, len(entries))
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || path.Ext(name) != ".json" {
			continue
		}
		data, err := files.ReadFile(path.Join(i18nDir, name))
		if err != nil {
			panic(fmt.Sprintf("assets: reading %s: %v", name, err))
		}
		msgs := map[string]string{}
		if err := json.Unmarshal(data, &msgs); err != nil {
			panic(fmt.Sprintf("assets: parsing %s: %v", name, err))
		}
		all[strings.TrimSuffix(name, ".json")] = msgs
	}
	return all
})

// Translator translates message keys for one language, falling back to
// Simplified Chinese and then to the key itself. It is safe for concurrent
// use. The zero value and a nil *Translator translate to Simplified Chinese.
type Translator struct {
	lang     string
	msgs     map[string]string
	fallback map[string]string
}

// NewTranslator returns a translator for the given locale or language name.
// Any "zh" locale (zh, zh-Hans, zh_CN, zh_CN.UTF-8, ...) gives Simplified
// Chinese; any "en" locale (en, en_US.UTF-8, en-GB, ...) gives English;
// anything else, including "C", "POSIX" and "", gives Simplified Chinese. A
// colon-separated list as in $LANGUAGE ("fr:en") is searched in order for the
// first supported language.
func NewTranslator(lang string) *Translator {
	l := ResolveLang(lang)
	c := catalogues()
	return &Translator{lang: l, msgs: c[l], fallback: c[DefaultLang]}
}

// ResolveLang maps a locale or language name to a supported language, as
// described for NewTranslator.
func ResolveLang(locale string) string {
	for _, entry := range strings.Split(locale, ":") {
		tag := strings.ToLower(strings.TrimSpace(entry))
		if i := strings.IndexAny(tag, "-_.@"); i >= 0 {
			tag = tag[:i]
		}
		switch tag {
		case "zh":
			return LangZhHans
		case "en":
			return LangEn
		}
	}
	return DefaultLang
}

// Lang returns the language this translator uses: "zh-Hans" or "en".
func (t *Translator) Lang() string {
	if t == nil || t.lang == "" {
		return DefaultLang
	}
	return t.lang
}

// T returns the message for key in the translator's language, else in
// Simplified Chinese, else the key itself. With args, the message is used as
// a fmt.Sprintf format (args are ignored when only the key is returned).
func (t *Translator) T(key string, args ...any) string {
	if t == nil || t.fallback == nil {
		t = NewTranslator(t.Lang())
	}
	msg, ok := t.msgs[key]
	if !ok || msg == "" {
		msg, ok = t.fallback[key]
	}
	if !ok || msg == "" {
		return key
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}

// LocaleFromEnv returns the user's locale as the environment gives it: the
// first non-empty of LC_ALL, LC_MESSAGES, LANG and LANGUAGE, unparsed (for
// example "zh_CN.UTF-8", "C" or ""). Pass it to NewTranslator.
func LocaleFromEnv() string {
	for _, name := range []string{"LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"} {
		if v := os.Getenv(name); v != "" {
			return v
		}
	}
	return ""
}
