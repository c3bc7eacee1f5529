package vm

import (
	"slices"
	"testing"

	"jiannuo/domain"
	"jiannuo/store"
)

// exchange delivers everything from has sealed that to does not hold yet,
// as the county server would.
func exchange(t testing.TB, from, to *store.Session) {
	t.Helper()
	if _, err := from.Seal(0); err != nil {
		t.Fatal(err)
	}
	dev := from.Device().ID
	heads, err := to.Store().Heads()
	must(t, err)
	sets, err := from.Store().ChangeSets(dev, heads[dev].Seq, 0)
	must(t, err)
	res, err := to.Store().Apply(sets...)
	must(t, err)
	for _, r := range res {
		if !r.Applied() {
			t.Fatalf("change set %d refused: %v", r.Seq, r.Err)
		}
	}
}

// acknowledgeAll plays the county acknowledging every sealed change set.
func acknowledgeAll(t testing.TB, se *store.Session) {
	t.Helper()
	_, err := se.Seal(0)
	must(t, err)
	for {
		seq, ok, err := se.Store().OutboxFirst()
		must(t, err)
		if !ok {
			return
		}
		must(t, se.Store().Acknowledge(seq, nil))
	}
}

// listFixture is a township with one commitment in each situation the list
// distinguishes, on testToday (Wednesday 2026-11-25).
type listFixture struct {
	d                                 *townshipDevice
	colleague                         *store.Session
	soon, overdue, closed, conflicted store.Ref
	later, noDeadline, withdrawn, new store.Ref
}

func newListFixture(t *testing.T) *listFixture {
	t.Helper()
	d := newTownship(t)
	f := &listFixture{d: d}
	f.soon = d.create(t, spec{cat: domain.CatProperty, title: "老旧小区物业服务投诉5个工作日内答复", responsible: "陈静（城建办）",
		start: date(2026, 11, 20), deadline: domain.WorkdaysDeadline(5), status: domain.StatusPublished})
	f.overdue = d.create(t, spec{cat: domain.CatElderlyCare, title: "80岁以上独居老人每月上门走访", responsible: "王建国（民政所）",
		start: date(2026, 1, 1), deadline: domain.DateDeadline(date(2026, 11, 10)), status: domain.StatusInProgress})
	f.closed = d.create(t, spec{cat: domain.CatSchooling, title: "随迁子女入学材料一次告知", responsible: "孙丽（教育办）",
		start: date(2026, 8, 1), deadline: domain.DateDeadline(date(2026, 10, 1)), status: domain.StatusFulfilledOnTime})
	f.conflicted = d.create(t, spec{cat: domain.CatParking, title: "镇区新增公共停车位200个", responsible: "陈静（城建办）",
		start: date(2026, 9, 1), deadline: domain.DateDeadline(date(2027, 3, 31)), status: domain.StatusDraft})
	f.later = d.create(t, spec{cat: domain.CatConvenience, title: "Wi-Fi 覆盖便民服务中心", responsible: "赵刚（党政办）",
		text: "便民服务中心大厅免费无线网络全覆盖。", start: date(2026, 10, 1), deadline: domain.DateDeadline(date(2026, 12, 31)), status: domain.StatusPublished})
	f.noDeadline = d.create(t, spec{cat: domain.CatDisability, title: "残疾人两项补贴审核", responsible: "赵刚（党政办）",
		text: "残疾人生活补贴和重度残疾人护理补贴申请及时审核。", status: domain.StatusInProgress})
	f.withdrawn = d.create(t, spec{cat: domain.CatTransport, title: "村村通客车线路恢复运营", responsible: "冯涛（交通站）",
		start: date(2026, 6, 1), deadline: domain.DateDeadline(date(2026, 12, 1)), status: domain.StatusWithdrawn})

	// A colleague's device edits the draft's title while the leader does
	// too: a conflict for the county admin.
	cs := openStore(t)
	colleague, err := cs.Setup(store.SetupConfig{Office: township, DeviceName: "赤土店镇-2",
		Name: "liqiang", DisplayName: "李强", Role: domain.RoleLeader, Passphrase: testPass})
	must(t, err)
	must(t, cs.PutDevice(d.leader.Device()))
	must(t, d.s.PutDevice(colleague.Device()))
	exchange(t, d.leader, colleague)
	must(t, colleague.Edit(f.conflicted, domain.FieldTitle, "镇区新增公共停车位300个"))
	must(t, d.leader.Edit(f.conflicted, domain.FieldTitle, "镇区新增公共停车位250个"))
	exchange(t, colleague, d.leader)
	f.colleague = colleague

	// The county acknowledges everything so far; one more is still pending.
	acknowledgeAll(t, d.leader)
	f.new = d.create(t, spec{cat: domain.CatEmployment, title: "登记失业人员每季度推送岗位信息", responsible: "刘洋（社会事务办）",
		start: date(2026, 11, 2), deadline: domain.DateDeadline(date(2027, 1, 29)), status: domain.StatusPublished})
	return f
}

