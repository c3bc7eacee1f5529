package public

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// Schema names, part of every response: a client checks them and refuses a
// schema it does not know. Fields are only ever added within a version.
const (
	SchemaCommitments = "jiannuo.public.commitments/v1"
	SchemaChanges     = "jiannuo.public.changes/v1"
)

// maxFeedScan bounds the change sets one /changes request reads, so a
// request is cheap even when many change sets touch few commitments.
const maxFeedScan = 5000

// Commitment is one shown commitment in the JSON feed. Every field is
// always present; "" and 0 mean none. Times are RFC 3339 in China Standard
// Time (+08:00); dates are YYYY-MM-DD.
type Commitment struct {
	ID            string           `json:"id"`
	Office        string           `json:"office"`
	OfficeName    string           `json:"office_name"`
	County        string           `json:"county"`
	CountyName    string           `json:"county_name"`
	URL           string           `json:"url"`
	Category      string           `json:"category"`
	CategoryName  string           `json:"category_name"`
	Title         string           `json:"title"`
	Text          string           `json:"text"`
	LegalBasis    string           `json:"legal_basis"`
	Responsible   string           `json:"responsible"`
	StartDate     string           `json:"start_date"`
	Deadline      Deadline         `json:"deadline"`
	Status        string           `json:"status"`
	StatusName    string           `json:"status_name"`
	StatusReason  string           `json:"status_reason"`
	Due           Due              `json:"due"`
	Progress      int              `json:"progress"`
	Version       int              `json:"version"`
	PublishedAt   string           `json:"published_at"`
	UpdatedAt     string           `json:"updated_at"`
	StatusHistory []StatusChange   `json:"status_history"`
	Amendments    []Amendment      `json:"amendments"`
	Entries       []FulfilmentItem `json:"entries"`
	Evidence      []EvidenceFile   `json:"evidence"`
}

// Deadline is a commitment's time limit.
type Deadline struct {
	Kind      string `json:"kind"`      // "none", "date" or "workdays"
	Workdays  int    `json:"workdays"`  // for "workdays"
	Date      string `json:"date"`      // the calendar date it falls on ("" if none)
	Estimated bool   `json:"estimated"` // the holiday calendar does not cover that year yet
}

// Due is where an open commitment stands against its deadline today.
type Due struct {
	State        string `json:"state"` // "none", "later", "soon", "overdue"
	DaysOverdue  int    `json:"days_overdue"`
	WorkdaysLeft int    `json:"workdays_left"`
}

// StatusChange is one status the commitment entered after publication.
type StatusChange struct {
	Status     string `json:"status"`
	StatusName string `json:"status_name"`
	Time       string `json:"time"`
	Reason     string `json:"reason"`
}

// Amendment is a change of a published commitment's content.
type Amendment struct {
	Kind    string        `json:"kind"`    // "amend", or "resolve" for a county admin's reconciliation
	Version int           `json:"version"` // the version an amendment created (2 for the first); 0 for resolve
	Time    string        `json:"time"`
	Reason  string        `json:"reason"`
	Changes []FieldChange `json:"changes"`
}

// FieldChange is one field of an amendment, in stored form (see the docs).
type FieldChange struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// FulfilmentItem is one fulfilment entry (践诺记录).
type FulfilmentItem struct {
	Date       string   `json:"date"`
	Progress   int      `json:"progress"`
	Note       string   `json:"note"`
	RecordedAt string   `json:"recorded_at"`
	Evidence   []string `json:"evidence"` // SHA-256 (hex) of the cited files
}

// EvidenceFile is a cited evidence file.
type EvidenceFile struct {
	SHA256    string `json:"sha256"`
	Name      string `json:"name"`
	MIME      string `json:"mime"`
	Size      int64  `json:"size"`
	Available bool   `json:"available"` // the content can be downloaded from url now
	URL       string `json:"url"`
}

// CommitmentsPage is the answer of GET /api/v1/commitments.
type CommitmentsPage struct {
	Schema       string       `json:"schema"`
	GeneratedAt  string       `json:"generated_at"`
	FeedID       string       `json:"feed_id"`
	FeedPosition uint64       `json:"feed_position"`
	Changes      bool         `json:"changes_available"`
	Total        int          `json:"total"`
	Items        []Commitment `json:"items"`
	NextCursor   *string      `json:"next_cursor"`
}

