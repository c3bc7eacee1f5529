package app

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"jiannuo/app/vm"
	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
)

// Admin mode (县信用办): more tabs in the main window of a county-admin
// device. Enrolments, devices, incidents and the admin accounts go through
// the county server's admin API with a session the admin signs in to once
// (the password is not kept; the session token is, in memory, until the
// server ends it or the window closes); conflicts and the overview come
// from this device's own replica.

// adminTimeout bounds one admin API call.
const adminTimeout = 30 * time.Second

// adminScreens holds the admin tabs.
type adminScreens struct {
	u      *ui
	client *countyapi.Client // nil until the admin signs in to the API

	pending   *vm.PendingDevices
	devices   *vm.Devices
	incidents *vm.Incidents
	conflicts *vm.ConflictQueue

	pendingBox, devicesBox, incidentsBox, conflictsBox, overviewBox *fyne.Container
	devicesGrid                                                     *fyne.Container // the devices table, header row first; nil when empty
	status                                                          *widget.Label   // last outcome, shown above the API tabs
	logins                                                          []*loginForm    // the credential prompts shown, one per API tab

	tabPending, tabDevices, tabConflicts, tabIncidents, tabOverview *container.TabItem

	admins *adminsTab     // 管理员账号 (admins.go)
	breach *breachScreens // 失信记录 (dishonesty.go)
	urges  *urgesScreen   // 催办 (urges.go)
	ovx    overviewState  // where the overview shown came from, for its export (overview.go)

	// onReturn, if set, takes an imported bundle's return file in place of
	// the dialog that asks where to save it (syncfile.go): tests.
	onReturn func(ret *os.File, bundleName string, sum countyapi.SyncImport)
}

// addAdminTabs adds the admin tabs to the main window's tabs.
func (u *ui) addAdminTabs(tabs *container.AppTabs) *adminScreens {
	a := &adminScreens{u: u, status: widget.NewLabel("")}
	a.status.Wrapping = fyne.TextWrapWord
	a.conflicts = vm.NewConflictQueue(u.se, func() {
		if u.sync != nil {
			u.sync.eng.SyncNow()
		}
	})
	a.pendingBox, a.devicesBox, a.incidentsBox = container.NewVBox(), container.NewVBox(), container.NewVBox()
	a.conflictsBox, a.overviewBox = container.NewVBox(), container.NewVBox()

	api := func(box *fyne.Container, reload func()) fyne.CanvasObject {
		bar := container.NewBorder(nil, nil, nil, widget.NewButtonWithIcon(u.T("adminui.refresh"), theme.ViewRefreshIcon(), reload), a.status)
		return container.NewBorder(bar, nil, nil, nil, container.NewVScroll(container.NewPadded(box)))
	}
	local := func(box *fyne.Container, reload func()) fyne.CanvasObject {
		bar := container.NewHBox(widget.NewButtonWithIcon(u.T("adminui.refresh"), theme.ViewRefreshIcon(), reload))
		return container.NewBorder(bar, nil, nil, nil, container.NewVScroll(container.NewPadded(box)))
	}
	a.tabPending = container.NewTabItemWithIcon(u.T("adminui.tab.enrolments"), theme.AccountIcon(), api(a.pendingBox, a.loadPending))
	a.tabDevices = container.NewTabItemWithIcon(u.T("adminui.tab.devices"), theme.ComputerIcon(), api(a.devicesBox, a.loadDevices))
	a.tabConflicts = container.NewTabItemWithIcon(u.T("adminui.tab.conflicts"), theme.WarningIcon(), local(a.conflictsBox, a.loadConflicts))
	a.tabIncidents = container.NewTabItemWithIcon(u.T("adminui.tab.incidents"), theme.ErrorIcon(), api(a.incidentsBox, a.loadIncidents))
	a.tabOverview = container.NewTabItemWithIcon(u.T("adminui.tab.overview"), theme.GridIcon(), local(a.overviewBox, a.loadOverview))
	a.breach = a.newBreachTab()
	a.urges = newUrgesScreen(u)
	a.admins = a.newAdminsTab()
	for _, t := range []*container.TabItem{a.tabPending, a.tabDevices, a.tabConflicts, a.tabIncidents, a.tabOverview, a.breach.tab, a.urges.tab, a.admins.tab} {
		tabs.Append(t)
	}
	prev := tabs.OnSelected
	tabs.OnSelected = func(t *container.TabItem) {
		if prev != nil {
			prev(t)
		}
		a.selected(t)
	}
	a.showLogin()
	a.loadConflicts()
	return a
}

