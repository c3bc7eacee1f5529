package app

import (
	"fmt"
	"image/color"
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"jiannuo/app/vm"
	"jiannuo/domain"
	"jiannuo/store"
)

// listScreen is the commitments list: a search box and filters above a
// virtualised list (usable with 50,000 rows: only the visible rows exist as
// widgets), each row with badges for overdue, due soon, conflicted and not
// yet confirmed by the county.
type listScreen struct {
	u        *ui
	vm       *vm.List
	list     *widget.List
	search   *widget.Entry
	category *widget.Select
	status   *widget.Select
	window   *widget.Select
	sort     *widget.Select
	count    *widget.Label
	onSelect func(store.Ref)
	obj      fyne.CanvasObject
	// selected is the row selected, -1 for none; selecting is set while
	// the screen itself selects a row (no onSelect then).
	selected  int
	selecting bool

	catKeys    []domain.Category
	statusKeys []domain.Status
}

func newListScreen(u *ui, onSelect func(store.Ref)) *listScreen {
	s := &listScreen{u: u, vm: vm.NewList(u.cal), onSelect: onSelect, count: widget.NewLabel("")}
	s.search = widget.NewEntry()
	s.search.SetPlaceHolder(u.T("app.search"))
	s.search.OnChanged = func(string) { s.apply() }

	all := u.T("app.all")
	cats := []string{all}
	s.catKeys = []domain.Category{""}
	for _, c := range domain.Categories() {
		cats = append(cats, u.T("category."+string(c)))
		s.catKeys = append(s.catKeys, c)
	}
	s.category = widget.NewSelect(cats, func(string) { s.apply() })
	sts := []string{all}
	s.statusKeys = []domain.Status{""}
	for _, st := range domain.Statuses() {
		sts = append(sts, u.T("status."+string(st)))
		s.statusKeys = append(s.statusKeys, st)
	}
	s.status = widget.NewSelect(sts, func(string) { s.apply() })
	s.window = widget.NewSelect(s.windowNames(), func(string) { s.apply() })
	var sorts []string
	for _, k := range vm.SortKeys() {
		sorts = append(sorts, u.msg(k.Message()))
	}
	s.sort = widget.NewSelect(sorts, func(string) { s.apply() })
	s.category.SetSelectedIndex(0)
	s.status.SetSelectedIndex(0)
	s.window.SetSelectedIndex(0)
	s.sort.SetSelectedIndex(0) // vm.SortUrgency: overdue and due soon first

	s.list = widget.NewList(s.vm.Len, s.newRow, s.updateRow)
	s.selected = -1
	s.list.OnSelected = func(id widget.ListItemID) {
		s.selected = id
		if id < s.vm.Len() && !s.selecting {
			s.onSelect(s.vm.Row(id).Ref)
		}
	}
	s.list.OnUnselected = func(widget.ListItemID) { s.selected = -1 }
	// Each menu says what it filters: four menus all reading 全部 do not.
	filters := newColumns(240, 2,
		labelled(u.T("app.filter.category"), s.category),
		labelled(u.T("app.filter.status"), s.status),
		labelled(u.T("app.filter.window"), s.window),
		labelled(u.T("app.filter.sort"), s.sort),
	)
	s.obj = container.NewBorder(container.NewVBox(inputs(s.search), inputs(filters), s.count), nil, nil, nil, s.list)
	return s
}

// labelled puts a label before a control, for a row of filters.
func labelled(label string, o fyne.CanvasObject) fyne.CanvasObject {
	return container.NewBorder(nil, nil, widget.NewLabel(label), nil, o)
}

// windowNames are the due-window menu's entries, each with how many
// commitments it holds ("已逾期（3）").
func (s *listScreen) windowNames() []string {
	var out []string
	for _, w := range vm.DueWindows() {
		name := s.u.msg(w.Message())
		if w != vm.DueAll {
			name = s.u.T("app.window.count", name, s.vm.Count(w))
		}
		out = append(out, name)
	}
	return out
}

// load re-reads all commitments, keeping the filter.
func (s *listScreen) load() {
	if err := s.vm.Load(s.u.st, s.u.today()); err != nil {
		s.u.showError(err)
		return
	}
	s.apply()
}

// refreshUnconfirmed re-reads which commitments await the county's
// confirmation, keeping the filter and the selection.
func (s *listScreen) refreshUnconfirmed() {
	if err := s.vm.RefreshUnconfirmed(s.u.st); err != nil {
		s.u.showError(err)
		return
	}
	s.apply()
}

// selectRef selects the row of ref, clearing a filter that hides it and
// re-reading the store if the list does not know it yet.
func (s *listScreen) selectRef(ref store.Ref) {
	if s.vm.Find(ref) < 0 {
		s.search.SetText("")
		s.category.SetSelectedIndex(0)
		s.status.SetSelectedIndex(0)
		s.window.SetSelectedIndex(0)
	}
	if s.vm.Find(ref) < 0 {
		s.load()
	}
	if i := s.vm.Find(ref); i >= 0 {
		s.selecting = true
		s.list.Select(i)
		s.list.ScrollTo(i)
		s.selecting = false
	}
}

