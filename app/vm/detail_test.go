package vm

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"jiannuo/domain"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

func TestActionsByRoleAndStatus(t *testing.T) {
	d := newTownship(t)
	type acts = Actions
	for _, tc := range []struct {
		status        domain.Status
		staff, leader Actions
	}{
		{domain.StatusDraft,
			acts{Edit: true},
			acts{Edit: true, Publish: true, Withdraw: true}},
		{domain.StatusPublished,
			acts{Start: true, Log: true},
			acts{Amend: true, Withdraw: true, Start: true, Close: true, PartlyFulfilled: true, Log: true}},
		{domain.StatusInProgress,
			acts{Log: true},
			acts{Amend: true, Withdraw: true, Close: true, PartlyFulfilled: true, Log: true}},
		{domain.StatusPartlyFulfilled,
			acts{Log: true},
			acts{Amend: true, Close: true, Log: true}},
		{domain.StatusFulfilledOnTime, acts{}, acts{}},
		{domain.StatusFulfilledLate, acts{}, acts{}},
		{domain.StatusWithdrawn, acts{}, acts{}},
	} {
		ref := d.create(t, spec{title: "动作-" + string(tc.status), start: date(2026, 11, 2),
			deadline: domain.DateDeadline(date(2026, 12, 31)), status: tc.status})
		for _, who := range []struct {
			se   *store.Session
			want Actions
		}{{d.staff, tc.staff}, {d.leader, tc.leader}} {
			det, err := LoadDetail(who.se, ref, testToday, nil)
			must(t, err)
			if det.Actions != who.want {
				t.Errorf("%s as %s: %+v, want %+v", tc.status, who.se.Account().Role, det.Actions, who.want)
			}
			if tc.status.Terminal() && det.Actions.Any() {
				t.Errorf("%s as %s allows %+v", tc.status, who.se.Account().Role, det.Actions)
			}
		}
	}
	// Only a county admin's device confirms a breach.
	c := store.Commitment{Status: domain.StatusInProgress}
	if a := ActionsFor(&c, domain.RoleCountyAdmin, true); !a.Breach || !a.Close {
		t.Errorf("county admin: %+v", a)
	}
	if a := ActionsFor(&c, domain.RoleLeader, false); a.Breach {
		t.Errorf("leader may confirm a breach: %+v", a)
	}
	c.Status = domain.StatusBreached
	if a := ActionsFor(&c, domain.RoleCountyAdmin, true); a.Any() {
		t.Errorf("breached allows %+v", a)
	}
}

func TestActionsWhileStatusConflicted(t *testing.T) {
	d := newTownship(t)
	ref := d.create(t, spec{title: "两台终端同时公开", start: date(2026, 11, 2), deadline: domain.WorkdaysDeadline(10)})
	cs := openStore(t)
	colleague, err := cs.Setup(store.SetupConfig{Office: township, DeviceName: "赤土店镇-2",
		Name: "liqiang", DisplayName: "李强", Role: domain.RoleLeader, Passphrase: testPass})
	must(t, err)
	must(t, cs.PutDevice(d.leader.Device()))
	must(t, d.s.PutDevice(colleague.Device()))
	exchange(t, d.leader, colleague)
	must(t, colleague.Publish(ref))
	must(t, d.leader.Withdraw(ref, "重复事项"))
	exchange(t, colleague, d.leader)

	det, err := LoadDetail(d.leader, ref, testToday, nil)
	must(t, err)
	if !det.Locked[domain.FieldStatus] || len(det.Conflicts) != 1 || len(det.Conflicts[0].Versions) != 2 {
		t.Fatalf("conflict not shown: locked %v, conflicts %+v", det.Locked, det.Conflicts)
	}
	a := det.Actions
	if a.Publish || a.Withdraw || a.Start || a.Close || a.PartlyFulfilled {
		t.Fatalf("transitions offered while the status awaits the county: %+v", a)
	}
}

