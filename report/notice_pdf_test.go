package report

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"
	qrdecoder "github.com/makiuchi-d/gozxing/qrcode/decoder"
	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"

	"jiannuo/assets"
	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// poppler returns the path of a poppler-utils tool (pdftotext, pdftoppm).
// Without it the test is skipped on a developer's machine but fails in CI
// (CI=true), where `make deps` installs the Debian package poppler-utils.
func poppler(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found: CI must install the Debian package poppler-utils (make deps)", tool)
	}
	t.Skipf("%s not found: install the Debian package poppler-utils to run this test", tool)
	return ""
}

func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	tool := poppler(t, "pdftotext")
	f := filepath.Join(t.TempDir(), "notice.pdf")
	if err := os.WriteFile(f, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "-enc", "UTF-8", f, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// pdfPages renders every page of pdf at dpi with pdftoppm.
func pdfPages(t *testing.T, pdf []byte, dpi int) []image.Image {
	t.Helper()
	tool := poppler(t, "pdftoppm")
	dir := t.TempDir()
	f := filepath.Join(dir, "notice.pdf")
	if err := os.WriteFile(f, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tool, "-r", fmt.Sprint(dpi), "-png", f, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "page-*.png"))
	var pages []image.Image
	for _, n := range names { // page-1.png … (zero-padded to the same width, so sorted)
		data, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, img)
	}
	return pages
}

// decodeQR decodes the QR code in the square q (its quiet zone
// included) of a page rendered at dpi, first as a phone would, finding it
// with gozxing's detector. That detector misses about one valid code in a
// hundred even on perfect images (tried on 2,000 addresses, with both QR
// libraries considered, whose codes all decode from their module grids),
// so when it does, the module grid is read from the pixels at the place
// the notice says the code is, and decoded with gozxing's decoder: either
// way the text comes from the printed pixels, checked by the code's own
// error correction.
func decodeQR(t *testing.T, page image.Image, q NoticeQR, dpi int) (string, error) {
	t.Helper()
	px := func(mm float64) float64 { return mm / 25.4 * float64(dpi) }
	r := image.Rect(int(math.Round(px(q.X))), int(math.Round(px(q.Y))), int(math.Round(px(q.X+q.W))), int(math.Round(px(q.Y+q.W))))
	sub := page.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(r)
	bmp, err := gozxing.NewBinaryBitmapFromImage(sub)
	if err != nil {
		return "", err
	}
	res, detectErr := gzqr.NewQRCodeReader().Decode(bmp, nil)
	if detectErr == nil {
		return res.GetText(), nil
	}
	dark := func(x, y float64) bool { // the module's centre, 3×3 pixels
		var sum uint32
		for dy := -1; dy <= 1; dy++ {
			for dx := -1; dx <= 1; dx++ {
				c := color.GrayModel.Convert(page.At(int(x)+dx, int(y)+dy)).(color.Gray)
				sum += uint32(c.Y)
			}
		}
		return sum/9 < 128
	}
	for version := 1; version <= 15; version++ {
		n := 17 + 4*version
		m := px(q.W) / float64(n+8) // four modules of quiet zone each side
		grid := make([][]bool, n)
		for row := range grid {
			grid[row] = make([]bool, n)
			for col := range grid[row] {
				grid[row][col] = dark(px(q.X)+(float64(col+4)+0.5)*m, px(q.Y)+(float64(row+4)+0.5)*m)
			}
		}
		if res, err := qrdecoder.NewDecoder().DecodeBoolMapWithoutHint(grid); err == nil {
			return res.GetText(), nil
		}
	}
	return "", detectErr
}

const publicBase = "https://xy.example.gov.cn/gongshi"

