package vm

import (
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"

	"jiannuo/assets"
	"jiannuo/domain"
)

// The Excel import template (导入模板): the workbook the app exports and
// ReadImport reads back. It is a contract: ReadImport recognises a sheet
// by its header row, in Simplified Chinese or English, whatever the sheet
// is called, and reads the columns in this order.
//
//	sheet 1  承诺事项 (Commitments): row 1 the headers (frozen), row 2 an
//	         example (grey; skipped when left unchanged), then one
//	         commitment per row; drop-down lists for the category, the
//	         deadline kind and the yes/no columns; text columns formatted
//	         as text, so nothing typed becomes a formula, a number or a date
//	sheet 2  填写说明 (How to fill in): what each column takes, the limits
//	sheet 3  lists, hidden: the values of the drop-down lists

// Extra form-like field names of the template's columns (FormFields are
// the others).
const (
	fieldDeadlineKind = "deadline_kind"
	fieldPublic       = "public"
	fieldPublish      = "publish"
)

// importColumn is one column of the template.
type importColumn struct {
	key   string  // translation key of the header
	field string  // the form field it fills (FieldTitle, …, fieldPublish)
	width float64 // column width in characters
}

// importColumns are the template's columns, A to K.
var importColumns = []importColumn{
	{"import.col_category", FieldCategory, 16},
	{"import.col_title", FieldTitle, 30},
	{"import.col_text", FieldText, 50},
	{"import.col_legal_basis", FieldLegalBasis, 26},
	{"import.col_responsible", FieldResponsible, 18},
	{"import.col_start", FieldStart, 13},
	{"import.col_deadline_kind", fieldDeadlineKind, 13},
	{"import.col_deadline_date", FieldDeadlineDate, 13},
	{"import.col_workdays", FieldWorkdays, 10},
	{"import.col_public", fieldPublic, 11},
	{"import.col_publish", fieldPublish, 11},
}

// importColumnIndex is the index in importColumns of the column that
// fills field, or -1.
func importColumnIndex(field string) int {
	for i, c := range importColumns {
		if c.field == field {
			return i
		}
	}
	return -1
}

// columnLetter is the spreadsheet name of column i (from 0): A, B, … K.
func columnLetter(i int) string {
	s, _ := excelize.ColumnNumberToName(i + 1)
	return s
}

// The values of the drop-down lists of the deadline kind and yes/no
// columns, as translation keys; ReadImport takes them in either language.
const (
	keyKindDate     = "import.kind_date"
	keyKindWorkdays = "import.kind_workdays"
	keyKindNone     = "import.kind_none"
	keyYes          = "import.yes"
	keyNo           = "import.no"
)

// importExample is the example row (the keys of its texts; dates as
// written). ReadImport skips a row whose texts are those of the example
// in either language.
var importExample = [...]string{"", "import.example_title", "import.example_text", "import.example_legal_basis",
	"import.example_responsible", "2026-01-05", "", "", "10", "", ""}

// importSheetLists is the hidden sheet of the drop-down lists' values.
const importSheetLists = "lists"

// WriteImportTemplate writes the import template (an .xlsx workbook) in
// tr's language to w.
func WriteImportTemplate(w io.Writer, tr *assets.Translator) error {
	f := excelize.NewFile()
	defer f.Close()
	data, help := tr.T("import.sheet_data"), tr.T("import.sheet_help")
	if err := f.SetSheetName("Sheet1", data); err != nil {
		return err
	}
	if err := writeImportLists(f, tr); err != nil {
		return err
	}
	if err := writeImportData(f, data, tr); err != nil {
		return err
	}
	if err := writeImportHelp(f, help, tr); err != nil {
		return err
	}
	f.SetActiveSheet(0)
	return f.Write(w)
}

// importLists returns the drop-down values: categories, deadline kinds,
// yes/no.
func importLists(tr *assets.Translator) (cats, kinds, yesNo []string) {
	for _, c := range domain.Categories() {
		cats = append(cats, tr.T("category."+string(c)))
	}
	kinds = []string{tr.T(keyKindDate), tr.T(keyKindWorkdays), tr.T(keyKindNone)}
	yesNo = []string{tr.T(keyYes), tr.T(keyNo)}
	return cats, kinds, yesNo
}

func writeImportLists(f *excelize.File, tr *assets.Translator) error {
	if _, err := f.NewSheet(importSheetLists); err != nil {
		return err
	}
	cats, kinds, yesNo := importLists(tr)
	for col, list := range [][]string{cats, kinds, yesNo} {
		for i, v := range list {
			cell, _ := excelize.CoordinatesToCellName(col+1, i+1)
			if err := f.SetCellStr(importSheetLists, cell, v); err != nil {
				return err
			}
		}
	}
	return f.SetSheetVisible(importSheetLists, false)
}

