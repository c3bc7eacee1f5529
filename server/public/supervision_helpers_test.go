package public

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// memSink is the municipal node as the public page sees it: it seals the
// contact to the county, signs the intake with a node key and keeps it in
// memory, checking on the way that the signed document opens with
// protocol.OpenIntake and describes exactly the files it was handed.
type memSink struct {
	node   ed25519.PrivateKey
	county ed25519.PrivateKey

	mu         sync.Mutex
	entries    map[protocol.EntityID]*sinkEntry
	order      []protocol.EntityID
	outOfScope bool  // answer protocol.ErrOutOfScope
	fail       error // answer this error
}

type sinkEntry struct {
	raw     []byte // the signed intake, as the node stores it
	contact protocol.Contact
	files   map[protocol.Hash][]byte
	state   IntakeState
}

func keyOf(seed string) ed25519.PrivateKey {
	s := sha256.Sum256([]byte(seed))
	return ed25519.NewKeyFromSeed(s[:])
}

func newMemSink() *memSink {
	return &memSink{node: keyOf("municipal node"), county: keyOf("county 410324"), entries: map[protocol.EntityID]*sinkEntry{}}
}

func (s *memSink) SubmitIntake(ctx context.Context, in *protocol.Intake, contact protocol.Contact, files map[protocol.Hash][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.outOfScope {
		return fmt.Errorf("%w: no county for %s", protocol.ErrOutOfScope, in.Office)
	}
	if s.fail != nil {
		return s.fail
	}
	if len(files) != len(in.Attachments) {
		return fmt.Errorf("%d files for %d attachments", len(files), len(in.Attachments))
	}
	for _, a := range in.Attachments {
		data, ok := files[a.Hash]
		if !ok || protocol.Hash(sha256.Sum256(data)) != a.Hash || int64(len(data)) != a.Size {
			return fmt.Errorf("attachment %s does not match its file", a.Hash)
		}
	}
	sealed, err := protocol.SealContact(contact, s.county.Public().(ed25519.PublicKey))
	if err != nil {
		return err
	}
	in.Contact = sealed
	raw := in.Sign(s.node)
	opened, err := protocol.OpenIntake(raw, s.node.Public().(ed25519.PublicKey))
	if err != nil {
		return fmt.Errorf("the signed intake does not open: %w", err)
	}
	if !contact.Empty() {
		got, err := protocol.OpenContact(opened.Contact, s.county)
		if err != nil || got != contact {
			return fmt.Errorf("the sealed contact does not open to what was filed: %v", err)
		}
	}
	s.entries[in.ID] = &sinkEntry{raw: raw, contact: contact, files: files, state: IntakeState{State: IntakePending}}
	s.order = append(s.order, in.ID)
	return nil
}

func (s *memSink) IntakeState(id protocol.EntityID) (IntakeState, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[id]
	if !ok {
		return IntakeState{}, false, nil
	}
	in, err := protocol.OpenIntake(e.raw, s.node.Public().(ed25519.PublicKey))
	if err != nil {
		return IntakeState{}, false, err
	}
	st := e.state
	st.Intake = in
	return st, true, nil
}

// count is the number of intakes taken.
func (s *memSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.order)
}

// last returns the last intake taken.
func (s *memSink) last(t testing.TB) (*protocol.Intake, *sinkEntry) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.order) == 0 {
		t.Fatal("the sink holds no intake")
	}
	e := s.entries[s.order[len(s.order)-1]]
	in, err := protocol.OpenIntake(e.raw, s.node.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	return in, e
}

func (s *memSink) setState(id protocol.EntityID, st IntakeState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries[id].state = st
}

// finderSink is a memSink that can find an intake by its number.
type finderSink struct{ *memSink }

func (s finderSink) IntakeByNumber(number string) (protocol.EntityID, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, e := range s.entries {
		in, err := protocol.DecodeIntake(e.raw)
		if err != nil {
			return protocol.EntityID{}, false, err
		}
		if in.Number == number {
			return id, true, nil
		}
	}
	return protocol.EntityID{}, false, nil
}

// testClock is the handler's clock, moved by the test.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// syncBuffer is a log destination tests read while the handler writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// world is the fixture with dishonesty records, a sink, a clock and a
// handler that takes filings; every body it serves is kept.
type world struct {
	*fixture
	sink  *memSink
	clock *testClock
	logs  *syncBuffer
	h     *handler
	key   []byte

	record      store.Ref // published, against f.breached, explained, with a PNG and a PDF
	hiddenRec   store.Ref // against f.private: never published
	evPNG       protocol.Hash
	evRectified protocol.Hash

	server *store.ServerSigner // the county server's device, on the municipal replica

	mu     sync.Mutex
	served []string // every response body
}

// start is the handler's "now" when a world is made: 2026-10-19 09:30.
var start = time.Date(2026, 10, 19, 9, 30, 0, 0, cst)

