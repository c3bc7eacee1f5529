package countyapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/report"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// Config says how a Client reaches one county server. Zero durations mean
// their defaults (DefaultConfig).
type Config struct {
	// BaseURL is https://host:port; http:// only for a server run with
	// -insecure-loopback on this computer: a plain connection would carry
	// the admin password in the clear, so every call to another address
	// fails with ErrInsecureURL (CheckURL).
	BaseURL string
	// Fingerprint is the server certificate's SHA-256 fingerprint as
	// protocol.Fingerprint prints it (ParseFingerprint makes a typed one
	// so): the client trusts that certificate and no other, whoever signed
	// it and whatever host it names.
	Fingerprint string
	// Admin and Password are the county admin credential. The first call
	// under /admin signs in with them (POST /admin/login) and the calls
	// carry the session token it returns; when the server ends the
	// session the client signs in again, once per call. A server without
	// /admin/login gets them with every call (HTTP basic authentication).
	// The enrolment calls send none. The client keeps them in memory only
	// (Client.ForgetPassword drops the password).
	Admin    string
	Password string
	// Timeout bounds one call, reading the answer included (default 1
	// minute); the call's context may end it sooner.
	Timeout time.Duration
	// ResponseHeaderTimeout bounds the wait for the answer once the
	// request is sent (default 30 seconds).
	ResponseHeaderTimeout time.Duration
	// MaxIdleConnsPerHost is how many idle connections to the server are
	// kept for the next calls (default 2, as net/http).
	MaxIdleConnsPerHost int
	// DialContext, when set, opens the TCP connections (the load generator
	// counts and limits them); nil dials directly, never through a proxy.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// RawAnswer, when set, is given the body of every answer as the server
	// sent it, refusals included, before the client decodes it: a command's
	// -json output prints it as is.
	RawAnswer func(body []byte)
	// TransferTimeout bounds a sync file import (ImportSyncFile), which
	// carries up to protocol.MaxSyncFileBytes each way, in place of
	// Timeout (default 30 minutes).
	TransferTimeout time.Duration
}

// DefaultConfig returns the defaults for the server at baseURL pinned to
// fingerprint, without an admin credential; a new value each call.
func DefaultConfig(baseURL, fingerprint string) Config {
	return Config{BaseURL: baseURL, Fingerprint: fingerprint, Timeout: time.Minute, ResponseHeaderTimeout: 30 * time.Second,
		MaxIdleConnsPerHost: http.DefaultMaxIdleConnsPerHost, TransferTimeout: 30 * time.Minute}
}

// The most an answer may hold: an enrolment status is small, an admin
// list (every incident of a county, say) may be large.
const (
	maxEnrolAnswer = 64 << 10
	maxAdminAnswer = 64 << 20
)

// Client calls one county server's API over TLS pinned to its certificate
// fingerprint. It is safe for concurrent use.
type Client struct {
	cfg  Config
	base string
	hc   *http.Client

	signIn sync.Mutex // one sign-in at a time: callers that find the token stale wait for the new one
	mu     sync.Mutex
	pass   string       // Config.Password until ForgetPassword
	sess   AdminSession // the session signed in, Token included; zero before
	basic  bool         // the server has no /admin/login (an older one): basic authentication on every call
}

// New returns a client for the server cfg names.
func New(cfg Config) *Client {
	d := DefaultConfig(cfg.BaseURL, cfg.Fingerprint)
	if cfg.Timeout <= 0 {
		cfg.Timeout = d.Timeout
	}
	if cfg.ResponseHeaderTimeout <= 0 {
		cfg.ResponseHeaderTimeout = d.ResponseHeaderTimeout
	}
	if cfg.MaxIdleConnsPerHost <= 0 {
		cfg.MaxIdleConnsPerHost = d.MaxIdleConnsPerHost
	}
	if cfg.TransferTimeout <= 0 {
		cfg.TransferTimeout = d.TransferTimeout
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // a county intranet proxy must see neither credentials nor devices
	tr.TLSClientConfig = protocol.PinnedTLSConfig(cfg.Fingerprint)
	tr.ResponseHeaderTimeout = cfg.ResponseHeaderTimeout
	tr.MaxIdleConnsPerHost = cfg.MaxIdleConnsPerHost
	if cfg.DialContext != nil {
		tr.DialContext = cfg.DialContext
	}
	return &Client{cfg: cfg, base: strings.TrimSuffix(cfg.BaseURL, "/"), hc: &http.Client{Transport: tr, Timeout: cfg.Timeout},
		pass: cfg.Password}
}

// Admin is the admin name the client authenticates as.
func (c *Client) Admin() string { return c.cfg.Admin }

// CloseIdleConnections closes the connections kept for the next calls.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// call sends one request and decodes a 2xx answer into out (if not nil).
// body is sent as is when it is []byte, as JSON otherwise (nil: no body).
// A refusal is an *APIError; a server that is not the pinned one fails
// with an error wrapping protocol.ErrWrongServer.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, body, out any) error {
	_, err := c.do(ctx, method, path, query, body, out)
	return err
}

