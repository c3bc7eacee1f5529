package domain

import (
	"fmt"
	"slices"

	"jiannuo/domain/calendar"
)

// Government dishonesty records (政务失信记录, §四(二)–(四)): a county admin
// records one against a commitment and moves it on: explanation received,
// rectified, credit repaired. Here is their vocabulary; sync/protocol
// encodes and verifies the operations that carry them, store keeps them.

// DishonestyType is where a dishonesty record comes from. The values are
// part of the signed format and never change.
type DishonestyType string

// The dishonesty types of §四(二).
const (
	DishonestyCourtJudgment       DishonestyType = "court_judgment"          // 法院判决
	DishonestyNonProsecution      DishonestyType = "non_prosecution"         // 不起诉决定
	DishonestyAdministrativePenal DishonestyType = "administrative_penalty"  // 行政处罚
	DishonestyDisciplinary        DishonestyType = "disciplinary_sanction"   // 纪律处分
	DishonestyAccountability      DishonestyType = "accountability_decision" // 问责决定
	DishonestyBreach              DishonestyType = "breach_of_commitment"    // 未践诺
)

// DishonestyTypes lists the types in display order.
func DishonestyTypes() []DishonestyType {
	return []DishonestyType{DishonestyCourtJudgment, DishonestyNonProsecution, DishonestyAdministrativePenal,
		DishonestyDisciplinary, DishonestyAccountability, DishonestyBreach}
}

// Valid reports whether t is one of DishonestyTypes.
func (t DishonestyType) Valid() bool { return slices.Contains(DishonestyTypes(), t) }

// DishonestyStep is a step on a dishonesty record. The values are part of
// the signed format and never change.
type DishonestyStep string

// The steps, in the order a record normally goes through them. The record's
// status is the furthest step it has reached; credit repair closes it.
const (
	// StepRecorded is the record's own creation; a record is not moved on
	// to it.
	StepRecorded  DishonestyStep = "recorded"
	StepExplained DishonestyStep = "explained" // written explanation received (书面说明)
	StepRectified DishonestyStep = "rectified" // rectification done (整改)
	StepRepaired  DishonestyStep = "repaired"  // credit repaired (信用修复): closes the record
)

// The steps added for two-way accountability (§四(三)–(四)): the township
// answers a record itself, and the county reviews what it submits, takes
// disciplinary measures, treats a record more lightly, and corrects or
// withdraws it after an objection. None of them moves the record's
// progress (Rank 0): the township's submission becomes progress only when
// the county accepts it by taking StepExplained or StepRectified.
const (
	// StepExplanationSubmitted: the township leader submits the office's
	// written explanation (书面说明) to the county.
	StepExplanationSubmitted DishonestyStep = "explanation_submitted"
	// StepRectificationSubmitted: the township leader submits evidence of
	// the rectification (整改), with a description.
	StepRectificationSubmitted DishonestyStep = "rectification_submitted"
	// StepReturned: the county sends a submission back (退回), with the
	// reason; the township submits again.
	StepReturned DishonestyStep = "returned"
	// StepSanctioned: the county records a disciplinary measure
	// (SanctionMeasure in the step's detail).
	StepSanctioned DishonestyStep = "sanctioned"
	// StepMitigated: the county treats the record more lightly (从轻处理)
	// or exempts it from sanctions (免于惩戒): a Mitigation in the detail.
	StepMitigated DishonestyStep = "mitigated"
	// StepCorrected: the county corrects the facts (更正), usually after an
	// upheld objection; the detail holds the corrected facts.
	StepCorrected DishonestyStep = "corrected"
	// StepWithdrawn: the county withdraws the record (撤销): it closes and
	// is never published again.
	StepWithdrawn DishonestyStep = "withdrawn"
)

var dishonestySteps = []DishonestyStep{StepExplained, StepRectified, StepRepaired, StepExplanationSubmitted,
	StepRectificationSubmitted, StepReturned, StepSanctioned, StepMitigated, StepCorrected, StepWithdrawn}

// DishonestySteps returns every step one takes on an existing record (not
// StepRecorded, which is the record itself), in display order.
func DishonestySteps() []DishonestyStep { return slices.Clone(dishonestySteps) }

// Valid reports whether s is one of DishonestySteps.
func (s DishonestyStep) Valid() bool { return slices.Contains(dishonestySteps, s) }

// LeastRole returns who takes the step: a leader of the record's office
// (on a township device) submits the explanation and the rectification;
// the county admin takes every other step, and creates the record. It is
// RoleCountyAdmin for an unknown step too, so that a township device never
// passes with one.
func (s DishonestyStep) LeastRole() Role {
	if s.Submission() {
		return RoleLeader
	}
	return RoleCountyAdmin
}

