package store

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// The office's year: the county's urges (催办) with the township's read
// receipts, and the annual reports (年度践诺情况报告, §六(三)). Like cases,
// each operation is kept as an event, append-only, in a log bucket; the
// urge or report in its view bucket is derived from the set of its events
// alone, so replicas that received them in any order hold the same bytes.
// A read receipt that arrives before its urge is kept and counts once the
// urge arrives.

// UrgeEvent is one operation on an urge: the urge itself or a read receipt.
type UrgeEvent struct {
	Op     protocol.OpID `json:"op"`
	HLC    protocol.HLC  `json:"hlc"`
	Author string        `json:"author"`
	Role   domain.Role   `json:"role"`
	// Read marks a read receipt; the rest is the urge's.
	Read       bool               `json:"read,omitempty"`
	Commitment *Ref               `json:"commitment,omitempty"`
	Case       *protocol.EntityID `json:"case,omitempty"`
	Year       int                `json:"year,omitempty"`
	Note       string             `json:"note,omitempty"`
}

// Urge is the current view of an urge (催办): what the county asked of an
// office, about what, and whether and when the office read it.
type Urge struct {
	Office office.Code       `json:"office"` // the office urged
	ID     protocol.EntityID `json:"id"`
	// Arrived is false while only read receipts have arrived; queries
	// leave such an urge out.
	Arrived bool `json:"arrived"`
	// Commitment is the commitment urged about (nil for a report), Case
	// the case about it, Year the annual report.
	Commitment *Ref               `json:"commitment,omitempty"`
	Case       *protocol.EntityID `json:"case,omitempty"`
	Year       int                `json:"year,omitempty"`
	Note       string             `json:"note,omitempty"`
	By         string             `json:"by,omitempty"` // the county admin
	At         protocol.HLC       `json:"at,omitempty"`
	Op         protocol.OpID      `json:"op"`
	// Read is set by the first read receipt: who read it and when.
	Read      bool          `json:"read"`
	ReadBy    string        `json:"read_by,omitempty"`
	ReadAt    protocol.HLC  `json:"read_at,omitempty"`
	ReadOp    protocol.OpID `json:"read_op,omitzero"`   // the receipt, whose device tells the person behind ReadBy
	Receipts  int           `json:"receipts,omitempty"` // how many read it
	UpdatedAt protocol.HLC  `json:"updated_at"`
}

// Ref returns the urge's key: its office and ID.
func (u *Urge) Ref() Ref { return Ref{Office: u.Office, ID: u.ID} }

// UrgeFilter selects urges; the zero value selects every urge that arrived.
type UrgeFilter struct {
	Office     office.Code // this office and every office under it
	UnreadOnly bool
	Commitment *Ref
	Year       int // urges about the annual report of this year
}

func (f UrgeFilter) match(u *Urge) bool {
	return u.Arrived && (f.Office == "" || f.Office.Contains(u.Office)) && (!f.UnreadOnly || !u.Read) &&
		(f.Commitment == nil || (u.Commitment != nil && *u.Commitment == *f.Commitment)) &&
		(f.Year == 0 || f.Year == u.Year)
}

func urgeKey(op *protocol.Op) Ref {
	if op.Kind == protocol.OpUrge {
		return Ref{Office: op.Office, ID: op.Urge.ID}
	}
	return Ref{Office: op.Office, ID: op.UrgeRead.Urge}
}

func urgeEventOf(dev protocol.DeviceID, author string, role domain.Role, op *protocol.Op) UrgeEvent {
	e := UrgeEvent{Op: op.ID(dev), HLC: op.HLC, Author: author, Role: role}
	if op.Kind == protocol.OpUrgeRead {
		e.Read = true
		return e
	}
	u := op.Urge
	e.Year, e.Note = u.Year, u.Note
	if !op.Target.IsZero() {
		e.Commitment = &Ref{Office: op.Office, ID: op.Target}
	}
	if !u.Case.IsZero() {
		e.Case = &u.Case
	}
	return e
}

