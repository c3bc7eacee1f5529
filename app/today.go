package app

import (
	"context"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"jiannuo/app/vm"
	"jiannuo/store"
)

// The today panel (今日待办, vm.Today): at the top of the dashboard, which
// the window opens on at sign-in when anything needs attention; a banner
// above the tabs while the county's urges are unread; and desktop
// notifications for the same items, at most once a day each, checked
// again every half hour while the app runs (in the background too) and
// whenever work arrives from the county.

// Preference keys of the today panel.
const (
	prefDueWithin = "today.due_within" // working days counted as due soon
	prefNotified  = "today.notified/"  // + device ID: what was notified today (vm.Notifier)
)

// todayCheckEvery is how often the running app looks at the day again.
const todayCheckEvery = 30 * time.Minute

// todayPanel is the today panel, its urge banner and its notifications.
type todayPanel struct {
	u        *ui
	view     vm.Today
	notifier *vm.Notifier
	card     *fyne.Container // the panel, first on the dashboard
	banner   *fyne.Container // the unread urges' banner above the tabs
	bannerTx *widget.Label
	// sent are the notifications sent, oldest first (tests read them).
	sent []vm.Notification
}

// prefLog keeps the notifier's memory in the preferences, per device.
type prefLog struct {
	prefs fyne.Preferences
	key   string
}

func (l prefLog) Load() string  { return l.prefs.String(l.key) }
func (l prefLog) Save(s string) { l.prefs.SetString(l.key, s) }

func newTodayPanel(u *ui) *todayPanel {
	p := &todayPanel{u: u, card: container.NewVBox(), bannerTx: widget.NewLabel("")}
	p.notifier = vm.NewNotifier(prefLog{prefs: u.fa.Preferences(), key: prefNotified + u.se.Device().ID.String()})
	p.bannerTx.Wrapping = fyne.TextWrapWord
	p.bannerTx.TextStyle = fyne.TextStyle{Bold: true}
	open := widget.NewButtonWithIcon(u.T("urgeui.open"), theme.MailComposeIcon(), u.showUrges)
	open.Importance = widget.HighImportance
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameWarning))
	bg.CornerRadius = 4
	p.banner = container.NewStack(bg, container.NewPadded(container.NewBorder(nil, nil,
		widget.NewIcon(theme.WarningIcon()), open, p.bannerTx)))
	p.banner.Hide()
	return p
}

// within is the working days the user counts as due soon.
func (p *todayPanel) within() int {
	return vm.WithinSetting(p.u.fa.Preferences().IntWithFallback(prefDueWithin, vm.DefaultDueWithin))
}

// load reads the panel now, on the UI goroutine (at sign-in and after
// work arrived: as quick as the list's own reload), shows it and notifies
// what is new today.
func (p *todayPanel) load() {
	v, err := vm.LoadToday(p.u.se, p.u.cal, p.u.today(), p.within())
	if err != nil {
		p.u.showError(err)
		return
	}
	p.show(v)
}

// check reads the panel off the UI goroutine, then shows it and notifies:
// the periodic check.
func (p *todayPanel) check() {
	u := p.u
	today, within := u.today(), p.within()
	u.goWork(func(ctx context.Context) {
		v, err := vm.LoadToday(u.se, u.cal, today, within)
		if err != nil || ctx.Err() != nil {
			if err != nil {
				u.log.Warn("today's check", "err", err)
			}
			return
		}
		fyne.Do(func() { p.show(v) })
	})
}

// tick checks now and again every todayCheckEvery until the window
// closes.
func (p *todayPanel) tick() {
	if p.u.bg.ctx.Err() != nil {
		return
	}
	p.check()
	p.u.bg.later(todayCheckEvery, p.tick)
}

// show renders v and sends the notifications due.
func (p *todayPanel) show(v vm.Today) {
	u := p.u
	p.view = v
	p.render()
	for _, n := range vm.Notifications(p.notifier.Due(v)) {
		p.sent = append(p.sent, n)
		u.fa.SendNotification(fyne.NewNotification(u.msg(n.Title), u.msg(n.Content)))
	}
}

// render draws the panel and the banner.
func (p *todayPanel) render() {
	u, v := p.u, p.view
	if n := len(v.Unread); n > 0 {
		p.bannerTx.SetText(u.T("urgeui.banner", n, v.Unread[0].Note))
		p.banner.Show()
	} else {
		p.banner.Hide()
	}
	box := container.NewVBox()
	for _, it := range v.Items {
		l := widget.NewHyperlink(u.msg(it.Text), nil)
		l.Wrapping = fyne.TextWrapWord
		item := it
		l.OnTapped = func() { p.open(item) }
		icon := widget.NewIcon(todayIcon(it))
		box.Add(container.NewBorder(nil, nil, icon, nil, l))
	}
	if len(v.Items) == 0 {
		box.Add(para(u.T("today.none")))
	}
	settings := widget.NewButtonWithIcon(u.T("today.settings"), theme.SettingsIcon(), u.showTodaySettings)
	settings.Importance = widget.LowImportance
	head := container.NewBorder(nil, nil, nil, settings, heading(u.msg(v.Title())))
	p.card.Objects = []fyne.CanvasObject{widget.NewCard("", "", container.NewVBox(head, para(u.T("today.hint", v.Within)), box))}
	p.card.Refresh()
}

