package county

import (
	"sync"

	bolt "go.etcd.io/bbolt"

	"jiannuo/store"
	"jiannuo/sync/protocol"
	"jiannuo/sync/wsconn"
)

// feedBatch bounds how many feed entries are read per transaction: the
// read transaction must end before frames are queued, so a slow peer
// never holds a bbolt transaction open.
const feedBatch = 64

// feedView is what differs between the feed a device gets (its scope's
// change sets from other devices, then the county's decisions) and the one
// a municipal node gets (everything, with receipts, revocations at their
// positions). feedStream does the rest for both.
type feedView interface {
	// begin is called before each read of the feed, to read what
	// interleave needs, outside the feed's read transaction.
	begin() error
	// keep reports whether an entry goes to the peer.
	keep(e store.FeedEntry) bool
	// entry is the frame that carries a kept entry.
	entry(e store.FeedEntry, raw []byte) *protocol.Frame
	// interleave adds to b what took effect before feed position p. It
	// is called before each entry read and, once a read reaches the
	// feed's head, with the head + 1.
	interleave(b *feedFrames, p uint64)
	// settled returns what goes after every change set it could affect,
	// before the peer is told it has caught up (a sync that ends there has
	// it).
	settled() []*protocol.Frame
}

// feedFrames collects the frames of one read of the feed, made inside its
// read transaction and queued after it.
type feedFrames struct {
	frames   []*protocol.Frame
	certSent map[protocol.DeviceID]bool // devices whose certificate the peer has
}

// cert adds dev's certificate the first time the peer needs it: a
// placeholder, filled after the read transaction (see fillCertificates).
func (b *feedFrames) cert(dev protocol.DeviceID) {
	if !b.certSent[dev] {
		b.frames = append(b.frames, &protocol.Frame{Type: protocol.FrameCertificate, Device: dev})
		b.certSent[dev] = true
	}
}

func (b *feedFrames) add(f *protocol.Frame) { b.frames = append(b.frames, f) }

// feedStream is the feed streamed to one peer: each kept entry preceded
// by its device's certificate the first time, then what the view has
// settled, then "caught up", then live as the feed advances, never more
// than Window kept entries ahead of the peer's acks.
//
// An idle peer costs no goroutine: once everything sent is acknowledged
// and the peer has caught up, the stream parks with the server (park)
// and its goroutine ends; the next advance of the feed starts it again
// (feedAdvanced) with the state kept here. Only one goroutine runs a
// stream at a time: it is started by the session (peer.start) or by the
// advance that unparks it, and wg, the session's, counts it.
type feedStream struct {
	p  *peer
	v  feedView
	wg *sync.WaitGroup

	b            feedFrames
	inflight     []uint64 // positions delivered and not yet acknowledged
	sent         uint64
	caughtUp     uint64
	haveCaughtUp bool
}

func (p *peer) newFeedStream(v feedView, cursor uint64, wg *sync.WaitGroup) *feedStream {
	return &feedStream{p: p, v: v, wg: wg, b: feedFrames{certSent: map[protocol.DeviceID]bool{}}, sent: cursor}
}

// run streams until the session ends or the stream parks.
func (f *feedStream) run() {
	p, v, s := f.p, f.v, f.p.srv
	for {
		wait := s.feedWaiter() // before reading, so no advance is missed
		acked := p.acked.Load()
		for len(f.inflight) > 0 && f.inflight[0] <= acked {
			f.inflight = f.inflight[1:]
		}
		f.b.frames = nil
		var limited bool
		var visited int
		var err error
		f.sent, visited, limited, err = s.readFeed(v, &f.b, f.sent, func(store.FeedEntry) bool { return len(f.inflight) < s.cfg.Window },
			func(e store.FeedEntry) { f.inflight = append(f.inflight, e.Pos) })
		if err != nil {
			p.log.Error("reading feed", "err", err)
			p.fail(protocol.CodeInternal, "feed unavailable")
			return
		}
		if !p.queue(s.fillCertificates(f.b.frames)) {
			return
		}
		f.b.frames = nil
		if visited == feedBatch {
			continue // there may be more right away
		}
		if !limited && !p.queue(v.settled()) {
			return
		}
		if !limited && (!f.haveCaughtUp || f.caughtUp != f.sent) {
			// Everything up to sent is delivered or not for this peer:
			// it may move its cursor there.
			if !p.pump.Send(wsconn.Stream, &protocol.Frame{Type: protocol.FrameCaughtUp, Pos: f.sent}) {
				return
			}
			f.caughtUp, f.haveCaughtUp = f.sent, true
		}
		if len(f.inflight) == 0 && s.park(f, wait) {
			// Nothing awaits an ack: only an advance of the feed (or the
			// session's end, which unparks) can give it more to do.
			return
		}
		select {
		case <-wait:
		case <-p.ackCh:
		case <-p.done():
			return
		}
	}
}

// park sets f aside until the feed advances past wait; false if it has
// already, or if the session has ended: its unpark may have run already
// (a woken stream can come back here after it), and nothing would take f
// out again.
func (s *Server) park(f *feedStream, wait <-chan struct{}) bool {
	s.mu.Lock()
	ok := s.feedCh == wait
	select {
	case <-f.p.done(): // closed before the session unparks (peer.start)
		ok = false
	default:
	}
	if ok {
		s.parked[f] = struct{}{}
	}
	s.mu.Unlock()
	if ok {
		s.parkedChanged()
	}
	return ok
}

// unpark takes f out of the parked streams, for a session that ends; once
// it returns, no advance starts f again, so waiting on f.wg is safe.
func (s *Server) unpark(f *feedStream) {
	s.mu.Lock()
	_, was := s.parked[f]
	delete(s.parked, f)
	s.mu.Unlock()
	if was {
		s.parkedChanged()
	}
}

func (s *Server) parkedChanged() {
	if h := s.parkHook.Load(); h != nil {
		(*h)()
	}
}

// readFeed reads up to feedBatch entries of the feed after sent as v shows
// them into b — each kept entry after its device's certificate the first
// time, what took effect before it interleaved — and what v interleaves
// after the last read once the feed's head is reached. room is asked
// before each entry whether another may go (else limited), took is told of
// each kept entry added. It returns the last position read and how many
// entries it visited.
func (s *Server) readFeed(v feedView, b *feedFrames, sent uint64, room func(store.FeedEntry) bool, took func(store.FeedEntry)) (last uint64, visited int, limited bool, err error) {
	err = v.begin()
	if err == nil {
		err = s.st.FeedSelect(sent, feedBatch, v.keep, func(e store.FeedEntry, raw []byte) bool {
			if !room(e) {
				limited = true
				return false
			}
			v.interleave(b, e.Pos)
			visited++
			sent = e.Pos
			if !v.keep(e) {
				return true
			}
			b.cert(e.Device)
			took(e)
			b.add(v.entry(e, raw))
			return true
		})
	}
	if err == nil && !limited {
		v.interleave(b, sent+1)
	}
	return sent, visited, limited, err
}

// queue hands frames to the writer in order; false when the session ended.
func (p *peer) queue(frames []*protocol.Frame) bool {
	for _, f := range frames {
		if !p.pump.Send(wsconn.Stream, f) {
			return false
		}
	}
	return true
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
