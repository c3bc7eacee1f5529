package app

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"jiannuo/app/vm"
	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/store"
)

// The 投诉与异议 tab: complaints and objections with their deadlines, most
// urgent first, and the detail of the case chosen with what the signed-in
// user may do on it. On a township device it holds the office's cases
// (take up, draft, approve); on a county-admin device every case of the
// county, with filters (accept or return replies, decide objections, link
// records, withdraw, change deadlines). The tab's title counts the cases
// awaiting the user.

// casesScreen is the 投诉与异议 tab.
type casesScreen struct {
	u    *ui
	vm   *vm.CaseList
	tab  *container.TabItem // set when the main window adds the tab
	list *widget.List
	note *widget.Label // the last action's outcome
	// count says how many cases are shown.
	count *widget.Label
	// The filters (the township menu on county-admin devices only).
	township, kind, status *widget.Select
	overdue                *widget.Check
	offices                []office.Code // the township menu's entries after 全部
	detail                 *fyne.Container
	md                     *masterDetail
	obj                    fyne.CanvasObject
	// shown is the case in the detail; cur what the detail shows of it.
	shown     *store.Ref
	cur       *vm.CaseDetail
	selecting bool
}

func newCasesScreen(u *ui) *casesScreen {
	s := &casesScreen{u: u, note: widget.NewLabel(""), count: widget.NewLabel(""), detail: container.NewVBox(para(u.T("caseui.pick_one")))}
	s.vm = vm.NewCaseList(u.se, u.cal, u.acted)
	s.note.Wrapping = fyne.TextWrapWord
	all := u.T("app.all")
	kinds := []string{all}
	for _, k := range domain.CaseKinds() {
		kinds = append(kinds, u.msg(vm.CaseKindMessage(k)))
	}
	statuses := []string{all}
	for _, st := range domain.CaseStatuses() {
		statuses = append(statuses, u.msg(vm.CaseStatusMessage(st)))
	}
	s.township = widget.NewSelect([]string{all}, func(string) { s.apply() })
	s.kind = widget.NewSelect(kinds, func(string) { s.apply() })
	s.status = widget.NewSelect(statuses, func(string) { s.apply() })
	s.overdue = widget.NewCheck(u.T("caseui.filter.overdue"), func(bool) { s.apply() })
	s.township.SetSelectedIndex(0)
	s.kind.SetSelectedIndex(0)
	s.status.SetSelectedIndex(0)

	s.list = widget.NewList(func() int { return len(s.vm.Rows) }, s.newRow, s.updateRow)
	s.list.OnSelected = func(id widget.ListItemID) {
		if id < len(s.vm.Rows) && !s.selecting {
			s.show(s.vm.Rows[id].Ref())
			s.md.showDetail()
		}
	}
	filters := []fyne.CanvasObject{labelled(u.T("caseui.filter.kind"), s.kind), labelled(u.T("caseui.filter.status"), s.status)}
	if s.vm.County() {
		filters = append([]fyne.CanvasObject{labelled(u.T("caseui.filter.township"), s.township)}, filters...)
	}
	filters = append(filters, container.NewHBox(s.overdue, s.count))
	s.note.Hide()
	top := container.NewVBox(s.note, inputs(newColumns(240, 2, filters...)))
	detail := container.NewVScroll(container.NewPadded(s.detail))
	s.md = newMasterDetail(container.NewBorder(top, nil, nil, nil, s.list), detail, u.T("app.back_to_list"), s.list.UnselectAll)
	s.obj = s.md.obj
	return s
}

// load re-reads the cases, keeping the filter and the case shown.
func (s *casesScreen) load() {
	if err := s.vm.Load(s.u.today()); err != nil {
		s.u.showError(err)
		return
	}
	s.refresh()
}

// refresh redraws the filters, the list, the tab's badge and the detail
// from what the view-model read last.
func (s *casesScreen) refresh() {
	s.offices = s.vm.Offices()
	names := []string{s.u.T("app.all")}
	for _, o := range s.offices {
		names = append(names, officeLabel(o))
	}
	if len(names) != len(s.township.Options) {
		// Set directly: SetSelected would call apply again.
		i := max(s.township.SelectedIndex(), 0)
		s.township.Options = names
		s.township.Selected = names[min(i, len(names)-1)]
		s.township.Refresh()
	}
	s.apply()
	s.badge()
	if s.shown != nil {
		s.show(*s.shown)
	}
}

// setNote shows text in a note line, hidden while it is empty.
func setNote(l *widget.Label, text string) {
	l.SetText(text)
	l.Hidden = text == ""
	l.Refresh()
}

// officeLabel names an office for a menu.
func officeLabel(o office.Code) string {
	if u, ok := office.Luoyang().Lookup(o); ok {
		return u.Name
	}
	return string(o)
}

