package county_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	bolt "go.etcd.io/bbolt"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/server/county"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// Hostile clients: what anyone who reaches the county server's port can do
// without a credential — floods of wrong admin passwords, oversized names,
// refused hellos, idle and slow connections, fake enrolments — and that
// the server holds. The attacks speak raw TCP, TLS and HTTP/1.1 (and
// gorilla's websocket for hellos), not the project's clients, so they send
// what those never would. Bounds are on counts and sizes the server
// controls (argon2id runs in flight, records, bytes, write transactions),
// never on wall time; a read deadline is only a safety net against a hang.

// hostileWait is the safety net for an answer that never comes.
const hostileWait = 20 * time.Second

// from returns a dialer whose connections come from the loopback address
// ip (127.0.0.0/8 is all loopback on Linux), so one test plays many
// clients.
func from(ip string) *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: hostileWait}
}

// rawTLS opens a TLS connection from ip, trusting whatever certificate
// the server shows (an attacker does not care).
func (h *harness) rawTLS(t testing.TB, ip string) *tls.Conn {
	t.Helper()
	c, err := tls.DialWithDialer(from(ip), "tcp", h.addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS from %s: %v", ip, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// rawHTTP is one HTTP/1.1 connection spoken by hand.
type rawHTTP struct {
	t  testing.TB
	c  net.Conn
	br *bufio.Reader
}

func (h *harness) rawHTTPFrom(t testing.TB, ip string) *rawHTTP {
	c := h.rawTLS(t, ip)
	return &rawHTTP{t: t, c: c, br: bufio.NewReader(c)}
}

// do sends a request with the header lines given and reads the answer.
func (rh *rawHTTP) do(method, path string, body []byte, header ...string) (*http.Response, []byte) {
	rh.t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: county\r\n", method, path)
	for _, l := range header {
		b.WriteString(l + "\r\n")
	}
	if body != nil {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.Write(body)
	rh.c.SetDeadline(time.Now().Add(hostileWait))
	if _, err := rh.c.Write(b.Bytes()); err != nil {
		rh.t.Fatalf("%s %s: %v", method, path, err)
	}
	resp, err := http.ReadResponse(rh.br, nil)
	if err != nil {
		rh.t.Fatalf("%s %s: %v", method, path, err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		rh.t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	return resp, raw
}

func basicAuth(name, pass string) string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(name+":"+pass))
}

// wantCode checks an answer's status and stable code.
func wantHTTPCode(t testing.TB, resp *http.Response, body []byte, status int, code protocol.Code) {
	t.Helper()
	var e countyapi.ErrorBody
	json.Unmarshal(body, &e)
	if resp.StatusCode != status || e.Code != code {
		t.Fatalf("answer %s %s, want %d %s", resp.Status, body, status, code)
	}
}

// retryAfter is the answer's Retry-After in seconds; it must be there.
func retryAfter(t testing.TB, resp *http.Response) int {
	t.Helper()
	n, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || n < 1 {
		t.Fatalf("%s without a Retry-After of at least 1s: %q", resp.Status, resp.Header.Get("Retry-After"))
	}
	return n
}

// waitClosed reads until the server closes c and fails if the safety net
// expires first: the server, not the test, must end the connection.
func waitClosed(t testing.TB, c net.Conn, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(hostileWait))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: the server kept the connection open", what)
	}
}

// dbSize is the size of the county's database file.
func (h *harness) dbSize(t testing.TB) int64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(h.dir, "county.db"))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// writeTx is the ID of the last committed write transaction of the
// county's database: it counts disk writes.
func (h *harness) writeTx(t testing.TB) int {
	t.Helper()
	var id int
	if err := h.srv.Store().View(func(tx *bolt.Tx) error { id = tx.ID(); return nil }); err != nil {
		t.Fatal(err)
	}
	return id
}

// timesOf sums how often the incidents with code happened.
func timesOf(in []countyapi.Incident, code protocol.Code) (records, times int) {
	for _, i := range in {
		if i.Code == code {
			records++
			times += i.Times()
		}
	}
	return records, times
}

