package main

import (
	"cmp"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// Supervision cases (投诉举报 and 异议) over the admin API: the list, one
// case with its history (and, audited, the filer's contact), and the
// county's decisions, which the server signs with its own device in the
// admin's name.

func init() {
	commands = append(commands,
		command{"cases", "[-open] [-overdue] [-office CODE] [-kind complaint|objection] [admin flags]",
			"list complaints and objections (投诉举报、异议) with their deadlines", (*cli).casesCmd},
		command{"case", "show NUMBER [-contact] | accept|return|decide|link|withdraw|assign NUMBER [-reason TEXT] [-finding F] [-record ID] [-ack-due D] [-answer-due D] [admin flags]",
			"show a case's history, or take the county's decision on it (signed by the server, audited)", (*cli).caseCmd},
	)
}

// caseStatusLabels name a case's status in both languages.
var caseStatusLabels = map[domain.CaseStatus]string{
	domain.CaseStatusOpen:         "待受理 open",
	domain.CaseStatusAcknowledged: "办理中 acknowledged",
	domain.CaseStatusReplied:      "待审核答复 replied",
	domain.CaseStatusClosed:       "已办结 closed",
}

var caseKindLabels = map[domain.CaseKind]string{
	domain.CaseComplaint: "投诉举报 complaint",
	domain.CaseObjection: "异议 objection",
}

func labelOr[K comparable](m map[K]string, k K, s string) string {
	if l, ok := m[k]; ok {
		return l
	}
	return s
}

func (c *cli) casesCmd(fs *flag.FlagSet, args []string) error {
	a := c.adminFlags(fs)
	open := fs.Bool("open", false, "only cases not closed")
	overdue := fs.Bool("overdue", false, "only cases past a deadline today")
	o := fs.String("office", "", "only cases about this township's records")
	kind := fs.String("kind", "", "only complaint or objection")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	q := countyapi.CaseQuery{OpenOnly: *open, OverdueOnly: *overdue, Kind: domain.CaseKind(*kind)}
	if *o != "" {
		code, err := office.Parse(*o)
		if err != nil {
			return usagef("-office: %v", err)
		}
		q.Office = code
	}
	if q.Kind != "" && !q.Kind.Valid() {
		return usagef("-kind %q: want complaint or objection", *kind)
	}
	cl, err := c.client(a)
	if err != nil {
		return err
	}
	if a.json {
		// One page as the server sends it; the next with -cursor is the
		// API's (GET /admin/cases?cursor=…).
		_, err := cl.Cases(cl.ctx, q)
		return cl.explain(err)
	}
	list, err := cl.AllCases(cl.ctx, q)
	if err != nil {
		return cl.explain(err)
	}
	if len(list) == 0 {
		fmt.Fprintln(c.stdout, "没有投诉举报或异议 no cases")
		return nil
	}
	var t table
	t.row("编号 NUMBER", "单位 OFFICE", "类型 KIND", "状态 STATUS", "受理期限 ACK BY", "答复期限 ANSWER BY", "逾期 OVERDUE")
	late := 0
	for _, ci := range list {
		mark := "-"
		if ci.Overdue {
			mark = "逾期 " + strconv.Itoa(ci.Due.DaysOverdue) + " 天 days"
			late++
		}
		t.row(ci.Number, officeLabel(ci.Office), labelOr(caseKindLabels, ci.Kind, string(ci.Kind)),
			labelOr(caseStatusLabels, ci.Status, string(ci.Status)), cmp.Or(ci.AckDue, "-"), cmp.Or(ci.AnswerDue, "-"), mark)
	}
	if err := t.write(c.stdout); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "\n共 %d 件，逾期 %d 件 — %d cases, %d overdue\n", len(list), late, len(list), late)
	return nil
}

