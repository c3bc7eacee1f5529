package report

import (
	"image"
	"image/color"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"jiannuo/assets"
)

// Font is an OpenType font charts draw their text with when
// ChartOptions.Font is set: tick values, values, the names of bars and
// points, and the axis titles. It is safe for concurrent use (each chart
// makes its own face).
type Font struct{ f *opentype.Font }

// ParseFont reads an OpenType or TrueType font (one face, not a .ttc
// collection).
func ParseFont(data []byte) (*Font, error) {
	f, err := opentype.Parse(data)
	if err != nil {
		return nil, err
	}
	return &Font{f: f}, nil
}

// EmbeddedFont is the app's own CJK font (assets.FontCJK: Noto Sans SC,
// with every character of the translations, demo data and office
// directory), parsed once: charts then match the app's text.
var EmbeddedFont = sync.OnceValue(func() *Font {
	f, err := ParseFont(assets.FontCJK())
	if err != nil { // cannot happen: the font is embedded and tested
		panic(err)
	}
	return f
})

// textDrawer measures and draws a chart's text: the built-in digit font
// (bitmapText) or an OpenType face (fontText).
type textDrawer interface {
	size(s string) image.Point // width and line height of s
	lineHeight() int
	draw(img *image.RGBA, p image.Point, s string, c color.Color) // p: top-left
}

// bitmapText is the built-in 5×7 digit font at an integer scale.
type bitmapText struct{ scale int }

func (b bitmapText) size(s string) image.Point { return textSize(s, b.scale) }
func (b bitmapText) lineHeight() int           { return glyphH * b.scale }
func (b bitmapText) draw(img *image.RGBA, p image.Point, s string, c color.Color) {
	drawText(img, p, s, b.scale, c)
}

// fontText draws with an OpenType face, anti-aliased.
type fontText struct {
	face           font.Face
	ascent, height int
}

func newFontText(f *Font, px float64) (*fontText, error) {
	face, err := opentype.NewFace(f.f, &opentype.FaceOptions{Size: px, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, err
	}
	m := face.Metrics()
	return &fontText{face: face, ascent: m.Ascent.Ceil(), height: m.Ascent.Ceil() + m.Descent.Ceil()}, nil
}

func (t *fontText) size(s string) image.Point {
	if s == "" {
		return image.Point{}
	}
	return image.Pt(font.MeasureString(t.face, s).Ceil(), t.height)
}

func (t *fontText) lineHeight() int { return t.height }

func (t *fontText) draw(img *image.RGBA, p image.Point, s string, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: t.face, Dot: fixed.P(p.X, p.Y+t.ascent)}
	d.DrawString(s)
}

// fit shortens s with "…" until it is at most w pixels wide ("" if not
// even the ellipsis fits).
func fit(t textDrawer, s string, w int) string {
	if t.size(s).X <= w {
		return s
	}
	r := []rune(s)
	for n := len(r) - 1; n > 0; n-- {
		if c := string(r[:n]) + "…"; t.size(c).X <= w {
			return c
		}
	}
	return ""
}
