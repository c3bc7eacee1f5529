// Package countytest starts a real county server for the tests of other
// packages: a fresh data directory, TLS on 127.0.0.1, the cheap key
// derivation parameters of auth.TestParams, and the replica's invariants
// checked when the test ends. It is the one place such tests start one, so
// a change to how a county server is initialised or served changes here.
package countytest

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"

	"jiannuo/auth"
	"jiannuo/domain/office"
	"jiannuo/server/county"
	"jiannuo/store"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
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

// FeedSet returns every change set in a serving replica's feed by device
// and sequence number, with its hash, failing the test if one is there
// twice: what tests of a restored county compare with what was receipted.
func FeedSet(t testing.TB, st *store.Store) map[protocol.DeviceID]map[uint64]protocol.Hash {
	t.Helper()
	out := map[protocol.DeviceID]map[uint64]protocol.Hash{}
	err := st.Feed(0, 0, func(e store.FeedEntry, _ []byte) bool {
		if out[e.Device] == nil {
			out[e.Device] = map[uint64]protocol.Hash{}
		}
		if _, dup := out[e.Device][e.Seq]; dup {
			t.Errorf("change set %s/%d twice in the feed", e.Device.Short(), e.Seq)
		}
		out[e.Device][e.Seq] = e.Hash
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// HasAll fails the test unless every change set of want is in got with
// the same hash.
func HasAll(t testing.TB, got, want map[protocol.DeviceID]map[uint64]protocol.Hash) {
	t.Helper()
	for dev, seqs := range want {
		for seq, hash := range seqs {
			if got[dev][seq] != hash {
				t.Errorf("change set %s/%d is missing or other (%s, want %s)", dev.Short(), seq, got[dev][seq], hash)
			}
		}
	}
}

// ReceiptsMatch fails the test unless every receipt the device replica st
// holds verifies with key and names the change set the county replica
// holds with its number (its position may be an older feed's: a county
// restored from a backup gave positions anew).
func ReceiptsMatch(t testing.TB, st, county *store.Store, key ed25519.PublicKey) {
	t.Helper()
	seq, _, err := st.LastReceipt()
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	for s := uint64(1); s <= seq; s++ {
		raw, err := st.Receipt(s)
		if err != nil {
			t.Fatalf("no receipt for change set %d: %v", s, err)
		}
		rc, err := protocol.OpenReceipt(raw, key)
		if err != nil {
			t.Fatal(err)
		}
		if fe, ok, err := county.FeedEntryOf(rc.Device, rc.Seq); err != nil || !ok || fe.Hash != rc.Hash {
			t.Fatalf("receipt for %s/%d names %s; the county holds %+v (%v, %v)", rc.Device.Short(), rc.Seq, rc.Hash, fe, ok, err)
		}
	}
}
