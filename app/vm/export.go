package vm

import (
	"path/filepath"

	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/report"
	"jiannuo/store"
)

// annualCount is how many commitments of office o an annual report for
// year counts (report.AnnualScope).
func annualCount(cs []store.Commitment, o office.Code, year int) int {
	var mine []store.Commitment
	for i := range cs {
		if o.Contains(cs[i].Office) {
			mine = append(mine, cs[i])
		}
	}
	return len(report.AnnualScope(mine, year))
}

// AnnualYear is the year the export dialog proposes for the annual report
// of office o: last year, whose report is due on 5 January, when it counts
// any commitment; else this year (a township that started with the app
// this year has no last year to report on).
func AnnualYear(cs []store.Commitment, o office.Code, today calendar.Date) int {
	if annualCount(cs, o, today.Year-1) > 0 {
		return today.Year - 1
	}
	return today.Year
}

// AnnualEmptyWarning is what to ask before writing an annual report for
// year that would count no commitment of office o, every figure zero
// ("2025 年度没有承诺事项……仍要导出吗？"); ok is false when it counts some.
func AnnualEmptyWarning(cs []store.Commitment, o office.Code, year int) (m Message, ok bool) {
	if annualCount(cs, o, year) > 0 {
		return Message{}, false
	}
	return Msg("ui.export.empty_year", year), true
}

// ExportDone says where an export was written, for the dialog that also
// offers to open its folder (ExportFolder).
func ExportDone(path string) Message { return Msg("ui.export.done", path) }

// ExportFolder is the folder of an exported file, for "open folder".
func ExportFolder(path string) string { return filepath.Dir(path) }
