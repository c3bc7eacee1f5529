package app

import (
	"context"
	"io"
	"os"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"jiannuo/app/vm"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// Sync by USB stick (docs/sync-file.md). A township: File → 导出同步包
// shows what would go (a dry run), takes an optional end date when it is
// too large, and writes the bundle into a folder the user picks; File →
// 导入回执包 imports the county's answer. A county admin imports a
// township's bundle from the devices tab (adminScreens.showSyncImport)
// and saves the return file for it.

// syncFileTimeout bounds an admin's import of a bundle: up to 256 MiB each
// way over the county's network.
const syncFileTimeout = 30 * time.Minute

// syncFileCommands are the File menu's commands of sync by file.
func (u *ui) syncFileCommands() []command {
	return []command{
		{label: u.T("app.syncfile.export"), icon: theme.DownloadIcon(), run: u.showSyncExport},
		{label: u.T("app.syncfile.import"), icon: theme.UploadIcon(), run: u.showSyncImport},
	}
}

// syncEngine is the sync engine, or nil after telling the user this
// device is not enrolled.
func (u *ui) syncEngine(title string) *engine.Engine {
	if u.sync == nil {
		u.inform(title, u.T("app.syncfile.not_enrolled"))
		return nil
	}
	return u.sync.eng
}

// showSyncExport measures the bundle off the UI goroutine, then shows
// what it holds.
func (u *ui) showSyncExport() {
	eng := u.syncEngine(u.T("app.syncfile.export_title"))
	if eng == nil {
		return
	}
	u.goWork(func(context.Context) {
		sum, err := eng.ExportBundle(io.Discard, engine.ExportOptions{DryRun: true, Now: u.now()})
		fyne.Do(func() { u.syncExportDialog(sum, err) })
	})
}

// syncExportDialog shows what the bundle holds (or why it does not fit,
// with the date to cut it at) and asks for the folder.
func (u *ui) syncExportDialog(sum engine.ExportSummary, err error) {
	loc := u.now().Location()
	until := u.newEntry(false)
	until.SetPlaceHolder(u.today().String())
	var lines []string
	if m, d, ok := vm.ExportTooLarge(err, loc); ok {
		lines = append(lines, u.msg(m))
		if !d.IsZero() {
			until.SetText(d.String())
		}
	} else if err != nil {
		u.showError(err)
		return
	} else {
		for _, m := range vm.ExportSummaryLines(sum, loc) {
			lines = append(lines, u.msg(m))
		}
	}
	intro := para(u.T("app.syncfile.intro"))
	summary := para(strings.Join(lines, "\n"))
	summary.TextStyle.Bold = true
	hint := para(u.T("app.syncfile.until_hint"))
	hint.Importance = widget.LowImportance
	content := container.NewVBox(intro, summary,
		widget.NewForm(widget.NewFormItem(u.T("app.syncfile.until"), inputs(until))), hint)
	d := dialog.NewCustomConfirm(u.T("app.syncfile.export_title"), u.T("app.syncfile.choose_folder"), u.T("app.cancel"), content, func(ok bool) {
		if !ok {
			return
		}
		cut, err := vm.ParseUntil(until.Text, loc)
		if err != nil {
			u.inform(u.T("app.error"), u.T("app.syncfile.bad_date"))
			return
		}
		u.chooseSyncFolder(cut)
	}, u.win)
	d.Resize(u.dialogSize(620, 420))
	u.track(d).Show()
}

// chooseSyncFolder asks for the folder (a USB stick) and writes the
// bundle there.
func (u *ui) chooseSyncFolder(until time.Time) {
	folder := dialog.NewFolderOpen(func(dir fyne.ListableURI, err error) {
		if err != nil || dir == nil {
			return
		}
		u.goWork(func(context.Context) { u.writeSyncBundle(dir, until) })
	}, u.win)
	folder.Resize(u.dialogSize(800, 560))
	folder.Show()
}

// writeSyncBundle writes the bundle into dir (off the UI goroutine); a
// failed export leaves no file behind.
func (u *ui) writeSyncBundle(dir fyne.ListableURI, until time.Time) {
	eng := u.sync.eng
	fs, err := u.st.FileSyncState()
	var sum engine.ExportSummary
	var path string
	if err == nil {
		now := u.now()
		var uri fyne.URI
		uri, err = storage.Child(dir, vm.BundleFileName(u.se.Device().Office, u.se.Device().ID, fs.Number+1, now))
		if err == nil {
			path = uri.Path()
			var w fyne.URIWriteCloser
			if w, err = storage.Writer(uri); err == nil {
				sum, err = eng.ExportBundle(w, engine.ExportOptions{Until: until, Now: now})
				if cerr := w.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					storage.Delete(uri)
				}
			}
		}
	}
	fyne.Do(func() {
		if err != nil {
			if m, _, ok := vm.ExportTooLarge(err, u.now().Location()); ok {
				u.inform(u.T("app.syncfile.export_title"), u.msg(m))
				return
			}
			u.showError(err)
			return
		}
		lines := []string{u.msg(vm.Msg("app.syncfile.done", path))}
		for _, m := range vm.ExportSummaryLines(sum, u.now().Location()) {
			lines = append(lines, u.msg(m))
		}
		u.inform(u.T("app.syncfile.export_title"), strings.Join(lines, "\n"))
		u.status.refreshPending()
	})
}

