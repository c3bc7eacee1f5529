package county

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	bolt "go.etcd.io/bbolt"

	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
	"jiannuo/sync/wsconn"
)

// ctrlQueue bounds the control frames (receipts above all) waiting for a
// device: more than a device keeps unacknowledged (its engine's window of
// 128 pushes), so only a device that stopped reading fills it and is
// dropped.
const ctrlQueue = 192

// writeBuffers are shared by all connections: a buffer is held only while a
// frame is being written, so an idle device costs no write buffer.
var writeBuffers = &sync.Pool{}

// session is one authenticated device connection: a reader, a writer and a
// feeder goroutine, as in gorilla's chat example, plus flow control.
type session struct {
	srv    *Server
	conn   *websocket.Conn
	dev    protocol.DeviceID
	rec    store.DeviceRecord
	remote string

	ctrl chan *protocol.Frame // receipts, refusals, evidence control: first
	feed chan *protocol.Frame // deliveries and certificates, in feed order
	bulk chan *protocol.Frame // evidence chunks: only when nothing else waits

	acked atomic.Uint64 // feed position the device has applied
	ackCh chan struct{}

	done      chan struct{}
	closeOnce sync.Once
	upload    upload // the evidence file being received
}

func (s *Server) serveSync(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{
		HandshakeTimeout:  s.cfg.HandshakeTimeout,
		ReadBufferSize:    0, // reuse net/http's buffer: an idle device costs less
		WriteBufferPool:   writeBuffers,
		EnableCompression: true,
		// Devices are not browsers and send no Origin; a browser page
		// must not be able to open a session with a user's cookies.
		CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "" },
	}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		s.log.Info("websocket upgrade refused", "remote", r.RemoteAddr, "err", err)
		return
	}
	// No conn.SetReadLimit: it counts compressed bytes, so a small
	// deflated message could inflate to gigabytes. readMessage bounds the
	// message after decompression instead, which bounds the wire too.
	conn.EnableWriteCompression(true)
	conn.SetCompressionLevel(1)
	se := &session{srv: s, conn: conn, remote: r.RemoteAddr,
		ctrl: make(chan *protocol.Frame, ctrlQueue), feed: make(chan *protocol.Frame, 16),
		bulk: make(chan *protocol.Frame, 4), ackCh: make(chan struct{}, 1), done: make(chan struct{})}
	cursor, err := se.handshake()
	if err != nil {
		conn.Close()
		return
	}
	defer s.seen(se.dev, false, nil) // last seen (overview.go); the opening is recorded at the hello
	s.mu.Lock()
	if old := s.sessions[se.dev]; old != nil {
		old.close() // the device reconnected; the old link is dead or stolen
	}
	s.sessions[se.dev] = se
	s.mu.Unlock()
	// Revoke tells the session it finds registered; one committed between
	// the hello check and the registration above found none: look again.
	if rec, err := s.st.DeviceRecord(se.dev); err != nil || rec.Revoked {
		if err == nil {
			se.refuse(se.dev, fmt.Errorf("%w: %s", protocol.ErrRevokedDevice, rec.Reason))
		}
		se.close()
		s.mu.Lock()
		if s.sessions[se.dev] == se {
			delete(s.sessions, se.dev)
		}
		s.mu.Unlock()
		return
	}
	log := s.log.With("device", se.dev, "office", string(se.rec.Office), "remote", se.remote)
	log.Info("session opened", "cursor", cursor)

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); se.writeLoop() }()
	go func() { defer wg.Done(); se.feedLoop(cursor) }()
	se.readLoop()
	se.close()
	wg.Wait()
	s.mu.Lock()
	if s.sessions[se.dev] == se {
		delete(s.sessions, se.dev)
	}
	s.mu.Unlock()
	log.Info("session closed")
}

