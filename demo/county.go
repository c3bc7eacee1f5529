package demo

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"jiannuo/auth"
	"jiannuo/server/county"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/engine"
)

// LocalCounty is the local county server the demo syncs with when no real one
// is configured: a real county.Server on 127.0.0.1 with TLS, its data in
// the demo directory, the demo's devices enrolled.
type LocalCounty struct {
	Server *county.Server
	Addr   string
	cancel context.CancelFunc
	done   chan error
}

// StartCounty starts (initialising on first use) the demo's county server
// in dir/county-server and enrols the given sessions' devices with it,
// saving each replica's sync settings. Stop it with Close.
func StartCounty(dir string, kdf auth.Params, sessions ...*store.Session) (*LocalCounty, error) {
	sdir := filepath.Join(dir, "county-server")
	if _, err := countyIdentity(dir, kdf); err != nil {
		return nil, err
	}
	cfg := county.DefaultConfig(sdir)
	cfg.KDF = kdf
	srv, err := county.New(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &LocalCounty{Server: srv, Addr: ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { c.done <- srv.Serve(ctx, ln) }()
	base := engine.Server{BaseURL: "https://" + c.Addr, Fingerprint: srv.Identity().Fingerprint}
	for _, se := range sessions {
		if err := c.enrol(ctx, base, se); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// countyIdentity returns the identity of the demo's county server in
// dir/county-server, initialising it on first use: the seed seals the
// demo filers' contacts to its key before the server first runs.
func countyIdentity(dir string, kdf auth.Params) (*county.Identity, error) {
	sdir := filepath.Join(dir, "county-server")
	if _, err := os.Stat(filepath.Join(sdir, "county.json")); errors.Is(err, os.ErrNotExist) {
		id, err := county.Init(sdir, county.InitConfig{County: County, AdminName: Admin, AdminPassword: Passphrase, KDF: kdf})
		if err != nil {
			return nil, fmt.Errorf("initialising the demo county server: %w", err)
		}
		return id, nil
	}
	return county.LoadIdentity(sdir)
}

func (c *LocalCounty) enrol(ctx context.Context, base engine.Server, se *store.Session) error {
	en, err := engine.EnrolmentStatus(ctx, base, se)
	if err != nil || en.Status != countyapi.EnrolApproved {
		if _, err := engine.RequestEnrolment(ctx, base, se); err != nil {
			return fmt.Errorf("demo enrolment: %w", err)
		}
		if _, err := c.Server.Approve(se.Device().ID, countyapi.ApproveRequest{Admin: se.Device().Admin}, Admin); err != nil {
			return fmt.Errorf("demo approval: %w", err)
		}
		if en, err = engine.EnrolmentStatus(ctx, base, se); err != nil {
			return err
		}
	}
	return se.Store().SetSyncSettings(store.SyncSettings{BaseURL: base.BaseURL, Fingerprint: base.Fingerprint,
		County: en.County, CountyKey: ed25519.PublicKey(en.CountyKey), Enrolled: en.Status == countyapi.EnrolApproved})
}

// Close stops the server.
func (c *LocalCounty) Close() error {
	c.cancel()
	<-c.done
	return c.Server.Close()
}

// StartCounty starts the demo's local county server (StartCounty) with all
// three demo devices enrolled, and syncs each once, the county admin's
// first: the county then holds everything the seed recorded, so the cases
// the admin's device opened are there before a township device pushes its
// steps on them (the county refuses a step on a case it never opened).
// The caller may close the replicas it does not show afterwards.
func (d *Demo) StartCounty(ctx context.Context, kdf auth.Params) (*LocalCounty, error) {
	admin, err := d.County.SignIn(Admin, Passphrase)
	if err != nil {
		return nil, err
	}
	colleague, err := d.Colleague.SignIn(Colleague, Passphrase)
	if err != nil {
		return nil, err
	}
	sessions := []*store.Session{admin, colleague, d.Leader}
	c, err := StartCounty(d.dir, kdf, sessions...)
	if err != nil {
		return nil, err
	}
	for _, se := range sessions {
		if err := c.SyncOnce(ctx, se); err != nil {
			c.Close()
			return nil, fmt.Errorf("demo sync of %s: %w", se.Device().ID.Short(), err)
		}
	}
	return c, nil
}

// SyncOnce syncs the replica of se with the local county once: everything
// it holds goes up, everything for its office comes down.
func (c *LocalCounty) SyncOnce(ctx context.Context, se *store.Session) error {
	st, _, err := se.Store().SyncSettings()
	if err != nil {
		return err
	}
	eng := engine.New(se, engine.Config{URL: engine.Server{BaseURL: st.BaseURL}.SyncURL(), Fingerprint: st.Fingerprint, CountyKey: st.CountyKey})
	return eng.SyncOnce(ctx)
}
