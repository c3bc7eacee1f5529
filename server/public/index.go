package public

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// item is one shown commitment in the index.
type item struct {
	c      store.Commitment
	status int    // index of c.Status in domain.Statuses()
	hay    string // lower-cased title, text and responsible official, for search
}

// statusIndex numbers the statuses for counting without a map.
var statusIndex = func() map[domain.Status]int {
	m := map[domain.Status]int{}
	for i, s := range domain.Statuses() {
		m[s] = i
	}
	return m
}()

// snapshot is the index of every shown commitment as of one bbolt
// transaction, in the two orders the pages and the feed walk. It is
// immutable once built.
type snapshot struct {
	txid      int
	built     time.Time
	byUpdated []*item // newest update first; ties by office, then ID
	byRef     []*item // by office, then ID: the feed's stable order
	refs      map[store.Ref]*item
	byStatus  []int // every shown commitment counted by status index
}

// indexer keeps the current snapshot and rebuilds it when the store has
// changed.
type indexer struct {
	st       *store.Store
	maxStale time.Duration
	mu       sync.Mutex // held while rebuilding: one rebuild at a time
	snap     atomic.Pointer[snapshot]
}

// txid returns the ID of the store's last committed write transaction:
// bbolt advances it on every commit, so an unchanged ID means unchanged
// data.
func (ix *indexer) txid() (int, error) {
	var id int
	err := ix.st.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil })
	return id, err
}

