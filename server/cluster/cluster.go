package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/serf/serf"
)

// DefaultPort is serf's usual port, for UDP and TCP.
const DefaultPort = 7946

// Config configures a Member. Start from DefaultConfig or
// DefaultLocalConfig.
type Config struct {
	// NodeName names the member in the cluster; it must be unique there.
	// Empty means the host name. County servers use "county-" and the
	// county code, so a restarted server takes its old place.
	NodeName string
	// BindAddr is where the member listens, UDP and TCP, as host:port
	// (default "0.0.0.0:7946"). Port 0 picks a free port (tests).
	BindAddr string
	// AdvertiseAddr is the host:port other members reach this one at;
	// empty means the bound address (for 0.0.0.0, an address of this
	// machine that memberlist picks).
	AdvertiseAddr string
	// Join lists members (host:port) to join at Start. While no other
	// member is known Start's background loop tries them again every
	// RetryJoin (default 10s), so servers may start in any order.
	Join      []string
	RetryJoin time.Duration
	// Tags are advertised to the other members.
	Tags Tags
	// SnapshotPath, if set, is serf's snapshot file: it keeps the Lamport
	// clocks and the members known across restarts, so a restarted server
	// rejoins them by itself and its first announcements are not taken
	// for old ones (serf ignores events older than what a member saw when
	// it joined). Servers keep it in their data directory; empty means a
	// member starts afresh each time.
	SnapshotPath string
	// SecretKey, if set (16, 24 or 32 bytes), encrypts and authenticates
	// the gossip with AES-GCM, so only servers holding the key take part.
	// Empty means plain gossip.
	SecretKey []byte
	// AnnounceInterval is the least time between two announcements of
	// Announce (default 500ms): advances in between are coalesced into
	// the next one.
	AnnounceInterval time.Duration
	// OnEvent, if set, receives membership and user events in order, from
	// one goroutine. It must return quickly: serf waits for it.
	OnEvent func(Event)
	// Logger receives serf's and memberlist's logs (their errors as
	// warnings, the rest at debug level); nil means slog.Default().
	Logger *slog.Logger
	// Serf is the underlying configuration with its timers; New fills the
	// name, tags, addresses, keys, logging and event channel. Nil means
	// serf.DefaultConfig(), which uses memberlist.DefaultLANConfig().
	Serf *serf.Config
}

// DefaultConfig returns the configuration for servers on a LAN: serf's
// defaults with memberlist's LAN timers (probe every second, push-pull every
// 30 seconds), except that a dead member's name may be taken by a new
// address after 30 seconds, so a county server restarted on another address
// rejoins. A new value each call.
func DefaultConfig() Config {
	sc := serf.DefaultConfig()
	sc.MemberlistConfig.DeadNodeReclaimTime = 30 * time.Second
	return Config{
		BindAddr:         "0.0.0.0:" + strconv.Itoa(DefaultPort),
		RetryJoin:        10 * time.Second,
		AnnounceInterval: 500 * time.Millisecond,
		Serf:             sc,
	}
}

// DefaultLocalConfig returns a configuration for members on one machine
// (tests, benchmarks): memberlist's local timers shortened further, so a
// stopped member is seen failed within a few seconds and full-state sync
// runs every second, and a free port on 127.0.0.1.
func DefaultLocalConfig() Config {
	c := DefaultConfig()
	sc := c.Serf
	// memberlist.DefaultLocalConfig, shortened further.
	ml := sc.MemberlistConfig
	ml.TCPTimeout = time.Second
	ml.IndirectChecks = 1
	ml.RetransmitMult = 2
	ml.GossipToTheDeadTime = 15 * time.Second
	ml.ProbeInterval = 500 * time.Millisecond
	ml.ProbeTimeout = 400 * time.Millisecond // generous: -race on two cores
	ml.SuspicionMult = 2
	ml.GossipInterval = 50 * time.Millisecond
	ml.PushPullInterval = time.Second
	ml.DeadNodeReclaimTime = time.Second
	sc.ReapInterval = time.Second
	sc.ReconnectInterval = 500 * time.Millisecond
	sc.ReconnectTimeout = time.Minute
	sc.TombstoneTimeout = time.Minute
	sc.LeavePropagateDelay = 100 * time.Millisecond
	sc.BroadcastTimeout = 2 * time.Second
	c.BindAddr = "127.0.0.1:0"
	c.RetryJoin = 200 * time.Millisecond
	c.AnnounceInterval = 50 * time.Millisecond
	return c
}

