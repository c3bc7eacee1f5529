package vm

// The 50,000-commitment store that the big-list tests and the benchmarks
// share. It is built once per test binary (about ten seconds; under the
// race detector, which makes the store's JSON decoding some twenty times
// slower, the tests use 5,000 unless -vm.bign says otherwise): creating
// 50,000 commitments one action at a time through a Session takes half a
// millisecond each even without fsync, so the bulk of them arrive as a
// colleague's signed change sets, applied in batches, the way a device
// receives years of its township's records from the county. A few hundred
// are then made on the device itself, so some are not yet confirmed.

import (
	"crypto/ed25519"
	crand "crypto/rand"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// BigN is the size of the big store the benchmarks use, and the tests
// unless they run under the race detector.
const BigN = 50_000

var bigN = flag.Int("vm.bign", 0, "commitments in the big test store (default 50,000; 5,000 under -race)")

// bigSize returns the size of the big store for this run.
func bigSize() int {
	switch {
	case *bigN > 0:
		return *bigN
	case raceEnabled:
		return BigN / 10
	}
	return BigN
}

var (
	bigOnce  sync.Once
	bigStore *store.Store
	bigErr   error
	bigDir   string
	bigBuilt time.Duration
)

func TestMain(m *testing.M) {
	code := m.Run()
	if bigStore != nil {
		bigStore.Close()
	}
	for _, d := range []string{bigDir, townshipDir} {
		if d != "" {
			os.RemoveAll(d)
		}
	}
	os.Exit(code)
}

// big returns the shared big store (read-only), with bigSize()
// commitments.
func big(tb testing.TB) *store.Store {
	tb.Helper()
	bigOnce.Do(func() {
		start := time.Now()
		bigStore, bigErr = buildBig(bigSize())
		bigBuilt = time.Since(start)
	})
	if bigErr != nil {
		tb.Fatal(bigErr)
	}
	return bigStore
}

// vocabulary for generated commitments: realistic township wording.
var (
	places = []string{"赤土店村", "花园村", "马圈村", "白沙洞村", "刘坪村", "清和堂村", "东虎岭村", "西沟村", "镇区", "石门村",
		"杨山村", "赤土店社区", "竹园村", "郭店村", "草庙村", "兴华村"}
	services = map[domain.Category][]string{
		domain.CatEmployment:       {"登记失业人员岗位推送", "公益性岗位招聘", "返乡创业培训"},
		domain.CatProperty:         {"老旧小区物业投诉答复", "物业服务质量评议"},
		domain.CatSchooling:        {"随迁子女入学证明办理", "留守儿童关爱走访"},
		domain.CatFamilyPlanning:   {"生育登记当日办结", "计生家庭奖扶金发放"},
		domain.CatElderlyCare:      {"独居老人上门走访", "高龄津贴按月发放", "幸福院助餐服务"},
		domain.CatDisability:       {"残疾人两项补贴审核", "无障碍设施改造"},
		domain.CatPovertyRelief:    {"脱贫户产业奖补发放", "防返贫监测帮扶"},
		domain.CatMedicalInsurance: {"城乡居民医保参保登记", "医保报销材料一次告知"},
		domain.CatHousing:          {"农村危房改造", "公租房资格审核"},
		domain.CatTransport:        {"村村通客车线路恢复", "乡村道路维修"},
		domain.CatParking:          {"公共停车位建设", "停车收费标准公示"},
		domain.CatFireTheft:        {"沿街商铺消防检查", "治安巡逻防盗"},
		domain.CatMilitaryFamilies: {"军属优待金发放", "退役军人走访慰问"},
		domain.CatConvenience:      {"便民服务中心延时服务", "证明材料网上办理"},
		domain.CatAdminQuality:     {"窗口服务满意度提升", "首问负责制落实"},
		domain.CatAdminTimeLimit:   {"行政许可7个工作日内上网公开", "信访事项按期答复"},
		domain.CatAdminGuarantee:   {"办事材料一次性告知", "容缺受理"},
		domain.CatPracticalDeeds:   {"饮水安全工程", "村级文化广场建设", "路灯亮化"},
		domain.CatWorkTask:         {"年度政务诚信自查", "信用信息归集报送"},
		domain.CatInvestment:       {"招商项目用地保障", "入驻企业帮办代办"},
		domain.CatPayment:          {"工程款按期支付", "征地补偿款发放"},
	}
	sentences = []string{"对辖区内符合条件的群众，受理后按期办结并书面告知结果。", "建立工作台账，每月公示办理进度，接受群众监督。",
		"发现问题及时整改，整改情况报镇党委政府备案。", "材料齐全的当场办理，不齐全的一次性告知所需材料。",
		"由责任人牵头，村（社区）配合，确保按时完成。", "办理结果在镇政务公开栏和信用洛阳网站同步公开。",
		"因客观原因不能按期完成的，提前说明理由并报批。", "群众可通过12345热线反映未履行承诺的情况。"}
	surnames   = []string{"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马", "罗"}
	givenNames = []string{"建国", "丽", "强", "芳", "敏", "静", "伟", "磊", "洋", "涛"}
	offices    = []string{"党政办", "民政所", "城建办", "社会事务办", "社保所", "乡村振兴办", "安监站", "综治中心"}
	bases      = []string{"《河南省优化营商环境条例》", "《社会保险法》", "《军人抚恤优待条例》", "《就业促进法》第五十二条",
		"《洛阳市加强政务诚信建设实施方案》", ""}
)

// bigGen writes a colleague device's change sets.
type bigGen struct {
	key  ed25519.PrivateKey
	dev  protocol.DeviceID
	seq  uint64
	prev protocol.Hash
	num  uint64
	hlc  protocol.HLC
	ops  []protocol.Op
	sets [][]byte
}

func (g *bigGen) add(op protocol.Op) protocol.OpID {
	g.num++
	g.hlc++
	op.Num, op.HLC, op.Office = g.num, g.hlc, township
	g.ops = append(g.ops, op)
	if len(g.ops) == 250 {
		g.flush()
	}
	return protocol.OpID{Device: g.dev, Num: op.Num}
}

func (g *bigGen) flush() {
	if len(g.ops) == 0 {
		return
	}
	cs := &protocol.ChangeSet{Device: g.dev, Office: township, Author: "liqiang", AuthorRole: domain.RoleLeader,
		Seq: g.seq + 1, Prev: g.prev, Ops: g.ops}
	if err := cs.Seal(g.key); err != nil {
		panic(err)
	}
	g.sets = append(g.sets, cs.Bytes())
	g.seq, g.prev, g.ops = cs.Seq, cs.Hash(), nil
}

// buildBig creates a store with n commitments in every category, status
// and due situation.
func buildBig(n int) (*store.Store, error) {
	dir, err := os.MkdirTemp("", "jiannuo-vm-big-")
	if err != nil {
		return nil, err
	}
	bigDir = dir
	return buildBigAt(filepath.Join(dir, "township.db"), n)
}

// buildBigAt is buildBig making the file at path.
func buildBigAt(path string, n int) (*store.Store, error) {
	s, err := store.Open(path, &store.Options{KDF: auth.TestParams(), Logger: quiet(), NoSync: true})
	if err != nil {
		return nil, err
	}
	leader, err := s.Setup(store.SetupConfig{Office: township, DeviceName: "赤土店镇-1",
		Name: "zhangli", DisplayName: "张丽", Role: domain.RoleLeader, Passphrase: testPass})
	if err != nil {
		return nil, err
	}
	pub, priv, _ := ed25519.GenerateKey(crand.Reader)
	g := &bigGen{key: priv, dev: protocol.DeviceIDFromKey(pub),
		hlc: protocol.MakeHLC(time.Date(2024, 1, 1, 8, 0, 0, 0, cst).UnixMilli(), 0)}
	if err := s.PutDevice(store.DeviceRecord{ID: g.dev, Key: pub, Office: township, Name: "赤土店镇-2"}); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(2026, 11))
	local := n / 200 // made on this device, some still pending
	for i := 0; i < n-local; i++ {
		c := genCommitment(rng, i)
		values := map[domain.Field]string{
			domain.FieldCategory: string(c.Category), domain.FieldTitle: c.Title, domain.FieldText: c.Text,
			domain.FieldLegalBasis: c.LegalBasis, domain.FieldResponsible: c.Responsible,
			domain.FieldStartDate: c.StartDate.String(), domain.FieldDeadline: c.Deadline.String(),
			domain.FieldPublic: "true", domain.FieldStatus: string(domain.StatusDraft),
		}
		id := protocol.NewOrderedEntityID()
		create := protocol.Op{Kind: protocol.OpCreate, Target: id}
		for _, f := range domain.Fields() {
			create.Writes = append(create.Writes, protocol.FieldWrite{Field: f, Value: values[f]})
		}
		base := g.add(create)
		from := domain.StatusDraft
		for _, to := range pathTo(bigStatus(rng)) {
			reason := ""
			if to == domain.StatusWithdrawn || to == domain.StatusPartlyFulfilled {
				reason = "依据镇党委会议决定"
			}
			if to == domain.StatusInProgress || to == domain.StatusFulfilledOnTime || to == domain.StatusFulfilledLate {
				g.add(protocol.Op{Kind: protocol.OpFulfil, Target: id, Entry: &protocol.Entry{
					Date: c.StartDate.AddDays(rng.IntN(60) + 1), Progress: uint8(rng.IntN(101)), Note: "按计划推进，已完成阶段性工作。"}})
			}
			base = g.add(protocol.Op{Kind: protocol.OpTransition, Target: id, From: from, Reason: reason,
				Writes: []protocol.FieldWrite{{Field: domain.FieldStatus, Value: string(to), Base: []protocol.OpID{base}}}})
			from = to
		}
	}
	g.flush()
	for i := 0; i < len(g.sets); i += 40 {
		res, err := s.Apply(g.sets[i:min(i+40, len(g.sets))]...)
		if err != nil {
			return nil, err
		}
		for _, r := range res {
			if !r.Applied() {
				return nil, fmt.Errorf("big store: change set %d refused: %v", r.Seq, r.Err)
			}
		}
	}
	// Local work: half acknowledged by the county, half still waiting.
	for i := 0; i < local; i++ {
		c := genCommitment(rng, n-local+i)
		if _, err := leader.Create(store.Draft{Category: c.Category, Title: c.Title, Text: c.Text, LegalBasis: c.LegalBasis,
			Responsible: c.Responsible, StartDate: c.StartDate, Deadline: c.Deadline, Public: true}); err != nil {
			return nil, err
		}
		if i == local/2 {
			if _, err := leader.Seal(0); err != nil {
				return nil, err
			}
			for {
				seq, ok, err := s.OutboxFirst()
				if err != nil {
					return nil, err
				}
				if !ok {
					break
				}
				if err := s.Acknowledge(seq, nil); err != nil {
					return nil, err
				}
			}
		}
	}
	return s, nil
}

