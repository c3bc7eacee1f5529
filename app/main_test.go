package app

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"jiannuo/app/vm"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// publishOne creates and publishes a commitment due on deadline.
func publishOne(t *testing.T, u *ui, title string, deadline calendar.Date) store.Ref {
	t.Helper()
	ref, err := u.se.Create(store.Draft{Category: domain.CatConvenience, Title: title, Text: title + "，按时办结。",
		Responsible: "陈静", StartDate: calendar.NewDate(2026, 9, 1), Deadline: domain.DateDeadline(deadline), Public: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := u.se.Publish(ref); err != nil {
		t.Fatal(err)
	}
	return ref
}

// rowTexts draws row i of the list as the widget list would and returns
// its texts (title, details, badges).
func rowTexts(s *listScreen, i int) string {
	o := s.newRow()
	s.updateRow(i, o)
	return strings.Join(visibleTexts(o), " | ")
}

// TestReceiptClearsUnconfirmedMarks: when the county's receipts arrive
// (the engine reports a new LastReceiptSeq), the list's 未确认 badge, the
// 未经县级确认 filter and the detail's confirmation line change at once,
// not after a restart.
func TestReceiptClearsUnconfirmedMarks(t *testing.T) {
	u := newTestUI(t)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	if err := u.st.SetSyncSettings(store.SyncSettings{BaseURL: "https://127.0.0.1:8443", County: "410324", CountyKey: pub, Enrolled: true}); err != nil {
		t.Fatal(err)
	}
	ref := publishOne(t, u, "便民服务中心延时服务", calendar.NewDate(2026, 12, 31))
	initial, err := vm.InitialStatus(u.st)
	if err != nil {
		t.Fatal(err)
	}
	u.syncInitial, u.syncWatch = initial, vm.NewSyncWatch(initial) // as startSync does
	l := u.main.list
	l.load()
	u.showCommitment(ref)
	l.window.SetSelectedIndex(int(vm.DueUnconfirmed))
	badge := u.T("app.badge.unconfirmed")
	if l.vm.Len() != 1 || !strings.Contains(rowTexts(l, 0), badge) || !showsText(u.main.detail.obj, u.T("app.not_confirmed")) {
		t.Fatalf("before the receipt: %d unconfirmed, row %q", l.vm.Len(), rowTexts(l, 0))
	}

	// The engine sends the change sets; the county receipts them.
	n, err := u.se.Seal(0)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 9, 30, 9, 15, 0, 0, time.Local)
	for seq := uint64(1); seq <= uint64(n); seq++ {
		rc := (&protocol.Receipt{County: "410324", Device: u.se.Device().ID, Seq: seq, Time: at.UnixMilli()}).Sign(priv)
		if err := u.st.Acknowledge(seq, rc); err != nil {
			t.Fatal(err)
		}
	}
	u.syncReport(engine.Status{State: engine.StateIdle, LastReceiptSeq: uint64(n), LastReceiptTime: at})

	if l.vm.Len() != 0 || l.vm.Count(vm.DueUnconfirmed) != 0 {
		t.Errorf("the 未经县级确认 filter still shows %d", l.vm.Len())
	}
	if !strings.Contains(l.window.Selected, "（0）") {
		t.Errorf("the filter menu reads %q", l.window.Selected)
	}
	l.window.SetSelectedIndex(0)
	if i := l.vm.Find(ref); i < 0 || strings.Contains(rowTexts(l, i), badge) {
		t.Errorf("the row still has its badge: %q", rowTexts(l, max(i, 0)))
	}
	if showsText(u.main.detail.obj, u.T("app.not_confirmed")) || !showsText(u.main.detail.obj, "2026-09-30 09:15") {
		t.Errorf("the detail says %q", visibleTexts(u.main.detail.obj))
	}
	if !strings.Contains(u.status.line.Text, "09-30 09:15") {
		t.Errorf("status line %q", u.status.line.Text)
	}
}

// TestMainWindowSaysWhatEverythingIs: the filter menus have labels, the
// buttons above the tabs have text, the list opens most urgent first (an
// overdue item before one closed earlier), and there is one sync button.
func TestMainWindowSaysWhatEverythingIs(t *testing.T) {
	u := newTestUI(t)
	closed := publishOne(t, u, "已办结的旧事项", calendar.NewDate(2026, 6, 30))
	if err := u.se.Transition(closed, domain.StatusInProgress, ""); err != nil {
		t.Fatal(err)
	}
	if err := u.se.Transition(closed, domain.StatusFulfilledLate, ""); err != nil {
		t.Fatal(err)
	}
	overdue := publishOne(t, u, "逾期未办结事项", calendar.NewDate(2026, 9, 20))
	u.main.list.load()
	l := u.main.list
	for _, label := range []string{"类别", "状态", "期限", "排序"} {
		if !showsText(l.obj, label) {
			t.Errorf("no filter labelled %s: %q", label, visibleTexts(l.obj))
		}
	}
	if l.vm.Filter().Sort != vm.SortUrgency || l.vm.Row(0).Ref != overdue {
		t.Errorf("sort %v, first row %q", l.vm.Filter().Sort, l.vm.Row(0).Title)
	}
	content := u.win.Canvas().Content()
	for _, text := range []string{u.T("app.new_commitment"), u.T("app.export")} {
		if buttonIn(content, text) == nil {
			t.Errorf("no button %q", text)
		}
	}
	syncs := 0
	walkVisible(content, func(o fyne.CanvasObject) {
		if b, ok := o.(*widget.Button); ok {
			switch b.Text {
			case u.T("app.sync_now"):
				syncs++
			case "":
				t.Errorf("a button without text at %v", b.Position())
			}
		}
	})
	if syncs != 1 {
		t.Errorf("%d sync buttons", syncs)
	}
}

// TestSyncNowSaysWhatItDid: pressing 立即同步 says at once what it does,
// until the engine's next report.
func TestSyncNowSaysWhatItDid(t *testing.T) {
	u := newTestUI(t)
	u.sync = &syncer{eng: engine.New(u.se, engine.Config{URL: "wss://127.0.0.1:1/sync", Logger: quietLog()}), done: make(chan struct{})}
	u.status.show(engine.Status{State: engine.StateIdle, LastReceiptSeq: 1, LastReceiptTime: u.now()})
	test.Tap(u.status.syncNow)
	if u.status.note.Hidden || !strings.Contains(u.status.note.Text, "已是最新") {
		t.Fatalf("after pressing: note %q (hidden %v)", u.status.note.Text, u.status.note.Hidden)
	}
	u.status.show(engine.Status{State: engine.StateOffline, Retry: u.now().Add(time.Minute)})
	if !u.status.note.Hidden {
		t.Error("the note outlived the engine's answer")
	}
	test.Tap(u.status.syncNow)
	if !strings.Contains(u.status.note.Text, "重新连接") {
		t.Errorf("offline: %q", u.status.note.Text)
	}
}
