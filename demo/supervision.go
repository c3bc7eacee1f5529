package demo

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// demoClock is the demo stores' clock: the demo's "now" (cfg.Now, then
// running) moved back by a number of days while the seed plays the past
// weeks, so that cases are filed, taken up and answered on days of their
// own.
type demoClock struct {
	mu   sync.Mutex
	now  func() time.Time
	back time.Duration
}

// newDemoClock returns the clock of a demo whose today is today: base, if
// given (store.Options.Now), else the wall clock shifted to today.
func newDemoClock(today time.Time, base func() time.Time) *demoClock {
	if base == nil {
		started := time.Now()
		base = func() time.Time { return today.Add(time.Since(started)) }
	}
	return &demoClock{now: base}
}

// Now is the stores' time.
func (c *demoClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now().Add(-c.back)
}

// daysAgo moves the clock to n days before the demo's now. The stores'
// logical clocks never go back: an earlier day is for what comes later in
// the seed only.
func (c *demoClock) daysAgo(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.back = time.Duration(n) * 24 * time.Hour
}

// demoCase is one complaint the county records (the demo has no municipal
// node: its admin device opens them, source county).
type demoCase struct {
	title   string // the commitment's title
	text    string
	contact protocol.Contact
}

// seedSupervision plays the demo's supervision story (§二(三), §四(二)–(四)):
// a complaint about the breached commitment, upheld, leads the county to
// confirm the breach and record it; the township explains (accepted), is
// sanctioned, submits its rectification and objects to the facts; other
// complaints stand open and overdue, with a draft awaiting the leader,
// with a reply awaiting the county, and closed as not upheld.
func (d *Demo) seedSupervision(leader, colleague, admin *store.Session, breach store.Ref) error {
	id, err := countyIdentity(d.dir, d.kdf)
	if err != nil {
		return err
	}
	if err := admin.Store().SetSyncSettings(store.SyncSettings{County: County, CountyKey: id.Key.Public().(ed25519.PublicKey)}); err != nil {
		return err
	}
	staff, err := d.Township.SignIn("wangfang", Passphrase)
	if err != nil {
		return err
	}
	all := []*store.Session{leader, colleague, admin}
	deliver := func() error { return d.exchange(all...) }
	refs, err := d.refsByTitle()
	if err != nil {
		return err
	}
	open := func(c demoCase) (store.Ref, error) {
		ref, ok := refs[c.title]
		if !ok {
			return store.Ref{}, fmt.Errorf("no demo commitment %q", c.title)
		}
		id, err := admin.OpenCase(store.CaseInput{Kind: domain.CaseComplaint, Commitment: ref, Text: c.text, Contact: c.contact})
		if err != nil {
			return store.Ref{}, err
		}
		ck := store.Ref{Office: ref.Office, ID: id}
		return ck, d.assign(admin, ck, domain.DefaultCaseAckDays)
	}
	reply := func(drafter, approver *store.Session, ck store.Ref, text string) error {
		draft, err := drafter.DraftReply(ck.Office, ck.ID, text, nil)
		if err != nil || approver == nil {
			return err
		}
		return approver.ApproveReply(ck.Office, ck.ID, draft)
	}
	accept := func(ck store.Ref, f domain.CaseFinding, note string) error {
		_, err := admin.CaseStep(ck.Office, ck.ID, store.CaseStepInput{Step: domain.CaseAccepted, Finding: f, Text: note})
		return err
	}
	type step struct {
		daysAgo int
		do      func() error
	}
	var upheld, notUpheld, replied, drafted store.Ref
	var record protocol.EntityID
	story := []step{
		// A complaint about the breached commitment, upheld: the breach
		// is confirmed and its record linked to the complaint.
		{34, func() (err error) {
			upheld, err = open(demoCase{"脱贫户产业奖补资金按期发放", "我家去年验收合格的养殖奖补资金，过了三个多月还没发放，多次询问都说再等等。",
				protocol.Contact{Name: "李卫东", Phone: "139 0379 2468"}})
			return err
		}},
		{33, func() error {
			if err := leader.AcknowledgeCase(upheld.Office, upheld.ID); err != nil {
				return err
			}
			return reply(leader, leader, upheld, "经核查，12户脱贫户产业奖补资金因验收材料补正延迟发放，已于本周完成拨付手续，并向投诉人当面说明。")
		}},
		{31, func() error {
			if err := accept(upheld, domain.FindingUpheld, "经核查，投诉属实：资金超过承诺期限未发放。"); err != nil {
				return err
			}
			if err := admin.Transition(breach, domain.StatusBreached, "群众投诉核实：承诺期限内未完成，已下达整改通知"); err != nil {
				return err
			}
			record, err = admin.RecordDishonesty(breach, store.DishonestyInput{Type: domain.DishonestyBreach, Official: "高峰（乡村振兴办）",
				Deadline: d.Today.AddDays(20), Reason: "验收合格后30日内发放产业奖补资金的承诺，逾期三个月未兑现，经群众投诉核实。"})
			if err != nil {
				return err
			}
			_, err = admin.CaseStep(upheld.Office, upheld.ID, store.CaseStepInput{Step: domain.CaseLinked, Record: record})
			return err
		}},
		// The township's written explanation, accepted; a sanction.
		{27, func() error {
			return leader.SubmitExplanation(Township, record, "因验收材料需补正，财政所未按期拨付；镇政府已约谈分管负责人，明确专人跟踪。", nil)
		}},
		{26, func() error {
			r, err := admin.Store().DishonestyRecord(Township, record)
			if err != nil || r.Pending == nil {
				return errors.Join(err, errors.New("demo: no explanation pending"))
			}
			if err := admin.AcceptSubmission(Township, record, r.Pending.Op, "说明情况属实。"); err != nil {
				return err
			}
			return admin.Sanction(Township, record, domain.SanctionPublicCriticism, "在全县政务诚信工作通报中予以通报批评。", nil)
		}},
		// A complaint closed as not upheld.
		{25, func() (err error) {
			notUpheld, err = open(demoCase{"老旧小区物业服务投诉5个工作日内答复", "向镇里反映小区楼道灯不亮，一直没有答复。", protocol.Contact{Phone: "0379-66881234"}})
			return err
		}},
		{24, func() error { return staff.AcknowledgeCase(notUpheld.Office, notUpheld.ID) }},
		{22, func() error {
			return reply(staff, leader, notUpheld, "经查，该投诉已于受理后第3个工作日电话答复，物业公司已更换楼道灯具，附回访记录。")
		}},
		{18, func() error {
			return accept(notUpheld, domain.FindingNotUpheld, "经核查，已在承诺时限内答复并处理。")
		}},
		// A reply awaiting the county.
		{12, func() (err error) {
			replied, err = open(demoCase{"残疾人两项补贴10个工作日内审核", "9月递交的重度残疾人护理补贴申请，至今未见审核结果。", protocol.Contact{}})
			return err
		}},
		{11, func() error {
			if err := leader.AcknowledgeCase(replied.Office, replied.ID); err != nil {
				return err
			}
			return reply(leader, leader, replied, "该申请因缺少残疾人证复印件退回补正，补正后已于3个工作日内审核通过，本月起发放。")
		}},
		// An open complaint, overdue for its acknowledgement.
		{8, func() error {
			_, err := open(demoCase{"80岁以上独居老人每月上门走访", "我母亲82岁独居，今年8月以来没有见到村里或镇里的人上门走访。",
				protocol.Contact{Name: "刘秀英", Phone: "13903791234"}})
			return err
		}},
		// A draft awaiting the leader's approval.
		{5, func() (err error) {
			drafted, err = open(demoCase{"村村通客车线路恢复运营", "道路施工早已结束，去东沟村的客车还没有恢复。", protocol.Contact{Name: "王建华"}})
			return err
		}},
		{4, func() error { return staff.AcknowledgeCase(drafted.Office, drafted.ID) }},
		// The rectification, submitted with a file, and the township's
		// objection to the facts recorded.
		{3, func() error {
			content := []byte("%PDF-1.4\n% 演示：产业奖补资金拨付凭证\n")
			h, err := leader.AddEvidence("奖补资金拨付凭证.pdf", "application/pdf", strings.NewReader(string(content)))
			if err != nil {
				return err
			}
			for _, s := range []*store.Store{d.Colleague, d.County} {
				if err := s.PutEvidenceContent(h, content); err != nil {
					return err
				}
			}
			return leader.SubmitRectification(Township, record, "12户产业奖补资金已全部拨付到户，附拨付凭证；建立奖补资金发放台账，每月核对。", []protocol.Hash{h})
		}},
		{2, func() error {
			obj, err := leader.OpenCase(store.CaseInput{Kind: domain.CaseObjection, Record: store.Ref{Office: Township, ID: record},
				Text: "记录称“逾期三个月”与事实不符：首批5户已于验收后25日内发放，逾期的为其余7户，请予更正。"})
			if err != nil {
				return err
			}
			if err := deliver(); err != nil {
				return err
			}
			return d.assign(admin, store.Ref{Office: Township, ID: obj}, 0)
		}},
		{1, func() error {
			return reply(staff, nil, drafted, "经与县交通运输局核实，东沟线车辆已完成检修，定于下周一恢复运营，届时在村务公开栏公告。")
		}},
	}
	for _, s := range story {
		d.clock.daysAgo(s.daysAgo)
		if err := s.do(); err != nil {
			return fmt.Errorf("supervision, %d days ago: %w", s.daysAgo, err)
		}
		if err := deliver(); err != nil {
			return err
		}
	}
	return nil
}

