package public

import (
	"crypto/rand"
	"encoding/base64"
	"html/template"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"jiannuo/assets"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/store"
)

// Page sizes: the default and the largest a client may ask for.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// Config configures the public handler.
type Config struct {
	// Store is the municipal node's replica. Required.
	Store *store.Store
	// Directory names offices; nil means office.Luoyang().
	Directory *office.Directory
	// Calendar resolves working-day deadlines; nil means calendar.Default().
	Calendar *calendar.Calendar
	// Now is the clock for "today" (due and overdue); nil means time.Now.
	Now func() time.Time
	// Logger receives store failures; nil means slog.Default().
	Logger *slog.Logger
	// PageSize is the number of commitments per list page and the default
	// limit of the JSON snapshot: 0 means DefaultPageSize; at most
	// MaxPageSize.
	PageSize int
	// MaxStale is how old the in-memory list index may be before a request
	// waits for it to be rebuilt after the store changed. Zero (the
	// default) means the list always reflects the store; a busy node that
	// applies change sets all the time may set a few seconds so that the
	// index is rebuilt at most that often.
	MaxStale time.Duration
}

// NodeMaxStale is the MaxStale of a municipal node's public page: the node
// applies change sets all the time, and rebuilding the list's index after
// every one would cost the pulls the CPU the public traffic took
// (docs/benchmarks-municipal.md, "The public site").
const NodeMaxStale = 2 * time.Second

// cst is China Standard Time. China has no daylight saving time, so a fixed
// zone is exact and needs no tzdata in a static binary.
var cst = time.FixedZone("CST", 8*3600)

// handler serves the public page and the JSON feed.
type handler struct {
	st       *store.Store
	dir      *office.Directory
	cal      *calendar.Calendar
	now      func() time.Time
	log      *slog.Logger
	pageSize int
	tr       *assets.Translator
	idx      indexer
	mux      *http.ServeMux
	pages    *template.Template

	feedIDMu sync.Mutex
	feedID   string // once known: it never changes for a store
}

// New returns the handler for the public page and feed. It panics if
// cfg.Store is nil.
func New(cfg Config) http.Handler {
	if cfg.Store == nil {
		panic("public.New: Config.Store is nil")
	}
	h := &handler{st: cfg.Store, dir: cfg.Directory, cal: cfg.Calendar, now: cfg.Now, log: cfg.Logger, pageSize: cfg.PageSize}
	if h.dir == nil {
		h.dir = office.Luoyang()
	}
	if h.cal == nil {
		h.cal = calendar.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.log = h.log.With("component", "public")
	switch {
	case h.pageSize <= 0:
		h.pageSize = DefaultPageSize
	case h.pageSize > MaxPageSize:
		h.pageSize = MaxPageSize
	}
	h.tr = assets.NewTranslator(assets.LangZhHans)
	h.pages = h.parseTemplates()
	h.idx = indexer{st: cfg.Store, maxStale: cfg.MaxStale}
	h.mux = http.NewServeMux()
	h.mux.HandleFunc("GET /{$}", h.serveList)
	h.mux.HandleFunc("GET /c/{office}/{id}", h.serveDetail)
	h.mux.HandleFunc("GET /evidence/{hash}", h.serveEvidence)
	h.mux.HandleFunc("GET /api/v1/commitments", h.serveAPICommitments)
	h.mux.HandleFunc("GET /api/v1/changes", h.serveAPIChanges)
	h.mux.HandleFunc("GET /api/", h.serveAPINotFound)
	h.mux.HandleFunc("/", h.serveNotFound)
	return h
}

// ServeHTTP sets the security headers every response carries and routes.
// The pages run no script at all; styles come from one inline block allowed
// by a per-response nonce.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	nonce := newNonce()
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'none'; style-src 'nonce-"+nonce+"'; "+
		"img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if acceptsGzip(r) {
		cw := &compressing{ResponseWriter: w}
		defer cw.finish()
		w = cw
	}
	h.mux.ServeHTTP(w, r.WithContext(withNonce(r.Context(), nonce)))
}

func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])                            // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:]) // no + or /: nothing for html/template to escape
}
