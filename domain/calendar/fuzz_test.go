package calendar

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParseOverlay: ParseOverlay never panics, errors always wrap
// ErrBadOverlay, and an accepted overlay survives MarshalJSON exactly and
// applies to a calendar as listed. Seeds: testdata/fuzz/FuzzParseOverlay.
func FuzzParseOverlay(f *testing.F) {
	f.Add([]byte(briefExample))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := ParseOverlay(data)
		if err != nil {
			if !errors.Is(err, ErrBadOverlay) {
				t.Fatalf("error does not wrap ErrBadOverlay: %v", err)
			}
			if !reflect.DeepEqual(o, Overlay{}) {
				t.Fatal("non-zero Overlay with error")
			}
			return
		}
		b1, err := o.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		o2, err := ParseOverlay(b1)
		if err != nil {
			t.Fatalf("canonical form refused: %v\n%s", err, b1)
		}
		if !reflect.DeepEqual(o, o2) {
			t.Fatalf("round trip changed the overlay:\n%s", b1)
		}
		b2, _ := o2.MarshalJSON()
		if !bytes.Equal(b1, b2) {
			t.Fatalf("MarshalJSON not stable:\n%s\n%s", b1, b2)
		}
		cal := Default().WithOverlay(o)
		for _, y := range o.years {
			if !cal.Covers(y.year) {
				t.Fatalf("year %d not covered after WithOverlay", y.year)
			}
			for _, g := range y.holidays {
				for _, d := range g.dates {
					if cal.Kind(d) != Holiday || cal.HolidayName(d) != g.name {
						t.Fatalf("%s: %v %q, want holiday %q", d, cal.Kind(d), cal.HolidayName(d), g.name)
					}
				}
			}
			for _, g := range y.workdays {
				for _, d := range g.dates {
					if cal.Kind(d) != AdjustedWorkday || cal.HolidayName(d) != g.name {
						t.Fatalf("%s: %v %q, want adjusted workday %q", d, cal.Kind(d), cal.HolidayName(d), g.name)
					}
				}
			}
			s := NewDate(y.year, 1, 1).AddDays(-1)
			if got, err := cal.AddWorkingDays(s, 1); err != nil || got.Year != y.year || !cal.IsWorkingDay(got) {
				t.Fatalf("AddWorkingDays(%s, 1) = %s, %v", s, got, err)
			}
		}
	})
}

// FuzzParseDate: ParseDate never panics, errors wrap ErrBadDate, it accepts
// exactly what time.Parse("2006-01-02") accepts, and accepted text
// round-trips through String and the text marshalling.
// Seeds: testdata/fuzz/FuzzParseDate.
func FuzzParseDate(f *testing.F) {
	f.Add("2026-10-15")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		tt, terr := time.Parse("2006-01-02", s)
		if err != nil {
			if !errors.Is(err, ErrBadDate) {
				t.Fatalf("error does not wrap ErrBadDate: %v", err)
			}
			if terr == nil {
				t.Fatalf("ParseDate(%q) refused what time.Parse accepts: %v", s, err)
			}
			return
		}
		if terr != nil || DateOf(tt) != d {
			t.Fatalf("ParseDate(%q) = %v; time.Parse gives %v, %v", s, d, tt, terr)
		}
		if d.String() != s {
			t.Fatalf("String() = %q, want %q", d.String(), s)
		}
		if NewDate(d.Year, d.Month, d.Day) != d {
			t.Fatalf("ParseDate(%q) = %+v is not normalised", s, d)
		}
		b, err := d.MarshalText()
		if err != nil || string(b) != s {
			t.Fatalf("MarshalText = %q, %v", b, err)
		}
		var back Date
		if err := back.UnmarshalText(b); err != nil || back != d {
			t.Fatalf("UnmarshalText = %v, %v", back, err)
		}
		if d.AddDays(1).AddDays(-1) != d || d.DaysUntil(d.AddDays(366)) != 366 {
			t.Fatalf("arithmetic broken at %s", d)
		}
	})
}

// TestFuzzSeedsAccepted pins which overlay seeds are valid, so that the
// round-trip half of FuzzParseOverlay is exercised by the seed corpus in
// every ordinary `go test` run.
func TestFuzzSeedsAccepted(t *testing.T) {
	accepted := map[string]bool{"example-file": true, "brief": true, "two-years": true, "escapes": true}
	entries, err := os.ReadDir("testdata/fuzz/FuzzParseOverlay")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join("testdata/fuzz/FuzzParseOverlay", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		lit, ok := strings.CutPrefix(string(raw), "go test fuzz v1\n[]byte(")
		lit, ok2 := strings.CutSuffix(lit, ")\n")
		if !ok || !ok2 {
			t.Fatalf("%s: not a corpus file", e.Name())
		}
		data, err := strconv.Unquote(lit)
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		_, err = ParseOverlay([]byte(data))
		if (err == nil) != accepted[e.Name()] {
			t.Errorf("seed %s: err = %v, want accepted=%v", e.Name(), err, accepted[e.Name()])
		}
	}
}
