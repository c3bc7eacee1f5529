package store

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/sync/protocol"
)

// yearFigures are figures that add up, for reports in tests.
var yearFigures = []protocol.ReportFigure{{Category: string(domain.CatElderlyCare), Total: 2, OnTime: 1, Open: 1}}

// TestUrgeLifecycle: a county admin urges the township about a
// commitment; the urge reaches the township's devices and shows unread
// until a clerk reads it; the read receipt travels back and the county
// sees who read it, when, and what was done after; reading again signs
// nothing more; an urge about the annual report is followed up by the
// report.
func TestUrgeLifecycle(t *testing.T) {
	w := newCaseWorld(t)
	id, err := w.admin.se.Urge(UrgeInput{Commitment: w.ref, Note: "请本周内更新践诺记录。"})
	must(t, err)
	w.send(t, w.admin)
	for _, r := range []*replica{w.leader, w.staff} {
		unread, err := r.Urges(UrgeFilter{Office: township, UnreadOnly: true})
		must(t, err)
		if len(unread) != 1 || unread[0].ID != id || unread[0].Note != "请本周内更新践诺记录。" || *unread[0].Commitment != w.ref {
			t.Fatalf("unread urges on a township device: %+v", unread)
		}
	}
	must(t, w.staff.se.ReadUrge(id))
	if p, _ := w.staff.Pending(); p.PendingOps != 1 {
		t.Fatalf("the read receipt is not queued: %+v", p)
	}
	must(t, w.staff.se.ReadUrge(id)) // once is enough
	if p, _ := w.staff.Pending(); p.PendingOps != 1 {
		t.Fatalf("a second reading signed again: %+v", p)
	}
	w.send(t, w.staff)
	_, err = w.leader.se.LogFulfilment(w.ref, EntryInput{Date: calendar.NewDate(2026, 10, 9), Progress: 60, Note: "已走访42户"})
	must(t, err)
	w.send(t, w.leader)

	u, err := w.admin.Urge(township, id)
	must(t, err)
	if !u.Read || u.ReadBy != "user" || u.ReadAt == 0 || u.ReadAt <= u.At || u.Receipts != 1 {
		t.Fatalf("the county's view of the urge: %+v", u)
	}
	follow, err := w.admin.FollowUps(&u)
	must(t, err)
	if len(follow) != 1 || follow[0].Kind != "fulfil" || follow[0].Progress != 60 || follow[0].Note != "已走访42户" {
		t.Fatalf("follow-ups: %+v", follow)
	}
	if unread, _ := w.leader.Urges(UrgeFilter{UnreadOnly: true}); len(unread) != 0 {
		t.Fatalf("still unread on the leader's device: %+v", unread)
	}

	// About the annual report: followed up by the report.
	rid, err := w.admin.se.Urge(UrgeInput{Office: township, Year: 2026, Note: "请按时报送年度报告。"})
	must(t, err)
	w.send(t, w.admin)
	_, err = w.leader.se.SubmitAnnualReport(ReportInput{Year: 2026, AsOf: calendar.NewDate(2026, 9, 30), Narrative: "年度总结。", Figures: yearFigures})
	must(t, err)
	w.send(t, w.leader)
	ru, err := w.admin.Urge(township, rid)
	must(t, err)
	follow, err = w.admin.FollowUps(&ru)
	must(t, err)
	if ru.Read || ru.Year != 2026 || len(follow) != 1 || follow[0].Kind != "annual_report" {
		t.Fatalf("report urge %+v, follow-ups %+v", ru, follow)
	}
	if got, _ := w.admin.Urges(UrgeFilter{Year: 2026}); len(got) != 1 || got[0].ID != rid {
		t.Fatalf("urges about the 2026 report: %+v", got)
	}
}

