package vm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/engine"
)

func TestSignIn(t *testing.T) {
	s := openStore(t)
	if !NeedsSetup(s) {
		t.Fatal("a fresh store needs setup")
	}
	if _, m := mustSignIn(t, s).Do("zhangli", testPass); m == nil || m.Key != "ui.error.not_set_up" {
		t.Fatalf("sign-in before setup: %v", m)
	}
	leader, err := s.Setup(store.SetupConfig{Office: township, DeviceName: "赤土店镇-1",
		Name: "zhangli", DisplayName: "张丽", Role: domain.RoleLeader, Passphrase: testPass})
	must(t, err)
	must(t, leader.AddAccount("wangfang", "王芳", domain.RoleStaff, testPass))
	must(t, leader.AddAccount("chenjing", "陈静", domain.RoleStaff, testPass))
	if NeedsSetup(s) {
		t.Fatal("set up store needs setup")
	}
	si := mustSignIn(t, s)
	var names []string
	for _, a := range si.Accounts() {
		names = append(names, a.Name)
	}
	if strings.Join(names, ",") != "zhangli,chenjing,wangfang" { // leader first, then 陈 (chen) before 王 (wang)
		t.Errorf("accounts %v", names)
	}
	for _, tc := range []struct{ name, pass, want string }{
		{"", testPass, "ui.signin.name_required"},
		{"wangfang", "", "ui.signin.pass_required"},
		{"wangfang", "错误的口令-0000", "error.wrong_password"},
		{"nobody", testPass, "error.wrong_password"},
	} {
		se, m := si.Do(tc.name, tc.pass)
		if se != nil || m == nil || m.Key != tc.want {
			t.Errorf("Do(%q, %q): %v %v, want %s", tc.name, tc.pass, se, m, tc.want)
			continue
		}
		checkMessage(t, *m)
	}
	se, m := si.Do(" wangfang ", testPass)
	if m != nil || se == nil || se.Account().Role != domain.RoleStaff {
		t.Fatalf("sign-in: %v %v", se, m)
	}
	if CanAddAccounts(se) || !CanAddAccounts(leader) {
		t.Error("CanAddAccounts")
	}
	checkMessage(t, WhoText(se))
}

func mustSignIn(t *testing.T, s *store.Store) *SignIn {
	t.Helper()
	si, err := NewSignIn(s)
	must(t, err)
	return si
}

