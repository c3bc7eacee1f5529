package public

import (
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Conditional requests and compression for the pages and the feed
// (measured in docs/benchmarks-municipal.md, "The public site").
//
// A page or feed answer depends on the replica, on the day (due and
// overdue) and on the request; so its ETag is the replica's last
// transaction, the date, the request and this process, and a request whose
// If-None-Match names it is answered 304 before anything is read or
// rendered. The ETag is weak: the page says when it was generated, and a
// 304 keeps the copy the client has. A 304 carries no
// Content-Security-Policy, so the client keeps the policy whose nonce its
// cached page carries (a cache takes a 304's headers over the stored
// ones).
//
// HTML and JSON answers of more than minGzip bytes go gzip'd to clients
// that accept it, at the fastest level: the list page shrinks 5×, a
// detail page 2.4×, a feed page 14×, for about a millisecond each.

// minGzip is the smallest answer worth compressing.
const minGzip = 1024

// instance tells this process's ETags from those of an earlier one,
// whose templates or translations may differ.
var instance = func() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}()

// notModified sets the ETag of the answer to r and, if the client holds
// it already, answers 304 and returns true.
func (h *handler) notModified(w http.ResponseWriter, r *http.Request) bool {
	txid, err := h.idx.txid()
	if err != nil {
		return false // the handler will fail on its own and say so
	}
	sum := sha256.Sum256([]byte(r.RequestURI))
	etag := `W/"` + strconv.Itoa(txid) + "-" + h.today().String() + "-" + instance + "-" + hex.EncodeToString(sum[:6]) + `"`
	hd := w.Header()
	hd.Set("ETag", etag)
	if !etagMatch(r.Header.Get("If-None-Match"), etag) {
		return false
	}
	hd.Del("Content-Security-Policy")
	w.WriteHeader(http.StatusNotModified)
	return true
}

// etagMatch is If-None-Match's weak comparison.
func etagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == want {
			return true
		}
	}
	return false
}

// gzipWriters are reused: a gzip.Writer holds about 800 KB of state.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return zw
}}

// compressing is the response writer of a client that accepts gzip: it
// compresses HTML and JSON answers of at least minGzip bytes (their
// Content-Length says how big: render and writeJSON set it).
type compressing struct {
	http.ResponseWriter
	zw *gzip.Writer
}

func acceptsGzip(r *http.Request) bool {
	for _, e := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, q, _ := strings.Cut(strings.TrimSpace(e), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

func (c *compressing) WriteHeader(status int) {
	hd := c.Header()
	ct := hd.Get("Content-Type")
	if strings.HasPrefix(ct, "text/html") || strings.HasPrefix(ct, "application/json") {
		hd.Add("Vary", "Accept-Encoding")
		if n, err := strconv.Atoi(hd.Get("Content-Length")); err == nil && n >= minGzip && status != http.StatusNotModified {
			hd.Del("Content-Length")
			hd.Set("Content-Encoding", "gzip")
			c.zw = gzipWriters.Get().(*gzip.Writer)
			c.zw.Reset(c.ResponseWriter)
		}
	}
	c.ResponseWriter.WriteHeader(status)
}

// Unwrap gives http.ResponseController the writer underneath.
func (c *compressing) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func (c *compressing) Write(b []byte) (int, error) {
	if c.zw != nil {
		return c.zw.Write(b)
	}
	return c.ResponseWriter.Write(b)
}

// finish ends the compressed stream, if there is one.
func (c *compressing) finish() {
	if c.zw != nil {
		c.zw.Close()
		c.zw.Reset(io.Discard)
		gzipWriters.Put(c.zw)
		c.zw = nil
	}
}
