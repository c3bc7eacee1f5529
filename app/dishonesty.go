package app

import (
	"io"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"jiannuo/app/vm"
	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/report"
	"jiannuo/sync/protocol"
)

// The 失信记录 admin tab: the government dishonesty records on this
// county-admin device's replica, the next step of each (explanation,
// rectification and credit repair with evidence), and the Excel export.

// breachScreens is the 失信记录 tab.
type breachScreens struct {
	a    *adminScreens
	list *vm.DishonestyList
	box  *fyne.Container
	tab  *container.TabItem
}

// newBreachTab builds the tab; addAdminTabs appends it.
func (a *adminScreens) newBreachTab() *breachScreens {
	u := a.u
	b := &breachScreens{a: a, box: container.NewVBox()}
	b.list = vm.NewDishonestyList(u.se, func() {
		if u.sync != nil {
			u.sync.eng.SyncNow()
		}
	})
	bar := container.NewHBox(
		widget.NewButtonWithIcon(u.T("adminui.refresh"), theme.ViewRefreshIcon(), b.load),
		widget.NewButtonWithIcon(u.T("breachui.export"), theme.DocumentSaveIcon(), b.openExport))
	b.tab = container.NewTabItemWithIcon(u.T("breachui.tab"), theme.ErrorIcon(),
		container.NewBorder(bar, nil, nil, nil, container.NewVScroll(container.NewPadded(b.box))))
	return b
}

func (b *breachScreens) load() {
	if err := b.list.Load(b.a.u.today()); err != nil {
		b.a.u.showError(err)
		return
	}
	b.render()
}

func (b *breachScreens) render() {
	u := b.a.u
	var objs []fyne.CanvasObject
	if len(b.list.Rows) == 0 {
		objs = append(objs, para(u.T("breachui.list.none")))
	}
	for _, r := range b.list.Rows {
		r := r
		title := r.Title
		if title == "" {
			title = u.T("breachui.list.unknown_commitment")
		}
		deadline := r.Deadline
		if deadline == "" {
			deadline = u.T("breachui.list.no_deadline")
		}
		objs = append(objs, heading(u.T("breachui.list.row", r.OfficeName, title)),
			para(u.T("breachui.list.detail", u.msg(r.TypeName), r.Official, deadline, u.msg(r.Status))))
		objs = append(objs, b.decisions(r)...)
		if r.OverdueDays > 0 {
			l := widget.NewLabel(u.msg(r.Overdue))
			l.Importance = widget.DangerImportance
			l.TextStyle = fyne.TextStyle{Bold: true}
			objs = append(objs, l)
		}
		if r.Closed {
			objs = append(objs, widget.NewLabel(u.T("breachui.list.closed")))
		}
		if buttons := b.buttons(r); len(buttons) > 0 {
			objs = append(objs, buttonRow(buttons))
		}
		objs = append(objs, widget.NewSeparator())
	}
	b.box.Objects = objs
	b.box.Refresh()
}

// stepDialog takes one step on a record: a reason, the explanation for
// StepExplained, evidence files for a rectification or credit repair.
type stepDialog struct {
	office      office.Code // the record's township: its evidence is recorded for it
	form        vm.StepForm
	reason      *widget.Entry
	explanation *widget.Entry
	files       *widget.Label
	names       []string
	errLine     *widget.Label
	ok          *widget.Button
	d           *dialog.CustomDialog
}