// handshake sends the challenge and checks the hello: protocol version,
// enrolled and not revoked device, and proof of its key.
func (se *session) handshake() (cursor uint64, err error) {
	s := se.srv
	nonce := make([]byte, 32)
	rand.Read(nonce)
	ch := &protocol.Frame{Type: protocol.FrameChallenge, Version: protocol.ProtocolVersion, Nonce: nonce,
		County: s.id.County, CountyKey: s.id.Key.Public().(ed25519.PublicKey)}
	if err := se.write(ch); err != nil {
		return 0, err
	}
	se.conn.SetReadDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	typ, data, err := se.readMessage()
	if err != nil {
		if errors.Is(err, websocket.ErrReadLimit) {
			se.tooBig()
		}
		return 0, err
	}
	hello, err := protocol.DecodeFrame(data)
	if err == nil && typ != websocket.BinaryMessage {
		err = fmt.Errorf("%w: text message", protocol.ErrMalformed)
	}
	if err == nil && hello.Type != protocol.FrameHello {
		err = fmt.Errorf("%w: expected hello, got %s", protocol.ErrMalformed, hello.Type)
	}
	if err != nil {
		return 0, se.refuse(protocol.DeviceID{}, err)
	}
	if hello.Version != protocol.ProtocolVersion {
		return 0, se.refuse(hello.Device, fmt.Errorf("%w: device speaks %d, server %d", protocol.ErrUnknownVersion, hello.Version, protocol.ProtocolVersion))
	}
	rec, err := s.st.DeviceRecord(hello.Device)
	if errors.Is(err, store.ErrNotFound) {
		var e countyapi.Enrolment
		found, _ := se.srv.enrolment(hello.Device, &e)
		if found && (e.Status == countyapi.EnrolPending || e.Status == countyapi.EnrolRejected) {
			return 0, se.refuse(hello.Device, fmt.Errorf("%w: enrolment %s", protocol.ErrNotEnrolled, e.Status))
		}
		return 0, se.refuse(hello.Device, fmt.Errorf("%w: %s", protocol.ErrUnknownDevice, hello.Device))
	}
	if err != nil {
		return 0, se.refuse(hello.Device, err)
	}
	if rec.Revoked {
		return 0, se.refuse(hello.Device, fmt.Errorf("%w: %s", protocol.ErrRevokedDevice, rec.Reason))
	}
	if !protocol.VerifyChallenge(rec.Key, nonce, s.id.Fingerprint, hello.Sig) {
		return 0, se.refuse(hello.Device, fmt.Errorf("%w: session challenge", protocol.ErrBadSignature))
	}
	se.dev, se.rec = hello.Device, rec
	// The session opens: when, and what the device says of itself (its
	// version, what it has sealed), for the admin's device list. Recorded
	// before the welcome, so a device that has its welcome is listed so.
	s.seen(se.dev, true, hello.Status)
	heads, err := s.st.Heads()
	if err != nil {
		return 0, se.refuse(hello.Device, err)
	}
	feedHead, err := s.st.FeedHead()
	if err != nil {
		return 0, se.refuse(hello.Device, err)
	}
	se.acked.Store(hello.Cursor)
	return hello.Cursor, se.write(&protocol.Frame{Type: protocol.FrameWelcome, Head: heads[se.dev], Pos: feedHead})
}

// readMessage reads one message of at most MaxFrameBytes after
// decompression; a longer one gives websocket.ErrReadLimit. Reading stops
// at the limit, so neither memory nor the wire read is unbounded.
func (se *session) readMessage() (int, []byte, error) { return wsconn.ReadMessage(se.conn) }

// tooBig records an oversize message, then closes the websocket with code
// 1009 (message too big). WriteControl may run beside the writer.
func (se *session) tooBig() {
	se.srv.incident(countyapi.Incident{Device: se.dev, Code: protocol.CodeOversize, Message: "frame over the read limit", Remote: se.remote})
	se.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseMessageTooBig, ""),
		time.Now().Add(se.srv.cfg.WriteWait))
}

// abort refuses input that ends a running session: it records the
// incident and hands the error frame to the writer, the connection's only
// writer (a second one would corrupt the stream or panic in gorilla), and
// waits until the writer has sent it and closed the session.
func (se *session) abort(err error) {
	code := protocol.CodeOf(err)
	se.srv.incident(countyapi.Incident{Device: se.dev, Code: code, Message: err.Error(), Remote: se.remote})
	se.fail(code, err.Error())
	<-se.done
}

// refuse sends a fatal error with its stable code, records the incident
// and returns err. It writes to the connection itself, so it is only for
// the handshake, before the writer starts.
func (se *session) refuse(dev protocol.DeviceID, err error) error {
	code := protocol.CodeOf(err)
	msg := err.Error()
	if code == protocol.CodeRevokedDevice {
		// The device's user sees the county's reason.
		if rec, rerr := se.srv.st.DeviceRecord(dev); rerr == nil {
			msg = rec.Reason
		}
	}
	if code != protocol.CodeNotEnrolled {
		se.srv.incident(countyapi.Incident{Device: dev, Code: code, Message: err.Error(), Remote: se.remote})
	}
	se.write(&protocol.Frame{Type: protocol.FrameError, Code: code, Message: msg})
	return err
}

