package report

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"codeberg.org/go-pdf/fpdf"
	"github.com/skip2/go-qrcode"

	"jiannuo/assets"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/store"
)

// The printable public notice (公示): an A4 PDF of the published public
// commitments of an office, or of every office of a county with one section
// per office, for the notice board (公示栏). It is designed for a
// black-and-white office printer: black text, thin black rules, no colour
// or shading, and QR codes drawn as vectors so they stay sharp at any
// printer resolution.

// ErrPublicURL is returned for a public site address that is not an
// absolute http or https URL.
var ErrPublicURL = errors.New("report: the public site address must be an http:// or https:// address")

// NoticeConfig says what WriteNoticePDF prints.
type NoticeConfig struct {
	// Unit is the office whose notice this is: a township (or any office),
	// or a county, whose notice has one section per office inside it.
	Unit office.Unit
	// Today is the notice's date, printed on every page.
	Today calendar.Date
	// Cal resolves working-day deadlines; nil means calendar.Default().
	Cal *calendar.Calendar
	// Tr gives every heading and label; nil means Simplified Chinese.
	Tr *assets.Translator
	// PublicURL is the address of the public disclosure site
	// (server/public), e.g. "https://xy.example.gov.cn/gongshi". Each
	// commitment gets a QR code of its page there, PublicURL +
	// "/c/{office}/{id}". Empty: no QR codes, and the notice says so.
	PublicURL string
}

// NoticeQR is where WriteNoticePDF drew one commitment's QR code: the page
// (from 1) and the square's top-left corner and side in millimetres from
// the page's top-left corner. The quiet zone the code needs around it is
// inside the square.
type NoticeQR struct {
	Ref     store.Ref
	URL     string
	Page    int
	X, Y, W float64
}

// NoticeResult says what WriteNoticePDF wrote.
type NoticeResult struct {
	Pages int        // pages in the PDF
	Items int        // commitments listed
	QR    []NoticeQR // one per commitment when a public address was given
	// Missing lists the characters of the notice that the embedded font
	// has no glyph for (a rare character typed in a title or a name); they
	// print as blanks. Extend the font (tools/fontsubset) to print them.
	Missing []rune
}

// Page geometry, in millimetres (A4 portrait).
const (
	pageW        = 210.0
	pageH        = 297.0
	marginX      = 18.0
	marginTop    = 14.0
	marginBottom = 16.0
	contentW     = pageW - 2*marginX
	qrSide       = 24.0 // the QR square, quiet zone included: 0.5–0.6 mm a module
	qrGap        = 4.0  // between the text and the QR code
	itemPad      = 2.5  // inside an item's frame
	maxTitle     = 3    // lines of a title before it is cut
	maxText      = 8    // lines of a commitment's text before it is cut
	ptToMM       = 25.4 / 72
	fontFamily   = "notice"
)

// PublicURLBase checks a public site address and returns it without a
// trailing slash; "" stays "" (no QR codes).
func PublicURLBase(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%w: %q", ErrPublicURL, s)
	}
	return strings.TrimRight(s, "/"), nil
}

// CommitmentURL is the address of a commitment's page on the public site
// at base (see PublicURLBase): base/c/{office}/{id}, the route of
// server/public.
func CommitmentURL(base string, ref store.Ref) string {
	return base + "/c/" + url.PathEscape(string(ref.Office)) + "/" + ref.ID.String()
}

// noticeItem is one commitment as the notice prints it.
type noticeItem struct {
	ref                                  store.Ref
	title, text, responsible, due, state string
	url                                  string
}

type noticeGroup struct {
	cat     domain.Category
	heading string
	items   []noticeItem
}

type noticeSection struct {
	heading string // "" for a single office's notice
	groups  []noticeGroup
	count   int
}

