package vm

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/server/county"
	"jiannuo/server/county/countytest"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

const (
	testAdmin     = "xinyongban"
	testAdminPass = "县信用办-管理口令-2026"
)

// testCounty is a real county server on loopback for the admin tests.
type testCounty struct {
	srv  *county.Server
	base engine.Server
}

func startTestCounty(t *testing.T) *testCounty {
	t.Helper()
	c := countytest.Start(t, countytest.Config{County: countyCode, Admin: testAdmin, Password: testAdminPass})
	return &testCounty{srv: c.Server, base: c.Base}
}

func (c *testCounty) client(pass string) *countyapi.Client {
	return NewAdminClient(store.SyncSettings{BaseURL: c.base.BaseURL, Fingerprint: c.base.Fingerprint, County: countyCode}, testAdmin, pass)
}

func (c *testCounty) request(t *testing.T, se *store.Session) {
	t.Helper()
	if _, err := engine.RequestEnrolment(context.Background(), c.base, se); err != nil {
		t.Fatal(err)
	}
}

// enrolNow enrols se as the app's enrolment dialog does (EnrolNow asks,
// the admin approves, EnrolNow fetches the certificate) and returns a
// function that syncs a session of the county once.
func (c *testCounty) enrolNow(ctx context.Context, t *testing.T, se *store.Session) func(*store.Session) error {
	t.Helper()
	_, _, err := EnrolNow(ctx, se, c.base, true)
	must(t, err)
	_, err = c.srv.Approve(se.Device().ID, countyapi.ApproveRequest{}, "admin")
	must(t, err)
	if _, ok, err := EnrolNow(ctx, se, c.base, false); err != nil || !ok {
		t.Fatalf("enrolment: %v %v", ok, err)
	}
	return func(se *store.Session) error {
		set, _, _ := se.Store().SyncSettings()
		return engine.New(se, engine.Config{URL: c.base.SyncURL(), Fingerprint: c.base.Fingerprint, CountyKey: set.CountyKey, Logger: quiet()}).SyncOnce(ctx)
	}
}

func wantKey(t *testing.T, err error, key string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", key)
	}
	m := ErrorMessage(err)
	if m.Key != key {
		t.Fatalf("error %v shows as %s, want %s", err, m.Key, key)
	}
	checkMessage(t, m)
}

// TestAdminPendingApproveReject: a device's request shows in the pending
// list with its office, name, staff and check-charactered ID; approving
// enrols it; rejecting needs a reason.
func TestAdminPendingApproveReject(t *testing.T) {
	c := startTestCounty(t)
	ctx := context.Background()
	a, b := newTownship(t), newTownship(t)
	c.request(t, a.leader)
	c.request(t, b.leader)

	p := NewPendingDevices(c.client(testAdminPass))
	must(t, p.Load(ctx))
	if len(p.Rows) != 2 {
		t.Fatalf("pending rows %+v", p.Rows)
	}
	var row PendingRow
	for _, r := range p.Rows {
		if r.Device == a.leader.Device().ID {
			row = r
		}
	}
	if row.DeviceID != a.leader.Device().ID.String() || len(row.DeviceID) != 31 || row.OfficeName != "赤土店镇" ||
		row.DeviceName != "赤土店镇-1" || row.Staff == "" || row.Requested.IsZero() || row.When == "" || row.CountyLevel {
		t.Fatalf("pending row %+v", row)
	}
	if _, err := protocol.ParseDeviceID(row.DeviceID); err != nil {
		t.Fatalf("printed ID does not parse back: %v", err)
	}

	must(t, p.Approve(ctx, a.leader.Device().ID, "", false))
	if len(p.Rows) != 1 || p.Rows[0].Device != b.leader.Device().ID {
		t.Fatalf("after approval: %+v", p.Rows)
	}
	en, err := engine.EnrolmentStatus(ctx, c.base, a.leader)
	must(t, err)
	if en.Status != "approved" || en.Certificate == nil || en.Certificate.Office != township {
		t.Fatalf("approved device sees %+v", en)
	}

	wantKey(t, p.Reject(ctx, b.leader.Device().ID, "  "), "error.reason_required")
	if en, _ := engine.EnrolmentStatus(ctx, c.base, b.leader); en.Status != "pending" {
		t.Fatalf("rejected without a reason: %s", en.Status)
	}
	must(t, p.Reject(ctx, b.leader.Device().ID, "该终端未经单位登记，请先办理登记"))
	if len(p.Rows) != 0 {
		t.Fatalf("after rejection: %+v", p.Rows)
	}
	en, err = engine.EnrolmentStatus(ctx, c.base, b.leader)
	must(t, err)
	if en.Status != "rejected" || en.Reason != "该终端未经单位登记，请先办理登记" {
		t.Fatalf("rejected device sees %+v", en)
	}

	// Approving what is no longer pending: not found.
	wantKey(t, p.Approve(ctx, b.leader.Device().ID, "", false), "error.not_found")
	// Out of the county: refused with its code.
	c.request(t, b.leader) // a rejected device may ask again
	must(t, p.Load(ctx))
	wantKey(t, p.Approve(ctx, b.leader.Device().ID, "410305001", false), "error.out_of_scope")
}

