package app

import (
	"context"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"jiannuo/app/vm"
	"jiannuo/domain/office"
	"jiannuo/sync/engine"
)

// showSignIn asks a staff member for their account and passphrase. It
// works offline: the passphrase unlocks the device key on this machine.
func (u *ui) showSignIn() {
	si, err := vm.NewSignIn(u.st)
	if err != nil {
		u.showError(err)
		return
	}
	var names []string
	for _, a := range si.Accounts() {
		names = append(names, a.Name)
	}
	who := widget.NewSelect(names, nil)
	if len(names) > 0 {
		who.SetSelectedIndex(0)
	}
	pass := widget.NewPasswordEntry()
	msg := widget.NewLabel("")
	msg.Importance = widget.DangerImportance
	var btn *widget.Button
	do := func() {
		btn.Disable()
		name, p := who.Selected, pass.Text
		// argon2id takes a moment on an old PC: keep the window responsive.
		u.goWork(func(context.Context) {
			se, m := si.Do(name, p)
			fyne.Do(func() {
				btn.Enable()
				if m != nil {
					msg.SetText(u.msg(*m))
					pass.SetText("")
					return
				}
				u.signedIn(se)
			})
		})
	}
	btn = widget.NewButton(u.T("app.sign_in"), do)
	btn.Importance = widget.HighImportance
	pass.OnSubmitted = func(string) { do() }
	form := widget.NewForm(widget.NewFormItem(u.T("app.account"), who), widget.NewFormItem(u.T("app.passphrase"), pass))
	u.win.SetContent(container.NewCenter(container.NewVBox(heading(u.T("app.name")+" · "+u.T("app.tagline")), inputs(form), btn, msg)))
	u.win.Canvas().Focus(pass)
}

// showWizard is the first run: pick the office, create the first account
// and passphrase, generate the device key, then enrol with the county
// server (the fingerprint shown for the admin to compare, pending →
// approved live) or skip and work offline.
func (u *ui) showWizard() {
	wz := vm.NewWizard(office.Luoyang())
	var found []office.Unit
	results := widget.NewList(func() int { return len(found) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(found) {
				o.(*widget.Label).SetText(found[i].Name + " (" + string(found[i].Code) + ")")
			}
		})
	q := widget.NewEntry()
	q.SetPlaceHolder(u.T("app.wizard.search_office"))
	chosen := widget.NewLabel("")
	errOffice := widget.NewLabel("")
	errOffice.Importance = widget.DangerImportance
	q.OnChanged = func(s string) { found = wz.SearchOffices(s); results.Refresh() }
	results.OnSelected = func(i widget.ListItemID) {
		r := found
		if i < len(r) {
			if m := wz.SetOffice(string(r[i].Code)); m != nil {
				errOffice.SetText(u.msg(*m))
				return
			}
			errOffice.SetText("")
			chosen.SetText(u.T("app.wizard.chosen", r[i].Name, string(r[i].Code)))
		}
	}
	found = wz.SearchOffices("")
	name, display, p1, p2 := widget.NewEntry(), widget.NewEntry(), widget.NewPasswordEntry(), widget.NewPasswordEntry()
	errAcct := widget.NewLabel("")
	errAcct.Importance = widget.DangerImportance
	errAcct.Wrapping = fyne.TextWrapWord
	var finish *widget.Button
	finish = widget.NewButton(u.T("app.wizard.create"), func() {
		if ms := wz.SetAccount(name.Text, display.Text, p1.Text, p2.Text); len(ms) > 0 {
			for _, m := range ms {
				errAcct.SetText(u.msg(m))
				return
			}
		}
		finish.Disable()
		u.goWork(func(context.Context) {
			se, err := wz.Finish(u.st)
			fyne.Do(func() {
				finish.Enable()
				if err != nil {
					u.showError(err)
					return
				}
				u.se = se
				u.showEnrol(wz)
			})
		})
	})
	finish.Importance = widget.HighImportance
	acct := widget.NewForm(
		widget.NewFormItem(u.T("app.account"), name), widget.NewFormItem(u.T("app.display_name"), display),
		widget.NewFormItem(u.T("app.passphrase"), p1), widget.NewFormItem(u.T("app.passphrase_again"), p2))
	left := container.NewBorder(container.NewVBox(heading(u.T("app.wizard.step_office")), inputs(q)), container.NewVBox(chosen, errOffice), nil, nil, results)
	right := container.NewVBox(heading(u.T("app.wizard.step_account")), inputs(acct), errAcct, finish)
	restore := widget.NewButtonWithIcon(u.T("ui.backup.restore"), theme.HistoryIcon(), u.showRestore)
	u.win.SetContent(container.NewBorder(container.NewBorder(nil, nil, nil, restore, title(u.T("app.wizard.title"))), nil, nil, nil, container.NewHSplit(left, right)))
}

// enrolPage is the wizard's enrolment step: the device ID large and whole
// with a copy button (it is read out over the phone), the county server's
// address and the certificate fingerprint (an entry wide enough for all 95
// characters), then the request's state and, on a line of its own, the
// last attempt's error; nothing replaces the ID.
type enrolPage struct {
	u       *ui
	wz      *vm.Wizard
	id      *canvas.Text
	copied  *widget.Label
	url, fp *entry
	urlErr  *widget.Label
	fpErr   *widget.Label
	status  *widget.Label
	errLine *widget.Label
	enrol   *widget.Button
	fpBox   fyne.CanvasObject // the fingerprint entry at its width
	obj     fyne.CanvasObject
}

