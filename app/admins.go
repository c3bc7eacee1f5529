package app

import (
	"context"
	"errors"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"jiannuo/app/vm"
	"jiannuo/sync/countyapi"
)

// The 管理员账号 tab of admin mode: the county server's admin accounts,
// added, disabled, enabled and given a password through the admin API with
// the session signed in on the other tabs; and signing out of it. The
// logic is vm.AdminAccounts'.

// adminsTab is the 管理员账号 tab's state.
type adminsTab struct {
	a          *adminScreens
	vm         *vm.AdminAccounts
	tab        *container.TabItem
	box        *fyne.Container
	rows       map[string]*adminRowView
	signOutBtn *widget.Button // shown while signed in
	form       *accountForm   // the form last opened, for tests
	last       *reasonDialog  // the disable dialog last opened, for tests
}

// adminRowView is one account's line and its buttons.
type adminRowView struct {
	label                     *widget.Label
	disable, enable, password *widget.Button
}

func (a *adminScreens) newAdminsTab() *adminsTab {
	t := &adminsTab{a: a, box: container.NewVBox()}
	t.signOutBtn = widget.NewButtonWithIcon(a.u.T("adminui.admins.sign_out"), theme.LogoutIcon(), t.signOut)
	bar := container.NewBorder(nil, nil, nil, container.NewHBox(t.signOutBtn,
		widget.NewButtonWithIcon(a.u.T("adminui.refresh"), theme.ViewRefreshIcon(), t.load)), a.status)
	t.tab = container.NewTabItemWithIcon(a.u.T("adminui.tab.admins"), theme.AccountIcon(),
		container.NewBorder(bar, nil, nil, nil, container.NewVScroll(container.NewPadded(t.box))))
	t.signedOut()
	return t
}

// signedOut shows that the tab needs the session the other tabs sign in
// (showLogin then adds its sign-in form), with no sign-out to offer.
func (t *adminsTab) signedOut() {
	t.vm, t.rows = nil, nil
	t.signOutBtn.Hide()
	t.box.Objects = []fyne.CanvasObject{para(t.a.u.T("adminui.login.needed"))}
	t.box.Refresh()
}

// load reads the accounts off the UI goroutine and shows them.
func (t *adminsTab) load() {
	a := t.a
	if a.client == nil {
		return // signed out: the tab shows the sign-in form
	}
	t.signOutBtn.Show()
	if t.vm == nil {
		t.vm = vm.NewAdminAccounts(a.client)
	}
	m := t.vm
	loadRows(a, m.Fetch, func(rows []vm.AdminRow) {
		m.Rows = rows
		t.render()
	})
}

func (t *adminsTab) render() {
	u := t.a.u
	add := widget.NewButtonWithIcon(u.T("adminui.admins.add"), theme.ContentAddIcon(), t.openAdd)
	add.Importance = widget.HighImportance
	objs := []fyne.CanvasObject{heading(u.T("adminui.admins.title")), para(u.T("adminui.admins.hint")), container.NewHBox(add)}
	t.rows = map[string]*adminRowView{}
	for _, r := range t.vm.Rows {
		name := r.Name
		if r.Self {
			name = u.T("adminui.admins.self", name)
		}
		if r.Recovery {
			name += " · " + u.T("adminui.admins.recovery")
		}
		line := u.T("adminui.admins.row", name, u.msg(r.State), u.msg(r.Created), u.msg(r.Sessions))
		if !r.PasswordSet.IsZero() {
			line += " · " + u.msg(r.PasswordSet)
		}
		v := &adminRowView{label: widget.NewLabel(line)}
		v.label.Wrapping = fyne.TextWrapWord
		v.disable = widget.NewButton(u.T("adminui.admins.disable"), func() { t.openDisable(r) })
		v.disable.Importance = widget.DangerImportance
		v.enable = widget.NewButton(u.T("adminui.admins.enable"), func() { t.enable(r) })
		v.password = widget.NewButton(u.T("adminui.admins.set_password"), func() { t.openPassword(r) })
		buttons := container.NewHBox()
		for _, b := range []struct {
			ok  bool
			btn *widget.Button
		}{{r.CanSetPassword, v.password}, {r.CanEnable, v.enable}, {r.CanDisable, v.disable}} {
			if b.ok {
				buttons.Add(b.btn)
			} else {
				b.btn.Hide()
			}
		}
		t.rows[r.Name] = v
		objs = append(objs, container.NewBorder(nil, nil, nil, buttons, v.label), widget.NewSeparator())
	}
	t.box.Objects = objs
	t.box.Refresh()
}

// done shows what an action did and the accounts after it.
func (t *adminsTab) done(r vm.AccountResult) {
	t.a.status.SetText(t.a.u.msg(r.Done))
	t.load()
}