// applyUrge appends the event and derives the urge again.
func applyUrge(tx *bolt.Tx, dev protocol.DeviceID, author string, role domain.Role, op *protocol.Op) error {
	e := urgeEventOf(dev, author, role, op)
	return putEvent(tx, bUrgeLog, bUrges, urgeKey(op), op.HLC, e.Op, e, deriveUrge)
}

func urgeEvents(tx *bolt.Tx, rk Ref) ([]UrgeEvent, error) {
	return scanPrefix[UrgeEvent](tx, bUrgeLog, refKey(rk))
}

// deriveUrge computes an urge from its events in key order (stamp, then
// operation): the first urge event is the urge, the first receipt says
// who read it first.
func deriveUrge(tx *bolt.Tx, rk Ref) (*Urge, error) {
	events, err := urgeEvents(tx, rk)
	if err != nil {
		return nil, err
	}
	u := &Urge{Office: rk.Office, ID: rk.ID}
	for i := range events {
		e := &events[i]
		u.UpdatedAt = max(u.UpdatedAt, e.HLC)
		switch {
		case e.Read:
			if !u.Read {
				u.Read, u.ReadBy, u.ReadAt, u.ReadOp = true, e.Author, e.HLC, e.Op
			}
			u.Receipts++
		case !u.Arrived:
			u.Arrived, u.Commitment, u.Case, u.Year, u.Note = true, e.Commitment, e.Case, e.Year, e.Note
			u.By, u.At, u.Op = e.Author, e.HLC, e.Op
		}
	}
	return u, nil
}

// Urges returns the urges f selects, newest first.
func (s *Store) Urges(f UrgeFilter) ([]Urge, error) {
	var out []Urge
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bUrges).ForEach(func(_, v []byte) error {
			var u Urge
			if err := unmarshal(v, &u); err != nil {
				return err
			}
			if f.match(&u) {
				out = append(out, u)
			}
			return nil
		})
	})
	slices.SortStableFunc(out, func(a, b Urge) int { return cmp.Compare(b.At, a.At) })
	return out, err
}

// Urge returns one urge of office o that has arrived, or ErrNotFound.
func (s *Store) Urge(o office.Code, id protocol.EntityID) (Urge, error) {
	var u Urge
	err := s.db.View(func(tx *bolt.Tx) error { return loadUrge(tx, Ref{Office: o, ID: id}, &u) })
	return u, err
}

func loadUrge(tx *bolt.Tx, rk Ref, u *Urge) error {
	v := tx.Bucket(bUrges).Get(refKey(rk))
	if v == nil {
		return fmt.Errorf("%w: urge %s", ErrNotFound, rk)
	}
	if err := unmarshal(v, u); err != nil {
		return err
	}
	if !u.Arrived {
		return fmt.Errorf("%w: urge %s has not fully arrived", ErrNotFound, rk)
	}
	return nil
}

// FollowUp is one thing the office did after an urge about what it urged:
// a fulfilment entry or a change of the commitment, a step on the case, a
// version of the annual report.
type FollowUp struct {
	HLC    protocol.HLC `json:"hlc"`
	Author string       `json:"author"`
	// Kind is the operation's kind ("fulfil", "transition", "amend", …,
	// "case_step", "annual_report").
	Kind string `json:"kind"`
	// Status is a transition's new status; Progress and Note a fulfilment
	// entry's; Step a case step's; Reason an amendment's or transition's.
	Status   domain.Status   `json:"status,omitempty"`
	Progress int             `json:"progress,omitempty"`
	Note     string          `json:"note,omitempty"`
	Step     domain.CaseStep `json:"step,omitempty"`
	Reason   string          `json:"reason,omitempty"`
}

