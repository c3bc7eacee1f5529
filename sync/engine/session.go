package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"jiannuo/store"
	"jiannuo/sync/protocol"
	"jiannuo/sync/wsconn"
)

// link is the state of one websocket session.
type link struct {
	e    *Engine
	conn *websocket.Conn
	once bool // SyncOnce: end when everything is exchanged

	// pump is the connection's only writer: acks and evidence control
	// first, then change sets, evidence chunks only when nothing else
	// waits. It ends the link (Close), keeping why when the writer or
	// the pusher ended it (Fail).
	pump *wsconn.Pump

	window chan struct{} // one token per change set awaiting its receipt

	mu          sync.Mutex
	pushedTo    uint64 // last sequence queued for sending
	receiptedTo uint64 // last sequence acknowledged by a receipt

	feedTarget uint64 // the feed head at welcome: caught up once past it
	caughtUp   bool
	pending    [][]byte // received change sets not yet applied
	pendingPos uint64

	cursor uint64 // the feed position applied here

	ev transfers // evidence (evidence.go)
}

// session runs one connection. In once mode it returns nil when everything
// is exchanged; otherwise it stays until the link or ctx ends.
func (e *Engine) session(ctx context.Context, once bool) error {
	e.update(func(s *Status) { s.State, s.Code, s.Err = StateConnecting, "", "" })
	if _, err := e.se.Seal(0); err != nil {
		return fmt.Errorf("sealing pending operations: %w", err)
	}
	l, welcome, err := e.connect(ctx, once)
	if err != nil {
		return err
	}
	defer l.pump.Close()
	stop := context.AfterFunc(ctx, l.pump.Close)
	defer stop()

	cursor, err := e.st.Cursor()
	if err != nil {
		return err
	}
	l.cursor = cursor
	if welcome.Pos < cursor {
		// The county's feed is shorter than what this device applied: it
		// was restored from an older backup and may give positions anew.
		// Start over; what is already here is recognised as replays.
		e.log.Warn("county feed behind this device's cursor; resynchronising from the start", "cursor", cursor, "county_head", welcome.Pos)
		if err := e.st.ResetCursor(); err != nil {
			return err
		}
		return fmt.Errorf("county feed head %d is behind this device's cursor %d: resynchronising", welcome.Pos, cursor)
	}
	heads, err := e.st.Heads()
	if err != nil {
		return err
	}
	mine := heads[e.dev]
	if welcome.Head.Seq > mine.Seq || (welcome.Head.Seq == mine.Seq && welcome.Head.Hash != mine.Hash) {
		return &FatalError{Code: protocol.CodeFork, Message: fmt.Sprintf(
			"the county holds change sets of this device up to %d, this device only up to %d: it was restored from an old backup or copied; ask the county admin to re-enrol it",
			welcome.Head.Seq, mine.Seq)}
	}
	// Push what the county lacks, and again what it has but whose receipt
	// this device never got (the link was cut after the commit): the county
	// answers a replay with the original receipt.
	from := welcome.Head.Seq
	if first, ok, err := e.st.OutboxFirst(); err != nil {
		return err
	} else if ok && first <= from {
		from = first - 1
	}
	l.pushedTo, l.receiptedTo, l.feedTarget = from, from, welcome.Pos
	l.ev.held = welcome.Head.LastOp
	e.update(func(s *Status) { s.State = StateSyncing })

	l.pump.Start()
	var push sync.WaitGroup
	push.Go(l.pushLoop)
	err = l.readLoop()
	l.pump.Close()
	l.pump.Wait()
	push.Wait()
	if werr := l.pump.Err(); err == nil && werr != nil && !l.finished() {
		err = werr
	}
	return err
}

// errStatusRefused marks a hello with the device's status that the server
// refused as malformed: the server predates the status (docs/protocol.md).
var errStatusRefused = errors.New("the county server does not take the device status in the hello")

