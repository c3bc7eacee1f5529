package wsconn

import (
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"jiannuo/sync/protocol"
)

// Priority orders the frames waiting for a connection's writer.
type Priority int

// The priorities, highest first. Within one priority frames go in the order
// they were queued.
const (
	// Control frames go first: receipts, acknowledgements, refusals,
	// evidence control, a fatal error.
	Control Priority = iota
	// Stream frames go when no control frame waits: the feed a server
	// streams, the change sets a device pushes.
	Stream
	// Bulk frames go only when nothing else waits: evidence chunks, so a
	// large file never holds back a receipt or a record.
	Bulk

	priorities
)

// PumpConfig configures a Pump.
type PumpConfig struct {
	// WriteWait bounds one write (default 10s): a peer that cannot take a
	// frame in that time is dropped, not waited for.
	WriteWait time.Duration
	// PingPeriod is how often the writer pings while it has nothing to
	// send, so the peer keeps answering; 0 (the default) means never, for
	// the side that only answers pings.
	PingPeriod time.Duration
	// ControlQueue, StreamQueue and BulkQueue are how many frames of each
	// priority may wait for the writer; 0 (the default) means none: a
	// Send waits until the writer takes the frame. When all three are
	// above 0 the writer's goroutine runs only while there is something
	// to send (a ping included): an idle connection costs no goroutine.
	ControlQueue, StreamQueue, BulkQueue int
	// ChunkBytes is the size of the evidence chunks StreamChunks sends
	// (default DefaultChunkBytes, at most protocol.MaxChunkBytes).
	ChunkBytes int
	// Sent, if set, is called by the writer after each frame it wrote
	// (a device counts what it sent).
	Sent func(*protocol.Frame)
}

// DefaultChunkBytes is the evidence chunk size both sides send: a
// quarter of what the protocol allows, so that a link cut every few
// seconds still carries whole chunks (a receiver keeps only whole ones)
// and a cut wastes little.
const DefaultChunkBytes = 16 << 10

// Pump is the only writer of one websocket connection: the frames of every
// goroutine of a session go through it, highest priority first (a second
// writer would corrupt the stream or panic in gorilla). It also owns the
// end of the connection: Close, Fail and Done.
//
// Its callers see only Send, Offer, StreamChunks, Close and Done, never the
// writer's goroutine or queues: with queues of every priority the writer
// runs only while something waits to be sent (a server holds thousands of
// idle connections), otherwise for the whole session.
type Pump struct {
	conn  *websocket.Conn
	cfg   PumpConfig
	queue [priorities]chan *protocol.Frame

	done      chan struct{}
	closeOnce sync.Once
	writer    sync.WaitGroup

	// onDemand: every queue has room, so a frame never waits for the
	// writer to be there to take it and the writer may end while there
	// is nothing to send; kick starts it again.
	onDemand bool
	mu       sync.Mutex // guards started, active and closed
	started  bool       // Start was called
	active   bool       // a writer goroutine runs
	closed   bool       // no writer starts any more
	pingDue  bool       // on demand: the ping timer fired and no ping went out since; under mu
	pingT    *time.Timer

	errMu sync.Mutex
	err   error // why the session ended, if Fail said

	// chunksDone, if set before StreamChunks, is called when its
	// goroutine ends, after its last kick: a test's way to know that no
	// kick is still under way when it waits for the writer.
	chunksDone func()
}

// NewPump returns the pump of conn. Until Start, the caller may Write to
// the connection itself (a handshake); from then on only the pump writes.
func NewPump(conn *websocket.Conn, cfg PumpConfig) *Pump {
	if cfg.WriteWait <= 0 {
		cfg.WriteWait = 10 * time.Second
	}
	if cfg.ChunkBytes <= 0 || cfg.ChunkBytes > protocol.MaxChunkBytes {
		cfg.ChunkBytes = DefaultChunkBytes
	}
	p := &Pump{conn: conn, cfg: cfg, done: make(chan struct{}), onDemand: true}
	for i, n := range []int{cfg.ControlQueue, cfg.StreamQueue, cfg.BulkQueue} {
		p.queue[i] = make(chan *protocol.Frame, n)
		p.onDemand = p.onDemand && n > 0
	}
	return p
}

