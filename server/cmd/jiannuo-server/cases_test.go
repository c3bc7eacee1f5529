package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// cmdDevice is a real device (its own bbolt file, the sync engine),
// enrolled through the approve command.
type cmdDevice struct {
	t   *testing.T
	st  *store.Store
	se  *store.Session
	eng *engine.Engine
}

func (h *harness) device(base engine.Server, o office.Code, role domain.Role, admin func(...string) []string) *cmdDevice {
	t := h.t
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(filepath.Join(t.TempDir(), "device.db"), &store.Options{KDF: auth.TestParams(), NoSync: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	isAdmin := role == domain.RoleCountyAdmin
	se, err := st.Setup(store.SetupConfig{Office: o, Admin: isAdmin, DeviceName: "终端-" + string(role), Name: "user",
		DisplayName: "工作人员", Role: role, Passphrase: "镇工作人员口令2026"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := engine.RequestEnrolment(ctx, base, se); err != nil {
		t.Fatal(err)
	}
	args := []string{"approve", se.Device().ID.String()}
	if isAdmin {
		args = append(args, "-admin-device")
	}
	h.must(0, admin(args...)...)
	en, err := engine.EnrolmentStatus(ctx, base, se)
	if err != nil || en.Status != "approved" {
		t.Fatalf("enrolment %+v %v", en, err)
	}
	// What the app saves at enrolment: an admin device seals a filer's
	// contact to the county key.
	if err := st.SetSyncSettings(store.SyncSettings{BaseURL: base.BaseURL, Fingerprint: base.Fingerprint, County: en.County,
		CountyKey: en.CountyKey, Enrolled: true}); err != nil {
		t.Fatal(err)
	}
	eng := engine.New(se, engine.Config{URL: base.SyncURL(), Fingerprint: base.Fingerprint, CountyKey: en.CountyKey, Logger: quiet})
	return &cmdDevice{t: t, st: st, se: se, eng: eng}
}

// adminArgs returns a function that adds to an admin command's arguments
// the county's directory, the running server's address and the admin's
// name.
func (h *harness) adminArgs(base engine.Server) func(...string) []string {
	return func(args ...string) []string {
		return append(args, "-dir", h.dir, "-url", base.BaseURL, "-admin", "zhangwei")
	}
}

// publish creates and publishes a commitment of the device's office and
// returns it (not yet synced).
func (d *cmdDevice) publish() store.Ref {
	d.t.Helper()
	ref, err := d.se.Create(store.Draft{Category: domain.CatConvenience, Title: "窗口午间值守", Text: "工作日中午安排值守",
		Responsible: "王建国", StartDate: calendar.NewDate(2026, 11, 2), Deadline: domain.WorkdaysDeadline(10), Public: true})
	if err != nil {
		d.t.Fatal(err)
	}
	if err := d.se.Publish(ref); err != nil {
		d.t.Fatal(err)
	}
	return ref
}

func (d *cmdDevice) sync() {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := d.eng.SyncOnce(ctx); err != nil {
		d.t.Fatal(err)
	}
}

// TestCaseCommands: the county admin lists cases, sets their deadlines,
// sees the overdue ones in the list and the overview, reads a case with
// and without the filer's contact (the reading on record), and closes it;
// the township's device receives the decisions; refused decisions and
// wrong command lines say so.
func TestCaseCommands(t *testing.T) {
	h := newHarness(t)
	id := h.init()
	h.must(2, "serve", "-dir", h.dir, "-addr", "127.0.0.1:0", "-case-ack-days", "0")
	h.must(2, "serve", "-dir", h.dir, "-addr", "127.0.0.1:0", "-case-ack-days", "20", "-case-answer-days", "10")
	addr := h.serve("-case-ack-days", "2", "-case-answer-days", "10", "-objection-days", "20")
	base := engine.Server{BaseURL: "https://" + addr, Fingerprint: id.Fingerprint}
	admin := h.adminArgs(base)
	town := h.device(base, "410324101", domain.RoleLeader, admin)
	adm := h.device(base, "410324", domain.RoleCountyAdmin, admin)
	ref := town.publish()
	town.sync()
	adm.sync()
	contact := protocol.Contact{Name: "赵德胜", Phone: "0379-66012345"}
	caseID, err := adm.se.OpenCase(store.CaseInput{Kind: domain.CaseComplaint, Commitment: ref, Text: "来电反映中午窗口无人", Contact: contact})
	if err != nil {
		t.Fatal(err)
	}
	adm.sync()
	c, err := adm.st.Case(ref.Office, caseID)
	if err != nil {
		t.Fatal(err)
	}

	r := h.must(0, admin("cases")...)
	for _, want := range []string{c.Number, "410324101", "投诉举报 complaint", "待受理 open", "1 cases, 0 overdue"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("cases lacks %q:\n%s", want, r.stdout)
		}
	}
	if r := h.must(0, admin("cases", "-overdue")...); !strings.Contains(r.stdout, "no cases") {
		t.Errorf("cases -overdue with no deadline:\n%s", r.stdout)
	}
	h.must(2, admin("case", "assign", c.Number)...)
	h.must(0, admin("case", "assign", c.Number, "-ack-due", "2026-01-05", "-answer-due", "2026-01-20")...)
	r = h.must(0, admin("cases", "-overdue")...)
	if !strings.Contains(r.stdout, c.Number) || !strings.Contains(r.stdout, "逾期") {
		t.Errorf("cases -overdue:\n%s", r.stdout)
	}
	if r := h.must(0, admin("overview")...); !strings.Contains(r.stdout, "case_overdue") || !strings.Contains(r.stdout, "1 (1)") {
		t.Errorf("overview without the case warning:\n%s", r.stdout)
	}

	r = h.must(0, admin("case", "show", c.Number)...)
	if !strings.Contains(r.stdout, "来电反映中午窗口无人") || !strings.Contains(r.stdout, "assigned") || strings.Contains(r.stdout, contact.Phone) {
		t.Errorf("case show:\n%s", r.stdout)
	}
	r = h.must(0, admin("case", "show", c.Number, "-contact")...)
	if !strings.Contains(r.stdout, contact.Name) || !strings.Contains(r.stdout, contact.Phone) {
		t.Errorf("case show -contact:\n%s", r.stdout)
	}
	r = h.must(0, admin("audit")...)
	for _, want := range []string{"case_assigned", "contact_viewed", c.Number, "zhangwei"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("audit lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, contact.Phone) {
		t.Errorf("the audit trail shows the phone:\n%s", r.stdout)
	}

	r = h.must(1, admin("case", "accept", c.Number, "-finding", "upheld")...)
	if !strings.Contains(r.stderr, "invalid_operation") {
		t.Errorf("accept without a reply: %s", r.stderr)
	}
	h.must(2, admin("case", "withdraw", c.Number)...)
	h.must(2, admin("case", "frob", c.Number)...)
	h.must(1, admin("case", "show", "TS20260101-00000000")...)
	r = h.must(0, admin("case", "withdraw", c.Number, "-reason", "来电人撤回")...)
	if !strings.Contains(r.stdout, "withdrawn") || !strings.Contains(r.stdout, "已办结 closed") {
		t.Errorf("withdraw:\n%s", r.stdout)
	}
	town.sync()
	if got, err := town.st.Case(ref.Office, caseID); err != nil || !got.Closed || got.ClosedBy != domain.CaseWithdrawn || got.CloseText != "来电人撤回" {
		t.Fatalf("on the township's device: %+v %v", got, err)
	}
	if r := h.must(0, admin("cases", "-open")...); !strings.Contains(r.stdout, "no cases") {
		t.Errorf("cases -open after closing:\n%s", r.stdout)
	}
}
