package public

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// Offices of the fixture: two townships of 栾川县, the county itself (for
// its admin's device) and a township of 嵩县.
const (
	offChitudian office.Code = "410324101" // 栾川县 赤土店镇
	offLuanchuan office.Code = "410324"    // 栾川县
	offChengguan office.Code = "410325100" // 嵩县 城关镇
)

const testPass = "正确的口令-2026"

// Names no page or feed may show: account names and display names.
const (
	acctLeader  = "acct-leader-ctd"
	acctLeader2 = "acct-leader-cg"
	acctAdmin   = "acct-admin-lc"
)

// stepClock advances one millisecond per reading from a fixed start, so
// stamps are reproducible and never collide on one replica.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func newStepClock(start time.Time) *stepClock { return &stepClock{t: start} }

// set moves the clock forward to t (never back).
func (c *stepClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.t) {
		c.t = t
	}
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

// fixedNow is "today" for the handler: 2026-10-20 10:00 in Beijing.
var fixedNow = time.Date(2026, 10, 20, 10, 0, 0, 0, cst)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openStore(t testing.TB, name string, feed bool, now func() time.Time) *store.Store {
	t.Helper()
	s, err := store.Open(filepath.Join(t.TempDir(), name+".db"), &store.Options{
		Now: now, KDF: auth.TestParams(), Logger: quietLogger(), NoSync: true, Feed: feed})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, skip := skipCheck.Load(s); !skip {
			if err := s.Check(); err != nil {
				t.Errorf("%s: store invariants: %v", name, err)
			}
		}
		s.Close()
	})
	return s
}

// skipCheck lists stores too big for Check at the end of a test under
// -race (several seconds for 10,000 commitments); the store's own tests
// cover its invariants.
var skipCheck sync.Map // *store.Store -> struct{}

func setup(t testing.TB, s *store.Store, o office.Code, role domain.Role, name, display string) *store.Session {
	t.Helper()
	se, err := s.Setup(store.SetupConfig{Office: o, Admin: role == domain.RoleCountyAdmin, DeviceName: "device-" + name,
		Name: name, DisplayName: display, Role: role, Passphrase: testPass})
	if err != nil {
		t.Fatal(err)
	}
	return se
}

// fixture is a municipal node's store filled through township and
// county-admin devices, with a handle on every commitment.
type fixture struct {
	muni      *store.Store
	t1, t2, a *store.Session
	h         http.Handler
	devices   []string // device IDs, which must never be shown

	elderly   store.Ref // published, in progress, amended, 2 entries with evidence
	draft     store.Ref // public draft, never published
	private   store.Ref // published but not public, with an entry citing evidence
	script    store.Ref // published, hostile title and text
	withdrawn store.Ref // withdrawn after publication
	draftGone store.Ref // withdrawn as a draft: never shown
	workdays  store.Ref // deadline in working days
	breached  store.Ref // breach confirmed by the county admin
	school    store.Ref // 嵩县 城关镇, fulfilled on time

	evCited, evHTML, evUncited, evPrivate protocol.Hash
	evData                                map[protocol.Hash][]byte
	sent                                  map[protocol.DeviceID]uint64 // change sets delivered to muni
	adminSent                             uint64                       // t1 change sets delivered to the admin device
	clk                                   *demoClock
	muniClk                               *stepClock // the municipal store's clock (the county's steps in tests of cases)
}

