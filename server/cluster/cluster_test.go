package cluster_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"jiannuo/domain/office"
	"jiannuo/server/cluster"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

const fp = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"

// recorder collects a member's events and lets a test wait for one.
type recorder struct {
	mu     sync.Mutex
	events []cluster.Event
	ch     chan struct{} // closed and replaced on every event
}

func newRecorder() *recorder { return &recorder{ch: make(chan struct{})} }

func (r *recorder) on(e cluster.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	close(r.ch)
	r.ch = make(chan struct{})
	r.mu.Unlock()
}

// wait waits until some event so far satisfies ok.
func (r *recorder) wait(t *testing.T, what string, timeout time.Duration, ok func(cluster.Event) bool) cluster.Event {
	t.Helper()
	deadline := time.After(timeout)
	seen := 0
	for {
		r.mu.Lock()
		evs, ch := r.events[seen:], r.ch
		seen = len(r.events)
		r.mu.Unlock()
		for _, e := range evs {
			if ok(e) {
				return e
			}
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("no %s event within %s", what, timeout)
		}
	}
}

func countyTags(code office.Code, head uint64) cluster.Tags {
	return cluster.Tags{Role: cluster.RoleCounty, County: code, Upstream: "wss://127.0.0.1:1/upstream", Head: head, Fingerprint: fp}
}

func start(t *testing.T, name string, tags cluster.Tags, join []string, rec *recorder) *cluster.Member {
	t.Helper()
	cfg := cluster.DefaultLocalConfig()
	cfg.NodeName, cfg.Tags, cfg.Join, cfg.Logger = name, tags, join, quiet()
	if rec != nil {
		cfg.OnEvent = rec.on
	}
	m, err := cluster.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	return m
}

func hasMember(name string, kind cluster.EventKind) func(cluster.Event) bool {
	return func(e cluster.Event) bool {
		if e.Kind != kind {
			return false
		}
		for _, m := range e.Members {
			if m.Name == name {
				return true
			}
		}
		return false
	}
}

// TestMembershipTagsAndEvents: members find each other through one seed,
// see each other's tags, tag updates and advance events, a graceful leave
// and an abrupt stop (failed).
func TestMembershipTagsAndEvents(t *testing.T) {
	rec := newRecorder()
	muni := start(t, "municipal-1", cluster.Tags{Role: cluster.RoleMunicipal}, nil, rec)
	a := start(t, "county-410324", countyTags("410324", 0), []string{muni.Addr()}, nil)
	b := start(t, "county-410325", countyTags("410325", 7), []string{a.Addr()}, nil)

	e := rec.wait(t, "join of county-410325", time.Minute, hasMember("county-410325", cluster.EventJoin))
	for _, m := range e.Members {
		if m.Name == "county-410325" && (m.TagErr != nil || m.Tags.County != "410325" || m.Tags.Head != 7 || m.Tags.Fingerprint != fp) {
			t.Fatalf("tags as seen by the municipal node: %+v %v", m.Tags, m.TagErr)
		}
	}
	rec.wait(t, "join of county-410324", time.Minute, hasMember("county-410324", cluster.EventJoin))

	// Announce: advances coalesce into tag updates and advance events.
	var mu sync.Mutex
	head := uint64(0)
	wake := make(chan struct{})
	waiter := func() <-chan struct{} { mu.Lock(); defer mu.Unlock(); return wake }
	advance := func(h uint64) {
		mu.Lock()
		head = h
		close(wake)
		wake = make(chan struct{})
		mu.Unlock()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.Announce(ctx, waiter, func() (uint64, error) { mu.Lock(); defer mu.Unlock(); return head, nil })
	for h := uint64(1); h <= 20; h++ {
		advance(h)
	}
	rec.wait(t, "advance to 20", time.Minute, func(e cluster.Event) bool {
		if e.Kind != cluster.EventUser || e.Name != cluster.AdvanceEvent {
			return false
		}
		c, h, err := cluster.ParseAdvance(e.Payload)
		return err == nil && c == "410324" && h == 20
	})
	rec.wait(t, "tag update to head 20", time.Minute, func(e cluster.Event) bool {
		for _, m := range e.Members {
			if e.Kind == cluster.EventUpdate && m.Name == "county-410324" && m.Tags.Head == 20 {
				return true
			}
		}
		return false
	})
	rec.mu.Lock()
	advances := 0
	for _, e := range rec.events {
		if e.Kind == cluster.EventUser {
			advances++
		}
	}
	rec.mu.Unlock()
	if advances > 10 {
		t.Errorf("%d advance events for 20 quick advances: not coalesced", advances)
	}

	// A graceful leave, then an abrupt stop.
	if err := b.Leave(); err != nil {
		t.Fatal(err)
	}
	b.Shutdown()
	rec.wait(t, "leave of county-410325", time.Minute, hasMember("county-410325", cluster.EventLeave))
	a.Shutdown()
	rec.wait(t, "failure of county-410324", time.Minute, hasMember("county-410324", cluster.EventFailed))
	for _, m := range muni.Members() {
		if m.Name == "county-410324" && m.Status != "failed" {
			t.Fatalf("county-410324 is %s, want failed", m.Status)
		}
	}
	if err := a.Shutdown(); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}

func TestTags(t *testing.T) {
	good := countyTags("410324", 42)
	got, err := cluster.ParseTags(good.Map())
	if err != nil || got != good {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	if m, err := cluster.ParseTags(map[string]string{"role": "municipal"}); err != nil || m.Role != cluster.RoleMunicipal {
		t.Fatalf("municipal: %+v %v", m, err)
	}
	for name, mod := range map[string]func(m map[string]string){
		"no role":        func(m map[string]string) { delete(m, "role") },
		"township code":  func(m map[string]string) { m["county"] = "410324101" },
		"http upstream":  func(m map[string]string) { m["upstream"] = "https://x/upstream" },
		"head not a num": func(m map[string]string) { m["head"] = "-1" },
		"short fp":       func(m map[string]string) { m["fp"] = "AB:CD" },
	} {
		m := good.Map()
		mod(m)
		if _, err := cluster.ParseTags(m); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for _, tag := range []string{"", "9f1c02ab.7"} {
		if c, h, err := cluster.ParseAdvance(cluster.AdvancePayload("410324", 9, tag)); err != nil || c != "410324" || h != 9 {
			t.Fatalf("advance payload with tag %q: %v %v %v", tag, c, h, err)
		}
	}
	for _, p := range []string{"", "410324", "410324 x", "4103241 1", "410324101 3", "410324 3 a b"} {
		if _, _, err := cluster.ParseAdvance([]byte(p)); err == nil {
			t.Errorf("advance payload %q accepted", p)
		}
	}
	// Tags must fit serf's 512 bytes with a long host name.
	long := countyTags("410324", 1<<62)
	long.Upstream = "wss://" + strings.Repeat("h", 200) + ":8443/upstream"
	cfg := cluster.DefaultLocalConfig()
	cfg.NodeName, cfg.Tags, cfg.Logger = "county-410324", long, quiet()
	m, err := cluster.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatalf("tags of %d bytes: %v", len(fmt.Sprint(long.Map())), err)
	}
	m.Shutdown()
}
