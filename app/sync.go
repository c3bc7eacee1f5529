package app

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"jiannuo/app/vm"
	"jiannuo/store"
	"jiannuo/sync/engine"
)

// syncer runs the sync engine in the background for the signed-in user.
type syncer struct {
	eng  *engine.Engine
	done chan struct{}
}

func (s *syncer) wait() { <-s.done }

// startSync starts background sync if this device is enrolled with a
// county server; otherwise the status bar says the device works offline.
func (u *ui) startSync() {
	st, ok := u.enrolled()
	if !ok {
		u.status.offlineOnly()
		return
	}
	u.useCountyCalendar(st)
	ctx, cancel := context.WithCancel(u.bg.ctx)
	u.cancel = cancel
	// What the store knows (the last receipt, what waits) until the
	// engine's first report.
	initial, _ := vm.InitialStatus(u.st)
	u.status.show(initial)
	u.syncInitial, u.syncWatch = initial, vm.NewSyncWatch(initial)
	eng := engine.New(u.se, engine.Config{
		URL:         engine.Server{BaseURL: st.BaseURL}.SyncURL(),
		Fingerprint: st.Fingerprint,
		CountyKey:   st.CountyKey,
		County:      st.County,
		Version:     appVersion(u.fa),
		OnStatus:    func(s engine.Status) { fyne.Do(func() { u.syncReport(s) }) },
	})
	u.sync = &syncer{eng: eng, done: make(chan struct{})}
	go func() {
		defer close(u.sync.done)
		u.bg.runSync(ctx, eng)
	}()
}

// enrolled returns the device's sync settings if it is enrolled with a
// county server.
func (u *ui) enrolled() (store.SyncSettings, bool) {
	st, ok, err := u.st.SyncSettings()
	return st, err == nil && ok && st.Enrolled
}

// useCountyCalendar counts working days on the county's official holiday
// schedule, which may be newer than the one built in.
func (u *ui) useCountyCalendar(st store.SyncSettings) { u.cal = engine.Calendar(u.st, st.CountyKey) }

// syncReport takes one report of the sync engine (on the UI goroutine):
// the status bar shows it, and the screens re-read what it changed: all
// of it when other devices' work arrived, the confirmation marks when the
// county sent receipts.
func (u *ui) syncReport(s engine.Status) {
	u.status.show(vm.MergeStatus(u.syncInitial, s))
	switch c := u.syncWatch.Observe(s); {
	case c.Arrived:
		u.reload()
	case c.Confirmed:
		u.reloadConfirmations()
	}
}

// appVersion is the version the sync engine reports to the county admin's
// device list: FyneApp.toml's Version and Build as `fyne package` builds
// them into the binary ("0.1.0+3"), or "dev" for a binary built without
// them (go build, go run outside the project directory).
func appVersion(fa fyne.App) string {
	if fa == nil {
		return "dev"
	}
	m := fa.Metadata()
	if m.ID == "" || m.Version == "" {
		return "dev"
	}
	if m.Build > 0 {
		return fmt.Sprintf("%s+%d", m.Version, m.Build)
	}
	return m.Version
}

// acted is called after every local action: the change reaches the county
// as soon as the link allows.
func (u *ui) acted() {
	if u.sync != nil {
		u.sync.eng.SyncNow()
	}
	u.status.refreshPending()
}

// statusBar is always visible: online or offline, what waits to be sent,
// the last county receipt, a progress bar while syncing, and errors in
// plain language with what to do.
type statusBar struct {
	u        *ui
	line     *widget.Label
	note     *widget.Label // what pressing 立即同步 did, until the next report
	errLine  *widget.Label
	progress *widget.ProgressBar
	syncNow  *widget.Button
	reenrol  *widget.Button // offered when sync stopped on a fork
	enrol    *widget.Button // offered while the device is not enrolled
	backup   *widget.Label  // the reminder when the last backup is old (backup.go)
	obj      fyne.CanvasObject
	last     engine.Status
}

