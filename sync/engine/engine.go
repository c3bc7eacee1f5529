// Package engine is the device side of synchronisation: it keeps a
// township device's replica in step with its county server over a websocket
// session, through links that drop every few minutes or crawl for hours.
//
// # Basics
//
// New binds an engine to a signed-in store.Session; Run keeps it in sync
// until its context ends, reconnecting with exponential backoff and jitter;
// SyncNow wakes it; SyncOnce runs one session until everything pending has
// been exchanged (tests, "sync now" from a command line). Status and the
// OnStatus callback report what a status bar shows: online or not, change
// sets and bytes pending and sent, the last receipt, the last error with its
// stable code.
//
// # Guarantees
//
// A change set leaves the outbox only when the county's signed receipt for
// it is stored. Received change sets are applied together with the feed
// position they came from, in one transaction, so a cut at any byte resumes
// exactly where it stopped, and a change set sent twice is applied once (the
// store refuses the replay; the server answers a replayed push with the
// original receipt).
//
// # Caveats
//
// Partly downloaded evidence is kept in memory across reconnects but not
// across restarts; partly uploaded evidence resumes from what the server
// holds. Evidence moves from the welcome on, one upload and one download at
// a time (evidence.go).
package engine

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// Config configures an engine. The zero value of each duration means its
// default.
type Config struct {
	// URL is the county server's session endpoint, wss://host:port/sync
	// (ws:// only for a server on loopback in development; elsewhere the
	// engine stops with wrong_server rather than connect).
	URL string
	// Fingerprint is the server certificate's fingerprint pinned at
	// enrolment (protocol.Fingerprint).
	Fingerprint string
	// CountyKey is the county's public key from enrolment: receipts and
	// certificates must verify with it.
	CountyKey ed25519.PublicKey
	// County is the code of the county the device is enrolled with, which
	// sync files name (file.go); empty means the one in the store's sync
	// settings.
	County office.Code
	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
	// MinBackoff and MaxBackoff bound the wait between reconnects
	// (defaults 1s and 2min), with full jitter; each session that moved
	// nothing forward doubles it, one that moved anything (a receipt, the
	// feed, evidence bytes) sets it back to MinBackoff.
	MinBackoff, MaxBackoff time.Duration
	// HandshakeTimeout bounds connecting and the hello exchange (default 15s).
	HandshakeTimeout time.Duration
	// WriteWait bounds one write (default 15s); PongWait is how long the
	// link may stay silent before it is considered dead (default 75s; the
	// server pings every 25s).
	WriteWait, PongWait time.Duration
	// ApplyBatch is how many received change sets are applied per
	// transaction (default 64).
	ApplyBatch int
	// Window bounds pushed change sets awaiting a receipt (default 128).
	Window int
	// NetDial, if set, dials the TCP connection (tests put a faulty proxy
	// in between this way, or simply point URL at it).
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)
	// OnStatus, if set, is called with every status change, one call at a
	// time and in order, from the engine's goroutines; a UI must hand it to
	// its own thread (fyne.Do) and must not block.
	OnStatus func(Status)
	// Version is the app's software version, reported in every hello with
	// the device's chain head and unsealed operations so the county admin
	// sees them in the device list (protocol.HelloStatus). Empty means
	// DefaultVersion; anything but printable ASCII is replaced with '?' and
	// it is cut to protocol.MaxSoftwareVersionBytes.
	Version string
}

// DefaultVersion is the version reported when Config.Version is empty.
const DefaultVersion = "unknown"

func (c *Config) fill() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.MinBackoff, time.Second)
	def(&c.MaxBackoff, 2*time.Minute)
	def(&c.HandshakeTimeout, 15*time.Second)
	def(&c.WriteWait, 15*time.Second)
	def(&c.PongWait, 75*time.Second)
	if c.ApplyBatch <= 0 {
		c.ApplyBatch = 64
	}
	if c.Window <= 0 {
		c.Window = 128
	}
	if c.Version == "" {
		c.Version = DefaultVersion
	}
	c.Version = protocol.CleanSoftwareVersion(c.Version)
}

// State is the engine's connection state.
type State string