// TestUrgeRefusals: only a county admin urges, about something that has
// arrived; only the township reads; what is refused changes nothing.
func TestUrgeRefusals(t *testing.T) {
	w := newCaseWorld(t)
	note := "请尽快办理。"
	if err := refused(t, "leader urges", w.leader, nil, func(se *Session) error {
		_, err := se.Urge(UrgeInput{Commitment: w.ref, Note: note})
		return err
	}); !errors.Is(err, domain.ErrNotAllowed) {
		t.Errorf("a township leader urges: %v", err)
	}
	unknown := Ref{Office: township, ID: protocol.NewEntityID()}
	if err := refused(t, "unknown commitment", w.admin, nil, func(se *Session) error {
		_, err := se.Urge(UrgeInput{Commitment: unknown, Note: note})
		return err
	}); !errors.Is(err, ErrNotFound) {
		t.Errorf("urge about an unknown commitment: %v", err)
	}
	if err := refused(t, "blank note", w.admin, nil, func(se *Session) error {
		_, err := se.Urge(UrgeInput{Commitment: w.ref, Note: " "})
		return err
	}); !errors.Is(err, domain.ErrInvalidValue) {
		t.Errorf("urge without a note: %v", err)
	}
	if err := refused(t, "report urge to the county", w.admin, nil, func(se *Session) error {
		_, err := se.Urge(UrgeInput{Office: county, Year: 2026, Note: note})
		return err
	}); !errors.Is(err, domain.ErrInvalidValue) {
		t.Errorf("urge about the county's own report: %v", err)
	}
	if err := refused(t, "unknown case", w.admin, nil, func(se *Session) error {
		_, err := se.Urge(UrgeInput{Commitment: w.ref, Case: protocol.NewEntityID(), Note: note})
		return err
	}); !errors.Is(err, ErrNotFound) {
		t.Errorf("urge about an unknown case: %v", err)
	}
	id, err := w.admin.se.Urge(UrgeInput{Commitment: w.ref, Note: note})
	must(t, err)
	if err := refused(t, "admin reads", w.admin, nil, func(se *Session) error { return se.ReadUrge(id) }); !errors.Is(err, domain.ErrNotAllowed) {
		t.Errorf("the county admin reads its own urge: %v", err)
	}
	if err := refused(t, "not arrived", w.staff, nil, func(se *Session) error { return se.ReadUrge(id) }); !errors.Is(err, ErrNotFound) {
		t.Errorf("reading an urge not arrived: %v", err)
	}
}

// TestAnnualReportVersions: the leader submits the year's report and a
// corrected one, which supersedes it with both kept; staff may not; the
// county compiles its report from the township's; every replica agrees.
func TestAnnualReportVersions(t *testing.T) {
	w := newCaseWorld(t)
	in := ReportInput{Year: 2026, AsOf: calendar.NewDate(2026, 9, 30), Narrative: "第一稿。", Notable: []Ref{w.ref}, Figures: yearFigures}
	if err := refused(t, "staff reports", w.staff, nil, func(se *Session) error {
		_, err := se.SubmitAnnualReport(in)
		return err
	}); !errors.Is(err, domain.ErrNotAllowed) {
		t.Errorf("staff submits the report: %v", err)
	}
	bad := in
	bad.Notable = []Ref{{Office: township, ID: protocol.NewEntityID()}}
	if err := refused(t, "unknown notable", w.leader, nil, func(se *Session) error {
		_, err := se.SubmitAnnualReport(bad)
		return err
	}); !errors.Is(err, ErrNotFound) {
		t.Errorf("a notable commitment not arrived: %v", err)
	}
	_, err := w.leader.se.SubmitAnnualReport(in)
	must(t, err)
	in.Narrative = "第二稿：补充了走访数据。"
	v2, err := w.leader.se.SubmitAnnualReport(in)
	must(t, err)
	w.send(t, w.leader)
	for _, r := range []*replica{w.staff, w.admin} {
		rep, err := r.AnnualReportOf(township, 2026)
		must(t, err)
		if rep.Version != 2 || len(rep.History) != 2 || rep.Current.Narrative != "第二稿：补充了走访数据。" || rep.History[0].Narrative != "第一稿。" ||
			rep.Current.Op != v2 || len(rep.Current.Notable) != 1 || rep.Current.Notable[0] != w.ref || rep.FirstAt != rep.History[0].HLC {
			t.Fatalf("the report on another replica: %+v", rep)
		}
	}
	// The county compiles: a source must be a township's report of the year.
	cin := ReportInput{Year: 2026, AsOf: calendar.NewDate(2026, 9, 30), Narrative: "全县汇总。", Notable: []Ref{w.ref}, Figures: yearFigures,
		Sources: []protocol.OpID{{Device: v2.Device, Num: v2.Num + 100}}}
	if err := refused(t, "unknown source", w.admin, nil, func(se *Session) error {
		_, err := se.SubmitAnnualReport(cin)
		return err
	}); !errors.Is(err, ErrNotFound) {
		t.Errorf("compiling a report that is not there: %v", err)
	}
	cin.Sources = []protocol.OpID{v2}
	_, err = w.admin.se.SubmitAnnualReport(cin)
	must(t, err)
	w.send(t, w.admin)
	all, err := w.admin.AnnualReports(ReportFilter{Year: 2026})
	must(t, err)
	if len(all) != 2 || all[0].Office != county || all[1].Office != township || all[0].Current.Sources[0] != v2 {
		t.Fatalf("reports of 2026 on the admin device: %+v", all)
	}
	if got, _ := w.leader.AnnualReports(ReportFilter{Office: township}); len(got) != 1 {
		t.Fatalf("the township's reports: %+v", got)
	}
	if digest(t, w.admin.Store) != digest(t, w.server.Store) {
		t.Fatal("the admin device and the county differ")
	}
}

