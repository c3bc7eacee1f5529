package vm

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"jiannuo/assets"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
)

func validForm() Form {
	return Form{Category: domain.CatElderlyCare, Title: "80岁以上独居老人每月上门走访",
		Text: "对辖区80岁以上独居老人每月至少上门走访一次。", LegalBasis: "《河南省老年人权益保障条例》",
		Responsible: "王建国（民政所）", Start: "2026-09-30", DeadlineKind: domain.DeadlineWorkdays, Workdays: "7", Public: true}
}

func TestFormValidate(t *testing.T) {
	if bad := validForm().Validate(); len(bad) != 0 {
		t.Fatalf("valid form: %v", bad)
	}
	for _, tc := range []struct {
		name  string
		edit  func(f *Form)
		field string
		key   string
	}{
		{"no category", func(f *Form) { f.Category = "" }, FieldCategory, "ui.form.category_required"},
		{"unknown category", func(f *Form) { f.Category = "gardening" }, FieldCategory, "ui.form.category_invalid"},
		{"no title", func(f *Form) { f.Title = " \u3000\t" }, FieldTitle, "ui.form.title_required"},
		{"title too long", func(f *Form) { f.Title = strings.Repeat("承", domain.MaxTitleBytes/3+1) }, FieldTitle, "ui.form.too_long"},
		{"title with control character", func(f *Form) { f.Title = "走访\x07老人" }, FieldTitle, "ui.form.control_chars"},
		{"title on two lines", func(f *Form) { f.Title = "走访\n老人" }, FieldTitle, "ui.form.one_line"},
		{"title not UTF-8", func(f *Form) { f.Title = "走访\xff" }, FieldTitle, "ui.form.invalid_text"},
		{"no text", func(f *Form) { f.Text = "" }, FieldText, "ui.form.text_required"},
		{"text too long", func(f *Form) { f.Text = strings.Repeat("a", domain.MaxTextBytes+1) }, FieldText, "ui.form.too_long"},
		{"legal basis too long", func(f *Form) { f.LegalBasis = strings.Repeat("法", domain.MaxShortBytes/3+1) }, FieldLegalBasis, "ui.form.too_long"},
		{"no responsible", func(f *Form) { f.Responsible = "" }, FieldResponsible, "ui.form.responsible_required"},
		{"bad start", func(f *Form) { f.Start = "2026-02-30" }, FieldStart, "ui.form.date_invalid"},
		{"workdays without start", func(f *Form) { f.Start = "" }, FieldStart, "ui.form.start_required"},
		{"workdays zero", func(f *Form) { f.Workdays = "0" }, FieldWorkdays, "ui.form.workdays_invalid"},
		{"workdays too many", func(f *Form) { f.Workdays = "3651" }, FieldWorkdays, "ui.form.workdays_invalid"},
		{"workdays not a number", func(f *Form) { f.Workdays = "七" }, FieldWorkdays, "ui.form.workdays_invalid"},
		{"no deadline date", func(f *Form) { f.DeadlineKind = domain.DeadlineDate }, FieldDeadlineDate, "ui.form.deadline_required"},
		{"bad deadline date", func(f *Form) { f.DeadlineKind, f.DeadlineDate = domain.DeadlineDate, "2026-13-01" }, FieldDeadlineDate, "ui.form.date_invalid"},
		{"deadline before start", func(f *Form) { f.DeadlineKind, f.DeadlineDate = domain.DeadlineDate, "2026-09-29" }, FieldDeadlineDate, "ui.form.deadline_before_start"},
		{"unknown deadline kind", func(f *Form) { f.DeadlineKind = 9 }, FieldDeadlineDate, "ui.form.deadline_required"},
	} {
		f := validForm()
		tc.edit(&f)
		bad := f.Validate()
		m, ok := bad[tc.field]
		if !ok || m.Key != tc.key || len(bad) != 1 {
			t.Errorf("%s: %v, want only %s: %s", tc.name, bad, tc.field, tc.key)
			continue
		}
		checkMessage(t, m)
		if _, err := f.Draft(); !errors.Is(err, domain.ErrInvalidValue) {
			t.Errorf("%s: Draft error %v", tc.name, err)
		}
	}
	// Dates and numbers as people type them.
	for _, tc := range []struct{ start, workdays string }{
		{"2026/9/30", "7"}, {"2026.09.30", " 7 "}, {"2026年9月30日", "７"}, {"２０２６－０９－３０", "7"},
	} {
		f := validForm()
		f.Start, f.Workdays = tc.start, tc.workdays
		if bad := f.Validate(); len(bad) != 0 {
			t.Errorf("start %q, workdays %q: %v", tc.start, tc.workdays, bad)
		}
		d, err := f.Draft()
		if err != nil || d.StartDate != date(2026, 9, 30) || d.Deadline != domain.WorkdaysDeadline(7) {
			t.Errorf("start %q: draft %+v, %v", tc.start, d, err)
		}
	}
	// The limits are those of the store: a form that validates is stored.
	f := validForm()
	f.Title = strings.Repeat("承", domain.MaxTitleBytes/3)
	if bad := f.Validate(); len(bad) != 0 {
		t.Fatalf("title at the limit: %v", bad)
	}
	d := newTownship(t)
	if _, err := SaveForm(d.staff, nil, f, ""); err != nil {
		t.Fatalf("saving a title at the limit: %v", err)
	}
}

