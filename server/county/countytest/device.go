package countytest

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/engine"
)

// DevicePassphrase is the passphrase of the first account of every device
// Device sets up.
const DevicePassphrase = "镇工作人员口令2026"

// DeviceConfig describes a device to set up and enrol.
type DeviceConfig struct {
	// Office is the township the device writes for, or the county for a
	// county-admin device (Role domain.RoleCountyAdmin).
	Office office.Code
	// Role is the first account's role; DisplayName its person's name
	// (default "工作人员").
	Role        domain.Role
	DisplayName string
	// Logs receives the sync engine's logs at every level; nil discards
	// them.
	Logs io.Writer
	// NetDial, if set, dials the engine's connections (a test cuts the
	// device off this way).
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Device is a township or county-admin device: its own replica (a real
// bbolt file), its signed-in session and its sync engine, enrolled with
// the server as a county admin does.
type Device struct {
	Store   *store.Store
	Session *store.Session
	Engine  *engine.Engine
	// Path is its bbolt file.
	Path string
	t    testing.TB
}

var devices atomic.Int64

// Device sets up a device of cfg.Office, requests its enrolment, has the
// admin approve it (as a county-admin device for domain.RoleCountyAdmin)
// and returns it ready to sync. Its replica's invariants are checked when
// the test ends.
func (s *Server) Device(cfg DeviceConfig) *Device {
	t := s.t
	t.Helper()
	n := devices.Add(1)
	path := filepath.Join(t.TempDir(), "device.db")
	st, err := store.Open(path, &store.Options{KDF: auth.TestParams(), Logger: logger(cfg.Logs), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Check(); err != nil {
			t.Errorf("device replica invariants: %v", err)
		}
		st.Close()
	})
	if cfg.DisplayName == "" {
		cfg.DisplayName = "工作人员"
	}
	admin := cfg.Role == domain.RoleCountyAdmin
	se, err := st.Setup(store.SetupConfig{Office: cfg.Office, Admin: admin, DeviceName: fmt.Sprintf("终端-%d", n),
		Name: fmt.Sprintf("user%d", n), DisplayName: cfg.DisplayName, Role: cfg.Role, Passphrase: DevicePassphrase})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := engine.RequestEnrolment(ctx, s.Base, se); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Approve(se.Device().ID, countyapi.ApproveRequest{Admin: admin}, s.cfg.Admin); err != nil {
		t.Fatal(err)
	}
	en, err := engine.EnrolmentStatus(ctx, s.Base, se)
	if err != nil || en.Status != countyapi.EnrolApproved {
		t.Fatalf("enrolment: %+v %v", en, err)
	}
	eng := engine.New(se, engine.Config{URL: s.Base.SyncURL(), Fingerprint: s.Base.Fingerprint, CountyKey: en.CountyKey,
		Logger: logger(cfg.Logs), MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, NetDial: cfg.NetDial})
	return &Device{Store: st, Session: se, Engine: eng, Path: path, t: t}
}

// Sync runs one sync session to the end: everything sealed and pushed,
// the feed received up to the county's head. It fails the test on error.
func (d *Device) Sync() {
	d.t.Helper()
	if err := d.TrySync(); err != nil {
		d.t.Fatalf("sync: %v", err)
	}
}

// TrySync runs one sync session and returns its error.
func (d *Device) TrySync() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return d.Engine.SyncOnce(ctx)
}
