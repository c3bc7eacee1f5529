package app

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"jiannuo/domain/office"
	"jiannuo/report"
)

// prefPublicURL is the preference holding the public site's address, the
// base of the notice's QR codes. It is a setting of this app rather than
// of the county: the address is printed, not synchronised, and an office
// without one prints its notice without QR codes.
const prefPublicURL = "public_url"

// showNotice asks for the public site's address (remembered), then where
// to save the printable public notice (公示, PDF): the office's published
// public commitments, or, on a county-admin device, every township's.
func (u *ui) showNotice() {
	addr := u.newEntry(false)
	addr.SetPlaceHolder("https://")
	addr.SetText(u.fa.Preferences().String(prefPublicURL))
	hint := widget.NewLabel(u.T("app.notice.public_url_hint"))
	hint.Wrapping = fyne.TextWrapWord
	d := dialog.NewForm(u.T("app.notice.title"), u.T("app.export.choose_file"), u.T("app.cancel"), []*widget.FormItem{
		widget.NewFormItem(u.T("app.notice.public_url"), inputs(addr)),
		widget.NewFormItem("", hint),
	}, func(ok bool) {
		if !ok {
			return
		}
		base, err := report.PublicURLBase(addr.Text)
		if err != nil {
			u.inform(u.T("app.error"), u.T("error.public_url"))
			return
		}
		u.fa.Preferences().SetString(prefPublicURL, base)
		u.askNoticeFile(base)
	}, u.win)
	d.Resize(u.dialogSize(620, 300))
	u.track(d).Show()
}

func (u *ui) askNoticeFile(base string) {
	save := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		u.goWork(func(context.Context) { u.writeNotice(w, base) })
	}, u.win)
	save.SetTitleText(u.T("app.notice_pdf"))
	save.SetFileName(u.T("app.notice.file") + ".pdf")
	save.Resize(u.dialogSize(800, 560))
	save.Show()
}

// officeUnit is this device's office, named from the directory (the
// office an export or the notice is for).
func (u *ui) officeUnit() office.Unit {
	code := u.se.Device().Office
	if unit, ok := office.Luoyang().Lookup(code); ok {
		return unit
	}
	return office.Unit{Code: code, Name: string(code)}
}

// writeNotice writes the notice to w (off the UI goroutine), then says
// where it went, and which characters the font lacked, if any.
func (u *ui) writeNotice(w fyne.URIWriteCloser, base string) {
	cs, err := u.st.AllCommitments()
	var res report.NoticeResult
	if err == nil {
		res, err = report.WriteNoticePDF(w, cs, report.NoticeConfig{Unit: u.officeUnit(), Today: u.today(),
			Cal: u.cal, Tr: u.tr, PublicURL: base})
	}
	u.closeExport(w, err, func() {
		u.log.Info("public notice printed", "items", res.Items, "pages", res.Pages, "qr", len(res.QR))
		if len(res.Missing) > 0 {
			var rs []string
			for _, r := range res.Missing {
				rs = append(rs, fmt.Sprintf("%c (U+%04X)", r, r))
			}
			u.inform(u.T("app.notice_pdf"), u.T("app.notice.missing", strings.Join(rs, " ")))
		}
	})
}
