package vm

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"jiannuo/domain"
	"jiannuo/store"
)

func TestBreachFormValidate(t *testing.T) {
	bad := BreachForm{}.Validate()
	for f, key := range map[string]string{BreachFieldType: "breachui.type_required", BreachFieldOfficial: "breachui.official_required",
		BreachFieldDeadline: "breachui.deadline_required", BreachFieldReason: "breachui.reason_required"} {
		if bad[f].Key != key {
			t.Errorf("%s: %v, want %s", f, bad[f], key)
		}
		checkMessage(t, bad[f])
	}
	if _, ok := bad[BreachFieldExplanation]; ok {
		t.Error("the explanation is optional")
	}
	f := NewBreachForm(store.Commitment{Responsible: " 王建国 "}, testToday)
	if f.Type != domain.DishonestyBreach || f.Official != "王建国" {
		t.Fatalf("new form %+v", f)
	}
	f.Deadline, f.Reason = "2026年12月31日", "逾期三个月未走访"
	if bad := f.Validate(); len(bad) != 0 {
		t.Fatalf("valid form refused: %v", bad)
	}
	for _, c := range []struct {
		mod   func(*BreachForm)
		field string
		key   string
	}{
		{func(f *BreachForm) { f.Type = "rumour" }, BreachFieldType, "breachui.type_invalid"},
		{func(f *BreachForm) { f.Official = "王建国\n李四" }, BreachFieldOfficial, "ui.form.one_line"},
		{func(f *BreachForm) { f.Deadline = "2026-13-40" }, BreachFieldDeadline, "ui.form.date_invalid"},
		{func(f *BreachForm) { f.Deadline = "2026-11-24" }, BreachFieldDeadline, "breachui.deadline_past"},
		{func(f *BreachForm) { f.Reason = " \n " }, BreachFieldReason, "breachui.reason_required"},
		{func(f *BreachForm) { f.Reason = strings.Repeat("长", domain.MaxShortBytes) }, BreachFieldReason, "ui.form.too_long"},
		{func(f *BreachForm) { f.Explanation = "a\x00b" }, BreachFieldExplanation, "ui.form.control_chars"},
	} {
		g := f
		c.mod(&g)
		bad := g.Validate()
		if len(bad) != 1 || bad[c.field].Key != c.key {
			t.Errorf("%s: %v, want %s", c.field, bad, c.key)
		}
		checkMessage(t, bad[c.field])
	}
	for _, ty := range domain.DishonestyTypes() {
		checkMessage(t, DishonestyTypeMessage(ty))
	}
	for _, s := range []domain.DishonestyStep{domain.StepRecorded, domain.StepExplained, domain.StepRectified, domain.StepRepaired, ""} {
		checkMessage(t, DishonestyStepMessage(s))
	}
}

