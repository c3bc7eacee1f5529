package app

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"jiannuo/app/vm"
	"jiannuo/domain"
)

// The 账号管理 screen (a leader adds, renames, promotes, resets and
// disables accounts; everyone sees the list), changing one's own passphrase
// from the account menu, and the forced change after a leader's reset. The
// logic is vm.Accounts' and vm.ChangePassphrase's.

// accountMenu is the 账号 menu of the main window.
func (u *ui) accountMenu() *fyne.Menu {
	return fyne.NewMenu(u.T("app.menu.account"),
		fyne.NewMenuItem(u.T("app.accounts"), func() { u.showAccounts() }),
		fyne.NewMenuItem(u.T("app.change_passphrase"), func() { u.showChangePassphrase() }),
	)
}

// accountForm is a small form in a dialog that stays open until its action
// succeeds: entries by the view-model's field names, the messages of the
// fields at fault, and OK / Cancel.
type accountForm struct {
	u      *ui
	fields []string // field names in the order shown, for the messages
	entry  map[string]*widget.Entry
	role   *widget.Select // a role to choose, when the form has one
	roles  []domain.Role
	errs   *widget.Label
	ok     *widget.Button
	d      dialog.Dialog
}

func (u *ui) newAccountForm() *accountForm {
	f := &accountForm{u: u, entry: map[string]*widget.Entry{}, errs: widget.NewLabel("")}
	f.errs.Importance = widget.DangerImportance
	f.errs.Wrapping = fyne.TextWrapWord
	return f
}

// field adds an entry for the view-model's field name.
func (f *accountForm) field(name string, secret bool) *widget.FormItem {
	e := widget.NewEntry()
	if secret {
		e = widget.NewPasswordEntry()
	}
	f.fields = append(f.fields, name)
	f.entry[name] = e
	return widget.NewFormItem("", e)
}

// text returns what was typed in a field.
func (f *accountForm) text(name string) string { return f.entry[name].Text }

// chooseRole adds the role to choose among roles, current selected.
func (f *accountForm) chooseRole(roles []domain.Role, current domain.Role) *widget.FormItem {
	var labels []string
	for _, r := range roles {
		labels = append(labels, f.u.msg(vm.RoleMessage(r)))
	}
	f.roles = roles
	f.role = widget.NewSelect(labels, nil)
	for i, r := range roles {
		if r == current {
			f.role.SetSelectedIndex(i)
		}
	}
	f.fields = append(f.fields, vm.FieldRole)
	return widget.NewFormItem(f.u.T("app.accounts.role_label"), f.role)
}

// selectedRole is the role chosen, or "" for none.
func (f *accountForm) selectedRole() domain.Role {
	if i := f.role.SelectedIndex(); i >= 0 && i < len(f.roles) {
		return f.roles[i]
	}
	return ""
}

// open shows the dialog; act runs when OK is pressed, off the UI goroutine
// when slow (a passphrase hash), and returns the result; done is called on
// the UI goroutine with a successful result after the dialog closed.
func (f *accountForm) open(title string, intro string, items []*widget.FormItem, slow bool, act func() vm.AccountResult, done func(vm.AccountResult)) {
	u := f.u
	form := widget.NewForm(items...)
	f.ok = widget.NewButton(u.T("app.ok"), nil)
	f.ok.Importance = widget.HighImportance
	show := func(r vm.AccountResult) {
		f.ok.Enable()
		if r.OK() {
			f.d.Hide()
			done(r)
			return
		}
		f.errs.SetText(u.fieldErrors(f.fields, r))
	}
	f.ok.OnTapped = func() {
		f.ok.Disable()
		if !slow {
			show(act())
			return
		}
		u.goWork(func(context.Context) {
			r := act()
			fyne.Do(func() { show(r) })
		})
	}
	cancel := widget.NewButton(u.T("app.cancel"), func() { f.d.Hide() })
	var top []fyne.CanvasObject
	if intro != "" {
		top = append(top, para(intro))
	}
	body := container.NewVBox(append(top, form, f.errs, container.NewHBox(cancel, f.ok))...)
	f.d = dialog.NewCustomWithoutButtons(title, body, u.win)
	f.d.Resize(fyne.NewSize(520, body.MinSize().Height+80))
	f.d.Show()
}

// fieldErrors renders a result's messages: a refusal, or each field at
// fault in the form's order.
func (u *ui) fieldErrors(order []string, r vm.AccountResult) string {
	if r.Err != nil {
		return u.msg(*r.Err)
	}
	out := ""
	for _, f := range order {
		if m, ok := r.Fields[f]; ok {
			if out != "" {
				out += "\n"
			}
			out += u.msg(m)
		}
	}
	return out
}

// accountsScreen is the 账号管理 dialog.
type accountsScreen struct {
	u      *ui
	vm     *vm.Accounts
	list   *fyne.Container
	rows   map[string]*accountRowView
	add    *widget.Button
	status *widget.Label
	form   *accountForm // the form last opened, for tests
	d      dialog.Dialog
}