// selected loads a tab's content when it is shown.
func (a *adminScreens) selected(t *container.TabItem) {
	switch t {
	case a.tabPending:
		a.loadPending()
	case a.tabDevices:
		a.loadDevices()
	case a.tabIncidents:
		a.loadIncidents()
	case a.tabConflicts:
		a.loadConflicts()
	case a.tabOverview:
		a.loadOverview()
	case a.breach.tab:
		a.breach.load()
	case a.urges.tab:
		a.urges.load()
	case a.admins.tab:
		a.admins.load()
	}
}

// reload refreshes the screens that read the local replica, after work
// arrived from the county.
func (a *adminScreens) reload() {
	a.loadConflicts()
	if a.u.main != nil && a.u.main.tabs.Selected() == a.tabOverview {
		a.loadOverview()
	}
	if a.u.main != nil && a.u.main.tabs.Selected() == a.breach.tab {
		a.breach.load()
	}
	if a.u.main != nil && a.u.main.tabs.Selected() == a.urges.tab {
		a.urges.load()
	}
}

// ---- Credential ----

// loginForm is the admin-credential prompt shown in the API tabs until the
// admin signs in.
type loginForm struct {
	name, pass *widget.Entry
	errLine    *widget.Label
	button     *widget.Button
}

func (a *adminScreens) showLogin() {
	u := a.u
	if a.admins != nil {
		a.admins.signedOut()
	}
	st, ok, err := u.st.SyncSettings()
	if err != nil || !ok || st.BaseURL == "" {
		for _, box := range []*fyne.Container{a.pendingBox, a.devicesBox, a.incidentsBox} {
			box.Objects = []fyne.CanvasObject{para(u.T("adminui.login.no_server"))}
			box.Refresh()
		}
		return
	}
	// One form per tab, sharing nothing but the outcome: whichever the
	// admin fills signs every tab in.
	a.logins = nil
	for _, box := range []*fyne.Container{a.pendingBox, a.devicesBox, a.incidentsBox} {
		f := a.newLoginForm(st)
		a.logins = append(a.logins, f)
		box.Objects = a.loginObjects(f)
		box.Refresh()
	}
	if a.admins != nil {
		// The admin accounts tab signs in the same way, below what it
		// needs the session for.
		f := a.newLoginForm(st)
		a.logins = append(a.logins, f)
		a.admins.box.Objects = append(a.admins.box.Objects, a.loginObjects(f)...)
		a.admins.box.Refresh()
	}
}

// loginObjects lays out a sign-in form.
func (a *adminScreens) loginObjects(f *loginForm) []fyne.CanvasObject {
	u := a.u
	return []fyne.CanvasObject{heading(u.T("adminui.login.title")), para(u.T("adminui.login.hint")),
		widget.NewForm(widget.NewFormItem(u.T("adminui.login.name"), f.name), widget.NewFormItem(u.T("adminui.login.password"), f.pass)),
		f.errLine, container.NewHBox(f.button)}
}

func (a *adminScreens) newLoginForm(st store.SyncSettings) *loginForm {
	u := a.u
	f := &loginForm{name: widget.NewEntry(), pass: widget.NewPasswordEntry(), errLine: widget.NewLabel("")}
	f.errLine.Wrapping = fyne.TextWrapWord
	f.name.SetText(u.se.Account().Name)
	f.button = widget.NewButtonWithIcon(u.T("adminui.login.button"), theme.LoginIcon(), func() { a.login(st, f) })
	f.pass.OnSubmitted = func(string) { a.login(st, f) }
	return f
}

