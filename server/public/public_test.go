package public

import (
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
)

// shownTitles and hiddenTitles partition the fixture by the publication
// rules.
var (
	shownTitles  = []string{titleElderly, titleScript, titleWithdrawn, titleWorkdays, titleBreached, titleSchool}
	hiddenTitles = []string{titleDraft, titlePrivate, titleDraftGone}
)

func (f *fixture) shownRefs() []store.Ref {
	return []store.Ref{f.elderly, f.script, f.withdrawn, f.workdays, f.breached, f.school}
}

func (f *fixture) hiddenRefs() []store.Ref { return []store.Ref{f.draft, f.private, f.draftGone} }

// secrets are strings no public output may contain: account names, their
// display names, device IDs and text that only ever was in a draft.
func (f *fixture) secrets() []string {
	s := []string{acctLeader, acctLeader2, acctAdmin, "赤土店镇王主任", "城关镇李主任", "栾川县信用办赵科长",
		"草稿修改，不应公开", "内部记录", "内部材料", "未引用材料", "草稿作废", "草稿责任人"}
	for _, d := range f.devices {
		s = append(s, d, d[:7])
	}
	return s
}

func checkNoSecrets(t *testing.T, f *fixture, what, body string) {
	t.Helper()
	for _, s := range f.secrets() {
		if strings.Contains(body, s) {
			t.Errorf("%s shows %q, which must stay internal", what, s)
		}
	}
	for _, title := range hiddenTitles {
		if strings.Contains(body, title) || strings.Contains(body, html.EscapeString(title)) {
			t.Errorf("%s shows hidden commitment %q", what, title)
		}
	}
}

func TestListShowsOnlyPublished(t *testing.T) {
	f := newFixture(t)
	body := getOK(t, f.h, "/")
	for _, title := range shownTitles {
		if !strings.Contains(body, html.EscapeString(title)) {
			t.Errorf("list lacks %q", title)
		}
	}
	checkNoSecrets(t, f, "list", body)
	got := listRefs(body)
	if len(got) != len(shownTitles) {
		t.Errorf("list links %d commitments, want %d: %v", len(got), len(shownTitles), got)
	}
	for _, r := range f.hiddenRefs() {
		if slices.Contains(got, refString(r)) {
			t.Errorf("list links hidden %s", r)
		}
		if w := get(t, f.h, detailPath(r)); w.Code != http.StatusNotFound {
			t.Errorf("detail of hidden %s: %d, want 404", r, w.Code)
		}
	}
	// Newest update first: the breach was the last action on 栾川's records
	// and the school the last on 嵩县's, made before it.
	if got[0] != refString(f.breached) {
		t.Errorf("first row %s, want the breached commitment %s (most recently updated)", got[0], f.breached)
	}
	if !strings.Contains(body, reasonWithdrawn) {
		t.Error("list does not show the withdrawal reason")
	}
	if !strings.Contains(body, reasonBreach) {
		t.Error("list does not show the breach reason")
	}
	if !strings.Contains(body, `lang="zh-Hans"`) || !strings.Contains(body, `name="viewport"`) {
		t.Error("page lacks its language or viewport")
	}
}

func TestFeedShowsOnlyPublished(t *testing.T) {
	f := newFixture(t)
	raw := getOK(t, f.h, "/api/v1/commitments")
	checkNoSecrets(t, f, "feed", raw)
	var p CommitmentsPage
	must(t, json.Unmarshal([]byte(raw), &p))
	if p.Schema != SchemaCommitments || !p.Changes || p.FeedID == "" || p.FeedPosition == 0 {
		t.Errorf("page header: schema %q changes %v feed %q position %d", p.Schema, p.Changes, p.FeedID, p.FeedPosition)
	}
	var ids []string
	for _, c := range p.Items {
		ids = append(ids, c.Office+"/"+c.ID)
	}
	var want []string
	for _, r := range f.shownRefs() {
		want = append(want, refString(r))
	}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("feed items\n%v\nwant (sorted by office, id)\n%v", ids, want)
	}
	if p.Total != len(want) || p.NextCursor != nil {
		t.Errorf("total %d next %v, want %d and no next page", p.Total, p.NextCursor, len(want))
	}

	var ch ChangesPage
	getJSON(t, f.h, "/api/v1/changes?since=0", &ch)
	checkNoSecrets(t, f, "changes", mustMarshal(t, ch))
	var changed []string
	for _, c := range ch.Changes {
		if c.Action != "upsert" {
			t.Errorf("change %s/%s: action %q on a fresh feed", c.Office, c.ID, c.Action)
		}
		changed = append(changed, c.Office+"/"+c.ID)
	}
	slices.Sort(changed)
	if !slices.Equal(changed, want) {
		t.Errorf("changes since 0\n%v\nwant\n%v", changed, want)
	}
	if ch.NextSince != ch.Head || ch.More || ch.FeedID != p.FeedID {
		t.Errorf("changes: next %d head %d more %v feed %q/%q", ch.NextSince, ch.Head, ch.More, ch.FeedID, p.FeedID)
	}
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	must(t, err)
	return string(b)
}

