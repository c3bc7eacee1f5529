package report_test

import (
	"bytes"
	"image/png"
	"os"
	"strings"
	"testing"

	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/report"
)

// noticeScreenshotEnv names a file to save page 1 of the demo township's
// notice to, rendered as PNG, for the documentation:
//
//	JIANNUO_NOTICE_SCREENSHOT=$PWD/docs/screenshots/notice-page1.png go test -run NoticeOnDemo ./report/
const noticeScreenshotEnv = "JIANNUO_NOTICE_SCREENSHOT"

// TestNoticeOnDemo prints the demo township's notice: every commitment of
// its public-notice list is in the extracted text, each QR code decodes to
// its page, and every character has a glyph.
func TestNoticeOnDemo(t *testing.T) {
	cs, _ := demoData(t)
	unit, _ := office.Luoyang().Lookup("410324101")
	const base = "https://xy.example.gov.cn/gongshi"
	var buf bytes.Buffer
	res, err := report.WriteNoticePDF(&buf, cs, report.NoticeConfig{Unit: unit, Today: calendar.DateOf(demoNow), Tr: report.Zh, PublicURL: base})
	if err != nil {
		t.Fatal(err)
	}
	rows := report.NoticeRows(cs, unit, nil)
	if len(rows) == 0 || res.Items != len(rows) || len(res.QR) != len(rows) || len(res.Missing) != 0 {
		t.Fatalf("items %d, QR codes %d, missing %q; the list has %d", res.Items, len(res.QR), string(res.Missing), len(rows))
	}
	flat := strings.Join(strings.Fields(report.PDFText(t, buf.Bytes())), "")
	for _, c := range rows {
		if !strings.Contains(flat, strings.Join(strings.Fields(c.Title), "")) {
			t.Errorf("the notice lacks %q", c.Title)
		}
	}
	const dpi = 200
	pages := report.PDFPages(t, buf.Bytes(), dpi)
	for _, q := range res.QR {
		got, err := report.DecodeQR(t, pages[q.Page-1], q, dpi)
		if want := report.CommitmentURL(base, q.Ref); err != nil || got != want {
			t.Errorf("QR code of %s: %q, %v; want %q", q.Ref, got, err, want)
		}
	}
	if out := os.Getenv(noticeScreenshotEnv); out != "" {
		var img bytes.Buffer
		if err := png.Encode(&img, report.Downscale(pages[0], 2)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(out, img.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
