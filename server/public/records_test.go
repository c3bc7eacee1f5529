package public

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"jiannuo/domain"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

func recordPath(r store.Ref) string { return "/d/" + string(r.Office) + "/" + r.ID.String() }

// TestRecordPage: a published record shows its facts, each step, its
// files and the objection link; its commitment and its office's list link
// to it; a record of a hidden commitment is nowhere.
func TestRecordPage(t *testing.T) {
	w := newWorld(t, Config{})
	body := w.get(t, recordPath(w.record), addrA).Body.String()
	for _, want := range []string{reasonRecord, "未践诺", "记录失信", "收到书面说明", explanationText, "整改通知书.png",
		"2026-11-30", "公示截止", "2029-10-14", recordFormPath(w.record)[1:] /* relative */, titleBreached, "提出异议"} {
		if !strings.Contains(body, want) {
			t.Errorf("record page lacks %q", want)
		}
	}
	checkNoSecrets(t, w.fixture, "record page", body)
	detail := w.get(t, detailPath(w.breached), addrA).Body.String()
	if !strings.Contains(detail, recordPath(w.record)[1:]) || !strings.Contains(detail, "本单位政务失信记录（1）") {
		t.Error("the commitment page does not link to its record and its office's records")
	}
	list := w.get(t, "/d/"+string(w.record.Office), addrA).Body.String()
	if !strings.Contains(list, recordPath(w.record)[1:]) || !strings.Contains(list, titleBreached) || strings.Contains(list, "内部问责记录") {
		t.Errorf("office list:\n%s", tail(list, 2000))
	}
	county := w.get(t, "/d/"+string(offLuanchuan), addrA).Body.String()
	if !strings.Contains(county, titleBreached) {
		t.Error("the county's list lacks its township's record")
	}
	for name, path := range map[string]string{"hidden": recordPath(w.hiddenRec), "unknown": "/d/410324101/" + strings.Repeat("0f", 16),
		"bad office": "/d/x", "bad id": "/d/410324101/zz"} {
		if g := w.get(t, path, addrA); g.Code != http.StatusNotFound {
			t.Errorf("%s record: %d", name, g.Code)
		}
	}
	if g := w.get(t, "/d/410325100", addrA); g.Code != http.StatusOK || !strings.Contains(g.Body.String(), "暂无公示中的政务失信记录") {
		t.Errorf("an office without records: %d", g.Code)
	}
}

// TestDisclosure: the disclosure period and what happens after repair.
func TestDisclosure(t *testing.T) {
	for _, c := range []struct {
		name  string
		cfg   Config
		today time.Time
		shown bool
	}{
		{"within three years", Config{}, time.Date(2029, 10, 14, 23, 0, 0, 0, cst), true},
		{"after three years", Config{}, time.Date(2029, 10, 15, 0, 0, 1, 0, cst), false},
		{"a city's shorter period", Config{Disclosure: domain.Disclosure{Days: 10}}, time.Date(2026, 10, 26, 9, 0, 0, 0, cst), false},
		{"repaired, kept", Config{Disclosure: domain.Disclosure{AfterRepair: domain.AfterRepairKeep}}, time.Date(2027, 6, 1, 9, 0, 0, 0, cst), true},
		{"repaired, withdrawn after 30 days", Config{Disclosure: domain.Disclosure{AfterRepair: domain.AfterRepairWithdraw}}, time.Date(2026, 11, 25, 9, 0, 0, 0, cst), false},
		{"repaired, within 30 days", Config{Disclosure: domain.Disclosure{AfterRepair: domain.AfterRepairWithdraw}}, time.Date(2026, 11, 24, 9, 0, 0, 0, cst), true},
		{"repaired, withdrawn after 5 days", Config{Disclosure: domain.Disclosure{AfterRepair: domain.AfterRepairWithdraw, RepairWithdrawDays: 5}}, time.Date(2026, 10, 31, 9, 0, 0, 0, cst), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, c.cfg)
			if strings.HasPrefix(c.name, "repaired") {
				w.repair(t)
			}
			w.clock.set(c.today)
			g := w.get(t, recordPath(w.record), addrA)
			if (g.Code == http.StatusOK) != c.shown {
				t.Errorf("record page: %d, shown %v", g.Code, c.shown)
			}
			var feed DishonestyPage
			must(t, json.Unmarshal(w.get(t, "/api/v1/dishonesty", addrA).Body.Bytes(), &feed))
			if (len(feed.Items) == 1) != c.shown {
				t.Errorf("feed holds %d records, shown %v", len(feed.Items), c.shown)
			}
			if c.shown && strings.HasPrefix(c.name, "repaired") {
				if !strings.Contains(g.Body.String(), "已修复") || feed.Items[0].Status != "repaired" || feed.Items[0].RepairedOn != "2026-10-26" {
					t.Errorf("a repaired record: %+v", feed.Items[0])
				}
			}
			if ev := w.get(t, "/evidence/"+w.evPNG.String(), addrA); (ev.Code == http.StatusOK) != c.shown {
				t.Errorf("the record's evidence: %d", ev.Code)
			}
		})
	}
}

