package app

import (
	"context"
	"image"
	"image/color"
	"math"
	"net/url"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"jiannuo/app/vm"
	"jiannuo/report"
)

// dashboardScreen shows the on-time rate, counts by status, the on-time
// rate by category and by month as charts (drawn at the size and scale
// they are shown at, in the app's font, with their names and axis titles),
// and what is due in the next five working days and what is overdue, each
// line opening its commitment.
type dashboardScreen struct {
	u      *ui
	box    *fyne.Container
	obj    fyne.CanvasObject
	view   vm.Dashboard
	charts []*canvas.Raster // the status, category and month charts, for tests
}

func newDashboardScreen(u *ui) *dashboardScreen {
	d := &dashboardScreen{u: u, box: container.NewVBox()}
	d.obj = container.NewVScroll(container.NewPadded(d.box))
	return d
}

func (d *dashboardScreen) colour(name fyne.ThemeColorName) color.Color {
	return d.u.fa.Settings().Theme().Color(name, d.u.fa.Settings().ThemeVariant())
}

// refresh recomputes the statistics off the UI goroutine (with years of
// data it takes a moment) and redraws.
func (d *dashboardScreen) refresh() {
	u := d.u
	today := u.today()
	// Today's panel heads the dashboard: what was done since it was read
	// (here or on the office's other devices) shows each time it opens.
	u.main.today.load()
	u.goWork(func(ctx context.Context) {
		cs, err := u.st.AllCommitments()
		if err != nil {
			fyne.Do(func() { u.showError(err) })
			return
		}
		if ctx.Err() != nil {
			return
		}
		v := vm.NewDashboard(report.Compute(cs, today, u.cal))
		fyne.Do(func() { d.render(v) })
	})
}

// chartOptions are the charts' colours (the theme's), font (the app's) and
// scale.
func (d *dashboardScreen) chartOptions(scale int) report.ChartOptions {
	return report.ChartOptions{
		Bar: d.colour(theme.ColorNamePrimary), Text: d.colour(theme.ColorNameForeground),
		Axis: d.colour(theme.ColorNameForeground), Grid: d.colour(theme.ColorNameSeparator),
		Font: report.EmbeddedFont(), TextSize: float64(theme.CaptionTextSize()) + 1, Scale: scale,
	}
}

// chart is a chart drawn whenever the window draws it, at the pixel size
// and scale it has on screen, so its text stays the size of the app's.
func (d *dashboardScreen) chart(minHeight float32, draw func(w, h int, o report.ChartOptions) image.Image) *canvas.Raster {
	var r *canvas.Raster
	r = canvas.NewRaster(func(w, h int) image.Image {
		scale := 1
		if lw := r.Size().Width; lw > 0 {
			scale = max(1, int(math.Round(float64(w)/float64(lw))))
		}
		return draw(w, h, d.chartOptions(scale))
	})
	r.SetMinSize(fyne.NewSize(240, minHeight))
	d.charts = append(d.charts, r)
	return r
}

// itemLinks lists due or overdue commitments, each opening its own.
func (d *dashboardScreen) itemLinks(items []vm.DueEntry) fyne.CanvasObject {
	box := container.NewVBox()
	for _, it := range items {
		ref := it.Ref
		l := widget.NewHyperlink(d.u.msg(it.Text), nil)
		l.Wrapping = fyne.TextWrapWord
		l.OnTapped = func() { d.u.showCommitment(ref) }
		box.Add(l)
	}
	if len(items) == 0 {
		box.Add(para(d.u.T("app.dash.none")))
	}
	return box
}

