package county

import (
	"runtime"

	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// The ingest pipeline. Every push is queued twice: first for the
// preparers, a few goroutines (one per core) that decode the change set
// and check its signature and operation rules against the pushing
// device's record (protocol.Prepare), then for the single writer, which
// takes the pushes in the order they were queued, waits until each is
// prepared, and only checks the chain and applies, commits and answers
// (ingestLoop). Decoding and verification so run on every core, and
// during the writer's fsync, while the order a device pushed in, the
// receipts after the commit and every refusal stay exactly the writer's.
//
// Memory stays bounded: a pusher blocks while the preparers' queue
// (prepQueue) or the writer's (4 × MaxBatch) is full; only authenticated
// sessions, sync files an admin imports and the server itself push, each
// at most one change set (MaxChangeSetBytes) at a time per reader, and a
// prepared push holds its decoded form and one copy of its bytes. Since a push
// joins the writer's queue only once the preparers have taken it, at most
// prepQueue plus one per preparer of the writer's queue are still to be
// prepared: the writer never waits long for one.

// preparers is how many goroutines prepare pushes: one per core.
func preparers() int { return runtime.GOMAXPROCS(0) }

// prepQueue sizes the preparers' queue: enough to keep every preparer busy
// while the pushers' goroutines are scheduled.
func prepQueue() int { return 2 * preparers() }

// submit queues r for the preparers and the writer, in that order. It
// returns false, dropping r, if stop is closed or the server closes first;
// r may then have been prepared for nothing.
func (s *Server) submit(r *pushReq, stop <-chan struct{}) bool {
	r.ready = make(chan struct{})
	select {
	case s.prep <- r:
	case <-stop:
		return false
	case <-s.done:
		return false
	}
	select {
	case s.ingest <- r:
		return true
	case <-stop:
		return false
	case <-s.done:
		return false
	}
}

// preparer prepares pushes until the server closes.
func (s *Server) preparer() {
	defer s.wg.Done()
	for {
		select {
		case <-s.done:
			return
		case r := <-s.prep:
			r.prepared = protocol.Prepare(r.raw, r.hint)
			r.raw = nil // the prepared change set holds what the writer needs
			close(r.ready)
		}
	}
}

// awaitPrepared waits until every push of batch is prepared; false if the
// server closes first.
func (s *Server) awaitPrepared(batch []*pushReq) bool {
	for _, r := range batch {
		select {
		case <-r.ready:
		case <-s.done:
			return false
		}
	}
	return true
}

// deviceInfo is what a preparer checks a device's pushes against: its
// record as read when its session opened or its file arrived. The writer
// checks again whatever a later record changed (protocol.VerifyPrepared).
func deviceInfo(rec store.DeviceRecord) *protocol.DeviceInfo {
	info := rec.Info()
	return &info
}
