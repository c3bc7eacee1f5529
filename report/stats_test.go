package report

import (
	"slices"
	"testing"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

const (
	townA office.Code = "410324101" // 赤土店镇
	townB office.Code = "410324100"
)

var cal = calendar.Default()

func date(s string) calendar.Date {
	d, err := calendar.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// today is a Wednesday; 2026-11-26 (Thu), 27 (Fri), 30 (Mon), 12-01 (Tue),
// 12-02 (Wed) are the next five working days.
var today = date("2026-11-25")

var nextID byte

// mk builds a commitment view by hand, as the store would return it.
// Options tweak it.
func mk(cat domain.Category, st domain.Status, start, deadline string, opts ...func(*store.Commitment)) store.Commitment {
	nextID++
	c := store.Commitment{
		Ref:         store.Ref{Office: townA, ID: protocol.EntityID{0: nextID}},
		Created:     true,
		Category:    cat,
		Title:       "事项" + string(rune('A'+nextID%26)),
		Text:        "承诺内容",
		Responsible: "张三",
		StartDate:   start,
		Deadline:    deadline,
		Public:      true,
		Status:      st,
		Version:     1,
	}
	for _, o := range opts {
		o(&c)
	}
	return c
}

func entry(d string, progress int) func(*store.Commitment) {
	return func(c *store.Commitment) {
		c.Entries++
		c.Progress = progress
		c.LastEntry = &store.EntryPointer{Date: date(d)}
	}
}

func in(o office.Code) func(*store.Commitment) { return func(c *store.Commitment) { c.Office = o } }

func stamped(t time.Time) func(*store.Commitment) {
	return func(c *store.Commitment) { c.UpdatedAt = protocol.MakeHLC(t.UnixMilli(), 0) }
}

func titled(s string) func(*store.Commitment) { return func(c *store.Commitment) { c.Title = s } }

func private(c *store.Commitment) { c.Public = false }

func conflicted(c *store.Commitment) { c.Conflicted = []domain.Field{domain.FieldTitle} }

func TestComputeEmpty(t *testing.T) {
	s := Compute(nil, today, cal)
	if s.All.Total != 0 || s.All.Closed() != 0 || len(s.DueSoon) != 0 || len(s.Overdue) != 0 {
		t.Fatalf("empty input: %+v", s.All)
	}
	if _, ok := s.All.OnTimeRate(); ok {
		t.Error("on-time rate of nothing is defined")
	}
	if len(s.All.ByStatus) != len(domain.Statuses()) {
		t.Errorf("ByStatus has %d keys, want every status", len(s.All.ByStatus))
	}
	var cats []domain.Category
	for _, c := range s.ByCategory {
		cats = append(cats, c.Category)
	}
	if !slices.Equal(cats, domain.PublicServiceCategories()) {
		t.Errorf("categories of an empty dashboard = %v, want the fourteen public services", cats)
	}
	if len(s.ByMonth) != Months || s.ByMonth[11].Year != 2026 || s.ByMonth[11].Month != time.November ||
		s.ByMonth[0].Year != 2025 || s.ByMonth[0].Month != time.December {
		t.Errorf("months = %v … %v", s.ByMonth[0], s.ByMonth[len(s.ByMonth)-1])
	}
}

func TestComputeCounts(t *testing.T) {
	cs := []store.Commitment{
		mk(domain.CatEmployment, domain.StatusDraft, "2026-11-01", "date:2026-12-31"),
		mk(domain.CatEmployment, domain.StatusPublished, "2026-11-01", "date:2026-12-31"),
		mk(domain.CatEmployment, domain.StatusInProgress, "2026-11-01", "date:2026-12-31", conflicted),
		mk(domain.CatEmployment, domain.StatusFulfilledOnTime, "2026-01-01", "date:2026-06-30", entry("2026-06-01", 100)),
		mk(domain.CatEmployment, domain.StatusFulfilledOnTime, "2026-01-01", "date:2026-06-30", entry("2026-06-20", 100)),
		mk(domain.CatEmployment, domain.StatusFulfilledLate, "2026-01-01", "date:2026-06-30", entry("2026-07-20", 100)),
		mk(domain.CatEmployment, domain.StatusWithdrawn, "2026-01-01", "date:2026-06-30"),
		mk(domain.CatParking, domain.StatusPartlyFulfilled, "2026-01-01", "date:2026-06-30", entry("2026-06-20", 60)),
		mk(domain.CatParking, domain.StatusBreached, "2026-01-01", "date:2026-06-30", entry("2026-03-01", 10)),
		mk(domain.CatParking, domain.StatusWithdrawn, "2026-01-01", "date:2026-06-30"),
		mk(domain.CatPayment, domain.StatusFulfilledOnTime, "2026-01-01", "", entry("2026-02-01", 100)),
		mk("retired_category", domain.StatusPublished, "2026-01-01", ""),
		mk(domain.CatHousing, "paused", "2026-01-01", ""),
	}
	s := Compute(cs, today, cal)

	want := map[domain.Status]int{
		domain.StatusDraft: 1, domain.StatusPublished: 2, domain.StatusInProgress: 1,
		domain.StatusFulfilledOnTime: 3, domain.StatusFulfilledLate: 1, domain.StatusPartlyFulfilled: 1,
		domain.StatusBreached: 1, domain.StatusWithdrawn: 2,
	}
	for st, n := range want {
		if s.All.ByStatus[st] != n {
			t.Errorf("ByStatus[%s] = %d, want %d", st, s.All.ByStatus[st], n)
		}
	}
	a := s.All
	if a.Total != len(cs) || a.Unknown != 1 || a.Open != 3 || a.Conflicted != 1 {
		t.Errorf("all: total %d unknown %d open %d conflicted %d", a.Total, a.Unknown, a.Open, a.Conflicted)
	}
	if a.OnTime != 3 || a.Late != 1 || a.Partly != 1 || a.Breached != 1 || a.Closed() != 6 {
		t.Errorf("verdicts: %+v", a)
	}
	// 3 on time of 6 verdicts; the two withdrawn are in neither.
	if r, ok := a.OnTimeRate(); !ok || r != 0.5 {
		t.Errorf("overall on-time rate = %v, %v; want 0.5", r, ok)
	}

	emp := s.Category(domain.CatEmployment)
	if emp.Total != 7 || emp.Closed() != 3 || emp.OnTime != 2 || emp.Late != 1 || emp.ByStatus[domain.StatusWithdrawn] != 1 {
		t.Errorf("employment: %+v", emp)
	}
	if r, _ := emp.OnTimeRate(); r != 2.0/3 {
		t.Errorf("employment rate = %v, want 2/3", r)
	}
	park := s.Category(domain.CatParking)
	if r, ok := park.OnTimeRate(); !ok || r != 0 || park.Closed() != 2 {
		t.Errorf("parking: rate %v %v closed %d, want 0 of 2", r, ok, park.Closed())
	}
	if _, ok := s.Category(domain.CatSchooling).OnTimeRate(); ok {
		t.Error("a category with no commitments has a rate")
	}

	// Order: the fourteen public services, then payment (used), then the
	// unknown category; unused non-public-service categories are left out.
	var order []domain.Category
	for _, c := range s.ByCategory {
		order = append(order, c.Category)
	}
	wantOrder := append(domain.PublicServiceCategories(), domain.CatPayment, "retired_category")
	if !slices.Equal(order, wantOrder) {
		t.Errorf("category order = %v\nwant %v", order, wantOrder)
	}
	sum := 0
	for _, c := range s.ByCategory {
		sum += c.Total
	}
	if sum != a.Total {
		t.Errorf("categories add up to %d, total %d", sum, a.Total)
	}
}

func TestComputeByMonth(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	cs := []store.Commitment{
		mk(domain.CatEmployment, domain.StatusFulfilledOnTime, "", "", entry("2026-11-03", 100)),
		mk(domain.CatEmployment, domain.StatusFulfilledLate, "", "", entry("2026-11-20", 100)),
		mk(domain.CatEmployment, domain.StatusBreached, "", "", entry("2026-11-01", 10)),
		mk(domain.CatEmployment, domain.StatusPartlyFulfilled, "", "", entry("2025-12-31", 50)),
		mk(domain.CatEmployment, domain.StatusFulfilledOnTime, "", "", entry("2025-11-30", 100)), // 12 months ago: outside
		mk(domain.CatEmployment, domain.StatusFulfilledOnTime, "", "", entry("2026-12-01", 100)), // dated after today: outside
		// No entry: dated by its newest stamp in China Standard Time.
		// 2026-10-31 17:30 UTC is 1 November 01:30 in Beijing.
		mk(domain.CatEmployment, domain.StatusFulfilledOnTime, "", "", stamped(time.Date(2026, 10, 31, 17, 30, 0, 0, time.UTC))),
		mk(domain.CatEmployment, domain.StatusFulfilledOnTime, "", "", stamped(time.Date(2026, 3, 10, 9, 0, 0, 0, cst))),
		mk(domain.CatEmployment, domain.StatusFulfilledOnTime, "", ""), // undated: in no month
		// Not verdicts: in no month whatever their entries.
		mk(domain.CatEmployment, domain.StatusInProgress, "", "", entry("2026-11-10", 50)),
		mk(domain.CatEmployment, domain.StatusWithdrawn, "", "", entry("2026-11-10", 50)),
	}
	s := Compute(cs, today, cal)
	got := map[string]MonthStats{}
	total := 0
	for _, m := range s.ByMonth {
		got[time.Date(m.Year, m.Month, 1, 0, 0, 0, 0, time.UTC).Format("2006-01")] = m
		total += m.Closed()
	}
	nov := got["2026-11"]
	if nov.OnTime != 2 || nov.Late != 1 || nov.Breached != 1 || nov.Partly != 0 {
		t.Errorf("November: %+v", nov)
	}
	// On time: the entry of 3 November and the stamp of 1 November (CST).
	if r, ok := nov.OnTimeRate(); !ok || r != 0.5 {
		t.Errorf("November rate = %v %v", r, ok)
	}
	if got["2025-12"].Partly != 1 || got["2026-03"].OnTime != 1 || total != 6 {
		t.Errorf("Dec 2025 %+v, Mar 2026 %+v, total %d (want 6)", got["2025-12"], got["2026-03"], total)
	}
	if _, ok := got["2026-05"].OnTimeRate(); ok {
		t.Error("a month without verdicts has a rate")
	}
	if _, ok := ClosedOn(&cs[8]); ok {
		t.Error("ClosedOn of a commitment with neither entry nor stamp")
	}

	// Year wrap: today in January gives February of last year to January.
	s = Compute(nil, date("2027-01-05"), cal)
	if f, l := s.ByMonth[0], s.ByMonth[Months-1]; f.Year != 2026 || f.Month != time.February || l.Year != 2027 || l.Month != time.January {
		t.Errorf("months %d-%d … %d-%d", f.Year, f.Month, l.Year, l.Month)
	}
}

func TestComputeDueLists(t *testing.T) {
	cs := []store.Commitment{
		mk(domain.CatEmployment, domain.StatusInProgress, "2026-10-01", "date:2026-11-15", titled("overdue10")),
		mk(domain.CatEmployment, domain.StatusPublished, "2026-10-01", "date:2026-10-26", titled("overdue30")),
		mk(domain.CatEmployment, domain.StatusInProgress, "2026-10-01", "date:2026-11-22", titled("overdue3")),
		mk(domain.CatEmployment, domain.StatusInProgress, "2026-10-01", "date:2026-12-02", titled("soon-wed")),
		mk(domain.CatEmployment, domain.StatusPublished, "2026-10-01", "date:2026-11-25", titled("soon-today")),
		// 3 working days from Monday 23 November: Thursday 26th.
		mk(domain.CatEmployment, domain.StatusPublished, "2026-11-23", "workdays:3", titled("soon-thu")),
		mk(domain.CatEmployment, domain.StatusInProgress, "2026-10-01", "date:2026-12-31", titled("later")),
		mk(domain.CatEmployment, domain.StatusInProgress, "2026-10-01", "", titled("no deadline")),
		// Closed or not yet published: never overdue.
		mk(domain.CatEmployment, domain.StatusFulfilledLate, "2026-01-01", "date:2026-02-01", entry("2026-03-01", 100)),
		mk(domain.CatEmployment, domain.StatusDraft, "2026-01-01", "date:2026-02-01"),
		mk(domain.CatEmployment, domain.StatusPartlyFulfilled, "2026-01-01", "date:2026-02-01"),
	}
	s := Compute(cs, today, cal)
	titles := func(items []DueItem) []string {
		var out []string
		for _, it := range items {
			out = append(out, it.Commitment.Title)
		}
		return out
	}
	if got, want := titles(s.Overdue), []string{"overdue30", "overdue10", "overdue3"}; !slices.Equal(got, want) {
		t.Errorf("overdue = %v, want %v (most overdue first)", got, want)
	}
	if got, want := titles(s.DueSoon), []string{"soon-today", "soon-thu", "soon-wed"}; !slices.Equal(got, want) {
		t.Errorf("due soon = %v, want %v (nearest first)", got, want)
	}
	if s.Overdue[0].Due.DaysOverdue != 30 || s.DueSoon[1].Due.Date != date("2026-11-26") {
		t.Errorf("overdue[0] %+v, soon[1] %+v", s.Overdue[0].Due, s.DueSoon[1].Due)
	}
	if s.All.Overdue != 3 || s.All.DueSoon != 3 || s.All.Open != 8 {
		t.Errorf("tally: overdue %d due soon %d open %d", s.All.Overdue, s.All.DueSoon, s.All.Open)
	}
	if sh, ok := s.All.OverdueShare(); !ok || sh != 3.0/8 {
		t.Errorf("overdue share = %v %v", sh, ok)
	}
}

func TestByOffice(t *testing.T) {
	cs := []store.Commitment{
		mk(domain.CatEmployment, domain.StatusFulfilledOnTime, "", "", entry("2026-11-03", 100)),
		mk(domain.CatEmployment, domain.StatusBreached, "", "", entry("2026-11-03", 10), in(townB)),
		mk(domain.CatParking, domain.StatusInProgress, "2026-10-01", "date:2026-11-01", in(townB)),
		mk(domain.CatParking, domain.StatusDraft, "", ""),
	}
	m := ByOffice(cs, today, cal)
	if got := Offices(m); !slices.Equal(got, []office.Code{townB, townA}) {
		t.Fatalf("offices = %v", got)
	}
	a, b := m[townA], m[townB]
	if a.All.Total != 2 || a.All.OnTime != 1 || b.All.Total != 2 || b.All.Breached != 1 || len(b.Overdue) != 1 || len(a.Overdue) != 0 {
		t.Errorf("A %+v\nB %+v", a.All, b.All)
	}
	if r, _ := a.All.OnTimeRate(); r != 1 {
		t.Errorf("A rate %v", r)
	}
	if r, ok := b.All.OnTimeRate(); !ok || r != 0 {
		t.Errorf("B rate %v %v", r, ok)
	}
	if len(ByOffice(nil, today, cal)) != 0 {
		t.Error("ByOffice(nil) not empty")
	}
}

func TestAnnualScope(t *testing.T) {
	cs := []store.Commitment{
		mk(domain.CatEmployment, domain.StatusDraft, "2026-03-01", "", titled("draft")),
		mk(domain.CatEmployment, domain.StatusWithdrawn, "2026-03-01", "", titled("withdrawn")),
		mk(domain.CatEmployment, domain.StatusPublished, "2027-01-02", "", titled("starts next year")),
		mk(domain.CatEmployment, domain.StatusFulfilledOnTime, "2025-03-01", "", entry("2025-12-30", 100), titled("closed last year")),
		mk(domain.CatEmployment, domain.StatusFulfilledOnTime, "2025-03-01", "", entry("2026-01-01", 100), titled("closed 1 January")),
		mk(domain.CatEmployment, domain.StatusBreached, "2026-03-01", "", entry("2026-06-01", 10), titled("breached")),
		mk(domain.CatEmployment, domain.StatusInProgress, "2024-03-01", "", titled("open for years")),
		mk(domain.CatEmployment, domain.StatusFulfilledLate, "2026-11-01", "", entry("2027-01-03", 100), titled("closed next January")),
		mk(domain.CatEmployment, domain.StatusPublished, "2026-12-31", "", titled("starts 31 December")),
		mk(domain.CatEmployment, domain.StatusPublished, "", "", stamped(time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)), titled("created next year")),
		mk(domain.CatEmployment, domain.StatusPublished, "", "", titled("undated")),
	}
	cs[9].CreatedAt = cs[9].UpdatedAt
	var got []string
	for _, c := range AnnualScope(cs, 2026) {
		got = append(got, c.Title)
	}
	want := []string{"closed 1 January", "breached", "open for years", "closed next January", "starts 31 December", "undated"}
	if !slices.Equal(got, want) {
		t.Errorf("scope 2026 = %v\nwant %v", got, want)
	}
	if d := AnnualAsOf(2026, date("2027-01-05")); d != date("2026-12-31") {
		t.Errorf("as of = %v", d)
	}
	if d := AnnualAsOf(2026, today); d != today {
		t.Errorf("as of, year in progress = %v", d)
	}
	// Overdue is judged on 31 December: due 2027-01-02 is not overdue in
	// the 2026 report written on 5 January 2027.
	late := []store.Commitment{mk(domain.CatEmployment, domain.StatusInProgress, "2026-11-01", "date:2027-01-02")}
	if s := Annual(late, 2026, date("2027-01-05"), cal); s.All.Overdue != 0 || s.All.Open != 1 {
		t.Errorf("annual: %+v", s.All)
	}
}

func TestComputeDoesNotModifyInput(t *testing.T) {
	cs := []store.Commitment{
		mk(domain.CatEmployment, domain.StatusInProgress, "2026-10-01", "date:2026-11-15"),
		mk(domain.CatEmployment, domain.StatusPublished, "2026-10-01", "date:2026-10-26"),
	}
	before := slices.Clone(cs)
	Compute(cs, today, cal)
	for i := range cs {
		if cs[i].Title != before[i].Title || cs[i].Ref != before[i].Ref {
			t.Fatal("Compute reordered or changed its input")
		}
	}
}
