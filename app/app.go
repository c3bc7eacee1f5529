// Package app is the 践诺 desktop application for township staff: screens
// built with Fyne over the view-models of package app/vm, which hold all the
// logic and are tested without a window.
//
// Widgets stay thin: a screen is a small struct with a constructor that
// builds its widgets and handlers that call a view-model and refresh.
// Background work (sync, imports, exports) runs off the UI goroutine and
// touches widgets only through fyne.Do.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/dialog"

	apptheme "jiannuo/app/theme"
	"jiannuo/app/vm"
	"jiannuo/assets"
	"jiannuo/auth"
	"jiannuo/demo"
	"jiannuo/domain/calendar"
	"jiannuo/store"
	"jiannuo/sync/engine"
)

// AppID identifies the application to the OS and to Fyne's preferences.
const AppID = "cn.gov.luoyang.jiannuo"

// Options say what to open.
type Options struct {
	// DataDir holds the replica (jiannuo.db); default: the user's config
	// directory + /jiannuo.
	DataDir string
	// Demo opens the demo data (built on first use in DemoDir) signed in as
	// the demo leader, with a local county server to sync with.
	Demo    bool
	DemoDir string
	// DemoAdmin opens the demo as its county admin, on the county-admin
	// device (so do the admin scenes, AdminScene).
	DemoAdmin bool
	// Lang forces the language ("zh-Hans" or "en"); empty means the saved
	// preference, else the system locale, else Chinese.
	Lang string
	// KDF are argon2id parameters; zero means auth.DefaultParams(). Tests
	// pass auth.TestParams().
	KDF auth.Params
	// Scene, when set, opens one of Scenes once the window is up (for
	// screenshots): "form", "dashboard", "enrol", …
	Scene string
}

// ui is the running application: one window, one signed-in session.
type ui struct {
	opts   Options
	fa     fyne.App
	win    fyne.Window
	tr     *assets.Translator
	cal    *calendar.Calendar
	st     *store.Store
	se     *store.Session
	county *demo.LocalCounty
	sync   *syncer
	// syncInitial is what the store knew before the engine's first report;
	// syncWatch says which reports change what the screens show.
	syncInitial engine.Status
	syncWatch   *vm.SyncWatch
	log         *slog.Logger
	bg          background         // the window's background work and clock
	cancel      context.CancelFunc // stops sync alone (for a re-key); bg.stop stops it too

	main          *mainScreens
	status        *statusBar
	dialogs       []dialog.Dialog  // open dialogs, newest last, for Escape (track)
	dropTarget    func([]fyne.URI) // the open dialog that takes dropped files
	lastReenrol   *reenrolDialog   // the re-enrolment dialog last opened, for tests
	lastEnrolPage *enrolPage       // the wizard's enrolment step last shown, for tests
	// The account and enrolment dialogs last opened, for tests.
	lastAccounts   *accountsScreen
	lastPassphrase *accountForm
	lastEnrol      *enrolDialog
	lastAct        *actDialog // the action dialog last opened, for tests
	// The backup and restore dialogs last opened, for tests.
	lastBackup  *backupDialog
	lastRestore *restoreDialog
	lastUrges   *urgesDialog
	lastReport  *annualDialog
}

// background is the window's work off the UI goroutine: the context it
// runs under, cancelled when the window closes so nothing outlives it; how
// it is started; and the clock it reads. newUI sets the real ones; widget
// tests run the work in place and fix the clock.
type background struct {
	ctx   context.Context
	stop  context.CancelFunc
	spawn func(func())     // starts work off the UI goroutine
	now   func() time.Time // "today", and the devices tab's "3 天前"
	// later runs f once d has passed (polling a pending enrolment);
	// runSync runs the sync engine until ctx ends. Tests fire the one and
	// run the other once, in step with the test.
	later   func(d time.Duration, f func())
	runSync func(ctx context.Context, eng *engine.Engine)
}

// newBackground is work on goroutines under a fresh context, on the
// system clock.
func newBackground() background {
	ctx, stop := context.WithCancel(context.Background())
	return background{ctx: ctx, stop: stop, spawn: func(f func()) { go f() }, now: time.Now,
		later:   func(d time.Duration, f func()) { time.AfterFunc(d, f) },
		runSync: func(ctx context.Context, eng *engine.Engine) { eng.Run(ctx) }}
}

// goWork runs f off the UI goroutine under the window's context; f
// touches widgets only through fyne.Do.
func (u *ui) goWork(f func(ctx context.Context)) {
	ctx := u.bg.ctx
	u.bg.spawn(func() { f(ctx) })
}

// now is the window's clock.
func (u *ui) now() time.Time { return u.bg.now() }

// T translates a key, formatting args with fmt verbs.
func (u *ui) T(key string, args ...any) string { return u.tr.T(key, args...) }

// list joins names as the language writes a list: 标题、内容 or title, text.
func (u *ui) list(names []string) string {
	if u.tr.Lang() == assets.LangEn {
		return strings.Join(names, ", ")
	}
	return strings.Join(names, "、")
}