// assign sets the deadlines of case ck from the day it was filed, in
// working days: acknowledgement after ackDays (0: none, an objection),
// answer after the default answer or objection time.
func (d *Demo) assign(admin *store.Session, ck store.Ref, ackDays int) error {
	c, err := admin.Store().Case(ck.Office, ck.ID)
	if err != nil {
		return err
	}
	filed := domain.ChinaDate(c.Filed)
	in := store.CaseStepInput{Step: domain.CaseAssigned}
	if ackDays > 0 {
		if in.AckDue, err = d.deadline(filed, ackDays); err != nil {
			return err
		}
	}
	days := domain.DefaultCaseAnswerDays
	if c.Kind == domain.CaseObjection {
		days = domain.DefaultObjectionDays
	}
	if in.AnswerDue, err = d.deadline(filed, days); err != nil {
		return err
	}
	_, err = admin.CaseStep(ck.Office, ck.ID, in)
	return err
}

// deadline is n working days after filed; a year the calendar does not
// cover gets its Monday–Friday estimate.
func (d *Demo) deadline(filed calendar.Date, n int) (calendar.Date, error) {
	due, err := domain.CaseDeadline(filed, n, d.Calendar)
	if errors.Is(err, calendar.ErrYearNotCovered) {
		err = nil
	}
	return due, err
}

// refsByTitle maps the demo commitments' titles to their references.
func (d *Demo) refsByTitle() (map[string]store.Ref, error) {
	all, err := d.County.AllCommitments()
	if err != nil {
		return nil, err
	}
	out := make(map[string]store.Ref, len(all))
	for _, c := range all {
		out[c.Title] = c.Ref
	}
	return out, nil
}