// FollowUps returns what was done after urge u about what it urged,
// oldest first: the commitment's fulfilment entries and changes stamped
// after it, the steps on its case, or the versions of the office's annual
// report of its year.
func (s *Store) FollowUps(u *Urge) ([]FollowUp, error) {
	var out []FollowUp
	err := s.db.View(func(tx *bolt.Tx) error {
		if u.Commitment != nil {
			entries, err := scanEntries(tx, refKey(*u.Commitment))
			if err != nil {
				return err
			}
			for _, e := range entries {
				if e.HLC > u.At {
					out = append(out, FollowUp{HLC: e.HLC, Author: e.Author, Kind: protocol.OpFulfil.String(), Progress: e.Progress, Note: e.Note})
				}
			}
			versions, err := scanVersions(tx, refKey(*u.Commitment))
			if err != nil {
				return err
			}
			seen := map[protocol.OpID]bool{}
			for _, v := range versions {
				if v.HLC <= u.At || seen[v.Op] {
					continue
				}
				seen[v.Op] = true // an amendment writes several fields: one follow-up
				f := FollowUp{HLC: v.HLC, Author: v.Author, Kind: v.Kind, Reason: v.Reason}
				if v.Field == domain.FieldStatus {
					f.Status = domain.Status(v.Value)
				}
				out = append(out, f)
			}
		}
		if u.Case != nil {
			events, err := caseEvents(tx, Ref{Office: u.Office, ID: *u.Case})
			if err != nil {
				return err
			}
			for _, e := range events {
				if e.HLC > u.At {
					out = append(out, FollowUp{HLC: e.HLC, Author: e.Author, Kind: protocol.OpCaseStep.String(), Step: e.Step})
				}
			}
		}
		if u.Year != 0 {
			events, err := reportEvents(tx, reportKey(u.Office, u.Year))
			if err != nil {
				return err
			}
			for _, e := range events {
				if e.HLC > u.At {
					out = append(out, FollowUp{HLC: e.HLC, Author: e.Author, Kind: protocol.OpAnnualReport.String()})
				}
			}
		}
		return nil
	})
	slices.SortStableFunc(out, func(a, b FollowUp) int { return cmp.Compare(a.HLC, b.HLC) })
	return out, err
}

// ReportVersion is one submitted version of an annual report.
type ReportVersion struct {
	Op        protocol.OpID           `json:"op"`
	HLC       protocol.HLC            `json:"hlc"`
	Author    string                  `json:"author"`
	Role      domain.Role             `json:"role"`
	AsOf      string                  `json:"as_of"` // YYYY-MM-DD
	Narrative string                  `json:"narrative"`
	Notable   []Ref                   `json:"notable,omitempty"`
	Figures   []protocol.ReportFigure `json:"figures,omitempty"`
	Sources   []protocol.OpID         `json:"sources,omitempty"`
}

// AnnualReport is an office's annual report of a year: its current
// version (the latest submitted) and how many were submitted.
type AnnualReport struct {
	Office  office.Code   `json:"office"`
	Year    int           `json:"year"`
	Current ReportVersion `json:"current"`
	// Version is the current version's number, from 1; the earlier ones
	// are in History.
	Version int `json:"version"`
	// FirstAt is when the first version was submitted.
	FirstAt protocol.HLC `json:"first_at"`
	// History is every version, oldest first (filled by the queries, not
	// stored in the view).
	History []ReportVersion `json:"history,omitempty"`
}

// Submitted returns the day in China the current version was submitted.
func (r *AnnualReport) Submitted() calendar.Date {
	return domain.ChinaDate(r.Current.HLC.Wall().UnixMilli())
}

// FirstSubmitted returns the day in China the first version was
// submitted (the one that counts for the deadline).
func (r *AnnualReport) FirstSubmitted() calendar.Date {
	return domain.ChinaDate(r.FirstAt.Wall().UnixMilli())
}

// reportKey is the key of office o's report of year y: the year in the
// first two bytes of the ID part, so an office's reports sort by year.
func reportKey(o office.Code, y int) Ref {
	var id protocol.EntityID
	binary.BigEndian.PutUint16(id[:], uint16(y))
	return Ref{Office: o, ID: id}
}

