package app

import (
	"testing"

	"fyne.io/fyne/v2"

	"jiannuo/domain/calendar"
)

// TestSmallWindows: nothing in the main window needs more than the minimum
// window of 640×480; below 860 px the list and the detail take turns (the
// detail full width, with a way back by button or Escape); the dashboard
// fits 800×600; wide windows show list and detail side by side.
func TestSmallWindows(t *testing.T) {
	u := newTestUI(t)
	runInPlace(u)
	ref := publishOne(t, u, "老旧小区物业服务投诉5个工作日内答复，并在便民服务中心公示办理结果", calendar.NewDate(2026, 9, 20))
	publishOne(t, u, "镇区新增公共停车位250个", calendar.NewDate(2026, 12, 31))
	u.main.list.load()
	content := u.win.Canvas().Content()
	if m := content.MinSize(); m.Width > minWindow.Width || m.Height > minWindow.Height || m.Width < minWindow.Width {
		t.Errorf("the main window needs %v; the minimum is %v", m, minWindow)
	}

	md := u.main.commits
	u.win.Resize(fyne.NewSize(640, 480))
	if md.wide || !md.list.Visible() || md.detail.Visible() {
		t.Fatalf("640×480: wide %v, list shown %v, detail shown %v", md.wide, md.list.Visible(), md.detail.Visible())
	}
	u.main.list.list.Select(u.main.list.vm.Find(ref))
	if !md.detail.Visible() || md.list.Visible() || !md.back.Visible() {
		t.Fatalf("640×480 after choosing: detail %v, list %v, back %v", md.detail.Visible(), md.list.Visible(), md.back.Visible())
	}
	if w := md.detail.Size().Width; w < 560 {
		t.Errorf("the detail is %.0f px wide in a 640 px window", w)
	}
	if m := u.main.detail.obj.MinSize(); m.Width > 600 {
		t.Errorf("the detail needs %.0f px", m.Width)
	}
	u.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if !md.list.Visible() || md.detail.Visible() {
		t.Error("Escape did not go back to the list")
	}

	u.win.Resize(fyne.NewSize(1200, 760))
	u.main.tabs.SelectIndex(1)
	u.win.Resize(fyne.NewSize(800, 600))
	// Panels stacked on the way down: the scroll knows they are taller.
	if b := u.main.dash.box; b.Size().Height < b.MinSize().Height {
		t.Errorf("the dashboard is cut off: %.0f px tall, needs %.0f", b.Size().Height, b.MinSize().Height)
	}
	if m := u.main.dash.box.MinSize(); m.Width > 760 {
		t.Errorf("the dashboard needs %.0f px of an 800 px window", m.Width)
	}
	for _, r := range u.main.dash.charts {
		if r.MinSize().Width > 380 {
			t.Errorf("a chart needs %.0f px", r.MinSize().Width)
		}
	}

	u.main.tabs.SelectIndex(0)
	u.win.Resize(fyne.NewSize(1200, 760))
	if !md.wide || !md.list.Visible() || !md.detail.Visible() || md.back.Visible() {
		t.Errorf("1200×760: wide %v, list %v, detail %v, back %v", md.wide, md.list.Visible(), md.detail.Visible(), md.back.Visible())
	}
	if w := md.detail.Size().Width; w < 600 {
		t.Errorf("the detail is %.0f px wide in a 1200 px window", w)
	}
}
