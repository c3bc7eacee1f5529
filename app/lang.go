package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"
	"github.com/jeandeaual/go-locale"
	"golang.org/x/text/language"

	"jiannuo/assets"
)

// useFyneLanguage makes Fyne's own strings (the Quit menu item, Yes/No and
// OK/Cancel of dialogs, the file dialog) speak language l ("zh-Hans" or
// "en"), whatever the system locale is.
//
// Fyne offers no way to choose its language: it picks, from the catalogues
// it knows, the closest to the system's locales, and English when none is
// close or the locale is C/POSIX. So the app registers its copy of Fyne's
// strings in l (assets.FyneStrings) under every locale the system names and
// under English: whichever Fyne then picks says l. Registering updates
// Fyne's choice at once; widgets built afterwards use it.
func useFyneLanguage(l string) {
	data := assets.FyneStrings(l)
	tags := []string{"en"}
	if locs, err := locale.GetLocales(); err == nil {
		tags = append(tags, locs...)
	}
	for _, t := range tags {
		if _, err := language.Parse(t); err != nil {
			continue // "C", "POSIX": Fyne reads them as no locale, and so falls back to English
		}
		if err := lang.AddTranslationsForLocale(data, fyne.Locale(t)); err != nil {
			fyne.LogError("registering Fyne's strings for locale "+t, err)
		}
	}
}
