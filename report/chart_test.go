package report

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

var (
	white = color.RGBA{0xff, 0xff, 0xff, 0xff}
	red   = color.RGBA{0xd0, 0x20, 0x20, 0xff}
	green = color.RGBA{0x20, 0xa0, 0x40, 0xff}
	ink   = color.RGBA{0x10, 0x10, 0x80, 0xff}
	black = color.RGBA{0, 0, 0, 0xff}
)

func opts() ChartOptions {
	return ChartOptions{Background: white, Axis: black, Grid: color.RGBA{0xe0, 0xe0, 0xe0, 0xff}, Bar: red, Line: green, Text: ink, Scale: 1}
}

func same(img *image.RGBA, x, y int, c color.RGBA) bool { return img.RGBAAt(x, y) == c }

// columnRun counts pixels of colour c in column x.
func columnRun(img *image.RGBA, x int, c color.RGBA) int {
	n := 0
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		if same(img, x, y, c) {
			n++
		}
	}
	return n
}

func rowRun(img *image.RGBA, y int, c color.RGBA) int {
	n := 0
	for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
		if same(img, x, y, c) {
			n++
		}
	}
	return n
}

func count(img *image.RGBA, r image.Rectangle, c color.RGBA) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if same(img, x, y, c) {
				n++
			}
		}
	}
	return n
}

