package county_test

import (
	"testing"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// TestAdminWorkAcrossTownshipsReachesEach: a county-admin device acts for
// many townships, and each township device receives only the admin's
// change sets for its own office, so the admin's chain arrives there with
// gaps. Every one of them must still be applied: here the admin records a
// dishonesty record in township B, then one in township A, then another in
// B; each township ends up with exactly its own records, and the replicas
// stay consistent (Check runs at cleanup).
func TestAdminWorkAcrossTownshipsReachesEach(t *testing.T) {
	h := newHarness(t)
	a := h.device(townA, domain.RoleLeader)
	b := h.device(townB, domain.RoleLeader)
	adm := h.device(countyCode, domain.RoleCountyAdmin)
	refA := publishOne(t, a, "独居老人每月走访")
	refB1 := publishOne(t, b, "农村道路坑洼修补")
	refB2 := publishOne(t, b, "便民服务站延时服务")
	a.sync()
	b.sync()
	adm.sync()

	var want = map[store.Ref]protocol.EntityID{}
	for _, ref := range []store.Ref{refB1, refA, refB2} {
		id, err := adm.se.RecordDishonesty(ref, store.DishonestyInput{Type: domain.DishonestyBreach, Reason: "逾期未兑现",
			Deadline: calendar.NewDate(2026, 12, 31)})
		if err != nil {
			t.Fatal(err)
		}
		want[ref] = id
		adm.sync() // one change set per office, in this order
	}
	a.sync()
	b.sync()
	for _, c := range []struct {
		d    *device
		refs []store.Ref
	}{{a, []store.Ref{refA}}, {b, []store.Ref{refB1, refB2}}} {
		got, err := c.d.st.DishonestyRecords(store.DishonestyFilter{})
		if err != nil || len(got) != len(c.refs) {
			t.Fatalf("township %s holds %d dishonesty records, want %d (%v)", c.d.se.Device().Office, len(got), len(c.refs), err)
		}
		for _, ref := range c.refs {
			if r, err := c.d.st.DishonestyRecord(ref.Office, want[ref]); err != nil || r.Commitment != ref {
				t.Errorf("record for %s on its township: %+v %v", ref, r, err)
			}
		}
	}
}

func publishOne(t *testing.T, d *device, title string) store.Ref {
	t.Helper()
	ref := d.create(title)
	if err := d.se.Publish(ref); err != nil {
		t.Fatal(err)
	}
	return ref
}