func (se *session) write(f *protocol.Frame) error {
	se.conn.SetWriteDeadline(time.Now().Add(se.srv.cfg.WriteWait))
	return se.conn.WriteMessage(websocket.BinaryMessage, protocol.AppendFrame(nil, f))
}

// send queues a control frame. It never blocks the ingest loop: a device
// too slow to take its receipts is dropped and will resume later.
func (se *session) send(f *protocol.Frame) {
	select {
	case se.ctrl <- f:
	case <-se.done:
	default:
		se.srv.log.Warn("device too slow, dropping session", "device", se.dev)
		se.close()
	}
}

// fail sends a fatal error and closes the session.
func (se *session) fail(code protocol.Code, msg string) {
	se.send(&protocol.Frame{Type: protocol.FrameError, Code: code, Message: msg})
}

func (se *session) close() {
	se.closeOnce.Do(func() {
		close(se.done)
		se.conn.Close()
	})
}

func (se *session) readLoop() {
	s := se.srv
	se.conn.SetReadDeadline(time.Now().Add(s.cfg.PongWait))
	se.conn.SetPongHandler(func(string) error {
		se.conn.SetReadDeadline(time.Now().Add(s.cfg.PongWait))
		return nil
	})
	for {
		typ, data, err := se.readMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				se.tooBig()
			}
			return
		}
		se.conn.SetReadDeadline(time.Now().Add(s.cfg.PongWait))
		f, err := protocol.DecodeFrame(data)
		if err == nil && typ != websocket.BinaryMessage {
			err = fmt.Errorf("%w: text message", protocol.ErrMalformed)
		}
		if err != nil {
			se.abort(err)
			return
		}
		switch f.Type {
		case protocol.FramePush:
			if from, ok := protocol.PeekDevice(f.Body); ok && from != se.dev {
				err := fmt.Errorf("%w: change set of %s sent by %s", protocol.ErrWrongDevice, from, se.dev)
				s.incident(countyapi.Incident{Device: se.dev, Code: protocol.CodeWrongDevice, Message: err.Error(), Remote: se.remote})
				se.send(&protocol.Frame{Type: protocol.FrameRefused, Device: from, Code: protocol.CodeWrongDevice, Message: err.Error()})
				continue
			}
			select {
			case s.ingest <- &pushReq{raw: f.Body, from: se}:
			case <-se.done:
				return
			}
		case protocol.FrameAck:
			if f.Pos > se.acked.Load() {
				se.acked.Store(f.Pos)
			}
			select {
			case se.ackCh <- struct{}{}:
			default:
			}
		case protocol.FrameEvidenceOffer:
			se.evidenceOffer(f)
		case protocol.FrameEvidenceChunk:
			se.evidenceChunk(f)
		case protocol.FrameEvidenceGet:
			se.evidenceGet(f)
		default:
			se.abort(fmt.Errorf("%w: unexpected %s frame from a device", protocol.ErrMalformed, f.Type))
			return
		}
	}
}

func (se *session) writeLoop() {
	ping := time.NewTicker(se.srv.cfg.PingPeriod)
	defer ping.Stop()
	for {
		var f *protocol.Frame
		// Control frames first, then the feed, evidence chunks last, so
		// a large file never holds back a receipt or a record.
		select {
		case f = <-se.ctrl:
		default:
			select {
			case f = <-se.ctrl:
			case f = <-se.feed:
			default:
				select {
				case f = <-se.ctrl:
				case f = <-se.feed:
				case f = <-se.bulk:
				case <-ping.C:
					se.conn.SetWriteDeadline(time.Now().Add(se.srv.cfg.WriteWait))
					if err := se.conn.WriteMessage(websocket.PingMessage, nil); err != nil {
						se.close()
						return
					}
					continue
				case <-se.done:
					return
				}
			}
		}
		if err := se.write(f); err != nil {
			se.close()
			return
		}
		if f.Type == protocol.FrameError {
			se.close()
			return
		}
	}
}

// feedBatch bounds how many feed entries are read per transaction: the
// read transaction must end before frames are queued, so a slow device
// never holds a bbolt transaction open.
const feedBatch = 64

