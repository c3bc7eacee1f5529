package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// TestYearCommands: the county admin urges a township about a commitment
// from the command line; the township's device reads it and logs an
// entry; urges (and urges -json) show who read it and what was done
// after; reports lists who submitted; report remind urges the one that
// did not; report compile signs the county's; report show and export
// print and write them; wrong command lines say so.
func TestYearCommands(t *testing.T) {
	h := newHarness(t)
	id := h.init()
	addr := h.serve()
	base := engine.Server{BaseURL: "https://" + addr, Fingerprint: id.Fingerprint}
	admin := h.adminArgs(base)
	town := h.device(base, "410324101", domain.RoleLeader, admin)
	late := h.device(base, "410324102", domain.RoleLeader, admin)
	ref := town.publish()
	town.sync()
	late.sync()

	h.must(2, admin("urge", "-office", "410324101", "-commitment", ref.ID.String())...)
	h.must(2, admin("urge", "-office", "410324101", "-note", "请办理")...)
	h.must(2, admin("urge", "-office", "410324101", "-commitment", ref.ID.String(), "-year", "2026", "-note", "请办理")...)
	r := h.must(1, admin("urge", "-office", "410324101", "-commitment", protocol.NewEntityID().String(), "-note", "请办理")...)
	if !strings.Contains(r.stderr, "not_found") {
		t.Errorf("urge about an unknown commitment: %s", r.stderr)
	}
	r = h.must(0, admin("urge", "-office", "410324101", "-commitment", ref.ID.String(), "-note", "请本周内更新践诺记录。")...)
	if !strings.Contains(r.stdout, "窗口午间值守") || !strings.Contains(r.stdout, "zhangwei") {
		t.Errorf("urge:\n%s", r.stdout)
	}
	if r := h.must(0, admin("urges", "-unread")...); !strings.Contains(r.stdout, "未读 unread") || !strings.Contains(r.stdout, "1 urges, 1 unread") {
		t.Errorf("urges -unread:\n%s", r.stdout)
	}
	town.sync()
	unread, _ := town.st.Urges(store.UrgeFilter{UnreadOnly: true})
	if len(unread) != 1 {
		t.Fatalf("the urge on the township's device: %+v", unread)
	}
	if err := town.se.ReadUrge(unread[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := town.se.LogFulfilment(ref, store.EntryInput{Date: calendar.NewDate(2026, 11, 20), Progress: 50, Note: "已安排值守"}); err != nil {
		t.Fatal(err)
	}
	town.sync()
	r = h.must(0, admin("urges")...)
	for _, want := range []string{"410324101", "user", "1: 践诺记录 entry", "1 urges, 0 unread"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("urges lacks %q:\n%s", want, r.stdout)
		}
	}
	r = h.must(0, admin("urges", "-json")...)
	var list countyapi.UrgeList
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list.Urges) != 1 || !list.Urges[0].Read || len(list.Urges[0].FollowUps) != 1 {
		t.Fatalf("urges -json: %v\n%s", err, r.stdout)
	}

	// The annual reports.
	if _, err := town.se.SubmitAnnualReport(store.ReportInput{Year: 2026, AsOf: calendar.NewDate(2026, 11, 30), Narrative: "2026年按期践诺。",
		Figures: []protocol.ReportFigure{{Category: string(domain.CatConvenience), Total: 1, Open: 1}}}); err != nil {
		t.Fatal(err)
	}
	town.sync()
	r = h.must(0, admin("reports", "-year", "2026")...)
	for _, want := range []string{"截止 due 2027-01-05", "按时报送 on time", "尚未报送 pending", "1 of 2 submitted", "not compiled yet"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("reports lacks %q:\n%s", want, r.stdout)
		}
	}
	r = h.must(0, admin("report", "remind", "-year", "2026")...)
	if !strings.Contains(r.stdout, "410324102") || !strings.Contains(r.stdout, "1 offices reminded") {
		t.Errorf("report remind:\n%s", r.stdout)
	}
	late.sync()
	if got, _ := late.st.Urges(store.UrgeFilter{Year: 2026}); len(got) != 1 || !strings.Contains(got[0].Note, "2027-01-05") {
		t.Fatalf("the reminder on the late township's device: %+v", got)
	}
	h.must(2, admin("report", "compile", "-year", "2026")...)
	narrative := filepath.Join(t.TempDir(), "narrative.txt")
	if err := os.WriteFile(narrative, []byte("全县2026年度践诺情况良好。\n一是……"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = h.must(0, admin("report", "compile", "-year", "2026", "-narrative", narrative, "-notable", "410324101/"+ref.ID.String())...)
	if !strings.Contains(r.stdout, "version 1") || !strings.Contains(r.stdout, "1 个乡镇报告") {
		t.Errorf("report compile:\n%s", r.stdout)
	}
	r = h.must(0, admin("report", "show", "410324", "-year", "2026")...)
	for _, want := range []string{"全县2026年度践诺情况良好。", "zhangwei", "VERSIONS"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("report show lacks %q:\n%s", want, r.stdout)
		}
	}
	out := filepath.Join(t.TempDir(), "栾川县2026.pdf")
	h.must(0, admin("report", "export", "410324", "-year", "2026", "-o", out)...)
	if b, err := os.ReadFile(out); err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("exported PDF: %v", err)
	}
	h.must(2, admin("report", "export", "410324", "-year", "2026", "-o", "x.doc")...)
	h.must(2, admin("report", "frob")...)
	h.must(1, admin("report", "show", "410324102", "-year", "2026")...)
}
