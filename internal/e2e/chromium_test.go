package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"jiannuo/domain"
	"jiannuo/server/public"
	"jiannuo/store"
)

// Headless Chromium driven over the DevTools protocol: the page runs no
// script (CSP script-src 'none'), so the test fills and submits the form
// the way a person's browser would, with Runtime.evaluate, which the
// page's CSP does not bind, and DOM.setFileInputFiles for the photo.

// chromiumPath is where Debian's chromium package installs the browser
// (server/public's Chromium tests use the same).
const chromiumPath = "/usr/bin/chromium"

// cdpMessage is a DevTools protocol message: an answer (ID) or an event
// (Method).
type cdpMessage struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// browser is a headless Chromium and the DevTools connection to it.
type browser struct {
	t       *testing.T
	conn    *websocket.Conn
	writeMu sync.Mutex
	mu      sync.Mutex
	next    int
	answers map[int]chan cdpMessage
	loads   chan string // the session of each Page.loadEventFired
}

// startChromium runs headless Chromium with its DevTools endpoint on a
// loopback port until the test ends.
func startChromium(t *testing.T) *browser {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	profile := t.TempDir()
	cmd := exec.CommandContext(ctx, chromiumPath, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--user-data-dir="+profile, "about:blank")
	cmd.Env = append(os.Environ(), "HOME="+profile, "XDG_CONFIG_HOME="+profile, "XDG_CACHE_HOME="+profile)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	endpoint := make(chan string, 1)
	var said strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if u, ok := strings.CutPrefix(line, "DevTools listening on "); ok {
				endpoint <- u
			} else if said.Len() < 4000 {
				said.WriteString(line + "\n")
			}
		}
		close(endpoint)
	}()
	u, ok := <-endpoint
	if !ok {
		t.Fatalf("chromium said no DevTools endpoint:\n%s", said.String())
	}
	conn, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	b := &browser{t: t, conn: conn, answers: map[int]chan cdpMessage{}, loads: make(chan string, 16)}
	go b.read()
	return b
}

func (b *browser) read() {
	for {
		var m cdpMessage
		if err := b.conn.ReadJSON(&m); err != nil {
			b.mu.Lock()
			for _, ch := range b.answers {
				close(ch)
			}
			b.answers = nil
			b.mu.Unlock()
			return
		}
		switch {
		case m.ID != 0:
			b.mu.Lock()
			ch := b.answers[m.ID]
			delete(b.answers, m.ID)
			b.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		case m.Method == "Page.loadEventFired":
			b.loads <- m.SessionID
		}
	}
}

// call sends a command (to a page's session, or the browser's when
// session is empty) and decodes its result into out (if not nil).
func (b *browser) call(session, method string, params, out any) {
	b.t.Helper()
	ch := make(chan cdpMessage, 1)
	b.mu.Lock()
	if b.answers == nil {
		b.mu.Unlock()
		b.t.Fatalf("%s: the DevTools connection is closed", method)
	}
	b.next++
	id := b.next
	b.answers[id] = ch
	b.mu.Unlock()
	raw, err := json.Marshal(params)
	if err != nil {
		b.t.Fatal(err)
	}
	b.writeMu.Lock()
	err = b.conn.WriteJSON(cdpMessage{ID: id, Method: method, SessionID: session, Params: raw})
	b.writeMu.Unlock()
	if err != nil {
		b.t.Fatal(err)
	}
	select {
	case m, ok := <-ch:
		switch {
		case !ok:
			b.t.Fatalf("%s: the DevTools connection closed", method)
		case m.Error != nil:
			b.t.Fatalf("%s: %s", method, m.Error.Message)
		case out != nil:
			if err := json.Unmarshal(m.Result, out); err != nil {
				b.t.Fatalf("%s: %v", method, err)
			}
		}
	case <-time.After(waitTimeout):
		b.t.Fatalf("%s: no answer", method)
	}
}

// tab is a page of the browser.
type tab struct {
	b       *browser
	session string
}

// open opens a new tab on url and waits until it has loaded.
func (b *browser) open(url string) *tab {
	b.t.Helper()
	var target struct {
		TargetID string `json:"targetId"`
	}
	b.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	b.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached)
	p := &tab{b: b, session: attached.SessionID}
	b.call(p.session, "Page.enable", struct{}{}, nil)
	p.navigating(func() { b.call(p.session, "Page.navigate", map[string]any{"url": url}, nil) })
	return p
}

