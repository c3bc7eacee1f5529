package main

import (
	"bytes"
	"cmp"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"jiannuo/assets"
	"jiannuo/domain/office"
	"jiannuo/report"
	"jiannuo/server/county"
	"jiannuo/sync/countyapi"
)

// County oversight commands: overview, dishonesty, audit and export use the
// admin API of a running server; recover-revoke works on the data
// directory of a stopped one.

func init() {
	admin := slices.IndexFunc(commands, func(c command) bool { return c.name == "enrolments" })
	commands = slices.Insert(commands, max(admin, 0), command{"recover-revoke", "DEVICE -reason TEXT [-dir DIR] [-admin NAME]",
		"with the server STOPPED: revoke a device (a lost admin laptop) using the recovery credential made by init", (*cli).recoverRevokeCmd})
	commands = append(commands,
		command{"overview", "[admin flags]",
			"county overview by township: commitments, on-time rate, overdue, due soon, last sync, early warnings", (*cli).overviewCmd},
		command{"dishonesty", "[-office CODE] [-open] [admin flags]",
			"list government dishonesty records (政务失信记录)", (*cli).dishonestyCmd},
		command{"audit", "[admin flags]",
			"print the audit trail of admin actions and check its hash chain", (*cli).auditCmd},
		command{"export", "overview|dishonesty -o FILE [-lang zh|en] [admin flags]",
			"export the overview or the dishonesty records to Excel (.xlsx) or CSV (.csv, by the file name)", (*cli).exportCmd},
	)
}

func pctText(p *float64) string {
	if p == nil {
		return "—"
	}
	return strconv.FormatFloat(100**p, 'f', 0, 64) + "%"
}

