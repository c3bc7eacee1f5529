package report

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"strconv"
	"strings"
)

// Bar is one bar of a bar chart.
type Bar struct {
	// Label names the bar (a category, an office). With
	// ChartOptions.Font it is drawn under the bar (left of it in a
	// horizontal chart), shortened with "…" to its column; without, it is
	// left to the caller, at Layout.Slots.
	Label string
	// Value is the bar's length in axis units. NaN or a negative value
	// draws no bar (and no value): "no data", distinct from a zero bar.
	Value float64
	// Color overrides ChartOptions.Bar for this bar (e.g. a warning colour).
	Color color.Color
	// Text is drawn at the bar's end instead of the formatted value, if
	// set (only characters the chart font has; see Drawable).
	Text string
}

// Point is one point of a line chart.
type Point struct {
	// Label names the point (a month), drawn under it with
	// ChartOptions.Font (only every second, third… label when they do not
	// all fit); see Bar.Label.
	Label string
	// Value is the point's height in axis units.
	Value float64
	// Valid is false for a point with no data (a month with no verdict):
	// no dot is drawn and the line is broken there.
	Valid bool
	// Text replaces the formatted value, as for Bar.
	Text string
}

// ChartOptions control how a chart looks. Colours are passed in so that
// the app can use its theme's (light or dark); nil colours get defaults.
type ChartOptions struct {
	Background color.Color // behind everything; nil: transparent
	Axis       color.Color // axis lines; nil: mid grey
	Grid       color.Color // gridlines; nil: light translucent grey
	Bar        color.Color // bars; nil: a blue
	Line       color.Color // the line and its dots; nil: Bar
	Text       color.Color // values and tick labels; nil: Axis

	// Max is the top of the value axis; zero means a round number at or
	// above the largest value. Values above Max are drawn at Max. For
	// percentages pass 100.
	Max float64
	// Ticks is the number of gridlines above the baseline; zero means 4.
	Ticks int
	// TickFormat formats the value-axis labels; nil prints integers, or
	// decimals when the step is not whole. Return "" to omit one.
	TickFormat func(float64) string
	// ValueFormat formats the value at each bar or point; nil means
	// TickFormat's rule.
	ValueFormat func(float64) string
	HideValues  bool // no value at each bar or point
	HideTicks   bool // no value-axis labels (gridlines stay)

	// Horizontal lays a bar chart out in rows, bars growing rightwards:
	// better for many long (Chinese) labels, which the app draws on the
	// left. Line charts ignore it.
	Horizontal bool

	// Scale multiplies every size drawn: font pixels, line widths,
	// margins. Zero picks one from the image size: the smaller side
	// divided by 160, between 1 and 4. Pass the display's scale factor for
	// crisp text on high-DPI screens.
	Scale int
	// LineWidth is the line chart's stroke in pixels before scaling;
	// zero means 2.
	LineWidth float64

	// Font, when set, draws every text of the chart with it: tick values,
	// values, the bars' and points' labels and the axis titles (EmbeddedFont
	// is the app's). Nil draws numbers only, with a built-in digit font,
	// and leaves labels and titles to the caller.
	Font *Font
	// TextSize is the font's size in pixels before scaling; zero means 12.
	TextSize float64
	// ValueTitle names the value axis ("按期践诺率（%）"): drawn above it, or
	// under a horizontal chart's. CategoryTitle names the other axis: drawn
	// at its end under the labels, or above a horizontal chart's labels.
	// Both need Font.
	ValueTitle, CategoryTitle string
}

// Tick is one gridline of the value axis.
type Tick struct {
	Value float64 `json:"value"`
	Pos   int     `json:"pos"` // y of the gridline (x for a horizontal chart)
	Label string  `json:"label"`
}

// Layout says where a chart put things, so that the app can draw labels in
// its own font around or over the image: Slots[i] is the column (row, for a
// horizontal bar chart) of bar or point i inside Plot, and Anchors[i] is the
// end of the bar or the point itself (on the baseline when it has no data).
type Layout struct {
	Plot    image.Rectangle   `json:"plot"`
	Slots   []image.Rectangle `json:"slots"`
	Anchors []image.Point     `json:"anchors"`
	Ticks   []Tick            `json:"ticks"`
	Max     float64           `json:"max"`
	Scale   int               `json:"scale"`
}