func reportYear(rk Ref) int { return int(binary.BigEndian.Uint16(rk.ID[:])) }

func reportVersionOf(dev protocol.DeviceID, author string, role domain.Role, op *protocol.Op) ReportVersion {
	r := op.Report
	v := ReportVersion{Op: op.ID(dev), HLC: op.HLC, Author: author, Role: role, AsOf: r.AsOf.String(), Narrative: r.Narrative,
		Figures: r.Figures, Sources: r.Sources}
	for _, n := range r.Notable {
		v.Notable = append(v.Notable, Ref{Office: n.Office, ID: n.ID})
	}
	return v
}

// applyReport appends the version and derives the report again.
func applyReport(tx *bolt.Tx, dev protocol.DeviceID, author string, role domain.Role, op *protocol.Op) error {
	v := reportVersionOf(dev, author, role, op)
	return putEvent(tx, bReportLog, bReports, reportKey(op.Office, op.Report.Year), op.HLC, v.Op, v, deriveReport)
}

func reportEvents(tx *bolt.Tx, rk Ref) ([]ReportVersion, error) {
	return scanPrefix[ReportVersion](tx, bReportLog, refKey(rk))
}

// deriveReport computes a report from its versions in key order (stamp,
// then operation): the last is current.
func deriveReport(tx *bolt.Tx, rk Ref) (*AnnualReport, error) {
	versions, err := reportEvents(tx, rk)
	if err != nil {
		return nil, err
	}
	r := &AnnualReport{Office: rk.Office, Year: reportYear(rk), Version: len(versions)}
	if len(versions) > 0 {
		r.Current, r.FirstAt = versions[len(versions)-1], versions[0].HLC
	}
	return r, nil
}

// ReportFilter selects annual reports; the zero value selects all.
type ReportFilter struct {
	Office office.Code // this office and every office under it
	Year   int
}

// AnnualReports returns the reports f selects with their history, in key
// order (office, then year).
func (s *Store) AnnualReports(f ReportFilter) ([]AnnualReport, error) {
	var out []AnnualReport
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bReports).ForEach(func(k, v []byte) error {
			var r AnnualReport
			if err := unmarshal(v, &r); err != nil {
				return err
			}
			if (f.Office != "" && !f.Office.Contains(r.Office)) || (f.Year != 0 && f.Year != r.Year) {
				return nil
			}
			var err error
			r.History, err = reportEvents(tx, reportKey(r.Office, r.Year))
			out = append(out, r)
			return err
		})
	})
	return out, err
}

// AnnualReportOf returns office o's report of year y with its history, or
// ErrNotFound if none was submitted.
func (s *Store) AnnualReportOf(o office.Code, y int) (AnnualReport, error) {
	var r AnnualReport
	err := s.db.View(func(tx *bolt.Tx) error {
		rk := reportKey(o, y)
		v := tx.Bucket(bReports).Get(refKey(rk))
		if v == nil {
			return fmt.Errorf("%w: annual report %d of %s", ErrNotFound, y, o)
		}
		if err := unmarshal(v, &r); err != nil {
			return err
		}
		var err error
		r.History, err = reportEvents(tx, rk)
		return err
	})
	return r, err
}

// checkYear verifies that every urge and report is what its events derive
// and every event belongs to one (Check).
func checkYear(tx *bolt.Tx, bad func(string, ...any)) error {
	if err := checkDerivedViews(tx, bUrges, bUrgeLog, "urge", deriveUrge, bad); err != nil {
		return err
	}
	return checkDerivedViews(tx, bReports, bReportLog, "annual report", deriveReport, bad)
}