// todayIcon marks what is past a limit.
func todayIcon(it vm.TodayItem) fyne.Resource {
	switch {
	case it.Kind == vm.TodayUrge:
		return theme.MailComposeIcon()
	case it.Urgent:
		return theme.ErrorIcon()
	case it.Kind == vm.TodayReport:
		return theme.DocumentIcon()
	}
	return theme.InfoIcon()
}

// open opens what a line is about.
func (p *todayPanel) open(it vm.TodayItem) {
	u, m := p.u, p.u.main
	switch it.Kind {
	case vm.TodayUrge:
		u.showUrges()
	case vm.TodayOverdue, vm.TodayDueSoon:
		u.showCommitment(it.Ref)
	case vm.TodayCase:
		m.tabs.Select(m.cases.tab)
		m.cases.selectCase(it.Ref)
	case vm.TodayRecord:
		switch {
		case m.townBreach != nil:
			for i, t := range m.tabs.Items {
				if t.Content == m.townBreach.obj {
					m.tabs.SelectIndex(i)
				}
			}
		case m.admin != nil:
			m.tabs.Select(m.admin.breach.tab)
		}
	case vm.TodayReport:
		u.showAnnualReport(it.Year)
	}
}

// showTodaySettings sets the working days counted as due soon.
func (u *ui) showTodaySettings() {
	days := u.newEntry(false)
	days.SetText(strconv.Itoa(u.main.today.within()))
	d := dialog.NewForm(u.T("today.settings"), u.T("app.ok"), u.T("app.cancel"), []*widget.FormItem{
		widget.NewFormItem(u.T("today.setting_days"), inputs(days)),
	}, func(ok bool) {
		if !ok {
			return
		}
		n, err := strconv.Atoi(days.Text)
		if err != nil || n < 1 || n > vm.MaxDueWithin {
			u.inform(u.T("app.error"), u.T("today.setting_bad", vm.MaxDueWithin))
			return
		}
		u.fa.Preferences().SetInt(prefDueWithin, n)
		u.main.today.load()
	}, u.win)
	d.Resize(u.dialogSize(420, 200))
	u.track(d).Show()
}

// urgesDialog is the township's list of the county's urges.
type urgesDialog struct {
	u    *ui
	box  *fyne.Container
	d    dialog.Dialog
	read map[string]*widget.Button // each unread urge's 已阅 button, by urge ID (tests tap them)
}

// showUrges lists the urges to the office, unread first, each with what it
// is about and a button that signs that it was read.
func (u *ui) showUrges() {
	ud := &urgesDialog{u: u, box: container.NewVBox()}
	ud.load()
	scroll := container.NewVScroll(container.NewPadded(ud.box))
	ud.d = u.track(dialog.NewCustom(u.T("urgeui.title"), u.T("app.close"), scroll, u.win))
	ud.d.Resize(u.dialogSize(720, 520))
	ud.d.Show()
	u.lastUrges = ud
}

func (ud *urgesDialog) load() {
	u := ud.u
	all, err := u.st.Urges(store.UrgeFilter{Office: u.se.Device().Office})
	if err != nil {
		u.showError(err)
		return
	}
	people, _ := u.st.People()
	ud.box.Objects, ud.read = nil, map[string]*widget.Button{}
	if len(all) == 0 {
		ud.box.Add(para(u.T("urgeui.none")))
	}
	for _, unreadFirst := range []bool{true, false} {
		for _, x := range all {
			if x.Read == unreadFirst {
				continue
			}
			ud.box.Add(ud.row(x, people))
		}
	}
	ud.box.Refresh()
}

// row is one urge: when and by whom, about what, the note, and its
// buttons.
func (ud *urgesDialog) row(x store.Urge, people *store.People) fyne.CanvasObject {
	u := ud.u
	about := u.T("today.urge_report", x.Year)
	if x.Commitment != nil {
		if c, err := u.st.Commitment(*x.Commitment); err == nil {
			about = c.Title
		}
	}
	head := heading(u.T("urgeui.row", localTime(x.At.Wall()), people.Name(x.Op.Device, x.By), about))
	note := para(x.Note)
	buttons := container.NewHBox()
	if x.Commitment != nil {
		ref := *x.Commitment
		buttons.Add(widget.NewButton(u.T("urgeui.open_item"), func() {
			ud.d.Hide()
			u.showCommitment(ref)
		}))
	}
	if x.Year != 0 {
		year := x.Year
		buttons.Add(widget.NewButton(u.T("urgeui.open_report"), func() {
			ud.d.Hide()
			u.showAnnualReport(year)
		}))
	}
	status := para(u.T("urgeui.read_by", people.Name(x.ReadOp.Device, x.ReadBy), localTime(x.ReadAt.Wall())))
	if !x.Read {
		id := x.ID
		b := widget.NewButtonWithIcon(u.T("urgeui.mark_read"), theme.ConfirmIcon(), func() {
			if err := u.se.ReadUrge(id); err != nil {
				u.showError(err)
				return
			}
			u.acted()
			ud.load()
			u.main.today.load()
		})
		b.Importance = widget.HighImportance
		buttons.Add(b)
		ud.read[id.String()] = b
		status = para(u.T("urgeui.unread"))
		status.Importance = widget.DangerImportance
	}
	return widget.NewCard("", "", container.NewVBox(head, note, status, buttons))
}
