package county_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"jiannuo/domain"
	"jiannuo/sync/protocol"
)

// upstreamClient is a bare municipal node speaking the upstream protocol.
type upstreamClient struct {
	t    *testing.T
	conn *websocket.Conn
}

func (h *harness) upstream(t *testing.T, key ed25519.PrivateKey, cursor uint64) (*upstreamClient, *protocol.Frame) {
	t.Helper()
	d := websocket.Dialer{TLSClientConfig: protocol.PinnedTLSConfig(h.base.Fingerprint), HandshakeTimeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := d.DialContext(ctx, "wss://"+h.addr+"/upstream", http.Header{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &upstreamClient{t: t, conn: conn}
	ch := c.read()
	if ch.Type != protocol.FrameChallenge || ch.County != countyCode || !bytes.Equal(ch.CountyKey, h.key) {
		t.Fatalf("challenge %+v", ch)
	}
	c.write(&protocol.Frame{Type: protocol.FrameHello, Version: protocol.ProtocolVersion,
		Device: protocol.DeviceIDFromKey(key.Public().(ed25519.PublicKey)), Cursor: cursor,
		Sig: protocol.SignChallenge(key, ch.Nonce, h.base.Fingerprint)})
	return c, c.read()
}

func (c *upstreamClient) read() *protocol.Frame {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, data, err := c.conn.ReadMessage()
	if err != nil {
		c.t.Fatal(err)
	}
	f, err := protocol.DecodeFrame(data)
	if err != nil {
		c.t.Fatal(err)
	}
	return f
}

func (c *upstreamClient) write(f *protocol.Frame) {
	c.t.Helper()
	if err := c.conn.WriteMessage(websocket.BinaryMessage, protocol.AppendFrame(nil, f)); err != nil {
		c.t.Fatal(err)
	}
}

// until reads frames up to and including caught_up at pos.
func (c *upstreamClient) until(pos uint64) []*protocol.Frame {
	c.t.Helper()
	var out []*protocol.Frame
	for {
		f := c.read()
		out = append(out, f)
		if f.Type == protocol.FrameCaughtUp && f.Pos >= pos {
			return out
		}
	}
}

// TestUpstreamFeed: an authorised municipal node gets the county's whole
// feed, every office's change sets in order, each with the receipt its
// device got (the same bytes) and preceded by its device's certificate the
// first time, and a revocation between the change sets before and after
// it, with the position signed; it resumes from a cursor; a node the admin
// did not authorise is refused and recorded.
func TestUpstreamFeed(t *testing.T) {
	h := newHarness(t)
	a := h.device(townA, domain.RoleLeader)
	b := h.device(townB, domain.RoleLeader)
	a.create("甲镇承诺")
	a.sync()
	b.create("乙镇承诺一")
	b.sync()
	if err := h.srv.Revoke(a.se.Device().ID, "终端遗失", "admin"); err != nil {
		t.Fatal(err)
	}
	b.create("乙镇承诺二")
	b.sync()

	_, node, _ := ed25519.GenerateKey(nil)
	if err := h.srv.AuthoriseUpstream(node.Public().(ed25519.PublicKey), "市信用平台"); err != nil {
		t.Fatal(err)
	}
	if list, _ := h.srv.Upstreams(); len(list) != 1 || list[0].Name != "市信用平台" {
		t.Fatalf("upstreams: %+v", list)
	}
	c, w := h.upstream(t, node, 0)
	if w.Type != protocol.FrameWelcome || w.Pos != 3 {
		t.Fatalf("welcome %+v", w)
	}
	frames := c.until(3)
	var kinds []protocol.FrameType
	for _, f := range frames {
		kinds = append(kinds, f.Type)
	}
	want := []protocol.FrameType{protocol.FrameCertificate, protocol.FrameUpstreamEntry, protocol.FrameCertificate,
		protocol.FrameUpstreamEntry, protocol.FrameUpstreamRevocation, protocol.FrameUpstreamEntry, protocol.FrameCaughtUp}
	if !slices.Equal(kinds, want) {
		t.Fatalf("frames %v, want %v", kinds, want)
	}
	for i, d := range map[int]*device{1: a, 3: b, 5: b} {
		f := frames[i]
		rc, err := protocol.OpenReceipt(f.Receipt, h.key)
		if err != nil || rc.Pos != f.Pos {
			t.Fatalf("receipt at %d: %+v %v", f.Pos, rc, err)
		}
		mine, err := d.st.Receipt(rc.Seq)
		if err != nil || !bytes.Equal(mine, f.Receipt) {
			t.Fatalf("the upstream receipt for %d differs from the device's: %v", f.Pos, err)
		}
		cs, err := protocol.Decode(f.Body)
		if err != nil || cs.Hash() != rc.Hash || cs.Device != d.se.Device().ID {
			t.Fatalf("change set at %d: %v", f.Pos, err)
		}
	}
	rv := frames[4]
	if r, err := protocol.OpenRevocation(rv.Body, h.key); err != nil || r.Device != a.se.Device().ID || rv.Pos != 2 ||
		!protocol.VerifyRevocationAt(h.key, rv.Body, rv.Pos, rv.Sig) {
		t.Fatalf("revocation at %d: %v", rv.Pos, err)
	}
	c.write(&protocol.Frame{Type: protocol.FrameAck, Pos: 3})

	// From cursor 2: the revocation that took effect there, then the rest.
	c2, _ := h.upstream(t, node, 2)
	kinds = kinds[:0]
	for _, f := range c2.until(3) {
		kinds = append(kinds, f.Type)
	}
	want = []protocol.FrameType{protocol.FrameCertificate, protocol.FrameUpstreamRevocation, protocol.FrameCertificate,
		protocol.FrameUpstreamEntry, protocol.FrameCaughtUp}
	if !slices.Equal(kinds, want) {
		t.Fatalf("from cursor 2: frames %v, want %v", kinds, want)
	}

	// Live: a new change set streams to a connected node.
	b.create("乙镇承诺三")
	b.sync()
	if f := c2.until(4); f[len(f)-2].Type != protocol.FrameUpstreamEntry || f[len(f)-2].Pos != 4 {
		t.Fatalf("live frames %+v", f)
	}

	// Not authorised: refused with not_authorized, recorded.
	_, stranger, _ := ed25519.GenerateKey(nil)
	_, e := h.upstream(t, stranger, 0)
	if e.Type != protocol.FrameError || e.Code != protocol.CodeNotAuthorized {
		t.Fatalf("stranger got %+v", e)
	}
	in, _ := h.srv.Incidents()
	if len(in) == 0 || in[0].Code != protocol.CodeNotAuthorized {
		t.Fatalf("incidents %+v", in)
	}
	// A device key is not an upstream key either.
	if err := h.srv.AuthoriseUpstream(nil, "x"); !errors.Is(err, protocol.ErrMalformed) {
		t.Fatalf("nil key: %v", err)
	}
}