// yearEffect is the log key an operation of the year's kinds leaves (Check).
func yearEffect(op *protocol.Op, id protocol.OpID) string {
	if op.Kind == protocol.OpAnnualReport {
		return string(bReportLog) + string(entryKey(reportKey(op.Office, op.Report.Year), op.HLC, id))
	}
	return string(bUrgeLog) + string(entryKey(urgeKey(op), op.HLC, id))
}

// UrgeInput is an urge a county admin sends: about a commitment (and
// maybe a case about it), or about an office's annual report of a year.
type UrgeInput struct {
	// Commitment is the commitment urged about; zero for a report.
	Commitment Ref
	// Case is the case about the commitment urged about; zero if none.
	Case protocol.EntityID
	// Office and Year name the annual report urged for (Commitment zero).
	Office office.Code
	Year   int
	Note   string
}

// Urge sends an urge (催办) and returns its ID: a county admin on a
// county-admin device. Refusals: domain.ErrNotAllowed (role or device),
// ErrNotFound (the commitment or case has not arrived), what UrgeOpTx and
// Op.Validate return.
func (se *Session) Urge(in UrgeInput) (protocol.EntityID, error) {
	if !se.rec.Admin || se.acct.Role != domain.RoleCountyAdmin {
		return protocol.EntityID{}, fmt.Errorf("%w: a county admin urges, on a county-admin device", domain.ErrNotAllowed)
	}
	id := protocol.NewEntityID()
	_, err := se.act(func(tx *bolt.Tx) (*protocol.Op, error) { return UrgeOpTx(tx, id, in) })
	return id, err
}

// UrgeOpTx returns, inside a caller's transaction, the operation of urge
// id, after the checks every signer applies: the commitment has arrived,
// the case is about it, the office is a township for a report. Session.Urge
// builds its operation with it; so does a county server signing an admin's
// urge with its own device. Num and HLC are left for the signer.
func UrgeOpTx(tx *bolt.Tx, id protocol.EntityID, in UrgeInput) (*protocol.Op, error) {
	if !domain.NonBlank(in.Note) {
		return nil, fmt.Errorf("%w: an urge needs a note", domain.ErrInvalidValue)
	}
	u := &protocol.Urge{ID: id, Case: in.Case, Note: in.Note}
	if in.Commitment == (Ref{}) {
		if in.Year < protocol.MinReportYear || in.Year > protocol.MaxReportYear || !in.Case.IsZero() || in.Office.Level() != office.Township {
			return nil, fmt.Errorf("%w: an urge about a report names a township and a year", domain.ErrInvalidValue)
		}
		u.Year = in.Year
		return &protocol.Op{Kind: protocol.OpUrge, Office: in.Office, Urge: u}, nil
	}
	if in.Year != 0 {
		return nil, fmt.Errorf("%w: an urge concerns a commitment or a report, not both", domain.ErrInvalidValue)
	}
	if _, err := arrivedView(tx, in.Commitment); err != nil {
		return nil, err
	}
	if !in.Case.IsZero() {
		var c Case
		if err := loadCase(tx, Ref{Office: in.Commitment.Office, ID: in.Case}, &c); err != nil {
			return nil, err
		}
		if c.Commitment != in.Commitment {
			return nil, fmt.Errorf("%w: case %s is not about commitment %s", domain.ErrInvalidValue, c.Number, in.Commitment)
		}
	}
	return &protocol.Op{Kind: protocol.OpUrge, Office: in.Commitment.Office, Target: in.Commitment.ID, Urge: u}, nil
}

