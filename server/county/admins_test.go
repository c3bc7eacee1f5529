package county_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/server/county"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// County admin accounts and their session tokens, against a real county
// server on loopback TLS: two admins act and the audit names each; a
// disabled admin is refused, old tokens included; setting a password ends
// the admin's sessions; sessions end when idle or old (an injected clock,
// no sleeps); basic authentication still works; the recovery credential
// gets a locked-out county back in on the stopped server; bad input is
// refused with its code and stores nothing. A call with a token runs no
// argon2id (the password gate's counter).

const lisiPass = "李四的口令-正确"

// adminAs is a countyapi client of the harness server for name.
func (h *harness) adminAs(t *testing.T, name, pass string) *countyapi.Client {
	t.Helper()
	cfg := countyapi.DefaultConfig(h.base.BaseURL, h.base.Fingerprint)
	cfg.Admin, cfg.Password = name, pass
	c := countyapi.New(cfg)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// withLisi adds the admin lisi as the init admin and returns the init
// admin's client.
func (h *harness) withLisi(t *testing.T) *countyapi.Client {
	t.Helper()
	admin := h.adminAs(t, "admin", adminPass)
	info, err := admin.AddAdmin(context.Background(), "lisi", lisiPass)
	if err != nil || info.Name != "lisi" || info.Recovery || info.Disabled || info.CreatedBy != "admin" {
		t.Fatalf("add lisi: %+v, %v", info, err)
	}
	return admin
}

// auditTrail is the audit trail as c reads it, checked intact: each entry
// as who:action:target:more, space-separated.
func auditTrail(t *testing.T, c *countyapi.Client, more func(countyapi.AuditEntry) string) string {
	t.Helper()
	rep, err := c.Audit(context.Background())
	if err != nil || !rep.Verified {
		t.Fatalf("audit %+v, %v", rep, err)
	}
	var out []string
	for _, e := range rep.Entries {
		out = append(out, e.Who+":"+e.Action+":"+e.Target+":"+more(e))
	}
	return strings.Join(out, " ")
}

// runs is how many argon2id runs the server's password gate made.
func (h *harness) runs() uint64 { return h.srv.PasswordStats().Runs }

// pendingDevice asks the county to enrol a new township device and
// returns its ID.
func (h *harness) pendingDevice(t *testing.T) protocol.DeviceID {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	r := protocol.EnrolRequest{Key: pub, Office: townA, DeviceName: "赤土店镇-1", Staff: "张丽", Time: time.Now().UnixMilli()}
	if _, err := countyapi.New(countyapi.DefaultConfig(h.base.BaseURL, h.base.Fingerprint)).Enrol(context.Background(), r.Sign(key)); err != nil {
		t.Fatal(err)
	}
	return r.Device()
}

// accounts is what the server stores of its admins: the accounts and
// the audit trail.
type accounts struct {
	admins []countyapi.AdminInfo
	audit  int
}

func (h *harness) accounts(t *testing.T) accounts {
	t.Helper()
	as, err := h.srv.Admins()
	if err != nil {
		t.Fatal(err)
	}
	for i := range as {
		as[i].Sessions = 0 // live, not stored
	}
	au, err := h.srv.Audit()
	if err != nil {
		t.Fatal(err)
	}
	return accounts{as, len(au)}
}

func (h *harness) wantAccountsUnchanged(t *testing.T, before accounts) {
	t.Helper()
	after := h.accounts(t)
	a, _ := json.Marshal(before)
	b, _ := json.Marshal(after)
	if !bytes.Equal(a, b) {
		t.Fatalf("admin accounts or audit changed:\n%s\n%s", a, b)
	}
}

// wantAPI checks a client call's refusal: its HTTP status and code.
func wantAPI(t *testing.T, err error, status int, code protocol.Code) {
	t.Helper()
	var ae *countyapi.APIError
	if !errors.As(err, &ae) || ae.Status != status || ae.Code != code {
		t.Fatalf("got %v, want HTTP %d %s", err, status, code)
	}
}

// rawLogin signs in over rh and returns the session token.
func rawLogin(t *testing.T, rh *rawHTTP, header string, body []byte) countyapi.AdminSession {
	t.Helper()
	var hs []string
	if header != "" {
		hs = append(hs, header)
	}
	resp, raw := rh.do("POST", "/admin/login", body, hs...)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-in: %s %s", resp.Status, raw)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("sign-in answer cacheable: %q", resp.Header.Get("Cache-Control"))
	}
	var s countyapi.AdminSession
	if err := json.Unmarshal(raw, &s); err != nil || !countyapi.ValidToken(s.Token) {
		t.Fatalf("sign-in answer %s: %v", raw, err)
	}
	return s
}