// WriteNoticePDF writes the printable public notice (公示) of cfg.Unit to
// w: its commitments that are on the public-notice list (InNotice), in the
// list's order (NoticeRows), grouped by category, each with its title,
// text (cut after eight lines), responsible official, deadline, status and
// a QR code of its page on the public site. A county's notice has one
// section per office, each starting on a new page. Every page carries the
// office's name, the date and "page n of m". The embedded Noto Sans SC
// subset is embedded in the PDF, only the characters used.
func WriteNoticePDF(w io.Writer, cs []store.Commitment, cfg NoticeConfig) (NoticeResult, error) {
	base, err := PublicURLBase(cfg.PublicURL)
	if err != nil {
		return NoticeResult{}, err
	}
	if cfg.Cal == nil {
		cfg.Cal = calendar.Default()
	}
	tr := cfg.Tr
	sections, n := noticeSections(cs, cfg, base)

	// The fonts hold only the characters printed: collect them first.
	texts := noticeStatic(cfg, n)
	for _, s := range sections {
		texts = append(texts, s.heading)
		for _, g := range s.groups {
			texts = append(texts, g.heading)
			for _, it := range g.items {
				texts = append(texts, it.title, it.text, it.responsible, it.due, it.state)
			}
		}
	}
	fonts, missing, err := subsetFonts(texts)
	if err != nil {
		return NoticeResult{}, err
	}

	// Two passes: the first counts the pages for "page n of m".
	first := newNoticeWriter(cfg, tr, fonts, 0)
	first.write(sections, n, base != "")
	if err := first.pdf.Error(); err != nil {
		return NoticeResult{}, err
	}
	nw := newNoticeWriter(cfg, tr, fonts, first.pdf.PageNo())
	nw.write(sections, n, base != "")
	if err := nw.pdf.Output(w); err != nil {
		return NoticeResult{}, err
	}
	return NoticeResult{Pages: nw.pdf.PageNo(), Items: n, QR: nw.qrs, Missing: missing}, nil
}

// noticeSections groups the notice's rows: by office when cfg.Unit is a
// county or larger, then by category.
func noticeSections(cs []store.Commitment, cfg NoticeConfig, base string) ([]noticeSection, int) {
	tr := cfg.Tr
	rows := noticeRows(cs, cfg.Unit, cfg.Cal)
	name := officeNamer(cfg.Unit)
	byOffice := cfg.Unit.Level() < office.Township
	var offices []office.Code
	groups := map[office.Code][]noticeRow{}
	for _, r := range rows {
		o := r.c.Office
		if !byOffice {
			o = cfg.Unit.Code
		}
		if _, ok := groups[o]; !ok {
			offices = append(offices, o)
		}
		groups[o] = append(groups[o], r)
	}
	slices.Sort(offices)
	var out []noticeSection
	for _, o := range offices {
		sec := noticeSection{count: len(groups[o])}
		if byOffice {
			sec.heading = tr.T("notice.section", name(o), len(groups[o]))
		}
		var cat domain.Category
		for i, r := range groups[o] {
			c := r.c
			if i == 0 || c.Category != cat {
				cat = c.Category
				sec.groups = append(sec.groups, noticeGroup{cat: cat})
			}
			g := &sec.groups[len(sec.groups)-1]
			it := noticeItem{ref: c.Ref, title: c.Title, text: c.Text, responsible: c.Responsible,
				due: noticeDeadline(c, r, tr), state: tr.T("status." + string(c.Status))}
			if c.Progress > 0 && (c.Status == domain.StatusInProgress || c.Status == domain.StatusPartlyFulfilled) {
				it.state = tr.T("notice.progress", it.state, c.Progress)
			}
			if base != "" {
				it.url = CommitmentURL(base, c.Ref)
			}
			g.items = append(g.items, it)
		}
		for i := range sec.groups {
			g := &sec.groups[i]
			g.heading = tr.T("notice.category", ordinal(i+1, tr), tr.T("category."+string(g.cat)), len(g.items))
		}
		out = append(out, sec)
	}
	return out, len(rows)
}

