package public

import (
	"bytes"
	"crypto/sha256"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"jiannuo/assets"
	"jiannuo/domain"
	"jiannuo/sync/protocol"
)

// FuzzQuestionToken: any string is refused or is a token this node
// issued; nothing panics, and no answer passes a token that does not
// verify.
func FuzzQuestionToken(f *testing.F) {
	// Checking uses a token up: a fresh questioner for each input keeps
	// the outcome a function of the input.
	key := bytes.Repeat([]byte{3}, 32)
	q := newQuestioner(&Config{QuestionKey: key})
	good := q.issueNonce([16]byte{1, 2, 3}, start) // the same in every fuzzing process
	f.Add(good, "42")
	f.Add(good[:len(good)-1]+"A", "1")
	f.Add("", "")
	f.Add(strings.Repeat("_", len(good)), "٣")
	f.Add("AQAAAAAAAAAA", "０")
	f.Fuzz(func(t *testing.T, tok, answer string) {
		q := newQuestioner(&Config{QuestionKey: key})
		_, err := q.parse(tok)
		if err == nil && tok != good {
			t.Fatalf("token %q verifies, but only %q was issued", tok, good)
		}
		code, _ := q.check(tok, answer, start.Add(10*time.Second))
		if err != nil && code == protocol.CodeOK {
			t.Fatalf("token %q does not verify but %q passes", tok, answer)
		}
	})
}

// FuzzFilingForm: any body is read within its bounds or refused with a
// code; what is read obeys the rules.
func FuzzFilingForm(f *testing.F) {
	seed := func(fields map[string]string, files ...[]byte) []byte {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		must(f, mw.SetBoundary("fuzzboundary"))
		for k, v := range fields {
			must(f, mw.WriteField(k, v))
		}
		for i, data := range files {
			fw, err := mw.CreateFormFile(fieldFiles, "f"+itoa(uint64(i))+".png")
			must(f, err)
			_, _ = fw.Write(data)
		}
		must(f, mw.Close())
		return b.Bytes()
	}
	f.Add(seed(map[string]string{fieldKind: "complaint", fieldText: "内容\r\n第二行", fieldName: "王", fieldPhone: "123456"}))
	f.Add(seed(map[string]string{fieldText: "x"}, []byte("\x89PNG\r\n\x1a\nabc"), []byte("%PDF-1.4"), []byte{0xff, 0xd8, 0xff, 0}))
	f.Add([]byte("--fuzzboundary\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\na\r\n" +
		"--fuzzboundary\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nb\r\n--fuzzboundary--\r\n"))
	f.Add(seed(nil, []byte("<html>"), nil))
	f.Add([]byte("--fuzzboundary\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n\xff\xfe\r\n--fuzzboundary--\r\n"))
	f.Add([]byte("not multipart at all"))
	h := &handler{tr: assets.NewTranslator(assets.LangZhHans)}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/c/410324101/00/file", bytes.NewReader(body))
		req.Header.Set("Content-Type", "multipart/form-data; boundary=fuzzboundary")
		rec := httptest.NewRecorder()
		req.Body = http.MaxBytesReader(rec, req.Body, maxFormBytes)
		fl, ref := h.readFiling(req)
		if ref != nil {
			if ref.code == "" || ref.msg == "" || ref.status < 400 {
				t.Fatalf("refusal without a code or message: %+v", ref)
			}
			return
		}
		if len(fl.files) > domain.MaxCaseAttachments {
			t.Fatalf("%d files read", len(fl.files))
		}
		for _, u := range fl.files {
			if len(u.data) == 0 || len(u.data) > domain.MaxAttachmentBytes || !domain.AttachmentTypeAllowed(u.mime) ||
				protocol.Hash(sha256.Sum256(u.data)) != u.hash || !domain.NonBlank(u.name) || len(u.name) > protocol.MaxNameBytes {
				t.Fatalf("file read against the rules: %q %s %d", u.name, u.mime, len(u.data))
			}
			if domain.CheckText("name", u.name, protocol.MaxNameBytes) != nil {
				t.Fatalf("file name %q breaks the text rules", u.name)
			}
		}
		if strings.Contains(fl.text, "\r\n") || len(fl.text) > 3*maxTextFieldBytes {
			t.Fatalf("text of %d bytes kept with CRLF", len(fl.text))
		}
	})
}

// FuzzCaseNumber: normalising a typed number never panics and gives a
// well-formed number or says no.
func FuzzCaseNumber(f *testing.F) {
	for _, s := range []string{"TS20261019-7K3M9Q2P", " ts20261019-7k3m9q2p ", "YY20261019-OIL00000", "TS2026", "", "TS20261019-7K3M9Q2ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := normalizeCaseNumber(s)
		if ok {
			if !caseNumberPattern.MatchString(n) {
				t.Fatalf("%q normalised to %q", s, n)
			}
			if again, ok2 := normalizeCaseNumber(n); !ok2 || again != n {
				t.Fatalf("%q is not stable", n)
			}
		}
	})
}
