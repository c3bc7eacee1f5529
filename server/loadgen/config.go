package loadgen

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// Config describes a load. The zero value of every field but URL and
// Fingerprint means its default.
type Config struct {
	// URL is the county server's base address, https://host:port
	// (http://host:port for a server run with -insecure-loopback). Required.
	URL string
	// Fingerprint is the SHA-256 fingerprint of the server's TLS
	// certificate, as protocol.Fingerprint prints it (jiannuo-server
	// fingerprint). Required: devices pin it, and it is part of what the
	// hello signs even over plain ws://.
	Fingerprint string
	// County is the county the server serves; empty means ask the server
	// (its session challenge names it).
	County office.Code

	// Devices is how many devices Run simulates (default 50).
	Devices int
	// ChangeSets is how many change sets each device pushes (default 10).
	ChangeSets int
	// Ops is how many operations each change set holds (default 100, the
	// size a real device seals; at most protocol.MaxOpsPerChangeSet).
	Ops int
	// Offices is how many townships the devices are spread over (default:
	// one per device, at most 899). Devices of one township receive each
	// other's change sets from the server's feed, which Run acknowledges
	// without applying; with one township per device there is no such
	// fan-out and Run measures ingest alone.
	Offices int
	// Concurrency is how many devices push at the same time (default: all
	// of them). All devices connect first; the others wait connected.
	Concurrency int
	// SetupConcurrency is how many enrolments and connection set-ups run at
	// the same time (default 32). Approvals through the admin API run at
	// most two at a time whatever it says (see the package caveats).
	SetupConcurrency int
	// Window is how many change sets a device may have pushed without a
	// receipt (default 128, as the sync engine).
	Window int
	// VerifyEvery: each device checks the county's signature on its first
	// receipt, every VerifyEvery-th after it and its last (default 10; 1
	// checks every receipt). Every receipt is matched to the change set
	// it names whatever this says.
	VerifyEvery int
	// Text is what the devices write in titles, texts, names and
	// fulfilment notes: TextHanzi (the default), generated Chinese text
	// that compresses as real text does, or TextClauses, the few dozen
	// fixed clauses of earlier figures.
	Text TextMode
	// Seed makes the texts: device i (from 0) writes what NewText with a
	// seed derived from Seed and i generates, whatever its key (default
	// 0, a seed like any other).
	Seed uint64
	// NoCompression turns off permessage-deflate, which devices negotiate
	// by default (as the sync engine does).
	NoCompression bool
	// RandomIDs gives new commitments random IDs, as builds before the
	// time-ordered IDs (protocol.NewOrderedEntityID) made them: to measure
	// what the order saves a county that still receives them.
	RandomIDs bool

	// Admin and Password are a county-admin credential for approving
	// enrolments through the admin API. Not needed when Approve is set.
	Admin, Password string
	// Approve, if set, approves a pending enrolment instead of the admin
	// API: for a server in the same process, e.g.
	//
	//	func(_ context.Context, d protocol.DeviceID) error {
	//		_, err := srv.Approve(d, countyapi.ApproveRequest{}, "loadgen")
	//		return err
	//	}
	Approve func(ctx context.Context, dev protocol.DeviceID) error
	// Keys are device keys to use, in order, before new ones are made:
	// for devices made (and perhaps enrolled) by another Loadgen, say in
	// another process.
	Keys []ed25519.PrivateKey
	// Enrolled says the devices of Keys are enrolled and approved already,
	// so Enrol skips them.
	Enrolled bool

	// BeforePush and AfterPush, if set, are called by Run when every
	// device is connected, just before the first push (and the wall
	// clock) starts, and when the last receipt has arrived, before the
	// sessions close: to read the server's counters around exactly the
	// timed part.
	BeforePush, AfterPush func()

	// HandshakeTimeout bounds a connection set-up: TCP, TLS, websocket
	// upgrade, challenge, hello and welcome (default 30s).
	HandshakeTimeout time.Duration
	// ReadTimeout is how long a connection may stay silent, pings
	// included, before it counts as failed (default 2min).
	ReadTimeout time.Duration
	// Logger receives progress; nil discards it.
	Logger *slog.Logger
}

// The defaults.
const (
	DefaultDevices          = 50
	DefaultChangeSets       = 10
	DefaultOps              = 100
	DefaultSetupConcurrency = 32
	DefaultWindow           = 128
	DefaultVerifyEvery      = 10
	DefaultHandshakeTimeout = 30 * time.Second
	DefaultReadTimeout      = 2 * time.Minute
	// MaxOffices is how many townships a county can have (codes 001-999
	// after the county's six digits; Run uses 101 upward).
	MaxOffices = 899
)

func (c *Config) fill() error {
	if c.URL == "" {
		return errors.New("loadgen: no server URL")
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("loadgen: URL %q: want https://host:port", c.URL)
	}
	if c.Fingerprint == "" {
		return errors.New("loadgen: no server fingerprint (jiannuo-server fingerprint prints it)")
	}
	if c.County != "" && c.County.Level() != office.County {
		return fmt.Errorf("loadgen: county %q is not a county-level code", c.County)
	}
	if c.Text > TextClauses {
		return fmt.Errorf("loadgen: unknown text mode %d", c.Text)
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Devices, DefaultDevices)
	def(&c.ChangeSets, DefaultChangeSets)
	def(&c.Ops, DefaultOps)
	if c.Ops > protocol.MaxOpsPerChangeSet {
		return fmt.Errorf("loadgen: %d operations per change set, the protocol allows %d", c.Ops, protocol.MaxOpsPerChangeSet)
	}
	def(&c.Offices, min(c.Devices, MaxOffices))
	c.Offices = min(c.Offices, MaxOffices)
	def(&c.Concurrency, c.Devices)
	def(&c.SetupConcurrency, DefaultSetupConcurrency)
	def(&c.Window, DefaultWindow)
	def(&c.VerifyEvery, DefaultVerifyEvery)
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.URL = strings.TrimSuffix(c.URL, "/")
	return nil
}

// syncURL is the websocket endpoint under the base URL.
func (c *Config) syncURL() string {
	switch {
	case strings.HasPrefix(c.URL, "https://"):
		return "wss://" + strings.TrimPrefix(c.URL, "https://") + "/sync"
	default:
		return "ws://" + strings.TrimPrefix(c.URL, "http://") + "/sync"
	}
}

// townshipCode returns the code of the i-th township (from 0) of county.
func townshipCode(county office.Code, i int) office.Code {
	return office.Code(fmt.Sprintf("%s%03d", county, 101+i%MaxOffices))
}
