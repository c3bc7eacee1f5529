package store

import (
	"os"
	"path/filepath"
	"testing"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
)

// TestWriteSchema7File writes testdata/schema7-township.db, the file the
// binary-records migration is tested on, with the build of schema 7 (the
// last to keep versions as JSON). It runs only when asked:
//
//	JIANNUO_WRITE_SCHEMA7=1 go test -run TestWriteSchema7File ./store/
//
// and was run once, before the binary encoding existed; running it again
// with a later build would write a file of that build's schema.
func TestWriteSchema7File(t *testing.T) {
	if os.Getenv("JIANNUO_WRITE_SCHEMA7") == "" {
		t.Skip("writes testdata/schema7-township.db only when JIANNUO_WRITE_SCHEMA7 is set")
	}
	dir := t.TempDir()
	clock := newStepClock()
	open := func(name string) *Store {
		s, err := Open(filepath.Join(dir, name), &Options{Now: clock.Now, KDF: auth.TestParams(), Logger: quietLogger(), NoSync: true})
		must(t, err)
		return s
	}
	setup := func(s *Store, admin bool, role domain.Role) *replica {
		o := township
		if admin {
			o = county
		}
		se, err := s.Setup(SetupConfig{Office: o, Admin: admin, DeviceName: "test", Name: "user", DisplayName: "测试用户", Role: role, Passphrase: testPass})
		must(t, err)
		return &replica{Store: s, se: se}
	}
	a := setup(open("township.db"), false, domain.RoleLeader)
	b := setup(open("colleague.db"), false, domain.RoleLeader)
	admin := setup(open("county.db"), true, domain.RoleCountyAdmin)
	defer b.Close()
	defer admin.Close()
	introduce(t, a, b, admin)

	// A commitment through its life: an edit, publication, an amendment
	// with a reason, entries, a late close.
	ref, err := a.se.Create(sampleDraft("独居老人每月走访"))
	must(t, err)
	must(t, a.se.Edit(ref, domain.FieldTitle, "独居老人每月上门走访"))
	must(t, a.se.Publish(ref))
	must(t, a.se.Amend(ref, []Change{{domain.FieldText, "每两周走访一次"}, {domain.FieldResponsible, "李秀英（民政办）"}}, "县民政局提高走访频次要求"))
	_, err = a.se.LogFulfilment(ref, EntryInput{Date: calendar.NewDate(2026, 10, 9), Progress: 40, Note: "走访十二户"})
	must(t, err)
	must(t, a.se.Transition(ref, domain.StatusInProgress, ""))
	// Two more: one conflicted and resolved by the county, one left in
	// conflict; an empty value, a withdrawal.
	resolved, err := a.se.Create(sampleDraft("便民服务窗口延时服务"))
	must(t, err)
	open2, err := a.se.Create(Draft{Category: domain.CatEmployment, Title: "技能培训", Text: "内容", Responsible: "小李"})
	must(t, err)
	gone, err := a.se.Create(sampleDraft("撤回的事项"))
	must(t, err)
	must(t, a.se.Publish(gone))
	must(t, a.se.Withdraw(gone, "上级政策调整"))
	base := a.seal(t, 0)
	deliver(t, b, base...)
	deliver(t, admin, base...)
	must(t, a.se.Edit(resolved, domain.FieldTitle, "便民服务窗口周末延时"))
	must(t, b.se.Edit(resolved, domain.FieldTitle, "便民窗口中午不休息"))
	must(t, a.se.Edit(open2, domain.FieldResponsible, "王建国"))
	must(t, b.se.Edit(open2, domain.FieldResponsible, "李秀英"))
	must(t, b.se.Edit(open2, domain.FieldLegalBasis, ""))
	fromA, fromB := a.seal(t, uint64(len(base))), b.seal(t, 0)
	deliver(t, a, fromB...)
	deliver(t, admin, append(fromA, fromB...)...)
	must(t, admin.se.Resolve(resolved, domain.FieldTitle, "便民服务窗口周末及中午延时", "两项合并"))
	deliver(t, a, admin.seal(t, 0)...)
	// A draft still pending on the device.
	_, err = a.se.Create(sampleDraft("尚未同步的草稿"))
	must(t, err)
	must(t, a.Check())
	if cs, _ := a.Conflicts(); len(cs) != 1 {
		t.Fatalf("conflicts: %+v", cs)
	}
	path := a.Path()
	must(t, a.Close())
	data, err := os.ReadFile(path)
	must(t, err)
	must(t, os.WriteFile("testdata/schema7-township.db", data, 0o644))
}
