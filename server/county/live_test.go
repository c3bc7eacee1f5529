package county_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"jiannuo/domain"
	"jiannuo/server/county"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// waitStatus waits for the engine to report a status satisfying ok. The
// engine reports every change through OnStatus, so this waits on events.
func waitStatus(t *testing.T, ch <-chan engine.Status, ok func(engine.Status) bool) engine.Status {
	t.Helper()
	for s := range ch {
		if ok(s) {
			return s
		}
	}
	t.Fatal("status channel closed")
	return engine.Status{}
}

// liveEngine gives d an engine that syncs continuously with the harness's
// county and returns the channel of its status reports.
func (h *harness) liveEngine(d *device) <-chan engine.Status {
	ch := make(chan engine.Status, 256)
	d.eng = engine.New(d.se, engine.Config{URL: h.base.SyncURL(), Fingerprint: h.base.Fingerprint, CountyKey: h.key, Logger: quiet(),
		OnStatus: func(s engine.Status) {
			select {
			case ch <- s:
			default:
			}
		}})
	return ch
}

// TestLiveSyncAndRevocation runs two devices' engines continuously: work
// done on one reaches the other without anyone asking; then the county
// revokes one while it is offline: on reconnect it stops with
// revoked_device and the county's reason, and what it sent before stays.
func TestLiveSyncAndRevocation(t *testing.T) {
	h := newHarness(t)
	a := h.device(townA, domain.RoleLeader)
	b := h.device(townA, domain.RoleLeader)

	statusB := h.liveEngine(b)
	statusA := h.liveEngine(a)

	ctx, cancel := context.WithCancel(context.Background())
	runA, runB := make(chan error, 1), make(chan error, 1)
	go func() { runA <- a.eng.Run(ctx) }()
	go func() { runB <- b.eng.Run(ctx) }()
	waitStatus(t, statusA, func(s engine.Status) bool { return s.State == engine.StateIdle })
	waitStatus(t, statusB, func(s engine.Status) bool { return s.State == engine.StateIdle })

	ref := a.create("路灯维修三日内答复")
	a.eng.SyncNow()
	waitStatus(t, statusA, func(s engine.Status) bool { return s.LastReceiptSeq >= 1 && s.PendingChangeSets == 0 })
	waitStatus(t, statusB, func(s engine.Status) bool { return s.ReceivedChangeSets >= 1 })
	if c, err := b.st.Commitment(ref); err != nil || c.Title != "路灯维修三日内答复" {
		t.Fatalf("live delivery did not reach b: %v", err)
	}

	// b goes offline; the county revokes it; b comes back.
	cancel()
	if err := <-runB; err != nil {
		t.Fatalf("b stopped with %v", err)
	}
	<-runA
	reason := "终端丢失，已于11月24日报失"
	if err := h.srv.Revoke(b.se.Device().ID, reason, "admin"); err != nil {
		t.Fatal(err)
	}
	b.create("被注销后离线录入的事项")
	err := b.eng.Run(context.Background())
	var fe *engine.FatalError
	if !errors.As(err, &fe) || fe.Code != protocol.CodeRevokedDevice || fe.Message != reason {
		t.Fatalf("revoked device: got %v, want revoked_device with the county's reason", err)
	}
	if !errors.Is(err, protocol.ErrRevokedDevice) {
		t.Fatal("FatalError does not unwrap to the protocol sentinel")
	}
	st := b.eng.Status()
	if st.State != engine.StateStopped || st.Code != protocol.CodeRevokedDevice || st.Err != reason {
		t.Fatalf("status after revocation: %+v", st)
	}
	// What it sent before the revocation stays on the county.
	if c, err := h.srv.Store().Commitment(ref); err != nil || c.Title == "" {
		t.Fatalf("county lost a's work: %v", err)
	}
	in, _ := h.srv.Incidents()
	found := false
	for _, i := range in {
		found = found || (i.Code == protocol.CodeRevokedDevice && i.Device == b.se.Device().ID)
	}
	if !found {
		t.Fatal("the revoked device's attempt was not recorded as an incident")
	}
}

// TestIdleFeedParksAndWakes: a connected device that has everything costs
// the county no feed goroutine (its feed parks), the next advance of the
// feed wakes it and delivers, it parks again once the delivery is
// acknowledged, and a session that ends leaves nothing parked.
func TestIdleFeedParksAndWakes(t *testing.T) {
	h := newHarness(t)
	changed := make(chan struct{}, 1)
	county.SetParkHook(h.srv, func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	waitParked := func(what string, n int) {
		t.Helper()
		limit := time.After(time.Minute) // a bound for a failing test, not a timing
		for county.ParkedFeeds(h.srv) != n {
			select {
			case <-changed:
			case <-limit:
				t.Fatalf("%s: %d feeds parked, want %d", what, county.ParkedFeeds(h.srv), n)
			}
		}
	}
	a := h.device(townA, domain.RoleLeader)
	b := h.device(townA, domain.RoleLeader)
	status := map[*device]<-chan engine.Status{a: h.liveEngine(a), b: h.liveEngine(b)}
	ctx, cancel := context.WithCancel(context.Background())
	runA, runB := make(chan error, 1), make(chan error, 1)
	go func() { runA <- a.eng.Run(ctx) }()
	go func() { runB <- b.eng.Run(ctx) }()
	waitStatus(t, status[a], func(s engine.Status) bool { return s.State == engine.StateIdle })
	waitStatus(t, status[b], func(s engine.Status) bool { return s.State == engine.StateIdle })
	waitParked("both caught up", 2)

	ref := a.create("路灯维修三日内答复")
	a.eng.SyncNow()
	waitStatus(t, status[a], func(s engine.Status) bool { return s.LastReceiptSeq >= 1 && s.PendingChangeSets == 0 })
	waitStatus(t, status[b], func(s engine.Status) bool { return s.ReceivedChangeSets >= 1 })
	if c, err := b.st.Commitment(ref); err != nil || c.Title != "路灯维修三日内答复" {
		t.Fatalf("the parked feed did not deliver to b once woken: %v", err)
	}
	waitParked("both idle again", 2)

	cancel()
	if err := <-runA; err != nil {
		t.Fatalf("a stopped with %v", err)
	}
	if err := <-runB; err != nil {
		t.Fatalf("b stopped with %v", err)
	}
	waitParked("sessions ended", 0)
}
