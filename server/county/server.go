package county

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// Config configures a county server. Start from DefaultConfig.
type Config struct {
	// Dir is the data directory made by Init.
	Dir string
	// Insecure serves plain ws:// and http:// instead of TLS. Only for
	// development on loopback: Serve refuses it on any other address.
	Insecure bool
	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// KDF are the argon2id parameters for admin credentials; zero means
	// auth.DefaultParams().
	KDF auth.Params
	// PingPeriod is how often the server pings an idle device (default
	// 25s); PongWait how long it waits for any frame or pong before
	// dropping the connection (default 60s). PingPeriod < PongWait.
	PingPeriod time.Duration
	PongWait   time.Duration
	// WriteWait bounds one write to a device (default 10s): a device that
	// cannot take a frame in that time is dropped, not waited for.
	WriteWait time.Duration
	// HandshakeTimeout bounds the time from connect to a valid hello
	// (default 10s).
	HandshakeTimeout time.Duration
	// MaxBatch is the most change sets committed in one transaction, one
	// fsync (default 64): pushes from all devices are grouped. Larger
	// groups amortise the fsync further but delay every receipt in the
	// group; 64 measured best on 2 cores (docs/benchmarks-sync.md).
	MaxBatch int
	// Window is how many feed deliveries a device may have unacknowledged
	// (default 256), which bounds the server's memory per slow device.
	Window int
	// NoSync disables fsync on the replica. Only for benchmarks of
	// everything but the disk; never in production.
	NoSync bool
	// StaleDays is how many days without a sync make the overview warn
	// about a device (default DefaultStaleDays, 7).
	StaleDays int
	// Calendar is the working-day calendar of the overview and of case
	// deadlines; nil means calendar.Default(). The newest calendar update
	// the county published (PublishCalendar) is laid over it.
	Calendar *calendar.Calendar
	// CaseAckDays is how many working days after a complaint was filed it
	// must be acknowledged (受理) by the township (default
	// domain.DefaultCaseAckDays, 3); CaseAnswerDays how many until it must
	// be answered (default domain.DefaultCaseAnswerDays, 15);
	// ObjectionDays how many the county takes to decide an objection
	// (default domain.DefaultObjectionDays, 15). They set the deadlines of
	// the cases the public files (intake.go), counted with Calendar from
	// the day of filing in China, that day not counted.
	CaseAckDays, CaseAnswerDays, ObjectionDays int

	// Limits that keep the server up under hostile load
	// (docs/county-server.md, "Limits").

	// PasswordMemory is the argon2id memory, in bytes, that admin password
	// checks may use at once (default 128 MiB: two checks of
	// auth.DefaultParams' 64 MiB; under a flood the process holds about
	// twice that, garbage included). A check that does not fit waits up to
	// PasswordWait (default 2s) in line, addresses without recent failures
	// first, then its request is refused as busy (HTTP 503).
	PasswordMemory int64
	PasswordWait   time.Duration
	// AdminBackoff holds back admin names and addresses after wrong
	// credentials (defaults: DefaultBackoff).
	AdminBackoff BackoffConfig
	// AdminIdleTimeout ends an admin's session token after this long
	// without a call (default 30 minutes); AdminSessionMax after this long
	// from its sign-in whatever the use (default 8 hours: a working day).
	// Sessions are held in memory only: a restart ends them all
	// (tokens.go, docs/county-server.md "Admin accounts and sessions").
	AdminIdleTimeout time.Duration
	AdminSessionMax  time.Duration
	// ReadTimeout bounds reading a whole HTTP request, body included
	// (default 30s); WriteTimeout writing its answer (default 60s);
	// IdleTimeout how long a keep-alive connection may wait for its next
	// request (default 60s). Websocket sessions have their own
	// (HandshakeTimeout, PongWait, WriteWait).
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxUnauthPerAddr is how many connections one address (an IPv4
	// address, an IPv6 /64) may hold open before they authenticate — a
	// device's or municipal node's hello, an admin's credential (default
	// 64: a township's devices behind one NAT reconnecting at once after
	// an outage, or the load generator's 32 set-ups at a time, fit). More
	// are closed as soon as they are accepted.
	MaxUnauthPerAddr int
	// MaxPendingPerOffice and MaxPending bound the enrolment requests
	// waiting for an admin, per office (default 16) and in all (default
	// 256); more are refused with too_many_pending until the admin decides
	// some.
	MaxPendingPerOffice, MaxPending int
	// IncidentWindow is how long repeated incidents of one source and code
	// are counted in one record (default 1h); IncidentSources bounds the
	// sources counted at once (default 4096), beyond which they are
	// counted together. IncidentFlush is how often counts are written
	// (default 1s); new records are written at once.
	IncidentWindow  time.Duration
	IncidentSources int
	IncidentFlush   time.Duration

	// MaxSyncFileBytes bounds a device's sync bundle a county admin
	// imports and the return file written for it (default and at most
	// protocol.MaxSyncFileBytes, 256 MiB; docs/sync-file.md). A larger
	// bundle is refused as oversize: the device exports its work again up
	// to an earlier date. SyncFileTimeout bounds reading a bundle over
	// HTTP and writing its return file (default 30 minutes), in place of
	// ReadTimeout and WriteTimeout.
	MaxSyncFileBytes int64
	SyncFileTimeout  time.Duration
}

// DefaultConfig returns the defaults for a server in dir; a new value each
// call.
func DefaultConfig(dir string) Config {
	return Config{
		Dir:              dir,
		PingPeriod:       25 * time.Second,
		PongWait:         60 * time.Second,
		WriteWait:        10 * time.Second,
		HandshakeTimeout: 10 * time.Second,
		MaxBatch:         64,
		Window:           256,
		CaseAckDays:      domain.DefaultCaseAckDays,
		CaseAnswerDays:   domain.DefaultCaseAnswerDays,
		ObjectionDays:    domain.DefaultObjectionDays,

		PasswordMemory:      128 << 20,
		PasswordWait:        2 * time.Second,
		AdminBackoff:        DefaultBackoff(),
		AdminIdleTimeout:    30 * time.Minute,
		AdminSessionMax:     8 * time.Hour,
		ReadTimeout:         30 * time.Second,
		WriteTimeout:        60 * time.Second,
		IdleTimeout:         60 * time.Second,
		MaxUnauthPerAddr:    64,
		MaxPendingPerOffice: 16,
		MaxPending:          256,
		IncidentWindow:      time.Hour,
		IncidentSources:     4096,
		IncidentFlush:       time.Second,
		MaxSyncFileBytes:    protocol.MaxSyncFileBytes,
		SyncFileTimeout:     30 * time.Minute,
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
	c.KDF = kdfOrDefault(c.KDF)
	positive(&c.PingPeriod, d.PingPeriod)
	if c.PongWait <= c.PingPeriod {
		c.PongWait = max(d.PongWait, 2*c.PingPeriod)
	}
	for _, v := range []struct{ p, d *time.Duration }{{&c.WriteWait, &d.WriteWait}, {&c.HandshakeTimeout, &d.HandshakeTimeout},
		{&c.PasswordWait, &d.PasswordWait}, {&c.ReadTimeout, &d.ReadTimeout},
		{&c.WriteTimeout, &d.WriteTimeout}, {&c.IdleTimeout, &d.IdleTimeout}, {&c.IncidentWindow, &d.IncidentWindow},
		{&c.IncidentFlush, &d.IncidentFlush}, {&c.AdminIdleTimeout, &d.AdminIdleTimeout}, {&c.AdminSessionMax, &d.AdminSessionMax},
		{&c.SyncFileTimeout, &d.SyncFileTimeout}} {
		positive(v.p, *v.d)
	}
	for _, v := range []struct{ p, d *int }{{&c.MaxBatch, &d.MaxBatch}, {&c.Window, &d.Window},
		{&c.CaseAckDays, &d.CaseAckDays}, {&c.CaseAnswerDays, &d.CaseAnswerDays}, {&c.ObjectionDays, &d.ObjectionDays},
		{&c.MaxUnauthPerAddr, &d.MaxUnauthPerAddr}, {&c.MaxPendingPerOffice, &d.MaxPendingPerOffice},
		{&c.MaxPending, &d.MaxPending}, {&c.IncidentSources, &d.IncidentSources}} {
		positive(v.p, *v.d)
	}
	positive(&c.PasswordMemory, d.PasswordMemory)
	c.AdminBackoff.fill()
	if c.MaxSyncFileBytes > protocol.MaxSyncFileBytes {
		c.MaxSyncFileBytes = 0
	}
	positive(&c.MaxSyncFileBytes, d.MaxSyncFileBytes)
}

// positive sets *p to d unless it is above zero: a Config field left
// zero (or set below) takes its default.
func positive[T ~int | ~int64 | ~uint32](p *T, d T) {
	if *p <= 0 {
		*p = d
	}
}

// Server is a county aggregation server (县级汇聚): it enrols devices,
// ingests their signed change sets, answers with signed receipts, streams
// each office's records to its devices, and keeps conflicts and incidents
// for the county admin.
type Server struct {
	cfg Config
	id  *Identity
	st  *store.Store
	log *slog.Logger

	passwords *passwordGate
	admins    *sessionTable // admin session tokens (tokens.go)
	incidents *incidentLog
	pending   *pendingCount
	conns     *connGuard

	prep    chan *pushReq // pushes for the preparers (prepare.go)
	ingest  chan *pushReq // the same pushes, in order, for the writer
	seenLog *seenLog      // last-seen records not yet written (lastseen.go)
	done    chan struct{}
	wg      sync.WaitGroup

	// commitHook, if set, runs inside every group commit's write
	// transaction: tests hold the writer busy with it (export_test.go).
	commitHook atomic.Pointer[func()]
	// parkHook, if set, runs whenever the parked feeds change (feed.go),
	// outside mu: a test waits on it to see idle feeds park and wake.
	parkHook atomic.Pointer[func()]

	// signer signs the change sets of the server's own device
	// (serverdevice.go); signMu makes one at a time: each continues the
	// chain the one before it left, through the ingest loop.
	signer *store.ServerSigner
	signMu sync.Mutex
	// ownDevices are the server's devices of every epoch (epoch.go);
	// epoch is the feed's. Both are fixed while the server runs.
	ownDevices map[protocol.DeviceID]bool
	epoch      protocol.Epoch
	// backups holds a token while a backup is taken (backup.go).
	backups chan struct{}

	// syncFiles admits one sync file import at a time (filesync.go).
	syncFiles chan struct{}

	mu        sync.Mutex
	feedCh    chan struct{} // closed and replaced whenever the feed advances
	sessions  map[protocol.DeviceID]*session
	upstreams map[*upstreamSession]struct{} // municipal nodes pulling the feed (upstream.go)
	parked    map[*feedStream]struct{}      // idle feeds, started again by the next advance (feed.go)
	closed    bool
}

// New opens the server's files. Call Serve to accept connections and Close
// when done.
func New(cfg Config) (*Server, error) {
	cfg.fill()
	id, err := LoadIdentity(cfg.Dir)
	if err != nil {
		return nil, err
	}
	// The replica asks the server about what only it can judge (admit.go)
	// before it applies a change set; s exists by the first one.
	var s *Server
	st, err := store.Open(filepath.Join(cfg.Dir, fileDB), &store.Options{Feed: true, Now: cfg.Now, KDF: cfg.KDF,
		Logger: cfg.Logger, NoSync: cfg.NoSync, Admit: func(tx *bolt.Tx, cs *protocol.ChangeSet) error { return s.admit(tx, cs) }})
	if err != nil {
		return nil, err
	}
	if err := ensureBuckets(st); err != nil {
		st.Close()
		return nil, err
	}
	signer, own, err := registerServerDevice(st, id, cfg.Now())
	if err != nil {
		st.Close()
		return nil, err
	}
	epoch, err := ensureEpoch(st)
	if err != nil {
		st.Close()
		return nil, err
	}
	log := cfg.Logger.With("county", string(id.County))
	incidents, err := newIncidentLog(st, &cfg, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	pending, err := countPending(st, cfg.MaxPendingPerOffice, cfg.MaxPending)
	if err != nil {
		incidents.close()
		st.Close()
		return nil, err
	}
	s = &Server{
		cfg: cfg, id: id, st: st,
		log:        log,
		passwords:  newPasswordGate(&cfg),
		admins:     newSessionTable(cfg.AdminIdleTimeout, cfg.AdminSessionMax),
		incidents:  incidents,
		pending:    pending,
		conns:      newConnGuard(cfg.MaxUnauthPerAddr),
		prep:       make(chan *pushReq, prepQueue()),
		ingest:     make(chan *pushReq, 4*cfg.MaxBatch),
		seenLog:    newSeenLog(),
		done:       make(chan struct{}),
		feedCh:     make(chan struct{}),
		parked:     map[*feedStream]struct{}{},
		sessions:   make(map[protocol.DeviceID]*session),
		upstreams:  make(map[*upstreamSession]struct{}),
		signer:     signer,
		ownDevices: own,
		epoch:      epoch,
		backups:    make(chan struct{}, 1),
		syncFiles:  make(chan struct{}, 1),
	}
	s.wg.Add(2 + preparers())
	go s.ingestLoop()
	go s.seenWriter()
	for range preparers() {
		go s.preparer()
	}
	return s, nil
}

// Identity returns who the server is.
func (s *Server) Identity() *Identity { return s.id }

// Store returns the county replica, for commands and tests that read it.
func (s *Server) Store() *store.Store { return s.st }

// Handler returns the server's HTTP routes: /sync (the websocket session),
// /upstream (the feed for authorised municipal nodes, upstream.go), /enrol
// (enrolment requests and their status), /admin/ (the admin API) and
// /healthz.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sync", s.serveSync)
	mux.HandleFunc("POST /enrol", s.serveEnrol)
	mux.HandleFunc("POST /enrol/replace", s.serveReenrol)
	mux.HandleFunc("GET /enrol/{device}", s.serveEnrolStatus)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	s.adminRoutes(mux)
	s.upstreamRoutes(mux)
	return mux
}

// TLSConfig returns the server's TLS configuration: TLS 1.3, or 1.2 with
// forward-secret AEAD suites only (no CBC, no SHA-1, no RSA key exchange).
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{s.id.TLS}, MinVersion: tls.VersionTLS12, CipherSuites: tls12Suites}
}