// noticeDeadline is the deadline as printed: the date, or "N 个工作日内（至
// date）", marked when estimated, or "无截止日期".
func noticeDeadline(c *store.Commitment, r noticeRow, tr *assets.Translator) string {
	dl := c.DeadlineValue()
	var s string
	switch {
	case dl.Kind == domain.NoDeadline || r.due.IsZero():
		return tr.T("due.none")
	case dl.Kind == domain.DeadlineWorkdays:
		s = tr.T("deadline.workdays", dl.Days, r.due.String())
	default:
		s = r.due.String()
	}
	if r.est {
		s = tr.T("report.estimated", s)
	}
	return s
}

// ordinal numbers a category heading: 一、二、… in Chinese, 1. 2. … in
// English.
func ordinal(n int, tr *assets.Translator) string {
	if tr.Lang() != assets.LangZhHans || n > 99 {
		return strconv.Itoa(n)
	}
	digits := []string{"", "一", "二", "三", "四", "五", "六", "七", "八", "九"}
	switch {
	case n < 10:
		return digits[n]
	case n < 20:
		return "十" + digits[n%10]
	default:
		return digits[n/10] + "十" + digits[n%10]
	}
}

// noticeStatic is every fixed text the notice may print, for the font.
func noticeStatic(cfg NoticeConfig, n int) []string {
	tr := cfg.Tr
	name := cmp.Or(cfg.Unit.Name, string(cfg.Unit.Code))
	return []string{
		"0123456789", tr.T("notice.title", name), tr.T("notice.subtitle", cfg.Today.String(), n),
		tr.T("notice.intro"), tr.T("notice.no_qr"), tr.T("notice.empty"), tr.T("notice.more"),
		tr.T("notice.responsible"), tr.T("notice.deadline"), tr.T("notice.status"), tr.T("notice.scan"),
		tr.T("notice.page", 1, 1), tr.T("notice.header_date", cfg.Today.String()), "…",
	}
}

// noticeFonts are the notice's fonts as TrueType (see trueTypeSubset).
type noticeFonts struct{ regular, bold []byte }

// subsetFonts returns the embedded fonts, regular and bold, holding the
// characters of texts, and the characters they have no glyph for.
func subsetFonts(texts []string) (noticeFonts, []rune, error) {
	var runes []rune
	seen := map[rune]bool{}
	for _, s := range texts {
		for _, r := range s {
			if !seen[r] && !unicode.IsControl(r) {
				seen[r] = true
				runes = append(runes, r)
			}
		}
	}
	regular, missing, err := trueTypeSubset(assets.FontCJK(), runes)
	if err != nil {
		return noticeFonts{}, nil, fmt.Errorf("PDF font: %w", err)
	}
	bold, _, err := trueTypeSubset(assets.FontCJKBold(), runes)
	if err != nil {
		return noticeFonts{}, nil, fmt.Errorf("PDF font: %w", err)
	}
	return noticeFonts{regular: regular, bold: bold}, missing, nil
}

// noticeWriter lays the notice out page by page.
type noticeWriter struct {
	pdf  *fpdf.Fpdf
	cfg  NoticeConfig
	tr   *assets.Translator
	name string // the office's name, in the header and footer
	// title and headerDate are the running header's (the notice's title
	// and date, or another document's).
	title, headerDate string
	total             int // pages, once known; 0 in the counting pass
	y                 float64
	qrs               []NoticeQR
}

func newNoticeWriter(cfg NoticeConfig, tr *assets.Translator, fonts noticeFonts, total int) *noticeWriter {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes(fontFamily, "", fonts.regular)
	pdf.AddUTF8FontFromBytes(fontFamily, "B", fonts.bold)
	pdf.SetMargins(marginX, marginTop, marginX)
	pdf.SetAutoPageBreak(false, marginBottom)
	name := cmp.Or(cfg.Unit.Name, string(cfg.Unit.Code))
	pdf.SetTitle(tr.T("notice.title", name), true)
	pdf.SetCreator("践诺 Jiannuo", true)
	if tr.Lang() == assets.LangEn {
		pdf.SetLang("en")
	} else {
		pdf.SetLang("zh-CN")
	}
	pdf.SetDrawColor(0, 0, 0)
	pdf.SetTextColor(0, 0, 0)
	pdf.SetFillColor(0, 0, 0)
	nw := &noticeWriter{pdf: pdf, cfg: cfg, tr: tr, name: name, total: total,
		title: tr.T("notice.title", name), headerDate: tr.T("notice.header_date", cfg.Today.String())}
	pdf.SetFooterFunc(nw.footer)
	return nw
}