func (b *breachScreens) openStep(r vm.DishonestyRow, step domain.DishonestyStep) *stepDialog {
	u := b.a.u
	sd := &stepDialog{office: r.Office, form: vm.StepForm{Step: step}, reason: widget.NewMultiLineEntry(), explanation: widget.NewMultiLineEntry(),
		files: widget.NewLabel(u.T("breachui.step.no_files")), errLine: widget.NewLabel("")}
	sd.errLine.Wrapping = fyne.TextWrapWord
	sd.errLine.Importance = widget.DangerImportance
	sd.files.Wrapping = fyne.TextWrapWord
	sd.reason.SetMinRowsVisible(2)
	items := []*widget.FormItem{widget.NewFormItem(u.T("breachui.step.field.reason"), sd.reason)}
	switch step {
	case domain.StepExplained:
		sd.explanation.SetMinRowsVisible(3)
		items = append(items, widget.NewFormItem(u.T("breachui.step.field.explanation"), sd.explanation))
	default:
		attach := widget.NewButtonWithIcon(u.T("breachui.step.attach"), theme.FileIcon(), func() {
			dialog.ShowFileOpen(func(rc fyne.URIReadCloser, err error) {
				if err != nil || rc == nil {
					return
				}
				b.attach(sd, rc.URI().Name(), rc)
			}, u.win)
		})
		items = append(items, widget.NewFormItem(u.T("breachui.step.field.evidence"), container.NewVBox(sd.files, attach)))
	}
	title := r.Title
	if title == "" {
		title = u.T("breachui.list.unknown_commitment")
	}
	sd.ok = widget.NewButtonWithIcon(u.msg(vm.DishonestyStepAction(step)), theme.ConfirmIcon(), func() { b.submitStep(r, sd) })
	sd.ok.Importance = widget.HighImportance
	deadline := r.Deadline
	if deadline == "" {
		deadline = u.T("breachui.list.no_deadline")
	}
	content := container.NewVBox(heading(u.T("breachui.list.row", r.OfficeName, title)),
		para(u.T("breachui.list.detail", u.msg(r.TypeName), r.Official, deadline, u.msg(r.StepName))),
		widget.NewForm(items...), sd.errLine)
	sd.d = dialog.NewCustomWithoutButtons(u.T("breachui.step_title", u.msg(vm.DishonestyStepAction(step)), r.OfficeName), container.NewVScroll(content), u.win)
	sd.d.SetButtons([]fyne.CanvasObject{widget.NewButton(u.T("breachui.cancel"), func() { sd.d.Hide() }), sd.ok})
	sd.d.Resize(fyne.NewSize(620, 460))
	b.a.u.track(sd.d) // Escape closes it
	sd.d.Show()
	return sd
}

// attach adds an evidence file to the step being taken (the file dialog's
// choice; tests call it directly), reading it off the UI goroutine; r is
// closed if it is an io.Closer.
func (b *breachScreens) attach(sd *stepDialog, name string, r io.Reader) {
	b.a.u.attachEvidence(sd.office, name, r, sd.ok, sd.errLine, func(h protocol.Hash) {
		sd.form.Evidence = append(sd.form.Evidence, h)
		sd.names = append(sd.names, name)
		sd.files.SetText(strings.Join(sd.names, "\n"))
	})
}

func (b *breachScreens) submitStep(r vm.DishonestyRow, sd *stepDialog) {
	u := b.a.u
	f := sd.form
	f.Reason, f.Explanation = sd.reason.Text, sd.explanation.Text
	if bad := f.Validate(r.Record); len(bad) > 0 {
		for _, k := range []string{vm.StepFieldStep, vm.StepFieldReason, vm.StepFieldExplanation, vm.StepFieldEvidence} {
			if m, ok := bad[k]; ok {
				sd.errLine.SetText(u.msg(m))
				return
			}
		}
	}
	sd.errLine.SetText("")
	if err := b.list.TakeStep(r, f, u.today()); err != nil {
		sd.errLine.SetText(u.msg(vm.ErrorMessage(err)))
		return
	}
	sd.d.Hide()
	b.a.status.SetText(u.T("breachui.step.done", u.msg(vm.DishonestyStepMessage(f.Step))))
	b.render()
	if u.status != nil {
		u.status.refreshPending()
	}
}

// openExport asks where to save the records as Excel, then writes them off
// the UI goroutine.
func (b *breachScreens) openExport() {
	u := b.a.u
	save := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		b.export(w)
	}, u.win)
	save.SetFileName(u.T("breachui.export.file") + "-" + u.today().String() + ".xlsx")
	save.Show()
}

// export writes the records as read by the last load to w and closes it,
// off the UI goroutine; done or the error is shown on it.
func (b *breachScreens) export(w io.WriteCloser) {
	u := b.a.u
	recs, county, today := b.list.Records, u.se.Device().Office.County(), u.today()
	u.bg.spawn(func() {
		err := report.WriteDishonestyXLSX(w, county, recs, today, u.tr)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		fyne.Do(func() {
			if err != nil {
				u.showError(err)
				return
			}
			b.a.status.SetText(u.T("breachui.export.done"))
		})
	})
}
