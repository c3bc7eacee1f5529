package main

import (
	"cmp"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/report"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// The office's year over the admin API: urges (催办) with their read
// receipts and what was done after, and the annual reports (年度践诺情况报告):
// who has submitted by 5 January, reminders to the others, the county's
// compilation, each report as PDF or Excel.

func init() {
	commands = append(commands,
		command{"urge", "-office CODE (-commitment ID | -case NUMBER | -year YEAR) -note TEXT [admin flags]",
			"urge a township (催办) about a commitment, a case or its annual report (signed by the server, audited)", (*cli).urgeCmd},
		command{"urges", "[-office CODE] [-unread] [-year YEAR] [admin flags]",
			"list urges: when each was read and by whom, and what was done after", (*cli).urgesCmd},
		command{"reports", "[-year YEAR] [admin flags]",
			"which townships have submitted their annual report (年度践诺情况报告), by the 5 January deadline", (*cli).reportsCmd},
		command{"report", "remind -year YEAR [-note TEXT] | compile -year YEAR -narrative FILE [-notable OFFICE/ID,…] | show OFFICE -year YEAR | export OFFICE -year YEAR -o FILE.pdf|.xlsx [-lang zh|en] [admin flags]",
			"remind the late townships, compile and sign the county's annual report, show or export a report", (*cli).reportCmd},
	)
}

// followLabels name what was done after an urge.
var followLabels = map[string]string{
	"fulfil":        "践诺记录 entry",
	"transition":    "状态变更 status",
	"amend":         "变更 amendment",
	"edit":          "修改 edit",
	"resolve":       "核定 resolution",
	"case_step":     "办理 case step",
	"annual_report": "报送年度报告 report",
}

func (c *cli) urgeCmd(fs *flag.FlagSet, args []string) error {
	a := c.adminFlags(fs)
	o := fs.String("office", "", "the township urged")
	commitment := fs.String("commitment", "", "the commitment's ID (hex)")
	caseRef := fs.String("case", "", "a case's number or ID: urge about it (the commitment is the case's)")
	year := fs.Int("year", 0, "urge about the township's annual report of this year")
	note := fs.String("note", "", "what the county asks (required)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	set := 0
	for _, s := range []bool{*commitment != "", *caseRef != "", *year != 0} {
		if s {
			set++
		}
	}
	switch {
	case set != 1:
		return usagef("give one of -commitment, -case or -year")
	case *caseRef == "" && *o == "":
		return usagef("-office CODE is required")
	case !domain.NonBlank(*note):
		return usagef("-note TEXT is required")
	}
	cl, err := c.client(a)
	if err != nil {
		return err
	}
	u, err := cl.Urge(cl.ctx, countyapi.UrgeRequest{Office: office.Code(*o), Commitment: *commitment, Case: *caseRef, Year: *year, Note: *note})
	if a.json || err != nil {
		return cl.explain(err)
	}
	fmt.Fprintf(c.stdout, "已催办 urged: %s %s — 由县级平台签名，%s 署名 signed by the county server as %s (feed position %d)\n",
		officeLabel(u.Office), urgeSubject(u), cl.Admin(), cl.Admin(), u.Pos)
	return nil
}

// urgeSubject says what an urge is about.
func urgeSubject(u *countyapi.UrgeInfo) string {
	switch {
	case u.Year != 0:
		return fmt.Sprintf("%d年度报告 annual report %d", u.Year, u.Year)
	case u.CaseNumber != "":
		return "案件 case " + u.CaseNumber + " — " + clean(u.Title)
	}
	return "承诺 commitment " + clean(cmp.Or(u.Title, u.Commitment.ID.String()))
}

func (c *cli) urgesCmd(fs *flag.FlagSet, args []string) error {
	a := c.adminFlags(fs)
	o := fs.String("office", "", "only urges to this township")
	unread := fs.Bool("unread", false, "only urges not yet read")
	year := fs.Int("year", 0, "only urges about the annual report of this year")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cl, err := c.client(a)
	if err != nil {
		return err
	}
	list, err := cl.Urges(cl.ctx, countyapi.UrgeQuery{Office: office.Code(*o), UnreadOnly: *unread, Year: *year})
	if a.json || err != nil {
		return cl.explain(err)
	}
	if len(list.Urges) == 0 {
		fmt.Fprintln(c.stdout, "没有催办 no urges")
		return nil
	}
	var t table
	t.row("催办时间 SENT", "单位 OFFICE", "事项 ABOUT", "催办人 BY", "阅读 READ", "此后办理 DONE AFTER")
	unreadN := 0
	for i := range list.Urges {
		u := &list.Urges[i]
		read := "未读 unread"
		if u.Read {
			read = localTime(u.ReadAt.Wall()) + " " + u.ReadBy
		} else {
			unreadN++
		}
		done := "-"
		if n := len(u.FollowUps); n > 0 {
			last := u.FollowUps[n-1]
			done = fmt.Sprintf("%d: %s %s", n, labelOr(followLabels, last.Kind, last.Kind), localTime(last.HLC.Wall()))
		}
		t.row(localTime(u.At.Wall()), officeLabel(u.Office), ellipsis(urgeSubject(u), 40), u.By, read, done)
	}
	if err := t.write(c.stdout); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "\n共 %d 条，未读 %d 条 — %d urges, %d unread\n", len(list.Urges), unreadN, len(list.Urges), unreadN)
	return nil
}

// reportStatusLabels name a report's status in both languages.
var reportStatusLabels = map[string]string{
	countyapi.ReportOnTime:  "按时报送 on time",
	countyapi.ReportLate:    "逾期报送 late",
	countyapi.ReportPending: "尚未报送 pending",
	countyapi.ReportMissing: "逾期未报 missing",
}

func (c *cli) reportsCmd(fs *flag.FlagSet, args []string) error {
	a := c.adminFlags(fs)
	year := fs.Int("year", 0, "the report year (default: the one due: last year until 5 January)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	y := cmp.Or(*year, report.ReportYear(todayCST()))
	cl, err := c.client(a)
	if err != nil {
		return err
	}
	st, err := cl.Reports(cl.ctx, y)
	if a.json || err != nil {
		return cl.explain(err)
	}
	fmt.Fprintf(c.stdout, "%d年度践诺情况报告 annual reports %d — 截止 due %s\n\n", st.Year, st.Year, st.Deadline)
	var t table
	t.row("单位 OFFICE", "状态 STATUS", "版本 VERSION", "首次报送 FIRST", "签署人 BY", "按期率 ON TIME", "催报 REMINDERS")
	done := 0
	for _, o := range st.Offices {
		version, first, rate := "-", "-", "-"
		if o.Version > 0 {
			done++
			version, first = strconv.Itoa(o.Version), o.FirstSubmitted
			if o.Rate != nil {
				rate = report.FormatPercent(*o.Rate * 100)
			}
		}
		t.row(officeLabel(o.Office), labelOr(reportStatusLabels, o.Status, o.Status), version, first, cmp.Or(o.By, "-"), rate, strconv.Itoa(o.Reminders))
	}
	if err := t.write(c.stdout); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "\n已报送 %d / %d — %d of %d submitted\n", done, len(st.Offices), done, len(st.Offices))
	if st.County != nil {
		fmt.Fprintf(c.stdout, "县级报告 county report: 第 %d 版 version %d, %s, %s\n", st.County.Version, st.County.Version,
			st.County.Current.Author, st.County.Submitted())
	} else {
		fmt.Fprintln(c.stdout, "县级报告尚未汇总 county report not compiled yet (report compile)")
	}
	return nil
}

// todayCST is today in China.
func todayCST() calendar.Date { return calendar.DateOf(time.Now().In(time.FixedZone("CST", 8*3600))) }

func (c *cli) reportCmd(fs *flag.FlagSet, args []string) error {
	a := c.adminFlags(fs)
	year := fs.Int("year", 0, "the report year (default: the one due)")
	note := fs.String("note", "", "remind: the urge's text (default: a standard reminder)")
	narrative := fs.String("narrative", "", "compile: a UTF-8 text file with the county's narrative")
	notable := fs.String("notable", "", "compile: notable commitments, OFFICE/ID separated by commas")
	out := fs.String("o", "", "export: the file to write, .pdf or .xlsx")
	lang := fs.String("lang", "zh", "export: language of the headings, zh or en")
	if len(args) == 0 {
		return usagef("want remind, compile, show or export")
	}
	action, rest := args[0], args[1:]
	want := []string{}
	if action == "show" || action == "export" {
		want = []string{"OFFICE"}
	}
	pos, err := parse(fs, rest, want...)
	if err != nil {
		return err
	}
	y := cmp.Or(*year, report.ReportYear(todayCST()))
	var o office.Code
	if len(pos) == 1 {
		if o, err = office.Parse(pos[0]); err != nil {
			return usagef("office: %v", err)
		}
	}
	switch action {
	case "remind", "show":
	case "compile":
		if *narrative == "" {
			return usagef("-narrative FILE is required")
		}
	case "export":
		ext := strings.ToLower(filepath.Ext(*out))
		if ext != ".pdf" && ext != ".xlsx" {
			return usagef("-o FILE is required and must end in .pdf or .xlsx")
		}
	default:
		return usagef("unknown action %q: want remind, compile, show or export", action)
	}
	var compile countyapi.ReportCompile
	if action == "compile" {
		text, err := os.ReadFile(*narrative)
		if err != nil {
			return err
		}
		compile = countyapi.ReportCompile{Year: y, Narrative: string(text)}
		for s := range strings.SplitSeq(*notable, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			oc, id, ok := strings.Cut(s, "/")
			eid, err := protocol.ParseEntityID(id)
			if !ok || err != nil || !office.Code(oc).Valid() {
				return usagef("-notable %q: want OFFICE/ID", s)
			}
			compile.Notable = append(compile.Notable, store.Ref{Office: office.Code(oc), ID: eid})
		}
	}
	cl, err := c.client(a)
	if err != nil {
		return err
	}
	switch action {
	case "remind":
		list, err := cl.RemindReports(cl.ctx, countyapi.ReportRemind{Year: y, Note: *note})
		if a.json || err != nil {
			return cl.explain(err)
		}
		for _, u := range list.Urges {
			fmt.Fprintf(c.stdout, "已催报 reminded: %s\n", officeLabel(u.Office))
		}
		fmt.Fprintf(c.stdout, "共催报 %d 个单位 — %d offices reminded\n", len(list.Urges), len(list.Urges))
	case "compile":
		res, err := cl.CompileReport(cl.ctx, compile)
		if a.json || err != nil {
			return cl.explain(err)
		}
		fmt.Fprintf(c.stdout, "已汇总并签署 compiled and signed: %s %d年度报告 report %d, 第 %d 版 version %d, %d 个乡镇报告 township reports (feed position %d)\n",
			officeLabel(res.Report.Office), y, y, res.Report.Version, res.Report.Version, len(res.Report.Current.Sources), res.Pos)
	case "show":
		r, err := cl.Report(cl.ctx, o, y)
		if a.json || err != nil {
			return cl.explain(err)
		}
		return c.printReport(r)
	case "export":
		format := strings.TrimPrefix(strings.ToLower(filepath.Ext(*out)), ".")
		file, err := cl.ExportReport(cl.ctx, o, y, format, *lang)
		if err != nil {
			return cl.explain(err)
		}
		if err := os.WriteFile(*out, file, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "已生成 wrote %s: %s %d年度报告 annual report %d, %d bytes\n", *out, officeLabel(o), y, y, len(file))
	}
	return nil
}

// printReport prints a report's current version and its history.
func (c *cli) printReport(r *store.AnnualReport) error {
	var t table
	t.row("单位 office:", officeLabel(r.Office))
	t.row("年度 year:", strconv.Itoa(r.Year))
	t.row("版本 version:", strconv.Itoa(r.Version))
	t.row("签署人 signed by:", r.Current.Author)
	t.row("报送 submitted:", r.Submitted().String())
	t.row("统计截至 as of:", r.Current.AsOf)
	rep := protocol.AnnualReport{Figures: r.Current.Figures}
	tot := rep.Totals()
	t.row("承诺事项 commitments:", strconv.Itoa(int(tot.Total)))
	if v, ok := report.FigureRate(tot); ok {
		t.row("按期践诺率 on time:", report.FormatPercent(v*100))
	}
	if err := t.write(c.stdout); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, "\n报告正文 narrative:")
	for p := range strings.SplitSeq(r.Current.Narrative, "\n") {
		fmt.Fprintln(c.stdout, "  "+clean(p))
	}
	fmt.Fprintln(c.stdout, "\n版本 VERSIONS:")
	var h table
	for i, v := range r.History {
		h.row(fmt.Sprintf("  %d", i+1), localTime(v.HLC.Wall()), v.Author)
	}
	return h.write(c.stdout)
}