// write lays out the whole notice.
func (nw *noticeWriter) write(sections []noticeSection, n int, qr bool) {
	nw.newPage(true)
	nw.titleBlock(n, qr)
	if n == 0 {
		nw.paragraph(nw.tr.T("notice.empty"), 11, "", 0)
		return
	}
	for i, s := range sections {
		if s.heading != "" {
			if i > 0 {
				nw.newPage(false)
			}
			nw.heading(s.heading, 15, 1.0, 0)
		}
		for _, g := range s.groups {
			// Never a heading alone at the foot of a page: keep it with
			// its first commitment.
			nw.heading(g.heading, 12.5, 0.8, nw.layoutItem(g.items[0]).height+2)
			for _, it := range g.items {
				nw.item(it)
			}
		}
	}
}

// bottom is the lowest y the body may reach.
func (nw *noticeWriter) bottom() float64 { return pageH - marginBottom - 6 }

func (nw *noticeWriter) newPage(first bool) {
	nw.pdf.AddPage()
	nw.y = marginTop
	if first {
		return
	}
	// A running header: the office and the date, over a thin rule.
	nw.setFont("", 8.5)
	nw.pdf.Text(marginX, nw.y+3, nw.title)
	d := nw.headerDate
	nw.pdf.Text(pageW-marginX-nw.pdf.GetStringWidth(d), nw.y+3, d)
	nw.pdf.SetLineWidth(0.2)
	nw.pdf.Line(marginX, nw.y+4.5, pageW-marginX, nw.y+4.5)
	nw.y += 9
}

// footer prints "page n of m" and the office's name on every page.
func (nw *noticeWriter) footer() {
	nw.setFont("", 8.5)
	y := pageH - marginBottom + 6
	nw.pdf.SetLineWidth(0.2)
	nw.pdf.Line(marginX, y-4.5, pageW-marginX, y-4.5)
	total := nw.total
	if total == 0 {
		total = nw.pdf.PageNo() // counting pass: any number of the same width will do
	}
	p := nw.tr.T("notice.page", nw.pdf.PageNo(), total)
	nw.pdf.Text((pageW-nw.pdf.GetStringWidth(p))/2, y, p)
	nw.pdf.Text(marginX, y, nw.name)
	d := nw.cfg.Today.String()
	nw.pdf.Text(pageW-marginX-nw.pdf.GetStringWidth(d), y, d)
}

func (nw *noticeWriter) setFont(style string, size float64) { nw.pdf.SetFont(fontFamily, style, size) }

// lineH is the line height for a font size in points.
func lineH(size float64) float64 { return size * ptToMM * 1.45 }

// titleBlock is the top of page 1: the title, the date and count, and
// what the QR codes are for.
func (nw *noticeWriter) titleBlock(n int, qr bool) {
	nw.setFont("B", 20)
	t := nw.tr.T("notice.title", nw.name)
	for _, l := range nw.wrap(t, contentW, 0) {
		nw.pdf.Text((pageW-nw.pdf.GetStringWidth(l))/2, nw.y+7, l)
		nw.y += lineH(20)
	}
	nw.y += 1
	nw.setFont("", 10.5)
	s := nw.tr.T("notice.subtitle", nw.cfg.Today.String(), n)
	nw.pdf.Text((pageW-nw.pdf.GetStringWidth(s))/2, nw.y+4, s)
	nw.y += lineH(10.5) + 1
	nw.pdf.SetLineWidth(0.6)
	nw.pdf.Line(marginX, nw.y, pageW-marginX, nw.y)
	nw.pdf.SetLineWidth(0.2)
	nw.pdf.Line(marginX, nw.y+0.9, pageW-marginX, nw.y+0.9)
	nw.y += 3.5
	if n == 0 {
		return
	}
	intro := nw.tr.T("notice.intro")
	if !qr {
		intro = nw.tr.T("notice.no_qr")
	}
	nw.paragraph(intro, 9.5, "", 0)
	nw.y += 1.5
}

