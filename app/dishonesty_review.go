package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"jiannuo/app/vm"
	"jiannuo/domain"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// The county's review of dishonesty records on a county-admin device: the
// 失信记录 tab's buttons for accepting or returning what the township
// submitted, sanctions, mitigation, and correcting or withdrawing a record
// after an upheld objection (the cases tab opens the last two from the
// objection). Each dialog fills one of the view-model's forms
// (vm.ReviewForm, SanctionForm, MitigationForm, CorrectionForm,
// WithdrawForm).

// recordIntro is what a dialog on record row says it is about.
func (u *ui) recordIntro(row vm.DishonestyRow) []fyne.CanvasObject {
	title := row.Title
	if title == "" {
		title = u.T("breachui.list.unknown_commitment")
	}
	return []fyne.CanvasObject{heading(u.T("breachui.list.row", row.OfficeName, title)),
		para(u.T("breachui.list.detail", u.msg(row.TypeName), row.Official, nonEmpty(row.Deadline, u.T("breachui.list.no_deadline")), u.msg(row.Status)))}
}

// recordDialog opens an action dialog on record row.
func (u *ui) recordDialog(row vm.DishonestyRow, sp actSpec, done func()) *actDialog {
	sp.intro = append(u.recordIntro(row), sp.intro...)
	sp.office = row.Office
	sp.done = done
	return u.openAct(sp)
}

// openReview accepts (accept) or returns the township's pending
// submission on row.
func (u *ui) openReview(l *vm.DishonestyList, row vm.DishonestyRow, accept bool, done func()) *actDialog {
	reason := u.newEntry(true)
	reason.SetMinRowsVisible(3)
	key, field := "breachui.action.return", "breachui.field.return_reason"
	if accept {
		key, field = "breachui.action.accept", "breachui.field.review_note"
	}
	var intro []fyne.CanvasObject
	if p := row.Pending; p != nil {
		intro = append(intro, heading(u.msg(row.PendingName)), para(nonEmpty(p.Explanation, p.Description)))
		for _, h := range p.Evidence {
			intro = append(intro, u.recordFile(h)...)
		}
	}
	ad := u.recordDialog(row, actSpec{title: u.T(key), ok: u.T(key), danger: !accept, intro: intro,
		items: []*widget.FormItem{widget.NewFormItem(u.T(field), reason)},
		submit: func([]protocol.Hash) error {
			return l.Review(row, vm.ReviewForm{Accept: accept, Reason: reason.Text}, u.today())
		}}, done)
	ad.text = reason
	return ad
}

// recordFile shows an evidence file of a record's step.
func (u *ui) recordFile(h protocol.Hash) []fyne.CanvasObject {
	name, mime := h.String()[:12], ""
	if metas, err := u.st.EvidenceMeta(h); err == nil && len(metas) > 0 {
		name, mime = metas[0].Name, metas[0].MIME
	}
	if ok, err := u.st.HasEvidence(h); err != nil || !ok {
		return []fyne.CanvasObject{para(u.T("caseui.files.missing", name))}
	}
	return u.evidenceView(h, name, mime)
}

// choiceOf is a menu of labels; chosen returns the value of the one
// picked (the zero value for none).
func choiceOf[T any](labels []string, values []T) (*widget.Select, func() T) {
	sel := widget.NewSelect(labels, nil)
	return sel, func() T {
		var zero T
		if i := sel.SelectedIndex(); i >= 0 && i < len(values) {
			return values[i]
		}
		return zero
	}
}

// openSanction records a disciplinary measure on row.
func (u *ui) openSanction(l *vm.DishonestyList, row vm.DishonestyRow, done func()) *actDialog {
	var labels []string
	for _, m := range domain.SanctionMeasures() {
		labels = append(labels, u.msg(vm.SanctionMessage(m)))
	}
	measure, chosen := choiceOf(labels, domain.SanctionMeasures())
	reason := u.newEntry(true)
	reason.SetMinRowsVisible(3)
	ad := u.recordDialog(row, actSpec{title: u.T("breachui.action.sanction"), ok: u.T("breachui.action.sanction"), files: true,
		items: []*widget.FormItem{widget.NewFormItem(u.T("breachui.field.measure"), measure), widget.NewFormItem(u.T("breachui.step.field.reason"), reason)},
		submit: func(ev []protocol.Hash) error {
			return l.Sanction(row, vm.SanctionForm{Measure: chosen(), Reason: reason.Text, Evidence: ev}, u.today())
		}}, done)
	ad.choice, ad.text = measure, reason
	return ad
}