// navigating runs act and waits until the page it leads to has loaded.
func (p *tab) navigating(act func()) {
	p.b.t.Helper()
	for len(p.b.loads) > 0 {
		<-p.b.loads // loads of earlier pages
	}
	act()
	for {
		select {
		case s := <-p.b.loads:
			if s == p.session {
				return
			}
		case <-time.After(waitTimeout):
			p.b.t.Fatal("the page did not load")
		}
	}
}

// eval evaluates a JavaScript expression in the page and returns its value
// as a string.
func (p *tab) eval(expr string) string {
	p.b.t.Helper()
	var res struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	p.b.call(p.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &res)
	if res.ExceptionDetails != nil {
		p.b.t.Fatalf("%s: %s", expr, res.ExceptionDetails.Text)
	}
	if res.Result.Value == nil {
		return ""
	}
	return fmt.Sprint(res.Result.Value)
}

// attach chooses a file for the page's first file input.
func (p *tab) attach(path string) {
	p.b.t.Helper()
	var doc struct {
		Root struct {
			NodeID int `json:"nodeId"`
		} `json:"root"`
	}
	p.b.call(p.session, "DOM.getDocument", map[string]any{}, &doc)
	var input struct {
		NodeID int `json:"nodeId"`
	}
	p.b.call(p.session, "DOM.querySelector", map[string]any{"nodeId": doc.Root.NodeID, "selector": `input[type=file]`}, &input)
	p.b.call(p.session, "DOM.setFileInputFiles", map[string]any{"nodeId": input.NodeID, "files": []string{path}}, nil)
}

// set fills a field of the page's form with a value, as typing does.
func (p *tab) set(name, value string) {
	p.b.t.Helper()
	v, _ := json.Marshal(value)
	p.eval(fmt.Sprintf(`document.querySelector('[name=%q]').value = %s`, name, v))
}

// TestComplaintInChromium: headless Chromium loads the complaint form
// from the municipal node under the page's CSP; a person fills it in and
// attaches a photo; the confirmation it shows gives a case number and a
// tracking code, which then work: the tracking page finds the case, and
// the case reaches the county and the township's device.
func TestComplaintInChromium(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found: CI installs the Debian packages chromium and fonts-noto-cjk (make deps)", chromiumPath)
		}
		t.Skipf("%s not found: install the Debian packages chromium and fonts-noto-cjk to run this test", chromiumPath)
	}
	if testing.Short() {
		t.Skip("headless Chromium is slow; skipped in -short mode")
	}
	c := newCity(t, beforeNationalDay)
	leader := c.device(townA, domain.RoleLeader, "王镇长")
	ref := publish(t, leader, "村口路灯损坏三日内修复")
	leader.Sync()
	c.converge()
	photo := filepath.Join(t.TempDir(), "路灯照片.png")
	if err := os.WriteFile(photo, testPNG(t), 0o644); err != nil {
		t.Fatal(err)
	}

	b := startChromium(t)
	p := b.open(c.site.base + "/" + commitmentPath(ref) + "/file")
	if got := p.eval(`document.querySelectorAll('script').length`); got != "0" {
		t.Fatalf("the form has %s script elements", got)
	}
	tok := p.eval(`document.querySelector('input[name=token]').value`)
	answer, err := public.AnswerOf(c.site.key, tok)
	if err != nil {
		t.Fatalf("the form's token %q: %v", tok, err)
	}
	p.set("text", complaintText)
	p.set("name", filerName)
	p.set("phone", filerPhone)
	p.set("answer", fmt.Sprint(answer))
	p.attach(photo)
	c.clock.advance(public.DefaultMinFillTime + 10*time.Second) // the time a person takes
	p.navigating(func() { p.eval(`document.querySelector('form.file-form').submit()`) })
	number, code := confirmation(t, p.eval(`document.documentElement.outerHTML`))
	if !strings.HasPrefix(number, "TS20260929-") {
		t.Fatalf("case number %s", number)
	}

	// The number and code work: the tracking page shows the case the
	// county took, with its deadlines.
	id := c.node.waitIntake(number, public.IntakeAccepted)
	c.converge()
	_, tracked := c.site.track(number, code)
	contains(t, "the tracking page", tracked, number, complaintText, "路灯照片.png", wantAckDue, wantAnswerDue, "县级平台转交办理并确定期限")
	leader.Sync()
	c.sameCase(townA, id, map[string]*store.Store{"the municipal node": c.node.n.Store(), "the leader's device": leader.Store})
	_, row := caseRow(t, leader, store.Ref{Office: townA, ID: id}, c.clock.today())
	if len(row.Case.Evidence) != 1 || row.Case.Text != complaintText {
		t.Fatalf("the case on the township's device: %+v", row.Case)
	}
}
