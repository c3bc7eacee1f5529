package app

import (
	"fmt"
	"image/color"
	"io"
	"strconv"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/report"
)

// dashboardScreen shows counts by status, the on-time fulfilment rate by
// category and by month as charts, what is due in the next five working
// days and what is overdue.
type dashboardScreen struct {
	u   *ui
	box *fyne.Container
	obj fyne.CanvasObject
}

func newDashboardScreen(u *ui) *dashboardScreen {
	d := &dashboardScreen{u: u, box: container.NewVBox()}
	d.obj = container.NewVScroll(container.NewPadded(d.box))
	return d
}

func (d *dashboardScreen) colour(name fyne.ThemeColorName) color.Color {
	return d.u.fa.Settings().Theme().Color(name, d.u.fa.Settings().ThemeVariant())
}

// refresh recomputes the statistics (off the UI goroutine: with years of
// data it takes a moment) and redraws.
func (d *dashboardScreen) refresh() {
	u := d.u
	today := u.today()
	go func() {
		cs, err := u.st.AllCommitments()
		if err != nil {
			fyne.Do(func() { u.showError(err) })
			return
		}
		st := report.Compute(cs, today, u.cal)
		fyne.Do(func() { d.render(st) })
	}()
}

func (d *dashboardScreen) render(st report.Stats) {
	u := d.u
	opts := report.ChartOptions{Bar: d.colour(theme.ColorNamePrimary), Text: d.colour(theme.ColorNameForeground),
		Axis: d.colour(theme.ColorNameForeground), Scale: 2}

	cards := container.NewGridWithColumns(4)
	for _, s := range domain.Statuses() {
		n := widget.NewLabel(strconv.Itoa(st.All.ByStatus[s]))
		n.TextStyle = fyne.TextStyle{Bold: true}
		cards.Add(widget.NewCard("", u.T("status."+string(s)), n))
	}
	rate := "—"
	if r, ok := st.All.OnTimeRate(); ok {
		rate = report.FormatPercent(r * 100)
	}

	statusImg := canvas.NewImageFromImage(report.BarChart(900, 300, report.StatusBars(st.All), opts))
	statusImg.FillMode = canvas.ImageFillContain
	statusImg.SetMinSize(fyne.NewSize(450, 150))
	var statusNames []string
	for _, s := range domain.Statuses() {
		statusNames = append(statusNames, u.T("status."+string(s)))
	}

	catRates := widget.NewLabel("")
	catRates.Wrapping = fyne.TextWrapWord
	var lines string
	for _, c := range st.ByCategory {
		if c.Total == 0 {
			continue
		}
		r := "—"
		if v, ok := c.OnTimeRate(); ok {
			r = report.FormatPercent(v * 100)
		}
		lines += u.T("app.dash.category_line", u.T("category."+string(c.Category)), c.Total, r) + "\n"
	}
	catRates.SetText(lines)
	rateOpts := opts
	rateOpts.Max, rateOpts.Horizontal = 100, true
	var bars []report.Bar
	for _, b := range report.RateBars(st.ByCategory) {
		if b.Value == b.Value { // not NaN: a category with a verdict
			bars = append(bars, b)
		}
	}
	catImg := canvas.NewImageFromImage(report.BarChart(900, 40+36*max(1, len(bars)), bars, rateOpts))
	catImg.FillMode = canvas.ImageFillContain
	catImg.SetMinSize(fyne.NewSize(450, float32(20+18*max(1, len(bars)))))
	var barNames []string
	for _, b := range bars {
		barNames = append(barNames, u.T("category."+b.Label))
	}

	lineOpts := opts
	lineOpts.Max = 100
	monthImg := canvas.NewImageFromImage(report.LineChart(900, 300, report.RatePoints(st.ByMonth), lineOpts))
	monthImg.FillMode = canvas.ImageFillContain
	monthImg.SetMinSize(fyne.NewSize(450, 150))
	months := container.NewGridWithColumns(max(1, len(st.ByMonth)))
	for _, m := range st.ByMonth {
		l := widget.NewLabel(fmt.Sprintf("%d", m.Month))
		l.Alignment = fyne.TextAlignCenter
		months.Add(l)
	}

	soon := container.NewVBox()
	for _, it := range st.DueSoon {
		soon.Add(para(u.T("app.dash.item", it.Commitment.Title, it.Commitment.Responsible, u.dueText(it.Due))))
	}
	if len(st.DueSoon) == 0 {
		soon.Add(para(u.T("app.dash.none")))
	}
	overdue := container.NewVBox()
	for _, it := range st.Overdue {
		overdue.Add(para(u.T("app.dash.item", it.Commitment.Title, it.Commitment.Responsible, u.dueText(it.Due))))
	}
	if len(st.Overdue) == 0 {
		overdue.Add(para(u.T("app.dash.none")))
	}

	d.box.Objects = []fyne.CanvasObject{
		heading(u.T("app.dash.title", rate)),
		cards,
		widget.NewCard(u.T("app.dash.by_status"), joinNames(statusNames), statusImg),
		widget.NewCard(u.T("app.dash.by_category"), joinNames(barNames), container.NewGridWithColumns(2, catImg, catRates)),
		widget.NewCard(u.T("app.dash.by_month"), "", container.NewVBox(monthImg, months)),
		container.NewGridWithColumns(2, widget.NewCard(u.T("app.dash.due_soon"), "", soon), widget.NewCard(u.T("app.dash.overdue"), "", overdue)),
	}
	d.box.Refresh()
}

