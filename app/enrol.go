package app

import (
	"context"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"jiannuo/app/vm"
)

// enrolPollEvery is how often the dialog asks the county where a pending
// request stands.
const enrolPollEvery = 3 * time.Second

// enrolDialog enrols a device later (it skipped enrolment in the wizard, or
// was rejected), from the menu or the status bar: the device ID whole with
// a copy button, the server's address and a fingerprint field wide enough
// to check all 95 characters by eye, and pending → approved as the county
// admin decides. The steps are the wizard's (vm.ParseServer, vm.EnrolNow,
// through vm.LaterEnrolment).
type enrolDialog struct {
	deviceID *widget.Label
	copy     *widget.Button
	url, fp  *widget.Entry
	fpBox    fyne.CanvasObject // the fingerprint field at its width
	status   *widget.Label
	enrol    *widget.Button
	d        dialog.Dialog
	stop     context.CancelFunc // ends polling when the dialog closes
}

func (u *ui) showEnrolLater() *enrolDialog {
	ev := vm.NewLaterEnrolment(u.se)
	ed := &enrolDialog{status: para("")}
	ed.deviceID = widget.NewLabel(ev.DeviceID())
	ed.deviceID.TextStyle = fyne.TextStyle{Monospace: true}
	ed.deviceID.Selectable = true
	ed.copy = widget.NewButtonWithIcon(u.T("app.enrol.copy"), theme.ContentCopyIcon(), func() {
		u.fa.Clipboard().SetContent(ev.DeviceID())
		ed.status.SetText(u.T("app.enrol.copied"))
	})
	ed.url, ed.fp = widget.NewEntry(), widget.NewEntry()
	ed.url.SetPlaceHolder("https://county.example:8443")
	ed.fp.SetPlaceHolder(u.T("app.wizard.fingerprint_hint"))
	ed.fp.TextStyle = fyne.TextStyle{Monospace: true}
	ed.url.Text, ed.fp.Text = ev.Saved()
	ed.fpBox = container.NewGridWrap(fyne.NewSize(fingerprintWidth(), ed.fp.MinSize().Height), ed.fp)
	ctx, stop := context.WithCancel(u.bg.ctx)
	ed.stop = stop

	var step func(request bool)
	show := func(m vm.Message, approved bool, err error) {
		if err != nil {
			ed.status.SetText(u.msg(vm.ErrorMessage(err)))
			ed.enrol.Enable()
			return
		}
		ed.status.SetText(u.msg(m))
		switch {
		case approved:
			stop()
			ed.url.Disable()
			ed.fp.Disable()
			u.enrolledLater()
		case vm.EnrolPending(m):
			// Ask again in a while, as long as the dialog is open.
			u.bg.later(enrolPollEvery, func() {
				fyne.Do(func() {
					if ctx.Err() == nil {
						step(false)
					}
				})
			})
		default: // rejected: the user may ask anew
			ed.enrol.Enable()
		}
	}
	step = func(request bool) {
		srv, errs := vm.ParseServer(ed.url.Text, ed.fp.Text)
		for _, f := range []string{vm.FieldServerURL, vm.FieldFingerprint} {
			if m, ok := errs[f]; ok {
				ed.status.SetText(u.msg(m))
				ed.enrol.Enable()
				return
			}
		}
		u.goWork(func(context.Context) {
			rctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			var m vm.Message
			var approved bool
			var err error
			if request {
				m, approved, err = ev.Request(rctx, srv)
			} else {
				m, approved, err = ev.Check(rctx, srv)
			}
			if ctx.Err() != nil {
				return // the dialog closed meanwhile
			}
			fyne.Do(func() { show(m, approved, err) })
		})
	}
	ed.enrol = widget.NewButton(u.T("app.wizard.enrol"), func() {
		ed.enrol.Disable()
		step(true)
	})
	ed.enrol.Importance = widget.HighImportance
	if !vm.NeedsEnrolment(u.st) {
		ed.status.SetText(u.T("app.enrol.enrolled"))
		ed.enrol.Disable()
	}
	form := widget.NewForm(
		widget.NewFormItem(u.T("app.enrol.device_id"), container.NewHBox(ed.deviceID, ed.copy)),
		widget.NewFormItem(u.T("app.wizard.server"), ed.url),
		widget.NewFormItem(u.T("app.wizard.fingerprint"), ed.fpBox),
	)
	body := container.NewVBox(para(u.T("app.enrol.explain")), form, ed.status, container.NewHBox(ed.enrol))
	ed.d = dialog.NewCustom(u.T("app.enrol.title"), u.T("app.close"), body, u.win)
	ed.d.SetOnClosed(stop)
	ed.d.Resize(fyne.NewSize(fingerprintWidth()+260, body.MinSize().Height+120))
	ed.d.Show()
	u.lastEnrol = ed
	return ed
}

// enrolledLater starts sync once the county approved the device: the
// status bar stops offering enrolment and shows the link.
func (u *ui) enrolledLater() {
	u.status.enrol.Hide()
	if u.sync == nil {
		// It shows what the store knows until the engine's first report.
		u.startSync()
	}
}