// bigStatus picks a status with the mix of a township's records over a few
// years: most closed or in progress.
func bigStatus(rng *rand.Rand) domain.Status {
	switch p := rng.IntN(100); {
	case p < 10:
		return domain.StatusDraft
	case p < 30:
		return domain.StatusPublished
	case p < 55:
		return domain.StatusInProgress
	case p < 78:
		return domain.StatusFulfilledOnTime
	case p < 88:
		return domain.StatusFulfilledLate
	case p < 93:
		return domain.StatusPartlyFulfilled
	}
	return domain.StatusWithdrawn
}

// genCommitment invents commitment number i.
func genCommitment(rng *rand.Rand, i int) store.Draft {
	cats := domain.Categories()
	cat := cats[rng.IntN(len(cats))]
	svc := services[cat][rng.IntN(len(services[cat]))]
	var text strings.Builder
	for k := 0; k < 2+rng.IntN(3); k++ {
		text.WriteString(sentences[rng.IntN(len(sentences))])
	}
	start := calendar.NewDate(2024, time.January, 1).AddDays(rng.IntN(1060))
	var dl domain.Deadline
	switch p := rng.IntN(100); {
	case p < 60:
		dl = domain.DateDeadline(start.AddDays(10 + rng.IntN(400)))
	case p < 95:
		dl = domain.WorkdaysDeadline(3 + rng.IntN(60))
	}
	return store.Draft{
		Category:    cat,
		Title:       fmt.Sprintf("%s%s（第%d号）", places[rng.IntN(len(places))], svc, i+1),
		Text:        text.String(),
		LegalBasis:  bases[rng.IntN(len(bases))],
		Responsible: surnames[rng.IntN(len(surnames))] + givenNames[rng.IntN(len(givenNames))] + "（" + offices[rng.IntN(len(offices))] + "）",
		StartDate:   start,
		Deadline:    dl,
	}
}