const (
	titleElderly   = "为辖区80岁以上独居老人每月上门走访"
	titleDraft     = "草稿事项不应公开"
	titlePrivate   = "内部事项不对外公开"
	titleScript    = "<script>alert(1)</script>"
	titleWithdrawn = "老旧小区停车位改造"
	titleDraftGone = "未发布即撤销的草稿"
	titleWorkdays  = "低保申请7个工作日内完成审核"
	titleBreached  = "集镇消防通道清理整治"
	titleSchool    = "适龄儿童入学材料一次办结"

	reasonAmend     = "经镇党委会研究，走访频次由每月一次提高为每两周一次"
	reasonWithdrawn = "因县级统筹实施，本镇承诺撤销"
	reasonBreach    = "逾期三十日未完成整治，经县信用办核查认定未践诺"
	noteFirst       = "已走访独居老人12户，登记服务需求3项"
	noteSecond      = "完成第二轮走访，需求已办结2项"
	scriptText      = `<img src=x onerror="alert('x')">承诺内容</p><script>alert(2)</script>`
	scriptNote      = `<script>alert(3)</script>已处理`
)

func date(y int, m time.Month, d int) calendar.Date { return calendar.NewDate(y, m, d) }

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustRef(t testing.TB) func(store.Ref, error) store.Ref {
	return func(r store.Ref, err error) store.Ref {
		t.Helper()
		must(t, err)
		return r
	}
}