// EventKind says what happened.
type EventKind string

// The event kinds.
const (
	EventJoin   EventKind = "join"   // members joined (or came back after failing)
	EventUpdate EventKind = "update" // members changed their tags
	EventLeave  EventKind = "leave"  // members left gracefully
	EventFailed EventKind = "failed" // members stopped answering
	EventReap   EventKind = "reap"   // failed or left members forgotten
	EventUser   EventKind = "user"   // a user event (Name, Payload)
)

// Event is a membership change or a user event.
type Event struct {
	Kind    EventKind
	Members []MemberInfo // membership events
	Name    string       // user events
	Payload []byte       // user events
}

// MemberInfo is what is known of a member.
type MemberInfo struct {
	Name   string
	Addr   string // serf's host:port
	Status string // alive, leaving, left, failed
	Tags   Tags
	// TagErr says why the tags do not parse (a foreign member); Tags is
	// then partial.
	TagErr error
}

func memberInfo(m serf.Member) MemberInfo {
	t, err := ParseTags(m.Tags)
	return MemberInfo{Name: m.Name, Addr: net.JoinHostPort(m.Addr.String(), strconv.Itoa(int(m.Port))),
		Status: m.Status.String(), Tags: t, TagErr: err}
}

// Member is this server's place in the cluster.
type Member struct {
	cfg Config
	log *slog.Logger

	mu   sync.Mutex
	serf *serf.Serf
	tags Tags

	events chan serf.Event
	stop   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
}

// ErrNotStarted is returned by operations that need Start first.
var ErrNotStarted = errors.New("cluster member not started")

// New checks the configuration; Start joins the cluster.
func New(cfg Config) (*Member, error) {
	d := DefaultConfig()
	if cfg.Serf == nil {
		cfg.Serf = d.Serf
	}
	if cfg.BindAddr == "" {
		cfg.BindAddr = d.BindAddr
	}
	if cfg.RetryJoin <= 0 {
		cfg.RetryJoin = d.RetryJoin
	}
	if cfg.AnnounceInterval <= 0 {
		cfg.AnnounceInterval = d.AnnounceInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.NodeName == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, err
		}
		cfg.NodeName = h
	}
	if cfg.Tags.Role != RoleCounty && cfg.Tags.Role != RoleMunicipal {
		return nil, fmt.Errorf("%w: role %q", ErrBadTags, cfg.Tags.Role)
	}
	if cfg.Tags.Role == RoleCounty {
		if _, err := ParseTags(cfg.Tags.Map()); err != nil {
			return nil, err
		}
	}
	if _, _, err := splitHostPort(cfg.BindAddr); err != nil {
		return nil, fmt.Errorf("bind address: %w", err)
	}
	if cfg.AdvertiseAddr != "" {
		if _, _, err := splitHostPort(cfg.AdvertiseAddr); err != nil {
			return nil, fmt.Errorf("advertise address: %w", err)
		}
	}
	switch len(cfg.SecretKey) {
	case 0, 16, 24, 32:
	default:
		return nil, fmt.Errorf("cluster secret key of %d bytes: want 16, 24 or 32", len(cfg.SecretKey))
	}
	return &Member{cfg: cfg, log: cfg.Logger.With("cluster", cfg.NodeName), tags: cfg.Tags,
		events: make(chan serf.Event, 256), stop: make(chan struct{})}, nil
}

func splitHostPort(s string) (string, int, error) {
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("port %q", p)
	}
	return h, port, nil
}