// request is one call ready to send, and to send again after a new
// sign-in.
type request struct {
	method, url, contentType string
	body                     []byte
	admin                    bool  // under /admin/: authenticated
	limit                    int64 // the most of the answer read
	raw, rawRefusal          bool  // the answer, a refusal, goes to Config.RawAnswer
}

// do is call that also returns the answer's header. An admin call carries
// the session token, signing in first when the client holds none; a
// token the server no longer holds is replaced by signing in again, once,
// if the client holds the password.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) (http.Header, error) {
	rq, err := c.prepare(method, path, query, body)
	if err != nil {
		return nil, err
	}
	var hdr http.Header
	var raw []byte
	if rq.admin {
		hdr, raw, err = c.sendAdmin(ctx, rq)
	} else {
		hdr, raw, err = c.send(ctx, rq, "")
	}
	if err != nil || out == nil {
		return hdr, err
	}
	if file, ok := out.(*[]byte); ok {
		// A file (a report's PDF), not JSON.
		*file = raw
		return hdr, nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, fmt.Errorf("%w: the answer to %s %s: %v", protocol.ErrMalformed, method, path, err)
	}
	return hdr, nil
}

func (c *Client) prepare(method, path string, query url.Values, body any) (*request, error) {
	if err := CheckURL(c.base); err != nil {
		return nil, err
	}
	rq := &request{method: method, url: c.base + path, limit: maxEnrolAnswer, raw: true, rawRefusal: true}
	switch b := body.(type) {
	case nil:
	case []byte:
		rq.body = b
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rq.body, rq.contentType = raw, "application/json"
	}
	if len(query) > 0 {
		rq.url += "?" + query.Encode()
	}
	if strings.HasPrefix(path, "/admin/") {
		rq.admin, rq.limit = true, maxAdminAnswer
	}
	return rq, nil
}

// sendAdmin sends an admin call with the session token, signing in when
// there is none or the server ended it.
func (c *Client) sendAdmin(ctx context.Context, rq *request) (http.Header, []byte, error) {
	type answer struct {
		hdr http.Header
		raw []byte
	}
	a, err := withSession(ctx, c, nil, func(tok string) (answer, error) {
		hdr, raw, err := c.send(ctx, rq, tok)
		return answer{hdr, raw}, err
	})
	return a.hdr, a.raw, err
}

// withSession makes an admin call with the session token (signing in when
// there is none) and, when the server ended that session, signs in again
// and makes it once more — if rewind, for a call whose body is a stream,
// says the body can be read again from its start (nil: it always can).
func withSession[T any](ctx context.Context, c *Client, rewind func() (bool, error), call func(tok string) (T, error)) (T, error) {
	var zero T
	tok, err := c.sessionToken(ctx, "")
	if err != nil {
		return zero, err
	}
	out, err := call(tok)
	if tok == "" || !errors.Is(err, protocol.ErrSessionExpired) || !c.holdsPassword() {
		return out, err
	}
	if rewind != nil {
		if ok, rerr := rewind(); rerr != nil {
			return zero, rerr
		} else if !ok {
			return out, err
		}
	}
	if tok, err = c.sessionToken(ctx, tok); err != nil {
		return zero, err
	}
	return call(tok)
}

// authorize signs an admin request: with the session token tok, or else
// the basic credential.
func (c *Client) authorize(req *http.Request, tok string) {
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	} else {
		req.SetBasicAuth(c.credential())
	}
}

