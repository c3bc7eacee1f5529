package municipal_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"jiannuo/server/loadgen"
	"jiannuo/server/municipal"
	"jiannuo/server/public"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// ingest has a county ingest devices × sets change sets of ops operations
// from the load generator (one township per device; real TLS websocket
// sessions, receipts checked) and returns the load generator's result.
func ingest(tb testing.TB, c *countyNode, devices, sets, ops int) loadgen.Result {
	tb.Helper()
	srv := c.srv
	lg, err := loadgen.New(loadgen.Config{URL: "https://" + c.addr, Fingerprint: c.fp, County: c.code,
		Devices: devices, Offices: devices, ChangeSets: sets, Ops: ops, Logger: quiet(),
		Approve: func(_ context.Context, d protocol.DeviceID) error {
			_, err := srv.Approve(d, countyapi.ApproveRequest{}, "bench")
			return err
		}})
	if err != nil {
		tb.Fatal(err)
	}
	defer lg.Close()
	ctx := context.Background()
	if err := lg.Prepare(ctx); err != nil {
		tb.Fatal(err)
	}
	res, err := lg.Run(ctx)
	if err != nil {
		tb.Fatalf("county %s ingest: %v (%s)", c.code, err, res.ErrorSummary())
	}
	return res
}

// servePublic gives a municipal node its public page and feed, as the
// server command does, with a fixed clock so that nodes holding the same
// change sets answer the same bytes.
func servePublic(m *muniNode, now time.Time) {
	m.edit = func(cfg *municipal.Config) {
		cfg.Public = func(n *municipal.Node) http.Handler {
			return public.New(public.Config{Store: n.Store(), Logger: quiet(), MaxStale: public.NodeMaxStale,
				Now: func() time.Time { return now }})
		}
	}
}

// get returns the body of a public page, failing unless it is 200 OK.
func get(tb testing.TB, hc *http.Client, url string) []byte {
	tb.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: %s %v", url, resp.Status, err)
	}
	return body
}

// TestNodesSideBySide: three municipal nodes, each joining the cluster
// through a different member, pull the same two counties while both
// ingest from the load generator at once. Every node ends holding exactly
// the union of the counties, all three with the same digest, and their
// public feeds list the same commitments, field for field (the feed's ID
// and position are each node's own): a city can serve its citizens from
// as many nodes as it needs.
func TestNodesSideBySide(t *testing.T) {
	c1 := newCounty(t, luanchuan)
	c2 := newCounty(t, songxian, c1.serfAddr)
	counties := []*countyNode{c1, c2}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	var nodes []*muniNode
	for k, join := range []string{c1.serfAddr, c2.serfAddr, c1.serfAddr} {
		m := newMunicipal(t, []string{"市信用平台-甲", "市信用平台-乙", "市信用平台-丙"}[k], counties...)
		servePublic(m, now)
		m.start(join)
		nodes = append(nodes, m)
	}

	// Both counties ingest at the same time while the nodes pull.
	var wg sync.WaitGroup
	results := make([]loadgen.Result, len(counties))
	for i, c := range counties {
		wg.Go(func() { results[i] = ingest(t, c, 2, 3, 40) })
	}
	wg.Wait()
	ops := 0
	for _, r := range results {
		ops += r.Ops
	}
	if ops != 2*2*3*40 {
		t.Fatalf("the counties acknowledged %d operations", ops)
	}

	want := union(t, counties...)
	var total uint64
	for _, c := range counties {
		total += c.head()
	}
	hc := &http.Client{Timeout: time.Minute}
	var digest0 [32]byte
	var feed0 public.CommitmentsPage
	for i, m := range nodes {
		m.waitConverged(counties...)
		sameAs(t, m.n.Identity().Name, m.n.Store(), want)
		if h, _ := m.n.Store().FeedHead(); h != total {
			t.Fatalf("%s applied %d change sets, the counties hold %d", m.n.Identity().Name, h, total)
		}
		d, err := m.n.Store().Digest()
		if err != nil {
			t.Fatal(err)
		}
		var feed public.CommitmentsPage
		if err := json.Unmarshal(get(t, hc, "http://"+m.n.HTTPAddr()+"/api/v1/commitments?limit=200"), &feed); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			digest0, feed0 = d, feed
			continue
		}
		if d != digest0 {
			t.Fatalf("%s and %s hold the same change sets but their digests differ", nodes[0].n.Identity().Name, m.n.Identity().Name)
		}
		if feed.Total != feed0.Total || !reflect.DeepEqual(feed.Items, feed0.Items) {
			t.Fatalf("%s lists other commitments on its public feed than %s (%d and %d)", m.n.Identity().Name,
				nodes[0].n.Identity().Name, feed.Total, feed0.Total)
		}
	}
	// One commitment in five operations, each published: all on the page.
	if feed0.Total != ops/5 || len(feed0.Items) != ops/5 {
		t.Fatalf("the public feed lists %d commitments (%d items), want %d", feed0.Total, len(feed0.Items), ops/5)
	}
}

