package public

import (
	"crypto/rand"
	"encoding/base64"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"jiannuo/assets"
	"jiannuo/domain"
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

	// Intake takes the complaints and objections filed on the page (the
	// municipal node). Nil: the forms are not offered, and the pages say
	// that filings are taken on the municipal platform's own site.
	Intake IntakeSink

	// Disclosure is how long dishonesty records are published and what
	// credit repair does to them (§四(二)): the zero value means
	// domain's defaults, a record shown for 1095 days (three years) from
	// the day it was recorded and, once repaired, kept as 已修复 until
	// then (domain.AfterRepairKeep); with domain.AfterRepairWithdraw it
	// leaves the page RepairWithdrawDays (default 30) days after the
	// repair. New panics on settings domain.Disclosure.Validate refuses.
	Disclosure domain.Disclosure

	// IntakePerHour and IntakePerDay bound the filings accepted from one
	// address: 0 means DefaultIntakePerHour (5) and DefaultIntakePerDay
	// (20).
	IntakePerHour, IntakePerDay int
	// FormPostsPerHour bounds the form submissions from one address,
	// refused ones included, so that a script cannot hammer the forms
	// with bad answers: 0 means DefaultFormPostsPerHour (30).
	FormPostsPerHour int
	// TrackFailuresPerHour bounds the wrong tracking codes from one
	// address; past it the tracking page answers nobody from that address
	// for the rest of the hour: 0 means DefaultTrackFailuresPerHour (10).
	TrackFailuresPerHour int
	// RateTableSize bounds the addresses the rate limits remember (least
	// recently seen forgotten first): 0 means DefaultRateTableSize
	// (65,536).
	RateTableSize int
	// TrustedProxyHeader names the header a reverse proxy in front of the
	// node sets to the client's address ("X-Forwarded-For" or
	// "X-Real-IP"; for X-Forwarded-For the last address is taken, the one
	// the proxy appended). Empty (the default): the connection's address
	// is the client's and every such header is ignored, since a client
	// could set it to anything.
	TrustedProxyHeader string
	// QuestionKey signs the form's question tokens (HMAC-SHA-256, at
	// least 32 bytes). Nil (the default): a random key made at start, so
	// a form served before a restart is answered with a new question.
	// Nodes behind one load balancer without sticky sessions share a key.
	QuestionKey []byte
	// MinFillTime is the least time between serving a form and its
	// submission (a person reads and types; a script posts at once): 0
	// means DefaultMinFillTime (3 s).
	MinFillTime time.Duration
	// QuestionTTL is how long a served form's question may be answered: 0
	// means DefaultQuestionTTL (1 hour).
	QuestionTTL time.Duration
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

	// Supervision: filings, tracking and dishonesty records.
	intake      IntakeSink
	disc        domain.Disclosure
	lim         *limiter
	q           *questioner
	recent      recentIntakes
	proxyHeader string
	filingSlots chan struct{} // bounds the submissions read at once
}

// New returns the handler for the public page and feed. It panics if
// cfg.Store is nil.
func New(cfg Config) http.Handler {
	if cfg.Store == nil {
		panic("public.New: Config.Store is nil")
	}
	h := &handler{st: cfg.Store, dir: cfg.Directory, cal: cfg.Calendar, now: cfg.Now, log: cfg.Logger, pageSize: cfg.PageSize,
		intake: cfg.Intake, disc: cfg.Disclosure.WithDefaults(), lim: newLimiter(&cfg), q: newQuestioner(&cfg),
		proxyHeader: cfg.TrustedProxyHeader, filingSlots: make(chan struct{}, maxConcurrentFilings)}
	if err := h.disc.Validate(); err != nil {
		panic("public.New: Config.Disclosure: " + err.Error())
	}
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
	h.mux.HandleFunc("GET /c/{office}/{id}/file", h.serveCommitmentForm)
	h.mux.HandleFunc("POST /c/{office}/{id}/file", h.postCommitmentForm)
	h.mux.HandleFunc("GET /d/{office}", h.serveRecordList)
	h.mux.HandleFunc("GET /d/{office}/{id}", h.serveRecord)
	h.mux.HandleFunc("GET /d/{office}/{id}/file", h.serveRecordForm)
	h.mux.HandleFunc("POST /d/{office}/{id}/file", h.postRecordForm)
	h.mux.HandleFunc("GET /q/{token}", h.serveQuestion)
	h.mux.HandleFunc("GET /case", h.serveTrack)
	h.mux.HandleFunc("POST /case", h.postTrack)
	h.mux.HandleFunc("GET /evidence/{hash}", h.serveEvidence)
	h.mux.HandleFunc("GET /api/v1/commitments", h.serveAPICommitments)
	h.mux.HandleFunc("GET /api/v1/changes", h.serveAPIChanges)
	h.mux.HandleFunc("GET /api/v1/cases", h.serveAPICases)
	h.mux.HandleFunc("GET /api/v1/dishonesty", h.serveAPIDishonesty)
	h.mux.HandleFunc("GET /api/v1/reports", h.serveAPIReports)
	h.mux.HandleFunc("GET /r", h.serveReports)
	h.mux.HandleFunc("GET /r/{office}/{year}", h.serveReport)
	h.mux.HandleFunc("GET /r/{office}/{year}/{file}", h.serveReportFile)
	h.mux.HandleFunc("GET /api/", h.serveAPINotFound)
	h.mux.HandleFunc("/", h.serveNotFound)
	return h
}

// ServeHTTP sets the security headers every response carries and routes.
// The pages run no script at all; styles come from one inline block allowed
// by a per-response nonce. Only the filing and tracking forms take POST.
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
	if r.Method != http.MethodGet && r.Method != http.MethodHead && (r.Method != http.MethodPost || !postPath(r.URL.Path)) {
		hd.Set("Allow", "GET, HEAD")
		if postPath(r.URL.Path) {
			hd.Set("Allow", "GET, HEAD, POST")
		}
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

// postPath reports whether a path takes POST: a filing form or the
// tracking form.
func postPath(p string) bool {
	if p == "/case" {
		return true
	}
	parts := strings.Split(p, "/")
	return len(parts) == 5 && parts[0] == "" && (parts[1] == "c" || parts[1] == "d") && parts[4] == "file"
}

func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])                            // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:]) // no + or /: nothing for html/template to escape
}