// login signs in to the API (vm.AdminSignIn: the screens then hold the
// session, not the password) and reads the pending enrolments; on success
// every API tab loads.
func (a *adminScreens) login(st store.SyncSettings, f *loginForm) {
	name, pass := strings.TrimSpace(f.name.Text), f.pass.Text
	f.errLine.SetText("")
	f.button.Disable()
	a.u.goWork(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, adminTimeout)
		defer cancel()
		c, err := vm.AdminSignIn(ctx, st, name, pass)
		var p *vm.PendingDevices
		var rows []vm.PendingRow
		if err == nil {
			p = vm.NewPendingDevices(c)
			rows, err = p.Fetch(ctx)
		}
		fyne.Do(func() {
			f.button.Enable()
			if err != nil {
				f.errLine.SetText(a.u.msg(vm.ErrorMessage(err)))
				return
			}
			f.pass.SetText("")
			p.Rows = rows
			a.client, a.pending = c, p
			a.devices, a.incidents = vm.NewDevices(c), vm.NewIncidents(c)
			a.devices.Now = func() time.Time { return a.u.now() } // "3 天前" counted from the screens' clock
			a.renderPending()
			a.loadDevices()
			a.loadIncidents()
			a.admins.vm = nil // over the new client
			if a.u.main != nil && a.u.main.tabs.Selected() == a.admins.tab {
				a.admins.load()
			}
		})
	})
}

// apiCall runs an admin API call off the UI goroutine and then done on it;
// a refused credential brings the prompt back.
func (a *adminScreens) apiCall(call func(ctx context.Context) error, done func(err error)) {
	a.apiCallWithin(adminTimeout, call, done)
}

// apiCallWithin is apiCall for a call that may take up to timeout (a sync
// file's import).
func (a *adminScreens) apiCallWithin(timeout time.Duration, call func(ctx context.Context) error, done func(err error)) {
	a.u.goWork(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		err := call(ctx)
		fyne.Do(func() {
			if countyapi.IsCredentialError(err) {
				a.client = nil
				a.showLogin()
				a.status.SetText(a.u.msg(vm.ErrorMessage(err)))
				return
			}
			done(err)
		})
	})
}

// refetch re-reads a list after an action succeeded; if that fails the
// action still stands, so the rows read before are kept.
func refetch[R any](ctx context.Context, fetch func(context.Context) ([]R, error), before []R) []R {
	rows, err := fetch(ctx)
	if err != nil {
		return before
	}
	return rows
}

// ---- 设备注册 ----

func (a *adminScreens) loadPending() {
	if a.client == nil {
		return
	}
	p := a.pending
	loadRows(a, p.Fetch, func(rows []vm.PendingRow) {
		p.Rows = rows
		a.renderPending()
	})
}

// loadRows fetches a list through the admin API off the UI goroutine and
// gives it to show on it; a failure is shown in the status line.
func loadRows[R any](a *adminScreens, fetch func(context.Context) ([]R, error), show func([]R)) {
	var rows []R
	a.apiCall(func(ctx context.Context) (err error) {
		rows, err = fetch(ctx)
		return err
	}, func(err error) {
		if err != nil {
			a.status.SetText(a.u.msg(vm.ErrorMessage(err)))
			return
		}
		show(rows)
	})
}

func (a *adminScreens) renderPending() {
	u := a.u
	var objs []fyne.CanvasObject
	if len(a.pending.Rows) == 0 {
		objs = append(objs, para(u.T("adminui.pending.none")))
	}
	for _, r := range a.pending.Rows {
		r := r
		objs = append(objs,
			heading(u.T("adminui.pending.row", r.DeviceName, r.OfficeName+" "+string(r.Office), r.Staff, r.When)),
			para(u.T("adminui.pending.id", r.DeviceID)),
			container.NewHBox(
				widget.NewButtonWithIcon(u.T("adminui.pending.approve"), theme.ConfirmIcon(), func() { a.openApprove(r) }),
				widget.NewButtonWithIcon(u.T("adminui.pending.reject"), theme.CancelIcon(), func() { a.openReject(r) }),
			),
			widget.NewSeparator())
	}
	a.pendingBox.Objects = objs
	a.pendingBox.Refresh()
}

