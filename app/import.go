package app

import (
	"context"
	"io"
	"strconv"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/widget"

	"jiannuo/app/vm"
)

// The Excel import (File → 导出导入模板, 从 Excel 导入): the template is
// saved like any export; an import opens a file, checks it off the UI
// goroutine (vm.ReadImport), shows the preview — the row count, and every
// error by row and column, or the rows to import — and imports only on
// confirmation, all rows in one transaction (vm.ApplyImport).

// exportImportTemplate asks where to save the import template and writes
// it there.
func (u *ui) exportImportTemplate() {
	save := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		u.goWork(func(context.Context) { u.closeExport(w, vm.WriteImportTemplate(w, u.tr), nil) })
	}, u.win)
	save.SetTitleText(u.T("app.import_template"))
	save.SetFileName(u.T("app.import_template_file") + ".xlsx")
	save.Resize(u.dialogSize(800, 560))
	save.Show()
}

// showImport asks for the file to import.
func (u *ui) showImport() {
	open := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		u.goWork(func(context.Context) { u.readImport(r) })
	}, u.win)
	open.SetTitleText(u.T("app.import.title"))
	// .xls too, so that an old file is recognised and explained rather
	// than hidden.
	open.SetFilter(storage.NewExtensionFileFilter([]string{".xlsx", ".xls"}))
	open.Resize(u.dialogSize(800, 560))
	open.Show()
}

// readImport checks the file (off the UI goroutine) and shows what it
// found.
func (u *ui) readImport(r io.ReadCloser) {
	cs, err := u.st.AllCommitments()
	var p *vm.ImportPreview
	if err == nil {
		p, err = vm.ReadImport(r, vm.ImportConfig{Role: u.se.Account().Role, Existing: cs,
			Office: u.se.Device().Office, Logger: u.log})
	}
	r.Close()
	fyne.Do(func() {
		if err != nil {
			u.inform(u.T("app.import.title"), u.msg(vm.ImportErrorMessage(err)))
			return
		}
		u.showImportPreview(p)
	})
}

// showImportPreview shows the preview: a summary, the warnings, then
// either every error (by row and column) or the rows to import, and the
// Import button, enabled only when there is no error.
func (u *ui) showImportPreview(p *vm.ImportPreview) {
	summary := widget.NewLabel(u.msg(p.Summary()))
	summary.Wrapping = fyne.TextWrapWord
	summary.TextStyle.Bold = true
	top := container.NewVBox(summary)
	if p.ExampleSkipped {
		top.Add(widget.NewLabel(u.T("import.example_skipped")))
	}
	if len(p.SameTitle) > 0 {
		rows := make([]string, 0, len(p.SameTitle))
		for _, n := range p.SameTitle[:min(len(p.SameTitle), 20)] {
			rows = append(rows, strconv.Itoa(n))
		}
		if len(p.SameTitle) > 20 {
			rows = append(rows, "…")
		}
		warn := widget.NewLabel(u.T("import.same_title", u.list(rows)))
		warn.Wrapping = fyne.TextWrapWord
		warn.Importance = widget.WarningImportance
		top.Add(warn)
	}
	var lines []string
	if len(p.Issues) > 0 {
		for _, i := range p.Issues {
			lines = append(lines, u.msg(i.Message()))
		}
	} else {
		for _, r := range p.Rows {
			lines = append(lines, u.T("import.row", r.Row, u.T("category."+string(r.Form.Category)), r.Form.Title))
		}
	}
	list := widget.NewList(func() int { return len(lines) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			l := o.(*widget.Label)
			l.SetText(lines[i])
			if len(p.Issues) > 0 {
				l.Importance = widget.DangerImportance
			}
		})
	var d dialog.Dialog
	confirm := widget.NewButton(u.T("app.import.confirm"), func() {
		d.Hide()
		u.goWork(func(context.Context) { u.applyImport(p) })
	})
	confirm.Importance = widget.HighImportance
	if !p.OK() {
		confirm.Disable()
	}
	cancel := widget.NewButton(u.T("app.cancel"), func() { d.Hide() })
	d = u.track(dialog.NewCustomWithoutButtons(u.T("app.import.title"),
		container.NewBorder(top, container.NewHBox(cancel, confirm), nil, nil, list), u.win))
	d.Resize(u.dialogSize(760, 560))
	d.Show()
}

// applyImport stores the rows (off the UI goroutine) and says how many.
func (u *ui) applyImport(p *vm.ImportPreview) {
	refs, err := vm.ApplyImport(u.se, p)
	fyne.Do(func() {
		if err != nil {
			u.showError(err)
			return
		}
		u.reload()
		u.inform(u.T("app.import.title"), u.T("import.done", len(refs)))
		u.log.Info("imported commitments", "count", len(refs), "published", p.Publish)
	})
}