func joinNames(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += " · "
		}
		out += n
	}
	return out
}

// showExport offers the public-notice list and the annual report (§六(三),
// due each 5 January) as Excel or CSV. Writing runs off the UI goroutine.
func (u *ui) showExport() {
	kinds := []string{u.T("app.export.notice"), u.T("app.export.annual")}
	kind := widget.NewRadioGroup(kinds, nil)
	kind.SetSelected(kinds[0])
	formats := []string{"Excel (.xlsx)", "CSV (.csv)"}
	format := widget.NewRadioGroup(formats, nil)
	format.SetSelected(formats[0])
	year := widget.NewEntry()
	year.SetText(strconv.Itoa(u.today().Year - 1))
	dialog.ShowForm(u.T("app.export"), u.T("app.export.choose_file"), u.T("app.cancel"), []*widget.FormItem{
		widget.NewFormItem(u.T("app.export.what"), kind),
		widget.NewFormItem(u.T("app.export.format"), format),
		widget.NewFormItem(u.T("app.export.year"), year),
	}, func(ok bool) {
		if !ok {
			return
		}
		annual := kind.Selected == kinds[1]
		xlsx := format.Selected == formats[0]
		y, err := strconv.Atoi(year.Text)
		if annual && (err != nil || y < 2000 || y > 2100) {
			dialog.ShowInformation(u.T("app.error"), u.T("app.export.bad_year"), u.win)
			return
		}
		save := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
			if err != nil || w == nil {
				return
			}
			go u.export(w, annual, xlsx, y)
		}, u.win)
		name := u.T("app.export.notice_file")
		if annual {
			name = u.T("app.export.annual_file", y)
		}
		if xlsx {
			name += ".xlsx"
		} else {
			name += ".csv"
		}
		save.SetFileName(name)
		save.Show()
	}, u.win)
}

func (u *ui) export(w io.WriteCloser, annual, xlsx bool, year int) {
	cs, err := u.st.AllCommitments()
	unit, _ := office.Luoyang().Lookup(u.se.Device().Office)
	if unit.Code == "" {
		unit = office.Unit{Code: u.se.Device().Office, Name: string(u.se.Device().Office)}
	}
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
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	fyne.Do(func() {
		if err != nil {
			u.showError(err)
			return
		}
		dialog.ShowInformation(u.T("app.export"), u.T("app.export.done"), u.win)
	})
}
