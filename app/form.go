package app

import (
	"strconv"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"jiannuo/app/vm"
	"jiannuo/domain"
	"jiannuo/store"
)

// formDialog creates a commitment, edits a draft, or amends a published
// one (with a required reason). Validation messages appear under each
// field as the user types; a working-day deadline shows its computed date
// live from the holiday calendar.
type formDialog struct {
	u      *ui
	ref    *store.Ref
	amend  bool
	f      vm.Form
	dlg    dialog.Dialog
	errs   map[string]*widget.Label
	entry  map[string]*widget.Entry
	cat    *widget.Select
	kind   *widget.RadioGroup
	public *widget.Check
	reason *widget.Entry
	prev   *widget.Label
	save   *widget.Button
}

func (u *ui) showForm(ref *store.Ref) { u.openForm(ref) }

// openForm shows the form and returns it (tests drive it).
func (u *ui) openForm(ref *store.Ref) *formDialog {
	fd := &formDialog{u: u, ref: ref, errs: map[string]*widget.Label{}, entry: map[string]*widget.Entry{}}
	title := u.T("app.new_commitment")
	if ref != nil {
		c, err := u.st.Commitment(*ref)
		if err != nil {
			u.showError(err)
			return nil
		}
		fd.f = vm.FormFrom(c)
		fd.amend = !domain.Editable(c.Status)
		title = u.T("app.action.edit")
		if fd.amend {
			title = u.T("app.action.amend")
		}
	} else {
		fd.f = vm.Form{Category: domain.CatConvenience, Start: u.today().String(), DeadlineKind: domain.DeadlineWorkdays, Workdays: "7", Public: true}
	}
	fd.dlg = dialog.NewCustomWithoutButtons(title, fd.build(), u.win)
	fd.dlg.Resize(fyne.NewSize(720, 640))
	fd.validate()
	fd.dlg.Show()
	return fd
}

func (fd *formDialog) field(name string, multi bool, value string, set func(string)) fyne.CanvasObject {
	var e *widget.Entry
	if multi {
		e = widget.NewMultiLineEntry()
		e.SetMinRowsVisible(5)
		e.Wrapping = fyne.TextWrapWord
	} else {
		e = widget.NewEntry()
	}
	e.SetText(value)
	e.OnChanged = func(s string) { set(s); fd.validate() }
	fd.entry[name] = e
	l := widget.NewLabel("")
	l.Importance = widget.DangerImportance
	fd.errs[name] = l
	return container.NewVBox(e, l)
}

func (fd *formDialog) build() fyne.CanvasObject {
	u := fd.u
	var names []string
	cats := domain.Categories()
	for _, c := range cats {
		names = append(names, u.T("category."+string(c)))
	}
	fd.cat = widget.NewSelect(names, func(s string) {
		for i, n := range names {
			if n == s {
				fd.f.Category = cats[i]
			}
		}
		fd.validate()
	})
	for i, c := range cats {
		if c == fd.f.Category {
			fd.cat.SetSelectedIndex(i)
		}
	}
	kinds := []string{u.T("app.deadline.date"), u.T("app.deadline.workdays"), u.T("app.deadline.none")}
	fd.kind = widget.NewRadioGroup(kinds, func(s string) {
		switch s {
		case kinds[0]:
			fd.f.DeadlineKind = domain.DeadlineDate
		case kinds[1]:
			fd.f.DeadlineKind = domain.DeadlineWorkdays
		default:
			fd.f.DeadlineKind = domain.NoDeadline
		}
		fd.validate()
	})
	fd.kind.Horizontal = true
	switch fd.f.DeadlineKind {
	case domain.DeadlineDate:
		fd.kind.SetSelected(kinds[0])
	case domain.DeadlineWorkdays:
		fd.kind.SetSelected(kinds[1])
	default:
		fd.kind.SetSelected(kinds[2])
	}
	fd.public = widget.NewCheck(u.T("app.public"), func(b bool) { fd.f.Public = b })
	fd.public.SetChecked(fd.f.Public)
	fd.prev = widget.NewLabel("")
	form := widget.NewForm(
		widget.NewFormItem(u.T("app.field.category"), fd.cat),
		widget.NewFormItem(u.T("app.field.title"), fd.field("title", false, fd.f.Title, func(s string) { fd.f.Title = s })),
		widget.NewFormItem(u.T("app.field.text"), fd.field("text", true, fd.f.Text, func(s string) { fd.f.Text = s })),
		widget.NewFormItem(u.T("app.field.legal_basis"), fd.field("legal_basis", false, fd.f.LegalBasis, func(s string) { fd.f.LegalBasis = s })),
		widget.NewFormItem(u.T("app.field.responsible"), fd.field("responsible", false, fd.f.Responsible, func(s string) { fd.f.Responsible = s })),
		widget.NewFormItem(u.T("app.field.start_date"), fd.field("start", false, fd.f.Start, func(s string) { fd.f.Start = s })),
		widget.NewFormItem(u.T("app.field.deadline"), fd.kind),
		widget.NewFormItem(u.T("app.deadline.date"), fd.field("deadline_date", false, fd.f.DeadlineDate, func(s string) { fd.f.DeadlineDate = s })),
		widget.NewFormItem(u.T("app.deadline.workdays"), fd.field("workdays", false, fd.f.Workdays, func(s string) { fd.f.Workdays = s })),
		widget.NewFormItem("", fd.prev),
		widget.NewFormItem("", fd.public),
	)
	if fd.amend {
		fd.reason = widget.NewMultiLineEntry()
		fd.reason.SetPlaceHolder(u.T("app.reason_required"))
		fd.reason.OnChanged = func(string) { fd.validate() }
		form.Append(u.T("app.reason"), fd.reason)
	}
	fd.save = widget.NewButton(u.T("app.save"), fd.submit)
	fd.save.Importance = widget.HighImportance
	cancel := widget.NewButton(u.T("app.cancel"), func() { fd.dlg.Hide() })
	return container.NewBorder(nil, container.NewHBox(cancel, fd.save), nil, nil, container.NewVScroll(form))
}

