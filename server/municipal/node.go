package municipal

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/server/cluster"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// Config configures a municipal node. Start from DefaultConfig.
type Config struct {
	// Dir is the data directory made by Init.
	Dir string
	// TrustFile is the trust file; empty means trust.json in Dir (the copy
	// Init made). It is read at New: restart the node after changing it.
	TrustFile string
	// HTTPAddr is where the public routes listen (the public page and
	// feed at /, statistics at /stats), host:port; empty serves none
	// (Handler still gives them). Plain HTTP: put TLS in front.
	HTTPAddr string
	// OpsAddr is where the operators' routes listen (/status, /incidents,
	// POST /pull); empty serves none. Default 127.0.0.1:8081: they say
	// which counties failed or were tampered with, for the operators.
	OpsAddr string
	// Cluster configures the node's cluster member; New sets its role tag
	// and, if empty, its node name ("municipal-" and the node's ID).
	// Cluster.Join lists members to join (any county server will do);
	// an empty Cluster.SnapshotPath means serf.snapshot in Dir.
	Cluster cluster.Config
	// Public, if set, makes the public page and feed over the node's
	// replica (n.Store()), mounted at /, with n as the sink of the cases
	// filed there (public.Config.Intake: n implements public.IntakeSink).
	// Nil mounts a placeholder page.
	Public func(n *Node) http.Handler
	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock (incidents, statistics' "today"); nil means time.Now.
	Now func() time.Time
	// Calendar resolves working-day deadlines; nil means calendar.Default().
	Calendar *calendar.Calendar
	// Directory names offices in statistics; nil means office.Luoyang().
	Directory *office.Directory
	// HandshakeTimeout bounds connecting to a county and the hello
	// exchange (default 15s); WriteWait one write (default 15s); PongWait
	// how long a county may stay silent, pings included (default 75s; it
	// pings every 25s).
	HandshakeTimeout, WriteWait, PongWait time.Duration
	// Linger is how long a pull stays connected after catching up, so
	// that a county ingesting steadily streams on without a reconnect per
	// announcement (default 5s). The next announcement after it closed
	// opens a new pull.
	Linger time.Duration
	// MinBackoff and MaxBackoff bound the wait before pulling again after
	// a pull failed while the county is alive (defaults 1s and 1min;
	// doubling, with jitter). An announcement from the county retries at
	// once.
	MinBackoff, MaxBackoff time.Duration
	// ApplyBatch is how many change sets are applied per transaction
	// (default 32). It must not exceed the county's Window (default 256),
	// or a pull stalls. Larger is not faster: bbolt splits a page's node
	// only at commit, so the nodes a transaction inserts into grow with it
	// and every insert in the middle of one moves what follows it; at 128
	// the node converged 1.4x slower than at 32 (docs/benchmarks-municipal.md).
	ApplyBatch int
	// NetDial, if set, dials the TCP connections to counties (tests cut
	// them this way).
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)
	// AllowInsecure accepts counties advertising a plain ws:// upstream
	// on a loopback address (development with -insecure-loopback).
	AllowInsecure bool
	// NoSync skips fsync on the replica: benchmarks only.
	NoSync bool
	// EvidenceFetches is how many evidence files the node fetches from
	// counties at once, for its public page (default 2): one at a time per
	// county session, and each is held in memory, at most
	// protocol.MaxEvidenceBytes, while its hash is checked.
	EvidenceFetches int

	// ReadTimeout bounds reading a whole HTTP request (default 30s),
	// WriteTimeout writing its answer (default 2min: an evidence file to a
	// slow client), IdleTimeout how long a keep-alive connection may wait
	// for its next request (default 60s), on the public and the operators'
	// routes alike. Headers must arrive within 10s.
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// PublicConcurrency is how many public pages and feed answers are made
	// at once (default half the CPUs, at least 1), so that public traffic
	// leaves the pulls from the counties CPU to verify and apply;
	// PublicQueue how many more wait their turn (default 64). A request
	// beyond both is answered 503 with Retry-After. Evidence files are
	// served apart: they cost the disk, not the CPU.
	PublicConcurrency, PublicQueue int
}

