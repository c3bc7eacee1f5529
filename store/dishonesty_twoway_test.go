package store

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/sync/protocol"
)

// Two-way accountability on dishonesty records: the township submits, the
// county reviews, sanctions, mitigates, corrects and withdraws.

// recordOn has the world's admin record a dishonesty record against the
// world's commitment and sends it everywhere.
func (w *caseWorld) recordOn(t *testing.T, facts string) protocol.EntityID {
	t.Helper()
	id, err := w.admin.se.RecordDishonesty(w.ref, DishonestyInput{Type: domain.DishonestyBreach, Reason: facts,
		Deadline: calendar.NewDate(2026, 12, 31)})
	must(t, err)
	w.send(t, w.admin)
	return id
}

// addFile adds an evidence file on r and hands its content to every other
// replica of the world, as the evidence transfer would.
func (w *caseWorld) addFile(t *testing.T, r *replica, name string, content []byte) protocol.Hash {
	t.Helper()
	h, err := r.se.AddEvidenceFor(township, name, "application/pdf", bytes.NewReader(content))
	must(t, err)
	for _, o := range []*replica{w.leader, w.staff, w.admin} {
		if o != r {
			must(t, o.PutEvidenceContent(h, content))
		}
	}
	return h
}

func mustRecord(t *testing.T, s *Store, id protocol.EntityID) DishonestyRecord {
	t.Helper()
	r, err := s.DishonestyRecord(township, id)
	must(t, err)
	return r
}

// everywhereRecord checks a record on every replica of the world and the
// server, which must agree byte for byte on it.
func (w *caseWorld) everywhereRecord(t *testing.T, id protocol.EntityID, check func(r DishonestyRecord)) {
	t.Helper()
	var first []byte
	for _, s := range []*Store{w.leader.Store, w.staff.Store, w.admin.Store, w.server.Store} {
		r := mustRecord(t, s, id)
		check(r)
		if b := marshal(r); first == nil {
			first = b
		} else if !bytes.Equal(first, b) {
			t.Fatalf("replicas differ on the record:\n%s\n%s", first, b)
		}
	}
}

