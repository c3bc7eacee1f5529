package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"jiannuo/app/vm"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/server/public"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

const (
	recordFacts    = "村口路灯逾期三十日未修复，经县信用办核查认定未践诺。"
	correctedFacts = "村口路灯逾期十二日未修复（县级平台已核实更正）。"
	townObjection  = "路灯已于10月12日修复，逾期天数有误，附修复验收单。"
	publicObjects  = "路灯是供电公司的资产，不归镇政府管，记录对象有误。"
)

// TestObjectionEndToEnd: a published dishonesty record is objected to
// twice — by the township's leader in the app, and by a member of the
// public on the record's page — and the county decides both upheld
// through the admin API; after the first the county admin corrects the
// facts on the admin device, after the second withdraws the record. Each
// change reaches every replica alike, and the public page shows the
// corrected facts, saying so, then no record at all; the public filer's
// tracking page shows the decision.
func TestObjectionEndToEnd(t *testing.T) {
	c := newCity(t, beforeNationalDay)
	leader := c.device(townA, domain.RoleLeader, "王镇长")
	adminDev := c.device(county, domain.RoleCountyAdmin, "赵科长")
	ref := publish(t, leader, "村口路灯损坏三日内修复")
	leader.Sync()
	adminDev.Sync()
	today := c.clock.today()
	rec, err := vm.ConfirmBreach(adminDev.Session, ref, vm.BreachForm{Type: domain.DishonestyBreach, Official: "孙伟",
		Deadline: "2026-11-30", Reason: recordFacts, Today: today})
	if err != nil {
		t.Fatal(err)
	}
	adminDev.Sync()
	leader.Sync()
	c.converge()
	rpath := recordPath(townA, rec)
	contains(t, "the record page", c.site.page(rpath), recordFacts, "提出异议")
	replicas := map[string]*store.Store{"the municipal node": c.node.n.Store(), "the leader's device": leader.Store, "the admin's device": adminDev.Store}

	// The township objects in the app; the public on the record's page.
	tl := vm.NewTownshipDishonesty(leader.Session, leader.Sync)
	if err := tl.Load(today); err != nil {
		t.Fatal(err)
	}
	if len(tl.Rows) != 1 || !tl.Rows[0].CanObject {
		t.Fatalf("the township's records: %+v", tl.Rows)
	}
	townCase, err := tl.FileObjection(tl.Rows[0], vm.ObjectionForm{Text: townObjection}, today)
	if err != nil {
		t.Fatal(err)
	}
	number, code := c.site.file(rpath+"/file", filing{kind: "objection", text: publicObjects, name: filerName, phone: filerPhone})
	if !strings.HasPrefix(number, "YY20260929-") {
		t.Fatalf("objection number %s", number)
	}
	publicCase := c.node.waitIntake(number, public.IntakeAccepted)
	ctx := context.Background()
	info, err := c.api.Case(ctx, number)
	if err != nil || info.AckDue != "" || info.AnswerDue != wantAnswerDue || info.Kind != domain.CaseObjection || info.Record == nil || *info.Record != rec {
		t.Fatalf("the public objection at the county: %+v, %v", info, err)
	}

	// Upheld: the county corrects the facts.
	if _, err := c.api.DecideCase(ctx, townCase.String(), "decide", countyapi.CaseDecision{Finding: domain.FindingUpheld,
		Reason: "经核实，路灯于10月12日修复，逾期天数认定有误。"}); err != nil {
		t.Fatal(err)
	}
	adminDev.Sync()
	dl := vm.NewDishonestyList(adminDev.Session, adminDev.Sync)
	row := dishonestyRow(t, dl, townA, rec, today)
	if err := dl.Correct(row, vm.CorrectionForm{Objection: townCase, Facts: correctedFacts, Reason: "异议成立：逾期天数有误"}, today); err != nil {
		t.Fatal(err)
	}
	c.converge()
	leader.Sync()
	r := c.sameRecord(townA, rec, replicas)
	if r.Reason != correctedFacts || len(r.Corrections) != 1 || r.OriginalFacts() != recordFacts || r.Withdrawn != nil {
		t.Fatalf("the corrected record: facts %q, %d corrections", r.Reason, len(r.Corrections))
	}
	page := c.site.page(rpath)
	contains(t, "the corrected record's page", page, correctedFacts, "县级平台已更正失信事实", "更正失信事实", "异议成立：逾期天数有误", number)
	if strings.Contains(page, recordFacts) {
		t.Error("the record page still shows the original facts")
	}
	var feed public.DishonestyPage
	getJSON(t, c.site, "api/v1/dishonesty", &feed)
	if len(feed.Items) != 1 || feed.Items[0].Facts != correctedFacts || !feed.Items[0].Corrected {
		t.Fatalf("the feed's record: %+v", feed.Items)
	}

	// Upheld again: the county withdraws the record, which leaves the page.
	if _, err := c.api.DecideCase(ctx, number, "decide", countyapi.CaseDecision{Finding: domain.FindingUpheld,
		Reason: "经核实，该路灯产权属供电公司，记录对象有误。"}); err != nil {
		t.Fatal(err)
	}
	adminDev.Sync()
	row = dishonestyRow(t, dl, townA, rec, today)
	if err := dl.Withdraw(row, vm.WithdrawForm{Objection: publicCase, Reason: "异议成立：记录对象有误，撤销记录"}, today); err != nil {
		t.Fatal(err)
	}
	c.converge()
	leader.Sync()
	if r := c.sameRecord(townA, rec, replicas); r.Withdrawn == nil || !r.Closed {
		t.Fatalf("the withdrawn record: %+v", r)
	}
	for _, id := range []string{townCase.String(), publicCase.String()} {
		cs, err := c.county.FindCase(id)
		if err != nil {
			t.Fatal(err)
		}
		c.sameCase(townA, cs.ID, replicas)
	}
	if status, _ := c.site.get(rpath); status != http.StatusNotFound {
		t.Errorf("the withdrawn record's page: %d", status)
	}
	getJSON(t, c.site, "api/v1/dishonesty", &feed)
	if len(feed.Items) != 0 {
		t.Errorf("the feed still holds the withdrawn record: %+v", feed.Items)
	}
	if page := c.site.page(commitmentPath(ref)); strings.Contains(page, rpath) {
		t.Error("the commitment page still links to the withdrawn record")
	}
	if err := tl.Load(today); err != nil || len(tl.Rows) != 1 || tl.Rows[0].StatusName.Key != "breachui.step.withdrawn" {
		t.Fatalf("the township's view of the withdrawn record: %+v, %v", tl.Rows, err)
	}
	_, tracked := c.site.track(number, code)
	contains(t, "the public objection's tracking page", tracked, number, publicObjects, "异议成立", "经核实，该路灯产权属供电公司，记录对象有误。")
	c.nowhere()
}

// dishonestyRow loads the admin device's records and returns one's row.
func dishonestyRow(t *testing.T, dl *vm.DishonestyList, o office.Code, id protocol.EntityID, today calendar.Date) vm.DishonestyRow {
	t.Helper()
	if err := dl.Load(today); err != nil {
		t.Fatal(err)
	}
	row, ok := dl.Row(store.Ref{Office: o, ID: id})
	if !ok {
		t.Fatalf("record %s is not on the admin's list", id)
	}
	return row
}
