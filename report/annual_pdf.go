package report

import (
	"cmp"
	"io"
	"strconv"

	"jiannuo/assets"
	"jiannuo/sync/protocol"
)

// The annual report as an A4 PDF, laid out like the public notice (same
// fonts, margins, running header and "page n of m" footer, black on white
// for an office printer): the title and who signed it, then 一、 the
// figures by category, 二、 the narrative, 三、 the notable commitments
// and, for a compilation, 四、 where each office's report stands.

// AnnualPDFResult says what WriteAnnualReportPDF wrote.
type AnnualPDFResult struct {
	Pages int
	// Missing lists the characters the embedded font has no glyph for
	// (they print as blanks).
	Missing []rune
}

// pdfTable is a table the report prints: column widths in millimetres,
// the header, the rows; the last row bold when boldLast.
type pdfTable struct {
	widths   []float64
	header   []string
	rows     [][]string
	boldLast bool
}

// annualSection is one numbered part of the report.
type annualSection struct {
	heading string
	paras   []string // paragraphs, indented
	items   []string // numbered lines
	table   *pdfTable
	note    string // small print under it
}

// WriteAnnualReportPDF writes the annual report d to w as an A4 PDF with
// the app's Chinese font embedded (only the characters used).
func WriteAnnualReportPDF(w io.Writer, d AnnualDoc, tr *assets.Translator) (AnnualPDFResult, error) {
	secs := d.pdfSections(tr)
	title, sub := d.title(tr), tr.T("report.annual_asof", d.AsOf.String())+"　　"+d.signedLine(tr)
	name := cmp.Or(d.Unit.Name, string(d.Unit.Code))
	header := tr.T("annual.header_date", d.Printed.String())
	texts := []string{"0123456789%.…—", title, sub, name, header, tr.T("notice.page", 1, 1), d.Printed.String()}
	for _, s := range secs {
		texts = append(texts, s.heading, s.note)
		texts = append(texts, s.paras...)
		texts = append(texts, s.items...)
		if t := s.table; t != nil {
			texts = append(texts, t.header...)
			for _, r := range t.rows {
				texts = append(texts, r...)
			}
		}
	}
	fonts, missing, err := subsetFonts(texts)
	if err != nil {
		return AnnualPDFResult{}, err
	}
	cfg := NoticeConfig{Unit: d.Unit, Today: d.Printed, Tr: tr}
	render := func(total int) *noticeWriter {
		nw := newNoticeWriter(cfg, tr, fonts, total)
		nw.title, nw.headerDate = title, header
		nw.pdf.SetTitle(title, true)
		nw.newPage(true)
		nw.centred(title, 20, "B")
		nw.y++
		nw.centred(sub, 10.5, "")
		nw.doubleRule()
		for _, s := range secs {
			nw.section(s)
		}
		return nw
	}
	first := render(0)
	if err := first.pdf.Error(); err != nil {
		return AnnualPDFResult{}, err
	}
	nw := render(first.pdf.PageNo())
	if err := nw.pdf.Output(w); err != nil {
		return AnnualPDFResult{}, err
	}
	return AnnualPDFResult{Pages: nw.pdf.PageNo(), Missing: missing}, nil
}

// pdfSections lays the document out in its numbered parts.
func (d *AnnualDoc) pdfSections(tr *assets.Translator) []annualSection {
	n := 0
	heading := func(key string) string { n++; return tr.T("annual.section", ordinal(n, tr), tr.T(key)) }
	pct := func(v float64, ok bool) string {
		if !ok {
			return tr.T("report.rate_none")
		}
		return FormatPercent(v * 100)
	}
	figures := &pdfTable{widths: []float64{38, 16, 16, 16, 16, 16, 16, 16, 24}, boldLast: true,
		header: []string{tr.T("report.col_category"), tr.T("annual.pdf_count"), tr.T("report.col_on_time"), tr.T("report.col_late"),
			tr.T("report.col_partly"), tr.T("report.col_breached"), tr.T("report.col_open"), tr.T("annual.pdf_overdue"), tr.T("report.col_rate")}}
	itoa := func(v uint32) string { return strconv.Itoa(int(v)) }
	for _, f := range append(append([]protocol.ReportFigure(nil), d.Figures...), d.Totals()) {
		label := categoryName(f.Category, tr)
		if f.Category == "" {
			label = tr.T("report.total")
		}
		r, ok := FigureRate(f)
		figures.rows = append(figures.rows, []string{label, itoa(f.Total), itoa(f.OnTime), itoa(f.Late), itoa(f.Partly), itoa(f.Breached),
			itoa(f.Open), itoa(f.Overdue), pct(r, ok)})
	}
	secs := []annualSection{
		{heading: heading("annual.part_figures"), table: figures, note: tr.T("report.annual_note")},
		{heading: heading("annual.part_narrative"), paras: d.Paragraphs()},
	}
	notable := annualSection{heading: heading("annual.part_notable")}
	for i, it := range d.Notable {
		line := strconv.Itoa(i+1) + ". "
		if len(d.Parts) > 0 {
			line += it.Office + "："
		}
		line += it.Title
		var detail []string
		if it.Responsible != "" {
			detail = append(detail, tr.T("annual.notable_responsible", it.Responsible))
		}
		if it.Status != "" {
			detail = append(detail, tr.T("status."+string(it.Status)))
		}
		if len(detail) > 0 {
			line = tr.T("annual.notable_detail", line, joinList(detail, tr))
		}
		notable.items = append(notable.items, line)
	}
	if len(d.Notable) == 0 {
		notable.paras = []string{tr.T("annual.notable_none")}
	}
	secs = append(secs, notable)
	if len(d.Parts) > 0 {
		parts := &pdfTable{widths: []float64{50, 26, 26, 14, 20, 38},
			header: []string{tr.T("report.col_office"), tr.T("annual.col_status"), tr.T("annual.col_first"), tr.T("annual.col_version"),
				tr.T("annual.pdf_count"), tr.T("report.col_rate")}}
		for _, p := range d.Parts {
			row := []string{cmp.Or(p.Unit.Name, string(p.Unit.Code)), tr.T(p.Key()), "—", "—", "—", "—"}
			if r := p.Report; r != nil {
				rep := protocol.AnnualReport{Figures: r.Current.Figures}
				t := rep.Totals()
				v, ok := FigureRate(t)
				row[2], row[3], row[4], row[5] = r.FirstSubmitted().String(), strconv.Itoa(r.Version), itoa(t.Total), pct(v, ok)
			}
			parts.rows = append(parts.rows, row)
		}
		secs = append(secs, annualSection{heading: heading("annual.part_parts"), table: parts,
			note: tr.T("annual.deadline_line", AnnualDeadline(d.Year).String())})
	}
	return secs
}

