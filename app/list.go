package app

import (
	"fmt"
	"image/color"

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
	s.window = widget.NewSelect([]string{all, u.T("app.window.overdue"), u.T("app.window.soon"), u.T("app.window.conflicted"), u.T("app.window.unconfirmed")}, func(string) { s.apply() })
	s.sort = widget.NewSelect([]string{u.T("app.sort.deadline"), u.T("app.sort.updated"), u.T("app.sort.title"), u.T("app.sort.status")}, func(string) { s.apply() })
	s.category.SetSelectedIndex(0)
	s.status.SetSelectedIndex(0)
	s.window.SetSelectedIndex(0)
	s.sort.SetSelectedIndex(0)

	s.list = widget.NewList(s.vm.Len, s.newRow, s.updateRow)
	s.list.OnSelected = func(id widget.ListItemID) {
		if id < s.vm.Len() {
			s.onSelect(s.vm.Row(id).Ref)
		}
	}
	filters := container.NewGridWithColumns(4, s.category, s.status, s.window, s.sort)
	s.obj = container.NewBorder(container.NewVBox(s.search, filters, s.count), nil, nil, nil, s.list)
	return s
}

// load re-reads all commitments, keeping the filter.
func (s *listScreen) load() {
	if err := s.vm.Load(s.u.st, s.u.today()); err != nil {
		s.u.showError(err)
		return
	}
	s.apply()
}

// apply pushes the widgets' state into the view-model and redraws.
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
		f.Window = vm.DueWindow(i)
	}
	if i := s.sort.SelectedIndex(); i >= 0 {
		f.Sort = vm.SortKey(i)
	}
	s.vm.SetFilter(f)
	s.count.SetText(s.u.T("app.count", s.vm.Len(), s.vm.Total()))
	s.list.UnselectAll()
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