func noticeFixture() []store.Commitment {
	cs := exportFixture()
	long := strings.Repeat("对辖区内登记失业人员，每季度至少推送一次岗位信息，并跟踪回访。", 30)
	cs = append(cs,
		mk(domain.CatEmployment, domain.StatusPublished, "2026-09-01", "date:2027-01-15", titled("就业困难人员帮扶（长文本）"),
			func(c *store.Commitment) { c.Text = long }),
		mk(domain.CatElderlyCare, domain.StatusInProgress, "2026-10-08", "workdays:20", titled("高龄津贴按月发放到账，Latin words wrap at spaces when they must"),
			entry("2026-11-10", 40), func(c *store.Commitment) {
				c.Text = "每月10日前将高龄津贴发放到老人账户。Payments reach the accounts by the tenth of every month."
				c.Responsible = "王建国（民政所）"
			}),
	)
	return cs
}

// TestNoticePDF writes a township's notice and reads it back as a person
// and a phone would: the text extracted with pdftotext has the title, the
// office name, every published public commitment's title and no draft,
// private, withdrawn or other office's one, and page numbers; every QR
// code, decoded from the page rendered by pdftoppm, gives that
// commitment's address on the public site.
func TestNoticePDF(t *testing.T) {
	cs := noticeFixture()
	var buf bytes.Buffer
	res, err := WriteNoticePDF(&buf, cs, NoticeConfig{Unit: unit, Today: today, Cal: cal, Tr: zh, PublicURL: publicBase + "/"})
	if err != nil {
		t.Fatal(err)
	}
	want := NoticeRows(cs, unit, cal)
	if res.Items != len(want) || len(res.QR) != len(want) {
		t.Fatalf("items %d, QR codes %d, want %d of each", res.Items, len(res.QR), len(want))
	}
	if len(res.Missing) != 0 {
		t.Errorf("characters without a glyph: %q", string(res.Missing))
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) {
		t.Fatalf("not a PDF: %q", buf.Bytes()[:min(20, buf.Len())])
	}
	text := pdfText(t, buf.Bytes())
	flat := strings.Join(strings.Fields(text), "")
	for _, s := range []string{"赤土店镇公开承诺事项公示", "公示日期：2026-11-25", "扫码查看详情", "责任人：刘洋（社会事务办）",
		"一、就业（2项）", "王建国（民政所）", "（全文请扫码查看）", "20个工作日内（至"} {
		if !strings.Contains(flat, strings.Join(strings.Fields(s), "")) {
			t.Errorf("extracted text lacks %q:\n%s", s, text)
		}
	}
	for _, c := range want {
		// A title may wrap: compare without line breaks and spaces.
		if !strings.Contains(flat, strings.Join(strings.Fields(c.Title), "")) {
			t.Errorf("extracted text lacks the title %q", c.Title)
		}
	}
	for _, absent := range []string{"草稿不得公开", "已撤销事项", "内部工作任务", "别的镇的事项"} {
		if strings.Contains(flat, absent) {
			t.Errorf("the notice shows %q", absent)
		}
	}
	for p := 1; p <= res.Pages; p++ {
		if s := fmt.Sprintf("第%d页共%d页", p, res.Pages); !strings.Contains(flat, s) {
			t.Errorf("no page number %q", s)
		}
	}
	if res.Pages < 2 {
		t.Errorf("%d page(s): the fixture fills more than one", res.Pages)
	}

	const dpi = 200
	pages := pdfPages(t, buf.Bytes(), dpi)
	if len(pages) != res.Pages {
		t.Fatalf("pdftoppm rendered %d pages, the writer says %d", len(pages), res.Pages)
	}
	byRef := map[store.Ref]bool{}
	for i, q := range res.QR {
		if q.Ref != want[i].Ref {
			t.Errorf("QR %d is of %s, want %s (the notice's order)", i, q.Ref, want[i].Ref)
		}
		got, err := decodeQR(t, pages[q.Page-1], q, dpi)
		if err != nil {
			t.Errorf("QR code of %s on page %d: %v", q.Ref, q.Page, err)
			continue
		}
		if wantURL := publicBase + "/c/" + string(q.Ref.Office) + "/" + q.Ref.ID.String(); got != wantURL {
			t.Errorf("QR code of %s decodes to %q, want %q", q.Ref, got, wantURL)
		}
		byRef[q.Ref] = true
	}
	if len(byRef) != len(want) {
		t.Errorf("%d distinct QR codes for %d commitments", len(byRef), len(want))
	}
}