// TestHostilePasswordFlood: 60 wrong admin passwords at once, from 60
// addresses, for an admin with a 16 MiB argon2id hash and for unknown
// names. Unbounded, that is 60 argon2id runs of 16 MiB at once (960 MiB;
// 3.8 GiB at the default 64 MiB). With PasswordMemory at 32 MiB at most two
// run at once; the rest wait in line or are refused busy (503,
// Retry-After); every request either ran or was refused so; an unknown
// name runs argon2id as a known one does; and the heap grows by less than
// 160 MiB.
func TestHostilePasswordFlood(t *testing.T) {
	const (
		attackers = 60
		kdfMiB    = 16
		budget    = 32 << 20
		k         = budget / (kdfMiB << 20)
		heapBound = 160 << 20
	)
	kdf := auth.Params{Time: 1, MemoryKiB: kdfMiB << 10, Threads: 1}
	h := newHarnessWith(t, func(c *county.Config) {
		c.KDF = kdf
		c.PasswordMemory = budget
		c.PasswordWait = time.Minute // the line is bounded by its length, not by time, here
	})
	if err := county.AddAdminForTest(h.srv, "lisi", "李四的口令-正确"); err != nil {
		t.Fatal(err)
	}
	// One check of an unknown name and one of a known one before the
	// flood: both run argon2id once (the dummy hash is made lazily, once).
	for i, name := range []string{"no-such-admin", "lisi"} {
		rh := h.rawHTTPFrom(t, "127.0.0.1")
		resp, body := rh.do("GET", "/admin/devices", nil, basicAuth(name, "wrong"))
		wantHTTPCode(t, resp, body, http.StatusUnauthorized, protocol.CodeNotAuthorized)
		if st := h.srv.PasswordStats(); st.Runs != uint64(i+1) {
			t.Fatalf("after checking %q: %d argon2id runs, want %d", name, st.Runs, i+1)
		}
	}

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	conns := make([]*rawHTTP, attackers)
	for i := range conns {
		conns[i] = h.rawHTTPFrom(t, fmt.Sprintf("127.0.1.%d", i+1))
	}
	var status [600]atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, rh := range conns {
		name := "lisi"
		if i%3 != 0 {
			name = "guess-" + rand.Text() // unknown names
		}
		wg.Go(func() {
			<-start
			resp, body := rh.do("GET", "/admin/devices", nil, basicAuth(name, "guess-"+strconv.Itoa(i)))
			switch resp.StatusCode {
			case http.StatusUnauthorized:
				wantHTTPCode(t, resp, body, http.StatusUnauthorized, protocol.CodeNotAuthorized)
			case http.StatusServiceUnavailable, http.StatusTooManyRequests:
				wantHTTPCode(t, resp, body, resp.StatusCode, protocol.CodeBusy)
				retryAfter(t, resp)
			default:
				t.Errorf("a wrong password answered %s %s", resp.Status, body)
			}
			status[resp.StatusCode].Add(1)
		})
	}
	close(start)
	wg.Wait()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)

	st := h.srv.PasswordStats()
	t.Logf("%d wrong passwords at once: %d argon2id runs (at most %d at once), %d busy, %d held back; heap obtained %d → %d MiB",
		attackers, st.Runs-2, st.Peak, st.Busy, st.Backoff, before.HeapSys>>20, after.HeapSys>>20)
	if st.Peak > k || st.Peak < 1 || st.InFlight != 0 {
		t.Errorf("argon2id runs at once: peak %d, now %d; the memory budget allows %d", st.Peak, st.InFlight, k)
	}
	if got := st.Runs - 2 + st.Busy + st.Backoff; got != attackers {
		t.Errorf("runs %d + busy %d + held back %d = %d, want one per request (%d)", st.Runs-2, st.Busy, st.Backoff, got, attackers)
	}
	if int(status[401].Load()) != int(st.Runs-2) || int(status[503].Load()) != int(st.Busy) || int(status[429].Load()) != int(st.Backoff) {
		t.Errorf("answers 401/503/429: %d/%d/%d; checks run/busy/held back: %d/%d/%d", status[401].Load(), status[503].Load(),
			status[429].Load(), st.Runs-2, st.Busy, st.Backoff)
	}
	if grew := int64(after.HeapSys) - int64(before.HeapSys); grew > heapBound {
		t.Errorf("the heap grew by %d MiB under the flood, bound %d MiB", grew>>20, heapBound>>20)
	}
	// The real admin still gets in once the flood is over.
	rh := h.rawHTTPFrom(t, "127.0.0.1")
	if resp, body := rh.do("GET", "/admin/devices", nil, basicAuth("admin", adminPass)); resp.StatusCode != http.StatusOK {
		t.Fatalf("the admin after the flood: %s %s", resp.Status, body)
	}
}