func (d *dashboardScreen) render(v vm.Dashboard) {
	u := d.u
	d.view, d.charts = v, nil
	rowH := float32(theme.TextSize()) * 1.9

	statusBars := make([]report.Bar, len(v.Statuses))
	for i, s := range v.Statuses {
		statusBars[i] = report.Bar{Label: u.msg(s.Label), Value: float64(s.Count)}
	}
	byStatus := d.chart(rowH*float32(len(statusBars))+48, func(w, h int, o report.ChartOptions) image.Image {
		o.Horizontal, o.ValueTitle = true, u.T("app.dash.axis_count")
		return report.BarChart(w, h, statusBars, o)
	})

	rateBars := make([]report.Bar, len(v.Rates))
	for i, r := range v.Rates {
		rateBars[i] = report.Bar{Label: u.msg(r.Label), Value: r.Percent}
	}
	byCategory := d.chart(rowH*float32(max(1, len(rateBars)))+48, func(w, h int, o report.ChartOptions) image.Image {
		o.Horizontal, o.Max, o.ValueFormat, o.ValueTitle = true, 100, report.FormatPercent, u.T("app.dash.axis_rate")
		return report.BarChart(w, h, rateBars, o)
	})
	unrated := make([]string, len(v.Unrated))
	for i, m := range v.Unrated {
		unrated[i] = u.msg(m)
	}
	catText := para("")
	if len(unrated) > 0 {
		catText.SetText(u.T("app.dash.unrated", u.list(unrated)))
	}

	points := make([]report.Point, len(v.Months))
	for i, m := range v.Months {
		points[i] = report.Point{Label: u.msg(m.Label), Value: m.Percent, Valid: m.Valid}
	}
	monthRange := u.msg(v.MonthRange)
	byMonth := d.chart(220, func(w, h int, o report.ChartOptions) image.Image {
		o.Max, o.ValueFormat, o.ValueTitle, o.CategoryTitle = 100, report.FormatPercent, u.T("app.dash.axis_rate"), monthRange
		// Twelve values do not fit on a narrow chart: the axis says enough.
		o.HideValues = w < 520*o.Scale
		return report.LineChart(w, h, points, o)
	})

	// A chart keeps its own height when its neighbour is taller.
	charts := newColumns(380, 2,
		widget.NewCard(u.T("app.dash.by_status"), "", container.NewVBox(byStatus)),
		widget.NewCard(u.T("app.dash.by_category"), "", container.NewVBox(byCategory, catText)),
	)
	lists := newColumns(340, 2,
		widget.NewCard(u.T("app.dash.due_soon"), u.T("app.dash.open_hint"), d.itemLinks(v.DueSoon)),
		widget.NewCard(u.T("app.dash.overdue"), u.T("app.dash.open_hint"), d.itemLinks(v.Overdue)),
	)
	// Stacked panels are taller: the scroll must know.
	onReflow(charts, d.obj.Refresh)
	onReflow(lists, d.obj.Refresh)
	d.box.Objects = []fyne.CanvasObject{
		u.main.today.card, // what needs attention today, first (today.go)
		heading(u.T("app.dash.title", u.msg(v.Rate))),
		charts,
		widget.NewCard(u.T("app.dash.by_month"), "", byMonth),
		lists,
	}
	d.box.Refresh()
}

// showExport offers the public-notice list and the annual report (§六(三),
// due each 5 January) as Excel or CSV. The year proposed is one with data;
// a year without any is warned about before anything is written.
func (u *ui) showExport() {
	kinds := []string{u.T("app.export.notice"), u.T("app.export.annual")}
	kind := widget.NewRadioGroup(kinds, nil)
	kind.SetSelected(kinds[0])
	kind.Required = true
	formats := []string{"Excel (.xlsx)", "CSV (.csv)"}
	format := widget.NewRadioGroup(formats, nil)
	format.SetSelected(formats[0])
	format.Required = true
	year := u.newEntry(false)
	cs, _ := u.st.AllCommitments()
	year.SetText(strconv.Itoa(vm.AnnualYear(cs, u.se.Device().Office, u.today())))
	d := dialog.NewForm(u.T("app.export"), u.T("app.export.choose_file"), u.T("app.cancel"), []*widget.FormItem{
		widget.NewFormItem(u.T("app.export.what"), inputs(kind)),
		widget.NewFormItem(u.T("app.export.format"), inputs(format)),
		widget.NewFormItem(u.T("app.export.year"), inputs(year)),
	}, func(ok bool) {
		if ok {
			u.exportChosen(kind.Selected == kinds[1], format.Selected == formats[0], year.Text)
		}
	}, u.win)
	u.track(d).Show()
}