// accountRowView is one account's line and its buttons.
type accountRowView struct {
	label                        *widget.Label
	rename, role, reset, disable *widget.Button
	confirmDisable               func(reason string) // what the confirmation does, for tests
	disableReason                *widget.Entry
	disableConfirm               dialog.Dialog
}

func (u *ui) showAccounts() *accountsScreen {
	sync := func() {
		if u.sync != nil {
			u.sync.eng.SyncNow()
		}
		u.status.refreshPending()
	}
	s := &accountsScreen{u: u, vm: vm.NewAccounts(u.se, sync), list: container.NewVBox(), status: para("")}
	s.add = widget.NewButton(u.T("app.accounts.add"), s.openAdd)
	s.add.Importance = widget.HighImportance
	var head []fyne.CanvasObject
	if s.vm.Manage() {
		head = append(head, s.add)
	} else {
		head = append(head, para(u.T("app.accounts.staff_note")))
	}
	own := widget.NewButton(u.T("app.change_passphrase"), func() { u.showChangePassphrase() })
	recovery := para(u.T("app.accounts.recovery"))
	recovery.Importance = widget.LowImportance
	scroll := container.NewVScroll(s.list)
	scroll.SetMinSize(fyne.NewSize(720, 320))
	body := container.NewBorder(container.NewVBox(head...), container.NewVBox(s.status, own, recovery), nil, nil, scroll)
	s.d = dialog.NewCustom(u.T("app.accounts.title"), u.T("app.close"), body, u.win)
	s.reload()
	s.d.Show()
	u.lastAccounts = s
	return s
}

// reload reads the accounts again and rebuilds the list.
func (s *accountsScreen) reload() {
	u := s.u
	if err := s.vm.Load(); err != nil {
		s.status.SetText(u.msg(vm.ErrorMessage(err)))
		return
	}
	s.rows = map[string]*accountRowView{}
	s.list.Objects = nil
	for _, r := range s.vm.Rows {
		row := r
		name := row.DisplayName
		if row.Self {
			name = u.T("app.accounts.self", name)
		}
		v := &accountRowView{label: widget.NewLabel(u.T("app.accounts.row", name, row.Name, u.msg(row.RoleLabel), u.msg(row.Status)))}
		v.rename = widget.NewButton(u.T("app.accounts.rename"), func() { s.openRename(row) })
		v.role = widget.NewButton(u.T("app.accounts.role"), func() { s.openRole(row) })
		v.reset = widget.NewButton(u.T("app.accounts.reset"), func() { s.openReset(row) })
		v.disable = widget.NewButton(u.T("app.accounts.disable"), func() { s.openDisable(row, v) })
		v.disable.Importance = widget.DangerImportance
		buttons := container.NewHBox()
		for _, b := range []struct {
			ok  bool
			btn *widget.Button
		}{{row.CanRename, v.rename}, {row.CanRole, v.role}, {row.CanReset, v.reset}, {row.CanDisable, v.disable}} {
			if b.ok {
				buttons.Add(b.btn)
			} else {
				b.btn.Hide()
			}
		}
		s.rows[row.Name] = v
		s.list.Add(container.NewBorder(nil, nil, nil, buttons, v.label))
	}
	s.list.Refresh()
}

// done shows what an action did and the list after it.
func (s *accountsScreen) done(r vm.AccountResult) {
	s.status.SetText(s.u.msg(r.Done))
	s.reload()
}

func (s *accountsScreen) openAdd() {
	u := s.u
	f := u.newAccountForm()
	items := []*widget.FormItem{f.field(vm.FieldName, false), f.field(vm.FieldDisplayName, false), f.chooseRole(s.vm.Roles(), domain.RoleStaff),
		f.field(vm.FieldPassphrase, true), f.field(vm.FieldPassphrase2, true)}
	items[0].Text, items[1].Text = u.T("app.accounts.login"), u.T("app.display_name")
	items[3].Text, items[4].Text = u.T("app.passphrase"), u.T("app.passphrase_again")
	s.form = f
	f.open(u.T("app.accounts.add"), "", items, true, func() vm.AccountResult {
		return s.vm.Add(f.text(vm.FieldName), f.text(vm.FieldDisplayName), f.selectedRole(), f.text(vm.FieldPassphrase), f.text(vm.FieldPassphrase2))
	}, s.done)
}

func (s *accountsScreen) openRename(row vm.AccountRow) {
	u := s.u
	f := u.newAccountForm()
	item := f.field(vm.FieldDisplayName, false)
	item.Text = u.T("app.display_name")
	f.entry[vm.FieldDisplayName].SetText(row.DisplayName)
	s.form = f
	f.open(u.T("app.accounts.rename"), row.Name, []*widget.FormItem{item}, false, func() vm.AccountResult {
		return s.vm.Rename(row.Name, f.text(vm.FieldDisplayName))
	}, s.done)
}

