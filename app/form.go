package app

import (
	"strconv"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"jiannuo/app/vm"
	"jiannuo/domain"
	"jiannuo/store"
)

// formDialog creates a commitment, edits a draft, or amends a published
// one (with a required reason). A field's message appears under it once
// the user changed or left it (or pressed Save), in a line kept for it
// whether or not there is a message, so nothing moves while typing; beside
// the disabled Save button the form says what is still missing. A
// working-day deadline shows its computed date live from the holiday
// calendar.
type formDialog struct {
	u      *ui
	ref    *store.Ref
	amend  bool
	f      vm.Form
	view   vm.FormView
	dlg    dialog.Dialog
	errs   map[string]*widget.Label
	entry  map[string]*entry
	rows   map[string]fyne.CanvasObject // each field with its message line
	form   *widget.Form
	cat    *widget.Select
	kind   *widget.RadioGroup
	public *widget.Check
	reason *entry
	prev   *widget.Label
	hint   *widget.Label // why Save is disabled
	save   *widget.Button
}

func (u *ui) showForm(ref *store.Ref) { u.openForm(ref) }

// dialogSize is w×h, or less in a small window.
func (u *ui) dialogSize(w, h float32) fyne.Size {
	s := u.win.Canvas().Size()
	if s.Width <= 0 || s.Height <= 0 {
		return fyne.NewSize(w, h)
	}
	return fyne.NewSize(min(w, s.Width-24), min(h, s.Height-24))
}

// openForm shows the form and returns it (tests drive it).
func (u *ui) openForm(ref *store.Ref) *formDialog {
	fd := &formDialog{u: u, ref: ref, errs: map[string]*widget.Label{}, entry: map[string]*entry{}, rows: map[string]fyne.CanvasObject{}}
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
	fd.dlg = u.track(dialog.NewCustomWithoutButtons(title, fd.build(), u.win))
	fd.dlg.Resize(u.dialogSize(720, 640))
	fd.validate()
	fd.dlg.Show()
	return fd
}

// message is a field's message line: one line, always there (a space when
// there is nothing to say), so the form's height never changes.
func message() *widget.Label {
	l := widget.NewLabel(" ")
	l.Importance = widget.DangerImportance
	l.Truncation = fyne.TextTruncateEllipsis
	l.SizeName = theme.SizeNameCaptionText
	return l
}

func (fd *formDialog) field(name string, multi bool, value string, set func(string)) fyne.CanvasObject {
	e := fd.u.newEntry(multi)
	if multi {
		e.SetMinRowsVisible(5)
	}
	e.SetText(value)
	e.OnChanged = func(s string) { set(s); fd.view.Touch(name); fd.validate() }
	e.onLeave = func() { fd.view.Touch(name); fd.validate() }
	fd.entry[name] = e
	l := message()
	fd.errs[name] = l
	row := container.NewVBox(e, l)
	fd.rows[name] = row
	return row
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
	fd.kind.Required = true
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
	fd.prev.Truncation = fyne.TextTruncateEllipsis
	fd.form = widget.NewForm(
		widget.NewFormItem(u.T("app.field.category"), fd.cat),
		widget.NewFormItem(u.T("app.field.title"), fd.field(vm.FieldTitle, false, fd.f.Title, func(s string) { fd.f.Title = s })),
		widget.NewFormItem(u.T("app.field.text"), fd.field(vm.FieldText, true, fd.f.Text, func(s string) { fd.f.Text = s })),
		widget.NewFormItem(u.T("app.field.legal_basis"), fd.field(vm.FieldLegalBasis, false, fd.f.LegalBasis, func(s string) { fd.f.LegalBasis = s })),
		widget.NewFormItem(u.T("app.field.responsible"), fd.field(vm.FieldResponsible, false, fd.f.Responsible, func(s string) { fd.f.Responsible = s })),
		widget.NewFormItem(u.T("app.field.start_date"), fd.field(vm.FieldStart, false, fd.f.Start, func(s string) { fd.f.Start = s })),
		widget.NewFormItem(u.T("app.field.deadline"), fd.kind),
		widget.NewFormItem(u.T("app.deadline.date"), fd.field(vm.FieldDeadlineDate, false, fd.f.DeadlineDate, func(s string) { fd.f.DeadlineDate = s })),
		widget.NewFormItem(u.T("app.deadline.workdays"), fd.field(vm.FieldWorkdays, false, fd.f.Workdays, func(s string) { fd.f.Workdays = s })),
		widget.NewFormItem("", fd.prev),
		widget.NewFormItem("", fd.public),
	)
	fd.entry[vm.FieldDeadlineDate].SetPlaceHolder("2026-12-31")
	if fd.amend {
		fd.reason = u.newEntry(true)
		fd.reason.SetMinRowsVisible(2)
		fd.reason.SetPlaceHolder(u.T("app.reason_required"))
		fd.reason.OnChanged = func(string) { fd.view.Touch(vm.FieldReason); fd.validate() }
		fd.errs[vm.FieldReason] = message()
		fd.form.Append(u.T("app.reason"), container.NewVBox(fd.reason, fd.errs[vm.FieldReason]))
	}
	fd.save = widget.NewButton(u.T("app.save"), fd.submit)
	fd.save.Importance = widget.HighImportance
	cancel := widget.NewButton(u.T("app.cancel"), func() { fd.dlg.Hide() })
	fd.hint = widget.NewLabel("")
	fd.hint.Truncation = fyne.TextTruncateEllipsis
	fd.hint.Alignment = fyne.TextAlignTrailing
	buttons := container.NewBorder(nil, nil, nil, container.NewHBox(cancel, fd.save), fd.hint)
	return container.NewBorder(nil, buttons, nil, nil, container.NewVScroll(inputs(fd.form)))
}