func bearerHeader(tok string) string { return "Authorization: Bearer " + tok }

// TestTwoAdminsActAuditNamesEach: the init admin adds lisi; each signs in
// once and acts (approve, reject) with their token; the audit trail names
// the admin behind each action, the adding included; token calls run no
// argon2id; the two admins' sessions are listed.
func TestTwoAdminsActAuditNamesEach(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	admin := h.withLisi(t)
	lisi := h.adminAs(t, "lisi", lisiPass)
	if _, err := lisi.Login(ctx); err != nil {
		t.Fatal(err)
	}
	devA, devB := h.pendingDevice(t), h.pendingDevice(t)

	runs := h.runs()
	if _, err := admin.Approve(ctx, devA, countyapi.ApproveRequest{}); err != nil {
		t.Fatal(err)
	}
	if err := lisi.Reject(ctx, devB, "电话核对设备号不一致"); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := lisi.Devices(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := h.runs() - runs; got != 0 {
		t.Fatalf("%d argon2id runs for calls with session tokens, want 0", got)
	}

	rep, err := lisi.Audit(ctx)
	if err != nil || !rep.Verified {
		t.Fatalf("audit %+v, %v", rep, err)
	}
	want := []struct{ who, action, target string }{
		{"admin", county.AuditAdminAdd, "lisi"},
		{"admin", county.AuditApprove, devA.String()},
		{"lisi", county.AuditReject, devB.String()},
	}
	if len(rep.Entries) != len(want) {
		t.Fatalf("audit %+v, want %d entries", rep.Entries, len(want))
	}
	for i, w := range want {
		if e := rep.Entries[i]; e.Who != w.who || e.Action != w.action || e.Target != w.target {
			t.Errorf("audit entry %d: %s %s %s, want %s %s %s", i, e.Who, e.Action, e.Target, w.who, w.action, w.target)
		}
	}
	list, err := admin.Admins(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "admin" || !list[0].Recovery || list[1].Name != "lisi" ||
		list[0].Sessions != 1 || list[1].Sessions != 1 {
		t.Fatalf("admins %+v, %v", list, err)
	}
}

// TestDisabledAdminRefused: a disabled admin cannot sign in (403
// not_authorized, recorded), by token or by password, and an old token of
// theirs is refused; the last enabled admin cannot be disabled, by
// themselves or anyone; enabling lets the admin back in.
func TestDisabledAdminRefused(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	admin := h.withLisi(t)
	rh := h.rawHTTPFrom(t, "127.0.0.1")
	old := rawLogin(t, rh, basicAuth("lisi", lisiPass), nil)
	if resp, body := rh.do("GET", "/admin/devices", nil, bearerHeader(old.Token)); resp.StatusCode != http.StatusOK {
		t.Fatalf("lisi's token: %s %s", resp.Status, body)
	}

	if _, err := admin.DisableAdmin(ctx, "lisi", "  "); !errors.Is(err, domain.ErrReasonRequired) {
		t.Fatalf("disabling without a reason: %v", err)
	}
	info, err := admin.DisableAdmin(ctx, "lisi", "调离县信用办")
	if err != nil || !info.Disabled || info.ChangedBy != "admin" || info.Reason != "调离县信用办" || info.Sessions != 0 {
		t.Fatalf("disable lisi: %+v, %v", info, err)
	}
	resp, body := rh.do("GET", "/admin/devices", nil, bearerHeader(old.Token))
	wantHTTPCode(t, resp, body, http.StatusUnauthorized, protocol.CodeSessionExpired)
	resp, body = rh.do("POST", "/admin/login", nil, basicAuth("lisi", lisiPass))
	wantHTTPCode(t, resp, body, http.StatusForbidden, protocol.CodeNotAuthorized)
	resp, body = rh.do("GET", "/admin/devices", nil, basicAuth("lisi", lisiPass))
	wantHTTPCode(t, resp, body, http.StatusForbidden, protocol.CodeNotAuthorized)
	lisi := h.adminAs(t, "lisi", lisiPass)
	_, err = lisi.Devices(ctx)
	wantAPI(t, err, http.StatusForbidden, protocol.CodeNotAuthorized)
	if countyapi.IsCredentialError(err) {
		t.Errorf("a disabled admin is not a wrong password: %v", err)
	}
	found := false
	for _, in := range h.incidentList(t) {
		found = found || (in.Code == protocol.CodeNotAuthorized && strings.Contains(in.Message, "disabled admin lisi"))
	}
	if !found {
		t.Errorf("no incident for the disabled admin: %+v", h.incidentList(t))
	}

	// admin is the last enabled one: neither they nor anyone disables them.
	before := h.accounts(t)
	_, err = admin.DisableAdmin(ctx, "admin", "试试")
	wantAPI(t, err, http.StatusBadRequest, protocol.CodeInvalidOperation)
	h.wantAccountsUnchanged(t, before)
	// Disabling again changes nothing and is not audited twice.
	if info, err := admin.DisableAdmin(ctx, "lisi", "再次"); err != nil || info.Reason != "调离县信用办" {
		t.Fatalf("disabling again: %+v, %v", info, err)
	}
	h.wantAccountsUnchanged(t, before)

	if info, err := admin.EnableAdmin(ctx, "lisi"); err != nil || info.Disabled || info.Reason != "" {
		t.Fatalf("enable lisi: %+v, %v", info, err)
	}
	if _, err := lisi.Devices(ctx); err != nil {
		t.Fatalf("lisi enabled again: %v", err)
	}
	if got, want := auditTrail(t, admin, func(e countyapi.AuditEntry) string { return e.Reason }),
		"admin:admin_add:lisi: admin:admin_disable:lisi:调离县信用办 admin:admin_enable:lisi:"; got != want {
		t.Errorf("audit %s, want %s", got, want)
	}
	// Now lisi may disable admin; then lisi is the last one.
	if _, err := lisi.DisableAdmin(ctx, "admin", "休假"); err != nil {
		t.Fatal(err)
	}
	_, err = lisi.DisableAdmin(ctx, "lisi", "试试")
	wantAPI(t, err, http.StatusBadRequest, protocol.CodeInvalidOperation)
	_, err = admin.Devices(ctx)
	wantAPI(t, err, http.StatusForbidden, protocol.CodeNotAuthorized)
}

// TestPasswordChangeEndsSessions: an admin setting another's password
// ends every session of theirs, and the old password no longer signs in;
// an admin changing their own gives the present one (a wrong one is
// refused and changes nothing), goes on with a new session while their
// other sessions end; nobody but its own admin sets the recovery
// credential's password.
func TestPasswordChangeEndsSessions(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	admin := h.withLisi(t)
	rh := h.rawHTTPFrom(t, "127.0.0.1")
	s1 := rawLogin(t, rh, basicAuth("lisi", lisiPass), nil)
	s2 := rawLogin(t, rh, "", []byte(`{"name":"lisi","password":"`+lisiPass+`"}`)) // the JSON body signs in too

	const newPass = "李四的新口令-2027"
	info, err := admin.SetAdminPassword(ctx, "lisi", newPass, "")
	if err != nil || info.PasswordSetBy != "admin" || info.PasswordSet.IsZero() {
		t.Fatalf("admin sets lisi's password: %+v, %v", info, err)
	}
	for _, s := range []countyapi.AdminSession{s1, s2} {
		resp, body := rh.do("GET", "/admin/devices", nil, bearerHeader(s.Token))
		wantHTTPCode(t, resp, body, http.StatusUnauthorized, protocol.CodeSessionExpired)
	}
	resp, body := rh.do("POST", "/admin/login", nil, basicAuth("lisi", lisiPass))
	wantHTTPCode(t, resp, body, http.StatusUnauthorized, protocol.CodeNotAuthorized)

	// lisi changes her own: one client goes on, her other session ends.
	lisi := h.adminAs(t, "lisi", newPass)
	other := rawLogin(t, rh, basicAuth("lisi", newPass), nil)
	if _, err := lisi.Login(ctx); err != nil {
		t.Fatal(err)
	}
	before := h.accounts(t)
	_, err = lisi.SetAdminPassword(ctx, "lisi", "李四的第三个口令", "")
	wantAPI(t, err, http.StatusBadRequest, protocol.CodeInvalidOperation)
	_, err = lisi.SetAdminPassword(ctx, "lisi", "李四的第三个口令", "不是这个口令")
	wantAPI(t, err, http.StatusForbidden, protocol.CodeNotAuthorized)
	_, err = lisi.SetAdminPassword(ctx, "admin", "李四想改的管理口令", "")
	wantAPI(t, err, http.StatusForbidden, protocol.CodeNotAuthorized)
	h.wantAccountsUnchanged(t, before)

	lisi.ForgetPassword() // as the desktop holds it: a token only
	info, err = lisi.SetAdminPassword(ctx, "lisi", "李四的第三个口令", newPass)
	if err != nil || info.PasswordSetBy != "lisi" || info.Sessions != 1 {
		t.Fatalf("lisi sets her own: %+v, %v", info, err)
	}
	runs := h.runs()
	if _, err := lisi.Devices(ctx); err != nil {
		t.Fatalf("lisi after changing her password: %v", err)
	}
	if h.runs() != runs {
		t.Errorf("the session handed over ran argon2id")
	}
	resp, body = rh.do("GET", "/admin/devices", nil, bearerHeader(other.Token))
	wantHTTPCode(t, resp, body, http.StatusUnauthorized, protocol.CodeSessionExpired)

	// The recovery credential's own admin changes it.
	if _, err := admin.SetAdminPassword(ctx, "admin", "县信用办的新管理口令", adminPass); err != nil {
		t.Fatal(err)
	}
	got := auditTrail(t, admin, func(e countyapi.AuditEntry) string { return e.Detail })
	want := "admin:admin_add:lisi: admin:admin_password:lisi:set by another admin lisi:admin_password:lisi:own password admin:admin_password:admin:own password"
	if got != want {
		t.Errorf("audit %s\nwant  %s", got, want)
	}
}

// TestSessionExpiry: with an injected clock, a session survives calls
// spaced under the idle timeout until its maximum age, then ends; an
// idle one ends after the idle timeout. A client holding the password
// signs in again by itself (once, however many calls find the session
// ended at once); one without it reports session_expired. A session that
// ends or a sign-out is logged without the token.
func TestSessionExpiry(t *testing.T) {
	clk := &testClock{t: time.Date(2026, 12, 1, 8, 30, 0, 0, time.UTC)}
	var logs lockedLog
	h := newHarnessWith(t, func(c *county.Config) {
		c.Now = clk.Now
		c.AdminIdleTimeout, c.AdminSessionMax = 30*time.Minute, 8*time.Hour
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	ctx := context.Background()

	// Without the password: the session is all the client has.
	held := h.adminAs(t, "admin", adminPass)
	s, err := held.Login(ctx)
	if err != nil || s.Token != "" || s.Admin != "admin" || s.IdleSeconds != 1800 || !s.Expires.Equal(clk.Now().Add(8*time.Hour)) {
		t.Fatalf("session %+v, %v", s, err)
	}
	held.ForgetPassword()
	start := clk.Now()
	for clk.Now().Sub(start) < 8*time.Hour-29*time.Minute {
		clk.advance(29 * time.Minute)
		if _, err := held.Devices(ctx); err != nil {
			t.Fatalf("%s after sign-in, 29 minutes after the last call: %v", clk.Now().Sub(start), err)
		}
	}
	clk.advance(29 * time.Minute) // past 8 hours, though not idle
	_, err = held.Devices(ctx)
	wantAPI(t, err, http.StatusUnauthorized, protocol.CodeSessionExpired)
	if !countyapi.IsCredentialError(err) || !errors.Is(err, protocol.ErrSessionExpired) {
		t.Fatalf("an ended session: %v", err)
	}

	// Idle: 30 minutes without a call end it.
	rh := h.rawHTTPFrom(t, "127.0.0.1")
	idle := rawLogin(t, rh, basicAuth("admin", adminPass), nil)
	clk.advance(30*time.Minute - time.Second)
	if resp, body := rh.do("GET", "/admin/devices", nil, bearerHeader(idle.Token)); resp.StatusCode != http.StatusOK {
		t.Fatalf("29:59 idle: %s %s", resp.Status, body)
	}
	clk.advance(30 * time.Minute)
	resp, body := rh.do("GET", "/admin/devices", nil, bearerHeader(idle.Token))
	wantHTTPCode(t, resp, body, http.StatusUnauthorized, protocol.CodeSessionExpired)

	// With the password: signed in again, once for all the calls that
	// found the session ended.
	auto := h.adminAs(t, "admin", adminPass)
	if _, err := auto.Devices(ctx); err != nil {
		t.Fatal(err)
	}
	clk.advance(31 * time.Minute)
	runs := h.runs()
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			if _, err := auto.Devices(ctx); err != nil {
				t.Errorf("a call after the session ended: %v", err)
			}
		})
	}
	wg.Wait()
	if got := h.runs() - runs; got != 1 {
		t.Errorf("%d argon2id runs to sign in again for 6 calls at once, want 1", got)
	}

	// Signing out ends the session; the client then has none.
	rh2 := h.rawHTTPFrom(t, "127.0.0.2")
	out := rawLogin(t, rh2, basicAuth("admin", adminPass), nil)
	if resp, body := rh2.do("POST", "/admin/logout", nil, bearerHeader(out.Token)); resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-out: %s %s", resp.Status, body)
	}
	resp, body = rh2.do("GET", "/admin/devices", nil, bearerHeader(out.Token))
	wantHTTPCode(t, resp, body, http.StatusUnauthorized, protocol.CodeSessionExpired)
	if err := auto.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := auto.Session(); ok {
		t.Error("the client kept its session after signing out")
	}
	for _, tok := range []string{idle.Token, out.Token} {
		if strings.Contains(logs.String(), tok) || strings.Contains(logs.String(), tok[len(countyapi.TokenPrefix):]) {
			t.Fatalf("a session token was logged:\n%s", logs.String())
		}
	}
	if !strings.Contains(logs.String(), "admin signed in") || !strings.Contains(logs.String(), "admin signed out") {
		t.Errorf("sign-ins and sign-outs are not logged:\n%s", logs.String())
	}
	// Ended sessions are no incidents.
	if n, _ := timesOf(h.incidentList(t), protocol.CodeSessionExpired); n != 0 {
		t.Errorf("%d session_expired incidents", n)
	}
}

