package protocol_test

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"jiannuo/sync/protocol"
)

// fakeTime is a wall clock the test sets; safe for concurrent use.
type fakeTime struct{ ms atomic.Int64 }

func newFakeTime(ms int64) *fakeTime {
	f := &fakeTime{}
	f.ms.Store(ms)
	return f
}

func (f *fakeTime) now() time.Time { return time.UnixMilli(f.ms.Load()) }
func (f *fakeTime) set(ms int64)   { f.ms.Store(ms) }

const t0 = int64(1772413200000) // 2026-03-02 01:00:00 UTC

func TestHLCParts(t *testing.T) {
	for _, c := range []struct {
		ms      int64
		logical uint16
	}{{0, 0}, {0, 1}, {t0, 0}, {t0, 0xffff}, {1<<48 - 1, 7}} {
		h := protocol.MakeHLC(c.ms, c.logical)
		if h.Wall().UnixMilli() != c.ms || h.Logical() != c.logical {
			t.Errorf("MakeHLC(%d, %d) = %#x: wall %d, logical %d", c.ms, c.logical, uint64(h), h.Wall().UnixMilli(), h.Logical())
		}
		if uint64(h) != uint64(c.ms)<<16|uint64(c.logical) {
			t.Errorf("MakeHLC(%d, %d) = %#x: not wall<<16 | logical", c.ms, c.logical, uint64(h))
		}
	}
	// Order of stamps is order of (wall, logical).
	if !(protocol.MakeHLC(t0, 0xffff) < protocol.MakeHLC(t0+1, 0)) {
		t.Error("a later millisecond does not sort after a full logical counter")
	}
}

func TestClockFollowsWallTime(t *testing.T) {
	ft := newFakeTime(t0)
	c := protocol.NewClock(ft.now, 0)
	if got, want := c.Now(), protocol.MakeHLC(t0, 0); got != want {
		t.Fatalf("first Now = %#x, want wall time %#x", uint64(got), uint64(want))
	}
	if got, want := c.Now(), protocol.MakeHLC(t0, 1); got != want {
		t.Fatalf("same millisecond: Now = %#x, want logical 1 %#x", uint64(got), uint64(want))
	}
	ft.set(t0 + 5)
	if got, want := c.Now(), protocol.MakeHLC(t0+5, 0); got != want {
		t.Fatalf("wall time moved on: Now = %#x, want %#x", uint64(got), uint64(want))
	}
	if got, want := c.Last(), protocol.MakeHLC(t0+5, 0); got != want {
		t.Fatalf("Last = %#x, want %#x", uint64(got), uint64(want))
	}
}

func TestClockMonotonicWhenWallTimeGoesBack(t *testing.T) {
	ft := newFakeTime(t0)
	c := protocol.NewClock(ft.now, 0)
	prev := c.Now()
	// The clock is set back an hour (a township PC synchronising with a
	// wrong time server), then a day, then creeps forward, then jumps
	// ahead of where it was.
	walls := []int64{t0 - 3600_000, t0 - 86400_000, t0 - 86400_000 + 1, t0 - 1, t0, t0, t0 + 1, t0 + 2, t0 - 5}
	for _, w := range walls {
		ft.set(w)
		for range 3 {
			h := c.Now()
			if h <= prev {
				t.Fatalf("wall %d: Now = %#x after %#x: not increasing", w, uint64(h), uint64(prev))
			}
			if h.Wall().UnixMilli() < t0 {
				t.Fatalf("wall %d: Now = %#x went back before the highest wall time seen", w, uint64(h))
			}
			prev = h
		}
	}
	if prev.Wall().UnixMilli() != t0+2 {
		t.Fatalf("after the clock settled, stamps carry wall %d, want the highest seen %d", prev.Wall().UnixMilli(), t0+2)
	}
}

func TestClockLogicalOverflowCarriesIntoWall(t *testing.T) {
	ft := newFakeTime(t0)
	c := protocol.NewClock(ft.now, protocol.MakeHLC(t0, 0xfffe))
	a, b := c.Now(), c.Now()
	if a != protocol.MakeHLC(t0, 0xffff) || b != protocol.MakeHLC(t0+1, 0) || b <= a {
		t.Fatalf("counting past a full logical counter: %#x then %#x", uint64(a), uint64(b))
	}
}

