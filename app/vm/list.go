package vm

import (
	"errors"
	"slices"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/collate"

	"jiannuo/assets"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/store"
)

// Row is one line of the commitments list.
type Row struct {
	Ref         store.Ref       // which commitment: for Refresh, LoadDetail, actions
	Title       string          // as stored (the provisional value while conflicted)
	Responsible string          // the responsible official (责任人)
	Category    domain.Category // translate with CategoryMessage
	Status      domain.Status   // translate with StatusMessage
	Due         domain.Due      // against "today" as of the last Load or SetToday
	Conflicted  bool            // some field awaits the county admin's reconciliation
	Unconfirmed bool            // operations not yet acknowledged by the county
	Progress    int             // percent, of the latest fulfilment entry
	Updated     time.Time       // the newest operation on it
}

// Badges returns the row's markers in the order a list shows them: overdue
// or due soon, conflicted, not yet confirmed by the county.
func (r Row) Badges() []Message {
	var out []Message
	switch r.Due.State {
	case domain.DueOverdue:
		out = append(out, Msg("ui.badge.overdue"))
	case domain.DueSoon:
		out = append(out, Msg("ui.badge.due_soon"))
	}
	if r.Conflicted {
		out = append(out, Msg("ui.badge.conflicted"))
	}
	if r.Unconfirmed {
		out = append(out, Msg("ui.badge.unconfirmed"))
	}
	return out
}

// DueWindow narrows the list to commitments in one situation.
type DueWindow int

// The windows.
const (
	DueAll         DueWindow = iota // every commitment
	DueOverdue                      // open, deadline passed
	DueSoon                         // open, due within domain.DueSoonWorkdays working days
	DueConflicted                   // awaiting the county admin's reconciliation
	DueUnconfirmed                  // not yet acknowledged by the county
)

// DueWindows lists the windows in menu order.
func DueWindows() []DueWindow {
	return []DueWindow{DueAll, DueOverdue, DueSoon, DueConflicted, DueUnconfirmed}
}

// Message names the window for a menu ("ui.window.<name>").
func (w DueWindow) Message() Message {
	switch w {
	case DueOverdue:
		return Msg("ui.window.overdue")
	case DueSoon:
		return Msg("ui.window.due_soon")
	case DueConflicted:
		return Msg("ui.window.conflicted")
	case DueUnconfirmed:
		return Msg("ui.window.unconfirmed")
	}
	return Msg("ui.window.all")
}

func (w DueWindow) match(r *Row) bool {
	switch w {
	case DueOverdue:
		return r.Due.State == domain.DueOverdue
	case DueSoon:
		return r.Due.State == domain.DueSoon
	case DueConflicted:
		return r.Conflicted
	case DueUnconfirmed:
		return r.Unconfirmed
	}
	return true
}

// SortKey orders the list.
type SortKey int

// The sort keys. Ascending unless Filter.Desc; ties are broken by the
// store's order (office, then ID), so the same data always shows in the
// same order.
const (
	SortDeadline SortKey = iota // earliest deadline first; no deadline last either way
	SortUpdated                 // least recently changed first (Desc: newest first)
	SortTitle                   // by title in Chinese (pinyin) collation order
	SortStatus                  // lifecycle order of the status, then deadline
	// SortUrgency puts what needs doing first: overdue, then due soon
	// (each earliest deadline first), then the other open commitments,
	// drafts, and last those closed or withdrawn. The list screen's
	// default; Desc reverses the groups (deadlines stay earliest first
	// within each, none last).
	SortUrgency
)

// SortKeys lists the sort keys in menu order, the screen's default first.
func SortKeys() []SortKey {
	return []SortKey{SortUrgency, SortDeadline, SortUpdated, SortTitle, SortStatus}
}

// Message names the sort key for a menu ("ui.sort.<name>").
func (k SortKey) Message() Message {
	switch k {
	case SortUpdated:
		return Msg("ui.sort.updated")
	case SortTitle:
		return Msg("ui.sort.title")
	case SortStatus:
		return Msg("ui.sort.status")
	case SortUrgency:
		return Msg("ui.sort.urgency")
	}
	return Msg("ui.sort.deadline")
}