// demoClock is the device stores' shared clock: set moves it to the time
// of the next action, and every reading advances it one second, so the
// fixture's records carry a realistic timeline.
type demoClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *demoClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// set moves the clock forward to month/day hour:minute of 2026 (never back).
func (c *demoClock) set(m time.Month, d, hour, minute int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := time.Date(2026, m, d, hour, minute, 0, 0, cst); t.After(c.t) {
		c.t = t
	}
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	clk := &demoClock{t: time.Date(2026, 8, 31, 9, 0, 0, 0, cst)}
	muniClk := newStepClock(time.Date(2026, 10, 16, 9, 0, 0, 0, cst))
	f := &fixture{
		muni:    openStore(t, "municipal", true, muniClk.Now),
		muniClk: muniClk,
		evData:  map[protocol.Hash][]byte{},
		sent:    map[protocol.DeviceID]uint64{},
		clk:     clk,
	}
	s1 := openStore(t, "chitudian", false, clk.Now)
	s2 := openStore(t, "chengguan", false, clk.Now)
	sa := openStore(t, "luanchuan-admin", false, clk.Now)
	f.t1 = setup(t, s1, offChitudian, domain.RoleLeader, acctLeader, "赤土店镇王主任")
	f.t2 = setup(t, s2, offChengguan, domain.RoleLeader, acctLeader2, "城关镇李主任")
	f.a = setup(t, sa, offLuanchuan, domain.RoleCountyAdmin, acctAdmin, "栾川县信用办赵科长")
	for _, se := range []*store.Session{f.t1, f.t2, f.a} {
		must(t, f.muni.PutDevice(se.Device()))
		f.devices = append(f.devices, se.Device().ID.String())
	}
	must(t, sa.PutDevice(f.t1.Device()))

	ref := mustRef(t)
	t1 := f.t1
	pub := func(r store.Ref) { t.Helper(); must(t, t1.Publish(r)) }
	fulfil := func(r store.Ref, in store.EntryInput) { t.Helper(); _, err := t1.LogFulfilment(r, in); must(t, err) }

	// In the order of the calendar: the clock only moves forward.
	clk.set(time.September, 1, 9, 30)
	f.elderly = ref(t1.Create(store.Draft{Category: domain.CatElderlyCare, Title: titleElderly,
		Text: "由社区网格员每月至少上门走访一次，了解生活、就医需求并登记办理。", LegalBasis: "《河南省老年人权益保障条例》",
		Responsible: "张建国（副镇长）", StartDate: date(2026, 9, 1), Deadline: domain.DateDeadline(date(2026, 12, 31)), Public: true}))
	must(t, t1.Edit(f.elderly, domain.FieldText, "由社区网格员每月至少上门走访一次，了解生活、就医需求并登记办理。（草稿修改，不应公开）"))
	must(t, t1.Edit(f.elderly, domain.FieldText, "由社区网格员每月至少上门走访一次，了解生活、就医需求并登记办理。"))
	clk.set(time.September, 2, 10, 0)
	pub(f.elderly)
	clk.set(time.September, 3, 9, 0)
	must(t, t1.Transition(f.elderly, domain.StatusInProgress, ""))

	clk.set(time.September, 4, 9, 0)
	f.withdrawn = ref(t1.Create(store.Draft{Category: domain.CatParking, Title: titleWithdrawn, Text: "在镇区老旧小区改造停车位200个",
		Responsible: "刘洋", Public: true}))
	f.breached = ref(t1.Create(store.Draft{Category: domain.CatFireTheft, Title: titleBreached, Text: "清理集镇主街消防通道占道，保持24小时畅通",
		Responsible: "孙伟", Deadline: domain.DateDeadline(date(2026, 9, 10)), Public: true}))
	clk.set(time.September, 5, 10, 0)
	f.draft = ref(t1.Create(store.Draft{Category: domain.CatEmployment, Title: titleDraft, Text: "草稿内容",
		Responsible: "草稿责任人", Public: true}))
	clk.set(time.September, 6, 10, 0)
	f.private = ref(t1.Create(store.Draft{Category: domain.CatWorkTask, Title: titlePrivate, Text: "内部工作任务",
		Responsible: "内部责任人", Public: false}))
	pub(f.private)
	clk.set(time.September, 7, 10, 0)
	pub(f.withdrawn)
	pub(f.breached)
	clk.set(time.September, 8, 10, 0)
	f.script = ref(t1.Create(store.Draft{Category: domain.CatConvenience, Title: titleScript, Text: scriptText,
		Responsible: `"><b>责任人</b>`, Deadline: domain.DateDeadline(date(2026, 10, 1)), Public: true}))
	pub(f.script)
	clk.set(time.September, 9, 10, 0)
	f.draftGone = ref(t1.Create(store.Draft{Category: domain.CatHousing, Title: titleDraftGone, Text: "x", Responsible: "y", Public: true}))
	must(t, t1.Withdraw(f.draftGone, "草稿作废"))

	clk.set(time.September, 10, 10, 0)
	f.school = ref(f.t2.Create(store.Draft{Category: domain.CatSchooling, Title: titleSchool, Text: "适龄儿童入学材料齐全的，当场办结；材料不全的，一次性告知所需材料。",
		LegalBasis: "《中华人民共和国义务教育法》", Responsible: "周敏", Deadline: domain.DateDeadline(date(2026, 9, 30)), Public: true}))
	must(t, f.t2.Publish(f.school))

	clk.set(time.September, 15, 16, 20)
	f.evCited = f.addEvidence(t, t1, "走访登记表（第一轮）.pdf", "application/pdf", []byte("%PDF-1.4 走访登记表 第一轮"))
	fulfil(f.elderly, store.EntryInput{Date: date(2026, 9, 15), Progress: 40, Note: noteFirst, Evidence: []protocol.Hash{f.evCited}})

	clk.set(time.September, 20, 15, 0)
	f.evPrivate = f.addEvidence(t, t1, "内部材料.pdf", "application/pdf", []byte("%PDF-1.4 内部材料"))
	fulfil(f.private, store.EntryInput{Date: date(2026, 9, 20), Progress: 10, Note: "内部记录", Evidence: []protocol.Hash{f.evPrivate}})
	f.evUncited = f.addEvidence(t, t1, "未引用材料.pdf", "application/pdf", []byte("%PDF-1.4 未引用"))
	fulfil(f.script, store.EntryInput{Date: date(2026, 9, 20), Progress: 20, Note: scriptNote})

	clk.set(time.September, 25, 11, 0)
	must(t, f.t2.CloseFulfilled(f.school, date(2026, 9, 25), calendar.Default()))

	clk.set(time.September, 28, 11, 0)
	must(t, t1.Amend(f.elderly, []store.Change{
		{Field: domain.FieldText, Value: "由社区网格员每两周至少上门走访一次，了解生活、就医需求并登记办理。"},
		{Field: domain.FieldDeadline, Value: domain.DateDeadline(date(2026, 11, 30)).String()},
	}, reasonAmend))

	clk.set(time.September, 29, 9, 0)
	f.workdays = ref(t1.Create(store.Draft{Category: domain.CatAdminTimeLimit, Title: titleWorkdays, Text: "受理最低生活保障申请后，7个工作日内完成审核并书面告知结果。",
		LegalBasis: "《社会救助暂行办法》", Responsible: "陈静", StartDate: date(2026, 9, 29), Deadline: domain.WorkdaysDeadline(7), Public: true}))
	pub(f.workdays)

	clk.set(time.October, 9, 10, 0)
	must(t, t1.Withdraw(f.withdrawn, reasonWithdrawn))

	clk.set(time.October, 10, 17, 0)
	f.evHTML = f.addEvidence(t, t1, "照片说明.html", "text/html", []byte("<html><script>alert(4)</script></html>"))
	fulfil(f.elderly, store.EntryInput{Date: date(2026, 10, 10), Progress: 70, Note: noteSecond,
		Evidence: protocol.SortHashes([]protocol.Hash{f.evCited, f.evHTML})})

	// The county admin confirms the breach on its own device, which has
	// the township's records.
	clk.set(time.October, 15, 10, 0)
	f.deliverTo(t, f.t1, sa, &f.adminSent)
	must(t, f.a.Transition(f.breached, domain.StatusBreached, reasonBreach))

	clk.set(time.October, 16, 9, 0)
	f.sync(t)
	f.h = New(Config{Store: f.muni, Now: func() time.Time { return fixedNow }, Logger: quietLogger()})
	return f
}

