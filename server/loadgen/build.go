package loadgen

import (
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// What simulated devices write: the fourteen public services of §五(七),
// each with a commitment a township would publish, and fulfilment entries
// as staff log them. In the default mode (TextHanzi) titles, texts, notes
// and names are generated (text.go); in TextClauses, the mode of earlier
// figures, they are drawn from the few dozen clauses below, which compress
// about twice as well as real text.
var services = []struct {
	cat   domain.Category
	title string
}{
	{domain.CatEmployment, "零就业家庭动态清零帮扶"},
	{domain.CatProperty, "老旧小区物业投诉三个工作日内答复"},
	{domain.CatSchooling, "适龄儿童入学材料一次性告知"},
	{domain.CatFamilyPlanning, "生育登记服务当日办结"},
	{domain.CatElderlyCare, "高龄津贴按月足额发放到户"},
	{domain.CatDisability, "残疾人两项补贴限时审核"},
	{domain.CatPovertyRelief, "脱贫户帮扶责任人每月入户走访"},
	{domain.CatMedicalInsurance, "城乡居民医保参保登记即时办理"},
	{domain.CatHousing, "农村危房改造补助资金按期拨付"},
	{domain.CatTransport, "村村通客运班线按时发车"},
	{domain.CatParking, "集镇便民停车点规范设置"},
	{domain.CatFireTheft, "冬春季防火防盗巡查每周两次"},
	{domain.CatMilitaryFamilies, "优抚对象重要节日走访慰问"},
	{domain.CatConvenience, "便民服务窗口午间不断档值守"},
}

var officials = []string{"王建国（党政办主任）", "李秀英（民政所所长）", "张伟（社保所所长）", "刘芳（便民服务中心主任）", "陈志强（副镇长）"}

const legalBasis = "《洛阳市加强政务诚信建设实施方案》第五部分第（七）项"

// Clauses commitments and fulfilment notes are made of, drawn at random so
// that a change set does not compress better than real text would.
var (
	promises = []string{
		"对群众提出的相关事项做到一次性告知、限时办结",
		"符合条件的申请当场受理，材料不全的一次性告知需补正的全部内容",
		"办理进度和结果在乡镇政务公开栏及“信用洛阳”网站同步公示",
		"设立咨询电话和意见箱，群众反映的问题三个工作日内答复",
		"实行首问负责、限时办结和责任追究制度",
		"节假日安排专人值班，确保服务不断档",
		"对行动不便的老年人、残疾人提供上门代办服务",
		"资金发放实行一卡通直接到户，杜绝截留挪用",
		"每月对办理情况进行一次自查，发现问题立即整改",
		"接受人大代表、政协委员和群众的监督评议",
	}
	sanctions = []string{
		"未按期践诺的，由责任人作出书面说明，限期整改，并记入单位和责任人诚信档案",
		"因工作失误造成不良影响的，依照有关规定追究相关人员责任",
		"群众投诉经查属实的，取消年度评先评优资格并在全镇通报",
		"承诺事项不因人员调整、岗位变动而改变，接任人员继续履行",
	}
	progress = []string{
		"本周受理群众诉求%d件，已按时办结%d件",
		"入户走访%d户，解决实际困难%d件",
		"发放补贴%d人次，资金%d万元已全部到账",
		"组织专项巡查%d次，排查整改隐患%d处",
		"召开群众座谈会%d场，收集意见建议%d条",
		"窗口接待办事群众%d人次，满意率百分之%d",
	}
	remarks = []string{
		"其余事项正在承诺时限内办理",
		"办理情况已在政务公开栏公示",
		"相关佐证材料已归档备查",
		"下一步将继续加强督促检查",
		"存在的问题已明确责任人和整改时限",
		"群众反映良好",
	}
)

func pick(r *rand.Rand, from []string) string { return from[r.IntN(len(from))] }

func commitmentText(r *rand.Rand, title string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "本单位向社会公开承诺：%s（第%d项），自%d月%d日起实施。", title, n, 1+r.IntN(12), 1+r.IntN(28))
	for k := 2 + r.IntN(3); k > 0; k-- {
		b.WriteString(pick(r, promises))
		b.WriteString("；")
	}
	b.WriteString(pick(r, sanctions))
	b.WriteString("。")
	return b.String()
}

