package county_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"jiannuo/domain"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// The device list of the county admin shows what each device said of
// itself in its hello: its software version, the change sets it has sealed
// (so the gap the county has yet to receive) and its unsealed operations.

// adminDevices reads GET /admin/devices as the county admin does.
func (h *harness) adminDevices(t *testing.T) []countyapi.DeviceInfo {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.base.BaseURL+"/admin/devices", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("admin", adminPass)
	resp, err := h.pinnedClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/devices: %s", resp.Status)
	}
	var out []countyapi.DeviceInfo
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// adminDevice is the row of dev in the admin's device list.
func (h *harness) adminDevice(t *testing.T, dev protocol.DeviceID) countyapi.DeviceInfo {
	t.Helper()
	for _, d := range h.adminDevices(t) {
		if d.ID == dev {
			return d
		}
	}
	t.Fatalf("device %s is not listed", dev.Short())
	return countyapi.DeviceInfo{}
}

// pausable is an engine whose next session can be held just after the
// county's welcome, before it pushes anything: the status callback the
// engine makes then (state syncing) blocks until the test resumes it. And
// before its next dial, it can run an action on the device (after the
// engine sealed what was pending, before it says hello).
type pausable struct {
	eng        *engine.Engine
	armed      atomic.Bool
	welcomed   chan struct{}
	resume     chan struct{}
	beforeDial atomic.Pointer[func()]
}

func (h *harness) pausableEngine(d *device, version string) *pausable {
	p := &pausable{welcomed: make(chan struct{}), resume: make(chan struct{})}
	p.eng = engine.New(d.se, engine.Config{URL: h.base.SyncURL(), Fingerprint: h.base.Fingerprint, CountyKey: h.key,
		Logger: quiet(), Version: version,
		NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if f := p.beforeDial.Swap(nil); f != nil {
				(*f)()
			}
			var nd net.Dialer
			return nd.DialContext(ctx, network, addr)
		},
		OnStatus: func(s engine.Status) {
			if s.State == engine.StateSyncing && p.armed.CompareAndSwap(true, false) {
				p.welcomed <- struct{}{}
				<-p.resume
			}
		}})
	return p
}

// syncPaused starts one SyncOnce that holds after the welcome; inspect
// runs then, the sync is resumed and must finish.
func (p *pausable) syncPaused(t *testing.T, inspect func()) {
	t.Helper()
	p.armed.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- p.eng.SyncOnce(ctx) }()
	select {
	case <-p.welcomed:
	case err := <-errc:
		t.Fatalf("the sync ended before the welcome: %v", err)
	}
	inspect()
	p.resume <- struct{}{}
	if err := <-errc; err != nil {
		t.Fatalf("sync: %v", err)
	}
}

func (p *pausable) sync(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.eng.SyncOnce(ctx); err != nil {
		t.Fatalf("sync: %v", err)
	}
}

// wantStatus checks the figures of a device's row.
func wantStatus(t *testing.T, when string, d countyapi.DeviceInfo, version string, lastSeq, deviceSeq, pending, gap uint64) {
	t.Helper()
	if d.Version != version || d.LastSeq != lastSeq || d.DeviceSeq != deviceSeq || d.PendingOps != pending || d.Gap != gap ||
		d.Unsealed != (pending > 0) || d.LastSeen.IsZero() || d.Reported.IsZero() {
		t.Fatalf("%s: row %+v; want version %q, county holds up to %d, device sealed up to %d, %d unsealed, gap %d",
			when, d, version, lastSeq, deviceSeq, pending, gap)
	}
}