// paragraph prints wrapped text at the current position across the page.
func (nw *noticeWriter) paragraph(s string, size float64, style string, maxLines int) {
	nw.setFont(style, size)
	for _, l := range nw.wrap(s, contentW, maxLines) {
		nw.ensure(lineH(size))
		nw.pdf.Text(marginX, nw.y+size*ptToMM, l)
		nw.y += lineH(size)
	}
}

// ensure starts a new page unless h more millimetres fit on this one.
func (nw *noticeWriter) ensure(h float64) {
	if nw.y+h > nw.bottom() {
		nw.newPage(false)
	}
}

// heading prints a heading with a rule under it, on a new page unless
// keep more millimetres fit under it.
func (nw *noticeWriter) heading(s string, size, rule, keep float64) {
	nw.ensure(lineH(size) + 3.5 + keep)
	nw.setFont("B", size)
	nw.y += 1
	nw.pdf.Text(marginX, nw.y+size*ptToMM, s)
	nw.y += lineH(size)
	nw.pdf.SetLineWidth(rule * 0.4)
	nw.pdf.Line(marginX, nw.y, pageW-marginX, nw.y)
	nw.pdf.SetLineWidth(0.2)
	nw.y += 2.5
}

// itemLayout is one commitment's lines, measured.
type itemLayout struct {
	title, text, meta []string
	height            float64
}

const (
	noticeTitleSize = 11.0
	noticeTextSize  = 9.5
	noticeMetaSize  = 9.0
)

func (nw *noticeWriter) layoutItem(it noticeItem) itemLayout {
	w := contentW - 2*itemPad
	if it.url != "" {
		w -= qrSide + qrGap
	}
	var l itemLayout
	nw.setFont("B", noticeTitleSize)
	l.title = nw.wrap(it.title, w, maxTitle)
	nw.setFont("", noticeTextSize)
	l.text = nw.wrap(it.text, w, maxText)
	nw.setFont("", noticeMetaSize)
	meta := nw.tr.T("notice.responsible") + "：" + it.responsible + "　" +
		nw.tr.T("notice.deadline") + "：" + it.due + "　" + nw.tr.T("notice.status") + "：" + it.state
	if nw.tr.Lang() == assets.LangEn {
		meta = strings.NewReplacer("：", ": ", "　", "   ").Replace(meta)
	}
	l.meta = nw.wrap(meta, w, 0)
	l.height = 2*itemPad + float64(len(l.title))*lineH(noticeTitleSize) + 0.8 +
		float64(len(l.text))*lineH(noticeTextSize) + 0.8 + float64(len(l.meta))*lineH(noticeMetaSize)
	if it.url != "" {
		l.height = max(l.height, 2*itemPad+qrSide+lineH(7))
	}
	return l
}

// item prints one commitment in a thin frame, its QR code on the right;
// an item is never split across pages.
func (nw *noticeWriter) item(it noticeItem) {
	l := nw.layoutItem(it)
	nw.ensure(l.height + 2)
	p := nw.pdf
	top := nw.y
	p.SetLineWidth(0.25)
	p.Rect(marginX, top, contentW, l.height, "D")
	x := marginX + itemPad
	y := top + itemPad
	nw.setFont("B", noticeTitleSize)
	for _, s := range l.title {
		p.Text(x, y+noticeTitleSize*ptToMM, s)
		y += lineH(noticeTitleSize)
	}
	y += 0.8
	nw.setFont("", noticeTextSize)
	for _, s := range l.text {
		p.Text(x, y+noticeTextSize*ptToMM, s)
		y += lineH(noticeTextSize)
	}
	y += 0.8
	nw.setFont("", noticeMetaSize)
	for _, s := range l.meta {
		p.Text(x, y+noticeMetaSize*ptToMM, s)
		y += lineH(noticeMetaSize)
	}
	if it.url != "" {
		qx := marginX + contentW - itemPad - qrSide
		qy := top + itemPad
		if nw.drawQR(it.url, qx, qy, qrSide) {
			nw.qrs = append(nw.qrs, NoticeQR{Ref: it.ref, URL: it.url, Page: p.PageNo(), X: qx, Y: qy, W: qrSide})
		}
		nw.setFont("", 7)
		s := nw.tr.T("notice.scan")
		p.Text(qx+(qrSide-p.GetStringWidth(s))/2, qy+qrSide+7*ptToMM, s)
	}
	nw.y = top + l.height + 2
}