// tls12Suites are the TLS 1.2 suites offered (TLS 1.3 has only AEAD
// suites and ignores the list).
var tls12Suites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// PasswordStats returns the admin password checks' counters.
func (s *Server) PasswordStats() PasswordStats { return s.passwords.snapshot() }

// Serve accepts connections on ln until ctx is cancelled, with TLS unless
// the config says Insecure (allowed only on a loopback address). Each
// address may hold MaxUnauthPerAddr connections that have not
// authenticated yet; HTTP requests are bounded by ReadTimeout,
// WriteTimeout and IdleTimeout, the TLS handshake and headers by
// HandshakeTimeout.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.cfg.Insecure {
		if a, ok := ln.Addr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
			return fmt.Errorf("insecure (plain ws://) serving is allowed on loopback only, not %s", ln.Addr())
		}
	}
	ln = s.conns.listener(ln, s.log)
	if !s.cfg.Insecure {
		ln = tls.NewListener(ln, s.TLSConfig())
	}
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: s.cfg.HandshakeTimeout,
		ReadTimeout: s.cfg.ReadTimeout, WriteTimeout: s.cfg.WriteTimeout,
		IdleTimeout: s.cfg.IdleTimeout, MaxHeaderBytes: maxHeaderBytes,
		ConnContext: withConn,
		ErrorLog:    slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context { return ctx }}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.log.Info("county server listening", "addr", ln.Addr().String(), "tls", !s.cfg.Insecure, "fingerprint", s.id.Fingerprint)
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
		s.closeSessions()
		return nil
	case err := <-errc:
		return err
	}
}