// feedLoop streams the feed from the device's cursor: every change set of
// the device's scope from other devices, each preceded by its device's
// certificate the first time, then "caught up", then live as the feed
// advances, never more than Window positions ahead of the device's acks.
func (se *session) feedLoop(cursor uint64) {
	s := se.srv
	certSent := map[protocol.DeviceID]bool{}
	var inflight []uint64 // positions delivered and not yet acknowledged
	revSent := map[protocol.DeviceID]bool{}
	var calSent uint64
	sent := cursor
	caughtUp := uint64(0)
	haveCaughtUp := false
	for {
		wait := s.feedWaiter() // before reading, so no advance is missed
		var frames []*protocol.Frame
		acked := se.acked.Load()
		for len(inflight) > 0 && inflight[0] <= acked {
			inflight = inflight[1:]
		}
		limited, visited := false, 0
		wanted := func(e store.FeedEntry) bool { return e.Device != se.dev && se.inScope(e.Office) }
		err := s.st.FeedSelect(sent, feedBatch, wanted, func(e store.FeedEntry, raw []byte) bool {
			if len(inflight) >= s.cfg.Window {
				limited = true
				return false
			}
			visited++
			sent = e.Pos
			if e.Device == se.dev || !se.inScope(e.Office) {
				return true
			}
			if !certSent[e.Device] {
				// Filled in after the read transaction: a second
				// transaction opened inside this one would deadlock
				// against a writer remapping the file.
				frames = append(frames, &protocol.Frame{Type: protocol.FrameCertificate, Device: e.Device})
				certSent[e.Device] = true
			}
			inflight = append(inflight, e.Pos)
			frames = append(frames, &protocol.Frame{Type: protocol.FrameDeliver, Pos: e.Pos, Body: raw})
			return true
		})
		if err != nil {
			s.log.Error("reading feed", "err", err)
			se.fail(protocol.CodeInternal, "feed unavailable")
			return
		}
		frames = s.fillCertificates(frames)
		for _, f := range frames {
			select {
			case se.feed <- f:
			case <-se.done:
				return
			}
		}
		if visited == feedBatch {
			continue // there may be more right away
		}
		// Decisions go after every change set they could affect, before the
		// device is told it has caught up (a sync that ends there has them).
		if !limited && !se.sendDecisions(revSent, &calSent) {
			return
		}
		if !limited && (!haveCaughtUp || caughtUp != sent) {
			// Everything up to sent is delivered or not for this device:
			// it may move its cursor there.
			select {
			case se.feed <- &protocol.Frame{Type: protocol.FrameCaughtUp, Pos: sent}:
				caughtUp, haveCaughtUp = sent, true
			case <-se.done:
				return
			}
		}
		select {
		case <-wait:
		case <-se.ackCh:
		case <-se.done:
			return
		}
	}
}

// sendDecisions sends the revocations and the calendar update this session
// has not sent yet. The device has caught up with the feed, so it already
// holds everything a revoked device wrote before its revocation. It
// returns false when the session ended.
func (se *session) sendDecisions(revSent map[protocol.DeviceID]bool, calSent *uint64) bool {
	revs, calVersion, cal := se.srv.decisions()
	var frames []*protocol.Frame
	for id, doc := range revs {
		if !revSent[id] {
			revSent[id] = true
			frames = append(frames, &protocol.Frame{Type: protocol.FrameRevocation, Body: doc})
		}
	}
	if calVersion > *calSent {
		*calSent = calVersion
		frames = append(frames, &protocol.Frame{Type: protocol.FrameCalendar, Body: cal})
	}
	for _, f := range frames {
		select {
		case se.feed <- f:
		case <-se.done:
			return false
		}
	}
	return true
}

func (se *session) inScope(o office.Code) bool {
	if se.rec.Admin {
		return se.rec.Office.Contains(o)
	}
	return o == se.rec.Office
}

// fillCertificates puts each device's certificate into the placeholder
// frames a feed reader queued (Type certificate, Device set, no Body) and
// drops those of devices without one. It runs outside the feed's read
// transaction on purpose: bbolt must not see a read transaction opened
// inside another on one goroutine.
func (s *Server) fillCertificates(frames []*protocol.Frame) []*protocol.Frame {
	out := frames[:0]
	for _, f := range frames {
		if f.Type == protocol.FrameCertificate && f.Body == nil {
			f.Body = s.certificate(f.Device)
			f.Device = protocol.DeviceID{}
			if f.Body == nil {
				continue
			}
		}
		out = append(out, f)
	}
	return out
}

// certificate returns a device's signed enrolment certificate, if any.
func (s *Server) certificate(dev protocol.DeviceID) []byte {
	var out []byte
	s.st.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bCerts).Get(dev[:]); v != nil {
			out = append([]byte(nil), v...)
		}
		return nil
	})
	return out
}