func (f *fixture) addEvidence(t testing.TB, se *store.Session, name, mime string, data []byte) protocol.Hash {
	t.Helper()
	h, err := se.AddEvidence(name, mime, bytes.NewReader(data))
	must(t, err)
	f.evData[h] = data
	return h
}

// deliverTo seals se's pending actions and applies its change sets after
// *sent to dst, failing on any refusal.
func (f *fixture) deliverTo(t testing.TB, se *store.Session, dst *store.Store, sent *uint64) {
	t.Helper()
	_, err := se.Seal(0)
	must(t, err)
	sets, err := se.Store().ChangeSets(se.Device().ID, *sent, 0)
	must(t, err)
	if len(sets) == 0 {
		return
	}
	res, err := dst.Apply(sets...)
	must(t, err)
	for _, r := range res {
		if !r.Applied() {
			t.Fatalf("change set %d refused: %s %v", r.Seq, r.Code, r.Err)
		}
	}
	*sent += uint64(len(sets))
}

// sync delivers every device's change sets to the municipal store (the
// township's first: the admin's breach builds on them) and the evidence
// content.
func (f *fixture) sync(t testing.TB) {
	t.Helper()
	for _, se := range []*store.Session{f.t1, f.t2, f.a} {
		n := f.sent[se.Device().ID]
		f.deliverTo(t, se, f.muni, &n)
		f.sent[se.Device().ID] = n
	}
	for h, data := range f.evData {
		must(t, f.muni.PutEvidenceContent(h, data))
	}
}

// get serves one request and returns the recorder.
func get(t testing.TB, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
	return w
}

func getOK(t testing.TB, h http.Handler, target string) string {
	t.Helper()
	w := get(t, h, target)
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", target, w.Code, w.Body.String())
	}
	return w.Body.String()
}

func getJSON(t testing.TB, h http.Handler, target string, v any) {
	t.Helper()
	body := getOK(t, h, target)
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v\n%s", target, err, body)
	}
}

func detailPath(r store.Ref) string { return "/c/" + string(r.Office) + "/" + r.ID.String() }