func (f *listFixture) load(t *testing.T) *List {
	t.Helper()
	l := NewList(nil)
	must(t, l.Load(f.d.s, testToday))
	return l
}

func refsOf(l *List) []store.Ref {
	out := make([]store.Ref, l.Len())
	for i := range out {
		out[i] = l.Row(i).Ref
	}
	return out
}

func sameSet(a, b []store.Ref) bool {
	if len(a) != len(b) {
		return false
	}
	for _, r := range a {
		if !slices.Contains(b, r) {
			return false
		}
	}
	return true
}

func TestListFilters(t *testing.T) {
	f := newListFixture(t)
	l := f.load(t)
	if l.Total() != 8 || l.Len() != 8 {
		t.Fatalf("Total %d, Len %d, want 8", l.Total(), l.Len())
	}
	all := []store.Ref{f.soon, f.overdue, f.closed, f.conflicted, f.later, f.noDeadline, f.withdrawn, f.new}
	for _, tc := range []struct {
		name string
		f    Filter
		want []store.Ref
	}{
		{"everything", Filter{}, all},
		{"category", Filter{Category: domain.CatParking}, []store.Ref{f.conflicted}},
		{"category none", Filter{Category: domain.CatPayment}, nil},
		{"status", Filter{Status: domain.StatusInProgress}, []store.Ref{f.overdue, f.noDeadline}},
		{"status withdrawn", Filter{Status: domain.StatusWithdrawn}, []store.Ref{f.withdrawn}},
		{"responsible", Filter{Responsible: "陈静（城建办）"}, []store.Ref{f.soon, f.conflicted}},
		{"responsible partial name is not a match", Filter{Responsible: "陈静"}, nil},
		{"window overdue", Filter{Window: DueOverdue}, []store.Ref{f.overdue}},
		{"window soon", Filter{Window: DueSoon}, []store.Ref{f.soon}},
		{"window conflicted", Filter{Window: DueConflicted}, []store.Ref{f.conflicted}},
		{"window unconfirmed", Filter{Window: DueUnconfirmed}, []store.Ref{f.new}},
		{"combined", Filter{Responsible: "赵刚（党政办）", Status: domain.StatusPublished}, []store.Ref{f.later}},
		{"combined empty", Filter{Category: domain.CatParking, Window: DueOverdue}, nil},
	} {
		l.SetFilter(tc.f)
		if got := refsOf(l); !sameSet(got, tc.want) {
			t.Errorf("%s: got %d rows %v, want %v", tc.name, len(got), titles(l), tc.want)
		}
		if l.Filter() != tc.f {
			t.Errorf("%s: Filter() = %+v", tc.name, l.Filter())
		}
	}
	if l.Total() != 8 {
		t.Errorf("Total changed with the filter: %d", l.Total())
	}
	for w, want := range map[DueWindow]int{DueAll: 8, DueOverdue: 1, DueSoon: 1, DueConflicted: 1, DueUnconfirmed: 1} {
		if got := l.Count(w); got != want {
			t.Errorf("Count(%d) = %d, want %d", w, got, want)
		}
	}
	if got, want := l.Responsibles(), []string{"陈静（城建办）", "冯涛（交通站）", "刘洋（社会事务办）", "孙丽（教育办）", "王建国（民政所）", "赵刚（党政办）"}; !slices.Equal(got, want) {
		t.Errorf("Responsibles (pinyin order) = %v, want %v", got, want)
	}
}

func titles(l *List) []string {
	var out []string
	for i := 0; i < l.Len(); i++ {
		out = append(out, l.Row(i).Title)
	}
	return out
}

