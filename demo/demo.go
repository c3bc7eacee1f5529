// Package demo builds the embedded default the README's run command opens:
// a township of 栾川县 with a year of realistic commitments in every
// category and every status (some overdue), a colleague's device that has
// synchronised with it, and the county admin's device that confirmed a
// breach. The desktop app's demo mode and the CLI demo both use it.
//
// Dates are relative to "today", so overdue and due-soon items are there
// whatever day the demo runs.
package demo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/store"
)

// The demo's offices and credentials. The passphrase is printed by the CLI:
// it protects demo data only.
const (
	Township   office.Code = "410324101" // 栾川县赤土店镇 in the default directory
	County     office.Code = "410324"    // 栾川县
	Leader                 = "zhangli"
	Colleague              = "liqiang"
	Admin                  = "county-admin"
	Passphrase             = "jiannuo-demo-2026"
)

// Config says where and how to build the demo.
type Config struct {
	// Dir holds the three demo store files; it is created if missing.
	Dir string
	// Now is the demo's "today"; zero means time.Now().
	Now time.Time
	// Calendar resolves working-day deadlines; nil means calendar.Default().
	Calendar *calendar.Calendar
	// KDF are the argon2id parameters; zero means auth.DefaultParams().
	KDF auth.Params
	// Options are passed to store.Open for all three stores (Now and KDF
	// are filled from this Config).
	Options store.Options
}

// Demo is the built demo: three replicas that have exchanged every change
// set. Close closes them.
type Demo struct {
	Township  *store.Store // the leader's device
	Colleague *store.Store // a second device of the same township
	County    *store.Store // the county admin's device
	Leader    *store.Session
	Today     calendar.Date
	Calendar  *calendar.Calendar
	// ChangeSets is how many change sets the replicas exchanged.
	ChangeSets int
	clock      *demoClock // the stores' clock, moved back while seeding
	dir        string
	kdf        auth.Params
}

// Close closes the stores.
func (d *Demo) Close() error {
	return errors.Join(d.Township.Close(), d.Colleague.Close(), d.County.Close())
}

// TownshipPath returns the file of the leader's device in dir.
func TownshipPath(dir string) string { return filepath.Join(dir, "township.db") }