// validate shows every field's message and the live deadline preview, and
// enables Save only when all is well.
func (fd *formDialog) validate() {
	if fd.save == nil {
		return
	}
	errs := fd.f.Validate()
	for name, l := range fd.errs {
		if m, ok := errs[name]; ok {
			l.SetText(fd.u.msg(m))
			l.Show()
		} else {
			l.SetText("")
			l.Hide()
		}
	}
	if m, ok := fd.f.DeadlinePreview(fd.u.cal); ok {
		fd.prev.SetText(fd.u.msg(m))
	} else {
		fd.prev.SetText("")
	}
	ok := len(errs) == 0 && (!fd.amend || domain.NonBlank(fd.reason.Text))
	if ok {
		fd.save.Enable()
	} else {
		fd.save.Disable()
	}
}

func (fd *formDialog) submit() {
	reason := ""
	if fd.reason != nil {
		reason = fd.reason.Text
	}
	ref, err := vm.SaveForm(fd.u.se, fd.ref, fd.f, reason)
	if err != nil {
		fd.u.showError(err)
		return
	}
	fd.dlg.Hide()
	fd.u.acted()
	fd.u.main.list.load()
	fd.u.main.detail.show(ref)
}

// fulfilDialog logs a fulfilment entry with evidence, attached with a file
// dialog or dropped onto the window.
type fulfilDialog struct {
	u        *ui
	ref      store.Ref
	f        vm.Fulfil
	dlg      dialog.Dialog
	files    *widget.Label
	progress *widget.Slider
	note     *widget.Entry
	date     *widget.Entry
	errLine  *widget.Label
}

func (u *ui) showFulfil(ref store.Ref) { u.openFulfil(ref) }

// openFulfil shows the fulfilment dialog and returns it (tests drive it).
func (u *ui) openFulfil(ref store.Ref) *fulfilDialog {
	fd := &fulfilDialog{u: u, ref: ref, f: vm.Fulfil{Date: u.today().String(), Progress: "0"}}
	fd.date = widget.NewEntry()
	fd.date.SetText(fd.f.Date)
	fd.date.OnChanged = func(s string) { fd.f.Date = s }
	pct := widget.NewLabel("0%")
	fd.progress = widget.NewSlider(0, 100)
	fd.progress.Step = 5
	fd.progress.OnChanged = func(v float64) {
		fd.f.Progress = strconv.Itoa(int(v))
		pct.SetText(fd.f.Progress + "%")
	}
	fd.note = widget.NewMultiLineEntry()
	fd.note.SetMinRowsVisible(4)
	fd.note.OnChanged = func(s string) { fd.f.Note = s }
	fd.files = widget.NewLabel(u.T("app.no_files"))
	fd.files.Wrapping = fyne.TextWrapWord
	fd.errLine = widget.NewLabel("")
	fd.errLine.Importance = widget.DangerImportance
	attach := widget.NewButton(u.T("app.attach"), func() {
		dialog.ShowFileOpen(func(r fyne.URIReadCloser, err error) {
			if err != nil || r == nil {
				return
			}
			r.Close()
			fd.add(r.URI())
		}, u.win)
	})
	form := widget.NewForm(
		widget.NewFormItem(u.T("app.entry_date"), fd.date),
		widget.NewFormItem(u.T("app.progress"), container.NewBorder(nil, nil, nil, pct, fd.progress)),
		widget.NewFormItem(u.T("app.note"), fd.note),
		widget.NewFormItem(u.T("app.evidence"), container.NewVBox(fd.files, attach, widget.NewLabel(u.T("app.drop_hint")))),
	)
	save := widget.NewButton(u.T("app.save"), fd.submit)
	save.Importance = widget.HighImportance
	cancel := widget.NewButton(u.T("app.cancel"), fd.close)
	fd.dlg = dialog.NewCustomWithoutButtons(u.T("app.action.log"), container.NewBorder(nil, container.NewVBox(fd.errLine, container.NewHBox(cancel, save)), nil, nil, form), u.win)
	fd.dlg.Resize(fyne.NewSize(620, 520))
	u.dropTarget = func(uris []fyne.URI) {
		for _, uri := range uris {
			fd.add(uri)
		}
	}
	fd.dlg.Show()
	return fd
}

func (fd *fulfilDialog) add(uri fyne.URI) {
	if uri.Scheme() != "file" {
		return
	}
	fd.f.Evidence = append(fd.f.Evidence, uri.Path())
	var names []string
	for _, p := range fd.f.Evidence {
		names = append(names, "• "+p)
	}
	fd.files.SetText(joinLines(names))
}

func joinLines(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += "\n"
		}
		out += x
	}
	return out
}

func (fd *fulfilDialog) close() {
	fd.u.dropTarget = nil
	fd.dlg.Hide()
}

func (fd *fulfilDialog) submit() {
	if errs := fd.f.Validate(); len(errs) > 0 {
		for _, m := range errs {
			fd.errLine.SetText(fd.u.msg(m))
			return
		}
	}
	if err := vm.LogFulfil(fd.u.se, fd.ref, fd.f); err != nil {
		m := vm.ErrorMessage(err)
		fd.errLine.SetText(fd.u.msg(m))
		return
	}
	fd.close()
	fd.u.acted()
	fd.u.main.list.load()
	fd.u.main.detail.show(fd.ref)
}