// TestBigListFilters checks filters, search and sort on 50,000 rows
// against a plain reference computed from the store's commitments.
func TestBigListFilters(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a big store")
	}
	s := big(t)
	t.Logf("big store built in %v", bigBuilt)
	all, err := s.AllCommitments()
	must(t, err)
	if len(all) != bigSize() {
		t.Fatalf("big store has %d commitments", len(all))
	}
	un, err := s.Unconfirmed()
	must(t, err)
	if len(un) == 0 || len(un) >= bigSize()/200 {
		t.Fatalf("big store: %d unconfirmed", len(un))
	}
	cal := calendar.Default()
	today := testToday
	l := NewList(cal)
	start := time.Now()
	must(t, l.Load(s, today))
	t.Logf("Load of %d rows: %v", l.Total(), time.Since(start))

	type ref struct {
		c   store.Commitment
		due domain.Due
		hay string // what search looks at, lower-cased
	}
	refs := make([]ref, len(all))
	for i, c := range all {
		refs[i] = ref{c, domain.ComputeDue(c.Status, c.Start(), c.DeadlineValue(), today, cal),
			strings.ToLower(c.Title + "\n" + c.Responsible + "\n" + c.Text + "\n" + c.LegalBasis)}
	}
	contains := func(r *ref, term string) bool { return strings.Contains(r.hay, strings.ToLower(term)) }
	for _, tc := range []struct {
		name string
		f    Filter
		want func(r *ref) bool
	}{
		{"all", Filter{}, func(*ref) bool { return true }},
		{"category", Filter{Category: domain.CatElderlyCare}, func(r *ref) bool { return r.c.Category == domain.CatElderlyCare }},
		{"status", Filter{Status: domain.StatusPartlyFulfilled}, func(r *ref) bool { return r.c.Status == domain.StatusPartlyFulfilled }},
		{"responsible", Filter{Responsible: "王建国（民政所）"}, func(r *ref) bool { return r.c.Responsible == "王建国（民政所）" }},
		{"overdue", Filter{Window: DueOverdue}, func(r *ref) bool { return r.due.State == domain.DueOverdue }},
		{"due soon", Filter{Window: DueSoon}, func(r *ref) bool { return r.due.State == domain.DueSoon }},
		{"conflicted", Filter{Window: DueConflicted}, func(r *ref) bool { return r.c.IsConflicted() }},
		{"unconfirmed", Filter{Window: DueUnconfirmed}, func(r *ref) bool { return un[r.c.Ref] }},
		{"search title", Filter{Query: "独居老人"}, func(r *ref) bool { return contains(r, "独居老人") }},
		{"search text", Filter{Query: "12345热线"}, func(r *ref) bool { return contains(r, "12345热线") }},
		{"search number", Filter{Query: "第4242号"}, func(r *ref) bool { return contains(r, "第4242号") }},
		{"search two words", Filter{Query: "花园村 台账"}, func(r *ref) bool { return contains(r, "花园村") && contains(r, "台账") }},
		{"search responsible", Filter{Query: "陈敏"}, func(r *ref) bool { return contains(r, "陈敏") }},
		{"search and filters", Filter{Query: "村", Status: domain.StatusInProgress, Window: DueOverdue},
			func(r *ref) bool {
				return contains(r, "村") && r.c.Status == domain.StatusInProgress && r.due.State == domain.DueOverdue
			}},
		{"search nothing", Filter{Query: "不存在的事项"}, func(*ref) bool { return false }},
	} {
		for _, sk := range SortKeys() {
			for _, desc := range []bool{false, true} {
				f := tc.f
				f.Sort, f.Desc = sk, desc
				l.SetFilter(f)
				want := map[store.Ref]bool{}
				for i := range refs {
					if tc.want(&refs[i]) {
						want[refs[i].c.Ref] = true
					}
				}
				if l.Len() != len(want) {
					t.Fatalf("%s (sort %d desc %v): %d rows, want %d", tc.name, sk, desc, l.Len(), len(want))
				}
				for i := 0; i < l.Len(); i++ {
					if !want[l.Row(i).Ref] {
						t.Fatalf("%s: row %d %q should not be shown", tc.name, i, l.Row(i).Title)
					}
				}
				checkSorted(t, l, f)
			}
		}
		if tc.name == "all" || tc.name == "search title" {
			t.Logf("%s: %d rows", tc.name, l.Len())
		}
	}
}