func TestWizardSteps(t *testing.T) {
	w := NewWizard(nil)
	if w.Step() != OfficeStep {
		t.Fatal("starts at the office")
	}
	// Townships and streets first.
	units := w.SearchOffices("栾川")
	if len(units) < 2 || units[0].Level() != office.Township {
		t.Fatalf("search 栾川: %v", units)
	}
	for i := 1; i < len(units); i++ {
		if units[i].Level() == office.Township && units[i-1].Level() != office.Township {
			t.Fatalf("a township after another level: %v", units)
		}
	}
	if u := w.SearchOffices("赤土店"); len(u) == 0 || u[0].Code != township {
		t.Fatalf("search 赤土店: %v", u)
	}
	for code, want := range map[string]string{"abc": "ui.wizard.office_invalid", "4103241": "ui.wizard.office_invalid",
		"410324": "ui.wizard.office_not_township", "410300": "ui.wizard.office_not_township"} {
		if m := w.SetOffice(code); m == nil || m.Key != want {
			t.Errorf("SetOffice(%q): %v, want %s", code, m, want)
		} else {
			checkMessage(t, *m)
		}
	}
	if w.Step() != OfficeStep {
		t.Fatal("advanced on a refused office")
	}
	if m := w.SetOffice(" ４１０３２４１０１ "); m != nil {
		t.Fatalf("SetOffice: %v", *m)
	}
	u, path := w.Office()
	if u.Code != township || u.Name != "赤土店镇" || len(path) < 3 || path[len(path)-2].Code != countyCode {
		t.Fatalf("office %v, path %v", u, path)
	}
	if w.Step() != AccountStep {
		t.Fatalf("step %v", w.Step())
	}

	for _, tc := range []struct {
		name, display, pass, pass2 string
		field, key                 string
	}{
		{"", "张丽", testPass, testPass, FieldName, "ui.wizard.name_required"},
		{"张丽", "张丽", testPass, testPass, FieldName, "ui.wizard.name_invalid"},
		{"zhangli", "张\x00丽", testPass, testPass, FieldDisplayName, "ui.wizard.display_invalid"},
		{"zhangli", "张丽", "短口令", "短口令", FieldPassphrase, "ui.wizard.pass_short"},
		{"zhangli", "张丽", "aaaaaaaaaa", "aaaaaaaaaa", FieldPassphrase, "error.weak_passphrase"},
		{"zhangli", "张丽", testPass, testPass + "x", FieldPassphrase2, "ui.wizard.pass_mismatch"},
	} {
		bad := w.SetAccount(tc.name, tc.display, tc.pass, tc.pass2)
		if m, ok := bad[tc.field]; !ok || m.Key != tc.key || len(bad) != 1 {
			t.Errorf("SetAccount(%q, %q, %q): %v, want %s: %s", tc.name, tc.display, tc.pass, bad, tc.field, tc.key)
		} else {
			checkMessage(t, m)
		}
	}
	if w.Step() != AccountStep {
		t.Fatal("advanced on a refused account")
	}
	w.Back()
	if w.Step() != OfficeStep {
		t.Fatal("Back")
	}
	w.SetOffice(string(township))
	if bad := w.SetAccount("zhangli", "张丽（镇长）", testPass, testPass); len(bad) != 0 {
		t.Fatalf("SetAccount: %v", bad)
	}
	if w.Step() != KeyStep || w.DeviceID() != "" {
		t.Fatalf("step %v", w.Step())
	}
	s := openStore(t)
	se, err := w.Finish(s)
	must(t, err)
	if w.Step() != EnrolStep || se.Account().Role != domain.RoleLeader || se.Device().Office != township ||
		!strings.HasPrefix(se.Device().Name, "赤土店镇") || w.DeviceID() != se.Device().ID.String() || w.Session() != se {
		t.Fatalf("after Finish: step %v, %+v, %+v", w.Step(), se.Account(), se.Device())
	}
	if _, err := s.SignIn("zhangli", testPass); err != nil {
		t.Fatalf("sign in with the wizard's account: %v", err)
	}
	w.Back()
	if w.Step() != EnrolStep {
		t.Fatal("went back from enrolment after the key was made")
	}
	w.Skip()
	if w.Step() != DoneStep {
		t.Fatal("Skip")
	}
	if _, err := NewWizard(nil).Finish(s); err == nil {
		t.Fatal("Finish without office and account")
	}
}

func TestParseServer(t *testing.T) {
	fp := "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"
	for _, tc := range []struct {
		url, fp string
		want    engine.Server
		bad     []string
	}{
		{"https://10.1.2.3:8443", fp, engine.Server{BaseURL: "https://10.1.2.3:8443", Fingerprint: fp}, nil},
		{"10.1.2.3:8443/", strings.ToLower(strings.ReplaceAll(fp, ":", " ")), engine.Server{BaseURL: "https://10.1.2.3:8443", Fingerprint: fp}, nil},
		{"http://127.0.0.1:8080", strings.ReplaceAll(fp, ":", ""), engine.Server{BaseURL: "http://127.0.0.1:8080", Fingerprint: fp}, nil},
		{"http://10.1.2.3:8080", fp, engine.Server{}, []string{FieldServerURL}},
		{"", fp, engine.Server{}, []string{FieldServerURL}},
		{"https://10.1.2.3/sync?x=1", fp, engine.Server{}, []string{FieldServerURL}},
		{"ftp://10.1.2.3", fp, engine.Server{}, []string{FieldServerURL}},
		{"https://10.1.2.3", fp[:20], engine.Server{}, []string{FieldFingerprint}},
		{"https://10.1.2.3", strings.Replace(fp, "AB", "XY", 1), engine.Server{}, []string{FieldFingerprint}},
	} {
		srv, bad := ParseServer(tc.url, tc.fp)
		if srv != tc.want || len(bad) != len(tc.bad) {
			t.Errorf("ParseServer(%q, %q) = %+v, %v", tc.url, tc.fp, srv, bad)
		}
		for _, f := range tc.bad {
			if m, ok := bad[f]; !ok {
				t.Errorf("ParseServer(%q): no message for %s", tc.url, f)
			} else {
				checkMessage(t, m)
			}
		}
	}
}

