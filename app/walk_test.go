package app

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// walkVisible calls f on o and on every object inside it that is shown:
// containers' objects, widgets' rendered objects (through their cached
// renderers, as the window draws them); hidden objects and what they hold
// are skipped.
func walkVisible(o fyne.CanvasObject, f func(fyne.CanvasObject)) {
	if o == nil || !o.Visible() {
		return
	}
	f(o)
	switch w := o.(type) {
	case *fyne.Container:
		for _, c := range w.Objects {
			walkVisible(c, f)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(w).Objects() {
			walkVisible(c, f)
		}
	}
}

// visibleTexts returns every text drawn in o that is shown.
func visibleTexts(o fyne.CanvasObject) []string {
	var out []string
	walkVisible(o, func(c fyne.CanvasObject) {
		if t, ok := c.(*canvas.Text); ok && strings.TrimSpace(t.Text) != "" {
			out = append(out, t.Text)
		}
	})
	return out
}

// showsText reports whether some text shown in o contains s.
func showsText(o fyne.CanvasObject, s string) bool {
	for _, t := range visibleTexts(o) {
		if strings.Contains(t, s) {
			return true
		}
	}
	return false
}

// buttonIn returns the shown button whose text is text, or nil.
func buttonIn(o fyne.CanvasObject, text string) *widget.Button {
	var found *widget.Button
	walkVisible(o, func(c fyne.CanvasObject) {
		if b, ok := c.(*widget.Button); ok && b.Text == text && found == nil {
			found = b
		}
	})
	return found
}

// topOverlay is what the window shows above its content (a dialog), or nil.
func topOverlay(w fyne.Window) fyne.CanvasObject { return w.Canvas().Overlays().Top() }
