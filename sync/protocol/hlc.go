package protocol

import (
	"sync"
	"time"
)

// HLC is a hybrid logical clock stamp: milliseconds since the Unix epoch in
// the high 48 bits and a logical counter in the low 16. Stamps from one
// device only grow, and a device that has seen a stamp makes only larger
// ones, so ordering writes by (HLC, device) never puts an effect before its
// cause, even when a township PC's clock is wrong by hours.
type HLC uint64

const hlcLogicalBits = 16

// MakeHLC builds a stamp from wall milliseconds and a logical counter.
func MakeHLC(wallMillis int64, logical uint16) HLC {
	return HLC(uint64(wallMillis)<<hlcLogicalBits | uint64(logical))
}

// Wall returns the wall-clock part as a time.
func (h HLC) Wall() time.Time { return time.UnixMilli(int64(h >> hlcLogicalBits)) }

// Logical returns the counter part.
func (h HLC) Logical() uint16 { return uint16(h) }

// Clock issues HLC stamps. The zero value is not usable; use NewClock.
// It is safe for concurrent use.
type Clock struct {
	mu   sync.Mutex
	now  func() time.Time
	last HLC
}

// NewClock returns a clock reading wall time from now (time.Now if nil) that
// never issues a stamp at or below last, the highest stamp this replica has
// issued or seen (kept in the store across restarts).
func NewClock(now func() time.Time, last HLC) *Clock {
	if now == nil {
		now = time.Now
	}
	return &Clock{now: now, last: last}
}

// Now returns a new stamp, larger than every stamp issued or observed.
func (c *Clock) Now() HLC {
	c.mu.Lock()
	defer c.mu.Unlock()
	// A wall clock before 1970 (a PC whose clock battery died) must not
	// become a huge unsigned stamp that every replica would then observe.
	wall := MakeHLC(max(c.now().UnixMilli(), 0), 0)
	if wall > c.last {
		c.last = wall
	} else {
		c.last++ // same or earlier millisecond: count on
	}
	return c.last
}

// MaxDrift is how far ahead of this replica's wall clock an observed stamp
// may pull the clock. A device whose clock is wrong by days, or a hostile
// stamp near the end of time, must not drag every replica's clock with it;
// ordering stays safe because a write supersedes exactly the versions its
// base names, whatever their stamps.
const MaxDrift = 24 * time.Hour

// Observe folds in a stamp seen on a remote operation so that later local
// stamps sort after it, up to MaxDrift ahead of the local wall clock.
func (c *Clock) Observe(h HLC) {
	c.mu.Lock()
	if ceiling := MakeHLC(c.now().Add(MaxDrift).UnixMilli(), 0); h > ceiling {
		h = ceiling
	}
	if h > c.last {
		c.last = h
	}
	c.mu.Unlock()
}

// Last returns the highest stamp issued or observed, to be persisted.
func (c *Clock) Last() HLC {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}