// TestDishonestyTwoWay follows a record through the township's submissions
// and the county's review: an explanation sent back and submitted again,
// accepted; a rectification accepted; a sanction, a mitigation, a
// correction after an objection; every replica agreeing at each step.
func TestDishonestyTwoWay(t *testing.T) {
	w := newCaseWorld(t)
	id := w.recordOn(t, "2026年1月至3月未按承诺每月走访独居老人。")

	must(t, w.leader.se.SubmitExplanation(township, id, "因网格员调整，走访出现遗漏。", nil))
	w.send(t, w.leader)
	var first protocol.OpID
	w.everywhereRecord(t, id, func(r DishonestyRecord) {
		p := r.Pending
		if p == nil || p.Step != domain.StepExplanationSubmitted || p.Explanation != "因网格员调整，走访出现遗漏。" || p.Author != "user" ||
			r.Status != domain.StepRecorded || r.Explanation != "" || r.Returned != nil {
			t.Fatalf("after the submission: %+v", r)
		}
		first = p.Op
	})
	if err := w.leader.se.SubmitRectification(township, id, "已补走访。", []protocol.Hash{{1}}); !errors.Is(err, ErrNotEditable) {
		t.Fatalf("a second submission while one is pending: %v", err)
	}

	must(t, w.admin.se.ReturnSubmission(township, id, first, "说明过于简单，请写明补救措施。"))
	w.send(t, w.admin)
	w.everywhereRecord(t, id, func(r DishonestyRecord) {
		if r.Pending != nil || r.Returned == nil || r.Returned.Op != first || r.Returned.ReturnReason != "说明过于简单，请写明补救措施。" ||
			r.Returned.ReturnedBy != "user" || r.Returned.ReturnedAt == 0 {
			t.Fatalf("after the return: %+v", r)
		}
	})
	if err := w.admin.se.AcceptSubmission(township, id, first, "认可"); !errors.Is(err, ErrNotEditable) {
		t.Fatalf("accepting a returned submission: %v", err)
	}

	scan := w.addFile(t, w.leader, "书面说明.pdf", []byte("%PDF 书面说明（盖章）"))
	must(t, w.leader.se.SubmitExplanation(township, id, "因网格员调整，走访出现遗漏；已补充网格员两名，建立月度台账。", []protocol.Hash{scan}))
	w.send(t, w.leader)
	second := mustRecord(t, w.admin.Store, id).Pending.Op
	must(t, w.admin.se.AcceptSubmission(township, id, second, "说明属实，予以认可。"))
	w.send(t, w.admin)
	w.everywhereRecord(t, id, func(r DishonestyRecord) {
		if r.Pending != nil || r.Returned != nil || r.Status != domain.StepExplained ||
			r.Explanation != "因网格员调整，走访出现遗漏；已补充网格员两名，建立月度台账。" {
			t.Fatalf("after acceptance: %+v", r)
		}
		last := r.History[len(r.History)-1]
		if last.Step != domain.StepExplained || !slices.Equal(last.Evidence, []protocol.Hash{scan}) || last.Reason != "说明属实，予以认可。" {
			t.Fatalf("the acceptance does not carry the submission: %+v", last)
		}
	})
	if err := w.leader.se.SubmitExplanation(township, id, "再次说明。", nil); !errors.Is(err, ErrNotEditable) {
		t.Fatalf("an explanation after one was accepted: %v", err)
	}

	ledger := w.addFile(t, w.leader, "走访台账.pdf", []byte("%PDF 走访台账"))
	must(t, w.leader.se.SubmitRectification(township, id, "已补走访46户，建立月度走访台账。", []protocol.Hash{ledger}))
	w.send(t, w.leader)
	rect := mustRecord(t, w.admin.Store, id).Pending
	if rect == nil || rect.Step != domain.StepRectificationSubmitted || rect.Description != "已补走访46户，建立月度走访台账。" ||
		!slices.Equal(rect.Evidence, []protocol.Hash{ledger}) {
		t.Fatalf("the rectification pending: %+v", rect)
	}
	must(t, w.admin.se.AcceptSubmission(township, id, rect.Op, "整改到位。"))
	w.send(t, w.admin)

	decision := w.addFile(t, w.admin, "通报.pdf", []byte("%PDF 通报批评决定"))
	must(t, w.admin.se.Sanction(township, id, domain.SanctionPublicCriticism, "予以通报批评。", []protocol.Hash{decision}))
	must(t, w.admin.se.Sanction(township, id, domain.SanctionOther, "约谈主要负责人。", nil))
	must(t, w.admin.se.Mitigate(township, id, domain.MitigationLighter, "主动整改，从轻处理。", nil))
	w.send(t, w.admin)

	// The township objects; the county upholds it and corrects the facts.
	obj, err := w.leader.se.OpenCase(CaseInput{Kind: domain.CaseObjection, Record: Ref{Office: township, ID: id}, Text: "1月、2月已走访，有台账为证。"})
	must(t, err)
	w.send(t, w.leader)
	_, err = w.admin.se.CaseStep(township, obj, CaseStepInput{Step: domain.CaseDecided, Finding: domain.FindingUpheld, Text: "异议成立。"})
	must(t, err)
	must(t, w.admin.se.CorrectRecord(township, id, "2026年3月未按承诺每月走访独居老人。", "异议成立：1月、2月已走访。", nil))
	w.send(t, w.admin)
	w.everywhereRecord(t, id, func(r DishonestyRecord) {
		if r.Status != domain.StepRectified || r.Closed || len(r.Sanctions) != 2 || r.Sanctions[0].Measure() != domain.SanctionPublicCriticism ||
			!slices.Equal(r.Sanctions[0].Evidence, []protocol.Hash{decision}) || r.Sanctions[1].Measure() != domain.SanctionOther ||
			r.Mitigation == nil || r.Mitigation.Mitigation() != domain.MitigationLighter || r.Mitigation.Reason != "主动整改，从轻处理。" || r.Exempt() ||
			r.Reason != "2026年3月未按承诺每月走访独居老人。" || r.OriginalFacts() != "2026年1月至3月未按承诺每月走访独居老人。" ||
			len(r.Corrections) != 1 || r.Corrections[0].Reason != "异议成立：1月、2月已走访。" {
			t.Fatalf("after the county's decisions: %+v", r)
		}
	})

	// Exempt from sanctions: no further sanction.
	must(t, w.admin.se.Mitigate(township, id, domain.MitigationExempt, "情节轻微，免于惩戒。", nil))
	if err := w.admin.se.Sanction(township, id, domain.SanctionHonoursWithdrawn, "取消评优资格。", nil); !errors.Is(err, ErrNotEditable) {
		t.Fatalf("a sanction on an exempt record: %v", err)
	}
	// Withdrawn: closed, and nothing more.
	must(t, w.admin.se.WithdrawRecord(township, id, "该承诺已依法变更，不构成失信。", nil))
	w.send(t, w.admin)
	w.everywhereRecord(t, id, func(r DishonestyRecord) {
		if !r.Closed || r.Withdrawn == nil || r.Withdrawn.Reason != "该承诺已依法变更，不构成失信。" || !r.Exempt() {
			t.Fatalf("after the withdrawal: %+v", r)
		}
	})
	if got, _ := w.leader.DishonestyRecords(DishonestyFilter{OpenOnly: true}); len(got) != 0 {
		t.Fatalf("a withdrawn record is open: %+v", got)
	}
	for name, act := range map[string]func() error{
		"correct":        func() error { return w.admin.se.CorrectRecord(township, id, "事实", "理由", nil) },
		"withdraw again": func() error { return w.admin.se.WithdrawRecord(township, id, "再次撤销", nil) },
		"repair": func() error {
			return w.admin.se.DishonestyStep(township, id, domain.StepRepaired, "修复", "", []protocol.Hash{ledger})
		},
		"mitigate": func() error { return w.admin.se.Mitigate(township, id, domain.MitigationLighter, "从轻", nil) },
	} {
		if err := act(); !errors.Is(err, ErrNotEditable) {
			t.Errorf("%s a withdrawn record: %v", name, err)
		}
	}
}

