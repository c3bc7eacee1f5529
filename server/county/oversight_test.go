package county_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/report"
	"jiannuo/server/county"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// The oversight tests run the real server on 127.0.0.1 like harness_test.go,
// with an injected clock so that "30 days later" needs no waiting. The
// helpers are copies of the harness's, with the clock added.

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type ovHarness struct {
	t      *testing.T
	dir    string
	clock  *testClock
	srv    *county.Server
	cancel context.CancelFunc
	served chan error
	base   engine.Server
	client *http.Client
}

func newOvHarness(t *testing.T) *ovHarness {
	t.Helper()
	dir := t.TempDir()
	if _, err := county.Init(dir, county.InitConfig{County: countyCode, AdminName: "admin", AdminPassword: adminPass, KDF: auth.TestParams(), Logger: quiet()}); err != nil {
		t.Fatal(err)
	}
	h := &ovHarness{t: t, dir: dir, clock: &testClock{t: time.Date(2026, 11, 2, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))}}
	h.start()
	t.Cleanup(h.stop)
	return h
}

func (h *ovHarness) start() {
	h.t.Helper()
	cfg := county.DefaultConfig(h.dir)
	cfg.KDF, cfg.Logger, cfg.Now = auth.TestParams(), quiet(), h.clock.Now
	srv, err := county.New(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.srv, h.cancel, h.served = srv, cancel, make(chan error, 1)
	go func() { h.served <- srv.Serve(ctx, ln) }()
	h.base = engine.Server{BaseURL: "https://" + ln.Addr().String(), Fingerprint: srv.Identity().Fingerprint}
	h.client = &http.Client{Transport: &http.Transport{TLSClientConfig: protocol.PinnedTLSConfig(srv.Identity().Fingerprint)}, Timeout: 30 * time.Second}
}

// stop stops the server and closes its file: whatever its session handlers
// still do afterwards cannot reach the file.
func (h *ovHarness) stop() {
	if h.srv == nil {
		return
	}
	h.cancel()
	<-h.served
	if err := h.srv.Store().Check(); err != nil {
		h.t.Errorf("county replica invariants: %v", err)
	}
	h.client.CloseIdleConnections()
	h.srv.Close()
	h.srv = nil
}

func (h *ovHarness) get(path string, v any) {
	h.t.Helper()
	req, _ := http.NewRequest("GET", h.base.BaseURL+path, nil)
	req.SetBasicAuth("admin", adminPass)
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		h.t.Fatal(err)
	}
}

type ovDevice struct {
	t   *testing.T
	st  *store.Store
	se  *store.Session
	eng *engine.Engine
}