// ChangesPage is the answer of GET /api/v1/changes.
type ChangesPage struct {
	Schema      string   `json:"schema"`
	GeneratedAt string   `json:"generated_at"`
	FeedID      string   `json:"feed_id"`
	Since       uint64   `json:"since"`
	NextSince   uint64   `json:"next_since"`
	Head        uint64   `json:"head"`
	More        bool     `json:"more"`
	Changes     []Change `json:"changes"`
}

// Change says what to do with one commitment: "upsert" it with the state
// given, or "remove" it (it is no longer shown).
type Change struct {
	Position   uint64      `json:"position"`
	Action     string      `json:"action"`
	Office     string      `json:"office"`
	ID         string      `json:"id"`
	Commitment *Commitment `json:"commitment,omitempty"`
}

// apiError is the body of every error answer of the API.
type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func (h *handler) writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(true) // <, > and & as \u003c...: safe even if mis-sniffed
	if err := enc.Encode(v); err != nil {
		h.log.Error("encoding feed", "err", err)
		status, buf = http.StatusInternalServerError, *bytes.NewBufferString(`{"error":"internal","message":"encoding failed"}`)
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	if status != http.StatusOK {
		hd.Del("ETag")
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (h *handler) apiFail(w http.ResponseWriter, status int, code, msg string) {
	h.writeJSON(w, status, apiError{Error: code, Message: msg})
}

func (h *handler) apiInternal(w http.ResponseWriter, r *http.Request, err error) {
	h.log.Error("public feed", "path", r.URL.Path, "err", err)
	h.apiFail(w, http.StatusInternalServerError, "internal", "internal error; try again later")
}

func (h *handler) serveAPINotFound(w http.ResponseWriter, r *http.Request) {
	h.apiFail(w, http.StatusNotFound, "not_found", "no such endpoint")
}

// basePath is the path prefix the handler is mounted under, recovered from
// the original request line (http.StripPrefix keeps RequestURI), so feed
// items link to the public page wherever it lives.
func basePath(r *http.Request) string {
	p := r.RequestURI
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if base, ok := strings.CutSuffix(p, r.URL.EscapedPath()); ok && !strings.Contains(base, "//") {
		return base
	}
	return ""
}

// limitParam reads ?limit=, default the page size, at most MaxPageSize.
func (h *handler) limitParam(r *http.Request) (int, bool) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return h.pageSize, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, false
	}
	return min(n, MaxPageSize), true
}

// feedState returns the store's feed head and ID, and whether the changes
// endpoint can serve this store: its feed has positions, or it holds
// nothing shown yet (then there is nothing to miss either).
func (h *handler) feedState(snap *snapshot) (head uint64, id string, ok bool, err error) {
	head, err = h.st.FeedHead()
	if err != nil {
		return 0, "", false, err
	}
	if head == 0 {
		return 0, "", len(snap.byRef) == 0, nil
	}
	id, err = h.feedIdentity()
	return head, id, true, err
}

