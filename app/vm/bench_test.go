package vm

// Benchmarks of the commitments list at 50,000 rows (the big store of
// big_test.go). Machines we measure on are shared and noisy, so the filter
// benchmarks measure a baseline in the same run, a plain linear scan with
// strings.Contains over a []string of the same 50,000 titles, and report
// the ratio. docs/benchmarks-app.md records the figures and the commands.
//
// These are benchmarks only: nothing here asserts a duration.

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"jiannuo/domain"
	"jiannuo/store"
)

// benchQueries are searches as a clerk types them.
var benchQueries = []struct{ name, q string }{
	{"common-zh", "老人"},        // two characters, a few per cent of rows
	{"rare-zh", "第4242号"},      // one row
	{"two-words", "花园村 台账"},    // both must occur
	{"text-only", "12345热线"},   // only in the full text
	{"category-name", "养老"},    // names a category
	{"no-match", "不存在的事项"},     // scans everything, finds nothing
	{"ascii", "pm2.5"},         // ASCII, case-folded
	{"responsible", "陈敏（党政办）"}, // an official
}

func loadedBigList(b *testing.B) *List {
	b.Helper()
	s := big(b)
	l := NewList(nil)
	if err := l.Load(s, testToday); err != nil {
		b.Fatal(err)
	}
	return l
}

// baseline scans titles the plainest way: the floor any search must pay.
func baseline(titles []string, q string) int {
	n := 0
	for _, t := range titles {
		if strings.Contains(t, q) {
			n++
		}
	}
	return n
}

// BenchmarkFilterSearch measures SetFilter with a query over every row
// (the full scan, not the narrowing of a query being typed). Each
// iteration also runs the baseline, so that both see the same machine;
// ns/op is the list's time alone, baseline-ns the baseline's, and
// x-baseline their ratio.
func BenchmarkFilterSearch(b *testing.B) {
	l := loadedBigList(b)
	titles := make([]string, l.Total())
	for i := range titles {
		titles[i] = l.rows[i].Title
	}
	for _, bq := range benchQueries {
		b.Run(bq.name, func(b *testing.B) {
			var list, base time.Duration
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				baseline(titles, bq.q)
				t1 := time.Now()
				l.fresh = false // force a scan of every row
				l.SetFilter(Filter{Query: bq.q})
				t2 := time.Now()
				base += t1.Sub(t0)
				list += t2.Sub(t1)
			}
			b.ReportMetric(float64(list.Nanoseconds())/float64(b.N), "ns/op")
			b.ReportMetric(float64(base.Nanoseconds())/float64(b.N), "baseline-ns")
			b.ReportMetric(float64(list)/float64(base), "x-baseline")
			b.ReportMetric(float64(l.Len()), "rows")
		})
	}
}

// BenchmarkBaselineTitleScan is the baseline on its own: strings.Contains
// over the 50,000 titles.
func BenchmarkBaselineTitleScan(b *testing.B) {
	l := loadedBigList(b)
	titles := make([]string, l.Total())
	for i := range titles {
		titles[i] = l.rows[i].Title
	}
	for _, bq := range benchQueries {
		b.Run(bq.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				baseline(titles, bq.q)
			}
		})
	}
}

// BenchmarkFilterOther measures the filters without a query and the sort
// orders: the first use of a sort order computes it (cold), later uses
// reuse it.
func BenchmarkFilterOther(b *testing.B) {
	l := loadedBigList(b)
	for _, tc := range []struct {
		name string
		f    Filter
		cold bool
	}{
		{"all", Filter{}, false},
		{"overdue", Filter{Window: DueOverdue}, false},
		{"category+status", Filter{Category: domain.CatElderlyCare, Status: domain.StatusInProgress}, false},
		{"search+filters", Filter{Query: "村", Status: domain.StatusInProgress, Window: DueOverdue}, false},
		{"sort-title-cold", Filter{Sort: SortTitle}, true},
		{"sort-updated-cold", Filter{Sort: SortUpdated, Desc: true}, true},
		{"sort-deadline-cold", Filter{Sort: SortDeadline}, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if tc.cold {
					l.orders = nil
				}
				l.fresh = false
				l.SetFilter(tc.f)
			}
			b.ReportMetric(float64(l.Len()), "rows")
		})
	}
}