var (
	detailLink = regexp.MustCompile(`href="c/(\d+)/([0-9a-f]{32})"`)
	nextLink   = regexp.MustCompile(`href="(\?[^"]*)" rel="next"`)
)

// listRefs returns the detail links of a list page, in order.
func listRefs(body string) []string {
	var out []string
	for _, m := range detailLink.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1]+"/"+m[2])
	}
	return out
}

// nextHref returns the page's "next page" link, unescaped, or "".
func nextHref(body string) string {
	m := nextLink.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return strings.ReplaceAll(m[1], "&amp;", "&")
}

func refString(r store.Ref) string { return string(r.Office) + "/" + r.ID.String() }

// bulkPublish publishes n commitments of office o through signed change
// sets from a device made here, applied to st 250 commitments at a time:
// the path every record takes into a municipal store, without the cost of
// one bbolt transaction per action (about 1 ms each, 20 s for 10,000
// commitments made and published through a Session). The stamps start at hlc, two per commitment, so
// two calls with the same hlc produce equal update stamps (ties for the
// list's order to break).
func bulkPublish(t testing.TB, st *store.Store, o office.Code, n int, hlc protocol.HLC, title string) []store.Ref {
	t.Helper()
	pubKey, priv, err := ed25519.GenerateKey(nil)
	must(t, err)
	dev := protocol.DeviceIDFromKey(pubKey)
	must(t, st.PutDevice(store.DeviceRecord{ID: dev, Key: pubKey, Office: o, Name: "bulk"}))
	cats := domain.Categories()
	refs := make([]store.Ref, n)
	ops := make([]protocol.Op, 0, 2*n)
	for i := range n {
		id := protocol.NewEntityID()
		refs[i] = store.Ref{Office: o, ID: id}
		values := map[domain.Field]string{
			domain.FieldCategory: string(cats[i%len(cats)]), domain.FieldTitle: fmt.Sprintf("%s第%05d号", title, i),
			domain.FieldText: "批量生成的承诺内容", domain.FieldLegalBasis: "", domain.FieldResponsible: "批量责任人",
			domain.FieldStartDate: "", domain.FieldDeadline: "date:2026-12-31", domain.FieldPublic: "true",
			domain.FieldStatus: string(domain.StatusDraft),
		}
		create := protocol.Op{Num: uint64(2*i + 1), HLC: hlc + protocol.HLC(2*i), Kind: protocol.OpCreate, Office: o, Target: id}
		for _, f := range domain.Fields() {
			create.Writes = append(create.Writes, protocol.FieldWrite{Field: f, Value: values[f]})
		}
		publish := protocol.Op{Num: uint64(2*i + 2), HLC: hlc + protocol.HLC(2*i+1), Kind: protocol.OpTransition, Office: o, Target: id,
			From: domain.StatusDraft, Writes: []protocol.FieldWrite{{Field: domain.FieldStatus, Value: string(domain.StatusPublished),
				Base: []protocol.OpID{{Device: dev, Num: create.Num}}}}}
		ops = append(ops, create, publish)
	}
	var raws [][]byte
	var prev protocol.Hash
	for seq := uint64(1); len(ops) > 0; seq++ {
		k := min(len(ops), 500)
		cs := &protocol.ChangeSet{Device: dev, Office: o, Author: "bulk", AuthorRole: domain.RoleLeader, Seq: seq, Prev: prev, Ops: ops[:k]}
		must(t, cs.Seal(priv))
		raws, prev, ops = append(raws, cs.Bytes()), cs.Hash(), ops[k:]
	}
	// One transaction per change set: bbolt splits its pages only on
	// commit, so one transaction for everything inserts into ever larger
	// in-memory pages and grows quadratically.
	for _, raw := range raws {
		res, err := st.Apply(raw)
		must(t, err)
		if r := res[0]; !r.Applied() {
			t.Fatalf("bulk change set %d refused: %s %v", r.Seq, r.Code, r.Err)
		}
	}
	return refs
}
