package vm

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"jiannuo/assets"
	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/store"
)

// Importing the year's commitment list from the Excel template
// (WriteImportTemplate): ReadImport checks the file and every row and
// returns a preview; nothing is stored until ApplyImport, which creates
// every row in one transaction (store.Session.CreateBatch) or none.
//
// Who may import: anyone who may create commitments, that is staff and
// leaders (creating a draft needs no more than staff, as in the form). A
// row that asks to be published at once (立即发布 = 是) needs a leader, as
// publishing does anywhere else; a staff member's file with such a row is
// refused at that row, and the rows become drafts for the leader to
// publish once the column says 否.

// Limits of an import file.
const (
	// MaxImportRows is the most commitments one file may hold. A
	// township's list for a year is tens to a few hundred; a file with
	// more rows than this (the 10,000-row file of the issue) is refused
	// before any row is checked.
	MaxImportRows = 5000
	// MaxImportBytes is the largest file accepted (20 MiB: a full
	// 5,000-row template with long texts is a few MiB).
	MaxImportBytes = 20 << 20
	// maxImportUnzipped bounds what the file may unpack to (a zip bomb
	// declares far more). Go's zip reader never returns more bytes than
	// an entry declares, so the declared sizes are a real bound.
	maxImportUnzipped = 100 << 20
	// maxImportEntries bounds the number of parts in the zip.
	maxImportEntries = 1000
)

// Refusals of a whole file. Each carries a stable code (its text), logged
// and used as the message's translation key "import.err.<code>".
var (
	ErrImportTooLarge    = errors.New("import_too_large")     // the file is over MaxImportBytes
	ErrImportXLS         = errors.New("import_xls")           // an old binary .xls (or an encrypted workbook)
	ErrImportNotXLSX     = errors.New("import_not_xlsx")      // not a zip at all
	ErrImportCorrupt     = errors.New("import_corrupt")       // a damaged zip or workbook
	ErrImportUnzipLimit  = errors.New("import_unzip_limit")   // unpacks to too much: a zip bomb
	ErrImportTemplate    = errors.New("import_template")      // no sheet with the template's headers
	ErrImportMerged      = errors.New("import_merged")        // merged cells in the sheet
	ErrImportFormula     = errors.New("import_formula")       // a formula in a cell read
	ErrImportTooManyRows = errors.New("import_too_many_rows") // more than MaxImportRows rows
	ErrImportEmpty       = errors.New("import_empty")         // no row besides the example
)

// ImportFileError is a file ReadImport refuses as a whole: Err is one of
// the ErrImport… sentinels, Args the details its message shows (cells,
// limits).
type ImportFileError struct {
	Err  error
	Args []any
}

// Error describes the error for logs.
func (e *ImportFileError) Error() string {
	if len(e.Args) == 0 {
		return e.Err.Error()
	}
	return fmt.Sprintf("%v: %v", e.Err, e.Args)
}

// Unwrap returns the sentinel.
func (e *ImportFileError) Unwrap() error { return e.Err }

// Message is what to tell the user.
func (e *ImportFileError) Message() Message { return Msg("import.err."+e.Err.Error(), e.Args...) }

// ImportErrorMessage turns an error of ReadImport or ApplyImport into a
// plain-language message; other errors as ErrorMessage does.
func ImportErrorMessage(err error) Message {
	var fe *ImportFileError
	if errors.As(err, &fe) {
		return fe.Message()
	}
	return ErrorMessage(err)
}

// ImportRow is a row of the file that passed every check, as the form it
// fills in.
type ImportRow struct {
	Row     int  // the row's number in the spreadsheet (row 1 is the header)
	Form    Form // what the new-commitment form would hold
	Publish bool // publish it at once
}

// ImportIssue is one thing wrong with one cell (or a whole row).
type ImportIssue struct {
	Row    int     // the row's number in the spreadsheet
	Column string  // the column's letter, "A" … "K"
	Header string  // the column's header key (translate it)
	Msg    Message // what is wrong, as the form says it
}