// TestYearConvergence: urges, receipts and report versions arrive in any
// order (a receipt before its urge) and every replica derives the same.
func TestYearConvergence(t *testing.T) {
	w := newCaseWorld(t)
	id, err := w.admin.se.Urge(UrgeInput{Commitment: w.ref, Note: "请更新进度。"})
	must(t, err)
	w.send(t, w.admin)
	must(t, w.staff.se.ReadUrge(id))
	must(t, w.leader.se.ReadUrge(id)) // both read it before either heard of the other
	w.send(t, w.staff)
	for _, n := range []string{"一稿", "二稿"} {
		_, err := w.leader.se.SubmitAnnualReport(ReportInput{Year: 2026, AsOf: calendar.NewDate(2026, 9, 30), Narrative: n, Figures: yearFigures})
		must(t, err)
	}
	w.send(t, w.leader)
	want := digest(t, w.admin.Store)
	streams := [][][]byte{w.sent[w.leader], w.sent[w.staff], w.sent[w.admin]}
	for seed := range uint64(5) {
		fresh := newReplica(t, township, domain.RoleStaff)
		introduce(t, w.leader, w.staff, w.admin, fresh)
		order := interleave(rand.New(rand.NewPCG(seed, seed*7)), streams, true)
		if seed == 0 {
			// The receipts first: the urge is not there yet.
			order = slices.Concat(streams[1], streams[0], streams[2])
		}
		for i, raw := range order {
			deliver(t, fresh, raw)
			if seed == 0 && i == len(streams[1])-1 {
				if _, err := fresh.Urge(township, id); !errors.Is(err, ErrNotFound) {
					t.Fatalf("an urge shown before it arrived: %v", err)
				}
			}
		}
		if digest(t, fresh.Store) != want {
			t.Fatalf("seed %d: digest differs", seed)
		}
		u, err := fresh.Urge(township, id)
		must(t, err)
		rep, err := fresh.AnnualReportOf(township, 2026)
		must(t, err)
		if !u.Read || u.Receipts != 2 || rep.Version != 2 || rep.Current.Narrative != "二稿" {
			t.Fatalf("seed %d: urge %+v, report %+v", seed, u, rep)
		}
	}
}

// TestCheckCatchesBrokenYear: a report view that differs from its
// versions, and a receipt without its operation, are reported.
func TestCheckCatchesBrokenYear(t *testing.T) {
	r := newReplica(t, township, domain.RoleLeader)
	_, err := r.se.SubmitAnnualReport(ReportInput{Year: 2026, AsOf: calendar.NewDate(2026, 9, 30), Narrative: "总结。", Figures: yearFigures})
	must(t, err)
	must(t, r.db.Update(func(tx *bolt.Tx) error {
		rk := reportKey(township, 2026)
		rep, err := deriveReport(tx, rk)
		if err != nil {
			return err
		}
		rep.Current.Narrative = "改过的。"
		return tx.Bucket(bReports).Put(refKey(rk), marshal(rep))
	}))
	if err := r.Check(); !errors.Is(err, ErrInvariant) {
		t.Fatalf("Check of a tampered report: %v", err)
	}
	must(t, r.db.Update(func(tx *bolt.Tx) error {
		rk := reportKey(township, 2026)
		rep, err := deriveReport(tx, rk)
		if err != nil {
			return err
		}
		return tx.Bucket(bReports).Put(refKey(rk), marshal(rep))
	}))
	must(t, r.Check())
}
