package public

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// BenchmarkPublicSite measures requests per second and the 99th
// percentile latency of the list page, a detail page and the JSON feed,
// each asked for plainly, with Accept-Encoding: gzip, and conditionally
// (the client holds the ETag and accepts gzip), by 8 clients at once over
// real HTTP on loopback, against 2,000 published commitments:
//
//	go test -run '^$' -bench PublicSite -benchtime 2000x ./server/public
//
// docs/benchmarks-municipal.md, "The public site", has the figures.
func BenchmarkPublicSite(b *testing.B) {
	const clients = 8
	st := openStore(b, "bench", true, nil)
	skipCheck.Store(st, struct{}{})
	hlc := protocol.MakeHLC(time.Date(2026, 10, 1, 8, 0, 0, 0, cst).UnixMilli(), 0)
	refs := bulkPublish(b, st, office.Code("410324102"), 1000, hlc, "合峪镇批量承诺")
	bulkPublish(b, st, office.Code("410325101"), 1000, hlc, "田湖镇批量承诺")
	srv := httptest.NewServer(New(Config{Store: st, Now: func() time.Time { return fixedNow }, Logger: quietLogger()}))
	defer srv.Close()
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	get := func(path string, hdr http.Header) (*http.Response, int64) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header = hdr.Clone()
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp, n
	}
	for _, page := range []struct{ name, path string }{{"list", "/"}, {"detail", detailPath(refs[0])}, {"feed", "/api/v1/commitments"}} {
		for _, mode := range []string{"plain", "gzip", "conditional"} {
			b.Run(page.name+"/"+mode, func(b *testing.B) {
				hdr := http.Header{}
				if mode != "plain" {
					hdr.Set("Accept-Encoding", "gzip")
				}
				if mode == "conditional" {
					resp, _ := get(page.path, hdr)
					hdr.Set("If-None-Match", resp.Header.Get("ETag"))
				}
				lat := make([]time.Duration, b.N)
				var next, bytes atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				start := time.Now()
				for range clients {
					wg.Go(func() {
						for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
							t0 := time.Now()
							resp, n := get(page.path, hdr)
							lat[i] = time.Since(t0)
							bytes.Add(n)
							if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotModified {
								b.Errorf("%s: %s", page.path, resp.Status)
							}
						}
					})
				}
				wg.Wait()
				wall := time.Since(start)
				b.StopTimer()
				slices.Sort(lat)
				b.ReportMetric(float64(b.N)/wall.Seconds(), "req/s")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64(bytes.Load())/float64(b.N), "B/resp")
			})
		}
	}
}
