package report

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"jiannuo/assets"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/store"
)

// The exports. Each writes one sheet (a .xlsx workbook with one worksheet,
// or a .csv file) laid out the same way in both formats, so a CSV row is a
// spreadsheet row:
//
//	row 1      the title (merged across the table in .xlsx)
//	row 2      annual report only: the day it is reckoned on
//	next row   the column headers (frozen in .xlsx)
//	then       one row per commitment or category
//	then       annual report only: the totals row and a note on definitions
//
// CSV files are UTF-8 with a byte-order mark, which Excel on Windows needs
// to read Chinese correctly, and CRLF line ends.

// utf8BOM makes Excel on Windows read a CSV file as UTF-8.
const utf8BOM = "\uFEFF"

// colKind says how a column's cells are written and styled.
type colKind uint8

const (
	colText    colKind = iota // a short string
	colWrap                   // a long string, wrapped
	colInt                    // an integer
	colPercent                // a ratio 0..1 shown as a percentage, or a string when undefined
	colDate                   // a calendar.Date: a real date cell in .xlsx, YYYY-MM-DD in .csv; nil when none
	colKinds                  // how many kinds there are
)

type column struct {
	header string
	width  float64
	kind   colKind
}

// table is one sheet, independent of the file format.
type table struct {
	sheet    string
	preamble []string // full-width rows above the header: title, as-of line
	cols     []column
	rows     iter.Seq[[]any] // string, int, float64 (percent columns) or nil
	footer   [][]any         // bold rows after the body (totals)
	notes    []string        // full-width rows at the end
}

// InNotice reports whether c belongs on the public-notice list: its public
// flag is set and it has been published, that is, its status is neither
// draft nor withdrawn. (A withdrawn commitment may have been withdrawn as a
// draft, never published; the current view cannot tell, so withdrawn
// commitments are left out.)
func InNotice(c *store.Commitment) bool {
	return c.Public && c.Status != domain.StatusDraft && c.Status != domain.StatusWithdrawn && c.Status.Valid()
}

type noticeRow struct {
	c     *store.Commitment
	cat   int           // display order of the category
	due   calendar.Date // resolved deadline; zero if none
	start calendar.Date
	est   bool // the deadline is estimated (calendar does not cover it)
}

// NoticeRows returns, in the order the notice lists them, the commitments
// of o (and of the offices inside it) that belong on the public-notice list:
// by category in display order, then by deadline (none last), start date,
// title and record. Working-day deadlines are resolved with cal.
func NoticeRows(cs []store.Commitment, o office.Unit, cal *calendar.Calendar) []store.Commitment {
	rows := noticeRows(cs, o, cal)
	out := make([]store.Commitment, len(rows))
	for i, r := range rows {
		out[i] = *r.c
	}
	return out
}

func noticeRows(cs []store.Commitment, o office.Unit, cal *calendar.Calendar) []noticeRow {
	order := map[domain.Category]int{}
	for i, c := range domain.Categories() {
		order[c] = i
	}
	var rows []noticeRow
	for i := range cs {
		c := &cs[i]
		if !InNotice(c) || !o.Code.Contains(c.Office) {
			continue
		}
		r := noticeRow{c: c, cat: len(order), start: c.Start()}
		if n, ok := order[c.Category]; ok {
			r.cat = n
		}
		if due, ok, err := c.DeadlineValue().Resolve(c.Start(), cal); ok {
			r.due, r.est = due, err != nil
		}
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(a, b noticeRow) int {
		return cmp.Or(
			cmp.Compare(a.cat, b.cat),
			cmp.Compare(string(a.c.Category), string(b.c.Category)),
			cmpDateNoneLast(a.due, b.due),
			a.start.Compare(b.start),
			strings.Compare(a.c.Title, b.c.Title),
			cmpRef(a.c.Ref, b.c.Ref),
		)
	})
	return rows
}

func cmpDateNoneLast(a, b calendar.Date) int {
	switch {
	case a.IsZero() && b.IsZero():
		return 0
	case a.IsZero():
		return 1
	case b.IsZero():
		return -1
	}
	return a.Compare(b)
}

// officeNamer names offices: o itself by its name, others from the
// built-in Luoyang directory, else by code.
func officeNamer(o office.Unit) func(office.Code) string {
	var dir *office.Directory
	names := map[office.Code]string{o.Code: cmp.Or(o.Name, string(o.Code))}
	return func(c office.Code) string {
		if n, ok := names[c]; ok {
			return n
		}
		if dir == nil {
			dir = office.Luoyang()
		}
		n := string(c)
		if u, ok := dir.Lookup(c); ok {
			n = u.Name
		}
		names[c] = n
		return n
	}
}

// dateCell is a date column's value: the date, or nil when there is none
// (an empty cell rather than a zero date).
func dateCell(d calendar.Date) any {
	if d.IsZero() {
		return nil
	}
	return d
}