func (c *cli) overviewCmd(fs *flag.FlagSet, args []string) error {
	a := c.adminFlags(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cl, err := c.client(a)
	if err != nil {
		return err
	}
	ov, err := cl.Overview(cl.ctx)
	if a.json || err != nil {
		return cl.explain(err)
	}
	fmt.Fprintf(c.stdout, "%s 截至 as of %s\n\n", officeLabel(ov.County), ov.Today)
	if len(ov.Rows) == 0 {
		fmt.Fprintln(c.stdout, "没有承诺事项或终端 no commitments or devices yet")
		return nil
	}
	var t table
	t.row("单位 OFFICE", "总数 TOTAL", "在办 OPEN", "逾期 OVERDUE", "逾期占比 SHARE", "30天前 BEFORE", "5日内到期 DUE SOON", "按期率 ON TIME",
		"投诉异议 CASES (逾期 LATE)", "终端 DEVICES", "最近同步 LAST SYNC")
	for _, r := range ov.Rows {
		t.row(officeLabel(r.Office), strconv.Itoa(r.Tally.Total), strconv.Itoa(r.Tally.Open), strconv.Itoa(r.Tally.Overdue),
			pctText(r.OverdueShare), pctText(r.OverdueShareBefore), strconv.Itoa(r.Tally.DueSoon), pctText(r.OnTimeRate),
			fmt.Sprintf("%d (%d)", r.Cases.Open, r.Cases.Overdue), strconv.Itoa(len(r.Devices)), localTime(r.LastSync))
	}
	if err := t.write(c.stdout); err != nil {
		return err
	}
	if ov.Warnings == 0 {
		fmt.Fprintln(c.stdout, "\n无预警 no early warnings")
		return nil
	}
	fmt.Fprintf(c.stdout, "\n预警 EARLY WARNINGS (%d):\n", ov.Warnings)
	for _, r := range ov.Rows {
		for _, w := range r.Warnings {
			fmt.Fprintf(c.stdout, "  %s  %s: %s\n", officeLabel(r.Office), w.Kind, clean(w.Message))
		}
	}
	return nil
}

func (c *cli) dishonestyQuery(fs *flag.FlagSet) func() countyapi.DishonestyQuery {
	o := fs.String("office", "", "only this office (a township code, or the county)")
	open := fs.Bool("open", false, "only records not yet closed by credit repair")
	return func() countyapi.DishonestyQuery {
		return countyapi.DishonestyQuery{Office: office.Code(*o), OpenOnly: *open}
	}
}

func (c *cli) dishonestyCmd(fs *flag.FlagSet, args []string) error {
	a := c.adminFlags(fs)
	query := c.dishonestyQuery(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cl, err := c.client(a)
	if err != nil {
		return err
	}
	recs, err := cl.Dishonesty(cl.ctx, query())
	if a.json || err != nil {
		return cl.explain(err)
	}
	if len(recs) == 0 {
		fmt.Fprintln(c.stdout, "没有政务失信记录 no dishonesty records")
		return nil
	}
	tr := assets.NewTranslator("zh")
	var t table
	t.row("单位 OFFICE", "类型 TYPE", "责任人 OFFICIAL", "整改期限 RECTIFY BY", "状态 STATUS", "事实 FACTS", "记录 RECORD")
	for _, r := range recs {
		t.row(officeLabel(r.Office), tr.T("admin.type_"+string(r.Type))+" "+string(r.Type), r.Official, cmp.Or(r.Deadline, "-"),
			tr.T("admin.step_"+string(r.Status))+" "+string(r.Status), ellipsis(r.Reason, 40), r.ID.String()[:12])
	}
	return t.write(c.stdout)
}

func (c *cli) auditCmd(fs *flag.FlagSet, args []string) error {
	a := c.adminFlags(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cl, err := c.client(a)
	if err != nil {
		return err
	}
	rep, err := cl.Audit(cl.ctx)
	if err != nil {
		return cl.explain(err)
	}
	switch {
	case a.json: // the client printed the answer as the server sent it
	case len(rep.Entries) == 0:
		fmt.Fprintln(c.stdout, "审计记录为空 the audit trail is empty")
	default:
		var t table
		t.row("序号 SEQ", "时间 TIME", "操作人 WHO", "操作 ACTION", "对象 TARGET", "理由 WHY", "说明 DETAIL")
		for _, e := range rep.Entries {
			t.row(strconv.FormatUint(e.Seq, 10), localTime(e.Time), e.Who, e.Action, e.Target, cmp.Or(e.Reason, "-"), cmp.Or(e.Detail, "-"))
		}
		if err := t.write(c.stdout); err != nil {
			return err
		}
	}
	if !rep.Verified {
		return fmt.Errorf("审计记录被篡改 the audit trail was altered: %s", rep.Problem)
	}
	if !a.json {
		fmt.Fprintf(c.stdout, "\n哈希链完整 hash chain intact (%d entries)\n", len(rep.Entries))
	}
	return nil
}

func (c *cli) exportCmd(fs *flag.FlagSet, args []string) error {
	a := c.adminFlags(fs)
	out := fs.String("o", "", "the file to write: .xlsx for Excel, .csv for CSV")
	lang := fs.String("lang", "zh", "language of the headings: zh or en")
	query := c.dishonestyQuery(fs)
	pos, err := parse(fs, args, "overview|dishonesty")
	if err != nil {
		return err
	}
	what := pos[0]
	if what != "overview" && what != "dishonesty" {
		return usagef("export %q: want overview or dishonesty", what)
	}
	ext := strings.ToLower(filepath.Ext(*out))
	if *out == "" || (ext != ".xlsx" && ext != ".csv") {
		return usagef("-o FILE is required and must end in .xlsx or .csv")
	}
	a.json = false // the file is the output
	cl, err := c.client(a)
	if err != nil {
		return err
	}
	tr := assets.NewTranslator(*lang)
	var buf bytes.Buffer
	var n int
	switch what {
	case "overview":
		ov, err := cl.Overview(cl.ctx)
		if err != nil {
			return cl.explain(err)
		}
		n = len(ov.Rows)
		if ext == ".xlsx" {
			err = report.WriteOverviewXLSX(&buf, ov, tr)
		} else {
			err = report.WriteOverviewCSV(&buf, ov, tr)
		}
		if err != nil {
			return err
		}
	case "dishonesty":
		recs, err := cl.Dishonesty(cl.ctx, query())
		if err != nil {
			return cl.explain(err)
		}
		ov, err := cl.Overview(cl.ctx) // for the county code and the day
		if err != nil {
			return cl.explain(err)
		}
		n = len(recs)
		if ext == ".xlsx" {
			err = report.WriteDishonestyXLSX(&buf, ov.County, recs, ov.Today, tr)
		} else {
			err = report.WriteDishonestyCSV(&buf, ov.County, recs, ov.Today, tr)
		}
		if err != nil {
			return err
		}
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "已导出 wrote %s (%d rows)\n", *out, n)
	return nil
}

func (c *cli) recoverRevokeCmd(fs *flag.FlagSet, args []string) error {
	dir := fs.String("dir", defaultDir, "the stopped server's data directory")
	reason := fs.String("reason", "", "why (required; the device's user sees it)")
	name := fs.String("admin", "", "the recovery credential's name (default: the one made by init)")
	pos, err := parse(fs, args, "DEVICE")
	if err != nil {
		return err
	}
	dev, err := parseDevice(pos[0])
	if err != nil {
		return err
	}
	if strings.TrimSpace(*reason) == "" {
		return usagef("-reason is required")
	}
	pass, err := c.password(false)
	if err != nil {
		return err
	}
	cfg := county.DefaultConfig(*dir)
	cfg.Logger = c.log
	if err := county.RecoverRevoke(cfg, dev, *name, pass, *reason); err != nil {
		if strings.Contains(err.Error(), "timeout") {
			return fmt.Errorf("the data directory is in use: stop the server first (%w)", err)
		}
		return err
	}
	fmt.Fprintf(c.stdout, "已吊销 revoked %s with the recovery credential; it takes effect when the server starts.\n", dev)
	return nil
}
