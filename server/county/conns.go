package county

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
)

// Connections that have not authenticated. Anyone who reaches the port can
// open connections and leave them idle; every one holds a file descriptor,
// and once the process runs out of them no device, admin or health check
// can connect. So each address (an IPv4 address, an IPv6 /64) may hold
// only MaxUnauthPerAddr connections until they authenticate: a device's or
// municipal node's hello checked, or an admin credential. A connection
// over the cap is closed as soon as it is accepted, before its TLS
// handshake; one that authenticates no longer counts. Enrolment requests
// and status polls never authenticate: they count until their connection
// closes (IdleTimeout after the last request at the latest).

// maxHeaderBytes bounds a request's header (net/http's default is 1 MiB).
const maxHeaderBytes = 64 << 10

// connGuard counts unauthenticated connections by address.
type connGuard struct {
	perAddr int
	refused atomic.Uint64

	mu     sync.Mutex
	unauth map[netip.Prefix]int
}

func newConnGuard(perAddr int) *connGuard {
	return &connGuard{perAddr: perAddr, unauth: make(map[netip.Prefix]int)}
}

// take counts a new connection from k, unless k is at the cap.
func (g *connGuard) take(k netip.Prefix) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.unauth[k] >= g.perAddr {
		return false
	}
	g.unauth[k]++
	return true
}

func (g *connGuard) release(k netip.Prefix) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.unauth[k]--; g.unauth[k] <= 0 {
		delete(g.unauth, k)
	}
}

// Unauthenticated returns how many connections from the address of
// remote (host:port) count as not authenticated now, and how many
// connections were closed at accept because their address was at the cap.
func (s *Server) Unauthenticated(remote string) (open int, refused uint64) {
	g := s.conns
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.unauth[addrKey(remote)], g.refused.Load()
}

// listener wraps ln so that it counts the connections it accepts.
func (g *connGuard) listener(ln net.Listener, log *slog.Logger) net.Listener {
	return &guardedListener{Listener: ln, g: g, log: log}
}

type guardedListener struct {
	net.Listener
	g   *connGuard
	log *slog.Logger
}

func (l *guardedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		k := addrKey(c.RemoteAddr().String())
		if l.g.take(k) {
			return &guardedConn{Conn: c, g: l.g, key: k}, nil
		}
		// Over the cap: closed before anything is read from it. Logged
		// once per 1024, so a flood does not flood the log either.
		if n := l.g.refused.Add(1); n%1024 == 1 {
			l.log.Warn("too many unauthenticated connections from one address: closing new ones", "remote", addrString(k),
				"cap", l.g.perAddr, "closed", n)
		}
		c.Close()
	}
}

// guardedConn is a connection that counts against its address until it
// authenticates or closes.
type guardedConn struct {
	net.Conn
	g    *connGuard
	key  netip.Prefix
	once sync.Once
}

func (c *guardedConn) done() { c.once.Do(func() { c.g.release(c.key) }) }

func (c *guardedConn) Close() error {
	c.done()
	return c.Conn.Close()
}

type connCtxKey struct{}

// withConn is the http.Server's ConnContext: it keeps the connection, so
// that a request that authenticates can say so.
func withConn(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if gc, ok := c.(*guardedConn); ok {
		return context.WithValue(ctx, connCtxKey{}, gc)
	}
	return ctx
}

// authenticated stops counting the request's connection against its
// address: it proved who it is.
func authenticated(r *http.Request) { guardOf(r).authenticated() }

// guardOf returns the guarded connection r came on, nil if none: a session
// that outlives its handler keeps only this of the request.
func guardOf(r *http.Request) *guardedConn {
	gc, _ := r.Context().Value(connCtxKey{}).(*guardedConn)
	return gc
}

// authenticated stops counting c against its address; c may be nil.
func (c *guardedConn) authenticated() {
	if c != nil {
		c.done()
	}
}