func fulfilmentNote(r *rand.Rand, n int) string {
	a := 3 + r.IntN(40)
	return fmt.Sprintf("第%d次践诺记录：%s，%s。", n, fmt.Sprintf(pick(r, progress), a, 1+r.IntN(a)), pick(r, remarks))
}

// pushSet is one sealed change set, ready to go on the wire.
type pushSet struct {
	frame []byte // the push frame: its type byte, then the change set
	hash  protocol.Hash
	seq   uint64
	ops   int
}

// body returns the change set's bytes inside the frame.
func (p *pushSet) body() []byte { return p.frame[1:] }

// author is who the simulated devices sign as: a township leader, who may
// create, publish and log fulfilment.
const (
	authorName = "压测负责人"
	authorRole = domain.RoleLeader
)

// texts are the strings of one device's operations.
type texts interface {
	title(svc string, n int) string
	commitment(title string, n int) string
	responsible(n int) string
	note(n int) string
}

// clauseTexts draws from the fixed clauses.
type clauseTexts struct{ rng *rand.Rand }

func (c clauseTexts) title(svc string, n int) string      { return fmt.Sprintf("%s（第%d项）", svc, n) }
func (c clauseTexts) commitment(svc string, n int) string { return commitmentText(c.rng, svc, n) }
func (c clauseTexts) responsible(n int) string            { return officials[n%len(officials)] }
func (c clauseTexts) note(n int) string                   { return fulfilmentNote(c.rng, n) }

// hanziTexts generates them.
type hanziTexts struct{ t *Text }

func (h hanziTexts) title(string, int) string      { return h.t.Title() }
func (h hanziTexts) commitment(string, int) string { return h.t.Commitment() }
func (h hanziTexts) responsible(int) string {
	return h.t.Name() + "（" + h.t.Words(2+h.t.rng.IntN(5)) + "）"
}
func (h hanziTexts) note(int) string { return h.t.Note() }

// deviceSeed is the seed of device i's texts under the Loadgen's seed.
func deviceSeed(seed uint64, i int) uint64 { return seed ^ (uint64(i)+1)*0x9e3779b97f4a7c15 }

func newTexts(mode TextMode, seed uint64) texts {
	if mode == TextClauses {
		return clauseTexts{rand.New(rand.NewPCG(seed, 2017))}
	}
	return hanziTexts{NewText(seed)}
}