// TestDeviceListVersionAndGap: a device seals change sets offline and
// connects; while it is held before pushing, the admin's list shows its
// version and the change sets the county lacks; after the sync the gap is
// zero. It seals more and connects again: the gap is the new ones; an
// operation made after its engine sealed shows as unsealed work until the
// next sync seals and delivers it.
func TestDeviceListVersionAndGap(t *testing.T) {
	h := newHarness(t)
	d := h.device(townA, domain.RoleLeader)
	id := d.se.Device().ID
	const version = "0.1.0+build.42"
	p := h.pausableEngine(d, version)

	// Never connected: nothing reported.
	if r := h.adminDevice(t, id); !r.LastSeen.IsZero() || r.Version != "" || r.DeviceSeq != 0 || r.Gap != 0 || !r.Reported.IsZero() {
		t.Fatalf("before any session: %+v", r)
	}

	// Two change sets sealed offline.
	d.create("村级事务公开栏每月更新")
	mustSeal(t, d.se)
	d.create("低保申请五个工作日内受理")
	mustSeal(t, d.se)
	p.syncPaused(t, func() {
		wantStatus(t, "connected, nothing pushed yet", h.adminDevice(t, id), version, 0, 2, 0, 2)
	})
	wantStatus(t, "after a full sync", h.adminDevice(t, id), version, 2, 2, 0, 0)

	// One more, sealed offline.
	d.create("老年人优待证当场办结")
	mustSeal(t, d.se)
	p.syncPaused(t, func() {
		wantStatus(t, "sealed one more offline", h.adminDevice(t, id), version, 2, 3, 0, 1)
	})
	wantStatus(t, "after the second sync", h.adminDevice(t, id), version, 3, 3, 0, 0)

	// Work done between the engine's sealing and its hello is unsealed:
	// this sync does not carry it, the next one does.
	act := func() {
		if _, err := d.se.Create(store.Draft{Category: domain.CatConvenience, Title: "路灯报修三日内修复", Text: "路灯报修", Responsible: "负责人"}); err != nil {
			t.Error(err)
		}
	}
	p.beforeDial.Store(&act)
	p.syncPaused(t, func() {
		wantStatus(t, "an operation not sealed", h.adminDevice(t, id), version, 3, 3, 1, 0)
	})
	wantStatus(t, "unsealed work is still on the device", h.adminDevice(t, id), version, 3, 3, 1, 0)
	p.sync(t)
	wantStatus(t, "sealed and delivered", h.adminDevice(t, id), version, 4, 4, 0, 0)
}

func mustSeal(t *testing.T, se *store.Session) {
	t.Helper()
	if _, err := se.Seal(0); err != nil {
		t.Fatal(err)
	}
}

// TestDeviceListOlderDevice: a device whose hello carries no status (an
// app older than it) is listed with when it was seen and what the county
// holds, no version and no gap; a later hello with a status fills them in.
func TestDeviceListOlderDevice(t *testing.T) {
	h := newHarness(t)
	d := h.rawEnrolled(t, townA)
	rc, _ := h.connectRaw(t, d) // the hello of older devices
	cs := d.next(rawCreateOp(t, townA))
	rc.accept(h, d, cs)
	r := h.adminDevice(t, d.id)
	if r.LastSeen.IsZero() || r.LastSeq != 1 || r.Version != "" || r.DeviceSeq != 0 || r.Gap != 0 || r.Unsealed || !r.Reported.IsZero() {
		t.Fatalf("an older device: %+v", r)
	}
	rc.c.Close()

	rc = h.dialRaw(t)
	rc.send(&protocol.Frame{Type: protocol.FrameHello, Version: protocol.ProtocolVersion, Device: d.id, Sig: rc.sign(d),
		Status: &protocol.HelloStatus{Software: "0.2.0", Seq: 4, PendingOps: 7}})
	rc.await(protocol.FrameWelcome)
	wantStatus(t, "a hello with a status", h.adminDevice(t, d.id), "0.2.0", 1, 4, 7, 3)
}

// TestHelloStatusOversizeRefused: a hello whose version is longer than the
// protocol allows is refused as malformed before anything else, recorded as
// an incident, and stores nothing: not the version, not even that the
// device was seen.
func TestHelloStatusOversizeRefused(t *testing.T) {
	h := newHarness(t)
	d := h.rawEnrolled(t, townA)
	before := h.replicaSnapshot(t)
	for _, version := range []string{strings.Repeat("9", protocol.MaxSoftwareVersionBytes+1), "0.1.0\x1b[31m"} {
		rc := h.dialRaw(t)
		plain := protocol.AppendFrame(nil, &protocol.Frame{Type: protocol.FrameHello, Version: protocol.ProtocolVersion, Device: d.id, Sig: rc.sign(d)})
		msg := append(binary.AppendUvarint(plain, uint64(len(version))), version...)
		rc.sendRaw(websocket.BinaryMessage, append(msg, 5, 0))
		rc.wantError(protocol.CodeMalformed)
	}
	h.wantUnchanged(t, before)
	h.wantIncidentFor(t, protocol.DeviceID{}, protocol.CodeMalformed)
	if r := h.adminDevice(t, d.id); !r.LastSeen.IsZero() || r.Version != "" || r.DeviceSeq != 0 || !r.Reported.IsZero() || r.Online {
		t.Fatalf("a refused hello left a trace in the device list: %+v", r)
	}
}