// drawQR draws the QR code of s in the square at (x, y) of side w, its
// quiet zone included, as one filled path of black rectangles (one per run
// of dark modules in a row), so that no seams show between modules. It
// reports false if s cannot be encoded (it is far too long).
func (nw *noticeWriter) drawQR(s string, x, y, w float64) bool {
	q, err := qrcode.New(s, qrcode.Medium)
	if err != nil {
		return false
	}
	bm := q.Bitmap() // with its four-module quiet zone
	m := w / float64(len(bm))
	p := nw.pdf
	for r, row := range bm {
		for c := 0; c < len(row); {
			if !row[c] {
				c++
				continue
			}
			start := c
			for c < len(row) && row[c] {
				c++
			}
			x0, y0 := x+float64(start)*m, y+float64(r)*m
			x1, y1 := x+float64(c)*m, y0+m
			p.MoveTo(x0, y0)
			p.LineTo(x1, y0)
			p.LineTo(x1, y1)
			p.LineTo(x0, y1)
			p.ClosePath()
		}
	}
	p.DrawPath("F")
	return true
}

// closing are characters that never start a line (避头): they stay at the
// end of the line before, even if it runs a little long.
const closing = "，。、；：？！）】》」』”’…%,.;:?!)]}"

// wrap breaks s into lines at most width wide in the current font:
// Chinese text anywhere between characters, Latin text at spaces or
// punctuation (a word longer than a line anywhere), closing punctuation
// never at the start of a line, paragraphs at "\n". With maxLines > 0, a
// longer text is cut and its last line ends with notice.more.
func (nw *noticeWriter) wrap(s string, width float64, maxLines int) []string {
	p := nw.pdf
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\t", " ")
	var lines []string
	full := func() bool { return maxLines > 0 && len(lines) > maxLines }
	for _, para := range strings.Split(s, "\n") {
		if full() {
			break
		}
		rs := []rune(strings.TrimRightFunc(para, unicode.IsSpace))
		if len(rs) == 0 {
			if len(lines) > 0 {
				lines = append(lines, "")
			}
			continue
		}
		for start := 0; start < len(rs) && !full(); {
			end, w := start, 0.0
			for end < len(rs) {
				cw := p.GetStringWidth(string(rs[end]))
				if w+cw > width && end > start {
					break
				}
				w += cw
				end++
			}
			if end < len(rs) && isWordRune(rs[end]) && isWordRune(rs[end-1]) {
				// In a Latin word: break after the last space or
				// punctuation instead, if the line has one.
				for k := end - 1; k > start; k-- {
					if !isWordRune(rs[k]) {
						end = k + 1
						break
					}
				}
			}
			for end < len(rs) && strings.ContainsRune(closing, rs[end]) {
				end++
			}
			lines = append(lines, strings.TrimRight(string(rs[start:end]), " "))
			for start = end; start < len(rs) && rs[start] == ' '; start++ {
			}
		}
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if maxLines > 0 && len(lines) > maxLines {
		lines = lines[:maxLines]
		more := nw.tr.T("notice.more")
		last := []rune(lines[maxLines-1])
		for len(last) > 0 && p.GetStringWidth(string(last)+more) > width {
			last = last[:len(last)-1]
		}
		lines[maxLines-1] = string(last) + more
	}
	return lines
}

// isWordRune reports whether r belongs to a word that breaks only at
// spaces (Latin letters and digits), unlike Chinese characters.
func isWordRune(r rune) bool {
	return r < 0x2E80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '/' || r == '.' || r == '@')
}