// lockedLog is a log sink the server's goroutines write while the test
// reads it.
type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestBasicAuthStillWorks: scripts that send the name and password with
// every call keep working, each call a password check; a client that
// talks to a server without sessions (an older one) falls back to it.
func TestBasicAuthStillWorks(t *testing.T) {
	h := newHarness(t)
	rh := h.rawHTTPFrom(t, "127.0.0.1")
	runs := h.runs()
	for i := range 3 {
		resp, body := rh.do("GET", "/admin/devices", nil, basicAuth("admin", adminPass))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("basic authentication: %s %s", resp.Status, body)
		}
		if got := h.runs() - runs; got != uint64(i+1) {
			t.Fatalf("%d argon2id runs after %d calls with basic authentication", got, i+1)
		}
	}
	resp, body := rh.do("GET", "/admin/devices", nil, basicAuth("admin", "wrong password"))
	wantHTTPCode(t, resp, body, http.StatusUnauthorized, protocol.CodeNotAuthorized)
	if resp.Header.Get("WWW-Authenticate") == "" {
		t.Error("no WWW-Authenticate on a refused credential")
	}

	// An older server: no /admin/login, basic authentication on each call.
	var sawBasic, sawLogin int
	var mu sync.Mutex
	old := http.NewServeMux()
	old.HandleFunc("/admin/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/admin/login" {
			sawLogin++
			http.NotFound(w, r)
			return
		}
		if name, pass, ok := r.BasicAuth(); !ok || name != "admin" || pass != adminPass {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		sawBasic++
		countyapi.WriteJSON(w, http.StatusOK, []countyapi.DeviceInfo{})
	})
	srv := httptest.NewTLSServer(old)
	t.Cleanup(srv.Close)
	cfg := countyapi.DefaultConfig(srv.URL, protocol.Fingerprint(srv.Certificate().Raw))
	cfg.Admin, cfg.Password = "admin", adminPass
	c := countyapi.New(cfg)
	ctx := context.Background()
	if _, err := c.Login(ctx); err != nil {
		t.Fatalf("sign-in at an older server: %v", err)
	}
	for range 2 {
		if _, err := c.Devices(ctx); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if sawLogin != 1 || sawBasic != 3 {
		t.Errorf("older server saw %d sign-ins and %d calls with basic authentication, want 1 and 3", sawLogin, sawBasic)
	}
}