// openMitigate records a lighter treatment or an exemption on row.
func (u *ui) openMitigate(l *vm.DishonestyList, row vm.DishonestyRow, done func()) *actDialog {
	var labels []string
	for _, m := range domain.Mitigations() {
		labels = append(labels, u.msg(vm.MitigationMessage(m)))
	}
	which, chosen := choiceOf(labels, domain.Mitigations())
	reason := u.newEntry(true)
	reason.SetMinRowsVisible(3)
	ad := u.recordDialog(row, actSpec{title: u.T("breachui.action.mitigate"), ok: u.T("breachui.action.mitigate"), files: true,
		items: []*widget.FormItem{widget.NewFormItem(u.T("breachui.field.mitigation"), which), widget.NewFormItem(u.T("breachui.step.field.reason"), reason)},
		submit: func(ev []protocol.Hash) error {
			return l.Mitigate(row, vm.MitigationForm{Mitigation: chosen(), Reason: reason.Text, Evidence: ev}, u.today())
		}}, done)
	ad.choice, ad.text = which, reason
	return ad
}

// upheldChoice is a menu of row's upheld objections, objection (if one of
// them) chosen.
func (u *ui) upheldChoice(row vm.DishonestyRow, objection protocol.EntityID) (*widget.Select, func() protocol.EntityID) {
	var labels []string
	var ids []protocol.EntityID
	for _, c := range row.Upheld {
		labels = append(labels, u.T("caseui.upheld_objection", c.Number, c.FiledDate))
		ids = append(ids, c.ID)
	}
	sel, chosen := choiceOf(labels, ids)
	for i, id := range ids {
		if id == objection || len(ids) == 1 {
			sel.SetSelectedIndex(i)
			break
		}
	}
	return sel, chosen
}

// openCorrect corrects row's facts after an upheld objection (objection:
// the one to cite, or zero to choose).
func (u *ui) openCorrect(l *vm.DishonestyList, row vm.DishonestyRow, objection protocol.EntityID, done func()) *actDialog {
	obj, chosen := u.upheldChoice(row, objection)
	facts, reason := u.newEntry(true), u.newEntry(true)
	facts.SetMinRowsVisible(4)
	facts.SetText(row.Record.Reason)
	reason.SetMinRowsVisible(2)
	ad := u.recordDialog(row, actSpec{title: u.T("breachui.action.correct"), ok: u.T("breachui.action.correct"), files: true,
		items: []*widget.FormItem{widget.NewFormItem(u.T("breachui.field.upheld_objection"), obj),
			widget.NewFormItem(u.T("breachui.field.corrected_facts"), facts), widget.NewFormItem(u.T("breachui.field.correction_reason"), reason)},
		submit: func(ev []protocol.Hash) error {
			return l.Correct(row, vm.CorrectionForm{Objection: chosen(), Facts: facts.Text, Reason: reason.Text, Evidence: ev}, u.today())
		}}, done)
	ad.choice, ad.text, ad.second = obj, facts, reason
	return ad
}

// openRecordWithdraw withdraws row after an upheld objection.
func (u *ui) openRecordWithdraw(l *vm.DishonestyList, row vm.DishonestyRow, objection protocol.EntityID, done func()) *actDialog {
	obj, chosen := u.upheldChoice(row, objection)
	reason := u.newEntry(true)
	reason.SetMinRowsVisible(3)
	ad := u.recordDialog(row, actSpec{title: u.T("breachui.action.withdraw"), ok: u.T("breachui.action.withdraw"), danger: true, files: true,
		intro: []fyne.CanvasObject{para(u.T("caseui.record_withdraw.intro"))},
		items: []*widget.FormItem{widget.NewFormItem(u.T("breachui.field.upheld_objection"), obj), widget.NewFormItem(u.T("breachui.field.withdraw_reason"), reason)},
		submit: func(ev []protocol.Hash) error {
			return l.Withdraw(row, vm.WithdrawForm{Objection: chosen(), Reason: reason.Text, Evidence: ev}, u.today())
		}}, done)
	ad.choice, ad.text = obj, reason
	return ad
}

