package app

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/widget"

	"jiannuo/app/vm"
	"jiannuo/backup"
	"jiannuo/store"
)

// Backups of this device (vm/backup.go): File → 备份本机数据… asks where
// and for a backup passphrase, and writes the file off the UI goroutine;
// the status bar reminds when the last backup is older than the setting
// (Settings → 备份提醒…, default vm.DefaultBackupDays); the first-run
// wizard restores one on a new machine (从备份恢复…).

// prefBackupDays is the preference holding the reminder's number of days.
const prefBackupDays = "backup_days"

// backupDays is the reminder setting.
func (u *ui) backupDays() int {
	return u.fa.Preferences().IntWithFallback(prefBackupDays, vm.DefaultBackupDays)
}

// showBackup asks where to save the backup, then for its passphrase.
func (u *ui) showBackup() {
	save := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		// The backup is written beside the file chosen and renamed over
		// it when whole (0600): the dialog's own empty file goes.
		path := w.URI().Path()
		w.Close()
		u.askBackupPassphrase(path)
	}, u.win)
	save.SetTitleText(u.T("ui.backup.title"))
	save.SetFileName(vm.BackupFileName(u.st, u.now()))
	save.SetFilter(storage.NewExtensionFileFilter([]string{".jnbk"}))
	save.Resize(u.dialogSize(800, 560))
	save.Show()
}

// backupDialog is the passphrase step of a backup, kept for tests.
type backupDialog struct {
	p1, p2 *widget.Entry
	errMsg *widget.Label
	ok     func()
}

// askBackupPassphrase asks for the backup passphrase twice and writes the
// backup to path.
func (u *ui) askBackupPassphrase(path string) {
	bd := &backupDialog{p1: widget.NewPasswordEntry(), p2: widget.NewPasswordEntry(), errMsg: widget.NewLabel("")}
	bd.errMsg.Importance = widget.DangerImportance
	bd.errMsg.Wrapping = fyne.TextWrapWord
	explain := widget.NewLabel(u.T("ui.backup.explain"))
	explain.Wrapping = fyne.TextWrapWord
	form := widget.NewForm(widget.NewFormItem(u.T("ui.backup.passphrase"), bd.p1), widget.NewFormItem(u.T("ui.backup.passphrase_again"), bd.p2))
	var d dialog.Dialog
	bd.ok = func() {
		if m := vm.CheckBackupPassphrase(bd.p1.Text, bd.p2.Text); m != nil {
			bd.errMsg.SetText(u.msg(*m))
			return
		}
		pass := bd.p1.Text
		d.Hide()
		u.runBackup(path, pass)
	}
	bd.p2.OnSubmitted = func(string) { bd.ok() }
	content := container.NewVBox(explain, widget.NewLabel(path), inputs(form), bd.errMsg)
	d = u.track(dialog.NewCustomConfirm(u.T("ui.backup.title"), u.T("app.ok"), u.T("app.cancel"), content, func(ok bool) {
		if ok {
			bd.ok()
		}
	}, u.win))
	d.Resize(u.dialogSize(560, 380))
	d.Show()
	u.lastBackup = bd
}

// runBackup writes the backup off the UI goroutine and says where it went.
func (u *ui) runBackup(path, pass string) {
	u.goWork(func(context.Context) {
		_, err := vm.BackupDevice(u.st, path, pass, u.opts.KDF, u.now())
		fyne.Do(func() {
			if err != nil {
				u.inform(u.T("ui.backup.title"), u.msg(vm.BackupErrorMessage(err)))
				return
			}
			size := ""
			if fi, err := os.Stat(path); err == nil {
				size = fmt.Sprintf("%.1f MB", float64(fi.Size())/(1<<20))
			}
			if u.status != nil {
				u.status.refreshBackup()
			}
			u.inform(u.T("ui.backup.title"), u.T("ui.backup.done", path, size))
		})
	})
}