// BenchmarkPublicReadsScale measures how public page reads scale with the
// number of municipal nodes serving the same counties, the way a city
// serves its citizens when one machine is not enough: N nodes, the
// clients spread evenly across them, requests answered per second against
// N.
//
//	go test -run '^$' -bench PublicReadsScale -benchtime 1x -timeout 30m ./server/municipal
//
// A county ingests JIANNUO_BENCH_TOWNSHIPS (default 4) townships ×
// JIANNUO_BENCH_OPS operations (default 2,500; one commitment in five, so
// 2,000 commitments) and four nodes pull it: three with the defaults and
// one whose PublicConcurrency is every CPU rather than half (the control
// below). Then JIANNUO_BENCH_CLIENTS clients (default 16, over keep-alive
// HTTP on loopback, accepting gzip as browsers do) ask in turn for the
// list page, a detail page (a different commitment each time) and the
// JSON feed for a window of JIANNUO_BENCH_WINDOW_MS (default 1,500 ms)
// each, spread over 1, 2 and 3 nodes, and over the uncapped node alone;
// JIANNUO_BENCH_ROUNDS rounds (default 3), alternating the order, and the
// median of each is reported: rps-N and x-N = rps-N ÷ rps-1 of the same
// run, p99-ms-N, cores-N (the CPU time this process used over the
// window's wall time, from getrusage) and cpu-ms/req-N (that CPU time
// per answered request, clients included). The clients run in this
// process, on the same CPUs as the nodes, and other processes may share
// them: cores-N says how much of the machine the run got, cpu-ms/req-N
// what each answer cost whatever the machine's load.
func BenchmarkPublicReadsScale(b *testing.B) {
	nt := envInt("JIANNUO_BENCH_TOWNSHIPS", 4)
	ops := envInt("JIANNUO_BENCH_OPS", 2500)
	clients := envInt("JIANNUO_BENCH_CLIENTS", 16)
	window := time.Duration(envInt("JIANNUO_BENCH_WINDOW_MS", 1500)) * time.Millisecond
	rounds := envInt("JIANNUO_BENCH_ROUNDS", 3)
	b.StopTimer()
	c := newCounty(b, luanchuan)
	perSet := min(ops, 100)
	ingest(b, c, nt, (ops+perSet-1)/perSet, perSet)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	var nodes []*muniNode
	for k := range 4 {
		m := newMunicipal(b, "市信用平台-"+strconv.Itoa(k+1), c)
		servePublic(m, now)
		if k == 3 {
			pub := m.edit
			m.edit = func(cfg *municipal.Config) {
				pub(cfg)
				cfg.PublicConcurrency = runtime.GOMAXPROCS(0)
			}
		}
		m.start(c.serfAddr)
		nodes = append(nodes, m)
	}
	for _, m := range nodes {
		m.waitConverged(c)
	}
	all, err := nodes[0].n.Store().AllCommitments()
	if err != nil {
		b.Fatal(err)
	}
	var details []string
	for _, cm := range all {
		details = append(details, "/c/"+string(cm.Office)+"/"+cm.ID.String())
	}
	b.Logf("%d townships × %d ops: %d commitments on each node; %d clients, windows of %v, %d rounds",
		nt, ops, len(all), clients, window, rounds)

	tr := &http.Transport{MaxIdleConnsPerHost: clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: time.Minute}
	// measure has the clients read from the nodes for one window.
	measure := func(targets []*muniNode) (rps, p99, cores, cpuPerReq float64) {
		var served, refused atomic.Int64
		var detail atomic.Int64
		lats := make([][]time.Duration, clients)
		stop := time.Now().Add(window)
		var wg sync.WaitGroup
		cpu0 := processCPU()
		start := time.Now()
		for k := range clients {
			base := "http://" + targets[k%len(targets)].n.HTTPAddr()
			wg.Go(func() {
				for i := k; time.Now().Before(stop); i++ {
					path := "/"
					switch i % 3 {
					case 1:
						path = details[int(detail.Add(1))%len(details)]
					case 2:
						path = "/api/v1/commitments"
					}
					req, _ := http.NewRequest(http.MethodGet, base+path, nil)
					req.Header.Set("Accept-Encoding", "gzip")
					t0 := time.Now()
					resp, err := hc.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					lats[k] = append(lats[k], time.Since(t0))
					if resp.StatusCode == http.StatusOK {
						served.Add(1)
					} else {
						refused.Add(1)
					}
				}
			})
		}
		wg.Wait()
		wall := time.Since(start)
		cpu := processCPU() - cpu0
		var lat []time.Duration
		for _, l := range lats {
			lat = append(lat, l...)
		}
		slices.Sort(lat)
		if refused.Load() > 0 {
			b.Logf("  %d requests refused (busy) of %d", refused.Load(), refused.Load()+served.Load())
		}
		n := float64(served.Load() + refused.Load())
		return float64(served.Load()) / wall.Seconds(), float64(lat[len(lat)*99/100]) / float64(time.Millisecond),
			cpu.Seconds() / wall.Seconds(), float64(cpu) / float64(time.Millisecond) / n
	}
	configs := []struct {
		name    string
		targets []*muniNode
	}{
		{"1", nodes[:1]}, {"2", nodes[:2]}, {"3", nodes[:3]}, {"1-uncapped", nodes[3:]},
	}
	type figures struct{ rps, p99, cores, cpuPerReq []float64 }
	got := make([]figures, len(configs))
	measure(nodes) // warm every node's list index and the connections
	b.StartTimer()
	for r := range rounds {
		for k := range configs {
			if r%2 == 1 {
				k = len(configs) - 1 - k
			}
			rps, p99, cores, cpuPerReq := measure(configs[k].targets)
			got[k].rps = append(got[k].rps, rps)
			got[k].p99 = append(got[k].p99, p99)
			got[k].cores = append(got[k].cores, cores)
			got[k].cpuPerReq = append(got[k].cpuPerReq, cpuPerReq)
		}
	}
	b.StopTimer()
	base := median(got[0].rps)
	for k, cf := range configs {
		rps := median(got[k].rps)
		b.ReportMetric(rps, "rps-"+cf.name)
		b.ReportMetric(rps/base, "x-"+cf.name)
		b.ReportMetric(median(got[k].p99), "p99-ms-"+cf.name)
		b.ReportMetric(median(got[k].cores), "cores-"+cf.name)
		b.ReportMetric(median(got[k].cpuPerReq), "cpu-ms/req-"+cf.name)
		b.Logf("  %-10s nodes: %6.0f requests/s (%.2f× one node; rounds %v), p99 %.1f ms, %.2f cores, %.2f ms of CPU a request",
			cf.name, rps, rps/base, rounded(got[k].rps), median(got[k].p99), median(got[k].cores), median(got[k].cpuPerReq))
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func rounded(v []float64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x + 0.5)
	}
	return out
}
