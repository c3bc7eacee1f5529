package loadgen

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"jiannuo/sync/protocol"
)

// countingConn counts the bytes that cross a connection below TLS and
// websocket framing: what the network carries.
type countingConn struct {
	net.Conn
	sent, recv *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.recv.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.sent.Add(int64(n))
	return n, err
}

func (lg *Loadgen) dialTCP(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, sent: &lg.sent, recv: &lg.recv}, nil
}

// Buffer sizes: a pushing device uses the sync engine's; an idle one small
// ones (its own memory is not what Idle measures, but thousands add up).
const (
	pushBuffer = 16 << 10
	idleBuffer = 1 << 10
)

func (lg *Loadgen) dialer(buf int) *websocket.Dialer {
	d := &websocket.Dialer{
		HandshakeTimeout:  lg.cfg.HandshakeTimeout,
		ReadBufferSize:    buf,
		WriteBufferSize:   buf,
		EnableCompression: !lg.cfg.NoCompression,
		NetDialContext:    lg.dialTCP,
	}
	if strings.HasPrefix(lg.cfg.URL, "https://") {
		d.TLSClientConfig = protocol.PinnedTLSConfig(lg.cfg.Fingerprint)
	}
	return d
}

// failure is why a device stopped: a stable code (a protocol refusal code,
// or one of the load generator's own) and the error.
type failure struct {
	code string
	err  error
}

func (f *failure) Error() string { return f.code + ": " + f.err.Error() }

func (f *failure) Unwrap() error { return f.err }

// The load generator's own failure codes, beside the protocol's.
const (
	codeDial       = "dial"        // TCP, TLS or websocket upgrade failed
	codeHandshake  = "handshake"   // challenge, hello or welcome went wrong
	codeConnection = "connection"  // the connection broke during the run
	codeTimeout    = "timeout"     // nothing arrived for ReadTimeout
	codeBadReceipt = "bad_receipt" // a receipt that does not verify or names another change set
	codeUnacked    = "unacknowledged"
	codeEnrol      = "enrol"
	codeCancelled  = "cancelled"
)

func fail(code string, err error) *failure { return &failure{code: code, err: err} }

// codeOf returns the failure code of err.
func codeOf(err error) string {
	var f *failure
	if errors.As(err, &f) {
		return f.code
	}
	if c := protocol.CodeOf(err); c != protocol.CodeInternal && c != protocol.CodeOK {
		return string(c)
	}
	return codeConnection
}

// link is one device's websocket session.
type link struct {
	lg  *Loadgen
	dev *device
	ws  *websocket.Conn
	wmu sync.Mutex // one writer at a time: the pusher, and the reader's acks

	welcome *protocol.Frame

	done      chan struct{} // closed when the session ends or every push is resolved
	doneOnce  sync.Once
	closeOnce sync.Once
	readDone  chan struct{}

	errMu sync.Mutex
	err   error // why the session ended early, if it did

	mu sync.Mutex // guards st
	st pushState
}

// connect dials the server and runs the handshake: challenge, hello
// signed with the device key over the nonce and the pinned fingerprint,
// welcome. The link's reader runs from then on.
func (lg *Loadgen) connect(ctx context.Context, d *device, buf int) (*link, error) {
	ctx, cancel := context.WithTimeout(ctx, lg.cfg.HandshakeTimeout)
	defer cancel()
	ws, resp, err := lg.dialer(buf).DialContext(ctx, lg.cfg.syncURL(), http.Header{"User-Agent": {"jiannuo-loadgen/1"}})
	if err != nil {
		if resp != nil {
			err = fmt.Errorf("%s: %w", resp.Status, err)
		}
		return nil, fail(codeDial, err)
	}
	if !lg.cfg.NoCompression {
		ws.EnableWriteCompression(true)
		ws.SetCompressionLevel(1)
	}
	l := &link{lg: lg, dev: d, ws: ws, done: make(chan struct{}), readDone: make(chan struct{})}
	stop := context.AfterFunc(ctx, func() { ws.Close() })
	err = l.handshake()
	if !stop() {
		// The deadline (or the caller) closed the connection, whatever
		// the handshake made of it.
		code := codeTimeout
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			code = codeCancelled
		}
		err = fail(code, fmt.Errorf("handshake: %w", ctx.Err()))
	}
	if err != nil {
		ws.Close()
		return nil, err
	}
	go l.readLoop()
	return l, nil
}

func (l *link) read() (*protocol.Frame, error) {
	typ, data, err := l.ws.ReadMessage()
	if err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, fail(codeTimeout, err)
		}
		return nil, fail(codeConnection, err)
	}
	if typ != websocket.BinaryMessage {
		return nil, fail(codeConnection, fmt.Errorf("%w: text message from the server", protocol.ErrMalformed))
	}
	f, err := protocol.DecodeFrame(data)
	if err != nil {
		return nil, fail(string(protocol.CodeOf(err)), fmt.Errorf("from the server: %w", err))
	}
	if f.Type == protocol.FrameError {
		return nil, fail(string(f.Code), fmt.Errorf("the server ended the session: %s", f.Message))
	}
	return f, nil
}