// approveDialog binds a pending device to an office after the admin has
// read its ID back over the phone.
type approveDialog struct {
	office  *widget.Entry
	admin   *widget.Check
	errLine *widget.Label
	ok      *widget.Button
	d       *dialog.CustomDialog
}

func (a *adminScreens) openApprove(r vm.PendingRow) *approveDialog {
	u := a.u
	ad := &approveDialog{office: widget.NewEntry(), admin: widget.NewCheck(u.T("adminui.pending.admin_device"), nil), errLine: widget.NewLabel("")}
	ad.errLine.Wrapping = fyne.TextWrapWord
	ad.office.SetPlaceHolder(string(r.Office))
	ad.admin.SetChecked(r.CountyLevel)
	check := para(u.T("adminui.pending.approve_check", r.DeviceID))
	check.TextStyle = fyne.TextStyle{Monospace: true}
	ad.ok = widget.NewButtonWithIcon(u.T("adminui.pending.approve"), theme.ConfirmIcon(), func() {
		o := office.Code(strings.TrimSpace(ad.office.Text))
		admin := ad.admin.Checked
		ad.errLine.SetText("")
		ad.ok.Disable()
		c, p := a.client, a.pending
		rows := p.Rows // kept if the re-read fails
		a.apiCall(func(ctx context.Context) error {
			if _, err := c.Approve(ctx, r.Device, countyapi.ApproveRequest{Office: o, Admin: admin}); err != nil {
				return err
			}
			rows = refetch(ctx, p.Fetch, rows)
			return nil
		}, func(err error) {
			ad.ok.Enable()
			if err != nil {
				ad.errLine.SetText(u.msg(vm.ErrorMessage(err)))
				return
			}
			p.Rows = rows
			ad.d.Hide()
			a.status.SetText(u.T("adminui.pending.approved", r.DeviceID))
			a.renderPending()
			a.loadDevices()
		})
	})
	ad.ok.Importance = widget.HighImportance
	content := container.NewVBox(check,
		widget.NewForm(widget.NewFormItem(u.T("adminui.pending.office_label", string(r.Office)), ad.office)),
		ad.admin, ad.errLine)
	ad.d = dialog.NewCustomWithoutButtons(u.T("adminui.pending.approve_title"), content, u.win)
	ad.d.SetButtons([]fyne.CanvasObject{widget.NewButton(u.T("adminui.cancel"), func() { ad.d.Hide() }), ad.ok})
	ad.d.Resize(fyne.NewSize(560, 320))
	ad.d.Show()
	return ad
}

// reasonDialog asks for a required reason and runs an action with it,
// staying open with the error when the action is refused.
type reasonDialog struct {
	reason  *widget.Entry
	errLine *widget.Label
	ok      *widget.Button
	d       *dialog.CustomDialog
}

