package protocol

import (
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
)

// The office's year (docs/changeset-format.md, kinds 13–15): the county
// urges a township about a commitment, a case or its annual report (催办,
// §三(四)); the township signs that it read the urge; an office submits its
// annual report on keeping its commitments (年度践诺情况报告, §六(三)), a
// county its compilation of its townships' reports. The bodies are appended
// after the account body for these kinds only, so the bytes of every older
// kind are unchanged.

// Limits of the year's bodies, part of the verification rules.
const (
	// MaxUrgeNoteBytes bounds an urge's note.
	MaxUrgeNoteBytes = 2000
	// MaxNarrativeBytes bounds an annual report's narrative.
	MaxNarrativeBytes = 32 << 10
	// MaxNotable bounds the notable commitments a report lists.
	MaxNotable = 50
	// MaxReportFigures bounds the category rows of a report's figures.
	MaxReportFigures = 64
	// MaxReportSources bounds the reports a county compilation names.
	MaxReportSources = 256
	// MaxCategoryBytes bounds a figure row's category name.
	MaxCategoryBytes = 64
	// MinReportYear and MaxReportYear bound the year of a report or of an
	// urge about one.
	MinReportYear = 2000
	MaxReportYear = 2100
)

// Urge is the body of OpUrge (催办): a county admin urges the office Op.Office
// about its commitment Op.Target (and, if Case is set, that case about it),
// or, with Op.Target zero, about its annual report of Year.
type Urge struct {
	ID   EntityID // the urge
	Case EntityID // the case urged about; zero if none
	Year int      // the annual report urged for; 0 unless Op.Target is zero
	Note string   // what the county asks, 1 to MaxUrgeNoteBytes
}

// UrgeRead is the body of OpUrgeRead: someone of the office read the urge
// (its read receipt). Op.Office is the device's own office, Op.Target zero.
type UrgeRead struct {
	Urge EntityID
}

// NotableRef names a commitment an annual report lists as notable: its
// office (the report's or, for a county's report, one inside it) and ID.
type NotableRef struct {
	Office office.Code
	ID     EntityID
}

// ReportFigure is one category's row of a report's figures, as the
// statistics reckon them on the report's AsOf day: the commitments in force
// during the year, and of them how many were kept on time, late, partly,
// breached, or are still open (of which overdue).
type ReportFigure struct {
	Category string // a domain.Category, or an unknown category's name
	Total    uint32
	OnTime   uint32
	Late     uint32
	Partly   uint32
	Breached uint32
	Open     uint32
	Overdue  uint32
}

// AnnualReport is the body of OpAnnualReport: an office's report on keeping
// its commitments in Year (§六(三), due 5 January), signed by its leader,
// or a county's compilation of its townships' reports, signed by a county
// admin (Sources names the township reports compiled). Op.Office is the
// signing device's own office and Op.Target zero. A later report of the
// same office and year supersedes the earlier; every version is kept.
type AnnualReport struct {
	Year      int
	AsOf      calendar.Date // the day the figures are reckoned on, in Year
	Narrative string        // the leader's account of the year, required
	Notable   []NotableRef  // distinct, in the order chosen
	Figures   []ReportFigure
	// Sources are the township reports a county compilation is made
	// from, sorted and distinct; empty for an office's own report.
	Sources []OpID
}

// Totals sums the figures of every category.
func (r *AnnualReport) Totals() ReportFigure {
	var t ReportFigure
	for _, f := range r.Figures {
		t.Total += f.Total
		t.OnTime += f.OnTime
		t.Late += f.Late
		t.Partly += f.Partly
		t.Breached += f.Breached
		t.Open += f.Open
		t.Overdue += f.Overdue
	}
	return t
}

// year reports whether k is one of the year's kinds.
func (k OpKind) year() bool { return k == OpUrge || k == OpUrgeRead || k == OpAnnualReport }

// OwnOffice reports whether an operation of the kind must be for its
// device's own office: accounts, read receipts and annual reports (even a
// county-admin device, whose scope is its whole county, reports only for
// the county itself).
func (k OpKind) OwnOffice() bool {
	return k == OpAccount || k == OpUrgeRead || k == OpAnnualReport
}

