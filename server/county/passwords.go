package county

import (
	"container/list"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"jiannuo/auth"
	"jiannuo/sync/protocol"
)

// Admin password checks under attack. Each check runs argon2id, which
// takes the hash's memory (64 MiB by default) for a few hundred
// milliseconds: unbounded, a few dozen wrong passwords at once exhaust the
// server's memory. So:
//
//   - checks run only while the argon2id memory in use fits
//     Config.PasswordMemory; the others wait up to PasswordWait in line,
//     then the request is refused as busy (HTTP 503, Retry-After). In the
//     line, addresses an admin signed in from within a day go first: an
//     admin at their own desk is not queued behind a flood of guessers;
//   - after FreeFailures wrong credentials a name, and an address, wait
//     twice as long after each further failure (up to BackoffMax) before
//     a check is run again: a request in that time is refused as busy
//     (HTTP 429, Retry-After) without running argon2id at all;
//   - a name no admin has costs the same check, against a hash of the
//     configured parameters, so timing does not tell which names exist;
//   - the recovery credential made at init is never held back by its name
//     (guessers could otherwise keep the county from its last resort): only
//     by the guesser's address, and by the memory bound like every check.

// busyError is a refusal to check now, with when to ask again.
type busyError struct {
	retry   time.Duration
	backoff bool // held back after failures (429), not overloaded (503)
}

func (e *busyError) Error() string {
	if e.backoff {
		return fmt.Sprintf("%v: too many failed attempts, try again in %ds", protocol.ErrBusy, e.seconds())
	}
	return fmt.Sprintf("%v: too many password checks at once, try again in %ds", protocol.ErrBusy, e.seconds())
}

// seconds is the wait in whole seconds, rounded up: Retry-After.
func (e *busyError) seconds() int { return int(max(time.Second, e.retry+time.Second-1) / time.Second) }

func (e *busyError) Unwrap() error { return protocol.ErrBusy }

// PasswordStats counts the admin password checks since the server
// started, for monitoring (and tests that bound them).
type PasswordStats struct {
	InFlight int    // argon2id runs now
	Peak     int    // the most ever run at once
	Runs     uint64 // argon2id runs, unknown names included
	Busy     uint64 // refused because the memory bound was reached
	Backoff  uint64 // refused because the name or address is held back
}

// passwordGate runs admin password checks within the memory budget and
// holds back names and addresses that failed too often.
type passwordGate struct {
	now       func() time.Time
	wait      time.Duration
	kdf       auth.Params
	dummyHash func() string

	names, addrs *backoffTable
	trusted      *recentSet // addresses admins signed in from

	mu         sync.Mutex
	budget     int64 // KiB of argon2id memory that may be in use
	used       int64
	queue      list.List // of *slotWaiter, first come first served
	maxWaiters int
	stats      PasswordStats
}

type slotWaiter struct {
	kib   int64
	first bool // from an address without recent failures: ahead of the others
	ready chan struct{}
}

func newPasswordGate(cfg *Config) *passwordGate {
	g := &passwordGate{now: cfg.Now, wait: cfg.PasswordWait, kdf: cfg.KDF, budget: cfg.PasswordMemory >> 10,
		names: newBackoffTable(cfg.AdminBackoff), addrs: newBackoffTable(cfg.AdminBackoff),
		trusted: &recentSet{keep: 24 * time.Hour, max: cfg.AdminBackoff.Entries, m: make(map[string]time.Time)}}
	// A line longer than this would only hold goroutines for requests
	// that will be refused anyway.
	g.maxWaiters = 8 * int(max(1, g.budget/int64(cfg.KDF.MemoryKiB)))
	g.dummyHash = sync.OnceValue(func() string {
		// A password nobody knows, hashed with the parameters new admin
		// hashes get: checking an unknown name costs what a known one does.
		h, err := auth.HashPassword(rand.Text(), cfg.KDF)
		if err != nil {
			panic(err) // cfg.KDF was validated when the server started
		}
		return h
	})
	return g
}

// stats returns the counters.
func (g *passwordGate) snapshot() PasswordStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stats
}