// downscale averages n×n pixels into one (a gentler picture for the docs
// than a low-resolution render).
func downscale(img image.Image, n int) image.Image {
	b := img.Bounds()
	out := image.NewGray(image.Rect(0, 0, b.Dx()/n, b.Dy()/n))
	for y := range out.Rect.Dy() {
		for x := range out.Rect.Dx() {
			var sum uint32
			for dy := range n {
				for dx := range n {
					r, g, bl, _ := img.At(b.Min.X+x*n+dx, b.Min.Y+y*n+dy).RGBA()
					sum += (r*299 + g*587 + bl*114) / 1000 >> 8
				}
			}
			out.Pix[y*out.Stride+x] = uint8(sum / uint32(n*n))
		}
	}
	return out
}

// TestNoticePDFCounty prints a county's notice: one section per township,
// each starting on a new page, in code order (赤土店镇 410324101 before
// 合峪镇 410324102).
func TestNoticePDFCounty(t *testing.T) {
	cs := noticeFixture()
	for i := range cs {
		if cs[i].Title == "别的镇的事项" {
			cs[i].Office, cs[i].Ref.Office = "410324102", "410324102" // 合峪镇, of the same county
		}
	}
	county := office.Unit{Code: "410324", Name: "栾川县"}
	var buf bytes.Buffer
	res, err := WriteNoticePDF(&buf, cs, NoticeConfig{Unit: county, Today: today, Cal: cal, Tr: zh, PublicURL: publicBase})
	if err != nil {
		t.Fatal(err)
	}
	if want := len(NoticeRows(cs, county, cal)); res.Items != want {
		t.Fatalf("items %d, want %d", res.Items, want)
	}
	text := pdfText(t, buf.Bytes())
	pages := strings.Split(text, "\f")
	var first []int // the page each township's section starts on
	for _, sec := range []string{"赤土店镇（", "合峪镇（"} {
		for i, p := range pages {
			if strings.Contains(strings.Join(strings.Fields(p), ""), sec) {
				first = append(first, i)
				break
			}
		}
	}
	if len(first) != 2 || first[0] >= first[1] {
		t.Fatalf("sections start on pages %v; text:\n%s", first, text)
	}
	if !strings.Contains(pages[first[1]], "别的镇的事项") {
		t.Errorf("the second township's commitment is not in its section")
	}
	if !strings.Contains(strings.Join(strings.Fields(pages[0]), ""), "栾川县公开承诺事项公示") {
		t.Errorf("page 1 lacks the county's title")
	}
}

// TestNoticePDFNoAddress: without a public address there are no QR codes
// and the notice says why; in English, English headings.
func TestNoticePDFNoAddress(t *testing.T) {
	var buf bytes.Buffer
	res, err := WriteNoticePDF(&buf, noticeFixture(), NoticeConfig{Unit: unit, Today: today, Cal: cal, Tr: en})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.QR) != 0 {
		t.Errorf("%d QR codes without an address", len(res.QR))
	}
	text := pdfText(t, buf.Bytes())
	for _, s := range []string{"public notice of commitments", "No public site address is set", "Page 1 of", "Responsible:"} {
		if !strings.Contains(strings.Join(strings.Fields(text), " "), s) {
			t.Errorf("text lacks %q:\n%s", s, text)
		}
	}
}

// TestNoticePDFEmpty: an office with nothing published gets one page that
// says so.
func TestNoticePDFEmpty(t *testing.T) {
	var buf bytes.Buffer
	res, err := WriteNoticePDF(&buf, nil, NoticeConfig{Unit: unit, Today: today, Tr: zh, PublicURL: publicBase})
	if err != nil {
		t.Fatal(err)
	}
	if res.Pages != 1 || res.Items != 0 {
		t.Fatalf("pages %d items %d", res.Pages, res.Items)
	}
	if text := pdfText(t, buf.Bytes()); !strings.Contains(text, zh.T("notice.empty")) {
		t.Errorf("text lacks the empty note:\n%s", text)
	}
}