// DefaultConfig returns the defaults for a node in dir; a new value each
// call.
func DefaultConfig(dir string) Config {
	return Config{
		Dir:               dir,
		HTTPAddr:          ":8080",
		OpsAddr:           "127.0.0.1:8081",
		Cluster:           cluster.DefaultConfig(),
		HandshakeTimeout:  15 * time.Second,
		WriteWait:         15 * time.Second,
		PongWait:          75 * time.Second,
		Linger:            5 * time.Second,
		MinBackoff:        time.Second,
		MaxBackoff:        time.Minute,
		ApplyBatch:        32,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       time.Minute,
		PublicConcurrency: max(1, runtime.GOMAXPROCS(0)/2),
		PublicQueue:       64,
		EvidenceFetches:   2,
	}
}

func (c *Config) fill() {
	d := DefaultConfig(c.Dir)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Calendar == nil {
		c.Calendar = calendar.Default()
	}
	if c.Directory == nil {
		c.Directory = office.Luoyang()
	}
	if c.TrustFile == "" {
		c.TrustFile = filepath.Join(c.Dir, fileTrust)
	}
	def := func(v *time.Duration, x time.Duration) {
		if *v <= 0 {
			*v = x
		}
	}
	def(&c.HandshakeTimeout, d.HandshakeTimeout)
	def(&c.WriteWait, d.WriteWait)
	def(&c.PongWait, d.PongWait)
	if c.Linger < 0 {
		c.Linger = 0
	}
	def(&c.MinBackoff, d.MinBackoff)
	def(&c.MaxBackoff, d.MaxBackoff)
	if c.ApplyBatch <= 0 {
		c.ApplyBatch = d.ApplyBatch
	}
	if c.EvidenceFetches <= 0 {
		c.EvidenceFetches = d.EvidenceFetches
	}
	def(&c.ReadTimeout, d.ReadTimeout)
	def(&c.WriteTimeout, d.WriteTimeout)
	def(&c.IdleTimeout, d.IdleTimeout)
	if c.PublicConcurrency <= 0 {
		c.PublicConcurrency = d.PublicConcurrency
	}
	if c.PublicQueue <= 0 {
		c.PublicQueue = d.PublicQueue
	}
	if c.Cluster.Logger == nil {
		c.Cluster.Logger = c.Logger
	}
}

// Node is a municipal platform node (市信用信息综合平台): it discovers
// county servers through the cluster, pulls each trusted county's feed,
// verifies everything itself and keeps the union in one replica, which it
// publishes and summarises.
type Node struct {
	cfg    Config
	id     *Identity
	trust  Trust
	st     *store.Store
	log    *slog.Logger
	member *cluster.Member
	httpLn net.Listener
	opsLn  net.Listener
	stats  statsCache
	busy   atomic.Uint64 // public requests refused by the concurrency limit

	// fetchSem holds a token per evidence file being fetched (link.go).
	fetchSem chan struct{}
	// backups holds a token while a backup is taken (backup.go).
	backups chan struct{}

	mu       sync.Mutex
	counties map[office.Code]*county
	changed  chan struct{} // closed and replaced on every status change
	cancel   context.CancelFunc
	serving  chan struct{} // closed when Serve returns
	closed   bool
}

// county is what the node knows of one county, trusted or not. Guarded by
// Node.mu.
type county struct {
	code     office.Code
	key      ed25519.PublicKey // from the trust file; nil: not trusted
	kick     chan struct{}
	member   string // serf node name
	status   string // alive, failed, left, reaped; "" until seen
	addr     string // upstream URL from the tags
	fp       string // TLS fingerprint from the tags
	head     uint64 // the county's feed head, as last heard (tags, events, welcome)
	applied  uint64 // cursor: applied up to here
	state    string // see CountyStatus.State
	force    bool   // an announcement asked for a pull
	pulled   bool   // pulled since it was last seen joining
	lastOK   time.Time
	lastErr  string
	problem  *Incident // why it is tampered, wrong_key or behind
	session  *puller   // the upstream session open with it, if any
	fetched  int       // evidence files fetched from it since the node started
	notYet   int       // evidence asks it answered not_found since the node started
	restored int       // times the county's feed was seen restored (a new epoch) since the node started
	plain    bool      // it refused a hello with the feed epoch: a county server older than epochs (pull.go)
}

