// Package countytest starts a real county server for the tests of other
// packages: a fresh data directory, TLS on 127.0.0.1, the cheap key
// derivation parameters of auth.TestParams, and the replica's invariants
// checked when the test ends. It is the one place such tests start one, so
// a change to how a county server is initialised or served changes here.
package countytest

import (
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"net"
	"testing"

	"jiannuo/auth"
	"jiannuo/domain/office"
	"jiannuo/server/county"
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
}

// Server is a running county server.
type Server struct {
	*county.Server
	// Dir is its data directory (the server command's -dir).
	Dir string
	// Base is what a device knows of it after enrolment: its URL and
	// certificate fingerprint.
	Base engine.Server
	// Key is the county's public key: receipts and certificates verify
	// with it.
	Key ed25519.PublicKey
}

// Start initialises and serves a county server until the test ends, then
// stops it and checks its replica.
func Start(t testing.TB, c Config) *Server {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	if _, err := county.Init(dir, county.InitConfig{County: c.County, AdminName: c.Admin, AdminPassword: c.Password,
		KDF: auth.TestParams(), Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	cfg := county.DefaultConfig(dir)
	cfg.KDF, cfg.Logger, cfg.NoSync = auth.TestParams(), quiet, c.NoSync
	srv, err := county.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-served
		if err := srv.Store().Check(); err != nil {
			t.Errorf("county replica invariants: %v", err)
		}
		srv.Close()
	})
	return &Server{Server: srv, Dir: dir,
		Base: engine.Server{BaseURL: "https://" + ln.Addr().String(), Fingerprint: srv.Identity().Fingerprint},
		Key:  srv.Identity().Key.Public().(ed25519.PublicKey)}
}