// check verifies an admin credential from addr: hash is the admin's
// password hash, or "" for a name no admin has. recovery exempts the name
// from its backoff; disabled refuses the right password as
// ErrAdminDisabled, counted as a failure. It returns nil,
// ErrBadCredential, ErrAdminDisabled or a *busyError.
func (g *passwordGate) check(ctx context.Context, name, hash, password string, recovery, disabled bool, addr string) error {
	now := g.now()
	nameKey := nameKey(name)
	retry := g.addrs.wait(addr, now)
	if !recovery {
		retry = max(retry, g.names.wait(nameKey, now))
	}
	if retry > 0 {
		g.mu.Lock()
		g.stats.Backoff++
		g.mu.Unlock()
		return &busyError{retry: retry, backoff: true}
	}
	err := g.run(ctx, hash, password, g.trusted.has(addr, now))
	var be *busyError
	switch {
	case errors.As(err, &be):
		return err
	case err != nil, disabled:
		g.addrs.fail(addr, g.now())
		if !recovery {
			g.names.fail(nameKey, g.now())
		}
		if err == nil {
			return ErrAdminDisabled
		}
		return ErrBadCredential
	}
	g.names.forget(nameKey)
	g.addrs.forget(addr)
	g.trusted.add(addr, g.now())
	return nil
}

// verify runs argon2id for password against hash ("" means the dummy hash
// of an unknown name) once there is memory for it, without backoff.
func (g *passwordGate) verify(ctx context.Context, hash, password string) error {
	return g.run(ctx, hash, password, true)
}

// hash hashes a new admin password with the configured parameters once
// there is memory for it: setting passwords is bounded as checking them is.
func (g *passwordGate) hash(ctx context.Context, password string) (string, error) {
	kib := min(int64(g.kdf.MemoryKiB), g.budget)
	if !g.acquire(ctx, kib, true) {
		return "", &busyError{retry: time.Second}
	}
	defer g.release(kib)
	return auth.HashPassword(password, g.kdf)
}

// run is verify, ahead in the line if first.
func (g *passwordGate) run(ctx context.Context, hash, password string, first bool) error {
	if hash == "" {
		hash = g.dummyHash()
	}
	kib := int64(g.kdf.MemoryKiB)
	if p, err := auth.HashParams(hash); err == nil {
		kib = int64(p.MemoryKiB)
	}
	kib = min(kib, g.budget) // a hash larger than the budget runs alone
	if !g.acquire(ctx, kib, first) {
		return &busyError{retry: time.Second}
	}
	defer g.release(kib)
	if err := auth.VerifyPassword(hash, password); err != nil {
		return ErrBadCredential
	}
	return nil
}

// acquire waits up to g.wait for kib of the budget; first goes ahead of
// the waiters that are not.
func (g *passwordGate) acquire(ctx context.Context, kib int64, first bool) bool {
	g.mu.Lock()
	if g.queue.Len() == 0 && g.used+kib <= g.budget {
		g.start(kib)
		g.mu.Unlock()
		return true
	}
	// The line is bounded; those going first may use it twice over, so a
	// full line of guessers does not shut out an admin.
	if n := g.queue.Len(); n >= 2*g.maxWaiters || (!first && n >= g.maxWaiters) {
		g.stats.Busy++
		g.mu.Unlock()
		return false
	}
	w := &slotWaiter{kib: kib, first: first, ready: make(chan struct{})}
	var el *list.Element
	if first {
		mark := g.queue.Front()
		for mark != nil && mark.Value.(*slotWaiter).first {
			mark = mark.Next()
		}
		if mark != nil {
			el = g.queue.InsertBefore(w, mark)
		}
	}
	if el == nil {
		el = g.queue.PushBack(w)
	}
	g.mu.Unlock()

	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case <-w.ready:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-w.ready: // granted as the wait ended: take it
		return true
	default:
	}
	g.queue.Remove(el)
	g.stats.Busy++
	g.grant() // the next in line may fit now that this one left
	return false
}

// start counts a run that got its memory; g.mu is held.
func (g *passwordGate) start(kib int64) {
	g.used += kib
	g.stats.InFlight++
	g.stats.Runs++
	g.stats.Peak = max(g.stats.Peak, g.stats.InFlight)
}

func (g *passwordGate) release(kib int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.used -= kib
	g.stats.InFlight--
	g.grant()
}

// grant starts the waiters at the head of the line that fit, in order;
// g.mu is held.
func (g *passwordGate) grant() {
	for el := g.queue.Front(); el != nil; el = g.queue.Front() {
		w := el.Value.(*slotWaiter)
		if g.used+w.kib > g.budget {
			return
		}
		g.queue.Remove(el)
		g.start(w.kib)
		close(w.ready)
	}
}

// nameKey is the backoff key of an admin name: a digest, so a long name
// costs no more memory than a short one.
func nameKey(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "name:" + hex.EncodeToString(sum[:16])
}