func TestPublicURLBase(t *testing.T) {
	for in, want := range map[string]string{
		"":                            "",
		"  https://a.example/g/  ":    "https://a.example/g",
		"http://127.0.0.1:8080":       "http://127.0.0.1:8080",
		"https://xy.example.gov.cn/":  "https://xy.example.gov.cn",
		"https://xy.example.gov.cn/x": "https://xy.example.gov.cn/x",
	} {
		if got, err := PublicURLBase(in); err != nil || got != want {
			t.Errorf("PublicURLBase(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"xy.example.gov.cn", "ftp://a.example", "https://", "https://a.example/?q=1", "javascript:alert(1)"} {
		if _, err := PublicURLBase(bad); !errors.Is(err, ErrPublicURL) {
			t.Errorf("PublicURLBase(%q): %v, want ErrPublicURL", bad, err)
		}
		var buf bytes.Buffer
		if _, err := WriteNoticePDF(&buf, nil, NoticeConfig{Unit: unit, Today: today, PublicURL: bad}); !errors.Is(err, ErrPublicURL) || buf.Len() != 0 {
			t.Errorf("WriteNoticePDF with %q: %v, %d bytes written", bad, err, buf.Len())
		}
	}
	ref := store.Ref{Office: townA, ID: protocol.EntityID{1, 2}}
	if got := CommitmentURL("https://a.example", ref); got != "https://a.example/c/410324101/"+ref.ID.String() {
		t.Errorf("CommitmentURL = %q", got)
	}
}

// TestTrueTypeSubset converts glyphs of the embedded CFF font to TrueType
// and reads them back: same advances, outlines within a font unit of the
// originals' bounds, the characters the font lacks reported, and a font
// file the PDF library accepts (TestNoticePDF prints with it).
func TestTrueTypeSubset(t *testing.T) {
	src := assets.FontCJK()
	runes := []rune("践诺公示赤土店镇A g，。0９")
	missing := []rune{'\U0001F600', '\u0378'} // no glyph; outside the BMP
	ttf, gotMissing, err := trueTypeSubset(src, append(runes, missing...))
	if err != nil {
		t.Fatal(err)
	}
	if string(gotMissing) != string([]rune{'\u0378', '\U0001F600'}) {
		t.Errorf("missing = %q", string(gotMissing))
	}
	a, err := sfnt.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sfnt.Parse(ttf)
	if err != nil {
		t.Fatalf("the converted font does not parse: %v", err)
	}
	if b.NumGlyphs() > len(runes)+1 {
		t.Errorf("%d glyphs for %d characters", b.NumGlyphs(), len(runes))
	}
	ppem := fixed.I(int(a.UnitsPerEm()))
	var ba, bb sfnt.Buffer
	for _, r := range runes {
		ga, _ := a.GlyphIndex(&ba, r)
		gb, err := b.GlyphIndex(&bb, r)
		if err != nil || gb == 0 {
			t.Errorf("%q not in the converted font: %v", r, err)
			continue
		}
		boundsA, advA, _ := a.GlyphBounds(&ba, ga, ppem, font.HintingNone)
		boundsB, advB, err := b.GlyphBounds(&bb, gb, ppem, font.HintingNone)
		if err != nil {
			t.Errorf("%q: %v", r, err)
			continue
		}
		if advA != advB {
			t.Errorf("%q advance %v, want %v", r, advB, advA)
		}
		// The bounds of a quadratic outline hug the curve a little
		// differently from the cubic's: a unit (of 1,000 per em) either way.
		near := func(x, y fixed.Int26_6) bool { return (x-y).Round() <= 1 && (y-x).Round() <= 1 }
		if !near(boundsA.Min.X, boundsB.Min.X) || !near(boundsA.Min.Y, boundsB.Min.Y) ||
			!near(boundsA.Max.X, boundsB.Max.X) || !near(boundsA.Max.Y, boundsB.Max.Y) {
			t.Errorf("%q bounds %v, want %v", r, boundsB, boundsA)
		}
	}
}