func appendYear(e *encoder, op *Op) {
	switch op.Kind {
	case OpUrge:
		u := op.Urge
		if u == nil {
			u = &Urge{}
		}
		e.raw(u.ID[:])
		e.raw(u.Case[:])
		e.uvarint(uint64(max(u.Year, 0)))
		e.str(u.Note)
	case OpUrgeRead:
		r := op.UrgeRead
		if r == nil {
			r = &UrgeRead{}
		}
		e.raw(r.Urge[:])
	case OpAnnualReport:
		r := op.Report
		if r == nil {
			r = &AnnualReport{}
		}
		e.uvarint(uint64(max(r.Year, 0)))
		e.str(dateText(r.AsOf))
		e.str(r.Narrative)
		e.uvarint(uint64(len(r.Notable)))
		for _, n := range r.Notable {
			e.str(string(n.Office))
			e.raw(n.ID[:])
		}
		e.uvarint(uint64(len(r.Figures)))
		for _, f := range r.Figures {
			e.str(f.Category)
			for _, v := range []uint32{f.Total, f.OnTime, f.Late, f.Partly, f.Breached, f.Open, f.Overdue} {
				e.uvarint(uint64(v))
			}
		}
		e.uvarint(uint64(len(r.Sources)))
		for _, s := range r.Sources {
			e.raw(s.Device[:])
			e.uvarint(s.Num)
		}
	}
}