// repair takes the record through rectification to credit repair on
// 2026-10-26.
func (w *world) repair(t testing.TB) {
	t.Helper()
	w.clk.set(time.October, 24, 10, 0)
	w.evRectified = w.addEvidence(t, w.a, "整改验收.pdf", "application/pdf", []byte("%PDF-1.5 验收"))
	must(t, w.a.DishonestyStep(w.record.Office, w.record.ID, domain.StepRectified, "消防通道已清理完毕", "", []protocol.Hash{w.evRectified}))
	w.clk.set(time.October, 26, 10, 0)
	must(t, w.a.DishonestyStep(w.record.Office, w.record.ID, domain.StepRepaired, "经申请，准予信用修复", "", []protocol.Hash{w.evRectified}))
	w.sync(t)
}

// TestRecordPublishedSteps: the page and the feed show every step the
// publication holds (store.DishonestyRecord.Public): the facts as
// corrected, saying so, never the original ones; the accepted
// rectification; each sanction by its measure; the mitigation with its
// reason. What the township submitted stays off them, and its files too,
// until the county accepts it; a returned submission never shows.
func TestRecordPublishedSteps(t *testing.T) {
	w := newWorld(t, Config{})
	o, id := w.record.Office, w.record.ID
	must(t, w.t1.Store().PutDevice(w.a.Device()))
	var toTownship uint64
	w.deliverTo(t, w.a, w.t1.Store(), &toTownship)
	published := func() (string, DishonestyRecord) {
		t.Helper()
		page := w.get(t, recordPath(w.record), addrA)
		if page.Code != http.StatusOK {
			t.Fatalf("record page: %d", page.Code)
		}
		var feed DishonestyPage
		must(t, json.Unmarshal(w.get(t, "/api/v1/dishonesty", addrA).Body.Bytes(), &feed))
		if len(feed.Items) != 1 {
			t.Fatalf("feed holds %d records", len(feed.Items))
		}
		return page.Body.String(), feed.Items[0]
	}

	// A rectification submitted, then returned: on neither.
	w.clk.set(time.October, 20, 9, 0)
	const returned, accepted = "已清理主街东段占道摊点（退回的材料）", "主街消防通道占道已全部清理，设置隔离桩12处"
	first := w.addEvidence(t, w.t1, "整改照片-初稿.png", "image/png", testPNG(t, 20, 20))
	must(t, w.t1.SubmitRectification(o, id, returned, []protocol.Hash{first}))
	w.sync(t)
	for _, pass := range []string{"pending", "returned"} {
		body, rec := published()
		raw, _ := json.Marshal(rec)
		for what, text := range map[string]string{"page": body, "feed": string(raw)} {
			for _, s := range []string{returned, "整改照片-初稿.png", first.String(), "提交整改材料", "退回"} {
				if strings.Contains(text, s) {
					t.Errorf("%s: the %s shows %q", pass, what, s)
				}
			}
		}
		if ev := w.get(t, "/evidence/"+first.String(), addrA); ev.Code != http.StatusNotFound {
			t.Errorf("%s: the submitted file is served: %d", pass, ev.Code)
		}
		if pass == "pending" {
			r, err := w.t1.Store().DishonestyRecord(o, id)
			must(t, err)
			var toAdmin uint64
			must(t, w.a.Store().PutDevice(w.t1.Device()))
			w.deliverTo(t, w.t1, w.a.Store(), &toAdmin)
			w.clk.set(time.October, 21, 9, 0)
			must(t, w.a.ReturnSubmission(o, id, r.Pending.Op, "照片不清晰，请补充"))
			w.sync(t)
		}
	}

	// The county sanctions, mitigates, corrects the facts and accepts a
	// rectification of its own seeing.
	w.clk.set(time.October, 22, 9, 0)
	must(t, w.a.Sanction(o, id, domain.SanctionPublicCriticism, "依据实施方案第四条予以通报批评", nil))
	must(t, w.a.Sanction(o, id, domain.SanctionHonoursWithdrawn, "取消本年度评先评优资格", nil))
	must(t, w.a.Mitigate(o, id, domain.MitigationLighter, "主动整改，从轻处理", nil))
	const corrected = "集镇主街消防通道逾期二十日未完成整治。"
	must(t, w.a.CorrectRecord(o, id, corrected, "异议成立：逾期天数有误", nil))
	proof := w.addEvidence(t, w.a, "整改验收.pdf", "application/pdf", []byte("%PDF-1.5 整改验收"))
	must(t, w.a.DishonestyStep(o, id, domain.StepRectified, accepted, "", []protocol.Hash{proof}))
	w.sync(t)
	body, rec := published()
	for _, want := range []string{corrected, "县级平台已更正失信事实", "更正失信事实", "异议成立：逾期天数有误", "惩戒措施：通报批评",
		"惩戒措施：取消评先评优资格", "依据实施方案第四条予以通报批评", "从轻处理", "主动整改，从轻处理", accepted, "整改完成"} {
		if !strings.Contains(body, want) {
			t.Errorf("record page lacks %q", want)
		}
	}
	if strings.Contains(body, reasonRecord) || strings.Contains(body, returned) {
		t.Error("the record page shows the original facts or the returned submission")
	}
	var steps []string
	for _, s := range rec.Steps {
		steps = append(steps, s.Step+":"+s.Detail+":"+s.DetailName)
		if strings.Contains(s.Reason, reasonRecord) {
			t.Errorf("the feed publishes the original facts in %s", s.Step)
		}
	}
	want := []string{"recorded::", "explained::", "sanctioned:public_criticism:通报批评", "sanctioned:honours_withdrawn:取消评先评优资格",
		"mitigated:lighter:从轻处理", "corrected::", "rectified::"}
	if !slices.Equal(steps, want) || rec.Facts != corrected || !rec.Corrected || rec.Steps[0].Reason != corrected || rec.Status != "rectified" {
		t.Errorf("feed record: steps %v, facts %q, corrected %v, status %s", steps, rec.Facts, rec.Corrected, rec.Status)
	}
	if ev := w.get(t, "/evidence/"+proof.String(), addrA); ev.Code != http.StatusOK || !strings.Contains(body, "整改验收.pdf") {
		t.Errorf("the accepted rectification's file: %d", ev.Code)
	}
	checkNoSecrets(t, w.fixture, "record page", body)
}

