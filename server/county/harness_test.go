package county_test

import (
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/server/county"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// The harness runs a real county server with real TLS on 127.0.0.1 and real
// devices with their own bbolt files, enrolled the way a county admin does.

const (
	countyCode office.Code = "410324"
	townA      office.Code = "410324101" // 赤土店镇
	townB      office.Code = "410324102" // 合峪镇
	adminPass              = "县信用办管理员口令"
	devPass                = "镇工作人员口令2026"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type harness struct {
	t      testing.TB
	dir    string
	srv    *county.Server
	addr   string // host:port the server listens on
	cancel context.CancelFunc
	served chan error
	base   engine.Server
	key    ed25519.PublicKey
	edit   func(*county.Config) // changes the defaults of config, if set
}

// newHarness initialises a county server in a temporary directory and
// starts it.
func newHarness(t testing.TB) *harness { return newHarnessWith(t, nil) }

// newHarnessWith is newHarness with a config that edit changes.
func newHarnessWith(t testing.TB, edit func(*county.Config)) *harness {
	t.Helper()
	dir := t.TempDir()
	if _, err := county.Init(dir, county.InitConfig{County: countyCode, AdminName: "admin", AdminPassword: adminPass, KDF: auth.TestParams(), Logger: quiet()}); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dir: dir, edit: edit}
	h.start("127.0.0.1:0")
	t.Cleanup(h.stop)
	return h
}

func (h *harness) config() county.Config {
	cfg := county.DefaultConfig(h.dir)
	cfg.KDF = auth.TestParams()
	cfg.Logger = quiet()
	cfg.NoSync = false
	if h.edit != nil {
		h.edit(&cfg)
	}
	return cfg
}

func (h *harness) start(addr string) {
	h.t.Helper()
	srv, err := county.New(h.config())
	if err != nil {
		h.t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.srv, h.cancel, h.addr, h.served = srv, cancel, ln.Addr().String(), make(chan error, 1)
	go func() { h.served <- srv.Serve(ctx, ln) }()
	h.base = engine.Server{BaseURL: "https://" + h.addr, Fingerprint: srv.Identity().Fingerprint}
	h.key = srv.Identity().Key.Public().(ed25519.PublicKey)
}

func (h *harness) stop() {
	if h.srv == nil {
		return
	}
	h.cancel()
	<-h.served
	if err := h.srv.Store().Check(); err != nil {
		h.t.Errorf("county replica invariants: %v", err)
	}
	h.srv.Close()
	h.srv = nil
}

// device is a township (or county-admin) device with its own replica.
type device struct {
	t   testing.TB
	st  *store.Store
	se  *store.Session
	eng *engine.Engine
	// receipted gets the sequence number of each new receipt (dropped
	// when nobody listens), for tests that wait for ingest to be under way.
	receipted chan uint64
}

var devCounter atomic.Int64

func (h *harness) device(o office.Code, role domain.Role) *device {
	return h.deviceVia(o, role, h.base.SyncURL())
}

// deviceVia makes and enrols a device that syncs through url (a proxy, say).
func (h *harness) deviceVia(o office.Code, role domain.Role, url string) *device {
	t := h.t
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
	se, err := st.Setup(store.SetupConfig{Office: o, Admin: admin, DeviceName: "终端-" + string(rune('A'+n%26)),
		Name: "user", DisplayName: "工作人员", Role: role, Passphrase: devPass})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	en, err := engine.RequestEnrolment(ctx, h.base, se)
	if err != nil {
		t.Fatal(err)
	}
	if en.Status != "pending" {
		t.Fatalf("new enrolment is %s", en.Status)
	}
	if _, err := h.srv.Approve(se.Device().ID, countyapi.ApproveRequest{Admin: admin}, "admin"); err != nil {
		t.Fatal(err)
	}
	en, err = engine.EnrolmentStatus(ctx, h.base, se)
	if err != nil {
		t.Fatal(err)
	}
	if en.Status != "approved" || en.Certificate == nil {
		t.Fatalf("enrolment after approval: %+v", en)
	}
	d := &device{t: t, st: st, se: se, receipted: make(chan uint64, 1)}
	var last uint64
	d.eng = engine.New(se, engine.Config{URL: url, Fingerprint: h.base.Fingerprint, CountyKey: en.CountyKey, County: en.County,
		Logger: quiet(), MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		OnStatus: func(s engine.Status) {
			if s.LastReceiptSeq != last {
				last = s.LastReceiptSeq
				select {
				case d.receipted <- last:
				default:
				}
			}
		}})
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

func (d *device) digest() protocol.Hash {
	d.t.Helper()
	h, err := d.st.Digest()
	if err != nil {
		d.t.Fatal(err)
	}
	return h
}

func (d *device) create(title string) store.Ref {
	d.t.Helper()
	ref, err := d.se.Create(store.Draft{Category: domain.CatConvenience, Title: title, Text: title + "：承诺内容",
		Responsible: "负责人", StartDate: calendar.NewDate(2026, 11, 2), Deadline: domain.WorkdaysDeadline(10), Public: true})
	if err != nil {
		d.t.Fatal(err)
	}
	return ref
}