// Default colours, chosen to read on light and dark backgrounds alike.
var (
	defaultAxis = color.NRGBA{0x80, 0x80, 0x80, 0xff}
	defaultGrid = color.NRGBA{0x80, 0x80, 0x80, 0x40}
	defaultBar  = color.NRGBA{0x2f, 0x6f, 0xd0, 0xff}
)

func (o *ChartOptions) defaults(w, h int) {
	if o.Axis == nil {
		o.Axis = defaultAxis
	}
	if o.Grid == nil {
		o.Grid = defaultGrid
	}
	if o.Bar == nil {
		o.Bar = defaultBar
	}
	if o.Line == nil {
		o.Line = o.Bar
	}
	if o.Text == nil {
		o.Text = o.Axis
	}
	if o.Ticks <= 0 {
		o.Ticks = 4
	}
	if o.Scale <= 0 {
		o.Scale = min(max(min(w, h)/160, 1), 4)
	}
	if o.LineWidth <= 0 {
		o.LineWidth = 2
	}
}

// FormatPercent formats v, a percentage between 0 and 100, as "87.5%"
// (one decimal at most, none when whole): a ValueFormat or TickFormat for
// rate charts.
func FormatPercent(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) + "%"
}

// axis picks the top of the value axis and the step between gridlines: a
// round step (1, 2, 2.5, 3, 4 or 5 times a power of ten; whole when
// every value is whole, as counts are) times the number of ticks, at or
// above the largest value.
func axis(maxValue float64, integral bool, o *ChartOptions) (top, step float64) {
	if o.Max > 0 {
		return o.Max, o.Max / float64(o.Ticks)
	}
	if !(maxValue > 0) || math.IsInf(maxValue, 0) {
		maxValue = 1
	}
	raw := maxValue / float64(o.Ticks)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step = 10 * mag
	for _, m := range []float64{1, 2, 2.5, 3, 4, 5, 10} {
		c := m * mag
		if integral && (c < 1 || c != math.Trunc(c)) {
			continue
		}
		if c >= raw*(1-1e-9) {
			step = c
			break
		}
	}
	if integral {
		step = max(step, 1)
	}
	return step * float64(o.Ticks), step
}

func formatNumber(step float64) func(float64) string {
	whole := step == math.Trunc(step)
	return func(v float64) string {
		if whole {
			return strconv.FormatInt(int64(math.Round(v)), 10)
		}
		return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
	}
}

func hasData(v float64) bool { return !math.IsNaN(v) && v >= 0 }

// chart is the geometry shared by both kinds of chart.
type chart struct {
	o          ChartOptions
	w, h       int
	top, step  float64
	plot       image.Rectangle
	horizontal bool
	tickFmt    func(float64) string
	valueFmt   func(float64) string
	text       textDrawer
	labels     []string // of the bars or points, drawn when o.Font is set
}

