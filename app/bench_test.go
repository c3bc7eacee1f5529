package app

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"jiannuo/assets"
	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
)

const benchRows = 50_000

var (
	bigOnce sync.Once
	bigPath string
	bigErr  error
)

// bigStore builds, once per test binary, a replica with 50,000 commitments
// in every category and status mix, the size the desktop must stay usable
// at.
func bigStore(b *testing.B) string {
	bigOnce.Do(func() {
		dir, err := os.MkdirTemp("", "jiannuo-bench-")
		if err != nil {
			bigErr = err
			return
		}
		bigPath = filepath.Join(dir, "big.db")
		st, err := store.Open(bigPath, &store.Options{KDF: auth.TestParams(), NoSync: true})
		if err != nil {
			bigErr = err
			return
		}
		defer st.Close()
		se, err := st.Setup(store.SetupConfig{Office: "410324101", DeviceName: "基准", Name: "u", Role: domain.RoleLeader, Passphrase: "基准测试口令2026"})
		if err != nil {
			bigErr = err
			return
		}
		cats := domain.Categories()
		for i := range benchRows {
			ref, err := se.Create(store.Draft{Category: cats[i%len(cats)], Title: fmt.Sprintf("承诺事项第%d号：便民服务窗口延时", i),
				Text: "对辖区群众办事实行首问负责和限时办结。", Responsible: fmt.Sprintf("责任人%d", i%300),
				StartDate: calendar.NewDate(2026, time.Month(1+i%12), 1+i%28), Deadline: domain.WorkdaysDeadline(5 + i%30), Public: true})
			if err != nil {
				bigErr = err
				return
			}
			if i%3 != 0 {
				if err := se.Publish(ref); err != nil {
					bigErr = err
					return
				}
			}
		}
	})
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return bigPath
}

// BenchmarkStartup measures opening the main window on 50,000 commitments:
// open the file, load the list and build every screen, to the first frame
// the user can act on (headless driver). The baseline, in the same run, is
// opening the file and reading every commitment, the least any start-up
// must do.
func BenchmarkStartup(b *testing.B) {
	path := bigStore(b)
	var base, full time.Duration
	for b.Loop() {
		t0 := time.Now()
		st, err := store.Open(path, &store.Options{KDF: auth.TestParams(), NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.AllCommitments(); err != nil {
			b.Fatal(err)
		}
		base += time.Since(t0)
		st.Close()

		t1 := time.Now()
		st, err = store.Open(path, &store.Options{KDF: auth.TestParams(), NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		se, err := st.SignIn("u", "基准测试口令2026")
		if err != nil {
			b.Fatal(err)
		}
		fa := test.NewApp()
		u := &ui{fa: fa, tr: assets.NewTranslator("zh-Hans"), cal: calendar.Default(), st: st, se: se, log: quietLog(), bg: newBackground()}
		u.win = fa.NewWindow("践诺")
		u.win.Resize(fyne.NewSize(1200, 760))
		u.showMain()
		if u.main.list.vm.Total() != benchRows {
			b.Fatalf("list has %d rows", u.main.list.vm.Total())
		}
		full += time.Since(t1)
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		b.ReportMetric(float64(m.HeapInuse)/(1<<20), "heap-MiB")
		u.win.Close()
		u.bg.stop()
		st.Close()
		fa.Quit()
	}
	n := float64(b.N)
	b.ReportMetric(float64(full.Milliseconds())/n, "startup-ms")
	b.ReportMetric(float64(base.Milliseconds())/n, "read-all-ms")
	b.ReportMetric(float64(full)/float64(base), "x-read-all")
}

// BenchmarkSearchTyping measures one keystroke in the search box at 50,000
// rows (filter, sort, list refresh) against the same run's baseline: a
// plain substring scan over the 50,000 titles.
func BenchmarkSearchTyping(b *testing.B) {
	path := bigStore(b)
	st, err := store.Open(path, &store.Options{KDF: auth.TestParams(), NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	se, err := st.SignIn("u", "基准测试口令2026")
	if err != nil {
		b.Fatal(err)
	}
	fa := test.NewApp()
	defer fa.Quit()
	u := &ui{fa: fa, tr: assets.NewTranslator("zh-Hans"), cal: calendar.Default(), st: st, se: se, log: quietLog(), bg: newBackground()}
	defer u.bg.stop()
	u.win = fa.NewWindow("践诺")
	u.showMain()
	titles := make([]string, 0, benchRows)
	for i := range u.main.list.vm.Len() {
		titles = append(titles, u.main.list.vm.Row(i).Title)
	}
	queries := []string{"便民", "第123", "责任人7", "延时", ""}
	var ui, base time.Duration
	for b.Loop() {
		for _, q := range queries {
			t0 := time.Now()
			u.main.list.search.SetText(q)
			ui += time.Since(t0)
			t1 := time.Now()
			n := 0
			for _, t := range titles {
				if strings.Contains(t, q) {
					n++
				}
			}
			_ = n
			base += time.Since(t1)
		}
	}
	k := float64(b.N * len(queries))
	b.ReportMetric(float64(ui.Microseconds())/k/1000, "keystroke-ms")
	b.ReportMetric(float64(ui)/float64(base), "x-title-scan")
}
