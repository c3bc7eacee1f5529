// Package theme is the look of the 践诺 Jiannuo desktop app: Fyne's default
// theme with an embedded Simplified Chinese font, a restrained government-red
// primary colour, and a light, dark or system-chosen palette.
//
// Fonts. Fyne ships Latin fonts only and falls back to system fonts for other
// scripts; an office PC may have no CJK font, or one with the wrong forms. The
// theme therefore returns the embedded Noto Sans CJK SC subset
// (assets.FontCJK, assets.FontCJKBold; see docs/fonts.md) for every text
// style except monospace and symbol:
//
//	regular, italic        Noto Sans CJK SC Jiannuo Regular
//	bold, bold italic      Noto Sans CJK SC Jiannuo Bold
//	monospace              Fyne's default (Noto Sans Mono): Latin only
//	symbol                 Fyne's default symbol font
//
// The CJK font has its own Latin letters and digits, so Latin text is drawn
// with them too, keeping the two scripts on one baseline and weight. There is
// no italic CJK face and Fyne does not slant glyphs itself: italic text is
// upright. Monospace keeps Fyne's font so that fingerprints, codes and hashes
// line up; it has no Chinese glyphs, so use monospace for ASCII only (a
// Chinese character in monospace text depends on the system's fonts).
//
// Colours. The primary family is changed (primary, foreground on primary,
// selection, hyperlink); focus is blue, not red, so that the field being
// typed in never looks like a field in error (Fyne draws errors red); input
// borders, which also outline unselected radio buttons and check boxes, are
// dark enough to see (Fyne's light grey nearly vanishes on white).
// Everything else is Fyne's default palette for the variant. The tests
// check the contrast of each changed pair against WCAG 2.1: 4.5:1 for
// text, 3:1 for controls.
//
// Fyne draws a focused entry's border and cursor in the primary colour.
// Input returns the theme for entries (wrap them with
// container.NewThemeOverride): the primary colour is the focus blue there.
package theme

import (
	"fmt"
	"image/color"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	ftheme "fyne.io/fyne/v2/theme"

	"jiannuo/assets"
)

// Variant selects the palette.
type Variant int

const (
	// System follows the variant Fyne reports for the desktop
	// (FYNE_THEME, the desktop's dark-mode setting).
	System Variant = iota
	// Light always uses the light palette.
	Light
	// Dark always uses the dark palette.
	Dark
)

// String returns "system", "light" or "dark": the values ParseVariant reads,
// suitable for storing in preferences.
func (v Variant) String() string {
	switch v {
	case System:
		return "system"
	case Light:
		return "light"
	case Dark:
		return "dark"
	}
	return fmt.Sprintf("Variant(%d)", int(v))
}

// ParseVariant reads "system", "light" or "dark" (case-insensitive, spaces
// ignored); "" is System.
func ParseVariant(s string) (Variant, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "system":
		return System, nil
	case "light":
		return Light, nil
	case "dark":
		return Dark, nil
	}
	return System, fmt.Errorf("theme: unknown variant %q (want system, light or dark)", s)
}

// Resource names of the embedded fonts.
const (
	FontRegularName = "NotoSansSC-Jiannuo.otf"
	FontBoldName    = "NotoSansSC-Jiannuo-Bold.otf"
)

var (
	fontRegular = sync.OnceValue(func() fyne.Resource {
		return fyne.NewStaticResource(FontRegularName, assets.FontCJK())
	})
	fontBold = sync.OnceValue(func() fyne.Resource {
		return fyne.NewStaticResource(FontBoldName, assets.FontCJKBold())
	})
)

// FontRegular returns the embedded regular CJK font as a Fyne resource, for
// drawing text outside widgets (for example chart labels rendered to an
// image). Every call returns the same resource.
func FontRegular() fyne.Resource { return fontRegular() }

// FontBold returns the embedded bold CJK font as a Fyne resource.
func FontBold() fyne.Resource { return fontBold() }