// exportChosen checks the choices of the export dialog, warns about a year
// without data, and asks where to save.
func (u *ui) exportChosen(annual, xlsx bool, yearText string) {
	y, err := strconv.Atoi(strings.TrimSpace(yearText))
	if annual && (err != nil || y < 2000 || y > 2100) {
		u.inform(u.T("app.error"), u.T("app.export.bad_year"))
		return
	}
	save := func() { u.askExportFile(annual, xlsx, y) }
	if !annual {
		save()
		return
	}
	cs, err := u.st.AllCommitments()
	if err != nil {
		u.showError(err)
		return
	}
	if m, warn := vm.AnnualEmptyWarning(cs, u.se.Device().Office, y); warn {
		u.confirm(u.T("app.export.empty_title"), u.msg(m), func(ok bool) {
			if ok {
				save()
			}
		})
		return
	}
	save()
}

// askExportFile asks where to save the export and writes it there off the
// UI goroutine.
func (u *ui) askExportFile(annual, xlsx bool, year int) {
	name := u.T("app.export.notice_file")
	if annual {
		name = u.T("app.export.annual_file", year)
	}
	if xlsx {
		name += ".xlsx"
	} else {
		name += ".csv"
	}
	u.askSaveExport(name, func(w fyne.URIWriteCloser) { u.export(w, annual, xlsx, year) })
}

// askSaveExport asks where to save an export, offering name, and runs
// write on the file chosen off the UI goroutine.
func (u *ui) askSaveExport(name string, write func(w fyne.URIWriteCloser)) {
	save := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		u.goWork(func(context.Context) { write(w) })
	}, u.win)
	save.SetTitleText(u.T("app.export.save_title"))
	save.SetFileName(name)
	save.Resize(u.dialogSize(800, 560))
	save.Show()
}

// export writes the chosen export to w (off the UI goroutine) and then
// says where it went, offering to open that folder.
func (u *ui) export(w fyne.URIWriteCloser, annual, xlsx bool, year int) {
	cs, err := u.st.AllCommitments()
	unit := u.officeUnit()
	today := u.today()
	if err == nil {
		switch {
		case annual && xlsx:
			err = report.WriteAnnualXLSX(w, cs, unit, year, today, u.cal, u.tr)
		case annual:
			err = report.WriteAnnualCSV(w, cs, unit, year, today, u.cal, u.tr)
		case xlsx:
			err = report.WriteNoticeXLSX(w, cs, unit, today, u.cal, u.tr)
		default:
			err = report.WriteNoticeCSV(w, cs, unit, today, u.cal, u.tr)
		}
	}
	u.closeExport(w, err, nil)
}

// closeExport closes w, the file an export (ended with err) wrote, and on
// the UI goroutine shows the error or where the file went, then runs done
// (if not nil).
func (u *ui) closeExport(w fyne.URIWriteCloser, err error, done func()) {
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	path := w.URI().Path()
	fyne.Do(func() {
		if err != nil {
			u.showError(err)
			return
		}
		u.exportDone(path)
		if done != nil {
			done()
		}
	})
}

// exportDone says where the export was saved and offers to open its
// folder.
func (u *ui) exportDone(path string) {
	text := widget.NewLabel(u.msg(vm.ExportDone(path)))
	text.Wrapping = fyne.TextWrapBreak
	var d dialog.Dialog
	open := widget.NewButtonWithIcon(u.T("app.export.open_folder"), theme.FolderOpenIcon(), func() {
		if err := u.fa.OpenURL(&url.URL{Scheme: "file", Path: vm.ExportFolder(path)}); err != nil {
			u.showError(err)
			return
		}
		d.Hide()
	})
	d = dialog.NewCustom(u.T("app.export"), u.T("app.close"), container.NewVBox(text, container.NewHBox(open)), u.win)
	d.Resize(u.dialogSize(520, 200))
	u.track(d).Show()
}