// Close stops the ingest loop, drops every session and closes the file.
// It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.closeSessions()
	close(s.done)
	s.wg.Wait()
	s.incidents.close()
	return s.st.Close()
}

func (s *Server) closeSessions() {
	s.mu.Lock()
	sess := make([]*session, 0, len(s.sessions))
	for _, se := range s.sessions {
		sess = append(sess, se)
	}
	s.mu.Unlock()
	for _, se := range sess {
		se.close()
	}
	s.closeUpstreams()
}

// feedWaiter returns a channel closed the next time the feed advances.
func (s *Server) feedWaiter() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.feedCh
}

// announce wakes what waits on the feed without starting the parked
// feeds again: the cluster announcement (FeedWaiter) and the feed loops
// still running, which find nothing new and wait again. It is for news
// that is no position in the feed (evidence.go: a file's content arrived).
func (s *Server) announce() {
	s.mu.Lock()
	close(s.feedCh)
	s.feedCh = make(chan struct{})
	s.mu.Unlock()
}

// feedAdvanced wakes everything that waits on the feed, the parked feeds
// too (feed.go): it advanced, or a revocation or decision is to be sent.
func (s *Server) feedAdvanced() {
	s.mu.Lock()
	close(s.feedCh)
	s.feedCh = make(chan struct{})
	woken := make([]*feedStream, 0, len(s.parked))
	for f := range s.parked {
		f.wg.Add(1) // under mu, so a session that unparks next waits for it
		woken = append(woken, f)
	}
	clear(s.parked)
	s.mu.Unlock()
	if len(woken) > 0 {
		s.parkedChanged()
	}
	for _, f := range woken {
		go func() {
			defer f.wg.Done()
			f.run()
		}()
	}
}