// The states.
const (
	StateOffline    State = "offline"    // not connected; will retry (see Status.Retry)
	StateConnecting State = "connecting" // dialling and authenticating
	StateSyncing    State = "syncing"    // exchanging change sets
	StateIdle       State = "idle"       // connected, everything exchanged
	StateStopped    State = "stopped"    // a fatal refusal (revoked, fork…): needs a person
)

// Status is what a status bar shows.
type Status struct {
	State              State
	PendingOps         int   // acted, not yet sealed
	PendingChangeSets  int   // sealed, not yet receipted
	PendingBytes       int64 // their size: what is left to send
	SentChangeSets     int   // pushed this run
	SentBytes          int64 // pushed this run, change sets and evidence
	ReceivedChangeSets int   // applied from the county this run
	LastReceiptSeq     uint64
	LastReceiptTime    time.Time
	Code               protocol.Code // of the last error; empty if none
	Err                string        // the last error, for logs
	Retry              time.Time     // when the next attempt is due, when offline
	CalendarVersion    uint64        // of a holiday calendar update received this run
	EvidenceSent       int           // evidence files the county confirmed this run
	EvidenceReceived   int           // evidence files fetched from the county this run
	// LastSync is when this device last synchronised with its county this
	// run — a session caught up with the county's feed, or a return file
	// imported — and LastSyncVia how (store.SyncedOnline, SyncedByFile).
	LastSync    time.Time
	LastSyncVia string
}

// FatalError is a refusal that retrying cannot fix: the device was revoked,
// is not enrolled, was restored from an old backup, or the server is not the
// one it was enrolled with. Run stops and returns it.
type FatalError struct {
	Code    protocol.Code
	Message string
}

func (e *FatalError) Error() string { return fmt.Sprintf("sync stopped: %s: %s", e.Code, e.Message) }

// Unwrap makes errors.Is work with the protocol sentinels.
func (e *FatalError) Unwrap() error { return protocol.ErrorFor(e.Code) }

func fatalCode(c protocol.Code) bool {
	switch c {
	case protocol.CodeRevokedDevice, protocol.CodeUnknownDevice, protocol.CodeNotEnrolled, protocol.CodeFork,
		protocol.CodeWrongServer, protocol.CodeBadSignature, protocol.CodeWrongDevice, protocol.CodeUnknownVersion,
		protocol.CodeBrokenChain, protocol.CodeSequenceGap, protocol.CodeOutOfScope, protocol.CodeInvalidOperation,
		protocol.CodeNotAuthorized, protocol.CodeOversize, protocol.CodeMalformed:
		return true
	}
	return false
}

// Engine synchronises one device's replica with its county server.
type Engine struct {
	cfg  Config
	se   *store.Session
	st   *store.Store
	dev  protocol.DeviceID
	log  *slog.Logger
	kick chan struct{}

	cbMu   sync.Mutex
	mu     sync.Mutex
	status Status
	// What survives reconnects (not restarts), touched by one session at
	// a time: partial downloads; downloads the county did not have yet
	// (asked for after the others); how much of each upload the county
	// last said it held.
	partial  map[protocol.Hash][]byte
	notFound map[protocol.Hash]bool
	upAt     map[protocol.Hash]int64
	// progress counts what sessions moved forward: receipts, the feed,
	// evidence bytes. A session that moved anything resets the backoff.
	progress atomic.Uint64
	// plainHello is set once the server refused a hello with the device's
	// status as malformed: a county server older than the status, which
	// then gets the hello it knows for the rest of this engine's life.
	plainHello atomic.Bool
	// fileMu makes one sync file at a time (file.go): an export and an
	// import, or two imports, never interleave.
	fileMu sync.Mutex
}

// New returns an engine for the signed-in session.
func New(se *store.Session, cfg Config) *Engine {
	cfg.fill()
	return &Engine{cfg: cfg, se: se, st: se.Store(), dev: se.Device().ID,
		log:  cfg.Logger.With("device", se.Device().ID),
		kick: make(chan struct{}, 1), status: Status{State: StateOffline},
		partial: make(map[protocol.Hash][]byte), notFound: make(map[protocol.Hash]bool), upAt: make(map[protocol.Hash]int64)}
}

// SyncNow asks a running engine to seal and send what is pending at once,
// or to reconnect now if it is waiting to retry.
func (e *Engine) SyncNow() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// Status returns the current status.
func (e *Engine) Status() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.status
}