// Filter selects and orders the rows a List shows. The zero value shows
// everything, earliest deadline first.
type Filter struct {
	// Query is free text: every word (separated by spaces) must occur in the
	// title, text, legal basis or responsible official, or name the
	// category or status (in Chinese or English). Case and full-width
	// forms are ignored; Chinese matches as a substring.
	Query       string
	Category    domain.Category // "" for all
	Status      domain.Status   // "" for all
	Responsible string          // exact name; "" for all
	Window      DueWindow       // DueAll for all
	Sort        SortKey         // SortDeadline by default
	Desc        bool            // reverse the sort key (rows without a deadline stay last)
}

// List is the commitments list: every commitment of the store as a Row,
// filtered, searched and sorted in memory. Build it with NewList, fill it
// with Load, and show Len rows through Row(i).
//
// A List is not safe for concurrent use: use it from one goroutine (the UI
// goroutine), or build and Load it on a worker and hand it over. Loading
// 50,000 commitments takes a fraction of a second and should run off the UI
// goroutine; filtering takes milliseconds (see docs/benchmarks-app.md).
type List struct {
	cal   *calendar.Calendar
	today calendar.Date

	rows  []Row
	text  []string // folded search text of each row
	cat   []uint8  // category index of each row (domain.Categories order)
	stat  []uint8  // status index of each row (domain.Statuses order)
	index map[store.Ref]int
	resp  []string // distinct responsible officials, sorted
	count [5]int   // rows in each DueWindow

	freq   *[256]uint32         // byte counts of a sample of the text, for search
	orders map[orderKey][]int32 // sort orders of all rows, computed on demand
	coll   *collate.Collator

	filter Filter
	view   []int32 // the rows shown, in order
	viewQ  string  // folded query the view was computed with
	fresh  bool    // view reflects the current rows (a refinement may start from it)
}

type orderKey struct {
	k    SortKey
	desc bool
}

// NewList returns an empty list that resolves working-day deadlines with
// cal (nil means calendar.Default()).
func NewList(cal *calendar.Calendar) *List {
	if cal == nil {
		cal = calendar.Default()
	}
	return &List{cal: cal, index: map[store.Ref]int{}}
}

// categories and statuses in index order, and what a search term may match
// of their names: the Chinese and English labels, folded.
var (
	categoryList = domain.Categories()
	statusList   = domain.Statuses()
	categoryText = labels(len(categoryList), func(i int) string { return "category." + string(categoryList[i]) })
	statusText   = labels(len(statusList), func(i int) string { return "status." + string(statusList[i]) })
)

func labels(n int, key func(int) string) []string {
	zh, en := assets.NewTranslator(assets.LangZhHans), assets.NewTranslator(assets.LangEn)
	out := make([]string, n)
	for i := range out {
		out[i] = fold(zh.T(key(i)) + "\n" + en.T(key(i)))
	}
	return out
}

func categoryIndex(c domain.Category) uint8 {
	if i := slices.Index(categoryList, c); i >= 0 {
		return uint8(i)
	}
	return 255
}

func statusIndex(s domain.Status) uint8 {
	if i := slices.Index(statusList, s); i >= 0 {
		return uint8(i)
	}
	return 255
}

// fold maps text to the form search compares: full-width ASCII and the
// ideographic space (as Chinese input methods produce them) to half-width,
// letters to lower case. It returns s itself when nothing changes, which is
// the common case for Chinese text.
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\u3000':
			return ' '
		case r >= '！' && r <= '～':
			r = r - '！' + '!'
		}
		switch {
		case r < 0x80:
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			return r
		case r >= 0x2000:
			// CJK, punctuation and symbols have no case: skip the
			// table lookup, which would dominate folding Chinese text.
			return r
		}
		return unicode.ToLower(r)
	}, s)
}