// pushReq is one change set waiting for the ingest loop: pushed by a
// device's session, carried by a sync file a county admin imported
// (filesync.go), or signed by the server's own device (serverdevice.go).
type pushReq struct {
	raw  []byte
	hint *protocol.DeviceInfo // the pushing device as known when it arrived; nil: not known
	// prepared is raw prepared (prepare.go), once ready is closed.
	prepared *protocol.Prepared
	ready    chan struct{}
	from     *session // the pushing session; nil for a file's or the server's own
	// relay marks a change set the session pushes for another device of
	// its scope (session.relayable): its refusals for what a relay cannot
	// know (the chain moved on, a device enrolled after the backup) are no
	// incidents.
	relay bool
	// own receives the result of one of the server's own change sets.
	own chan<- store.Result
	// file receives the answer to a change set of a sync file: the frame a
	// session would have been sent. dev and src name who pushed it, for
	// incidents.
	file chan<- *protocol.Frame
	dev  protocol.DeviceID
	src  string
	// onCommit, if set, runs inside the transaction that applies the change
	// set (not for a replay or a refusal), to commit what goes with it.
	onCommit func(tx *bolt.Tx, r store.Result) error
}

// device and remote name who pushed, for incidents.
func (r *pushReq) device() protocol.DeviceID {
	if r.from == nil {
		return r.dev
	}
	return r.from.dev
}