func (l *link) write(frame []byte) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.ws.SetWriteDeadline(time.Now().Add(l.lg.cfg.ReadTimeout))
	return l.ws.WriteMessage(websocket.BinaryMessage, frame)
}

func (l *link) handshake() error {
	lg := l.lg
	ch, err := l.read()
	if err != nil {
		return err
	}
	if ch.Type != protocol.FrameChallenge {
		return fail(codeHandshake, fmt.Errorf("expected a challenge, got %s", ch.Type))
	}
	if err := lg.learnCounty(ch); err != nil {
		return err
	}
	hello := &protocol.Frame{Type: protocol.FrameHello, Version: protocol.ProtocolVersion, Device: l.dev.id,
		Sig: protocol.SignChallenge(l.dev.key, ch.Nonce, lg.cfg.Fingerprint)}
	if err := l.write(protocol.AppendFrame(nil, hello)); err != nil {
		return fail(codeConnection, err)
	}
	w, err := l.read()
	if err != nil {
		return err
	}
	if w.Type != protocol.FrameWelcome {
		return fail(codeHandshake, fmt.Errorf("expected a welcome, got %s", w.Type))
	}
	l.welcome = w
	return nil
}

// learnCounty records who the server says it is, the first time, and
// refuses a server that speaks for another county or with another key.
func (lg *Loadgen) learnCounty(ch *protocol.Frame) error {
	lg.mu.Lock()
	defer lg.mu.Unlock()
	if lg.countyKey == nil {
		if lg.cfg.County != "" && ch.County != lg.cfg.County {
			return fail(string(protocol.CodeWrongServer), fmt.Errorf("the server serves county %s, not %s", ch.County, lg.cfg.County))
		}
		lg.county, lg.countyKey = ch.County, ch.CountyKey
		return nil
	}
	if ch.County != lg.county || !bytes.Equal(ch.CountyKey, lg.countyKey) {
		return fail(string(protocol.CodeWrongServer), fmt.Errorf("the server now speaks for county %s with another key", ch.County))
	}
	return nil
}

// end records why the session ended (the first reason wins) and wakes
// whoever waits on it. It may be called with l.mu held.
func (l *link) end(err error) {
	l.errMu.Lock()
	if l.err == nil {
		l.err = err
	}
	l.errMu.Unlock()
	l.doneOnce.Do(func() { close(l.done) })
}

// close ends the session with a websocket close message, as a device
// that has finished does.
func (l *link) close() {
	l.closeOnce.Do(func() {
		l.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "done"),
			time.Now().Add(time.Second))
		l.ws.Close()
	})
	<-l.readDone
}

// readLoop is the link's only reader. It answers pings (keeping the link
// alive while it waits for its turn, or idles), acknowledges the feed,
// and hands receipts and refusals to the push state.
func (l *link) readLoop() {
	defer close(l.readDone)
	timeout := l.lg.cfg.ReadTimeout
	l.ws.SetReadDeadline(time.Now().Add(timeout))
	l.ws.SetPingHandler(func(data string) error {
		l.ws.SetReadDeadline(time.Now().Add(timeout))
		err := l.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(timeout))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
	var delivered uint64 // feed position received and not yet acknowledged
	for {
		f, err := l.read()
		if err != nil {
			l.end(err)
			return
		}
		l.ws.SetReadDeadline(time.Now().Add(timeout))
		switch f.Type {
		case protocol.FrameReceipt:
			l.receipt(f.Body)
		case protocol.FrameRefused:
			l.refused(f)
		case protocol.FrameDeliver:
			// Another device's change set of this device's township: a
			// real device applies it; the load generator only counts it
			// and acknowledges it in batches, as the engine does.
			delivered = f.Pos
			if n := l.delivered(); n%64 == 0 {
				l.ack(delivered)
			}
		case protocol.FrameCaughtUp:
			l.ack(f.Pos)
		case protocol.FrameCertificate, protocol.FrameRevocation:
			// Certificates precede deliveries; nothing to do here.
		default:
			// Evidence frames: the simulated devices have no evidence.
		}
	}
}

func (l *link) ack(pos uint64) {
	if err := l.write(protocol.AppendFrame(nil, &protocol.Frame{Type: protocol.FrameAck, Pos: pos})); err != nil {
		l.end(fail(codeConnection, err))
	}
}

// verifyReceipt opens a receipt with the county key and checks it names
// the change set.
func verifyReceipt(body []byte, key ed25519.PublicKey, dev protocol.DeviceID, p *pushSet) error {
	rc, err := protocol.OpenReceipt(body, key)
	if err != nil {
		return err
	}
	if rc.Device != dev || rc.Seq != p.seq || rc.Hash != p.hash {
		return fmt.Errorf("receipt for %s/%d names %s/%d", dev.Short(), p.seq, rc.Device.Short(), rc.Seq)
	}
	return nil
}
