package calendar

import "testing"

func mustOverlay(t testing.TB, s string) Overlay {
	t.Helper()
	o, err := ParseOverlay([]byte(s))
	if err != nil {
		t.Fatalf("ParseOverlay: %v", err)
	}
	return o
}
