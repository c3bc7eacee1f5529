package municipal_test

import (
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"jiannuo/domain/office"
	"jiannuo/server/municipal"
	"jiannuo/server/public"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkMunicipalConverge measures how long a municipal node takes to
// pull, verify and apply everything of N counties × T townships × O
// operations, against the sum of the times the county servers took to
// ingest the same change sets in the same run:
//
//	JIANNUO_BENCH_COUNTIES (default 14), JIANNUO_BENCH_TOWNSHIPS (default 2),
//	JIANNUO_BENCH_OPS (operations per township, default 500; 100 per change set)
//
//	go test -run '^$' -bench MunicipalConverge -benchtime 1x -timeout 30m ./server/municipal
//
// Each county ingests its townships' change sets from the load generator
// (real TLS websocket sessions, fsync'd group commits), one county at a
// time, so each county's ingest time is its own; the sum is what the
// counties spent. Then a municipal node starts with its links to the
// counties cut, discovers all of them through the cluster, and is let
// pull: the convergence time runs from then until it has applied every
// county's whole feed (fsync'd too). Discovery is reported apart, since
// it is serf's timing, not the node's.
func BenchmarkMunicipalConverge(b *testing.B) {
	nc := envInt("JIANNUO_BENCH_COUNTIES", 14)
	nt := envInt("JIANNUO_BENCH_TOWNSHIPS", 2)
	ops := envInt("JIANNUO_BENCH_OPS", 500)
	perSet := min(ops, 100)
	sets := (ops + perSet - 1) / perSet
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		var counties []*countyNode
		for k := range nc {
			var join []string
			if k > 0 {
				join = []string{counties[0].serfAddr}
			}
			counties = append(counties, newCounty(b, office.Code(strconv.Itoa(410301+k)), join...))
		}
		// The counties ingest, one at a time.
		var ingestTime time.Duration
		var totalOps, totalSets int
		for _, c := range counties {
			res := ingest(b, c, nt, sets, perSet)
			ingestTime += res.Wall
			totalOps += res.Ops
			totalSets += res.ChangeSets
		}

		// The municipal node: discovery with the links cut, then the pull.
		m := newMunicipal(b, "市信用平台", counties...)
		for _, c := range counties {
			m.gate.set(c.addr, true)
		}
		started := time.Now()
		m.start(counties[0].serfAddr)
		heads := map[office.Code]uint64{}
		for _, c := range counties {
			heads[c.code] = c.head()
		}
		m.waitFor("discovery", func(s municipal.Status) bool {
			for code, h := range heads {
				if cs := countyOf(s, code); cs.Member != "alive" || cs.Head != h {
					return false
				}
			}
			return true
		})
		discovery := time.Since(started)
		for _, c := range counties {
			m.gate.set(c.addr, false)
		}
		b.StartTimer()
		t0 := time.Now()
		m.n.Refresh()
		m.waitConverged(counties...)
		converge := time.Since(t0)
		b.StopTimer()

		if h, _ := m.n.Store().FeedHead(); h != uint64(totalSets) {
			b.Fatalf("municipal node applied %d change sets of %d", h, totalSets)
		}
		b.ReportMetric(converge.Seconds(), "converge-s")
		b.ReportMetric(ingestTime.Seconds(), "county-ingest-sum-s")
		b.ReportMetric(converge.Seconds()/ingestTime.Seconds(), "ratio")
		b.ReportMetric(float64(totalOps)/converge.Seconds(), "municipal-ops/s")
		b.ReportMetric(float64(totalOps)/ingestTime.Seconds(), "county-ops/s")
		b.ReportMetric(discovery.Seconds(), "discovery-s")
		b.Logf("%d counties × %d townships × %d ops = %d ops in %d change sets: counties ingested in %v (sum), "+
			"municipal node discovered them in %v and converged in %v (%.2f× the sum)", nc, nt, ops, totalOps, totalSets,
			ingestTime.Round(time.Millisecond), discovery.Round(time.Millisecond), converge.Round(time.Millisecond), converge.Seconds()/ingestTime.Seconds())
		m.stop()
		for _, c := range counties {
			c.stop()
		}
	}
}

