package public

import (
	"bytes"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"jiannuo/domain"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// The filer's contact, which must reach the sink and nothing else.
const (
	filerName  = "欧阳修远"
	filerPhone = "139 1234 5678"
	filerText  = "承诺每两周上门走访，但十月以来本村独居老人无人走访。\r\n请核查。"
)

func formPath(r store.Ref) string { return detailPath(r) + "/file" }

func recordFormPath(r store.Ref) string {
	return "/d/" + string(r.Office) + "/" + r.ID.String() + "/file"
}

const addrA, addrB = "203.0.113.7:40001", "198.51.100.9:51234"

// TestFileComplaint files a complaint with a contact and two files (a PNG
// named .pdf goes as the PNG it is), follows it with its tracking code
// through pending, accepted and answered, and checks that the contact and
// the code reached only the sink: in no page, log line or stored byte.
func TestFileComplaint(t *testing.T) {
	w := newWorld(t, Config{})
	pngData, pdfData := testPNG(t, 20, 20), []byte("%PDF-1.7\n走访记录扫描件")
	page := w.get(t, formPath(w.elderly), addrA).Body.String()
	for _, want := range []string{`enctype="multipart/form-data"`, `method="post"`, "最多 2000 字", "最多 3 个文件，每个不超过 5 MB",
		"只有办理本案的县级平台和乡镇（街道）可以看到", `class="hp"`, `name="website"`, `/q/`, titleElderly} {
		if !strings.Contains(page, want) {
			t.Errorf("form page lacks %q", want)
		}
	}
	if strings.Contains(page, `name="kind" value="objection"`) {
		t.Error("a commitment's form offers an objection")
	}

	res := w.file(t, formPath(w.elderly), addrA, submission{
		fields: map[string]string{fieldKind: "complaint", fieldText: filerText, fieldName: filerName, fieldPhone: filerPhone},
		files:  []part{{"走访照片.pdf", pngData}, {"记录.pdf", pdfData}},
	})
	if res.Code != http.StatusOK {
		t.Fatalf("filing: %d\n%s", res.Code, tail(res.Body.String(), 3000))
	}
	if cc := res.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("confirmation Cache-Control %q, want no-store", cc)
	}
	number, code := confirmation(t, res.Body.String())
	in, e := w.sink.last(t)
	if in.Number != number || in.Kind != domain.CaseComplaint || in.Office != w.elderly.Office || in.Commitment != w.elderly.ID ||
		!in.Record.IsZero() || in.Text != strings.ReplaceAll(filerText, "\r\n", "\n") || in.Filed != start.Add(5*time.Second).UnixMilli() {
		t.Errorf("intake: %+v", in)
	}
	if want := protocol.CaseNumber(domain.CaseComplaint, in.Filed, in.ID); in.Number != want || !strings.HasPrefix(number, "TS20261019-") {
		t.Errorf("number %q, want %q", in.Number, want)
	}
	canon, ok := protocol.NormalizeTrackingCode(code)
	if !ok || in.TrackHash != protocol.TrackHash(in.ID, canon) {
		t.Errorf("tracking hash does not belong to the code shown")
	}
	if e.contact != (protocol.Contact{Name: filerName, Phone: filerPhone}) {
		t.Errorf("contact reached the sink as %+v", e.contact)
	}
	if len(in.Attachments) != 2 {
		t.Fatalf("attachments: %+v", in.Attachments)
	}
	types := map[string]string{}
	for _, a := range in.Attachments {
		types[a.Name] = a.MIME
		if int(a.Size) != len(e.files[a.Hash]) {
			t.Errorf("attachment %s: size %d", a.Name, a.Size)
		}
	}
	if types["走访照片.pdf"] != domain.MIMEPNG || types["记录.pdf"] != domain.MIMEPDF {
		t.Errorf("attachment types by content: %v", types)
	}

	// Pending: the tracking page shows it from the sink, with the text.
	tr := w.track(t, number, strings.ToLower(strings.ReplaceAll(code, "-", "")), addrB)
	body := tr.Body.String()
	if tr.Code != http.StatusOK || !strings.Contains(body, "已提交，正在转交县级平台") || !strings.Contains(body, "本村独居老人无人走访") {
		t.Fatalf("tracking a pending filing: %d\n%s", tr.Code, tail(body, 3000))
	}
	if tr.Header().Get("Cache-Control") != "no-store" {
		t.Error("tracking page may be cached")
	}

	// Accepted by the county: the replica has the case.
	c := w.accept(t, in.ID, time.Date(2026, 10, 19, 15, 0, 0, 0, cst))
	body = w.track(t, number, code, addrB).Body.String()
	for _, want := range []string{"县级平台转交办理并确定期限", "受理期限 2026-10-22，答复期限 2026-11-09", "待受理", "走访照片.pdf",
		"本村独居老人无人走访", titleElderly} {
		if !strings.Contains(body, want) {
			t.Errorf("tracking an accepted case lacks %q", want)
		}
	}
	// Answered: the reply is public on the commitment page, the text is
	// not.
	w.answer(t, c, 20, "已安排网格员于10月21日起每周上门走访，并建立走访台账。", nil)
	w.clock.set(time.Date(2026, 10, 23, 9, 0, 0, 0, cst))
	detail := w.get(t, detailPath(w.elderly), addrB).Body.String()
	for _, want := range []string{number, "已办结", "反映属实", "已安排网格员于10月21日起每周上门走访"} {
		if !strings.Contains(detail, want) {
			t.Errorf("commitment page lacks %q", want)
		}
	}
	if strings.Contains(detail, "本村独居老人无人走访") {
		t.Error("the commitment page shows the filer's text")
	}
	body = w.track(t, number, code, addrB).Body.String()
	for _, want := range []string{"承办单位已受理", "承办单位已报送答复", "县级平台审核通过答复，已办结", "已安排网格员"} {
		if !strings.Contains(body, want) {
			t.Errorf("tracking an answered case lacks %q", want)
		}
	}
	var feed CasesPage
	rec := w.get(t, "/api/v1/cases", addrB)
	must(t, json.Unmarshal(rec.Body.Bytes(), &feed))
	if len(feed.Items) != 1 || feed.Items[0].Number != number || feed.Items[0].PublicReply == nil || feed.Items[0].Status != "accepted" {
		t.Errorf("cases feed: %s", rec.Body.String())
	}
	if strings.Contains(rec.Body.String(), "独居老人无人走访") {
		t.Error("the cases feed carries the filer's text")
	}

	// The contact and the code are nowhere but in the sink (the code:
	// once, on the confirmation page).
	stored, err := os.ReadFile(w.muni.Path())
	must(t, err)
	for _, s := range []string{filerName, filerPhone, "13912345678", canon} {
		if bytes.Contains(stored, []byte(s)) {
			t.Errorf("the municipal store file holds %q", s)
		}
		if bytes.Contains(e.raw, []byte(s)) {
			t.Errorf("the signed intake holds %q in plaintext", s)
		}
		if strings.Contains(w.logs.String(), s) {
			t.Errorf("the log holds %q", s)
		}
		for i, b := range w.served {
			if strings.Contains(b, s) {
				t.Errorf("response %d shows %q", i, s)
			}
		}
	}
	shown := 0
	for _, b := range w.served {
		if strings.Contains(b, code) {
			shown++
		}
	}
	if shown != 1 {
		t.Errorf("the tracking code is in %d responses, want only the confirmation", shown)
	}
	if strings.Contains(w.logs.String(), "本村独居老人") {
		t.Error("the log holds the filer's text")
	}
	if !strings.Contains(w.logs.String(), "filing taken") || !strings.Contains(w.logs.String(), number) {
		t.Error("the filing is not logged by its number")
	}
}

