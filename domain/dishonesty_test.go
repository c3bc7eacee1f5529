package domain

import (
	"errors"
	"slices"
	"testing"

	"jiannuo/domain/calendar"
)

// TestDishonestyVocabulary: every listed type is valid and distinct, and
// nothing else is; the steps rank in the order a record goes through them,
// an unknown step below them all.
func TestDishonestyVocabulary(t *testing.T) {
	types := DishonestyTypes()
	if len(types) != 6 || len(slices.Compact(slices.Sorted(slices.Values(types)))) != len(types) {
		t.Fatalf("types %q", types)
	}
	for _, ty := range types {
		if !ty.Valid() {
			t.Errorf("%s not valid", ty)
		}
	}
	for _, ty := range []DishonestyType{"", "breach", "Court_Judgment"} {
		if ty.Valid() {
			t.Errorf("%q valid", ty)
		}
	}
	steps := []DishonestyStep{"", StepRecorded, StepExplained, StepRectified, StepRepaired}
	for i, s := range steps {
		if s.Rank() != i {
			t.Errorf("%q ranks %d, want %d", s, s.Rank(), i)
		}
	}
	if DishonestyStep("closed").Rank() != 0 {
		t.Error("an unknown step ranks")
	}
}

// TestDishonestyStepRules: who takes each step, which carry a detail, and
// that the new steps leave the progress ranks alone.
func TestDishonestyStepRules(t *testing.T) {
	steps := DishonestySteps()
	if len(steps) != 10 || len(slices.Compact(slices.Sorted(slices.Values(steps)))) != len(steps) {
		t.Fatalf("steps %q", steps)
	}
	for _, c := range []struct {
		s         DishonestyStep
		role      Role
		detail    bool
		progress  bool
		submitted bool
	}{
		{StepExplained, RoleCountyAdmin, false, true, false},
		{StepRectified, RoleCountyAdmin, false, true, false},
		{StepRepaired, RoleCountyAdmin, false, true, false},
		{StepExplanationSubmitted, RoleLeader, false, false, true},
		{StepRectificationSubmitted, RoleLeader, false, false, true},
		{StepReturned, RoleCountyAdmin, false, false, false},
		{StepSanctioned, RoleCountyAdmin, true, false, false},
		{StepMitigated, RoleCountyAdmin, true, false, false},
		{StepCorrected, RoleCountyAdmin, true, false, false},
		{StepWithdrawn, RoleCountyAdmin, false, false, false},
	} {
		if !c.s.Valid() || c.s.LeastRole() != c.role || c.s.AdminOnly() != (c.role == RoleCountyAdmin) ||
			c.s.HasDetail() != c.detail || (c.s.Rank() > 0) != c.progress || c.s.Submission() != c.submitted {
			t.Errorf("%s: role %s, detail %v, rank %d, submission %v", c.s, c.s.LeastRole(), c.s.HasDetail(), c.s.Rank(), c.s.Submission())
		}
	}
	for _, s := range []DishonestyStep{"", StepRecorded, "forgiven"} {
		if s.Valid() || !s.AdminOnly() || s.HasDetail() {
			t.Errorf("%q: valid %v, admin only %v, detail %v", s, s.Valid(), s.AdminOnly(), s.HasDetail())
		}
	}
}

// TestDisclosure: the defaults, and the last day a record is shown with
// and without credit repair.
func TestDisclosure(t *testing.T) {
	var zero Disclosure
	if d := zero.WithDefaults(); d.Days != 1095 || d.AfterRepair != AfterRepairKeep || d.RepairWithdrawDays != 30 || d.Validate() != nil {
		t.Fatalf("defaults %+v", d)
	}
	for _, bad := range []Disclosure{{Days: -1}, {AfterRepair: "hide"}, {RepairWithdrawDays: -5}} {
		if err := bad.Validate(); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	rec := calendar.NewDate(2026, 3, 2)
	repaired := calendar.NewDate(2026, 6, 1)
	for _, c := range []struct {
		d        Disclosure
		repaired calendar.Date
		want     calendar.Date
	}{
		{zero, calendar.Date{}, calendar.NewDate(2029, 2, 28)}, // 1095 days, the first included
		{zero, repaired, calendar.NewDate(2029, 2, 28)},        // keep: repair changes nothing
		{Disclosure{AfterRepair: AfterRepairWithdraw}, calendar.Date{}, calendar.NewDate(2029, 2, 28)},
		{Disclosure{AfterRepair: AfterRepairWithdraw}, repaired, calendar.NewDate(2026, 6, 30)}, // off on 07-01, 30 days after
		{Disclosure{Days: 10, AfterRepair: AfterRepairWithdraw}, repaired, calendar.NewDate(2026, 3, 11)},
		{Disclosure{Days: 1}, calendar.Date{}, rec},
	} {
		if got := c.d.LastDay(rec, c.repaired); got != c.want {
			t.Errorf("%+v repaired %v: last day %v, want %v", c.d, c.repaired, got, c.want)
		}
	}
}