// errors are the form's problems: Validate's, and the amendment's reason.
func (fd *formDialog) problems() map[string]vm.Message {
	errs := fd.f.Validate()
	if fd.amend {
		if m, ok := vm.ValidateReason(fd.reason.Text); !ok {
			errs[vm.FieldReason] = m
		}
	}
	return errs
}

// validate shows the messages of the fields touched, the live deadline
// preview, and enables Save only when all is well, saying otherwise what
// is missing. Only the entry for the chosen kind of deadline is enabled.
func (fd *formDialog) validate() {
	if fd.save == nil {
		return
	}
	errs := fd.problems()
	shown := fd.view.Shown(errs)
	for name, l := range fd.errs {
		text := " "
		if m, ok := shown[name]; ok {
			text = fd.u.msg(m)
		}
		l.SetText(text)
	}
	if m, ok := fd.f.DeadlinePreview(fd.u.cal); ok {
		fd.prev.SetText(fd.u.msg(m))
	} else {
		fd.prev.SetText("")
	}
	setEnabled(fd.entry[vm.FieldDeadlineDate], fd.f.DeadlineKind == domain.DeadlineDate)
	setEnabled(fd.entry[vm.FieldWorkdays], fd.f.DeadlineKind == domain.DeadlineWorkdays)
	if blockers := fd.view.Blockers(errs); len(blockers) > 0 {
		names := make([]string, len(blockers))
		for i, f := range blockers {
			names[i] = fd.u.T("app.field." + f)
		}
		fd.hint.SetText(fd.u.T("app.form.blocked", fd.u.list(names)))
		fd.save.Disable()
	} else {
		fd.hint.SetText("")
		fd.save.Enable()
	}
}

// setEnabled enables or disables a control.
func setEnabled(w fyne.Disableable, on bool) {
	if on {
		w.Enable()
	} else {
		w.Disable()
	}
}

func (fd *formDialog) submit() {
	fd.view.ShowAll()
	if errs := fd.problems(); len(errs) > 0 {
		fd.validate()
		return
	}
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
	fd.u.showCommitment(ref)
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
	note     *entry
	date     *entry
	errLine  *widget.Label
}

func (u *ui) showFulfil(ref store.Ref) { u.openFulfil(ref) }

// openFulfil shows the fulfilment dialog and returns it (tests drive it).
// The progress starts where the latest entry left it.
func (u *ui) openFulfil(ref store.Ref) *fulfilDialog {
	c, err := u.st.Commitment(ref)
	if err != nil {
		u.showError(err)
		return nil
	}
	fd := &fulfilDialog{u: u, ref: ref, f: vm.FulfilFor(&c, u.today())}
	fd.date = u.newEntry(false)
	fd.date.SetText(fd.f.Date)
	fd.date.OnChanged = func(s string) { fd.f.Date = s }
	pct := widget.NewLabel(fd.f.Progress + "%")
	fd.progress = widget.NewSlider(0, 100)
	fd.progress.Step = 5
	fd.progress.Value = float64(fd.f.ProgressValue())
	fd.progress.OnChanged = func(v float64) {
		fd.f.Progress = strconv.Itoa(int(v))
		pct.SetText(fd.f.Progress + "%")
	}
	fd.note = u.newEntry(true)
	fd.note.SetMinRowsVisible(4)
	fd.note.OnChanged = func(s string) { fd.f.Note = s }
	fd.files = widget.NewLabel(u.T("app.no_files"))
	fd.files.Wrapping = fyne.TextWrapWord
	fd.errLine = widget.NewLabel("")
	fd.errLine.Importance = widget.DangerImportance
	fd.errLine.Wrapping = fyne.TextWrapWord
	attach := widget.NewButtonWithIcon(u.T("app.attach"), theme.FileIcon(), func() {
		d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
			if err != nil || r == nil {
				return
			}
			r.Close()
			fd.add(r.URI())
		}, u.win)
		d.SetTitleText(u.T("app.attach_title"))
		d.Show()
	})
	form := widget.NewForm(
		widget.NewFormItem(u.T("app.entry_date"), fd.date),
		widget.NewFormItem(u.T("app.progress"), container.NewBorder(nil, nil, nil, pct, fd.progress)),
		widget.NewFormItem(u.T("app.note"), fd.note),
		widget.NewFormItem(u.T("app.evidence"), container.NewVBox(fd.files, container.NewHBox(attach), widget.NewLabel(u.T("app.drop_hint")))),
	)
	save := widget.NewButton(u.T("app.save"), fd.submit)
	save.Importance = widget.HighImportance
	cancel := widget.NewButton(u.T("app.cancel"), fd.close)
	fd.dlg = u.track(dialog.NewCustomWithoutButtons(u.T("app.action.log"),
		container.NewBorder(nil, container.NewVBox(fd.errLine, container.NewHBox(cancel, save)), nil, nil, container.NewVScroll(inputs(form))), u.win))
	fd.dlg.SetOnClosed(func() { u.dropTarget = nil })
	fd.dlg.Resize(u.dialogSize(620, 520))
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
	fd.u.showCommitment(fd.ref)
}
