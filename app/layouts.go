package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// The window adapts to its size: below a breakpoint the list and the
// detail of the commitments tab take turns (the detail with a way back),
// and the dashboard's side-by-side panels stack; the window itself cannot
// be made smaller than minWindow, the size every screen is laid out for.

// minWindow is the smallest window the app lays out for (the content's
// minimum size, which the window manager enforces).
var minWindow = fyne.NewSize(640, 480)

// wideFrom is the window width from which the list and the detail are
// shown side by side.
const wideFrom = 860

// atLeast is a layout of one object whose minimum size is at least min:
// it keeps a window from shrinking below the size its screens need.
type atLeast struct{ min fyne.Size }

func (l atLeast) MinSize(objs []fyne.CanvasObject) fyne.Size {
	m := l.min
	for _, o := range objs {
		m = m.Max(o.MinSize())
	}
	return m
}

func (l atLeast) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
}

// masterDetail shows a list and the detail of the item chosen: side by side
// from wideFrom, else one at a time, the detail with a back button. Its
// minimum width is that of the wider pane alone, so it fits a small
// window.
type masterDetail struct {
	list, detail fyne.CanvasObject
	back         *widget.Button    // shown above the detail when narrow
	sep          *canvas.Rectangle // between the panes when wide
	obj          *fyne.Container
	showing      bool // narrow: the detail is shown, not the list
	wide         bool // as of the last layout
	onBack       func()
}

func newMasterDetail(list, detail fyne.CanvasObject, backText string, onBack func()) *masterDetail {
	md := &masterDetail{list: list, detail: detail, onBack: onBack}
	md.back = widget.NewButtonWithIcon(backText, theme.NavigateBackIcon(), md.showList)
	md.back.Importance = widget.LowImportance
	md.sep = canvas.NewRectangle(theme.Color(theme.ColorNameSeparator))
	md.obj = container.New(md, list, md.sep, md.back, detail)
	return md
}

// showDetail brings the detail forward (narrow windows; wide ones show
// both anyway).
func (md *masterDetail) showDetail() {
	md.showing = true
	md.obj.Refresh()
}

// showList goes back to the list (narrow windows).
func (md *masterDetail) showList() {
	md.showing = false
	if md.onBack != nil {
		md.onBack()
	}
	md.obj.Refresh()
}

// detailShown reports whether the detail is visible now.
func (md *masterDetail) detailShown() bool { return md.wide || md.showing }

func (md *masterDetail) MinSize([]fyne.CanvasObject) fyne.Size {
	l, d, b := md.list.MinSize(), md.detail.MinSize(), md.back.MinSize()
	return fyne.NewSize(max(l.Width, d.Width, b.Width), max(l.Height, d.Height+b.Height))
}

func (md *masterDetail) Layout(_ []fyne.CanvasObject, size fyne.Size) {
	md.wide = size.Width >= wideFrom
	if md.wide {
		lw := max(md.list.MinSize().Width, size.Width*0.42)
		md.list.Move(fyne.NewPos(0, 0))
		md.list.Resize(fyne.NewSize(lw, size.Height))
		md.sep.Move(fyne.NewPos(lw, 0))
		md.sep.Resize(fyne.NewSize(1, size.Height))
		md.detail.Move(fyne.NewPos(lw+1, 0))
		md.detail.Resize(fyne.NewSize(size.Width-lw-1, size.Height))
		md.list.Show()
		md.sep.Show()
		md.detail.Show()
		md.back.Hide()
		return
	}
	md.sep.Hide()
	if !md.showing {
		md.list.Move(fyne.NewPos(0, 0))
		md.list.Resize(size)
		md.list.Show()
		md.detail.Hide()
		md.back.Hide()
		return
	}
	md.list.Hide()
	bh := md.back.MinSize().Height
	md.back.Move(fyne.NewPos(0, 0))
	md.back.Resize(fyne.NewSize(md.back.MinSize().Width, bh))
	md.back.Show()
	md.detail.Move(fyne.NewPos(0, bh))
	md.detail.Resize(fyne.NewSize(size.Width, size.Height-bh))
	md.detail.Show()
}

// columns lays its objects out in rows of as many equal columns as fit
// with at least cell width each (at most most, at least one), each row as
// tall as its tallest object. Its minimum size is for the width it was
// last laid out at, so a scroll container around it is as tall as needed.
type columns struct {
	cell  float32
	most  int
	width float32 // of the last layout
	k     int     // columns at the last layout
	// reflowed, if set, is called (through fyne.Do) when the number of
	// columns changed, so that a scroll container around re-reads the
	// minimum size, which depends on it.
	reflowed func()
}

// newColumns is a container of objs in columns at least cell wide, at
// most most of them in a row.
func newColumns(cell float32, most int, objs ...fyne.CanvasObject) *fyne.Container {
	return container.New(&columns{cell: cell, most: most}, objs...)
}

// onReflow sets what a columns container calls when its number of columns
// changes.
func onReflow(c *fyne.Container, f func()) {
	if l, ok := c.Layout.(*columns); ok {
		l.reflowed = f
	}
}

func (c *columns) count(width float32, n int) int {
	k := int((width + theme.Padding()) / (c.cell + theme.Padding()))
	return max(1, min(k, c.most, n))
}

func (c *columns) rows(objs []fyne.CanvasObject, k int) [][]fyne.CanvasObject {
	var vis []fyne.CanvasObject
	for _, o := range objs {
		if o.Visible() {
			vis = append(vis, o)
		}
	}
	var out [][]fyne.CanvasObject
	for i := 0; i < len(vis); i += k {
		out = append(out, vis[i:min(i+k, len(vis))])
	}
	return out
}

func (c *columns) MinSize(objs []fyne.CanvasObject) fyne.Size {
	k := c.count(c.width, len(objs))
	var w, h float32
	rows := c.rows(objs, k)
	for i, row := range rows {
		rw, rh := float32(0), float32(0)
		for _, o := range row {
			m := o.MinSize()
			rw = max(rw, m.Width)
			rh = max(rh, m.Height)
		}
		w = max(w, rw)
		h += rh
		if i > 0 {
			h += theme.Padding()
		}
	}
	return fyne.NewSize(w, h)
}

func (c *columns) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	c.width = size.Width
	k := c.count(size.Width, len(objs))
	if k != c.k {
		if c.k != 0 && c.reflowed != nil {
			fyne.Do(c.reflowed)
		}
		c.k = k
	}
	pad := theme.Padding()
	cw := (size.Width - pad*float32(k-1)) / float32(k)
	var y float32
	for _, row := range c.rows(objs, k) {
		rh := float32(0)
		for _, o := range row {
			rh = max(rh, o.MinSize().Height)
		}
		for i, o := range row {
			o.Move(fyne.NewPos(float32(i)*(cw+pad), y))
			o.Resize(fyne.NewSize(cw, rh))
		}
		y += rh + pad
	}
}