// addrKey is what a client's address counts as: the IPv4 address, or the
// IPv6 /64 (one subscriber's network); unparseable addresses count as one.
func addrKey(remote string) netip.Prefix {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	p, _ := a.Prefix(64)
	return p
}

// addrString prints an address key for logs and incidents.
func addrString(p netip.Prefix) string {
	switch {
	case !p.IsValid():
		return "unknown"
	case p.IsSingleIP():
		return p.Addr().String()
	}
	return p.String()
}

// BackoffConfig says how wrong admin credentials are held back.
type BackoffConfig struct {
	// FreeFailures is how many failures a name or address may have before
	// it is held back (default 5).
	FreeFailures int
	// Base is the first wait after them (default 1s); each further failure
	// doubles it, up to Max (default 5min).
	Base, Max time.Duration
	// Forget is how long after its last failure a name or address starts
	// afresh (default 1h).
	Forget time.Duration
	// Entries bounds how many names (and, separately, addresses) are
	// remembered (default 4096); when full, the one with the fewest
	// failures is forgotten first, so a flood of new names cannot push
	// out the one being guessed.
	Entries int
}

// DefaultBackoff returns the defaults of BackoffConfig.
func DefaultBackoff() BackoffConfig {
	return BackoffConfig{FreeFailures: 5, Base: time.Second, Max: 5 * time.Minute, Forget: time.Hour, Entries: 4096}
}

func (c *BackoffConfig) fill() {
	d := DefaultBackoff()
	if c.FreeFailures <= 0 {
		c.FreeFailures = d.FreeFailures
	}
	if c.Base <= 0 {
		c.Base = d.Base
	}
	if c.Max < c.Base {
		c.Max = max(d.Max, c.Base)
	}
	if c.Forget <= 0 {
		c.Forget = d.Forget
	}
	if c.Entries <= 0 {
		c.Entries = d.Entries
	}
}

// backoffTable remembers recent failures by key, bounded.
type backoffTable struct {
	cfg BackoffConfig
	mu  sync.Mutex
	m   map[string]*strikes
}

type strikes struct {
	fails int
	last  time.Time // of the last failure
	until time.Time // held back until then
}

func newBackoffTable(cfg BackoffConfig) *backoffTable {
	return &backoffTable{cfg: cfg, m: make(map[string]*strikes)}
}

// wait returns how long k is still held back at now; 0 if it is not.
func (t *backoffTable) wait(k string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.m[k]
	if s == nil {
		return 0
	}
	if now.Sub(s.last) >= t.cfg.Forget {
		delete(t.m, k)
		return 0
	}
	return max(0, s.until.Sub(now))
}

// fail records a failure of k at now.
func (t *backoffTable) fail(k string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.m[k]
	if s == nil || now.Sub(s.last) >= t.cfg.Forget {
		if s == nil && len(t.m) >= t.cfg.Entries {
			t.evict(now)
		}
		s = &strikes{}
		t.m[k] = s
	}
	s.fails++
	s.last = now
	if n := s.fails - t.cfg.FreeFailures; n > 0 {
		d := t.cfg.Max
		if n <= 30 && t.cfg.Base<<(n-1) < t.cfg.Max {
			d = t.cfg.Base << (n - 1)
		}
		s.until = now.Add(d)
	}
}

// forget clears k after a success.
func (t *backoffTable) forget(k string) {
	t.mu.Lock()
	delete(t.m, k)
	t.mu.Unlock()
}

// evict makes room: expired entries first, else the one with the fewest
// failures (the oldest of those). t.mu is held.
func (t *backoffTable) evict(now time.Time) {
	var victim string
	var vs *strikes
	for k, s := range t.m {
		if now.Sub(s.last) >= t.cfg.Forget {
			delete(t.m, k)
			continue
		}
		if vs == nil || s.fails < vs.fails || (s.fails == vs.fails && s.last.Before(vs.last)) {
			victim, vs = k, s
		}
	}
	if len(t.m) >= t.cfg.Entries && vs != nil {
		delete(t.m, victim)
	}
}

// recentSet remembers keys (addresses) for keep after they were added,
// at most max of them (the oldest go first).
type recentSet struct {
	keep time.Duration
	max  int

	mu sync.Mutex
	m  map[string]time.Time
}

func (r *recentSet) add(k string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.m[k]; !ok && len(r.m) >= r.max {
		var oldest string
		var at time.Time
		for k, t := range r.m {
			if oldest == "" || t.Before(at) {
				oldest, at = k, t
			}
		}
		delete(r.m, oldest)
	}
	r.m[k] = now
}

func (r *recentSet) has(k string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.m[k]
	return ok && now.Sub(t) < r.keep
}
