package loadgen

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// Loadgen simulates devices against one county server. Its methods may be
// called from one goroutine at a time.
type Loadgen struct {
	cfg   Config
	http  *enrolClient
	epoch time.Time

	sent, recv atomic.Int64 // bytes on the wire, every connection

	mu        sync.Mutex
	county    office.Code
	countyKey ed25519.PublicKey

	devices  []*device
	prepared bool
	ran      bool
}

// device is one simulated device.
type device struct {
	i        int
	id       protocol.DeviceID
	key      ed25519.PrivateKey
	office   office.Code
	enrolled bool
	sets     []pushSet // what Run pushes
}

// Device describes a simulated device, for callers that check what the
// server stored.
type Device struct {
	ID     protocol.DeviceID
	Key    ed25519.PrivateKey
	Office office.Code
	// ChangeSets are the device's change sets as Run pushes them (after
	// Prepare); the caller must not modify them.
	ChangeSets [][]byte
}

// New checks cfg and returns a load generator. It does no work yet.
func New(cfg Config) (*Loadgen, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	lg := &Loadgen{cfg: cfg, epoch: time.Now(), county: cfg.County}
	lg.http = newEnrolClient(lg)
	return lg, nil
}

// Config returns the configuration with its defaults filled in.
func (lg *Loadgen) Config() Config { return lg.cfg }

// County returns the county the server serves and its public key, known
// after the first exchange with the server.
func (lg *Loadgen) County() (office.Code, ed25519.PublicKey) {
	lg.mu.Lock()
	defer lg.mu.Unlock()
	return lg.county, lg.countyKey
}

// Close releases idle HTTP connections. Links from Idle are closed by
// their IdleSet.
func (lg *Loadgen) Close() { lg.http.close() }

// Keys returns the keys of every device made so far, in order: pass them
// as Config.Keys to simulate the same devices from another Loadgen.
func (lg *Loadgen) Keys() []ed25519.PrivateKey {
	out := make([]ed25519.PrivateKey, len(lg.devices))
	for i, d := range lg.devices {
		out[i] = d.key
	}
	return out
}

// Devices describes the devices Run simulates.
func (lg *Loadgen) Devices() []Device {
	out := make([]Device, 0, lg.cfg.Devices)
	for _, d := range lg.devices[:min(len(lg.devices), lg.cfg.Devices)] {
		cs := make([][]byte, len(d.sets))
		for i := range d.sets {
			cs[i] = d.sets[i].body()
		}
		out = append(out, Device{ID: d.id, Key: d.key, Office: d.office, ChangeSets: cs})
	}
	return out
}

// probe learns the county from the server's challenge, if Config.County
// did not say.
func (lg *Loadgen) probe(ctx context.Context) error {
	if c, _ := lg.County(); c != "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, lg.cfg.HandshakeTimeout)
	defer cancel()
	ws, resp, err := lg.dialer(idleBuffer).DialContext(ctx, lg.cfg.syncURL(), nil)
	if err != nil {
		if resp != nil {
			err = fmt.Errorf("%s: %w", resp.Status, err)
		}
		return fail(codeDial, err)
	}
	defer ws.Close()
	stop := context.AfterFunc(ctx, func() { ws.Close() })
	defer stop()
	l := &link{lg: lg, ws: ws}
	ch, err := l.read()
	if err != nil {
		return err
	}
	if ch.Type != protocol.FrameChallenge {
		return fail(codeHandshake, fmt.Errorf("expected a challenge, got %s", ch.Type))
	}
	return lg.learnCounty(ch)
}

// ensureDevices makes sure there are n devices, taking Config.Keys first.
func (lg *Loadgen) ensureDevices(n int) error {
	county, _ := lg.County()
	for i := len(lg.devices); i < n; i++ {
		d := &device{i: i, office: townshipCode(county, i%lg.cfg.Offices)}
		if i < len(lg.cfg.Keys) {
			d.key = lg.cfg.Keys[i]
			d.enrolled = lg.cfg.Enrolled
		} else {
			_, priv, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				return err
			}
			d.key = priv
		}
		d.id = protocol.DeviceIDFromKey(d.key.Public().(ed25519.PublicKey))
		lg.devices = append(lg.devices, d)
	}
	return nil
}