func TestDeadlinePreview(t *testing.T) {
	zh := assets.NewTranslator(assets.LangZhHans)
	f := validForm() // 7 working days from 2026-09-30, over the National Day holiday
	m, ok := f.DeadlinePreview(nil)
	if !ok || m.Key != "deadline.workdays" {
		t.Fatalf("preview: %v %v", m, ok)
	}
	if got := m.Text(func(k string) string { return zh.T(k) }); got != "7 个工作日内（至 2026-10-15）" {
		t.Fatalf("preview text %q", got)
	}
	checkMessage(t, m)

	// A year the holiday calendar does not cover: an estimate, and said so.
	f.Start = "2031-03-03"
	m, ok = f.DeadlinePreview(calendar.Default())
	if !ok || m.Key != "ui.deadline.workdays_estimate" || m.Args[1] != "2031-03-12" || m.Args[2] != 2031 {
		t.Fatalf("estimate: %v %v", m, ok)
	}
	checkMessage(t, m)

	for _, tc := range []struct {
		edit func(f *Form)
		key  string
		ok   bool
	}{
		{func(f *Form) { f.Start = "" }, "ui.deadline.workdays_no_start", false},
		{func(f *Form) { f.Workdays = "" }, "ui.deadline.enter_workdays", false},
		{func(f *Form) { f.DeadlineKind, f.DeadlineDate = domain.DeadlineDate, "2026-12-31" }, "deadline.date", true},
		{func(f *Form) { f.DeadlineKind, f.DeadlineDate = domain.DeadlineDate, "" }, "ui.deadline.enter_date", false},
		{func(f *Form) { f.DeadlineKind = domain.NoDeadline }, "due.none", true},
	} {
		f := validForm()
		tc.edit(&f)
		m, ok := f.DeadlinePreview(nil)
		if m.Key != tc.key || ok != tc.ok {
			t.Errorf("preview: %v %v, want %s %v", m, ok, tc.key, tc.ok)
		}
		checkMessage(t, m)
	}
}

func TestFormFromAndChanges(t *testing.T) {
	d := newTownship(t)
	ref, err := SaveForm(d.staff, nil, validForm(), "")
	must(t, err)
	c, err := d.s.Commitment(ref)
	must(t, err)
	f := FormFrom(c)
	if f != validForm() {
		t.Fatalf("FormFrom: %+v", f)
	}
	if ch := f.Changes(c); len(ch) != 0 {
		t.Fatalf("no edit, changes %v", ch)
	}
	f.Title = "  " + f.Title + " " // surrounding spaces are not a change
	f.DeadlineKind, f.DeadlineDate = domain.DeadlineDate, "2026年10月31日"
	f.Public = false
	ch := f.Changes(c)
	want := []store.Change{{Field: domain.FieldDeadline, Value: "date:2026-10-31"}, {Field: domain.FieldPublic, Value: "false"}}
	if len(ch) != 2 || ch[0] != want[0] || ch[1] != want[1] {
		t.Fatalf("changes %v, want %v", ch, want)
	}
}