// TestHostileBackoff: after five wrong passwords a name and an address
// wait 1s, 2s, 4s … (up to 5 minutes) before their next check, and a
// request in that time is refused busy (429, Retry-After) without running
// argon2id; the right password waits too. The recovery credential made at
// init is never held back by its name — guessing it from many addresses
// does not lock the county out — only by the guesser's address.
func TestHostileBackoff(t *testing.T) {
	clk := &testClock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	h := newHarnessWith(t, func(c *county.Config) { c.Now = clk.Now })
	if err := county.AddAdminForTest(h.srv, "lisi", "李四的口令-正确"); err != nil {
		t.Fatal(err)
	}
	rh := h.rawHTTPFrom(t, "127.0.0.1")
	try := func(rh *rawHTTP, name, pass string) *http.Response {
		resp, _ := rh.do("GET", "/admin/devices", nil, basicAuth(name, pass))
		return resp
	}
	runs := func() uint64 { return h.srv.PasswordStats().Runs }

	for i := range 5 {
		if resp := try(rh, "lisi", "wrong"); resp.StatusCode != http.StatusUnauthorized || runs() != uint64(i+1) {
			t.Fatalf("wrong password %d: %s, %d runs", i+1, resp.Status, runs())
		}
	}
	// The sixth failure holds the name and the address back: 1s, then
	// each further failure doubles it.
	var waits []int
	for want := 1; want <= 16; want *= 2 {
		if resp := try(rh, "lisi", "wrong"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a check after the wait: %s", resp.Status)
		}
		n := runs()
		for range 3 { // however often it asks meanwhile: refused, nothing run
			resp := try(rh, "lisi", "李四的口令-正确")
			if resp.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("during the backoff: %s", resp.Status)
			}
			if got := retryAfter(t, resp); got != want {
				t.Fatalf("Retry-After %d, want %d", got, want)
			}
		}
		if runs() != n {
			t.Fatalf("argon2id ran during the backoff (%d → %d)", n, runs())
		}
		// Another address is held back too: the name is.
		if resp := try(h.rawHTTPFrom(t, "127.0.2.1"), "lisi", "李四的口令-正确"); resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("the name from another address during the backoff: %s", resp.Status)
		}
		waits = append(waits, want)
		clk.advance(time.Duration(want) * time.Second)
	}
	t.Logf("waits after failures 6…10: %v s", waits)
	if resp := try(rh, "lisi", "李四的口令-正确"); resp.StatusCode != http.StatusOK {
		t.Fatalf("the right password after the wait: %s", resp.Status)
	}

	// The recovery credential "admin": 60 wrong guesses from 20 addresses
	// (three each, under the address's free failures) and it still gets
	// in at once, from a fresh address.
	for i := range 20 {
		g := h.rawHTTPFrom(t, fmt.Sprintf("127.0.3.%d", i+1))
		for range 3 {
			if resp := try(g, "admin", "guess"); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("guessing the recovery credential: %s", resp.Status)
			}
		}
	}
	if resp := try(h.rawHTTPFrom(t, "127.0.4.1"), "admin", adminPass); resp.StatusCode != http.StatusOK {
		t.Fatalf("the recovery credential after 60 guesses: %s", resp.Status)
	}
	// …but one guesser's address is held back, for it too.
	g := h.rawHTTPFrom(t, "127.0.5.1")
	for range 5 {
		try(g, "admin", "guess")
	}
	try(g, "admin", "guess")
	if resp := try(g, "admin", adminPass); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the guesser's address: %s", resp.Status)
	}
}

