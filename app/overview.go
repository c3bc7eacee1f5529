package app

import (
	"context"
	"io"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"jiannuo/app/vm"
	"jiannuo/report"
	"jiannuo/sync/countyapi"
)

// The 辖区概况 tab from the county server (GET /admin/overview) once the
// admin has signed in to the admin API, from the replica otherwise or when
// the server cannot answer; and its Excel export.

// overviewState is where the overview shown came from: the server's
// (server) or the replica's (local).
type overviewState struct {
	server *report.Overview
	local  *vm.Overview
}

// loadServerOverview fetches the overview from the county server off the
// UI goroutine; a refused credential brings the sign-in back, and any
// failure falls back to the replica.
func (a *adminScreens) loadServerOverview() {
	u, c := a.u, a.client
	u.goWork(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, adminTimeout)
		defer cancel()
		ov, err := c.Overview(ctx)
		fyne.Do(func() {
			if err != nil {
				if countyapi.IsCredentialError(err) {
					a.client = nil
					a.showLogin()
				}
				a.status.SetText(u.msg(vm.ErrorMessage(err)))
				a.loadLocalOverview()
				return
			}
			a.ovx = overviewState{server: ov}
			a.renderOverview(vm.ServerOverview(ov, u.now()))
		})
	})
}

// overviewHead says where the overview comes from and offers the export.
func (a *adminScreens) overviewHead() fyne.CanvasObject {
	u := a.u
	src := u.T("breachui.overview.local")
	if a.ovx.server != nil {
		src = u.T("breachui.overview.server", a.ovx.server.Today.String())
	}
	return container.NewHBox(widget.NewLabel(src),
		widget.NewButtonWithIcon(u.T("breachui.export"), theme.DocumentSaveIcon(), a.openOverviewExport))
}

// overviewReport is the overview shown, in the shape the export writes.
func (a *adminScreens) overviewReport() *report.Overview {
	if a.ovx.server != nil {
		return a.ovx.server
	}
	if a.ovx.local != nil {
		return a.ovx.local.Report
	}
	return nil
}

func (a *adminScreens) openOverviewExport() {
	u := a.u
	save := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		a.exportOverview(w)
	}, u.win)
	save.SetFileName(u.T("breachui.export.overview_file") + "-" + u.today().String() + ".xlsx")
	save.Show()
}

// exportOverview writes the overview shown to w as Excel and closes it,
// off the UI goroutine.
func (a *adminScreens) exportOverview(w io.WriteCloser) {
	u := a.u
	ov := a.overviewReport()
	u.bg.spawn(func() {
		var err error
		if ov != nil {
			err = report.WriteOverviewXLSX(w, ov, u.tr)
		}
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		fyne.Do(func() {
			if err != nil {
				u.showError(err)
				return
			}
			a.status.SetText(u.T("breachui.export.done"))
		})
	})
}
