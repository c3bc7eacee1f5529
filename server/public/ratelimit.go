package public

import (
	"container/list"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Defaults of the abuse limits (Config).
const (
	DefaultIntakePerHour        = 5
	DefaultIntakePerDay         = 20
	DefaultFormPostsPerHour     = 30
	DefaultTrackFailuresPerHour = 10
	DefaultRateTableSize        = 65536
)

// window counts events in a fixed window: cheap and bounded, at the price
// of allowing up to twice the limit across a window's edge.
type window struct {
	start time.Time
	n     int
}

// count returns the events in the window of length d that holds now.
func (w *window) count(now time.Time, d time.Duration) int {
	if now.Sub(w.start) >= d || now.Before(w.start) {
		return 0
	}
	return w.n
}

func (w *window) add(now time.Time, d time.Duration) {
	if now.Sub(w.start) >= d || now.Before(w.start) {
		w.start, w.n = now, 0
	}
	w.n++
}

// addrState is what the limits remember of one address.
type addrState struct {
	key      string
	filings  []time.Time // accepted filings of the last day, oldest first (at most the daily limit)
	posts    window      // form submissions this hour
	failures window      // wrong tracking codes this hour
}

// limiter keeps per-address counts in a table of bounded size: the least
// recently seen address is forgotten first, so a flood from many addresses
// costs memory only up to the bound (and at worst lets a forgotten address
// start again).
type limiter struct {
	perHour, perDay, postsPerHour, failuresPerHour int

	mu    sync.Mutex
	size  int
	lru   *list.List // of *addrState, most recent at the front
	addrs map[string]*list.Element
}

func newLimiter(cfg *Config) *limiter {
	orDefault := func(v, d int) int {
		if v <= 0 {
			return d
		}
		return v
	}
	return &limiter{
		perHour:         orDefault(cfg.IntakePerHour, DefaultIntakePerHour),
		perDay:          orDefault(cfg.IntakePerDay, DefaultIntakePerDay),
		postsPerHour:    orDefault(cfg.FormPostsPerHour, DefaultFormPostsPerHour),
		failuresPerHour: orDefault(cfg.TrackFailuresPerHour, DefaultTrackFailuresPerHour),
		size:            orDefault(cfg.RateTableSize, DefaultRateTableSize),
		lru:             list.New(),
		addrs:           map[string]*list.Element{},
	}
}

// state returns the address's entry, made and moved to the front. The
// caller holds mu.
func (l *limiter) state(addr string) *addrState {
	if e, ok := l.addrs[addr]; ok {
		l.lru.MoveToFront(e)
		return e.Value.(*addrState)
	}
	for l.lru.Len() >= l.size {
		old := l.lru.Back()
		l.lru.Remove(old)
		delete(l.addrs, old.Value.(*addrState).key)
	}
	st := &addrState{key: addr}
	l.addrs[addr] = l.lru.PushFront(st)
	return st
}

// post counts one form submission from addr and reports whether it may be
// handled: under the submission limit, and under both filing limits.
func (l *limiter) post(addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.state(addr)
	if st.posts.count(now, time.Hour) >= l.postsPerHour {
		return false
	}
	st.posts.add(now, time.Hour)
	// Drop filings older than a day.
	i := 0
	for i < len(st.filings) && now.Sub(st.filings[i]) >= 24*time.Hour {
		i++
	}
	st.filings = st.filings[i:]
	lastHour := 0
	for _, t := range st.filings {
		if now.Sub(t) < time.Hour {
			lastHour++
		}
	}
	return lastHour < l.perHour && len(st.filings) < l.perDay
}

// filed counts a filing accepted from addr.
func (l *limiter) filed(addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.state(addr)
	st.filings = append(st.filings, now)
	if len(st.filings) > l.perDay {
		st.filings = st.filings[len(st.filings)-l.perDay:]
	}
}

// trackAllowed reports whether addr may still look cases up this hour.
func (l *limiter) trackAllowed(addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state(addr).failures.count(now, time.Hour) < l.failuresPerHour
}

// trackFailed counts a wrong number or code from addr.
func (l *limiter) trackFailed(addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state(addr).failures.add(now, time.Hour)
}

// clientAddr returns the key the limits count a request under: the
// client's IP address (from the trusted proxy header when one is
// configured and present), an IPv6 address reduced to its /64, since one
// subscriber holds a whole /64.
func clientAddr(r *http.Request, proxyHeader string) string {
	var ip netip.Addr
	if proxyHeader != "" {
		if vs := r.Header.Values(proxyHeader); len(vs) > 0 {
			last := vs[len(vs)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			ip = parseIP(strings.TrimSpace(last))
		}
	}
	if !ip.IsValid() {
		ip = parseIP(r.RemoteAddr)
	}
	if !ip.IsValid() {
		return r.RemoteAddr // not an IP address (a test, a Unix socket): count it as it is
	}
	ip = ip.Unmap()
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.String()
}

// parseIP reads "1.2.3.4", "1.2.3.4:5678", "[::1]:80" or "::1".
func parseIP(s string) netip.Addr {
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return ip.WithZone("")
}
