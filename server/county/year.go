package county

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"

	bolt "go.etcd.io/bbolt"

	"jiannuo/assets"
	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/report"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// The office's year over the admin API: urges (催办, §三(四)) and the annual
// reports (§六(三)). An urge, and the county's compiled report, are signed
// by the server's own device with the admin's name as author (signOwn),
// built by the same rules a desktop admin device applies
// (store.UrgeOpTx, store.AnnualReportOpTx), and written to the audit
// trail in the transaction that applies them. The townships' read
// receipts and reports reach the county through their devices' pushes.

// The audited actions of the year.
const (
	AuditUrge          = "urge"
	AuditReportCompile = "report_compile"
)

func (s *Server) yearRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /admin/urges", s.admin(s.serveUrge))
	mux.HandleFunc("GET /admin/urges", s.admin(s.serveUrges))
	mux.HandleFunc("GET /admin/reports", s.admin(s.serveReports))
	mux.HandleFunc("POST /admin/reports/remind", s.admin(s.serveRemind))
	mux.HandleFunc("POST /admin/reports/compile", s.admin(s.serveCompile))
	mux.HandleFunc("GET /admin/reports/{office}/{year}", s.admin(s.serveReport))
	mux.HandleFunc("GET /admin/reports/{office}/{year}/export", s.admin(s.serveReportExport))
}

// inCounty refuses an office outside the county.
func (s *Server) inCounty(o office.Code) error {
	if !o.Valid() || !s.id.County.Contains(o) {
		return fmt.Errorf("%w: office %q is not in county %s", protocol.ErrOutOfScope, o, s.id.County)
	}
	return nil
}

// urgeInput reads what an urge request concerns.
func (s *Server) urgeInput(req countyapi.UrgeRequest) (store.UrgeInput, error) {
	in := store.UrgeInput{Note: req.Note, Year: req.Year}
	switch {
	case req.Case != "":
		c, err := s.FindCase(req.Case)
		if err != nil {
			return in, err
		}
		in.Commitment, in.Case = c.Commitment, c.ID
	case req.Commitment != "":
		id, err := protocol.ParseEntityID(req.Commitment)
		if err != nil {
			return in, fmt.Errorf("%w: commitment %q", protocol.ErrMalformed, req.Commitment)
		}
		in.Commitment = store.Ref{Office: req.Office, ID: id}
	default:
		in.Office = req.Office
	}
	o := cmp.Or(in.Commitment.Office, in.Office)
	if err := s.inCounty(o); err != nil {
		return in, err
	}
	if err := domain.CheckText("note", req.Note, protocol.MaxUrgeNoteBytes); err != nil || !domain.NonBlank(req.Note) {
		return in, fmt.Errorf("%w: an urge needs a note of at most %d bytes", protocol.ErrInvalidOperation, protocol.MaxUrgeNoteBytes)
	}
	return in, nil
}

// Urge sends an urge (催办) signed by the server's device with who as
// author, and audits it. Refusals: store.ErrNotFound (no such commitment
// or case), protocol.ErrOutOfScope (an office outside the county),
// protocol.ErrInvalidOperation (no note, nothing or two things urged
// about), and what the ingest path refuses.
func (s *Server) Urge(req countyapi.UrgeRequest, who string) (countyapi.UrgeInfo, error) {
	in, err := s.urgeInput(req)
	if err != nil {
		return countyapi.UrgeInfo{}, err
	}
	return s.sendUrge(in, who)
}