// TestAdminDevicesRevoke: the devices list shows an enrolled device;
// revoking needs a reason and then shows it.
func TestAdminDevicesRevoke(t *testing.T) {
	c := startTestCounty(t)
	ctx := context.Background()
	a := newTownship(t)
	c.request(t, a.leader)
	cl := c.client(testAdminPass)
	_, err := cl.Approve(ctx, a.leader.Device().ID, countyapi.ApproveRequest{})
	must(t, err)

	d := NewDevices(cl)
	must(t, d.Load(ctx))
	find := func() DeviceRow {
		for _, r := range d.Rows {
			if r.Device == a.leader.Device().ID {
				return r
			}
		}
		t.Fatalf("device not listed: %+v", d.Rows)
		return DeviceRow{}
	}
	r := find()
	if r.Revoked || r.Online || r.OfficeName != "赤土店镇" || r.Name != "赤土店镇-1" || r.State.Key != "adminui.devices.offline" {
		t.Fatalf("device row %+v", r)
	}
	wantKey(t, d.Revoke(ctx, r.Device, ""), "error.reason_required")
	if find().Revoked {
		t.Fatal("revoked without a reason")
	}
	must(t, d.Revoke(ctx, r.Device, "终端遗失"))
	r = find()
	if !r.Revoked || r.Reason != "终端遗失" || r.State.Key != "adminui.devices.revoked" {
		t.Fatalf("revoked row %+v", r)
	}
	checkMessage(t, r.State)
	if en, _ := engine.EnrolmentStatus(ctx, c.base, a.leader); en.Status != "revoked" || en.Reason != "终端遗失" {
		t.Fatalf("revoked device sees %+v", en)
	}
}

// TestAdminWrongPassword: a wrong admin password is refused with the
// not_authorized message, and the refusal is an incident.
func TestAdminWrongPassword(t *testing.T) {
	c := startTestCounty(t)
	ctx := context.Background()
	bad := c.client("不是这个口令-2026")
	err := NewPendingDevices(bad).Load(ctx)
	wantKey(t, err, "error.not_authorized")
	if !countyapi.IsCredentialError(err) {
		t.Fatalf("%v is not a credential error", err)
	}
	var ae *countyapi.APIError
	if !errors.As(err, &ae) || ae.Code != protocol.CodeNotAuthorized || !errors.Is(err, protocol.ErrNotAuthorized) {
		t.Fatalf("error %#v", err)
	}
	wantKey(t, NewDevices(bad).Revoke(ctx, protocol.DeviceID{1}, "理由"), "error.not_authorized")

	in := NewIncidents(c.client(testAdminPass))
	must(t, in.Load(ctx))
	// Both refusals are counted: the server keeps repeats of one kind
	// from one address as one incident with a count.
	times := 0
	for _, r := range in.Rows {
		times += r.Count
	}
	if times < 2 {
		t.Fatalf("incidents %+v", in.Rows)
	}
	for i, r := range in.Rows {
		if r.Code != protocol.CodeNotAuthorized || r.Text.Key != "error.not_authorized" || r.When == "" {
			t.Fatalf("incident %+v", r)
		}
		if i > 0 && r.Time.After(in.Rows[i-1].Time) {
			t.Fatal("incidents not newest first")
		}
	}

	// A server with another certificate: the pin refuses it.
	other := NewAdminClient(store.SyncSettings{BaseURL: c.base.BaseURL, Fingerprint: strings.Repeat("0", 64)}, testAdmin, testAdminPass)
	wantKey(t, NewIncidents(other).Load(ctx), "error.wrong_server")
}

func TestIncidentRowsNewestFirst(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, cst)
	rows := IncidentRows([]countyapi.Incident{
		{Time: t0, Code: protocol.CodeFork, Device: protocol.DeviceID{1}},
		{Time: t0.Add(time.Hour), Code: protocol.CodeBadSignature},
		{Time: t0.Add(-time.Hour), Code: "something_new"},
	})
	if rows[0].Code != protocol.CodeBadSignature || rows[1].Code != protocol.CodeFork || rows[2].Text.Key != "error.unknown" {
		t.Fatalf("rows %+v", rows)
	}
	if rows[1].Short == "" || rows[0].Short != "" || rows[1].Text.Key != "error.fork" {
		t.Fatalf("rows %+v", rows)
	}
}