// showBackupSettings sets after how many days the status bar reminds.
func (u *ui) showBackupSettings() {
	days := widget.NewEntry()
	days.SetText(strconv.Itoa(u.backupDays()))
	msg := widget.NewLabel("")
	msg.Importance = widget.DangerImportance
	var d dialog.Dialog
	d = u.track(dialog.NewCustomWithoutButtons(u.T("app.backup_settings"), container.NewVBox(
		widget.NewForm(widget.NewFormItem(u.T("ui.backup.days"), days)), msg,
		container.NewHBox(widget.NewButton(u.T("app.cancel"), func() { d.Hide() }), widget.NewButton(u.T("app.ok"), func() {
			n, err := strconv.Atoi(strings.TrimSpace(days.Text))
			if err != nil || n < 0 || n > 365 {
				msg.SetText(u.T("ui.backup.days_invalid"))
				return
			}
			u.fa.Preferences().SetInt(prefBackupDays, n)
			if u.status != nil {
				u.status.refreshBackup()
			}
			d.Hide()
		}))), u.win))
	d.Show()
}

// refreshBackup shows the backup reminder when one is due.
func (b *statusBar) refreshBackup() {
	m := vm.BackupReminder(b.u.st, b.u.backupDays(), b.u.now())
	if m.IsZero() {
		b.backup.Hide()
		return
	}
	b.backup.SetText(b.msg(m))
	b.backup.Show()
}

// restoreDialog is the wizard's restore step, kept for tests.
type restoreDialog struct {
	pass   *widget.Entry
	errMsg *widget.Label
	ok     func()
}

// showRestore asks, in the first-run wizard, for the backup file to
// restore on this new machine, then for its passphrase.
func (u *ui) showRestore() {
	open := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		path := r.URI().Path()
		r.Close()
		u.askRestorePassphrase(path)
	}, u.win)
	open.SetTitleText(u.T("ui.backup.restore_title"))
	open.SetFilter(storage.NewExtensionFileFilter([]string{".jnbk"}))
	open.Resize(u.dialogSize(800, 560))
	open.Show()
}

// askRestorePassphrase asks for the backup's passphrase and restores it.
func (u *ui) askRestorePassphrase(path string) {
	rd := &restoreDialog{pass: widget.NewPasswordEntry(), errMsg: widget.NewLabel("")}
	rd.errMsg.Importance = widget.DangerImportance
	rd.errMsg.Wrapping = fyne.TextWrapWord
	explain := widget.NewLabel(u.T("ui.backup.restore_explain"))
	explain.Wrapping = fyne.TextWrapWord
	var d dialog.Dialog
	rd.ok = func() {
		pass := rd.pass.Text
		rd.errMsg.SetText(u.T("ui.backup.working"))
		u.goWork(func(context.Context) {
			m, st, err := u.restoreDevice(path, pass)
			fyne.Do(func() {
				if st != nil {
					u.st = st
				}
				if err != nil {
					rd.errMsg.SetText(u.msg(vm.BackupErrorMessage(err)))
					return
				}
				d.Hide()
				u.showSignIn()
				u.inform(u.T("ui.backup.restore_title"), u.T("ui.backup.restored", m.Name, m.Created.Local().Format("2006-01-02 15:04")))
			})
		})
	}
	rd.pass.OnSubmitted = func(string) { rd.ok() }
	content := container.NewVBox(explain, widget.NewLabel(path),
		inputs(widget.NewForm(widget.NewFormItem(u.T("ui.backup.passphrase"), rd.pass))), rd.errMsg)
	d = u.track(dialog.NewCustomConfirm(u.T("ui.backup.restore_title"), u.T("ui.backup.restore"), u.T("app.cancel"), content, func(ok bool) {
		if ok {
			rd.ok()
		}
	}, u.win))
	d.Resize(u.dialogSize(560, 360))
	d.Show()
	u.lastRestore = rd
}

// restoreDevice closes the wizard's empty replica, restores the backup in
// its place and opens the result; on failure it opens the empty one again.
func (u *ui) restoreDevice(path, pass string) (m backup.Manifest, st *store.Store, err error) {
	dbPath := u.st.Path()
	u.st.Close()
	m, rerr := vm.RestoreDevice(path, func() (string, error) { return pass, nil }, dbPath, u.now())
	st, err = store.Open(dbPath, &store.Options{KDF: u.opts.KDF})
	if err != nil {
		return m, nil, err
	}
	return m, st, rerr
}