// decisions shows what the county and the township did on record r
// besides its steps: the submission awaiting review, the last return,
// sanctions, mitigation, corrected facts, objections.
func (b *breachScreens) decisions(r vm.DishonestyRow) []fyne.CanvasObject {
	u := b.a.u
	var objs []fyne.CanvasObject
	if r.Pending != nil {
		l := para(u.msg(r.PendingName))
		l.Importance = widget.WarningImportance
		objs = append(objs, l, para(nonEmpty(r.Pending.Explanation, r.Pending.Description)))
		for _, h := range r.Pending.Evidence {
			objs = append(objs, u.recordFile(h)...)
		}
	}
	return append(objs, u.recordDecisions(r.Record, r.Sanctions, r.Mitigation, r.Objections)...)
}

// recordDecisions shows a record's sanctions, mitigation, corrected facts,
// withdrawal and objections, on both sides.
func (u *ui) recordDecisions(rec store.DishonestyRecord, sanctions []vm.Message, mitigation vm.Message, objections []store.Case) []fyne.CanvasObject {
	var objs []fyne.CanvasObject
	for i, m := range sanctions {
		objs = append(objs, para(u.T("caseui.record.sanction", u.msg(m), rec.Sanctions[i].Reason)))
	}
	if !mitigation.IsZero() && rec.Mitigation != nil {
		objs = append(objs, para(u.T("caseui.record.mitigation", u.msg(mitigation), rec.Mitigation.Reason)))
	}
	if n := len(rec.Corrections); n > 0 {
		objs = append(objs, para(u.T("caseui.record.corrected", rec.Corrections[n-1].Reason, rec.OriginalFacts())))
	}
	if w := rec.Withdrawn; w != nil {
		l := para(u.T("caseui.record.withdrawn", w.Reason))
		l.Importance = widget.DangerImportance
		objs = append(objs, l)
	}
	for _, c := range objections {
		objs = append(objs, para(u.T("caseui.record.objection", c.Number, u.msg(vm.ObjectionStatusMessage(c)))))
	}
	return objs
}

// buttons are the county's actions on record r: the next step recorded
// directly, and the review actions the record takes now.
func (b *breachScreens) buttons(r vm.DishonestyRow) []fyne.CanvasObject {
	u := b.a.u
	bl := &buttonList{u: u}
	for _, s := range r.Next {
		s := s
		bl.out = append(bl.out, widget.NewButton(u.msg(vm.DishonestyStepAction(s)), func() { b.openStep(r, s) }))
	}
	done := func(key string) func() {
		return func() {
			b.a.status.SetText(u.T(key))
			b.render()
		}
	}
	add := bl.add
	add(r.Can.Review, "breachui.action.accept", widget.HighImportance, func() { u.openReview(b.list, r, true, done("caseui.done.reviewed")) })
	add(r.Can.Review, "breachui.action.return", widget.DangerImportance, func() { u.openReview(b.list, r, false, done("caseui.done.returned")) })
	add(r.Can.Sanction, "breachui.action.sanction", widget.MediumImportance, func() { u.openSanction(b.list, r, done("caseui.done.sanctioned")) })
	add(r.Can.Mitigate, "breachui.action.mitigate", widget.MediumImportance, func() { u.openMitigate(b.list, r, done("caseui.done.mitigated")) })
	add(r.Can.Correct, "breachui.action.correct", widget.MediumImportance, func() {
		u.openCorrect(b.list, r, protocol.EntityID{}, done("caseui.done.corrected"))
	})
	add(r.Can.Withdraw, "breachui.action.withdraw", widget.DangerImportance, func() {
		u.openRecordWithdraw(b.list, r, protocol.EntityID{}, done("caseui.done.record_withdrawn"))
	})
	return bl.out
}