// feedIdentity names this store's feed: a hash of its first entry (device,
// sequence, hash and local commit time), which differs between nodes and
// between a store and its replacement. Cached once known.
func (h *handler) feedIdentity() (string, error) {
	h.feedIDMu.Lock()
	defer h.feedIDMu.Unlock()
	if h.feedID != "" {
		return h.feedID, nil
	}
	var first *store.FeedEntry
	err := h.st.Feed(0, 1, func(e store.FeedEntry, _ []byte) bool { first = &e; return false })
	if err != nil || first == nil {
		return "", err
	}
	b := append([]byte("jiannuo-feed\x00"), first.Device[:]...)
	b = binary.BigEndian.AppendUint64(b, first.Seq)
	b = append(b, first.Hash[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(first.Time))
	sum := sha256.Sum256(b)
	h.feedID = hex.EncodeToString(sum[:8])
	return h.feedID, nil
}

// serveAPICommitments is GET /api/v1/commitments: every shown commitment in
// a stable order (office code, then ID), cursor paged.
func (h *handler) serveAPICommitments(w http.ResponseWriter, r *http.Request) {
	if h.notModified(w, r) {
		return
	}
	q := r.URL.Query()
	f, err := parseFilter(q)
	if err != nil {
		h.apiFail(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	limit, ok := h.limitParam(r)
	if !ok {
		h.apiFail(w, http.StatusBadRequest, "bad_request", "limit must be a positive integer")
		return
	}
	snap, err := h.idx.get()
	if err != nil {
		h.apiInternal(w, r, err)
		return
	}
	head, feedID, feedOK, err := h.feedState(snap)
	if err != nil {
		h.apiInternal(w, r, err)
		return
	}
	asOf := head
	var after *item
	if c := q.Get("cursor"); c != "" {
		pos, ref, err := decodeCursor(cursorFeed, c)
		if err != nil {
			h.apiFail(w, http.StatusBadRequest, "bad_cursor", "cursor is not one this endpoint gave out")
			return
		}
		asOf, after = pos, &item{c: store.Commitment{Ref: ref}}
	}
	p := walk(snap, snap.byRef, cmpRef, after, &f, limit)
	out := CommitmentsPage{Schema: SchemaCommitments, GeneratedAt: h.now().In(cst).Format(time.RFC3339),
		FeedID: feedID, FeedPosition: asOf, Changes: feedOK, Total: p.total, Items: []Commitment{}}
	base := basePath(r)
	for _, it := range p.items {
		rec, err := h.loadRecord(it.c.Ref)
		if errors.Is(err, errHidden) || errors.Is(err, store.ErrNotFound) {
			continue // changed since the index was built; the changes feed reports it
		}
		if err != nil {
			h.apiInternal(w, r, err)
			return
		}
		out.Items = append(out.Items, h.apiCommitment(rec, base))
	}
	if p.more {
		c := encodeCursor(cursorFeed, asOf, p.items[len(p.items)-1].c.Ref)
		out.NextCursor = &c
	}
	h.writeJSON(w, http.StatusOK, out)
}

// serveAPIChanges is GET /api/v1/changes?since=N: the commitments touched
// by change sets after feed position N, each with its current state.
func (h *handler) serveAPIChanges(w http.ResponseWriter, r *http.Request) {
	if h.notModified(w, r) {
		return
	}
	q := r.URL.Query()
	var since uint64
	if s := q.Get("since"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			h.apiFail(w, http.StatusBadRequest, "bad_request", "since must be a feed position (a non-negative integer)")
			return
		}
		since = n
	}
	limit, ok := h.limitParam(r)
	if !ok {
		h.apiFail(w, http.StatusBadRequest, "bad_request", "limit must be a positive integer")
		return
	}
	snap, err := h.idx.get()
	if err != nil {
		h.apiInternal(w, r, err)
		return
	}
	head, feedID, feedOK, err := h.feedState(snap)
	if err != nil {
		h.apiInternal(w, r, err)
		return
	}
	if !feedOK {
		h.apiFail(w, http.StatusNotImplemented, "feed_unavailable",
			"this node keeps no feed; only /api/v1/commitments is available")
		return
	}
	if since > head {
		h.apiFail(w, http.StatusConflict, "since_ahead",
			fmt.Sprintf("position %d is beyond this node's feed head %d: resynchronise from /api/v1/commitments", since, head))
		return
	}

	// Collect the touched commitments in the order of their last touch.
	// Inside Feed only decode: no other store read may run inside its
	// transaction.
	type touch struct {
		ref store.Ref
		pos uint64
	}
	last := map[store.Ref]uint64{}
	var files []touchFile
	next, scanned, more := since, 0, false
	var decodeErr error
	err = h.st.Feed(since, 0, func(e store.FeedEntry, raw []byte) bool {
		if len(last)+len(files) >= limit || scanned >= maxFeedScan {
			more = true
			return false
		}
		cs, err := protocol.Decode(raw)
		if err != nil {
			decodeErr = fmt.Errorf("feed position %d: %w", e.Pos, err)
			return false
		}
		for _, op := range cs.Ops {
			if op.Kind == protocol.OpEvidence {
				files = append(files, touchFile{op.Meta.Hash, e.Pos})
				continue
			}
			last[store.Ref{Office: op.Office, ID: op.Target}] = e.Pos
		}
		next, scanned = e.Pos, scanned+1
		return true
	})
	if err == nil {
		err = decodeErr
	}
	if err != nil {
		h.apiInternal(w, r, err)
		return
	}
	// An evidence record arriving after the entry that cites it changes
	// what that commitment shows.
	for _, f := range files {
		refs, err := h.citedBy(snap, f.hash)
		if err != nil {
			h.apiInternal(w, r, err)
			return
		}
		for _, ref := range refs {
			last[ref] = max(last[ref], f.pos)
		}
	}
	touched := make([]touch, 0, len(last))
	for ref, pos := range last {
		touched = append(touched, touch{ref, pos})
	}
	slices.SortFunc(touched, func(a, b touch) int {
		if a.pos != b.pos {
			return cmpU64(a.pos, b.pos)
		}
		return cmpRef(&item{c: store.Commitment{Ref: a.ref}}, &item{c: store.Commitment{Ref: b.ref}})
	})

	out := ChangesPage{Schema: SchemaChanges, GeneratedAt: h.now().In(cst).Format(time.RFC3339), FeedID: feedID,
		Since: since, NextSince: next, Head: head, More: more, Changes: []Change{}}
	base := basePath(r)
	for _, t := range touched {
		ch := Change{Position: t.pos, Office: string(t.ref.Office), ID: t.ref.ID.String()}
		rec, err := h.loadRecord(t.ref)
		switch {
		case err == nil:
			c := h.apiCommitment(rec, base)
			ch.Action, ch.Commitment = "upsert", &c
		case errors.Is(err, errHidden):
			versions, err := h.st.History(t.ref)
			if err != nil {
				h.apiInternal(w, r, err)
				return
			}
			if !everShown(versions) {
				continue // never shown: say nothing, not even that it exists
			}
			ch.Action = "remove"
		case errors.Is(err, store.ErrNotFound):
			continue
		default:
			h.apiInternal(w, r, err)
			return
		}
		out.Changes = append(out.Changes, ch)
	}
	h.writeJSON(w, http.StatusOK, out)
}

type touchFile struct {
	hash protocol.Hash
	pos  uint64
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// apiCommitment is a record in the feed's schema.
func (h *handler) apiCommitment(rec *record, base string) Commitment {
	c := &rec.C
	path := base + "/c/" + string(c.Office) + "/" + c.ID.String()
	out := Commitment{
		ID: c.ID.String(), Office: string(c.Office), OfficeName: rec.Office.Name,
		County: string(rec.County.Code), CountyName: rec.County.Name, URL: path,
		Category: string(c.Category), CategoryName: h.tr.T("category." + string(c.Category)),
		Title: c.Title, Text: c.Text, LegalBasis: c.LegalBasis, Responsible: c.Responsible, StartDate: c.StartDate,
		Deadline: Deadline{Kind: rec.Deadline.Kind, Workdays: rec.Deadline.Days, Date: rec.Deadline.Date.String(), Estimated: rec.Deadline.Estimated},
		Status:   string(c.Status), StatusName: h.tr.T("status." + string(c.Status)), StatusReason: rec.StatusReason,
		Due:      Due{State: rec.Due.State.String(), DaysOverdue: rec.Due.DaysOverdue, WorkdaysLeft: rec.Due.WorkdaysLeft},
		Progress: c.Progress, Version: c.Version,
		PublishedAt: rfc3339(rec.PublishedAt), UpdatedAt: rfc3339(c.UpdatedAt.Wall()),
		StatusHistory: []StatusChange{}, Amendments: []Amendment{}, Entries: []FulfilmentItem{}, Evidence: []EvidenceFile{},
	}
	for _, s := range rec.History {
		out.StatusHistory = append(out.StatusHistory, StatusChange{Status: string(s.Status),
			StatusName: h.tr.T("status." + string(s.Status)), Time: rfc3339(s.Time), Reason: s.Reason})
	}
	for _, a := range rec.Amendments {
		am := Amendment{Kind: a.Kind, Version: a.Version, Time: rfc3339(a.Time), Reason: a.Reason, Changes: []FieldChange{}}
		for _, fc := range a.Changes {
			am.Changes = append(am.Changes, FieldChange{Field: string(fc.Field), From: fc.From, To: fc.To})
		}
		out.Amendments = append(out.Amendments, am)
	}
	for _, e := range rec.Entries {
		fi := FulfilmentItem{Date: e.Date.String(), Progress: e.Progress, Note: e.Note, RecordedAt: rfc3339(e.Time), Evidence: []string{}}
		for _, hs := range e.Evidence {
			fi.Evidence = append(fi.Evidence, hs.String())
		}
		out.Entries = append(out.Entries, fi)
	}
	for _, ev := range rec.Evidence {
		out.Evidence = append(out.Evidence, EvidenceFile{SHA256: ev.Hash.String(), Name: ev.Name, MIME: ev.MIME,
			Size: ev.Size, Available: ev.Available, URL: base + "/evidence/" + ev.Hash.String()})
	}
	return out
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(cst).Format(time.RFC3339)
}