func newWorld(t testing.TB, cfg Config) *world {
	t.Helper()
	f := newFixture(t)
	w := &world{fixture: f, sink: newMemSink(), clock: &testClock{t: start}, logs: &syncBuffer{}, key: bytes.Repeat([]byte{7}, 32)}

	// The county admin records a breach of the fire-lane commitment and
	// moves it on; and one against the non-public commitment.
	f.clk.set(time.October, 16, 11, 0)
	w.evPNG = f.addEvidence(t, f.a, "整改通知书.png", "image/png", testPNG(t, 40, 30))
	recID, err := f.a.RecordDishonesty(f.breached, store.DishonestyInput{Type: domain.DishonestyBreach,
		Deadline: date(2026, 11, 30), Reason: reasonRecord, Evidence: []protocol.Hash{w.evPNG}})
	must(t, err)
	w.record = store.Ref{Office: f.breached.Office, ID: recID}
	f.clk.set(time.October, 17, 15, 0)
	must(t, f.a.DishonestyStep(w.record.Office, recID, domain.StepExplained, "已收到赤土店镇书面说明", explanationText, nil))
	hidden, err := f.a.RecordDishonesty(f.private, store.DishonestyInput{Type: domain.DishonestyAccountability, Reason: "内部问责记录"})
	must(t, err)
	w.hiddenRec = store.Ref{Office: f.private.Office, ID: hidden}
	f.sync(t)

	// The county server's device, registered on the municipal replica, as
	// the node knows it from the county's feed.
	devKey := protocol.ServerDeviceKey(w.sink.county)
	w.server, err = store.NewServerSigner(devKey, offLuanchuan)
	must(t, err)
	must(t, f.muni.PutDevice(store.DeviceRecord{ID: w.server.Device(), Key: devKey.Public().(ed25519.PublicKey),
		Office: offLuanchuan, Name: "县级平台", Admin: true}))

	cfg.Store, cfg.Now, cfg.QuestionKey = f.muni, w.clock.Now, w.key
	cfg.Logger = slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if cfg.Intake == nil {
		cfg.Intake = w.sink
	}
	w.h = New(cfg).(*handler)
	return w
}

const (
	reasonRecord    = "集镇主街消防通道逾期三十日未完成整治，经县信用办核查认定未践诺。"
	explanationText = "因施工单位延误，已约谈施工单位并调整整治方案。"
)

// testPNG is a small real PNG image.
func testPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 6), uint8(y * 8), 120, 255})
		}
	}
	var b bytes.Buffer
	must(t, png.Encode(&b, img))
	return b.Bytes()
}

// do serves one request from addr and keeps the body.
func (w *world) do(req *http.Request, addr string) *httptest.ResponseRecorder {
	req.RemoteAddr = addr
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, req)
	w.mu.Lock()
	w.served = append(w.served, rec.Body.String())
	w.mu.Unlock()
	return rec
}

func (w *world) get(t testing.TB, path, addr string) *httptest.ResponseRecorder {
	t.Helper()
	return w.do(httptest.NewRequest(http.MethodGet, path, nil), addr)
}

var tokenField = regexp.MustCompile(`name="token" value="([A-Za-z0-9_-]+)"`)

// formToken returns the question token of a form page.
func formToken(t testing.TB, body string) string {
	t.Helper()
	m := tokenField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no question token on the page:\n%s", tail(body, 3000))
	}
	return m[1]
}

// answerOf is the answer of a token's question, as a person reads it
// off the image.
func (w *world) answerOf(t testing.TB, tok string) string {
	t.Helper()
	n, err := AnswerOf(w.key, tok)
	must(t, err)
	return fmt.Sprint(n)
}

// part is one file of a submission.
type part struct {
	name string
	data []byte
}

// submission is a form as a browser sends it. Fields left empty are sent
// empty, as a browser does; a zero answer is filled with the right one.
type submission struct {
	fields map[string]string
	files  []part
}

func (s submission) body(t testing.TB) (*bytes.Buffer, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	order := []string{fieldKind, fieldText, fieldName, fieldPhone}
	for _, k := range order {
		if v, ok := s.fields[k]; ok {
			must(t, mw.WriteField(k, v))
		}
	}
	for _, f := range s.files {
		fw, err := mw.CreateFormFile(fieldFiles, f.name)
		must(t, err)
		_, err = fw.Write(f.data)
		must(t, err)
	}
	for k, v := range s.fields {
		if !slices.Contains(order, k) {
			must(t, mw.WriteField(k, v))
		}
	}
	must(t, mw.Close())
	return &b, mw.FormDataContentType()
}

// file gets the form at path, waits as a person would and posts sub from
// addr with the token of the page (and the right answer unless sub says
// otherwise).
func (w *world) file(t testing.TB, path, addr string, sub submission) *httptest.ResponseRecorder {
	t.Helper()
	g := w.get(t, path, addr)
	if g.Code != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", path, g.Code, tail(g.Body.String(), 2000))
	}
	tok := formToken(t, g.Body.String())
	fields := map[string]string{fieldToken: tok, fieldAnswer: w.answerOf(t, tok), fieldHoneypot: ""}
	for k, v := range sub.fields {
		fields[k] = v
	}
	sub.fields = fields
	w.clock.advance(5 * time.Second)
	return w.post(t, path, addr, sub)
}