// saveIfAsked writes the image to $REPORT_CHART_DIR for a look by eye.
func saveIfAsked(t *testing.T, name string, img image.Image) {
	dir := os.Getenv("REPORT_CHART_DIR")
	if dir == "" {
		return
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

func TestBarChartHeights(t *testing.T) {
	bars := []Bar{{Label: "a", Value: 10}, {Label: "b", Value: 5}, {Label: "c", Value: 0}, {Label: "d", Value: math.NaN()}, {Label: "e", Value: 7.5, Color: green}}
	img := BarChart(400, 240, bars, opts())
	saveIfAsked(t, "bars.png", img)
	l := BarChartLayout(400, 240, bars, opts())
	if img.Bounds() != image.Rect(0, 0, 400, 240) || len(l.Slots) != len(bars) {
		t.Fatalf("bounds %v, %d slots", img.Bounds(), len(l.Slots))
	}
	// Not blank: plenty of bar, axis and text pixels.
	if count(img, img.Bounds(), red) < 1000 || count(img, img.Bounds(), black) < 200 || count(img, img.Bounds(), ink) < 20 {
		t.Fatalf("chart looks blank: %d red, %d axis, %d text pixels", count(img, img.Bounds(), red), count(img, img.Bounds(), black), count(img, img.Bounds(), ink))
	}
	mid := func(i int) int { return (l.Slots[i].Min.X + l.Slots[i].Max.X) / 2 }
	h0, h1 := columnRun(img, mid(0), red), columnRun(img, mid(1), red)
	if h0 == 0 || math.Abs(float64(h0)/float64(h1)-2) > 0.05 {
		t.Errorf("bar heights %d and %d, want 2:1", h0, h1)
	}
	if h2, h3 := columnRun(img, mid(2), red), columnRun(img, mid(3), red); h2 != 0 || h3 != 0 {
		t.Errorf("zero and no-data bars drew %d and %d pixels", h2, h3)
	}
	if h4 := columnRun(img, mid(4), green); math.Abs(float64(h4)/float64(h0)-0.75) > 0.05 {
		t.Errorf("bar e: %d pixels of its own colour, want 3/4 of %d", h4, h0)
	}
	// The axis top is a round number above the largest value (10 → 12 in
	// steps of 3, or 10 itself... whatever it is, the tallest bar is
	// Value/Max of the plot height).
	if want := 10 / l.Max * float64(l.Plot.Dy()); math.Abs(float64(h0)-want) > 1.5 {
		t.Errorf("tallest bar %d px, want %.1f (max %v, plot %v)", h0, want, l.Max, l.Plot)
	}
	// The bar stands on the baseline and ends at its anchor.
	if !same(img, mid(0), l.Plot.Max.Y-1, red) || !same(img, mid(0), l.Anchors[0].Y, red) || same(img, mid(0), l.Anchors[0].Y-1, red) {
		t.Errorf("bar 0 not from baseline %d to anchor %v", l.Plot.Max.Y, l.Anchors[0])
	}
	// Values are drawn above the bars, in the text colour.
	above := image.Rect(l.Slots[0].Min.X, l.Anchors[0].Y-14, l.Slots[0].Max.X, l.Anchors[0].Y)
	if count(img, above, ink) == 0 {
		t.Error("no value above bar 0")
	}
	o := opts()
	o.HideValues, o.HideTicks = true, true
	if n := count(BarChart(400, 240, bars, o), image.Rect(0, 0, 400, 240), ink); n != 0 {
		t.Errorf("HideValues and HideTicks still drew %d text pixels", n)
	}
}

func TestBarChartMaxAndClip(t *testing.T) {
	o := opts()
	o.Max = 100
	bars := []Bar{{Value: 50}, {Value: 150}, {Value: 100}}
	img := BarChart(300, 200, bars, o)
	l := BarChartLayout(300, 200, bars, o)
	if l.Max != 100 || len(l.Ticks) != 5 || l.Ticks[4].Value != 100 || l.Ticks[2].Label != "50" {
		t.Fatalf("ticks %+v", l.Ticks)
	}
	mid := func(i int) int { return (l.Slots[i].Min.X + l.Slots[i].Max.X) / 2 }
	half, clipped, full := columnRun(img, mid(0), red), columnRun(img, mid(1), red), columnRun(img, mid(2), red)
	if clipped != full || math.Abs(float64(half)/float64(full)-0.5) > 0.02 || full != l.Plot.Dy() {
		t.Errorf("50/150/100 of 100: %d, %d, %d px (plot %d)", half, clipped, full, l.Plot.Dy())
	}
}

func TestHorizontalBarChart(t *testing.T) {
	o := opts()
	o.Horizontal = true
	bars := []Bar{{Value: 4}, {Value: 8}, {Value: 2}}
	img := BarChart(360, 150, bars, o)
	saveIfAsked(t, "hbars.png", img)
	l := BarChartLayout(360, 150, bars, o)
	mid := func(i int) int { return (l.Slots[i].Min.Y + l.Slots[i].Max.Y) / 2 }
	w0, w1, w2 := rowRun(img, mid(0), red), rowRun(img, mid(1), red), rowRun(img, mid(2), red)
	if w1 == 0 || math.Abs(float64(w0)/float64(w1)-0.5) > 0.03 || math.Abs(float64(w2)/float64(w1)-0.25) > 0.03 {
		t.Errorf("widths %d %d %d, want 2:4:1", w0, w1, w2)
	}
	if l.Anchors[1].X != l.Plot.Min.X+w1 {
		t.Errorf("anchor %v, bar ends at %d", l.Anchors[1], l.Plot.Min.X+w1)
	}
}

func TestLineChart(t *testing.T) {
	pts := []Point{{Value: 20, Valid: true}, {Value: 40, Valid: true}, {Valid: false}, {Value: 80, Valid: true}, {Value: 60, Valid: true}}
	o := opts()
	o.Max = 100
	o.ValueFormat = FormatPercent
	img := LineChart(500, 200, pts, o)
	saveIfAsked(t, "line.png", img)
	l := LineChartLayout(500, 200, pts, o)
	if count(img, img.Bounds(), green) < 100 {
		t.Fatal("no line drawn")
	}
	// Higher values sit higher; the gap's anchor is on the baseline.
	if !(l.Anchors[0].Y > l.Anchors[1].Y && l.Anchors[1].Y > l.Anchors[3].Y && l.Anchors[4].Y > l.Anchors[3].Y) || l.Anchors[2].Y != l.Plot.Max.Y {
		t.Errorf("anchors %v", l.Anchors)
	}
	if want := l.Plot.Max.Y - int(math.Round(0.8*float64(l.Plot.Dy()))); l.Anchors[3].Y != want {
		t.Errorf("80%% at y=%d, want %d", l.Anchors[3].Y, want)
	}
	for _, i := range []int{0, 1, 3, 4} {
		if !same(img, l.Anchors[i].X, l.Anchors[i].Y, green) {
			t.Errorf("no dot at point %d %v", i, l.Anchors[i])
		}
	}
	// The line is broken at the gap: nothing green in the gap's column.
	if n := columnRun(img, l.Anchors[2].X, green); n != 0 {
		t.Errorf("line drawn across the missing point (%d px)", n)
	}
	// Between points 0 and 1 the line passes half-way up.
	mx := (l.Anchors[0].X + l.Anchors[1].X) / 2
	my := (l.Anchors[0].Y + l.Anchors[1].Y) / 2
	if count(img, image.Rect(mx-1, my-2, mx+2, my+3), green) == 0 {
		t.Errorf("no line around (%d,%d)", mx, my)
	}
	// Anti-aliased: some edge pixels are neither background nor line.
	mixed := 0
	for y := l.Plot.Min.Y; y < l.Plot.Max.Y; y++ {
		p := img.RGBAAt(mx, y)
		if p != white && p != green && p.G > p.R {
			mixed++
		}
	}
	if mixed == 0 {
		t.Error("line edges are not anti-aliased")
	}
}

func TestChartEdgeCases(t *testing.T) {
	for _, sz := range [][2]int{{0, 0}, {-5, 10}, {1, 1}, {3, 200}, {200, 3}} {
		img := BarChart(sz[0], sz[1], []Bar{{Value: 3}}, ChartOptions{})
		LineChart(sz[0], sz[1], []Point{{Value: 3, Valid: true}, {Value: 1, Valid: true}}, ChartOptions{})
		if img.Bounds().Dx() != max(sz[0], 0) {
			t.Errorf("size %v: bounds %v", sz, img.Bounds())
		}
	}
	// No bars, no points: just the axes.
	img := BarChart(200, 100, nil, opts())
	if count(img, img.Bounds(), black) == 0 || count(img, img.Bounds(), red) != 0 {
		t.Error("empty bar chart: want axes only")
	}
	img = LineChart(200, 100, []Point{{}, {}}, opts())
	if count(img, img.Bounds(), green) != 0 {
		t.Error("line chart of gaps drew a line")
	}
	// Transparent background by default.
	img = BarChart(100, 100, []Bar{{Value: 1}}, ChartOptions{})
	if img.RGBAAt(99, 0).A != 0 {
		t.Error("default background is not transparent")
	}
}

func TestAxis(t *testing.T) {
	for _, tc := range []struct {
		max      float64
		integral bool
		top      float64
	}{
		{0, true, 4}, {1, true, 4}, {3, true, 4}, {4, true, 4}, {7, true, 8}, {9, true, 12}, {10, true, 12},
		{13, true, 16}, {95, true, 100}, {101, true, 120}, {1234, true, 1600},
		{0.3, false, 0.4}, {0.9, false, 1}, {87.5, false, 100}, {9, false, 10},
	} {
		o := ChartOptions{Ticks: 4}
		top, step := axis(tc.max, tc.integral, &o)
		if math.Abs(top-tc.top) > 1e-9 || math.Abs(step*4-top) > 1e-9 {
			t.Errorf("axis(%v, %v) = %v step %v, want top %v", tc.max, tc.integral, top, step, tc.top)
		}
		if tc.integral && step != math.Trunc(step) {
			t.Errorf("axis(%v) step %v is not whole for counts", tc.max, step)
		}
	}
}

func TestFormatPercentAndFont(t *testing.T) {
	for v, want := range map[float64]string{0: "0%", 50: "50%", 87.5: "87.5%", 66.6666: "66.7%", 100: "100%"} {
		if got := FormatPercent(v); got != want {
			t.Errorf("FormatPercent(%v) = %q, want %q", v, got, want)
		}
	}
	if !Drawable("12.5% -3/4:0") || Drawable("按期") {
		t.Error("Drawable")
	}
	for r, g := range glyphs {
		for _, row := range g {
			if len(row) != glyphW {
				t.Errorf("glyph %q has a row of %d", r, len(row))
			}
		}
	}
}

func TestChartHelpers(t *testing.T) {
	s := Compute(nil, today, cal)
	if b := StatusBars(s.All); len(b) != 8 || b[0].Label != "draft" {
		t.Errorf("StatusBars %v", b)
	}
	rb := RateBars(s.ByCategory)
	if len(rb) != 14 || !math.IsNaN(rb[0].Value) {
		t.Errorf("RateBars of nothing: %v", rb[:1])
	}
	rp := RatePoints(s.ByMonth)
	if len(rp) != 12 || rp[11].Label != "2026-11" || rp[0].Label != "2025-12" || rp[0].Valid {
		t.Errorf("RatePoints %v … %v", rp[0], rp[11])
	}
}