// get returns a snapshot no older than the store's last commit (or, with
// maxStale, no older than that).
func (ix *indexer) get() (*snapshot, error) {
	id, err := ix.txid()
	if err != nil {
		return nil, err
	}
	cur := ix.snap.Load()
	if cur != nil && (cur.txid == id || (ix.maxStale > 0 && time.Since(cur.built) < ix.maxStale)) {
		return cur, nil
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if cur = ix.snap.Load(); cur != nil && cur.txid >= id {
		return cur, nil // rebuilt by another request meanwhile
	}
	// Read the ID before scanning: whatever commits during the scan makes
	// the next request rebuild again, never miss a change.
	if id, err = ix.txid(); err != nil {
		return nil, err
	}
	s, err := buildSnapshot(ix.st, id)
	if err != nil {
		return nil, err
	}
	ix.snap.Store(s)
	return s, nil
}

// candidate reports what the commitment view alone says about whether it
// is shown: created, public and past draft. A withdrawn one must also have
// been published before (see publishedOnce); every other non-draft status
// is only reachable through publication.
func candidate(c *store.Commitment) bool {
	return c.Created && c.Public && c.Status.Valid() && c.Status != domain.StatusDraft
}

// publishedOnce reports whether a status history includes publication:
// a draft withdrawn before it was ever published is not shown.
func publishedOnce(statusVersions []store.Version) bool {
	return slices.ContainsFunc(statusVersions, func(v store.Version) bool {
		return v.Field == domain.FieldStatus && v.Value == string(domain.StatusPublished)
	})
}

func buildSnapshot(st *store.Store, txid int) (*snapshot, error) {
	var items, withdrawn []*item
	err := st.Commitments(func(c store.Commitment) bool {
		if !candidate(&c) {
			return true
		}
		it := &item{c: c, status: statusIndex[c.Status],
			hay: strings.ToLower(c.Title + "\n" + c.Text + "\n" + c.Responsible)}
		items = append(items, it)
		if c.Status == domain.StatusWithdrawn {
			withdrawn = append(withdrawn, it)
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("reading commitments: %w", err)
	}
	// Outside the scan: bbolt must not open a read transaction inside
	// another one on the same goroutine (a waiting writer would deadlock).
	drop := map[*item]bool{}
	for _, it := range withdrawn {
		vs, err := st.FieldHistory(it.c.Ref, domain.FieldStatus)
		if err != nil {
			return nil, fmt.Errorf("reading status history of %s: %w", it.c.Ref, err)
		}
		if !publishedOnce(vs) {
			drop[it] = true
		}
	}
	if len(drop) > 0 {
		items = slices.DeleteFunc(items, func(it *item) bool { return drop[it] })
	}
	s := &snapshot{txid: txid, built: time.Now(), refs: make(map[store.Ref]*item, len(items))}
	s.byRef = items // Commitments visits in key order, but sort to be sure of ours
	slices.SortFunc(s.byRef, cmpRef)
	s.byUpdated = slices.Clone(items)
	slices.SortFunc(s.byUpdated, cmpUpdated)
	s.byStatus = make([]int, len(domain.Statuses()))
	for _, it := range items {
		s.refs[it.c.Ref] = it
		s.byStatus[it.status]++
	}
	return s, nil
}

func cmpRef(a, b *item) int {
	if c := cmp.Compare(a.c.Office, b.c.Office); c != 0 {
		return c
	}
	return bytes.Compare(a.c.ID[:], b.c.ID[:])
}

func cmpUpdated(a, b *item) int {
	if a.c.UpdatedAt != b.c.UpdatedAt {
		return cmp.Compare(b.c.UpdatedAt, a.c.UpdatedAt) // newest first
	}
	return cmpRef(a, b)
}

// filter selects commitments for the list and the snapshot feed.
type filter struct {
	County   office.Code
	Township office.Code
	Category domain.Category
	Status   domain.Status
	Query    string   // as typed, for the form
	terms    []string // lower-cased words of Query; all must match
}

// maxQueryRunes bounds the search text.
const maxQueryRunes = 100

var errBadFilter = errors.New("bad filter")

// parseFilter reads the filter parameters; an unknown code, category or
// status is an error (the form only offers valid ones).
func parseFilter(q url.Values) (filter, error) {
	var f filter
	if v := strings.TrimSpace(q.Get("county")); v != "" {
		c := office.Code(v)
		if !c.Valid() || c.Level() != office.County {
			return f, fmt.Errorf("%w: county %q", errBadFilter, v)
		}
		f.County = c
	}
	if v := strings.TrimSpace(q.Get("township")); v != "" {
		c := office.Code(v)
		if !c.Valid() || c.Level() != office.Township {
			return f, fmt.Errorf("%w: township %q", errBadFilter, v)
		}
		f.Township = c
	}
	if v := strings.TrimSpace(q.Get("category")); v != "" {
		if !domain.Category(v).Valid() {
			return f, fmt.Errorf("%w: category %q", errBadFilter, v)
		}
		f.Category = domain.Category(v)
	}
	if v := strings.TrimSpace(q.Get("status")); v != "" {
		if s := domain.Status(v); !s.Valid() || s == domain.StatusDraft {
			return f, fmt.Errorf("%w: status %q", errBadFilter, v)
		}
		f.Status = domain.Status(v)
	}
	f.Query = strings.TrimSpace(q.Get("q"))
	if !utf8.ValidString(f.Query) {
		return f, fmt.Errorf("%w: search text is not UTF-8", errBadFilter)
	}
	if utf8.RuneCountInString(f.Query) > maxQueryRunes {
		f.Query = string([]rune(f.Query)[:maxQueryRunes])
	}
	f.terms = strings.Fields(strings.ToLower(f.Query))
	return f, nil
}

// empty reports whether the filter selects everything.
func (f *filter) empty() bool {
	return f.County == "" && f.Township == "" && f.Category == "" && f.Status == "" && len(f.terms) == 0
}

func (f *filter) match(it *item) bool {
	c := &it.c
	if f.County != "" && !f.County.Contains(c.Office) {
		return false
	}
	if f.Township != "" && c.Office != f.Township {
		return false
	}
	if f.Category != "" && c.Category != f.Category {
		return false
	}
	if f.Status != "" && c.Status != f.Status {
		return false
	}
	for _, t := range f.terms {
		if !strings.Contains(it.hay, t) {
			return false
		}
	}
	return true
}

// page is one page of a walk through an order.
type page struct {
	items    []*item
	more     bool  // another page follows; its cursor is after the last item
	total    int   // commitments matching the filter
	byStatus []int // matching commitments by status index, the status filter aside
}

// walk returns up to limit matching items that sort after the cursor
// position after (nil: from the start) in list. It starts at the cursor by
// binary search, so a deep page costs no more than the first.
func walk(snap *snapshot, list []*item, less func(a, b *item) int, after *item, f *filter, limit int) page {
	start := 0
	if after != nil {
		start = sort.Search(len(list), func(i int) bool { return less(list[i], after) > 0 })
	}
	var p page
	for _, it := range list[start:] {
		if !f.match(it) {
			continue
		}
		if len(p.items) == limit {
			p.more = true
			break
		}
		p.items = append(p.items, it)
	}
	// Count by status with the status filter set aside, so the counts say
	// what each status would give: kept in the snapshot for no filter,
	// else counted in memory.
	g := *f
	g.Status = ""
	if g.empty() {
		p.byStatus = snap.byStatus
	} else {
		p.byStatus = make([]int, len(snap.byStatus))
		for _, it := range list {
			if g.match(it) {
				p.byStatus[it.status]++
			}
		}
	}
	if f.Status != "" {
		p.total = p.byStatus[statusIndex[f.Status]]
	} else {
		for _, n := range p.byStatus {
			p.total += n
		}
	}
	return p
}

// Cursors are opaque to clients: base64url of a kind byte and the sort key
// of the last item of the previous page. Items are found by key, not by
// offset, so a page never repeats or skips a commitment that did not
// change while the client paged.
const (
	cursorList = 'u' // list page: updated stamp, ID, office
	cursorFeed = 'r' // JSON snapshot: feed position as of page one, ID, office
)

var errBadCursor = errors.New("bad cursor")

func encodeCursor(kind byte, n uint64, ref store.Ref) string {
	b := make([]byte, 0, 1+8+16+len(ref.Office))
	b = append(b, kind)
	b = binary.BigEndian.AppendUint64(b, n)
	b = append(b, ref.ID[:]...)
	b = append(b, ref.Office...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(kind byte, s string) (uint64, store.Ref, error) {
	var ref store.Ref
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 1+8+16 || b[0] != kind {
		return 0, ref, errBadCursor
	}
	n := binary.BigEndian.Uint64(b[1:])
	copy(ref.ID[:], b[9:25])
	ref.Office = office.Code(b[25:])
	if !ref.Office.Valid() {
		return 0, ref, errBadCursor
	}
	return n, ref, nil
}

// listCursor returns the cursor of the list page after it.
func listCursor(it *item) string { return encodeCursor(cursorList, uint64(it.c.UpdatedAt), it.c.Ref) }

// parseListCursor returns the key item a list cursor names.
func parseListCursor(s string) (*item, error) {
	n, ref, err := decodeCursor(cursorList, s)
	if err != nil {
		return nil, err
	}
	return &item{c: store.Commitment{Ref: ref, UpdatedAt: protocol.HLC(n)}}, nil
}
