package county_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
)

// chaosProxy forwards TCP connections to the server and, while it has cuts
// left, kills each connection after a random number of bytes in a random
// direction, adding a little latency to every chunk: a township link that
// drops every few minutes, compressed into a test.
type chaosProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	rng    *rand.Rand
	cuts   int          // cuts still to make
	made   atomic.Int64 // cuts made
	wg     sync.WaitGroup
	// budget, if set, replaces the random cuts: every connection is cut
	// once it has carried budget bytes, both directions together.
	budget int64
	moved  atomic.Int64 // bytes forwarded, every connection, both ways
}

func newChaosProxy(t *testing.T, target string, cuts int, seed uint64) *chaosProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &chaosProxy{ln: ln, target: target, rng: rand.New(rand.NewPCG(seed, 99)), cuts: cuts}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

// newBudgetProxy forwards TCP connections to the server and cuts every
// one of them once it has carried budget bytes, both ways together: a link
// that drops every few seconds, each time after carrying as much as it
// could. It counts the bytes it forwards.
func newBudgetProxy(t *testing.T, target string, budget int64, seed uint64) *chaosProxy {
	p := newChaosProxy(t, target, 0, seed)
	p.budget = budget
	return p
}

func (p *chaosProxy) addr() string { return p.ln.Addr().String() }

// plan decides the fate of one connection: how many bytes each direction
// may carry before the cut (-1: never cut).
func (p *chaosProxy) plan() (up, down int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cuts == 0 {
		return -1, -1
	}
	p.cuts--
	// Anywhere from the TLS handshake to the middle of a frame, small
	// offsets more often than large ones.
	at := int64(1 + p.rng.IntN(1+p.rng.IntN(32<<10)))
	if p.rng.IntN(2) == 0 {
		return at, -1
	}
	return -1, at
}

func (p *chaosProxy) delay() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Duration(p.rng.IntN(300)) * time.Microsecond
}

func (p *chaosProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		// Each direction counts what it carried against its limit; with a
		// budget both count against the same one.
		up, down := p.plan()
		upN, downN := &atomic.Int64{}, &atomic.Int64{}
		if p.budget > 0 {
			up, down, downN = p.budget, p.budget, upN
		}
		var once sync.Once
		kill := func() {
			once.Do(func() {
				c.Close()
				s.Close()
			})
		}
		p.wg.Add(2)
		go func() { defer p.wg.Done(); p.pipe(s, c, up, upN); kill() }()
		go func() { defer p.wg.Done(); p.pipe(c, s, down, downN); kill() }()
	}
}

// pipe copies src to dst until carried, which it adds to, would pass
// limit (if limit >= 0): the cut lands inside the chunk that passes it.
func (p *chaosProxy) pipe(dst io.Writer, src io.Reader, limit int64, carried *atomic.Int64) {
	buf := make([]byte, 4<<10)
	for {
		k, err := src.Read(buf)
		if k > 0 {
			n := carried.Add(int64(k))
			if limit >= 0 && n > limit {
				if rest := int64(k) - (n - limit); rest > 0 {
					dst.Write(buf[:rest])
					p.moved.Add(rest)
				}
				p.made.Add(1)
				return
			}
			if d := p.delay(); d > 0 {
				time.Sleep(d) // latency of a slow link, not a synchronisation
			}
			if _, werr := dst.Write(buf[:k]); werr != nil {
				return
			}
			p.moved.Add(int64(k))
		}
		if err != nil {
			return
		}
	}
}

// syncThrough retries SyncOnce until it completes, as the engine's Run
// would, and returns how many attempts failed.
func syncThrough(t *testing.T, d *device) int {
	t.Helper()
	failures := 0
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := d.eng.SyncOnce(ctx)
		cancel()
		if err == nil {
			return failures
		}
		if failures++; failures > 500 {
			t.Fatalf("sync never completed: %v", err)
		}
	}
}

