package store

import (
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// Offices used by the tests: two townships of 栾川县 and the county itself.
const (
	township  office.Code = "410324100"
	township2 office.Code = "410324101"
	county    office.Code = "410324"
	otherCnty office.Code = "410325"
)

const testPass = "正确的口令-2026"

// stepClock is a deterministic clock that advances one millisecond per
// reading, so stamps are reproducible and never collide on one replica.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func newStepClock() *stepClock {
	return &stepClock{t: time.Date(2026, 9, 30, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))}
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// openTest opens a fresh store in a temporary directory and, when the test
// ends, checks every invariant before closing it: any test that leaves the
// store inconsistent fails, whatever it asserted itself.
func openTest(t testing.TB) *Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "replica.db")
	// NoSync: these tests are about logic, and fsync is most of their time.
	// Durability has its own test, which kills a writer that does sync.
	s, err := Open(path, &Options{Now: newStepClock().Now, KDF: auth.TestParams(), Logger: quietLogger(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Check(); err != nil {
			t.Errorf("store invariants at end of test: %v", err)
		}
		s.Close()
	})
	return s
}

// replica is a store with its device set up and a signed-in session.
type replica struct {
	*Store
	se *Session
}

func newReplica(t testing.TB, o office.Code, role domain.Role) *replica {
	t.Helper()
	s := openTest(t)
	se, err := s.Setup(SetupConfig{Office: o, Admin: role == domain.RoleCountyAdmin, DeviceName: "test",
		Name: "user", DisplayName: "测试用户", Role: role, Passphrase: testPass})
	if err != nil {
		t.Fatal(err)
	}
	return &replica{Store: s, se: se}
}

// introduce registers every replica's device with every other, as
// enrolment will.
func introduce(t testing.TB, rs ...*replica) {
	t.Helper()
	for _, a := range rs {
		for _, b := range rs {
			if a != b {
				if err := a.PutDevice(b.se.Device()); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// seal seals the replica's pending operations and returns its change sets
// after seq.
func (r *replica) seal(t testing.TB, after uint64) [][]byte {
	t.Helper()
	if _, err := r.se.Seal(0); err != nil {
		t.Fatal(err)
	}
	sets, err := r.ChangeSets(r.se.Device().ID, after, 0)
	if err != nil {
		t.Fatal(err)
	}
	return sets
}

// deliver applies change sets and fails the test on any refusal.
func deliver(t testing.TB, to *replica, sets ...[]byte) {
	t.Helper()
	res, err := to.Apply(sets...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if !r.Applied() {
			t.Fatalf("change set %s/%d refused: %v", r.Device.Short(), r.Seq, r.Err)
		}
	}
}

func digest(t testing.TB, s *Store) protocol.Hash {
	t.Helper()
	d, err := s.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func sampleDraft(title string) Draft {
	return Draft{
		Category:    domain.CatElderlyCare,
		Title:       title,
		Text:        "对辖区内80岁以上独居老人每月上门走访一次，建立走访台账。",
		LegalBasis:  "《河南省老年人权益保障条例》",
		Responsible: "王建国",
		StartDate:   calendar.NewDate(2026, 9, 30),
		Deadline:    domain.WorkdaysDeadline(7),
		Public:      true,
	}
}

// refused runs act with se (nil: r's own session) and returns its error.
// An action that fails must change nothing: the test fails when r's state
// or its queue of operations changed.
func refused(t *testing.T, name string, r *replica, se *Session, act func(*Session) error) error {
	t.Helper()
	if se == nil {
		se = r.se
	}
	d0 := digest(t, r.Store)
	p0, err := r.Pending()
	if err != nil {
		t.Fatal(err)
	}
	err = act(se)
	p1, _ := r.Pending()
	if err != nil && (digest(t, r.Store) != d0 || p1 != p0) {
		t.Errorf("%s: refused but something changed", name)
	}
	return err
}