// BenchmarkTyping measures a query typed one character at a time, each
// keystroke narrowing the previous result.
func BenchmarkTyping(b *testing.B) {
	l := loadedBigList(b)
	steps := []string{"花", "花园", "花园村", "花园村 ", "花园村 台", "花园村 台账"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.SetFilter(Filter{})
		for _, q := range steps {
			l.SetFilter(Filter{Query: q})
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(steps)), "ns/keystroke")
}

// BenchmarkLoad measures List.Load of every commitment. Each iteration
// also reads every commitment through store.Commitments doing nothing with
// them, the store's share (decoding its records); ns/op is Load alone,
// store-ns the bare read, x-store their ratio.
func BenchmarkLoad(b *testing.B) {
	s := big(b)
	l := NewList(nil)
	if err := l.Load(s, testToday); err != nil { // warm the file's pages
		b.Fatal(err)
	}
	var load, read time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := s.Commitments(func(store.Commitment) bool { return true }); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := NewList(nil).Load(s, testToday); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		read += t1.Sub(t0)
		load += t2.Sub(t1)
	}
	b.ReportMetric(float64(load.Nanoseconds())/float64(b.N), "ns/op")
	b.ReportMetric(float64(read.Nanoseconds())/float64(b.N), "store-ns")
	b.ReportMetric(float64(load)/float64(read), "x-store")
	b.ReportMetric(float64(l.Total()), "rows")
}

// BenchmarkListMemory reports the heap a loaded List keeps per row (rows,
// search text, index), and for comparison the bytes of the text it
// searches.
func BenchmarkListMemory(b *testing.B) {
	s := big(b)
	var keep *List
	var perRow, textPerRow float64
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		l := NewList(nil)
		if err := l.Load(s, testToday); err != nil {
			b.Fatal(err)
		}
		l.SetFilter(Filter{Sort: SortDeadline})
		runtime.GC()
		runtime.ReadMemStats(&after)
		perRow = float64(after.HeapAlloc-before.HeapAlloc) / float64(l.Total())
		text := 0
		for _, t := range l.text {
			text += len(t)
		}
		textPerRow = float64(text) / float64(l.Total())
		keep = l
	}
	runtime.KeepAlive(keep)
	b.ReportMetric(perRow, "B/row")
	b.ReportMetric(textPerRow, "text-B/row")
}

// BenchmarkScanFullText compares, on one goroutine and alternating in
// each iteration, strings.Contains and the rarest-byte matcher over the
// full search text of every row (what the list searches, about six times
// the bytes of the titles). ns/op is the matcher's time, contains-ns the
// plain scan's.
func BenchmarkScanFullText(b *testing.B) {
	l := loadedBigList(b)
	for _, bq := range benchQueries {
		q := fold(bq.q)
		if strings.Contains(q, " ") {
			continue
		}
		m := newMatcher(q, l.freq)
		b.Run(bq.name, func(b *testing.B) {
			var plain, ours time.Duration
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				for _, t := range l.text {
					_ = strings.Contains(t, q)
				}
				t1 := time.Now()
				for _, t := range l.text {
					_ = m.in(t)
				}
				t2 := time.Now()
				plain += t1.Sub(t0)
				ours += t2.Sub(t1)
			}
			b.ReportMetric(float64(ours.Nanoseconds())/float64(b.N), "ns/op")
			b.ReportMetric(float64(plain.Nanoseconds())/float64(b.N), "contains-ns")
			b.ReportMetric(float64(ours)/float64(plain), "x-contains")
		})
	}
}

// BenchmarkRefresh measures what follows an action on one commitment: read
// it back, move its row in the cached sort orders, recount, refilter.
func BenchmarkRefresh(b *testing.B) {
	l := loadedBigList(b)
	s := big(b)
	for _, k := range SortKeys() { // the orders a session has used
		l.SetFilter(Filter{Sort: k})
	}
	l.SetFilter(Filter{Window: DueOverdue, Sort: SortDeadline})
	ref := l.Row(l.Len() / 2).Ref
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := l.Refresh(s, ref); err != nil {
			b.Fatal(err)
		}
	}
}
