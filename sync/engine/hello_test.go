package engine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// The hello's device status, against a stand-in county server that speaks
// the handshake frame by frame: the engine reports its version, the last
// change set it sealed and the operations it has not sealed, and says hello
// without them to a server too old to take them.

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestSession(t *testing.T) *store.Session {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "device.db"), &store.Options{KDF: auth.TestParams(), Logger: quietLog(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	se, err := st.Setup(store.SetupConfig{Office: "410324101", DeviceName: "赤土店镇-1", Name: "user", DisplayName: "工作人员",
		Role: domain.RoleLeader, Passphrase: "镇工作人员口令2026"})
	if err != nil {
		t.Fatal(err)
	}
	return se
}

func create(t *testing.T, se *store.Session, title string) {
	t.Helper()
	if _, err := se.Create(store.Draft{Category: domain.CatConvenience, Title: title, Text: title, Responsible: "负责人",
		StartDate: calendar.NewDate(2026, 11, 2), Deadline: domain.WorkdaysDeadline(10)}); err != nil {
		t.Fatal(err)
	}
}

// fakeCounty is a websocket server that sends a challenge, hands each
// hello to the test, and answers what the test's answer function returns.
type fakeCounty struct {
	hellos chan *protocol.Frame
	srv    *httptest.Server
}

// newFakeCounty serves sessions: beforeChallenge runs first (the test may
// act on the device then); answer gives the frames sent after the hello,
// then the server waits for the device to close.
func newFakeCounty(t *testing.T, beforeChallenge func(), answer func(hello *protocol.Frame) []*protocol.Frame) *fakeCounty {
	t.Helper()
	fc := &fakeCounty{hellos: make(chan *protocol.Frame, 16)}
	up := websocket.Upgrader{}
	fc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		if beforeChallenge != nil {
			beforeChallenge()
		}
		ch := &protocol.Frame{Type: protocol.FrameChallenge, Version: protocol.ProtocolVersion, Nonce: bytes.Repeat([]byte{1}, 32),
			County: "410324", CountyKey: make([]byte, 32)}
		if c.WriteMessage(websocket.BinaryMessage, protocol.AppendFrame(nil, ch)) != nil {
			return
		}
		_, data, err := c.ReadMessage()
		if err != nil {
			return
		}
		hello, err := protocol.DecodeFrame(data)
		if err != nil {
			t.Errorf("the engine's hello does not decode: %v", err)
			return
		}
		fc.hellos <- hello
		for _, f := range answer(hello) {
			if c.WriteMessage(websocket.BinaryMessage, protocol.AppendFrame(nil, f)) != nil {
				return
			}
		}
		for { // until the device closes
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}))
	t.Cleanup(fc.srv.Close)
	return fc
}

func (fc *fakeCounty) url() string { return "ws" + strings.TrimPrefix(fc.srv.URL, "http") + "/sync" }

// caughtUpAt0 is what a county with nothing for the device answers.
func caughtUpAt0(*protocol.Frame) []*protocol.Frame {
	return []*protocol.Frame{{Type: protocol.FrameWelcome}, {Type: protocol.FrameCaughtUp}}
}

func (fc *fakeCounty) nextHello(t *testing.T) *protocol.Frame {
	t.Helper()
	select {
	case h := <-fc.hellos:
		return h
	default:
		t.Fatal("no hello reached the server")
		return nil
	}
}