// TestFileObjection files an objection from a published record's page,
// and a complaint from the same form.
func TestFileObjection(t *testing.T) {
	w := newWorld(t, Config{})
	path := recordFormPath(w.record)
	page := w.get(t, path, addrA).Body.String()
	if !strings.Contains(page, `value="objection" checked`) || !strings.Contains(page, `value="complaint"`) {
		t.Fatalf("a record's form offers both kinds, objection first:\n%s", tail(page, 3000))
	}
	res := w.file(t, path, addrA, submission{fields: map[string]string{fieldKind: "objection", fieldText: "整治延误系施工单位原因，已于十月完成，请求更正。"}})
	if res.Code != http.StatusOK {
		t.Fatalf("objection: %d\n%s", res.Code, tail(res.Body.String(), 2000))
	}
	number, code := confirmation(t, res.Body.String())
	in, e := w.sink.last(t)
	if in.Kind != domain.CaseObjection || in.Record != w.record.ID || in.Commitment != w.breached.ID || !strings.HasPrefix(number, "YY") ||
		len(in.Contact) != 0 || !e.contact.Empty() {
		t.Errorf("objection intake: %+v", in)
	}
	c := w.accept(t, in.ID, time.Date(2026, 10, 19, 16, 0, 0, 0, cst))
	w.step(t, c, time.Date(2026, 10, 22, 10, 0, 0, 0, cst), protocol.CaseStep{Step: domain.CaseDecided, Finding: domain.FindingRejected,
		Text: "经核查，逾期事实清楚，异议不成立。"})
	w.clock.set(time.Date(2026, 10, 23, 9, 0, 0, 0, cst))
	rp := w.get(t, "/d/"+string(w.record.Office)+"/"+w.record.ID.String(), addrB).Body.String()
	for _, want := range []string{number, "异议不成立", "经核查，逾期事实清楚"} {
		if !strings.Contains(rp, want) {
			t.Errorf("record page lacks %q", want)
		}
	}
	if tb := w.track(t, number, code, addrB).Body.String(); !strings.Contains(tb, "决定期限") || !strings.Contains(tb, "异议不成立") {
		t.Errorf("tracking the objection:\n%s", tail(tb, 2000))
	}
	// A complaint from the record's form concerns its commitment.
	res = w.file(t, path, addrA, submission{fields: map[string]string{fieldKind: "complaint", fieldText: "消防通道仍被占用。"}})
	if res.Code != http.StatusOK {
		t.Fatalf("complaint from the record's form: %d", res.Code)
	}
	in, _ = w.sink.last(t)
	if in.Kind != domain.CaseComplaint || !in.Record.IsZero() || in.Commitment != w.breached.ID {
		t.Errorf("complaint from the record's form: %+v", in)
	}
}