func TestScriptTitleIsEscaped(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/", detailPath(f.script), "/?q=" + url.QueryEscape("<script>")} {
		body := getOK(t, f.h, path)
		if strings.Contains(strings.ToLower(body), "<script") {
			t.Errorf("%s contains a <script element:\n%s", path, body)
		}
		if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s does not show the title as text", path)
		}
		if strings.Contains(body, "<img") || strings.Contains(body, "<b>") {
			t.Errorf("%s lets user markup through", path)
		}
	}
	detail := getOK(t, f.h, detailPath(f.script))
	for _, s := range []string{scriptText, scriptNote, `"><b>责任人</b>`} {
		if !strings.Contains(detail, html.EscapeString(s)) && !strings.Contains(detail, tmplEscape(s)) {
			t.Errorf("detail does not show %q as text", s)
		}
	}

	raw := getOK(t, f.h, "/api/v1/commitments")
	if strings.Contains(raw, "<script") {
		t.Error("JSON carries a raw <script (must be \\u003c-escaped)")
	}
	var p CommitmentsPage
	must(t, json.Unmarshal([]byte(raw), &p))
	found := false
	for _, c := range p.Items {
		if c.ID == f.script.ID.String() {
			found = true
			if c.Title != titleScript || c.Text != scriptText || c.Entries[0].Note != scriptNote {
				t.Errorf("JSON changed the text: %q %q %q", c.Title, c.Text, c.Entries[0].Note)
			}
		}
	}
	if !found {
		t.Error("the script-titled commitment is missing from the feed")
	}
}

// tmplEscape is how html/template escapes text: like html.EscapeString,
// and + as &#43; besides.
func tmplEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "+", "&#43;")
	return r.Replace(s)
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/", detailPath(f.elderly), "/api/v1/commitments", "/nope", "/evidence/" + f.evCited.String()} {
		w := get(t, f.h, path)
		hd := w.Header()
		csp := hd.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") && !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if strings.Contains(csp, "unsafe-eval") || (strings.Contains(csp, "script-src") && !strings.Contains(csp, "script-src 'none'")) {
			t.Errorf("%s: CSP allows script: %q", path, csp)
		}
		if hd.Get("X-Content-Type-Options") != "nosniff" || hd.Get("Referrer-Policy") == "" {
			t.Errorf("%s: nosniff %q, referrer %q", path, hd.Get("X-Content-Type-Options"), hd.Get("Referrer-Policy"))
		}
	}
	w := get(t, f.h, "/")
	csp := w.Header().Get("Content-Security-Policy")
	i := strings.Index(csp, "'nonce-")
	if i < 0 {
		t.Fatalf("page CSP has no style nonce: %q", csp)
	}
	nonce := csp[i+len("'nonce-"):]
	nonce = nonce[:strings.IndexByte(nonce, '\'')]
	if !strings.Contains(w.Body.String(), `<style nonce="`+nonce+`">`) {
		t.Error("the inline style does not carry the response's nonce")
	}
	if w2 := get(t, f.h, "/"); strings.Contains(w2.Header().Get("Content-Security-Policy"), nonce) {
		t.Error("the nonce is reused across responses")
	}
	req := get(t, f.h, "/")
	if ct := req.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	post := httptest.NewRecorder()
	f.h.ServeHTTP(post, httptest.NewRequest(http.MethodPost, "/", nil))
	if post.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d, want 405", post.Code)
	}
}

