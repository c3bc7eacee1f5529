package calendar

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

func mustDate(t testing.TB, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatalf("ParseDate(%q): %v", s, err)
	}
	return d
}

func TestNewDateNormalisesLikeTimeDate(t *testing.T) {
	cases := []struct {
		y    int
		m    time.Month
		d    int
		want string
	}{
		{2025, time.January, 32, "2025-02-01"},
		{2025, 13, 1, "2026-01-01"},
		{2025, 0, 1, "2024-12-01"},
		{2025, time.March, 0, "2025-02-28"},
		{2024, time.March, 0, "2024-02-29"},
		{2025, time.January, -365, "2024-01-01"}, // 2024 has 366 days
		{2000, time.February, 29, "2000-02-29"},
		{1900, time.February, 29, "1900-03-01"},
	}
	for _, c := range cases {
		if got := NewDate(c.y, c.m, c.d).String(); got != c.want {
			t.Errorf("NewDate(%d, %d, %d) = %s, want %s", c.y, c.m, c.d, got, c.want)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		y, m, d := r.IntN(4000)-500, time.Month(r.IntN(40)-14), r.IntN(800)-400
		got := NewDate(y, m, d)
		ty, tm, td := time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Date()
		if got != (Date{ty, tm, td}) {
			t.Fatalf("NewDate(%d, %d, %d) = %+v, time.Date gives %d-%d-%d", y, m, d, got, ty, tm, td)
		}
	}
}

func TestDateArithmeticAgreesWithTime(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		a := NewDate(1900+r.IntN(300), time.Month(1+r.IntN(12)), 1+r.IntN(31))
		n := r.IntN(20000) - 10000
		b := a.AddDays(n)
		ta := time.Date(a.Year, a.Month, a.Day, 0, 0, 0, 0, time.UTC)
		tb := ta.AddDate(0, 0, n)
		if b != DateOf(tb) {
			t.Fatalf("%s.AddDays(%d) = %s, want %s", a, n, b, DateOf(tb))
		}
		if a.Weekday() != ta.Weekday() {
			t.Fatalf("%s.Weekday() = %v, want %v", a, a.Weekday(), ta.Weekday())
		}
		if got := a.DaysUntil(b); got != n {
			t.Fatalf("%s.DaysUntil(%s) = %d, want %d", a, b, got, n)
		}
		want := 0
		if n < 0 {
			want = 1
		} else if n > 0 {
			want = -1
		}
		if got := a.Compare(b); got != want {
			t.Fatalf("%s.Compare(%s) = %d, want %d", a, b, got, want)
		}
		if a.Before(b) != (want < 0) || a.After(b) != (want > 0) {
			t.Fatalf("Before/After inconsistent for %s, %s", a, b)
		}
	}
}

func TestDateOfUsesOwnLocation(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	instant := time.Date(2026, 9, 30, 17, 0, 0, 0, time.UTC) // 01:00 on Oct 1 in Beijing
	if got := DateOf(instant); got.String() != "2026-09-30" {
		t.Errorf("DateOf(UTC) = %s", got)
	}
	if got := DateOf(instant.In(shanghai)); got.String() != "2026-10-01" {
		t.Errorf("DateOf(Shanghai) = %s", got)
	}
	if got := mustDate(t, "2026-10-01").Time(shanghai); !got.Equal(time.Date(2026, 9, 30, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("Time = %v", got)
	}
}

func TestParseDate(t *testing.T) {
	good := []string{"2025-01-01", "2024-02-29", "2000-02-29", "0000-01-01", "9999-12-31", "2026-10-15"}
	for _, s := range good {
		d, err := ParseDate(s)
		if err != nil {
			t.Errorf("ParseDate(%q): %v", s, err)
			continue
		}
		if d.String() != s {
			t.Errorf("ParseDate(%q).String() = %q", s, d.String())
		}
	}
	if d := mustDate(t, "2026-10-15"); d != (Date{2026, time.October, 15}) {
		t.Errorf("fields = %+v", d)
	}
	bad := []string{
		"", "2025-1-01", "2025-01-1", "25-01-01", "2025/01/01", "2025-01-01 ",
		" 2025-01-01", "2025-01-01T00:00:00Z", "2025-13-01", "2025-00-10", "2025-01-00",
		"2025-02-29", "1900-02-29", "2025-04-31", "+025-01-01", "2025-0a-01", "２０２５-01-01",
		"20250101", "2025-01-32",
	}
	for _, s := range bad {
		d, err := ParseDate(s)
		if !errors.Is(err, ErrBadDate) {
			t.Errorf("ParseDate(%q) = %v, %v; want ErrBadDate", s, d, err)
		}
		if !d.IsZero() {
			t.Errorf("ParseDate(%q) returned non-zero date %v on error", s, d)
		}
	}
}

func TestZeroDate(t *testing.T) {
	var z Date
	if !z.IsZero() || z.String() != "" {
		t.Errorf("zero Date: IsZero=%v String=%q", z.IsZero(), z.String())
	}
	if mustDate(t, "0000-01-01").IsZero() {
		t.Error("0000-01-01 must not be the zero Date")
	}
	b, err := z.MarshalText()
	if err != nil || len(b) != 0 {
		t.Errorf("zero MarshalText = %q, %v", b, err)
	}
	d := mustDate(t, "2025-05-05")
	if err := d.UnmarshalText(nil); err != nil || !d.IsZero() {
		t.Errorf("UnmarshalText(empty) = %v, %v", d, err)
	}
}

func TestUnnormalisedLiteral(t *testing.T) {
	lit := Date{2025, time.February, 30}
	if lit.String() != "2025-03-02" {
		t.Errorf("String = %s", lit.String())
	}
	if lit.Compare(mustDate(t, "2025-03-02")) != 0 {
		t.Error("literal must compare equal to its normalised date")
	}
	if Default().Kind(Date{2025, time.January, 32}) != Default().Kind(mustDate(t, "2025-02-01")) {
		t.Error("Kind of literal differs from its normalised date")
	}
}

func TestDateTextAndJSON(t *testing.T) {
	type rec struct {
		Due  Date `json:"due"`
		Done Date `json:"done"`
	}
	in := rec{Due: mustDate(t, "2026-10-15")}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"due":"2026-10-15","done":""}` {
		t.Errorf("json = %s", b)
	}
	var out rec
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Errorf("round trip = %+v, %v", out, err)
	}
	if err := json.Unmarshal([]byte(`{"due":"2026-02-30"}`), &out); !errors.Is(err, ErrBadDate) {
		t.Errorf("bad date in JSON: %v", err)
	}
	if _, err := NewDate(10000, 1, 1).MarshalText(); !errors.Is(err, ErrBadDate) {
		t.Errorf("year 10000 MarshalText: %v", err)
	}
	if _, err := NewDate(-1, 1, 1).MarshalText(); !errors.Is(err, ErrBadDate) {
		t.Errorf("year -1 MarshalText: %v", err)
	}
}