func newStatusBar(u *ui) *statusBar {
	b := &statusBar{u: u, line: widget.NewLabel(""), note: widget.NewLabel(""), errLine: widget.NewLabel(""), progress: widget.NewProgressBar()}
	b.line.Truncation = fyne.TextTruncateEllipsis
	b.note.Importance = widget.HighImportance
	b.note.Truncation = fyne.TextTruncateEllipsis
	b.note.Hide()
	b.errLine.Importance = widget.DangerImportance
	b.errLine.Wrapping = fyne.TextWrapWord
	b.progress.Hide()
	b.syncNow = widget.NewButtonWithIcon(u.T("app.sync_now"), theme.ViewRefreshIcon(), b.syncPressed)
	b.reenrol = widget.NewButton(u.T("ui.reenrol.offer"), func() { u.showReenrol() })
	b.reenrol.Importance = widget.WarningImportance
	b.reenrol.Hide()
	b.enrol = widget.NewButton(u.T("app.enrol_later"), func() { u.showEnrolLater() })
	b.enrol.Importance = widget.HighImportance
	b.enrol.Hide()
	b.backup = widget.NewLabel("")
	b.backup.Importance = widget.WarningImportance
	b.backup.Truncation = fyne.TextTruncateEllipsis
	b.backup.Hide()
	b.obj = container.NewBorder(nil, nil, nil, container.NewHBox(b.progress, b.reenrol, b.enrol, b.syncNow), container.NewVBox(b.line, b.note, b.errLine, b.backup))
	b.errLine.Hide()
	return b
}

func (b *statusBar) msg(m vm.Message) string { return b.u.msg(m) }

// syncPressed asks the engine to sync now and says at once what that does.
func (b *statusBar) syncPressed() {
	if b.u.sync == nil {
		return
	}
	b.u.sync.eng.SyncNow()
	if m := vm.SyncNowNote(b.last, b.u.now()); !m.IsZero() {
		b.note.SetText(b.msg(m))
		b.note.Show()
	}
}

// show renders an engine status through its view-model.
func (b *statusBar) show(s engine.Status) {
	if s.State != b.last.State || s.SentChangeSets != b.last.SentChangeSets {
		b.note.Hide() // the engine answered the press: the line says how
	}
	b.last = s
	v := vm.SyncViewOf(s, b.u.now())
	b.line.SetText(b.msg(v.Line))
	if v.Error != nil {
		b.errLine.SetText(b.msg(*v.Error))
		b.errLine.Show()
	} else {
		b.errLine.Hide()
	}
	if v.Syncing {
		b.progress.SetValue(v.Progress)
		b.progress.Show()
	} else {
		b.progress.Hide()
	}
	if v.Stopped {
		b.syncNow.Disable()
	} else {
		b.syncNow.Enable()
	}
	if vm.OffersReenrol(s) {
		b.reenrol.Show()
	} else {
		b.reenrol.Hide()
	}
}

// refreshPending updates the pending counts between engine reports.
func (b *statusBar) refreshPending() {
	if b.u.sync == nil {
		b.offlineOnly()
		return
	}
	s := b.last
	if c, err := b.u.st.Pending(); err == nil {
		s.PendingOps, s.PendingChangeSets, s.PendingBytes = c.PendingOps, c.OutboxChangeSets, c.OutboxBytes
	}
	b.show(s)
}

// offlineOnly is the status of a device not (yet) enrolled with a county.
func (b *statusBar) offlineOnly() {
	n := 0
	if c, err := b.u.st.Pending(); err == nil {
		n = c.PendingOps + c.OutboxChangeSets
	}
	b.line.SetText(b.u.T("app.not_enrolled", n))
	b.syncNow.Disable()
	if vm.NeedsEnrolment(b.u.st) {
		b.enrol.Show()
	}
}