// refusalCase is one submission the form refuses.
type refusalCase struct {
	name   string
	path   func(*world) string
	sub    submission
	before func(*world) // after the form was served, before the post
	status int
	code   protocol.Code
	shows  string // the message the form shows
}

func validText() map[string]string {
	return map[string]string{fieldKind: "complaint", fieldText: "合法的反映内容"}
}

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// TestFilingRefusals: every refusal is shown on the form with its
// message, logged with its code and the address, and stores nothing.
func TestFilingRefusals(t *testing.T) {
	elderly := func(w *world) string { return formPath(w.elderly) }
	big := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{1}, domain.MaxAttachmentBytes)...)
	png := testPNG(t, 8, 8)
	cases := []refusalCase{
		{name: "text over 2000 characters", path: elderly, sub: submission{fields: with(validText(), fieldText, strings.Repeat("字", 2001))},
			status: 413, code: protocol.CodeOversize, shows: "反映内容最多 2000 字，现为 2001 字"},
		{name: "text blank", path: elderly, sub: submission{fields: with(validText(), fieldText, " \r\n ")},
			status: 400, code: protocol.CodeInvalidOperation, shows: "请填写反映内容"},
		{name: "text with a control character", path: elderly, sub: submission{fields: with(validText(), fieldText, "内容\x07")},
			status: 400, code: protocol.CodeInvalidOperation, shows: "控制字符"},
		{name: "four files", path: elderly, sub: submission{fields: validText(),
			files: []part{{"1.png", png}, {"2.png", testPNG(t, 9, 9)}, {"3.png", testPNG(t, 10, 10)}, {"4.png", testPNG(t, 11, 11)}}},
			status: 413, code: protocol.CodeOversize, shows: "附件最多 3 个"},
		{name: "file over 5 MiB", path: elderly, sub: submission{fields: validText(), files: []part{{"大图.png", big}}},
			status: 413, code: protocol.CodeOversize, shows: "附件“大图.png”超过 5 MB 的上限"},
		{name: "HTML named .png", path: elderly, sub: submission{fields: validText(),
			files: []part{{"photo.png", []byte("<html><script>alert(1)</script></html>")}}},
			status: 415, code: protocol.CodeAttachmentType, shows: "附件“photo.png”不是 JPEG、PNG 图片或 PDF 文件"},
		{name: "empty file", path: elderly, sub: submission{fields: validText(), files: []part{{"空.pdf", nil}}},
			status: 415, code: protocol.CodeAttachmentType, shows: "不是 JPEG、PNG"},
		{name: "body over the cap", path: elderly, sub: submission{fields: with(validText(), "padding", strings.Repeat("x", 600<<10)),
			files: []part{{"1.pdf", pdfOf(domain.MaxAttachmentBytes)}, {"2.pdf", pdfOf(domain.MaxAttachmentBytes - 1)}, {"3.pdf", pdfOf(domain.MaxAttachmentBytes - 2)}}},
			status: 413, code: protocol.CodeOversize, shows: "超过大小上限"},
		{name: "honeypot filled", path: elderly, sub: submission{fields: with(validText(), fieldHoneypot, "http://spam.example")},
			status: 400, code: protocol.CodeHoneypot, shows: "表单未能受理"},
		{name: "wrong answer", path: elderly, sub: submission{fields: with(validText(), fieldAnswer, "999")},
			status: 400, code: protocol.CodeBadAnswer, shows: "验证题答案不正确"},
		{name: "answer not a number", path: elderly, sub: submission{fields: with(validText(), fieldAnswer, "三十")},
			status: 400, code: protocol.CodeBadAnswer, shows: "验证题答案不正确"},
		{name: "forged token", path: elderly, sub: submission{fields: with(validText(), fieldToken, strings.Repeat("A", 76))},
			status: 400, code: protocol.CodeBadAnswer, shows: "验证题答案不正确"},
		{name: "expired token", path: elderly, sub: submission{fields: validText()},
			before: func(w *world) { w.clock.advance(DefaultQuestionTTL) },
			status: 400, code: protocol.CodeBadAnswer, shows: "已过期"},
		{name: "too fast", path: elderly, sub: submission{fields: validText()},
			before: func(w *world) { w.clock.advance(-4 * time.Second) }, // posted 1 s after the form was served
			status: 400, code: protocol.CodeTooFast, shows: "提交过快"},
		{name: "phone with letters", path: elderly, sub: submission{fields: with(validText(), fieldPhone, "call me")},
			status: 400, code: protocol.CodeInvalidOperation, shows: "电话只能包含数字"},
		{name: "name over 40 characters", path: elderly, sub: submission{fields: with(validText(), fieldName, strings.Repeat("名", 41))},
			status: 400, code: protocol.CodeInvalidOperation, shows: "姓名最多 40 个字"},
		{name: "objection on a commitment", path: elderly, sub: submission{fields: with(validText(), fieldKind, "objection")},
			status: 400, code: protocol.CodeMalformed, shows: "无法识别"},
	}
	w := newWorld(t, Config{FormPostsPerHour: 1000})
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr := "192.0.2." + itoa(uint64(i+1)) + ":1000"
			before := w.sink.count()
			logBefore := len(w.logs.String())
			path := c.path(w)
			g := w.get(t, path, addr)
			tok := formToken(t, g.Body.String())
			fields := map[string]string{fieldToken: tok, fieldAnswer: w.answerOf(t, tok)}
			for k, v := range c.sub.fields {
				fields[k] = v
			}
			w.clock.advance(5 * time.Second)
			if c.before != nil {
				c.before(w)
			}
			res := w.post(t, path, addr, submission{fields: fields, files: c.sub.files})
			body := res.Body.String()
			if res.Code != c.status {
				t.Errorf("status %d, want %d", res.Code, c.status)
			}
			if !strings.Contains(body, c.shows) || !strings.Contains(body, `role="alert"`) || !strings.Contains(body, "代码："+string(c.code)) {
				t.Errorf("the form does not say %q:\n%s", c.shows, tail(body, 2500))
			}
			if !strings.Contains(body, `name="token"`) {
				t.Error("the form is not shown again with a new question")
			}
			if w.sink.count() != before {
				t.Error("a refused filing reached the sink")
			}
			logged := w.logs.String()[logBefore:]
			if !strings.Contains(logged, "filing refused") || !strings.Contains(logged, "code="+string(c.code)) ||
				!strings.Contains(logged, "addr="+strings.Split(addr, ":")[0]) {
				t.Errorf("log: %s", logged)
			}
			if txt := fields[fieldText]; domain.NonBlank(txt) && !strings.ContainsRune(txt, '\a') &&
				!strings.Contains(body, ">"+html.EscapeString(txt)+"</textarea>") {
				t.Error("the text is not kept")
			}
			w.clock.advance(time.Minute)
		})
	}
	// The text is kept when the form comes back, and the files must be
	// chosen again.
	res := w.file(t, formPath(w.elderly), addrA, submission{fields: with(validText(), fieldText, "保留的内容", fieldAnswer, "999"),
		files: []part{{"a.png", testPNG(t, 5, 5)}}})
	if b := res.Body.String(); !strings.Contains(b, ">保留的内容</textarea>") || !strings.Contains(b, "已选择的 1 个附件需重新选择") {
		t.Errorf("refused form does not keep the text or ask for the files:\n%s", tail(b, 3000))
	}
}