func (a *adminScreens) openReason(title, okText string, intro []fyne.CanvasObject, act func(reason string, done func(error))) *reasonDialog {
	u := a.u
	rd := &reasonDialog{reason: widget.NewMultiLineEntry(), errLine: widget.NewLabel("")}
	rd.errLine.Wrapping = fyne.TextWrapWord
	rd.reason.SetPlaceHolder(u.T("adminui.reason"))
	rd.reason.SetMinRowsVisible(3)
	rd.ok = widget.NewButton(okText, func() {
		if !domain.NonBlank(rd.reason.Text) {
			rd.errLine.SetText(u.T("adminui.reason_required"))
			return
		}
		rd.errLine.SetText("")
		rd.ok.Disable()
		act(strings.TrimSpace(rd.reason.Text), func(err error) {
			rd.ok.Enable()
			if err != nil {
				rd.errLine.SetText(u.msg(vm.ErrorMessage(err)))
				return
			}
			rd.d.Hide()
		})
	})
	rd.ok.Importance = widget.DangerImportance
	objs := append(intro, widget.NewForm(widget.NewFormItem(u.T("adminui.reason"), rd.reason)), rd.errLine)
	rd.d = dialog.NewCustomWithoutButtons(title, container.NewVBox(objs...), u.win)
	rd.d.SetButtons([]fyne.CanvasObject{widget.NewButton(u.T("adminui.cancel"), func() { rd.d.Hide() }), rd.ok})
	rd.d.Resize(fyne.NewSize(560, 300))
	rd.d.Show()
	return rd
}

func (a *adminScreens) openReject(r vm.PendingRow) *reasonDialog {
	u := a.u
	intro := []fyne.CanvasObject{para(u.T("adminui.pending.row", r.DeviceName, r.OfficeName, r.Staff, r.When)), para(u.T("adminui.pending.id", r.DeviceID))}
	return a.openReason(u.T("adminui.pending.reject_title"), u.T("adminui.pending.reject"), intro, func(reason string, done func(error)) {
		c, p := a.client, a.pending
		rows := p.Rows // kept if the re-read fails
		a.apiCall(func(ctx context.Context) error {
			if err := c.Reject(ctx, r.Device, reason); err != nil {
				return err
			}
			rows = refetch(ctx, p.Fetch, rows)
			return nil
		}, func(err error) {
			done(err)
			if err == nil {
				p.Rows = rows
				a.status.SetText(u.T("adminui.pending.rejected", r.DeviceID))
				a.renderPending()
			}
		})
	})
}

// ---- 终端 ----

func (a *adminScreens) loadDevices() {
	if a.client == nil {
		return
	}
	d := a.devices
	loadRows(a, d.Fetch, func(rows []vm.DeviceRow) {
		d.Rows = rows
		a.renderDevices()
	})
}

// deviceColumns are the columns of the devices table, in order.
var deviceColumns = []string{"device", "office", "state", "last_seen", "version", "received", "gap", "action"}

func (a *adminScreens) renderDevices() {
	u := a.u
	a.devicesGrid = nil
	if len(a.devices.Rows) == 0 {
		a.devicesBox.Objects = []fyne.CanvasObject{a.syncImportBar(), para(u.T("adminui.devices.none"))}
		a.devicesBox.Refresh()
		return
	}
	grid := container.NewGridWithColumns(len(deviceColumns))
	for _, k := range deviceColumns {
		h := widget.NewLabel(u.T("adminui.devices.col_" + k))
		h.TextStyle = fyne.TextStyle{Bold: true}
		grid.Add(h)
	}
	for _, r := range a.devices.Rows {
		r := r
		name := r.Name + "\n" + r.Short
		if r.Admin {
			name += "\n" + u.T("adminui.devices.admin")
		}
		state := para(u.msg(r.State))
		if r.Revoked {
			state.Importance = widget.DangerImportance
		}
		gap := para(u.msg(r.GapText))
		if r.Gap > 0 || r.PendingOps > 0 {
			gap.Importance = widget.WarningImportance
		}
		var action fyne.CanvasObject = widget.NewLabel("")
		if !r.Revoked {
			action = container.NewHBox(widget.NewButtonWithIcon(u.T("adminui.devices.revoke"), theme.DeleteIcon(), func() { a.openRevoke(r) }))
		}
		grid.Add(para(name))
		grid.Add(para(r.OfficeName))
		grid.Add(state)
		grid.Add(para(u.msg(r.LastWhen)))
		grid.Add(para(u.msg(r.VersionText)))
		grid.Add(para(u.T("adminui.devices.received", r.LastSeq)))
		grid.Add(gap)
		grid.Add(action)
	}
	a.devicesGrid = grid
	a.devicesBox.Objects = []fyne.CanvasObject{a.syncImportBar(), para(u.T("adminui.devices.status_note")), grid}
	a.devicesBox.Refresh()
}

