package vm

import (
	"runtime"
	"strings"
	"sync"
)

// Search is a substring scan of each row's folded text (about 300 bytes a
// row: title, responsible official, full text, legal basis). Chinese UTF-8
// is hard on strings.Contains: it looks for the needle's first byte, and
// the lead bytes of common characters (0xE4–0xE9) make up a third of the
// text. A matcher instead looks for the needle's rarest byte (by a count
// of bytes in a sample of the loaded text), usually a continuation byte
// found about once in a hundred, and compares the needle around each hit.
// Big scans are split between the processors.

// matcher finds one folded search term.
type matcher struct {
	needle string
	pos    int  // offset in needle of its rarest byte
	b      byte // that byte
	ascii  bool // plain ASCII: strings.Contains does as well
}

// byteRank estimates how common each byte is in Chinese office text:
// lower is rarer. ASCII letters, digits and the lead bytes of CJK
// characters are common; continuation bytes are spread over 64 values.
func byteRank(b byte) int {
	switch {
	case b >= 0xE4 && b <= 0xE9: // lead byte of most CJK ideographs
		return 100
	case b >= 0xE0: // other three-byte lead bytes (punctuation, symbols)
		return 60
	case b < 0x80 && (b >= 'a' && b <= 'z' || b == ' ' || b == '\n'):
		return 50
	case b < 0x80:
		return 30
	case b >= 0xC0: // two-byte lead bytes
		return 20
	}
	return 10 // continuation byte
}

// newMatcher prepares a search for needle, looking for its rarest byte by
// freq (counts of each byte in a sample of the text), or by byteRank
// while there is no sample.
func newMatcher(needle string, freq *[256]uint32) matcher {
	m := matcher{needle: needle, ascii: true}
	for i := 0; i < len(needle); i++ {
		if needle[i] >= 0x80 {
			m.ascii = false
		}
	}
	best := uint64(1 << 63)
	for i := 0; i < len(needle); i++ {
		r := uint64(byteRank(needle[i]))
		if freq != nil {
			r = uint64(freq[needle[i]])<<8 | r // the sample decides; the rank breaks ties
		}
		if r < best {
			best, m.pos, m.b = r, i, needle[i]
		}
	}
	return m
}

// sampleBytes counts the bytes of every 16th row's text.
func sampleBytes(text []string) *[256]uint32 {
	var freq [256]uint32
	for i := 0; i < len(text); i += 16 {
		s := text[i]
		for k := 0; k < len(s); k++ {
			freq[s[k]]++
		}
	}
	return &freq
}

// in reports whether s contains the needle.
func (m *matcher) in(s string) bool {
	n := len(m.needle)
	if n == 0 || m.ascii {
		return strings.Contains(s, m.needle)
	}
	end := len(s) - (n - 1 - m.pos) // the rare byte cannot lie after end
	for i := m.pos; i < end; {
		j := strings.IndexByte(s[i:end], m.b)
		if j < 0 {
			return false
		}
		j += i
		if s[j-m.pos:j-m.pos+n] == m.needle {
			return true
		}
		i = j + 1
	}
	return false
}

// query is a parsed filter query.
type query struct {
	match    []matcher
	catMask  []uint64 // per term: categories whose name contains it
	statMask []uint64 // per term: statuses whose name contains it
}

func parseQuery(q string, freq *[256]uint32) *query {
	terms := strings.Fields(q)
	pq := &query{match: make([]matcher, len(terms)), catMask: make([]uint64, len(terms)), statMask: make([]uint64, len(terms))}
	for t, term := range terms {
		pq.match[t] = newMatcher(term, freq)
		for i, s := range categoryText {
			if strings.Contains(s, term) {
				pq.catMask[t] |= 1 << i
			}
		}
		for i, s := range statusText {
			if strings.Contains(s, term) {
				pq.statMask[t] |= 1 << i
			}
		}
	}
	return pq
}

// parallelMin is the number of rows from which a scan is split between
// processors.
const parallelMin = 8192

// filterRows appends to out the rows of cand that pass the filter with
// folded query q, in cand's order. out may share cand's array.
//
// A broad scan tests rows in memory order (their search text was allocated
// in that order at Load) rather than in the sort order of cand, which
// would jump around memory, split between processors; then it keeps
// cand's order. A narrow one (a query being typed narrows the previous
// result) tests cand directly.
func (l *List) filterRows(cand []int32, q string, out []int32) []int32 {
	pq := parseQuery(q, l.freq)
	if len(cand) < len(l.rows)/4 {
		for _, i := range cand {
			if l.passes(i, pq) {
				out = append(out, i)
			}
		}
		return out
	}
	keep := make([]bool, len(l.rows))
	n := len(l.rows)
	procs := min(runtime.GOMAXPROCS(0), 8)
	if procs < 2 || n < parallelMin {
		procs = 1
	}
	chunk := (n + procs - 1) / procs
	var wg sync.WaitGroup
	for p := 0; p < procs; p++ {
		lo, hi := min(p*chunk, n), min((p+1)*chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				keep[i] = l.passes(int32(i), pq)
			}
		}()
	}
	wg.Wait()
	for _, i := range cand {
		if keep[i] {
			out = append(out, i)
		}
	}
	return out
}

// passes reports whether row i passes the filter and the query.
func (l *List) passes(i int32, pq *query) bool {
	f := &l.filter
	r := &l.rows[i]
	if (f.Category != "" && r.Category != f.Category) || (f.Status != "" && r.Status != f.Status) ||
		(f.Responsible != "" && r.Responsible != f.Responsible) || !f.Window.match(r) {
		return false
	}
	for t := range pq.match {
		if pq.catMask[t]&(1<<l.cat[i]) == 0 && pq.statMask[t]&(1<<l.stat[i]) == 0 && !pq.match[t].in(l.text[i]) {
			return false
		}
	}
	return true
}