// deadlineBasis is the column beside the deadline date: how the deadline
// was promised (a date, or N working days counted from the start date),
// marked when the date is estimated (the holiday calendar does not cover
// it yet), or that there is none. The date itself is in its own column, a
// real date a spreadsheet sorts and filters.
func deadlineBasis(c *store.Commitment, est bool, tr *assets.Translator) string {
	dl := c.DeadlineValue()
	var s string
	switch dl.Kind {
	case domain.NoDeadline:
		return tr.T("due.none")
	case domain.DeadlineWorkdays:
		s = tr.T("report.deadline_workdays", dl.Days)
	default:
		s = tr.T("report.deadline_date")
	}
	if est {
		s = tr.T("report.estimated", s)
	}
	return s
}

func noticeTable(cs []store.Commitment, o office.Unit, today calendar.Date, cal *calendar.Calendar, tr *assets.Translator) table {
	rows := noticeRows(cs, o, cal)
	name := officeNamer(o)
	return table{
		sheet:    tr.T("report.sheet_notice"),
		preamble: []string{tr.T("report.notice_title", cmp.Or(o.Name, string(o.Code)), today.String())},
		cols: []column{
			{tr.T("report.col_no"), 6, colInt},
			{tr.T("report.col_office"), 14, colText},
			{tr.T("report.col_category"), 12, colText},
			{tr.T("report.col_title"), 30, colWrap},
			{tr.T("report.col_text"), 60, colWrap},
			{tr.T("report.col_legal_basis"), 28, colWrap},
			{tr.T("report.col_responsible"), 18, colText},
			{tr.T("report.col_start"), 12, colDate},
			{tr.T("report.col_deadline"), 12, colDate},
			{tr.T("report.col_deadline_basis"), 16, colText},
			{tr.T("report.col_status"), 12, colText},
			{tr.T("report.col_progress"), 10, colInt},
			{tr.T("report.col_id"), 44, colText},
		},
		rows: func(yield func([]any) bool) {
			for i, r := range rows {
				c := r.c
				if !yield([]any{
					i + 1,
					name(c.Office),
					tr.T("category." + string(c.Category)),
					c.Title,
					c.Text,
					c.LegalBasis,
					c.Responsible,
					dateCell(r.start),
					dateCell(r.due),
					deadlineBasis(c, r.est, tr),
					tr.T("status." + string(c.Status)),
					c.Progress,
					c.Ref.String(),
				}) {
					return
				}
			}
		},
	}
}

func annualTable(cs []store.Commitment, o office.Unit, year int, today calendar.Date, cal *calendar.Calendar, tr *assets.Translator) table {
	var mine []store.Commitment
	for i := range cs {
		if o.Code.Contains(cs[i].Office) { // the office itself or, for a county or city, any office in it
			mine = append(mine, cs[i])
		}
	}
	asOf := AnnualAsOf(year, today)
	s := Compute(AnnualScope(mine, year), asOf, cal)
	rate := func(t Tally) any {
		if r, ok := t.OnTimeRate(); ok {
			return r
		}
		return tr.T("report.rate_none")
	}
	line := func(label string, t Tally) []any {
		return []any{label, t.Total, t.OnTime, t.Late, t.Partly, t.Breached, t.Open, t.Overdue, rate(t)}
	}
	return table{
		sheet: tr.T("report.sheet_annual"),
		preamble: []string{
			tr.T("report.annual_title", cmp.Or(o.Name, string(o.Code)), year),
			tr.T("report.annual_asof", asOf.String()),
		},
		cols: figureColumns(tr),
		rows: func(yield func([]any) bool) {
			for _, c := range s.ByCategory {
				if !yield(line(tr.T("category."+string(c.Category)), c.Tally)) {
					return
				}
			}
		},
		footer: [][]any{line(tr.T("report.total"), s.All)},
		notes:  []string{tr.T("report.annual_note")},
	}
}

// WriteNoticeXLSX writes the public-notice list (公开承诺事项清单) of office
// o as of today to w as an .xlsx workbook: every commitment of o, or of an
// office inside it, that is public and published (see InNotice), with its
// office, category, title, full text, legal basis, responsible official,
// start date, deadline (resolved with cal), status, progress and record ID.
// Headers and names come from tr.
func WriteNoticeXLSX(w io.Writer, cs []store.Commitment, o office.Unit, today calendar.Date, cal *calendar.Calendar, tr *assets.Translator) error {
	return writeXLSX(w, noticeTable(cs, o, today, cal, tr))
}

// WriteNoticeCSV writes the same list as WriteNoticeXLSX as UTF-8 CSV with a
// byte-order mark.
func WriteNoticeCSV(w io.Writer, cs []store.Commitment, o office.Unit, today calendar.Date, cal *calendar.Calendar, tr *assets.Translator) error {
	return writeCSV(w, noticeTable(cs, o, today, cal, tr))
}

