package report

import (
	"image"
	"math"
	"testing"
)

// inkIn counts the pixels in r that are text: neither the background nor
// a colour the chart draws shapes with.
func inkIn(img *image.RGBA, r image.Rectangle) (n int, cx, cy float64) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			switch img.RGBAAt(x, y) {
			case white, red, green, black, opts().Grid:
				continue
			}
			n++
			cx += float64(x)
			cy += float64(y)
		}
	}
	if n > 0 {
		cx, cy = cx/float64(n), cy/float64(n)
	}
	return n, cx, cy
}

func fontOpts() ChartOptions {
	o := opts()
	o.Font = EmbeddedFont()
	o.TextSize = 12
	return o
}

// TestChartLabelsDrawn: with the app's font, a bar chart draws each bar's
// name under its column, centred on it; the axis title above the value
// axis; and numbers in the same font.
func TestChartLabelsDrawn(t *testing.T) {
	bars := []Bar{{Label: "按期践诺", Value: 12}, {Label: "逾期践诺", Value: 3}, {Label: "未践诺（失信）", Value: 1}, {Label: "已撤销", Value: 0}}
	o := fontOpts()
	o.ValueTitle = "事项数"
	img := BarChart(600, 260, bars, o)
	saveIfAsked(t, "font-bars.png", img)
	l := BarChartLayout(600, 260, bars, o)
	below := l.Plot.Max.Y + l.Scale + 1
	for i, sl := range l.Slots {
		n, cx, _ := inkIn(img, image.Rect(sl.Min.X, below, sl.Max.X, 260))
		mid := float64(sl.Min.X+sl.Max.X) / 2
		if n < 20 || math.Abs(cx-mid) > float64(sl.Dx())/6 {
			t.Errorf("label %q: %d ink pixels centred at x %.0f, column centre %.0f", bars[i].Label, n, cx, mid)
		}
	}
	if n, _, _ := inkIn(img, image.Rect(0, 0, l.Plot.Min.X+60, l.Ticks[len(l.Ticks)-1].Pos-10)); n < 20 {
		t.Errorf("no axis title above the value axis (%d pixels)", n)
	}
	// The same chart without a font leaves the names to the caller: nothing
	// under the columns, and the plot reaches further down.
	plain := BarChart(600, 260, bars, opts())
	pl := BarChartLayout(600, 260, bars, opts())
	if n, _, _ := inkIn(plain, image.Rect(pl.Plot.Min.X, pl.Plot.Max.Y+2, pl.Plot.Max.X, 260)); n != 0 || pl.Plot.Max.Y <= l.Plot.Max.Y {
		t.Errorf("without a font: %d pixels under the plot, plot bottom %d vs %d", n, pl.Plot.Max.Y, l.Plot.Max.Y)
	}
	// Text that the digit font lacks is drawn with the app's font.
	o.HideTicks = true
	withText := BarChart(600, 260, []Bar{{Label: "按期", Value: 5, Text: "五项"}}, o)
	tl := BarChartLayout(600, 260, []Bar{{Label: "按期", Value: 5, Text: "五项"}}, o)
	if n, _, _ := inkIn(withText, image.Rect(tl.Slots[0].Min.X, tl.Plot.Min.Y-40, tl.Slots[0].Max.X, tl.Anchors[0].Y)); n < 20 {
		t.Errorf("the bar's text 五项 is not drawn (%d pixels)", n)
	}
}

// TestHorizontalChartLabels: the names stand left of their rows, each
// centred on its row.
func TestHorizontalChartLabels(t *testing.T) {
	o := fontOpts()
	o.Horizontal, o.Max = true, 100
	o.ValueTitle = "按期践诺率（%）"
	bars := []Bar{{Label: "养老服务", Value: 80}, {Label: "就业", Value: 50}, {Label: "物业管理", Value: 100}}
	img := BarChart(500, 160, bars, o)
	saveIfAsked(t, "font-hbars.png", img)
	l := BarChartLayout(500, 160, bars, o)
	for i, sl := range l.Slots {
		n, _, cy := inkIn(img, image.Rect(0, sl.Min.Y, l.Plot.Min.X-1, sl.Max.Y))
		mid := float64(sl.Min.Y+sl.Max.Y) / 2
		if n < 20 || math.Abs(cy-mid) > float64(sl.Dy())/4 {
			t.Errorf("label %q: %d pixels centred at y %.0f, row centre %.0f", bars[i].Label, n, cy, mid)
		}
	}
}

// TestMonthLabelsAligned: twelve month names sit under their points; on a
// narrow chart every other one, the latest month always.
func TestMonthLabelsAligned(t *testing.T) {
	var pts []Point
	for m := 1; m <= 12; m++ {
		pts = append(pts, Point{Label: []string{"1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"}[m-1], Value: float64(m * 8), Valid: m%4 != 0})
	}
	o := fontOpts()
	o.Max = 100
	o.ValueFormat = FormatPercent
	for _, w := range []int{900, 260} {
		img := LineChart(w, 220, pts, o)
		saveIfAsked(t, "font-line.png", img)
		l := LineChartLayout(w, 220, pts, o)
		below := l.Plot.Max.Y + l.Scale + 1
		drawn := 0
		for i, sl := range l.Slots {
			// A label may be wider than its column: look a column either side.
			n, cx, _ := inkIn(img, image.Rect(sl.Min.X-sl.Dx(), below, sl.Max.X+sl.Dx(), 220))
			mid := float64(sl.Min.X+sl.Max.X) / 2
			if n > 0 && math.Abs(cx-mid) < float64(sl.Dx())/2+1 {
				drawn++
			} else if w == 900 || i == 11 {
				t.Errorf("width %d: %s not under its point (%d pixels at x %.0f, point at %.0f)", w, pts[i].Label, n, cx, mid)
			}
			if l.Anchors[i].X != (sl.Min.X+sl.Max.X)/2 {
				t.Errorf("point %d at x %d, not its column's centre", i, l.Anchors[i].X)
			}
		}
		if w == 260 && (drawn < 3 || drawn == 12) {
			t.Errorf("narrow chart: %d of 12 month names drawn, want some but not all", drawn)
		}
	}
}

func TestParseFontRefusesGarbage(t *testing.T) {
	if _, err := ParseFont([]byte("not a font")); err == nil {
		t.Error("garbage parsed as a font")
	}
	if got := fit(bitmapText{1}, "123456", 17); got != "12…" && got != "" {
		t.Errorf("fit: %q", got)
	}
}