// adminReplica is a county-admin device of the test county.
func newAdminReplica(t testing.TB) *store.Session {
	t.Helper()
	return newAdminReplicaClocked(t, nil)
}

// newAdminReplicaClocked is newAdminReplica with the store's clock now
// (nil: the wall clock).
func newAdminReplicaClocked(t testing.TB, now func() time.Time) *store.Session {
	t.Helper()
	s, err := store.Open(filepath.Join(t.TempDir(), "admin.db"), &store.Options{Now: now, KDF: auth.TestParams(), Logger: quiet(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Check(); err != nil {
			t.Errorf("admin store invariants: %v", err)
		}
		s.Close()
	})
	se, err := s.Setup(store.SetupConfig{Office: countyCode, Admin: true, DeviceName: "县信用办-1",
		Name: testAdmin, DisplayName: "李明", Role: domain.RoleCountyAdmin, Passphrase: testPass})
	if err != nil {
		t.Fatal(err)
	}
	return se
}

func introduceAll(t testing.TB, ses ...*store.Session) {
	t.Helper()
	for _, a := range ses {
		for _, b := range ses {
			if a != b {
				must(t, a.Store().PutDevice(b.Device()))
			}
		}
	}
}

// exchangeAll seals every session's pending work and delivers every change
// set to every other replica, as sync through the county would.
func exchangeAll(t testing.TB, ses ...*store.Session) {
	t.Helper()
	for _, from := range ses {
		if _, err := from.Seal(0); err != nil {
			t.Fatal(err)
		}
		sets, err := from.Store().ChangeSets(from.Device().ID, 0, 0)
		must(t, err)
		for _, to := range ses {
			if to == from || len(sets) == 0 {
				continue
			}
			res, err := to.Store().Apply(sets...)
			must(t, err)
			for _, r := range res {
				if !r.Applied() {
					t.Fatalf("change set %s/%d refused: %v", r.Device.Short(), r.Seq, r.Err)
				}
			}
		}
	}
}

// TestConflictQueueResolve: two township devices edit one title offline;
// the admin replica queues the conflict with both values; resolving needs a
// reason, clears the queue, syncs, and reaches both devices.
func TestConflictQueueResolve(t *testing.T) {
	a, b := newTownship(t), newTownship(t)
	admin := newAdminReplica(t)
	introduceAll(t, a.leader, b.leader, admin)
	ref := a.create(t, spec{title: "低保申请受理", start: date(2026, 11, 2), deadline: domain.WorkdaysDeadline(5)})
	exchangeAll(t, a.leader, b.leader, admin)

	must(t, a.leader.Edit(ref, domain.FieldTitle, "低保申请五日内受理"))
	must(t, b.leader.Edit(ref, domain.FieldTitle, "低保申请当日受理"))
	exchangeAll(t, a.leader, b.leader, admin)

	synced := 0
	q := NewConflictQueue(admin, func() { synced++ })
	must(t, q.Load())
	if q.Len() != 1 {
		t.Fatalf("queue %+v", q.Items)
	}
	it := q.Items[0]
	if it.Ref != ref || it.Field != domain.FieldTitle || it.OfficeName != "赤土店镇" || len(it.Values) != 2 || it.Title != it.Provisional {
		t.Fatalf("item %+v", it)
	}
	checkMessage(t, it.FieldLabel)
	checkMessage(t, it.ProvDisplay)
	vals := map[string]ConflictValue{}
	for _, v := range it.Values {
		vals[v.Value] = v
		checkMessage(t, v.Display)
		if v.Author == "" || v.Short == "" || v.When == "" {
			t.Fatalf("value %+v", v)
		}
		// The person, from the township's account directory.
		if v.Author != "张丽（zhangli）" {
			t.Fatalf("the author of %q: %q", v.Value, v.Author)
		}
	}
	if vals["低保申请五日内受理"].Device != a.leader.Device().ID || vals["低保申请当日受理"].Device != b.leader.Device().ID {
		t.Fatalf("values %+v", it.Values)
	}
	if !it.Values[0].Provisional || it.Values[0].Value != it.Provisional {
		t.Fatalf("provisional value not first: %+v", it.Values)
	}

	wantKey(t, q.Resolve(ref, domain.FieldTitle, "低保申请当日受理", " "), "error.reason_required")
	if q.Len() != 1 || synced != 0 {
		t.Fatal("resolved without a reason")
	}
	must(t, q.Resolve(ref, domain.FieldTitle, "低保申请当日受理，材料不全的五日内补正", "两版合并：当日受理并允许补正"))
	if q.Len() != 0 || synced != 1 {
		t.Fatalf("after resolve: %d items, %d syncs", q.Len(), synced)
	}
	exchangeAll(t, a.leader, b.leader, admin)
	for _, se := range []*store.Session{a.leader, b.leader, admin} {
		c, err := se.Store().Commitment(ref)
		must(t, err)
		if c.Title != "低保申请当日受理，材料不全的五日内补正" || c.IsConflicted() {
			t.Fatalf("replica %s: %q conflicted %v", se.Device().ID.Short(), c.Title, c.Conflicted)
		}
	}

	// A township session cannot resolve.
	must(t, a.leader.Edit(ref, domain.FieldText, "甲"))
	must(t, b.leader.Edit(ref, domain.FieldText, "乙"))
	exchangeAll(t, a.leader, b.leader, admin)
	tq := NewConflictQueue(a.leader, nil)
	must(t, tq.Load())
	if tq.Len() != 1 {
		t.Fatalf("township queue %d", tq.Len())
	}
	wantKey(t, tq.Resolve(ref, domain.FieldText, "甲", "理由"), "error.not_authorized")
}

// TestOverview: by township, with the overdue-share and silence warnings.
func TestOverview(t *testing.T) {
	d := newTownship(t)
	d.create(t, spec{title: "逾期一", start: date(2026, 10, 8), deadline: domain.DateDeadline(date(2026, 11, 1)), status: domain.StatusPublished})
	d.create(t, spec{title: "进行中", start: date(2026, 10, 8), deadline: domain.DateDeadline(date(2026, 12, 31)), status: domain.StatusInProgress})
	d.create(t, spec{title: "按期完成", start: date(2026, 10, 8), deadline: domain.DateDeadline(date(2026, 12, 31)), status: domain.StatusFulfilledOnTime})
	all, err := d.s.AllCommitments()
	must(t, err)
	// Another county's commitment is not in this county's overview.
	other := all[0]
	other.Office = "410305001"
	all = append(all, other)

	now := time.Date(2026, 11, 26, 10, 0, 0, 0, cst)
	ov := ComputeOverview(all, OverviewConfig{County: countyCode, Today: testToday, Now: now})
	if len(ov.Rows) != 1 || ov.Total.Total != 3 {
		t.Fatalf("rows %+v total %+v", ov.Rows, ov.Total)
	}
	r := ov.Rows[0]
	if r.Office != township || r.Name != "赤土店镇" || r.Overdue != 1 || !r.HasRate || r.OnTimeRate != 1 || r.SilentDays != 1 {
		t.Fatalf("row %+v", r)
	}
	if len(r.Warnings) != 1 || r.Warnings[0].Key != "adminui.overview.warn_overdue" {
		t.Fatalf("warnings %+v", r.Warnings)
	}
	checkMessage(t, r.Warnings[0])
	checkMessage(t, r.Rate)
	if n := StatusCounts(r.Tally); len(n) != len(domain.Statuses()) {
		t.Fatalf("status counts %+v", n)
	}

	// Three weeks later nothing arrived: silent; a higher threshold drops
	// the overdue warning; every township of the county is listed.
	ov = ComputeOverview(all, OverviewConfig{County: countyCode, Today: testToday, Now: now.AddDate(0, 0, 21), OverdueWarning: 0.9, AllTownships: true})
	if len(ov.Rows) < 2 {
		t.Fatalf("all townships: %d rows", len(ov.Rows))
	}
	for _, r := range ov.Rows {
		want := "adminui.overview.warn_never"
		if r.Office == township {
			want = "adminui.overview.warn_silent"
		}
		if len(r.Warnings) != 1 || r.Warnings[0].Key != want {
			t.Fatalf("%s: warnings %+v", r.Name, r.Warnings)
		}
		checkMessage(t, r.Warnings[0])
		checkMessage(t, r.Rate)
		if !office.Code(countyCode).Contains(r.Office) {
			t.Fatalf("row outside the county: %s", r.Office)
		}
	}

	ov2, err := LoadOverview(d.s, OverviewConfig{County: countyCode, Today: testToday, Now: now})
	must(t, err)
	if len(ov2.Rows) != 1 || ov2.Rows[0].Tally.Total != 3 {
		t.Fatalf("loaded overview %+v", ov2.Rows)
	}
}

// TestAdminKeysExist: every "adminui." key literal in this package's
// sources exists in every language.
func TestAdminKeysExist(t *testing.T) {
	files, err := filepath.Glob("admin*.go")
	must(t, err)
	fset := token.NewFileSet()
	n := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		must(t, err)
		ast.Inspect(f, func(nd ast.Node) bool {
			if lit, ok := nd.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && strings.HasPrefix(s, "adminui.") {
					n++
					for _, lang := range languages {
						if _, ok := catalogues()[lang][s]; !ok {
							t.Errorf("%s.json lacks %q", lang, s)
						}
					}
				}
			}
			return true
		})
	}
	if n < 8 {
		t.Fatalf("only %d adminui keys found", n)
	}
}