// TestHelloReportsDeviceStatus: the hello carries the configured version,
// the device's own chain head and its unsealed operations; an empty version
// is reported as DefaultVersion, one the wire cannot carry is cleaned.
func TestHelloReportsDeviceStatus(t *testing.T) {
	se := newTestSession(t)
	create(t, se, "第一件")
	if _, err := se.Seal(0); err != nil {
		t.Fatal(err)
	}
	create(t, se, "第二件")
	if _, err := se.Seal(0); err != nil {
		t.Fatal(err)
	}
	// An operation made after the engine sealed and before it says hello
	// is reported as unsealed: the stand-in makes one before its challenge.
	var act atomic.Pointer[func()]
	fc := newFakeCounty(t, func() {
		if f := act.Load(); f != nil {
			(*f)()
		}
	}, func(*protocol.Frame) []*protocol.Frame {
		return []*protocol.Frame{{Type: protocol.FrameError, Code: protocol.CodeInternal, Message: "stand-in county"}}
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, c := range []struct {
		version, want string
		act           func()
		seq, pending  uint64
	}{
		{"0.1.0+build.3", "0.1.0+build.3", nil, 2, 0},
		{"", DefaultVersion, func() {
			if _, err := se.Create(store.Draft{Category: domain.CatConvenience, Title: "第三件", Text: "第三件", Responsible: "负责人"}); err != nil {
				t.Error(err)
			}
		}, 2, 1},
		{"版本 1.0\n", "?? 1.0?", nil, 3, 0},
	} {
		act.Store(&c.act)
		if c.act == nil {
			act.Store(nil)
		}
		e := New(se, Config{URL: fc.url(), Logger: quietLog(), Version: c.version})
		if err := e.SyncOnce(ctx); protocol.CodeOf(err) != protocol.CodeInternal {
			t.Fatalf("version %q: SyncOnce = %v, want the stand-in's internal error", c.version, err)
		}
		h := fc.nextHello(t)
		if h.Status == nil {
			t.Fatalf("version %q: the hello carries no status", c.version)
		}
		if *h.Status != (protocol.HelloStatus{Software: c.want, Seq: c.seq, PendingOps: c.pending}) {
			t.Fatalf("version %q: hello status %+v, want %q, seq %d, %d pending", c.version, *h.Status, c.want, c.seq, c.pending)
		}
		if h.Device != se.Device().ID || !protocol.VerifyChallenge(se.Device().Key, bytes.Repeat([]byte{1}, 32), "", h.Sig) {
			t.Fatal("the hello does not prove the device's key")
		}
	}
}

// TestHelloWithoutStatusForOlderServer: a county server older than the
// status refuses such a hello as malformed; the engine then says hello as
// older devices do, at once, and keeps to it.
func TestHelloWithoutStatusForOlderServer(t *testing.T) {
	se := newTestSession(t)
	fc := newFakeCounty(t, nil, func(hello *protocol.Frame) []*protocol.Frame {
		if hello.Status != nil { // what a server of before the status does with trailing bytes
			return []*protocol.Frame{{Type: protocol.FrameError, Code: protocol.CodeMalformed, Message: "14 trailing bytes in hello frame"}}
		}
		return caughtUpAt0(hello)
	})
	e := New(se, Config{URL: fc.url(), Logger: quietLog(), Version: "0.2.0"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.SyncOnce(ctx); err != nil {
		t.Fatalf("SyncOnce against an older server: %v", err)
	}
	if h := fc.nextHello(t); h.Status == nil || h.Epoch == nil {
		t.Fatal("the first hello carried no status and epoch")
	}
	// First without the epoch (a server that takes the status but not the
	// epoch would take it), then without the status too.
	if h := fc.nextHello(t); h.Status == nil || h.Epoch != nil {
		t.Fatalf("the hello after the first refusal: status %+v, epoch %v; want the status alone", h.Status, h.Epoch)
	}
	if h := fc.nextHello(t); h.Status != nil || h.Epoch != nil {
		t.Fatalf("the hello after the second refusal carries a status: %+v", h.Status)
	}
	if err := e.SyncOnce(ctx); err != nil {
		t.Fatalf("second SyncOnce: %v", err)
	}
	if h := fc.nextHello(t); h.Status != nil {
		t.Fatal("the engine went back to the status the server refused")
	}
	select {
	case h := <-fc.hellos:
		t.Fatalf("an extra hello: %+v", h)
	default:
	}

	// A server that refuses every hello as malformed stops the engine:
	// the fallback is tried once, not forever.
	se2 := newTestSession(t)
	bad := newFakeCounty(t, nil, func(*protocol.Frame) []*protocol.Frame {
		return []*protocol.Frame{{Type: protocol.FrameError, Code: protocol.CodeMalformed, Message: "no"}}
	})
	e2 := New(se2, Config{URL: bad.url(), Logger: quietLog()})
	var fe *FatalError
	if err := e2.SyncOnce(ctx); !errors.As(err, &fe) || fe.Code != protocol.CodeMalformed {
		t.Fatalf("SyncOnce = %v, want a fatal malformed", err)
	}
	if len(bad.hellos) != 3 {
		t.Fatalf("%d hellos, want the one with the status and epoch, one with the status and one without", len(bad.hellos))
	}
}

// TestHelloWithoutEpochForOlderServer: a county server that takes the
// device's status but is older than the feed epoch refuses a hello with
// the epoch as malformed; the engine then says hello with its status and
// without the epoch, and keeps to it.
func TestHelloWithoutEpochForOlderServer(t *testing.T) {
	se := newTestSession(t)
	fc := newFakeCounty(t, nil, func(hello *protocol.Frame) []*protocol.Frame {
		if hello.Epoch != nil {
			return []*protocol.Frame{{Type: protocol.FrameError, Code: protocol.CodeMalformed, Message: "16 trailing bytes in hello frame"}}
		}
		return caughtUpAt0(hello)
	})
	e := New(se, Config{URL: fc.url(), Logger: quietLog(), Version: "0.3.0"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for range 2 {
		if err := e.SyncOnce(ctx); err != nil {
			t.Fatalf("SyncOnce against a server older than epochs: %v", err)
		}
	}
	if h := fc.nextHello(t); h.Epoch == nil {
		t.Fatal("the first hello carried no epoch")
	}
	for range 2 {
		if h := fc.nextHello(t); h.Status == nil || h.Status.Software != "0.3.0" || h.Epoch != nil {
			t.Fatalf("a hello after the refusal: status %+v, epoch %v", h.Status, h.Epoch)
		}
	}
	select {
	case h := <-fc.hellos:
		t.Fatalf("an extra hello: %+v", h)
	default:
	}
}