func newChart(w, h int, values []float64, texts, labels []string, o ChartOptions, horizontal bool) *chart {
	o.defaults(w, h)
	k := &chart{o: o, w: w, h: h, horizontal: horizontal, text: bitmapText{o.Scale}}
	if o.Font != nil {
		size := o.TextSize
		if size <= 0 {
			size = 12
		}
		if ft, err := newFontText(o.Font, size*float64(o.Scale)); err == nil {
			k.text, k.labels = ft, labels
		}
	}
	largest, integral := 0.0, true
	for _, v := range values {
		if hasData(v) {
			largest = max(largest, v)
			integral = integral && v == math.Trunc(v)
		}
	}
	k.top, k.step = axis(largest, integral, &o)
	k.tickFmt = o.TickFormat
	if k.tickFmt == nil {
		k.tickFmt = formatNumber(k.step)
	}
	k.valueFmt = o.ValueFormat
	if k.valueFmt == nil {
		if o.TickFormat != nil {
			k.valueFmt = o.TickFormat
		} else {
			k.valueFmt = formatNumber(boolFloat(integral, 0.5))
		}
	}

	s := o.Scale
	pad := 4 * s
	charH := k.text.lineHeight()
	tickW := 0
	if !o.HideTicks {
		for i := 0; i <= o.Ticks; i++ {
			tickW = max(tickW, k.text.size(k.tickFmt(k.step*float64(i))).X)
		}
	}
	valueW := 0
	if !o.HideValues {
		for i, v := range values {
			if hasData(v) {
				t := texts[i]
				if t == "" {
					t = k.valueFmt(min(v, k.top))
				}
				valueW = max(valueW, k.text.size(t).X)
			}
		}
	}
	r := image.Rect(0, 0, w, h)
	if _, font := k.text.(*fontText); font {
		r = k.reserveText(r, pad)
	}
	if horizontal {
		r.Min.X += pad
		r.Min.Y += pad
		r.Max.X -= pad + valueW + pad
		if !o.HideTicks {
			r.Max.Y -= charH + 2*pad
		} else {
			r.Max.Y -= pad
		}
		// The last tick label is centred on the right end of the axis.
		r.Max.X = min(r.Max.X, w-pad-tickW/2)
	} else {
		if !o.HideTicks {
			r.Min.X += tickW + 2*pad
		} else {
			r.Min.X += pad
		}
		r.Max.X -= pad
		r.Min.Y += max(charH/2, charH*boolInt(!o.HideValues)) + 2*pad
		r.Max.Y -= pad
	}
	if r.Dx() < 1 || r.Dy() < 1 {
		r = image.Rectangle{Min: r.Min, Max: r.Min.Add(image.Pt(max(r.Dx(), 1), max(r.Dy(), 1)))}
	}
	k.plot = r
	return k
}

// reserveText takes from r the room for the axis titles and the labels,
// drawn with a font: a row under the plot (a column left of a horizontal
// chart's) for the labels, a row for each title.
func (k *chart) reserveText(r image.Rectangle, pad int) image.Rectangle {
	line := k.text.lineHeight()
	has := false
	labelW := 0
	for _, l := range k.labels {
		has = has || l != ""
		labelW = max(labelW, k.text.size(l).X)
	}
	if k.horizontal {
		if k.o.CategoryTitle != "" {
			r.Min.Y += line + pad
		}
		if k.o.ValueTitle != "" {
			r.Max.Y -= line + pad
		}
		if has {
			r.Min.X += min(labelW, k.w*2/5) + pad
		}
		return r
	}
	if k.o.ValueTitle != "" {
		r.Min.Y += line + pad
	}
	if has {
		r.Max.Y -= line + 2*pad
	}
	if k.o.CategoryTitle != "" {
		r.Max.Y -= line + pad
	}
	return r
}