// Pull states.
const (
	StateWaiting   = "waiting"   // nothing to pull, or not reachable: waiting for the county
	StatePulling   = "pulling"   // connected, receiving
	StateCaughtUp  = "caught_up" // everything the county had is applied
	StateError     = "error"     // the last pull failed (network, refusal); retrying
	StateTampered  = "tampered"  // the county sent something altered; see the incident
	StateWrongKey  = "wrong_key" // the county server answered with another key than the trust file's
	StateBehind    = "behind"    // the county's feed ends before what was applied from it
	StateUntrusted = "untrusted" // discovered, but not in the trust file: never pulled
)

// New opens the node's files and its listeners; Serve joins the cluster
// and starts pulling. Close when done.
func New(cfg Config) (*Node, error) {
	cfg.fill()
	id, err := LoadIdentity(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if err := ensureOpsToken(cfg.Dir); err != nil {
		return nil, err
	}
	trust, err := LoadTrust(cfg.TrustFile)
	if err != nil {
		return nil, err
	}
	// The replica asks the node about public cases naming it (intake.go)
	// before it applies them; n exists by the first one.
	var n *Node
	st, err := store.Open(filepath.Join(cfg.Dir, fileDB), &store.Options{Feed: true, Now: cfg.Now, Logger: cfg.Logger, NoSync: cfg.NoSync,
		Admit: func(tx *bolt.Tx, cs *protocol.ChangeSet) error { return n.admit(tx, cs) }})
	if err != nil {
		return nil, err
	}
	n = &Node{cfg: cfg, id: id, trust: trust, st: st, log: cfg.Logger.With("municipal", id.Name),
		counties: make(map[office.Code]*county), changed: make(chan struct{}), serving: make(chan struct{}),
		fetchSem: make(chan struct{}, cfg.EvidenceFetches), backups: make(chan struct{}, 1)}
	fail := func(err error) (*Node, error) {
		n.closeListeners()
		st.Close()
		return nil, err
	}
	if err := ensureBuckets(st); err != nil {
		return fail(err)
	}
	err = st.View(func(tx *bolt.Tx) error {
		for code, key := range trust {
			n.counties[code] = &county{code: code, key: key, kick: make(chan struct{}, 1), state: StateWaiting,
				applied: getCursor(tx, code)}
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	ccfg := cfg.Cluster
	ccfg.Tags = cluster.Tags{Role: cluster.RoleMunicipal}
	if ccfg.NodeName == "" {
		ccfg.NodeName = "municipal-" + id.ID.Short()
	}
	if ccfg.SnapshotPath == "" {
		ccfg.SnapshotPath = filepath.Join(cfg.Dir, fileSnapshot)
	}
	ccfg.OnEvent = n.onEvent
	if n.member, err = cluster.New(ccfg); err != nil {
		return fail(err)
	}
	if cfg.HTTPAddr != "" {
		if n.httpLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			return fail(err)
		}
	}
	if cfg.OpsAddr != "" {
		if n.opsLn, err = net.Listen("tcp", cfg.OpsAddr); err != nil {
			return fail(err)
		}
	}
	return n, nil
}

func (n *Node) closeListeners() {
	if n.httpLn != nil {
		n.httpLn.Close()
	}
	if n.opsLn != nil {
		n.opsLn.Close()
	}
}

// Identity returns who the node is.
func (n *Node) Identity() *Identity { return n.id }

// Store returns the city replica.
func (n *Node) Store() *store.Store { return n.st }

// Trust returns the trusted counties and their keys.
func (n *Node) Trust() Trust { return n.trust }

// HTTPAddr returns the address of the public routes, if served.
func (n *Node) HTTPAddr() string { return addrOf(n.httpLn) }

// OpsAddr returns the address of the operators' routes, if served.
func (n *Node) OpsAddr() string { return addrOf(n.opsLn) }

// ClusterAddr returns the host:port of the node's cluster member, once
// Serve has started it.
func (n *Node) ClusterAddr() string { return n.member.Addr() }

func addrOf(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return ln.Addr().String()
}

// Serve joins the cluster, pulls counties as they announce themselves and
// serves HTTP until ctx ends or Close is called; then it leaves the
// cluster. It returns nil after a clean stop.
func (n *Node) Serve(ctx context.Context) error {
	defer close(n.serving)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return errors.New("municipal node closed")
	}
	n.cancel = cancel
	n.mu.Unlock()

	if err := n.member.Start(); err != nil {
		return err
	}
	var wg sync.WaitGroup
	n.mu.Lock()
	for _, c := range n.counties {
		if c.key != nil {
			wg.Add(1)
			go func() { defer wg.Done(); n.work(ctx, c) }()
		}
	}
	n.mu.Unlock()

	errc := make(chan error, 2)
	var servers []*http.Server
	serve := func(ln net.Listener, h http.Handler) {
		if ln == nil {
			return
		}
		hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout: n.cfg.ReadTimeout, WriteTimeout: n.cfg.WriteTimeout, IdleTimeout: n.cfg.IdleTimeout,
			MaxHeaderBytes: 64 << 10,
			ErrorLog:       slog.NewLogLogger(n.log.Handler(), slog.LevelWarn),
			BaseContext:    func(net.Listener) context.Context { return ctx }}
		servers = append(servers, hs)
		go func() {
			if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	serve(n.httpLn, n.Handler())
	serve(n.opsLn, n.OpsHandler())
	n.log.Info("municipal node serving", "node", n.id.ID, "http", n.HTTPAddr(), "ops", n.OpsAddr(),
		"cluster", n.member.Addr(), "trusted", len(n.trust))

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		cancel()
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	for _, hs := range servers {
		hs.Shutdown(sctx)
	}
	scancel()
	wg.Wait()
	if lerr := n.member.Leave(); lerr != nil {
		n.log.Info("leaving the cluster", "err", lerr)
	}
	n.member.Shutdown()
	return err
}

// Close stops Serve if it runs, then closes the replica. It is safe to
// call more than once.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	cancel := n.cancel
	n.mu.Unlock()
	if cancel != nil {
		cancel()
		<-n.serving
	}
	n.member.Shutdown()
	n.closeListeners()
	return n.st.Close()
}

// Refresh asks every alive trusted county for what it has now, as an
// announcement would (operators: POST /pull).
func (n *Node) Refresh() {
	n.mu.Lock()
	for _, c := range n.counties {
		if c.key != nil {
			c.force = true
			kick(c)
		}
	}
	n.mu.Unlock()
}

func kick(c *county) {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Changed returns a channel closed at the next change of Status.
func (n *Node) Changed() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.changed
}

// notify wakes Changed waiters; n.mu must be held.
func (n *Node) notify() {
	close(n.changed)
	n.changed = make(chan struct{})
}

// onEvent takes the cluster's events: counties appear, change their tags
// (a new feed head), fail, leave and announce advances. It only updates
// state and wakes the county's worker: it must not block serf.
func (n *Node) onEvent(e cluster.Event) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch e.Kind {
	case cluster.EventUser:
		if e.Name != cluster.AdvanceEvent {
			return
		}
		code, head, err := cluster.ParseAdvance(e.Payload)
		if err != nil {
			n.log.Info("ignoring an advance event", "err", err)
			return
		}
		c := n.counties[code]
		if c == nil || c.key == nil {
			return
		}
		c.head = max(c.head, head)
		c.force = true
		kick(c)
	default:
		for _, m := range e.Members {
			if m.TagErr != nil || m.Tags.Role != cluster.RoleCounty {
				continue
			}
			n.memberEvent(e.Kind, m)
		}
	}
	n.notify()
}

func (n *Node) memberEvent(kind cluster.EventKind, m cluster.MemberInfo) {
	c := n.counties[m.Tags.County]
	if c == nil {
		c = &county{code: m.Tags.County, state: StateUntrusted}
		n.counties[c.code] = c
		n.log.Warn("a county server joined that the trust file does not list: it is not pulled", "county", string(c.code), "member", m.Name)
	}
	if c.member != "" && c.member != m.Name && c.status == "alive" && kind != cluster.EventFailed && kind != cluster.EventLeave {
		n.log.Warn("two cluster members claim one county", "county", string(c.code), "old", c.member, "new", m.Name)
	}
	switch kind {
	case cluster.EventJoin:
		c.status, c.pulled = "alive", false
		c.head = m.Tags.Head // a server restored from a backup may come back lower
	case cluster.EventUpdate:
		c.status = "alive"
		c.head = max(c.head, m.Tags.Head)
	case cluster.EventFailed:
		c.status = "failed"
	case cluster.EventLeave:
		c.status = "left"
	case cluster.EventReap:
		c.status = "reaped"
	}
	c.member, c.addr, c.fp = m.Name, m.Tags.Upstream, m.Tags.Fingerprint
	if c.key != nil && c.status == "alive" {
		kick(c)
	}
}

// pullTarget is what a worker needs to pull a county.
type pullTarget struct {
	code     office.Code
	key      ed25519.PublicKey
	upstream string
	fp       string
}

// next decides whether a county needs a pull now: it is alive and either
// announced an advance, has more than was applied, or was not pulled since
// it (re)joined.
func (n *Node) next(c *county) (pullTarget, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if c.status != "alive" || c.addr == "" {
		if c.state == StatePulling {
			c.state = StateWaiting
		}
		return pullTarget{}, false
	}
	if !c.force && c.pulled && c.head <= c.applied {
		return pullTarget{}, false
	}
	c.force, c.pulled = false, true
	return pullTarget{code: c.code, key: c.key, upstream: c.addr, fp: c.fp}, true
}

// work pulls one county whenever the cluster says there is something to
// pull: there is no polling loop, only retries after a failure while the
// county is alive.
func (n *Node) work(ctx context.Context, c *county) {
	backoff := time.Duration(0)
	for {
		select {
		case <-c.kick:
		case <-ctx.Done():
			return
		}
		for {
			t, ok := n.next(c)
			if !ok {
				break
			}
			err := n.pull(ctx, c, t)
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				backoff = 0
				continue // more may have come meanwhile
			}
			if errors.Is(err, errStuck) {
				break // tampered, wrong key or behind: until the county changes
			}
			backoff = min(max(2*backoff, n.cfg.MinBackoff), n.cfg.MaxBackoff)
			wait := backoff/2 + rand.N(backoff/2+1)
			n.log.Info("pull failed; retrying", "county", string(c.code), "err", err, "in", wait.Round(time.Millisecond))
			timer := time.NewTimer(wait)
			select {
			case <-timer.C:
				n.mu.Lock()
				c.force = true
				n.mu.Unlock()
			case <-c.kick:
				timer.Stop()
			case <-ctx.Done():
				timer.Stop()
				return
			}
		}
	}
}