func (s *Server) sendUrge(in store.UrgeInput, who string) (countyapi.UrgeInfo, error) {
	id := protocol.NewEntityID()
	var op *protocol.Op
	res, err := s.signOwn(who, func() ([]protocol.Op, error) {
		err := s.st.View(func(tx *bolt.Tx) error {
			var err error
			op, err = store.UrgeOpTx(tx, id, in)
			return err
		})
		if err != nil {
			return nil, caseRefusal(err)
		}
		return []protocol.Op{*op}, nil
	}, func(tx *bolt.Tx, r store.Result) error {
		target := "report " + strconv.Itoa(in.Year)
		if op.Urge.Year == 0 {
			target = "commitment " + op.Target.String()
		}
		return putAudit(tx, countyapi.AuditEntry{Time: s.cfg.Now(), Who: who, Action: AuditUrge, Target: string(op.Office) + " " + target,
			Reason: in.Note, Detail: fmt.Sprintf("urge %s; signed by the county server's device, change set %d at feed position %d", id, r.Seq, r.Pos)})
	})
	if err != nil {
		return countyapi.UrgeInfo{}, err
	}
	if res.Code != protocol.CodeOK {
		return countyapi.UrgeInfo{}, fmt.Errorf("the urge was refused: %w", res.Err)
	}
	s.log.Info("urge sent", "office", op.Office, "urge", id, "by", who, "pos", res.Pos)
	u, err := s.st.Urge(op.Office, id)
	if err != nil {
		return countyapi.UrgeInfo{}, err
	}
	info, err := s.urgeInfo(u)
	info.Pos = res.Pos
	return info, err
}

// urgeInfo is u as the admin sees it: by name, with its follow-ups.
func (s *Server) urgeInfo(u store.Urge) (countyapi.UrgeInfo, error) {
	info := countyapi.UrgeInfo{Urge: u, FollowUps: []store.FollowUp{}}
	if u.Commitment != nil {
		if c, err := s.st.Commitment(*u.Commitment); err == nil {
			info.Title = c.Title
		}
	}
	if u.Case != nil {
		if c, err := s.st.Case(u.Office, *u.Case); err == nil {
			info.CaseNumber = c.Number
		}
	}
	f, err := s.st.FollowUps(&u)
	if f != nil {
		info.FollowUps = f
	}
	return info, err
}