// drawLabels draws the labels and the axis titles (font charts only).
func (k *chart) drawLabels(img *image.RGBA) {
	if _, font := k.text.(*fontText); !font {
		return
	}
	s, pad, line := k.o.Scale, 4*k.o.Scale, k.text.lineHeight()
	slots := k.slots(len(k.labels))
	if k.horizontal {
		for i, l := range k.labels {
			sl := slots[i]
			t := fit(k.text, l, k.plot.Min.X-pad-s)
			sz := k.text.size(t)
			k.text.draw(img, image.Pt(k.plot.Min.X-s-pad/2-sz.X, (sl.Min.Y+sl.Max.Y)/2-sz.Y/2), t, k.o.Text)
		}
		if k.o.CategoryTitle != "" {
			k.text.draw(img, image.Pt(pad, k.plot.Min.Y-line-pad/2), fit(k.text, k.o.CategoryTitle, k.w-2*pad), k.o.Text)
		}
		if k.o.ValueTitle != "" {
			t := fit(k.text, k.o.ValueTitle, k.plot.Dx())
			k.text.draw(img, image.Pt(k.plot.Max.X-k.text.size(t).X, k.h-pad/2-line), t, k.o.Text)
		}
		return
	}
	y := k.plot.Max.Y + s + pad
	// Every label if each fits its column; else every step-th, so that
	// twelve month names on a narrow chart do not run together.
	widest := 0
	for _, l := range k.labels {
		widest = max(widest, k.text.size(l).X)
	}
	step := 1
	if n := len(slots); n > 0 {
		col := k.plot.Dx() / n
		for step < n && widest+pad > col*step {
			step++
		}
	}
	for i, l := range k.labels {
		if i%step != (len(k.labels)-1)%step { // keep the last (the latest month)
			continue
		}
		sl := slots[i]
		t := fit(k.text, l, max(sl.Dx()*step-s, 1))
		sz := k.text.size(t)
		x := min(max((sl.Min.X+sl.Max.X)/2-sz.X/2, 0), k.w-sz.X)
		k.text.draw(img, image.Pt(x, y), t, k.o.Text)
	}
	if k.o.ValueTitle != "" {
		k.text.draw(img, image.Pt(pad/2, pad/2), fit(k.text, k.o.ValueTitle, k.w-pad), k.o.Text)
	}
	if k.o.CategoryTitle != "" {
		t := fit(k.text, k.o.CategoryTitle, k.plot.Dx())
		k.text.draw(img, image.Pt(k.plot.Max.X-k.text.size(t).X, k.h-pad/2-line), t, k.o.Text)
	}
}

// boolFloat is 1 if b, else f.
func boolFloat(b bool, f float64) float64 {
	if b {
		return 1
	}
	return f
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// pos maps a value to a pixel along the value axis.
func (k *chart) pos(v float64) int {
	f := min(max(v/k.top, 0), 1)
	if k.horizontal {
		return k.plot.Min.X + int(math.Round(f*float64(k.plot.Dx())))
	}
	return k.plot.Max.Y - int(math.Round(f*float64(k.plot.Dy())))
}

// slots divides the plot into n equal columns (rows when horizontal).
func (k *chart) slots(n int) []image.Rectangle {
	out := make([]image.Rectangle, n)
	for i := range out {
		if k.horizontal {
			y0 := k.plot.Min.Y + i*k.plot.Dy()/n
			y1 := k.plot.Min.Y + (i+1)*k.plot.Dy()/n
			out[i] = image.Rect(k.plot.Min.X, y0, k.plot.Max.X, y1)
		} else {
			x0 := k.plot.Min.X + i*k.plot.Dx()/n
			x1 := k.plot.Min.X + (i+1)*k.plot.Dx()/n
			out[i] = image.Rect(x0, k.plot.Min.Y, x1, k.plot.Max.Y)
		}
	}
	return out
}

func (k *chart) ticks() []Tick {
	out := make([]Tick, 0, k.o.Ticks+1)
	for i := 0; i <= k.o.Ticks; i++ {
		v := k.step * float64(i)
		if i == k.o.Ticks {
			v = k.top
		}
		out = append(out, Tick{Value: v, Pos: k.pos(v), Label: k.tickFmt(v)})
	}
	return out
}

// background draws the background, gridlines, tick labels and axes.
func (k *chart) background() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, k.w, k.h))
	if k.o.Background != nil {
		fillRect(img, img.Bounds(), image.NewUniform(k.o.Background))
	}
	s := k.o.Scale
	grid, ax, text := image.NewUniform(k.o.Grid), image.NewUniform(k.o.Axis), k.o.Text
	for i, t := range k.ticks() {
		if k.horizontal {
			if i > 0 {
				fillRect(img, image.Rect(t.Pos-s/2, k.plot.Min.Y, t.Pos-s/2+s, k.plot.Max.Y), grid)
			}
			if !k.o.HideTicks && t.Label != "" {
				sz := k.text.size(t.Label)
				x := min(max(t.Pos-sz.X/2, 0), k.w-sz.X)
				k.text.draw(img, image.Pt(x, k.plot.Max.Y+4*s), t.Label, text)
			}
		} else {
			if i > 0 {
				fillRect(img, image.Rect(k.plot.Min.X, t.Pos-s/2, k.plot.Max.X, t.Pos-s/2+s), grid)
			}
			if !k.o.HideTicks && t.Label != "" {
				sz := k.text.size(t.Label)
				k.text.draw(img, image.Pt(k.plot.Min.X-4*s-sz.X, t.Pos-sz.Y/2), t.Label, text)
			}
		}
	}
	// The axes: the baseline and the value axis.
	p := k.plot
	if k.horizontal {
		fillRect(img, image.Rect(p.Min.X-s, p.Min.Y, p.Min.X, p.Max.Y), ax)
		fillRect(img, image.Rect(p.Min.X-s, p.Max.Y, p.Max.X, p.Max.Y+s), ax)
	} else {
		fillRect(img, image.Rect(p.Min.X-s, p.Min.Y, p.Min.X, p.Max.Y+s), ax)
		fillRect(img, image.Rect(p.Min.X-s, p.Max.Y, p.Max.X, p.Max.Y+s), ax)
	}
	return img
}