// Load reads every commitment of s into rows, with their due state on day
// today, and applies the current filter. On error the list is unchanged.
func (l *List) Load(s *store.Store, today calendar.Date) error {
	un, err := s.Unconfirmed()
	if err != nil {
		return err
	}
	n := len(l.rows)
	nl := &List{cal: l.cal, today: today, coll: l.coll, filter: l.filter,
		rows: make([]Row, 0, n), text: make([]string, 0, n), cat: make([]uint8, 0, n), stat: make([]uint8, 0, n),
		index: make(map[store.Ref]int, n)}
	in := interner{}
	err = s.Commitments(func(c store.Commitment) bool {
		nl.index[c.Ref] = len(nl.rows)
		nl.rows = append(nl.rows, Row{})
		nl.text = append(nl.text, "")
		nl.cat = append(nl.cat, 0)
		nl.stat = append(nl.stat, 0)
		nl.set(len(nl.rows)-1, &c, un[c.Ref], in)
		return true
	})
	if err != nil {
		return err
	}
	nl.freq = sampleBytes(nl.text)
	*l = *nl
	l.derive()
	l.apply()
	return nil
}

// interner shares equal strings (office codes, officials' names) between
// rows instead of keeping one copy per commitment.
type interner map[string]string

func (in interner) get(s string) string {
	if v, ok := in[s]; ok {
		return v
	}
	in[s] = s
	return s
}

// set fills row i from c.
func (l *List) set(i int, c *store.Commitment, unconfirmed bool, in interner) {
	ci, si := categoryIndex(c.Category), statusIndex(c.Status)
	cat, st := c.Category, c.Status
	if ci != 255 {
		cat = categoryList[ci]
	}
	if si != 255 {
		st = statusList[si]
	}
	resp := c.Responsible
	if in != nil {
		resp = in.get(resp)
	}
	// One string holds what search looks at; when folding changes nothing
	// (most Chinese text), the title is a slice of it rather than a copy.
	raw := c.Title + "\n" + c.Responsible + "\n" + c.Text + "\n" + c.LegalBasis
	text := fold(raw)
	title := c.Title
	if text == raw {
		title = text[:len(c.Title)]
	}
	ref := c.Ref
	if in != nil {
		ref.Office = office.Code(in.get(string(c.Office)))
	}
	l.rows[i] = Row{
		Ref: ref, Title: title, Responsible: resp, Category: cat, Status: st,
		Due:        domain.ComputeDue(c.Status, c.Start(), c.DeadlineValue(), l.today, l.cal),
		Conflicted: c.IsConflicted(), Unconfirmed: unconfirmed, Progress: c.Progress,
		Updated: c.UpdatedAt.Wall(),
	}
	l.text[i], l.cat[i], l.stat[i] = text, ci, si
}

// derive recomputes what depends on all rows: the officials and the window
// counts. (Sort orders are kept up to date by their own rules.)
func (l *List) derive() {
	seen := make(map[string]bool, len(l.resp))
	var names []string
	l.count = [5]int{}
	for i := range l.rows {
		r := &l.rows[i]
		if r.Responsible != "" && !seen[r.Responsible] {
			seen[r.Responsible] = true
			names = append(names, r.Responsible)
		}
		for w := DueAll; w <= DueUnconfirmed; w++ {
			if w.match(r) {
				l.count[w]++
			}
		}
	}
	// Collation is slow: sort again only when the officials changed.
	same := len(names) == len(l.resp)
	for _, n := range l.resp {
		if !same {
			break
		}
		same = seen[n]
	}
	if !same {
		l.sortStrings(names)
		l.resp = names
	}
	l.fresh = false
}

// Refresh re-reads one commitment after an action (or a sync that touched
// it) and updates its row, adding it if new and dropping it if it is gone,
// keeping the filter and sort.
func (l *List) Refresh(s *store.Store, ref store.Ref) error {
	c, err := s.Commitment(ref)
	gone := errors.Is(err, store.ErrNotFound) || (err == nil && !c.Created)
	if err != nil && !gone {
		return err
	}
	un, err := s.Unconfirmed()
	if err != nil {
		return err
	}
	i, ok := l.index[ref]
	switch {
	case gone && !ok:
		return nil
	case gone:
		l.remove(i)
		l.orders = nil
	case ok:
		l.set(i, &c, un[ref], nil)
		l.reorder(int32(i), true)
	default:
		i = len(l.rows)
		l.index[ref] = i
		l.rows = append(l.rows, Row{})
		l.text = append(l.text, "")
		l.cat = append(l.cat, 0)
		l.stat = append(l.stat, 0)
		l.set(i, &c, un[ref], nil)
		l.reorder(int32(i), false)
	}
	l.derive()
	l.apply()
	return nil
}

