package e2e

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"jiannuo/domain/office"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// A device that signs what the app never would: an ed25519 key enrolled
// through the county's real /enrol as a county admin enrols any device,
// speaking the session frame by frame.

type rawDevice struct {
	key ed25519.PrivateKey
	id  protocol.DeviceID
}

// enrolRaw enrols a new key for office o and has the admin approve it.
func enrolRaw(t *testing.T, c *city, o office.Code) *rawDevice {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	d := &rawDevice{key: key, id: protocol.DeviceIDFromKey(pub)}
	req := protocol.EnrolRequest{Key: pub, Office: o, DeviceName: "来历不明的终端", Staff: "冒名者", Time: time.Now().UnixMilli()}
	ctx := context.Background()
	if _, err := c.api.Enrol(ctx, req.Sign(key)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.api.Approve(ctx, d.id, countyapi.ApproveRequest{}); err != nil {
		t.Fatal(err)
	}
	return d
}

// push opens a session as the device (challenge, signed hello, welcome),
// pushes cs as it is and returns the county's answer to it: a receipt or
// a refusal.
func (d *rawDevice) push(t *testing.T, c *city, cs *protocol.ChangeSet) *protocol.Frame {
	t.Helper()
	base := c.county.Base
	dialer := websocket.Dialer{TLSClientConfig: protocol.PinnedTLSConfig(base.Fingerprint), HandshakeTimeout: 10 * time.Second}
	conn, _, err := dialer.Dial(base.SyncURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// next reads frames until one of the types wanted, skipping the feed;
	// the deadline is only a safety net.
	next := func(types ...protocol.FrameType) *protocol.Frame {
		t.Helper()
		for {
			conn.SetReadDeadline(time.Now().Add(waitTimeout))
			_, data, err := conn.ReadMessage()
			if err != nil {
				t.Fatalf("waiting for %v: %v", types, err)
			}
			f, err := protocol.DecodeFrame(data)
			if err != nil {
				t.Fatal(err)
			}
			if slices.Contains(types, f.Type) {
				return f
			}
			if f.Type == protocol.FrameError {
				t.Fatalf("waiting for %v: %s %s", types, f.Code, f.Message)
			}
		}
	}
	send := func(f *protocol.Frame) {
		t.Helper()
		if err := conn.WriteMessage(websocket.BinaryMessage, protocol.AppendFrame(nil, f)); err != nil {
			t.Fatal(err)
		}
	}
	ch := next(protocol.FrameChallenge)
	send(&protocol.Frame{Type: protocol.FrameHello, Version: protocol.ProtocolVersion, Device: d.id,
		Sig: protocol.SignChallenge(d.key, ch.Nonce, base.Fingerprint)})
	next(protocol.FrameWelcome)
	send(&protocol.Frame{Type: protocol.FramePush, Body: cs.Bytes()})
	return next(protocol.FrameReceipt, protocol.FrameRefused)
}
