package app

import (
	"context"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"jiannuo/app/vm"
	"jiannuo/sync/engine"
)

// reenrolDialog is the way out of a fork for the device's user: it
// explains what happened, asks the county for re-enrolment, checks on it,
// and once approved switches the app to the new key.
type reenrolDialog struct {
	status *widget.Label
	ask    *widget.Button
	check  *widget.Button
	d      dialog.Dialog
}

func (u *ui) showReenrol() *reenrolDialog {
	rd := &reenrolDialog{status: para("")}
	explain := para(u.T("ui.reenrol.explain"))
	run := func(request bool) {
		set, ok, err := u.st.SyncSettings()
		if err != nil || !ok {
			rd.status.SetText(u.T("ui.reenrol.no_server"))
			return
		}
		srv := engine.Server{BaseURL: set.BaseURL, Fingerprint: set.Fingerprint}
		se := u.se
		rd.ask.Disable()
		rd.check.Disable()
		u.goWork(func(ctx context.Context) {
			ctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			res, err := vm.Reenrol(ctx, se, srv, request)
			fyne.Do(func() {
				rd.ask.Enable()
				rd.check.Enable()
				if err != nil {
					rd.status.SetText(u.msg(vm.ErrorMessage(err)))
					return
				}
				rd.status.SetText(u.msg(res.Status))
				if res.Session != nil {
					rd.ask.Disable()
					rd.check.Disable()
					u.rekeyed(res)
				}
			})
		})
	}
	rd.ask = widget.NewButton(u.T("ui.reenrol.ask"), func() { run(true) })
	rd.check = widget.NewButton(u.T("ui.reenrol.check"), func() { run(false) })
	if _, asked, _ := u.se.Successor(); !asked {
		rd.check.Disable()
	}
	body := container.NewVBox(explain, widget.NewSeparator(), rd.status, container.NewHBox(rd.ask, rd.check))
	scroll := container.NewVScroll(body)
	scroll.SetMinSize(fyne.NewSize(560, 360))
	rd.d = dialog.NewCustom(u.T("ui.reenrol.title"), u.T("app.close"), scroll, u.win)
	rd.d.Show()
	u.lastReenrol = rd
	return rd
}

// rekeyed switches the app to the session under the new key and starts
// sync again: the carried work goes out and the county's branch comes in.
func (u *ui) rekeyed(res vm.ReenrolResult) {
	if u.cancel != nil {
		u.cancel()
	}
	if u.sync != nil {
		// The engine had stopped on the fork, so this returns at once.
		u.sync.wait()
		u.sync = nil
	}
	u.se = res.Session
	u.log.Info("device re-enrolled", "old", res.Rekey.Old, "new", res.Rekey.New, "carried", res.Rekey.Carried)
	u.startSync()
	u.reload()
	u.status.refreshPending()
}
