package domain

import (
	"errors"
	"testing"

	"jiannuo/domain/calendar"
)

// legal is the state machine written out by hand, independently of the
// transitions table, with the least role for each move and whether a reason
// is required. Every pair of statuses not listed must be refused.
var legal = map[[2]Status]struct {
	role   Role
	reason bool
}{
	{StatusDraft, StatusPublished}:               {RoleLeader, false},
	{StatusDraft, StatusWithdrawn}:               {RoleLeader, true},
	{StatusPublished, StatusInProgress}:          {RoleStaff, false},
	{StatusPublished, StatusFulfilledOnTime}:     {RoleLeader, false},
	{StatusPublished, StatusFulfilledLate}:       {RoleLeader, false},
	{StatusPublished, StatusPartlyFulfilled}:     {RoleLeader, true},
	{StatusPublished, StatusBreached}:            {RoleCountyAdmin, true},
	{StatusPublished, StatusWithdrawn}:           {RoleLeader, true},
	{StatusInProgress, StatusFulfilledOnTime}:    {RoleLeader, false},
	{StatusInProgress, StatusFulfilledLate}:      {RoleLeader, false},
	{StatusInProgress, StatusPartlyFulfilled}:    {RoleLeader, true},
	{StatusInProgress, StatusBreached}:           {RoleCountyAdmin, true},
	{StatusInProgress, StatusWithdrawn}:          {RoleLeader, true},
	{StatusPartlyFulfilled, StatusFulfilledLate}: {RoleLeader, false},
	{StatusPartlyFulfilled, StatusBreached}:      {RoleCountyAdmin, true},
}

func TestEveryTransition(t *testing.T) {
	roles := []Role{RoleStaff, RoleLeader, RoleCountyAdmin}
	for _, from := range Statuses() {
		for _, to := range Statuses() {
			rule, ok := legal[[2]Status{from, to}]
			if LegalTransition(from, to) != ok {
				t.Errorf("%s → %s: LegalTransition = %v, want %v", from, to, !ok, ok)
			}
			for _, role := range roles {
				err := CheckTransition(from, to, role, "依据县政府文件")
				switch {
				case !ok && !errors.Is(err, ErrIllegalTransition):
					t.Errorf("%s → %s by %s: got %v, want ErrIllegalTransition", from, to, role, err)
				case ok && role.AtLeast(rule.role) && err != nil:
					t.Errorf("%s → %s by %s: refused: %v", from, to, role, err)
				case ok && !role.AtLeast(rule.role) && !errors.Is(err, ErrNotAllowed):
					t.Errorf("%s → %s by %s: got %v, want ErrNotAllowed", from, to, role, err)
				}
				if ok && role.AtLeast(rule.role) {
					err := CheckTransition(from, to, role, " \n")
					if rule.reason != errors.Is(err, ErrReasonRequired) {
						t.Errorf("%s → %s without reason: got %v, reason required %v", from, to, err, rule.reason)
					}
				}
			}
		}
	}
	for _, s := range []Status{StatusFulfilledOnTime, StatusFulfilledLate, StatusBreached, StatusWithdrawn} {
		if !s.Terminal() || len(NextStatuses(s, RoleCountyAdmin)) != 0 {
			t.Errorf("%s should be terminal", s)
		}
	}
	if got := NextStatuses(StatusPublished, RoleStaff); len(got) != 1 || got[0] != StatusInProgress {
		t.Errorf("staff on a published commitment may only start it, got %v", got)
	}
}

func TestCategoriesCoverThePlan(t *testing.T) {
	if n := len(PublicServiceCategories()); n != 14 {
		t.Fatalf("§五(七) lists 14 public services, have %d", n)
	}
	seen := map[Category]bool{}
	for _, c := range Categories() {
		if !c.Valid() || seen[c] {
			t.Fatalf("category %q invalid or repeated", c)
		}
		seen[c] = true
	}
	for _, c := range []Category{CatAdminQuality, CatAdminTimeLimit, CatAdminGuarantee, CatPracticalDeeds, CatWorkTask, CatInvestment, CatPayment} {
		if !seen[c] {
			t.Errorf("missing %s", c)
		}
	}
	if Category("gambling").Valid() {
		t.Error("unknown category accepted")
	}
}