func (r *pushReq) remote() string {
	switch {
	case r.from != nil:
		return r.from.remote
	case r.src != "":
		return r.src
	}
	return "server"
}

// answer hands the pusher its receipt or refusal: a frame to the session
// or the file, the result to the server's own.
func (r *pushReq) answer(f *protocol.Frame, res store.Result) {
	switch {
	case r.own != nil:
		r.own <- res
	case r.file != nil:
		r.file <- f
	default:
		r.from.send(f)
	}
}

// failed tells the pusher the batch could not be stored.
func (r *pushReq) failed(code protocol.Code, msg string, err error) {
	switch {
	case r.own != nil:
		r.own <- store.Result{Code: code, Err: err}
	case r.file != nil:
		r.file <- &protocol.Frame{Type: protocol.FrameError, Code: code, Message: msg}
	default:
		r.from.fail(code, msg)
	}
}

// relayMiss reports whether a relayed change set refused with code is
// simply not for the county now: its chain has a change set before it the
// relaying device does not hold (a device writing for several offices), or
// its device is not enrolled here (yet: one enrolled after the backup
// asks again) or no longer.
func relayMiss(code protocol.Code) bool {
	switch code {
	case protocol.CodeSequenceGap, protocol.CodeBrokenChain, protocol.CodeUnknownDevice, protocol.CodeRevokedDevice:
		return true
	}
	return false
}