func barValues(bars []Bar) (vs []float64, ts, ls []string) {
	vs, ts, ls = make([]float64, len(bars)), make([]string, len(bars)), make([]string, len(bars))
	for i, b := range bars {
		vs[i], ts[i], ls[i] = b.Value, b.Text, b.Label
	}
	return vs, ts, ls
}

func (k *chart) barRects(bars []Bar) (slots, rects []image.Rectangle) {
	slots = k.slots(len(bars))
	rects = make([]image.Rectangle, len(bars))
	for i, sl := range slots {
		if !hasData(bars[i].Value) {
			continue
		}
		end := k.pos(bars[i].Value)
		if k.horizontal {
			gap := max(sl.Dy()*18/100, min(1, sl.Dy()-1))
			rects[i] = image.Rect(k.plot.Min.X, sl.Min.Y+gap, end, sl.Max.Y-gap)
		} else {
			gap := max(sl.Dx()*18/100, min(1, sl.Dx()-1))
			rects[i] = image.Rect(sl.Min.X+gap, end, sl.Max.X-gap, k.plot.Max.Y)
		}
	}
	return slots, rects
}

// BarChartLayout returns where BarChart(w, h, bars, opts) puts things,
// without drawing.
func BarChartLayout(w, h int, bars []Bar, opts ChartOptions) Layout {
	vs, ts, ls := barValues(bars)
	k := newChart(w, h, vs, ts, ls, opts, opts.Horizontal)
	slots := k.slots(len(bars))
	l := Layout{Plot: k.plot, Slots: slots, Anchors: make([]image.Point, len(bars)), Ticks: k.ticks(), Max: k.top, Scale: k.o.Scale}
	for i, sl := range slots {
		switch {
		case k.horizontal:
			l.Anchors[i] = image.Pt(k.plot.Min.X, (sl.Min.Y+sl.Max.Y)/2)
			if hasData(bars[i].Value) {
				l.Anchors[i].X = k.pos(bars[i].Value)
			}
		default:
			l.Anchors[i] = image.Pt((sl.Min.X+sl.Max.X)/2, k.plot.Max.Y)
			if hasData(bars[i].Value) {
				l.Anchors[i].Y = k.pos(bars[i].Value)
			}
		}
	}
	return l
}

// BarChart draws a bar chart of w×h pixels: gridlines at round values with
// their labels, the axes, one bar per entry (in order, left to right or top
// to bottom) and each bar's value at its end. Bar labels are left to the
// app (see BarChartLayout). The image is new; nothing is retained.
func BarChart(w, h int, bars []Bar, opts ChartOptions) *image.RGBA {
	if w <= 0 || h <= 0 {
		return image.NewRGBA(image.Rect(0, 0, max(w, 0), max(h, 0)))
	}
	vs, ts, ls := barValues(bars)
	k := newChart(w, h, vs, ts, ls, opts, opts.Horizontal)
	img := k.background()
	k.drawLabels(img)
	_, rects := k.barRects(bars)
	s := k.o.Scale
	for i, r := range rects {
		b := bars[i]
		if !hasData(b.Value) {
			continue
		}
		c := b.Color
		if c == nil {
			c = k.o.Bar
		}
		fillRect(img, r, image.NewUniform(c))
		if k.o.HideValues {
			continue
		}
		t := b.Text
		if t == "" {
			t = k.valueFmt(min(b.Value, k.top))
		}
		sz := k.text.size(t)
		if k.horizontal {
			k.label(img, image.Pt(r.Max.X+3*s, (r.Min.Y+r.Max.Y)/2-sz.Y/2), t)
		} else {
			k.label(img, image.Pt((r.Min.X+r.Max.X)/2-sz.X/2, r.Min.Y-3*s-sz.Y), t)
		}
	}
	return img
}