func TestSaveFormCreateEditAmend(t *testing.T) {
	d := newTownship(t)

	// Create (staff may).
	ref, err := SaveForm(d.staff, nil, validForm(), "")
	must(t, err)
	c, err := d.s.Commitment(ref)
	must(t, err)
	if c.Status != domain.StatusDraft || c.Title != validForm().Title || c.Deadline != "workdays:7" || c.StartDate != "2026-09-30" || !c.Public {
		t.Fatalf("created %+v", c)
	}

	// An invalid form writes nothing.
	bad := validForm()
	bad.Title = ""
	if _, err := SaveForm(d.staff, &ref, bad, ""); !errors.As(err, new(*FormError)) {
		t.Fatalf("invalid edit: %v", err)
	}

	// Edit the draft: a date deadline instead of working days and no start
	// date; the deadline is written before the start is cleared.
	f := FormFrom(c)
	f.Text += "建立走访台账。"
	f.DeadlineKind, f.DeadlineDate, f.Start = domain.DeadlineDate, "2026-12-31", ""
	if _, err := SaveForm(d.staff, &ref, f, ""); err != nil {
		t.Fatalf("edit: %v", err)
	}
	c, err = d.s.Commitment(ref)
	must(t, err)
	if c.Deadline != "date:2026-12-31" || c.StartDate != "" || !strings.HasSuffix(c.Text, "建立走访台账。") || c.Version != 1 {
		t.Fatalf("after edit: %+v", c)
	}
	// And back: the start date is written before the working-day deadline.
	f = FormFrom(c)
	f.DeadlineKind, f.Workdays, f.Start = domain.DeadlineWorkdays, "10", "2026-10-08"
	if _, err := SaveForm(d.staff, &ref, f, ""); err != nil {
		t.Fatalf("edit back: %v", err)
	}
	c, _ = d.s.Commitment(ref)
	if c.Deadline != "workdays:10" || c.StartDate != "2026-10-08" {
		t.Fatalf("after second edit: %+v", c)
	}
	hist, err := d.s.History(ref)
	must(t, err)
	if n := len(hist); n != 9+5 { // create writes 9 fields; 5 edits
		t.Fatalf("history has %d versions", n)
	}

	// Published: content changes by amendment, with a reason, by a leader.
	must(t, d.leader.Publish(ref))
	c, _ = d.s.Commitment(ref)
	f = FormFrom(c)
	f.Workdays = "15"
	_, err = SaveForm(d.leader, &ref, f, "  ")
	var fe *FormError
	if !errors.As(err, &fe) || fe.Fields[FieldReason].Key != "ui.form.reason_required" {
		t.Fatalf("amend without reason: %v", err)
	}
	if _, err := SaveForm(d.staff, &ref, f, "上级要求延长"); !errors.Is(err, domain.ErrNotAllowed) {
		t.Fatalf("staff amend: %v", err)
	}
	if m := ErrorMessage(err); m.Key != "ui.error.form_invalid" {
		t.Fatalf("message for an invalid form: %v", m)
	}
	if _, err := SaveForm(d.leader, &ref, f, "县政府调整办理时限"); err != nil {
		t.Fatalf("amend: %v", err)
	}
	am, err := d.s.Amendments(ref)
	must(t, err)
	if len(am) != 1 || am[0].Reason != "县政府调整办理时限" || len(am[0].Fields) != 1 || am[0].Fields[0] != domain.FieldDeadline {
		t.Fatalf("amendments %+v", am)
	}
	c, _ = d.s.Commitment(ref)
	if c.Deadline != "workdays:15" || c.Version != 2 {
		t.Fatalf("after amendment: %+v", c)
	}
	// Saving with no change records nothing.
	if _, err := SaveForm(d.leader, &ref, FormFrom(c), "无"); err != nil {
		t.Fatal(err)
	}
	if am, _ := d.s.Amendments(ref); len(am) != 1 {
		t.Fatalf("an unchanged form made an amendment")
	}

	// Closed: nothing may change.
	must(t, d.leader.Transition(ref, domain.StatusFulfilledOnTime, ""))
	f = FormFrom(c)
	f.Title = "改名"
	_, err = SaveForm(d.leader, &ref, f, "理由")
	if !errors.Is(err, store.ErrNotEditable) || ErrorMessage(err).Key != "ui.error.not_editable" {
		t.Fatalf("editing a closed commitment: %v", err)
	}
}

