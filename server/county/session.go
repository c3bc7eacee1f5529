package county

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"

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

// sessionQueues sizes a device session's writer: control frames (receipts,
// refusals, evidence control) first, then the feed (deliveries and
// certificates, in feed order), evidence chunks only when nothing else
// waits.
var sessionQueues = wsconn.PumpConfig{ControlQueue: ctrlQueue, StreamQueue: 16, BulkQueue: 4}

// sessionReadBuffer is a device session's read buffer: frame headers and
// small frames (acknowledgements) go through it.
const sessionReadBuffer = 512

// writeBuffers are shared by all connections: a buffer is held only while a
// frame is being written, so an idle device costs no write buffer.
var writeBuffers = &sync.Pool{}

// session is one authenticated device connection: a reader, a writer and a
// feeder goroutine, as in gorilla's chat example, plus flow control.
type session struct {
	peer
	dev  protocol.DeviceID
	rec  store.DeviceRecord
	info *protocol.DeviceInfo // rec, for the preparers (prepare.go)

	upload upload // the evidence file being received
	// relays is set for a device whose hello named a feed epoch: it may
	// push change sets of other devices of its scope that the county lacks
	// (after a restore from a backup), which the county verifies as their
	// own devices' (relayable).
	relays bool
}

func (s *Server) serveSync(w http.ResponseWriter, r *http.Request) {
	conn, err := s.upgrade(w, r, websocket.Upgrader{
		// A small buffer of its own: net/http's (4 KiB) goes with the
		// handler. Large frames are read past it, straight into the
		// message, so the size costs nothing in throughput.
		ReadBufferSize:  sessionReadBuffer,
		WriteBufferPool: writeBuffers,
	})
	if err != nil {
		s.log.Info("websocket upgrade refused", "remote", r.RemoteAddr, "err", err)
		return
	}
	// The session runs on a goroutine of its own and the handler returns:
	// net/http then lets go of what it holds for a request (its response
	// writer's buffer, the request) and the handler's stack, grown by the
	// TLS handshake, goes too. An idle device costs that much less.
	go s.runSync(conn, r.RemoteAddr, guardOf(r))
}

// runSync runs a device session on conn, upgraded from a request of
// remote that came on guard (nil if none).
func (s *Server) runSync(conn *websocket.Conn, remote string, guard *guardedConn) {
	se := &session{peer: s.newPeer(conn, remote, sessionQueues)}
	cursor, welcome, err := se.handshake()
	if err != nil {
		conn.Close()
		return
	}
	// It no longer counts against its address (conns.go).
	guard.authenticated()
	// Before the session is registered: from then on others use it.
	se.log = s.log.With("device", se.dev, "office", string(se.rec.Office), "remote", se.remote)
	s.mu.Lock()
	if old := s.sessions[se.dev]; old != nil {
		old.close() // the device reconnected; the old link is dead or stolen
	}
	s.sessions[se.dev] = se
	s.mu.Unlock()
	// When the session ends, however it ends: out of the register, and
	// last seen (overview.go; the opening is recorded at the hello).
	ended := func() {
		s.mu.Lock()
		if s.sessions[se.dev] == se {
			delete(s.sessions, se.dev)
		}
		s.mu.Unlock()
		s.seen(se.dev, false, nil)
	}
	// Revoke tells the session it finds registered; one committed between
	// the hello check and the registration above found none: look again.
	if rec, err := s.st.DeviceRecord(se.dev); err != nil || rec.Revoked {
		if err == nil {
			se.refuse(se.dev, fmt.Errorf("%w: %s", protocol.ErrRevokedDevice, rec.Reason))
		}
		se.close()
		ended()
		return
	}
	// The welcome goes out once the session is registered, so a device
	// that has its welcome is online in the admin's device list.
	if err := se.pump.Write(welcome); err != nil {
		se.close()
		ended()
		return
	}
	se.log.Info("session opened", "cursor", cursor)
	se.start(s.deviceFeed(se.dev, se.rec), cursor, se.readLoop, func() {
		ended()
		se.log.Info("session closed")
	})
}

