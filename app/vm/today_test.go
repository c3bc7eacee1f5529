package vm

import (
	"strings"
	"testing"

	"jiannuo/assets"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
)

// todayTexts renders the panel's lines in Chinese, one per item.
func todayTexts(t Today) []string {
	tr := assets.NewTranslator(assets.LangZhHans)
	var out []string
	for _, it := range t.Items {
		out = append(out, string(it.Kind)+" "+it.Text.Text(func(k string) string { return tr.T(k) }))
	}
	return out
}

func kinds(t Today) string {
	var ks []string
	for _, it := range t.Items {
		ks = append(ks, string(it.Kind))
	}
	return strings.Join(ks, " ")
}

// TestTodayAroundNationalDay: on Wednesday 30 September 2026, the eve of
// the National Day holiday (1–7 October, 10 October a make-up working
// day), the panel shows the county's unread urge first, then the
// commitment overdue since yesterday, then those due within five working
// days — 13 October is five working days away though thirteen calendar
// days, 14 October six — nearest first; not the fulfilled, the draft or
// the one without a deadline. With the setting at seven working days, 14
// and 15 October come in and 16 October stays out. Once the urge is read
// it leaves the panel. From 15 December the leader is reminded of the
// annual report; in January the county of the townships late with it.
func TestTodayAroundNationalDay(t *testing.T) {
	d := newTownship(t)
	admin := newAdminReplica(t)
	introduceAll(t, d.leader, admin)
	start := date(2026, 9, 1)
	mk := func(title string, due calendar.Date, st domain.Status) store.Ref {
		return d.create(t, spec{title: title, start: start, deadline: domain.DateDeadline(due), status: st})
	}
	late := mk("昨日到期的承诺", date(2026, 9, 29), domain.StatusInProgress)
	first := mk("节后首日到期", date(2026, 10, 8), domain.StatusPublished)
	fifth := mk("第五个工作日到期", date(2026, 10, 13), domain.StatusPublished)
	mk("第六个工作日到期", date(2026, 10, 14), domain.StatusPublished)
	mk("第七个工作日到期", date(2026, 10, 15), domain.StatusInProgress)
	mk("第八个工作日到期", date(2026, 10, 16), domain.StatusPublished)
	mk("已按期办结", date(2026, 9, 29), domain.StatusFulfilledOnTime)
	mk("草稿不提醒", date(2026, 9, 29), domain.StatusDraft)
	d.create(t, spec{title: "长期承诺无截止日期", start: start, status: domain.StatusPublished})
	exchangeAll(t, d.leader, admin)
	id, err := admin.Urge(store.UrgeInput{Commitment: late, Note: "请于节前办结并更新践诺记录。"})
	must(t, err)
	exchangeAll(t, d.leader, admin)

	eve := date(2026, 9, 30)
	today, err := LoadToday(d.staff, calendar.Default(), eve, 0)
	must(t, err)
	if got := kinds(today); got != "urge overdue due due" {
		t.Fatalf("kinds on %s: %s\n%s", eve, got, strings.Join(todayTexts(today), "\n"))
	}
	lines := todayTexts(today)
	for i, want := range []string{"县级催办", "昨日到期的承诺", "节后首日到期", "第五个工作日到期"} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d %q lacks %q", i, lines[i], want)
		}
	}
	if !strings.Contains(lines[1], "已逾期 1 天") || !strings.Contains(lines[2], "2026-10-08") || !strings.Contains(lines[3], "5 个工作日") {
		t.Errorf("lines:\n%s", strings.Join(lines, "\n"))
	}
	if today.Items[0].Ref != (store.Ref{Office: township, ID: id}) || today.Items[1].Ref != late || !today.Items[1].Urgent ||
		today.Items[2].Ref != first || today.Items[3].Ref != fifth || today.Items[3].Urgent {
		t.Fatalf("items: %+v", today.Items)
	}
	if len(today.Unread) != 1 || today.Unread[0].ID != id {
		t.Fatalf("unread urges: %+v", today.Unread)
	}

	seven, err := LoadToday(d.staff, calendar.Default(), eve, 7)
	must(t, err)
	if got := kinds(seven); got != "urge overdue due due due due" || !strings.Contains(strings.Join(todayTexts(seven), "\n"), "第七个工作日到期") ||
		strings.Contains(strings.Join(todayTexts(seven), "\n"), "第八个工作日到期") {
		t.Fatalf("within seven working days: %s\n%s", got, strings.Join(todayTexts(seven), "\n"))
	}

	must(t, d.staff.ReadUrge(id))
	after, err := LoadToday(d.leader, calendar.Default(), eve, 0)
	must(t, err)
	if got := kinds(after); got != "overdue due due" || len(after.Unread) != 0 {
		t.Fatalf("after reading the urge: %s", got)
	}
	// From 15 December the leader (not the clerk) is reminded of the
	// annual report until it is submitted.
	dec := date(2026, 12, 15)
	for _, se := range []*store.Session{d.leader, d.staff} {
		got, err := LoadToday(se, calendar.Default(), dec, 0)
		must(t, err)
		has := strings.Contains(kinds(got), "report")
		if has != (se == d.leader) {
			t.Errorf("%s on %s: report reminder %v", se.Account().Role, dec, has)
		}
	}
	if got, _ := LoadToday(d.leader, calendar.Default(), date(2026, 12, 14), 0); strings.Contains(kinds(got), "report") {
		t.Error("a report reminder before 15 December")
	}
	_, err = d.leader.SubmitAnnualReport(store.ReportInput{Year: 2026, AsOf: dec, Narrative: "总结。"})
	must(t, err)
	if got, _ := LoadToday(d.leader, calendar.Default(), dec, 0); strings.Contains(kinds(got), "report") {
		t.Error("a report reminder after the report was submitted")
	}
	// Through January the county is told of the townships late with
	// theirs, until they report.
	jan6, _ := LoadToday(admin, calendar.Default(), date(2027, 1, 6), 0)
	if !strings.Contains(kinds(jan6), "report") || !jan6.Items[len(jan6.Items)-1].Urgent {
		t.Errorf("the county is not told of its township's late report: %s", strings.Join(todayTexts(jan6), "\n"))
	}
	exchangeAll(t, d.leader, admin)
	jan6, _ = LoadToday(admin, calendar.Default(), date(2027, 1, 6), 0)
	if strings.Contains(kinds(jan6), "report") {
		t.Errorf("the county is told of late reports though its one township reported: %s", strings.Join(todayTexts(jan6), "\n"))
	}
}