// msg renders a view-model message, nested messages included.
func (u *ui) msg(m vm.Message) string { return m.Text(func(k string) string { return u.tr.T(k) }) }

// Run opens the application and blocks until its window closes.
func Run(opts Options) error {
	fa := fyneapp.NewWithID(AppID)
	u, err := newUI(fa, opts)
	if err != nil {
		return err
	}
	defer u.close()
	if opts.Scene != "" {
		fa.Lifecycle().SetOnStarted(func() {
			if err := u.scene(opts.Scene); err != nil {
				u.log.Error("scene", "scene", opts.Scene, "err", err)
				fa.Quit()
			}
		})
	}
	// Once asked to quit, the app ends even if Fyne's shutdown does not
	// (quit.go).
	returned := make(chan struct{})
	arm := armQuitWatchdog(returned, u.log)
	u.win.SetOnClosed(func() { u.bg.stop(); arm() })
	u.win.ShowAndRun()
	close(returned)
	return nil
}

// newUI builds the application on fa (the real driver, or fyne's test
// driver in widget tests) and shows its first screen.
func newUI(fa fyne.App, opts Options) (*ui, error) { return newUIWith(fa, opts, newBackground()) }

// newUIWith is newUI with its background work run by bg: widget tests of
// the whole start-up run it in step with the test, as fyne's test driver
// runs fyne.Do on the calling goroutine.
func newUIWith(fa fyne.App, opts Options, bg background) (*ui, error) {
	lang := opts.Lang
	if lang == "" {
		lang = fa.Preferences().StringWithFallback("lang", assets.ResolveLang(assets.LocaleFromEnv()))
	}
	u := &ui{opts: opts, fa: fa, tr: assets.NewTranslator(lang), cal: calendar.Default(), log: slog.Default(), bg: bg}
	// Our texts come from u.tr; Fyne's own (Quit, Yes/No, the file
	// dialog) are made to follow the same language.
	useFyneLanguage(u.tr.Lang())
	fa.Settings().SetTheme(apptheme.New(apptheme.Variant(fa.Preferences().IntWithFallback("theme", int(apptheme.System)))))
	fa.SetIcon(fyne.NewStaticResource("icon.png", assets.Icon()))
	u.win = fa.NewWindow(u.T("app.name"))
	u.win.Resize(fyne.NewSize(1200, 760))
	u.win.SetMaster()
	u.win.SetOnClosed(u.bg.stop)

	if opts.Demo {
		if err := u.openDemo(); err != nil {
			return nil, err
		}
		u.showMain()
		return u, nil
	}
	dir := opts.DataDir
	if dir == "" {
		cfg, err := os.UserConfigDir()
		if err != nil {
			return nil, err
		}
		dir = filepath.Join(cfg, "jiannuo")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	st, err := store.Open(filepath.Join(dir, "jiannuo.db"), &store.Options{KDF: opts.KDF})
	if err != nil {
		return nil, fmt.Errorf("opening the data file: %w", err)
	}
	u.st = st
	if _, err := st.Device(); errors.Is(err, store.ErrNotSetUp) {
		u.showWizard()
	} else {
		u.showSignIn()
	}
	return u, nil
}

func (u *ui) openDemo() error {
	dir := u.opts.DemoDir
	if dir == "" {
		dir = "jiannuo-demo"
	}
	d, err := demo.Build(demo.Config{Dir: dir, KDF: u.opts.KDF})
	if err != nil {
		return err
	}
	// The demo has no real county server: it runs a local one on
	// loopback (a new port each run, so settings are refreshed each time),
	// which first takes in what every demo device recorded.
	c, err := d.StartCounty(u.bg.ctx, u.opts.KDF)
	if err != nil {
		u.log.Warn("demo county server unavailable; working offline", "err", err)
	} else {
		u.county = c
	}
	// The demo's other replicas are not shown; only the leader's device,
	// or the county admin's.
	d.Colleague.Close()
	if u.opts.DemoAdmin || AdminScene(u.opts.Scene) {
		d.Township.Close()
		se, err := d.County.SignIn(demo.Admin, demo.Passphrase)
		if err != nil {
			d.County.Close()
			return err
		}
		u.st, u.se = d.County, se
	} else {
		d.County.Close()
		u.st, u.se = d.Township, d.Leader
	}
	return nil
}

// signedIn switches to the main screen for a session, after the change of
// a passphrase a leader reset.
func (u *ui) signedIn(se *store.Session) {
	u.se = se
	if vm.MustChangePassphrase(se) {
		u.showForcedChange()
		return
	}
	u.showMain()
}

func (u *ui) close() {
	if u.main != nil && u.main.admin != nil && u.main.admin.client != nil {
		endAdminSession(u.main.admin.client)
	}
	if u.bg.stop != nil {
		u.bg.stop()
	}
	if u.cancel != nil {
		u.cancel()
	}
	if u.sync != nil {
		u.sync.wait()
	}
	if u.county != nil {
		u.county.Close()
	}
	if u.st != nil {
		u.st.Close()
	}
}
