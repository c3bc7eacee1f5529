package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"

	"jiannuo/app/vm"
	"jiannuo/assets"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// TestSyncByFileScreens: a township device with no link exports its work
// to a folder (the dialog says what goes and that it stays waiting), the
// county admin imports the file from the devices tab against a real
// county server and gets the return file, the township imports it: the
// outbox is empty and the status bar says the last sync was by USB stick.
func TestSyncByFileScreens(t *testing.T) {
	srv, base := startTestCounty(t)
	ctx := context.Background()
	fa := test.NewTempApp(t)

	// The township device, enrolled; its engine never gets a link.
	se := newTownshipSession(t, "stick")
	if _, err := engine.RequestEnrolment(ctx, base, se); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Approve(se.Device().ID, countyapi.ApproveRequest{}, adminTestName); err != nil {
		t.Fatal(err)
	}
	en, err := engine.EnrolmentStatus(ctx, base, se)
	if err != nil {
		t.Fatal(err)
	}
	if err := se.Store().SetSyncSettings(store.SyncSettings{BaseURL: base.BaseURL, Fingerprint: base.Fingerprint, County: en.County,
		CountyKey: en.CountyKey, Enrolled: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := se.Create(store.Draft{Category: domain.CatConvenience, Title: "无网络时录入的承诺", Text: "承诺内容",
		Responsible: "王建国", StartDate: calendar.NewDate(2026, 11, 2), Deadline: domain.WorkdaysDeadline(5), Public: true}); err != nil {
		t.Fatal(err)
	}
	u := &ui{fa: fa, tr: assets.NewTranslator("zh-Hans"), cal: calendar.Default(), st: se.Store(), se: se, log: quietLog(), bg: testBackground(t)}
	u.bg.runSync = func(ctx context.Context, _ *engine.Engine) { <-ctx.Done() }
	useFyneLanguage(u.tr.Lang())
	runInPlace(u)
	u.win = fa.NewWindow("践诺")
	u.win.Resize(fyne.NewSize(1200, 760))
	u.showMain()
	var labels []string
	for _, it := range u.win.MainMenu().Items[0].Items {
		labels = append(labels, it.Label)
	}
	if !strings.Contains(strings.Join(labels, "|"), "导出同步包|导入回执包") {
		t.Fatalf("the File menu: %q", labels)
	}

	u.showSyncExport()
	top := topOverlay(u.win)
	if !showsText(top, "第 1 号同步包：1 个变更集（1 项操作）") || !showsText(top, "仍保留在“待同步”中") {
		t.Fatalf("the export dialog shows %q", visibleTexts(top))
	}
	u.escape()
	stick := t.TempDir()
	dir, err := storage.ListerForURI(storage.NewFileURI(stick))
	if err != nil {
		t.Fatal(err)
	}
	u.writeSyncBundle(dir, time.Time{})
	if top := topOverlay(u.win); !showsText(top, "同步包已保存") {
		t.Fatalf("after the export: %q", visibleTexts(top))
	}
	u.escape()
	bundles, _ := filepath.Glob(filepath.Join(stick, "*"+protocol.BundleFileExt))
	if len(bundles) != 1 {
		t.Fatalf("bundles on the stick: %v", bundles)
	}
	if p, _ := u.st.Pending(); p.OutboxChangeSets != 1 {
		t.Fatalf("the export emptied the outbox: %+v", p)
	}

	// The county admin's device imports it.
	ast := openAdminTestStore(t, "admin.db")
	ase, err := ast.Setup(store.SetupConfig{Office: adminTestCounty, Admin: true, DeviceName: "县信用办-1", Name: adminTestName,
		DisplayName: "李明", Role: domain.RoleCountyAdmin, Passphrase: adminTestKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := ast.SetSyncSettings(store.SyncSettings{BaseURL: base.BaseURL, Fingerprint: base.Fingerprint, County: adminTestCounty}); err != nil {
		t.Fatal(err)
	}
	au := uiFor(t, fa, ase)
	adm := au.main.admin
	f := adm.logins[0]
	test.Type(f.pass, adminTestPass)
	test.Tap(f.button)
	if adm.client == nil {
		t.Fatalf("sign-in refused: %q", f.errLine.Text)
	}
	au.main.tabs.Select(adm.tabDevices)
	if b := buttonIn(adm.devicesBox, "导入乡镇同步包…"); b == nil {
		t.Fatal("the devices tab has no import button")
	}
	returned := filepath.Join(stick, vm.ReturnFileName(filepath.Base(bundles[0])))
	adm.onReturn = func(ret *os.File, name string, sum countyapi.SyncImport) {
		if name != filepath.Base(bundles[0]) || sum.Receipted != 1 {
			t.Errorf("import of %s: %+v", name, sum)
		}
		w, err := storage.Writer(storage.NewFileURI(returned))
		if err != nil {
			t.Fatal(err)
		}
		adm.writeReturnFile(ret, w, sum)
	}
	r, err := storage.Reader(storage.NewFileURI(bundles[0]))
	if err != nil {
		t.Fatal(err)
	}
	adm.importBundleFile(r)
	if top := topOverlay(au.win); !showsText(top, "已导入赤土店镇终端") || !showsText(top, "回执包已保存") {
		t.Fatalf("after the admin's import: %q", visibleTexts(top))
	}

	// The township imports the return file.
	rr, err := storage.Reader(storage.NewFileURI(returned))
	if err != nil {
		t.Fatal(err)
	}
	u.importReturnFile(ctx, u.sync.eng, rr)
	if top := topOverlay(u.win); !showsText(top, "已导入第 1 号同步包的回执包") || !showsText(top, "县级平台确认本机变更集 1 个；仍待同步 0 个") {
		t.Fatalf("after the return file: %q", visibleTexts(top))
	}
	if p, _ := u.st.Pending(); p.OutboxChangeSets != 0 {
		t.Fatalf("the outbox after the return file: %+v", p)
	}
	if !strings.Contains(u.status.line.Text, "（U盘）") {
		t.Fatalf("the status bar: %q", u.status.line.Text)
	}
	// The same return file again is refused, plainly.
	u.escape()
	rr, _ = storage.Reader(storage.NewFileURI(returned))
	u.importReturnFile(ctx, u.sync.eng, rr)
	if top := topOverlay(u.win); !showsText(top, "比本终端已导入的更旧") {
		t.Fatalf("the same return file again: %q", visibleTexts(top))
	}
}