// handshake sends the challenge and checks the hello: protocol version,
// enrolled and not revoked device, and proof of its key. It returns the
// device's cursor and the welcome to send once the session is registered.
func (se *session) handshake() (cursor uint64, welcome *protocol.Frame, err error) {
	s := se.srv
	nonce, hello, err := se.challenge("device", se.refuse)
	if err != nil {
		if errors.Is(err, websocket.ErrReadLimit) {
			se.tooBig()
		}
		return 0, nil, err
	}
	rec, err := s.st.DeviceRecord(hello.Device)
	if errors.Is(err, store.ErrNotFound) {
		var e countyapi.Enrolment
		found, _ := se.srv.enrolment(hello.Device, &e)
		if found && (e.Status == countyapi.EnrolPending || e.Status == countyapi.EnrolRejected) {
			return 0, nil, se.refuse(hello.Device, fmt.Errorf("%w: enrolment %s", protocol.ErrNotEnrolled, e.Status))
		}
		return 0, nil, se.refuse(hello.Device, fmt.Errorf("%w: %s", protocol.ErrUnknownDevice, hello.Device))
	}
	if err != nil {
		return 0, nil, se.refuse(hello.Device, err)
	}
	if rec.Revoked {
		return 0, nil, se.refuse(hello.Device, fmt.Errorf("%w: %s", protocol.ErrRevokedDevice, rec.Reason))
	}
	if !protocol.VerifyChallenge(rec.Key, nonce, s.id.Fingerprint, hello.Sig) {
		return 0, nil, se.refuse(hello.Device, fmt.Errorf("%w: session challenge", protocol.ErrBadSignature))
	}
	se.dev, se.rec, se.info, se.relays = hello.Device, rec, deviceInfo(rec), hello.Epoch != nil
	// The session opens: when, and what the device says of itself (its
	// version, what it has sealed), for the admin's device list. Recorded
	// before the welcome, so a device that has its welcome is listed so.
	s.seen(se.dev, true, hello.Status)
	heads, err := s.st.Heads()
	if err != nil {
		return 0, nil, se.refuse(hello.Device, err)
	}
	feedHead, err := s.st.FeedHead()
	if err != nil {
		return 0, nil, se.refuse(hello.Device, err)
	}
	cursor, epoch := s.epochCursor(hello)
	se.acked.Store(cursor)
	return cursor, &protocol.Frame{Type: protocol.FrameWelcome, Head: heads[se.dev], Pos: feedHead, Epoch: epoch}, nil
}

// epochCursor returns where a peer's feed starts and the epoch its welcome
// carries. A hello that names the epoch its cursor counts in gets the
// county's in the welcome (an older peer's gets none: it would refuse the
// trailing bytes). A cursor of another epoch counts in a feed this county
// no longer has — it was restored from a backup since — so the feed starts
// again from the beginning, whatever the cursor says; the peer, seeing the
// epoch change, starts its cursor again too.
func (s *Server) epochCursor(hello *protocol.Frame) (uint64, *protocol.Epoch) {
	if hello.Epoch == nil {
		return hello.Cursor, nil
	}
	e := s.epoch
	if !hello.Epoch.IsZero() && *hello.Epoch != e {
		s.log.Info("peer knew another feed epoch: the feed starts again from the beginning", "peer", hello.Device, "cursor", hello.Cursor, "epoch", hello.Epoch.String())
		return 0, &e
	}
	return hello.Cursor, &e
}

// relayable decides whether the session may push raw, a change set of
// device from rather than its own: only a device that relays (its hello
// named an epoch), only change sets that write for its scope. What it
// relays is then verified like any push: signed by from's key under the
// county's certificate, continuing from's chain; a receipt or refusal goes
// back to the relaying device, naming from.
func (se *session) relayable(from protocol.DeviceID, raw []byte) error {
	if !se.relays {
		return fmt.Errorf("%w: change set of %s sent by %s", protocol.ErrWrongDevice, from, se.dev)
	}
	cs, err := protocol.Decode(raw)
	if err != nil {
		return err
	}
	if !se.inScope(cs.TargetOffice()) {
		return fmt.Errorf("%w: %s relays a change set of %s for %s", protocol.ErrOutOfScope, se.dev, from, cs.TargetOffice())
	}
	return nil
}

// tooBig records an oversize message, then closes the websocket with code
// 1009 (message too big). WriteControl may run beside the writer.
func (se *session) tooBig() {
	se.srv.deviceIncident(countyapi.Incident{Device: se.dev, Code: protocol.CodeOversize, Message: "frame over the read limit", Remote: se.remote})
	se.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseMessageTooBig, ""),
		time.Now().Add(se.srv.cfg.WriteWait))
}

// abort refuses input that ends a running session: it records the
// incident and hands the error frame to the writer, the connection's only
// writer (a second one would corrupt the stream or panic in gorilla), and
// waits until the writer has sent it and closed the session.
func (se *session) abort(err error) {
	code := protocol.CodeOf(err)
	se.srv.deviceIncident(countyapi.Incident{Device: se.dev, Code: code, Message: err.Error(), Remote: se.remote})
	se.fail(code, err.Error())
	<-se.done()
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
	se.pump.Write(&protocol.Frame{Type: protocol.FrameError, Code: code, Message: msg})
	return err
}

