package engine

import (
	"errors"
	"testing"

	"jiannuo/sync/protocol"
)

func TestSyncURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://county.example:8443":  "wss://county.example:8443/sync",
		"https://county.example:8443/": "wss://county.example:8443/sync",
		"http://127.0.0.1:9000":        "ws://127.0.0.1:9000/sync",
	} {
		if got := (Server{BaseURL: in}).SyncURL(); got != want {
			t.Errorf("SyncURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFatalCodes: a device stops (and tells its user) on refusals that
// retrying cannot fix, and retries the others.
func TestFatalCodes(t *testing.T) {
	stop := []protocol.Code{protocol.CodeRevokedDevice, protocol.CodeNotEnrolled, protocol.CodeFork, protocol.CodeWrongServer, protocol.CodeUnknownDevice}
	retry := []protocol.Code{protocol.CodeInternal, protocol.CodeReplay, protocol.CodeNotFound}
	for _, c := range stop {
		if !fatalCode(c) {
			t.Errorf("%s should stop the engine", c)
		}
	}
	for _, c := range retry {
		if fatalCode(c) {
			t.Errorf("%s should be retried", c)
		}
	}
	err := error(&FatalError{Code: protocol.CodeRevokedDevice, Message: "终端丢失"})
	if !errors.Is(err, protocol.ErrRevokedDevice) || protocol.CodeOf(err) != protocol.CodeRevokedDevice {
		t.Fatal("FatalError does not carry its code")
	}
}
