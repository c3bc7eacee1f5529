package public

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/store"
)

// chromiumPath is where Debian's chromium package installs the browser.
const chromiumPath = "/usr/bin/chromium"

// screenshotsEnv names a folder to copy the screenshots to, for
// docs/screenshots: JIANNUO_PUBLIC_SCREENSHOTS=$PWD/docs/screenshots.
const screenshotsEnv = "JIANNUO_PUBLIC_SCREENSHOTS"

// chromium runs headless Chromium with args and the URL, and returns its
// standard output.
func chromium(t *testing.T, url string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	profile := t.TempDir()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1",
		"--user-data-dir=" + profile}
	cmd := exec.CommandContext(ctx, chromiumPath, append(append(base, args...), url)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "HOME="+profile, "XDG_CONFIG_HOME="+profile, "XDG_CACHE_HOME="+profile)
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, tail(stderr.String(), 3000))
	}
	return stdout.Bytes()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// screenshot saves url as a PNG of the given window size and checks that
// it shows something: many colours and a fair share of non-white pixels.
func screenshot(t *testing.T, url, name string, width, height int) {
	t.Helper()
	file := filepath.Join(t.TempDir(), name)
	chromium(t, url, "--screenshot="+file, "--window-size="+itoa(uint64(width))+","+itoa(uint64(height)))
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	colours, nonWhite, total := inspect(img)
	t.Logf("%s: %dx%d, %d colours, %.1f%% not white", name, img.Bounds().Dx(), img.Bounds().Dy(), colours, 100*float64(nonWhite)/float64(total))
	if colours < 64 || nonWhite < total/20 {
		t.Errorf("%s looks blank: %d colours, %d of %d pixels not white", name, colours, nonWhite, total)
	}
	if dir := os.Getenv(screenshotsEnv); dir != "" {
		must(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
}

func inspect(img image.Image) (colours, nonWhite, total int) {
	seen := map[[3]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
			if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				nonWhite++
			}
			total++
		}
	}
	return len(seen), nonWhite, total
}

// TestChromium renders the list and a detail page in headless Chromium
// (Debian packages chromium and fonts-noto-cjk), checks the screenshots are
// not blank and that the rendered DOM holds the Chinese titles and no
// script.
func TestChromium(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found: CI installs the Debian packages chromium and fonts-noto-cjk (make deps)", chromiumPath)
		}
		t.Skipf("%s not found: install the Debian packages chromium and fonts-noto-cjk to run this test", chromiumPath)
	}
	if testing.Short() {
		t.Skip("headless Chromium is slow; skipped in -short mode")
	}
	f := newFixture(t)
	f.showcase(t)
	srv := httptest.NewServer(f.h) // listens on 127.0.0.1
	defer srv.Close()

	list, detail := srv.URL+"/", srv.URL+detailPath(f.elderly)
	for _, c := range []struct{ url, title string }{
		{list, titleElderly},
		{detail, titleElderly},
		{srv.URL + detailPath(f.script), "alert(1)"},
	} {
		dom := string(chromium(t, c.url, "--dump-dom"))
		if !strings.Contains(dom, c.title) || !strings.Contains(dom, "公开承诺") {
			t.Errorf("rendered DOM of %s lacks %q:\n%s", c.url, c.title, tail(dom, 2000))
		}
		if strings.Contains(strings.ToLower(dom), "<script") {
			t.Errorf("rendered DOM of %s contains a script element", c.url)
		}
	}
	screenshot(t, list, "public-list.png", 1280, 2000)
	screenshot(t, detail, "public-detail.png", 1280, 2000)
	screenshot(t, list, "public-list-mobile.png", 390, 1400)
}