// joinList joins short phrases as the language lists them.
func joinList(items []string, tr *assets.Translator) string {
	sep := "；"
	if tr.Lang() == assets.LangEn {
		sep = "; "
	}
	out := ""
	for i, s := range items {
		if i > 0 {
			out += sep
		}
		out += s
	}
	return out
}

// centred prints one line (wrapped if long) centred across the page.
func (nw *noticeWriter) centred(s string, size float64, style string) {
	nw.setFont(style, size)
	for _, l := range nw.wrap(s, contentW, 0) {
		nw.pdf.Text((pageW-nw.pdf.GetStringWidth(l))/2, nw.y+size*ptToMM, l)
		nw.y += lineH(size)
	}
}

// doubleRule draws the rule under a title.
func (nw *noticeWriter) doubleRule() {
	nw.y++
	nw.pdf.SetLineWidth(0.6)
	nw.pdf.Line(marginX, nw.y, pageW-marginX, nw.y)
	nw.pdf.SetLineWidth(0.2)
	nw.pdf.Line(marginX, nw.y+0.9, pageW-marginX, nw.y+0.9)
	nw.y += 4
}

// section prints one numbered part of the report.
func (nw *noticeWriter) section(s annualSection) {
	keep := lineH(11) * 2
	if s.table != nil {
		keep = 2 * (lineH(9.5) + 2)
	}
	nw.heading(s.heading, 13, 0.8, keep)
	for _, p := range s.paras {
		nw.paragraph("　　"+p, 11, "", 0)
		nw.y += 1
	}
	for _, it := range s.items {
		nw.paragraph(it, 10.5, "", 0)
		nw.y += 0.5
	}
	if s.table != nil {
		nw.table(s.table)
	}
	if s.note != "" {
		nw.y += 1
		nw.paragraph(s.note, 8.5, "", 0)
	}
	nw.y += 3
}

// table prints t with thin rules, the header bold and repeated on a new
// page; text cells left-aligned, the rest right-aligned; a cell too wide
// is cut with an ellipsis.
func (nw *noticeWriter) table(t *pdfTable) {
	const size = 9.5
	rowH := lineH(size) + 2
	scale := contentW / sum(t.widths)
	cell := func(row []string, bold bool) {
		nw.setFont(map[bool]string{true: "B", false: ""}[bold], size)
		x := marginX
		for i, s := range row {
			cw := t.widths[i] * scale
			for s != "" && nw.pdf.GetStringWidth(s) > cw-2 {
				r := []rune(s)
				s = string(r[:len(r)-1])
				if len(r) > 1 {
					s = string(r[:len(r)-2]) + "…"
				}
			}
			tx := x + 1
			if i > 0 {
				tx = x + cw - 1 - nw.pdf.GetStringWidth(s)
			}
			nw.pdf.Text(tx, nw.y+rowH/2+size*ptToMM/2-0.4, s)
			x += cw
		}
		nw.y += rowH
		nw.pdf.SetLineWidth(0.15)
		nw.pdf.Line(marginX, nw.y, pageW-marginX, nw.y)
	}
	head := func() {
		nw.pdf.SetLineWidth(0.4)
		nw.pdf.Line(marginX, nw.y, pageW-marginX, nw.y)
		cell(t.header, true)
	}
	nw.ensure(2 * rowH)
	head()
	for i, r := range t.rows {
		if nw.y+rowH > nw.bottom() {
			nw.newPage(false)
			head()
		}
		cell(r, t.boldLast && i == len(t.rows)-1)
	}
	nw.pdf.SetLineWidth(0.4)
	nw.pdf.Line(marginX, nw.y, pageW-marginX, nw.y)
	nw.pdf.SetLineWidth(0.2)
}

func sum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}