// CountyStatus is where one county stands, as the node sees it.
type CountyStatus struct {
	County  office.Code `json:"county"`
	Name    string      `json:"name,omitempty"`
	Trusted bool        `json:"trusted"`
	// Member is the county server's cluster status: alive, failed, left,
	// reaped, or "" if never seen.
	Member     string `json:"member"`
	MemberName string `json:"member_name,omitempty"`
	Upstream   string `json:"upstream,omitempty"`
	// Head is the county's feed head as last heard; Applied what this
	// node has applied; Lag the difference (change sets behind).
	Head    uint64 `json:"head"`
	Applied uint64 `json:"applied"`
	Lag     uint64 `json:"lag"`
	// State is the pull state: waiting, pulling, caught_up, error,
	// tampered, wrong_key, behind, untrusted.
	State     string    `json:"state"`
	LastOK    time.Time `json:"last_ok,omitzero"` // the last pull that ended well
	LastError string    `json:"last_error,omitempty"`
	Incident  *Incident `json:"incident,omitempty"` // why it is tampered, wrong_key or behind
	// IntakesPending counts the cases filed on this node for the county
	// that it has not accepted yet (intake.go); EvidenceFetched the
	// evidence files fetched from it since the node started (link.go).
	IntakesPending  int `json:"intakes_pending"`
	EvidenceFetched int `json:"evidence_fetched"`
	// EvidenceNotYet counts the files the node asked the county for
	// before the county held them (the device's upload still on its way),
	// since the node started; each is asked for again once the county
	// says it holds it or its feed moves on.
	EvidenceNotYet int `json:"evidence_not_yet"`
	// Restored counts the times since the node started that the county
	// served a feed of another epoch (restored from a backup), and the
	// node pulled it again from the start.
	Restored int `json:"restored,omitempty"`
}