func TestListRows(t *testing.T) {
	f := newListFixture(t)
	l := f.load(t)
	row := func(ref store.Ref) Row {
		i := l.Find(ref)
		if i < 0 {
			t.Fatalf("%v not shown", ref)
		}
		return l.Row(i)
	}
	soon := row(f.soon)
	if soon.Due.State != domain.DueSoon || soon.Due.Date != date(2026, 11, 27) || soon.Status != domain.StatusPublished ||
		soon.Category != domain.CatProperty || soon.Responsible != "陈静（城建办）" || soon.Unconfirmed || soon.Conflicted {
		t.Errorf("due-soon row: %+v", soon)
	}
	if b := soon.Badges(); len(b) != 1 || b[0].Key != "ui.badge.due_soon" {
		t.Errorf("due-soon badges: %v", b)
	}
	over := row(f.overdue)
	if over.Due.State != domain.DueOverdue || over.Due.DaysOverdue != 15 {
		t.Errorf("overdue row: %+v", over.Due)
	}
	con := row(f.conflicted)
	if !con.Conflicted || con.Status != domain.StatusDraft {
		t.Errorf("conflicted row: %+v", con)
	}
	if b := con.Badges(); len(b) != 1 || b[0].Key != "ui.badge.conflicted" {
		t.Errorf("conflicted badges: %v", b)
	}
	nw := row(f.new)
	if !nw.Unconfirmed || nw.Updated.IsZero() {
		t.Errorf("pending row: %+v", nw)
	}
	if got := row(f.closed).Due.State; got != domain.DueNone {
		t.Errorf("closed commitment has due state %v", got)
	}
}

func TestListSearch(t *testing.T) {
	f := newListFixture(t)
	l := f.load(t)
	for _, tc := range []struct {
		q    string
		want []store.Ref
	}{
		{"独居", []store.Ref{f.overdue}},             // title, Chinese substring
		{"老人", []store.Ref{f.overdue}},             // middle of a word
		{"物业 答复", []store.Ref{f.soon}},             // two words: both must occur
		{"物业 老人", nil},                             // …in the same commitment
		{"无线网络", []store.Ref{f.later}},             // full text
		{"wi-fi", []store.Ref{f.later}},            // case
		{"WI-FI", []store.Ref{f.later}},            // case
		{"ｗｉ－ｆｉ", []store.Ref{f.later}},            // full-width, as an input method types it
		{"陈静", []store.Ref{f.soon, f.conflicted}},  // responsible official
		{"城建办", []store.Ref{f.soon, f.conflicted}}, // …and their office
		{"营商环境", []store.Ref{f.soon, f.overdue, f.closed, f.conflicted, f.later, f.noDeadline, f.withdrawn, f.new}}, // legal basis
		{"养老", []store.Ref{f.overdue}},         // category name
		{"parking", []store.Ref{f.conflicted}}, // category name in English
		{"按期践诺", []store.Ref{f.closed}},        // status name
		{"250个", []store.Ref{f.conflicted}},    // the provisional title of the conflict is the leader's (later stamp)…
		{"300个", nil},                          // …not the colleague's
		{"不存在的事项", nil},                        // nothing
		{"  ", []store.Ref{f.soon, f.overdue, f.closed, f.conflicted, f.later, f.noDeadline, f.withdrawn, f.new}}, // blank
	} {
		l.SetFilter(Filter{Query: tc.q})
		if got := refsOf(l); !sameSet(got, tc.want) {
			t.Errorf("search %q: got %v, want %d rows", tc.q, titles(l), len(tc.want))
		}
	}
	// Search combines with the other filters.
	l.SetFilter(Filter{Query: "陈静", Status: domain.StatusDraft})
	if got := refsOf(l); !sameSet(got, []store.Ref{f.conflicted}) {
		t.Errorf("search with status: %v", titles(l))
	}
}

func TestListTypingNarrowsLikeAFreshFilter(t *testing.T) {
	f := newListFixture(t)
	l := f.load(t)
	fresh := f.load(t)
	for _, q := range []string{"老", "老人", "老人 ", "老人 走", "老人 走访", "老", "", "城", "城建", "城建办 停"} {
		flt := Filter{Query: q, Sort: SortTitle}
		l.SetFilter(flt) // incremental where the query grows
		fresh.SetFilter(Filter{Window: DueOverdue})
		fresh.SetFilter(flt) // from scratch
		if a, b := refsOf(l), refsOf(fresh); !slices.Equal(a, b) {
			t.Fatalf("query %q: typed %v, fresh %v", q, titles(l), titles(fresh))
		}
	}
}

