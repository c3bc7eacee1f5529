package app

import (
	"context"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
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
		go func() {
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
		}()
	}
	btn = widget.NewButton(u.T("app.sign_in"), do)
	btn.Importance = widget.HighImportance
	pass.OnSubmitted = func(string) { do() }
	form := widget.NewForm(widget.NewFormItem(u.T("app.account"), who), widget.NewFormItem(u.T("app.passphrase"), pass))
	u.win.SetContent(container.NewCenter(container.NewVBox(heading(u.T("app.name")+" · "+u.T("app.tagline")), form, btn, msg)))
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
		go func() {
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
		}()
	})
	finish.Importance = widget.HighImportance
	acct := widget.NewForm(
		widget.NewFormItem(u.T("app.account"), name), widget.NewFormItem(u.T("app.display_name"), display),
		widget.NewFormItem(u.T("app.passphrase"), p1), widget.NewFormItem(u.T("app.passphrase_again"), p2))
	left := container.NewBorder(container.NewVBox(heading(u.T("app.wizard.step_office")), q), container.NewVBox(chosen, errOffice), nil, nil, results)
	right := container.NewVBox(heading(u.T("app.wizard.step_account")), acct, errAcct, finish)
	u.win.SetContent(container.NewBorder(heading(u.T("app.wizard.title")), nil, nil, nil, container.NewHSplit(left, right)))
}

// showEnrol offers to enrol with the county server now or later.
func (u *ui) showEnrol(wz *vm.Wizard) {
	url, fp := widget.NewEntry(), widget.NewEntry()
	url.SetPlaceHolder("https://county.example:8443")
	fp.SetPlaceHolder(u.T("app.wizard.fingerprint_hint"))
	state := widget.NewLabel(u.T("app.wizard.device_id", u.se.Device().ID.String()))
	state.Wrapping = fyne.TextWrapWord
	var enrol *widget.Button
	enrol = widget.NewButton(u.T("app.wizard.enrol"), func() {
		srv, errs := vm.ParseServer(url.Text, fp.Text)
		for _, m := range errs {
			state.SetText(u.msg(m))
			return
		}
		enrol.Disable()
		u.goWork(func(ctx context.Context) { u.pollEnrolment(ctx, wz, srv, state, func() { enrol.Enable() }) })
	})
	enrol.Importance = widget.HighImportance
	skip := widget.NewButton(u.T("app.wizard.skip"), func() { u.showMain() })
	u.win.SetContent(container.NewCenter(container.NewVBox(heading(u.T("app.wizard.step_enrol")),
		widget.NewForm(widget.NewFormItem(u.T("app.wizard.server"), url), widget.NewFormItem(u.T("app.wizard.fingerprint"), fp)),
		state, container.NewHBox(skip, enrol))))
}

// pollEnrolment asks the county to enrol the device and shows pending →
// approved as it happens, checking every few seconds until approved or
// refused, for at most half an hour or until the window closes (ctx).
func (u *ui) pollEnrolment(ctx context.Context, wz *vm.Wizard, srv engine.Server, state *widget.Label, done func()) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	tick := time.NewTicker(3 * time.Second)
	defer tick.Stop()
	for {
		m, approved, err := wz.Enrol(ctx, srv)
		fyne.Do(func() {
			if err != nil {
				em := vm.ErrorMessage(err)
				state.SetText(u.msg(em))
			} else {
				state.SetText(u.msg(m))
			}
		})
		if approved {
			fyne.Do(func() { done(); u.showMain() })
			return
		}
		if err != nil {
			fyne.Do(done)
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			fyne.Do(done)
			return
		}
	}
}
