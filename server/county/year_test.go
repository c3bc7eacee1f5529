package county_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// The office's year at the county: urges from the admin API and from a
// county-admin desktop device reach the township's devices through the
// feed, their read receipts come back, and the county sees who read them
// when and what was done after; the townships' annual reports arrive,
// refused when a staff account or another office signs them; the county
// lists who submitted, reminds the others and compiles its own.

// TestUrgeTravels: an urge sent through the admin API (signed by the
// server's device in the admin's name) and one from the county admin's
// desktop device reach a clerk's device of the township by sync; the
// clerk reads them, the read receipts travel back; the leader's later
// fulfilment entry is what the county sees done after; the admin device
// sees the same. Bad urges are refused and change nothing.
func TestUrgeTravels(t *testing.T) {
	h := newHarness(t)
	leader := h.device(townA, domain.RoleLeader)
	clerk := h.device(townA, domain.RoleStaff)
	admin := h.device(countyCode, domain.RoleCountyAdmin)
	ref := leader.published("窗口午间值守")
	api := h.apiClient(t)
	ctx := context.Background()

	before := h.replicaSnapshot(t)
	for _, bad := range []struct {
		name   string
		req    countyapi.UrgeRequest
		code   protocol.Code
		status int
	}{
		{"no note", countyapi.UrgeRequest{Office: townA, Commitment: ref.ID.String(), Note: " "}, protocol.CodeInvalidOperation, http.StatusBadRequest},
		{"another county", countyapi.UrgeRequest{Office: "410325100", Commitment: ref.ID.String(), Note: "请办理"}, protocol.CodeOutOfScope, http.StatusBadRequest},
		{"an unknown commitment", countyapi.UrgeRequest{Office: townA, Commitment: protocol.NewEntityID().String(), Note: "请办理"}, protocol.CodeNotFound, http.StatusNotFound},
		{"an unknown case", countyapi.UrgeRequest{Case: "TS20261207-00000000", Note: "请办理"}, protocol.CodeNotFound, http.StatusNotFound},
		{"a report of the county itself", countyapi.UrgeRequest{Office: countyCode, Year: 2026, Note: "请报送"}, protocol.CodeInvalidOperation, http.StatusBadRequest},
	} {
		_, err := api.Urge(ctx, bad.req)
		wantCode(t, bad.name, err, bad.code, bad.status)
	}
	h.wantUnchanged(t, before)

	sent, err := api.Urge(ctx, countyapi.UrgeRequest{Office: townA, Commitment: ref.ID.String(), Note: "请本周内更新践诺记录。"})
	if err != nil {
		t.Fatal(err)
	}
	if sent.Read || sent.By != "admin" || sent.Title != "窗口午间值守" || sent.Pos == 0 {
		t.Fatalf("the urge sent: %+v", sent)
	}
	admin.sync()
	fromDesk, err := admin.se.Urge(store.UrgeInput{Commitment: ref, Note: "县信用办：请于月底前办结。"})
	if err != nil {
		t.Fatal(err)
	}
	admin.sync()

	clerk.sync()
	unread, err := clerk.st.Urges(store.UrgeFilter{UnreadOnly: true})
	if err != nil || len(unread) != 2 {
		t.Fatalf("unread on the clerk's device: %+v %v", unread, err)
	}
	for _, u := range unread {
		if err := clerk.se.ReadUrge(u.ID); err != nil {
			t.Fatal(err)
		}
	}
	clerk.sync()
	if _, err := leader.se.LogFulfilment(ref, store.EntryInput{Date: calendar.NewDate(2026, 11, 20), Progress: 50, Note: "已安排值守人员"}); err != nil {
		t.Fatal(err)
	}
	leader.sync()

	list, err := api.Urges(ctx, countyapi.UrgeQuery{Office: townA})
	if err != nil || len(list.Urges) != 2 {
		t.Fatalf("urges at the county: %+v %v", list, err)
	}
	for _, u := range list.Urges {
		if !u.Read || u.ReadBy != "user" || u.ReadAt <= u.At || len(u.FollowUps) != 1 || u.FollowUps[0].Kind != "fulfil" || u.FollowUps[0].Progress != 50 {
			t.Fatalf("an urge at the county: %+v", u)
		}
	}
	if list.Urges[0].ID != fromDesk || list.Urges[0].By != "user" || list.Urges[1].ID != sent.ID {
		t.Fatalf("urges newest first: %+v", list.Urges)
	}
	if unread, _ := api.Urges(ctx, countyapi.UrgeQuery{UnreadOnly: true}); len(unread.Urges) != 0 {
		t.Fatalf("unread at the county: %+v", unread)
	}
	// The county admin's desktop device sees the same.
	admin.sync()
	u, err := admin.st.Urge(townA, sent.ID)
	if err != nil || !u.Read {
		t.Fatalf("on the admin device: %+v %v", u, err)
	}
	if f, _ := admin.st.FollowUps(&u); len(f) != 1 {
		t.Fatalf("follow-ups on the admin device: %+v", f)
	}
	// Signed by the server's device as the admin, audited.
	raws, err := h.srv.Store().ChangeSets(h.srv.ServerDevice(), 0, 0)
	if err != nil || len(raws) != 1 {
		t.Fatalf("the server device's change sets: %d %v", len(raws), err)
	}
	if cs, err := protocol.Decode(raws[0]); err != nil || cs.Author != "admin" || cs.Ops[0].Kind != protocol.OpUrge || cs.Ops[0].Office != townA {
		t.Fatalf("the urge's change set: %+v %v", cs, err)
	}
	audit, err := api.Audit(ctx)
	if err != nil || !audit.Verified || !slices.ContainsFunc(audit.Entries, func(e countyapi.AuditEntry) bool { return e.Action == "urge" && e.Who == "admin" }) {
		t.Fatalf("audit: %+v %v", audit, err)
	}
}