// ingestLoop is the one writer: it takes pushes from every session, commits
// as many as are waiting (up to MaxBatch) in one transaction once the
// preparers have decoded and checked them (prepare.go), and only then
// answers each with a receipt. A receipt therefore always names a change set
// that is on disk.
func (s *Server) ingestLoop() {
	defer s.wg.Done()
	for {
		var batch []*pushReq
		select {
		case <-s.done:
			return
		case r := <-s.ingest:
			batch = append(batch, r)
		}
	fill:
		for len(batch) < s.cfg.MaxBatch {
			select {
			case r := <-s.ingest:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		if !s.awaitPrepared(batch) {
			return
		}
		s.commit(batch)
	}
}

func (s *Server) commit(batch []*pushReq) {
	prepared := make([]*protocol.Prepared, len(batch))
	for i, r := range batch {
		prepared[i] = r.prepared
	}
	now := s.cfg.Now()
	// Verify returns no change set with a refusal; the device and sequence
	// number one claims still tell the device and the admin which it was.
	refused := make([]store.Result, len(batch))
	results, err := s.st.ApplyPrepared(prepared, func(tx *bolt.Tx, results []store.Result) error {
		if h := s.commitHook.Load(); h != nil {
			(*h)()
		}
		for i, r := range results {
			if r.Code == protocol.CodeOK && batch[i].onCommit != nil {
				if err := batch[i].onCommit(tx, r); err != nil {
					return err
				}
			}
			if r.Applied() {
				continue
			}
			if r.Device.IsZero() {
				if cs := prepared[i].ChangeSet(); cs != nil {
					r.Device, r.Seq = cs.Device, cs.Seq
				}
			}
			refused[i] = r
		}
		return nil
	})
	if err != nil {
		// The disk failed: nothing of the batch is stored, nothing is
		// acknowledged. The devices will send it again.
		s.log.Error("committing change sets", "err", err, "batch", len(batch))
		for _, r := range batch {
			r.failed(protocol.CodeInternal, "the server could not store the change set; try again later", err)
		}
		return
	}
	advanced := false
	for i, r := range results {
		req := batch[i]
		switch {
		case r.Code == protocol.CodeOK:
			advanced = true
			rc := protocol.Receipt{County: s.id.County, Device: r.Device, Seq: r.Seq, Hash: r.Hash, Pos: r.Pos, Time: r.Time}
			req.answer(&protocol.Frame{Type: protocol.FrameReceipt, Body: rc.Sign(s.id.Key)}, r)
		case r.Code == protocol.CodeReplay:
			// Sent again after a cut: answer with the original receipt.
			fe, ok, err := s.st.FeedEntryOf(r.Device, r.Seq)
			if err != nil || !ok {
				req.failed(protocol.CodeInternal, "replayed change set without a feed entry", fmt.Errorf("replayed change set %s/%d without a feed entry: %v", r.Device.Short(), r.Seq, err))
				continue
			}
			r.Pos, r.Time = fe.Pos, fe.Time
			rc := protocol.Receipt{County: s.id.County, Device: fe.Device, Seq: fe.Seq, Hash: fe.Hash, Pos: fe.Pos, Time: fe.Time}
			req.answer(&protocol.Frame{Type: protocol.FrameReceipt, Body: rc.Sign(s.id.Key)}, r)
		default:
			in := countyapi.Incident{Time: now, Device: refused[i].Device, Seq: refused[i].Seq, Code: r.Code, Message: protocol.MessageOf(r.Err), Remote: req.remote()}
			if in.Device.IsZero() {
				in.Device = req.device()
			}
			if !req.relay || !relayMiss(r.Code) {
				// Counted by the pushing device: it proved its key, and
				// a change set can only name it or one it relays.
				s.incidents.record(in, "device:"+req.device().String())
			}
			req.answer(&protocol.Frame{Type: protocol.FrameRefused, Device: refused[i].Device, Seq: refused[i].Seq, Code: r.Code, Message: protocol.MessageOf(r.Err)}, r)
		}
	}
	if advanced {
		s.feedAdvanced()
	}
}