// WriteAnnualXLSX writes the annual report of fulfilment by category
// (年度践诺情况报告, §六(三), due each 5 January) of office o (with the
// offices inside it) for year to w as an .xlsx workbook: a title row, the
// day the figures are reckoned on (AnnualAsOf), one row per category with
// the number of commitments in force during the year (AnnualScope) and how
// many were kept on time, late, partly, breached or are still in progress
// (of which overdue), the on-time rate, a totals row and a note.
func WriteAnnualXLSX(w io.Writer, cs []store.Commitment, o office.Unit, year int, today calendar.Date, cal *calendar.Calendar, tr *assets.Translator) error {
	return writeXLSX(w, annualTable(cs, o, year, today, cal, tr))
}

// WriteAnnualCSV writes the same report as WriteAnnualXLSX as UTF-8 CSV with
// a byte-order mark; rates are written as "87.5%".
func WriteAnnualCSV(w io.Writer, cs []store.Commitment, o office.Unit, year int, today calendar.Date, cal *calendar.Calendar, tr *assets.Translator) error {
	return writeCSV(w, annualTable(cs, o, year, today, cal, tr))
}

// csvSafe defuses spreadsheet formula injection: a text cell that Excel
// would read as a formula (starting with = + - @, tab or CR) gets a leading
// apostrophe. Only CSV needs it; .xlsx cells are typed as text.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func writeCSV(w io.Writer, t table) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString(utf8BOM); err != nil {
		return err
	}
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true
	n := len(t.cols)
	rec := make([]string, n)
	wide := func(s string) error {
		clear(rec)
		rec[0] = csvSafe(s)
		return cw.Write(rec)
	}
	values := func(vs []any) error {
		for i := range rec {
			rec[i] = ""
			if i >= len(vs) {
				continue
			}
			switch v := vs[i].(type) {
			case string:
				rec[i] = csvSafe(v)
			case int:
				rec[i] = strconv.Itoa(v)
			case calendar.Date:
				rec[i] = v.String()
			case float64:
				if t.cols[i].kind == colPercent {
					rec[i] = FormatPercent(v * 100)
				} else {
					rec[i] = strconv.FormatFloat(v, 'f', -1, 64)
				}
			case nil:
			default:
				rec[i] = fmt.Sprint(v)
			}
		}
		return cw.Write(rec)
	}
	for _, p := range t.preamble {
		if err := wide(p); err != nil {
			return err
		}
	}
	for i, c := range t.cols {
		rec[i] = c.header
	}
	if err := cw.Write(rec); err != nil {
		return err
	}
	var err error
	t.rows(func(vs []any) bool {
		err = values(vs)
		return err == nil
	})
	if err != nil {
		return err
	}
	for _, f := range t.footer {
		if err := values(f); err != nil {
			return err
		}
	}
	for _, s := range t.notes {
		if err := wide(s); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// xlsxStyles are the style IDs of one workbook, by column kind, for body
// and bold (footer) rows.
type xlsxStyles struct {
	title, sub, header, note int
	body, bold               [colKinds]int // by colKind
}

func newStyles(f *excelize.File) (xlsxStyles, error) {
	var st xlsxStyles
	border := []excelize.Border{
		{Type: "left", Color: "BFBFBF", Style: 1}, {Type: "right", Color: "BFBFBF", Style: 1},
		{Type: "top", Color: "BFBFBF", Style: 1}, {Type: "bottom", Color: "BFBFBF", Style: 1},
	}
	var errs []error
	add := func(s *excelize.Style) int {
		id, err := f.NewStyle(s)
		errs = append(errs, err)
		return id
	}
	pct, day := "0.0%", "yyyy-mm-dd"
	st.title = add(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 14}, Alignment: &excelize.Alignment{Vertical: "center"}})
	st.sub = add(&excelize.Style{Font: &excelize.Font{Color: "595959"}})
	st.note = add(&excelize.Style{Font: &excelize.Font{Italic: true, Color: "595959"}})
	st.header = add(&excelize.Style{
		Font:      &excelize.Font{Bold: true},
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}},
		Border:    border,
		Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true},
	})
	for _, bold := range []bool{false, true} {
		font := &excelize.Font{Bold: bold}
		ids := [colKinds]int{
			colText:    add(&excelize.Style{Font: font, Border: border, Alignment: &excelize.Alignment{Vertical: "top"}}),
			colWrap:    add(&excelize.Style{Font: font, Border: border, Alignment: &excelize.Alignment{Vertical: "top", WrapText: true}}),
			colInt:     add(&excelize.Style{Font: font, Border: border, Alignment: &excelize.Alignment{Vertical: "top"}, NumFmt: 1}),
			colPercent: add(&excelize.Style{Font: font, Border: border, Alignment: &excelize.Alignment{Vertical: "top", Horizontal: "right"}, CustomNumFmt: &pct}),
			colDate:    add(&excelize.Style{Font: font, Border: border, Alignment: &excelize.Alignment{Vertical: "top", Horizontal: "left"}, CustomNumFmt: &day}),
		}
		if bold {
			st.bold = ids
		} else {
			st.body = ids
		}
	}
	return st, errors.Join(errs...)
}

