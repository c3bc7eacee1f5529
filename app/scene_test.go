package app

import (
	"testing"

	"fyne.io/fyne/v2/test"

	"jiannuo/auth"
	"jiannuo/domain/calendar"
)

// TestScenes: every scene `make screenshot` takes opens what it says.
func TestScenes(t *testing.T) {
	for _, name := range []string{"main", "form", "dashboard", "small", "today", "report"} {
		u := newTestUI(t)
		runInPlace(u)
		publishOne(t, u, "逾期未办结事项", calendar.NewDate(2026, 9, 20))
		u.main.list.load()
		if err := u.scene(name); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		switch name {
		case "main", "small":
			if u.main.detail.ref == nil || !u.main.commits.detailShown() {
				t.Errorf("%s: no commitment open", name)
			}
		case "form":
			if !showsText(topOverlay(u.win), u.T("app.new_commitment")) {
				t.Errorf("form: %q", visibleTexts(topOverlay(u.win)))
			}
		case "dashboard":
			if u.main.tabs.SelectedIndex() != 1 || len(u.main.dash.charts) != 3 {
				t.Errorf("dashboard: tab %d, %d charts", u.main.tabs.SelectedIndex(), len(u.main.dash.charts))
			}
		case "today":
			if u.main.tabs.SelectedIndex() != 1 || !showsText(u.main.today.card, "逾期未办结事项") {
				t.Errorf("today: tab %d, panel %q", u.main.tabs.SelectedIndex(), visibleTexts(u.main.today.card))
			}
		case "report":
			if u.lastReport == nil || !showsText(topOverlay(u.win), "逾期未办结事项") || !showsText(topOverlay(u.win), "预览（尚未签署报送）") {
				t.Errorf("report: %q", visibleTexts(topOverlay(u.win)))
			}
		}
		if name == "small" && u.win.Canvas().Size() != minWindow {
			t.Errorf("small: %v", u.win.Canvas().Size())
		}
	}
	if err := newTestUI(t).scene("nonsense"); err == nil {
		t.Error("an unknown scene opens")
	}

	u, err := newUI(test.NewTempApp(t), Options{DataDir: t.TempDir(), Lang: "zh-Hans", KDF: auth.TestParams()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.close)
	runInPlace(u)
	if err := u.scene("enrol"); err != nil {
		t.Fatal(err)
	}
	p := u.lastEnrolPage
	if p == nil || p.errLine.Hidden || !showsText(p.obj, u.se.Device().ID.String()) {
		t.Fatalf("enrol scene: %v", p)
	}
}
