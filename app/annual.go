package app

import (
	"strconv"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"jiannuo/app/vm"
	"jiannuo/report"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// The annual report screen (年度践诺情况报告, §六(三), vm.AnnualReport): the
// year's figures, the narrative, the notable commitments chosen from the
// year's list, a preview, signing and submitting (the leader; the county
// admin for the county), the versions submitted, and the export to Excel
// and PDF. On a county-admin device it lists where each township stands
// and urges the late ones.

// annualDialog is the open annual report screen.
type annualDialog struct {
	u         *ui
	a         *vm.AnnualReport
	d         dialog.Dialog
	body      *fyne.Container
	year      *widget.Select
	narrative *entry
	errLine   *widget.Label
	submit    *widget.Button
	checks    map[string]*widget.Check // by commitment, for tests
	preview   dialog.Dialog            // the preview last opened
}

// showAnnualReport opens the annual report screen on year (0: the year
// due now).
func (u *ui) showAnnualReport(year int) {
	today := u.today()
	if year == 0 {
		year = report.ReportYear(today)
	}
	ad := &annualDialog{u: u, a: vm.NewAnnualReport(u.se, u.cal, u.acted), body: container.NewVBox(), errLine: widget.NewLabel("")}
	ad.errLine.Wrapping = fyne.TextWrapWord
	ad.errLine.Importance = widget.DangerImportance
	var years []string
	for y := today.Year; y >= today.Year-3; y-- {
		years = append(years, strconv.Itoa(y))
	}
	ad.year = widget.NewSelect(years, func(s string) {
		y, _ := strconv.Atoi(s)
		ad.load(y)
	})
	ad.narrative = u.newEntry(true)
	ad.narrative.SetMinRowsVisible(8)
	ad.narrative.SetPlaceHolder(u.T("annualui.narrative_hint"))
	ad.narrative.OnChanged = func(s string) { ad.a.Narrative = s }
	ad.submit = widget.NewButtonWithIcon(u.T("annualui.submit"), theme.ConfirmIcon(), ad.askSubmit)
	ad.submit.Importance = widget.HighImportance
	buttons := container.NewHBox(
		widget.NewButtonWithIcon(u.T("annualui.preview"), theme.VisibilityIcon(), ad.showPreview),
		ad.submit,
		widget.NewButtonWithIcon(u.T("annualui.export_xlsx"), theme.DocumentSaveIcon(), func() { ad.export(false) }),
		widget.NewButtonWithIcon(u.T("annualui.export_pdf"), theme.DocumentPrintIcon(), func() { ad.export(true) }),
	)
	top := container.NewBorder(nil, nil, widget.NewLabel(u.T("annualui.year")), nil, inputs(ad.year))
	content := container.NewBorder(top, container.NewVBox(ad.errLine, buttons), nil, nil, container.NewVScroll(container.NewPadded(ad.body)))
	ad.d = u.track(dialog.NewCustom(u.T("annualui.title"), u.T("app.close"), content, u.win))
	ad.d.Resize(u.dialogSize(980, 700))
	ad.year.SetSelected(strconv.Itoa(year)) // loads
	ad.d.Show()
	u.lastReport = ad
}

// load reads year and draws the screen.
func (ad *annualDialog) load(year int) {
	u := ad.u
	if err := ad.a.Load(year, u.today()); err != nil {
		u.showError(err)
		return
	}
	ad.narrative.SetText(ad.a.Narrative)
	ad.errLine.SetText("")
	ad.render()
}

func (ad *annualDialog) render() {
	u, a := ad.u, ad.a
	today := u.today()
	objs := []fyne.CanvasObject{
		heading(u.T("report.annual_title", a.Unit.Name, a.Year)),
		para(u.msg(a.Status(today)) + "　" + u.T("annual.deadline_line", report.AnnualDeadline(a.Year).String())),
	}
	if !a.CanSubmit {
		why := para(u.msg(a.Why))
		why.Importance = widget.WarningImportance
		objs = append(objs, why)
		ad.submit.Disable()
	} else {
		ad.submit.Enable()
	}
	objs = append(objs, widget.NewCard(u.T("annual.part_figures"), u.T("report.annual_asof", a.AsOf.String()), figuresGrid(u, a.Preview(today))))
	if a.County {
		objs = append(objs, widget.NewCard(u.T("annual.part_parts"), "", ad.partsBox()))
	}
	objs = append(objs, widget.NewCard(u.T("annual.part_narrative"), u.T("annualui.narrative_note"), inputs(ad.narrative)))
	ad.checks = map[string]*widget.Check{}
	notable := container.NewVBox()
	for _, c := range a.Candidates {
		ref := c.Ref
		label := c.Title + "（" + u.msg(c.Status) + "）"
		if a.County {
			label = c.Office + "：" + label
		}
		ch := widget.NewCheck(label, func(on bool) { a.Toggle(ref, on) })
		for _, r := range a.Notable {
			if r == ref {
				ch.SetChecked(true)
			}
		}
		ad.checks[ref.String()] = ch
		notable.Add(ch)
	}
	if len(a.Candidates) == 0 {
		notable.Add(para(u.T("annualui.no_candidates")))
	}
	objs = append(objs, widget.NewCard(u.T("annual.part_notable"), u.T("annualui.notable_note", 50), notable))
	if vs := a.Versions(ad.people()); len(vs) > 0 {
		box := container.NewVBox()
		for _, m := range vs {
			box.Add(para(u.msg(m)))
		}
		objs = append(objs, widget.NewCard(u.T("annualui.versions"), "", box))
	}
	ad.body.Objects = objs
	ad.body.Refresh()
}

func (ad *annualDialog) people() *store.People {
	p, _ := ad.u.st.People()
	return p
}

// partsBox lists where each township stands, with the reminder button.
func (ad *annualDialog) partsBox() fyne.CanvasObject {
	u, a := ad.u, ad.a
	grid := container.NewGridWithColumns(3, heading(u.T("report.col_office")), heading(u.T("annual.col_status")), heading(u.T("annual.col_first")))
	missing := 0
	for _, p := range a.Parts {
		st := para(u.T(p.Key()))
		first := "—"
		if p.Report != nil {
			first = p.Report.FirstSubmitted().String()
		} else {
			missing++
		}
		if p.Late {
			st.Importance = widget.DangerImportance
		}
		grid.Add(para(p.Unit.Name))
		grid.Add(st)
		grid.Add(para(first))
	}
	remind := widget.NewButtonWithIcon(u.T("annualui.remind", missing), theme.MailSendIcon(), ad.askRemind)
	if missing == 0 || !a.CanSubmit {
		remind.Disable()
	}
	return container.NewVBox(grid, container.NewHBox(remind))
}

// askRemind asks for the reminder's text and urges the late townships.
func (ad *annualDialog) askRemind() {
	u, a := ad.u, ad.a
	note := u.newEntry(true)
	note.SetText(u.T("annualui.remind_text", report.AnnualDeadline(a.Year).String(), a.Year))
	u.openAct(actSpec{title: u.T("annualui.remind_title"), ok: u.T("urgeui.send"),
		items: []*widget.FormItem{widget.NewFormItem(u.T("urgeui.note"), inputs(note))},
		submit: func([]protocol.Hash) error {
			_, err := a.RemindLate(note.Text)
			return err
		},
		done: func() { ad.load(a.Year) }})
}

// askSubmit checks the form and asks before signing.
func (ad *annualDialog) askSubmit() {
	u, a := ad.u, ad.a
	if bad := a.Validate(); len(bad) > 0 {
		ad.errLine.SetText(u.msg(faultMessage(&vm.FormError{Fields: bad})))
		return
	}
	q := u.T("annualui.confirm", a.Year)
	if a.Report != nil {
		q = u.T("annualui.confirm_again", a.Report.Version+1, a.Year)
	}
	u.confirm(u.T("annualui.submit"), q, func(ok bool) {
		if !ok {
			return
		}
		if err := a.Submit(u.today()); err != nil {
			ad.errLine.SetText(u.msg(faultMessage(err)))
			return
		}
		ad.errLine.SetText("")
		ad.narrative.SetText(a.Narrative)
		ad.render()
		u.main.today.load()
	})
}

// doc is what the preview and the exports show: the form as it stands
// (a preview) — or, with nothing changed since, the submitted version.
func (ad *annualDialog) doc() report.AnnualDoc {
	a, today := ad.a, ad.u.today()
	if d, ok := a.Submitted(today); ok && d.Narrative == a.Narrative && len(d.Notable) == len(a.Notable) {
		return d
	}
	return a.Preview(today)
}

// showPreview shows the report as it will read.
func (ad *annualDialog) showPreview() {
	u := ad.u
	d := ad.doc()
	objs := []fyne.CanvasObject{heading(u.T("report.annual_title", d.Unit.Name, d.Year)),
		para(u.T("report.annual_asof", d.AsOf.String())), widget.NewSeparator(),
		heading(u.T("annual.section", u.T("annualui.one"), u.T("annual.part_figures"))), figuresGrid(u, d),
		heading(u.T("annual.section", u.T("annualui.two"), u.T("annual.part_narrative")))}
	signed := para(u.msg(vm.Msg("annual.preview_line")))
	if d.Version > 0 {
		signed = para(u.T("annual.signed_line", d.Version, d.SignedBy, d.Submitted.String()))
	}
	objs = append(objs[:2], append([]fyne.CanvasObject{signed}, objs[2:]...)...)
	for _, p := range d.Paragraphs() {
		objs = append(objs, para("　　"+p))
	}
	objs = append(objs, heading(u.T("annual.section", u.T("annualui.three"), u.T("annual.part_notable"))))
	for i, n := range d.Notable {
		objs = append(objs, para(strconv.Itoa(i+1)+". "+n.Title+"（"+u.T("annual.notable_responsible", n.Responsible)+"）"))
	}
	if len(d.Notable) == 0 {
		objs = append(objs, para(u.T("annual.notable_none")))
	}
	if len(d.Parts) > 0 {
		objs = append(objs, heading(u.T("annual.section", u.T("annualui.four"), u.T("annual.part_parts"))))
		for _, p := range d.Parts {
			objs = append(objs, para(p.Unit.Name+"："+u.T(p.Key())))
		}
	}
	scroll := container.NewVScroll(container.NewPadded(container.NewVBox(objs...)))
	ad.preview = u.track(dialog.NewCustom(u.T("annualui.preview"), u.T("app.close"), scroll, u.win))
	ad.preview.Resize(u.dialogSize(820, 640))
	ad.preview.Show()
}

// export asks where to save the report and writes it there.
func (ad *annualDialog) export(pdf bool) {
	u := ad.u
	d := ad.doc()
	name := u.T("report.annual_title", d.Unit.Name, d.Year)
	if pdf {
		name += ".pdf"
	} else {
		name += ".xlsx"
	}
	u.askSaveExport(name, func(w fyne.URIWriteCloser) {
		var err error
		if pdf {
			_, err = report.WriteAnnualReportPDF(w, d, u.tr)
		} else {
			err = report.WriteAnnualReportXLSX(w, d, u.tr)
		}
		u.closeExport(w, err, nil)
	})
}

// figuresGrid draws a report's figures as a table.
func figuresGrid(u *ui, d report.AnnualDoc) fyne.CanvasObject {
	cols := []string{"report.col_category", "report.col_count", "report.col_on_time", "report.col_late", "report.col_partly",
		"report.col_breached", "report.col_open", "report.col_overdue", "report.col_rate"}
	// The headings have a grid of their own, with the same columns: they
	// wrap rather than lose their words in a narrow window (按期践诺率 cut
	// to 按期践… says nothing), and a grid gives every cell the height of
	// its tallest, which the figures' rows need not take.
	head := container.NewGridWithColumns(len(cols))
	for _, k := range cols {
		l := widget.NewLabel(u.T(k))
		l.TextStyle = fyne.TextStyle{Bold: true}
		l.Wrapping = fyne.TextWrapBreak
		head.Add(l)
	}
	grid := container.NewGridWithColumns(len(cols))
	for _, row := range vm.FigureRows(d, func(k string) string { return u.T(k) }) {
		for i, cell := range row.Cells {
			l := widget.NewLabel(cell)
			l.Truncation = fyne.TextTruncateEllipsis
			if i > 0 {
				l.Alignment = fyne.TextAlignTrailing
			}
			l.TextStyle = fyne.TextStyle{Bold: row.Total}
			grid.Add(l)
		}
	}
	if len(d.Figures) == 0 {
		return container.NewVBox(head, grid, para(u.T("annualui.no_figures")))
	}
	return container.NewVBox(head, grid)
}