// Status is the node's view of the city.
type Status struct {
	Node      string         `json:"node"`
	NodeID    string         `json:"node_id"`
	Counties  []CountyStatus `json:"counties"`
	Incidents int            `json:"incidents"`
	Members   int            `json:"cluster_members"` // alive, this node included
	Time      time.Time      `json:"time"`
	// PublicBusy counts the public requests answered 503 since the node
	// started: more came at once than PublicConcurrency and PublicQueue.
	PublicBusy uint64 `json:"public_busy"`
}

// Status returns where every county stands.
func (n *Node) Status() Status {
	n.mu.Lock()
	out := Status{Node: n.id.Name, NodeID: n.id.ID.String(), Time: n.cfg.Now().UTC(), PublicBusy: n.busy.Load()}
	for _, c := range n.counties {
		cs := CountyStatus{County: c.code, Trusted: c.key != nil, Member: c.status, MemberName: c.member, Upstream: c.addr,
			Head: c.head, Applied: c.applied, State: c.state, LastOK: c.lastOK, LastError: c.lastErr, Incident: c.problem,
			EvidenceFetched: c.fetched, EvidenceNotYet: c.notYet, Restored: c.restored}
		if c.head > c.applied {
			cs.Lag = c.head - c.applied
		}
		if u, ok := n.cfg.Directory.Lookup(c.code); ok {
			cs.Name = u.Name
		}
		out.Counties = append(out.Counties, cs)
	}
	n.mu.Unlock()
	slices.SortFunc(out.Counties, func(a, b CountyStatus) int {
		if a.County < b.County {
			return -1
		}
		if a.County > b.County {
			return 1
		}
		return 0
	})
	for _, m := range n.member.Members() {
		if m.Status == "alive" {
			out.Members++
		}
	}
	n.st.View(func(tx *bolt.Tx) error { out.Incidents = tx.Bucket(bIncidents).Stats().KeyN; return nil })
	if pending, err := n.intakesPending(); err == nil {
		for i := range out.Counties {
			out.Counties[i].IntakesPending = pending[out.Counties[i].County]
		}
	}
	return out
}

// County returns one county's status.
func (n *Node) County(code office.Code) (CountyStatus, bool) {
	for _, c := range n.Status().Counties {
		if c.County == code {
			return c, true
		}
	}
	return CountyStatus{}, false
}

// WaitFor waits until ok holds for the status, or ctx ends. It wakes on
// every status change, so it waits on events, never polls.
func (n *Node) WaitFor(ctx context.Context, ok func(Status) bool) (Status, error) {
	for {
		ch := n.Changed()
		s := n.Status()
		if ok(s) {
			return s, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return s, fmt.Errorf("waiting for the municipal node: %w", ctx.Err())
		}
	}
}

// update changes a county's state under the lock and wakes waiters.
func (n *Node) update(c *county, fn func(c *county)) {
	n.mu.Lock()
	fn(c)
	n.notify()
	n.mu.Unlock()
}