func TestLoadDetail(t *testing.T) {
	d := newTownship(t)
	ref := d.create(t, spec{cat: domain.CatElderlyCare, title: "独居老人上门走访", start: date(2026, 9, 30),
		deadline: domain.WorkdaysDeadline(7), status: domain.StatusInProgress})
	must(t, d.leader.Amend(ref, []store.Change{{Field: domain.FieldDeadline, Value: "workdays:60"}}, "县政府调整工作安排"))
	photo := writeFile(t, t.TempDir(), "走访照片.png", pngBytes(t))
	f := validFulfil()
	f.Evidence = []string{photo}
	must(t, LogFulfil(d.staff, ref, f))

	det, err := LoadDetail(d.staff, ref, testToday, nil)
	must(t, err)
	if det.C.Title != "独居老人上门走访" || det.C.Version != 2 {
		t.Fatalf("commitment %+v", det.C)
	}
	if len(det.Amendments) != 1 || det.Amendments[0].Reason != "县政府调整工作安排" || det.Amendments[0].Version != 2 {
		t.Fatalf("amendments %+v", det.Amendments)
	}
	if len(det.Entries) != 1 || len(det.Evidence) != 1 {
		t.Fatalf("entries %+v, evidence %+v", det.Entries, det.Evidence)
	}
	h := det.Entries[0].Evidence[0]
	if ev := det.Evidence[h]; len(ev) != 1 || ev[0].Name != "走访照片.png" || !IsImage(ev[0].MIME) || !det.Here[h] {
		t.Fatalf("evidence %+v, here %v", ev, det.Here)
	}
	if len(det.History) < 12 {
		t.Fatalf("history has %d versions", len(det.History))
	}
	// 60 working days from 2026-09-30 (National Day holiday included).
	if det.DeadlineText.Key != "deadline.workdays" || det.DeadlineText.Args[0] != 60 {
		t.Fatalf("deadline text %v", det.DeadlineText)
	}
	if det.Due.State != domain.DueLater || det.DueText.Key != "due.ok" {
		t.Fatalf("due %+v %v", det.Due, det.DueText)
	}
	checkMessage(t, det.DeadlineText)
	checkMessage(t, det.DueText)
	if det.Confirmed || det.ConfirmedText().Key != "ui.detail.unconfirmed" {
		t.Fatalf("confirmed before any sync: %v", det.Confirmed)
	}

	// Sealed and receipted by the county: confirmed, with the receipt's time.
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	must(t, d.s.SetSyncSettings(store.SyncSettings{BaseURL: "https://127.0.0.1:8443", County: countyCode, CountyKey: pub, Enrolled: true}))
	_, err = d.leader.Seal(0)
	must(t, err)
	committed := time.Date(2026, 11, 25, 10, 32, 0, 0, cst)
	for {
		seq, ok, err := d.s.OutboxFirst()
		must(t, err)
		if !ok {
			break
		}
		rc := (&protocol.Receipt{County: countyCode, Device: d.leader.Device().ID, Seq: seq, Time: committed.UnixMilli()}).Sign(priv)
		must(t, d.s.Acknowledge(seq, rc))
	}
	det, err = LoadDetail(d.staff, ref, testToday, nil)
	must(t, err)
	if !det.Confirmed || !det.ConfirmedAt.Equal(committed) {
		t.Fatalf("after the receipt: confirmed %v at %v", det.Confirmed, det.ConfirmedAt)
	}
	m := det.ConfirmedText()
	if m.Key != "ui.detail.confirmed_at" || m.Args[0] != committed.In(time.Local).Format("2006-01-02 15:04") {
		t.Fatalf("confirmed text %v", m)
	}
	checkMessage(t, m)

	// A new action: the newest operation is not confirmed any more.
	must(t, LogFulfil(d.staff, ref, validFulfil()))
	det, err = LoadDetail(d.staff, ref, testToday, nil)
	must(t, err)
	if det.Confirmed {
		t.Fatal("confirmed with a new entry pending")
	}
}

func TestClose(t *testing.T) {
	d := newTownship(t)
	onTime := d.create(t, spec{title: "按期", start: date(2026, 11, 2), deadline: domain.DateDeadline(date(2026, 12, 31)), status: domain.StatusInProgress})
	partly := d.create(t, spec{title: "部分", start: date(2026, 11, 2), deadline: domain.DateDeadline(date(2026, 12, 31)), status: domain.StatusPartlyFulfilled})
	must(t, Close(d.leader, onTime, testToday, nil))
	must(t, Close(d.leader, partly, testToday, nil))
	for ref, want := range map[store.Ref]domain.Status{onTime: domain.StatusFulfilledOnTime, partly: domain.StatusFulfilledLate} {
		c, _ := d.s.Commitment(ref)
		if c.Status != want {
			t.Errorf("%s: %s, want %s", c.Title, c.Status, want)
		}
	}
	late := d.create(t, spec{title: "逾期", start: date(2026, 10, 1), deadline: domain.DateDeadline(date(2026, 11, 1)), status: domain.StatusInProgress})
	if err := Close(d.staff, late, testToday, nil); ErrorMessage(err).Key != "error.not_authorized" {
		t.Errorf("staff closes: %v", err)
	}
	must(t, Close(d.leader, late, testToday, nil))
	if c, _ := d.s.Commitment(late); c.Status != domain.StatusFulfilledLate {
		t.Errorf("late: %s", c.Status)
	}
}
