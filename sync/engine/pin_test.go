package engine

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// TestWrongServerStops: a server whose certificate is not the pinned one
// stops the device with wrong_server, recognised by its sentinel error,
// whether the device asks about its enrolment or syncs.
func TestWrongServerStops(t *testing.T) {
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		t.Error("a request reached a server the device does not pin")
	}))
	hs.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	hs.StartTLS()
	defer hs.Close()
	se := newTestSession(t)
	srv := Server{BaseURL: hs.URL, Fingerprint: strings.TrimSuffix(strings.Repeat("00:", 32), ":")}
	ctx := context.Background()

	var fe *FatalError
	if _, err := RequestEnrolment(ctx, srv, se); !errors.As(err, &fe) || fe.Code != protocol.CodeWrongServer {
		t.Errorf("enrolment with the wrong pin: %v", err)
	}
	e := New(se, Config{URL: srv.SyncURL(), Fingerprint: srv.Fingerprint, Logger: quietLog()})
	if err := e.SyncOnce(ctx); !errors.As(err, &fe) || fe.Code != protocol.CodeWrongServer || !errors.Is(err, protocol.ErrWrongServer) {
		t.Errorf("sync with the wrong pin: %v", err)
	}
}

// TestPlainURLOffLoopbackStops: the engine itself refuses a plain ws://
// or http:// address that is not this computer, whatever let it into the
// settings: the session stops with wrong_server and the enrolment calls
// fail with countyapi.ErrInsecureURL, before anything is dialled. On
// loopback (development) plain addresses stay allowed.
func TestPlainURLOffLoopbackStops(t *testing.T) {
	se := newTestSession(t)
	ctx := context.Background()
	dialled := false
	dial := func(context.Context, string, string) (net.Conn, error) { dialled = true; return nil, errors.New("no") }
	for _, u := range []string{"ws://192.0.2.7:8080/sync", "ws://county.example:8080/sync", "ws://[2001:db8::1]:8080/sync"} {
		e := New(se, Config{URL: u, Logger: quietLog(), NetDial: dial})
		var fe *FatalError
		if err := e.SyncOnce(ctx); !errors.As(err, &fe) || fe.Code != protocol.CodeWrongServer {
			t.Errorf("%s: %v", u, err)
		}
	}
	if _, err := RequestEnrolment(ctx, Server{BaseURL: "http://192.0.2.7:8080", Fingerprint: "x"}, se); !errors.Is(err, countyapi.ErrInsecureURL) {
		t.Errorf("enrolment over plain http: %v", err)
	}
	if dialled {
		t.Error("dialled a plain address off loopback")
	}
	for _, u := range []string{"ws://127.0.0.1:1/sync", "ws://localhost:1/sync", "ws://[::1]:1/sync"} {
		e := New(se, Config{URL: u, Logger: quietLog(), NetDial: dial})
		var fe *FatalError
		if err := e.SyncOnce(ctx); errors.As(err, &fe) {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	if !dialled {
		t.Error("loopback addresses were not dialled")
	}
}
