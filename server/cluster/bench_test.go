package cluster_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"jiannuo/domain/office"
	"jiannuo/server/cluster"
)

// BenchmarkSerfConvergence measures, for a cluster of JIANNUO_BENCH_NODES
// members (default 15: fourteen counties and a municipal node) on loopback,
// how long from the first member's start until every member knows every
// other as alive (each joins the first), and how long after one member
// stops abruptly until every other has seen it fail. Timers are those of
// DefaultLocalConfig, or DefaultConfig's LAN timers with
// JIANNUO_BENCH_LAN=1. Run it with -benchtime=Nx: each iteration is a new
// cluster.
//
//	go test -run '^$' -bench SerfConvergence -benchtime 20x ./server/cluster
func BenchmarkSerfConvergence(b *testing.B) {
	n := 15
	if v, err := strconv.Atoi(os.Getenv("JIANNUO_BENCH_NODES")); err == nil && v > 1 {
		n = v
	}
	lan := os.Getenv("JIANNUO_BENCH_LAN") != ""
	var joins, fails []time.Duration
	for i := 0; i < b.N; i++ {
		j, f := convergeOnce(b, n, lan)
		joins, fails = append(joins, j), append(fails, f)
	}
	slices.Sort(joins)
	slices.Sort(fails)
	b.ReportMetric(float64(joins[len(joins)/2].Milliseconds()), "join-p50-ms")
	b.ReportMetric(float64(joins[len(joins)-1].Milliseconds()), "join-max-ms")
	b.ReportMetric(float64(fails[len(fails)/2].Milliseconds()), "fail-p50-ms")
	b.ReportMetric(float64(fails[len(fails)-1].Milliseconds()), "fail-max-ms")
	b.Logf("%d nodes, %d runs, LAN timers %v: join %v, failure seen %v", n, b.N, lan, joins, fails)
}

// convergeOnce starts n members and returns the two times.
func convergeOnce(b *testing.B, n int, lan bool) (join, fail time.Duration) {
	b.StopTimer()
	defer b.StartTimer()
	var mu sync.Mutex
	alive := make([]map[string]bool, n)
	failed := make([]map[string]bool, n)
	changed := make(chan struct{}, 1)
	members := make([]*cluster.Member, n)
	var start time.Time // the first member's start
	for i := range n {
		alive[i], failed[i] = map[string]bool{}, map[string]bool{}
		cfg := cluster.DefaultLocalConfig()
		if lan {
			cfg = cluster.DefaultConfig()
			cfg.BindAddr = "127.0.0.1:0"
		}
		cfg.Logger = quiet()
		cfg.NodeName = fmt.Sprintf("county-%d", i)
		cfg.Tags = countyTags(office.Code(strconv.Itoa(410301+i)), 0)
		if i == 0 {
			cfg.NodeName, cfg.Tags = "municipal", cluster.Tags{Role: cluster.RoleMunicipal}
		} else {
			cfg.Join = []string{members[0].Addr()}
		}
		cfg.OnEvent = func(e cluster.Event) {
			mu.Lock()
			for _, m := range e.Members {
				switch e.Kind {
				case cluster.EventJoin, cluster.EventUpdate:
					alive[i][m.Name] = true
				case cluster.EventFailed, cluster.EventLeave:
					alive[i][m.Name], failed[i][m.Name] = false, true
				}
			}
			mu.Unlock()
			select {
			case changed <- struct{}{}:
			default:
			}
		}
		m, err := cluster.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		members[i] = m
		if i == 0 {
			start = time.Now()
		}
		if err := m.Start(); err != nil {
			b.Fatal(err)
		}
	}
	defer func() {
		for _, m := range members {
			m.Shutdown()
		}
	}()
	wait := func(what string, ok func() bool) time.Duration {
		start := time.Now()
		deadline := time.After(5 * time.Minute)
		for {
			mu.Lock()
			done := ok()
			mu.Unlock()
			if done {
				return time.Since(start)
			}
			select {
			case <-changed:
			case <-deadline:
				b.Fatalf("%s: not within 5 minutes", what)
			}
		}
	}
	wait("convergence", func() bool {
		for i := range n {
			count := 0
			for _, a := range alive[i] {
				if a {
					count++
				}
			}
			if count < n {
				return false
			}
		}
		return true
	})
	join = time.Since(start)
	victim := members[n-1]
	victim.Shutdown()
	fail = wait("failure detection", func() bool {
		for i := range n - 1 {
			if !failed[i][victim.Name()] {
				return false
			}
		}
		return true
	})
	return join, fail
}