// TestHostileOversizedNames: 1,000 admin requests with a random 40 KiB
// user name each, from one client. Before, each name was copied whole
// into an incident and the log (county.db grew ~25 MB/s). Now the
// incidents are counted (a handful of records), every string is cut, and
// county.db grows by less than 1 MiB, the log by less than 1 KiB a
// request. A 700 KiB name does not even get past the header limit.
func TestHostileOversizedNames(t *testing.T) {
	const (
		requests = 1000
		nameSize = 40 << 10
		dbBound  = 1 << 20
	)
	var logged atomic.Int64
	h := newHarnessWith(t, func(c *county.Config) {
		c.Logger = slog.New(slog.NewTextHandler(countingWriter{&logged}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	rh := h.rawHTTPFrom(t, "127.0.0.1")
	// Written once, so that the file's growth below is the flood's.
	rh.do("GET", "/admin/devices", nil, basicAuth("warm-up", "x"))
	h.srv.Incidents()
	size0, logged0 := h.dbSize(t), logged.Load()

	for i := range requests {
		name := strings.Repeat(string(rune('a'+i%26)), nameSize-30) + rand.Text()
		resp, body := rh.do("GET", "/admin/devices", nil, basicAuth(name, "x"))
		if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("request %d: %s %s", i, resp.Status, body)
		}
	}
	in, err := h.srv.Incidents()
	if err != nil {
		t.Fatal(err)
	}
	grew, log := h.dbSize(t)-size0, logged.Load()-logged0
	recs, times := 0, 0
	for _, i := range in {
		recs++
		times += i.Times()
		if len(i.Message) > 600 || len(i.Remote) > 80 {
			t.Fatalf("incident keeps %d bytes of message, %d of address", len(i.Message), len(i.Remote))
		}
	}
	t.Logf("%d requests with %d KiB names: county.db +%d KiB, %d incident records counting %d, log +%d KiB",
		requests, nameSize>>10, grew>>10, recs, times, log>>10)
	if times != requests+1 || recs > 12 {
		t.Errorf("%d incident records counting %d refusals, want a handful counting %d", recs, times, requests+1)
	}
	if grew > dbBound {
		t.Errorf("county.db grew by %d KiB, bound %d KiB", grew>>10, dbBound>>10)
	}
	if log > requests<<10 {
		t.Errorf("the log grew by %d KiB for %d requests", log>>10, requests)
	}

	// 700 KiB in one header: refused by net/http before any handler (it
	// may close the connection before the client has sent it all).
	big := h.rawTLS(t, "127.0.0.2")
	go fmt.Fprintf(big, "GET /admin/devices HTTP/1.1\r\nHost: county\r\n%s\r\n\r\n", basicAuth(strings.Repeat("n", 700<<10), "x"))
	big.SetReadDeadline(time.Now().Add(hostileWait))
	if resp, err := http.ReadResponse(bufio.NewReader(big), nil); err == nil && resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("a 700 KiB header: %s", resp.Status)
	}
	if after, _ := h.srv.Incidents(); len(after) != len(in) {
		t.Fatalf("a 700 KiB header reached the admin API: %d incidents, were %d", len(after), len(in))
	}
}

type countingWriter struct{ n *atomic.Int64 }

func (w countingWriter) Write(p []byte) (int, error) { w.n.Add(int64(len(p))); return len(p), nil }

// TestHostileRefusedHellos: 100 hellos of unknown devices, each on its own
// connection. Before, each was a write transaction (its incident). Now
// they are counted: a few records, written once each (counts in one
// flush), and each refusal is an error frame followed by a websocket close
// frame (1008), not a bare TCP close.
func TestHostileRefusedHellos(t *testing.T) {
	const hellos = 100
	h := newHarnessWith(t, func(c *county.Config) { c.IncidentFlush = time.Hour })
	tx0 := h.writeTx(t)
	for i := range hellos {
		d := newRawDevice(t, townA)
		rc := h.dialRaw(t)
		rc.hello(d, protocol.ProtocolVersion, rc.sign(d))
		if f := rc.await(protocol.FrameError); f.Code != protocol.CodeUnknownDevice {
			t.Fatalf("hello %d: %s", i, f.Code)
		}
		_, _, err := rc.c.ReadMessage()
		wantCloseCode(t, err, websocket.ClosePolicyViolation)
		rc.c.Close()
	}
	in, err := h.srv.Incidents()
	if err != nil {
		t.Fatal(err)
	}
	writes := h.writeTx(t) - tx0
	recs, times := timesOf(in, protocol.CodeUnknownDevice)
	t.Logf("%d refused hellos: %d write transactions, %d incident records counting %d", hellos, writes, recs, times)
	if times != hellos || recs > 5 {
		t.Errorf("%d records counting %d, want at most 5 counting %d", recs, times, hellos)
	}
	if writes > recs+1 {
		t.Errorf("%d write transactions for %d refused hellos (%d records)", writes, hellos, recs)
	}
}

// TestHostileSlowAndIdle: with shortened timeouts, a connection that never
// starts TLS, a keep-alive connection left idle, a request whose body
// never comes and a websocket that never says hello are all closed by the
// server; afterwards none counts against the address.
func TestHostileSlowAndIdle(t *testing.T) {
	h := newHarnessWith(t, func(c *county.Config) {
		c.HandshakeTimeout, c.ReadTimeout, c.IdleTimeout = 300*time.Millisecond, 500*time.Millisecond, 300*time.Millisecond
	})
	const ip = "127.0.6.1"
	// Connected, nothing sent.
	tcp, err := from(ip).Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	waitClosed(t, tcp, "a connection without TLS handshake")

	// Idle keep-alive after one request.
	rh := h.rawHTTPFrom(t, ip)
	if resp, _ := rh.do("GET", "/healthz", nil); resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("healthz: %s (close %v)", resp.Status, resp.Close)
	}
	waitClosed(t, rh.c, "an idle keep-alive connection")

	// A body announced and never sent.
	slow := h.rawTLS(t, ip)
	fmt.Fprintf(slow, "POST /enrol HTTP/1.1\r\nHost: county\r\nContent-Length: 8000\r\n\r\n0123456789")
	waitClosed(t, slow, "a request whose body never comes")

	// A websocket that never says hello.
	rc := h.dialRaw(t)
	rc.c.SetReadDeadline(time.Now().Add(hostileWait))
	if _, _, err := rc.c.ReadMessage(); err == nil {
		t.Fatal("a session without hello got a frame")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("a session without hello was kept open")
	}

	if n, _ := h.srv.Unauthenticated(ip + ":1"); n != 0 {
		t.Fatalf("%d connections still count against %s", n, ip)
	}
}

// TestHostileUnauthenticatedCap: one address holds MaxUnauthPerAddr idle
// connections; the next is closed as soon as it is accepted, and a real
// device from another address still enrols and syncs meanwhile.
func TestHostileUnauthenticatedCap(t *testing.T) {
	const capped = 8
	h := newHarnessWith(t, func(c *county.Config) { c.MaxUnauthPerAddr = capped })
	const ip = "127.0.7.1"
	for range capped {
		c, err := from(ip).Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	over, err := from(ip).Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer over.Close()
	waitClosed(t, over, "a connection over the cap") // accepted in order: the cap's are held
	if n, refused := h.srv.Unauthenticated(ip + ":1"); n != capped || refused < 1 {
		t.Fatalf("%d held, %d refused; want %d held", n, refused, capped)
	}
	d := h.device(townA, domain.RoleStaff)
	d.create("攻击期间的承诺")
	d.sync()
	if n, _ := h.srv.Unauthenticated(ip + ":1"); n != capped {
		t.Fatalf("%d connections of %s count after the sync, want %d", n, ip, capped)
	}
}

// TestHostileFileLimit: the finding as measured. The server runs in a
// child process whose open-file limit is 256. From one address, 2,000
// connections each do a TLS handshake and one request and are then held
// idle; at most MaxUnauthPerAddr (64 by default) of them get that far, the
// rest are closed at once. A real device from another address then enrols and
// syncs, and /healthz answers. Before, every one of them was kept (no idle
// timeout), they took every file descriptor, and nothing could connect.
func TestHostileFileLimit(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("the parent runs this")
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	const held = 2000
	dir := t.TempDir()
	if _, err := county.Init(dir, county.InitConfig{County: countyCode, AdminName: "admin", AdminPassword: adminPass,
		KDF: auth.TestParams(), Logger: quiet()}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHostileChildServer$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close() // the child stops when its standard input ends
		if err := cmd.Wait(); err != nil {
			t.Errorf("child server: %v", err)
		}
	}()
	sc := bufio.NewScanner(out)
	var addr string
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
			addr = a
			break
		}
	}
	if addr == "" {
		t.Fatal("the child server did not start")
	}
	go io.Copy(io.Discard, out)

	conns := make([]net.Conn, 0, held)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	served := 0
	for i := range held {
		raw, err := from("127.0.8.1").Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, raw)
		raw.SetDeadline(time.Now().Add(hostileWait))
		c := tls.Client(raw, &tls.Config{InsecureSkipVerify: true})
		err = c.Handshake()
		if err == nil {
			_, err = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: county\r\n\r\n")
		}
		if err == nil {
			var resp *http.Response
			if resp, err = http.ReadResponse(bufio.NewReader(c), nil); err == nil {
				resp.Body.Close()
				served++
				continue // held, idle
			}
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the server stopped answering after %d connections (%d served): %v", i, served, err)
		}
	}
	t.Logf("%d connections: %d served and held idle, %d closed at once", held, served, held-served)
	if capped := county.DefaultConfig("").MaxUnauthPerAddr; served > capped {
		t.Fatalf("%d connections from one address served, the cap is %d", served, capped)
	}

	fp, err := county.FingerprintOf(dir)
	if err != nil {
		t.Fatal(err)
	}
	base := engine.Server{BaseURL: "https://" + addr, Fingerprint: fp}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: protocol.PinnedTLSConfig(fp)}, Timeout: hostileWait}
	resp, err := hc.Get(base.BaseURL + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz with %d connections held: %v %v", held, resp, err)
	}
	resp.Body.Close()
	d := enrolThroughAPI(t, base)
	d.create("连接耗尽攻击期间的承诺")
	d.sync()
}