func (w *world) post(t testing.TB, path, addr string, sub submission) *httptest.ResponseRecorder {
	t.Helper()
	b, ct := sub.body(t)
	req := httptest.NewRequest(http.MethodPost, path, b)
	req.Header.Set("Content-Type", ct)
	return w.do(req, addr)
}

// track posts the tracking form.
func (w *world) track(t testing.TB, number, code, addr string) *httptest.ResponseRecorder {
	t.Helper()
	form := url.Values{"number": {number}, "code": {code}}
	req := httptest.NewRequest(http.MethodPost, "/case", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return w.do(req, addr)
}

var (
	numberShown = regexp.MustCompile(`class="code">((?:TS|YY)\d{8}-[0-9A-Z]{8})<`)
	codeShown   = regexp.MustCompile(`class="code">([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})<`)
)

// confirmation reads the case number and tracking code off a
// confirmation page.
func confirmation(t testing.TB, body string) (number, code string) {
	t.Helper()
	n, c := numberShown.FindStringSubmatch(body), codeShown.FindStringSubmatch(body)
	if n == nil || c == nil {
		t.Fatalf("no case number and code on the page:\n%s", tail(body, 3000))
	}
	return n[1], c[1]
}

// accept does what the county does with an intake the sink holds: opens
// the case on the municipal replica (server device, intake verbatim,
// contact sealed to the county, deadlines from the filing date), stores
// the attachments' content, and tells the sink.
func (w *world) accept(t testing.TB, id protocol.EntityID, at time.Time) store.Case {
	t.Helper()
	w.sink.mu.Lock()
	e := w.sink.entries[id]
	w.sink.mu.Unlock()
	in, err := protocol.OpenIntake(e.raw, w.sink.node.Public().(ed25519.PublicKey))
	must(t, err)
	boxes, err := protocol.SealContacts(e.contact, w.sink.county.Public().(ed25519.PublicKey), nil)
	must(t, err)
	day := domain.ChinaDate(in.Filed)
	var ack calendar.Date
	answerDays := domain.DefaultObjectionDays
	if in.Kind == domain.CaseComplaint {
		ack, _ = domain.CaseDeadline(day, domain.DefaultCaseAckDays, w.cal())
		answerDays = domain.DefaultCaseAnswerDays
	}
	answer, _ := domain.CaseDeadline(day, answerDays, w.cal())
	w.muniClk.set(at)
	w.serverSign(t, protocol.PublicCaseOps(in, e.raw, boxes, ack, answer)...)
	for h, data := range e.files {
		must(t, w.muni.PutEvidenceContent(h, data))
	}
	w.sink.setState(id, IntakeState{State: IntakeAccepted, Pos: 1})
	c, err := w.muni.Case(in.Office, id)
	must(t, err)
	return c
}

func (w *world) cal() *calendar.Calendar { return calendar.Default() }

// serverSign signs ops with the county server's device and applies them
// to the municipal replica; it returns the change set's first operation.
func (w *world) serverSign(t testing.TB, ops ...protocol.Op) protocol.OpID {
	t.Helper()
	cs, err := w.server.Next(w.muni, store.ServerAuthor, ops)
	must(t, err)
	res, err := w.muni.Apply(cs.Bytes())
	must(t, err)
	if !res[0].Applied() {
		t.Fatalf("server change set refused: %s %v", res[0].Code, res[0].Err)
	}
	return protocol.OpID{Device: w.server.Device(), Num: cs.Ops[0].Num}
}

// step takes a step on a case as the county (an admin may take each).
func (w *world) step(t testing.TB, c store.Case, at time.Time, s protocol.CaseStep) protocol.OpID {
	t.Helper()
	w.muniClk.set(at)
	s.Case = c.ID
	return w.serverSign(t, protocol.Op{Kind: protocol.OpCaseStep, Office: c.Office, Target: c.Commitment.ID, CaseStep: &s})
}

// answer has the case acknowledged, replied to, approved and accepted.
func (w *world) answer(t testing.TB, c store.Case, day int, reply string, ev []protocol.Hash) {
	t.Helper()
	at := func(d, h int) time.Time { return time.Date(2026, 10, d, h, 0, 0, 0, cst) }
	w.step(t, c, at(day, 9), protocol.CaseStep{Step: domain.CaseAcknowledged})
	r := w.step(t, c, at(day+1, 10), protocol.CaseStep{Step: domain.CaseReply, Text: reply, Evidence: ev})
	w.step(t, c, at(day+1, 16), protocol.CaseStep{Step: domain.CaseApproved, Ref: r})
	w.step(t, c, at(day+2, 11), protocol.CaseStep{Step: domain.CaseAccepted, Finding: domain.FindingUpheld, Text: "经核查，反映情况属实，已督促整改到位。"})
}

var errSinkDown = errors.New("sink down")