// showcase adds commitments of three more districts, so the screenshots
// show a list as the public would see it.
func (f *fixture) showcase(t *testing.T) {
	t.Helper()
	type plan struct {
		office   office.Code
		draft    store.Draft
		status   domain.Status
		progress []int
		notes    []string
	}
	plans := []plan{
		{"410311004", store.Draft{Category: domain.CatEmployment, Title: "辖区失业人员就业登记当日办结", Text: "失业人员持身份证到街道便民服务中心办理就业登记，材料齐全的当日办结。",
			LegalBasis: "《就业服务与就业管理规定》", Responsible: "马丽（关林街道办事处副主任）", Deadline: domain.DateDeadline(date(2026, 12, 31))},
			domain.StatusInProgress, []int{30, 60}, []string{"9月办理就业登记86人，均当日办结", "10月上旬办理就业登记41人，均当日办结"}},
		{"410303001", store.Draft{Category: domain.CatProperty, Title: "老旧小区加装电梯意见征询30日内完成", Text: "对申请加装电梯的老旧小区单元，30日内完成住户意见征询并公示结果。",
			Responsible: "郭志强", Deadline: domain.DateDeadline(date(2026, 10, 12))},
			domain.StatusFulfilledOnTime, []int{50, 100}, []string{"完成3个单元入户征询", "征询结果已在小区公示栏公示"}},
		{"410307004", store.Draft{Category: domain.CatDisability, Title: "残疾人两项补贴申请5个工作日内完成审核", Text: "受理残疾人生活补贴和重度残疾人护理补贴申请后，5个工作日内完成审核。",
			LegalBasis: "《国务院关于全面建立困难残疾人生活补贴和重度残疾人护理补贴制度的意见》", Responsible: "王芳", StartDate: date(2026, 10, 12), Deadline: domain.WorkdaysDeadline(5)},
			domain.StatusPublished, nil, nil},
		{"410311004", store.Draft{Category: domain.CatMedicalInsurance, Title: "城乡居民医保参保登记即时办理", Text: "城乡居民医保参保登记、信息变更在街道便民服务中心即时办理。",
			Responsible: "马丽（关林街道办事处副主任）", Deadline: domain.DateDeadline(date(2026, 9, 30))},
			domain.StatusFulfilledLate, []int{100}, []string{"因系统升级延误2天，已全部办结"}},
		{"410303001", store.Draft{Category: domain.CatMilitaryFamilies, Title: "重阳节走访慰问辖区退役军人家庭", Text: "重阳节前后走访慰问辖区困难退役军人及军属家庭，帮助解决实际困难。",
			Responsible: "郭志强", Deadline: domain.DateDeadline(date(2026, 10, 31))},
			domain.StatusInProgress, []int{45}, []string{"已走访慰问18户，收集困难诉求5项"}},
	}
	sessions := map[office.Code]*store.Session{}
	for i, p := range plans {
		se := sessions[p.office]
		if se == nil {
			s := openStore(t, "showcase-"+string(p.office), false, f.clk.Now)
			se = setup(t, s, p.office, domain.RoleLeader, "showcase-leader", "展示用负责人")
			must(t, f.muni.PutDevice(se.Device()))
			sessions[p.office] = se
		}
		f.clk.set(time.October, 16, 10+i, 0)
		p.draft.Public = true
		r := mustRef(t)(se.Create(p.draft))
		must(t, se.Publish(r))
		if p.status == domain.StatusInProgress {
			must(t, se.Transition(r, domain.StatusInProgress, ""))
		}
		for j, pr := range p.progress {
			_, err := se.LogFulfilment(r, store.EntryInput{Date: date(2026, 10, 1+4*j+i), Progress: pr, Note: p.notes[j]})
			must(t, err)
		}
		if p.status == domain.StatusFulfilledOnTime || p.status == domain.StatusFulfilledLate {
			must(t, se.Transition(r, p.status, ""))
		}
	}
	for _, se := range sessions {
		var n uint64
		f.deliverTo(t, se, f.muni, &n)
	}
}

// replay serves a response recorded earlier (a page that answers a POST,
// which headless Chromium cannot send without script), headers and all:
// its CSP's nonce must match its style element.
func replay(rec *httptest.ResponseRecorder) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}
}

// TestChromiumFiling loads the complaint form in headless Chromium under
// the page's CSP, and screenshots the form, the confirmation, the tracking
// page of an answered case and a dishonesty record.
func TestChromiumFiling(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found: CI installs the Debian packages chromium and fonts-noto-cjk (make deps)", chromiumPath)
		}
		t.Skipf("%s not found: install the Debian packages chromium and fonts-noto-cjk to run this test", chromiumPath)
	}
	if testing.Short() {
		t.Skip("headless Chromium is slow; skipped in -short mode")
	}
	w := newWorld(t, Config{})
	res := w.file(t, formPath(w.elderly), addrA, submission{
		fields: map[string]string{fieldKind: "complaint", fieldText: filerText, fieldName: filerName, fieldPhone: filerPhone},
		files:  []part{{"走访照片.png", testPNG(t, 30, 30)}}})
	if res.Code != http.StatusOK {
		t.Fatalf("filing: %d", res.Code)
	}
	number, code := confirmation(t, res.Body.String())
	in, _ := w.sink.last(t)
	c := w.accept(t, in.ID, time.Date(2026, 10, 19, 15, 0, 0, 0, cst))
	w.answer(t, c, 20, "已安排网格员自10月21日起每周上门走访独居老人，建立走访台账，并在村务公开栏公示走访情况。", nil)
	w.clock.set(time.Date(2026, 10, 23, 9, 0, 0, 0, cst))
	tracked := w.track(t, number, code, addrB)
	if tracked.Code != http.StatusOK {
		t.Fatalf("tracking: %d", tracked.Code)
	}

	mux := http.NewServeMux()
	mux.Handle("/shot/confirm", replay(res))
	mux.Handle("/shot/track", replay(tracked))
	mux.Handle("/", w.h)
	srv := httptest.NewServer(mux) // listens on 127.0.0.1
	defer srv.Close()

	form := srv.URL + formPath(w.elderly)
	dom := string(chromium(t, form, "--dump-dom"))
	for _, want := range []string{`<form class="panel file-form" method="post" enctype="multipart/form-data"`, `name="answer"`,
		`name="token"`, `name="website"`, "投诉举报", titleElderly} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered form lacks %q:\n%s", want, tail(dom, 2000))
		}
	}
	if strings.Contains(strings.ToLower(dom), "<script") {
		t.Error("the rendered form contains a script element")
	}
	screenshot(t, form, "public-form.png", 1280, 1900)
	screenshot(t, form, "public-form-mobile.png", 390, 2200)
	screenshot(t, srv.URL+"/shot/confirm", "public-confirm.png", 1280, 1000)
	screenshot(t, srv.URL+"/shot/track", "public-track.png", 1280, 1600)
	screenshot(t, srv.URL+recordPath(w.record), "public-record.png", 1280, 1700)
	screenshot(t, srv.URL+detailPath(w.elderly), "public-detail-cases.png", 1280, 2600)
}