// Message is the issue as one line: "第 5 行 H 列（截止日期）：日期无效".
func (i ImportIssue) Message() Message {
	return Msg("import.issue", i.Row, i.Column, Msg(i.Header), i.Msg)
}

// ImportPreview is what ReadImport found: the rows to import and, if any,
// what is wrong. Nothing is imported while Issues is not empty.
type ImportPreview struct {
	Rows           []ImportRow
	Issues         []ImportIssue // in row, then column order
	ExampleSkipped bool          // the template's example row was left as it is and is not imported
	Publish        int           // rows to be published at once
	// SameTitle lists rows whose title is already a commitment's of the
	// office (not withdrawn): importing the same file twice is the usual
	// cause. A warning only.
	SameTitle []int
}

// OK reports whether the preview can be imported.
func (p *ImportPreview) OK() bool { return len(p.Issues) == 0 && len(p.Rows) > 0 }

// Summary is the preview's one-line summary.
func (p *ImportPreview) Summary() Message {
	if len(p.Issues) > 0 {
		rows := map[int]bool{}
		for _, i := range p.Issues {
			rows[i.Row] = true
		}
		return Msg("import.summary_bad", len(p.Rows)+len(rows), len(rows), len(p.Issues))
	}
	return Msg("import.summary_ok", len(p.Rows), p.Publish)
}

// ImportConfig is what ReadImport checks a file against.
type ImportConfig struct {
	// Role is the importer's: rows to publish at once need a leader.
	Role domain.Role
	// Existing are the commitments already on the device, for the
	// same-title warning; only those of Office count.
	Existing []store.Commitment
	Office   office.Code // the importing device's office
	// Logger logs refused files; nil means slog.Default().
	Logger *slog.Logger
}

// ReadImport reads an import file (at most MaxImportBytes from r) and
// checks it whole before anything is stored: the file must be an .xlsx
// (an old .xls is recognised by its first bytes and refused), an intact
// zip that unpacks to at most 100 MiB, with a sheet whose first row has
// the template's headers (in Chinese or English), no merged cells, no
// formula in a cell read, at most MaxImportRows rows; a refused file gives
// an *ImportFileError. Then every row is checked with the new-commitment
// form's rules (Form.Validate) plus the template's lists; what is wrong is
// in the preview's Issues, by row and column.
func ReadImport(r io.Reader, cfg ImportConfig) (*ImportPreview, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	p, err := readImport(r, cfg)
	if err != nil {
		code := "import_failed"
		var fe *ImportFileError
		if errors.As(err, &fe) {
			code = fe.Err.Error()
		}
		log.Info("import file refused", "code", code, "err", err)
		return nil, err
	}
	if len(p.Issues) > 0 {
		log.Info("import file has errors", "rows", len(p.Rows), "issues", len(p.Issues), "first_row", p.Issues[0].Row)
	}
	return p, nil
}

func refuse(err error, args ...any) error { return &ImportFileError{Err: err, Args: args} }

func readImport(r io.Reader, cfg ImportConfig) (*ImportPreview, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxImportBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxImportBytes {
		return nil, refuse(ErrImportTooLarge, MaxImportBytes>>20)
	}
	if err := checkZip(data); err != nil {
		return nil, err
	}
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{
		UnzipSizeLimit: maxImportUnzipped, UnzipXMLSizeLimit: maxImportUnzipped})
	if err != nil {
		return nil, refuse(ErrImportCorrupt)
	}
	defer f.Close()
	sheet, rows, seen, err := importRows(f)
	if err != nil {
		return nil, err
	}
	if merged, err := f.GetMergeCells(sheet, true); err != nil {
		return nil, refuse(ErrImportCorrupt)
	} else if len(merged) > 0 {
		var refs []string
		for _, m := range merged[:min(len(merged), 5)] {
			refs = append(refs, m.GetStartAxis()+":"+m.GetEndAxis())
		}
		return nil, refuse(ErrImportMerged, strings.Join(refs, ", "))
	}
	var formulas []string
	for _, n := range seen { // empty-looking rows too: a formula's cached value may be empty
		for col := range importColumns {
			cell := columnLetter(col) + strconv.Itoa(n)
			if fx, err := f.GetCellFormula(sheet, cell); err != nil {
				return nil, refuse(ErrImportCorrupt)
			} else if fx != "" {
				formulas = append(formulas, cell)
			}
		}
	}
	if len(formulas) > 0 {
		return nil, refuse(ErrImportFormula, strings.Join(formulas[:min(len(formulas), 5)], ", "), len(formulas))
	}
	date1904 := false
	if props, err := f.GetWorkbookProps(); err == nil && props.Date1904 != nil {
		date1904 = *props.Date1904
	}
	return checkRows(rows, cfg, date1904)
}