func TestListSort(t *testing.T) {
	f := newListFixture(t)
	l := f.load(t)

	// The screen's default: overdue, due soon, the other open ones by
	// deadline (none last), drafts, then closed and withdrawn.
	if SortKeys()[0] != SortUrgency {
		t.Errorf("the menu starts with %v", SortKeys()[0])
	}
	l.SetFilter(Filter{Sort: SortUrgency})
	want := []store.Ref{f.overdue, f.soon, f.later, f.new, f.noDeadline, f.conflicted, f.closed, f.withdrawn}
	if got := refsOf(l); !slices.Equal(got, want) {
		t.Errorf("most urgent first: %v", titles(l))
	}
	l.SetFilter(Filter{Sort: SortUrgency, Desc: true})
	want = []store.Ref{f.closed, f.withdrawn, f.conflicted, f.later, f.new, f.noDeadline, f.soon, f.overdue}
	if got := refsOf(l); !slices.Equal(got, want) {
		t.Errorf("least urgent first: %v", titles(l))
	}

	l.SetFilter(Filter{Sort: SortDeadline})
	want = []store.Ref{f.closed, f.overdue, f.soon, f.withdrawn, f.later, f.new, f.conflicted, f.noDeadline}
	if got := refsOf(l); !slices.Equal(got, want) {
		t.Errorf("by deadline: %v", titles(l))
	}
	l.SetFilter(Filter{Sort: SortDeadline, Desc: true})
	want = []store.Ref{f.conflicted, f.new, f.later, f.withdrawn, f.soon, f.overdue, f.closed, f.noDeadline}
	if got := refsOf(l); !slices.Equal(got, want) {
		t.Errorf("by deadline, latest first (no deadline still last): %v", titles(l))
	}

	l.SetFilter(Filter{Sort: SortTitle})
	got := titles(l)
	// Digits and Latin letters first, then Chinese in pinyin order:
	// 镇(zhen) 村(cun) 残(can) 登(deng) 老(lao) 随(sui) …
	wantTitles := []string{"80岁以上独居老人每月上门走访", "Wi-Fi 覆盖便民服务中心", "残疾人两项补贴审核", "村村通客车线路恢复运营",
		"登记失业人员每季度推送岗位信息", "老旧小区物业服务投诉5个工作日内答复", "随迁子女入学材料一次告知", "镇区新增公共停车位250个"}
	if !slices.Equal(got, wantTitles) {
		t.Errorf("by title:\n got %q\nwant %q", got, wantTitles)
	}
	l.SetFilter(Filter{Sort: SortTitle, Desc: true})
	slices.Reverse(wantTitles)
	if got := titles(l); !slices.Equal(got, wantTitles) {
		t.Errorf("by title, descending: %q", got)
	}

	l.SetFilter(Filter{Sort: SortUpdated, Desc: true})
	for i := 1; i < l.Len(); i++ {
		if l.Row(i).Updated.After(l.Row(i - 1).Updated) {
			t.Errorf("by update, newest first: row %d (%s) newer than row %d", i, l.Row(i).Title, i-1)
		}
	}
	if l.Row(0).Ref != f.new {
		t.Errorf("newest first is %s", l.Row(0).Title)
	}
	l.SetFilter(Filter{Sort: SortUpdated})
	for i := 1; i < l.Len(); i++ {
		if l.Row(i).Updated.Before(l.Row(i - 1).Updated) {
			t.Errorf("by update: row %d older than row %d", i, i-1)
		}
	}

	l.SetFilter(Filter{Sort: SortStatus})
	var sts []domain.Status
	for i := 0; i < l.Len(); i++ {
		sts = append(sts, l.Row(i).Status)
	}
	wantSts := []domain.Status{domain.StatusDraft, domain.StatusPublished, domain.StatusPublished, domain.StatusPublished,
		domain.StatusInProgress, domain.StatusInProgress, domain.StatusFulfilledOnTime, domain.StatusWithdrawn}
	if !slices.Equal(sts, wantSts) {
		t.Errorf("by status: %v", sts)
	}
	// Within a status, by deadline: soon (11-27), later (12-31), new (01-29).
	if got := refsOf(l)[1:4]; !slices.Equal(got, []store.Ref{f.soon, f.later, f.new}) {
		t.Errorf("published by deadline: %v", titles(l)[1:4])
	}
}

