package protocol_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/sync/protocol"
)

// urgeOp is a valid urge to township about commitment 1.
func urgeOp() protocol.Op {
	return protocol.Op{Kind: protocol.OpUrge, Office: township, Target: entityID(1),
		Urge: &protocol.Urge{ID: entityID(90), Note: "请尽快更新践诺记录"}}
}

// reportUrgeOp is a valid urge to township about its 2026 report.
func reportUrgeOp() protocol.Op {
	return protocol.Op{Kind: protocol.OpUrge, Office: township, Urge: &protocol.Urge{ID: entityID(91), Year: 2026, Note: "请按时报送年度报告"}}
}

// readOp is township's read receipt of urge 90.
func readOp() protocol.Op {
	return protocol.Op{Kind: protocol.OpUrgeRead, Office: township, UrgeRead: &protocol.UrgeRead{Urge: entityID(90)}}
}

func annualReport() *protocol.AnnualReport {
	return &protocol.AnnualReport{Year: 2026, AsOf: calendar.NewDate(2026, 12, 31), Narrative: "全年承诺事项按期办结。",
		Notable: []protocol.NotableRef{{Office: township, ID: entityID(1)}},
		Figures: []protocol.ReportFigure{{Category: string(domain.CatElderlyCare), Total: 4, OnTime: 2, Late: 1, Open: 1, Overdue: 1}}}
}

func townReportOp() protocol.Op {
	return protocol.Op{Kind: protocol.OpAnnualReport, Office: township, Report: annualReport()}
}