func (h *ovHarness) device(o office.Code, role domain.Role) *ovDevice {
	t := h.t
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "device.db"), &store.Options{KDF: auth.TestParams(), Logger: quiet(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Check(); err != nil {
			t.Errorf("device replica invariants: %v", err)
		}
		st.Close()
	})
	admin := role == domain.RoleCountyAdmin
	se, err := st.Setup(store.SetupConfig{Office: o, Admin: admin, DeviceName: "终端-" + string(o), Name: "user",
		DisplayName: "工作人员", Role: role, Passphrase: devPass})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := engine.RequestEnrolment(ctx, h.base, se); err != nil {
		t.Fatal(err)
	}
	if _, err := h.srv.Approve(se.Device().ID, countyapi.ApproveRequest{Admin: admin}, "admin"); err != nil {
		t.Fatal(err)
	}
	en, err := engine.EnrolmentStatus(ctx, h.base, se)
	if err != nil || en.Status != "approved" {
		t.Fatalf("enrolment: %+v, %v", en, err)
	}
	d := &ovDevice{t: t, st: st, se: se}
	d.eng = engine.New(se, engine.Config{URL: h.base.SyncURL(), Fingerprint: h.base.Fingerprint, CountyKey: ed25519.PublicKey(en.CountyKey),
		Logger: quiet(), MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	return d
}

func (d *ovDevice) sync() {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := d.eng.SyncOnce(ctx); err != nil {
		d.t.Fatalf("sync: %v", err)
	}
}

func rowOf(t *testing.T, ov *report.Overview, o office.Code) report.OverviewRow {
	t.Helper()
	for _, r := range ov.Rows {
		if r.Office == o {
			return r
		}
	}
	t.Fatalf("no overview row for %s in %+v", o, ov.Rows)
	return report.OverviewRow{}
}

func warned(r report.OverviewRow, kind string) bool {
	for _, w := range r.Warnings {
		if w.Kind == kind {
			return true
		}
	}
	return false
}

// A dishonesty record made by the county admin travels to the township's
// devices like any change set, and the overview warns when a township's
// overdue share rises or its devices stop syncing.
func TestDishonestyAndOverview(t *testing.T) {
	h := newOvHarness(t)
	town := h.device(townA, domain.RoleLeader)
	adm := h.device(countyCode, domain.RoleCountyAdmin)

	ref, err := town.se.Create(store.Draft{Category: domain.CatElderlyCare, Title: "独居老人每月走访", Text: "每月上门走访一次",
		Responsible: "王建国", StartDate: calendar.NewDate(2026, 11, 2), Deadline: domain.WorkdaysDeadline(10), Public: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := town.se.Publish(ref); err != nil {
		t.Fatal(err)
	}
	town.sync()
	adm.sync()

	var ov report.Overview
	h.get("/admin/overview", &ov)
	r := rowOf(t, &ov, townA)
	if r.Tally.Open != 1 || r.Tally.Overdue != 0 || r.OverdueShare == nil || *r.OverdueShare != 0 || len(r.Devices) != 1 ||
		r.LastSync.IsZero() || len(r.Warnings) != 0 || ov.Today != calendar.NewDate(2026, 11, 2) || ov.StaleDays != 7 {
		t.Fatalf("overview on day one: %+v", ov)
	}

	// The admin confirms the breach and records the dishonesty record.
	rec, err := adm.se.RecordDishonesty(ref, store.DishonestyInput{Type: domain.DishonestyBreach, Reason: "未按承诺走访",
		Deadline: calendar.NewDate(2026, 12, 31), Explanation: "人手不足"})
	if err != nil {
		t.Fatal(err)
	}
	adm.sync()
	town.sync()
	got, err := town.st.DishonestyRecords(store.DishonestyFilter{})
	if err != nil || len(got) != 1 || got[0].ID != rec || got[0].Official != "王建国" || got[0].Commitment != ref {
		t.Fatalf("record on the township device: %+v, %v", got, err)
	}
	var list []store.DishonestyRecord
	h.get("/admin/dishonesty?open=1", &list)
	if len(list) != 1 || list[0].ID != rec || len(list[0].History) != 1 {
		t.Fatalf("GET /admin/dishonesty: %+v", list)
	}
	h.get("/admin/dishonesty?office="+string(townB), &list)
	if len(list) != 0 {
		t.Fatalf("records of another township: %+v", list)
	}

	// Forty days later, with no sync since: the commitment is overdue and
	// both devices are stale. Stop the server first so that no session
	// still closing can record a later "last seen".
	h.stop()
	h.clock.advance(40 * 24 * time.Hour)
	h.start()
	h.get("/admin/overview", &ov)
	r = rowOf(t, &ov, townA)
	if r.Tally.Overdue != 1 || r.OverdueShare == nil || *r.OverdueShare != 1 || r.OverdueShareBefore == nil || *r.OverdueShareBefore != 0 ||
		r.BeforeDate != "2026-11-02" {
		t.Fatalf("overview 40 days later: %+v", r)
	}
	if !warned(r, report.WarnOverdueRising) || !warned(r, report.WarnNotSynced) {
		t.Fatalf("warnings: %+v", r.Warnings)
	}
	if c := rowOf(t, &ov, countyCode); !warned(c, report.WarnNotSynced) {
		t.Fatalf("admin device not flagged: %+v", c)
	}
	if ov.Warnings < 3 {
		t.Fatalf("warning count %d", ov.Warnings)
	}

	// The server counts as report.ByOffice does.
	cs, err := h.srv.Store().AllCommitments()
	if err != nil {
		t.Fatal(err)
	}
	for o, st := range report.ByOffice(cs, ov.Today, calendar.Default()) {
		r := rowOf(t, &ov, o)
		st.All.Unknown = 0
		if !reflect.DeepEqual(r.Tally, st.All) {
			t.Errorf("%s: server %+v, report %+v", o, r.Tally, st.All)
		}
	}
}

// A township device that forges a dishonesty record (or a step closing
// one) over a real session is refused with not_authorized, the county
// replica does not change, and the refusal is an incident.
func TestForgedDishonestyRefused(t *testing.T) {
	h := newHarness(t)
	d := h.rawEnrolled(t, townA)
	rc, _ := h.connectRaw(t, d)
	create := rawCreateOp(t, townA)
	cs := d.next(create)
	rc.push(cs)
	rc.wantReceipt(h, cs)
	d.accepted(cs)

	rec := protocol.NewEntityID()
	forgeries := []protocol.Op{
		{Kind: protocol.OpDishonesty, Office: townA, Target: create.Target, Reason: "伪造的失信记录",
			Dishonesty: &protocol.Dishonesty{Record: rec, Type: domain.DishonestyBreach, Official: "王建国"}},
		{Kind: protocol.OpDishonestyStep, Office: townA, Target: create.Target, Reason: "伪造的信用修复",
			Dishonesty: &protocol.Dishonesty{Record: rec, Step: domain.StepRepaired, Evidence: []protocol.Hash{protocol.HashOf([]byte("x"))}}},
	}
	for _, op := range forgeries {
		for _, role := range []domain.Role{domain.RoleLeader, domain.RoleCountyAdmin} {
			before := h.replicaSnapshot(t)
			forged := d.build(d.seq+1, d.head, d.lastOp+1, func(cs *protocol.ChangeSet) { cs.AuthorRole = role }, op)
			rc.push(forged)
			rc.wantRefused(protocol.CodeNotAuthorized)
			h.wantUnchanged(t, before)
		}
	}
	h.wantIncidentFor(t, d.id, protocol.CodeNotAuthorized)
	if recs, err := h.srv.Dishonesty(store.DishonestyFilter{}); err != nil || len(recs) != 0 {
		t.Fatalf("forged records stored: %+v, %v", recs, err)
	}
}
