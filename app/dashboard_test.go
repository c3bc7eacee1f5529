package app

import (
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"jiannuo/domain/calendar"
)

// inkColumns counts, in the left part of img (where a horizontal chart
// writes its labels), the pixels that are neither transparent nor the bar
// colour.
func labelInk(img image.Image, bar color.Color) int {
	b := img.Bounds()
	br, bg, bb, _ := bar.RGBA()
	n := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Min.X+b.Dx()/5; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			if a > 0 && (r != br || g != bg || bl != bb) {
				n++
			}
		}
	}
	return n
}

// TestDashboardChartsAndLinks: the dashboard draws its three charts with
// their labels in the app's font (the status chart's names stand left of
// its bars), and an overdue line opens its commitment on the commitments
// tab.
func TestDashboardChartsAndLinks(t *testing.T) {
	u := newTestUI(t)
	runInPlace(u)
	overdue := publishOne(t, u, "逾期未办结事项", calendar.NewDate(2026, 9, 20))
	publishOne(t, u, "年底前办结事项", calendar.NewDate(2026, 12, 31))
	u.main.tabs.SelectIndex(1)
	d := u.main.dash
	if len(d.charts) != 3 {
		t.Fatalf("%d charts", len(d.charts))
	}
	for i, r := range d.charts {
		img := r.Generator(700, 320)
		if img.Bounds().Dx() != 700 {
			t.Fatalf("chart %d is %v", i, img.Bounds())
		}
		if i < 2 { // horizontal: names on the left
			if n := labelInk(img, d.colour("primary")); n < 100 {
				t.Errorf("chart %d: %d pixels of labels on its left", i, n)
			}
		}
	}
	if len(d.view.Statuses) == 0 || d.view.Overdue[0].Ref != overdue {
		t.Fatalf("dashboard view %+v", d.view)
	}
	var link *widget.Hyperlink
	walkVisible(d.obj, func(o fyne.CanvasObject) {
		if h, ok := o.(*widget.Hyperlink); ok && strings.Contains(h.Text, "逾期未办结事项") {
			link = h
		}
	})
	if link == nil {
		t.Fatal("no link to the overdue commitment")
	}
	test.TapAt(link, fyne.NewPos(12, link.MinSize().Height/2)) // on its text, as a click must be
	if u.main.tabs.SelectedIndex() != 0 || u.main.detail.ref == nil || *u.main.detail.ref != overdue {
		t.Fatalf("the link opened tab %d, detail %v", u.main.tabs.SelectedIndex(), u.main.detail.ref)
	}
	if l := u.main.list; l.selected < 0 || l.vm.Row(l.selected).Ref != overdue {
		t.Errorf("the list does not select it (row %d)", l.selected)
	}
}

// TestExportSaysWhere: after an export, the dialog names the file's path
// and offers to open its folder; an annual report of a year without data
// is warned about first.
func TestExportSaysWhere(t *testing.T) {
	u := newTestUI(t)
	runInPlace(u)
	publishOne(t, u, "今年的承诺", calendar.NewDate(2026, 12, 31))
	path := filepath.Join(t.TempDir(), "公开承诺事项清单.xlsx")
	w, err := storage.Writer(storage.NewFileURI(path))
	if err != nil {
		t.Fatal(err)
	}
	u.export(w, false, true, 0)
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("the file: %v", err)
	}
	top := topOverlay(u.win)
	if !showsText(top, "公开承诺事项清单.xlsx") || buttonIn(top, u.T("app.export.open_folder")) == nil {
		t.Fatalf("the done dialog shows %q", visibleTexts(top))
	}
	u.escape()

	u.exportChosen(true, true, "2025")
	if top := topOverlay(u.win); !showsText(top, "2025") || buttonIn(top, "是") == nil {
		t.Fatalf("no warning for an empty year: %q", visibleTexts(top))
	}
	u.escape()
}