// TestYearValidate: the rules of the year's kinds, one row each, with the
// code a receiver gives.
func TestYearValidate(t *testing.T) {
	ok := []struct {
		name  string
		op    protocol.Op
		role  domain.Role
		admin bool
	}{
		{"urge about a commitment", urgeOp(), domain.RoleCountyAdmin, true},
		{"urge about a case", func() protocol.Op { op := urgeOp(); op.Urge.Case = entityID(7); return op }(), domain.RoleCountyAdmin, true},
		{"urge about a report", reportUrgeOp(), domain.RoleCountyAdmin, true},
		{"staff reads", readOp(), domain.RoleStaff, false},
		{"leader reports", townReportOp(), domain.RoleLeader, false},
		{"county admin compiles", func() protocol.Op {
			op := protocol.Op{Kind: protocol.OpAnnualReport, Office: county, Report: annualReport()}
			op.Report.Sources = []protocol.OpID{{Device: protocol.DeviceID{1}, Num: 3}, {Device: protocol.DeviceID{2}, Num: 1}}
			return op
		}(), domain.RoleCountyAdmin, true},
	}
	for _, r := range ok {
		op := number(1, hlc0, r.op)[0]
		if err := op.Validate(r.role, r.admin); err != nil {
			t.Errorf("%s: %v", r.name, err)
		}
	}
	rows := []struct {
		name  string
		base  func() protocol.Op
		role  domain.Role
		admin bool
		edit  func(op *protocol.Op)
		want  protocol.Code
	}{
		{"urge from a township device", urgeOp, domain.RoleLeader, false, nil, protocol.CodeNotAuthorized},
		{"urge by a leader on an admin device", urgeOp, domain.RoleLeader, true, nil, protocol.CodeNotAuthorized},
		{"urge without a note", urgeOp, domain.RoleCountyAdmin, true, func(op *protocol.Op) { op.Urge.Note = " " }, protocol.CodeInvalidOperation},
		{"urge note too long", urgeOp, domain.RoleCountyAdmin, true, func(op *protocol.Op) {
			op.Urge.Note = strings.Repeat("催", protocol.MaxUrgeNoteBytes/3+1)
		}, protocol.CodeInvalidOperation},
		{"urge without an ID", urgeOp, domain.RoleCountyAdmin, true, func(op *protocol.Op) { op.Urge.ID = protocol.EntityID{} }, protocol.CodeInvalidOperation},
		{"urge about a commitment and a report", urgeOp, domain.RoleCountyAdmin, true, func(op *protocol.Op) { op.Urge.Year = 2026 },
			protocol.CodeInvalidOperation},
		{"urge about nothing", urgeOp, domain.RoleCountyAdmin, true, func(op *protocol.Op) { op.Target = protocol.EntityID{} },
			protocol.CodeInvalidOperation},
		{"urge about a report and a case", reportUrgeOp, domain.RoleCountyAdmin, true, func(op *protocol.Op) { op.Urge.Case = entityID(7) },
			protocol.CodeInvalidOperation},
		{"urge about a report of year 1999", reportUrgeOp, domain.RoleCountyAdmin, true, func(op *protocol.Op) { op.Urge.Year = 1999 },
			protocol.CodeInvalidOperation},
		{"urge with a reason", urgeOp, domain.RoleCountyAdmin, true, func(op *protocol.Op) { op.Reason = "x" }, protocol.CodeInvalidOperation},
		{"read on an admin device", readOp, domain.RoleCountyAdmin, true, nil, protocol.CodeNotAuthorized},
		{"read with a target", readOp, domain.RoleStaff, false, func(op *protocol.Op) { op.Target = entityID(1) }, protocol.CodeInvalidOperation},
		{"read of no urge", readOp, domain.RoleStaff, false, func(op *protocol.Op) { op.UrgeRead.Urge = protocol.EntityID{} },
			protocol.CodeInvalidOperation},
		{"report by staff", townReportOp, domain.RoleStaff, false, nil, protocol.CodeNotAuthorized},
		{"report by a leader on an admin device", townReportOp, domain.RoleLeader, true, nil, protocol.CodeNotAuthorized},
		{"report with a target", townReportOp, domain.RoleLeader, false, func(op *protocol.Op) { op.Target = entityID(1) },
			protocol.CodeInvalidOperation},
		{"report dated in another year", townReportOp, domain.RoleLeader, false, func(op *protocol.Op) {
			op.Report.AsOf = calendar.NewDate(2027, 1, 4)
		}, protocol.CodeInvalidOperation},
		{"report without a narrative", townReportOp, domain.RoleLeader, false, func(op *protocol.Op) { op.Report.Narrative = "\n" },
			protocol.CodeInvalidOperation},
		{"report narrative with a control character", townReportOp, domain.RoleLeader, false, func(op *protocol.Op) { op.Report.Narrative = "a\x07" },
			protocol.CodeInvalidOperation},
		{"notable commitment of another office", townReportOp, domain.RoleLeader, false, func(op *protocol.Op) {
			op.Report.Notable[0].Office = township2
		}, protocol.CodeInvalidOperation},
		{"notable commitment twice", townReportOp, domain.RoleLeader, false, func(op *protocol.Op) {
			op.Report.Notable = append(op.Report.Notable, op.Report.Notable[0])
		}, protocol.CodeInvalidOperation},
		{"figures that do not add up", townReportOp, domain.RoleLeader, false, func(op *protocol.Op) { op.Report.Figures[0].OnTime = 4 },
			protocol.CodeInvalidOperation},
		{"more overdue than open", townReportOp, domain.RoleLeader, false, func(op *protocol.Op) { op.Report.Figures[0].Overdue = 2 },
			protocol.CodeInvalidOperation},
		{"a category twice", townReportOp, domain.RoleLeader, false, func(op *protocol.Op) {
			op.Report.Figures = append(op.Report.Figures, op.Report.Figures[0])
		}, protocol.CodeInvalidOperation},
		{"a township report compiling others", townReportOp, domain.RoleLeader, false, func(op *protocol.Op) {
			op.Report.Sources = []protocol.OpID{{Device: protocol.DeviceID{1}, Num: 1}}
		}, protocol.CodeInvalidOperation},
		{"sources out of order", func() protocol.Op {
			return protocol.Op{Kind: protocol.OpAnnualReport, Office: county, Report: annualReport()}
		}, domain.RoleCountyAdmin, true, func(op *protocol.Op) {
			op.Report.Sources = []protocol.OpID{{Device: protocol.DeviceID{2}, Num: 1}, {Device: protocol.DeviceID{1}, Num: 3}}
		}, protocol.CodeInvalidOperation},
		{"a body on another kind", urgeOp, domain.RoleCountyAdmin, true, func(op *protocol.Op) { op.UrgeRead = &protocol.UrgeRead{Urge: entityID(1)} },
			protocol.CodeInvalidOperation},
		{"no body", readOp, domain.RoleStaff, false, func(op *protocol.Op) { op.UrgeRead = nil }, protocol.CodeInvalidOperation},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			op := cloneOp(t, number(1, hlc0, r.base())[0])
			if r.edit != nil {
				r.edit(&op)
			}
			err := op.Validate(r.role, r.admin)
			if got := protocol.CodeOf(err); got != r.want {
				t.Fatalf("Validate = %v (%q), want %q", err, got, r.want)
			}
		})
	}
}