// connect dials the server and authenticates. If the server refuses the
// hello with this device's status as malformed, it is older than the
// status: the engine dials again at once and from then on says hello as
// older devices do, without it.
func (e *Engine) connect(ctx context.Context, once bool) (*link, *protocol.Frame, error) {
	for {
		conn, err := e.dial(ctx)
		if err != nil {
			return nil, nil, err
		}
		l := &link{e: e, conn: conn, once: once, window: make(chan struct{}, e.cfg.Window), ev: newTransfers()}
		l.pump = wsconn.NewPump(conn, wsconn.PumpConfig{WriteWait: e.cfg.WriteWait,
			ControlQueue: 64, StreamQueue: 8, BulkQueue: 2, Sent: e.countSent})
		stop := context.AfterFunc(ctx, l.pump.Close)
		welcome, err := l.handshake()
		stop()
		if err == nil {
			return l, welcome, nil
		}
		l.pump.Close()
		if !errors.Is(err, errStatusRefused) || e.plainHello.Load() || ctx.Err() != nil {
			return nil, nil, err
		}
		e.log.Warn("the county server refused the hello with this device's status: it is older than this app; saying hello without the status", "err", err)
		e.plainHello.Store(true)
	}
}

// helloStatus is what the hello tells the county of this device: the app's
// version, the last change set sealed here (receipted or not) and the
// operations not sealed yet.
func (e *Engine) helloStatus() (*protocol.HelloStatus, error) {
	heads, err := e.st.Heads()
	if err != nil {
		return nil, err
	}
	c, err := e.st.Pending()
	if err != nil {
		return nil, err
	}
	return &protocol.HelloStatus{Software: e.cfg.Version, Seq: heads[e.dev].Seq, PendingOps: uint64(c.PendingOps)}, nil
}

func (l *link) read() (*protocol.Frame, error) {
	typ, data, err := l.readMessage()
	if errors.Is(err, websocket.ErrReadLimit) {
		return nil, &FatalError{Code: protocol.CodeOversize, Message: "the server sent a frame over the size limit"}
	}
	if err != nil {
		var ce *websocket.CloseError
		if errors.As(err, &ce) && ce.Code == websocket.CloseMessageTooBig {
			return nil, &FatalError{Code: protocol.CodeOversize, Message: "the server refused a frame as too large"}
		}
		return nil, err
	}
	if typ != websocket.BinaryMessage {
		return nil, fmt.Errorf("%w: text message from server", protocol.ErrMalformed)
	}
	f, err := protocol.DecodeFrame(data)
	if err != nil {
		return nil, fmt.Errorf("from server: %w", err)
	}
	if f.Type == protocol.FrameError {
		if fatalCode(f.Code) {
			return nil, &FatalError{Code: f.Code, Message: f.Message}
		}
		return nil, fmt.Errorf("server: %w: %s", protocol.ErrorFor(f.Code), f.Message)
	}
	return f, nil
}

// readMessage reads one message, bounding its size after decompression:
// the websocket read limit counts compressed bytes, so a deflated frame
// could otherwise inflate to gigabytes.
func (l *link) readMessage() (int, []byte, error) { return wsconn.ReadMessage(l.conn) }

func (l *link) handshake() (*protocol.Frame, error) {
	e := l.e
	l.conn.SetReadDeadline(time.Now().Add(e.cfg.HandshakeTimeout))
	ch, err := l.read()
	if err != nil {
		return nil, err
	}
	if ch.Type != protocol.FrameChallenge {
		return nil, fmt.Errorf("%w: expected challenge, got %s", protocol.ErrMalformed, ch.Type)
	}
	if len(e.cfg.CountyKey) > 0 && !bytes.Equal(ch.CountyKey, e.cfg.CountyKey) {
		return nil, &FatalError{Code: protocol.CodeWrongServer, Message: fmt.Sprintf("server speaks for county %s with another key", ch.County)}
	}
	cursor, err := e.st.Cursor()
	if err != nil {
		return nil, err
	}
	hello := &protocol.Frame{Type: protocol.FrameHello, Version: protocol.ProtocolVersion, Device: e.dev, Cursor: cursor,
		Sig: e.se.SignChallenge(ch.Nonce, e.cfg.Fingerprint)}
	if !e.plainHello.Load() {
		if hello.Status, err = e.helloStatus(); err != nil {
			return nil, err
		}
	}
	if err := l.pump.Write(hello); err != nil {
		return nil, err
	}
	w, err := l.read()
	if err != nil {
		var fe *FatalError
		if hello.Status != nil && errors.As(err, &fe) && fe.Code == protocol.CodeMalformed {
			return nil, fmt.Errorf("%w: %w", errStatusRefused, err)
		}
		return nil, err
	}
	if w.Type != protocol.FrameWelcome {
		return nil, fmt.Errorf("%w: expected welcome, got %s", protocol.ErrMalformed, w.Type)
	}
	return w, nil
}