// ReadUrge records that the signed-in user read urge id of the device's
// office: the office's read receipt, signed. An urge read already is left
// as it is (nil). Refusals: domain.ErrNotAllowed on a county-admin device,
// ErrNotFound for an urge that has not arrived.
func (se *Session) ReadUrge(id protocol.EntityID) error {
	if se.rec.Admin {
		return fmt.Errorf("%w: the township reads its urges", domain.ErrNotAllowed)
	}
	if err := se.maySign(); err != nil {
		return err
	}
	var read bool
	err := se.s.db.View(func(tx *bolt.Tx) error {
		var u Urge
		if err := loadUrge(tx, Ref{Office: se.rec.Office, ID: id}, &u); err != nil {
			return err
		}
		read = u.Read
		return nil
	})
	if err != nil || read {
		return err
	}
	_, err = se.act(func(tx *bolt.Tx) (*protocol.Op, error) {
		return &protocol.Op{Kind: protocol.OpUrgeRead, Office: se.rec.Office, UrgeRead: &protocol.UrgeRead{Urge: id}}, nil
	})
	return err
}

// ReportInput is an annual report as its signer submits it; the figures
// come from the statistics (report.AnnualFigures), reckoned on AsOf.
type ReportInput struct {
	Year      int
	AsOf      calendar.Date
	Narrative string
	Notable   []Ref
	Figures   []protocol.ReportFigure
	// Sources are the township reports a county compiles (the current
	// version's operation of each), for a county-admin device.
	Sources []protocol.OpID
}

// SubmitAnnualReport signs and submits the office's annual report of
// in.Year (a later one supersedes it): a leader on a township device, a
// county admin on a county-admin device for the county. Refusals:
// domain.ErrNotAllowed (role or device), ErrNotFound (a notable commitment
// or source that has not arrived), domain.ErrInvalidValue and what
// Op.Validate returns.
func (se *Session) SubmitAnnualReport(in ReportInput) (protocol.OpID, error) {
	if se.rec.Admin && se.acct.Role != domain.RoleCountyAdmin || !se.rec.Admin && !se.acct.Role.AtLeast(domain.RoleLeader) {
		return protocol.OpID{}, fmt.Errorf("%w: the annual report is signed by the office's leader", domain.ErrNotAllowed)
	}
	return se.act(func(tx *bolt.Tx) (*protocol.Op, error) { return AnnualReportOpTx(tx, se.rec.Office, in) })
}

// AnnualReportOpTx returns, inside a caller's transaction, the operation
// of office o's annual report, after the checks every signer applies: each
// notable commitment has arrived and is of o or an office inside it; each
// source is the current or an earlier version of a report of an office
// inside o, of the same year. Num and HLC are left for the signer.
func AnnualReportOpTx(tx *bolt.Tx, o office.Code, in ReportInput) (*protocol.Op, error) {
	r := &protocol.AnnualReport{Year: in.Year, AsOf: in.AsOf, Narrative: in.Narrative, Figures: in.Figures,
		Sources: slices.SortedFunc(slices.Values(in.Sources), protocol.OpID.Compare)}
	for _, ref := range in.Notable {
		if !o.Contains(ref.Office) {
			return nil, fmt.Errorf("%w: commitment %s is not of %s", domain.ErrInvalidValue, ref, o)
		}
		if _, err := arrivedView(tx, ref); err != nil {
			return nil, err
		}
		r.Notable = append(r.Notable, protocol.NotableRef{Office: ref.Office, ID: ref.ID})
	}
	for _, src := range r.Sources {
		if !reportVersionIn(tx, o, in.Year, src) {
			return nil, fmt.Errorf("%w: report %s of %d in %s", ErrNotFound, src, in.Year, o)
		}
	}
	return &protocol.Op{Kind: protocol.OpAnnualReport, Office: o, Report: r}, nil
}

// reportVersionIn reports whether op is a version of the year-y report of
// an office inside o (not o itself).
func reportVersionIn(tx *bolt.Tx, o office.Code, y int, op protocol.OpID) bool {
	found := false
	tx.Bucket(bReportLog).ForEach(func(k, v []byte) error {
		rk, _, ok := parseRefKey(k)
		if !ok || found || rk.Office == o || !o.Contains(rk.Office) || reportYear(rk) != y {
			return nil
		}
		var rv ReportVersion
		if unmarshal(v, &rv) == nil && rv.Op == op {
			found = true
		}
		return nil
	})
	return found
}