// TestWithdrawnRecordNotPublished: a record the county withdrew is never
// published, whatever else holds: not its page, not in the feed, not its
// files; and disclosure settings New cannot take make it panic.
func TestWithdrawnRecordNotPublished(t *testing.T) {
	w := newWorld(t, Config{})
	if g := w.get(t, recordPath(w.record), addrA); g.Code != http.StatusOK {
		t.Fatalf("the record is not published: %d", g.Code)
	}
	must(t, w.a.WithdrawRecord(w.record.Office, w.record.ID, "异议成立，撤销记录", nil))
	w.sync(t)
	if g := w.get(t, recordPath(w.record), addrA); g.Code != http.StatusNotFound {
		t.Errorf("a withdrawn record's page: %d", g.Code)
	}
	var feed DishonestyPage
	must(t, json.Unmarshal(w.get(t, "/api/v1/dishonesty", addrA).Body.Bytes(), &feed))
	if len(feed.Items) != 0 {
		t.Errorf("a withdrawn record in the feed: %+v", feed.Items)
	}
	if ev := w.get(t, "/evidence/"+w.evPNG.String(), addrA); ev.Code != http.StatusNotFound {
		t.Errorf("a withdrawn record's evidence: %d", ev.Code)
	}
	if New(Config{Store: w.muni, Disclosure: domain.Disclosure{AfterRepair: domain.AfterRepairKeep}}) == nil {
		t.Fatal("no handler")
	}
	defer func() {
		if recover() == nil {
			t.Error("an unknown AfterRepair does not panic")
		}
	}()
	New(Config{Store: w.muni, Disclosure: domain.Disclosure{AfterRepair: "forget"}})
}