// dateText is a date as the format writes it: empty when zero.
func dateText(d calendar.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

func decodeYear(d *decoder, op *Op) {
	switch op.Kind {
	case OpUrge:
		u := &Urge{}
		d.raw(u.ID[:])
		d.raw(u.Case[:])
		u.Year = d.year()
		u.Note = d.str(MaxUrgeNoteBytes)
		op.Urge = u
	case OpUrgeRead:
		r := &UrgeRead{}
		d.raw(r.Urge[:])
		op.UrgeRead = r
	case OpAnnualReport:
		r := &AnnualReport{}
		r.Year = d.year()
		r.AsOf = decodeDate(d, "report date")
		r.Narrative = d.str(MaxNarrativeBytes)
		if n := d.count(MaxNotable, 1+16); n > 0 {
			r.Notable = make([]NotableRef, n)
			for i := range r.Notable {
				r.Notable[i].Office = office.Code(d.str(16))
				d.raw(r.Notable[i].ID[:])
			}
		}
		if n := d.count(MaxReportFigures, 1+7); n > 0 {
			r.Figures = make([]ReportFigure, n)
			for i := range r.Figures {
				f := &r.Figures[i]
				f.Category = d.str(MaxCategoryBytes)
				for _, p := range []*uint32{&f.Total, &f.OnTime, &f.Late, &f.Partly, &f.Breached, &f.Open, &f.Overdue} {
					*p = d.u32()
				}
			}
		}
		if n := d.count(MaxReportSources, 16+1); n > 0 {
			r.Sources = make([]OpID, n)
			for i := range r.Sources {
				d.raw(r.Sources[i].Device[:])
				r.Sources[i].Num = d.uvarint()
			}
		}
		op.Report = r
	}
}

// year reads a year: a varint no larger than MaxReportYear (0 for none).
func (d *decoder) year() int {
	v := d.uvarint()
	if v > MaxReportYear {
		d.fail("year %d", v)
		return 0
	}
	return int(v)
}

// u32 reads a varint that fits 32 bits.
func (d *decoder) u32() uint32 {
	v := d.uvarint()
	if v > 1<<32-1 {
		d.fail("count %d", v)
		return 0
	}
	return uint32(v)
}

// checkYearBodies refuses a year body on any other kind, and a year kind
// without its body.
func (op *Op) checkYearBodies() error {
	if (op.Urge != nil) != (op.Kind == OpUrge) || (op.UrgeRead != nil) != (op.Kind == OpUrgeRead) ||
		(op.Report != nil) != (op.Kind == OpAnnualReport) {
		return errorf(ErrInvalidOperation, "op %d: %s with wrong body", op.Num, op.Kind)
	}
	return nil
}

// validateYear checks OpUrge, OpUrgeRead and OpAnnualReport for an author
// with role on a device that is (admin) or is not a county-admin device.
// That a read receipt or a report is for the device's own office is
// Verify's to check (it knows the device).
func (op *Op) validateYear(role domain.Role, admin bool) error {
	if len(op.Writes) != 0 || op.Reason != "" {
		return errorf(ErrInvalidOperation, "op %d: %s writes no field and carries no reason", op.Num, op.Kind)
	}
	switch op.Kind {
	case OpUrge:
		return op.validateUrge(role)
	case OpUrgeRead:
		if admin {
			return errorf(ErrNotAuthorized, "op %d: the township reads an urge, not a county-admin device", op.Num)
		}
		if !op.Target.IsZero() || op.UrgeRead.Urge.IsZero() {
			return errorf(ErrInvalidOperation, "op %d: a read receipt names its urge and has no target", op.Num)
		}
		return nil
	}
	return op.validateReport(role, admin)
}

func validYear(y int) bool { return y >= MinReportYear && y <= MaxReportYear }

func (op *Op) validateUrge(role domain.Role) error {
	u := op.Urge
	if role != domain.RoleCountyAdmin {
		return errorf(ErrNotAuthorized, "op %d: only a county admin urges, not %q", op.Num, role)
	}
	if u.ID.IsZero() || !domain.NonBlank(u.Note) {
		return errorf(ErrInvalidOperation, "op %d: an urge needs an ID and a note", op.Num)
	}
	if err := domain.CheckText("urge note", u.Note, MaxUrgeNoteBytes); err != nil {
		return errorf(ErrInvalidOperation, "op %d: %v", op.Num, err)
	}
	aboutCommitment := !op.Target.IsZero() && u.Year == 0
	aboutReport := op.Target.IsZero() && u.Case.IsZero() && validYear(u.Year)
	if !aboutCommitment && !aboutReport {
		return errorf(ErrInvalidOperation, "op %d: an urge concerns a commitment (and maybe its case) or an annual report, exactly one", op.Num)
	}
	return nil
}

func (op *Op) validateReport(role domain.Role, admin bool) error {
	r := op.Report
	switch {
	case admin && role != domain.RoleCountyAdmin:
		return errorf(ErrNotAuthorized, "op %d: a county's report is signed by a county admin, not %q", op.Num, role)
	case !admin && !role.AtLeast(domain.RoleLeader):
		return errorf(ErrNotAuthorized, "op %d: an office's annual report is signed by its leader, not %q", op.Num, role)
	}
	if !op.Target.IsZero() || !validYear(r.Year) || r.AsOf.IsZero() || r.AsOf.Year != r.Year {
		return errorf(ErrInvalidOperation, "op %d: a report has no target, a year and a date in that year", op.Num)
	}
	if !domain.NonBlank(r.Narrative) {
		return errorf(ErrInvalidOperation, "op %d: a report needs its narrative", op.Num)
	}
	if err := domain.CheckText("narrative", r.Narrative, MaxNarrativeBytes); err != nil {
		return errorf(ErrInvalidOperation, "op %d: %v", op.Num, err)
	}
	if len(r.Notable) > MaxNotable || len(r.Figures) > MaxReportFigures || len(r.Sources) > MaxReportSources {
		return errorf(ErrInvalidOperation, "op %d: report lists too long", op.Num)
	}
	seen := map[NotableRef]bool{}
	for _, n := range r.Notable {
		if n.ID.IsZero() || !op.Office.Contains(n.Office) || seen[n] {
			return errorf(ErrInvalidOperation, "op %d: notable commitment %s/%s: of the office, distinct", op.Num, n.Office, n.ID)
		}
		seen[n] = true
	}
	cats := map[string]bool{}
	for _, f := range r.Figures {
		if !domain.NonBlank(f.Category) || domain.CheckText("category", f.Category, MaxCategoryBytes) != nil || cats[f.Category] {
			return errorf(ErrInvalidOperation, "op %d: figures: category %q named, valid and once", op.Num, f.Category)
		}
		cats[f.Category] = true
		if uint64(f.OnTime)+uint64(f.Late)+uint64(f.Partly)+uint64(f.Breached)+uint64(f.Open) > uint64(f.Total) || f.Overdue > f.Open {
			return errorf(ErrInvalidOperation, "op %d: figures of %s do not add up", op.Num, f.Category)
		}
	}
	if len(r.Sources) > 0 && !admin {
		return errorf(ErrInvalidOperation, "op %d: only a county's report compiles others", op.Num)
	}
	for i, s := range r.Sources {
		if s.Device.IsZero() || s.Num == 0 || (i > 0 && r.Sources[i-1].Compare(s) >= 0) {
			return errorf(ErrInvalidOperation, "op %d: report sources not sorted and distinct", op.Num)
		}
	}
	return nil
}