// apply pushes the filters into the view-model and redraws the list,
// keeping the case shown selected if it is still listed.
func (s *casesScreen) apply() {
	if s.list == nil {
		return // still being built
	}
	var f vm.CaseListFilter
	if i := s.township.SelectedIndex(); i > 0 && i <= len(s.offices) {
		f.Office = s.offices[i-1]
	}
	if i := s.kind.SelectedIndex(); i > 0 {
		f.Kind = domain.CaseKinds()[i-1]
	}
	if i := s.status.SelectedIndex(); i > 0 {
		f.Status = domain.CaseStatuses()[i-1]
	}
	f.OverdueOnly = s.overdue.Checked
	s.vm.SetFilter(f)
	s.count.SetText(s.u.T("app.count", len(s.vm.Rows), s.vm.Total()))
	s.selecting = true
	s.list.UnselectAll()
	if s.shown != nil {
		if i := s.vm.Find(*s.shown); i >= 0 {
			s.list.Select(i)
		}
	}
	s.selecting = false
	s.list.Refresh()
}

// badge puts the number of cases awaiting the user in the tab's title.
func (s *casesScreen) badge() {
	if s.tab == nil {
		return
	}
	title := s.u.T("caseui.tab")
	if n := s.vm.NeedingAction(); n > 0 {
		title = s.u.T("caseui.tab_count", n)
	}
	if s.tab.Text != title {
		s.tab.Text = title
		if s.u.main != nil && s.u.main.tabs != nil {
			s.u.main.tabs.Refresh()
		}
	}
}

// Row layout: number and kind (bold) on top, the commitment and what the
// case awaits below, the deadlines under them; badges on the right.
func (s *casesScreen) newRow() fyne.CanvasObject {
	top := widget.NewLabel("")
	top.TextStyle = fyne.TextStyle{Bold: true}
	top.Truncation = fyne.TextTruncateEllipsis
	mid, low := widget.NewLabel(""), widget.NewLabel("")
	mid.Truncation, low.Truncation = fyne.TextTruncateEllipsis, fyne.TextTruncateEllipsis
	// Padded: the list's scroll bar runs over the right edge.
	return container.NewBorder(nil, nil, nil, container.NewPadded(container.NewCenter(container.NewHBox())), container.NewVBox(top, mid, low))
}

func (s *casesScreen) updateRow(id widget.ListItemID, o fyne.CanvasObject) {
	if id >= len(s.vm.Rows) {
		return
	}
	u, r := s.u, s.vm.Rows[id]
	c := o.(*fyne.Container)
	box := c.Objects[0].(*fyne.Container)
	badges := c.Objects[1].(*fyne.Container).Objects[0].(*fyne.Container).Objects[0].(*fyne.Container)
	top := u.T("caseui.row.title", r.Case.Number, u.msg(r.KindName))
	if s.vm.County() {
		top = u.T("caseui.row.title_office", r.Case.Number, u.msg(r.KindName), r.OfficeName)
	}
	box.Objects[0].(*widget.Label).SetText(top)
	box.Objects[1].(*widget.Label).SetText(u.T("caseui.row.meta", s.commitmentTitle(r), r.Case.FiledDate, u.msg(r.Awaits)))
	box.Objects[2].(*widget.Label).SetText(s.deadlines(r))
	badges.Objects = badges.Objects[:0]
	switch {
	case r.Overdue:
		badges.Add(badge(u.T("app.badge.overdue"), color.NRGBA{R: 0xC8, G: 0x10, B: 0x2E, A: 0xFF}))
	case r.NearLimit:
		badges.Add(badge(u.T("caseui.badge.near"), color.NRGBA{R: 0xE0, G: 0x8A, B: 0x00, A: 0xFF}))
	}
	if r.NeedsAction {
		badges.Add(badge(u.T("caseui.badge.todo"), color.NRGBA{R: 0x15, G: 0x65, B: 0xC0, A: 0xFF}))
	}
	badges.Refresh()
}

func (s *casesScreen) commitmentTitle(r vm.CaseRow) string {
	if r.Title == "" {
		return s.u.T("breachui.list.unknown_commitment")
	}
	return r.Title
}

// deadlines is the row's deadlines line, with how it stands against them.
func (s *casesScreen) deadlines(r vm.CaseRow) string {
	u := s.u
	none := u.T("caseui.no_deadline")
	line := u.T("caseui.deadlines", nonEmpty(r.AckDue, none), nonEmpty(r.AnswerDue, none))
	if r.Case.Kind == domain.CaseObjection && r.AckDue == "" {
		line = u.T("caseui.deadlines.objection", nonEmpty(r.AnswerDue, none))
	}
	if !r.DueText.IsZero() {
		line += " · " + u.msg(r.DueText)
	}
	return line
}

func nonEmpty(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}

