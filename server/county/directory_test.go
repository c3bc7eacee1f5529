package county_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// TestCountyKnowsWhoDidWhat: a township leader adds a colleague and the
// two edit one title on two devices of the office; the account changes
// reach the county in the change sets, so the county's directory names the
// person behind every login, with who added it, and its conflict queue
// the person behind each competing value, over the admin API too. A
// disabled account shows as such; another county's office is refused.
func TestCountyKnowsWhoDidWhat(t *testing.T) {
	h := newHarness(t)
	a := h.device(townA, domain.RoleLeader) // login "user", 工作人员
	b := h.device(townA, domain.RoleLeader)
	if err := a.se.AddAccount("wangfang", "王芳", domain.RoleStaff, devPass+"-王芳"); err != nil {
		t.Fatal(err)
	}
	if err := a.se.RenameAccount("user", "张丽"); err != nil {
		t.Fatal(err)
	}
	clerk, err := a.st.SignIn("wangfang", devPass+"-王芳")
	if err != nil {
		t.Fatal(err)
	}
	ref := a.create("村级公厕改造")
	a.sync()
	b.sync()
	if err := clerk.Edit(ref, domain.FieldTitle, "村级公厕改造10座"); err != nil {
		t.Fatal(err)
	}
	if err := b.se.Edit(ref, domain.FieldTitle, "村级公厕改造12座"); err != nil {
		t.Fatal(err)
	}
	a.sync()
	b.sync()

	dir, err := h.srv.Directory("")
	if err != nil {
		t.Fatal(err)
	}
	byLogin := map[string]store.DirectoryEntry{}
	for _, e := range dir {
		if e.Office != townA {
			t.Fatalf("entry of %s: %+v", e.Office, e)
		}
		byLogin[e.Login] = e
	}
	if w := byLogin["wangfang"]; !w.Enabled || w.DisplayName != "王芳" || w.Role != domain.RoleStaff || w.AddedBy != "user" ||
		w.AddedDevice != a.se.Device().ID {
		t.Fatalf("wangfang on the county: %+v", w)
	}
	if u := byLogin["user"]; u.DisplayName != "张丽" || len(u.History) != 2 {
		t.Fatalf("the leader on the county: %+v", u)
	}
	rows, err := h.srv.ConflictRows()
	if err != nil || len(rows) != 1 || len(rows[0].Authors) != 2 {
		t.Fatalf("conflict rows: %+v %v", rows, err)
	}
	got := slices.Clone(rows[0].Authors)
	slices.Sort(got)
	// b's leader is "user" of the same office: the directory names it by
	// the office, so the second device's leader is 张丽 too.
	if !slices.Equal(got, []string{"张丽（user）", "王芳（wangfang）"}) {
		t.Fatalf("authors of the competing values: %v", rows[0].Authors)
	}

	// The same over the admin API.
	cl := countyapi.New(countyapi.Config{BaseURL: h.base.BaseURL, Fingerprint: h.base.Fingerprint, Admin: "admin", Password: adminPass})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	api, err := cl.Conflicts(ctx)
	if err != nil || len(api) != 1 || !slices.Equal(api[0].Authors, rows[0].Authors) || api[0].Ref != ref {
		t.Fatalf("GET /admin/conflicts: %+v %v", api, err)
	}
	if err := a.se.DisableAccount("wangfang", "调离本单位"); err != nil {
		t.Fatal(err)
	}
	a.sync()
	got2, err := cl.Directory(ctx, townA)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range got2 {
		if e.Login == "wangfang" && (e.Enabled || e.DisabledBy != "user" || e.DisabledReason != "调离本单位" || e.Name() != "王芳") {
			t.Fatalf("the disabled account over the API: %+v", e)
		}
	}
	if len(got2) != 2 {
		t.Fatalf("GET /admin/directory?office=%s: %+v", townA, got2)
	}
	if got, err := cl.Directory(ctx, townB); err != nil || len(got) != 0 {
		t.Fatalf("another township's directory: %+v %v", got, err)
	}
	if _, err := cl.Directory(ctx, office.Code("410325")); !errors.Is(err, protocol.ErrOutOfScope) {
		t.Fatalf("another county's directory: %v", err)
	}
	// The township's other device knows the people too.
	b.sync()
	people, err := b.st.People()
	if err != nil {
		t.Fatal(err)
	}
	if got := people.Who(a.se.Device().ID, "wangfang"); got != "王芳（wangfang）" {
		t.Fatalf("on the other device: %q", got)
	}
}

// TestCountyRefusesStaffAccountChange: an account change signed by a staff
// author is refused by the county with not_authorized and kept as an
// incident; nothing of it is stored.
func TestCountyRefusesStaffAccountChange(t *testing.T) {
	h := newHarness(t)
	d := h.rawEnrolled(t, townA)
	op := protocol.Op{Num: 1, HLC: protocol.MakeHLC(time.Now().UnixMilli(), 0), Kind: protocol.OpAccount, Office: townA,
		Account: &protocol.AccountChange{Action: protocol.AccountAdd, Login: "lisi", DisplayName: "李四", Role: domain.RoleStaff}}
	cs := &protocol.ChangeSet{Device: d.id, Office: townA, Author: "wangfang", AuthorRole: domain.RoleStaff, Seq: 1, Ops: []protocol.Op{op}}
	if err := cs.Seal(d.priv); err != nil {
		t.Fatal(err)
	}
	before := h.replicaSnapshot(t)
	c, _ := h.connectRaw(t, d)
	c.push(cs)
	c.wantRefused(protocol.CodeNotAuthorized)
	h.wantUnchanged(t, before)
	h.wantIncidentFor(t, d.id, protocol.CodeNotAuthorized)
	if dir, err := h.srv.Directory(""); err != nil || len(dir) != 0 {
		t.Fatalf("directory after the refusal: %+v %v", dir, err)
	}
}