// checkZip refuses what is not an intact .xlsx zip of a sane size before
// the spreadsheet library parses it.
func checkZip(data []byte) error {
	// An .xls (Excel 97–2003) and an encrypted workbook are OLE2 compound
	// files: D0 CF 11 E0 A1 B1 1A E1.
	if bytes.HasPrefix(data, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}) {
		return refuse(ErrImportXLS)
	}
	if !bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		return refuse(ErrImportNotXLSX)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return refuse(ErrImportCorrupt)
	}
	if len(zr.File) > maxImportEntries {
		return refuse(ErrImportUnzipLimit, maxImportUnzipped>>20)
	}
	var total uint64
	for _, zf := range zr.File {
		total += zf.UncompressedSize64
		if total > maxImportUnzipped {
			return refuse(ErrImportUnzipLimit, maxImportUnzipped>>20)
		}
	}
	return nil
}

// rawRow is one non-empty row of the data sheet as stored.
type rawRow struct {
	n     int      // the row's number
	cells []string // the template's columns, "" where empty
}

// importRows finds the data sheet (the first whose row 1 has the
// template's headers) and returns its non-empty rows after the header and
// the numbers of all its rows after the header, empty ones included. It
// refuses a sheet with more than MaxImportRows non-empty rows (or four
// times as many in all) as soon as it has read one too many.
func importRows(f *excelize.File) (string, []rawRow, []int, error) {
	for _, sheet := range f.GetSheetList() {
		rows, err := f.Rows(sheet)
		if err != nil {
			return "", nil, nil, refuse(ErrImportCorrupt)
		}
		if !rows.Next() {
			rows.Close()
			continue
		}
		head, err := rows.Columns()
		if err != nil || !isImportHeader(head) {
			rows.Close()
			continue
		}
		out, seen, err := readRawRows(rows)
		rows.Close()
		if err != nil {
			return "", nil, nil, err
		}
		return sheet, out, seen, nil
	}
	return "", nil, nil, refuse(ErrImportTemplate, strings.Join(importHeaders(translators()[0]), "、"))
}

// readRawRows reads the rows after the header (see importRows).
func readRawRows(rows *excelize.Rows) ([]rawRow, []int, error) {
	var out []rawRow
	var seen []int
	n := 1
	for rows.Next() {
		n++
		// The example row may be one of them: one more is allowed.
		if len(out) > MaxImportRows+1 || len(seen) > 4*MaxImportRows {
			return nil, nil, refuse(ErrImportTooManyRows, MaxImportRows)
		}
		cols, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, nil, refuse(ErrImportCorrupt)
		}
		seen = append(seen, n)
		cells := make([]string, len(importColumns))
		empty := true
		for i := range cells {
			if i < len(cols) {
				cells[i] = strings.TrimSpace(strings.ReplaceAll(cols[i], "\r\n", "\n"))
				empty = empty && cells[i] == ""
			}
		}
		if !empty {
			out = append(out, rawRow{n: n, cells: cells})
		}
	}
	if err := rows.Error(); err != nil {
		return nil, nil, refuse(ErrImportCorrupt)
	}
	return out, seen, nil
}