// TestDishonestyActionRefusals: every action on a record that the signer
// or the record's state does not allow is refused with the receiver's
// code and changes nothing: no state, no queued operation.
func TestDishonestyActionRefusals(t *testing.T) {
	w := newCaseWorld(t)
	id := w.recordOn(t, "逾期未走访。")
	repaired := w.recordOn(t, "逾期未公示。")
	ev := w.addFile(t, w.admin, "修复.pdf", []byte("%PDF 信用修复"))
	must(t, w.admin.se.DishonestyStep(township, repaired, domain.StepRectified, "已整改", "", []protocol.Hash{ev}))
	must(t, w.admin.se.DishonestyStep(township, repaired, domain.StepRepaired, "准予修复", "", []protocol.Hash{ev}))
	w.send(t, w.admin)
	// A replica of the neighbouring township that holds the record anyway.
	neigh := newReplica(t, township2, domain.RoleLeader)
	introduce(t, neigh, w.leader, w.admin)
	for _, r := range []*replica{w.leader, w.admin} {
		deliver(t, neigh, w.sent[r]...)
	}
	// A leader's account on the county-admin device.
	must(t, w.admin.se.AddAccount("deputy", "副主任", domain.RoleLeader, testPass))
	deputy, err := w.admin.SignIn("deputy", testPass)
	must(t, err)
	stale := protocol.OpID{Device: w.leader.se.Device().ID, Num: 99}
	ledger := w.addFile(t, w.leader, "台账.pdf", []byte("%PDF 台账"))

	type refusal struct {
		name string
		r    *replica
		se   *Session
		act  func(se *Session) error
		want error
		code protocol.Code
	}
	explain := func(se *Session) error { return se.SubmitExplanation(township, id, "说明。", nil) }
	rectify := func(se *Session) error {
		return se.SubmitRectification(township, id, "已整改。", []protocol.Hash{ledger})
	}
	sanction := func(se *Session) error {
		return se.Sanction(township, id, domain.SanctionPublicCriticism, "通报。", nil)
	}
	refusals := []refusal{
		{"staff submits an explanation", w.staff, nil, explain, domain.ErrNotAllowed, protocol.CodeNotAuthorized},
		{"staff submits a rectification", w.staff, nil, rectify, domain.ErrNotAllowed, protocol.CodeNotAuthorized},
		{"the county submits an explanation", w.admin, nil, explain, domain.ErrNotAllowed, protocol.CodeNotAuthorized},
		{"a leader on the county-admin device submits", w.admin, deputy, explain, domain.ErrNotAllowed, protocol.CodeNotAuthorized},
		{"another township's leader submits", neigh, nil, explain, protocol.ErrOutOfScope, protocol.CodeOutOfScope},
		{"a leader returns", w.leader, nil, func(se *Session) error { return se.ReturnSubmission(township, id, stale, "退回") },
			domain.ErrNotAllowed, protocol.CodeNotAuthorized},
		{"a leader accepts", w.leader, nil, func(se *Session) error { return se.AcceptSubmission(township, id, stale, "认可") },
			domain.ErrNotAllowed, protocol.CodeNotAuthorized},
		{"a leader sanctions", w.leader, nil, sanction, domain.ErrNotAllowed, protocol.CodeNotAuthorized},
		{"a leader on the county-admin device sanctions", w.admin, deputy, sanction, domain.ErrNotAllowed, protocol.CodeNotAuthorized},
		{"a leader mitigates", w.leader, nil, func(se *Session) error {
			return se.Mitigate(township, id, domain.MitigationExempt, "免于惩戒", nil)
		},
			domain.ErrNotAllowed, protocol.CodeNotAuthorized},
		{"a leader corrects", w.leader, nil, func(se *Session) error { return se.CorrectRecord(township, id, "事实", "理由", nil) },
			domain.ErrNotAllowed, protocol.CodeNotAuthorized},
		{"staff withdraws", w.staff, nil, func(se *Session) error { return se.WithdrawRecord(township, id, "撤销", nil) },
			domain.ErrNotAllowed, protocol.CodeNotAuthorized},
		{"a leader takes a step of progress", w.leader, nil, func(se *Session) error {
			return se.DishonestyStep(township, id, domain.StepExplained, "收到", "说明", nil)
		}, domain.ErrNotAllowed, protocol.CodeNotAuthorized},
		{"a submission on no record", w.leader, nil, func(se *Session) error {
			return se.SubmitExplanation(township, protocol.NewEntityID(), "说明。", nil)
		}, ErrNotFound, protocol.CodeNotFound},
		{"a blank explanation", w.leader, nil, func(se *Session) error { return se.SubmitExplanation(township, id, " ", nil) },
			protocol.ErrInvalidOperation, protocol.CodeInvalidOperation},
		{"a rectification without evidence", w.leader, nil, func(se *Session) error { return se.SubmitRectification(township, id, "已整改。", nil) },
			protocol.ErrInvalidOperation, protocol.CodeInvalidOperation},
		{"a rectification citing a file not here", w.leader, nil, func(se *Session) error {
			return se.SubmitRectification(township, id, "已整改。", []protocol.Hash{{7}})
		}, ErrNotFound, protocol.CodeNotFound},
		{"returning nothing pending", w.admin, nil, func(se *Session) error { return se.ReturnSubmission(township, id, stale, "退回") },
			ErrNotEditable, protocol.CodeInternal},
		{"accepting nothing pending", w.admin, nil, func(se *Session) error { return se.AcceptSubmission(township, id, stale, "认可") },
			ErrNotEditable, protocol.CodeInternal},
		{"an unknown measure", w.admin, nil, func(se *Session) error { return se.Sanction(township, id, "fine", "罚款", nil) },
			protocol.ErrInvalidOperation, protocol.CodeInvalidOperation},
		{"a sanction without a reason", w.admin, nil, func(se *Session) error { return se.Sanction(township, id, domain.SanctionOther, "", nil) },
			protocol.ErrInvalidOperation, protocol.CodeInvalidOperation},
		{"an unknown mitigation", w.admin, nil, func(se *Session) error { return se.Mitigate(township, id, "pardon", "赦免", nil) },
			protocol.ErrInvalidOperation, protocol.CodeInvalidOperation},
		{"corrected facts too long", w.admin, nil, func(se *Session) error {
			return se.CorrectRecord(township, id, strings.Repeat("实", 700), "理由", nil)
		}, protocol.ErrInvalidOperation, protocol.CodeInvalidOperation},
		{"a withdrawal without a reason", w.admin, nil, func(se *Session) error { return se.WithdrawRecord(township, id, " ", nil) },
			protocol.ErrInvalidOperation, protocol.CodeInvalidOperation},
		{"a new step through DishonestyStep", w.admin, nil, func(se *Session) error {
			return se.DishonestyStep(township, id, domain.StepWithdrawn, "撤销", "", nil)
		}, domain.ErrInvalidValue, protocol.CodeInternal},
		{"a submission on a repaired record", w.leader, nil, func(se *Session) error { return se.SubmitExplanation(township, repaired, "说明。", nil) },
			ErrNotEditable, protocol.CodeInternal},
		{"a sanction on a repaired record", w.admin, nil, func(se *Session) error {
			return se.Sanction(township, repaired, domain.SanctionPublicCriticism, "通报", nil)
		}, ErrNotEditable, protocol.CodeInternal},
		{"a mitigation of a repaired record", w.admin, nil, func(se *Session) error {
			return se.Mitigate(township, repaired, domain.MitigationLighter, "从轻", nil)
		}, ErrNotEditable, protocol.CodeInternal},
		{"a rectification after the repair", w.leader, nil, func(se *Session) error {
			return se.SubmitRectification(township, repaired, "整改。", []protocol.Hash{ledger})
		}, ErrNotEditable, protocol.CodeInternal},
	}
	for _, c := range refusals {
		if err := refused(t, c.name, c.r, c.se, c.act); !errors.Is(err, c.want) || protocol.CodeOf(err) != c.code {
			t.Errorf("%s: %v (code %q), want %v (%q)", c.name, err, protocol.CodeOf(err), c.want, c.code)
		}
	}
	// What a repaired record still takes: a correction and a withdrawal.
	must(t, w.admin.se.CorrectRecord(township, repaired, "逾期未公示（已更正）。", "核实", nil))
	must(t, w.admin.se.WithdrawRecord(township, repaired, "异议成立。", nil))
}

