package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"jiannuo/assets"
	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// newTestUI opens the main window headless (fyne's test driver) on a fresh
// replica of 栾川县赤土店镇 signed in as its leader, in Chinese.
func newTestUI(t *testing.T) *ui {
	t.Helper()
	fa := test.NewTempApp(t)
	st, err := store.Open(filepath.Join(t.TempDir(), "jiannuo.db"), &store.Options{KDF: auth.TestParams(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Check(); err != nil {
			t.Errorf("store invariants: %v", err)
		}
		st.Close()
	})
	se, err := st.Setup(store.SetupConfig{Office: "410324101", DeviceName: "测试终端", Name: "zhangli", DisplayName: "张丽",
		Role: domain.RoleLeader, Passphrase: "测试口令-2026"})
	if err != nil {
		t.Fatal(err)
	}
	u := &ui{fa: fa, tr: assets.NewTranslator("zh-Hans"), cal: calendar.Default(), st: st, se: se, bg: testBackground(t)}
	u.log = quietLog()
	useFyneLanguage(u.tr.Lang()) // as newUI does
	u.win = fa.NewWindow("践诺")
	u.win.Resize(fyne.NewSize(1200, 760))
	u.showMain()
	return u
}

// TestCreateCommitmentThroughForm: a clerk fills the form; Save stays
// disabled until the form is valid; the 7-working-day deadline shows its
// date across the National Day holiday; the saved draft appears in the list.
func TestCreateCommitmentThroughForm(t *testing.T) {
	u := newTestUI(t)
	fd := u.openForm(nil)
	if !fd.save.Disabled() {
		t.Fatal("Save is enabled on an empty form")
	}
	test.Type(fd.entry["title"], "老旧小区加装电梯答复")
	test.Type(fd.entry["text"], "收到加装电梯申请后7个工作日内书面答复。")
	test.Type(fd.entry["responsible"], "陈静")
	if !strings.Contains(fd.prev.Text, "2026-10-15") {
		t.Fatalf("deadline preview %q does not show 2026-10-15", fd.prev.Text)
	}
	if fd.save.Disabled() {
		for k, l := range fd.errs {
			if l.Text != "" {
				t.Logf("%s: %s", k, l.Text)
			}
		}
		t.Fatal("Save is disabled on a valid form")
	}
	test.Tap(fd.save)
	all, _ := u.st.AllCommitments()
	if len(all) != 1 || all[0].Title != "老旧小区加装电梯答复" || all[0].Status != domain.StatusDraft {
		t.Fatalf("store after saving the form: %+v", all)
	}
	if u.main.list.vm.Len() != 1 || u.main.list.vm.Row(0).Title != "老旧小区加装电梯答复" {
		t.Fatal("the new commitment is not in the list")
	}
	if p, _ := u.st.Pending(); p.PendingOps != 1 {
		t.Fatalf("the action was not queued for sync: %+v", p)
	}
}

// TestLogFulfilmentWithEvidence: the fulfilment dialog records an entry
// with an attached file, shown in the detail timeline.
func TestLogFulfilmentWithEvidence(t *testing.T) {
	u := newTestUI(t)
	ref, err := u.se.Create(store.Draft{Category: domain.CatFireTheft, Title: "沿街商铺消防检查", Text: "每半年检查一次",
		Responsible: "褚军", StartDate: calendar.NewDate(2026, 9, 1), Deadline: domain.DateDeadline(calendar.NewDate(2026, 12, 31)), Public: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := u.se.Publish(ref); err != nil {
		t.Fatal(err)
	}
	photo := filepath.Join(t.TempDir(), "检查照片.png")
	if err := os.WriteFile(photo, []byte("\x89PNG\r\n\x1a\nfake"), 0o600); err != nil {
		t.Fatal(err)
	}
	fd := u.openFulfil(ref)
	fd.progress.SetValue(40)
	test.Type(fd.note, "已检查沿街商铺52家，发现隐患3处")
	// Dropped onto the window, as staff do from the file manager.
	u.dropTarget([]fyne.URI{storageFileURI(photo)})
	fd.submit()
	if fd.errLine.Text != "" {
		t.Fatalf("fulfilment refused: %s", fd.errLine.Text)
	}
	entries, _ := u.st.Entries(ref)
	if len(entries) != 1 || entries[0].Progress != 40 || len(entries[0].Evidence) != 1 {
		t.Fatalf("entries: %+v", entries)
	}
	if got, _ := u.st.EvidenceContent(entries[0].Evidence[0]); string(got) != "\x89PNG\r\n\x1a\nfake" {
		t.Fatal("evidence content not stored")
	}
	if !containsText(u.main.detail.content, "已检查沿街商铺52家") {
		t.Fatal("the detail timeline does not show the new entry")
	}
	if u.dropTarget != nil {
		t.Fatal("the closed dialog still takes dropped files")
	}
}

// TestFilterAndSearch: typing in the search box and choosing a status
// narrow the virtualised list.
func TestFilterAndSearch(t *testing.T) {
	u := newTestUI(t)
	cats := []domain.Category{domain.CatElderlyCare, domain.CatParking, domain.CatElderlyCare}
	for i, title := range []string{"养老服务上门走访", "停车位规划", "养老院床位补贴"} {
		ref, err := u.se.Create(store.Draft{Category: cats[i], Title: title, Text: "内容", Responsible: "王建国"})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := u.se.Publish(ref); err != nil {
				t.Fatal(err)
			}
		}
	}
	l := u.main.list
	l.load()
	if l.vm.Len() != 3 {
		t.Fatalf("list shows %d, want 3", l.vm.Len())
	}
	test.Type(l.search, "养老")
	if l.vm.Len() != 2 {
		t.Fatalf("search 养老 shows %d, want 2", l.vm.Len())
	}
	l.status.SetSelected(u.T("status.published"))
	if l.vm.Len() != 1 || l.vm.Row(0).Title != "养老服务上门走访" {
		t.Fatalf("search + status filter shows %d", l.vm.Len())
	}
	if !strings.Contains(l.count.Text, "1") {
		t.Fatalf("count label %q", l.count.Text)
	}
}

// TestStatusBar: the status bar says what waits, and a revocation in plain
// language with what to do.
func TestStatusBar(t *testing.T) {
	u := newTestUI(t)
	u.status.show(engine.Status{State: engine.StateOffline, PendingChangeSets: 3, PendingBytes: 4096, Retry: time.Now().Add(time.Minute)})
	if u.status.line.Text == "" || !u.status.errLine.Hidden {
		t.Fatalf("offline line %q, error shown %v", u.status.line.Text, !u.status.errLine.Hidden)
	}
	u.status.show(engine.Status{State: engine.StateSyncing, PendingChangeSets: 2, SentChangeSets: 2})
	if u.status.progress.Hidden {
		t.Fatal("no progress bar while syncing")
	}
	u.status.show(engine.Status{State: engine.StateStopped, Code: protocol.CodeRevokedDevice, Err: "终端丢失"})
	want := u.T("error.revoked_device")
	if u.status.errLine.Hidden || !strings.Contains(u.status.errLine.Text, want[:len(want)/2]) {
		t.Fatalf("revocation shown as %q, want it to say %q", u.status.errLine.Text, want)
	}
	if !u.status.syncNow.Disabled() {
		t.Fatal("sync now stays enabled on a revoked device")
	}
}

// TestClosingTheWindowStopsBackgroundWork: work started under the
// window's context (admin API calls, enrolment polling, sync) ends when the
// window closes, not when the process does.
func TestClosingTheWindowStopsBackgroundWork(t *testing.T) {
	u, err := newUI(test.NewTempApp(t), Options{DataDir: t.TempDir(), Lang: "zh-Hans", KDF: auth.TestParams()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.close)
	ended := make(chan error, 1)
	u.goWork(func(ctx context.Context) {
		<-ctx.Done()
		ended <- ctx.Err()
	})
	u.win.Close()
	select {
	case err := <-ended:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the work ended with %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the work went on after the window closed")
	}
}

func containsText(o fyne.CanvasObject, s string) bool {
	switch w := o.(type) {
	case *widget.Label:
		return strings.Contains(w.Text, s)
	case *fyne.Container:
		for _, c := range w.Objects {
			if containsText(c, s) {
				return true
			}
		}
	}
	return false
}

func storageFileURI(path string) fyne.URI { return storage.NewFileURI(path) }

// testBackground is the window's background work in a widget test: on
// goroutines, on a clock fixed at 2026-09-30 10:00, stopped when the test
// ends.
func testBackground(t testing.TB) background {
	bg := newBackground()
	bg.now = func() time.Time { return time.Date(2026, 9, 30, 10, 0, 0, 0, time.Local) }
	t.Cleanup(bg.stop)
	return bg
}

// runInPlace makes the window's background work run synchronously, so a
// test sees its outcome as soon as the tap returns.
func runInPlace(u *ui) { u.bg.spawn = func(f func()) { f() } }

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