// Prepare makes the devices Run simulates and builds and seals their
// change sets, so none of it is timed. Run calls it if needed.
func (lg *Loadgen) Prepare(ctx context.Context) error {
	if lg.prepared {
		return nil
	}
	if err := lg.probe(ctx); err != nil {
		return err
	}
	if err := lg.ensureDevices(lg.cfg.Devices); err != nil {
		return err
	}
	start := time.Now()
	devs := lg.devices[:lg.cfg.Devices]
	newID := protocol.NewOrderedEntityID
	if lg.cfg.RandomIDs {
		newID = protocol.NewEntityID
	}
	err := parallel(ctx, len(devs), runtime.GOMAXPROCS(0), func(i int) error {
		sets, err := buildChain(devs[i].key, devs[i].office, lg.cfg.ChangeSets, lg.cfg.Ops, lg.epoch,
			newTexts(lg.cfg.Text, deviceSeed(lg.cfg.Seed, devs[i].i)), newID)
		devs[i].sets = sets
		return err
	})
	if err != nil {
		return err
	}
	lg.prepared = true
	lg.cfg.Logger.Info("change sets built", "devices", len(devs), "change_sets", len(devs)*lg.cfg.ChangeSets,
		"ops", len(devs)*lg.cfg.ChangeSets*lg.cfg.Ops, "took", time.Since(start))
	return nil
}

// Enrol enrols the devices Run simulates and has them approved (through
// Config.Approve, else the admin API). Devices enrolled before are
// skipped. Run calls it if needed.
func (lg *Loadgen) Enrol(ctx context.Context) error {
	if err := lg.Prepare(ctx); err != nil {
		return err
	}
	return lg.enrol(ctx, lg.devices[:lg.cfg.Devices])
}

// EnrolDevices makes devices 1..n if there are fewer (without change
// sets: those are Prepare's) and enrols those not enrolled yet. Idle calls
// it; call it first to keep enrolment out of what you measure.
func (lg *Loadgen) EnrolDevices(ctx context.Context, n int) error {
	if err := lg.probe(ctx); err != nil {
		return err
	}
	if err := lg.ensureDevices(n); err != nil {
		return err
	}
	return lg.enrol(ctx, lg.devices[:n])
}