// TestChaosSyncConverges: five devices of a township each make 500
// operations offline, some editing the same fields, then sync through a
// proxy that cuts connections at random byte offsets and adds delay. At the
// end the county and every device are identical, every operation is there
// exactly once, and the conflict queue holds exactly the fields two devices
// edited without seeing each other's edit.
func TestChaosSyncConverges(t *testing.T) {
	const devices, opsEach, commitments = 5, 500, 20
	h := newHarness(t)
	proxy := newChaosProxy(t, h.addr, 40, 7)
	url := "wss://" + proxy.addr() + "/sync"
	var ds []*device
	for range devices {
		ds = append(ds, h.deviceVia(townA, domain.RoleLeader, url))
	}

	// The first device records the township's drafts; everyone gets them.
	var refs []store.Ref
	for i := range commitments {
		refs = append(refs, ds[0].create(fmt.Sprintf("承诺事项 %02d", i)))
	}
	for _, i := range []int{0, 1, 2, 3, 4} {
		syncThrough(t, ds[i])
	}
	for i := 0; i < commitments; i += 2 {
		if err := ds[0].se.Publish(refs[i]); err != nil { // even ones take fulfilment entries
			t.Fatal(err)
		}
	}
	syncThrough(t, ds[0])
	for _, d := range ds[1:] {
		syncThrough(t, d)
	}

	// Offline: each device makes its operations; the oracle notes who
	// wrote which field.
	rng := rand.New(rand.NewPCG(11, 13))
	fields := []domain.Field{domain.FieldTitle, domain.FieldText, domain.FieldResponsible}
	writers := map[[2]string]map[int]bool{}
	entries := 0
	for di, d := range ds {
		for n := range opsEach {
			ref := refs[rng.IntN(commitments)]
			published := refs[0] == ref || indexOf(refs, ref)%2 == 0
			if published {
				if _, err := d.se.LogFulfilment(ref, store.EntryInput{Date: calendar.NewDate(2026, 11, 1+n%20), Progress: n % 101, Note: fmt.Sprintf("终端%d第%d条", di, n)}); err != nil {
					t.Fatal(err)
				}
				entries++
				continue
			}
			f := fields[rng.IntN(len(fields))]
			if err := d.se.Edit(ref, f, fmt.Sprintf("终端%d-修改%d", di, n)); err != nil {
				t.Fatal(err)
			}
			k := [2]string{ref.ID.String(), string(f)}
			if writers[k] == nil {
				writers[k] = map[int]bool{}
			}
			writers[k][di] = true
		}
	}
	want := map[[2]string]bool{}
	for k, w := range writers {
		if len(w) > 1 {
			want[k] = true
		}
	}
	if len(want) == 0 {
		t.Fatal("the scenario made no concurrent edits: it would prove nothing about conflicts")
	}

	// Everyone syncs, concurrently, through the faulty link: first until
	// every device has pushed, then once more so everyone has everything.
	failures := atomic.Int64{}
	for round := 0; round < 2; round++ {
		var wg sync.WaitGroup
		for _, d := range ds {
			wg.Add(1)
			go func() { defer wg.Done(); failures.Add(int64(syncThrough(t, d))) }()
		}
		wg.Wait()
	}
	if proxy.made.Load() < 10 || failures.Load() == 0 {
		t.Fatalf("the proxy cut %d connections and %d syncs failed: the link was not faulty", proxy.made.Load(), failures.Load())
	}
	t.Logf("%d connections cut, %d sync attempts failed and were retried", proxy.made.Load(), failures.Load())

	countyDigest, err := h.srv.Store().Digest()
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range ds {
		if d.digest() != countyDigest {
			t.Fatalf("device %d differs from the county", i)
		}
		if p, _ := d.st.Pending(); p.OutboxChangeSets != 0 || p.PendingOps != 0 {
			t.Fatalf("device %d still has unacknowledged work: %+v", i, p)
		}
	}
	// Exactly once: the county's log holds every operation of every device
	// once (its chains are gapless and each op number appears once), and the
	// entries are all there, no more.
	heads, _ := h.srv.Store().Heads()
	var ops uint64
	for _, hd := range heads {
		ops += hd.LastOp
	}
	if wantOps := uint64(devices*opsEach + commitments + commitments/2); ops != wantOps {
		t.Fatalf("county holds %d operations, want %d", ops, wantOps)
	}
	all, _ := h.srv.Store().AllCommitments()
	got := 0
	for _, c := range all {
		got += c.Entries
	}
	if got != entries {
		t.Fatalf("county holds %d fulfilment entries, want %d", got, entries)
	}
	queue, _ := h.srv.Store().Conflicts()
	gotConf := map[[2]string]bool{}
	for _, c := range queue {
		gotConf[[2]string{c.Ref.ID.String(), string(c.Field)}] = true
	}
	if len(gotConf) != len(want) {
		t.Fatalf("conflict queue holds %d fields, the oracle predicts %d", len(gotConf), len(want))
	}
	for k := range want {
		if !gotConf[k] {
			t.Fatalf("concurrent edits of %s of %s missing from the conflict queue", k[1], k[0])
		}
	}
}

func indexOf(refs []store.Ref, r store.Ref) int {
	for i, x := range refs {
		if x == r {
			return i
		}
	}
	return -1
}