// TestYearVerify: the year's kinds in signed change sets: a report is the
// signing device's own office's (a township's leader, the county's admin),
// refused for a staff author and for any other office; a read receipt is
// the township's own.
func TestYearVerify(t *testing.T) {
	w := newWorld(t)
	good := []struct {
		dev  *device
		role domain.Role
		op   protocol.Op
	}{
		{w.admin, domain.RoleCountyAdmin, urgeOp()},
		{w.admin, domain.RoleCountyAdmin, reportUrgeOp()},
		{w.town, domain.RoleStaff, readOp()},
		{w.town, domain.RoleLeader, townReportOp()},
		{w.admin, domain.RoleCountyAdmin, protocol.Op{Kind: protocol.OpAnnualReport, Office: county, Report: annualReport()}},
	}
	for _, g := range good {
		cs := w.set(t, g.dev, g.role, nil, g.op)
		got, err := protocol.Verify(cs.Bytes(), w.reg, memChains{}, g.dev.id)
		if err != nil {
			t.Fatalf("%s: %v", g.op.Kind, err)
		}
		if !reflect.DeepEqual(got.Ops, cs.Ops) {
			t.Fatalf("%s differs after decode", g.op.Kind)
		}
	}
	otherReport := townReportOp()
	otherReport.Office = township2
	otherReport.Report.Notable = nil
	refused := []struct {
		name string
		dev  *device
		role domain.Role
		op   protocol.Op
		want protocol.Code
	}{
		{"a report signed by staff", w.town, domain.RoleStaff, townReportOp(), protocol.CodeNotAuthorized},
		{"a report for another township", w.town, domain.RoleLeader, otherReport, protocol.CodeOutOfScope},
		{"a neighbour's leader reports for the township", w.neigh, domain.RoleLeader, townReportOp(), protocol.CodeOutOfScope},
		{"the county admin reports for a township", w.admin, domain.RoleCountyAdmin, townReportOp(), protocol.CodeOutOfScope},
		{"a township reports for its county", w.town, domain.RoleLeader,
			protocol.Op{Kind: protocol.OpAnnualReport, Office: county, Report: annualReport()}, protocol.CodeOutOfScope},
		{"a neighbour reads the township's urge", w.neigh, domain.RoleStaff, readOp(), protocol.CodeOutOfScope},
		{"a township urges", w.town, domain.RoleLeader, urgeOp(), protocol.CodeNotAuthorized},
		{"an urge to another county", w.admin, domain.RoleCountyAdmin, func() protocol.Op {
			op := urgeOp()
			op.Office = otherTownship
			return op
		}(), protocol.CodeOutOfScope},
	}
	for _, r := range refused {
		cs := w.set(t, r.dev, r.role, nil, r.op)
		got, err := protocol.Verify(cs.Bytes(), w.reg, memChains{}, r.dev.id)
		if protocol.CodeOf(err) != r.want || got != nil {
			t.Errorf("%s: %v, want %s", r.name, err, r.want)
		}
	}
}

// TestYearDecode: the bodies have one encoding, limits are malformed, and
// no other kind carries them.
func TestYearDecode(t *testing.T) {
	enc := func(op protocol.Op) []byte {
		op = number(1, hlc0, op)[0]
		return protocol.AppendOp(nil, &op)
	}
	for _, op := range []protocol.Op{urgeOp(), reportUrgeOp(), readOp(), townReportOp()} {
		b := enc(op)
		got, err := protocol.DecodeOp(b)
		if err != nil || !bytes.Equal(protocol.AppendOp(nil, &got), b) {
			t.Fatalf("%s round trip: %v", op.Kind, err)
		}
		if !reflect.DeepEqual(got.Urge, op.Urge) || !reflect.DeepEqual(got.UrgeRead, op.UrgeRead) || !reflect.DeepEqual(got.Report, op.Report) {
			t.Fatalf("%s body differs after decode", op.Kind)
		}
		for _, cut := range []int{1, len(b) / 2} {
			if _, err := protocol.DecodeOp(b[:len(b)-cut]); !errors.Is(err, protocol.ErrMalformed) {
				t.Errorf("%s cut by %d: %v", op.Kind, cut, err)
			}
		}
	}
	long := func(edit func(r *protocol.AnnualReport)) []byte {
		op := townReportOp()
		edit(op.Report)
		return enc(op)
	}
	cases := map[string][]byte{
		"year past the limit": long(func(r *protocol.AnnualReport) { r.Year = protocol.MaxReportYear + 1 }),
		"narrative too long":  long(func(r *protocol.AnnualReport) { r.Narrative = strings.Repeat("a", protocol.MaxNarrativeBytes+1) }),
		"category too long": long(func(r *protocol.AnnualReport) {
			r.Figures[0].Category = strings.Repeat("c", protocol.MaxCategoryBytes+1)
		}),
		"too many notable":     long(func(r *protocol.AnnualReport) { r.Notable = make([]protocol.NotableRef, protocol.MaxNotable+1) }),
		"too many figure rows": long(func(r *protocol.AnnualReport) { r.Figures = make([]protocol.ReportFigure, protocol.MaxReportFigures+1) }),
		"urge note too long": func() []byte {
			op := urgeOp()
			op.Urge.Note = strings.Repeat("n", protocol.MaxUrgeNoteBytes+1)
			return enc(op)
		}(),
	}
	for name, b := range cases {
		if op, err := protocol.DecodeOp(b); !errors.Is(err, protocol.ErrMalformed) {
			t.Errorf("%s: DecodeOp = %+v, %v; want malformed", name, op.Report, err)
		}
	}
	// A year body on any other kind is not encoded: older kinds keep their
	// bytes.
	w := newWorld(t)
	for _, op := range everyTownshipKind(t, w.town, 1) {
		with := op
		with.Urge, with.UrgeRead, with.Report = urgeOp().Urge, readOp().UrgeRead, annualReport()
		if !bytes.Equal(protocol.AppendOp(nil, &op), protocol.AppendOp(nil, &with)) {
			t.Errorf("%s: a stray year body changes the encoding", op.Kind)
		}
	}
}