// TestEvidenceHeaders: each type is served by its content, with the
// headers that keep a browser from running it.
func TestEvidenceHeaders(t *testing.T) {
	w := newWorld(t, Config{})
	var jpg bytes.Buffer
	must(t, jpeg.Encode(&jpg, image.NewGray(image.Rect(0, 0, 8, 8)), nil))
	// A complaint with a JPEG and a PNG declared as PDF.
	res := w.file(t, formPath(w.elderly), addrA, submission{fields: validText(),
		files: []part{{"现场.jpg", jpg.Bytes()}, {"截图.pdf", testPNG(t, 6, 6)}}})
	if res.Code != http.StatusOK {
		t.Fatalf("filing: %d", res.Code)
	}
	in, _ := w.sink.last(t)
	jpgHash, pngHash := in.Attachments[0].Hash, in.Attachments[1].Hash
	if in.Attachments[0].MIME != domain.MIMEJPEG {
		jpgHash, pngHash = pngHash, jpgHash
	}
	// Before the county has it, the case's files are not served.
	if g := w.get(t, "/evidence/"+jpgHash.String(), addrA); g.Code != http.StatusNotFound {
		t.Errorf("an intake's file before acceptance: %d", g.Code)
	}
	w.accept(t, in.ID, time.Date(2026, 10, 19, 15, 0, 0, 0, cst))
	for _, c := range []struct {
		name   string
		hash   protocol.Hash
		ctype  string
		inline bool
	}{
		{"JPEG attached to a case", jpgHash, "image/jpeg", true},
		{"PNG named .pdf", pngHash, "image/png", true},
		{"PNG of a record", w.evPNG, "image/png", true},
		{"PDF of an entry", w.evCited, "application/pdf", false},
		{"HTML of an entry", w.evHTML, "application/octet-stream", false},
	} {
		g := w.get(t, "/evidence/"+c.hash.String(), addrA)
		hd := g.Header()
		disp := hd.Get("Content-Disposition")
		if g.Code != http.StatusOK || hd.Get("Content-Type") != c.ctype || strings.HasPrefix(disp, "inline") != c.inline ||
			(!c.inline && !strings.HasPrefix(disp, "attachment")) {
			t.Errorf("%s: %d %q %q", c.name, g.Code, hd.Get("Content-Type"), disp)
		}
		if hd.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(hd.Get("Content-Security-Policy"), "sandbox") ||
			strings.Contains(hd.Get("Content-Type"), "html") {
			t.Errorf("%s: headers %v", c.name, hd)
		}
	}
	// The hidden record's files, and files nothing cites, stay unknown.
	for name, h := range map[string]protocol.Hash{"uncited": w.evUncited, "private entry": w.evPrivate} {
		if g := w.get(t, "/evidence/"+h.String(), addrA); g.Code != http.StatusNotFound {
			t.Errorf("%s: %d", name, g.Code)
		}
	}
}

