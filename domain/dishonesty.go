package domain

import "slices"

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

// Rank orders the steps; 0 for an unknown one.
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