// send sends rq once: with the session token tok, or else (an admin call
// without one) the basic credential. A refusal is an *APIError.
func (c *Client) send(ctx context.Context, rq *request, tok string) (http.Header, []byte, error) {
	var rd io.Reader
	if rq.body != nil {
		rd = bytes.NewReader(rq.body)
	}
	req, err := http.NewRequestWithContext(ctx, rq.method, rq.url, rd)
	if err != nil {
		return nil, nil, err
	}
	if rq.contentType != "" {
		req.Header.Set("Content-Type", rq.contentType)
	}
	if rq.admin {
		c.authorize(req, tok)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, rq.limit))
	if err != nil {
		return nil, nil, err
	}
	if c.cfg.RawAnswer != nil && ((rq.raw && resp.StatusCode < 300) || (rq.rawRefusal && resp.StatusCode >= 300)) {
		c.cfg.RawAnswer(raw)
	}
	if resp.StatusCode >= 300 {
		return resp.Header, raw, refusalOf(resp, raw)
	}
	return resp.Header, raw, nil
}

// refusalOf is the *APIError of a refusing answer whose body is raw,
// with the wait its Retry-After header asks for.
func refusalOf(resp *http.Response, raw []byte) *APIError {
	e := refusal(resp.StatusCode, raw)
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		e.RetryAfter = time.Duration(secs) * time.Second
	}
	return e
}

// ErrInsecureURL means a plain http:// or ws:// address that is not on
// this computer: admin passwords and records would cross the network in
// the clear.
var ErrInsecureURL = errors.New("plain http only to a server on this computer (loopback); use https")

// CheckURL refuses an address the API must not be called at: anything but
// https:// and wss://, except http:// and ws:// to a loopback address (a
// server run with -insecure-loopback, for development).
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInsecureURL, err)
	}
	switch u.Scheme {
	case "https", "wss":
		return nil
	case "http", "ws":
		if IsLoopback(u.Hostname()) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s", ErrInsecureURL, u.Redacted())
}

// IsLoopback reports whether host names this computer: localhost or a
// loopback address.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ---- Enrolment: a device asking, unauthenticated ----

