package county_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/server/county"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

const childDirEnv = "JIANNUO_COUNTY_CHILD_DIR"

// TestCountyServerChild is not a test: it is the county server process the
// crash test starts and kills. It prints its address, then serves until
// killed.
func TestCountyServerChild(t *testing.T) {
	dir := os.Getenv(childDirEnv)
	if dir == "" {
		t.Skip("only runs as the crash test's child process")
	}
	cfg := county.DefaultConfig(dir)
	cfg.KDF, cfg.Logger = auth.TestParams(), quiet()
	srv, err := county.New(cfg)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.Exit(3)
	}
	fmt.Println("listening", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	srv.Serve(ctx, ln)
	os.Exit(0)
}

// switchProxy forwards to whatever address the current server child has.
type switchProxy struct {
	ln     net.Listener
	mu     sync.Mutex
	target string
}

func (p *switchProxy) set(target string) { p.mu.Lock(); p.target = target; p.mu.Unlock() }

func (p *switchProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		target := p.target
		p.mu.Unlock()
		s, err := net.Dial("tcp", target)
		if err != nil {
			c.Close()
			continue
		}
		go func() { copyClose(s, c) }()
		go func() { copyClose(c, s) }()
	}
}

func copyClose(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	dst.Close()
	src.Close()
}

// startChild starts a county server process on dir and returns it with
// its address.
func startChild(t *testing.T, exe, dir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(exe, "-test.run=^TestCountyServerChild$")
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
			go func() { // keep draining so the child never blocks on stdout
				for sc.Scan() {
				}
			}()
			return cmd, addr
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	t.Fatal("county server child did not start")
	return nil, ""
}

// TestServerKilledDuringIngest kills the county server process with
// SIGKILL while devices are pushing, several times, and restarts it. Every
// change set a device holds a receipt for must be on the server afterwards:
// a receipt is never sent for what is not on disk.
func TestServerKilledDuringIngest(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// Enrol the devices with an in-process server, then hand its directory
	// to child processes.
	h := newHarness(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	proxy := &switchProxy{ln: ln}
	go proxy.serve()
	defer ln.Close()
	url := "wss://" + ln.Addr().String() + "/sync"
	var ds []*device
	for range 3 {
		ds = append(ds, h.deviceVia(townA, domain.RoleLeader, url))
	}
	for di, d := range ds {
		for n := range 600 {
			d.create(fmt.Sprintf("终端%d承诺%d", di, n))
			if n%5 == 4 {
				if _, err := d.se.Seal(5); err != nil { // many small change sets: many commits to land in
					t.Fatal(err)
				}
			}
		}
	}
	h.stop()

	receipts := func(d *device) uint64 {
		seq, _, err := d.st.LastReceipt()
		if errors.Is(err, store.ErrNotFound) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		return seq
	}
	// Fan the devices' receipt events into one channel.
	anyReceipt := make(chan struct{}, 1)
	stopFan := make(chan struct{})
	defer close(stopFan)
	for _, d := range ds {
		go func() {
			for {
				select {
				case <-d.receipted:
					select {
					case anyReceipt <- struct{}{}:
					default:
					}
				case <-stopFan:
					return
				}
			}
		}()
	}
	const kills = 4
	for k := 0; k <= kills; k++ {
		drainAny(anyReceipt)
		child, addr := startChild(t, exe, h.dir)
		proxy.set(addr)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		done := make(chan struct{}, len(ds))
		for _, d := range ds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					if d.eng.SyncOnce(ctx) == nil {
						done <- struct{}{}
						return
					}
				}
			}()
		}
		if k < kills {
			// Wait for the event "ingest is under way on this server
			// process" — a device got a new receipt — then kill it.
			// any device's new receipt will do
			finished := 0
		wait:
			for {
				select {
				case <-anyReceipt:
					break wait
				case <-done:
					if finished++; finished == len(ds) {
						t.Fatal("every device finished before the server could be killed: make the scenario bigger")
					}
				}
			}
			child.Process.Signal(syscall.SIGKILL)
		} else {
			for range ds {
				<-done
			}
			child.Process.Signal(syscall.SIGTERM)
		}
		child.Wait()
		cancel()
		wg.Wait()

		// Every receipt a device holds names a change set on the server.
		st, err := store.Open(filepath.Join(h.dir, "county.db"), &store.Options{Feed: true, Logger: quiet()})
		if err != nil {
			t.Fatalf("kill %d: reopening the county replica: %v", k, err)
		}
		if err := st.Check(); err != nil {
			t.Fatalf("kill %d: %v", k, err)
		}
		for di, d := range ds {
			last := receipts(d)
			have, err := st.ChangeSets(d.se.Device().ID, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if uint64(len(have)) < last {
				t.Fatalf("kill %d: device %d holds receipts up to %d, the county has %d change sets", k, di, last, len(have))
			}
			for seq := uint64(1); seq <= last; seq++ {
				raw, err := d.st.Receipt(seq)
				if err != nil {
					continue // receipts are kept per change set; one lost to a cut is fetched again later
				}
				rc, err := protocol.OpenReceipt(raw, h.key)
				if err != nil {
					t.Fatal(err)
				}
				cs, err := protocol.Decode(have[seq-1])
				if err != nil || cs.Hash() != rc.Hash {
					t.Fatalf("kill %d: receipt for %d names content the county does not hold", k, seq)
				}
			}
		}
		st.Close()
	}
	for di, d := range ds {
		if p, _ := d.st.Pending(); p.OutboxChangeSets != 0 {
			t.Fatalf("device %d still waits for %d receipts", di, p.OutboxChangeSets)
		}
	}
}

func drainAny(c chan struct{}) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}