func TestFilters(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		query string
		want  []store.Ref
	}{
		{"county=410325", []store.Ref{f.school}},
		{"county=410324", []store.Ref{f.elderly, f.script, f.withdrawn, f.workdays, f.breached}},
		{"township=410324101", []store.Ref{f.elderly, f.script, f.withdrawn, f.workdays, f.breached}},
		{"township=410325100", []store.Ref{f.school}},
		{"township=410324102", nil},
		{"county=410325&township=410324101", nil},
		{"category=schooling", []store.Ref{f.school}},
		{"category=elderly_care", []store.Ref{f.elderly}},
		{"category=work_task", nil}, // only the non-public one
		{"category=employment", nil},
		{"status=withdrawn", []store.Ref{f.withdrawn}},
		{"status=breached", []store.Ref{f.breached}},
		{"status=in_progress", []store.Ref{f.elderly}},
		{"status=fulfilled_on_time", []store.Ref{f.school}},
		{"status=published", []store.Ref{f.script, f.workdays}},
		{"q=" + url.QueryEscape("独居老人"), []store.Ref{f.elderly}},
		{"q=" + url.QueryEscape("每两周"), []store.Ref{f.elderly}},    // amended text
		{"q=" + url.QueryEscape("草稿修改"), nil},                      // draft-time text
		{"q=" + url.QueryEscape("陈静"), []store.Ref{f.workdays}},    // responsible official
		{"q=" + url.QueryEscape("内部"), nil},                        // non-public
		{"q=" + url.QueryEscape("消防 清理"), []store.Ref{f.breached}}, // every word must match
		{"q=" + url.QueryEscape("消防　入学"), nil},                     // ideographic space separates too
		{"county=410324&category=fire_theft&status=breached", []store.Ref{f.breached}},
	}
	for _, c := range cases {
		var want []string
		for _, r := range c.want {
			want = append(want, refString(r))
		}
		slices.Sort(want)
		got := listRefs(getOK(t, f.h, "/?"+c.query))
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("list ?%s:\n got %v\nwant %v", c.query, got, want)
		}
		var p CommitmentsPage
		getJSON(t, f.h, "/api/v1/commitments?"+c.query, &p)
		var ids []string
		for _, it := range p.Items {
			ids = append(ids, it.Office+"/"+it.ID)
		}
		if !slices.Equal(ids, want) || p.Total != len(want) {
			t.Errorf("feed ?%s:\n got %v (total %d)\nwant %v", c.query, ids, p.Total, want)
		}
	}
	for _, bad := range []string{"county=41032", "county=410324101", "township=410324", "category=nope", "status=draft", "cursor=zzz"} {
		if w := get(t, f.h, "/?"+bad); w.Code != http.StatusBadRequest {
			t.Errorf("list ?%s: %d, want 400", bad, w.Code)
		}
		if w := get(t, f.h, "/api/v1/commitments?"+bad); w.Code != http.StatusBadRequest {
			t.Errorf("feed ?%s: %d, want 400", bad, w.Code)
		}
	}
	// The form keeps the choice and offers only the chosen county's townships.
	body := getOK(t, f.h, "/?county=410325&status=breached")
	if !strings.Contains(body, `<option value="410325" selected>`) || !strings.Contains(body, `<option value="breached" selected>`) {
		t.Error("the form does not keep the chosen filters")
	}
	if strings.Contains(body, `value="410324101"`) || !strings.Contains(body, `value="410325100"`) {
		t.Error("the township list does not follow the chosen county")
	}
}

