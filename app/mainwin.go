package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	apptheme "jiannuo/app/theme"
	"jiannuo/app/vm"
	"jiannuo/assets"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/store"
)

// mainScreens holds the screens of the main window.
type mainScreens struct {
	list    *listScreen
	detail  *detailScreen
	dash    *dashboardScreen
	commits *masterDetail // the commitments tab: list and detail
	cases   *casesScreen  // 投诉与异议 (cases.go)
	// townBreach is a township device's 失信记录 (dishonesty_township.go);
	// a county-admin device has its own among the admin tabs.
	townBreach *townBreachScreen
	tabs       *container.AppTabs
	admin      *adminScreens // county-admin devices only
	// today is the today panel, first on the dashboard, and the banner of
	// the county's unread urges (today.go).
	today *todayPanel
}

func (u *ui) today() calendar.Date { return calendar.DateOf(u.now()) }

// The main window is built from three lists, each in one place, so that a
// new screen (complaint cases, accounts, the annual report) is one entry
// in screens and its commands one entry in commands:
//
//	screens   the tabs, each with what to do when it is shown
//	commands  what the user can do from anywhere: a toolbar button, a
//	          menu item and a keyboard shortcut from one definition
//	menu      the menus: the commands, settings and help

// screen is one tab of the main window.
type screen struct {
	title  string
	icon   fyne.Resource
	obj    fyne.CanvasObject
	onShow func() // when the tab is selected; may be nil
	// added, when set, gets the tab once made (a screen that retitles its
	// tab: the cases' badge).
	added func(*container.TabItem)
}

// command is something the user can do from anywhere in the main window.
type command struct {
	label    string
	icon     fyne.Resource
	shortcut fyne.Shortcut // nil: none
	run      func()
	toolbar  bool // also a button above the tabs
}

// shortcutKey is Ctrl+key (⌘+key on macOS).
func shortcutKey(k fyne.KeyName) fyne.Shortcut {
	return &desktop.CustomShortcut{KeyName: k, Modifier: fyne.KeyModifierShortcutDefault}
}

// screens lists the tabs of the main window in order.
func (u *ui) screens(m *mainScreens) []screen {
	out := []screen{
		{title: u.T("app.tab.commitments"), icon: theme.ListIcon(), obj: m.commits.obj},
		{title: u.T("app.tab.dashboard"), icon: theme.GridIcon(), obj: m.dash.obj, onShow: m.dash.refresh},
		{title: u.T("caseui.tab"), icon: theme.MailComposeIcon(), obj: m.cases.obj, onShow: m.cases.load,
			added: func(t *container.TabItem) { m.cases.tab = t }},
	}
	if m.townBreach != nil {
		out = append(out, screen{title: u.T("breachui.tab"), icon: theme.ErrorIcon(), obj: m.townBreach.obj, onShow: m.townBreach.load})
	}
	return out
}

// commands lists what the user can do from anywhere in the main window.
func (u *ui) commands() []command {
	cmds := []command{
		{label: u.T("app.new_commitment"), icon: theme.ContentAddIcon(), shortcut: shortcutKey(fyne.KeyN), run: func() { u.showForm(nil) }, toolbar: true},
		{label: u.T("app.export"), icon: theme.DocumentSaveIcon(), shortcut: shortcutKey(fyne.KeyE), run: u.showExport, toolbar: true},
		{label: u.T("app.import_template"), icon: theme.DocumentIcon(), run: u.exportImportTemplate},
		{label: u.T("app.import"), icon: theme.UploadIcon(), run: u.showImport},
		{label: u.T("app.notice_pdf"), icon: theme.DocumentPrintIcon(), run: u.showNotice},
		{label: u.T("app.backup"), icon: theme.StorageIcon(), run: u.showBackup},
		{label: u.T("annualui.command"), icon: theme.DocumentIcon(), run: func() { u.showAnnualReport(0) }},
	}
	if !u.adminDevice() {
		// The county's urges, read ones too (a county-admin device has
		// its 催办 tab instead).
		cmds = append(cmds, command{label: u.T("urgeui.command"), icon: theme.MailComposeIcon(), run: u.showUrges})
	}
	return append(cmds, u.syncFileCommands()...)
}