// TestConfirmBreach: a township's in-progress commitment reaches the admin
// replica; the admin confirms the breach through the view-model; the
// commitment is breached, the record made with the commitment's official,
// and both reach the township. A township leader cannot, and an invalid
// form changes nothing.
func TestConfirmBreach(t *testing.T) {
	town := newTownship(t)
	adm := newAdminReplica(t)
	introduceAll(t, town.leader, adm)
	ref := town.create(t, spec{title: "每月走访独居老人", responsible: "王建国", status: domain.StatusInProgress,
		deadline: domain.Deadline{Kind: domain.DeadlineDate, Date: date(2026, time.October, 31)}})
	done := town.create(t, spec{title: "已完成的事项", status: domain.StatusFulfilledOnTime})
	exchangeAll(t, town.leader, adm)

	c, err := adm.Store().Commitment(ref)
	must(t, err)
	if ok, err := CanConfirmBreach(adm, &c); !ok || err != nil {
		t.Fatalf("admin cannot confirm: %v", err)
	}
	tc, err := town.s.Commitment(ref)
	must(t, err)
	if ok, _ := CanConfirmBreach(town.leader, &tc); ok {
		t.Fatal("a township leader may confirm a breach")
	}
	form := NewBreachForm(c, testToday)
	form.Deadline = "2026-12-31"

	// Invalid: nothing changes.
	_, err = ConfirmBreach(adm, ref, form)
	var fe *FormError
	if !errors.As(err, &fe) || fe.Fields[BreachFieldReason].Key != "breachui.reason_required" {
		t.Fatalf("no reason: %v", err)
	}
	form.Reason, form.Explanation = "逾期未走访，经核查属实", "镇民政办书面说明：人员调整"
	// A township leader: refused, nothing changes.
	if _, err := ConfirmBreach(town.leader, ref, form); !errors.Is(err, domain.ErrNotAllowed) {
		t.Fatalf("township leader: %v", err)
	}
	// A closed commitment cannot be breached.
	if _, err := ConfirmBreach(adm, done, form); !errors.Is(err, store.ErrNotEditable) {
		t.Fatalf("fulfilled commitment: %v", err)
	}
	if c, _ := adm.Store().Commitment(ref); c.Status != domain.StatusInProgress {
		t.Fatalf("refusals changed the status to %s", c.Status)
	}

	id, err := ConfirmBreach(adm, ref, form)
	must(t, err)
	c, err = adm.Store().Commitment(ref)
	must(t, err)
	if c.Status != domain.StatusBreached {
		t.Fatalf("status %s", c.Status)
	}
	rec, err := adm.Store().DishonestyRecord(ref.Office, id)
	must(t, err)
	if !rec.Recorded || rec.Type != domain.DishonestyBreach || rec.Official != "王建国" || rec.Deadline != "2026-12-31" ||
		rec.Reason != "逾期未走访，经核查属实" || rec.Explanation != "镇民政办书面说明：人员调整" || rec.Commitment != ref || rec.RecordedBy != testAdmin {
		t.Fatalf("record %+v", rec)
	}
	// Breached with its record: no second confirmation.
	if ok, _ := CanConfirmBreach(adm, &c); ok {
		t.Fatal("a recorded breach can be confirmed again")
	}
	if _, err := ConfirmBreach(adm, ref, form); !errors.Is(err, store.ErrNotEditable) {
		t.Fatalf("second confirmation: %v", err)
	}

	exchangeAll(t, town.leader, adm)
	tc, err = town.s.Commitment(ref)
	must(t, err)
	recs, err := town.s.DishonestyRecords(store.DishonestyFilter{Commitment: &ref})
	must(t, err)
	if tc.Status != domain.StatusBreached || len(recs) != 1 || recs[0].ID != id || !recs[0].Recorded {
		t.Fatalf("township replica: %s, %+v", tc.Status, recs)
	}
}

// TestConfirmBreachFinishesBreached: a commitment already breached without
// a record (the record failed after the transition) can be confirmed: only
// the record is made.
func TestConfirmBreachFinishesBreached(t *testing.T) {
	town := newTownship(t)
	adm := newAdminReplica(t)
	introduceAll(t, town.leader, adm)
	ref := town.create(t, spec{title: "道路维修", status: domain.StatusPublished})
	exchangeAll(t, town.leader, adm)
	must(t, adm.Transition(ref, domain.StatusBreached, "逾期未修"))
	c, err := adm.Store().Commitment(ref)
	must(t, err)
	if ok, err := CanConfirmBreach(adm, &c); !ok || err != nil {
		t.Fatalf("breached without record: %v %v", ok, err)
	}
	form := NewBreachForm(c, testToday)
	form.Deadline, form.Reason, form.Type = "2027-01-15", "逾期未修", domain.DishonestyAccountability
	id, err := ConfirmBreach(adm, ref, form)
	must(t, err)
	rec, err := adm.Store().DishonestyRecord(ref.Office, id)
	must(t, err)
	if rec.Type != domain.DishonestyAccountability || rec.Official != "王建国" {
		t.Fatalf("record %+v", rec)
	}
	h, err := adm.Store().History(ref)
	must(t, err)
	n := 0
	for _, v := range h {
		if v.Field == domain.FieldStatus && v.Value == string(domain.StatusBreached) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d transitions to breached", n)
	}
}

// TestBreachKeysExist: every "breachui." key literal in this package's
// sources (breach, dishonesty records, overview, admin) exists in every
// language.
func TestBreachKeysExist(t *testing.T) {
	files, err := filepath.Glob("*.go")
	must(t, err)
	fset := token.NewFileSet()
	n := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		must(t, err)
		ast.Inspect(f, func(nd ast.Node) bool {
			if lit, ok := nd.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && strings.HasPrefix(s, "breachui.") && !strings.HasSuffix(s, ".") {
					n++
					for _, lang := range languages {
						if _, ok := catalogues()[lang][s]; !ok {
							t.Errorf("%s.json lacks %q", lang, s)
						}
					}
				}
			}
			return true
		})
	}
	if n < 5 {
		t.Fatalf("only %d breachui keys found", n)
	}
}