func TestDetailPage(t *testing.T) {
	f := newFixture(t)
	body := getOK(t, f.h, detailPath(f.elderly))
	checkNoSecrets(t, f, "detail", body)
	for _, want := range []string{
		titleElderly,
		"由社区网格员每两周至少上门走访一次", // current text, after the amendment
		"《河南省老年人权益保障条例》",
		"张建国（副镇长）",
		"栾川县 · 赤土店镇",
		"践诺中",
		"2026-11-30",       // amended deadline
		reasonAmend,        // amendment reason
		"变更为第 2 版",         // the version it made
		"2026-12-31",       // deadline before the amendment
		"由社区网格员每月至少上门走访一次", // text before the amendment (the published one)
		noteFirst, noteSecond, "2026-09-15", "2026-10-10", "40%", "70%",
		"走访登记表（第一轮）.pdf", f.evCited.String(), "evidence/" + f.evCited.String(),
		"照片说明.html",
		"第 2 版",
	} {
		if !strings.Contains(body, html.EscapeString(want)) {
			t.Errorf("detail lacks %q", want)
		}
	}
	if strings.Index(body, noteFirst) > strings.Index(body, noteSecond) {
		t.Error("timeline is not in date order")
	}
	// Relative links, so the page works under any prefix.
	if !strings.Contains(body, `href="../../evidence/`+f.evCited.String()+`"`) || !strings.Contains(body, `href="../../"`) {
		t.Error("detail links are not relative to the list")
	}

	// A working-day deadline shows the date it falls on, with the holiday
	// calendar: 7 working days from 2026-09-29 cross the National Day week.
	due, ok, err := domain.WorkdaysDeadline(7).Resolve(date(2026, 9, 29), calendar.Default())
	if !ok || err != nil {
		t.Fatalf("resolving the fixture's deadline: %v %v", ok, err)
	}
	body = getOK(t, f.h, detailPath(f.workdays))
	if want := "7 个工作日内（至 " + due.String() + "）"; !strings.Contains(body, want) {
		t.Errorf("workday deadline: want %q", want)
	}
	if due == date(2026, 10, 8) || !due.After(date(2026, 10, 8)) {
		t.Logf("note: resolved deadline %s", due)
	}
	if !strings.Contains(body, "已逾期") {
		t.Error("an open commitment past its deadline is not shown as overdue")
	}

	body = getOK(t, f.h, detailPath(f.withdrawn))
	if !strings.Contains(body, "撤销理由") || !strings.Contains(body, reasonWithdrawn) || !strings.Contains(body, "已撤销") {
		t.Error("withdrawn commitment does not show its status and reason")
	}
	body = getOK(t, f.h, detailPath(f.breached))
	if !strings.Contains(body, reasonBreach) || !strings.Contains(body, "未践诺") {
		t.Error("breached commitment does not show the county's finding")
	}
	checkNoSecrets(t, f, "breach detail", body)

	// The feed carries the same record.
	var p CommitmentsPage
	getJSON(t, f.h, "/api/v1/commitments?category=elderly_care", &p)
	if len(p.Items) != 1 {
		t.Fatalf("feed: %d items", len(p.Items))
	}
	c := p.Items[0]
	if len(c.Amendments) != 1 || c.Amendments[0].Reason != reasonAmend || c.Amendments[0].Version != 2 || len(c.Amendments[0].Changes) != 2 {
		t.Fatalf("feed amendments: %+v", c.Amendments)
	}
	if ch := c.Amendments[0].Changes[1]; ch.Field != "deadline" || ch.From != "date:2026-12-31" || ch.To != "date:2026-11-30" {
		t.Errorf("deadline change: %+v", ch)
	}
	if len(c.Entries) != 2 || c.Entries[1].Progress != 70 || len(c.Entries[1].Evidence) != 2 || len(c.Evidence) != 2 {
		t.Errorf("feed entries/evidence: %+v %+v", c.Entries, c.Evidence)
	}
	if c.Deadline != (Deadline{Kind: "date", Date: "2026-11-30"}) || c.Status != "in_progress" || c.Version != 2 || c.Progress != 70 {
		t.Errorf("feed record: %+v", c)
	}
	if len(c.StatusHistory) != 2 || c.StatusHistory[0].Status != "published" {
		t.Errorf("status history: %+v", c.StatusHistory)
	}
	if c.URL != detailPath(f.elderly) || c.Evidence[0].URL == "" {
		t.Errorf("links: %q %q", c.URL, c.Evidence[0].URL)
	}
	if _, err := time.Parse(time.RFC3339, c.PublishedAt); err != nil {
		t.Errorf("published_at %q: %v", c.PublishedAt, err)
	}
}

