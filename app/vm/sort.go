package vm

import (
	"bytes"
	"cmp"
	"math"
	"slices"
	"time"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
)

// Sort orders are computed over all rows on first use and cached: a filter
// then only walks the cached order and keeps the rows it passes, so
// changing the filter never sorts. Refresh moves the one row it changed to
// its new place in every cached order instead of sorting again. Ties are
// broken by row order, which after Load is the store's order (office, then
// ID), so the same data always shows in the same order.

// sorter compares rows for one sort order. With keys precomputed for every
// row (a full sort) it compares plain numbers; without (placing one row)
// it derives the few keys it needs.
type sorter struct {
	l     *List
	k     orderKey
	due   []int32  // deadline as days since the epoch; math.MaxInt32 for none
	upd   []int64  // last change, Unix nanoseconds
	title [][]byte // collation keys
	buf   collate.Buffer
}

func (l *List) newSorter(k orderKey, all bool) *sorter {
	s := &sorter{l: l, k: k}
	if !all {
		return s
	}
	n := len(l.rows)
	switch k.k {
	case SortUpdated:
		s.upd = make([]int64, n)
		for i := range l.rows {
			s.upd[i] = l.rows[i].Updated.UnixNano()
		}
	case SortTitle:
		s.title = make([][]byte, n)
		c := l.collator()
		for i := range l.rows {
			s.title[i] = c.KeyFromString(&s.buf, l.rows[i].Title)
		}
	default:
		s.due = make([]int32, n)
		for i := range l.rows {
			s.due[i] = rowDueKey(&l.rows[i])
		}
	}
	return s
}

func (s *sorter) dueKey(i int32) int32 {
	if s.due != nil {
		return s.due[i]
	}
	return rowDueKey(&s.l.rows[i])
}

func rowDueKey(r *Row) int32 {
	if r.Due.Date.IsZero() {
		return math.MaxInt32
	}
	return int32(epoch.DaysUntil(r.Due.Date))
}

var epoch = calendar.NewDate(1970, time.January, 1)

func (s *sorter) titleKey(i int32) []byte {
	if s.title != nil {
		return s.title[i]
	}
	return s.l.collator().KeyFromString(&s.buf, s.l.rows[i].Title)
}

// byDeadline orders by deadline, rows without one last in both directions.
func (s *sorter) byDeadline(a, b int32) int {
	da, db := s.dueKey(a), s.dueKey(b)
	if da == math.MaxInt32 || db == math.MaxInt32 || !s.k.desc {
		return cmp.Compare(da, db)
	}
	return cmp.Compare(db, da)
}

// cmp is the full order: the sort key, then row order.
func (s *sorter) cmp(a, b int32) int {
	var c int
	switch s.k.k {
	case SortUpdated:
		if s.upd != nil {
			c = cmp.Compare(s.upd[a], s.upd[b])
		} else {
			c = s.l.rows[a].Updated.Compare(s.l.rows[b].Updated)
		}
	case SortTitle:
		c = bytes.Compare(s.titleKey(a), s.titleKey(b))
	case SortUrgency:
		c = cmp.Compare(urgency(&s.l.rows[a]), urgency(&s.l.rows[b]))
		if c == 0 {
			return cmp.Or(cmp.Compare(s.dueKey(a), s.dueKey(b)), cmp.Compare(a, b))
		}
	case SortStatus:
		c = int(s.l.stat[a]) - int(s.l.stat[b])
		if c == 0 {
			if c = s.byDeadline(a, b); c != 0 {
				return c // byDeadline applies the direction itself
			}
		}
	default:
		if c = s.byDeadline(a, b); c != 0 {
			return c
		}
	}
	if s.k.desc {
		c = -c
	}
	if c != 0 {
		return c
	}
	return cmp.Compare(a, b)
}

// urgency is the group of SortUrgency a row falls in: 0 overdue, 1 due
// soon, 2 other open, 3 draft, 4 closed or withdrawn.
func urgency(r *Row) int {
	switch {
	case r.Due.State == domain.DueOverdue:
		return 0
	case r.Due.State == domain.DueSoon:
		return 1
	case r.Status.Open():
		return 2
	case r.Status == domain.StatusDraft:
		return 3
	}
	return 4
}

// order returns all rows sorted by k, computing and caching it on first use.
func (l *List) order(k orderKey) []int32 {
	if o, ok := l.orders[k]; ok {
		return o
	}
	o := make([]int32, len(l.rows))
	for i := range o {
		o[i] = int32(i)
	}
	s := l.newSorter(k, true)
	slices.SortFunc(o, s.cmp)
	if l.orders == nil {
		l.orders = map[orderKey][]int32{}
	}
	l.orders[k] = o
	return o
}

// reorder moves row i to its place in every cached order after it changed
// (existed) or was added.
func (l *List) reorder(i int32, existed bool) {
	for k, o := range l.orders {
		if existed {
			if p := slices.Index(o, i); p >= 0 {
				o = slices.Delete(o, p, p+1)
			}
		}
		s := l.newSorter(k, false)
		p, _ := slices.BinarySearchFunc(o, i, s.cmp)
		l.orders[k] = slices.Insert(o, p, i)
	}
}

func (l *List) collator() *collate.Collator {
	if l.coll == nil {
		l.coll = collate.New(language.Chinese)
	}
	return l.coll
}

func (l *List) sortStrings(ss []string) {
	if len(ss) > 1 {
		l.collator().SortStrings(ss)
	}
}
