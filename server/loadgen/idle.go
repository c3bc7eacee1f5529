package loadgen

import (
	"context"
	"time"
)

// IdleSet is a set of devices connected and idle, from Idle.
type IdleSet struct {
	links []*link
	// Connect is how long connecting and authenticating them took.
	Connect time.Duration
	// BytesSent and BytesReceived crossed their TCP connections while
	// connecting, TLS handshakes included.
	BytesSent, BytesReceived int64
}

// Idle connects devices 1..n (enrolling those not enrolled yet), completes
// each handshake and keeps the sessions open and idle, answering the
// server's pings, until Close. With Run's devices among them, their
// sessions start where Run left them.
func (lg *Loadgen) Idle(ctx context.Context, n int) (*IdleSet, error) {
	if err := lg.EnrolDevices(ctx, n); err != nil {
		return nil, err
	}
	devs := lg.devices[:n]
	sent0, recv0 := lg.sent.Load(), lg.recv.Load()
	start := time.Now()
	links, err := lg.connectAll(ctx, devs, idleBuffer)
	if err != nil {
		return nil, err
	}
	s := &IdleSet{links: links, Connect: time.Since(start),
		BytesSent: lg.sent.Load() - sent0, BytesReceived: lg.recv.Load() - recv0}
	lg.cfg.Logger.Info("devices connected idle", "devices", n, "took", s.Connect)
	return s, nil
}

// Len returns how many devices the set connected.
func (s *IdleSet) Len() int { return len(s.links) }

// Alive returns how many of its sessions are still open.
func (s *IdleSet) Alive() int {
	n := 0
	for _, l := range s.links {
		select {
		case <-l.done:
		default:
			n++
		}
	}
	return n
}

// Close ends every session, as devices that go offline do.
func (s *IdleSet) Close() {
	_ = parallel(context.Background(), len(s.links), 64, func(i int) error {
		s.links[i].close()
		return nil
	})
}