// showSyncImport asks for the county's return file and imports it.
func (u *ui) showSyncImport() {
	eng := u.syncEngine(u.T("app.syncfile.import_title"))
	if eng == nil {
		return
	}
	open := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		u.goWork(func(ctx context.Context) { u.importReturnFile(ctx, eng, r) })
	}, u.win)
	open.SetTitleText(u.T("app.syncfile.import_title"))
	open.SetFilter(storage.NewExtensionFileFilter([]string{protocol.ReturnFileExt}))
	open.Resize(u.dialogSize(800, 560))
	open.Show()
}

// importReturnFile imports a return file (off the UI goroutine) and says
// what it brought.
func (u *ui) importReturnFile(ctx context.Context, eng *engine.Engine, r io.ReadCloser) {
	sum, err := eng.ImportReturn(ctx, r)
	r.Close()
	fyne.Do(func() {
		if err != nil {
			u.inform(u.T("app.syncfile.import_title"), u.msg(vm.ErrorMessage(err)))
			return
		}
		var lines []string
		for _, m := range vm.ImportSummaryLines(sum, u.now().Location()) {
			lines = append(lines, u.msg(m))
		}
		u.inform(u.T("app.syncfile.import_title"), strings.Join(lines, "\n"))
		u.reload()
	})
}

// ---- The county admin's side ----

// syncImportBar is the devices tab's button to import a township's bundle.
func (a *adminScreens) syncImportBar() fyne.CanvasObject {
	return container.NewHBox(widget.NewButtonWithIcon(a.u.T("adminui.syncfile.import"), theme.UploadIcon(), a.showSyncImport))
}

// showSyncImport asks for a township's bundle, imports it into the county
// server through the admin API, and asks where to save the return file.
func (a *adminScreens) showSyncImport() {
	u := a.u
	open := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		a.importBundleFile(r)
	}, u.win)
	open.SetTitleText(u.T("adminui.syncfile.title"))
	open.SetFilter(storage.NewExtensionFileFilter([]string{protocol.BundleFileExt}))
	open.Resize(u.dialogSize(800, 560))
	open.Show()
}

// importBundleFile imports the bundle r reads into the county server, then
// asks where to save its return file.
func (a *adminScreens) importBundleFile(r fyne.URIReadCloser) {
	u := a.u
	if a.client == nil {
		r.Close()
		return
	}
	name := r.URI().Name()
	var ret *os.File
	var sum countyapi.SyncImport
	a.apiCallWithin(syncFileTimeout, func(ctx context.Context) error {
		defer r.Close()
		var err error
		if ret, err = os.CreateTemp("", "jiannuo-return-*"+protocol.ReturnFileExt); err != nil {
			return err
		}
		sum, err = a.client.ImportSyncFile(ctx, r, -1, ret)
		return err
	}, func(err error) {
		if err != nil {
			if ret != nil {
				ret.Close()
				os.Remove(ret.Name())
			}
			a.status.SetText(u.msg(vm.ErrorMessage(err)))
			u.inform(u.T("adminui.syncfile.title"), u.msg(vm.ErrorMessage(err)))
			return
		}
		if a.onReturn != nil {
			a.onReturn(ret, name, sum)
			return
		}
		a.saveReturn(ret, name, sum)
	})
}

// saveReturn asks where to save the return file, kept until then in ret,
// and says what the import did. (Cancelled, the bundle can be imported
// again: it gives the same answer.)
func (a *adminScreens) saveReturn(ret *os.File, bundleName string, sum countyapi.SyncImport) {
	u := a.u
	save := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			ret.Close()
			os.Remove(ret.Name())
			return
		}
		u.goWork(func(context.Context) { a.writeReturnFile(ret, w, sum) })
	}, u.win)
	save.SetTitleText(u.T("adminui.syncfile.save_return"))
	save.SetFileName(vm.ReturnFileName(bundleName))
	save.Resize(u.dialogSize(800, 560))
	save.Show()
}

// writeReturnFile copies the return file from ret to w (off the UI
// goroutine), removes ret, and says what the import did.
func (a *adminScreens) writeReturnFile(ret *os.File, w fyne.URIWriteCloser, sum countyapi.SyncImport) {
	u := a.u
	_, err := ret.Seek(0, io.SeekStart)
	if err == nil {
		_, err = io.Copy(w, ret)
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	ret.Close()
	os.Remove(ret.Name())
	path := w.URI().Path()
	fyne.Do(func() {
		if err != nil {
			u.showError(err)
			return
		}
		var lines []string
		for _, m := range vm.AdminImportLines(sum, path) {
			lines = append(lines, u.msg(m))
		}
		u.inform(u.T("adminui.syncfile.title"), strings.Join(lines, "\n"))
		a.loadDevices()
	})
}