// TestDishonestyTwoWayConvergence: replicas that receive the change sets
// of records' whole lives (the township's submissions, the county's
// reviews, two admins deciding at once) in any order that keeps each
// device's own order end byte for byte equal, with the same views.
func TestDishonestyTwoWayConvergence(t *testing.T) {
	w := newCaseWorld(t)
	adminB := newReplica(t, county, domain.RoleCountyAdmin)
	introduce(t, adminB, w.leader, w.staff, w.admin)
	w.server.knows(t, adminB)
	for _, r := range []*replica{w.leader, w.admin} {
		deliver(t, adminB, w.sent[r]...)
	}
	sendB := func() {
		sets := adminB.seal(t, uint64(len(w.sent[adminB])))
		w.sent[adminB] = append(w.sent[adminB], sets...)
		for _, o := range []*replica{w.leader, w.staff, w.admin, {Store: w.server.Store}} {
			deliver(t, o, sets...)
		}
	}
	r1 := w.recordOn(t, "未按期走访。")
	r2 := w.recordOn(t, "未按期公示。")
	deliver(t, adminB, w.sent[w.admin]...)

	must(t, w.leader.se.SubmitExplanation(township, r1, "人员调整。", nil))
	w.send(t, w.leader)
	p := mustRecord(t, w.admin.Store, r1).Pending.Op
	must(t, w.admin.se.ReturnSubmission(township, r1, p, "请补充措施。"))
	w.send(t, w.admin)
	must(t, w.leader.se.SubmitExplanation(township, r1, "人员调整，已补充网格员。", nil))
	w.send(t, w.leader)
	must(t, w.admin.se.AcceptSubmission(township, r1, mustRecord(t, w.admin.Store, r1).Pending.Op, "认可。"))
	w.send(t, w.admin)
	ledger := w.addFile(t, w.leader, "台账.pdf", []byte("%PDF 台账"))
	must(t, adminB.PutEvidenceContent(ledger, []byte("%PDF 台账")))
	must(t, w.leader.se.SubmitRectification(township, r1, "已补走访。", []protocol.Hash{ledger}))
	w.send(t, w.leader)
	must(t, w.admin.se.CorrectRecord(township, r1, "3月未按期走访。", "异议成立。", nil))
	w.send(t, w.admin)

	// Offline at once: the leader submits on r2 while admin B withdraws
	// it; admin A sanctions r1 while admin B accepts its rectification and
	// mitigates it.
	deliver(t, adminB, w.sent[w.leader]...)
	deliver(t, adminB, w.sent[w.admin]...)
	must(t, w.leader.se.SubmitExplanation(township, r2, "系上级调整任务。", nil))
	must(t, adminB.se.WithdrawRecord(township, r2, "记录有误。", nil))
	must(t, w.admin.se.Sanction(township, r1, domain.SanctionAccountability, "追究主要负责人责任。", nil))
	rect := mustRecord(t, adminB.Store, r1).Pending
	must(t, adminB.se.AcceptSubmission(township, r1, rect.Op, "整改到位。"))
	must(t, adminB.se.Mitigate(township, r1, domain.MitigationLighter, "从轻。", nil))
	w.send(t, w.leader)
	w.send(t, w.admin)
	sendB()
	deliver(t, adminB, w.sent[w.admin][len(w.sent[w.admin])-1])
	deliver(t, adminB, w.sent[w.leader][len(w.sent[w.leader])-1])

	want := digest(t, w.admin.Store)
	for _, s := range []*Store{w.leader.Store, w.staff.Store, adminB.Store, w.server.Store} {
		if digest(t, s) != want {
			t.Fatal("replicas differ after the exchange")
		}
	}
	v1, v2 := mustRecord(t, w.admin.Store, r1), mustRecord(t, w.admin.Store, r2)
	if v1.Status != domain.StepRectified || v1.Pending != nil || len(v1.Sanctions) != 1 || v1.Mitigation == nil || v1.Reason != "3月未按期走访。" {
		t.Fatalf("r1: %+v", v1)
	}
	if !v2.Closed || v2.Withdrawn == nil || v2.Pending != nil {
		t.Fatalf("r2 withdrawn with a submission crossing it: %+v", v2)
	}
	streams := [][][]byte{w.sent[w.leader], w.sent[w.admin], w.sent[adminB]}
	for seed := range uint64(8) {
		rng := rand.New(rand.NewPCG(seed, seed*977))
		fresh := newReplica(t, township, domain.RoleStaff)
		introduce(t, w.leader, w.admin, adminB, fresh)
		order := interleave(rng, streams, true)
		if seed == 0 {
			// Admin B's steps before the records they concern, the
			// county's returns and acceptances before the submissions.
			order = slices.Concat(w.sent[adminB], w.sent[w.admin], w.sent[w.leader])
		}
		for _, raw := range order {
			deliver(t, fresh, raw)
		}
		if digest(t, fresh.Store) != want {
			t.Fatalf("seed %d: digest differs", seed)
		}
		if got := mustRecord(t, fresh.Store, r1); !bytes.Equal(marshal(withoutHistory(got)), marshal(withoutHistory(v1))) {
			t.Fatalf("seed %d: r1 %+v", seed, got)
		}
	}
}

