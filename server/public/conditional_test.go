package public

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// getWith serves one GET with the header lines given ("Name: value").
func getWith(h http.Handler, target string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for _, l := range header {
		k, v, _ := strings.Cut(l, ": ")
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestConditionalRequests: pages and feed answers carry a weak ETag; a
// request naming it is answered 304 with no body and no CSP (the client
// keeps its page's policy); another request, or the same one after the
// replica changed, gets a new one; error pages carry none.
func TestConditionalRequests(t *testing.T) {
	f := newFixture(t)
	paths := []string{"/", "/?category=elderly_care", detailPath(f.elderly), "/api/v1/commitments", "/api/v1/changes?since=0"}
	etags := map[string]string{}
	for _, p := range paths {
		w := getWith(f.h, p)
		etag := w.Header().Get("ETag")
		if w.Code != http.StatusOK || !strings.HasPrefix(etag, `W/"`) {
			t.Fatalf("%s: %d, ETag %q", p, w.Code, etag)
		}
		for q, e := range etags {
			if e == etag {
				t.Fatalf("%s and %s share the ETag %s", p, q, etag)
			}
		}
		etags[p] = etag
		nm := getWith(f.h, p, "If-None-Match: "+etag)
		if nm.Code != http.StatusNotModified || nm.Body.Len() != 0 || nm.Header().Get("ETag") != etag ||
			nm.Header().Get("Content-Security-Policy") != "" {
			t.Fatalf("%s with its ETag: %d, %d bytes, ETag %q, CSP %q", p, nm.Code, nm.Body.Len(), nm.Header().Get("ETag"),
				nm.Header().Get("Content-Security-Policy"))
		}
		if other := getWith(f.h, p, `If-None-Match: W/"0-x"`); other.Code != http.StatusOK {
			t.Fatalf("%s with another ETag: %d", p, other.Code)
		}
	}
	for _, p := range []string{"/nope", "/c/410324101/zzz", "/?cursor=zz"} {
		if w := getWith(f.h, p); w.Code == http.StatusOK || w.Header().Get("ETag") != "" {
			t.Fatalf("%s: %d with ETag %q", p, w.Code, w.Header().Get("ETag"))
		}
	}
	// The replica changes: every ETag is stale.
	must(t, f.muni.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists([]byte("x-conditional-test"))
		return err
	}))
	for _, p := range paths {
		if w := getWith(f.h, p, "If-None-Match: "+etags[p]); w.Code != http.StatusOK || w.Header().Get("ETag") == etags[p] {
			t.Fatalf("%s after a change: %d, ETag %q", p, w.Code, w.Header().Get("ETag"))
		}
	}
}

// TestCompression: a client that accepts gzip gets pages and feed answers
// compressed, the same content once inflated; small answers, evidence
// files and clients that do not accept it get them as they are.
func TestCompression(t *testing.T) {
	f := newFixture(t)
	for _, p := range []string{"/", detailPath(f.elderly), "/api/v1/commitments"} {
		plain := getWith(f.h, p)
		w := getWith(f.h, p, "Accept-Encoding: gzip, deflate")
		if w.Code != http.StatusOK || w.Header().Get("Content-Encoding") != "gzip" || !strings.Contains(w.Header().Get("Vary"), "Accept-Encoding") {
			t.Fatalf("%s: %d, Content-Encoding %q, Vary %q", p, w.Code, w.Header().Get("Content-Encoding"), w.Header().Get("Vary"))
		}
		zipped := w.Body.Len()
		zr, err := gzip.NewReader(w.Body)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if plain.Header().Get("Content-Encoding") != "" || !sameBut(body, plain.Body.Bytes()) {
			t.Fatalf("%s: inflated %d bytes, plain %d", p, len(body), plain.Body.Len())
		}
		t.Logf("%s: %d bytes, %d gzip'd", p, plain.Body.Len(), zipped)
	}
	for _, p := range []string{"/api/nope", "/evidence/" + f.evCited.String()} {
		if w := getWith(f.h, p, "Accept-Encoding: gzip"); w.Header().Get("Content-Encoding") != "" {
			t.Fatalf("%s compressed", p)
		}
	}
	if w := getWith(f.h, "/", "Accept-Encoding: gzip;q=0"); w.Header().Get("Content-Encoding") != "" {
		t.Fatal("compressed for a client that refuses gzip")
	}
}

// sameBut reports whether two renderings of one page agree but for what
// changes with each response: the style nonce and the feed's generation
// time.
func sameBut(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	diff := 0
	for i := range a {
		if a[i] != b[i] {
			diff++
		}
	}
	return diff <= 64 && bytes.HasPrefix(a, b[:min(len(b), 15)])
}