// AdminOnly reports whether only a county admin on a county-admin device
// takes the step (every step but the township's two submissions).
func (s DishonestyStep) AdminOnly() bool { return s.LeastRole() == RoleCountyAdmin }

// Submission reports whether the step is the township submitting something
// for the county to review.
func (s DishonestyStep) Submission() bool {
	return s == StepExplanationSubmitted || s == StepRectificationSubmitted
}

// HasDetail reports whether the step carries a detail (the steps marked †
// in the format: the measure, the mitigation, the corrected facts). The
// detail is encoded for these steps only, so every older step keeps its
// bytes.
func (s DishonestyStep) HasDetail() bool {
	return s == StepSanctioned || s == StepMitigated || s == StepCorrected
}

// Rank orders the progress steps (recorded, explained, rectified,
// repaired); 0 for any other step, which does not move a record's progress.
func (s DishonestyStep) Rank() int {
	switch s {
	case StepRecorded:
		return 1
	case StepExplained:
		return 2
	case StepRectified:
		return 3
	case StepRepaired:
		return 4
	}
	return 0
}

// Disclosure of dishonesty records on the public page (§四(二)): for how
// long a record is shown, and what credit repair does to it.

// AfterRepair says what becomes of a published record once its credit is
// repaired. The values are configuration, written in settings files.
type AfterRepair string

// The choices after credit repair.
const (
	// AfterRepairKeep: the record stays, shown as repaired (已修复), until
	// the disclosure period ends.
	AfterRepairKeep AfterRepair = "keep"
	// AfterRepairWithdraw: the record is taken off the page
	// Disclosure.RepairWithdrawDays days after the repair.
	AfterRepairWithdraw AfterRepair = "withdraw"
)

// Valid reports whether a is a known choice.
func (a AfterRepair) Valid() bool { return a == AfterRepairKeep || a == AfterRepairWithdraw }

// Default disclosure settings.
const (
	// DefaultDisclosureDays: a record is published for three years from
	// the day it was recorded.
	DefaultDisclosureDays = 1095
	// DefaultRepairWithdrawDays: with AfterRepairWithdraw, a repaired
	// record leaves the page 30 days after the repair.
	DefaultRepairWithdrawDays = 30
)

// Disclosure is how long dishonesty records are published. The zero value
// means the defaults: DefaultDisclosureDays, AfterRepairKeep,
// DefaultRepairWithdrawDays.
type Disclosure struct {
	// Days is how many days from the day it was recorded (that day
	// included) a record is shown. Default 1095.
	Days int
	// AfterRepair is what credit repair does. Default AfterRepairKeep.
	AfterRepair AfterRepair
	// RepairWithdrawDays is, with AfterRepairWithdraw, how many days after
	// the day of the repair the record leaves the page (shown on the
	// repair day and the days after it, up to this many). Default 30.
	RepairWithdrawDays int
}

// WithDefaults returns d with every zero setting replaced by its default.
func (d Disclosure) WithDefaults() Disclosure {
	if d.Days == 0 {
		d.Days = DefaultDisclosureDays
	}
	if d.AfterRepair == "" {
		d.AfterRepair = AfterRepairKeep
	}
	if d.RepairWithdrawDays == 0 {
		d.RepairWithdrawDays = DefaultRepairWithdrawDays
	}
	return d
}

// Validate checks the settings (after WithDefaults): positive periods and
// a known choice. Errors wrap ErrInvalidValue.
func (d Disclosure) Validate() error {
	d = d.WithDefaults()
	if d.Days < 0 || d.RepairWithdrawDays < 0 || !d.AfterRepair.Valid() {
		return fmt.Errorf("%w: disclosure of %d days, after repair %q in %d days", ErrInvalidValue, d.Days, d.AfterRepair, d.RepairWithdrawDays)
	}
	return nil
}

// LastDay returns the last day a record recorded on the day recorded (and,
// when repaired is not zero, credit-repaired on that day) is shown: the
// end of the disclosure period, or earlier when repair takes records off
// the page.
func (d Disclosure) LastDay(recorded, repaired calendar.Date) calendar.Date {
	d = d.WithDefaults()
	last := recorded.AddDays(d.Days - 1)
	if !repaired.IsZero() && d.AfterRepair == AfterRepairWithdraw {
		if off := repaired.AddDays(d.RepairWithdrawDays - 1); off.Before(last) {
			last = off
		}
	}
	return last
}