func TestEvidenceDownload(t *testing.T) {
	f := newFixture(t)
	w := get(t, f.h, "/evidence/"+f.evCited.String())
	if w.Code != http.StatusOK || w.Body.String() != string(f.evData[f.evCited]) {
		t.Fatalf("cited evidence: %d %q", w.Code, w.Body.String())
	}
	hd := w.Header()
	if hd.Get("Content-Type") != "application/pdf" {
		t.Errorf("Content-Type %q", hd.Get("Content-Type"))
	}
	if cd := hd.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, "filename*=utf-8''") {
		t.Errorf("Content-Disposition %q", cd)
	}
	// A file declared as HTML is served as bytes, never as a page.
	w = get(t, f.h, "/evidence/"+f.evHTML.String())
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/octet-stream" ||
		!strings.HasPrefix(w.Header().Get("Content-Disposition"), "attachment") {
		t.Errorf("HTML evidence: %d %q %q", w.Code, w.Header().Get("Content-Type"), w.Header().Get("Content-Disposition"))
	}
	// Refused: not cited at all; cited only by a non-public commitment;
	// not a hash; unknown.
	for name, path := range map[string]string{
		"uncited":        "/evidence/" + f.evUncited.String(),
		"private":        "/evidence/" + f.evPrivate.String(),
		"malformed":      "/evidence/xyz",
		"unknown":        "/evidence/" + strings.Repeat("ab", 32),
		"path traversal": "/evidence/..%2f..%2fetc%2fpasswd",
	} {
		if w := get(t, f.h, path); w.Code != http.StatusNotFound || w.Body.String() == string(f.evData[f.evUncited]) {
			t.Errorf("%s evidence: %d, want 404", name, w.Code)
		}
	}
}