func pdfOf(n int) []byte {
	b := bytes.Repeat([]byte{'0'}, n)
	copy(b, "%PDF-1.4\n")
	return b
}

// TestFilingReplay: a token answers one post; a post sent twice files
// once.
func TestFilingReplay(t *testing.T) {
	w := newWorld(t, Config{})
	g := w.get(t, formPath(w.elderly), addrA)
	tok := formToken(t, g.Body.String())
	sub := submission{fields: with(validText(), fieldToken, tok, fieldAnswer, w.answerOf(t, tok))}
	w.clock.advance(10 * time.Second)
	if res := w.post(t, formPath(w.elderly), addrA, sub); res.Code != http.StatusOK {
		t.Fatalf("first post: %d", res.Code)
	}
	res := w.post(t, formPath(w.elderly), addrA, sub)
	if res.Code != http.StatusBadRequest || !strings.Contains(res.Body.String(), "已使用过") || w.sink.count() != 1 {
		t.Errorf("replayed post: %d, %d intakes", res.Code, w.sink.count())
	}
	if !strings.Contains(w.logs.String(), "token used before") {
		t.Error("the replay is not logged")
	}
}

// TestUnknownRecord: forms of what is not published answer 404 and store
// nothing.
func TestUnknownRecord(t *testing.T) {
	w := newWorld(t, Config{})
	for name, path := range map[string]string{
		"draft":              formPath(w.draft),
		"not public":         formPath(w.private),
		"unknown commitment": "/c/410324101/" + strings.Repeat("ab", 16) + "/file",
		"bad id":             "/c/410324101/xyz/file",
		"hidden record":      recordFormPath(w.hiddenRec),
		"unknown record":     "/d/410324101/" + strings.Repeat("cd", 16) + "/file",
	} {
		if g := w.get(t, path, addrA); g.Code != http.StatusNotFound {
			t.Errorf("GET %s form: %d", name, g.Code)
		}
		res := w.post(t, path, addrA, submission{fields: with(validText(), fieldToken, "x", fieldAnswer, "1")})
		if res.Code != http.StatusNotFound || !strings.Contains(res.Body.String(), "未公开") {
			t.Errorf("POST %s form: %d", name, res.Code)
		}
	}
	if w.sink.count() != 0 {
		t.Error("something reached the sink")
	}
	if n := strings.Count(w.logs.String(), "code=unknown_record"); n != 6 {
		t.Errorf("%d unknown_record refusals logged, want 6", n)
	}
}

