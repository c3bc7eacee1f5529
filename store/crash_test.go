package store

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/sync/protocol"
)

const crashChildEnv = "JIANNUO_STORE_CRASH_CHILD"

// crashChildFailed is the child's exit code when an action fails, so the
// parent can tell a failure from its own kill.
const crashChildFailed = 3

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	os.Exit(m.Run())
}

// crashChild acts on the store in a loop, with fsync, printing one line after
// each action has committed, until it is killed.
func crashChild(path string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(crashChildFailed)
	}
	s, err := Open(path, &Options{KDF: auth.TestParams(), Logger: quietLogger()})
	if err != nil {
		fail(err)
	}
	// The first child sets the device up, the later ones sign in; any
	// other answer, and a failed set-up or sign-in, ends the child.
	var se *Session
	_, err = s.Device()
	switch {
	case errors.Is(err, ErrNotSetUp):
		se, err = s.Setup(SetupConfig{Office: township, Name: "user", Role: domain.RoleLeader, Passphrase: testPass})
	case err == nil:
		se, err = s.SignIn("user", testPass)
	}
	if err != nil {
		fail(err)
	}
	var open []Ref
	for i := 0; ; i++ {
		switch {
		case i%9 == 8:
			if _, err := se.Seal(0); err != nil {
				fail(err)
			}
			fmt.Println("sealed")
		case len(open) == 0 || i%3 == 0:
			ref, err := se.Create(sampleDraft(fmt.Sprintf("崩溃测试承诺 %d", i)))
			if err != nil {
				fail(err)
			}
			if err := se.Publish(ref); err != nil {
				fail(err)
			}
			open = append(open, ref)
			fmt.Println("create", ref.ID)
		default:
			ref := open[i%len(open)]
			id, err := se.LogFulfilment(ref, EntryInput{Date: calendar.NewDate(2026, 10, 8), Progress: i % 101, Note: strings.Repeat("进展", i%50)})
			if err != nil {
				fail(err)
			}
			fmt.Println("entry", ref.ID, id.Num)
		}
	}
}

// TestCrashKeepsStateAndOutboxTogether kills a writing process with SIGKILL
// at random moments, many times. After each kill the store must open, pass
// every invariant (no state without its queued operation, nor the reverse;
// chains intact) and hold every action the process had reported committed.
func TestCrashKeepsStateAndOutboxTogether(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	rng := rand.New(rand.NewPCG(42, 7))
	kills := 15
	if testing.Short() {
		kills = 4
	}
	created := make(map[protocol.EntityID]bool)
	entries := make(map[uint64]protocol.EntityID)
	for k := range kills {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Let the child commit a random number of actions, then kill it
		// wherever it is: it never waits for us, so the kill lands inside
		// a transaction, an fsync or between them.
		want := 1 + rng.IntN(60)
		sc := bufio.NewScanner(out)
		for n := 0; n < want && sc.Scan(); n++ {
			f := strings.Fields(sc.Text())
			switch f[0] {
			case "create":
				id, _ := protocol.ParseEntityID(f[1])
				created[id] = true
			case "entry":
				id, _ := protocol.ParseEntityID(f[1])
				var num uint64
				fmt.Sscan(f[2], &num)
				entries[num] = id
			}
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		if cmd.ProcessState.ExitCode() == crashChildFailed {
			t.Fatalf("kill %d: the child failed before it was killed (its error is above)", k)
		}

		s, err := Open(path, &Options{KDF: auth.TestParams(), Logger: quietLogger()})
		if err != nil {
			t.Fatalf("kill %d: reopening: %v", k, err)
		}
		if err := s.Check(); err != nil {
			t.Fatalf("kill %d: %v", k, err)
		}
		dev, err := s.Device()
		if err != nil {
			t.Fatalf("kill %d: %v", k, err)
		}
		for id := range created {
			c, err := s.Commitment(Ref{Office: township, ID: id})
			if err != nil || c.Status != domain.StatusPublished {
				t.Fatalf("kill %d: reported commitment %s lost: %v", k, id, err)
			}
		}
		for num, id := range entries {
			list, err := s.Entries(Ref{Office: township, ID: id})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range list {
				found = found || e.Op == (protocol.OpID{Device: dev, Num: num})
			}
			if !found {
				t.Fatalf("kill %d: reported fulfilment entry %d lost", k, num)
			}
		}
		s.Close()
	}
	if len(created) == 0 || len(entries) == 0 {
		t.Fatal("the child reported no work: the test proved nothing")
	}
}
