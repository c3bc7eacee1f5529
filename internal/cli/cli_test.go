package cli

import (
	"bytes"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(args, &out, &errb)
	return out.String() + errb.String(), code
}

func TestDemoSummary(t *testing.T) {
	dir := t.TempDir()
	out, code := run(t, "-lang", "zh-Hans", "demo", "-dir", dir)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{"河南省洛阳市栾川县赤土店镇", "已逾期：\n  [", "5 个工作日内到期：\n  [", "数据一致：是", "冲突（等待县信用办核定）：0"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	out, code = run(t, "-lang", "en", "demo", "-dir", dir)
	if code != 0 || !strings.Contains(out, "Overdue:") || !strings.Contains(out, "identical data: yes") {
		t.Fatalf("English demo (exit %d):\n%s", code, out)
	}
}

func TestWorkdaysAndCheck(t *testing.T) {
	out, code := run(t, "-lang", "en", "workdays", "2026-09-30", "7")
	if code != 0 || !strings.Contains(out, "2026-10-15") {
		t.Fatalf("exit %d: %s", code, out)
	}
	out, code = run(t, "-lang", "en", "workdays", "2031-01-01", "3")
	if code != 0 || !strings.Contains(out, "about") {
		t.Fatalf("uncovered year not flagged as an estimate: %s", out)
	}
	if _, code := run(t, "workdays", "2026-02-30", "1"); code != 1 {
		t.Fatal("bad date accepted")
	}
	if _, code := run(t, "frobnicate"); code != 2 {
		t.Fatal("unknown command not a usage error")
	}
	dir := t.TempDir()
	if _, code := run(t, "demo", "-dir", dir); code != 0 {
		t.Fatal("demo failed")
	}
	out, code = run(t, "-lang", "en", "check", dir+"/township.db")
	if code != 0 || !strings.Contains(out, "every consistency check passed") {
		t.Fatalf("check: exit %d: %s", code, out)
	}
}