func pointValues(points []Point) (vs []float64, ts, ls []string) {
	vs, ts, ls = make([]float64, len(points)), make([]string, len(points)), make([]string, len(points))
	for i, p := range points {
		vs[i], ts[i], ls[i] = p.Value, p.Text, p.Label
		if !p.Valid {
			vs[i] = math.NaN()
		}
	}
	return vs, ts, ls
}

// LineChartLayout returns where LineChart(w, h, points, opts) puts things,
// without drawing.
func LineChartLayout(w, h int, points []Point, opts ChartOptions) Layout {
	vs, ts, ls := pointValues(points)
	k := newChart(w, h, vs, ts, ls, opts, false)
	slots := k.slots(len(points))
	l := Layout{Plot: k.plot, Slots: slots, Anchors: make([]image.Point, len(points)), Ticks: k.ticks(), Max: k.top, Scale: k.o.Scale}
	for i, sl := range slots {
		l.Anchors[i] = image.Pt((sl.Min.X+sl.Max.X)/2, k.plot.Max.Y)
		if hasData(vs[i]) {
			l.Anchors[i].Y = k.pos(vs[i])
		}
	}
	return l
}

// LineChart draws a line chart of w×h pixels: gridlines and axes as for
// BarChart, one point per entry, centred in equal columns left to right,
// joined by an anti-aliased line that breaks at points without data, and
// each point's value above it.
func LineChart(w, h int, points []Point, opts ChartOptions) *image.RGBA {
	if w <= 0 || h <= 0 {
		return image.NewRGBA(image.Rect(0, 0, max(w, 0), max(h, 0)))
	}
	l := LineChartLayout(w, h, points, opts)
	vs, ts, ls := pointValues(points)
	k := newChart(w, h, vs, ts, ls, opts, false)
	img := k.background()
	k.drawLabels(img)
	s := float64(k.o.Scale)
	half := k.o.LineWidth * s / 2
	for i := 1; i < len(points); i++ {
		if hasData(vs[i-1]) && hasData(vs[i]) {
			a, b := l.Anchors[i-1], l.Anchors[i]
			strokeSegment(img, float64(a.X), float64(a.Y), float64(b.X), float64(b.Y), half, k.o.Line)
		}
	}
	for i, a := range l.Anchors {
		if hasData(vs[i]) {
			strokeSegment(img, float64(a.X), float64(a.Y), float64(a.X), float64(a.Y), half+1.5*s, k.o.Line)
		}
	}
	// Values last, each on a patch of background so that a line crossing
	// it does not hide it.
	for i, a := range l.Anchors {
		if !hasData(vs[i]) || k.o.HideValues {
			continue
		}
		t := ts[i]
		if t == "" {
			t = k.valueFmt(min(vs[i], k.top))
		}
		sz := k.text.size(t)
		x := min(max(a.X-sz.X/2, 0), w-sz.X)
		k.label(img, image.Pt(x, a.Y-int(half+1.5*s)-3*k.o.Scale-sz.Y), t)
	}
	return img
}

// label draws a value at p (its top-left corner) on a patch of the
// background colour, if there is one.
func (k *chart) label(img *image.RGBA, p image.Point, t string) {
	s := k.o.Scale
	if k.o.Background != nil {
		sz := k.text.size(t)
		draw.Draw(img, image.Rectangle{Min: p, Max: p.Add(sz)}.Inset(-s).Intersect(img.Bounds()), image.NewUniform(k.o.Background), image.Point{}, draw.Src)
	}
	k.text.draw(img, p, t, k.o.Text)
}

