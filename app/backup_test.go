package app

import (
	"os"
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"jiannuo/assets"
	"jiannuo/auth"
	"jiannuo/domain/calendar"
	"jiannuo/store"
)

const testBackupPass = "乡镇终端备份口令2026"

// TestBackupFromTheMenu: File → 备份本机数据… writes an encrypted backup
// after the passphrase is typed twice the same; the status bar reminds
// while the last backup is older than the setting, and no longer after.
func TestBackupFromTheMenu(t *testing.T) {
	u := newTestUI(t)
	runInPlace(u)
	u.opts.KDF = auth.TestParams()
	var file, settings bool
	for _, m := range u.win.MainMenu().Items {
		for _, it := range m.Items {
			file = file || it.Label == "备份本机数据…"
			settings = settings || it.Label == "备份提醒…"
		}
	}
	if !file || !settings {
		t.Fatalf("the menus lack the backup (%v) or its reminder setting (%v)", file, settings)
	}
	if err := u.st.SetLastBackup(u.now().AddDate(0, 0, -10)); err != nil {
		t.Fatal(err)
	}
	u.status.refreshBackup()
	if !u.status.backup.Visible() || !containsText(u.status.obj, "已 10 天未备份") {
		t.Fatalf("no reminder 10 days after the last backup: %q", u.status.backup.Text)
	}

	path := filepath.Join(t.TempDir(), "践诺备份.jnbk")
	u.askBackupPassphrase(path)
	bd := u.lastBackup
	test.Type(bd.p1, testBackupPass)
	test.Type(bd.p2, testBackupPass+"错")
	bd.ok()
	if bd.errMsg.Text != "两次输入的备份口令不一致" {
		t.Fatalf("differing passphrases: %q", bd.errMsg.Text)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("a backup was written with differing passphrases")
	}
	bd.p2.SetText(testBackupPass)
	bd.ok()
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	if !showsText(topOverlay(u.win), "已备份到") {
		t.Fatalf("no word of the backup: %q", visibleTexts(topOverlay(u.win)))
	}
	if u.status.backup.Visible() {
		t.Fatalf("the reminder stays after a backup: %q", u.status.backup.Text)
	}
}

// TestRestoreInTheWizard: on a new machine the first-run wizard offers
// 从备份恢复…; a wrong passphrase is refused in the dialog and changes
// nothing; the right one restores the device, and the sign-in screen asks
// for its account.
func TestRestoreInTheWizard(t *testing.T) {
	// A device's backup, made as the menu makes it.
	src := newTestUI(t)
	runInPlace(src)
	src.opts.KDF = auth.TestParams()
	path := filepath.Join(t.TempDir(), "践诺备份.jnbk")
	src.askBackupPassphrase(path)
	src.lastBackup.p1.SetText(testBackupPass)
	src.lastBackup.p2.SetText(testBackupPass)
	src.lastBackup.ok()

	fa := test.NewTempApp(t)
	dbPath := filepath.Join(t.TempDir(), "jiannuo.db")
	st, err := store.Open(dbPath, &store.Options{KDF: auth.TestParams(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	u := &ui{fa: fa, tr: assets.NewTranslator("zh-Hans"), cal: calendar.Default(), st: st, bg: testBackground(t), opts: Options{KDF: auth.TestParams()}}
	u.log = quietLog()
	t.Cleanup(func() { u.st.Close() })
	u.win = fa.NewWindow("践诺")
	u.win.Resize(fyne.NewSize(1200, 760))
	runInPlace(u)
	u.showWizard()
	if buttonIn(u.win.Content(), "从备份恢复…") == nil {
		t.Fatal("the wizard offers no restore")
	}
	u.askRestorePassphrase(path)
	rd := u.lastRestore
	rd.pass.SetText("不对的备份口令-2026")
	rd.ok()
	if rd.errMsg.Text != "备份口令不对，或备份文件已被改动。未写入任何数据。" {
		t.Fatalf("wrong passphrase: %q", rd.errMsg.Text)
	}
	if _, err := u.st.Device(); err == nil {
		t.Fatal("a refused restore set the device up")
	}
	rd.pass.SetText(testBackupPass)
	rd.ok()
	dev, err := u.st.Device()
	if err != nil || dev != src.se.Device().ID {
		t.Fatalf("restored device %v, %v; want %v", dev, err, src.se.Device().ID)
	}
	if buttonIn(u.win.Content(), "登录") == nil {
		t.Fatalf("not the sign-in screen after the restore: %q", visibleTexts(u.win.Content()))
	}
	if _, err := u.st.SignIn("zhangli", "测试口令-2026"); err != nil {
		t.Fatalf("signing in on the restored device: %v", err)
	}
}
