package app

import (
	"testing"

	"fyne.io/fyne/v2/test"

	"jiannuo/app/vm"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
)

// TestFulfilmentDetails: the slider starts at the latest entry's 45 %, not
// at 0; closing at 45 % warns; the timeline names 张丽, not zhangli.
func TestFulfilmentDetails(t *testing.T) {
	u := newTestUI(t)
	ref := publishOne(t, u, "沿街商铺消防检查", calendar.NewDate(2026, 12, 31))
	if err := u.se.Transition(ref, domain.StatusInProgress, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := u.se.LogFulfilment(ref, store.EntryInput{Date: calendar.NewDate(2026, 9, 20), Progress: 45, Note: "已检查沿街商铺30家"}); err != nil {
		t.Fatal(err)
	}
	u.main.list.load()
	u.showCommitment(ref)
	if !showsText(u.main.detail.obj, "张丽") || showsText(u.main.detail.obj, "zhangli") {
		t.Errorf("the timeline: %q", visibleTexts(u.main.detail.obj))
	}
	fd := u.openFulfil(ref)
	if fd.progress.Value != 45 || fd.f.Progress != "45" || !showsText(topOverlay(u.win), "45%") {
		t.Errorf("the slider starts at %v (form %q)", fd.progress.Value, fd.f.Progress)
	}
	fd.close()

	test.Tap(buttonIn(u.main.detail.obj, u.T("app.action.close")))
	if _, warn := vm.CloseWarning(&u.main.detail.d.C); !warn || !showsText(topOverlay(u.win), "45%") || !showsText(topOverlay(u.win), "尚未完成") {
		t.Errorf("closing at 45%%: %q", visibleTexts(topOverlay(u.win)))
	}
	test.Tap(buttonIn(topOverlay(u.win), "否"))
	if c, _ := u.st.Commitment(ref); c.Status != domain.StatusInProgress {
		t.Errorf("No closed it: %s", c.Status)
	}
}

// TestConfirmedWithoutReceiptTime: work confirmed by a receipt this
// device does not keep says so without a date, not "0001-01-01".
func TestConfirmedWithoutReceiptTime(t *testing.T) {
	u := newTestUI(t)
	ref := publishOne(t, u, "便民服务中心延时服务", calendar.NewDate(2026, 12, 31))
	n, err := u.se.Seal(0)
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= uint64(n); seq++ {
		if err := u.st.Acknowledge(seq, nil); err != nil {
			t.Fatal(err)
		}
	}
	u.showCommitment(ref)
	if showsText(u.main.detail.obj, "0001") || !showsText(u.main.detail.obj, u.T("ui.detail.confirmed")) {
		t.Errorf("the detail says %q", visibleTexts(u.main.detail.obj))
	}
}