// deviceCell is the text of column col ("last_seen", …) in row i (from 0)
// of the devices table, for tests.
func (a *adminScreens) deviceCell(i int, col string) string {
	c := slices.Index(deviceColumns, col)
	if a.devicesGrid == nil || c < 0 {
		return ""
	}
	n := (i+1)*len(deviceColumns) + c
	if n >= len(a.devicesGrid.Objects) {
		return ""
	}
	if l, ok := a.devicesGrid.Objects[n].(*widget.Label); ok {
		return l.Text
	}
	return ""
}

func (a *adminScreens) openRevoke(r vm.DeviceRow) *reasonDialog {
	u := a.u
	intro := []fyne.CanvasObject{para(u.T("adminui.devices.row", r.Name, r.OfficeName, r.DeviceID, r.LastSeq)), para(u.T("adminui.devices.revoke_warn"))}
	return a.openReason(u.T("adminui.devices.revoke_title"), u.T("adminui.devices.revoke"), intro, func(reason string, done func(error)) {
		c, d := a.client, a.devices
		rows := d.Rows // kept if the re-read fails
		a.apiCall(func(ctx context.Context) error {
			if err := c.Revoke(ctx, r.Device, reason); err != nil {
				return err
			}
			rows = refetch(ctx, d.Fetch, rows)
			return nil
		}, func(err error) {
			done(err)
			if err == nil {
				d.Rows = rows
				a.status.SetText(u.T("adminui.devices.revoked_done", r.DeviceID))
				a.renderDevices()
			}
		})
	})
}

// ---- 安全事件 ----

// loadIncidents reads the newest page of incidents; loadOlderIncidents
// (the button under the list) appends the next older one.
func (a *adminScreens) loadIncidents() { a.fetchIncidents(false) }

func (a *adminScreens) loadOlderIncidents() { a.fetchIncidents(true) }

func (a *adminScreens) fetchIncidents(older bool) {
	if a.client == nil {
		return
	}
	in := a.incidents
	next := ""
	if older {
		next = in.Next
	}
	var l vm.IncidentList
	a.apiCall(func(ctx context.Context) (err error) {
		l, err = in.FetchOlder(ctx, next)
		return err
	}, func(err error) {
		if err != nil {
			a.status.SetText(a.u.msg(vm.ErrorMessage(err)))
			return
		}
		if older {
			in.Append(l)
		} else {
			in.Rows, in.Next = l.Rows, l.Next
		}
		a.renderIncidents()
	})
}

func (a *adminScreens) renderIncidents() {
	u := a.u
	var objs []fyne.CanvasObject
	if len(a.incidents.Rows) == 0 {
		objs = append(objs, para(u.T("adminui.incidents.none")))
	}
	for _, r := range a.incidents.Rows {
		var detail string
		if r.Short != "" {
			detail = u.T("adminui.incidents.detail", r.Short, r.Seq, r.Detail)
		} else {
			detail = u.T("adminui.incidents.detail_nodev", r.Remote, r.Detail)
		}
		objs = append(objs, heading(u.T("adminui.incidents.row", r.When, u.msg(r.Text))), para(detail))
		if r.Count > 1 {
			objs = append(objs, para(u.msg(r.Repeated)))
		}
		objs = append(objs, a.incidentAck(r), widget.NewSeparator())
	}
	if a.incidents.Next != "" {
		objs = append(objs, widget.NewButton(u.T("adminui.incidents.more"), a.loadOlderIncidents))
	}
	a.incidentsBox.Objects = objs
	a.incidentsBox.Refresh()
}

// ---- 冲突核定 ----

func (a *adminScreens) loadConflicts() {
	if err := a.conflicts.Load(); err != nil {
		a.u.showError(err)
		return
	}
	a.renderConflicts()
}