// memLog is a NotifyLog in memory.
type memLog struct{ s string }

func (m *memLog) Load() string  { return m.s }
func (m *memLog) Save(s string) { m.s = s }

// TestNotifierOncePerDay: the same item is notified once a day, again the
// next day while it still needs attention; a new item is notified the day
// it appears; many new items make one summary notification.
func TestNotifierOncePerDay(t *testing.T) {
	item := func(key string) TodayItem {
		return TodayItem{Kind: TodayOverdue, Key: key, Text: Msg("today.overdue", key, "王建国", 1)}
	}
	log := &memLog{}
	n := NewNotifier(log)
	day := Today{Date: date(2026, 9, 30), Items: []TodayItem{item("a"), item("b")}}
	if got := n.Due(day); len(got) != 2 {
		t.Fatalf("first check: %d items", len(got))
	}
	if got := n.Due(day); len(got) != 0 {
		t.Fatalf("second check the same day: %+v", got)
	}
	// A restart: another notifier on the same log remembers.
	n = NewNotifier(log)
	day.Items = append(day.Items, item("c"))
	if got := n.Due(day); len(got) != 1 || got[0].Key != "c" {
		t.Fatalf("a new item the same day: %+v", got)
	}
	next := Today{Date: date(2026, 10, 8), Items: []TodayItem{item("a"), item("c")}}
	if got := n.Due(next); len(got) != 2 {
		t.Fatalf("the next day: %+v", got)
	}
	if got := n.Due(next); len(got) != 0 {
		t.Fatalf("the next day again: %+v", got)
	}
	log.s = "not json"
	if got := n.Due(next); len(got) != 2 {
		t.Fatalf("a broken log notifies anew: %+v", got)
	}
	many := Notifications([]TodayItem{item("a"), item("b"), item("c"), item("d")})
	if len(many) != 1 || many[0].Content.Key != "today.notify_many" {
		t.Fatalf("many: %+v", many)
	}
	if few := Notifications([]TodayItem{item("a"), item("b")}); len(few) != 2 || few[0].Title.Key != "today.notify_overdue" {
		t.Fatalf("few: %+v", few)
	}
}
