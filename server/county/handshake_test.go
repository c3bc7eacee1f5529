package county_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"jiannuo/server/county"
	"jiannuo/server/loadgen"
	"jiannuo/sync/protocol"
)

// An idle device's handshake must not wait behind the ingest: the county
// answers the hello without the single writer (issue 18).

// handshakeTiming is one device handshake as the device sees it.
type handshakeTiming struct {
	hello time.Duration // from sending the hello to the welcome
	total time.Duration // from dialling (TCP, TLS, upgrade, challenge) to the welcome
}

// timeHandshake opens a session as the device whose key is key, the way
// the sync engine does (pinned TLS, compression, a hello with its status),
// reads up to the welcome, closes, and returns how long it took.
func timeHandshake(ctx context.Context, h *harness, key ed25519.PrivateKey) (handshakeTiming, error) {
	d := websocket.Dialer{TLSClientConfig: protocol.PinnedTLSConfig(h.base.Fingerprint), EnableCompression: true,
		HandshakeTimeout: time.Minute}
	t0 := time.Now()
	c, _, err := d.DialContext(ctx, h.base.SyncURL(), nil)
	if err != nil {
		return handshakeTiming{}, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	read := func(want protocol.FrameType) (*protocol.Frame, error) {
		_, data, err := c.ReadMessage()
		if err != nil {
			return nil, err
		}
		f, err := protocol.DecodeFrame(data)
		if err == nil && f.Type != want {
			err = fmt.Errorf("expected %s, got %s (%s %s)", want, f.Type, f.Code, f.Message)
		}
		return f, err
	}
	ch, err := read(protocol.FrameChallenge)
	if err != nil {
		return handshakeTiming{}, err
	}
	dev := protocol.DeviceIDFromKey(key.Public().(ed25519.PublicKey))
	hello := protocol.AppendFrame(nil, &protocol.Frame{Type: protocol.FrameHello, Version: protocol.ProtocolVersion, Device: dev,
		Sig: protocol.SignChallenge(key, ch.Nonce, h.base.Fingerprint), Status: &protocol.HelloStatus{Software: "bench", Seq: 0}})
	t1 := time.Now()
	if err := c.WriteMessage(websocket.BinaryMessage, hello); err != nil {
		return handshakeTiming{}, err
	}
	if _, err := read(protocol.FrameWelcome); err != nil {
		return handshakeTiming{}, err
	}
	t2 := time.Now()
	return handshakeTiming{hello: t2.Sub(t1), total: t2.Sub(t0)}, nil
}

// BenchmarkHandshakeUnderIngest: while simulated devices (package loadgen)
// push change sets as fast as the county takes them (fsync on), four idle
// devices each open a session every handshakeEvery (or as soon as the
// previous one is through, if it took longer), closed at its welcome. It
// reports the handshake's p50 and p99 — from the hello to the welcome, and
// from dialling to the welcome — and, as the baseline of the same run, one
// group commit: the median time between the starts of two successive
// commits while the ingest runs. docs/benchmarks-sync.md quotes the ratios.
//
//	go test -run '^$' -bench HandshakeUnderIngest -benchtime 1x -count 1 ./server/county/
func BenchmarkHandshakeUnderIngest(b *testing.B) {
	const handshakeEvery = 200 * time.Millisecond
	const devices, changeSets, idle = 16, 80, 4
	ctx := context.Background()
	var hs []handshakeTiming
	var commits []time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		h := newHarness(b)
		idleLG, err := loadgen.New(loadgen.Config{URL: h.base.BaseURL, Fingerprint: h.base.Fingerprint, County: countyCode,
			Approve: h.approver()})
		if err != nil {
			b.Fatal(err)
		}
		if err := idleLG.EnrolDevices(ctx, idle); err != nil {
			b.Fatal(err)
		}
		keys := idleLG.Keys()
		idleLG.Close()

		var (
			mu      sync.Mutex
			last    time.Time
			running atomic.Bool
			started = make(chan struct{})
		)
		county.SetCommitHook(h.srv, func() {
			now := time.Now()
			mu.Lock()
			if running.Load() && !last.IsZero() {
				commits = append(commits, now.Sub(last))
			}
			last = now
			mu.Unlock()
		})
		lg, err := loadgen.New(loadgen.Config{URL: h.base.BaseURL, Fingerprint: h.base.Fingerprint, County: countyCode,
			Devices: devices, ChangeSets: changeSets, Ops: benchOps, Approve: h.approver(),
			BeforePush: func() { running.Store(true); close(started) },
			AfterPush:  func() { running.Store(false) }})
		if err != nil {
			b.Fatal(err)
		}
		if err := lg.Enrol(ctx); err != nil {
			b.Fatal(err)
		}
		ran := make(chan error, 1)
		go func() {
			res, err := lg.Run(ctx)
			if err != nil {
				err = fmt.Errorf("%w (%+v)", err, res)
			}
			ran <- err
		}()
		<-started
		b.StartTimer()
		var wg sync.WaitGroup
		errs := make(chan error, len(keys))
		for _, key := range keys {
			wg.Go(func() {
				// Paced, so that the handshakes load the server alike
				// whether they wait for the writer or not.
				tick := time.NewTicker(handshakeEvery)
				defer tick.Stop()
				for ; running.Load(); <-tick.C {
					t, err := timeHandshake(ctx, h, key)
					if err != nil {
						errs <- err
						return
					}
					if running.Load() { // only those wholly under the load
						mu.Lock()
						hs = append(hs, t)
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		b.StopTimer()
		if err := <-ran; err != nil {
			b.Fatal(err)
		}
		close(errs)
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
		county.SetCommitHook(h.srv, nil)
		lg.Close()
		h.stop()
	}
	if len(hs) == 0 || len(commits) == 0 {
		b.Fatalf("%d handshakes and %d commits under load: nothing to report", len(hs), len(commits))
	}
	pct := func(ds []time.Duration, p int) time.Duration {
		ds = slices.Clone(ds)
		slices.Sort(ds)
		return ds[min(len(ds)-1, len(ds)*p/100)]
	}
	var hello, total []time.Duration
	for _, t := range hs {
		hello, total = append(hello, t.hello), append(total, t.total)
	}
	commit := pct(commits, 50)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(float64(len(hs)), "handshakes")
	b.ReportMetric(ms(pct(hello, 50)), "hello-p50-ms")
	b.ReportMetric(ms(pct(hello, 99)), "hello-p99-ms")
	b.ReportMetric(ms(pct(total, 50)), "total-p50-ms")
	b.ReportMetric(ms(pct(total, 99)), "total-p99-ms")
	b.ReportMetric(ms(commit), "commit-p50-ms")
	b.ReportMetric(float64(pct(hello, 50))/float64(commit), "hello-p50-x-commit")
	b.ReportMetric(float64(pct(hello, 99))/float64(commit), "hello-p99-x-commit")
	b.ReportMetric(float64(pct(total, 50))/float64(commit), "total-p50-x-commit")
	b.ReportMetric(float64(pct(total, 99))/float64(commit), "total-p99-x-commit")
	b.Logf("%d handshakes under ingest of %d devices × %d change sets × %d ops; %d commits, p50 %v apart",
		len(hs), devices, changeSets, benchOps, len(commits), commit)
}