// TestScriptInEveryField: what a filer types is text on every page: the
// refused form, the confirmation, the tracking page.
func TestScriptInEveryField(t *testing.T) {
	w := newWorld(t, Config{})
	const s = `<script>alert("x")</script><img src=x onerror=alert(1)>`
	fields := map[string]string{fieldKind: "complaint", fieldText: "内容" + s, fieldName: s[:20], fieldPhone: s, fieldHoneypot: ""}
	// Refused (the phone breaks the rules): the text comes back escaped.
	res := w.file(t, formPath(w.script), addrA, submission{fields: fields, files: []part{{s + ".png", testPNG(t, 4, 4)}}})
	if res.Code != http.StatusBadRequest {
		t.Fatalf("hostile phone: %d", res.Code)
	}
	// Accepted (a name may be anything printable).
	fields[fieldPhone] = ""
	fields[fieldName] = `<b>名</b>`
	res = w.file(t, formPath(w.script), addrA, submission{fields: fields, files: []part{{s + ".png", testPNG(t, 4, 4)}}})
	if res.Code != http.StatusOK {
		t.Fatalf("hostile text: %d\n%s", res.Code, tail(res.Body.String(), 2000))
	}
	number, code := confirmation(t, res.Body.String())
	in, _ := w.sink.last(t)
	w.accept(t, in.ID, time.Date(2026, 10, 19, 15, 0, 0, 0, cst))
	tr := w.track(t, number, code, addrB).Body.String()
	if !strings.Contains(tr, "内容&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Errorf("tracking page does not show the text escaped:\n%s", tail(tr, 3000))
	}
	w.track(t, s, s, addrB)
	w.get(t, detailPath(w.script), addrB)
	w.get(t, "/api/v1/cases", addrB)
	for i, b := range w.served {
		lower := strings.ToLower(b)
		if strings.Contains(lower, "<script") || strings.Contains(lower, "<img src=x") || strings.Contains(b, "<b>名") {
			t.Errorf("response %d carries markup from the filer:\n%s", i, tail(b, 1500))
		}
	}
}

