package vm

import (
	"errors"
	"strings"
	"testing"

	"jiannuo/assets"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/store"
)

// TestAnnualReportPrepareAndSubmit: in December the leader prepares the
// year's report: the figures are the annual export's, the candidates the
// commitments in force during the year; an empty narrative is refused;
// the preview carries the narrative and the notable commitments chosen;
// submitting signs a version, a second supersedes it with both listed; a
// clerk sees it but may not submit. On the county-admin device the
// township is listed as submitted, another as missing after the deadline;
// the late one is urged; the county's report compiles the township's.
func TestAnnualReportPrepareAndSubmit(t *testing.T) {
	d := newTownship(t)
	other := newTownshipOf(t, "410324102")
	admin := newAdminReplica(t)
	introduceAll(t, d.leader, other.leader, admin)
	kept := d.create(t, spec{title: "窗口午间值守", start: date(2026, 3, 1), deadline: domain.DateDeadline(date(2026, 6, 30)), status: domain.StatusFulfilledOnTime})
	open := d.create(t, spec{title: "路灯报修三日内修复", start: date(2026, 9, 1), deadline: domain.DateDeadline(date(2027, 3, 1)), status: domain.StatusInProgress})
	d.create(t, spec{title: "草稿不计入", start: date(2026, 9, 1)})
	exchangeAll(t, d.leader, other.leader, admin)

	day := date(2026, 12, 20)
	a := NewAnnualReport(d.leader, calendar.Default(), nil)
	must(t, a.Load(2026, day))
	if !a.CanSubmit || a.County || a.AsOf != day || len(a.Figures) != 1 || a.Figures[0].Total != 2 || a.Figures[0].OnTime != 1 || a.Figures[0].Open != 1 {
		t.Fatalf("loaded: can %v, as of %s, figures %+v", a.CanSubmit, a.AsOf, a.Figures)
	}
	if len(a.Candidates) != 2 || a.Candidates[0].Title != "窗口午间值守" {
		t.Fatalf("candidates: %+v", a.Candidates)
	}
	if bad := a.Validate(); bad["narrative"].Key != "annual.err_narrative" {
		t.Fatalf("an empty narrative: %+v", bad)
	}
	var fe *FormError
	if err := a.Submit(day); !errors.As(err, &fe) {
		t.Fatalf("submitting without a narrative: %v", err)
	}
	a.Narrative = "2026年本镇公开承诺2项，按期践诺1项。"
	a.Toggle(kept, true)
	a.Toggle(open, true)
	a.Toggle(open, false)
	pv := a.Preview(day)
	if pv.Version != 0 || len(pv.Notable) != 1 || pv.Notable[0].Title != "窗口午间值守" || pv.Narrative != a.Narrative {
		t.Fatalf("preview: %+v", pv)
	}
	must(t, a.Submit(day))
	a.Narrative += "\n补充：路灯报修已完成80%。"
	must(t, a.Submit(day))
	if a.Report == nil || a.Report.Version != 2 || !strings.Contains(a.Narrative, "补充") {
		t.Fatalf("after two submissions: %+v", a.Report)
	}
	tr := assets.NewTranslator(assets.LangZhHans)
	text := func(m Message) string { return m.Text(func(k string) string { return tr.T(k) }) }
	people, _ := d.s.People()
	vs := a.Versions(people)
	if len(vs) != 2 || !strings.Contains(text(vs[0]), "第 2 版") || !strings.Contains(text(vs[0]), "张丽") {
		t.Fatalf("versions: %q", text(vs[0]))
	}
	if st := text(a.Status(day)); !strings.Contains(st, "第 2 版") || !strings.Contains(st, "按时") {
		t.Fatalf("status: %s", st)
	}
	if doc, ok := a.Submitted(day); !ok || doc.Version != 2 || doc.SignedBy != "zhangli" {
		t.Fatalf("submitted document: %+v", doc)
	}

	clerk := NewAnnualReport(d.staff, calendar.Default(), nil)
	must(t, clerk.Load(2026, day))
	if clerk.CanSubmit || clerk.Why.Key != "annual.only_leader" || clerk.Report == nil {
		t.Fatalf("the clerk's screen: %+v", clerk)
	}
	clerk.Narrative = "x"
	if err := clerk.Submit(day); !errors.Is(err, domain.ErrNotAllowed) {
		t.Fatalf("the clerk submits: %v", err)
	}

	// The county.
	exchangeAll(t, d.leader, other.leader, admin)
	other.create(t, spec{title: "农村道路养护", start: date(2026, 9, 1), status: domain.StatusPublished})
	exchangeAll(t, d.leader, other.leader, admin)
	jan := date(2027, 1, 8)
	c := NewAnnualReport(admin, calendar.Default(), nil)
	must(t, c.Load(2026, jan))
	if !c.County || !c.CanSubmit || len(c.Parts) != 2 || c.Parts[0].Report == nil || c.Parts[1].Report != nil || !c.Parts[1].Late {
		t.Fatalf("the county's parts: %+v", c.Parts)
	}
	if len(c.Candidates) != 1 || c.Candidates[0].Ref != kept {
		t.Fatalf("the county's candidates (the townships' notable): %+v", c.Candidates)
	}
	if _, err := c.RemindLate(" "); err == nil {
		t.Fatal("a reminder without a note")
	}
	n, err := c.RemindLate("请尽快报送2026年度践诺情况报告。")
	if err != nil || n != 1 {
		t.Fatalf("reminded %d: %v", n, err)
	}
	c.Narrative = "全县汇总。"
	c.Toggle(kept, true)
	must(t, c.Submit(jan))
	if c.Report == nil || len(c.Report.Current.Sources) != 1 || c.Report.Current.Sources[0] != a.Report.Current.Op {
		t.Fatalf("the county's report: %+v", c.Report)
	}
	exchangeAll(t, d.leader, other.leader, admin)
	if got, _ := other.leader.Store().Urges(store.UrgeFilter{UnreadOnly: true, Year: 2026}); len(got) != 1 {
		t.Fatalf("the reminder on the late township: %+v", got)
	}
}

// newTownshipOf is a device of township o with its leader alone.
func newTownshipOf(t testing.TB, o office.Code) *townshipDevice {
	t.Helper()
	s := openStore(t)
	leader, err := s.Setup(store.SetupConfig{Office: o, DeviceName: "合峪镇-1", Name: "lihua", DisplayName: "李华",
		Role: domain.RoleLeader, Passphrase: testPass})
	if err != nil {
		t.Fatal(err)
	}
	return &townshipDevice{s: s, leader: leader}
}
