package county

import (
	"errors"
	"sync"

	bolt "go.etcd.io/bbolt"

	"jiannuo/sync/protocol"
)

// A device's last-seen record (LastSeen, overview.go) changes at every
// session's opening and closing. Writing it there would make the welcome
// wait for the single writer, and so behind every group commit of the
// ingest ahead of it. Instead seen notes the change in memory and returns;
// one goroutine writes what was noted, as many devices in one transaction
// as have waited. Readers see the stored record with the noted changes laid
// over it (lastSeenTx), so the admin's lists show a device at once.
//
// A crash loses what was noted and not yet written: advisory figures, as
// the device reports them again in its next hello.

// seenLog holds, per device, the fields of its last-seen record set since
// the server started, each with its latest value, and which devices have
// changes not yet on disk. It holds one entry per device that opened a
// session since the start, so it is bounded by the devices enrolled (a
// session opens only after its device proved its enrolled key).
type seenLog struct {
	mu    sync.Mutex
	patch map[protocol.DeviceID]LastSeen
	dirty map[protocol.DeviceID]bool
	wake  chan struct{} // something is dirty: the writer has work
}

func newSeenLog() *seenLog {
	return &seenLog{patch: map[protocol.DeviceID]LastSeen{}, dirty: map[protocol.DeviceID]bool{}, wake: make(chan struct{}, 1)}
}

// note lays p over what is noted for dev and wakes the writer.
func (l *seenLog) note(dev protocol.DeviceID, p LastSeen) {
	l.mu.Lock()
	l.patch[dev] = l.patch[dev].over(p)
	l.dirty[dev] = true
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// over returns l with the fields p sets replaced: Opened, Closed, and the
// reported status as a whole (Reported with what was reported then). Every
// field a patch sets carries its latest value and the stored record only
// ever takes values from patches, so laying the patch over any stored
// version of the record gives the current one.
func (l LastSeen) over(p LastSeen) LastSeen {
	if !p.Opened.IsZero() {
		l.Opened = p.Opened
	}
	if !p.Closed.IsZero() {
		l.Closed = p.Closed
	}
	if !p.Reported.IsZero() {
		l.Reported, l.Version, l.DeviceSeq, l.PendingOps = p.Reported, p.Version, p.DeviceSeq, p.PendingOps
	}
	return l
}

// take returns the noted fields of every dirty device and marks them
// clean.
func (l *seenLog) take() map[protocol.DeviceID]LastSeen {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.dirty) == 0 {
		return nil
	}
	out := make(map[protocol.DeviceID]LastSeen, len(l.dirty))
	for dev := range l.dirty {
		out[dev] = l.patch[dev]
	}
	clear(l.dirty)
	return out
}

// redo marks devices dirty again after their write failed.
func (l *seenLog) redo(devs map[protocol.DeviceID]LastSeen) {
	l.mu.Lock()
	for dev := range devs {
		l.dirty[dev] = true
	}
	l.mu.Unlock()
}

func (l *seenLog) get(dev protocol.DeviceID) (LastSeen, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.patch[dev]
	return p, ok
}

// lastSeenTx returns dev's last-seen record as stored in tx with what was
// noted since laid over it. It opens no transaction, so it may run inside
// any.
func (s *Server) lastSeenTx(tx *bolt.Tx, dev protocol.DeviceID) (LastSeen, error) {
	var l LastSeen
	if _, err := getJSON(tx, bLastSeen, dev[:], &l); err != nil {
		return l, err
	}
	if p, ok := s.seenLog.get(dev); ok {
		l = l.over(p)
	}
	return l, nil
}

// seenWriter writes the noted last-seen records until the server closes,
// then once more.
func (s *Server) seenWriter() {
	defer s.wg.Done()
	for {
		select {
		case <-s.seenLog.wake:
			s.writeSeen()
		case <-s.done:
			s.writeSeen()
			return
		}
	}
}

// writeSeen writes every dirty record in one transaction. While it waits
// for the writer, more devices are noted; they go in the next one.
func (s *Server) writeSeen() {
	devs := s.seenLog.take()
	if devs == nil {
		return
	}
	err := s.st.Update(func(tx *bolt.Tx) error {
		for dev, p := range devs {
			var l LastSeen
			if _, err := getJSON(tx, bLastSeen, dev[:], &l); err != nil {
				return err
			}
			if err := putJSON(tx, bLastSeen, dev[:], l.over(p)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, bolt.ErrDatabaseNotOpen) {
		s.log.Error("recording last seen", "devices", len(devs), "err", err)
		s.seenLog.redo(devs) // tried again with the next note, or at close
	}
}
