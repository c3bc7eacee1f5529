package domain

import (
	"errors"
	"strings"
	"testing"
	"time"

	"jiannuo/domain/calendar"
)

// TestCaseVocabulary: every value is valid and listed once, and unknown
// values are refused. The string values are signed: they must never change.
func TestCaseVocabulary(t *testing.T) {
	check := func(name string, values []string, valid func(string) bool, want string) {
		t.Helper()
		if got := strings.Join(values, " "); got != want {
			t.Errorf("%s: %q, want %q (values are signed: never rename one)", name, got, want)
		}
		for _, v := range values {
			if !valid(v) {
				t.Errorf("%s: %q not valid", name, v)
			}
		}
		for _, v := range []string{"", "x", strings.ToUpper(values[0])} {
			if valid(v) {
				t.Errorf("%s: %q accepted", name, v)
			}
		}
	}
	strs := func(n int, at func(int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = at(i)
		}
		return out
	}
	kinds, sources, steps := CaseKinds(), CaseSources(), CaseSteps()
	statuses, measures, mits := CaseStatuses(), SanctionMeasures(), Mitigations()
	check("kinds", strs(len(kinds), func(i int) string { return string(kinds[i]) }),
		func(s string) bool { return CaseKind(s).Valid() }, "complaint objection")
	check("sources", strs(len(sources), func(i int) string { return string(sources[i]) }),
		func(s string) bool { return CaseSource(s).Valid() }, "public township county")
	check("steps", strs(len(steps), func(i int) string { return string(steps[i]) }),
		func(s string) bool { return CaseStep(s).Valid() }, "assigned acknowledged reply approved accepted returned decided linked withdrawn")
	check("statuses", strs(len(statuses), func(i int) string { return string(statuses[i]) }),
		func(s string) bool { return CaseStatus(s).Valid() }, "open acknowledged replied closed")
	check("sanctions", strs(len(measures), func(i int) string { return string(measures[i]) }),
		func(s string) bool { return SanctionMeasure(s).Valid() }, "public_criticism honours_withdrawn honours_restricted accountability other")
	check("mitigations", strs(len(mits), func(i int) string { return string(mits[i]) }),
		func(s string) bool { return Mitigation(s).Valid() }, "lighter exempt")
	// The lists are copies.
	kinds[0] = "x"
	if CaseKinds()[0] != CaseComplaint {
		t.Error("CaseKinds returns its own slice")
	}
}

// TestCaseStepRules is the step table of the design written out by hand.
func TestCaseStepRules(t *testing.T) {
	rules := []struct {
		step      CaseStep
		least     Role
		text      bool
		evidence  bool
		closes    bool
		complaint bool // fits a complaint
		objection bool // fits an objection
		findings  []CaseFinding
	}{
		{CaseAssigned, RoleCountyAdmin, false, false, false, true, true, nil},
		{CaseAcknowledged, RoleStaff, false, false, false, true, true, nil},
		{CaseReply, RoleStaff, true, true, false, true, true, nil},
		{CaseApproved, RoleLeader, false, false, false, true, true, nil},
		{CaseAccepted, RoleCountyAdmin, false, true, true, true, false, []CaseFinding{FindingUpheld, FindingNotUpheld}},
		{CaseReturned, RoleCountyAdmin, true, true, false, true, true, nil},
		{CaseDecided, RoleCountyAdmin, true, true, true, false, true, []CaseFinding{FindingUpheld, FindingRejected}},
		{CaseLinked, RoleCountyAdmin, false, false, false, true, true, nil},
		{CaseWithdrawn, RoleCountyAdmin, true, true, true, true, true, nil},
	}
	if len(rules) != len(CaseSteps()) {
		t.Fatalf("%d rules for %d steps", len(rules), len(CaseSteps()))
	}
	for i, r := range rules {
		s := r.step
		if CaseSteps()[i] != s {
			t.Errorf("step %d is %s, want %s", i, CaseSteps()[i], s)
		}
		if s.LeastRole() != r.least || s.AdminOnly() != (r.least == RoleCountyAdmin) {
			t.Errorf("%s: least role %s, admin only %v", s, s.LeastRole(), s.AdminOnly())
		}
		if s.TextRequired() != r.text || s.TakesEvidence() != r.evidence || s.Closes() != r.closes {
			t.Errorf("%s: text %v evidence %v closes %v", s, s.TextRequired(), s.TakesEvidence(), s.Closes())
		}
		if s.Fits(CaseComplaint) != r.complaint || s.Fits(CaseObjection) != r.objection || s.Fits("x") {
			t.Errorf("%s: fits complaint %v, objection %v", s, s.Fits(CaseComplaint), s.Fits(CaseObjection))
		}
		if got := FindingFor(s); strings.Join(findingStrings(got), ",") != strings.Join(findingStrings(r.findings), ",") {
			t.Errorf("%s: findings %v, want %v", s, got, r.findings)
		}
	}
	for _, s := range []CaseStep{"forgiven", CaseOpened} {
		if s.Valid() || s.LeastRole() != "" || s.AdminOnly() || s.Fits(CaseComplaint) || s.TextRequired() || s.Closes() {
			t.Errorf("%q has rules of a step", s)
		}
	}
	if CaseFindings("x") != nil {
		t.Error("findings for an unknown kind")
	}
}