// TestQuestionImage: the question is a PNG that decodes, drawn the same
// for the same token; tokens that do not verify or have expired draw
// nothing.
func TestQuestionImage(t *testing.T) {
	w := newWorld(t, Config{})
	tok := formToken(t, w.get(t, formPath(w.elderly), addrA).Body.String())
	g := w.get(t, "/q/"+tok+".png", addrA)
	if g.Code != http.StatusOK || g.Header().Get("Content-Type") != "image/png" || g.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("question image: %d %v", g.Code, g.Header())
	}
	img, err := png.Decode(bytes.NewReader(g.Body.Bytes()))
	must(t, err)
	if b := img.Bounds(); b.Dx() != questionW || b.Dy() != questionH {
		t.Errorf("image of %v", b)
	}
	colours, nonWhite, total := inspect(img)
	if colours < 64 || nonWhite < total/2 {
		t.Errorf("question image looks blank: %d colours", colours)
	}
	if again := w.get(t, "/q/"+tok+".png", addrA); !bytes.Equal(again.Body.Bytes(), g.Body.Bytes()) {
		t.Error("the same token draws another picture")
	}
	for name, path := range map[string]string{"no .png": "/q/" + tok, "forged": "/q/" + strings.Repeat("B", len(tok)) + ".png",
		"garbage": "/q/%2e%2e.png"} {
		if g := w.get(t, path, addrA); g.Code != http.StatusNotFound {
			t.Errorf("%s: %d", name, g.Code)
		}
	}
	w.clock.advance(DefaultQuestionTTL + time.Minute)
	if g := w.get(t, "/q/"+tok+".png", addrA); g.Code != http.StatusNotFound {
		t.Errorf("expired token: %d", g.Code)
	}
}

