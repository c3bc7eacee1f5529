package municipal_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/server/cluster"
	"jiannuo/server/county"
	"jiannuo/server/municipal"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// The helpers run real county servers (real TLS on 127.0.0.1, real bbolt,
// a real serf member each on a loopback port), real municipal nodes and
// real township devices with the sync engine, enrolled as a county admin
// does. The device helper follows server/county/harness_test.go.

const (
	adminPass = "县信用办管理员口令"
	devPass   = "镇工作人员口令2026"
)

func quiet() *slog.Logger {
	if os.Getenv("JIANNUO_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// eventTimeout bounds every wait on cluster events and convergence: serf
// usually converges in well under a second on loopback, but 9 of 82 runs
// with 10 nodes took 12–42 s to a full-state sync (docs/benchmarks.md,
// reference figures), so waits are generous and wake on events, never on
// fixed sleeps.
const eventTimeout = 90 * time.Second

// countyNode is a county server with its cluster member.
type countyNode struct {
	t        testing.TB
	code     office.Code
	dir      string
	srv      *county.Server
	addr     string // HTTPS host:port, kept across restarts
	serfAddr string // serf host:port, kept across restarts
	join     []string
	member   *cluster.Member
	cancel   context.CancelFunc
	served   chan error
	key      ed25519.PublicKey
	fp       string
	noCheck  bool // its file was tampered with: skip the invariant check
	noSync   bool
	logs     io.Writer // where its logs go, if a test reads them
}

// logger logs to w at every level, or nowhere when w is nil.
func logger(w io.Writer) *slog.Logger {
	if w == nil {
		return quiet()
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func newCounty(t testing.TB, code office.Code, join ...string) *countyNode {
	t.Helper()
	return newCountyLogged(t, code, nil, join...)
}

// newCountyLogged is newCounty with the server's logs going to logs.
func newCountyLogged(t testing.TB, code office.Code, logs io.Writer, join ...string) *countyNode {
	t.Helper()
	dir := t.TempDir()
	if _, err := county.Init(dir, county.InitConfig{County: code, AdminName: "admin", AdminPassword: adminPass,
		KDF: auth.TestParams(), Logger: quiet()}); err != nil {
		t.Fatal(err)
	}
	c := &countyNode{t: t, code: code, dir: dir, addr: "127.0.0.1:0", serfAddr: "127.0.0.1:0", join: join, logs: logs}
	c.start()
	t.Cleanup(c.stop)
	return c
}

func (c *countyNode) start() {
	t := c.t
	t.Helper()
	cfg := county.DefaultConfig(c.dir)
	cfg.KDF, cfg.Logger, cfg.NoSync = auth.TestParams(), logger(c.logs), c.noSync
	srv, err := county.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		t.Fatal(err)
	}
	c.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	c.srv, c.cancel, c.served = srv, cancel, make(chan error, 1)
	go func() { c.served <- srv.Serve(ctx, ln) }()
	c.key = srv.Identity().Key.Public().(ed25519.PublicKey)
	c.fp = srv.Identity().Fingerprint

	head, err := srv.Store().FeedHead()
	if err != nil {
		t.Fatal(err)
	}
	mc := cluster.DefaultLocalConfig()
	mc.NodeName, mc.BindAddr, mc.Join, mc.Logger = "county-"+string(c.code), c.serfAddr, c.join, quiet()
	mc.SnapshotPath = filepath.Join(c.dir, "serf.snapshot")
	mc.Tags = cluster.Tags{Role: cluster.RoleCounty, County: c.code, Upstream: "wss://" + c.addr + "/upstream", Head: head, Fingerprint: c.fp}
	m, err := cluster.New(mc)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	c.member, c.serfAddr = m, m.Addr()
	go m.Announce(ctx, srv.FeedWaiter, srv.Store().FeedHead)
}

// kill stops the server and its cluster member abruptly: no leave, so the
// cluster sees it fail.
func (c *countyNode) kill() {
	if c.srv == nil {
		return
	}
	c.member.Shutdown()
	c.cancel()
	<-c.served
	c.srv.Close()
	c.srv = nil
}

// stop leaves the cluster and stops the server, checking its replica.
func (c *countyNode) stop() {
	if c.srv == nil {
		return
	}
	c.member.Leave()
	c.member.Shutdown()
	c.cancel()
	<-c.served
	if !c.noCheck {
		if err := c.srv.Store().Check(); err != nil {
			c.t.Errorf("county %s replica invariants: %v", c.code, err)
		}
	}
	c.srv.Close()
	c.srv = nil
}

func (c *countyNode) head() uint64 {
	c.t.Helper()
	h, err := c.srv.Store().FeedHead()
	if err != nil {
		c.t.Fatal(err)
	}
	return h
}

// dialGate lets a test cut a municipal node's connections to some
// addresses: blocking one refuses new connections and closes open ones.
type dialGate struct {
	mu      sync.Mutex
	blocked map[string]bool
	open    map[string][]net.Conn
}

func (g *dialGate) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.blocked[addr] {
		return nil, fmt.Errorf("dial %s: blocked by the test", addr)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err == nil {
		if g.open == nil {
			g.open = map[string][]net.Conn{}
		}
		g.open[addr] = append(g.open[addr], conn)
	}
	return conn, err
}

func (g *dialGate) set(addr string, blocked bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.blocked == nil {
		g.blocked = map[string]bool{}
	}
	g.blocked[addr] = blocked
	if blocked {
		for _, c := range g.open[addr] {
			c.Close()
		}
		delete(g.open, addr)
	}
}

// muniNode is a municipal node being served.
type muniNode struct {
	t      testing.TB
	dir    string
	join   []string
	trust  []byte
	gate   dialGate
	n      *municipal.Node
	cancel context.CancelFunc
	served chan error
	logs   io.Writer               // where its logs go, if a test reads them
	edit   func(*municipal.Config) // changes the test's config, if set
}

// newMunicipal initialises a municipal node trusting the counties and
// authorises it at each of them; start serves it.
func newMunicipal(t testing.TB, name string, counties ...*countyNode) *muniNode {
	t.Helper()
	trust := municipal.Trust{}
	for _, c := range counties {
		trust[c.code] = c.key
	}
	raw, err := trust.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	id, err := municipal.Init(dir, municipal.InitConfig{Name: name, Trust: raw})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range counties {
		if err := c.srv.AuthoriseUpstream(id.PublicKey(), name); err != nil {
			t.Fatal(err)
		}
	}
	m := &muniNode{t: t, dir: dir, trust: raw}
	t.Cleanup(m.stop)
	return m
}

func (m *muniNode) config() municipal.Config {
	cfg := municipal.DefaultConfig(m.dir)
	cfg.HTTPAddr, cfg.OpsAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Cluster = cluster.DefaultLocalConfig()
	cfg.Cluster.Join, cfg.Cluster.Logger = m.join, quiet()
	cfg.Cluster.SnapshotPath = filepath.Join(m.dir, "serf.snapshot")
	cfg.Logger = logger(m.logs)
	cfg.Linger = 300 * time.Millisecond
	cfg.MinBackoff, cfg.MaxBackoff = 50*time.Millisecond, time.Second
	cfg.NetDial = m.gate.dial
	if m.edit != nil {
		m.edit(&cfg)
	}
	return cfg
}

func (m *muniNode) start(join ...string) {
	m.t.Helper()
	m.join = join
	n, err := municipal.New(m.config())
	if err != nil {
		m.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.n, m.cancel, m.served = n, cancel, make(chan error, 1)
	go func() { m.served <- n.Serve(ctx) }()
}

func (m *muniNode) stop() {
	if m.n == nil {
		return
	}
	m.cancel()
	if err := <-m.served; err != nil {
		m.t.Errorf("municipal node stopped with %v", err)
	}
	if err := m.n.Store().Check(); err != nil {
		m.t.Errorf("municipal replica invariants: %v", err)
	}
	m.n.Close()
	m.n = nil
}

// waitFor waits on the node's status events until ok holds.
func (m *muniNode) waitFor(what string, ok func(municipal.Status) bool) municipal.Status {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), eventTimeout)
	defer cancel()
	s, err := m.n.WaitFor(ctx, ok)
	if err != nil {
		m.t.Fatalf("%s: %v; last status: %+v", what, err, s.Counties)
	}
	return s
}

func countyOf(s municipal.Status, code office.Code) municipal.CountyStatus {
	for _, c := range s.Counties {
		if c.County == code {
			return c
		}
	}
	return municipal.CountyStatus{}
}

// waitConverged waits until the node has applied every county's whole
// feed.
func (m *muniNode) waitConverged(counties ...*countyNode) municipal.Status {
	m.t.Helper()
	heads := map[office.Code]uint64{}
	for _, c := range counties {
		heads[c.code] = c.head()
	}
	return m.waitFor(fmt.Sprintf("convergence on %v", heads), func(s municipal.Status) bool {
		for code, h := range heads {
			if cs := countyOf(s, code); cs.Applied != h {
				return false
			}
		}
		return true
	})
}

// device is a township (or county-admin) device with its own replica.
type device struct {
	t   testing.TB
	c   *countyNode
	st  *store.Store
	se  *store.Session
	eng *engine.Engine
}

var devCounter atomic.Int64

func (c *countyNode) device(o office.Code, role domain.Role) *device {
	t := c.t
	t.Helper()
	n := devCounter.Add(1)
	st, err := store.Open(filepath.Join(t.TempDir(), "device.db"), &store.Options{KDF: auth.TestParams(), Logger: quiet(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Check(); err != nil {
			t.Errorf("device replica invariants: %v", err)
		}
		st.Close()
	})
	admin := role == domain.RoleCountyAdmin
	se, err := st.Setup(store.SetupConfig{Office: o, Admin: admin, DeviceName: fmt.Sprintf("终端-%d", n),
		Name: "user", DisplayName: "工作人员", Role: role, Passphrase: devPass})
	if err != nil {
		t.Fatal(err)
	}
	base := engine.Server{BaseURL: "https://" + c.addr, Fingerprint: c.fp}
	ctx := context.Background()
	if _, err := engine.RequestEnrolment(ctx, base, se); err != nil {
		t.Fatal(err)
	}
	if _, err := c.srv.Approve(se.Device().ID, countyapi.ApproveRequest{Admin: admin}, "admin"); err != nil {
		t.Fatal(err)
	}
	en, err := engine.EnrolmentStatus(ctx, base, se)
	if err != nil || en.Status != "approved" {
		t.Fatalf("enrolment: %+v %v", en, err)
	}
	d := &device{t: t, c: c, st: st, se: se}
	d.eng = engine.New(se, engine.Config{URL: base.SyncURL(), Fingerprint: c.fp, CountyKey: en.CountyKey, County: en.County,
		Logger: quiet(), MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	return d
}

func (d *device) sync() {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := d.eng.SyncOnce(ctx); err != nil {
		d.t.Fatalf("sync: %v", err)
	}
}

func (d *device) id() protocol.DeviceID { return d.se.Device().ID }

func (d *device) create(title string, deadline domain.Deadline) store.Ref {
	d.t.Helper()
	ref, err := d.se.Create(store.Draft{Category: domain.CatConvenience, Title: title, Text: title + "：承诺内容",
		Responsible: "负责人", StartDate: calendar.NewDate(2026, 11, 2), Deadline: deadline, Public: true})
	if err != nil {
		d.t.Fatal(err)
	}
	return ref
}

func (d *device) publish(ref store.Ref) {
	d.t.Helper()
	if err := d.se.Publish(ref); err != nil {
		d.t.Fatal(err)
	}
}

// union returns the replicated buckets of the counties' replicas together:
// their offices are disjoint, so the keys are too.
func union(t testing.TB, counties ...*countyNode) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, c := range counties {
		d, err := c.srv.Store().Dump()
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range d {
			if _, dup := out[k]; dup {
				t.Fatalf("key %s in two counties", k)
			}
			out[k] = v
		}
	}
	return out
}

// sameAs fails the test unless a replica holds exactly want.
func sameAs(t testing.TB, what string, st *store.Store, want map[string]string) {
	t.Helper()
	got, err := st.Dump()
	if err != nil {
		t.Fatal(err)
	}
	var diffs []string
	for k, v := range want {
		if g, ok := got[k]; !ok {
			diffs = append(diffs, "missing "+k)
		} else if g != v {
			diffs = append(diffs, "differs "+k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, "extra "+k)
		}
	}
	if len(diffs) > 0 {
		if len(diffs) > 10 {
			diffs = append(diffs[:10], fmt.Sprintf("… %d more", len(diffs)-10))
		}
		t.Fatalf("%s is not exactly the union of the counties (%d keys, want %d): %s", what, len(got), len(want), strings.Join(diffs, "; "))
	}
}

// opCount counts the change sets and operations in a replica's log.
func opCount(t testing.TB, st *store.Store) (sets, ops int) {
	t.Helper()
	d, err := st.Dump()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range d {
		if !strings.HasPrefix(k, "log/") {
			continue
		}
		cs, err := protocol.Decode([]byte(v))
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		sets++
		ops += len(cs.Ops)
	}
	return sets, ops
}
