package engine

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
