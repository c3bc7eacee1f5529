package county

import (
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
// positions). streamFeed does the rest for both.
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

// streamFeed streams the feed from the peer's cursor as v shows it: each
// kept entry preceded by its device's certificate the first time, then
// what v has settled, then "caught up", then live as the feed advances,
// never more than Window kept entries ahead of the peer's acks.
func (p *peer) streamFeed(v feedView, cursor uint64) {
	s := p.srv
	b := feedFrames{certSent: map[protocol.DeviceID]bool{}}
	var inflight []uint64 // positions delivered and not yet acknowledged
	sent := cursor
	caughtUp, haveCaughtUp := uint64(0), false
	for {
		wait := s.feedWaiter() // before reading, so no advance is missed
		acked := p.acked.Load()
		for len(inflight) > 0 && inflight[0] <= acked {
			inflight = inflight[1:]
		}
		b.frames = nil
		var limited bool
		var visited int
		var err error
		sent, visited, limited, err = s.readFeed(v, &b, sent, func(store.FeedEntry) bool { return len(inflight) < s.cfg.Window },
			func(e store.FeedEntry) { inflight = append(inflight, e.Pos) })
		if err != nil {
			p.log.Error("reading feed", "err", err)
			p.fail(protocol.CodeInternal, "feed unavailable")
			return
		}
		if !p.queue(s.fillCertificates(b.frames)) {
			return
		}
		if visited == feedBatch {
			continue // there may be more right away
		}
		if !limited && !p.queue(v.settled()) {
			return
		}
		if !limited && (!haveCaughtUp || caughtUp != sent) {
			// Everything up to sent is delivered or not for this peer:
			// it may move its cursor there.
			if !p.pump.Send(wsconn.Stream, &protocol.Frame{Type: protocol.FrameCaughtUp, Pos: sent}) {
				return
			}
			caughtUp, haveCaughtUp = sent, true
		}
		select {
		case <-wait:
		case <-p.ackCh:
		case <-p.done():
			return
		}
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