// TestRateLimits: a flood from one address is refused after the limit,
// other addresses are not; the limits forget after their window.
func TestRateLimits(t *testing.T) {
	w := newWorld(t, Config{IntakePerHour: 2, IntakePerDay: 3, FormPostsPerHour: 6})
	ok := func(addr string) int {
		return w.file(t, formPath(w.elderly), addr, submission{fields: validText()}).Code
	}
	for i := range 2 {
		if c := ok(addrA); c != http.StatusOK {
			t.Fatalf("filing %d: %d", i+1, c)
		}
	}
	res := w.file(t, formPath(w.elderly), addrA, submission{fields: validText()})
	if res.Code != http.StatusTooManyRequests || !strings.Contains(res.Body.String(), "提交次数过多") ||
		!strings.Contains(res.Body.String(), "您填写的内容未能保留") {
		t.Fatalf("third filing within the hour: %d", res.Code)
	}
	if c := ok(addrB); c != http.StatusOK {
		t.Errorf("another address: %d", c)
	}
	if !strings.Contains(w.logs.String(), "code=rate_limited addr=203.0.113.7") {
		t.Errorf("rate limit not logged with the address:\n%s", w.logs.String())
	}
	w.clock.advance(time.Hour)
	if c := ok(addrA); c != http.StatusOK {
		t.Errorf("after an hour: %d", c)
	}
	w.clock.advance(time.Hour)
	if c := ok(addrA); c != http.StatusTooManyRequests {
		t.Errorf("fourth filing of the day: %d", c)
	}
	if w.sink.count() != 4 {
		t.Errorf("%d filings taken, want 4", w.sink.count())
	}
	// Refused posts count too: a script hammering wrong answers is cut off.
	const addrC = "[2001:db8:1:2:3::9]:443"
	for i := range 6 {
		if c := w.file(t, formPath(w.elderly), addrC, submission{fields: with(validText(), fieldAnswer, "0")}).Code; c != http.StatusBadRequest {
			t.Fatalf("wrong answer %d: %d", i, c)
		}
	}
	if c := w.file(t, formPath(w.elderly), "[2001:db8:1:2:ffff::1]:80", submission{fields: validText()}).Code; c != http.StatusTooManyRequests {
		t.Errorf("the same /64 after six posts: %d", c)
	}
}

// TestTrustedProxy: the proxy's header names the client only when it is
// configured.
func TestTrustedProxy(t *testing.T) {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.RemoteAddr = "10.0.0.2:5555"
	req.Header.Set("X-Forwarded-For", "1.1.1.1, 203.0.113.50")
	if a := clientAddr(req, ""); a != "10.0.0.2" {
		t.Errorf("without a trusted header: %s", a)
	}
	if a := clientAddr(req, "X-Forwarded-For"); a != "203.0.113.50" {
		t.Errorf("with X-Forwarded-For: %s", a)
	}
	req.Header.Set("X-Forwarded-For", "garbage")
	if a := clientAddr(req, "X-Forwarded-For"); a != "10.0.0.2" {
		t.Errorf("unreadable header: %s", a)
	}
	req.RemoteAddr = "[2001:db8::1]:80"
	if a := clientAddr(req, ""); a != "2001:db8::/64" {
		t.Errorf("IPv6: %s", a)
	}
}