func (lg *Loadgen) enrol(ctx context.Context, devs []*device) error {
	var todo []*device
	for _, d := range devs {
		if !d.enrolled {
			todo = append(todo, d)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	if lg.cfg.Approve == nil && lg.cfg.Admin == "" {
		return errors.New("loadgen: enrolments need approving: give an admin credential (or, in process, an Approve callback)")
	}
	start := time.Now()
	var done atomic.Int64
	err := parallel(ctx, len(todo), lg.cfg.SetupConcurrency, func(i int) error {
		d := todo[i]
		if err := lg.http.enrol(ctx, d); err != nil {
			return fmt.Errorf("enrolling device %d (%s): %w", d.i+1, d.id, err)
		}
		d.enrolled = true
		if n := done.Add(1); n%500 == 0 {
			lg.cfg.Logger.Info("enrolling", "done", n, "of", len(todo))
		}
		return nil
	})
	if err != nil {
		return err
	}
	lg.cfg.Logger.Info("devices enrolled", "devices", len(todo), "took", time.Since(start))
	return nil
}

// connectAll connects the devices, SetupConcurrency at a time. On a
// failure it closes what it opened and returns the first error.
func (lg *Loadgen) connectAll(ctx context.Context, devs []*device, buf int) ([]*link, error) {
	links := make([]*link, len(devs))
	err := parallel(ctx, len(devs), lg.cfg.SetupConcurrency, func(i int) error {
		l, err := lg.connect(ctx, devs[i], buf)
		if err != nil {
			return fmt.Errorf("connecting device %d (%s): %w", devs[i].i+1, devs[i].id, err)
		}
		links[i] = l
		return nil
	})
	if err != nil {
		for _, l := range links {
			if l != nil {
				l.close()
			}
		}
		return nil, err
	}
	return links, nil
}

// Result is what Run measured.
type Result struct {
	Devices             int
	ChangeSetsPerDevice int
	OpsPerChangeSet     int

	// ChangeSets and Ops are what the server acknowledged with a receipt.
	ChangeSets int
	Ops        int
	// Refused counts change sets the server refused; Unacknowledged those
	// neither receipted nor refused (the session broke).
	Refused        int
	Unacknowledged int

	// Connect is how long connecting and authenticating every device
	// took, before the timed part.
	Connect time.Duration
	// Wall is the time from the first push to the last receipt.
	Wall                time.Duration
	OpsPerSecond        float64
	ChangeSetsPerSecond float64

	// BytesSent and BytesReceived crossed the TCP connections during Wall:
	// TLS records with websocket frames, compressed if negotiated.
	BytesSent, BytesReceived int64
	SentPerOp, ReceivedPerOp float64
	// PayloadPerOp is the change sets' own encoding per operation, before
	// framing, compression and TLS.
	PayloadPerOp float64

	// ReceiptsVerified is how many receipts had their county signature
	// checked (every one was matched to its change set).
	ReceiptsVerified int
	// LatencyP50, LatencyP99 and LatencyMax are from pushing a change set
	// to its receipt.
	LatencyP50, LatencyP99, LatencyMax time.Duration
	// Deliveries counts feed deliveries received (other devices' change
	// sets of the same township).
	Deliveries int
	// Errors counts refusals and failures by code: the protocol's refusal
	// codes (sequence_gap, bad_signature, …) and the load generator's own
	// (dial, handshake, connection, timeout, bad_receipt, cancelled).
	Errors map[string]int
}

// ErrorSummary lists Errors as "code=n" in code order, or "none".
func (r *Result) ErrorSummary() string {
	if len(r.Errors) == 0 {
		return "none"
	}
	var parts []string
	for _, c := range slices.Sorted(maps.Keys(r.Errors)) {
		parts = append(parts, fmt.Sprintf("%s=%d", c, r.Errors[c]))
	}
	return strings.Join(parts, " ")
}

// Run connects every device, pushes every change set and waits for every
// receipt. The error is nil only if every change set was acknowledged;
// the Result says what happened either way. A Loadgen runs once.
func (lg *Loadgen) Run(ctx context.Context) (Result, error) {
	cfg := lg.cfg
	res := Result{Devices: cfg.Devices, ChangeSetsPerDevice: cfg.ChangeSets, OpsPerChangeSet: cfg.Ops, Errors: map[string]int{}}
	if lg.ran {
		return res, errors.New("loadgen: Run pushes a device's change sets once; make a new Loadgen")
	}
	lg.ran = true
	if err := lg.Enrol(ctx); err != nil {
		return res, err
	}
	devs := lg.devices[:cfg.Devices]

	start := time.Now()
	links, err := lg.connectAll(ctx, devs, pushBuffer)
	if err != nil {
		return res, err
	}
	defer func() {
		for _, l := range links {
			l.close()
		}
	}()
	res.Connect = time.Since(start)
	for _, l := range links {
		if l.welcome.Head.Seq != 0 {
			return res, fail(codeHandshake, fmt.Errorf("device %s already has %d change sets on the server", l.dev.id, l.welcome.Head.Seq))
		}
		l.startPush()
	}
	lg.cfg.Logger.Info("devices connected", "devices", len(links), "took", res.Connect)

	if cfg.BeforePush != nil {
		cfg.BeforePush()
	}
	sent0, recv0 := lg.sent.Load(), lg.recv.Load()
	start = time.Now()
	sem := make(chan struct{}, cfg.Concurrency)
	var wg sync.WaitGroup
	for _, l := range links {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				l.end(fail(codeCancelled, ctx.Err()))
				return
			}
			defer func() { <-sem }()
			l.push(ctx)
		}()
	}
	wg.Wait()
	res.Wall = time.Since(start)
	res.BytesSent, res.BytesReceived = lg.sent.Load()-sent0, lg.recv.Load()-recv0
	if cfg.AfterPush != nil {
		cfg.AfterPush()
	}

	var lat []time.Duration
	payload := 0
	for _, l := range links {
		l.mu.Lock()
		st := &l.st
		res.ChangeSets += st.acked
		res.Ops += st.ackedOps
		res.Refused += st.refused
		res.ReceiptsVerified += st.verified
		res.Deliveries += st.deliveries
		for c, n := range st.errors {
			res.Errors[c] += n
		}
		if unacked := len(st.sets) - st.nresolved; unacked > 0 {
			res.Unacknowledged += unacked
			l.errMu.Lock()
			res.Errors[codeOf(l.err)]++
			l.errMu.Unlock()
		}
		lat = append(lat, st.latencies...)
		for i := range st.sets {
			payload += len(st.sets[i].body())
		}
		l.mu.Unlock()
	}
	if s := res.Wall.Seconds(); s > 0 {
		res.OpsPerSecond = float64(res.Ops) / s
		res.ChangeSetsPerSecond = float64(res.ChangeSets) / s
	}
	if res.Ops > 0 {
		res.SentPerOp = float64(res.BytesSent) / float64(res.Ops)
		res.ReceivedPerOp = float64(res.BytesReceived) / float64(res.Ops)
	}
	if total := cfg.Devices * cfg.ChangeSets * cfg.Ops; total > 0 {
		res.PayloadPerOp = float64(payload) / float64(total)
	}
	if len(lat) > 0 {
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		res.LatencyP50 = lat[len(lat)/2]
		res.LatencyP99 = lat[min(len(lat)-1, len(lat)*99/100)]
		res.LatencyMax = lat[len(lat)-1]
	}
	lg.cfg.Logger.Info("run finished", "ops", res.Ops, "wall", res.Wall, "ops_per_s", int(res.OpsPerSecond), "errors", res.ErrorSummary())
	if want := cfg.Devices * cfg.ChangeSets; res.ChangeSets != want {
		return res, fmt.Errorf("loadgen: %d of %d change sets acknowledged; errors: %s", res.ChangeSets, want, res.ErrorSummary())
	}
	return res, nil
}