func TestWizardEnrol(t *testing.T) {
	c := startTestCounty(t)
	srv, base := c.srv, c.base
	w := NewWizard(nil)
	w.SetOffice(string(township))
	w.SetAccount("zhangli", "张丽", testPass, testPass)
	s := openStore(t)
	se, err := w.Finish(s)
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// A wrong fingerprint: the server is not the one the admin named.
	wrong := base
	wrong.Fingerprint = strings.Repeat("00:", 31) + "00"
	if _, _, err := w.Enrol(ctx, wrong); ErrorMessage(err).Key != "error.wrong_server" {
		t.Fatalf("wrong fingerprint: %v → %v", err, ErrorMessage(err))
	}
	// No server at that address.
	gone := engine.Server{BaseURL: "https://127.0.0.1:1", Fingerprint: base.Fingerprint}
	if _, _, err := w.Enrol(ctx, gone); ErrorMessage(err).Key != "ui.error.network" {
		t.Fatalf("no server: %v → %v", err, ErrorMessage(err))
	}

	m, ok, err := w.Enrol(ctx, base)
	if err != nil || ok || m.Key != "ui.enrol.pending" {
		t.Fatalf("request: %v %v %v", m, ok, err)
	}
	checkMessage(t, m)
	if set, saved, _ := s.SyncSettings(); !saved || set.Enrolled || set.BaseURL != base.BaseURL {
		t.Fatalf("settings while pending: %+v", set)
	}
	// Polling while pending.
	if m, ok, err := w.Enrol(ctx, base); err != nil || ok || m.Key != "ui.enrol.pending" {
		t.Fatalf("poll: %v %v %v", m, ok, err)
	}
	if _, err := srv.Approve(se.Device().ID, countyapi.ApproveRequest{}, "admin"); err != nil {
		t.Fatal(err)
	}
	m, ok, err = w.Enrol(ctx, base)
	if err != nil || !ok || m.Key != "ui.enrol.approved" || w.Step() != DoneStep {
		t.Fatalf("after approval: %v %v %v, step %v", m, ok, err, w.Step())
	}
	set, saved, err := s.SyncSettings()
	must(t, err)
	if !saved || !set.Enrolled || set.County != countyCode || len(set.CountyKey) == 0 || set.Fingerprint != base.Fingerprint {
		t.Fatalf("settings after approval: %+v", set)
	}
	if st, _ := InitialStatus(s); st.Code != "" {
		t.Fatalf("enrolled device still says %s", st.Code)
	}

	// A device that skipped enrolment enrols later, polling first.
	s2 := openStore(t)
	se2, err := s2.Setup(store.SetupConfig{Office: "410324100", DeviceName: "另一镇", Name: "li", Role: domain.RoleLeader, Passphrase: testPass})
	must(t, err)
	if m, ok, err := EnrolNow(ctx, se2, base, false); err != nil || ok || m.Key != "ui.enrol.pending" {
		t.Fatalf("EnrolNow without a request: %v %v %v", m, ok, err)
	}
	if _, _, err := new(Wizard).Enrol(ctx, base); err == nil || errors.Is(err, context.Canceled) {
		t.Fatalf("Enrol before Finish: %v", err)
	}
}

// TestWizardOffersTownshipsBeforeTyping: the office step lists every
// township and street before anything is typed, so a clerk can scroll to
// theirs.
func TestWizardOffersTownshipsBeforeTyping(t *testing.T) {
	w := NewWizard(office.Luoyang())
	all := w.SearchOffices("")
	if len(all) < 100 {
		t.Fatalf("only %d offices offered before typing", len(all))
	}
	for _, u := range all {
		if u.Level() != office.Township {
			t.Fatalf("%s offered: not a township or street", u)
		}
	}
}