// countSent counts, after the pump wrote them, the change sets and the
// evidence bytes this device sent.
func (e *Engine) countSent(f *protocol.Frame) {
	if f.Type == protocol.FramePush || f.Type == protocol.FrameEvidenceChunk {
		n := int64(len(f.Body))
		pushed := f.Type == protocol.FramePush
		e.update(func(s *Status) {
			s.SentBytes += n
			if pushed {
				s.SentChangeSets++
			}
		})
	}
}

// pushLoop sends this device's change sets the county does not have yet,
// in order, at most Window without a receipt; in a live session it then
// waits for SyncNow to seal and send more.
func (l *link) pushLoop() {
	e := l.e
	for {
		l.mu.Lock()
		from := l.pushedTo
		l.mu.Unlock()
		sets, err := e.st.ChangeSets(e.dev, from, e.cfg.Window)
		if err != nil {
			l.pump.Fail(err)
			return
		}
		for _, raw := range sets {
			select {
			case l.window <- struct{}{}:
			case <-l.pump.Done():
				return
			}
			if !l.pump.Send(wsconn.Stream, &protocol.Frame{Type: protocol.FramePush, Body: raw}) {
				return
			}
			l.mu.Lock()
			l.pushedTo++
			l.mu.Unlock()
		}
		if len(sets) == e.cfg.Window {
			continue
		}
		if l.once {
			return
		}
		select {
		case <-e.kick:
			if _, err := e.se.Seal(0); err != nil {
				l.pump.Fail(err)
				return
			}
		case <-l.pump.Done():
			return
		}
	}
}

// finished reports whether everything is exchanged: every change set of
// this device receipted, the feed delivered past where it stood at
// welcome, and no evidence left to move.
func (l *link) finished() bool {
	if _, waiting, err := l.e.st.OutboxFirst(); err != nil || waiting {
		return false
	}
	l.mu.Lock()
	done := l.caughtUp && l.ev.uploading == nil && l.ev.downloading == nil
	l.mu.Unlock()
	return done
}

// readLoop is the link's only reader: it handles each frame from the
// server in turn until the link ends, or in once mode until everything is
// exchanged.
func (l *link) readLoop() error {
	l.answerPings()
	l.startEvidence()
	for {
		if l.once && l.finished() {
			l.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "done"), time.Now().Add(time.Second))
			return nil
		}
		f, err := l.read()
		if err != nil {
			return l.readErr(err)
		}
		l.extend()
		if f.Type != protocol.FrameDeliver {
			// Anything else may depend on what was delivered before it.
			if err := l.flush(); err != nil {
				return err
			}
		}
		if err := l.handle(f); err != nil {
			return err
		}
	}
}

// extend gives the server PongWait to send its next frame or ping.
func (l *link) extend() { l.conn.SetReadDeadline(time.Now().Add(l.e.cfg.PongWait)) }

