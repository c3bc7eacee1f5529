package public

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// pagingN is how many published commitments the paging test walks: 10,000
// as the platform must handle, 1,000 with -short.
func pagingN() int {
	if testing.Short() {
		return 1000
	}
	return 10000
}

// TestPaging10k walks every page of the list and of the JSON snapshot over
// 10,000 published commitments (plus the fixture's), checking each is
// visited exactly once. Half the commitments share their update stamps
// with the other half (two devices, the same clock readings), so ties in
// the list's order are broken by the key, never by chance.
func TestPaging10k(t *testing.T) {
	n := pagingN()
	f := newFixture(t)
	skipCheck.Store(f.muni, struct{}{})
	t0 := time.Now()
	hlc := protocol.MakeHLC(time.Date(2026, 10, 1, 8, 0, 0, 0, cst).UnixMilli(), 0)
	var refs []store.Ref
	refs = append(refs, bulkPublish(t, f.muni, office.Code("410324102"), n/2, hlc, "合峪镇批量承诺")...)
	refs = append(refs, bulkPublish(t, f.muni, office.Code("410325101"), n-n/2, hlc, "田湖镇批量承诺")...)
	t.Logf("%d commitments applied in %v", n, time.Since(t0))
	want := map[string]bool{}
	for _, r := range append(refs, f.shownRefs()...) {
		want[refString(r)] = true
	}
	getOK(t, f.h, "/") // build the index once, before the walks run side by side

	// The three walks only read: run them in parallel.
	var wg sync.WaitGroup
	walks := []struct {
		name string
		fn   func() (map[string]int, int, error)
	}{
		{"list", func() (map[string]int, int, error) { return walkList(f.h, "/") }},
		{"filtered list", func() (map[string]int, int, error) { return walkList(f.h, "/?township=410325101") }},
		{"feed", func() (map[string]int, int, error) { return walkFeed(f.h) }},
	}
	seen := make([]map[string]int, len(walks))
	pages := make([]int, len(walks))
	errs := make([]error, len(walks))
	for i, w := range walks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			seen[i], pages[i], errs[i] = w.fn()
			t.Logf("%s: %d pages in %v", w.name, pages[i], time.Since(t0))
		}()
	}
	wg.Wait()
	for i, w := range walks {
		if errs[i] != nil {
			t.Fatalf("%s: %v", w.name, errs[i])
		}
	}

	checkOnce(t, "list", seen[0], want)
	if wantPages := (len(want) + DefaultPageSize - 1) / DefaultPageSize; pages[0] != wantPages {
		t.Errorf("list: %d pages, want %d", pages[0], wantPages)
	}
	if len(seen[1]) != n-n/2 {
		t.Errorf("filtered list: %d commitments, want %d", len(seen[1]), n-n/2)
	}
	for r, c := range seen[1] {
		if c != 1 || r[:9] != "410325101" {
			t.Errorf("filtered list: %s seen %d times", r, c)
			break
		}
	}
	checkOnce(t, "feed", seen[2], want)
}

// walkList follows the list's "next page" links from target and counts
// the commitments each page links to.
func walkList(h http.Handler, target string) (map[string]int, int, error) {
	seen := map[string]int{}
	pages := 0
	for target != "" {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
		if w.Code != http.StatusOK {
			return nil, pages, fmt.Errorf("GET %s: %d", target, w.Code)
		}
		body := w.Body.String()
		got := listRefs(body)
		if len(got) == 0 || len(got) > DefaultPageSize {
			return nil, pages, fmt.Errorf("page %d has %d rows", pages, len(got))
		}
		for _, r := range got {
			seen[r]++
		}
		if pages++; pages > 100000 {
			return nil, pages, fmt.Errorf("the pager does not end")
		}
		target = ""
		if next := nextHref(body); next != "" {
			target = "/" + next
		}
	}
	return seen, pages, nil
}

// walkFeed follows the snapshot's next_cursor, 200 a page, checking every
// page reports the feed position of the first.
func walkFeed(h http.Handler) (map[string]int, int, error) {
	seen := map[string]int{}
	pages := 0
	var position uint64
	for cursor := ""; ; {
		target := "/api/v1/commitments?limit=200"
		if cursor != "" {
			target += "&cursor=" + url.QueryEscape(cursor)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
		var p CommitmentsPage
		if w.Code != http.StatusOK {
			return nil, pages, fmt.Errorf("GET %s: %d %s", target, w.Code, w.Body.String())
		}
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
			return nil, pages, err
		}
		if pages == 0 {
			position = p.FeedPosition
		} else if p.FeedPosition != position {
			return nil, pages, fmt.Errorf("page %d reports feed position %d, page one %d", pages, p.FeedPosition, position)
		}
		for _, c := range p.Items {
			seen[c.Office+"/"+c.ID]++
		}
		if pages++; pages > 100000 {
			return nil, pages, fmt.Errorf("the feed does not end")
		}
		if p.NextCursor == nil {
			return seen, pages, nil
		}
		cursor = *p.NextCursor
	}
}

func checkOnce(t *testing.T, what string, seen map[string]int, want map[string]bool) {
	t.Helper()
	bad := 0
	for r, c := range seen {
		if c != 1 || !want[r] {
			if bad++; bad <= 5 {
				t.Errorf("%s: %s seen %d times (expected: %v)", what, r, c, want[r])
			}
		}
	}
	for r := range want {
		if seen[r] == 0 {
			if bad++; bad <= 5 {
				t.Errorf("%s: %s never seen", what, r)
			}
		}
	}
	if len(seen) != len(want) {
		t.Errorf("%s: %d distinct commitments, want %d", what, len(seen), len(want))
	}
}

// TestPagingUnderChange: commitments added while a client pages never make
// another commitment repeat or vanish.
func TestPagingUnderChange(t *testing.T) {
	f := newFixture(t)
	hlc := protocol.MakeHLC(time.Date(2026, 10, 1, 8, 0, 0, 0, cst).UnixMilli(), 0)
	refs := bulkPublish(t, f.muni, office.Code("410324102"), 120, hlc, "批量承诺")
	want := map[string]bool{}
	for _, r := range append(refs, f.shownRefs()...) {
		want[refString(r)] = true
	}
	h := New(Config{Store: f.muni, Now: func() time.Time { return fixedNow }, Logger: quietLogger(), PageSize: 20})
	seen := map[string]int{}
	body := getOK(t, h, "/")
	for _, r := range listRefs(body) {
		seen[r]++
	}
	// Meanwhile a new commitment arrives. It is the newest, so it sorts
	// before the cursor: this walk does not show it, the next one will.
	late := bulkPublish(t, f.muni, office.Code("410324103"), 1, protocol.MakeHLC(fixedNow.UnixMilli(), 0), "新到承诺")
	for next := nextHref(body); next != ""; next = nextHref(body) {
		body = getOK(t, h, "/"+next)
		for _, r := range listRefs(body) {
			seen[r]++
		}
	}
	checkOnce(t, "list under change", seen, want)
	if first := listRefs(getOK(t, h, "/")); first[0] != refString(late[0]) {
		t.Errorf("new commitment not first on a fresh walk: %v", first[:3])
	}
}
