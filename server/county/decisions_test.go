package county_test

import (
	"errors"
	"os"
	"testing"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// TestDecisionsReachDevices: a revocation reaches the other devices of the
// township after they hold everything the revoked device wrote, and a
// calendar update published by the county reaches every device and changes
// its working-day arithmetic.
func TestDecisionsReachDevices(t *testing.T) {
	h := newHarness(t)
	a := h.device(townA, domain.RoleLeader)
	b := h.device(townA, domain.RoleLeader)
	ref := a.create("路面修补五日内完成")
	a.sync()
	reason := "终端报废"
	if err := h.srv.Revoke(a.se.Device().ID, reason, "admin"); err != nil {
		t.Fatal(err)
	}
	overlay, err := os.ReadFile("../../domain/calendar/testdata/overlay-example.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.srv.PublishCalendar([]byte(`{"format":1}`), "admin"); !errors.Is(err, protocol.ErrInvalidOperation) {
		t.Fatalf("a malformed overlay was published: %v", err)
	}
	v, err := h.srv.PublishCalendar(overlay, "admin")
	if err != nil || v != 1 {
		t.Fatalf("publish: %v, version %d", err, v)
	}
	b.sync()

	if c, err := b.st.Commitment(ref); err != nil || c.Title == "" {
		t.Fatalf("b lacks what a wrote before its revocation: %v", err)
	}
	rec, err := b.st.DeviceRecord(a.se.Device().ID)
	if err != nil || !rec.Revoked || rec.Reason != reason {
		t.Fatalf("b does not know a was revoked: %+v %v", rec, err)
	}
	ver, doc, ok, err := b.st.CalendarUpdate()
	if err != nil || !ok || ver != 1 {
		t.Fatalf("calendar update not stored: %v %v %d", err, ok, ver)
	}
	if _, err := protocol.OpenCalendarUpdate(doc, h.key); err != nil {
		t.Fatal(err)
	}
	o, err := calendar.ParseOverlay(overlay)
	if err != nil {
		t.Fatal(err)
	}
	year := o.Years()[0]
	if calendar.Default().Covers(year) || !engine.Calendar(b.st, h.key).Covers(year) {
		t.Fatalf("the device's calendar does not cover %d after the update", year)
	}
}
