package app

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"jiannuo/app/vm"
)

// formHeights are the form's height and each field's (with its message
// line), to compare before and after typing.
func formHeights(fd *formDialog) map[string]float32 {
	out := map[string]float32{"form": fd.form.MinSize().Height}
	for name, row := range fd.rows {
		out[name] = row.MinSize().Height
	}
	return out
}

func sameHeights(t *testing.T, when string, a, b map[string]float32) {
	t.Helper()
	for k, v := range a {
		if b[k] != v {
			t.Errorf("%s: %s is %.1f px tall, was %.1f", when, k, b[k], v)
		}
	}
}

// TestFormQuietUntilEditedAndSteady: the new-commitment form opens without
// a single error although three required fields are empty, says beside the
// disabled Save button what is missing, shows a field's error once it was
// edited, and keeps every field where it was while errors come and go.
func TestFormQuietUntilEditedAndSteady(t *testing.T) {
	u := newTestUI(t)
	fd := u.openForm(nil)
	for name, l := range fd.errs {
		if strings.TrimSpace(l.Text) != "" {
			t.Errorf("the fresh form shows an error for %s: %q", name, l.Text)
		}
	}
	if !fd.save.Disabled() {
		t.Fatal("Save is enabled on an empty form")
	}
	for _, f := range []string{vm.FieldTitle, vm.FieldText, vm.FieldResponsible} {
		if !strings.Contains(fd.hint.Text, u.T("app.field."+f)) {
			t.Errorf("the hint %q does not name %s", fd.hint.Text, u.T("app.field."+f))
		}
	}
	before := formHeights(fd)

	title := fd.entry[vm.FieldTitle]
	test.Type(title, "便")
	title.SetText("")
	if got := fd.errs[vm.FieldTitle].Text; got != u.T("ui.form.title_required") {
		t.Errorf("after clearing the title: %q", got)
	}
	if strings.TrimSpace(fd.errs[vm.FieldText].Text) != "" {
		t.Errorf("the untouched text field shows %q", fd.errs[vm.FieldText].Text)
	}
	sameHeights(t, "with an error", before, formHeights(fd))

	fd.entry[vm.FieldStart].SetText("2026-13-01")
	if strings.TrimSpace(fd.errs[vm.FieldStart].Text) == "" {
		t.Error("no error for a start date of month 13")
	}
	sameHeights(t, "with two errors", before, formHeights(fd))

	fd.entry[vm.FieldStart].SetText("2026-09-30")
	test.Type(title, "老旧小区加装电梯答复")
	test.Type(fd.entry[vm.FieldText], "收到加装电梯申请后7个工作日内书面答复。")
	test.Type(fd.entry[vm.FieldResponsible], "陈静")
	for name, l := range fd.errs {
		if strings.TrimSpace(l.Text) != "" {
			t.Errorf("the filled form shows an error for %s: %q", name, l.Text)
		}
	}
	if fd.save.Disabled() || fd.hint.Text != "" {
		t.Errorf("filled form: Save disabled %v, hint %q", fd.save.Disabled(), fd.hint.Text)
	}
	sameHeights(t, "filled in", before, formHeights(fd))
}

// TestKeyboard: Ctrl+N opens the new-commitment form; Escape closes it,
// also while the cursor is in one of its fields.
func TestKeyboard(t *testing.T) {
	u := newTestUI(t)
	u.win.Canvas().(fyne.Shortcutable).TypedShortcut(shortcutKey(fyne.KeyN))
	if len(u.dialogs) != 1 || !showsText(topOverlay(u.win), u.T("app.new_commitment")) {
		t.Fatalf("Ctrl+N: %d dialogs", len(u.dialogs))
	}
	u.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if len(u.dialogs) != 0 || topOverlay(u.win) != nil {
		t.Fatalf("Escape left %d dialogs", len(u.dialogs))
	}
	fd := u.openForm(nil)
	test.Type(fd.entry[vm.FieldTitle], "草稿")
	fd.entry[vm.FieldTitle].TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if len(u.dialogs) != 0 || topOverlay(u.win) != nil {
		t.Fatal("Escape in a field did not close the form")
	}
}