// Write writes one frame now, bounded by WriteWait. It is for the
// handshake, before Start; afterwards frames go through Send. An error
// frame, which ends the session, is followed by a websocket close frame
// (CloseCode), so the peer reads a closing handshake, not a cut
// connection.
func (p *Pump) Write(f *protocol.Frame) error {
	p.conn.SetWriteDeadline(time.Now().Add(p.cfg.WriteWait))
	if err := p.conn.WriteMessage(websocket.BinaryMessage, protocol.AppendFrame(nil, f)); err != nil {
		return err
	}
	if f.Type != protocol.FrameError {
		return nil
	}
	return p.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(CloseCode(f.Code), string(f.Code)))
}

// CloseCode is the websocket close code that follows an error frame with
// code c: 1011 (internal error) when the sender failed, 1008 (policy
// violation) when it refused the peer.
func CloseCode(c protocol.Code) int {
	if c == protocol.CodeInternal {
		return websocket.CloseInternalServerErr
	}
	return websocket.ClosePolicyViolation
}

// Start starts the writer. It ends when the pump closes, when a write
// fails (Fail with its error) or after it wrote an error frame, which is
// always the last frame of a session.
func (p *Pump) Start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started || p.closed {
		return
	}
	p.started = true
	if !p.onDemand {
		p.startWriter()
		return
	}
	if p.cfg.PingPeriod > 0 {
		// A timer, not a ticker: it costs no goroutine and is armed again
		// only once its ping went out.
		p.pingT = time.AfterFunc(p.cfg.PingPeriod, func() {
			p.mu.Lock()
			p.pingDue = true
			p.mu.Unlock()
			p.kick()
		})
	}
	if p.pendingLocked() {
		p.startWriter()
	}
}

// startWriter starts a writer goroutine; p.mu is held. The WaitGroup's
// Add happens under p.mu before Close marks the pump closed, so never
// beside Wait (which callers call after Close).
func (p *Pump) startWriter() {
	p.active = true
	p.writer.Add(1)
	go func() {
		defer p.writer.Done()
		p.run()
	}()
}

// kick starts the writer, on demand, if it is not running: every frame
// queued is followed by a kick, and the writer ends only when it finds
// nothing queued with p.mu held, so no frame is left without a writer.
func (p *Pump) kick() {
	if !p.onDemand {
		return
	}
	p.mu.Lock()
	if p.started && !p.closed && !p.active {
		p.startWriter()
	}
	p.mu.Unlock()
}

// pendingLocked reports whether something waits to be written; p.mu is
// held.
func (p *Pump) pendingLocked() bool {
	return p.pingDue || len(p.queue[Control]) > 0 || len(p.queue[Stream]) > 0 || len(p.queue[Bulk]) > 0
}

// Wait waits until the writer has ended; call Close first.
func (p *Pump) Wait() { p.writer.Wait() }

// Send queues f, waiting while its queue is full. It returns false when
// the pump closed first.
func (p *Pump) Send(pri Priority, f *protocol.Frame) bool {
	select {
	case p.queue[pri] <- f:
		p.kick()
		return true
	case <-p.done:
		return false
	}
}

// Offer queues f if there is room, without waiting, for a caller that must
// never block (the county's ingest loop). It returns false only when the
// queue is full while the pump is open: the peer stopped reading.
func (p *Pump) Offer(pri Priority, f *protocol.Frame) bool {
	select {
	case p.queue[pri] <- f:
		p.kick()
	case <-p.done:
	default:
		return false
	}
	return true
}

// StreamChunks sends the evidence file data from offset from, in chunks of
// at most ChunkBytes at Bulk priority, from a goroutine of its own that
// ends with the pump, or when stop is called (a peer that asks for the
// file again from elsewhere: the chunks not queued yet are not sent).
func (p *Pump) StreamChunks(h protocol.Hash, from int64, data []byte) (stop func()) {
	size := int64(p.cfg.ChunkBytes)
	quit := make(chan struct{})
	done := p.chunksDone
	go func() {
		if done != nil {
			defer done()
		}
		for off := from; off < int64(len(data)); off += size {
			end := min(off+size, int64(len(data)))
			select {
			case p.queue[Bulk] <- &protocol.Frame{Type: protocol.FrameEvidenceChunk, Hash: h, Offset: off, Body: data[off:end]}:
				p.kick()
			case <-p.done:
				return
			case <-quit:
				return
			}
		}
	}()
	return sync.OnceFunc(func() { close(quit) })
}

