package county

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"jiannuo/sync/protocol"
	"jiannuo/sync/wsconn"
)

// peer is what a device's session (/sync) and a municipal node's session
// (/upstream) share: the connection, its single writer, and the
// acknowledgements that pace the feed streamed to it.
type peer struct {
	srv    *Server
	conn   *websocket.Conn
	pump   *wsconn.Pump
	remote string
	log    *slog.Logger // with the peer's identity once the handshake knows it

	acked atomic.Uint64 // feed position the peer has applied
	ackCh chan struct{} // an acknowledgement arrived: the feed may move on
}

// upgrade turns the request into a websocket for a peer: compressed, and
// refused to browsers. up brings the buffer sizes.
func (s *Server) upgrade(w http.ResponseWriter, r *http.Request, up websocket.Upgrader) (*websocket.Conn, error) {
	up.HandshakeTimeout = s.cfg.HandshakeTimeout
	up.EnableCompression = true
	// Devices and nodes are not browsers and send no Origin; a browser
	// page must not be able to open a session with a user's cookies.
	up.CheckOrigin = func(r *http.Request) bool { return r.Header.Get("Origin") == "" }
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return nil, err
	}
	// No conn.SetReadLimit: it counts compressed bytes, so a small
	// deflated message could inflate to gigabytes. wsconn.ReadMessage
	// bounds the message after decompression instead, which bounds the
	// wire too.
	conn.EnableWriteCompression(true)
	conn.SetCompressionLevel(1)
	return conn, nil
}

// newPeer starts a peer on conn; queues sizes its writer's queues.
func (s *Server) newPeer(conn *websocket.Conn, remote string, queues wsconn.PumpConfig) peer {
	queues.WriteWait, queues.PingPeriod = s.cfg.WriteWait, s.cfg.PingPeriod
	return peer{srv: s, conn: conn, pump: wsconn.NewPump(conn, queues), remote: remote,
		log: s.log.With("remote", remote), ackCh: make(chan struct{}, 1)}
}

// challenge sends the challenge and reads the hello. A hello that is not
// one, or speaks another protocol version, is refused with refuse (who
// names the peer in the refusal); an error reading it is returned as it
// is.
func (p *peer) challenge(who string, refuse func(protocol.DeviceID, error) error) (nonce []byte, hello *protocol.Frame, err error) {
	s := p.srv
	nonce = make([]byte, 32)
	rand.Read(nonce)
	ch := &protocol.Frame{Type: protocol.FrameChallenge, Version: protocol.ProtocolVersion, Nonce: nonce,
		County: s.id.County, CountyKey: s.id.Key.Public().(ed25519.PublicKey)}
	if err := p.pump.Write(ch); err != nil {
		return nil, nil, err
	}
	p.conn.SetReadDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	typ, data, err := wsconn.ReadMessage(p.conn)
	if err != nil {
		return nil, nil, err
	}
	hello, err = decodeMessage(typ, data)
	if err == nil && hello.Type != protocol.FrameHello {
		err = fmt.Errorf("%w: expected hello, got %s", protocol.ErrMalformed, hello.Type)
	}
	if err != nil {
		return nil, nil, refuse(protocol.DeviceID{}, err)
	}
	if hello.Version != protocol.ProtocolVersion {
		return nil, nil, refuse(hello.Device, fmt.Errorf("%w: %s speaks %d, server %d", protocol.ErrUnknownVersion, who, hello.Version, protocol.ProtocolVersion))
	}
	return nonce, hello, nil
}

// decodeMessage decodes a message read from a peer: a binary message
// holding one well-formed frame.
func decodeMessage(typ int, data []byte) (*protocol.Frame, error) {
	f, err := protocol.DecodeFrame(data)
	if err == nil && typ != websocket.BinaryMessage {
		err = fmt.Errorf("%w: text message", protocol.ErrMalformed)
	}
	return f, err
}

// keepReading gives the peer PongWait to send its next frame or pong
// (the pump pings it every PingPeriod); call extend after each frame.
func (p *peer) keepReading() {
	p.extend()
	p.conn.SetPongHandler(func(string) error {
		p.extend()
		return nil
	})
}

func (p *peer) extend() { p.conn.SetReadDeadline(time.Now().Add(p.srv.cfg.PongWait)) }

// ack records that the peer has applied the feed up to pos and wakes the
// feed, which may be waiting for room in the window.
func (p *peer) ack(pos uint64) {
	if pos > p.acked.Load() {
		p.acked.Store(pos)
	}
	select {
	case p.ackCh <- struct{}{}:
	default:
	}
}

// send queues a control frame. It never blocks (the ingest loop calls
// it): a peer too slow to take its receipts is dropped and will resume
// later.
func (p *peer) send(f *protocol.Frame) {
	if !p.pump.Offer(wsconn.Control, f) {
		p.log.Warn("too slow to take its frames, dropping session")
		p.close()
	}
}

// fail sends a fatal error; the writer closes the session after it.
func (p *peer) fail(code protocol.Code, msg string) {
	p.send(&protocol.Frame{Type: protocol.FrameError, Code: code, Message: msg})
}

func (p *peer) close() { p.pump.Close() }

// done is closed when the session ends.
func (p *peer) done() <-chan struct{} { return p.pump.Done() }

// start runs a session after its handshake and returns: the writer, the
// feed from cursor as v shows it (on a goroutine of its own while it has
// something to do, see feedStream), and read, the session's reader, on a
// goroutine of its own that calls ended once all three have ended.
//
// The reader starts on a fresh goroutine rather than the one that ran the
// handshake: the TLS handshake and the hello's checks grow a goroutine's
// stack to 16 KiB, which it keeps while it waits for the next frame (the
// runtime halves a stack only when a quarter of it is enough), and an idle
// connected device is mostly that wait (docs/benchmarks-sync.md).
func (p *peer) start(v feedView, cursor uint64, read func(), ended func()) {
	p.pump.Start()
	var feed sync.WaitGroup
	f := p.newFeedStream(v, cursor, &feed)
	feed.Go(f.run)
	go func() {
		read()
		p.close()
		p.pump.Wait()
		p.srv.unpark(f) // after close: from then on the stream never parks again
		feed.Wait()
		ended()
	}()
}