// Start creates the serf member, binds its port, starts delivering events
// and joins Config.Join. A member started once cannot be started again.
func (m *Member) Start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.serf != nil {
		return errors.New("cluster member already started")
	}
	select {
	case <-m.stop:
		return errors.New("cluster member shut down")
	default:
	}
	sc := *m.cfg.Serf
	ml := *sc.MemberlistConfig
	sc.MemberlistConfig = &ml
	sc.NodeName = m.cfg.NodeName
	ml.Name = m.cfg.NodeName
	sc.Tags = m.tags.Map()
	sc.EventCh = m.events
	logger := log.New(logWriter{m.log}, "", 0)
	sc.Logger, sc.LogOutput = logger, nil
	ml.Logger, ml.LogOutput = logger, nil
	host, port, _ := splitHostPort(m.cfg.BindAddr)
	ml.BindAddr, ml.BindPort = host, port
	ml.AdvertiseAddr, ml.AdvertisePort = "", port
	if m.cfg.AdvertiseAddr != "" {
		ah, ap, _ := splitHostPort(m.cfg.AdvertiseAddr)
		ml.AdvertiseAddr, ml.AdvertisePort = ah, ap
	}
	if len(m.cfg.SecretKey) > 0 {
		ml.SecretKey = m.cfg.SecretKey
	}
	if m.cfg.SnapshotPath != "" {
		sc.SnapshotPath, sc.RejoinAfterLeave = m.cfg.SnapshotPath, true
	}
	s, err := serf.Create(&sc)
	if err != nil {
		return fmt.Errorf("starting the cluster member: %w", err)
	}
	m.serf = s
	m.wg.Add(1)
	go m.eventLoop(s)
	if len(m.cfg.Join) > 0 {
		m.wg.Add(1)
		go m.joinLoop(s)
	}
	m.log.Info("cluster member started", "addr", m.addrOf(s), "role", string(m.tags.Role))
	return nil
}

func (m *Member) addrOf(s *serf.Serf) string {
	lm := s.LocalMember()
	return net.JoinHostPort(lm.Addr.String(), strconv.Itoa(int(lm.Port)))
}

// joinLoop joins Config.Join, again every RetryJoin until a member answers.
func (m *Member) joinLoop(s *serf.Serf) {
	defer m.wg.Done()
	for {
		n, err := s.Join(m.cfg.Join, true)
		if n > 0 {
			m.log.Info("joined the cluster", "contacted", n)
			return
		}
		m.log.Info("no cluster member answered yet; trying again", "join", strings.Join(m.cfg.Join, ","), "err", err)
		t := time.NewTimer(m.cfg.RetryJoin)
		select {
		case <-t.C:
		case <-m.stop:
			t.Stop()
			return
		}
		if len(s.Members()) > 1 {
			return // someone joined us meanwhile
		}
	}
}

func (m *Member) eventLoop(s *serf.Serf) {
	defer m.wg.Done()
	for {
		var ev serf.Event
		select {
		case ev = <-m.events:
		case <-s.ShutdownCh():
			return
		}
		if m.cfg.OnEvent == nil {
			continue
		}
		switch e := ev.(type) {
		case serf.MemberEvent:
			out := Event{Members: make([]MemberInfo, len(e.Members))}
			for i, mem := range e.Members {
				out.Members[i] = memberInfo(mem)
			}
			switch e.Type {
			case serf.EventMemberJoin:
				out.Kind = EventJoin
			case serf.EventMemberUpdate:
				out.Kind = EventUpdate
			case serf.EventMemberLeave:
				out.Kind = EventLeave
			case serf.EventMemberFailed:
				out.Kind = EventFailed
			case serf.EventMemberReap:
				out.Kind = EventReap
			default:
				continue
			}
			m.cfg.OnEvent(out)
		case serf.UserEvent:
			m.cfg.OnEvent(Event{Kind: EventUser, Name: e.Name, Payload: e.Payload})
		}
	}
}

func (m *Member) started() (*serf.Serf, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.serf == nil {
		return nil, ErrNotStarted
	}
	return m.serf, nil
}

// Join joins the cluster through the given members (host:port) and returns
// how many answered.
func (m *Member) Join(addrs ...string) (int, error) {
	s, err := m.started()
	if err != nil {
		return 0, err
	}
	return s.Join(addrs, true)
}

// Addr returns the host:port other members reach this one at; empty before
// Start.
func (m *Member) Addr() string {
	s, err := m.started()
	if err != nil {
		return ""
	}
	return m.addrOf(s)
}