func TestClockStartsAfterPersistedLast(t *testing.T) {
	last := protocol.MakeHLC(t0+60_000, 3) // issued before a restart, wall clock now behind
	c := protocol.NewClock(newFakeTime(t0).now, last)
	if got := c.Now(); got <= last {
		t.Fatalf("Now = %#x, not after persisted last %#x", uint64(got), uint64(last))
	}
}

func TestClockObserve(t *testing.T) {
	ft := newFakeTime(t0)
	c := protocol.NewClock(ft.now, 0)
	local := c.Now()

	future := protocol.MakeHLC(t0+2*3600_000, 9) // a remote PC two hours ahead
	c.Observe(future)
	if c.Last() != future {
		t.Fatalf("Last after Observe = %#x, want %#x", uint64(c.Last()), uint64(future))
	}
	if got := c.Now(); got <= future || got <= local {
		t.Fatalf("Now after observing %#x = %#x: not larger", uint64(future), uint64(got))
	}

	// Observing the past changes nothing.
	before := c.Last()
	c.Observe(protocol.MakeHLC(t0-1, 0))
	c.Observe(0)
	if c.Last() != before {
		t.Fatalf("observing an old stamp moved Last from %#x to %#x", uint64(before), uint64(c.Last()))
	}

	// Once wall time passes the observed stamp, stamps follow wall time again.
	ft.set(t0 + 3*3600_000)
	if got, want := c.Now(), protocol.MakeHLC(t0+3*3600_000, 0); got != want {
		t.Fatalf("Now = %#x, want wall time %#x", uint64(got), uint64(want))
	}
}

// TestClockBeforeEpoch: a PC whose clock fell back before 1970 must not issue
// a stamp from the far future (a negative millisecond count read as unsigned),
// which every replica observing it would then carry forward.
func TestClockBeforeEpoch(t *testing.T) {
	ft := newFakeTime(-1000)
	c := protocol.NewClock(ft.now, 0)
	h := c.Now()
	if h == 0 || h.Wall().UnixMilli() > 0 {
		t.Fatalf("Now with wall time before 1970 = %#x (wall %v)", uint64(h), h.Wall())
	}
	ft.set(t0)
	if got, want := c.Now(), protocol.MakeHLC(t0, 0); got != want {
		t.Fatalf("after the clock is set right, Now = %#x, want %#x", uint64(got), uint64(want))
	}
}

func TestClockConcurrent(t *testing.T) {
	const (
		workers = 16
		perG    = 2000
	)
	ft := newFakeTime(t0)
	c := protocol.NewClock(ft.now, 0)
	stamps := make([][]protocol.HLC, workers)
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			out := make([]protocol.HLC, 0, perG)
			var prev protocol.HLC
			for i := range perG {
				// Wall time jitters back and forth while others read it.
				if i%50 == 0 {
					ft.set(t0 + int64((g*7+i)%23) - 11)
				}
				if i%97 == 0 {
					c.Observe(protocol.MakeHLC(t0+int64(i%13), uint16(g)))
				}
				h := c.Now()
				if h <= prev {
					t.Errorf("goroutine %d: Now = %#x after %#x", g, uint64(h), uint64(prev))
					return
				}
				prev = h
				out = append(out, h)
			}
			stamps[g] = out
		})
	}
	wg.Wait()
	all := slices.Concat(stamps...)
	if len(all) != workers*perG {
		t.Fatalf("collected %d stamps, want %d", len(all), workers*perG)
	}
	slices.Sort(all)
	for i := 1; i < len(all); i++ {
		if all[i] == all[i-1] {
			t.Fatalf("stamp %#x issued twice", uint64(all[i]))
		}
	}
	if c.Last() != all[len(all)-1] {
		t.Fatalf("Last = %#x, want the highest issued %#x", uint64(c.Last()), uint64(all[len(all)-1]))
	}
}