// fingerprintWidth is the width of a certificate fingerprint as the admin
// reads it out, 32 bytes in hex with colons (95 characters), in the
// entry's monospace font, with the entry's padding.
func fingerprintWidth() float32 {
	text := fyne.MeasureText(strings.Repeat("0", 64)+strings.Repeat(":", 31), theme.TextSize(), fyne.TextStyle{Monospace: true})
	return text.Width + 4*theme.Padding() + 2*theme.InputBorderSize()
}

// showEnrol offers to enrol with the county server now or later.
func (u *ui) showEnrol(wz *vm.Wizard) *enrolPage {
	p := &enrolPage{u: u, wz: wz}
	v := wz.EnrolView()
	p.id = canvas.NewText(v.DeviceID, theme.Color(theme.ColorNameForeground))
	p.id.TextStyle = fyne.TextStyle{Monospace: true, Bold: true}
	p.id.TextSize = theme.TextSize() * 1.6
	p.copied = widget.NewLabel("")
	copyID := widget.NewButtonWithIcon(u.T("app.wizard.copy_id"), theme.ContentCopyIcon(), func() {
		u.fa.Clipboard().SetContent(v.DeviceID)
		p.copied.SetText(u.T("app.wizard.copied"))
	})
	idCard := widget.NewCard("", "", container.NewVBox(heading(u.T("app.wizard.device_id_title")),
		para(u.T("app.wizard.device_id_hint")), container.NewHBox(p.id, copyID, p.copied)))

	p.url, p.fp = u.newEntry(false), u.newEntry(false)
	p.url.SetPlaceHolder("https://county.example:8443")
	p.fp.SetPlaceHolder(u.T("app.wizard.fingerprint_hint"))
	p.fp.TextStyle = fyne.TextStyle{Monospace: true}
	p.url.TextStyle = fyne.TextStyle{Monospace: true}
	p.urlErr, p.fpErr = message(), message()
	p.fpBox = container.New(atLeast{fyne.NewSize(fingerprintWidth(), 0)}, p.fp)
	form := widget.NewForm(
		widget.NewFormItem(u.T("app.wizard.server"), container.NewVBox(container.New(atLeast{fyne.NewSize(fingerprintWidth(), 0)}, p.url), p.urlErr)),
		widget.NewFormItem(u.T("app.wizard.fingerprint"), container.NewVBox(p.fpBox, p.fpErr)),
	)
	p.status = widget.NewLabel("")
	p.status.Wrapping = fyne.TextWrapWord
	p.status.Importance = widget.HighImportance
	p.errLine = widget.NewLabel("")
	p.errLine.Importance = widget.DangerImportance
	p.errLine.Wrapping = fyne.TextWrapWord
	p.enrol = widget.NewButton(u.T("app.wizard.enrol"), p.submit)
	p.enrol.Importance = widget.HighImportance
	skip := widget.NewButton(u.T("app.wizard.skip"), func() { u.showMain() })
	page := container.NewVBox(title(u.T("app.wizard.step_enrol")), idCard, inputs(form), p.status, p.errLine, container.NewHBox(skip, p.enrol))
	p.obj = container.NewScroll(container.NewPadded(page))
	p.render()
	u.win.SetContent(container.New(atLeast{minWindow}, p.obj))
	u.lastEnrolPage = p
	return p
}

// render shows the wizard's enrolment state.
func (p *enrolPage) render() {
	v := p.wz.EnrolView()
	p.id.Text = v.DeviceID
	p.id.Refresh()
	line := func(l *widget.Label, m vm.Message) {
		if m.IsZero() {
			l.SetText(" ")
			return
		}
		l.SetText(p.u.msg(m))
	}
	line(p.urlErr, v.Fields[vm.FieldServerURL])
	line(p.fpErr, v.Fields[vm.FieldFingerprint])
	p.status.SetText(p.u.msg(v.Status))
	if v.Status.IsZero() {
		p.status.Hide()
	} else {
		p.status.Show()
	}
	p.errLine.SetText(p.u.msg(v.Error))
	if v.Error.IsZero() {
		p.errLine.Hide()
	} else {
		p.errLine.Show()
	}
}

// submit checks the form and starts asking the county.
func (p *enrolPage) submit() {
	srv, ok := p.wz.CheckServer(p.url.Text, p.fp.Text)
	p.render()
	if !ok {
		return
	}
	p.enrol.Disable()
	p.u.goWork(func(ctx context.Context) { p.u.pollEnrolment(ctx, p, srv) })
}

// pollEnrolment asks the county to enrol the device and shows pending →
// approved as it happens, checking every few seconds until approved or
// refused, for at most half an hour or until the window closes (ctx).
func (u *ui) pollEnrolment(ctx context.Context, p *enrolPage, srv engine.Server) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	tick := time.NewTicker(3 * time.Second)
	defer tick.Stop()
	done := func() { fyne.Do(p.enrol.Enable) }
	for {
		m, approved, err := p.wz.Enrol(ctx, srv)
		fyne.Do(func() {
			p.wz.EnrolAnswer(m, err)
			p.render()
		})
		if approved {
			fyne.Do(func() { p.enrol.Enable(); u.showMain() })
			return
		}
		if err != nil {
			done()
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			done()
			return
		}
	}
}