// answerPings answers the server's pings, each of which extends the read
// deadline like a frame.
func (l *link) answerPings() {
	l.extend()
	l.conn.SetPingHandler(func(data string) error {
		l.extend()
		err := l.conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(l.e.cfg.WriteWait))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
}

// readErr is what ends the session when reading failed: the reason the
// writer or pusher closed the link, if one did, else err.
func (l *link) readErr(err error) error {
	select {
	case <-l.pump.Done():
		if werr := l.pump.Err(); werr != nil {
			return werr
		}
	default:
	}
	return err
}

// handle acts on one frame from the server.
func (l *link) handle(f *protocol.Frame) error {
	switch f.Type {
	case protocol.FrameReceipt:
		return l.receipt(f.Body)
	case protocol.FrameRefused:
		return l.refused(f)
	case protocol.FrameCertificate:
		return l.e.putCertificate(f.Body)
	case protocol.FrameRevocation:
		return l.e.putRevocation(f.Body)
	case protocol.FrameCalendar:
		return l.e.putCalendar(f.Body)
	case protocol.FrameDeliver:
		return l.deliver(f)
	case protocol.FrameCaughtUp:
		return l.caughtUpTo(f.Pos)
	case protocol.FrameEvidenceWant:
		l.sendEvidence(f)
		return nil
	case protocol.FrameEvidenceStored:
		return l.evidenceStored(f.Hash)
	case protocol.FrameEvidenceChunk:
		return l.evidenceChunk(f)
	default:
		return fmt.Errorf("%w: unexpected %s frame from the server", protocol.ErrMalformed, f.Type)
	}
}

// deliver keeps a change set from the feed to apply with the next batch.
func (l *link) deliver(f *protocol.Frame) error {
	if f.Pos <= l.pendingPos {
		return fmt.Errorf("%w: feed position %d after %d", protocol.ErrMalformed, f.Pos, l.pendingPos)
	}
	l.pending = append(l.pending, f.Body)
	l.pendingPos = f.Pos
	if len(l.pending) >= l.e.cfg.ApplyBatch {
		return l.flush()
	}
	return nil
}

// caughtUpTo moves the cursor to pos, where the server says everything
// before is delivered or not for this device, and tells the server.
func (l *link) caughtUpTo(pos uint64) error {
	e := l.e
	if pos >= l.feedTarget {
		// The county's records reached this device up to now: an online
		// sync, noted with the cursor.
		now := time.Now()
		if err := e.st.CaughtUp(pos, now); err != nil {
			return err
		}
		e.update(func(s *Status) { s.LastSync, s.LastSyncVia = now, store.SyncedOnline })
	} else if _, err := e.st.ApplyFrom(pos); err != nil {
		return err
	}
	if pos > l.cursor {
		l.cursor = pos
		e.progress.Add(1)
	}
	l.ack(pos)
	if pos >= l.feedTarget {
		l.mu.Lock()
		l.caughtUp = true
		l.mu.Unlock()
		if !l.once {
			e.update(func(s *Status) { s.State = StateIdle })
		}
	}
	return nil
}

func (l *link) ack(pos uint64) { l.sendCtrl(&protocol.Frame{Type: protocol.FrameAck, Pos: pos}) }

// flush applies the received change sets together with the feed position
// of the last, then tells the server.
func (l *link) flush() error {
	if len(l.pending) == 0 {
		return nil
	}
	e := l.e
	if err := e.applyDelivered(l.pendingPos, l.pending); err != nil {
		return err
	}
	l.ack(l.pendingPos)
	l.pending = l.pending[:0]
	l.cursor = max(l.cursor, l.pendingPos)
	e.progress.Add(1)
	l.applied()
	return nil
}

func (l *link) receipt(body []byte) error {
	e := l.e
	rc, cs, err := e.openReceipt(body)
	if err != nil {
		return err
	}
	if err := e.acknowledge(rc, body); err != nil {
		return err
	}
	l.mu.Lock()
	if rc.Seq > l.receiptedTo {
		l.receiptedTo = rc.Seq
	}
	l.mu.Unlock()
	select {
	case <-l.window:
	default:
	}
	l.receipted(cs)
	return nil
}

func (l *link) refused(f *protocol.Frame) error {
	if !f.Hash.IsZero() {
		l.evidenceRefused(f)
		return nil
	}
	if fatalCode(f.Code) {
		return &FatalError{Code: f.Code, Message: fmt.Sprintf("change set %d refused: %s", f.Seq, f.Message)}
	}
	return fmt.Errorf("change set %d refused: %w: %s", f.Seq, protocol.ErrorFor(f.Code), f.Message)
}