// BenchmarkPullUnderPublicLoad shows how public traffic affects the node's
// pulls from the counties:
//
//	go test -run '^$' -bench PullUnderPublicLoad -benchtime 1x -timeout 30m ./server/municipal
//
// One county ingests T townships × O operations (JIANNUO_BENCH_TOWNSHIPS,
// default 4; JIANNUO_BENCH_OPS, default 25000); then a fresh municipal
// node pulls all of it while 16 clients ask for the list, the JSON feed
// and a filtered list during every other 200 ms window. The pull's rate
// (change sets applied a second) in the windows with traffic over its
// rate in those without is what public traffic costs the pull;
// interleaving the windows within one pull cancels the machine's other
// load, which moves whole runs by a factor of two. Three nodes pull, one
// after the other: "paced", the clients asking at JIANNUO_BENCH_RATE
// requests a second in all (default 100, 360,000 an hour: a busy city
// site) against a node with the defaults; "flood-unbounded", as fast as
// they are answered, against a node that makes every public answer at
// once and rebuilds the list's index after every change (as before
// PublicConcurrency and public.NodeMaxStale); "flood-bounded", the same
// flood against a node with the defaults. The clients run in this
// process, on the same CPUs: under a flood they take CPU from the pull
// whatever the node does, so the flood rows bound what the node's own
// choices change.
func BenchmarkPullUnderPublicLoad(b *testing.B) {
	nt := envInt("JIANNUO_BENCH_TOWNSHIPS", 4)
	ops := envInt("JIANNUO_BENCH_OPS", 25000)
	rate := envInt("JIANNUO_BENCH_RATE", 100)
	const (
		clients = 16
		window  = 200 * time.Millisecond
	)
	perSet := min(ops, 100)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c := newCounty(b, "410324")
		ingest(b, c, nt, (ops+perSet-1)/perSet, perSet)

		// pull has a fresh node pull the county's whole feed, the clients
		// asking at perSecond requests a second (<0: as fast as they are
		// answered) in every other window. It returns the pull's rate with
		// and without traffic, and the public answers.
		pull := func(name string, perSecond int, edit func(*municipal.Config)) (on, off float64, served, refused int64) {
			m := newMunicipal(b, "市信用平台-"+name, c)
			m.edit = func(cfg *municipal.Config) {
				cfg.ApplyBatch = 4 // the applied count moves in small steps: fine windows
				edit(cfg)
			}
			m.gate.set(c.addr, true)
			m.start(c.serfAddr)
			head := c.head()
			m.waitFor("discovery", func(s municipal.Status) bool {
				cs := countyOf(s, c.code)
				return cs.Member == "alive" && cs.Head == head
			})
			var loadOn atomic.Bool
			var nServed, nRefused atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var tick <-chan time.Time
			if perSecond > 0 {
				t := time.NewTicker(time.Second / time.Duration(perSecond))
				defer t.Stop()
				tick = t.C
			}
			tr := &http.Transport{MaxIdleConnsPerHost: clients}
			defer tr.CloseIdleConnections()
			hc := &http.Client{Transport: tr, Timeout: time.Minute}
			for k := range clients {
				path := []string{"/", "/api/v1/commitments", "/?status=published"}[k%3]
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						if !loadOn.Load() {
							time.Sleep(time.Millisecond) // a load generator idling, not a test waiting
							continue
						}
						if tick != nil {
							select {
							case <-stop:
								return
							case <-tick:
							}
						}
						resp, err := hc.Get("http://" + m.n.HTTPAddr() + path)
						if err != nil {
							continue
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode == http.StatusOK {
							nServed.Add(1)
						} else {
							nRefused.Add(1)
						}
					}
				})
			}
			applied := func() uint64 { return countyOf(m.n.Status(), c.code).Applied }
			var sets, secs [2]float64 // [off, on]
			b.StartTimer()
			m.gate.set(c.addr, false)
			m.n.Refresh()
			last, phase := applied(), 0
			for t := time.NewTicker(window); ; {
				t0 := time.Now()
				<-t.C
				now := applied()
				sets[phase] += float64(now - last)
				secs[phase] += time.Since(t0).Seconds()
				if now == head {
					t.Stop()
					break
				}
				last, phase = now, 1-phase
				loadOn.Store(phase == 1)
			}
			b.StopTimer()
			close(stop)
			wg.Wait()
			m.stop()
			return sets[1] / secs[1], sets[0] / secs[0], nServed.Load(), nRefused.Load()
		}
		withPublic := func(maxStale time.Duration, concurrency int) func(*municipal.Config) {
			return func(cfg *municipal.Config) {
				if concurrency > 0 {
					cfg.PublicConcurrency = concurrency
				}
				cfg.Public = func(n *municipal.Node) http.Handler {
					return public.New(public.Config{Store: n.Store(), Logger: quiet(), MaxStale: maxStale})
				}
			}
		}
		b.Logf("%d townships × %d ops (%d change sets), windows of %v", nt, ops, c.head(), window)
		for _, kind := range []struct {
			name string
			rate int
			edit func(*municipal.Config)
		}{
			{"paced", rate, withPublic(public.NodeMaxStale, 0)},
			{"flood-unbounded", -1, withPublic(0, 1<<20)},
			{"flood-bounded", -1, withPublic(public.NodeMaxStale, 0)},
		} {
			on, off, served, refused := pull(kind.name, kind.rate, kind.edit)
			b.ReportMetric(on/off, kind.name+"-ratio")
			b.Logf("  %-16s pull %.0f change sets/s with traffic, %.0f without (%.2f); %d public answers, %d refused",
				kind.name, on, off, on/off, served, refused)
		}
		c.stop()
	}
}