// Name returns the member's node name.
func (m *Member) Name() string { return m.cfg.NodeName }

// Members returns every member this one knows of, itself included, with
// their status (alive, leaving, left, failed).
func (m *Member) Members() []MemberInfo {
	s, err := m.started()
	if err != nil {
		return nil
	}
	var out []MemberInfo
	for _, mem := range s.Members() {
		out = append(out, memberInfo(mem))
	}
	return out
}

// Tags returns the tags this member advertises.
func (m *Member) Tags() Tags {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tags
}

// SetTags replaces the advertised tags; the others see an update event.
func (m *Member) SetTags(t Tags) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.Role != m.tags.Role {
		return fmt.Errorf("%w: a member's role cannot change", ErrBadTags)
	}
	m.tags = t
	if m.serf == nil {
		return nil
	}
	return m.serf.SetTags(t.Map())
}

// SetHead advertises a new feed head.
func (m *Member) SetHead(head uint64) error {
	t := m.Tags()
	t.Head = head
	return m.SetTags(t)
}

// UserEvent broadcasts a user event to every member (itself included).
func (m *Member) UserEvent(name string, payload []byte) error {
	s, err := m.started()
	if err != nil {
		return err
	}
	return s.UserEvent(name, payload, false)
}

// Announce keeps the cluster told of a county's feed until ctx ends or the
// member shuts down: at once, and then each time waiter's channel closes
// (the feed advanced or a revocation was recorded), it reads head, updates
// the head tag if it changed and fires an advance event, at most once per
// AnnounceInterval;
// advances in between are coalesced into the next announcement. waiter is
// county.Server.FeedWaiter: it must return a channel that closes at the
// next advance after the call.
func (m *Member) Announce(ctx context.Context, waiter func() <-chan struct{}, head func() (uint64, error)) {
	county := m.Tags().County
	boot := strconv.FormatUint(rand.Uint64()>>32, 16) // this run of the server
	var n uint64
	var last time.Time
	for {
		w := waiter() // before reading the head, so no advance is missed
		h, err := head()
		if err != nil {
			m.log.Warn("reading the feed head to announce", "err", err)
		} else {
			if h != m.Tags().Head {
				if err := m.SetHead(h); err != nil {
					m.log.Warn("advertising the feed head", "err", err)
				}
			}
			// The first announcement says the server is (back): a restart
			// too quick for the cluster to notice would say nothing else.
			// Later ones follow a new change set or a revocation.
			n++
			if err := m.UserEvent(AdvanceEvent, AdvancePayload(county, h, boot+"."+strconv.FormatUint(n, 10))); err != nil {
				m.log.Warn("announcing the feed head", "err", err)
			}
		}
		last = time.Now()
		select {
		case <-w:
		case <-ctx.Done():
			return
		case <-m.stop:
			return
		}
		if d := time.Until(last.Add(m.cfg.AnnounceInterval)); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			case <-m.stop:
				t.Stop()
				return
			}
		}
	}
}

// Leave tells the other members this one is going, so they record it as
// left rather than failed. Call Shutdown after it.
func (m *Member) Leave() error {
	s, err := m.started()
	if err != nil {
		return nil
	}
	return s.Leave()
}

// Shutdown stops the member; without Leave first the others see it fail.
// It is safe to call more than once, and before Start.
func (m *Member) Shutdown() error {
	var err error
	m.once.Do(func() {
		close(m.stop)
		m.mu.Lock()
		s := m.serf
		m.mu.Unlock()
		if s != nil {
			err = s.Shutdown()
		}
		m.wg.Wait()
	})
	return err
}

// logWriter passes serf's and memberlist's log lines to slog: their
// errors (mostly transient network trouble) as warnings, their warnings
// as information, the rest at debug level.
type logWriter struct{ log *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	level := slog.LevelDebug
	switch {
	case strings.HasPrefix(msg, "[ERR]"):
		level = slog.LevelWarn
	case strings.HasPrefix(msg, "[WARN]"):
		level = slog.LevelInfo
	}
	w.log.Log(context.Background(), level, msg)
	return len(p), nil
}

var _ io.Writer = logWriter{}