// TestQuestionArithmetic: numerals and answers.
func TestQuestionArithmetic(t *testing.T) {
	for n, want := range map[int]string{0: "〇", 7: "七", 10: "十", 13: "十三", 20: "二十", 47: "四十七", 99: "九十九"} {
		if got := chineseNumber(n); got != want {
			t.Errorf("chineseNumber(%d) = %q, want %q", n, got, want)
		}
	}
	for in, want := range map[string]int{"42": 42, " 7 ": 7, "４２": 42, "081": 81} {
		if got, ok := parseAnswer(in); !ok || got != want {
			t.Errorf("parseAnswer(%q) = %d, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "四十二", "4 2", "-3", "1000", "12345678901234"} {
		if _, ok := parseAnswer(in); ok {
			t.Errorf("parseAnswer(%q) accepted", in)
		}
	}
	q := newQuestioner(&Config{QuestionKey: bytes.Repeat([]byte{1}, 32)})
	seen := map[int]bool{}
	for range 300 {
		tok, err := q.parse(q.issue(start))
		must(t, err)
		a := question(q.rng(tok.nonce))
		if a.Answer < 1 || a.Answer > 81 {
			t.Fatalf("question %q has answer %d", a.Text, a.Answer)
		}
		seen[a.Answer] = true
	}
	if len(seen) < 40 {
		t.Errorf("only %d different answers in 300 questions", len(seen))
	}
	// AnswerOf tells the answer to the key's holder only.
	tok := q.issue(start)
	n, err := AnswerOf(q.key, tok)
	if code, why := q.check(tok, fmt.Sprint(n), start.Add(time.Minute)); err != nil || code != protocol.CodeOK {
		t.Errorf("AnswerOf with the key: %d, %v: %s %s", n, err, code, why)
	}
	if _, err := AnswerOf(bytes.Repeat([]byte{2}, 32), q.issue(start)); err == nil {
		t.Error("AnswerOf with another key answers")
	}
	if _, err := AnswerOf(nil, q.issue(start)); err == nil {
		t.Error("AnswerOf without a key answers")
	}
}

// TestSupervisionFeeds: the JSON of cases and records carries public
// fields only, cursor paged.
func TestSupervisionFeeds(t *testing.T) {
	w := newWorld(t, Config{})
	var filed []string
	for i, text := range []string{"第一件", "第二件", "第三件"} {
		res := w.file(t, formPath(w.elderly), addrA, submission{fields: with(validText(), fieldText, text, fieldName, "张三", fieldPhone, "13800000000")})
		if res.Code != http.StatusOK {
			t.Fatalf("filing %d: %d", i, res.Code)
		}
		in, _ := w.sink.last(t)
		filed = append(filed, in.Number)
		w.accept(t, in.ID, time.Date(2026, 10, 19, 15, i, 0, 0, cst))
	}
	w.clock.set(time.Date(2026, 10, 29, 9, 0, 0, 0, cst)) // past the acknowledgement deadline (10-22)
	var numbers []string
	cursor := ""
	for range 4 {
		var p CasesPage
		path := "/api/v1/cases?limit=2&office=410324"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		rec := w.get(t, path, addrA)
		must(t, json.Unmarshal(rec.Body.Bytes(), &p))
		raw := rec.Body.String()
		for _, s := range []string{"第一件", "第二件", "张三", "13800000000", acctAdmin} {
			if strings.Contains(raw, s) {
				t.Errorf("cases feed carries %q", s)
			}
		}
		if p.Schema != SchemaCases || p.Total != 3 {
			t.Errorf("page: %+v", p)
		}
		for _, c := range p.Items {
			numbers = append(numbers, c.Number)
			if !c.Overdue.Overdue || !c.Overdue.AckLate || c.Overdue.DaysOverdue != 7 || c.AckDue != "2026-10-22" ||
				c.Status != "open" || c.Office != string(offChitudian) || c.CommitmentURL != detailPath(w.elderly) {
				t.Errorf("case: %+v", c)
			}
		}
		if p.NextCursor == nil {
			break
		}
		cursor = *p.NextCursor
	}
	if !slices.Equal(numbers, filed) {
		t.Errorf("paged numbers %v, filed in the order %v", numbers, filed)
	}
	if rec := w.get(t, "/api/v1/cases?cursor=zzz", addrA); rec.Code != http.StatusBadRequest {
		t.Errorf("bad cursor: %d", rec.Code)
	}
	if rec := w.get(t, "/api/v1/cases?office=abc", addrA); rec.Code != http.StatusBadRequest {
		t.Errorf("bad office: %d", rec.Code)
	}
	var d DishonestyPage
	rec := w.get(t, "/api/v1/dishonesty", addrA)
	must(t, json.Unmarshal(rec.Body.Bytes(), &d))
	if d.Schema != SchemaDishonesty || len(d.Items) != 1 {
		t.Fatalf("dishonesty feed: %s", rec.Body.String())
	}
	r := d.Items[0]
	if r.ID != w.record.ID.String() || r.Type != string(domain.DishonestyBreach) || r.Facts != reasonRecord || r.Explanation != explanationText ||
		len(r.Steps) != 2 || r.Steps[1].Step != "explained" || len(r.Evidence) != 1 || r.Evidence[0].SHA256 != w.evPNG.String() ||
		r.PublishedUntil != "2029-10-14" || r.URL != recordPath(w.record) || r.Status != "explained" {
		t.Errorf("record: %+v", r)
	}
	checkNoSecrets(t, w.fixture, "dishonesty feed", rec.Body.String())
}
