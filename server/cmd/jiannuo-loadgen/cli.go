package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"jiannuo/server/county"
	"jiannuo/server/loadgen"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

const (
	envPassword = "JIANNUO_ADMIN_PASSWORD"
	envAdmin    = "JIANNUO_ADMIN"
	defaultURL  = "https://127.0.0.1:8443"
)

type options struct {
	url, fingerprint, dir, admin string
	keys, text                   string
	seed                         uint64
	devices, changesets, ops     int
	offices, concurrency, window int
	verifyEvery, idle            int
	hold, timeout                time.Duration
	noCompression, asJSON, vb    bool
}

// run runs the command line args and returns the exit status. ctx, when
// not nil, replaces SIGINT/SIGTERM for stopping (tests).
func run(args []string, getenv func(string) string, stdout, stderr io.Writer, ctx context.Context) int {
	var o options
	fs := flag.NewFlagSet("jiannuo-loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", defaultURL, "the county server's address (http:// for a -insecure-loopback server)")
	fs.StringVar(&o.fingerprint, "fingerprint", "", "the server's TLS fingerprint (jiannuo-server fingerprint); or -dir")
	fs.StringVar(&o.dir, "dir", "", "a county data directory whose tls.crt gives the fingerprint")
	fs.StringVar(&o.admin, "admin", "", "county admin who approves the devices (default $"+envAdmin+"); password from $"+envPassword)
	fs.IntVar(&o.devices, "devices", loadgen.DefaultDevices, "devices pushing change sets")
	fs.IntVar(&o.changesets, "changesets", loadgen.DefaultChangeSets, "change sets per device")
	fs.IntVar(&o.ops, "ops", loadgen.DefaultOps, "operations per change set")
	fs.IntVar(&o.offices, "offices", 0, "townships the devices are spread over (default: one per device, no feed fan-out)")
	fs.IntVar(&o.concurrency, "concurrency", 0, "devices pushing at the same time (default: all)")
	fs.IntVar(&o.window, "window", loadgen.DefaultWindow, "change sets a device may have pushed without a receipt")
	fs.IntVar(&o.verifyEvery, "verify-every", loadgen.DefaultVerifyEvery, "check the county signature on every n-th receipt of a device (and its first and last)")
	fs.BoolVar(&o.noCompression, "no-compression", false, "do not negotiate permessage-deflate")
	fs.StringVar(&o.text, "text", loadgen.TextHanzi.String(), "what the devices write: hanzi (generated Chinese text, compresses as real text does) or clauses (the few dozen fixed clauses of earlier figures)")
	fs.Uint64Var(&o.seed, "seed", 0, "seed of the generated texts")
	fs.IntVar(&o.idle, "idle", 0, "instead of pushing, connect this many devices idle and hold them")
	fs.DurationVar(&o.hold, "hold", 0, "with -idle: disconnect after this long (default: at Ctrl-C)")
	fs.StringVar(&o.keys, "keys", "", "with -idle: device keys file; if it exists its devices are reused (enrolled already), else the new devices' keys are written to it")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "give up after this long")
	fs.BoolVar(&o.asJSON, "json", false, "print the result as JSON")
	fs.BoolVar(&o.vb, "v", false, "log progress to stderr")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: jiannuo-loadgen -url URL (-dir DIR | -fingerprint FP) -admin NAME [-devices N -changesets K -ops M [-text hanzi|clauses] | -idle N] [-json]\n\n"+
			"Simulates township devices against a county server: pushes signed change sets and waits\n"+
			"for every receipt, or holds devices connected idle. See docs/benchmarks-sync.md.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "jiannuo-loadgen: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cfg, err := o.config(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "jiannuo-loadgen: %v\n", err)
		return 2
	}
	if o.vb {
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	if ctx == nil {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
	}
	if err := o.run(ctx, cfg, stdout); err != nil {
		fmt.Fprintf(stderr, "jiannuo-loadgen: %v\n", err)
		return 1
	}
	return 0
}

