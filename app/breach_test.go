package app

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"jiannuo/assets"
	"jiannuo/domain"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// findButton returns the first button in o whose text contains s.
func findButton(o fyne.CanvasObject, s string) *widget.Button {
	switch w := o.(type) {
	case *widget.Button:
		if strings.Contains(w.Text, s) {
			return w
		}
	case *fyne.Container:
		for _, c := range w.Objects {
			if b := findButton(c, s); b != nil {
				return b
			}
		}
	}
	return nil
}

// breachFixture is an admin UI whose replica holds one in-progress
// commitment of a township device.
func breachFixture(t *testing.T) (*ui, *store.Session, store.Ref) {
	t.Helper()
	u := newAdminTestUI(t, nil)
	town := newTownshipSession(t, "a")
	for _, x := range []*store.Session{town, u.se} {
		for _, y := range []*store.Session{town, u.se} {
			if x != y {
				if err := x.Store().PutDevice(y.Device()); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	ref, err := town.Create(store.Draft{Category: domain.CatElderlyCare, Title: "每月走访独居老人", Text: "每月走访一次", Responsible: "王建国"})
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []domain.Status{domain.StatusPublished, domain.StatusInProgress} {
		if err := town.Transition(ref, to, ""); err != nil {
			t.Fatal(err)
		}
	}
	exchangeSessions(t, town, u.se)
	return u, town, ref
}

// confirmBreachUI confirms the breach of ref through the detail screen's
// dialog and returns the record's ID.
func confirmBreachUI(t *testing.T, u *ui, ref store.Ref) protocol.EntityID {
	t.Helper()
	u.main.detail.show(ref)
	b := findButton(u.main.detail.content, u.T("breachui.action"))
	if b == nil {
		t.Fatal("no breach action on the admin device")
	}
	bd := u.main.detail.openBreach()
	if bd.official.Text != "王建国" || bd.typeOf[bd.types.Selected] != domain.DishonestyBreach || len(bd.types.Options) != 6 {
		t.Fatalf("dialog prefilled with %q, %q, %d types", bd.official.Text, bd.types.Selected, len(bd.types.Options))
	}
	test.Type(bd.deadline, "2026-12-31")
	test.Tap(bd.ok)
	if !strings.Contains(bd.errLine.Text, u.T("breachui.reason_required")) {
		t.Fatalf("no reason: %q", bd.errLine.Text)
	}
	if c, _ := u.st.Commitment(ref); c.Status != domain.StatusInProgress {
		t.Fatalf("a refused form changed the status to %s", c.Status)
	}
	test.Type(bd.reason, "逾期三个月未走访，经核查属实")
	test.Type(bd.explanation, "已收到镇民政办书面说明")
	test.Tap(bd.ok)
	if bd.errLine.Text != "" {
		t.Fatalf("refused: %q", bd.errLine.Text)
	}
	recs, err := u.st.DishonestyRecords(store.DishonestyFilter{Commitment: &ref})
	if err != nil || len(recs) != 1 {
		t.Fatalf("records %+v %v", recs, err)
	}
	return recs[0].ID
}

// TestBreachConfirmDialog: the admin confirms one through the dialog; the commitment is
// breached, the record made, and the action gone.
func TestBreachConfirmDialog(t *testing.T) {
	u, town, ref := breachFixture(t)

	id := confirmBreachUI(t, u, ref)
	c, err := u.st.Commitment(ref)
	if err != nil || c.Status != domain.StatusBreached {
		t.Fatalf("status %s %v", c.Status, err)
	}
	rec, err := u.st.DishonestyRecord(ref.Office, id)
	if err != nil || rec.Official != "王建国" || rec.Deadline != "2026-12-31" || rec.Explanation != "已收到镇民政办书面说明" {
		t.Fatalf("record %+v %v", rec, err)
	}
	if p, _ := u.st.Pending(); p.PendingOps != 2 {
		t.Fatalf("pending %+v, want the transition and the record", p)
	}
	if findButton(u.main.detail.content, u.T("breachui.action")) != nil {
		t.Fatal("the breach action stays after the record")
	}
	exchangeSessions(t, town, u.se)
	if recs, _ := town.Store().DishonestyRecords(store.DishonestyFilter{}); len(recs) != 1 || recs[0].ID != id {
		t.Fatalf("township replica: %+v", recs)
	}
}

type memFile struct {
	bytes.Buffer
	closed bool
}

func (m *memFile) Close() error { m.closed = true; return nil }

// TestBreachRecordsTab: the confirmed record shows in 失信记录, flagged
// once its rectification is overdue; the explanation, rectification (with
// evidence) and credit repair are taken from the tab; the export writes a
// workbook.
func TestBreachRecordsTab(t *testing.T) {
	u, town, ref := breachFixture(t)
	id := confirmBreachUI(t, u, ref)
	adm := u.main.admin
	b := adm.breach
	u.main.tabs.Select(b.tab)
	if len(b.list.Rows) != 1 || !containsText(b.box, "每月走访独居老人") || !containsText(b.box, "赤土店镇") || !containsText(b.box, "王建国") {
		t.Fatalf("records tab: %+v", b.list.Rows)
	}
	if containsText(b.box, "整改已逾期") {
		t.Fatal("flagged overdue before its deadline")
	}
	u.bg.now = func() time.Time { return time.Date(2027, 1, 5, 10, 0, 0, 0, time.Local) }
	b.load()
	if !containsText(b.box, u.T("breachui.list.overdue", 5)) {
		t.Fatal("overdue rectification not flagged")
	}
	if findButton(b.box, u.T("breachui.next.repaired")) != nil {
		t.Fatal("credit repair offered before rectification")
	}

	sd := b.openStep(b.list.Rows[0], domain.StepExplained)
	test.Type(sd.reason, "收到书面说明")
	test.Tap(sd.ok)
	if sd.errLine.Text != u.T("breachui.step.explanation_required") {
		t.Fatalf("no explanation: %q", sd.errLine.Text)
	}
	test.Type(sd.explanation, "人员调整导致遗漏")
	test.Tap(sd.ok)
	if sd.errLine.Text != "" || b.list.Rows[0].Step != domain.StepExplained {
		t.Fatalf("explanation: %q %+v", sd.errLine.Text, b.list.Rows[0])
	}

	sd = b.openStep(b.list.Rows[0], domain.StepRectified)
	test.Type(sd.reason, "已补走访并建立台账")
	test.Tap(sd.ok)
	if sd.errLine.Text != u.T("breachui.step.evidence_required") {
		t.Fatalf("no evidence: %q", sd.errLine.Text)
	}
	b.attach(sd, "整改报告.pdf", strings.NewReader("%PDF 整改报告"))
	if !strings.Contains(sd.files.Text, "整改报告.pdf") {
		t.Fatalf("files %q", sd.files.Text)
	}
	test.Tap(sd.ok)
	if sd.errLine.Text != "" || b.list.Rows[0].Step != domain.StepRectified || containsText(b.box, "整改已逾期") {
		t.Fatalf("rectification: %q %+v", sd.errLine.Text, b.list.Rows[0])
	}

	sd = b.openStep(b.list.Rows[0], domain.StepRepaired)
	test.Type(sd.reason, "信用修复")
	b.attach(sd, "修复决定.jpg", strings.NewReader("JPEG"))
	test.Tap(sd.ok)
	if sd.errLine.Text != "" || !b.list.Rows[0].Closed || !containsText(b.box, u.T("breachui.list.closed")) {
		t.Fatalf("repair: %q %+v", sd.errLine.Text, b.list.Rows[0])
	}

	var out memFile
	b.export(&out)
	if !out.closed || !bytes.HasPrefix(out.Bytes(), []byte("PK")) || adm.status.Text != u.T("breachui.export.done") {
		t.Fatalf("export: closed %v, %d bytes, status %q", out.closed, out.Len(), adm.status.Text)
	}

	exchangeSessions(t, town, u.se)
	rec, err := town.Store().DishonestyRecord(ref.Office, id)
	if err != nil || !rec.Closed || len(rec.History) != 4 {
		t.Fatalf("township replica: %+v %v", rec, err)
	}
}

// startBreachCounty starts a real county server of the test county on
// loopback and returns the settings of a device enrolled with it.
func startBreachCounty(t *testing.T) *store.SyncSettings {
	t.Helper()
	_, base := startTestCounty(t)
	return &store.SyncSettings{BaseURL: base.BaseURL, Fingerprint: base.Fingerprint, County: adminTestCounty}
}

// TestIncidentAckScreen: a refused sign-in is an incident; the admin
// acknowledges it from 安全事件 with a note (required); the row then says
// who acknowledged it and the button is gone.
func TestIncidentAckScreen(t *testing.T) {
	u := newAdminTestUI(t, startBreachCounty(t))
	adm := u.main.admin
	f := adm.logins[0]
	test.Type(f.pass, "错误的口令")
	test.Tap(f.button)
	f.pass.SetText("")
	test.Type(f.pass, adminTestPass)
	test.Tap(f.button)
	if adm.client == nil {
		t.Fatalf("sign-in refused: %q", f.errLine.Text)
	}
	u.main.tabs.Select(adm.tabIncidents)
	if len(adm.incidents.Rows) != 1 || findButton(adm.incidentsBox, u.T("breachui.incidents.ack")) == nil {
		t.Fatalf("incidents %+v", adm.incidents.Rows)
	}
	rd := adm.openAck(adm.incidents.Rows[0])
	test.Tap(rd.ok)
	if rd.errLine.Text != u.T("adminui.reason_required") {
		t.Fatalf("no note: %q", rd.errLine.Text)
	}
	test.Type(rd.reason, "已核实：管理员输错口令")
	test.Tap(rd.ok)
	if rd.errLine.Text != "" || !adm.incidents.Rows[0].Acked {
		t.Fatalf("ack: %q %+v", rd.errLine.Text, adm.incidents.Rows)
	}
	if findButton(adm.incidentsBox, u.T("breachui.incidents.ack")) != nil || !containsText(adm.incidentsBox, adminTestName) ||
		!containsText(adm.incidentsBox, "管理员输错口令") {
		t.Fatal("the acknowledged incident does not say so")
	}
}

// TestOverviewTabServerAndExport: before signing in to the admin API the
// overview comes from the replica, after it from the county server; both
// export to Excel.
func TestOverviewTabServerAndExport(t *testing.T) {
	u := newAdminTestUI(t, startBreachCounty(t))
	adm := u.main.admin
	u.main.tabs.Select(adm.tabOverview)
	if !containsText(adm.overviewBox, u.T("breachui.overview.local")) || !containsText(adm.overviewBox, "赤土店镇") {
		t.Fatal("local overview not shown")
	}
	if findButton(adm.overviewBox, u.T("breachui.export")) == nil {
		t.Fatal("no export button")
	}
	var local memFile
	adm.exportOverview(&local)
	if !local.closed || !bytes.HasPrefix(local.Bytes(), []byte("PK")) {
		t.Fatalf("local export: %v %d bytes", local.closed, local.Len())
	}

	f := adm.logins[0]
	test.Type(f.pass, adminTestPass)
	test.Tap(f.button)
	if adm.client == nil {
		t.Fatalf("sign-in refused: %q", f.errLine.Text)
	}
	adm.loadOverview()
	if adm.ovx.server == nil || !containsText(adm.overviewBox, u.T("breachui.overview.server", adm.ovx.server.Today.String())) {
		t.Fatalf("server overview not shown; status %q", adm.status.Text)
	}
	var srv memFile
	adm.exportOverview(&srv)
	if !srv.closed || !bytes.HasPrefix(srv.Bytes(), []byte("PK")) || adm.status.Text != u.T("breachui.export.done") {
		t.Fatalf("server export: %v %d bytes %q", srv.closed, srv.Len(), adm.status.Text)
	}
}

// TestBreachUIKeysExist: every "breachui." and "caseui." key literal of
// the screens (the breach dialog, dishonesty records, incidents, overview,
// cases) exists in both languages (the vm package checks its own).
func TestBreachUIKeysExist(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, lang := range []string{"zh-Hans", "en"} {
		tr := assets.NewTranslator(lang)
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(nd ast.Node) bool {
				if lit, ok := nd.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil && (strings.HasPrefix(s, "breachui.") || strings.HasPrefix(s, "caseui.")) && !strings.HasSuffix(s, ".") {
						n++
						if got := tr.T(s); got == s || got == "" {
							t.Errorf("%s lacks %q", lang, s)
						}
					}
				}
				return true
			})
		}
	}
	if n < 20 {
		t.Fatalf("only %d breachui keys found", n)
	}
}
