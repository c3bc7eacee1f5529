package domain

import (
	"slices"
	"testing"
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