func (o *options) config(getenv func(string) string) (loadgen.Config, error) {
	cfg := loadgen.Config{URL: o.url, Devices: o.devices, ChangeSets: o.changesets, Ops: o.ops, Offices: o.offices,
		Concurrency: o.concurrency, Window: o.window, VerifyEvery: o.verifyEvery, NoCompression: o.noCompression, Seed: o.seed}
	text, err := loadgen.ParseTextMode(o.text)
	if err != nil {
		return cfg, fmt.Errorf("-text: %w", err)
	}
	cfg.Text = text
	if o.devices <= 0 || o.changesets <= 0 || o.ops <= 0 || o.ops > protocol.MaxOpsPerChangeSet || o.idle < 0 {
		return cfg, fmt.Errorf("-devices, -changesets and -ops must be positive (-ops at most %d), -idle not negative", protocol.MaxOpsPerChangeSet)
	}
	switch {
	case o.fingerprint != "":
		fp, err := countyapi.ParseFingerprint(o.fingerprint)
		if err != nil {
			return cfg, fmt.Errorf("-fingerprint: %w", err)
		}
		cfg.Fingerprint = fp
	case o.dir != "":
		fp, err := county.FingerprintOf(o.dir)
		if err != nil {
			return cfg, err
		}
		cfg.Fingerprint = fp
	default:
		return cfg, errors.New("give the server's fingerprint with -fingerprint, or its data directory with -dir")
	}
	cfg.Admin = o.admin
	if cfg.Admin == "" {
		cfg.Admin = getenv(envAdmin)
	}
	cfg.Password = getenv(envPassword)
	if o.keys != "" {
		if o.idle == 0 {
			return cfg, errors.New("-keys goes with -idle: devices that have pushed cannot push their change sets again")
		}
		keys, err := readKeys(o.keys)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return cfg, err
		}
		cfg.Keys, cfg.Enrolled = keys, true
		if len(keys) >= o.idle {
			return cfg, nil // no enrolment: no admin needed
		}
	}
	if cfg.Admin == "" || cfg.Password == "" {
		return cfg, fmt.Errorf("the devices need approving: give -admin NAME (or $%s) and the password in $%s", envAdmin, envPassword)
	}
	return cfg, nil
}

func (o *options) run(ctx context.Context, cfg loadgen.Config, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	conns := cfg.Devices
	if o.idle > 0 {
		conns = o.idle
	}
	if _, err := loadgen.RaiseFileLimit(uint64(conns) + 256); err != nil {
		return fmt.Errorf("raising the open-file limit: %w", err)
	}
	lg, err := loadgen.New(cfg)
	if err != nil {
		return err
	}
	defer lg.Close()
	if o.idle > 0 {
		return o.runIdle(ctx, lg, stdout)
	}
	res, err := lg.Run(ctx)
	if res.Wall > 0 || err == nil {
		if perr := o.print(stdout, lg, &res); perr != nil {
			return perr
		}
	}
	return err
}

func (o *options) runIdle(ctx context.Context, lg *loadgen.Loadgen, stdout io.Writer) error {
	idle, err := lg.Idle(ctx, o.idle)
	if err != nil {
		return err
	}
	defer idle.Close()
	if o.keys != "" && len(lg.Config().Keys) < o.idle {
		if err := writeKeys(o.keys, lg.Keys()); err != nil {
			return err
		}
	}
	online, oerr := lg.Online(ctx)
	county, _ := lg.County()
	if o.asJSON {
		err = countyapi.PrintJSON(stdout, map[string]any{"url": lg.Config().URL, "county": county, "idle_devices": idle.Len(),
			"online": online, "connect_seconds": idle.Connect.Seconds(),
			"handshake_bytes_sent": idle.BytesSent, "handshake_bytes_received": idle.BytesReceived})
	} else {
		w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintf(w, "践诺 loadgen\t%s, county %s\n", lg.Config().URL, county)
		fmt.Fprintf(w, "idle devices connected\t%d in %.2f s\n", idle.Len(), idle.Connect.Seconds())
		if oerr == nil {
			fmt.Fprintf(w, "online (admin API)\t%d\n", online)
		}
		fmt.Fprintf(w, "handshake bytes per device\tsent %d, received %d\n", idle.BytesSent/int64(idle.Len()), idle.BytesReceived/int64(idle.Len()))
		if o.hold > 0 {
			fmt.Fprintf(w, "holding\tfor %s; read the server's memory now\n", o.hold)
		} else {
			fmt.Fprintf(w, "holding\tuntil Ctrl-C; read the server's memory now\n")
		}
		err = w.Flush()
	}
	if err != nil {
		return err
	}
	hold := ctx.Done()
	if o.hold > 0 {
		t := time.NewTimer(o.hold)
		defer t.Stop()
		select {
		case <-t.C:
		case <-hold:
		}
	} else {
		<-hold
	}
	if alive := idle.Alive(); alive != idle.Len() {
		return fmt.Errorf("%d of %d idle sessions were closed by the server or the network", idle.Len()-alive, idle.Len())
	}
	return nil
}