// RefreshUnconfirmed re-reads which commitments await the county's
// acknowledgement, for after a sync delivered receipts.
func (l *List) RefreshUnconfirmed(s *store.Store) error {
	un, err := s.Unconfirmed()
	if err != nil {
		return err
	}
	for i := range l.rows {
		l.rows[i].Unconfirmed = un[l.rows[i].Ref]
	}
	l.derive()
	l.apply()
	return nil
}

// remove drops row i, keeping the others in order (ties in every sort are
// broken by row order). Commitments are never deleted from a store, so
// this is rare.
func (l *List) remove(i int) {
	delete(l.index, l.rows[i].Ref)
	l.rows = slices.Delete(l.rows, i, i+1)
	l.text = slices.Delete(l.text, i, i+1)
	l.cat = slices.Delete(l.cat, i, i+1)
	l.stat = slices.Delete(l.stat, i, i+1)
	for k := i; k < len(l.rows); k++ {
		l.index[l.rows[k].Ref] = k
	}
}

// SetToday recomputes every row's due state for another day (the list stays
// open past midnight) and reapplies the filter. It needs no store access:
// the resolved deadline of each row does not depend on the day.
func (l *List) SetToday(today calendar.Date) {
	if today == l.today {
		return
	}
	l.today = today
	for i := range l.rows {
		r := &l.rows[i]
		if r.Due.Date.IsZero() {
			continue
		}
		est := r.Due.Estimated
		r.Due = domain.ComputeDue(r.Status, calendar.Date{}, domain.DateDeadline(r.Due.Date), today, l.cal)
		r.Due.Estimated = est
	}
	// Due states moved between groups: the urgency orders are stale.
	for k := range l.orders {
		if k.k == SortUrgency {
			delete(l.orders, k)
		}
	}
	l.derive()
	l.apply()
}

// Today returns the day due states are computed for.
func (l *List) Today() calendar.Date { return l.today }

// SetFilter changes the filter and recomputes the rows shown. Typing more
// of a query narrows the previous result instead of scanning every row.
func (l *List) SetFilter(f Filter) {
	old := l.filter
	l.filter = f
	q := fold(f.Query)
	if l.fresh && l.view != nil && strings.HasPrefix(q, l.viewQ) && old.Category == f.Category && old.Status == f.Status &&
		old.Responsible == f.Responsible && old.Window == f.Window && old.Sort == f.Sort && old.Desc == f.Desc {
		l.view = l.filterRows(l.view, q, l.view[:0])
		l.viewQ = q
		return
	}
	l.apply()
}

// Filter returns the current filter.
func (l *List) Filter() Filter { return l.filter }

// apply recomputes the view from all rows.
func (l *List) apply() {
	q := fold(l.filter.Query)
	order := l.order(orderKey{l.filter.Sort, l.filter.Desc})
	l.view = l.filterRows(order, q, make([]int32, 0, len(l.view)))
	l.viewQ = q
	l.fresh = true
}

// Len returns the number of rows shown.
func (l *List) Len() int { return len(l.view) }

// Row returns the i-th row shown, 0 ≤ i < Len().
func (l *List) Row(i int) Row { return l.rows[l.view[i]] }

// Total returns the number of commitments loaded, whatever the filter.
func (l *List) Total() int { return len(l.rows) }

// Find returns the position of ref among the rows shown, or -1, so a
// screen can keep the selection across a refresh.
func (l *List) Find(ref store.Ref) int {
	i, ok := l.index[ref]
	if !ok {
		return -1
	}
	for k, v := range l.view {
		if int(v) == i {
			return k
		}
	}
	return -1
}

// Count returns how many loaded commitments fall in window w, whatever the
// filter, for the counts beside the filter menu.
func (l *List) Count(w DueWindow) int {
	if w < 0 || int(w) >= len(l.count) {
		return 0
	}
	return l.count[w]
}

// Responsibles returns the distinct responsible officials, in Chinese
// collation order, for the filter menu. The slice is a copy.
func (l *List) Responsibles() []string { return slices.Clone(l.resp) }
