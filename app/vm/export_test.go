package vm

import (
	"testing"

	"jiannuo/domain"
)

// TestAnnualYearAndWarning: on 25 November 2026 a township whose
// commitments all started this year is offered 2026, not an empty 2025;
// asking for 2025 anyway warns; an export's message names its path.
func TestAnnualYearAndWarning(t *testing.T) {
	d := newTownship(t)
	d.create(t, spec{title: "今年的承诺", start: date(2026, 3, 1), deadline: domain.DateDeadline(date(2026, 12, 31)), status: domain.StatusPublished})
	cs, err := d.s.AllCommitments()
	must(t, err)
	if y := AnnualYear(cs, township, testToday); y != 2026 {
		t.Errorf("proposed year %d, want 2026", y)
	}
	m, warn := AnnualEmptyWarning(cs, township, 2025)
	if !warn || m.Args[0] != 2025 {
		t.Errorf("2025: %v %v", m, warn)
	}
	checkMessage(t, m)
	if _, warn := AnnualEmptyWarning(cs, township, 2026); warn {
		t.Error("a warning for 2026")
	}
	if _, warn := AnnualEmptyWarning(cs, "410325100", 2026); !warn {
		t.Error("no warning for another township's empty year")
	}
	d.create(t, spec{title: "去年的承诺", start: date(2025, 3, 1), deadline: domain.DateDeadline(date(2025, 12, 31)), status: domain.StatusInProgress})
	cs, err = d.s.AllCommitments()
	must(t, err)
	if y := AnnualYear(cs, township, testToday); y != 2025 {
		t.Errorf("with last year's work: proposed %d, want 2025", y)
	}
	done := ExportDone("/home/clerk/文档/公开承诺事项清单.xlsx")
	checkMessage(t, done)
	if done.Args[0] != "/home/clerk/文档/公开承诺事项清单.xlsx" || ExportFolder("/home/clerk/文档/a.xlsx") != "/home/clerk/文档" {
		t.Errorf("done %v", done)
	}
}