// fillRect composites src over r.
func fillRect(img *image.RGBA, r image.Rectangle, src image.Image) {
	draw.Draw(img, r.Intersect(img.Bounds()), src, image.Point{}, draw.Over)
}

// strokeSegment draws the segment (x0,y0)–(x1,y1) with round caps and the
// given half width, anti-aliased by pixel coverage (a point when the ends
// coincide: a dot of that radius).
func strokeSegment(img *image.RGBA, x0, y0, x1, y1, half float64, c color.Color) {
	r, g, b, a := c.RGBA()
	minX := int(math.Floor(min(x0, x1) - half - 1))
	maxX := int(math.Ceil(max(x0, x1) + half + 1))
	minY := int(math.Floor(min(y0, y1) - half - 1))
	maxY := int(math.Ceil(max(y0, y1) + half + 1))
	bounds := img.Bounds()
	dx, dy := x1-x0, y1-y0
	l2 := dx*dx + dy*dy
	for y := max(minY, bounds.Min.Y); y < min(maxY, bounds.Max.Y); y++ {
		for x := max(minX, bounds.Min.X); x < min(maxX, bounds.Max.X); x++ {
			px, py := float64(x)+0.5, float64(y)+0.5
			t := 0.0
			if l2 > 0 {
				t = min(max(((px-x0)*dx+(py-y0)*dy)/l2, 0), 1)
			}
			ex, ey := px-(x0+t*dx), py-(y0+t*dy)
			cov := min(max(half+0.5-math.Sqrt(ex*ex+ey*ey), 0), 1)
			if cov == 0 {
				continue
			}
			blend(img, x, y, r, g, b, a, cov)
		}
	}
}

// blend composites a premultiplied colour at coverage cov over one pixel.
func blend(img *image.RGBA, x, y int, r, g, b, a uint32, cov float64) {
	i := img.PixOffset(x, y)
	p := img.Pix[i : i+4 : i+4]
	f := cov / 0xffff
	sr, sg, sb, sa := float64(r)*f, float64(g)*f, float64(b)*f, float64(a)*f // 0..1
	keep := 1 - sa
	p[0] = uint8(math.Round(sr*255 + float64(p[0])*keep))
	p[1] = uint8(math.Round(sg*255 + float64(p[1])*keep))
	p[2] = uint8(math.Round(sb*255 + float64(p[2])*keep))
	p[3] = uint8(math.Round(sa*255 + float64(p[3])*keep))
}

// RatePoints turns a monthly series into line-chart points of the on-time
// rate in percent (0–100), with months without a verdict as gaps. Labels
// are "2026-11"; the app may replace them with translated month names.
func RatePoints(months []MonthStats) []Point {
	out := make([]Point, len(months))
	for i, m := range months {
		out[i].Label = strconv.Itoa(m.Year) + "-" + pad2(int(m.Month))
		if r, ok := m.OnTimeRate(); ok {
			out[i].Value, out[i].Valid = r*100, true
		}
	}
	return out
}

// RateBars turns category tallies into bars of the on-time rate in percent
// (0–100); a category without a verdict gets no bar (NaN). Labels are the
// category identifiers; the app translates them ("category."+label).
func RateBars(cats []CategoryStats) []Bar {
	out := make([]Bar, len(cats))
	for i, c := range cats {
		out[i].Label = string(c.Category)
		out[i].Value = math.NaN()
		if r, ok := c.OnTimeRate(); ok {
			out[i].Value = r * 100
		}
	}
	return out
}

// StatusBars turns a tally into one bar per status, in lifecycle order,
// labelled with the status identifiers ("status."+label to translate).
func StatusBars(t Tally) []Bar {
	out := make([]Bar, len(allStatuses))
	for i, s := range allStatuses {
		out[i] = Bar{Label: string(s), Value: float64(t.ByStatus[s])}
	}
	return out
}

func pad2(n int) string {
	s := strconv.Itoa(n)
	return strings.Repeat("0", max(0, 2-len(s))) + s
}