// showMain builds the main window: commitments (list and detail), the
// dashboard, the commands above them, menus and shortcuts, and the status
// bar; then starts sync.
func (u *ui) showMain() {
	u.status = newStatusBar(u)
	m := &mainScreens{}
	u.main = m
	m.detail = newDetailScreen(u)
	m.list = newListScreen(u, func(ref store.Ref) {
		m.detail.show(ref)
		m.commits.showDetail()
	})
	m.commits = newMasterDetail(m.list.obj, m.detail.obj, u.T("app.back_to_list"), m.list.list.UnselectAll)
	m.today = newTodayPanel(u)
	m.dash = newDashboardScreen(u)
	m.cases = newCasesScreen(u)
	if !u.adminDevice() {
		m.townBreach = newTownBreachScreen(u)
	}

	m.tabs = container.NewAppTabs()
	shown := map[*container.TabItem]func(){}
	for _, s := range u.screens(m) {
		t := container.NewTabItemWithIcon(s.title, s.icon, s.obj)
		m.tabs.Append(t)
		if s.onShow != nil {
			shown[t] = s.onShow
		}
		if s.added != nil {
			s.added(t)
		}
	}
	m.tabs.OnSelected = func(t *container.TabItem) {
		if f := shown[t]; f != nil {
			f()
		}
	}
	if u.adminDevice() {
		m.admin = u.addAdminTabs(m.tabs)
	}

	cmds := u.commands()
	bar := container.NewHBox()
	for _, c := range cmds {
		if c.toolbar {
			bar.Add(widget.NewButtonWithIcon(c.label, c.icon, c.run))
		}
		if c.shortcut != nil {
			run := c.run
			u.win.Canvas().AddShortcut(c.shortcut, func(fyne.Shortcut) { run() })
		}
	}
	who := widget.NewLabel(u.whoAmI())
	who.Truncation = fyne.TextTruncateEllipsis
	who.Alignment = fyne.TextAlignTrailing
	top := container.NewBorder(nil, nil, bar, nil, who)
	content := container.NewBorder(container.NewVBox(top, m.today.banner), u.status.obj, nil, nil, m.tabs)
	u.win.SetContent(container.New(atLeast{minWindow}, content))
	u.win.SetMainMenu(u.menu(cmds))
	u.win.Canvas().SetOnTypedKey(func(ev *fyne.KeyEvent) {
		if ev.Name == fyne.KeyEscape {
			u.escape()
		}
	})
	u.win.SetOnDropped(func(_ fyne.Position, uris []fyne.URI) {
		if u.dropTarget != nil {
			u.dropTarget(uris)
		}
	})
	m.list.load()
	m.cases.load() // the tab's badge counts the cases awaiting the user
	u.status.refreshBackup()
	// What needs attention today, first thing at sign-in: the dashboard
	// opens on it. Then checked every half hour, for the notifications.
	// Working days count on the county's calendar (sync sets it too).
	if st, ok := u.enrolled(); ok {
		u.useCountyCalendar(st)
	}
	m.today.load()
	if len(m.today.view.Items) > 0 {
		m.tabs.SelectIndex(1)
	}
	u.bg.later(todayCheckEvery, m.today.tick)
	u.startSync()
	if u.sync == nil {
		u.status.offlineOnly()
	}
}

// showCommitment opens one commitment from another screen (the
// dashboard's overdue list): the commitments tab, the row selected, its
// detail shown.
func (u *ui) showCommitment(ref store.Ref) {
	m := u.main
	m.tabs.SelectIndex(0)
	m.list.selectRef(ref)
	m.detail.show(ref)
	m.commits.showDetail()
}

// escape is what Escape does: close the dialog on top, else, in a narrow
// window, go back from the detail to the list.
func (u *ui) escape() {
	if n := len(u.dialogs); n > 0 {
		u.dialogs[n-1].Hide()
		return
	}
	if u.main == nil {
		return
	}
	md := u.main.commits
	if t := u.main.tabs.Selected(); t != nil && t.Content == u.main.cases.obj {
		md = u.main.cases.md
	}
	if !md.wide && md.showing {
		md.showList()
	}
}

// track remembers an open dialog for Escape until it closes, and returns
// it; onClosed run when it closes, however it is closed (a dialog given
// to track sets no OnClosed of its own: it would replace this one).
func (u *ui) track(d dialog.Dialog, onClosed ...func()) dialog.Dialog {
	u.dialogs = append(u.dialogs, d)
	d.SetOnClosed(func() {
		for i := len(u.dialogs) - 1; i >= 0; i-- {
			if u.dialogs[i] == d {
				u.dialogs = append(u.dialogs[:i], u.dialogs[i+1:]...)
				break
			}
		}
		for _, f := range onClosed {
			f()
		}
	})
	return d
}

// confirm asks a yes/no question in a dialog Escape closes (as No).
func (u *ui) confirm(title, message string, then func(bool)) {
	u.track(dialog.NewConfirm(title, message, then, u.win)).Show()
}

// inform shows a message in a dialog Escape closes.
func (u *ui) inform(title, message string) {
	u.track(dialog.NewInformation(title, message, u.win)).Show()
}