func TestChangesIncremental(t *testing.T) {
	f := newFixture(t)
	var first ChangesPage
	getJSON(t, f.h, "/api/v1/changes?since=0", &first)
	head := first.Head

	// Later: an entry on one, another made non-public, a new draft, a new
	// published commitment.
	f.clk.set(time.October, 18, 9, 0)
	_, err := f.t1.LogFulfilment(f.elderly, store.EntryInput{Date: date(2026, 10, 12), Progress: 90, Note: "第三轮走访完成"})
	must(t, err)
	must(t, f.t1.Amend(f.workdays, []store.Change{{Field: domain.FieldPublic, Value: "false"}}, "涉及申请人隐私，改为不公开"))
	_, err = f.t1.Create(store.Draft{Category: domain.CatEmployment, Title: "新草稿", Text: "x", Responsible: "y", Public: true})
	must(t, err)
	fresh := mustRef(t)(f.t2.Create(store.Draft{Category: domain.CatTransport, Title: "公交站台改造", Text: "改造站台3处", Responsible: "周敏", Public: true}))
	must(t, f.t2.Publish(fresh))
	f.sync(t)

	var ch ChangesPage
	getJSON(t, f.h, "/api/v1/changes?since="+itoa(head), &ch)
	got := map[string]string{}
	for _, c := range ch.Changes {
		got[c.Office+"/"+c.ID] = c.Action
		if c.Action == "upsert" && c.Commitment == nil || c.Action == "remove" && c.Commitment != nil {
			t.Errorf("change %+v", c)
		}
	}
	want := map[string]string{refString(f.elderly): "upsert", refString(f.workdays): "remove", refString(fresh): "upsert"}
	if len(got) != len(want) {
		t.Errorf("changes since %d: %v, want %v", head, got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("change of %s: %q, want %q", k, got[k], v)
		}
	}
	if ch.NextSince != ch.Head || ch.Head <= head || ch.More {
		t.Errorf("positions: since %d next %d head %d more %v", head, ch.NextSince, ch.Head, ch.More)
	}
	// The page and the snapshot agree.
	if w := get(t, f.h, detailPath(f.workdays)); w.Code != http.StatusNotFound {
		t.Errorf("no longer public: detail %d", w.Code)
	}
	if !strings.Contains(getOK(t, f.h, "/"), "公交站台改造") {
		t.Error("list does not show the new commitment")
	}

	// Nothing new: empty, same position.
	getJSON(t, f.h, "/api/v1/changes?since="+itoa(ch.Head), &ch)
	if len(ch.Changes) != 0 || ch.NextSince != ch.Head {
		t.Errorf("no changes expected: %+v", ch)
	}
	// Small pages cover everything exactly once.
	seen := map[string]int{}
	for since, n := uint64(0), 0; ; n++ {
		var p ChangesPage
		getJSON(t, f.h, "/api/v1/changes?limit=2&since="+itoa(since), &p)
		for _, c := range p.Changes {
			seen[c.Office+"/"+c.ID]++
		}
		if !p.More {
			break
		}
		if p.NextSince <= since || n > 100 {
			t.Fatalf("changes paging does not advance: %d -> %d", since, p.NextSince)
		}
		since = p.NextSince
	}
	for _, r := range []store.Ref{f.elderly, f.script, f.withdrawn, f.workdays, f.breached, f.school, fresh} {
		if seen[refString(r)] == 0 {
			t.Errorf("paged changes miss %s", r)
		}
	}
	if seen[refString(f.draft)] != 0 || seen[refString(f.private)] != 0 || seen[refString(f.draftGone)] != 0 {
		t.Error("paged changes mention a never-shown commitment")
	}
	// Errors.
	if w := get(t, f.h, "/api/v1/changes?since=999999"); w.Code != http.StatusConflict {
		t.Errorf("since beyond head: %d", w.Code)
	}
	if w := get(t, f.h, "/api/v1/changes?since=-1"); w.Code != http.StatusBadRequest {
		t.Errorf("negative since: %d", w.Code)
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// TestChangesNeedFeed: a store without Options.Feed serves the snapshot only.
func TestChangesNeedFeed(t *testing.T) {
	s := openStore(t, "nofeed", false, newStepClock(time.Date(2026, 9, 1, 9, 0, 0, 0, cst)).Now)
	se := setup(t, s, offChitudian, domain.RoleLeader, acctLeader, "王主任")
	r := mustRef(t)(se.Create(store.Draft{Category: domain.CatHousing, Title: "本地事项", Text: "x", Responsible: "y", Public: true}))
	must(t, se.Publish(r))
	h := New(Config{Store: s, Logger: quietLogger()})
	w := get(t, h, "/api/v1/changes?since=0")
	if w.Code != http.StatusNotImplemented || !strings.Contains(w.Body.String(), "feed_unavailable") {
		t.Errorf("changes without a feed: %d %s", w.Code, w.Body.String())
	}
	var p CommitmentsPage
	getJSON(t, h, "/api/v1/commitments", &p)
	if len(p.Items) != 1 || p.Changes || p.FeedID != "" {
		t.Errorf("snapshot without a feed: %+v", p)
	}
}

// TestMountedUnderPrefix: the pages link relatively and the feed's URLs
// carry the prefix.
func TestMountedUnderPrefix(t *testing.T) {
	f := newFixture(t)
	mux := http.NewServeMux()
	mux.Handle("/gongshi/", http.StripPrefix("/gongshi", f.h))
	body := getOK(t, mux, "/gongshi/")
	if len(listRefs(body)) != len(shownTitles) {
		t.Error("list under a prefix")
	}
	getOK(t, mux, "/gongshi"+detailPath(f.elderly))
	var p CommitmentsPage
	getJSON(t, mux, "/gongshi/api/v1/commitments?category=elderly_care", &p)
	if len(p.Items) != 1 || p.Items[0].URL != "/gongshi"+detailPath(f.elderly) ||
		p.Items[0].Evidence[0].URL != "/gongshi/evidence/"+p.Items[0].Evidence[0].SHA256 {
		t.Errorf("feed URLs under a prefix: %+v", p.Items)
	}
	getOK(t, mux, p.Items[0].Evidence[0].URL)
}

func TestNotFound(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/nope", "/c/410324101/zz", "/c/410324101/" + strings.Repeat("0", 32), "/c/999/" + f.elderly.ID.String()} {
		w := get(t, f.h, path)
		if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "未找到") {
			t.Errorf("%s: %d", path, w.Code)
		}
	}
	if w := get(t, f.h, "/api/v1/nope"); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), `"error"`) {
		t.Errorf("unknown API path: %d %s", w.Code, w.Body.String())
	}
}
