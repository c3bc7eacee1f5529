package main

import (
	"encoding/json"
	"strings"
	"testing"

	"jiannuo/sync/countyapi"
)

// TestAdminsCommands: the county's admins from the command line — list,
// add (the new password from the environment, never a flag), act as the
// new admin (the audit names who), disable and enable, set a password
// (one's own gives the present one), the last enabled admin kept; each
// command signs in once and its session ends with it; with the server
// stopped, the recovery credential resets a locked-out admin.
func TestAdminsCommands(t *testing.T) {
	h := newHarness(t)
	h.init()
	addr, stop := h.serveStoppable()
	base := "https://" + addr
	as := func(name string, args ...string) []string {
		return append(args, "-dir", h.dir, "-url", base, "-admin", name)
	}
	const lisiPass, lisiNew = "李四的口令-正确", "李四的新口令-2027"
	zhangPass := h.env[envPassword]

	r := h.must(0, as("zhangwei", "admins", "list")...)
	if !strings.Contains(r.stdout, "zhangwei (恢复凭据 recovery)") || !strings.Contains(r.stdout, "在用 enabled") {
		t.Errorf("admins list:\n%s", r.stdout)
	}
	if r := h.must(2, as("zhangwei", "admins", "add", "li si")...); !strings.Contains(r.stderr, "admin name") {
		t.Errorf("add with a space in the name: %s", r.stderr)
	}
	if r := h.must(2, as("zhangwei", "admins", "add", "lisi")...); !strings.Contains(r.stderr, envNewPassword) {
		t.Errorf("add without a new password: %s", r.stderr)
	}
	h.env[envNewPassword] = "1234567"
	if r := h.must(1, as("zhangwei", "admins", "add", "lisi")...); !strings.Contains(r.stderr, "need at least 8") {
		t.Errorf("add with a weak password: %s", r.stderr)
	}
	h.env[envNewPassword] = lisiPass
	if r := h.must(0, as("zhangwei", "admins", "add", "lisi")...); !strings.Contains(r.stdout, "added admin lisi") {
		t.Errorf("add: %s", r.stdout)
	}
	delete(h.env, envNewPassword)

	// lisi acts with her own password; zhangwei is disabled by her.
	h.env[envPassword] = lisiPass
	if r := h.must(2, as("lisi", "admins", "disable", "zhangwei")...); !strings.Contains(r.stderr, "-reason is required") {
		t.Errorf("disable without a reason: %s", r.stderr)
	}
	h.must(0, as("lisi", "admins", "disable", "zhangwei", "-reason", "休假")...)
	r = h.must(1, as("lisi", "admins", "disable", "lisi", "-reason", "试试")...)
	if !strings.Contains(r.stderr, "last enabled admin") || !strings.Contains(r.stderr, "invalid_operation") {
		t.Errorf("disabling the last enabled admin: %s", r.stderr)
	}
	h.env[envPassword] = zhangPass
	if r := h.must(1, as("zhangwei", "devices")...); !strings.Contains(r.stderr, "HTTP 403, not_authorized") {
		t.Errorf("a disabled admin: %s", r.stderr)
	}

	// lisi changes her own password, enables zhangwei again.
	h.env[envPassword], h.env[envNewPassword] = lisiPass, lisiNew
	r = h.must(0, as("lisi", "admins", "passwd", "lisi", "-json")...)
	delete(h.env, envNewPassword)
	var changed countyapi.PasswordChanged
	if err := json.Unmarshal([]byte(r.stdout), &changed); err != nil || changed.Admin.PasswordSetBy != "lisi" || changed.Session == nil ||
		changed.Session.Admin != "lisi" || strings.Contains(r.stdout, countyapi.TokenPrefix) {
		t.Errorf("passwd -json (with the session handed over, not its token): %v\n%s", err, r.stdout)
	}
	if r := h.must(1, as("lisi", "devices")...); !strings.Contains(r.stderr, "HTTP 401, not_authorized") {
		t.Errorf("the old password after the change: %s", r.stderr)
	}
	h.env[envPassword] = lisiNew
	h.must(0, as("lisi", "admins", "enable", "zhangwei")...)

	h.env[envPassword] = zhangPass
	r = h.must(0, as("zhangwei", "admins", "list", "-json")...)
	var list []countyapi.AdminInfo
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 2 {
		t.Fatalf("admins list -json: %v\n%s", err, r.stdout)
	}
	if l := list[0]; l.Name != "lisi" || l.Disabled || l.PasswordSetBy != "lisi" || l.CreatedBy != "zhangwei" || l.Sessions != 0 {
		t.Errorf("lisi after her commands (each signed out): %+v", l)
	}
	if z := list[1]; z.Name != "zhangwei" || z.Disabled || z.ChangedBy != "lisi" || z.Sessions != 1 {
		t.Errorf("zhangwei listing: %+v", z)
	}
	if strings.Contains(r.stdout, countyapi.TokenPrefix) || strings.Contains(r.stdout, "token") {
		t.Errorf("-json printed a session token:\n%s", r.stdout)
	}
	r = h.must(0, as("zhangwei", "audit")...)
	var rows []string
	for _, l := range strings.Split(r.stdout, "\n") {
		if f := strings.Fields(l); len(f) >= 6 && strings.HasPrefix(f[4], "admin_") {
			rows = append(rows, f[3]+" "+f[4]+" "+f[5])
		}
	}
	if got, want := strings.Join(rows, ", "), "zhangwei admin_add lisi, lisi admin_disable zhangwei, lisi admin_password lisi, lisi admin_enable zhangwei"; got != want {
		t.Errorf("audit rows %s, want %s:\n%s", got, want, r.stdout)
	}

	// Locked out: lisi forgot her password. The recovery credential
	// resets it on the stopped server.
	h.env[envNewPassword] = "李四找回的口令-2028"
	if r := h.must(1, "admins", "reset", "lisi", "-dir", h.dir); !strings.Contains(r.stderr, "stop the server first") {
		t.Errorf("reset on a running server: %s", r.stderr)
	}
	stop()
	h.env[envPassword] = lisiNew // not the recovery credential
	if r := h.must(1, "admins", "reset", "lisi", "-dir", h.dir); !strings.Contains(r.stderr, "not authorized: wrong admin name or password") {
		t.Errorf("reset with another admin's password: %s", r.stderr)
	}
	if r := h.must(1, "admins", "reset", "lisi", "-dir", h.dir, "-recovery", "lisi"); !strings.Contains(r.stderr, "not the recovery credential") {
		t.Errorf("reset with another admin's credential: %s", r.stderr)
	}
	h.env[envPassword] = zhangPass
	if r := h.must(0, "admins", "reset", "lisi", "-dir", h.dir); !strings.Contains(r.stdout, "reset the password of lisi") {
		t.Errorf("reset: %s", r.stdout)
	}
	delete(h.env, envNewPassword)
	addr, _ = h.serveStoppable()
	base = "https://" + addr
	h.env[envPassword] = "李四找回的口令-2028"
	h.must(0, as("lisi", "devices")...)
	r = h.must(0, as("lisi", "audit")...)
	if !strings.Contains(r.stdout, "recovery:zhangwei") || !strings.Contains(r.stdout, "recover_admin_reset") {
		t.Errorf("audit after the reset:\n%s", r.stdout)
	}
}