// TestLimiterTableBounded: the table forgets the least recently seen
// address first.
func TestLimiterTableBounded(t *testing.T) {
	l := newLimiter(&Config{RateTableSize: 2, TrackFailuresPerHour: 1})
	now := start
	l.trackFailed("a", now)
	l.trackFailed("b", now)
	if l.trackAllowed("a", now) {
		t.Error("a is allowed after its failure")
	}
	l.trackFailed("c", now) // forgets b, the least recently seen
	if len(l.addrs) != 2 || l.lru.Len() != 2 {
		t.Errorf("table holds %d addresses", len(l.addrs))
	}
	if !l.trackAllowed("b", now) {
		t.Error("b was not forgotten")
	}
}

// TestTracking: a right code shows the case, a wrong one does not, and a
// guesser is stopped.
func TestTracking(t *testing.T) {
	w := newWorld(t, Config{TrackFailuresPerHour: 3})
	res := w.file(t, formPath(w.elderly), addrA, submission{fields: validText()})
	number, code := confirmation(t, res.Body.String())

	g := w.get(t, "/case", addrA).Body.String()
	if !strings.Contains(g, `method="post"`) || !strings.Contains(g, `type="password" id="code"`) {
		t.Error("the tracking form does not post the code")
	}
	for _, typed := range []string{code, strings.ToLower(code), strings.ReplaceAll(code, "-", " ")} {
		if r := w.track(t, " "+strings.ToLower(number)+" ", typed, addrA); r.Code != http.StatusOK {
			t.Errorf("code as %q: %d", typed, r.Code)
		}
	}
	// The last character changed to another of the alphabet (an X for
	// anything but an X).
	last := "X"
	if strings.EqualFold(code[13:], "X") {
		last = "Y"
	}
	wrong := []string{"0000-0000-0000", code[:13] + last, ""}
	for _, c := range wrong {
		r := w.track(t, number, c, addrB)
		if r.Code != http.StatusForbidden || !strings.Contains(r.Body.String(), "案件编号或查询码不正确") ||
			strings.Contains(r.Body.String(), "合法的反映内容") {
			t.Errorf("wrong code %q: %d", c, r.Code)
		}
	}
	r := w.track(t, number, code, addrB)
	if r.Code != http.StatusTooManyRequests || strings.Contains(r.Body.String(), "合法的反映内容") {
		t.Errorf("right code after three wrong ones: %d", r.Code)
	}
	if r := w.track(t, number, code, addrA); r.Code != http.StatusOK {
		t.Errorf("another address: %d", r.Code)
	}
	if r := w.track(t, "TS20261019-XXXXXXXX", code, addrA); r.Code != http.StatusForbidden {
		t.Errorf("unknown number: %d", r.Code)
	}
	w.clock.advance(time.Hour)
	if r := w.track(t, number, code, addrB); r.Code != http.StatusOK {
		t.Errorf("after an hour: %d", r.Code)
	}
	if strings.Contains(w.logs.String(), code) {
		t.Error("the log holds the tracking code")
	}

	// Refused by the county: said in plain words.
	in, _ := w.sink.last(t)
	w.sink.setState(in.ID, IntakeState{State: IntakeRefused, Code: protocol.CodeUnknownRecord, Message: "commitment withdrawn <internal>"})
	b := w.track(t, number, code, addrA).Body.String()
	if !strings.Contains(b, "县级平台未予受理：所涉承诺事项或失信记录已不存在或已不再公开") || strings.Contains(b, "commitment withdrawn") {
		t.Errorf("refused filing:\n%s", tail(b, 2000))
	}
}

// TestTrackingAfterRestart: a sink that finds filings by number serves a
// new process; without it a new process knows the case once the county
// accepted it.
func TestTrackingAfterRestart(t *testing.T) {
	w := newWorld(t, Config{})
	number, code := confirmation(t, w.file(t, formPath(w.elderly), addrA, submission{fields: validText()}).Body.String())
	restarted := New(Config{Store: w.muni, Now: w.clock.Now, Logger: quietLogger(), Intake: finderSink{w.sink}}).(*handler)
	w.h = restarted
	if b := w.track(t, number, code, addrB).Body.String(); !strings.Contains(b, "已提交，正在转交县级平台") {
		t.Errorf("a finder sink after a restart:\n%s", tail(b, 1500))
	}
	w.h = New(Config{Store: w.muni, Now: w.clock.Now, Logger: quietLogger(), Intake: w.sink}).(*handler)
	if r := w.track(t, number, code, addrB); r.Code != http.StatusForbidden {
		t.Errorf("a plain sink after a restart, before acceptance: %d", r.Code)
	}
	in, _ := w.sink.last(t)
	w.accept(t, in.ID, time.Date(2026, 10, 19, 15, 0, 0, 0, cst))
	if r := w.track(t, number, code, addrB); r.Code != http.StatusOK {
		t.Errorf("a plain sink after a restart, once accepted: %d", r.Code)
	}
}