const childEnv = "JIANNUO_HOSTILE_CHILD_DIR"

// TestHostileChildServer is the child of TestHostileFileLimit: a county
// server over the directory it is given, with at most 256 open files,
// until its standard input ends.
func TestHostileChildServer(t *testing.T) {
	dir := os.Getenv(childEnv)
	if dir == "" {
		t.Skip("run by TestHostileFileLimit")
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: 256, Max: 256}); err != nil {
		t.Fatal(err)
	}
	cfg := county.DefaultConfig(dir)
	cfg.KDF, cfg.Logger = auth.TestParams(), quiet()
	srv, err := county.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	fmt.Printf("listening %s\n", ln.Addr())
	io.Copy(io.Discard, os.Stdin)
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}

// enrolThroughAPI sets up a device, asks for its enrolment, approves it
// with the admin API and returns it ready to sync.
func enrolThroughAPI(t *testing.T, base engine.Server) *device {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "device.db"), &store.Options{KDF: auth.TestParams(), Logger: quiet(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	se, err := st.Setup(store.SetupConfig{Office: townA, DeviceName: "终端-攻击中", Name: "user", DisplayName: "工作人员",
		Role: domain.RoleStaff, Passphrase: devPass})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := engine.RequestEnrolment(ctx, base, se); err != nil {
		t.Fatal(err)
	}
	cfg := countyapi.DefaultConfig(base.BaseURL, base.Fingerprint)
	cfg.Admin, cfg.Password = "admin", adminPass
	if _, err := countyapi.New(cfg).Approve(ctx, se.Device().ID, countyapi.ApproveRequest{}); err != nil {
		t.Fatal(err)
	}
	en, err := engine.EnrolmentStatus(ctx, base, se)
	if err != nil || en.Certificate == nil {
		t.Fatalf("enrolment after approval: %+v %v", en, err)
	}
	return &device{t: t, st: st, se: se, receipted: make(chan uint64, 1),
		eng: engine.New(se, engine.Config{URL: base.SyncURL(), Fingerprint: base.Fingerprint, CountyKey: en.CountyKey,
			Logger: quiet(), MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})}
}

// TestHostilePendingEnrolments: anyone can make keys and sign enrolment
// requests, so the requests waiting for an admin are capped per office and
// in all; beyond, too_many_pending (429), recorded, and nothing stored.
// Asking again for a pending request is not refused, and a decision makes
// room.
func TestHostilePendingEnrolments(t *testing.T) {
	h := newHarnessWith(t, func(c *county.Config) { c.MaxPendingPerOffice, c.MaxPending = 2, 3 })
	enrol := func(d *rawDevice) (*http.Response, []byte) {
		req := protocol.EnrolRequest{Key: d.pub, Office: d.office, DeviceName: "伪造终端", Staff: "某人", Time: time.Now().UnixMilli()}
		return h.rawHTTPFrom(t, "127.0.9.1").do("POST", "/enrol", req.Sign(d.priv))
	}
	a1, a2, a3 := newRawDevice(t, townA), newRawDevice(t, townA), newRawDevice(t, townA)
	b1, b2 := newRawDevice(t, townB), newRawDevice(t, townB)
	for _, d := range []*rawDevice{a1, a2, b1} {
		if resp, body := enrol(d); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("enrolment within the caps: %s %s", resp.Status, body)
		}
	}
	resp, body := enrol(a3) // the office's third
	wantHTTPCode(t, resp, body, http.StatusTooManyRequests, protocol.CodeTooManyPending)
	resp, body = enrol(b2) // the county's fourth
	wantHTTPCode(t, resp, body, http.StatusTooManyRequests, protocol.CodeTooManyPending)
	if resp, _ := enrol(a1); resp.StatusCode != http.StatusAccepted { // asking again
		t.Fatalf("asking again while pending: %s", resp.Status)
	}
	for _, d := range []*rawDevice{a3, b2} {
		resp, body := h.rawHTTPFrom(t, "127.0.9.2").do("GET", "/enrol/"+d.id.String(), nil)
		wantHTTPCode(t, resp, body, http.StatusNotFound, protocol.CodeUnknownDevice)
	}
	in, _ := h.srv.Incidents()
	if _, n := timesOf(in, protocol.CodeTooManyPending); n != 2 {
		t.Fatalf("%d too_many_pending refusals recorded, want 2: %+v", n, in)
	}
	// The admin rejects one of townA's: room for one more of townA.
	cfg := countyapi.DefaultConfig(h.base.BaseURL, h.base.Fingerprint)
	cfg.Admin, cfg.Password = "admin", adminPass
	if err := countyapi.New(cfg).Reject(context.Background(), a1.id, "电话核对不一致"); err != nil {
		t.Fatal(err)
	}
	if resp, body := enrol(a3); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("after a decision: %s %s", resp.Status, body)
	}
}