func withoutHistory(r DishonestyRecord) DishonestyRecord { r.History = nil; return r }

// TestDishonestyPublic: what the public page shows of a record, under the
// disclosure settings, on given days.
func TestDishonestyPublic(t *testing.T) {
	w := newCaseWorld(t)
	id := w.recordOn(t, "1月至3月未按期走访。")
	day := dayOf(mustRecord(t, w.admin.Store, id).RecordedAt)
	if day != calendar.NewDate(2026, 9, 30) {
		t.Fatalf("recorded on %v", day)
	}
	keep := domain.Disclosure{}
	withdraw := domain.Disclosure{AfterRepair: domain.AfterRepairWithdraw}

	r := mustRecord(t, w.admin.Store, id)
	p, ok := r.Public(keep, day)
	if !ok || p.Facts != "1月至3月未按期走访。" || p.RecordedOn != day || p.LastDay != day.AddDays(1094) || len(p.Steps) != 1 ||
		p.Steps[0].Step != domain.StepRecorded || p.Repaired {
		t.Fatalf("a fresh record: %+v, %v", p, ok)
	}
	if _, ok := r.Public(keep, day.AddDays(1095)); ok {
		t.Fatal("published after three years")
	}

	// A submission pending or returned is not public; its files neither.
	scan := w.addFile(t, w.leader, "说明.pdf", []byte("%PDF 说明"))
	must(t, w.leader.se.SubmitExplanation(township, id, "人员调整。", []protocol.Hash{scan}))
	w.send(t, w.leader)
	r = mustRecord(t, w.admin.Store, id)
	if p, _ := r.Public(keep, day); len(p.Steps) != 1 || len(p.Evidence) != 0 || p.Explanation != "" {
		t.Fatalf("a pending submission published: %+v", p)
	}
	must(t, w.admin.se.AcceptSubmission(township, id, r.Pending.Op, "认可。"))
	must(t, w.admin.se.Sanction(township, id, domain.SanctionPublicCriticism, "通报批评。", nil))
	must(t, w.admin.se.Mitigate(township, id, domain.MitigationLighter, "从轻。", nil))
	must(t, w.admin.se.CorrectRecord(township, id, "3月未按期走访。", "异议成立。", nil))
	ev := w.addFile(t, w.admin, "修复.pdf", []byte("%PDF 修复"))
	must(t, w.admin.se.DishonestyStep(township, id, domain.StepRectified, "已整改。", "", []protocol.Hash{ev}))
	must(t, w.admin.se.DishonestyStep(township, id, domain.StepRepaired, "准予修复。", "", []protocol.Hash{ev}))
	w.send(t, w.admin)
	r = mustRecord(t, w.leader.Store, id)
	p, ok = r.Public(keep, day.AddDays(100))
	var steps []domain.DishonestyStep
	for _, s := range p.Steps {
		steps = append(steps, s.Step)
		if strings.Contains(s.Reason, "1月至3月") || strings.Contains(s.Detail, "1月至3月") {
			t.Errorf("the original facts are published in %s", s.Step)
		}
		if s.Step == domain.StepCorrected && s.Detail != "" {
			t.Errorf("a correction's detail published: %+v", s)
		}
	}
	wantSteps := []domain.DishonestyStep{domain.StepRecorded, domain.StepExplained, domain.StepSanctioned, domain.StepMitigated,
		domain.StepCorrected, domain.StepRectified, domain.StepRepaired}
	if !ok || !slices.Equal(steps, wantSteps) || p.Facts != "3月未按期走访。" || !p.Corrected || p.Explanation != "人员调整。" ||
		!p.Repaired || p.RepairedOn != day || len(p.Sanctions) != 1 || p.Sanctions[0].Author != "" || p.Mitigation == nil ||
		p.Mitigation.Author != "" || !slices.Equal(p.Evidence, protocol.SortHashes([]protocol.Hash{scan, ev})) || p.LastDay != day.AddDays(1094) {
		t.Fatalf("the published record: %+v, %v", p, ok)
	}
	if r.Sanctions[0].Author == "" {
		t.Fatal("Public changed the record's own sanctions")
	}
	// Withdraw after repair: 30 days on the page, the repair day included.
	if _, ok := r.Public(withdraw, day.AddDays(29)); !ok {
		t.Fatal("withdrawn from the page too early")
	}
	if _, ok := r.Public(withdraw, day.AddDays(30)); ok {
		t.Fatal("still on the page 30 days after the repair")
	}
	// A withdrawn record is never published; one not fully arrived neither.
	must(t, w.admin.se.WithdrawRecord(township, id, "记录有误。", nil))
	w.send(t, w.admin)
	r = mustRecord(t, w.leader.Store, id)
	if _, ok := r.Public(keep, day); ok {
		t.Fatal("a withdrawn record is published")
	}
	if _, ok := (&DishonestyRecord{Status: domain.StepExplained}).Public(keep, day); ok {
		t.Fatal("a record that has not arrived is published")
	}
}