func TestSaveFormConflictedFieldWritesNothing(t *testing.T) {
	f := newListFixture(t) // f.conflicted has a conflicted title
	c, err := f.d.s.Commitment(f.conflicted)
	must(t, err)
	form := FormFrom(c)
	form.Text = "新的承诺内容。"
	form.Title = "镇区新增公共停车位280个"
	_, err = SaveForm(f.d.leader, &f.conflicted, form, "")
	if !errors.Is(err, store.ErrConflicted) || ErrorMessage(err).Key != "error.conflicted_field" {
		t.Fatalf("editing a conflicted field: %v", err)
	}
	after, _ := f.d.s.Commitment(f.conflicted)
	if after.Text != c.Text {
		t.Fatalf("the text was written although the title is conflicted")
	}
	// Other fields can be edited.
	form.Title = c.Title
	if _, err := SaveForm(f.d.leader, &f.conflicted, form, ""); err != nil {
		t.Fatalf("editing another field: %v", err)
	}
}

func TestTransitionReasons(t *testing.T) {
	d := newTownship(t)
	ref := d.create(t, spec{title: "撤销测试", start: date(2026, 11, 2), deadline: domain.WorkdaysDeadline(5), status: domain.StatusPublished})
	var fe *FormError
	if err := Withdraw(d.leader, ref, " "); !errors.As(err, &fe) || fe.Fields[FieldReason].Key != "ui.form.reason_required" {
		t.Fatalf("withdraw without reason: %v", err)
	}
	if err := Transition(d.leader, ref, domain.StatusPartlyFulfilled, ""); !errors.As(err, &fe) {
		t.Fatalf("partly fulfilled without reason: %v", err)
	}
	if err := Transition(d.staff, ref, domain.StatusInProgress, ""); err != nil {
		t.Fatalf("staff starts: %v", err)
	}
	if err := Withdraw(d.staff, ref, "依据"); ErrorMessage(err).Key != "error.not_authorized" {
		t.Fatalf("staff withdraws: %v", err)
	}
	if err := Withdraw(d.leader, ref, "依据《行政许可法》第八条"); err != nil {
		t.Fatal(err)
	}
}

// TestFormView: a fresh form shows no message although three required
// fields are empty; a field's message shows once it is touched, all of
// them once Save is pressed; Blockers names what is missing, in form
// order.
func TestFormView(t *testing.T) {
	f := NewForm(testToday)
	f.Category = domain.CatConvenience
	errs := f.Validate()
	var v FormView
	if shown := v.Shown(errs); len(shown) != 0 {
		t.Errorf("a fresh form shows %v", shown)
	}
	want := []string{FieldTitle, FieldText, FieldResponsible, FieldDeadlineDate}
	if got := v.Blockers(errs); !slices.Equal(got, want) {
		t.Errorf("blockers %v, want %v", got, want)
	}
	f.Title = "便民"
	v.Touch(FieldTitle)
	f.Title = ""
	errs = f.Validate()
	if shown := v.Shown(errs); len(shown) != 1 || shown[FieldTitle].Key != "ui.form.title_required" {
		t.Errorf("after clearing the title: %v", shown)
	}
	v.ShowAll()
	if shown := v.Shown(errs); len(shown) != len(errs) {
		t.Errorf("after Save: %v of %v", shown, errs)
	}
	if got := v.Blockers(map[string]Message{"zeta": {}, FieldTitle: {}, "alpha": {}}); !slices.Equal(got, []string{FieldTitle, "alpha", "zeta"}) {
		t.Errorf("unknown fields: %v", got)
	}
	if got := v.Blockers(validForm().Validate()); len(got) != 0 {
		t.Errorf("a valid form is blocked by %v", got)
	}
}