// TestHostileTLS12Suites: TLS 1.2 is offered with forward-secret AEAD
// suites only; a client offering only CBC suites gets no connection.
func TestHostileTLS12Suites(t *testing.T) {
	h := newHarness(t)
	dial := func(suites []uint16) error {
		c, err := tls.DialWithDialer(from("127.0.0.1"), "tcp", h.addr, &tls.Config{InsecureSkipVerify: true,
			MaxVersion: tls.VersionTLS12, CipherSuites: suites})
		if err == nil {
			c.Close()
		}
		return err
	}
	for _, s := range tls.InsecureCipherSuites() {
		if err := dial([]uint16{s.ID}); err == nil {
			t.Errorf("TLS 1.2 with %s accepted", s.Name)
		}
	}
	for _, s := range tls.CipherSuites() {
		if strings.Contains(s.Name, "CBC") || !strings.Contains(s.Name, "ECDHE") {
			if err := dial([]uint16{s.ID}); err == nil {
				t.Errorf("TLS 1.2 with %s accepted", s.Name)
			}
		}
	}
	if err := dial([]uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}); err != nil {
		t.Fatalf("TLS 1.2 with AES-GCM: %v", err)
	}
}

// TestHostileTrailingJSON: a JSON body with anything after its value is
// malformed, and changes nothing.
func TestHostileTrailingJSON(t *testing.T) {
	h := newHarness(t)
	d := newRawDevice(t, townA)
	h.rawRequestEnrolment(t, d)
	rh := h.rawHTTPFrom(t, "127.0.0.1")
	for _, body := range []string{`{"reason":"不符"}garbage`, `{"reason":"不符"} {"reason":"另一个"}`, `{"reason":"不符"}]`} {
		resp, raw := rh.do("POST", "/admin/enrolments/"+d.id.String()+"/reject", []byte(body), basicAuth("admin", adminPass),
			"Content-Type: application/json")
		wantHTTPCode(t, resp, raw, http.StatusBadRequest, protocol.CodeMalformed)
	}
	resp, raw := rh.do("GET", "/enrol/"+d.id.String(), nil)
	var st countyapi.EnrolStatus
	if json.Unmarshal(raw, &st); resp.StatusCode != http.StatusOK || st.Status != countyapi.EnrolPending {
		t.Fatalf("after refused rejections: %s %s", resp.Status, raw)
	}
}