// TestDishonestyOldReplica: a replica written before these steps (the
// schema 4 file, with a dishonesty record) reads as it did — Check finds
// every view what its events derive now — and its leader submits a
// rectification on the old record.
func TestDishonestyOldReplica(t *testing.T) {
	path := filepath.Join(t.TempDir(), "replica.db")
	must(t, os.WriteFile(path, mustRead(t, "testdata/schema4-township.db"), 0o600))
	s, err := Open(path, &Options{Now: newStepClock().Now, KDF: auth.TestParams(), Logger: quietLogger(), NoSync: true})
	must(t, err)
	defer s.Close()
	must(t, s.Check())
	recs, err := s.DishonestyRecords(DishonestyFilter{})
	if err != nil || len(recs) != 1 || !recs[0].Recorded || recs[0].Pending != nil || recs[0].Withdrawn != nil {
		t.Fatalf("the old record: %+v, %v", recs, err)
	}
	se, err := s.SignIn("leader", testPass)
	must(t, err)
	old := recs[0]
	t.Logf("the old record is %s", old.Status)
	ledger, err := se.AddEvidenceFor(old.Office, "台账.pdf", "application/pdf", bytes.NewReader([]byte("%PDF 台账")))
	must(t, err)
	must(t, se.SubmitRectification(old.Office, old.ID, "补交整改材料。", []protocol.Hash{ledger}))
	r, err := s.DishonestyRecord(old.Office, old.ID)
	if err != nil || r.Pending == nil || r.Pending.Description != "补交整改材料。" || r.Status != old.Status {
		t.Fatalf("after the submission: %+v, %v", r, err)
	}
	must(t, s.Check())
}