// TestRecoveryWhenAllAdminsLockedOut: every admin but one is disabled,
// the recovery credential's account among them, and the last one forgot
// their password. On the stopped server the recovery credential resets
// that admin's password (and its own, enabling itself again), audited as
// recover_admin_reset by recovery:NAME; a wrong or non-recovery
// credential is refused and changes nothing; the server started again
// lets them in.
func TestRecoveryWhenAllAdminsLockedOut(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	admin := h.adminAs(t, "admin", adminPass)
	for _, n := range []string{"lisi", "wangwu"} {
		if _, err := admin.AddAdmin(ctx, n, lisiPass); err != nil {
			t.Fatal(err)
		}
	}
	lisi := h.adminAs(t, "lisi", lisiPass)
	for _, n := range []string{"wangwu", "admin"} {
		if _, err := lisi.DisableAdmin(ctx, n, "离岗"); err != nil {
			t.Fatal(err)
		}
	}
	before := h.accounts(t)
	h.stop()

	cfg := h.config()
	for _, bad := range []struct{ name, pass string }{{"", "不是恢复口令"}, {"lisi", lisiPass}, {"nobody", adminPass}} {
		err := county.RecoverResetAdmin(cfg, "lisi", bad.name, bad.pass, "李四找回的新口令2027")
		if !errors.Is(err, protocol.ErrNotAuthorized) {
			t.Fatalf("reset with %q/%q: %v", bad.name, bad.pass, err)
		}
	}
	if err := county.RecoverResetAdmin(cfg, "lisi", "", adminPass, "短"); !errors.Is(err, auth.ErrWeakPassphrase) {
		t.Fatalf("reset to a weak password: %v", err)
	}
	if err := county.RecoverResetAdmin(cfg, "nobody", "", adminPass, "李四找回的新口令2027"); err == nil {
		t.Fatal("reset of an admin that does not exist")
	}
	h.start("127.0.0.1:0")
	h.wantAccountsUnchanged(t, before) // refusals are incidents, not audit entries
	if n, _ := timesOf(h.incidentList(t), protocol.CodeNotAuthorized); n == 0 {
		t.Error("refused recovery credentials were not recorded")
	}
	h.stop()

	if err := county.RecoverResetAdmin(cfg, "lisi", "", adminPass, "李四找回的新口令2027"); err != nil {
		t.Fatal(err)
	}
	if err := county.RecoverResetAdmin(cfg, "admin", "admin", adminPass, "县信用办的新管理口令"); err != nil {
		t.Fatal(err)
	}
	h.start("127.0.0.1:0")
	for _, c := range []*countyapi.Client{h.adminAs(t, "lisi", "李四找回的新口令2027"), h.adminAs(t, "admin", "县信用办的新管理口令")} {
		if _, err := c.Devices(ctx); err != nil {
			t.Fatalf("%s after the reset: %v", c.Admin(), err)
		}
	}
	rep, err := h.srv.Audit()
	if err != nil {
		t.Fatal(err)
	}
	last := rep[len(rep)-2:]
	if last[0].Who != "recovery:admin" || last[0].Action != county.AuditRecoverAdminReset || last[0].Target != "lisi" ||
		last[1].Who != "recovery:admin" || last[1].Target != "admin" || !strings.Contains(last[1].Detail, "enabled again") {
		t.Fatalf("audit of the resets: %+v", last)
	}
	if err := h.srv.VerifyAudit(); err != nil {
		t.Fatal(err)
	}
}

