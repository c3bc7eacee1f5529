package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	apptheme "jiannuo/app/theme"
	"jiannuo/app/vm"
	"jiannuo/assets"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
)

// main holds the screens of the main window.
type mainScreens struct {
	list   *listScreen
	detail *detailScreen
	dash   *dashboardScreen
	tabs   *container.AppTabs
	admin  *adminScreens // county-admin devices only
}

func (u *ui) today() calendar.Date { return calendar.DateOf(u.now()) }

// showMain builds the main window: commitments (list and detail), the
// dashboard, the toolbar and menus, and the status bar; then starts sync.
func (u *ui) showMain() {
	u.status = newStatusBar(u)
	m := &mainScreens{}
	u.main = m
	m.detail = newDetailScreen(u)
	m.list = newListScreen(u, m.detail.show)
	m.dash = newDashboardScreen(u)
	split := container.NewHSplit(m.list.obj, m.detail.obj)
	split.Offset = 0.46
	m.tabs = container.NewAppTabs(
		container.NewTabItemWithIcon(u.T("app.tab.commitments"), theme.ListIcon(), split),
		container.NewTabItemWithIcon(u.T("app.tab.dashboard"), theme.GridIcon(), m.dash.obj),
	)
	m.tabs.OnSelected = func(t *container.TabItem) {
		if t.Content == m.dash.obj {
			m.dash.refresh()
		}
	}
	if u.adminDevice() {
		m.admin = u.addAdminTabs(m.tabs)
	}
	tb := widget.NewToolbar(
		widget.NewToolbarAction(theme.ContentAddIcon(), func() { u.showForm(nil) }),
		widget.NewToolbarAction(theme.ViewRefreshIcon(), func() {
			if u.sync != nil {
				u.sync.eng.SyncNow()
			}
		}),
		widget.NewToolbarSeparator(),
		widget.NewToolbarAction(theme.DocumentSaveIcon(), u.showExport),
	)
	who := widget.NewLabel(u.whoAmI())
	u.win.SetContent(container.NewBorder(container.NewBorder(nil, nil, tb, who), u.status.obj, nil, nil, m.tabs))
	u.win.SetMainMenu(u.menu())
	u.win.SetOnDropped(func(_ fyne.Position, uris []fyne.URI) {
		if u.dropTarget != nil {
			u.dropTarget(uris)
		}
	})
	m.list.load()
	u.startSync()
	if u.sync == nil {
		u.status.offlineOnly()
	}
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
	if u.main.tabs.Selected() != nil && u.main.tabs.Selected().Content == u.main.dash.obj {
		u.main.dash.refresh()
	}
	if u.main.admin != nil {
		u.main.admin.reload()
	}
}

func (u *ui) menu() *fyne.MainMenu {
	file := fyne.NewMenu(u.T("app.menu.file"),
		fyne.NewMenuItem(u.T("app.new_commitment"), func() { u.showForm(nil) }),
		fyne.NewMenuItem(u.T("app.export"), u.showExport),
	)
	settings := fyne.NewMenu(u.T("app.menu.settings"),
		fyne.NewMenuItem(u.T("app.language"), u.showLanguage),
		fyne.NewMenuItem(u.T("app.theme"), u.showTheme),
		fyne.NewMenuItem(u.T("app.enrol_later"), func() { u.showEnrolLater() }),
	)
	help := fyne.NewMenu(u.T("app.menu.help"),
		fyne.NewMenuItem(u.T("app.about"), func() {
			dialog.ShowInformation(u.T("app.name"), u.T("app.tagline")+"\n"+u.T("app.device_id", u.se.Device().ID.String()), u.win)
		}),
		fyne.NewMenuItem(u.T("app.font_licence"), func() {
			text := widget.NewLabel(assets.FontLicense())
			text.Wrapping = fyne.TextWrapWord
			scroll := container.NewVScroll(text)
			scroll.SetMinSize(fyne.NewSize(560, 420))
			dialog.ShowCustom(u.T("app.font_licence"), u.T("app.close"), scroll, u.win)
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
	dialog.ShowCustomConfirm(u.T("app.language"), u.T("app.ok"), u.T("app.cancel"),
		container.NewVBox(sel, widget.NewLabel(u.T("app.language_restart"))), func(ok bool) {
			if !ok {
				return
			}
			lang := assets.LangZhHans
			if sel.Selected == "English" {
				lang = assets.LangEn
			}
			u.fa.Preferences().SetString("lang", lang)
		}, u.win)
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
	dialog.ShowCustom(u.T("app.theme"), u.T("app.close"), sel, u.win)
}

// showError shows any error in plain language.
func (u *ui) showError(err error) {
	m := vm.ErrorMessage(err)
	dialog.ShowInformation(u.T("app.error"), u.msg(m), u.win)
}
