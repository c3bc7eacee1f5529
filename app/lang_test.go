package app

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/test"

	"jiannuo/assets"
)

// clearLocale empties every variable a locale is read from, so a test sets
// the one it means.
func clearLocale(t *testing.T) {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"} {
		t.Setenv(v, "")
	}
}

// TestFyneStringsFollowTheAppLanguage: with LANG=C (Fyne alone would speak
// English), Fyne's own strings — the Quit item, Yes/No of a confirm
// dialog, the file dialog's buttons — are Chinese once the app chose
// Chinese; and English in an English app on a Chinese system.
func TestFyneStringsFollowTheAppLanguage(t *testing.T) {
	clearLocale(t)
	t.Setenv("LANG", "C")
	t.Cleanup(func() { useFyneLanguage(assets.LangZhHans) }) // as every other test expects
	useFyneLanguage(assets.LangZhHans)
	for in, want := range map[string]string{"Quit": "退出", "Yes": "是", "No": "否", "Cancel": "取消", "Save": "保存", "Open": "打开", "OK": "确定"} {
		if got := lang.L(in); got != want {
			t.Errorf("LANG=C, app in Chinese: lang.L(%q) = %q, want %q", in, got, want)
		}
	}
	w := test.NewTempApp(t).NewWindow("践诺")
	w.Resize(fyne.NewSize(900, 700))
	dialog.NewConfirm("公开发布", "确认发布？", func(bool) {}, w).Show()
	if buttonIn(topOverlay(w), "是") == nil || buttonIn(topOverlay(w), "否") == nil {
		t.Errorf("confirm dialog shows %q", visibleTexts(topOverlay(w)))
	}
	w.Canvas().Overlays().Remove(topOverlay(w))
	dialog.NewFileSave(func(fyne.URIWriteCloser, error) {}, w).Show()
	if buttonIn(topOverlay(w), "保存") == nil || buttonIn(topOverlay(w), "取消") == nil {
		t.Errorf("file dialog shows %q", visibleTexts(topOverlay(w)))
	}

	clearLocale(t)
	t.Setenv("LANG", "zh_CN.UTF-8")
	useFyneLanguage(assets.LangEn)
	if got := lang.L("Quit"); got != "Quit" {
		t.Errorf("LANG=zh_CN.UTF-8, app in English: Quit is %q", got)
	}
	clearLocale(t)
	t.Setenv("LANG", "en_US.UTF-8")
	useFyneLanguage(assets.LangZhHans)
	if got := lang.L("No"); got != "否" {
		t.Errorf("LANG=en_US.UTF-8, app in Chinese: No is %q", got)
	}
}

// TestSignInWordsAgree: the sign-in and wizard labels and the errors about
// those fields use the same words (登录名, 密码, 姓名), in both languages.
func TestSignInWordsAgree(t *testing.T) {
	for _, l := range []string{assets.LangZhHans, assets.LangEn} {
		tr := assets.NewTranslator(l)
		for label, errs := range map[string][]string{
			"app.account":      {"ui.wizard.name_required", "ui.wizard.name_invalid", "ui.signin.name_required", "ui.error.account_exists"},
			"app.passphrase":   {"ui.wizard.pass_short", "ui.wizard.pass_mismatch", "ui.signin.pass_required", "error.wrong_password", "error.weak_passphrase"},
			"app.display_name": {"ui.wizard.display_invalid"},
		} {
			word := strings.ToLower(tr.T(label))
			for _, k := range errs {
				if msg := strings.ToLower(tr.T(k)); !strings.Contains(msg, word) {
					t.Errorf("%s: the label %s says %q but %s says %q", l, label, word, k, msg)
				}
			}
		}
	}
}