// TestHostileIncidentsPaged: 250 sources make 250 incidents; the admin
// API gives them a page at a time, newest first, each once; the client
// pages through all of them; a bad limit or cursor is malformed. Pruning
// deletes what was last seen before the date, and is audited.
func TestHostileIncidentsPaged(t *testing.T) {
	const sources = 250
	h := newHarness(t)
	for i := range sources {
		rh := h.rawHTTPFrom(t, fmt.Sprintf("127.0.%d.%d", 10+i/200, 1+i%200))
		rh.do("GET", "/admin/devices", nil, basicAuth("admin", "wrong"))
		rh.c.Close()
	}
	cfg := countyapi.DefaultConfig(h.base.BaseURL, h.base.Fingerprint)
	cfg.Admin, cfg.Password = "admin", adminPass
	cl := countyapi.New(cfg)
	ctx := context.Background()
	seen := map[string]bool{}
	var pages []int
	var last time.Time
	for cursor := ""; ; {
		p, err := cl.Incidents(ctx, 100, cursor)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, len(p.Incidents))
		for _, in := range p.Incidents {
			if seen[in.ID] {
				t.Fatalf("incident %s on two pages", in.ID)
			}
			seen[in.ID] = true
			if !last.IsZero() && in.Time.After(last) {
				t.Fatal("incidents not newest first")
			}
			last = in.Time
		}
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	if len(seen) != sources || len(pages) != 3 || pages[0] != 100 || pages[2] != 50 {
		t.Fatalf("paged %d incidents in pages %v, want %d in 100, 100, 50", len(seen), pages, sources)
	}
	if all, err := cl.AllIncidents(ctx, 0); err != nil || len(all) != sources {
		t.Fatalf("AllIncidents: %d, %v", len(all), err)
	}
	rh := h.rawHTTPFrom(t, "127.0.0.1")
	for _, q := range []string{"limit=0", "limit=x", "cursor=zz", "cursor=00"} {
		resp, body := rh.do("GET", "/admin/incidents?"+q, nil, basicAuth("admin", adminPass))
		wantHTTPCode(t, resp, body, http.StatusBadRequest, protocol.CodeMalformed)
	}

	n, err := cl.PruneIncidents(ctx, time.Now().Add(48*time.Hour).Format(time.DateOnly))
	if err != nil || n != sources {
		t.Fatalf("prune: %d, %v", n, err)
	}
	if p, err := cl.Incidents(ctx, 0, ""); err != nil || len(p.Incidents) != 0 {
		t.Fatalf("after pruning: %+v %v", p, err)
	}
	trail, err := h.srv.Audit()
	if err != nil {
		t.Fatal(err)
	}
	if e := trail[len(trail)-1]; e.Action != county.AuditPruneIncidents || e.Who != "admin" || !strings.Contains(e.Detail, strconv.Itoa(sources)) {
		t.Fatalf("audit entry %+v", e)
	}
	if err := h.srv.VerifyAudit(); err != nil {
		t.Fatal(err)
	}
}