// Build creates the demo in cfg.Dir, or reopens it if it is there already
// (so running the demo twice keeps what the user did in between).
func Build(cfg Config) (*Demo, error) {
	if cfg.Now.IsZero() {
		cfg.Now = time.Now()
	}
	if cfg.Calendar == nil {
		cfg.Calendar = calendar.Default()
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	opts := cfg.Options
	opts.KDF = cfg.KDF
	d := &Demo{Today: calendar.DateOf(cfg.Now), Calendar: cfg.Calendar, clock: newDemoClock(cfg.Now, opts.Now), dir: cfg.Dir, kdf: cfg.KDF}
	opts.Now = d.clock.Now
	var err error
	open := func(name string) *store.Store {
		if err != nil {
			return nil
		}
		var s *store.Store
		s, err = store.Open(filepath.Join(cfg.Dir, name), &opts)
		return s
	}
	d.Township, d.Colleague, d.County = open("township.db"), open("colleague.db"), open("county-admin.db")
	if err != nil {
		for _, s := range []*store.Store{d.Township, d.Colleague, d.County} {
			if s != nil {
				s.Close()
			}
		}
		return nil, err
	}
	if _, err := d.Township.Device(); err == nil {
		d.Leader, err = d.Township.SignIn(Leader, Passphrase)
		if err != nil {
			d.Close()
			return nil, err
		}
		return d, nil
	}
	if err := d.seed(); err != nil {
		d.Close()
		return nil, fmt.Errorf("seeding the demo: %w", err)
	}
	return d, nil
}

func (d *Demo) seed() error {
	// The seed plays the last weeks: what it records carries the day it
	// happened (a case filed eight days ago is overdue today).
	d.clock.daysAgo(40)
	defer d.clock.daysAgo(0)
	leader, err := d.Township.Setup(store.SetupConfig{Office: Township, DeviceName: "赤土店镇党政办-1",
		Name: Leader, DisplayName: "张丽（镇长）", Role: domain.RoleLeader, Passphrase: Passphrase})
	if err != nil {
		return err
	}
	d.Leader = leader
	if err := leader.AddAccount("wangfang", "王芳", domain.RoleStaff, Passphrase); err != nil {
		return err
	}
	colleague, err := d.Colleague.Setup(store.SetupConfig{Office: Township, DeviceName: "赤土店镇便民服务中心-2",
		Name: Colleague, DisplayName: "李强", Role: domain.RoleLeader, Passphrase: Passphrase})
	if err != nil {
		return err
	}
	admin, err := d.County.Setup(store.SetupConfig{Office: County, Admin: true, DeviceName: "栾川县信用办",
		Name: Admin, DisplayName: "县信用办 赵敏", Role: domain.RoleCountyAdmin, Passphrase: Passphrase})
	if err != nil {
		return err
	}
	// Enrolment, as the county server will do it: every replica learns the
	// others' device records.
	sessions := []*store.Session{leader, colleague, admin}
	for _, a := range sessions {
		for _, b := range sessions {
			if a != b {
				if err := a.Store().PutDevice(b.Device()); err != nil {
					return err
				}
			}
		}
	}

	// Each device tells the others who its accounts are (signed account
	// changes), so every screen names 李强 rather than liqiang.
	for _, se := range sessions {
		if _, err := se.AnnounceAccounts(); err != nil {
			return err
		}
	}

	var breachRef store.Ref
	for i, it := range items {
		ref, err := d.record(leader, it)
		if err != nil {
			return fmt.Errorf("item %d %q: %w", i, it.title, err)
		}
		if it.breach {
			breachRef = ref
		}
	}
	if err := d.exchange(leader, colleague, admin); err != nil {
		return err
	}
	// The county admin confirms the breach after a complaint (§四(二)),
	// the township answers the record and other cases (supervision.go),
	// and a colleague logs progress on another device.
	if err := d.seedSupervision(leader, colleague, admin, breachRef); err != nil {
		return err
	}
	all, err := d.Colleague.AllCommitments()
	if err != nil {
		return err
	}
	for _, c := range all {
		if c.Status == domain.StatusInProgress {
			if _, err := colleague.LogFulfilment(c.Ref, store.EntryInput{Date: d.Today, Progress: min(100, c.Progress+10), Note: "便民服务中心补充走访记录"}); err != nil {
				return err
			}
			break
		}
	}
	if err := d.seedYear(admin); err != nil { // an urge (year.go)
		return err
	}
	return d.exchange(leader, colleague, admin)
}

// exchange seals every device's work and delivers it to the other two, as
// the county server will. The change sets stay in each device's outbox: the
// demo's local county server (Demo.StartCounty) takes them in and answers
// with its receipts, so the demo shows what a real office sees.
func (d *Demo) exchange(sessions ...*store.Session) error {
	for _, from := range sessions {
		if _, err := from.Seal(0); err != nil {
			return err
		}
	}
	for _, from := range sessions {
		dev := from.Device().ID
		for _, to := range sessions {
			if to == from {
				continue
			}
			heads, err := to.Store().Heads()
			if err != nil {
				return err
			}
			sets, err := from.Store().ChangeSets(dev, heads[dev].Seq, 0)
			if err != nil {
				return err
			}
			res, err := to.Store().Apply(sets...)
			if err != nil {
				return err
			}
			for _, r := range res {
				if !r.Applied() {
					return fmt.Errorf("demo change set refused: %w", r.Err)
				}
			}
			d.ChangeSets += len(sets)
		}
	}
	return nil
}

func (d *Demo) record(se *store.Session, it item) (store.Ref, error) {
	start := d.Today.AddDays(it.startOffset)
	dl := domain.DateDeadline(d.Today.AddDays(it.dueOffset))
	if it.workdays > 0 {
		dl = domain.WorkdaysDeadline(it.workdays)
	}
	ref, err := se.Create(store.Draft{Category: it.cat, Title: it.title, Text: it.text, LegalBasis: it.basis,
		Responsible: it.responsible, StartDate: start, Deadline: dl, Public: true})
	if err != nil || it.status == domain.StatusDraft {
		return ref, err
	}
	if it.status == domain.StatusWithdrawn {
		return ref, se.Withdraw(ref, "上级政策调整，依据县政府〔2026〕12号文件撤销")
	}
	if err := se.Publish(ref); err != nil {
		return ref, err
	}
	if it.amend != "" {
		if err := se.Amend(ref, []store.Change{{Field: domain.FieldText, Value: it.text + it.amend}}, "根据群众意见补充服务内容"); err != nil {
			return ref, err
		}
	}
	progress := []int{}
	switch it.status {
	case domain.StatusPublished:
	case domain.StatusInProgress:
		progress = []int{20, 45}
	default:
		progress = []int{30, 60, 100}
	}
	if it.breach {
		progress = []int{10}
	}
	for i, p := range progress {
		day := start.AddDays((i + 1) * max(1, (d.Today.DaysUntil(start)*-1)/(len(progress)+1)))
		if day.After(d.Today) {
			day = d.Today
		}
		if _, err := se.LogFulfilment(ref, store.EntryInput{Date: day, Progress: p, Note: fmt.Sprintf("第%d次进展：%s", i+1, it.progressNote)}); err != nil {
			return ref, err
		}
	}
	if len(progress) > 0 && !it.breach && it.status != domain.StatusPublished {
		if err := se.Transition(ref, domain.StatusInProgress, ""); err != nil {
			return ref, err
		}
	}
	switch it.status {
	case domain.StatusFulfilledOnTime, domain.StatusFulfilledLate:
		return ref, se.Transition(ref, it.status, "")
	case domain.StatusPartlyFulfilled:
		return ref, se.Transition(ref, it.status, "资金到位不足，完成三个村中的两个")
	}
	return ref, nil
}