// show reads case ref into the detail.
func (s *casesScreen) show(ref store.Ref) {
	row, ok := s.vm.Lookup(ref)
	if !ok {
		s.shown, s.cur = nil, nil
		s.detail.Objects = []fyne.CanvasObject{para(s.u.T("caseui.pick_one"))}
		s.detail.Refresh()
		return
	}
	d, err := s.vm.Detail(row)
	if err != nil {
		s.u.showError(err)
		return
	}
	s.shown, s.cur = &ref, d
	s.renderDetail()
}

// selectCase shows case ref, selected in the list (a scene, a test).
func (s *casesScreen) selectCase(ref store.Ref) {
	s.show(ref)
	s.apply()
	s.md.showDetail()
}

func (s *casesScreen) renderDetail() {
	u, d := s.u, s.cur
	r, c := d.Row, d.Row.Case
	objs := []fyne.CanvasObject{
		title(u.T("caseui.row.title", c.Number, u.msg(r.KindName))),
		para(u.T("caseui.detail.meta", u.msg(r.StatusName), u.msg(r.SourceName), c.FiledDate)),
		para(u.T("caseui.detail.commitment", r.OfficeName, s.commitmentTitle(r))),
	}
	due := para(s.deadlines(r))
	switch {
	case r.Overdue:
		due.Importance = widget.DangerImportance
	case r.NearLimit:
		due.Importance = widget.WarningImportance
	}
	awaits := heading(u.T("caseui.detail.awaits", u.msg(r.Awaits)))
	// What the user may do comes first, under what the case awaits.
	objs = append(objs, due, awaits, s.actions(), widget.NewSeparator(), heading(u.T("caseui.detail.text")), para(c.Text))
	objs = append(objs, s.files(d.Files)...)

	objs = append(objs, widget.NewSeparator(), heading(u.T("caseui.detail.contact")))
	if d.Contact != nil {
		objs = append(objs, para(u.msg(vm.ContactText(*d.Contact))), para(u.T("caseui.contact.private")))
	} else {
		objs = append(objs, para(u.msg(d.ContactNote)))
	}
	if rec := d.Record; rec != nil {
		objs = append(objs, widget.NewSeparator(), heading(u.T("caseui.detail.record")),
			para(u.T("caseui.detail.record_line", u.msg(vm.DishonestyTypeMessage(rec.Type)), u.msg(vm.DishonestyStatusMessage(*rec)), rec.Reason)))
	}
	objs = append(objs, s.replies(d)...)
	if c.Closed {
		objs = append(objs, widget.NewSeparator(), heading(u.msg(r.Awaits)))
		if c.CloseText != "" {
			objs = append(objs, para(c.CloseText))
		}
	}
	for _, rec := range d.Linked {
		objs = append(objs, para(u.T("caseui.detail.linked", u.msg(vm.DishonestyTypeMessage(rec.Type)), u.msg(vm.DishonestyStatusMessage(rec)))))
	}
	objs = append(objs, widget.NewSeparator(), heading(u.T("caseui.detail.history")))
	for _, h := range d.History {
		objs = append(objs, para(u.T("caseui.history.line", h.When, u.msg(h.Who), u.msg(h.What))))
		if h.Text != "" {
			l := para(h.Text)
			l.TextStyle = fyne.TextStyle{Italic: true}
			objs = append(objs, l)
		}
	}
	s.detail.Objects = objs
	s.detail.Refresh()
}

// replies shows the approved reply, the draft and the county's last
// reason for returning one.
func (s *casesScreen) replies(d *vm.CaseDetail) []fyne.CanvasObject {
	u, c := s.u, d.Row.Case
	var objs []fyne.CanvasObject
	if c.ReturnReason != "" {
		l := para(u.T("caseui.detail.returned", c.ReturnReason))
		l.Importance = widget.DangerImportance
		objs = append(objs, widget.NewSeparator(), l)
	}
	if rp := c.Reply; rp != nil {
		objs = append(objs, widget.NewSeparator(), heading(u.T("caseui.detail.reply", u.msg(d.ReplyBy), u.msg(d.ApprovedBy))), para(rp.Text))
		objs = append(objs, s.files(d.ReplyFiles)...)
	}
	if dr := c.Draft; dr != nil {
		objs = append(objs, widget.NewSeparator(), heading(u.T("caseui.detail.draft", u.msg(d.DraftBy), d.DraftAt)), para(dr.Text))
		objs = append(objs, s.files(d.DraftFiles)...)
	}
	return objs
}

// files shows evidence files: those here with a preview and a button,
// the others as not yet arrived.
func (s *casesScreen) files(fs []vm.CaseFile) []fyne.CanvasObject {
	var objs []fyne.CanvasObject
	for _, f := range fs {
		if !f.Here {
			objs = append(objs, para(s.u.T("caseui.files.missing", f.Name)))
			continue
		}
		objs = append(objs, s.u.evidenceView(f.Hash, f.Name, f.MIME)...)
	}
	return objs
}