// apply pushes the widgets' state into the view-model and redraws,
// keeping the selected commitment selected if it is still shown.
func (s *listScreen) apply() {
	if s.list == nil {
		return // still being built
	}
	f := s.vm.Filter()
	f.Query = s.search.Text
	if i := s.category.SelectedIndex(); i >= 0 {
		f.Category = s.catKeys[i]
	}
	if i := s.status.SelectedIndex(); i >= 0 {
		f.Status = s.statusKeys[i]
	}
	if i := s.window.SelectedIndex(); i >= 0 {
		f.Window = vm.DueWindows()[i]
	}
	if i := s.sort.SelectedIndex(); i >= 0 {
		f.Sort = vm.SortKeys()[i]
	}
	var selected *store.Ref
	if s.selected >= 0 && s.selected < s.vm.Len() {
		r := s.vm.Row(s.selected).Ref
		selected = &r
	}
	s.vm.SetFilter(f)
	s.count.SetText(s.u.T("app.count", s.vm.Len(), s.vm.Total()))
	if names := s.windowNames(); !slices.Equal(names, s.window.Options) {
		// The same window, its count updated: set directly, since
		// SetSelected would call OnChanged and apply again.
		i := max(s.window.SelectedIndex(), 0)
		s.window.Options = names
		s.window.Selected = names[i]
		s.window.Refresh()
	}
	s.list.UnselectAll()
	if selected != nil {
		if i := s.vm.Find(*selected); i >= 0 {
			s.selecting = true
			s.list.Select(i)
			s.selecting = false
		}
	}
	s.list.Refresh()
}

// row layout: title (bold) on top; category · responsible · status · due
// below; coloured badges on the right.
type rowWidgets struct {
	title  *widget.Label
	meta   *widget.Label
	badges *fyne.Container
}

func (s *listScreen) newRow() fyne.CanvasObject {
	title := widget.NewLabel("")
	title.TextStyle = fyne.TextStyle{Bold: true}
	title.Truncation = fyne.TextTruncateEllipsis
	meta := widget.NewLabel("")
	meta.Truncation = fyne.TextTruncateEllipsis
	badges := container.NewHBox()
	return container.NewBorder(nil, nil, nil, container.NewCenter(badges), container.NewVBox(title, meta))
}

func (s *listScreen) updateRow(id widget.ListItemID, o fyne.CanvasObject) {
	if id >= s.vm.Len() {
		return
	}
	r := s.vm.Row(id)
	c := o.(*fyne.Container)
	box := c.Objects[0].(*fyne.Container)
	title, meta := box.Objects[0].(*widget.Label), box.Objects[1].(*widget.Label)
	badges := c.Objects[1].(*fyne.Container).Objects[0].(*fyne.Container)
	title.SetText(r.Title)
	meta.SetText(fmt.Sprintf("%s · %s · %s · %s", s.u.T("category."+string(r.Category)), r.Responsible,
		s.u.T("status."+string(r.Status)), s.u.dueText(r.Due)))
	badges.Objects = badges.Objects[:0]
	switch r.Due.State {
	case domain.DueOverdue:
		badges.Add(badge(s.u.T("app.badge.overdue"), color.NRGBA{R: 0xC8, G: 0x10, B: 0x2E, A: 0xFF}))
	case domain.DueSoon:
		badges.Add(badge(s.u.T("app.badge.soon"), color.NRGBA{R: 0xE0, G: 0x8A, B: 0x00, A: 0xFF}))
	}
	if r.Conflicted {
		badges.Add(badge(s.u.T("app.badge.conflicted"), color.NRGBA{R: 0x7B, G: 0x1F, B: 0xA2, A: 0xFF}))
	}
	if r.Unconfirmed {
		badges.Add(badge(s.u.T("app.badge.unconfirmed"), color.NRGBA{R: 0x60, G: 0x60, B: 0x60, A: 0xFF}))
	}
	badges.Refresh()
}

// badge is a small coloured label: colour and text together, so it reads
// without colour vision too.
func badge(text string, bg color.Color) fyne.CanvasObject {
	t := canvas.NewText(" "+text+" ", color.White)
	t.TextSize = 12
	t.TextStyle = fyne.TextStyle{Bold: true}
	r := canvas.NewRectangle(bg)
	r.CornerRadius = 4
	return container.NewStack(r, container.NewCenter(t))
}

// dueText is the due state in words.
func (u *ui) dueText(d domain.Due) string {
	switch d.State {
	case domain.DueOverdue:
		return u.T("due.overdue", d.DaysOverdue)
	case domain.DueSoon:
		return u.T("due.soon", d.WorkdaysLeft)
	case domain.DueLater:
		return u.T("due.ok", d.Date.String())
	}
	if !d.Date.IsZero() {
		return u.T("due.ok", d.Date.String())
	}
	return u.T("due.none")
}
