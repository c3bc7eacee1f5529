package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/server/cluster"
	"jiannuo/server/county/countytest"
	"jiannuo/server/municipal"
	"jiannuo/server/public"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// A city for one test: a county server in a serf cluster, a municipal
// node that finds it there, pulls its feed and serves the public page,
// and the devices the test enrols. Every tier logs into a buffer of its
// own, and every answer of the public page is kept, so that a test can
// look for the filer's contact in all of them.

const (
	county  office.Code = "410324"    // 栾川县
	townA   office.Code = "410324101" // 赤土店镇
	townB   office.Code = "410324102" // 合峪镇
	admin               = "zhangwei"
	adminPw             = "县信用办管理员口令-2026"
)

// The filer's contact, which must never be anywhere but where it must.
const (
	filerName  = "欧阳明月"
	filerPhone = "+86 139-0000-1234"
)

// waitTimeout bounds a wait on events: serf usually converges in well
// under a second on loopback but may take many seconds under load
// (docs/benchmarks.md); waits wake on events, never on fixed sleeps.
const waitTimeout = 90 * time.Second

// logBuffer collects a tier's logs, written from many goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// clock is the public page's clock: fixed where the test puts it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// set moves the clock to t, never back.
func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.t) {
		c.t = t
	}
}

func (c *clock) advance(d time.Duration) { c.set(c.Now().Add(d)) }

// today is the clock's day in China.
func (c *clock) today() calendar.Date { return domain.ChinaDate(c.Now().UnixMilli()) }

var cst = time.FixedZone("CST", 8*3600)

// city is the tiers of one test.
type city struct {
	t      *testing.T
	county *countytest.Server
	node   *node
	site   *site
	clock  *clock
	api    *countyapi.Client // the county admin's, as the server command signs in
	logs   map[string]*logBuffer
	dirs   []string // every tier's data directory
}