func TestListRefreshKeepsFilter(t *testing.T) {
	f := newListFixture(t)
	l := f.load(t)
	warmOrders(l)
	l.SetFilter(Filter{Status: domain.StatusPublished, Sort: SortTitle})
	if l.Len() != 3 {
		t.Fatalf("published: %v", titles(l))
	}
	// The leader starts work on one: it leaves the filter, marked unconfirmed.
	must(t, f.d.leader.Transition(f.soon, domain.StatusInProgress, ""))
	must(t, l.Refresh(f.d.s, f.soon))
	if l.Len() != 2 || l.Find(f.soon) >= 0 {
		t.Fatalf("after starting: %v", titles(l))
	}
	if l.Filter().Sort != SortTitle || l.Filter().Status != domain.StatusPublished {
		t.Fatalf("filter lost: %+v", l.Filter())
	}
	l.SetFilter(Filter{Window: DueUnconfirmed})
	if got := refsOf(l); !sameSet(got, []store.Ref{f.soon, f.new}) {
		t.Fatalf("unconfirmed after the action: %v", titles(l))
	}
	// A new commitment appears where the filter puts it.
	ref := f.d.create(t, spec{title: "新增事项：便民服务中心延时服务", status: domain.StatusPublished})
	must(t, l.Refresh(f.d.s, ref))
	if l.Total() != 9 || l.Find(ref) < 0 {
		t.Fatalf("new commitment: total %d, %v", l.Total(), titles(l))
	}
	// The cached sort orders were updated in place, as a full sort would.
	must(t, f.d.leader.Amend(f.later, []store.Change{{Field: domain.FieldTitle, Value: "阿里云 Wi-Fi 覆盖"},
		{Field: domain.FieldDeadline, Value: "date:2026-11-01"}}, "更换服务商"))
	must(t, l.Refresh(f.d.s, f.later))
	checkOrders(t, l)
	// A receipt clears the marks.
	acknowledgeAll(t, f.d.leader)
	must(t, l.RefreshUnconfirmed(f.d.s))
	if l.Len() != 0 || l.Count(DueUnconfirmed) != 0 {
		t.Fatalf("after the receipts: %v", titles(l))
	}
	// Refreshing an unknown reference changes nothing.
	must(t, l.Refresh(f.d.s, store.Ref{Office: township}))
	if l.Total() != 9 {
		t.Fatalf("refresh of an unknown ref: total %d", l.Total())
	}
}

func TestListSetToday(t *testing.T) {
	f := newListFixture(t)
	l := f.load(t)
	warmOrders(l)
	l.SetFilter(Filter{Window: DueOverdue})
	if l.Len() != 1 {
		t.Fatalf("overdue on %s: %v", testToday, titles(l))
	}
	// Monday 30 November: the five-working-day promise is overdue too.
	l.SetToday(date(2026, 11, 30))
	if got := refsOf(l); !sameSet(got, []store.Ref{f.soon, f.overdue}) {
		t.Fatalf("overdue on 11-30: %v", titles(l))
	}
	if r := l.Row(l.Find(f.soon)); r.Due.DaysOverdue != 3 {
		t.Fatalf("days overdue: %+v", r.Due)
	}
	// The same as a fresh load on that day.
	fresh := NewList(nil)
	must(t, fresh.Load(f.d.s, date(2026, 11, 30)))
	for i := 0; i < fresh.Total(); i++ {
		a := fresh.rows[i]
		b := l.rows[l.index[a.Ref]]
		if a.Due != b.Due {
			t.Errorf("%s: SetToday %+v, Load %+v", a.Title, b.Due, a.Due)
		}
	}
	// Urgency follows the day: the five-working-day promise now leads with
	// the other overdue one.
	l.SetFilter(Filter{Sort: SortUrgency})
	fresh.SetFilter(Filter{Sort: SortUrgency})
	if got, want := refsOf(l), refsOf(fresh); !slices.Equal(got, want) || !sameSet(got[:2], []store.Ref{f.soon, f.overdue}) {
		t.Errorf("most urgent first after SetToday: %v, a fresh load gives %v", titles(l), titles(fresh))
	}
}

// warmOrders computes every sort order, so that Refresh has to keep them.
func warmOrders(l *List) {
	for _, k := range SortKeys() {
		for _, desc := range []bool{false, true} {
			l.order(orderKey{k, desc})
		}
	}
}

// checkOrders compares every cached order with a fresh sort.
func checkOrders(t *testing.T, l *List) {
	t.Helper()
	if len(l.orders) != 2*len(SortKeys()) {
		t.Fatalf("%d cached orders", len(l.orders))
	}
	cached := l.orders
	l.orders = nil
	for k, o := range cached {
		if fresh := l.order(k); !slices.Equal(o, fresh) {
			t.Errorf("order %+v after Refresh: %v, a fresh sort gives %v", k, o, fresh)
		}
	}
}