func (a *adminScreens) renderConflicts() {
	u := a.u
	var objs []fyne.CanvasObject
	if a.conflicts.Len() == 0 {
		objs = append(objs, para(u.T("adminui.conflicts.none")))
	}
	for _, it := range a.conflicts.Items {
		it := it
		objs = append(objs, heading(u.T("adminui.conflicts.row", it.Title, it.OfficeName, u.msg(it.FieldLabel))),
			para(u.T("adminui.conflicts.provisional", u.msg(it.ProvDisplay))))
		for _, v := range it.Values {
			objs = append(objs, para("• "+a.valueLine(v)))
		}
		objs = append(objs, container.NewHBox(widget.NewButtonWithIcon(u.T("adminui.conflicts.resolve"), theme.ConfirmIcon(),
			func() { a.openResolve(it) })), widget.NewSeparator())
	}
	a.conflictsBox.Objects = objs
	a.conflictsBox.Refresh()
	if n := a.conflicts.Len(); n > 0 {
		a.tabConflicts.Text = u.T("adminui.tab.conflicts") + " (" + strconv.Itoa(n) + ")"
	} else {
		a.tabConflicts.Text = u.T("adminui.tab.conflicts")
	}
	if a.u.main != nil && a.u.main.tabs != nil {
		a.u.main.tabs.Refresh()
	}
}

func (a *adminScreens) valueLine(v vm.ConflictValue) string {
	return a.u.T("adminui.conflicts.value", a.u.msg(v.Display), v.Author, v.Short, v.When)
}

// resolveDialog lets the admin pick one competing value or write a merged
// one, with a required reason.
type resolveDialog struct {
	choice  *widget.RadioGroup
	values  map[string]string // choice label → value
	merged  *widget.Entry
	reason  *widget.Entry
	errLine *widget.Label
	ok      *widget.Button
	d       *dialog.CustomDialog
}

func (a *adminScreens) openResolve(it vm.ConflictItem) *resolveDialog {
	u := a.u
	rd := &resolveDialog{values: map[string]string{}, merged: widget.NewMultiLineEntry(), reason: widget.NewMultiLineEntry(), errLine: widget.NewLabel("")}
	rd.errLine.Wrapping = fyne.TextWrapWord
	var labels []string
	for _, v := range it.Values {
		l := a.valueLine(v)
		labels = append(labels, l)
		rd.values[l] = v.Value
	}
	mergedLabel := u.T("adminui.conflicts.merged_option")
	labels = append(labels, mergedLabel)
	rd.choice = widget.NewRadioGroup(labels, func(s string) {
		if s == mergedLabel {
			rd.merged.Enable()
		} else {
			rd.merged.Disable()
		}
	})
	rd.merged.SetPlaceHolder(u.T("adminui.conflicts.merged"))
	rd.merged.SetText(it.Provisional)
	rd.merged.Disable()
	rd.reason.SetPlaceHolder(u.T("adminui.reason"))
	rd.ok = widget.NewButtonWithIcon(u.T("adminui.conflicts.resolve"), theme.ConfirmIcon(), func() { a.submitResolve(it, rd, mergedLabel) })
	rd.ok.Importance = widget.HighImportance
	content := container.NewVBox(
		heading(u.T("adminui.conflicts.row", it.Title, it.OfficeName, u.msg(it.FieldLabel))),
		para(u.T("adminui.conflicts.choose")), rd.choice,
		widget.NewForm(widget.NewFormItem(u.T("adminui.conflicts.merged"), rd.merged), widget.NewFormItem(u.T("adminui.reason"), rd.reason)),
		rd.errLine)
	rd.d = dialog.NewCustomWithoutButtons(u.T("adminui.conflicts.resolve_title"), container.NewVScroll(content), u.win)
	rd.d.SetButtons([]fyne.CanvasObject{widget.NewButton(u.T("adminui.cancel"), func() { rd.d.Hide() }), rd.ok})
	rd.d.Resize(fyne.NewSize(680, 520))
	rd.d.Show()
	return rd
}