// Enrol sends a device's signed enrolment request (store.Session.EnrolRequest)
// with POST /enrol. Asking again is harmless: a pending request stays
// pending.
func (c *Client) Enrol(ctx context.Context, signed []byte) (*EnrolStatus, error) {
	var out EnrolStatus
	if err := c.call(ctx, http.MethodPost, "/enrol", nil, signed, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Reenrol sends a signed re-enrolment request (protocol.ReenrolRequest)
// with POST /enrol/replace: a new key in place of a forked device.
func (c *Client) Reenrol(ctx context.Context, signed []byte) (*EnrolStatus, error) {
	var out EnrolStatus
	if err := c.call(ctx, http.MethodPost, "/enrol/replace", nil, signed, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// EnrolmentStatus asks where the enrolment of dev stands (GET
// /enrol/{device}); a device the county never heard of is refused with
// protocol.ErrUnknownDevice.
func (c *Client) EnrolmentStatus(ctx context.Context, dev protocol.DeviceID) (*EnrolStatus, error) {
	var out EnrolStatus
	if err := c.call(ctx, http.MethodGet, "/enrol/"+url.PathEscape(dev.String()), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ---- Administration: a county admin, with the credential ----

// Enrolments lists the pending enrolment requests, or with all every
// request ever made, in device ID order.
func (c *Client) Enrolments(ctx context.Context, all bool) ([]Enrolment, error) {
	var q url.Values
	if all {
		q = url.Values{"all": {"1"}}
	}
	var out []Enrolment
	return out, c.call(ctx, http.MethodGet, "/admin/enrolments", q, nil, &out)
}

// Approve enrols a pending device for req.Office (empty: the office it
// asked for), as a county-admin device when req.Admin; the decision
// carries its signed certificate.
func (c *Client) Approve(ctx context.Context, dev protocol.DeviceID, req ApproveRequest) (Decision, error) {
	var out Decision
	return out, c.call(ctx, http.MethodPost, "/admin/enrolments/"+url.PathEscape(dev.String())+"/approve", nil, req, &out)
}

// Reject refuses a pending enrolment. The reason is required
// (domain.ErrReasonRequired, before anything is sent); the requesting
// device's user sees it.
func (c *Client) Reject(ctx context.Context, dev protocol.DeviceID, reason string) error {
	if !domain.NonBlank(reason) {
		return fmt.Errorf("%w: a rejection needs a reason", domain.ErrReasonRequired)
	}
	return c.call(ctx, http.MethodPost, "/admin/enrolments/"+url.PathEscape(dev.String())+"/reject", nil, ReasonRequest{Reason: reason}, nil)
}

// Devices lists every enrolled device with when it was last seen and what
// it last reported of itself.
func (c *Client) Devices(ctx context.Context) ([]DeviceInfo, error) {
	var out []DeviceInfo
	return out, c.call(ctx, http.MethodGet, "/admin/devices", nil, nil, &out)
}

// Revoke revokes a device. The reason is required (domain.ErrReasonRequired)
// and the device's user sees it on its next message.
func (c *Client) Revoke(ctx context.Context, dev protocol.DeviceID, reason string) error {
	if !domain.NonBlank(reason) {
		return fmt.Errorf("%w: a revocation needs a reason", domain.ErrReasonRequired)
	}
	return c.call(ctx, http.MethodPost, "/admin/devices/"+url.PathEscape(dev.String())+"/revoke", nil, ReasonRequest{Reason: reason}, nil)
}

// Conflicts lists the conflicts on the county server's replica, with the
// person behind each competing value's author.
func (c *Client) Conflicts(ctx context.Context) ([]ConflictRow, error) {
	var out []ConflictRow
	return out, c.call(ctx, http.MethodGet, "/admin/conflicts", nil, nil, &out)
}

// Directory lists the account directory of office o (a township or the
// county; empty: the whole county): who each login of its devices is, with
// what role, whether it may still sign in, and who changed that, when.
func (c *Client) Directory(ctx context.Context, o office.Code) ([]store.DirectoryEntry, error) {
	var q url.Values
	if o != "" {
		q = url.Values{"office": {string(o)}}
	}
	var out []store.DirectoryEntry
	return out, c.call(ctx, http.MethodGet, "/admin/directory", q, nil, &out)
}

// IncidentPage is one page of the server's incidents, newest first, and
// the cursor of the next page ("" after the last).
type IncidentPage struct {
	Incidents []Incident
	Next      string
}

// Incidents reads one page of at most limit incidents (0: the server's
// default, 100; it gives at most 1000), newest first, from cursor (""
// for the newest; IncidentPage.Next for the next page).
func (c *Client) Incidents(ctx context.Context, limit int, cursor string) (IncidentPage, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var out IncidentPage
	hdr, err := c.do(ctx, http.MethodGet, "/admin/incidents", q, nil, &out.Incidents)
	if err != nil {
		return IncidentPage{}, err
	}
	out.Next = nextCursor(hdr.Get("Link"))
	return out, nil
}

// nextCursor takes the cursor out of a Link header's rel="next" address.
func nextCursor(link string) string {
	for _, part := range strings.Split(link, ",") {
		target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
		if !ok || !strings.Contains(params, `rel="next"`) {
			continue
		}
		u, err := url.Parse(strings.Trim(strings.TrimSpace(target), "<>"))
		if err == nil {
			return u.Query().Get("cursor")
		}
	}
	return ""
}

// AllIncidents reads up to limit incidents (0: all), newest first, page
// by page.
func (c *Client) AllIncidents(ctx context.Context, limit int) ([]Incident, error) {
	out := []Incident{}
	cursor := ""
	for {
		size := 1000
		if limit > 0 {
			size = min(size, limit-len(out))
		}
		p, err := c.Incidents(ctx, size, cursor)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Incidents...)
		if p.Next == "" || (limit > 0 && len(out) >= limit) {
			return out, nil
		}
		cursor = p.Next
	}
}

// PruneIncidents deletes the incidents last seen before the date (see
// PruneRequest) and returns how many went; the server audits it.
func (c *Client) PruneIncidents(ctx context.Context, before string) (int, error) {
	var out PruneResult
	return out.Deleted, c.call(ctx, http.MethodPost, "/admin/incidents/prune", nil, PruneRequest{Before: before}, &out)
}

// AckIncident acknowledges the incident id (Incident.ID) with a note,
// required (domain.ErrReasonRequired): the audit trail keeps why. It
// returns the incident as stored.
func (c *Client) AckIncident(ctx context.Context, id, note string) (Incident, error) {
	if !domain.NonBlank(note) {
		return Incident{}, fmt.Errorf("%w: an acknowledgement needs a note", domain.ErrReasonRequired)
	}
	var out Incident
	return out, c.call(ctx, http.MethodPost, "/admin/incidents/"+url.PathEscape(id)+"/ack", nil, ReasonRequest{Reason: strings.TrimSpace(note)}, &out)
}

// PublishCalendar sends a calendar overlay file (domain/calendar's JSON)
// to be signed and sent to every device, and returns the version it got.
func (c *Client) PublishCalendar(ctx context.Context, overlay []byte) (uint64, error) {
	var out CalendarVersion
	return out.Version, c.call(ctx, http.MethodPost, "/admin/calendar", nil, json.RawMessage(overlay), &out)
}

// Overview fetches the county overview by township with its early
// warnings.
func (c *Client) Overview(ctx context.Context) (*report.Overview, error) {
	var out report.Overview
	if err := c.call(ctx, http.MethodGet, "/admin/overview", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Dishonesty lists the county's government dishonesty records q selects.
func (c *Client) Dishonesty(ctx context.Context, q DishonestyQuery) ([]store.DishonestyRecord, error) {
	v := url.Values{}
	if q.Office != "" {
		v.Set("office", string(q.Office))
	}
	if q.OpenOnly {
		v.Set("open", "1")
	}
	if q.Type != "" {
		v.Set("type", string(q.Type))
	}
	var out []store.DishonestyRecord
	return out, c.call(ctx, http.MethodGet, "/admin/dishonesty", v, nil, &out)
}

// Audit fetches the audit trail of admin actions, oldest first, and
// whether its hash chain is intact.
func (c *Client) Audit(ctx context.Context) (*AuditReport, error) {
	var out AuditReport
	if err := c.call(ctx, http.MethodGet, "/admin/audit", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Upstreams lists the municipal nodes authorised to pull the county's
// feed.
func (c *Client) Upstreams(ctx context.Context) ([]UpstreamNode, error) {
	var out []UpstreamNode
	return out, c.call(ctx, http.MethodGet, "/admin/upstream", nil, nil, &out)
}

// AuthoriseUpstream lets the municipal node holding req.Key pull the
// county's feed; authorising a key again only renames it.
func (c *Client) AuthoriseUpstream(ctx context.Context, req UpstreamRequest) (UpstreamNode, error) {
	var out UpstreamNode
	return out, c.call(ctx, http.MethodPost, "/admin/upstream", nil, req, &out)
}

// Cases fetches one page of the county's supervision cases (complaints and
// objections) q selects; CasePage.Next asks for the next.
func (c *Client) Cases(ctx context.Context, q CaseQuery) (*CasePage, error) {
	v := url.Values{}
	if q.Office != "" {
		v.Set("office", string(q.Office))
	}
	if q.OpenOnly {
		v.Set("open", "1")
	}
	if q.OverdueOnly {
		v.Set("overdue", "1")
	}
	if q.Kind != "" {
		v.Set("kind", string(q.Kind))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	var out CasePage
	if err := c.call(ctx, http.MethodGet, "/admin/cases", v, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AllCases fetches every page of the cases q selects (q.Cursor is ignored).
func (c *Client) AllCases(ctx context.Context, q CaseQuery) ([]CaseInfo, error) {
	q.Cursor = ""
	out := []CaseInfo{}
	for {
		p, err := c.Cases(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Cases...)
		if p.Next == "" {
			return out, nil
		}
		q.Cursor = p.Next
	}
}

// Case fetches one case with its history, by its number (TS20261207-…)
// or its ID.
func (c *Client) Case(ctx context.Context, ref string) (*CaseInfo, error) {
	var out CaseInfo
	if err := c.call(ctx, http.MethodGet, "/admin/cases/"+url.PathEscape(ref), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CaseContact opens the filer's contact of a case with the county key. The
// server records the reading in the audit trail under the admin's name.
func (c *Client) CaseContact(ctx context.Context, ref string) (*CaseContact, error) {
	var out CaseContact
	if err := c.call(ctx, http.MethodPost, "/admin/cases/"+url.PathEscape(ref)+"/contact", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DecideCase takes a county decision on a case: action is one of
// CaseActions (accept, return, decide, link, withdraw, assign). The server
// signs it with its own device, the admin as author, and audits it.
func (c *Client) DecideCase(ctx context.Context, ref, action string, d CaseDecision) (*CaseDecided, error) {
	if _, ok := CaseActions[action]; !ok {
		return nil, fmt.Errorf("%w: case action %q", protocol.ErrInvalidOperation, action)
	}
	var out CaseDecided
	if err := c.call(ctx, http.MethodPost, "/admin/cases/"+url.PathEscape(ref)+"/"+action, nil, d, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ---- Sync files ----

// ImportSyncFile posts a device's sync bundle, size bytes long (-1 if not
// known), to be imported (docs/sync-file.md), and writes the return file
// the county answers with to out. It returns what the county did. A
// refused bundle is an *APIError with the refusal's code, and nothing is
// written to out; a return file cut short on the way is an error
// (ErrMalformed) after out got what came.
func (c *Client) ImportSyncFile(ctx context.Context, bundle io.Reader, size int64, out io.Writer) (SyncImport, error) {
	var sum SyncImport
	if err := CheckURL(c.base); err != nil {
		return sum, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.TransferTimeout)
	defer cancel()
	// The call's own deadline is the context's: Timeout is for small
	// calls.
	hc := &http.Client{Transport: c.hc.Transport}
	// Signed in as every admin call is; the session is asked for again
	// once if the server ended it, when the bundle can be read again from
	// its start.
	rewind := func() (bool, error) {
		seeker, ok := bundle.(io.Seeker)
		if !ok {
			return false, nil
		}
		_, err := seeker.Seek(0, io.SeekStart)
		return err == nil, err
	}
	resp, err := withSession(ctx, c, rewind, func(tok string) (*http.Response, error) {
		return c.stream(ctx, hc, http.MethodPost, SyncImportPath, io.NopCloser(bundle), size, tok)
	})
	if err != nil {
		return sum, err
	}
	defer resp.Body.Close()
	if err := json.Unmarshal([]byte(resp.Header.Get(SyncImportHeader)), &sum); err != nil {
		return sum, fmt.Errorf("%w: the import's summary: %v", protocol.ErrMalformed, err)
	}
	if c.cfg.RawAnswer != nil {
		raw, _ := json.Marshal(sum)
		c.cfg.RawAnswer(raw)
	}
	n, err := io.Copy(out, io.LimitReader(resp.Body, protocol.MaxSyncFileBytes))
	if err != nil {
		return sum, err
	}
	if n != sum.ReturnBytes {
		return sum, fmt.Errorf("%w: the return file came with %d of its %d bytes", protocol.ErrMalformed, n, sum.ReturnBytes)
	}
	return sum, nil
}

// BackupStall is how long a backup download may go without a byte before
// Backup gives up on it.
const BackupStall = 2 * time.Minute

// Backup downloads a backup archive of the county server (GET
// /admin/backup) and hands its body to consume as it arrives: the call has
// no overall time limit (a large replica over a slow link takes long), but
// fails when BackupStall passes without a byte, and waits for the answer
// to begin as long as the server needs to copy its replica. A refusal is
// an *APIError like any call's.
func (c *Client) Backup(ctx context.Context, consume func(io.Reader) error) error {
	if err := CheckURL(c.base); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tr := c.hc.Transport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 30 * time.Minute
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	// Signed in as every admin call is; the session is asked for again
	// once if the server ended it before the answer began.
	resp, err := withSession(ctx, c, nil, func(tok string) (*http.Response, error) {
		return c.stream(ctx, hc, http.MethodGet, "/admin/backup", nil, 0, tok)
	})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	watch := time.AfterFunc(BackupStall, cancel)
	defer watch.Stop()
	return consume(&stallReader{r: resp.Body, watch: watch})
}

// stream makes an admin call whose body (if any, size bytes, -1 if not
// known) and answer are streams, with the session token tok or else the
// basic credential, and returns the answer once it begins; a refusal is an
// *APIError, its body given to Config.RawAnswer.
func (c *Client) stream(ctx context.Context, hc *http.Client, method, path string, body io.Reader, size int64, tok string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.ContentLength = size
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	c.authorize(req, tok)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		raw, err := io.ReadAll(io.LimitReader(resp.Body, maxEnrolAnswer))
		if err != nil {
			return nil, err
		}
		if c.cfg.RawAnswer != nil {
			c.cfg.RawAnswer(raw)
		}
		return nil, refusalOf(resp, raw)
	}
	return resp, nil
}

// stallReader moves its watchdog on with every read that brings bytes.
type stallReader struct {
	r     io.Reader
	watch *time.Timer
}

func (s *stallReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.watch.Reset(BackupStall)
	}
	return n, err
}