// translators are the languages a template may be written in.
func translators() []*assets.Translator {
	return []*assets.Translator{assets.NewTranslator(assets.LangZhHans), assets.NewTranslator(assets.LangEn)}
}

func importHeaders(tr *assets.Translator) []string {
	out := make([]string, len(importColumns))
	for i, c := range importColumns {
		out[i] = tr.T(c.key)
	}
	return out
}

// normHeader compares headers leniently: no spaces, no required-marks,
// no case.
func normHeader(s string) string {
	return strings.ToLower(strings.Map(func(r rune) rune {
		if r == ' ' || r == '\u3000' || r == '*' || r == '＊' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, s))
}

// isImportHeader reports whether row is the template's header row in one
// of its languages (extra columns after K are ignored).
func isImportHeader(row []string) bool {
	for _, tr := range translators() {
		want := importHeaders(tr)
		if len(row) < len(want) {
			continue
		}
		ok := true
		for i, h := range want {
			ok = ok && normHeader(row[i]) == normHeader(h)
		}
		if ok {
			return true
		}
	}
	return false
}

// importVocab maps what a cell of a list column may hold, in either
// language (or a category's ID), to its meaning.
type importVocab struct {
	cats    map[string]domain.Category
	kinds   map[string]domain.DeadlineKind
	yesNo   map[string]bool
	example [][]string // the example row in each language
}

func newImportVocab() importVocab {
	v := importVocab{cats: map[string]domain.Category{}, kinds: map[string]domain.DeadlineKind{},
		yesNo: map[string]bool{"true": true, "false": false, "1": true, "0": false, "y": true, "n": false}}
	for _, c := range domain.Categories() {
		v.cats[normHeader(string(c))] = c
	}
	for _, tr := range translators() {
		for _, c := range domain.Categories() {
			v.cats[normHeader(tr.T("category."+string(c)))] = c
		}
		v.kinds[normHeader(tr.T(keyKindDate))] = domain.DeadlineDate
		v.kinds[normHeader(tr.T(keyKindWorkdays))] = domain.DeadlineWorkdays
		v.kinds[normHeader(tr.T(keyKindNone))] = domain.NoDeadline
		v.yesNo[normHeader(tr.T(keyYes))] = true
		v.yesNo[normHeader(tr.T(keyNo))] = false
		v.example = append(v.example, importExampleRow(tr))
	}
	return v
}

// isExample reports whether a row is the template's example, unchanged
// in its texts.
func (v importVocab) isExample(cells []string) bool {
	for _, ex := range v.example {
		same := true
		for _, f := range []string{FieldTitle, FieldText, FieldLegalBasis, FieldResponsible} {
			i := importColumnIndex(f)
			same = same && cells[i] == ex[i]
		}
		if same {
			return true
		}
	}
	return false
}

// checkRows turns the rows into forms and checks each as the form would.
func checkRows(rows []rawRow, cfg ImportConfig, date1904 bool) (*ImportPreview, error) {
	v := newImportVocab()
	p := &ImportPreview{}
	existing := map[string]bool{}
	for _, c := range cfg.Existing {
		if c.Office == cfg.Office && c.Status != domain.StatusWithdrawn {
			existing[strings.TrimSpace(c.Title)] = true
		}
	}
	for _, raw := range rows {
		if !p.ExampleSkipped && v.isExample(raw.cells) {
			p.ExampleSkipped = true
			continue
		}
		var issues []ImportIssue
		bad := func(field string, m Message) {
			i := importColumnIndex(field)
			issues = append(issues, ImportIssue{Row: raw.n, Column: columnLetter(i), Header: importColumns[i].key, Msg: m})
		}
		cell := func(field string) string { return raw.cells[importColumnIndex(field)] }
		f := Form{Title: cell(FieldTitle), Text: cell(FieldText), LegalBasis: cell(FieldLegalBasis),
			Responsible: cell(FieldResponsible), Workdays: cell(FieldWorkdays), Public: true}
		badCategory := false
		if s := cell(FieldCategory); s != "" {
			c, ok := v.cats[normHeader(s)]
			if !ok {
				bad(FieldCategory, Msg("import.bad_category", s))
				badCategory = true
			}
			f.Category = c
		}
		f.Start = importDate(cell(FieldStart), date1904)
		f.DeadlineDate = importDate(cell(FieldDeadlineDate), date1904)
		switch s := cell(fieldDeadlineKind); {
		case s != "":
			k, ok := v.kinds[normHeader(s)]
			if !ok {
				bad(fieldDeadlineKind, Msg("import.bad_choice", s))
				k = domain.NoDeadline
			}
			f.DeadlineKind = k
		case f.DeadlineDate != "":
			f.DeadlineKind = domain.DeadlineDate
		case f.Workdays != "":
			f.DeadlineKind = domain.DeadlineWorkdays
		default:
			bad(fieldDeadlineKind, Msg("import.kind_required"))
			f.DeadlineKind = domain.NoDeadline
		}
		yes := func(field string, def bool) bool {
			s := cell(field)
			if s == "" {
				return def
			}
			b, ok := v.yesNo[normHeader(s)]
			if !ok {
				bad(field, Msg("import.bad_choice", s))
			}
			return b
		}
		f.Public = yes(fieldPublic, true)
		publish := yes(fieldPublish, false)
		if publish && !cfg.Role.AtLeast(domain.RoleLeader) {
			bad(fieldPublish, Msg("import.publish_leader_only"))
		}
		errs := f.Validate()
		if badCategory {
			delete(errs, FieldCategory) // already said: not in the list
		}
		for _, field := range FormFields() {
			if m, ok := errs[field]; ok {
				bad(field, m)
			}
		}
		if len(issues) > 0 {
			p.Issues = append(p.Issues, sortIssues(issues)...)
			continue
		}
		p.Rows = append(p.Rows, ImportRow{Row: raw.n, Form: f, Publish: publish})
		if publish {
			p.Publish++
		}
		if existing[strings.TrimSpace(f.Title)] {
			p.SameTitle = append(p.SameTitle, raw.n)
		}
	}
	if len(p.Rows) == 0 && len(p.Issues) == 0 {
		return nil, refuse(ErrImportEmpty)
	}
	if n := len(rows); p.ExampleSkipped && n > MaxImportRows+1 || !p.ExampleSkipped && n > MaxImportRows {
		return nil, refuse(ErrImportTooManyRows, MaxImportRows)
	}
	return p, nil
}

// sortIssues orders one row's issues by column (A … K: one letter each).
func sortIssues(is []ImportIssue) []ImportIssue {
	slices.SortStableFunc(is, func(a, b ImportIssue) int { return strings.Compare(a.Column, b.Column) })
	return is
}

// importDate turns a date cell as stored into what the form accepts: a
// date typed into a date-formatted cell is stored as a day number (a
// serial, counted from 1900 or, in a 1904 workbook, from 1904); text is
// left for the form's date parser.
func importDate(s string, date1904 bool) string {
	if s == "" {
		return ""
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n < 1 || n > 2958465 || n != float64(int64(n)) {
		return s
	}
	t, err := excelize.ExcelDateToTime(n, date1904)
	if err != nil {
		return s
	}
	return t.Format("2006-01-02")
}

// ApplyImport creates the preview's rows in one transaction
// (store.Session.CreateBatch): every row, or, if the store refuses one,
// none. It refuses a preview with issues. The new commitments' references
// come back in the rows' order.
func ApplyImport(se *store.Session, p *ImportPreview) ([]store.Ref, error) {
	if !p.OK() {
		return nil, &FormError{Fields: map[string]Message{"import": Msg("import.not_ready")}}
	}
	items := make([]store.BatchItem, len(p.Rows))
	for i, r := range p.Rows {
		d, err := r.Form.Draft()
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", r.Row, err)
		}
		items[i] = store.BatchItem{Draft: d, Publish: r.Publish}
	}
	return se.CreateBatch(items)
}