// Done is closed when the pump closes.
func (p *Pump) Done() <-chan struct{} { return p.done }

// Close ends the session: Done closes and so does the connection, which
// ends its reader too. Closing again does nothing.
func (p *Pump) Close() {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		if p.pingT != nil {
			p.pingT.Stop()
		}
		p.mu.Unlock()
		close(p.done)
		p.conn.Close()
	})
}

// Fail records why the session ended, unless a reason is recorded
// already (the first wins), and closes the pump.
func (p *Pump) Fail(err error) {
	p.errMu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.errMu.Unlock()
	p.Close()
}

// Err returns the reason Fail recorded, or nil.
func (p *Pump) Err() error {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	return p.err
}

func (p *Pump) run() {
	var ping <-chan time.Time
	if p.cfg.PingPeriod > 0 && !p.onDemand {
		t := time.NewTicker(p.cfg.PingPeriod)
		defer t.Stop()
		ping = t.C
	}
	next := p.next
	if p.onDemand {
		next = p.nextOnDemand
	}
	for {
		f, ok := next(ping)
		if !ok {
			return
		}
		var err error
		if f == nil {
			p.conn.SetWriteDeadline(time.Now().Add(p.cfg.WriteWait))
			err = p.conn.WriteMessage(websocket.PingMessage, nil)
		} else {
			err = p.Write(f)
		}
		if err != nil {
			p.Fail(err)
			return
		}
		if f == nil {
			continue
		}
		if p.cfg.Sent != nil {
			p.cfg.Sent(f)
		}
		if f.Type == protocol.FrameError {
			p.Close()
			return
		}
	}
}

// nextOnDemand returns the frame to write next, in the order next would,
// or nil for a ping that is due. When nothing waits it marks the writer
// ended and returns ok false, as it does when the pump closed.
func (p *Pump) nextOnDemand(<-chan time.Time) (f *protocol.Frame, ok bool) {
	for {
		select {
		case <-p.done:
			p.mu.Lock()
			p.active = false
			p.mu.Unlock()
			return nil, false
		default:
		}
		if f, ok := p.poll(); ok {
			return f, true
		}
		// Nothing to send: end, unless a ping is due or a frame came
		// meanwhile. Close marks the pump closed under p.mu.
		p.mu.Lock()
		switch {
		case p.closed:
			p.active = false
			p.mu.Unlock()
			return nil, false
		case p.pingDue:
			p.pingDue = false
			p.pingT.Reset(p.cfg.PingPeriod)
			p.mu.Unlock()
			return nil, true
		case !p.pendingLocked():
			p.active = false
			p.mu.Unlock()
			return nil, false
		}
		// Queued since poll looked: take it.
		p.mu.Unlock()
	}
}

// next waits for the frame to write next: a control frame if one waits,
// else a stream frame, else whichever comes first of a control, stream or
// bulk frame or a ping (f nil). ok is false when the pump closed.
func (p *Pump) next(ping <-chan time.Time) (f *protocol.Frame, ok bool) {
	if f, ok := p.poll(); ok {
		return f, true
	}
	select {
	case f = <-p.queue[Control]:
	case f = <-p.queue[Stream]:
	case f = <-p.queue[Bulk]:
	case <-ping:
	case <-p.done:
		return nil, false
	}
	return f, true
}

// poll returns the frame to write next without waiting: a control frame
// if one waits, else a stream frame, else a bulk frame; ok is false if
// none waits.
func (p *Pump) poll() (f *protocol.Frame, ok bool) {
	ctrl, stream, bulk := p.queue[Control], p.queue[Stream], p.queue[Bulk]
	select {
	case f = <-ctrl:
		return f, true
	default:
	}
	select {
	case f = <-ctrl:
		return f, true
	case f = <-stream:
		return f, true
	default:
	}
	select {
	case f = <-ctrl:
		return f, true
	case f = <-stream:
		return f, true
	case f = <-bulk:
		return f, true
	default:
		return nil, false
	}
}