func TestDeadlineForms(t *testing.T) {
	good := map[string]Deadline{
		"":                DeadlineNone(),
		"date:2026-10-15": DateDeadline(calendar.NewDate(2026, 10, 15)),
		"workdays:7":      WorkdaysDeadline(7),
	}
	for s, want := range good {
		got, err := ParseDeadline(s)
		if err != nil || got != want || got.String() != s {
			t.Errorf("ParseDeadline(%q) = %+v, %v", s, got, err)
		}
	}
	for _, s := range []string{"7", "date:2026-02-30", "workdays:0", "workdays:07", "workdays:-1", "workdays:99999", "weeks:2", "date:"} {
		if _, err := ParseDeadline(s); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("ParseDeadline(%q) accepted", s)
		}
	}
}

func TestComputeDue(t *testing.T) {
	cal := calendar.Default()
	start := calendar.NewDate(2026, 9, 30)
	seven := WorkdaysDeadline(7) // due 2026-10-15, across the National Day holiday
	cases := []struct {
		name   string
		status Status
		dl     Deadline
		today  calendar.Date
		want   DueState
		days   int
	}{
		{"holiday week counts no working days", StatusPublished, seven, calendar.NewDate(2026, 10, 7), DueLater, 7},
		{"six working days left is not yet soon", StatusInProgress, seven, calendar.NewDate(2026, 10, 8), DueLater, 6},
		{"five working days left (the adjusted Saturday counts)", StatusInProgress, seven, calendar.NewDate(2026, 10, 9), DueSoon, 5},
		{"due today", StatusPublished, seven, calendar.NewDate(2026, 10, 15), DueSoon, 0},
		{"one day late", StatusInProgress, seven, calendar.NewDate(2026, 10, 16), DueOverdue, 1},
		{"closed is never overdue", StatusFulfilledLate, seven, calendar.NewDate(2026, 12, 1), DueNone, 0},
		{"draft is not due", StatusDraft, seven, calendar.NewDate(2026, 12, 1), DueNone, 0},
		{"no deadline", StatusPublished, DeadlineNone(), calendar.NewDate(2026, 12, 1), DueNone, 0},
		{"date deadline", StatusPublished, DateDeadline(calendar.NewDate(2026, 11, 30)), calendar.NewDate(2026, 12, 3), DueOverdue, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ComputeDue(tc.status, start, tc.dl, tc.today, cal)
			if got.State != tc.want {
				t.Fatalf("state %s, want %s (%+v)", got.State, tc.want, got)
			}
			switch tc.want {
			case DueOverdue:
				if got.DaysOverdue != tc.days {
					t.Fatalf("%d days overdue, want %d", got.DaysOverdue, tc.days)
				}
			case DueSoon, DueLater:
				if got.WorkdaysLeft != tc.days {
					t.Fatalf("%d working days left, want %d", got.WorkdaysLeft, tc.days)
				}
			}
		})
	}
	if !OnTime(calendar.NewDate(2026, 10, 15), start, seven, cal) || OnTime(calendar.NewDate(2026, 10, 16), start, seven, cal) {
		t.Fatal("on-time boundary is the deadline day itself")
	}
}

func TestValidateValue(t *testing.T) {
	bad := []struct {
		f Field
		v string
	}{
		{FieldTitle, ""}, {FieldTitle, "  "}, {FieldTitle, string(make([]byte, MaxTitleBytes+1))},
		{FieldText, "a\x00b"}, {FieldText, "\xff"}, {FieldResponsible, ""},
		{FieldStartDate, "2026-13-01"}, {FieldPublic, "yes"}, {FieldStatus, "done"},
		{FieldCategory, ""}, {Field("colour"), "red"},
	}
	for _, b := range bad {
		if err := ValidateValue(b.f, b.v); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("ValidateValue(%s, %q) = %v", b.f, b.v, err)
		}
	}
	if err := ValidateValue(FieldText, "第一行\n第二行\t缩进"); err != nil {
		t.Errorf("multi-line text refused: %v", err)
	}
}

func FuzzParseDeadline(f *testing.F) {
	for _, s := range []string{"", "date:2026-10-15", "workdays:7", "workdays:3650", "date:2024-02-29", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDeadline(s)
		if err != nil {
			return
		}
		if d.String() != s {
			t.Fatalf("%q parsed to %+v which prints %q", s, d, d.String())
		}
		if err := ValidateValue(FieldDeadline, s); err != nil {
			t.Fatalf("parsed but invalid: %v", err)
		}
	})
}
