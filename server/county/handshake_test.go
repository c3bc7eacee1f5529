package county_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"jiannuo/domain"
	"jiannuo/server/county"
	"jiannuo/server/loadgen"
	"jiannuo/sync/protocol"
)

// An idle device's handshake must not wait behind the ingest: the county
// answers the hello without the single writer (issue 18).

// TestHandshakeWhileWriterBusy: while the load generator keeps the county
// ingesting, the single writer is held inside a group commit. An idle
// device's whole sync — challenge, hello, welcome, catching up with the
// feed — completes before that commit does, and while it is held the
// admin's device list already shows the device online with what its hello
// reported. Then the commit is let go, every change set of the load is
// receipted, and what the list showed is on disk after a restart.
func TestHandshakeWhileWriterBusy(t *testing.T) {
	h := newHarness(t)
	idle := h.device(townA, domain.RoleLeader)
	id := idle.se.Device().ID
	p := h.pausableEngine(idle, "0.9.0-idle")

	var (
		mu      sync.Mutex
		events  []string
		commits atomic.Int64
		held    = make(chan struct{})
		release = make(chan struct{})
	)
	event := func(e string) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}
	county.SetCommitHook(h.srv, func() {
		if commits.Add(1) == 3 { // well into the load
			close(held)
			<-release
			event("commit released")
		}
	})
	lg, err := loadgen.New(loadgen.Config{URL: h.base.BaseURL, Fingerprint: h.base.Fingerprint, County: countyCode,
		Devices: 8, ChangeSets: 30, Ops: 20, Offices: 4, Approve: h.approver(), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	ran := make(chan error, 1)
	go func() {
		res, err := lg.Run(context.Background())
		if err != nil {
			err = fmt.Errorf("%w (%+v)", err, res)
		}
		ran <- err
	}()
	let := sync.OnceFunc(func() { close(release) })
	defer let()
	select {
	case <-held:
	case err := <-ran:
		t.Fatalf("the load ended before its third group commit: %v", err)
	}

	// The writer is inside a group commit, with more pushes queued behind
	// it. The idle device syncs.
	p.armed.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	synced := make(chan error, 1)
	go func() { synced <- p.eng.SyncOnce(ctx) }()
	select {
	case <-p.welcomed:
		event("welcome")
	case err := <-synced:
		let()
		t.Fatalf("the idle device's sync ended without a welcome while the writer was held: %v", err)
	}
	r := h.adminDevice(t, id)
	if !r.Online || r.LastSeen.IsZero() || r.Reported.IsZero() || r.Version != "0.9.0-idle" {
		t.Fatalf("while the writer is held, the device list shows %+v", r)
	}
	p.resume <- struct{}{}
	if err := <-synced; err != nil {
		let()
		t.Fatalf("the idle device's sync: %v", err)
	}
	event("idle device synced")
	let()
	if err := <-ran; err != nil {
		t.Fatalf("the load: %v", err)
	}
	county.SetCommitHook(h.srv, nil)
	mu.Lock()
	got := strings.Join(events, " → ")
	mu.Unlock()
	if want := "welcome → idle device synced → commit released"; got != want {
		t.Fatalf("order of events: %s; want %s", got, want)
	}
	// What the list showed from memory reaches the disk: a restarted
	// server shows it too.
	h.stop()
	h.start("127.0.0.1:0")
	if after := h.adminDevice(t, id); after.LastSeen.IsZero() || !after.Reported.Equal(r.Reported) || after.Version != r.Version {
		t.Fatalf("after a restart, the device list shows %+v; before it, %+v", after, r)
	}
}

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
