package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	apptheme "jiannuo/app/theme"
)

// entry is a text entry that passes Escape to the window (a focused entry
// receives keys before the window does, so without it Escape would not
// close a form while the cursor is in a field) and says when the user
// leaves it (a form shows a field's message from then on).
type entry struct {
	widget.Entry
	onEscape func() // nil: Escape is the entry's own
	onLeave  func() // nil: nothing
}

// newEntry returns a one-line entry (multi: several lines, wrapped at
// words) whose Escape is the window's (u.escape).
func (u *ui) newEntry(multi bool) *entry {
	e := &entry{onEscape: u.escape}
	e.ExtendBaseWidget(e)
	if multi {
		e.MultiLine = true
		e.Wrapping = fyne.TextWrapWord
	}
	return e
}

// TypedKey hands Escape to the window, everything else to the entry.
func (e *entry) TypedKey(k *fyne.KeyEvent) {
	if k.Name == fyne.KeyEscape && e.onEscape != nil {
		e.onEscape()
		return
	}
	e.Entry.TypedKey(k)
}

// FocusLost tells onLeave after the entry's own handling.
func (e *entry) FocusLost() {
	e.Entry.FocusLost()
	if e.onLeave != nil {
		e.onLeave()
	}
}

// inputs gives the controls in o (entries, menus, radio buttons, check
// boxes, sliders) the input theme: a focused field is outlined in blue,
// not in the red of the primary colour, which Fyne also uses for errors.
// Keep Save buttons outside it: they stay red.
func inputs(o fyne.CanvasObject) fyne.CanvasObject {
	return container.NewThemeOverride(o, apptheme.Input())
}