// TestSinkFailures: a sink that cannot take the filing stores nothing and
// says so.
func TestSinkFailures(t *testing.T) {
	w := newWorld(t, Config{})
	w.sink.outOfScope = true
	res := w.file(t, formPath(w.elderly), addrA, submission{fields: validText()})
	if res.Code != http.StatusServiceUnavailable || !strings.Contains(res.Body.String(), "暂时无法将您的反映转交") {
		t.Errorf("out of scope: %d", res.Code)
	}
	w.sink.outOfScope, w.sink.fail = false, errSinkDown
	res = w.file(t, formPath(w.elderly), addrA, submission{fields: validText()})
	if res.Code != http.StatusInternalServerError || !strings.Contains(res.Body.String(), "本次提交未保存") ||
		!strings.Contains(res.Body.String(), "合法的反映内容") {
		t.Errorf("sink failure: %d", res.Code)
	}
	if w.sink.count() != 0 || !strings.Contains(w.logs.String(), "code=out_of_scope") || !strings.Contains(w.logs.String(), "code=internal") {
		t.Errorf("sink failures: %d intakes, log:\n%s", w.sink.count(), w.logs.String())
	}
}

// TestNoIntake: without a sink no form is offered.
func TestNoIntake(t *testing.T) {
	f := newFixture(t)
	h := New(Config{Store: f.muni, Now: func() time.Time { return fixedNow }, Logger: quietLogger()})
	d := getOK(t, h, detailPath(f.elderly))
	if strings.Contains(d, "/file") || !strings.Contains(d, "请通过市信用信息综合平台网站提交") {
		t.Error("the detail page offers a form without a sink")
	}
	if w := get(t, h, formPath(f.elderly)); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "本站不受理在线投诉举报") {
		t.Errorf("form without a sink: %d", w.Code)
	}
	post := httptest.NewRecorder()
	h.ServeHTTP(post, httptest.NewRequest(http.MethodPost, formPath(f.elderly), strings.NewReader("x")))
	if post.Code != http.StatusNotFound {
		t.Errorf("POST without a sink: %d", post.Code)
	}
}

// TestNotMultipart and TestNewQuestion: a body that is not a form is
// refused as malformed; "换一题" shows the form again with the text and a
// new question, refusing nothing.
func TestNotMultipart(t *testing.T) {
	w := newWorld(t, Config{})
	req := httptest.NewRequest(http.MethodPost, formPath(w.elderly), strings.NewReader("text=x&answer=1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res := w.do(req, addrA)
	if res.Code != http.StatusBadRequest || !strings.Contains(res.Body.String(), "代码：malformed") || w.sink.count() != 0 {
		t.Errorf("urlencoded body: %d", res.Code)
	}
	if !strings.Contains(w.logs.String(), "code=malformed") {
		t.Error("not logged")
	}
}

func TestNewQuestion(t *testing.T) {
	w := newWorld(t, Config{})
	old := formToken(t, w.get(t, formPath(w.elderly), addrA).Body.String())
	res := w.post(t, formPath(w.elderly), addrA, submission{fields: with(validText(), fieldText, "写了一半", fieldToken, old, fieldRefresh, "1")})
	body := res.Body.String()
	if res.Code != http.StatusOK || !strings.Contains(body, ">写了一半</textarea>") || strings.Contains(body, `role="alert"`) ||
		formToken(t, body) == old {
		t.Errorf("new question: %d\n%s", res.Code, tail(body, 1500))
	}
	if w.sink.count() != 0 || strings.Contains(w.logs.String(), "filing refused") {
		t.Error("asking for a new question filed or refused something")
	}
}