func (o *options) print(stdout io.Writer, lg *loadgen.Loadgen, r *loadgen.Result) error {
	county, _ := lg.County()
	if o.asJSON {
		return countyapi.PrintJSON(stdout, map[string]any{
			"url": lg.Config().URL, "county": county, "gomaxprocs": runtime.GOMAXPROCS(0),
			"devices": r.Devices, "change_sets_per_device": r.ChangeSetsPerDevice, "ops_per_change_set": r.OpsPerChangeSet,
			"text": lg.Config().Text.String(), "compression": !lg.Config().NoCompression,
			"change_sets_acknowledged": r.ChangeSets, "ops_acknowledged": r.Ops, "refused": r.Refused, "unacknowledged": r.Unacknowledged,
			"connect_seconds": r.Connect.Seconds(), "wall_seconds": r.Wall.Seconds(),
			"ops_per_second": r.OpsPerSecond, "change_sets_per_second": r.ChangeSetsPerSecond,
			"bytes_sent": r.BytesSent, "bytes_received": r.BytesReceived,
			"sent_bytes_per_op": r.SentPerOp, "received_bytes_per_op": r.ReceivedPerOp, "payload_bytes_per_op": r.PayloadPerOp,
			"receipts_verified": r.ReceiptsVerified, "deliveries": r.Deliveries,
			"latency_p50_ms": ms(r.LatencyP50), "latency_p99_ms": ms(r.LatencyP99), "latency_max_ms": ms(r.LatencyMax),
			"errors": r.Errors,
		})
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "践诺 loadgen\t%s, county %s\n", lg.Config().URL, county)
	fmt.Fprintf(w, "load\t%d devices × %d change sets × %d ops\n", r.Devices, r.ChangeSetsPerDevice, r.OpsPerChangeSet)
	compression := "permessage-deflate"
	if lg.Config().NoCompression {
		compression = "no compression"
	}
	fmt.Fprintf(w, "text\t%s, %s\n", lg.Config().Text, compression)
	fmt.Fprintf(w, "acknowledged\t%d change sets, %d ops\n", r.ChangeSets, r.Ops)
	if r.Refused > 0 || r.Unacknowledged > 0 {
		fmt.Fprintf(w, "refused / unacknowledged\t%d / %d change sets\n", r.Refused, r.Unacknowledged)
	}
	fmt.Fprintf(w, "connect (untimed)\t%.2f s\n", r.Connect.Seconds())
	fmt.Fprintf(w, "wall, first push to last receipt\t%.2f s\n", r.Wall.Seconds())
	fmt.Fprintf(w, "throughput\t%.0f ops/s, %.1f change sets/s\n", r.OpsPerSecond, r.ChangeSetsPerSecond)
	fmt.Fprintf(w, "receipt latency\tp50 %.0f ms, p99 %.0f ms, max %.0f ms\n", ms(r.LatencyP50), ms(r.LatencyP99), ms(r.LatencyMax))
	fmt.Fprintf(w, "wire bytes per op\tsent %.1f, received %.1f\n", r.SentPerOp, r.ReceivedPerOp)
	fmt.Fprintf(w, "change-set bytes per op\t%.1f (before framing, compression, TLS)\n", r.PayloadPerOp)
	fmt.Fprintf(w, "receipts signature-checked\t%d of %d\n", r.ReceiptsVerified, r.ChangeSets)
	if r.Deliveries > 0 {
		fmt.Fprintf(w, "feed deliveries received\t%d\n", r.Deliveries)
	}
	fmt.Fprintf(w, "errors\t%s\n", r.ErrorSummary())
	return w.Flush()
}

// readKeys reads device keys written by writeKeys: one hex ed25519 seed a
// line.
func readKeys(path string) ([]ed25519.PrivateKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var keys []ed25519.PrivateKey
	for i, l := range strings.Fields(string(raw)) {
		seed, err := hex.DecodeString(l)
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("%s line %d: not an ed25519 seed in hex", path, i+1)
		}
		keys = append(keys, ed25519.NewKeyFromSeed(seed))
	}
	return keys, nil
}

// writeKeys writes device keys, readable by the owner only: they are the
// simulated devices' signing keys.
func writeKeys(path string, keys []ed25519.PrivateKey) error {
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(hex.EncodeToString(k.Seed()))
		b.WriteByte('\n')
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