func (c *cli) caseCmd(fs *flag.FlagSet, args []string) error {
	a := c.adminFlags(fs)
	contact := fs.Bool("contact", false, "show: also the filer's name and phone (recorded in the audit trail)")
	reason := fs.String("reason", "", "return, decide, withdraw: the reason (required); accept: an optional note")
	finding := fs.String("finding", "", "accept: upheld or not_upheld; decide: upheld or rejected")
	record := fs.String("record", "", "link: the ID of the dishonesty record created from the case")
	ackDue := fs.String("ack-due", "", "assign: the acknowledgement deadline, YYYY-MM-DD (a complaint keeps its own if not given)")
	answerDue := fs.String("answer-due", "", "assign: the answer deadline, YYYY-MM-DD (required)")
	pos, err := parse(fs, args, "ACTION", "NUMBER")
	if err != nil {
		return err
	}
	action, number := pos[0], pos[1]
	if action == "show" {
		return c.caseShow(a, number, *contact)
	}
	step, ok := countyapi.CaseActions[action]
	if !ok {
		return usagef("unknown action %q: want show, accept, return, decide, link, withdraw or assign", action)
	}
	d := countyapi.CaseDecision{Reason: *reason, Finding: domain.CaseFinding(*finding), AckDue: *ackDue, AnswerDue: *answerDue}
	switch {
	case step.TextRequired() && !domain.NonBlank(*reason):
		return usagef("-reason is required for %s", action)
	case len(domain.FindingFor(step)) > 0 && d.Finding == "":
		return usagef("-finding is required for %s: one of %v", action, domain.FindingFor(step))
	case step == domain.CaseLinked && *record == "":
		return usagef("-record ID is required for link")
	case step == domain.CaseAssigned && *answerDue == "":
		return usagef("-answer-due YYYY-MM-DD is required for assign")
	}
	if *record != "" {
		if d.Record, err = protocol.ParseEntityID(*record); err != nil {
			return usagef("-record: %v", err)
		}
	}
	cl, err := c.client(a)
	if err != nil {
		return err
	}
	out, err := cl.DecideCase(cl.ctx, number, action, d)
	if a.json || err != nil {
		return cl.explain(err)
	}
	fmt.Fprintf(c.stdout, "已记录 recorded: %s %s — 由县级平台签名，%s 署名 signed by the county server as %s (feed position %d)\n",
		out.Case.Number, step, cl.Admin(), cl.Admin(), out.Pos)
	return c.printCase(&out.Case, nil)
}

func (c *cli) caseShow(a *adminFlags, number string, withContact bool) error {
	cl, err := c.client(a)
	if err != nil {
		return err
	}
	if a.json && !withContact {
		_, err := cl.Case(cl.ctx, number)
		return cl.explain(err)
	}
	json := a.json
	info, err := cl.Case(cl.ctx, number)
	if err != nil {
		return cl.explain(err)
	}
	var ct *countyapi.CaseContact
	if withContact {
		if ct, err = cl.CaseContact(cl.ctx, number); err != nil {
			return cl.explain(err)
		}
	}
	if json {
		return nil // the client printed both answers
	}
	return c.printCase(info, ct)
}

// printCase prints a case, its deadlines and its history; ct is the
// filer's contact when asked for.
func (c *cli) printCase(ci *countyapi.CaseInfo, ct *countyapi.CaseContact) error {
	var t table
	t.row("编号 number:", ci.Number)
	t.row("类型 kind:", labelOr(caseKindLabels, ci.Kind, string(ci.Kind))+" ("+string(ci.Source)+")")
	t.row("单位 office:", officeLabel(ci.Office))
	t.row("承诺 commitment:", ci.Commitment.ID.String())
	if ci.Record != nil {
		t.row("失信记录 record:", ci.Record.String())
	}
	t.row("提交 filed:", ci.FiledDate)
	t.row("状态 status:", labelOr(caseStatusLabels, ci.Status, string(ci.Status)))
	t.row("受理期限 ack by:", cmp.Or(ci.AckDue, "-"))
	t.row("答复期限 answer by:", cmp.Or(ci.AnswerDue, "-"))
	if ci.Overdue {
		t.row("逾期 overdue:", strconv.Itoa(ci.Due.DaysOverdue)+" 天 days")
	}
	if ci.Finding != "" {
		t.row("结论 finding:", string(ci.Finding))
	}
	if ct != nil {
		if ct.Present {
			t.row("联系人 name:", cmp.Or(ct.Name, "-"))
			t.row("电话 phone:", cmp.Or(ct.Phone, "-"))
		} else {
			t.row("联系方式 contact:", "未留 none given")
		}
	}
	if err := t.write(c.stdout); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "\n内容 text:\n  %s\n", strings.ReplaceAll(clean(ci.Text), "\n", "\n  "))
	if len(ci.History) == 0 {
		return nil
	}
	fmt.Fprintln(c.stdout, "\n经过 HISTORY:")
	var h table
	for _, e := range ci.History {
		what := string(e.Step)
		if e.Finding != "" {
			what += " " + string(e.Finding)
		}
		if e.Step == domain.CaseAssigned {
			what += fmt.Sprintf(" (ack %s, answer %s)", cmp.Or(e.AckDue, "-"), cmp.Or(e.AnswerDue, "-"))
		}
		text := e.Text
		if e.Step == domain.CaseOpened {
			text = ""
		}
		h.row("  "+localTime(e.HLC.Wall()), e.Author, what, ellipsis(text, 60))
	}
	return h.write(c.stdout)
}