// pushState is a link's progress through its change sets. The pusher
// reads sets and window; everything else is under the link's mutex.
type pushState struct {
	sets     []pushSet
	sentAt   []atomic.Int64 // since the Loadgen's epoch
	resolved []bool
	next     int // lowest index not resolved
	window   chan struct{}

	nresolved  int
	acked      int
	ackedOps   int
	refused    int
	verified   int
	deliveries int
	latencies  []time.Duration
	errors     map[string]int
}

func (l *link) startPush() {
	sets := l.dev.sets
	l.mu.Lock()
	l.st = pushState{sets: sets, sentAt: make([]atomic.Int64, len(sets)), resolved: make([]bool, len(sets)),
		window: make(chan struct{}, l.lg.cfg.Window), latencies: make([]time.Duration, 0, len(sets)), errors: map[string]int{}}
	l.mu.Unlock()
	if len(sets) == 0 {
		l.end(nil)
	}
}

// push sends the change sets in order, at most Window without a receipt,
// and waits until each has a receipt or refusal or the session ends.
func (l *link) push(ctx context.Context) {
	l.mu.Lock()
	st := &l.st
	sets, window := st.sets, st.window
	l.mu.Unlock()
	for i := range sets {
		select {
		case window <- struct{}{}:
		case <-l.done:
			return
		case <-ctx.Done():
			l.end(fail(codeCancelled, ctx.Err()))
			return
		}
		st.sentAt[i].Store(int64(time.Since(l.lg.epoch)))
		if err := l.write(sets[i].frame); err != nil {
			l.end(fail(codeConnection, err))
			return
		}
	}
	select {
	case <-l.done:
	case <-ctx.Done():
		l.end(fail(codeCancelled, ctx.Err()))
	}
}

// receipt matches a receipt to the change set it names: the oldest
// unresolved one, since the server answers a session's pushes in order.
// The first receipt, every VerifyEvery-th and the last are verified with
// the county key; the others are checked to carry the change set's hash.
func (l *link) receipt(body []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := &l.st
	if st.sets == nil {
		return
	}
	_, key := l.lg.County()
	i := st.next
	if i < len(st.sets) && bytes.Contains(body, st.sets[i].hash[:]) {
		if st.acked%l.lg.cfg.VerifyEvery == 0 || i == len(st.sets)-1 {
			st.verified++
			if err := verifyReceipt(body, key, l.dev.id, &st.sets[i]); err != nil {
				st.errors[codeBadReceipt]++
				l.resolve(i, false)
				return
			}
		}
		l.resolve(i, true)
		return
	}
	// Not the oldest: open it to see which it names.
	st.verified++
	rc, err := protocol.OpenReceipt(body, key)
	if err != nil || rc.Device != l.dev.id || rc.Seq == 0 || rc.Seq > uint64(len(st.sets)) ||
		st.resolved[rc.Seq-1] || st.sets[rc.Seq-1].hash != rc.Hash {
		st.errors[codeBadReceipt]++
		return
	}
	l.resolve(int(rc.Seq-1), true)
}

func (l *link) refused(f *protocol.Frame) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := &l.st
	if st.errors == nil {
		return
	}
	st.errors[string(f.Code)]++
	if f.Device == l.dev.id && f.Seq >= 1 && f.Seq <= uint64(len(st.sets)) && !st.resolved[f.Seq-1] {
		st.refused++
		l.resolve(int(f.Seq-1), false)
	}
}

func (l *link) delivered() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.st.deliveries++
	return l.st.deliveries
}

// resolve marks change set i answered; the caller holds l.mu.
func (l *link) resolve(i int, acked bool) {
	st := &l.st
	st.resolved[i] = true
	st.nresolved++
	if acked {
		st.acked++
		st.ackedOps += st.sets[i].ops
		st.latencies = append(st.latencies, time.Since(l.lg.epoch)-time.Duration(st.sentAt[i].Load()))
	}
	for st.next < len(st.sets) && st.resolved[st.next] {
		st.next++
	}
	select {
	case <-st.window:
	default:
	}
	if st.nresolved == len(st.sets) {
		l.end(nil)
	}
}

// parallel runs fn(0..n-1), at most conc at a time, and returns the
// first error; after one, the calls not yet started are skipped.
func parallel(ctx context.Context, n, conc int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  atomic.Int64
	)
	for w := 0; w < min(conc, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				mu.Lock()
				stop := first != nil
				mu.Unlock()
				if stop {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return first
}
