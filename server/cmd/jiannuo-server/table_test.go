package main

import (
	"strings"
	"testing"
)

func TestDisplayWidth(t *testing.T) {
	for s, want := range map[string]int{
		"":                 0,
		"abc":              3,
		"赤土店镇":             8,
		"410324 栾川县":       13,
		"（全角）":             8,
		"e\u0301":          1, // e + combining acute
		"MFRGGZD-FMZTWQ3-": 16,
	} {
		if got := displayWidth(s); got != want {
			t.Errorf("displayWidth(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestTableAlignsChinese(t *testing.T) {
	var tb table
	tb.row("设备号 DEVICE", "单位 OFFICE", "状态 STATUS")
	tb.row("AAAA", "410324101 赤土店镇", "待审核 pending")
	tb.row("BBBBBBBBBBBBBBBBBBBB", "410324 栾川县", "x")
	var b strings.Builder
	if err := tb.write(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("lines %q", lines)
	}
	// The third column starts at the same display column on every line.
	var starts []int
	for _, l := range lines {
		cells := strings.Fields(l)
		last := cells[len(cells)-1]
		if strings.HasSuffix(l, "pending") {
			last = "待审核 pending"
		}
		if strings.HasSuffix(l, "STATUS") {
			last = "状态 STATUS"
		}
		starts = append(starts, displayWidth(strings.TrimSuffix(l, last)))
		if strings.HasSuffix(l, " ") {
			t.Errorf("line %q ends in a space", l)
		}
	}
	if starts[0] != starts[1] || starts[1] != starts[2] {
		t.Errorf("last column starts at %v:\n%s", starts, b.String())
	}
}

func TestTableNoTrailingSpaces(t *testing.T) {
	var tb table
	tb.row("设备号", "原因 REASON")
	tb.row("在用 active", "")
	var b strings.Builder
	tb.write(&b)
	if got, want := b.String(), "设备号       原因 REASON\n在用 active\n"; got != want {
		t.Errorf("table =\n%q, want\n%q", got, want)
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"赤土店镇":               "赤土店镇",
		"a\nb\tc":            "a b c",
		"x\x1b[31my":         "x\ufffd[31my",
		"\u202eevil":         "\ufffdevil",
		"bell\x07":           "bell\ufffd",
		string([]byte{0xff}): "\ufffd",
	} {
		if got := clean(in); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEllipsis(t *testing.T) {
	if got := ellipsis("栾川县赤土店镇", 7); got != "栾川县…" || displayWidth(got) > 7 {
		t.Errorf("ellipsis = %q", got)
	}
	if got := ellipsis("short", 10); got != "short" {
		t.Errorf("ellipsis = %q", got)
	}
}
