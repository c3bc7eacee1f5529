package vm

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
	"jiannuo/store"
)

// The township the tests work for (栾川县赤土店镇) and its county.
const (
	township   office.Code = "410324101"
	countyCode office.Code = "410324"
	testPass               = "正确的口令-2026"
)

var cst = time.FixedZone("CST", 8*3600)

// testToday is the tests' "today": Wednesday 25 November 2026.
var testToday = calendar.NewDate(2026, time.November, 25)

// stepClock is a deterministic clock starting on testToday that advances
// one millisecond per reading.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// openStore opens a fresh store in t.TempDir() with the test KDF and no
// fsync, and checks the store's invariants when the test ends.
func openStore(t testing.TB) *store.Store {
	t.Helper()
	clock := &stepClock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, cst)}
	s, err := store.Open(filepath.Join(t.TempDir(), "township.db"),
		&store.Options{Now: clock.Now, KDF: auth.TestParams(), Logger: quiet(), NoSync: true})
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

// townshipDevice is a set-up township device with a leader and a staff member.
type townshipDevice struct {
	s      *store.Store
	leader *store.Session
	staff  *store.Session
}

func newTownship(t testing.TB) *townshipDevice {
	t.Helper()
	s := openStore(t)
	leader, err := s.Setup(store.SetupConfig{Office: township, DeviceName: "赤土店镇-1",
		Name: "zhangli", DisplayName: "张丽", Role: domain.RoleLeader, Passphrase: testPass})
	if err != nil {
		t.Fatal(err)
	}
	if err := leader.AddAccount("wangfang", "王芳", domain.RoleStaff, testPass); err != nil {
		t.Fatal(err)
	}
	staff, err := s.SignIn("wangfang", testPass)
	if err != nil {
		t.Fatal(err)
	}
	return &townshipDevice{s: s, leader: leader, staff: staff}
}

// spec is a commitment for a test to create.
type spec struct {
	cat         domain.Category
	title, text string
	responsible string
	start       calendar.Date
	deadline    domain.Deadline
	status      domain.Status // reached through legal transitions
}

func (d *townshipDevice) create(t testing.TB, sp spec) store.Ref {
	t.Helper()
	if sp.text == "" {
		sp.text = sp.title + "。按时完成并公示结果。"
	}
	if sp.responsible == "" {
		sp.responsible = "王建国"
	}
	if sp.cat == "" {
		sp.cat = domain.CatConvenience
	}
	ref, err := d.leader.Create(store.Draft{Category: sp.cat, Title: sp.title, Text: sp.text,
		LegalBasis: "《河南省优化营商环境条例》", Responsible: sp.responsible,
		StartDate: sp.start, Deadline: sp.deadline, Public: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range pathTo(sp.status) {
		reason := ""
		if to == domain.StatusWithdrawn || to == domain.StatusPartlyFulfilled {
			reason = "依据镇党委会议决定"
		}
		if err := d.leader.Transition(ref, to, reason); err != nil {
			t.Fatalf("%s → %s: %v", sp.title, to, err)
		}
	}
	return ref
}

// pathTo returns the transitions from draft to s that a leader can make.
func pathTo(s domain.Status) []domain.Status {
	switch s {
	case domain.StatusPublished:
		return []domain.Status{domain.StatusPublished}
	case domain.StatusInProgress:
		return []domain.Status{domain.StatusPublished, domain.StatusInProgress}
	case domain.StatusFulfilledOnTime, domain.StatusFulfilledLate, domain.StatusPartlyFulfilled:
		return []domain.Status{domain.StatusPublished, domain.StatusInProgress, s}
	case domain.StatusWithdrawn:
		return []domain.Status{domain.StatusPublished, domain.StatusWithdrawn}
	}
	return nil
}

func date(y int, m time.Month, d int) calendar.Date { return calendar.NewDate(y, m, d) }

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