// readLoop reads the device's frames until the session ends: pushes go to
// the ingest loop, acks to the feed, evidence transfers to evidence.go.
func (se *session) readLoop() {
	s := se.srv
	defer se.saveUpload() // what arrived of an upload, however the session ends
	se.keepReading()
	for {
		typ, data, err := wsconn.ReadMessage(se.conn)
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				se.tooBig()
			}
			return
		}
		se.extend()
		f, err := decodeMessage(typ, data)
		if err != nil {
			se.abort(err)
			return
		}
		switch f.Type {
		case protocol.FramePush:
			relay := false
			if from, ok := protocol.PeekDevice(f.Body); ok && from != se.dev {
				if err := se.relayable(from, f.Body); err != nil {
					s.deviceIncident(countyapi.Incident{Device: se.dev, Code: protocol.CodeOf(err), Message: err.Error(), Remote: se.remote})
					se.send(&protocol.Frame{Type: protocol.FrameRefused, Device: from, Code: protocol.CodeOf(err), Message: err.Error()})
					continue
				}
				relay = true
			}
			if !s.submit(&pushReq{raw: f.Body, hint: se.info, from: se, relay: relay}, se.done()) {
				return
			}
		case protocol.FrameAck:
			se.ack(f.Pos)
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

// wrongDevice refuses a change set pushed for device dev that names
// another (wrong_device, an incident), before it reaches the ingest loop:
// the refusal to answer with, or nil.
func (s *Server) wrongDevice(dev protocol.DeviceID, raw []byte, remote string) *protocol.Frame {
	from, ok := protocol.PeekDevice(raw)
	if !ok || from == dev {
		return nil
	}
	err := fmt.Errorf("%w: change set of %s sent by %s", protocol.ErrWrongDevice, from, dev)
	s.deviceIncident(countyapi.Incident{Device: dev, Code: protocol.CodeWrongDevice, Message: err.Error(), Remote: remote})
	return &protocol.Frame{Type: protocol.FrameRefused, Device: from, Code: protocol.CodeWrongDevice, Message: err.Error()}
}

// deviceFeed is the feed as a device sees it: every change set of the
// device's scope from other devices, then the revocations and the calendar
// update it has not had yet, once it has caught up. A session streams it;
// a return file (filesync.go) carries it.
type deviceFeed struct {
	srv     *Server
	dev     protocol.DeviceID
	rec     store.DeviceRecord
	revSent map[protocol.DeviceID]bool
	calSent uint64
}

// deviceFeed returns the feed of the device dev, enrolled as rec.
func (s *Server) deviceFeed(dev protocol.DeviceID, rec store.DeviceRecord) *deviceFeed {
	return &deviceFeed{srv: s, dev: dev, rec: rec, revSent: map[protocol.DeviceID]bool{}}
}

func (v *deviceFeed) begin() error { return nil }

func (v *deviceFeed) keep(e store.FeedEntry) bool {
	return e.Device != v.dev && inScope(v.rec, e.Office)
}

func (v *deviceFeed) entry(e store.FeedEntry, raw []byte) *protocol.Frame {
	return &protocol.Frame{Type: protocol.FrameDeliver, Pos: e.Pos, Body: raw}
}

func (v *deviceFeed) interleave(*feedFrames, uint64) {}

// settled returns the revocations and the calendar update this session has
// not sent yet. The device has caught up with the feed, so it already holds
// everything a revoked device wrote before its revocation.
func (v *deviceFeed) settled() []*protocol.Frame {
	revs, calVersion, cal := v.srv.decisions()
	var frames []*protocol.Frame
	// In device order, so the same county state makes the same return file.
	for _, id := range slices.SortedFunc(maps.Keys(revs), func(a, b protocol.DeviceID) int { return bytes.Compare(a[:], b[:]) }) {
		if !v.revSent[id] {
			v.revSent[id] = true
			frames = append(frames, &protocol.Frame{Type: protocol.FrameRevocation, Body: revs[id]})
		}
	}
	if calVersion > v.calSent {
		v.calSent = calVersion
		frames = append(frames, &protocol.Frame{Type: protocol.FrameCalendar, Body: cal})
	}
	return frames
}

func (se *session) inScope(o office.Code) bool { return inScope(se.rec, o) }

// inScope reports whether a device enrolled as rec may see office o's
// records.
func inScope(rec store.DeviceRecord, o office.Code) bool {
	return office.InScope(rec.Office, rec.Admin, o)
}
