// Package countytest starts a real county server for the tests of other
// packages: a fresh data directory, TLS on 127.0.0.1, the cheap key
// derivation parameters of auth.TestParams, and the replica's invariants
// checked when the test ends. It is the one place such tests start one, so
// a change to how a county server is initialised or served changes here.
//
// A server may also join a serf cluster as `jiannuo-server serve
// -cluster-addr` does (Config.Cluster), be stopped and started again on
// the same addresses (Kill, Start), and enrol township and county-admin
// devices the way a county admin does (Device).
package countytest

import (
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"

	"jiannuo/auth"
	"jiannuo/domain/office"
	"jiannuo/server/cluster"
	"jiannuo/server/county"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/engine"
)

// Config describes the server to start.
type Config struct {
	County   office.Code // e.g. "410324"
	Admin    string      // the admin credential's name
	Password string      // and password
	// NoSync skips fsync, for tests that measure or load rather than
	// check durability.
	NoSync bool
	// Logs receives the server's logs at every level; nil discards them.
	Logs io.Writer
	// Cluster makes the server a member of a serf cluster on a loopback
	// port, announcing its feed to municipal nodes, joined to the members
	// Join lists (none: it waits to be joined).
	Cluster bool
	Join    []string
	// Edit, if set, changes the server's configuration before each start
	// (the case time limits, a clock).
	Edit func(*county.Config)
}

// Server is a running county server.
type Server struct {
	// Server is the running server; Start replaces it.
	*county.Server
	// Dir is its data directory (the server command's -dir).
	Dir string
	// Base is what a device knows of it after enrolment: its URL and
	// certificate fingerprint.
	Base engine.Server
	// Key is the county's public key: receipts and certificates verify
	// with it.
	Key ed25519.PublicKey
	// SerfAddr is its cluster member's address, with Config.Cluster.
	SerfAddr string

	t      testing.TB
	cfg    Config
	addr   string // kept across restarts
	member *cluster.Member
	cancel context.CancelFunc
	served chan error
}

// Start initialises and serves a county server until the test ends, then
// stops it and checks its replica.
func Start(t testing.TB, c Config) *Server {
	t.Helper()
	dir := t.TempDir()
	if _, err := county.Init(dir, county.InitConfig{County: c.County, AdminName: c.Admin, AdminPassword: c.Password,
		KDF: auth.TestParams(), Logger: logger(nil)}); err != nil {
		t.Fatal(err)
	}
	s := &Server{Dir: dir, t: t, cfg: c, addr: "127.0.0.1:0", SerfAddr: "127.0.0.1:0"}
	s.Start()
	t.Cleanup(func() { s.stop(true) })
	return s
}

// logger logs to w at every level, or nowhere when w is nil.
func logger(w io.Writer) *slog.Logger {
	if w == nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Start serves the server again after Kill, on the same address and
// cluster address. It does nothing while the server runs.
func (s *Server) Start() {
	t := s.t
	t.Helper()
	if s.cancel != nil {
		return
	}
	cfg := county.DefaultConfig(s.Dir)
	cfg.KDF, cfg.Logger, cfg.NoSync = auth.TestParams(), logger(s.cfg.Logs), s.cfg.NoSync
	if s.cfg.Edit != nil {
		s.cfg.Edit(&cfg)
	}
	srv, err := county.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.Server, s.addr, s.cancel, s.served = srv, ln.Addr().String(), cancel, make(chan error, 1)
	go func() { s.served <- srv.Serve(ctx, ln) }()
	id := srv.Identity()
	s.Base = engine.Server{BaseURL: "https://" + s.addr, Fingerprint: id.Fingerprint}
	s.Key = id.Key.Public().(ed25519.PublicKey)
	if !s.cfg.Cluster {
		return
	}
	head, err := srv.Store().FeedHead()
	if err != nil {
		t.Fatal(err)
	}
	mc := cluster.DefaultLocalConfig()
	mc.NodeName, mc.BindAddr, mc.Join, mc.Logger = "county-"+string(id.County), s.SerfAddr, s.cfg.Join, logger(nil)
	mc.SnapshotPath = filepath.Join(s.Dir, "serf.snapshot")
	mc.Tags = cluster.Tags{Role: cluster.RoleCounty, County: id.County, Upstream: "wss://" + s.addr + "/upstream", Head: head,
		Fingerprint: id.Fingerprint}
	m, err := cluster.New(mc)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	s.member, s.SerfAddr = m, m.Addr()
	go m.Announce(ctx, srv.FeedWaiter, srv.Store().FeedHead)
}

// Kill stops the server abruptly, as a power cut would: its cluster
// member leaves without a word, so the cluster sees it fail.
func (s *Server) Kill() { s.stop(false) }

// stop stops the server; gracefully (leaving the cluster and checking the
// replica's invariants) or not.
func (s *Server) stop(graceful bool) {
	if s.cancel == nil {
		return
	}
	if s.member != nil {
		if graceful {
			s.member.Leave()
		}
		s.member.Shutdown()
		s.member = nil
	}
	s.cancel()
	<-s.served
	if graceful {
		if err := s.Store().Check(); err != nil {
			s.t.Errorf("county replica invariants: %v", err)
		}
	}
	s.Server.Close()
	s.cancel = nil
}

// Client returns a client of the county's API signed in as the admin of
// Config: the API the server command and the admin screens call.
func (s *Server) Client() *countyapi.Client {
	cfg := countyapi.DefaultConfig(s.Base.BaseURL, s.Base.Fingerprint)
	cfg.Admin, cfg.Password = s.cfg.Admin, s.cfg.Password
	c := countyapi.New(cfg)
	s.t.Cleanup(c.CloseIdleConnections)
	return c
}