// writeXLSX writes a workbook of one worksheet per table, in order.
func writeXLSX(w io.Writer, tables ...table) (err error) {
	f := excelize.NewFile()
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	st, err := newStyles(f)
	if err != nil {
		return err
	}
	for i, t := range tables {
		sheet := sheetName(t.sheet)
		if i == 0 {
			err = f.SetSheetName(f.GetSheetName(0), sheet)
		} else {
			_, err = f.NewSheet(sheet)
		}
		if err != nil {
			return err
		}
		if err := writeSheet(f, st, sheet, t); err != nil {
			return err
		}
	}
	_, err = f.WriteTo(w)
	return err
}

// writeSheet writes table t to the worksheet sheet of f.
func writeSheet(f *excelize.File, st xlsxStyles, sheet string, t table) (err error) {
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	n := len(t.cols)
	lastCol, _ := excelize.ColumnNumberToName(n)
	for i, c := range t.cols {
		if err := sw.SetColWidth(i+1, i+1, c.width); err != nil {
			return err
		}
	}
	headerRow := len(t.preamble) + 1
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: headerRow, TopLeftCell: "A" + strconv.Itoa(headerRow+1), ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	row := 0
	wide := func(s string, style int, height float64) error {
		row++
		cell := "A" + strconv.Itoa(row)
		opts := []excelize.RowOpts{}
		if height > 0 {
			opts = append(opts, excelize.RowOpts{Height: height})
		}
		if err := sw.SetRow(cell, []any{excelize.Cell{StyleID: style, Value: s}}, opts...); err != nil {
			return err
		}
		if n > 1 {
			return sw.MergeCell(cell, lastCol+strconv.Itoa(row))
		}
		return nil
	}
	for i, p := range t.preamble {
		style, height := st.sub, 0.0
		if i == 0 {
			style, height = st.title, 26
		}
		if err := wide(p, style, height); err != nil {
			return err
		}
	}
	buf := make([]any, n)
	cells := make([]excelize.Cell, n)
	put := func(vs []any, styles [colKinds]int) error {
		row++
		for i := range buf {
			var v any
			if i < len(vs) {
				v = vs[i]
			}
			if d, ok := v.(calendar.Date); ok {
				v = time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) // a date cell, shown as yyyy-mm-dd
			}
			cells[i] = excelize.Cell{StyleID: styles[t.cols[i].kind], Value: v}
			buf[i] = cells[i]
		}
		return sw.SetRow("A"+strconv.Itoa(row), buf)
	}
	for i, c := range t.cols {
		cells[i] = excelize.Cell{StyleID: st.header, Value: c.header}
		buf[i] = cells[i]
	}
	row++
	if err := sw.SetRow("A"+strconv.Itoa(row), buf, excelize.RowOpts{Height: 22}); err != nil {
		return err
	}
	t.rows(func(vs []any) bool {
		err = put(vs, st.body)
		return err == nil
	})
	if err != nil {
		return err
	}
	for _, fr := range t.footer {
		if err := put(fr, st.bold); err != nil {
			return err
		}
	}
	for _, s := range t.notes {
		if err := wide(s, st.note, 0); err != nil {
			return err
		}
	}
	return sw.Flush()
}

// sheetName makes s a valid worksheet name: at most 31 characters, none of
// : \ / ? * [ ], not blank.
func sheetName(s string) string {
	s = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`:\/?*[]`, r) {
			return '_'
		}
		return r
	}, s)
	s = strings.Trim(s, "' ")
	if r := []rune(s); len(r) > 31 {
		s = string(r[:31])
	}
	if s == "" {
		s = "Sheet1"
	}
	return s
}

// figureColumns are the columns of a year's figures by category: the
// annual export's and the annual report's.
func figureColumns(tr *assets.Translator) []column {
	return []column{
		{tr.T("report.col_category"), 18, colText},
		{tr.T("report.col_count"), 12, colInt},
		{tr.T("report.col_on_time"), 12, colInt},
		{tr.T("report.col_late"), 12, colInt},
		{tr.T("report.col_partly"), 12, colInt},
		{tr.T("report.col_breached"), 12, colInt},
		{tr.T("report.col_open"), 12, colInt},
		{tr.T("report.col_overdue"), 12, colInt},
		{tr.T("report.col_rate"), 12, colPercent},
	}
}