func (e *Engine) update(fn func(*Status)) {
	// cbMu serialises OnStatus calls in the order the changes were made.
	e.cbMu.Lock()
	defer e.cbMu.Unlock()
	e.mu.Lock()
	fn(&e.status)
	if c, err := e.st.Pending(); err == nil {
		e.status.PendingOps, e.status.PendingChangeSets, e.status.PendingBytes = c.PendingOps, c.OutboxChangeSets, c.OutboxBytes
	}
	s := e.status
	e.mu.Unlock()
	if e.cfg.OnStatus != nil {
		e.cfg.OnStatus(s)
	}
}

// Run keeps the replica in sync until ctx ends (it then returns nil) or a
// fatal refusal stops it (it returns the *FatalError).
func (e *Engine) Run(ctx context.Context) error {
	backoff := e.cfg.MinBackoff
	for {
		start, moved := time.Now(), e.progress.Load()
		err := e.session(ctx, false)
		if ctx.Err() != nil {
			e.update(func(s *Status) { s.State = StateOffline })
			return nil
		}
		var fe *FatalError
		if errors.As(err, &fe) {
			e.log.Error("sync stopped", "code", string(fe.Code), "message", fe.Message)
			e.update(func(s *Status) { s.State, s.Code, s.Err = StateStopped, fe.Code, fe.Message })
			return fe
		}
		if time.Since(start) > 2*e.cfg.MaxBackoff || e.progress.Load() != moved {
			// The link held a good while, or long enough to move
			// something forward: a link that drops every few seconds is
			// used as often as it comes back, not every MaxBackoff.
			backoff = e.cfg.MinBackoff
		}
		// Full jitter: spreads a county's devices out after an outage.
		wait := time.Duration(rand.Int64N(int64(backoff))) + e.cfg.MinBackoff/2
		backoff = min(2*backoff, e.cfg.MaxBackoff)
		e.log.Info("sync interrupted", "err", err, "retry_in", wait)
		e.update(func(s *Status) {
			s.State, s.Retry, s.Code, s.Err = StateOffline, time.Now().Add(wait), protocol.CodeOf(err), protocol.MessageOf(err)
		})
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			e.update(func(s *Status) { s.State = StateOffline })
			return nil
		case <-e.kick:
			t.Stop()
		case <-t.C:
		}
	}
}

// SyncOnce connects, exchanges everything pending in both directions
// (change sets, receipts, evidence) and disconnects. It returns nil only
// when all of it is done.
func (e *Engine) SyncOnce(ctx context.Context) error { return e.session(ctx, true) }

// dial opens the websocket with the pinned certificate. A plain ws://
// address off this computer stops the engine (wrong_server): the session
// would cross the network unencrypted and unauthenticated, whatever the
// settings screen allowed.
func (e *Engine) dial(ctx context.Context) (*websocket.Conn, error) {
	if err := countyapi.CheckURL(e.cfg.URL); err != nil {
		return nil, &FatalError{Code: protocol.CodeWrongServer, Message: err.Error()}
	}
	d := websocket.Dialer{
		HandshakeTimeout:  e.cfg.HandshakeTimeout,
		ReadBufferSize:    16 << 10,
		WriteBufferSize:   16 << 10,
		EnableCompression: true,
		NetDialContext:    e.cfg.NetDial,
	}
	if strings.HasPrefix(e.cfg.URL, "wss:") {
		d.TLSClientConfig = protocol.PinnedTLSConfig(e.cfg.Fingerprint)
	}
	conn, resp, err := d.DialContext(ctx, e.cfg.URL, http.Header{"User-Agent": {"jiannuo-device/1"}})
	if err != nil {
		if errors.Is(err, protocol.ErrWrongServer) {
			return nil, &FatalError{Code: protocol.CodeWrongServer, Message: err.Error()}
		}
		if resp != nil {
			return nil, fmt.Errorf("connecting to %s: %s: %w", e.cfg.URL, resp.Status, err)
		}
		return nil, fmt.Errorf("connecting to %s: %w", e.cfg.URL, err)
	}
	conn.SetReadLimit(protocol.MaxFrameBytes)
	conn.EnableWriteCompression(true)
	conn.SetCompressionLevel(1)
	return conn, nil
}