// Urges returns the county's urges q selects, newest first, with their
// read receipts and follow-ups.
func (s *Server) Urges(q countyapi.UrgeQuery) ([]countyapi.UrgeInfo, error) {
	o := cmp.Or(q.Office, s.id.County)
	if err := s.inCounty(o); err != nil {
		return nil, err
	}
	us, err := s.st.Urges(store.UrgeFilter{Office: o, UnreadOnly: q.UnreadOnly, Year: q.Year})
	if err != nil {
		return nil, err
	}
	out := make([]countyapi.UrgeInfo, 0, len(us))
	for _, u := range us {
		info, err := s.urgeInfo(u)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// townships returns the county's townships on the system: those with an
// enrolled device, a commitment or a report, named from the directory,
// in code order.
func (s *Server) townships(cs []store.Commitment, reports []store.AnnualReport) ([]office.Unit, error) {
	seen := map[office.Code]bool{}
	add := func(o office.Code) {
		if o.Level() == office.Township && s.id.County.Contains(o) {
			seen[o] = true
		}
	}
	devs, err := s.st.Devices()
	if err != nil {
		return nil, err
	}
	for _, d := range devs {
		if !d.Admin && !d.Revoked {
			add(d.Office)
		}
	}
	for i := range cs {
		add(cs[i].Office)
	}
	for i := range reports {
		add(reports[i].Office)
	}
	dir := office.Luoyang()
	var out []office.Unit
	for _, o := range slices.Sorted(maps.Keys(seen)) {
		u, ok := dir.Lookup(o)
		if !ok {
			u = office.Unit{Code: o, Name: string(o)}
		}
		out = append(out, u)
	}
	return out, nil
}

// reportParts returns where each township stands on its report of year,
// late and missing first, with the county's own report if compiled.
func (s *Server) reportParts(year int, cs []store.Commitment) ([]report.ReportStatus, *store.AnnualReport, error) {
	reports, err := s.st.AnnualReports(store.ReportFilter{Office: s.id.County, Year: year})
	if err != nil {
		return nil, nil, err
	}
	units, err := s.townships(cs, reports)
	if err != nil {
		return nil, nil, err
	}
	var own *store.AnnualReport
	for i := range reports {
		if reports[i].Office == s.id.County {
			own = &reports[i]
		}
	}
	return report.SortedStatuses(report.ReportStatuses(reports, units, year, s.today())), own, nil
}

func checkYear(y int) error {
	if y < protocol.MinReportYear || y > protocol.MaxReportYear {
		return fmt.Errorf("%w: year %d", protocol.ErrInvalidOperation, y)
	}
	return nil
}

// ReportStatus returns where each township of the county stands on its
// annual report of year, and the county's compilation.
func (s *Server) ReportStatus(year int) (countyapi.ReportStatusList, error) {
	if err := checkYear(year); err != nil {
		return countyapi.ReportStatusList{}, err
	}
	cs, err := s.st.AllCommitments()
	if err != nil {
		return countyapi.ReportStatusList{}, err
	}
	parts, own, err := s.reportParts(year, cs)
	if err != nil {
		return countyapi.ReportStatusList{}, err
	}
	urges, err := s.st.Urges(store.UrgeFilter{Office: s.id.County, Year: year})
	if err != nil {
		return countyapi.ReportStatusList{}, err
	}
	out := countyapi.ReportStatusList{Year: year, Deadline: report.AnnualDeadline(year).String(), Today: s.today().String(),
		Offices: []countyapi.ReportStatusInfo{}, County: own}
	for _, p := range parts {
		info := countyapi.ReportStatusInfo{Office: p.Unit.Code, Name: p.Unit.Name}
		for _, u := range urges {
			if u.Office == p.Unit.Code {
				info.Reminders++
			}
		}
		switch r := p.Report; {
		case r == nil && p.Late:
			info.Status = countyapi.ReportMissing
		case r == nil:
			info.Status = countyapi.ReportPending
		default:
			info.Status = countyapi.ReportOnTime
			if p.Late {
				info.Status = countyapi.ReportLate
			}
			rep := protocol.AnnualReport{Figures: r.Current.Figures}
			t := rep.Totals()
			info.Version, info.By, info.Total, info.OnTime = r.Version, r.Current.Author, int(t.Total), int(t.OnTime)
			info.FirstSubmitted, info.Submitted = r.FirstSubmitted().String(), r.Submitted().String()
			if v, ok := report.FigureRate(t); ok {
				info.Rate = &v
			}
		}
		out.Offices = append(out.Offices, info)
	}
	return out, nil
}

// RemindReports urges every township that has not submitted its report
// of year (one urge each, signed by the server's device with who as
// author); note empty: a standard reminder. It returns the urges sent.
func (s *Server) RemindReports(year int, note, who string) ([]countyapi.UrgeInfo, error) {
	if err := checkYear(year); err != nil {
		return nil, err
	}
	if note == "" {
		note = fmt.Sprintf("请于%s前报送%d年度践诺情况报告。", report.AnnualDeadline(year), year)
	}
	cs, err := s.st.AllCommitments()
	if err != nil {
		return nil, err
	}
	parts, _, err := s.reportParts(year, cs)
	if err != nil {
		return nil, err
	}
	out := []countyapi.UrgeInfo{}
	for _, p := range parts {
		if p.Report != nil {
			continue
		}
		info, err := s.Urge(countyapi.UrgeRequest{Office: p.Unit.Code, Year: year, Note: note}, who)
		if err != nil {
			return out, err
		}
		out = append(out, info)
	}
	return out, nil
}

// CompileReport compiles the county's annual report of req.Year — the
// county's statistics (report.AnnualFigures over every township), the
// townships' reports as its sources (their current versions), the
// admin's narrative and notable commitments — and signs and submits it
// with the server's device, who as author; a later compilation supersedes
// it. It returns the report with every version and the feed position.
func (s *Server) CompileReport(req countyapi.ReportCompile, who string) (countyapi.ReportCompiled, error) {
	if err := checkYear(req.Year); err != nil {
		return countyapi.ReportCompiled{}, err
	}
	if !domain.NonBlank(req.Narrative) {
		return countyapi.ReportCompiled{}, fmt.Errorf("%w: the report needs its narrative", protocol.ErrInvalidOperation)
	}
	cs, err := s.st.AllCommitments()
	if err != nil {
		return countyapi.ReportCompiled{}, err
	}
	asOf, figs := report.AnnualFigures(cs, s.id.County, req.Year, s.today(), s.calendar())
	reports, err := s.st.AnnualReports(store.ReportFilter{Office: s.id.County, Year: req.Year})
	if err != nil {
		return countyapi.ReportCompiled{}, err
	}
	in := store.ReportInput{Year: req.Year, AsOf: asOf, Narrative: req.Narrative, Notable: req.Notable, Figures: figs}
	for _, r := range reports {
		if r.Office != s.id.County && r.Version > 0 {
			in.Sources = append(in.Sources, r.Current.Op)
		}
	}
	res, err := s.signOwn(who, func() ([]protocol.Op, error) {
		var op *protocol.Op
		err := s.st.View(func(tx *bolt.Tx) error {
			var err error
			op, err = store.AnnualReportOpTx(tx, s.id.County, in)
			return err
		})
		if err != nil {
			return nil, caseRefusal(err)
		}
		return []protocol.Op{*op}, nil
	}, func(tx *bolt.Tx, r store.Result) error {
		return putAudit(tx, countyapi.AuditEntry{Time: s.cfg.Now(), Who: who, Action: AuditReportCompile, Target: fmt.Sprintf("%s report %d", s.id.County, req.Year),
			Detail: fmt.Sprintf("%d township reports, %d notable commitments; signed by the county server's device, change set %d at feed position %d",
				len(in.Sources), len(in.Notable), r.Seq, r.Pos)})
	})
	if err != nil {
		return countyapi.ReportCompiled{}, err
	}
	if res.Code != protocol.CodeOK {
		return countyapi.ReportCompiled{}, fmt.Errorf("the county's report was refused: %w", res.Err)
	}
	s.log.Info("county report compiled", "year", req.Year, "sources", len(in.Sources), "by", who, "pos", res.Pos)
	rep, err := s.st.AnnualReportOf(s.id.County, req.Year)
	return countyapi.ReportCompiled{Report: rep, Pos: res.Pos}, err
}

// ExportReport writes office o's annual report of year (its current
// version) as a PDF (format "pdf") or an Excel workbook ("xlsx"), headings
// in lang; the county's own report lists where each township stands. It
// returns the file and its media type.
func (s *Server) ExportReport(o office.Code, year int, format, lang string) ([]byte, string, error) {
	if err := s.inCounty(o); err != nil {
		return nil, "", err
	}
	if format != "pdf" && format != "xlsx" {
		return nil, "", fmt.Errorf("%w: format %q (want pdf or xlsx)", protocol.ErrMalformed, format)
	}
	rep, err := s.st.AnnualReportOf(o, year)
	if err != nil {
		return nil, "", err
	}
	cs, err := s.st.AllCommitments()
	if err != nil {
		return nil, "", err
	}
	var parts []report.ReportStatus
	if o == s.id.County {
		if parts, _, err = s.reportParts(year, cs); err != nil {
			return nil, "", err
		}
	}
	unit, ok := office.Luoyang().Lookup(o)
	if !ok {
		unit = office.Unit{Code: o, Name: string(o)}
	}
	tr := assets.NewTranslator(lang)
	doc := report.NewAnnualDoc(&rep, unit, cs, report.Names(unit), parts, s.today())
	var buf bytes.Buffer
	if format == "xlsx" {
		err = report.WriteAnnualReportXLSX(&buf, doc, tr)
		return buf.Bytes(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", err
	}
	_, err = report.WriteAnnualReportPDF(&buf, doc, tr)
	return buf.Bytes(), "application/pdf", err
}

// serveUrge answers POST /admin/urges.
func (s *Server) serveUrge(w http.ResponseWriter, r *http.Request, who string) {
	var req countyapi.UrgeRequest
	err := readBody(r, &req)
	var out countyapi.UrgeInfo
	if err == nil {
		out, err = s.Urge(req, who)
	}
	if err != nil {
		s.writeErr(w, r, statusFor(err), err)
		return
	}
	countyapi.WriteJSON(w, http.StatusOK, out)
}

// serveUrges answers GET /admin/urges[?office=CODE][&unread=1][&year=Y].
func (s *Server) serveUrges(w http.ResponseWriter, r *http.Request, _ string) {
	v := r.URL.Query()
	q := countyapi.UrgeQuery{Office: office.Code(v.Get("office"))}
	q.UnreadOnly, _ = strconv.ParseBool(v.Get("unread"))
	if y := v.Get("year"); y != "" {
		n, err := strconv.Atoi(y)
		if err != nil {
			s.writeErr(w, r, http.StatusBadRequest, fmt.Errorf("%w: year %q", protocol.ErrMalformed, y))
			return
		}
		q.Year = n
	}
	list, err := s.Urges(q)
	if err != nil {
		s.writeErr(w, r, statusFor(err), err)
		return
	}
	countyapi.WriteJSON(w, http.StatusOK, countyapi.UrgeList{Urges: list})
}

// yearParam reads a year from the query or the path.
func yearParam(v string) (int, error) {
	y, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%w: year %q", protocol.ErrMalformed, v)
	}
	return y, checkYear(y)
}

// serveReports answers GET /admin/reports?year=Y (default: the year due).
func (s *Server) serveReports(w http.ResponseWriter, r *http.Request, _ string) {
	year := report.ReportYear(s.today())
	if v := r.URL.Query().Get("year"); v != "" {
		var err error
		if year, err = yearParam(v); err != nil {
			s.writeErr(w, r, http.StatusBadRequest, err)
			return
		}
	}
	out, err := s.ReportStatus(year)
	if err != nil {
		s.writeErr(w, r, statusFor(err), err)
		return
	}
	countyapi.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) serveRemind(w http.ResponseWriter, r *http.Request, who string) {
	var req countyapi.ReportRemind
	err := readBody(r, &req)
	var out []countyapi.UrgeInfo
	if err == nil {
		out, err = s.RemindReports(req.Year, req.Note, who)
	}
	if err != nil {
		s.writeErr(w, r, statusFor(err), err)
		return
	}
	countyapi.WriteJSON(w, http.StatusOK, countyapi.UrgeList{Urges: out})
}

func (s *Server) serveCompile(w http.ResponseWriter, r *http.Request, who string) {
	var req countyapi.ReportCompile
	err := readBodyUpTo(r, &req, countyapi.MaxReportBody)
	var out countyapi.ReportCompiled
	if err == nil {
		out, err = s.CompileReport(req, who)
	}
	if err != nil {
		s.writeErr(w, r, statusFor(err), err)
		return
	}
	countyapi.WriteJSON(w, http.StatusOK, out)
}

// reportPath reads the office and year of /admin/reports/{office}/{year}.
func (s *Server) reportPath(r *http.Request) (office.Code, int, error) {
	o, err := office.Parse(r.PathValue("office"))
	if err != nil {
		return "", 0, fmt.Errorf("%w: %v", protocol.ErrMalformed, err)
	}
	y, err := yearParam(r.PathValue("year"))
	if err != nil {
		return "", 0, err
	}
	return o, y, s.inCounty(o)
}

func (s *Server) serveReport(w http.ResponseWriter, r *http.Request, _ string) {
	o, y, err := s.reportPath(r)
	var rep store.AnnualReport
	if err == nil {
		rep, err = s.st.AnnualReportOf(o, y)
	}
	if err != nil {
		s.writeErr(w, r, statusFor(err), err)
		return
	}
	countyapi.WriteJSON(w, http.StatusOK, rep)
}

// serveReportExport answers GET /admin/reports/{office}/{year}/export
// ?format=pdf|xlsx[&lang=zh|en] with the file.
func (s *Server) serveReportExport(w http.ResponseWriter, r *http.Request, _ string) {
	o, y, err := s.reportPath(r)
	var file []byte
	var ctype string
	if err == nil {
		q := r.URL.Query()
		file, ctype, err = s.ExportReport(o, y, cmp.Or(q.Get("format"), "pdf"), cmp.Or(q.Get("lang"), "zh"))
	}
	if err != nil {
		s.writeErr(w, r, statusFor(err), err)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(file)))
	w.WriteHeader(http.StatusOK)
	w.Write(file)
}