func findingStrings(fs []CaseFinding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f))
	}
	return out
}

func TestCheckCaseText(t *testing.T) {
	good := []string{"楼道灯坏了三个月无人修。", "第一行\n第二行\t缩进", strings.Repeat("字", MaxCaseTextRunes),
		strings.Repeat("a", MaxCaseTextRunes)}
	for _, s := range good {
		if err := CheckCaseText("text", s, true); err != nil {
			t.Errorf("%.20q refused: %v", s, err)
		}
	}
	bad := map[string]string{
		"empty":                "",
		"blank":                " \n\t",
		"too many runes":       strings.Repeat("字", MaxCaseTextRunes+1),
		"2001 four-byte runes": strings.Repeat("😀", MaxCaseTextRunes+1),
		"control character":    "a\x00b",
		"escape":               "a\x1b[31mb",
		"not UTF-8":            "\xff\xfe",
	}
	for name, s := range bad {
		if err := CheckCaseText("text", s, true); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := CheckCaseText("note", "", false); err != nil {
		t.Errorf("optional empty text refused: %v", err)
	}
	// Exactly at the byte limit with few runes.
	if err := CheckCaseText("text", strings.Repeat("😀", MaxCaseTextBytes/4), true); err != nil {
		t.Errorf("2000 four-byte runes (8000 bytes) refused: %v", err)
	}
}

func TestCheckContact(t *testing.T) {
	good := [][2]string{{"", ""}, {"张三", ""}, {"", "13800138000"}, {"欧阳 娜娜", "+86 138-0013-8000"},
		{strings.Repeat("名", MaxContactNameRunes), "12345"}, {"Li Ming", strings.Repeat("1", MaxPhoneChars)}}
	for _, g := range good {
		if err := CheckContact(g[0], g[1]); err != nil {
			t.Errorf("%q %q refused: %v", g[0], g[1], err)
		}
	}
	bad := map[string][2]string{
		"blank name":          {"  ", ""},
		"long name":           {strings.Repeat("名", MaxContactNameRunes+1), ""},
		"name with newline":   {"张\n三", ""},
		"name with tab":       {"张\t三", ""},
		"name with control":   {"张\x07三", ""},
		"name not UTF-8":      {"\xff", ""},
		"short phone":         {"", "1234"},
		"long phone":          {"", strings.Repeat("1", MaxPhoneChars+1)},
		"letters in phone":    {"", "138abc00000"},
		"few digits":          {"", "+1-2-3-4"},
		"script in phone":     {"", "<script>1</script>"},
		"fullwidth digits":    {"", "１３８００１３８０００"},
		"phone with newline":  {"", "13800\n13800"},
		"phone of separators": {"", "-----"},
	}
	for name, b := range bad {
		if err := CheckContact(b[0], b[1]); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestSniffAttachment(t *testing.T) {
	good := map[string]string{
		"\xff\xd8\xff\xe0\x00\x10JFIF":        MIMEJPEG,
		"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR": MIMEPNG,
		"%PDF-1.7\n%âãÏÓ":                     MIMEPDF,
	}
	for head, want := range good {
		got, err := SniffAttachment([]byte(head))
		if err != nil || got != want || !AttachmentTypeAllowed(got) {
			t.Errorf("%q: %q, %v", head, got, err)
		}
	}
	for _, head := range []string{"", "<html><script>alert(1)</script>", "GIF89a", "PK\x03\x04", "\xff\xd8", "%PDF", " %PDF-1.4", "<svg/>"} {
		if got, err := SniffAttachment([]byte(head)); !errors.Is(err, ErrAttachmentType) || got != "" {
			t.Errorf("%q: %q, %v", head, got, err)
		}
	}
	for _, m := range []string{"text/html", "image/svg+xml", "image/gif", ""} {
		if AttachmentTypeAllowed(m) {
			t.Errorf("%q allowed", m)
		}
	}
}

func TestChinaDate(t *testing.T) {
	// 2026-12-06 16:30 UTC is already 12-07 in China.
	ms := time.Date(2026, 12, 6, 16, 30, 0, 0, time.UTC).UnixMilli()
	if got := ChinaDate(ms); got != calendar.NewDate(2026, 12, 7) {
		t.Fatalf("ChinaDate = %s", got)
	}
	if got := ChinaDate(ms - 31*60*1000); got != calendar.NewDate(2026, 12, 6) {
		t.Fatalf("ChinaDate before midnight = %s", got)
	}
}

// TestCaseDeadline counts working days across the National Day holiday and
// its adjusted working Saturday, as the official calendar has them.
func TestCaseDeadline(t *testing.T) {
	cal := calendar.Default()
	cases := []struct {
		filed calendar.Date
		days  int
		want  calendar.Date
	}{
		// Filed the day before the holiday: 10-01…10-07 are off, 10-10 (a
		// Saturday) is an adjusted working day.
		{calendar.NewDate(2026, 9, 30), DefaultCaseAckDays, calendar.NewDate(2026, 10, 10)},
		{calendar.NewDate(2026, 9, 30), 1, calendar.NewDate(2026, 10, 8)},
		{calendar.NewDate(2026, 9, 30), 4, calendar.NewDate(2026, 10, 12)},
		// An ordinary week: Friday + 3 working days is Wednesday.
		{calendar.NewDate(2026, 11, 6), 3, calendar.NewDate(2026, 11, 11)},
		{calendar.NewDate(2026, 11, 6), DefaultCaseAnswerDays, calendar.NewDate(2026, 11, 27)},
	}
	for _, c := range cases {
		got, err := CaseDeadline(c.filed, c.days, cal)
		if err != nil || got != c.want {
			t.Errorf("%s + %d working days = %s, %v; want %s", c.filed, c.days, got, err, c.want)
		}
	}
	if _, err := CaseDeadline(calendar.NewDate(2026, 11, 6), 0, cal); err == nil || errors.Is(err, calendar.ErrYearNotCovered) {
		t.Errorf("0 working days: %v", err)
	}
	if due, err := CaseDeadline(calendar.NewDate(2099, 3, 2), 3, cal); !errors.Is(err, calendar.ErrYearNotCovered) || due.IsZero() {
		t.Errorf("uncovered year: %s, %v (want an estimate)", due, err)
	}
}

func TestComputeCaseDue(t *testing.T) {
	cal := calendar.Default()
	ack, answer := calendar.NewDate(2026, 11, 11), calendar.NewDate(2026, 11, 27)
	d := func(m, day int) calendar.Date { return calendar.NewDate(2026, time.Month(m), day) }
	cases := []struct {
		name       string
		status     CaseStatus
		today      calendar.Date
		ackLate    bool
		answerLate bool
		days, left int
	}{
		{"open, nothing due yet", CaseStatusOpen, d(11, 9), false, false, 0, 2},
		{"open on the ack day", CaseStatusOpen, ack, false, false, 0, 0},
		{"open a day after the ack day", CaseStatusOpen, d(11, 12), true, false, 1, 11},
		{"acknowledged after the ack day", CaseStatusAcknowledged, d(11, 12), false, false, 0, 11},
		{"acknowledged after the answer day", CaseStatusAcknowledged, d(11, 30), false, true, 3, 0},
		{"open after both", CaseStatusOpen, d(11, 30), true, true, 19, 0},
		{"replied after the answer day: the county's turn", CaseStatusReplied, d(12, 15), false, false, 0, 0},
		{"closed is never overdue", CaseStatusClosed, d(12, 15), false, false, 0, 0},
	}
	for _, c := range cases {
		got := ComputeCaseDue(c.status, ack, answer, c.today, cal)
		if got.AckLate != c.ackLate || got.AnswerLate != c.answerLate || got.DaysOverdue != c.days || got.WorkdaysLeft != c.left ||
			got.Overdue() != (c.ackLate || c.answerLate) {
			t.Errorf("%s: %+v", c.name, got)
		}
	}
	// No deadlines (not assigned yet): never overdue.
	if got := ComputeCaseDue(CaseStatusOpen, calendar.Date{}, calendar.Date{}, d(12, 31), cal); got.Overdue() || got != (CaseDue{}) {
		t.Errorf("no deadlines: %+v", got)
	}
	// An objection has only the answer deadline.
	if got := ComputeCaseDue(CaseStatusOpen, calendar.Date{}, answer, d(11, 28), cal); got.AckLate || !got.AnswerLate || got.DaysOverdue != 1 {
		t.Errorf("objection: %+v", got)
	}
}
