package app

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"

	"jiannuo/app/vm"
	"jiannuo/auth"
)

// TestEnrolmentStep: the wizard's enrolment step shows the device ID whole
// on one line with a copy button; the fingerprint entry is wide enough for
// all 95 characters; a wrong fingerprint and then a failed attempt are
// explained on their own lines while the ID stays.
func TestEnrolmentStep(t *testing.T) {
	u, err := newUI(test.NewTempApp(t), Options{DataDir: t.TempDir(), Lang: "zh-Hans", KDF: auth.TestParams()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.close)
	runInPlace(u)
	wz := vm.NewWizard(nil)
	if m := wz.SetOffice("410324101"); m != nil {
		t.Fatal(*m)
	}
	if ms := wz.SetAccount("zhangli", "张丽", "测试口令-2026", "测试口令-2026"); len(ms) > 0 {
		t.Fatal(ms)
	}
	se, err := wz.Finish(u.st)
	if err != nil {
		t.Fatal(err)
	}
	u.se = se
	p := u.showEnrol(wz)
	id := se.Device().ID.String()

	shownWhole := func() bool {
		found := false
		walkVisible(p.obj, func(o fyne.CanvasObject) {
			if txt, ok := o.(*canvas.Text); ok && txt.Text == id {
				found = true
			}
		})
		return found
	}
	if !shownWhole() {
		t.Fatalf("the device ID %s is not shown on one line: %q", id, visibleTexts(p.obj))
	}
	test.Tap(buttonIn(p.obj, u.T("app.wizard.copy_id")))
	if got := u.fa.Clipboard().Content(); got != id {
		t.Errorf("the clipboard holds %q", got)
	}
	want := fyne.MeasureText(strings.Repeat("0", 64)+strings.Repeat(":", 31), 14, fyne.TextStyle{Monospace: true}).Width
	if w := p.fp.Size().Width; w < want {
		t.Errorf("the fingerprint entry is %.0f px wide, 95 characters need %.0f", w, want)
	}

	test.Type(p.url, "https://127.0.0.1:1")
	test.Type(p.fp, "AB:CD")
	test.Tap(p.enrol)
	if !strings.Contains(p.fpErr.Text, "64") || !shownWhole() {
		t.Errorf("a short fingerprint: %q, ID shown %v", p.fpErr.Text, shownWhole())
	}
	p.fp.SetText(strings.Repeat("AB:", 31) + "AB")
	test.Tap(p.enrol) // nothing listens on port 1: the attempt fails at once
	if p.errLine.Hidden || p.errLine.Text == "" || !shownWhole() || strings.TrimSpace(p.fpErr.Text) != "" {
		t.Errorf("after a failed attempt: error %q (hidden %v), ID shown %v, field %q", p.errLine.Text, p.errLine.Hidden, shownWhole(), p.fpErr.Text)
	}
	if p.enrol.Disabled() {
		t.Error("the enrol button stays disabled after the failure")
	}
}