func (s *accountsScreen) openRole(row vm.AccountRow) {
	u := s.u
	f := u.newAccountForm()
	item := f.chooseRole(s.vm.Roles(), row.Role)
	s.form = f
	f.open(u.T("app.accounts.role"), row.DisplayName+"（"+row.Name+"）", []*widget.FormItem{item}, false, func() vm.AccountResult {
		return s.vm.SetRole(row.Name, f.selectedRole())
	}, s.done)
}

func (s *accountsScreen) openReset(row vm.AccountRow) {
	u := s.u
	f := u.newAccountForm()
	items := []*widget.FormItem{f.field(vm.FieldPassphrase, true), f.field(vm.FieldPassphrase2, true)}
	items[0].Text, items[1].Text = u.T("app.accounts.temp_pass"), u.T("app.accounts.temp_pass_again")
	s.form = f
	f.open(u.T("app.accounts.reset"), row.DisplayName+"（"+row.Name+"）", items, true, func() vm.AccountResult {
		return s.vm.Reset(row.Name, f.text(vm.FieldPassphrase), f.text(vm.FieldPassphrase2))
	}, s.done)
}

// openDisable asks to confirm, with an optional reason, before disabling.
func (s *accountsScreen) openDisable(row vm.AccountRow, v *accountRowView) {
	u := s.u
	v.disableReason = widget.NewEntry()
	v.disableReason.SetPlaceHolder(u.T("app.accounts.reason"))
	v.confirmDisable = func(reason string) {
		r := s.vm.Disable(row.Name, reason)
		if !r.OK() {
			s.status.SetText(u.fieldErrors([]string{vm.FieldReason}, r))
			return
		}
		s.done(r)
	}
	body := container.NewVBox(para(u.msg(vm.DisableQuestion(row))), v.disableReason)
	v.disableConfirm = dialog.NewCustomConfirm(u.T("app.accounts.disable"), u.T("app.accounts.disable"), u.T("app.cancel"), body, func(ok bool) {
		if ok {
			v.confirmDisable(v.disableReason.Text)
		}
	}, u.win)
	v.disableConfirm.Resize(fyne.NewSize(520, 260))
	v.disableConfirm.Show()
}

// showChangePassphrase changes the user's own passphrase, from the menu.
func (u *ui) showChangePassphrase() *accountForm {
	f := u.passphraseForm()
	f.open(u.T("app.change_passphrase.title"), "", f.items(), true, func() vm.AccountResult {
		return vm.ChangePassphrase(u.se, f.text(vm.FieldOldPassphrase), f.text(vm.FieldPassphrase), f.text(vm.FieldPassphrase2))
	}, func(r vm.AccountResult) {
		dialog.ShowInformation(u.T("app.change_passphrase.title"), u.msg(r.Done), u.win)
	})
	u.lastPassphrase = f
	return f
}

// passphraseForm is the form of a passphrase change: old, new, new again.
func (u *ui) passphraseForm() *accountForm {
	f := u.newAccountForm()
	f.field(vm.FieldOldPassphrase, true)
	f.field(vm.FieldPassphrase, true)
	f.field(vm.FieldPassphrase2, true)
	return f
}

// items are the passphrase form's rows with their labels.
func (f *accountForm) items() []*widget.FormItem {
	u := f.u
	return []*widget.FormItem{
		widget.NewFormItem(u.T("app.change_passphrase.old"), f.entry[vm.FieldOldPassphrase]),
		widget.NewFormItem(u.T("app.change_passphrase.new"), f.entry[vm.FieldPassphrase]),
		widget.NewFormItem(u.T("app.change_passphrase.new_again"), f.entry[vm.FieldPassphrase2]),
	}
}

// showForcedChange is what a user whose passphrase a leader reset sees
// after signing in: the window offers nothing but the change, then opens.
func (u *ui) showForcedChange() *accountForm {
	f := u.passphraseForm()
	f.ok = widget.NewButton(u.T("app.ok"), nil)
	f.ok.Importance = widget.HighImportance
	f.ok.OnTapped = func() {
		f.ok.Disable()
		old, p1, p2 := f.text(vm.FieldOldPassphrase), f.text(vm.FieldPassphrase), f.text(vm.FieldPassphrase2)
		u.goWork(func(context.Context) {
			r := vm.ChangePassphrase(u.se, old, p1, p2)
			fyne.Do(func() {
				f.ok.Enable()
				if !r.OK() {
					f.errs.SetText(u.fieldErrors(f.fields, r))
					return
				}
				u.signedIn(u.se)
			})
		})
	}
	u.win.SetContent(container.NewCenter(container.NewVBox(heading(u.T("app.change_passphrase.title")),
		para(u.T("app.change_passphrase.forced")), widget.NewForm(f.items()...), f.errs, f.ok)))
	u.lastPassphrase = f
	return f
}