// TestAdminBadInput: oversized and malformed admin names, weak and
// oversized passwords, malformed bodies and tokens are refused with
// their codes and store nothing; malformed tokens are incidents, tokens
// of the right form the server does not hold are not.
func TestAdminBadInput(t *testing.T) {
	h := newHarness(t)
	rh := h.rawHTTPFrom(t, "127.0.0.1")
	s := rawLogin(t, rh, basicAuth("admin", adminPass), nil)
	auth := bearerHeader(s.Token)
	before := h.accounts(t)
	for _, c := range []struct {
		name, method, path string
		body               string
		header             string
		status             int
		code               protocol.Code
	}{
		{"name over 64 bytes", "POST", "/admin/admins", `{"name":"` + strings.Repeat("长", 22) + `","password":"` + lisiPass + `"}`, auth, 400, protocol.CodeInvalidOperation},
		{"name of 40 KiB", "POST", "/admin/admins", `{"name":"` + strings.Repeat("a", 40<<10) + `","password":"` + lisiPass + `"}`, auth, 400, protocol.CodeMalformed},
		{"colon in name", "POST", "/admin/admins", `{"name":"li:si","password":"` + lisiPass + `"}`, auth, 400, protocol.CodeInvalidOperation},
		{"space in name", "POST", "/admin/admins", `{"name":"li si","password":"` + lisiPass + `"}`, auth, 400, protocol.CodeInvalidOperation},
		{"control character", "POST", "/admin/admins", `{"name":"li\u001bsi","password":"` + lisiPass + `"}`, auth, 400, protocol.CodeInvalidOperation},
		{"server's author name", "POST", "/admin/admins", `{"name":"county-server","password":"` + lisiPass + `"}`, auth, 400, protocol.CodeInvalidOperation},
		{"name in use", "POST", "/admin/admins", `{"name":"admin","password":"` + lisiPass + `"}`, auth, 400, protocol.CodeInvalidOperation},
		{"weak password", "POST", "/admin/admins", `{"name":"lisi","password":"1234567"}`, auth, 400, protocol.CodeInvalidOperation},
		{"one character repeated", "POST", "/admin/admins", `{"name":"lisi","password":"aaaaaaaaaaaa"}`, auth, 400, protocol.CodeInvalidOperation},
		{"password over 1 KiB", "POST", "/admin/admins", `{"name":"lisi","password":"` + strings.Repeat("口令", 200) + `"}`, auth, 400, protocol.CodeInvalidOperation},
		{"unknown field", "POST", "/admin/admins", `{"name":"lisi","password":"` + lisiPass + `","admin":true}`, auth, 400, protocol.CodeMalformed},
		{"no such admin", "POST", "/admin/admins/nobody/disable", `{"reason":"x"}`, auth, 404, protocol.CodeNotFound},
		{"oversized path name", "POST", "/admin/admins/" + strings.Repeat("a", 300) + "/enable", ``, auth, 404, protocol.CodeNotFound},
		{"reason too long", "POST", "/admin/admins/admin/disable", `{"reason":"` + strings.Repeat("理", 400) + `"}`, auth, 400, protocol.CodeInvalidOperation},
		{"token too short", "GET", "/admin/devices", ``, "Authorization: Bearer jna_abc", 401, protocol.CodeNotAuthorized},
		{"token not base64url", "GET", "/admin/devices", ``, "Authorization: Bearer jna_" + strings.Repeat("!", 43), 401, protocol.CodeNotAuthorized},
		{"token without prefix", "GET", "/admin/devices", ``, "Authorization: Bearer " + s.Token[len(countyapi.TokenPrefix):] + "AAAA", 401, protocol.CodeNotAuthorized},
		{"token with a tail", "GET", "/admin/devices", ``, "Authorization: Bearer " + s.Token + "A", 401, protocol.CodeNotAuthorized},
		{"empty token", "GET", "/admin/devices", ``, "Authorization: Bearer ", 401, protocol.CodeNotAuthorized},
		{"sign-out with a malformed token", "POST", "/admin/logout", ``, "Authorization: Bearer x", 401, protocol.CodeNotAuthorized},
		{"token the server never issued", "POST", "/admin/admins", `{"name":"lisi","password":"` + lisiPass + `"}`,
			"Authorization: Bearer " + countyapi.TokenPrefix + strings.Repeat("A", 43), 401, protocol.CodeSessionExpired},
		{"sign-in body with unknown field", "POST", "/admin/login", `{"name":"admin","password":"x","token":"y"}`, "", 400, protocol.CodeMalformed},
		{"sign-in without a name", "POST", "/admin/login", `{"password":"x"}`, "", 401, protocol.CodeNotAuthorized},
		{"sign-in with an oversized name", "POST", "/admin/login", `{"name":"` + strings.Repeat("a", 300) + `","password":"x"}`, "", 401, protocol.CodeNotAuthorized},
	} {
		var hs []string
		if c.header != "" {
			hs = append(hs, c.header)
		}
		var body []byte
		if c.body != "" {
			body = []byte(c.body)
		}
		resp, raw := rh.do(c.method, c.path, body, hs...)
		if resp.StatusCode != c.status {
			t.Fatalf("%s: %s %s, want %d %s", c.name, resp.Status, raw, c.status, c.code)
		}
		var e countyapi.ErrorBody
		if err := json.Unmarshal(raw, &e); err != nil || e.Code != c.code || e.Message == "" {
			t.Fatalf("%s: %s, want code %s", c.name, raw, c.code)
		}
		if strings.Contains(e.Message, s.Token) {
			t.Fatalf("%s: the answer quotes the token", c.name)
		}
	}
	h.wantAccountsUnchanged(t, before)
	in := h.incidentList(t)
	if _, n := timesOf(in, protocol.CodeSessionExpired); n != 0 {
		t.Errorf("a token the server does not hold was recorded as an incident")
	}
	malformed := 0
	for _, i := range in {
		if strings.Contains(i.Message, "malformed session token") {
			malformed += i.Times()
		}
		if strings.Contains(i.Message, s.Token[len(countyapi.TokenPrefix):len(countyapi.TokenPrefix)+20]) {
			t.Errorf("an incident quotes a token: %+v", i)
		}
	}
	// Six malformed tokens and two sign-ins without a known name, all
	// from one address.
	if _, n := timesOf(in, protocol.CodeNotAuthorized); n != 8 || malformed == 0 {
		t.Errorf("%d not_authorized incidents (%d naming a malformed token), want 8: %+v", n, malformed, in)
	}
	// The session is unharmed by all this.
	if resp, raw := rh.do("GET", "/admin/admins", nil, auth); resp.StatusCode != http.StatusOK {
		t.Fatalf("the session after bad input: %s %s", resp.Status, raw)
	}
}