// buildChain makes k change sets of m operations for a device, chained from
// its first: operation numbers 1, 2, … without gaps, each change set naming
// the hash of the one before. One operation in five creates a commitment,
// the next publishes it, the other three log fulfilment entries on recent
// published commitments. Each change set is checked with protocol.Verify
// exactly as the server will check it. New commitments' IDs come from
// newID.
func buildChain(key ed25519.PrivateKey, o office.Code, k, m int, now time.Time, tx texts, newID func() protocol.EntityID) ([]pushSet, error) {
	pub := key.Public().(ed25519.PublicKey)
	dev := protocol.DeviceIDFromKey(pub)
	reg := oneDevice{protocol.DeviceInfo{ID: dev, Key: pub, Office: o}}
	chain := &Chain{}

	hlc := protocol.MakeHLC(now.UnixMilli(), 0)
	start := calendar.NewDate(2026, time.November, 2)
	var (
		num        uint64
		lastCreate protocol.OpID
		lastTarget protocol.EntityID
		published  []protocol.EntityID // most recent last
		creates    int
		entries    int
	)
	out := make([]pushSet, 0, k)
	for s := 0; s < k; s++ {
		cs := &protocol.ChangeSet{Device: dev, Office: o, Author: authorName, AuthorRole: authorRole,
			Seq: chain.Last.Seq + 1, Prev: chain.Last.Hash, Ops: make([]protocol.Op, 0, m)}
		for len(cs.Ops) < m {
			num++
			hlc++
			op := protocol.Op{Num: num, HLC: hlc, Office: o}
			switch (num - 1) % 5 {
			case 0:
				svc := services[creates%len(services)]
				creates++
				op.Kind, op.Target = protocol.OpCreate, newID()
				values := map[domain.Field]string{
					domain.FieldCategory: string(svc.cat), domain.FieldTitle: tx.title(svc.title, creates),
					domain.FieldText: tx.commitment(svc.title, creates), domain.FieldLegalBasis: legalBasis,
					domain.FieldResponsible: tx.responsible(creates), domain.FieldStartDate: start.String(),
					domain.FieldDeadline: domain.WorkdaysDeadline(5 + creates%16).String(), domain.FieldPublic: "true",
					domain.FieldStatus: string(domain.StatusDraft),
				}
				for _, f := range domain.Fields() {
					op.Writes = append(op.Writes, protocol.FieldWrite{Field: f, Value: values[f]})
				}
				lastCreate, lastTarget = op.ID(dev), op.Target
			case 1:
				op.Kind, op.Target, op.From = protocol.OpTransition, lastTarget, domain.StatusDraft
				op.Writes = []protocol.FieldWrite{{Field: domain.FieldStatus, Value: string(domain.StatusPublished),
					Base: []protocol.OpID{lastCreate}}}
				published = append(published, lastTarget)
				if len(published) > 16 {
					published = published[1:]
				}
			default:
				entries++
				op.Kind, op.Target = protocol.OpFulfil, published[entries%len(published)]
				op.Entry = &protocol.Entry{Date: start.AddDays(entries % 60), Progress: uint8(10 * (1 + entries%10)),
					Note: tx.note(entries)}
			}
			cs.Ops = append(cs.Ops, op)
		}
		if err := cs.Seal(key); err != nil {
			return nil, fmt.Errorf("sealing change set %d: %w", cs.Seq, err)
		}
		if _, err := protocol.Verify(cs.Bytes(), reg, chain, dev); err != nil {
			return nil, fmt.Errorf("built change set %d does not verify: %w", cs.Seq, err)
		}
		chain.Add(cs)
		out = append(out, pushSet{frame: protocol.AppendFrame(nil, &protocol.Frame{Type: protocol.FramePush, Body: cs.Bytes()}),
			hash: cs.Hash(), seq: cs.Seq, ops: len(cs.Ops)})
	}
	return out, nil
}

// oneDevice is the Registry of a device checking its own change sets.
type oneDevice struct{ info protocol.DeviceInfo }

func (r oneDevice) Device(id protocol.DeviceID) (protocol.DeviceInfo, error) {
	if id != r.info.ID {
		return protocol.DeviceInfo{}, fmt.Errorf("%w: %s", protocol.ErrUnknownDevice, id)
	}
	return r.info, nil
}

// Chain is one device's chain in memory, as protocol.Chains: what a
// receiver that keeps nothing else needs to verify the device's next
// change set. It answers for its one device whatever the ID asked.
type Chain struct {
	// Last is the last change set added.
	Last   protocol.Head
	hashes []protocol.Hash
}

// Head returns the last change set added.
func (c *Chain) Head(protocol.DeviceID) (protocol.Head, error) { return c.Last, nil }

// HashAt returns the hash of change set seq, if added.
func (c *Chain) HashAt(_ protocol.DeviceID, seq uint64) (protocol.Hash, bool, error) {
	if seq == 0 || seq > uint64(len(c.hashes)) {
		return protocol.Hash{}, false, nil
	}
	return c.hashes[seq-1], true, nil
}

// Add appends a change set that verified against the chain.
func (c *Chain) Add(cs *protocol.ChangeSet) {
	c.hashes = append(c.hashes, cs.Hash())
	c.Last = protocol.Head{Seq: cs.Seq, Hash: cs.Hash(), LastOp: cs.LastOp()}
}