// newCity starts the county and the municipal node, the public page's
// clock at start.
func newCity(t *testing.T, start time.Time) *city {
	t.Helper()
	c := &city{t: t, clock: &clock{t: start}, logs: map[string]*logBuffer{"county": {}, "municipal": {}, "devices": {}}}
	c.county = countytest.Start(t, countytest.Config{County: county, Admin: admin, Password: adminPw, Cluster: true,
		Logs: c.logs["county"]})
	c.api = c.county.Client()
	c.node = newNode(t, c)
	c.site = &site{t: t, base: "http://" + c.node.n.HTTPAddr(), key: c.node.key, clock: c.clock}
	c.site.hc = &http.Client{Transport: &recorder{next: http.DefaultTransport, site: c.site}, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	c.dirs = append(c.dirs, c.county.Dir, c.node.dir)
	return c
}

// device enrols a device of office o for a person of role.
func (c *city) device(o office.Code, role domain.Role, name string) *countytest.Device {
	c.t.Helper()
	return c.enrol(countytest.DeviceConfig{Office: o, Role: role, DisplayName: name})
}

// enrol enrols a device as cfg says, its logs with the devices'.
func (c *city) enrol(cfg countytest.DeviceConfig) *countytest.Device {
	c.t.Helper()
	cfg.Logs = c.logs["devices"]
	d := c.county.Device(cfg)
	c.dirs = append(c.dirs, filepath.Dir(d.Path))
	return d
}

// node is the municipal node with its public page.
type node struct {
	t      *testing.T
	dir    string
	key    []byte // the public page's question key
	n      *municipal.Node
	cancel context.CancelFunc
	served chan error
	cfg    municipal.Config
}

func newNode(t *testing.T, c *city) *node {
	t.Helper()
	trust, err := municipal.Trust{county: c.county.Key}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	m := &node{t: t, dir: t.TempDir(), key: bytes.Repeat([]byte("题"), 11)}
	id, err := municipal.Init(m.dir, municipal.InitConfig{Name: "市信用平台", Trust: trust})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.county.AuthoriseUpstream(id.PublicKey(), "市信用平台"); err != nil {
		t.Fatal(err)
	}
	logs := slog.New(slog.NewTextHandler(c.logs["municipal"], &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := municipal.DefaultConfig(m.dir)
	cfg.HTTPAddr, cfg.OpsAddr, cfg.Logger = "127.0.0.1:0", "", logs
	cfg.Cluster = cluster.DefaultLocalConfig()
	cfg.Cluster.Join, cfg.Cluster.Logger = []string{c.county.SerfAddr}, slog.New(slog.DiscardHandler)
	cfg.Linger, cfg.MinBackoff, cfg.MaxBackoff = 300*time.Millisecond, 50*time.Millisecond, time.Second
	cfg.Public = func(n *municipal.Node) http.Handler {
		return public.New(public.Config{Store: n.Store(), Logger: logs, Intake: n, Now: c.clock.Now, QuestionKey: m.key})
	}
	m.cfg = cfg
	m.start()
	t.Cleanup(m.stop)
	return m
}

func (m *node) start() {
	m.t.Helper()
	n, err := municipal.New(m.cfg)
	if err != nil {
		m.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.n, m.cancel, m.served = n, cancel, make(chan error, 1)
	go func() { m.served <- n.Serve(ctx) }()
}

func (m *node) stop() {
	if m.n == nil {
		return
	}
	m.cancel()
	if err := <-m.served; err != nil {
		m.t.Errorf("municipal node stopped with %v", err)
	}
	if err := m.n.Store().Check(); err != nil {
		m.t.Errorf("municipal replica invariants: %v", err)
	}
	m.n.Close()
	m.n = nil
}

// waitFor waits on the node's status events until ok holds.
func (m *node) waitFor(what string, ok func(municipal.Status) bool) {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if s, err := m.n.WaitFor(ctx, ok); err != nil {
		m.t.Fatalf("%s: %v; last status: %+v", what, err, s.Counties)
	}
}

// waitIntake waits until the node's filing numbered number is in state
// (public.IntakeAccepted, …) and returns its case's ID.
func (m *node) waitIntake(number, state string) protocol.EntityID {
	m.t.Helper()
	var id protocol.EntityID
	m.waitFor("filing "+number+" "+state, func(municipal.Status) bool {
		var ok bool
		if id, ok, _ = m.n.IntakeByNumber(number); !ok {
			return false
		}
		st, ok, err := m.n.IntakeState(id)
		return err == nil && ok && st.State == state
	})
	return id
}

// converge waits until the node has applied the county's whole feed.
func (c *city) converge() {
	c.t.Helper()
	head, err := c.county.Store().FeedHead()
	if err != nil {
		c.t.Fatal(err)
	}
	c.node.waitFor(fmt.Sprintf("the county's feed up to %d", head), func(s municipal.Status) bool {
		for _, cs := range s.Counties {
			if cs.County == county {
				return cs.Applied >= head
			}
		}
		return false
	})
}

// sameOn fails unless every replica reads what the county's replica
// reads (as JSON: the same view, the same history) and returns it.
func sameOn[T any](c *city, what string, read func(*store.Store) (T, error), replicas map[string]*store.Store) T {
	c.t.Helper()
	want, err := read(c.county.Store())
	if err != nil {
		c.t.Fatalf("the county's %s: %v", what, err)
	}
	for name, st := range replicas {
		got, err := read(st)
		if err != nil {
			c.t.Fatalf("%s: the %s: %v", name, what, err)
		}
		if g, w := jsonOf(c.t, got), jsonOf(c.t, want); g != w {
			c.t.Fatalf("%s holds the %s otherwise than the county:\n%s\nwant\n%s", name, what, g, w)
		}
	}
	return want
}

// sameCase fails unless every replica holds case id of office o as the
// county does, listed once, each event once.
func (c *city) sameCase(o office.Code, id protocol.EntityID, replicas map[string]*store.Store) store.Case {
	c.t.Helper()
	got := sameOn(c, "case", func(st *store.Store) (store.Case, error) {
		cs, err := st.Cases(store.CaseFilter{Office: o})
		if err != nil {
			return store.Case{}, err
		}
		n := 0
		for _, x := range cs {
			if x.ID == id {
				n++
			}
		}
		if n != 1 {
			return store.Case{}, fmt.Errorf("listed %d times", n)
		}
		return st.Case(o, id)
	}, replicas)
	seen := map[protocol.OpID]bool{}
	for _, e := range got.History {
		if seen[e.Op] {
			c.t.Fatalf("the case holds event %v twice", e.Op)
		}
		seen[e.Op] = true
	}
	return got
}

// sameRecord fails unless every replica holds dishonesty record id of
// office o as the county does.
func (c *city) sameRecord(o office.Code, id protocol.EntityID, replicas map[string]*store.Store) store.DishonestyRecord {
	c.t.Helper()
	return sameOn(c, "dishonesty record", func(st *store.Store) (store.DishonestyRecord, error) { return st.DishonestyRecord(o, id) }, replicas)
}

// publish creates and publishes a public commitment of the device's office.
func publish(t *testing.T, d *countytest.Device, title string) store.Ref {
	t.Helper()
	ref, err := d.Session.Create(store.Draft{Category: domain.CatConvenience, Title: title, Text: title + "：承诺内容",
		Responsible: "孙伟", StartDate: calendar.NewDate(2026, 9, 1), Deadline: domain.WorkdaysDeadline(30), Public: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Session.Publish(ref); err != nil {
		t.Fatal(err)
	}
	return ref
}

// site is the node's public page as a browser sees it, every answer kept.
type site struct {
	t     *testing.T
	base  string
	key   []byte
	clock *clock
	hc    *http.Client

	mu      sync.Mutex
	answers bytes.Buffer // every body the page answered
}

// recorder keeps every answer's body as the client read it (decompressed).
type recorder struct {
	next http.RoundTripper
	site *site
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	r.site.mu.Lock()
	r.site.answers.Write(body)
	r.site.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// answered returns every body the page answered so far.
func (s *site) answered() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.answers.Bytes())
}

func (s *site) do(req *http.Request) (int, string) {
	s.t.Helper()
	resp, err := s.hc.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// get fetches a page (path without the leading slash).
func (s *site) get(path string) (int, string) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.base+"/"+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return s.do(req)
}

// page fetches a page that must be there.
func (s *site) page(path string) string {
	s.t.Helper()
	code, body := s.get(path)
	if code != http.StatusOK {
		s.t.Fatalf("GET /%s: %d\n%s", path, code, tail(body))
	}
	return body
}

var tokenRE = regexp.MustCompile(`name="token" value="([A-Za-z0-9_-]+)"`)

// filing is a form as a person fills it.
type filing struct {
	kind, text, name, phone string
	files                   map[string][]byte // file name → content
}

// file fills and posts the filing form at path (c/… or d/…/file) as a
// browser does: the form fetched, its question read (AnswerOf with the
// page's key), a few seconds to fill it in, multipart/form-data posted.
// It returns the confirmation page's case number and tracking code.
func (s *site) file(path string, f filing) (number, code string) {
	s.t.Helper()
	tok := tokenRE.FindStringSubmatch(s.page(path))
	if tok == nil {
		s.t.Fatalf("no question on /%s", path)
	}
	answer, err := public.AnswerOf(s.key, tok[1])
	if err != nil {
		s.t.Fatal(err)
	}
	s.clock.advance(public.DefaultMinFillTime + 5*time.Second)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, kv := range [][2]string{{"kind", f.kind}, {"text", f.text}, {"name", f.name}, {"phone", f.phone},
		{"website", ""}, {"answer", fmt.Sprint(answer)}, {"token", tok[1]}} {
		if err := mw.WriteField(kv[0], kv[1]); err != nil {
			s.t.Fatal(err)
		}
	}
	for name, data := range f.files {
		w, err := mw.CreateFormFile("files", name)
		if err != nil {
			s.t.Fatal(err)
		}
		w.Write(data)
	}
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, s.base+"/"+path, &body)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	status, page := s.do(req)
	if status != http.StatusOK {
		s.t.Fatalf("filing on /%s: %d\n%s", path, status, tail(page))
	}
	return confirmation(s.t, page)
}

var codeRE = regexp.MustCompile(`<dd class="code">([^<]+)</dd>`)

// confirmation reads the case number and the tracking code off a
// confirmation page.
func confirmation(t *testing.T, page string) (number, code string) {
	t.Helper()
	m := codeRE.FindAllStringSubmatch(page, -1)
	if len(m) != 2 || !strings.HasPrefix(m[0][1], "TS") && !strings.HasPrefix(m[0][1], "YY") {
		t.Fatalf("not a confirmation page:\n%s", tail(page))
	}
	return m[0][1], m[1][1]
}

// track posts the tracking form with a case number and code.
func (s *site) track(number, code string) (int, string) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.base+"/case", strings.NewReader(url.Values{"number": {number}, "code": {code}}.Encode()))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return s.do(req)
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func commitmentPath(r store.Ref) string { return "c/" + string(r.Office) + "/" + r.ID.String() }

func recordPath(o office.Code, id protocol.EntityID) string {
	return "d/" + string(o) + "/" + id.String()
}

func tail(s string) string {
	if len(s) > 3000 {
		return "…" + s[len(s)-3000:]
	}
	return s
}

// contains fails the test for each of wants that text lacks.
func contains(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

// nowhere fails the test if any file under the tiers' data directories,
// any tier's logs or any answer of the public page holds the filer's name
// or phone.
func (c *city) nowhere() {
	c.t.Helper()
	secrets := [][]byte{[]byte(filerName), []byte(filerPhone)}
	look := func(what string, b []byte) {
		for _, s := range secrets {
			if bytes.Contains(b, s) {
				c.t.Errorf("%s holds %q", what, s)
			}
		}
	}
	files := 0
	for _, dir := range c.dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			look(path, b)
			return nil
		})
		if err != nil {
			c.t.Fatal(err)
		}
	}
	for what, l := range c.logs {
		b := l.Bytes()
		if len(b) == 0 {
			c.t.Errorf("the %s' logs are empty: not captured", what)
		}
		look("the "+what+"' logs", b)
	}
	answers := c.site.answered()
	look("the public page's answers", answers)
	c.t.Logf("the filer's contact is in none of %d files, %d log bytes, %d bytes the page answered", files,
		len(c.logs["county"].Bytes())+len(c.logs["municipal"].Bytes())+len(c.logs["devices"].Bytes()), len(answers))
}