func (a *adminScreens) submitResolve(it vm.ConflictItem, rd *resolveDialog, mergedLabel string) {
	u := a.u
	var value string
	switch sel := rd.choice.Selected; {
	case sel == "":
		rd.errLine.SetText(u.T("adminui.conflicts.choose_required"))
		return
	case sel == mergedLabel:
		value = strings.TrimSpace(rd.merged.Text)
	default:
		value = rd.values[sel]
	}
	if !domain.NonBlank(rd.reason.Text) {
		rd.errLine.SetText(u.T("adminui.reason_required"))
		return
	}
	rd.errLine.SetText("")
	if err := a.conflicts.Resolve(it.Ref, it.Field, value, rd.reason.Text); err != nil {
		rd.errLine.SetText(u.msg(vm.ErrorMessage(err)))
		return
	}
	rd.d.Hide()
	a.status.SetText(u.T("adminui.conflicts.resolved"))
	a.renderConflicts()
	if u.main != nil && u.main.list != nil {
		u.main.list.load()
		u.main.detail.reload()
	}
	if u.status != nil {
		u.status.refreshPending()
	}
}

// ---- 辖区概况 ----

func (a *adminScreens) loadOverview() {
	if a.client != nil {
		a.loadServerOverview() // overview.go; falls back to loadLocalOverview
		return
	}
	a.loadLocalOverview()
}

// loadLocalOverview computes the overview from this device's replica.
func (a *adminScreens) loadLocalOverview() {
	u := a.u
	cfg := vm.OverviewConfig{County: u.se.Device().Office.County(), Today: u.today(), Now: u.now(), Cal: u.cal, AllTownships: true}
	u.bg.spawn(func() {
		ov, err := vm.LoadOverview(u.st, cfg)
		fyne.Do(func() {
			if err != nil {
				u.showError(err)
				return
			}
			a.ovx = overviewState{local: ov}
			a.renderOverview(ov)
		})
	})
}

func (a *adminScreens) renderOverview(ov *vm.Overview) {
	u := a.u
	t := ov.Total
	objs := []fyne.CanvasObject{a.overviewHead(), heading(u.T("adminui.overview.total", t.Total, t.Open, t.Overdue, t.DueSoon, t.Conflicted))}
	grid := container.NewGridWithColumns(8)
	for _, k := range []string{"office", "total", "open", "rate", "overdue", "due_soon", "last", "warn"} {
		h := widget.NewLabel(u.T("adminui.overview.col_" + k))
		h.TextStyle = fyne.TextStyle{Bold: true}
		grid.Add(h)
	}
	for _, r := range ov.Rows {
		last := r.LastWhen
		if last == "" {
			last = u.T("adminui.overview.never")
		}
		var warns []string
		for _, w := range r.Warnings {
			warns = append(warns, u.msg(w))
		}
		warn := widget.NewLabel(strings.Join(warns, "；"))
		warn.Wrapping = fyne.TextWrapWord
		if r.Warned() {
			warn.Importance = widget.DangerImportance
		}
		grid.Add(widget.NewLabel(r.Name))
		grid.Add(widget.NewLabel(strconv.Itoa(r.Tally.Total)))
		grid.Add(widget.NewLabel(strconv.Itoa(r.Tally.Open)))
		grid.Add(widget.NewLabel(u.msg(r.Rate)))
		grid.Add(widget.NewLabel(strconv.Itoa(r.Overdue)))
		grid.Add(widget.NewLabel(strconv.Itoa(r.DueSoon)))
		grid.Add(widget.NewLabel(last))
		grid.Add(warn)
	}
	objs = append(objs, grid)
	a.overviewBox.Objects = objs
	a.overviewBox.Refresh()
}

// adminDevice reports whether the signed-in device is a county-admin device.
func (u *ui) adminDevice() bool { return u.se != nil && u.se.Device().Admin }