// TestAnnualReportsAtCounty: a township leader's report reaches the
// county; reports signed by a staff account or for another office are
// refused; the county lists who submitted, reminds the one that did not
// (an urge the township receives), compiles its report from the
// township's, and exports it as PDF and Excel.
func TestAnnualReportsAtCounty(t *testing.T) {
	h := newHarness(t)
	leader := h.device(townA, domain.RoleLeader)
	other := h.device(townB, domain.RoleLeader)
	ref := leader.published("窗口午间值守")
	other.published("农村道路养护")
	api := h.apiClient(t)
	ctx := context.Background()

	// Refused at the county: a staff author, another office.
	raw := h.rawEnrolled(t, townA)
	rc, _ := h.connectRaw(t, raw)
	report := func(o office.Code) protocol.Op {
		return protocol.Op{Kind: protocol.OpAnnualReport, Office: o, Report: &protocol.AnnualReport{Year: 2026, AsOf: calendar.NewDate(2026, 12, 31),
			Narrative: "全年按期践诺。"}}
	}
	before := h.replicaSnapshot(t)
	staff := raw.build(1, protocol.Hash{}, 1, func(cs *protocol.ChangeSet) { cs.AuthorRole = domain.RoleStaff }, report(townA))
	rc.push(staff)
	rc.wantRefused(protocol.CodeNotAuthorized)
	rc.push(raw.build(1, protocol.Hash{}, 1, nil, report(townB)))
	rc.wantRefused(protocol.CodeOutOfScope)
	h.wantUnchanged(t, before)

	// The leader submits; the list says so.
	in := store.ReportInput{Year: 2026, AsOf: calendar.NewDate(2026, 11, 30), Narrative: "2026年按期践诺。", Notable: []store.Ref{ref},
		Figures: []protocol.ReportFigure{{Category: string(domain.CatConvenience), Total: 1, Open: 1}}}
	if _, err := leader.se.SubmitAnnualReport(in); err != nil {
		t.Fatal(err)
	}
	leader.sync()
	st, err := api.Reports(ctx, 2026)
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, o := range st.Offices {
		status[string(o.Office)] = o.Status
	}
	if st.Deadline != "2027-01-05" || status[string(townA)] != countyapi.ReportOnTime || status[string(townB)] != countyapi.ReportPending || st.County != nil {
		t.Fatalf("report statuses: %+v", st)
	}
	// A reminder to the one that has not: an urge about the report.
	sent, err := api.RemindReports(ctx, countyapi.ReportRemind{Year: 2026})
	if err != nil || len(sent.Urges) != 1 || sent.Urges[0].Office != townB || sent.Urges[0].Year != 2026 {
		t.Fatalf("reminders: %+v %v", sent, err)
	}
	other.sync()
	if got, _ := other.st.Urges(store.UrgeFilter{UnreadOnly: true, Year: 2026}); len(got) != 1 {
		t.Fatalf("the reminder on the township's device: %+v", got)
	}
	if st, _ := api.Reports(ctx, 2026); st.Offices[0].Office != townB || st.Offices[0].Reminders != 1 {
		t.Fatalf("after the reminder: %+v", st.Offices)
	}

	// The county compiles its own.
	comp, err := api.CompileReport(ctx, countyapi.ReportCompile{Year: 2026, Narrative: "全县2026年度践诺情况良好。", Notable: []store.Ref{ref}})
	if err != nil {
		t.Fatal(err)
	}
	town, _ := api.Report(ctx, townA, 2026)
	if comp.Report.Office != countyCode || comp.Report.Version != 1 || len(comp.Report.Current.Sources) != 1 || comp.Report.Current.Sources[0] != town.Current.Op ||
		comp.Report.Current.Author != "admin" || len(comp.Report.Current.Figures) == 0 {
		t.Fatalf("compiled: %+v", comp.Report)
	}
	pdf, err := api.ExportReport(ctx, countyCode, 2026, "pdf", "zh")
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("the county's PDF: %d bytes, %v", len(pdf), err)
	}
	xlsx, err := api.ExportReport(ctx, townA, 2026, "xlsx", "en")
	if err != nil || !bytes.HasPrefix(xlsx, []byte("PK")) {
		t.Fatalf("the township's workbook: %d bytes, %v", len(xlsx), err)
	}
	_, err = api.ExportReport(ctx, townB, 2026, "pdf", "zh")
	wantCode(t, "no report yet", err, protocol.CodeNotFound, http.StatusNotFound)
	_, err = api.ExportReport(ctx, townA, 2026, "docx", "zh")
	var ae *countyapi.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
		t.Fatalf("a format not offered: %v", err)
	}
}