func (u *ui) whoAmI() string {
	a := u.se.Account()
	name := string(u.se.Device().Office)
	if unit, ok := office.Luoyang().Lookup(u.se.Device().Office); ok {
		name = unit.Name
	}
	return u.T("app.signed_in_as", a.DisplayName, u.T("role."+string(a.Role)), name)
}

// reload re-reads the store into the screens after work arrived.
func (u *ui) reload() {
	if u.main == nil {
		return
	}
	u.main.list.load()
	u.main.detail.reload()
	u.main.today.load()
	if u.main.tabs.Selected() != nil && u.main.tabs.Selected().Content == u.main.dash.obj {
		u.main.dash.refresh()
	}
	u.main.cases.load()
	if t := u.main.tabs.Selected(); u.main.townBreach != nil && t != nil && t.Content == u.main.townBreach.obj {
		u.main.townBreach.load()
	}
	if u.main.admin != nil {
		u.main.admin.reload()
	}
}

// reloadConfirmations re-reads which commitments await the county's
// confirmation, after new receipts: the list's badges and its 未经县级确认
// filter, and the detail's confirmation line.
func (u *ui) reloadConfirmations() {
	if u.main == nil {
		return
	}
	u.main.list.refreshUnconfirmed()
	u.main.detail.reload()
}

// menu builds the menus: the commands, then settings and help. (Fyne adds
// Quit to the first menu.)
func (u *ui) menu(cmds []command) *fyne.MainMenu {
	var items []*fyne.MenuItem
	for _, c := range cmds {
		it := fyne.NewMenuItem(c.label, c.run)
		it.Icon, it.Shortcut = c.icon, c.shortcut
		items = append(items, it)
	}
	file := fyne.NewMenu(u.T("app.menu.file"), items...)
	settings := fyne.NewMenu(u.T("app.menu.settings"),
		fyne.NewMenuItem(u.T("app.language"), u.showLanguage),
		fyne.NewMenuItem(u.T("app.theme"), u.showTheme),
		fyne.NewMenuItem(u.T("today.settings"), u.showTodaySettings),
		fyne.NewMenuItem(u.T("app.enrol_later"), func() { u.showEnrolLater() }),
		fyne.NewMenuItem(u.T("app.backup_settings"), u.showBackupSettings),
	)
	help := fyne.NewMenu(u.T("app.menu.help"),
		fyne.NewMenuItem(u.T("app.about"), func() {
			u.inform(u.T("app.name"), u.T("app.tagline")+"\n"+u.T("app.device_id", u.se.Device().ID.String()))
		}),
		fyne.NewMenuItem(u.T("app.font_licence"), func() {
			text := widget.NewLabel(assets.FontLicense())
			text.Wrapping = fyne.TextWrapWord
			scroll := container.NewVScroll(text)
			scroll.SetMinSize(fyne.NewSize(560, 380))
			u.track(dialog.NewCustom(u.T("app.font_licence"), u.T("app.close"), scroll, u.win)).Show()
		}),
	)
	return fyne.NewMainMenu(file, u.accountMenu(), settings, help)
}

func (u *ui) showLanguage() {
	sel := widget.NewSelect([]string{"简体中文", "English"}, nil)
	if u.tr.Lang() == assets.LangEn {
		sel.SetSelected("English")
	} else {
		sel.SetSelected("简体中文")
	}
	u.track(dialog.NewCustomConfirm(u.T("app.language"), u.T("app.ok"), u.T("app.cancel"),
		container.NewVBox(sel, widget.NewLabel(u.T("app.language_restart"))), func(ok bool) {
			if !ok {
				return
			}
			lang := assets.LangZhHans
			if sel.Selected == "English" {
				lang = assets.LangEn
			}
			u.fa.Preferences().SetString("lang", lang)
		}, u.win)).Show()
}

func (u *ui) showTheme() {
	names := []string{u.T("app.theme.system"), u.T("app.theme.light"), u.T("app.theme.dark")}
	sel := widget.NewRadioGroup(names, func(s string) {
		for i, n := range names {
			if n == s {
				u.fa.Preferences().SetInt("theme", i)
				u.fa.Settings().SetTheme(apptheme.New(apptheme.Variant(i)))
			}
		}
	})
	sel.SetSelected(names[u.fa.Preferences().IntWithFallback("theme", 0)])
	u.track(dialog.NewCustom(u.T("app.theme"), u.T("app.close"), sel, u.win)).Show()
}

// showError shows any error in plain language.
func (u *ui) showError(err error) {
	m := vm.ErrorMessage(err)
	u.inform(u.T("app.error"), u.msg(m))
}