func writeImportData(f *excelize.File, sheet string, tr *assets.Translator) error {
	last := MaxImportRows + 2 // header, example, then the rows
	text, err := f.NewStyle(&excelize.Style{NumFmt: 49, Alignment: &excelize.Alignment{Vertical: "top", WrapText: true}})
	if err != nil {
		return err
	}
	date, err := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("yyyy-mm-dd"), Alignment: &excelize.Alignment{Vertical: "top"}})
	if err != nil {
		return err
	}
	number, err := f.NewStyle(&excelize.Style{NumFmt: 1, Alignment: &excelize.Alignment{Vertical: "top"}})
	if err != nil {
		return err
	}
	border := []excelize.Border{{Type: "left", Color: "808080", Style: 1}, {Type: "right", Color: "808080", Style: 1},
		{Type: "top", Color: "808080", Style: 1}, {Type: "bottom", Color: "808080", Style: 1}}
	header, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, NumFmt: 49, Border: border,
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"D9D9D9"}},
		Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true}})
	if err != nil {
		return err
	}
	example, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Italic: true, Color: "808080"}, NumFmt: 49,
		Alignment: &excelize.Alignment{Vertical: "top", WrapText: true}})
	if err != nil {
		return err
	}
	for i, c := range importColumns {
		col := columnLetter(i)
		if err := f.SetColWidth(sheet, col, col, c.width); err != nil {
			return err
		}
		style := text
		switch c.field {
		case FieldStart, FieldDeadlineDate:
			style = date
		case FieldWorkdays:
			style = number
		}
		if err := f.SetColStyle(sheet, col, style); err != nil {
			return err
		}
		if err := f.SetCellStr(sheet, col+"1", tr.T(c.key)); err != nil {
			return err
		}
		ex := importExampleRow(tr)[i]
		if err := f.SetCellStr(sheet, col+"2", ex); err != nil {
			return err
		}
	}
	lastCol := columnLetter(len(importColumns) - 1)
	if err := f.SetCellStyle(sheet, "A1", lastCol+"1", header); err != nil {
		return err
	}
	if err := f.SetCellStyle(sheet, "A2", lastCol+"2", example); err != nil {
		return err
	}
	if err := f.SetRowHeight(sheet, 1, 30); err != nil {
		return err
	}
	cats, kinds, yesNo := importLists(tr)
	lists := map[string]string{
		FieldCategory:     fmt.Sprintf("%s!$A$1:$A$%d", importSheetLists, len(cats)),
		fieldDeadlineKind: fmt.Sprintf("%s!$B$1:$B$%d", importSheetLists, len(kinds)),
		fieldPublic:       fmt.Sprintf("%s!$C$1:$C$%d", importSheetLists, len(yesNo)),
		fieldPublish:      fmt.Sprintf("%s!$C$1:$C$%d", importSheetLists, len(yesNo)),
	}
	for i, c := range importColumns {
		ref, ok := lists[c.field]
		if !ok {
			continue
		}
		dv := excelize.NewDataValidation(true)
		dv.SetSqref(fmt.Sprintf("%s2:%s%d", columnLetter(i), columnLetter(i), last))
		dv.SetSqrefDropList(ref)
		dv.SetError(excelize.DataValidationErrorStyleStop, tr.T(c.key), tr.T("import.pick_from_list"))
		if err := f.AddDataValidation(sheet, dv); err != nil {
			return err
		}
	}
	return f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"})
}

// importExampleRow is the example row in tr's language.
func importExampleRow(tr *assets.Translator) []string {
	row := make([]string, len(importColumns))
	for i, k := range importExample {
		if strings.HasPrefix(k, "import.") {
			row[i] = tr.T(k)
		} else {
			row[i] = k
		}
	}
	row[importColumnIndex(FieldCategory)] = tr.T("category." + string(domain.CatElderlyCare))
	row[importColumnIndex(fieldDeadlineKind)] = tr.T(keyKindWorkdays)
	row[importColumnIndex(fieldPublic)] = tr.T(keyYes)
	row[importColumnIndex(fieldPublish)] = tr.T(keyNo)
	return row
}

func writeImportHelp(f *excelize.File, sheet string, tr *assets.Translator) error {
	if _, err := f.NewSheet(sheet); err != nil {
		return err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 13}})
	if err != nil {
		return err
	}
	wrap, err := f.NewStyle(&excelize.Style{Alignment: &excelize.Alignment{Vertical: "top", WrapText: true}})
	if err != nil {
		return err
	}
	rows := [][2]string{{tr.T("import.help_heading"), ""},
		{"·", tr.T("import.help_rows", MaxImportRows)},
		{"·", tr.T("import.help_all_or_nothing")},
		{"·", tr.T("import.help_no_merge")},
		{"", ""}}
	for i, c := range importColumns {
		h := tr.T("import.help_" + c.field)
		if c.field == FieldWorkdays {
			h = tr.T("import.help_"+c.field, domain.MaxWorkdays)
		}
		rows = append(rows, [2]string{columnLetter(i) + "  " + tr.T(c.key), h})
	}
	for i, r := range rows {
		if err := f.SetSheetRow(sheet, fmt.Sprintf("A%d", i+1), &[]any{r[0], r[1]}); err != nil {
			return err
		}
	}
	if err := f.SetColWidth(sheet, "A", "A", 22); err != nil {
		return err
	}
	if err := f.SetColWidth(sheet, "B", "B", 90); err != nil {
		return err
	}
	if err := f.SetCellStyle(sheet, "A1", "A1", bold); err != nil {
		return err
	}
	return f.SetCellStyle(sheet, "A2", fmt.Sprintf("B%d", len(rows)), wrap)
}

func ptr[T any](v T) *T { return &v }
