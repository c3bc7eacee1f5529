package municipal_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"jiannuo/server/municipal"
)

// Hostile clients against the municipal node's public routes: idle and
// slow connections are closed, and a crowd of requests cannot make more
// public answers at once than PublicConcurrency (the rest wait in a short
// line or get 503), so the pulls from the counties keep their CPU. Raw
// HTTP/1.1 over TCP where the attack needs it; a read deadline is only a
// safety net.

const hostileWait = 20 * time.Second

// waitClosed reads until the node closes c; the safety net expiring
// first fails the test.
func waitClosed(t *testing.T, c net.Conn, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(hostileWait))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: the node kept the connection open", what)
	}
}

// TestHostileMunicipalSlowAndIdle: a keep-alive connection left idle and
// a request whose body never comes are closed after the (shortened)
// timeouts, on the public and the operators' routes.
func TestHostileMunicipalSlowAndIdle(t *testing.T) {
	m := newMunicipal(t, "市信用平台", newCounty(t, "410324"))
	m.edit = func(c *municipal.Config) { c.ReadTimeout, c.IdleTimeout = 500*time.Millisecond, 300*time.Millisecond }
	m.start()
	for _, addr := range []string{m.n.HTTPAddr(), m.n.OpsAddr()} {
		c, err := net.DialTimeout("tcp", addr, hostileWait)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(hostileWait))
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: node\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("healthz at %s: %v %v", addr, resp, err)
		}
		resp.Body.Close()
		waitClosed(t, c, "an idle keep-alive connection to "+addr)

		slow, err := net.DialTimeout("tcp", addr, hostileWait)
		if err != nil {
			t.Fatal(err)
		}
		defer slow.Close()
		fmt.Fprintf(slow, "POST /pull HTTP/1.1\r\nHost: node\r\nContent-Length: 8000\r\n\r\n0123456789")
		waitClosed(t, slow, "a request to "+addr+" whose body never comes")
	}
}

// TestHostileMunicipalPublicConcurrency: with PublicConcurrency 1 and
// PublicQueue 1, while one public answer is being made, of four more
// requests one waits and three are answered 503 with Retry-After at once
// (counted in the node's status); evidence files are served beside them.
func TestHostileMunicipalPublicConcurrency(t *testing.T) {
	entered, release := make(chan struct{}, 8), make(chan struct{})
	m := newMunicipal(t, "市信用平台", newCounty(t, "410324"))
	m.edit = func(c *municipal.Config) {
		c.PublicConcurrency, c.PublicQueue = 1, 1
		c.Public = func(*municipal.Node) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/evidence/") {
					w.Write([]byte("evidence"))
					return
				}
				entered <- struct{}{}
				<-release
				w.Write([]byte("page"))
			})
		}
	}
	m.start()
	base := "http://" + m.n.HTTPAddr()
	hc := &http.Client{Timeout: hostileWait}
	get := func(path string) (int, string) {
		resp, err := hc.Get(base + path)
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	var wg sync.WaitGroup
	codes := make(chan int, 5)
	wg.Go(func() { c, _ := get("/"); codes <- c })
	<-entered // the one slot is taken
	for range 4 {
		wg.Go(func() { c, _ := get("/?q=" + fmt.Sprint(time.Now().UnixNano())); codes <- c })
	}
	busy := 0
	for busy < 3 {
		if c := <-codes; c != http.StatusServiceUnavailable {
			t.Fatalf("while the slot and the line are taken: %d", c)
		}
		busy++
	}
	if c, _ := get("/evidence/00"); c != http.StatusOK {
		t.Fatalf("evidence while the public slot is taken: %d", c)
	}
	close(release)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusOK {
			t.Fatalf("after the release: %d", c)
		}
	}
	if s := m.n.Status(); s.PublicBusy != 3 {
		t.Fatalf("status counts %d refused public requests, want 3", s.PublicBusy)
	}
}