// checkSorted checks that the rows shown are in the filter's order.
func checkSorted(t *testing.T, l *List, f Filter) {
	t.Helper()
	for i := 1; i < l.Len(); i++ {
		a, b := l.Row(i-1), l.Row(i)
		var c int
		switch f.Sort {
		case SortDeadline:
			switch {
			case a.Due.Date.IsZero() && !b.Due.Date.IsZero():
				t.Fatalf("deadline: row %d without deadline before one with", i-1)
			case a.Due.Date.IsZero() || b.Due.Date.IsZero():
				continue
			}
			c = a.Due.Date.Compare(b.Due.Date)
		case SortUpdated:
			c = a.Updated.Compare(b.Updated)
		case SortStatus:
			c = int(statusIndex(a.Status)) - int(statusIndex(b.Status))
		case SortUrgency:
			c = urgency(&a) - urgency(&b)
			if f.Desc {
				c = -c
			}
			if c == 0 && (a.Due.Date.IsZero() && !b.Due.Date.IsZero() || !b.Due.Date.IsZero() && a.Due.Date.After(b.Due.Date)) {
				t.Fatalf("urgency: row %d due after row %d in the same group", i-1, i)
			}
			if c > 0 {
				t.Fatalf("urgency desc %v: row %d (group %d) after row %d (group %d)", f.Desc, i-1, urgency(&a), i, urgency(&b))
			}
			continue
		case SortTitle:
			continue // collation: checked on known titles in TestListSort
		}
		if f.Desc {
			c = -c
		}
		if c > 0 {
			t.Fatalf("sort %d desc %v: row %d after row %d", f.Sort, f.Desc, i-1, i)
		}
	}
}