// act runs a view-model action with a bounded context, for accountForm
// (which runs it off the UI goroutine).
func act(f func(ctx context.Context) vm.AccountResult) func() vm.AccountResult {
	return func() vm.AccountResult {
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		defer cancel()
		return f(ctx)
	}
}

func (t *adminsTab) openAdd() {
	u, m := t.a.u, t.vm
	f := u.newAccountForm()
	items := []*widget.FormItem{f.field(vm.FieldName, false), f.field(vm.FieldPassphrase, true), f.field(vm.FieldPassphrase2, true)}
	items[0].Text, items[1].Text, items[2].Text = u.T("adminui.admins.name"), u.T("adminui.admins.password"), u.T("adminui.admins.password_again")
	t.form = f
	f.open(u.T("adminui.admins.add"), u.T("adminui.admins.add_intro"), items, true, act(func(ctx context.Context) vm.AccountResult {
		return m.Add(ctx, f.text(vm.FieldName), f.text(vm.FieldPassphrase), f.text(vm.FieldPassphrase2))
	}), t.done)
}

func (t *adminsTab) openPassword(r vm.AdminRow) {
	u, m := t.a.u, t.vm
	f := u.newAccountForm()
	var items []*widget.FormItem
	intro := u.T("adminui.admins.password_intro_other", r.Name)
	if r.Self {
		it := f.field(vm.FieldOldPassphrase, true)
		it.Text = u.T("adminui.admins.current")
		items = append(items, it)
		intro = u.T("adminui.admins.password_intro_self")
	}
	for _, fl := range []struct{ field, label string }{{vm.FieldPassphrase, "adminui.admins.password"}, {vm.FieldPassphrase2, "adminui.admins.password_again"}} {
		it := f.field(fl.field, true)
		it.Text = u.T(fl.label)
		items = append(items, it)
	}
	t.form = f
	f.open(u.T("adminui.admins.set_password"), intro, items, true, act(func(ctx context.Context) vm.AccountResult {
		old := ""
		if r.Self {
			old = f.text(vm.FieldOldPassphrase)
		}
		return m.SetPassword(ctx, r.Name, old, f.text(vm.FieldPassphrase), f.text(vm.FieldPassphrase2))
	}), t.done)
}

func (t *adminsTab) openDisable(r vm.AdminRow) {
	a, m := t.a, t.vm
	intro := para(a.u.msg(vm.DisableAdminQuestion(r)))
	t.last = a.openReason(a.u.T("adminui.admins.disable"), a.u.T("adminui.admins.disable"), []fyne.CanvasObject{intro},
		func(reason string, finish func(error)) {
			var res vm.AccountResult
			a.apiCall(func(ctx context.Context) error {
				res = m.Disable(ctx, r.Name, reason)
				return nil
			}, func(error) {
				if !res.OK() {
					rd := t.last
					finish(errAccountRefused) // the dialog stays open, its button enabled
					rd.errLine.SetText(a.u.fieldErrors([]string{vm.FieldReason}, res))
					return
				}
				finish(nil)
				t.done(res)
			})
		})
}

// errAccountRefused keeps a reason dialog open; the refusal's own text
// replaces what it shows for it.
var errAccountRefused = errors.New("account change refused")

func (t *adminsTab) enable(r vm.AdminRow) {
	a, m := t.a, t.vm
	var res vm.AccountResult
	a.apiCall(func(ctx context.Context) error {
		res = m.Enable(ctx, r.Name)
		return nil
	}, func(error) {
		if !res.OK() {
			a.status.SetText(a.u.fieldErrors(nil, res))
			return
		}
		t.done(res)
	})
}

// signOut ends the session on the server and brings the sign-in back.
func (t *adminsTab) signOut() {
	a := t.a
	c := a.client
	if c == nil {
		return
	}
	dialog.ShowConfirm(a.u.T("adminui.admins.sign_out"), a.u.T("adminui.admins.sign_out_confirm"), func(ok bool) {
		if !ok {
			return
		}
		a.signOut()
		a.status.SetText(a.u.T("adminui.admins.signed_out"))
	}, a.u.win)
}

// signOut ends the admin session, if any, and shows the sign-in again.
func (a *adminScreens) signOut() {
	c := a.client
	if c == nil {
		return
	}
	a.client = nil
	a.u.goWork(func(context.Context) { endAdminSession(c) })
	a.showLogin()
}

// endAdminSession ends c's session on the server, bounded so that a
// window closing on an unreachable server is not held up; the server ends
// one it was not told of by itself.
func endAdminSession(c *countyapi.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.Logout(ctx)
	c.CloseIdleConnections()
}