// The primary colour family, per variant. Light: a deep Chinese red with
// white text on it. Dark: a slightly lighter red, so that it still stands out
// (≥3:1) against the dark background while white text on it stays ≥4.5:1.
// Hyperlinks stay blue, as everywhere else, and distinct from the red of
// errors and of primary buttons.
var (
	PrimaryLight   = color.NRGBA{R: 0xc8, G: 0x10, B: 0x2e, A: 0xff} // #C8102E
	PrimaryDark    = color.NRGBA{R: 0xd9, G: 0x1e, B: 0x36, A: 0xff} // #D91E36
	OnPrimary      = color.NRGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xff}
	HyperlinkLight = color.NRGBA{R: 0x1a, G: 0x5f, B: 0xb4, A: 0xff} // #1A5FB4
	HyperlinkDark  = color.NRGBA{R: 0x6c, G: 0xa6, B: 0xff, A: 0xff} // #6CA6FF
	// The focus colour: a blue apart from the red of errors.
	FocusLight = color.NRGBA{R: 0x1a, G: 0x5f, B: 0xb4, A: 0xff} // #1A5FB4
	FocusDark  = color.NRGBA{R: 0x6c, G: 0xa6, B: 0xff, A: 0xff} // #6CA6FF
	// Input borders and the outlines of unselected radio buttons and check
	// boxes: at least 3:1 against the background.
	InputBorderLight = color.NRGBA{R: 0x8a, G: 0x8a, B: 0x8a, A: 0xff} // #8A8A8A
	InputBorderDark  = color.NRGBA{R: 0x7a, G: 0x7a, B: 0x7e, A: 0xff} // #7A7A7E
)

// Alpha of the focus and selection tints, as Fyne's own primary colours use.
const (
	focusAlpha     = 0x7f
	selectionAlpha = 0x3f
)

type jnTheme struct {
	variant Variant
	base    fyne.Theme
}

// New returns the Jiannuo theme for the given variant. Set it with
// app.Settings().SetTheme(theme.New(v)); call again to switch variants.
func New(variant Variant) fyne.Theme {
	if variant < System || variant > Dark {
		variant = System
	}
	return &jnTheme{variant: variant, base: ftheme.DefaultTheme()}
}

// fyneVariant returns the Fyne variant to paint with, given the one Fyne
// asks for (the system's).
func (t *jnTheme) fyneVariant(asked fyne.ThemeVariant) fyne.ThemeVariant {
	switch t.variant {
	case Light:
		return ftheme.VariantLight
	case Dark:
		return ftheme.VariantDark
	}
	if asked == ftheme.VariantLight {
		return ftheme.VariantLight
	}
	return ftheme.VariantDark
}

func (t *jnTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	v = t.fyneVariant(v)
	light := v == ftheme.VariantLight
	primary := PrimaryDark
	if light {
		primary = PrimaryLight
	}
	switch n {
	case ftheme.ColorNamePrimary:
		return primary
	case ftheme.ColorNameForegroundOnPrimary:
		return OnPrimary
	case ftheme.ColorNameFocus:
		if light {
			return withAlpha(FocusLight, focusAlpha)
		}
		return withAlpha(FocusDark, focusAlpha)
	case ftheme.ColorNameInputBorder:
		if light {
			return InputBorderLight
		}
		return InputBorderDark
	case ftheme.ColorNameSelection:
		return withAlpha(primary, selectionAlpha)
	case ftheme.ColorNameHyperlink:
		if light {
			return HyperlinkLight
		}
		return HyperlinkDark
	}
	return t.base.Color(n, v)
}

func withAlpha(c color.NRGBA, a uint8) color.NRGBA {
	c.A = a
	return c
}

func (t *jnTheme) Font(s fyne.TextStyle) fyne.Resource {
	switch {
	case s.Monospace, s.Symbol:
		return t.base.Font(s)
	case s.Bold:
		return fontBold()
	}
	return fontRegular()
}

func (t *jnTheme) Icon(n fyne.ThemeIconName) fyne.Resource { return t.base.Icon(n) }

func (t *jnTheme) Size(n fyne.ThemeSizeName) float32 { return t.base.Size(n) }

// Input returns the theme for text entries: the app's current theme (as
// set with app.Settings().SetTheme, so it follows a change of variant)
// with the focus blue as its primary colour, which Fyne uses for a focused
// entry's border and cursor.
func Input() fyne.Theme { return inputTheme{} }

type inputTheme struct{}

func (inputTheme) current() fyne.Theme {
	if a := fyne.CurrentApp(); a != nil {
		return a.Settings().Theme()
	}
	return ftheme.DefaultTheme()
}

func (t inputTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	if n == ftheme.ColorNamePrimary {
		focus := t.current().Color(ftheme.ColorNameFocus, v)
		return withAlpha(nrgbaOf(focus), 0xff)
	}
	return t.current().Color(n, v)
}

func nrgbaOf(c color.Color) color.NRGBA { return color.NRGBAModel.Convert(c).(color.NRGBA) }

func (t inputTheme) Font(s fyne.TextStyle) fyne.Resource     { return t.current().Font(s) }
func (t inputTheme) Icon(n fyne.ThemeIconName) fyne.Resource { return t.current().Icon(n) }
func (t inputTheme) Size(n fyne.ThemeSizeName) float32       { return t.current().Size(n) }
