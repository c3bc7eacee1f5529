package municipal_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"jiannuo/domain/office"
	"jiannuo/server/loadgen"
	"jiannuo/server/municipal"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
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
		var ingest time.Duration
		var totalOps, totalSets int
		ctx := context.Background()
		for _, c := range counties {
			srv := c.srv
			lg, err := loadgen.New(loadgen.Config{URL: "https://" + c.addr, Fingerprint: c.fp, County: c.code,
				Devices: nt, Offices: nt, ChangeSets: sets, Ops: perSet, Logger: quiet(),
				Approve: func(_ context.Context, d protocol.DeviceID) error {
					_, err := srv.Approve(d, countyapi.ApproveRequest{}, "bench")
					return err
				}})
			if err != nil {
				b.Fatal(err)
			}
			if err := lg.Prepare(ctx); err != nil {
				b.Fatal(err)
			}
			res, err := lg.Run(ctx)
			lg.Close()
			if err != nil {
				b.Fatalf("county %s ingest: %v (%s)", c.code, err, res.ErrorSummary())
			}
			ingest += res.Wall
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
		b.ReportMetric(ingest.Seconds(), "county-ingest-sum-s")
		b.ReportMetric(converge.Seconds()/ingest.Seconds(), "ratio")
		b.ReportMetric(float64(totalOps)/converge.Seconds(), "municipal-ops/s")
		b.ReportMetric(float64(totalOps)/ingest.Seconds(), "county-ops/s")
		b.ReportMetric(discovery.Seconds(), "discovery-s")
		b.Logf("%d counties × %d townships × %d ops = %d ops in %d change sets: counties ingested in %v (sum), "+
			"municipal node discovered them in %v and converged in %v (%.2f× the sum)", nc, nt, ops, totalOps, totalSets,
			ingest.Round(time.Millisecond), discovery.Round(time.Millisecond), converge.Round(time.Millisecond), converge.Seconds()/ingest.Seconds())
		m.stop()
		for _, c := range counties {
			c.stop()
		}
	}
}
