package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"jiannuo/app/vm"
	"jiannuo/domain"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// The actions of the cases tab: the buttons under a case's detail and
// their dialogs. Each goes through the view-model (vm.CaseList), which
// checks the role and the form, signs the step with this device and
// starts a sync.

// actions are the buttons for what the signed-in user may do on the case
// shown.
func (s *casesScreen) actions() fyne.CanvasObject {
	u, d := s.u, s.cur
	r, can := d.Row, d.Row.Can
	bl := &buttonList{u: u}
	add := bl.add
	add(can.Acknowledge, "caseui.action.acknowledge", widget.HighImportance, func() {
		s.run(func() error { return s.vm.Acknowledge(r, u.today()) }, "caseui.done.acknowledged")
	})
	draftKey := "caseui.action.draft"
	if r.Case.Draft != nil {
		draftKey = "caseui.action.redraft"
	}
	add(can.Draft, draftKey, widget.MediumImportance, func() { s.openReply() })
	add(can.Approve, "caseui.action.approve", widget.HighImportance, s.askApprove)
	add(can.Accept, "caseui.action.accept", widget.HighImportance, func() { s.openAccept() })
	add(can.Return, "caseui.action.return", widget.DangerImportance, func() { s.openReturn() })
	add(can.Decide, "caseui.action.decide", widget.HighImportance, func() { s.openDecide() })
	add(can.Deadlines, "caseui.action.deadlines", widget.MediumImportance, func() { s.openDeadlines() })
	add(can.Withdraw, "caseui.action.withdraw", widget.DangerImportance, func() { s.openWithdraw() })
	add(can.Link && d.CanConfirmBreach, "caseui.action.confirm_breach", widget.DangerImportance, func() { s.openBreachAndLink() })
	for _, rec := range d.Candidates {
		id := rec.ID
		b := widget.NewButton(u.T("caseui.action.link", u.msg(vm.DishonestyTypeMessage(rec.Type)), rec.RecordedAt.Wall().Format("2006-01-02")), func() {
			u.confirm(u.T("caseui.action.link_title"), u.T("caseui.link.confirm", r.Case.Number), func(ok bool) {
				if ok {
					s.run(func() error { return s.vm.Link(r, id, u.today()) }, "caseui.done.linked")
				}
			})
		})
		bl.out = append(bl.out, b)
	}
	if rec := d.Record; s.vm.County() && rec != nil && r.Case.Closed && r.Case.ClosedBy == domain.CaseDecided && r.Case.Finding == domain.FindingUpheld {
		ref := store.Ref{Office: rec.Office, ID: rec.ID}
		add(rec.Withdrawn == nil, "breachui.action.correct", widget.MediumImportance, func() { s.openRecordAction(ref, true) })
		add(rec.Withdrawn == nil, "breachui.action.withdraw", widget.DangerImportance, func() { s.openRecordAction(ref, false) })
	}
	if len(bl.out) == 0 {
		return para(u.T("caseui.no_actions"))
	}
	return buttonRow(bl.out)
}

// buttonList collects the buttons of the actions a screen offers.
type buttonList struct {
	u   *ui
	out []fyne.CanvasObject
}

// add puts a button labelled with key in the list when ok.
func (b *buttonList) add(ok bool, key string, imp widget.Importance, fn func()) {
	if ok {
		btn := widget.NewButton(b.u.T(key), fn)
		btn.Importance = imp
		b.out = append(b.out, btn)
	}
}

// buttonRow lays buttons out in columns, at least three to a row so that
// one button is not as wide as the pane.
func buttonRow(buttons []fyne.CanvasObject) fyne.CanvasObject {
	for len(buttons) < 3 {
		buttons = append(buttons, layout.NewSpacer())
	}
	return newColumns(200, 4, buttons...)
}

// run takes an action; done names it in the note above the list.
func (s *casesScreen) run(act func() error, done string) {
	if err := act(); err != nil {
		s.u.showError(err)
		return
	}
	s.acted(done)
}

// acted shows what was done and redraws from what the view-model read
// after the action.
func (s *casesScreen) acted(done string) {
	setNote(s.note, s.u.T(done))
	s.refresh()
}

// intro is what a dialog on the case shown says it is about.
func (s *casesScreen) intro() []fyne.CanvasObject {
	r := s.cur.Row
	return []fyne.CanvasObject{heading(s.u.T("caseui.row.title", r.Case.Number, s.u.msg(r.KindName))), para(s.commitmentTitle(r))}
}

// caseDialog opens an action dialog on the case shown; done names the
// action in the note once it succeeded.
func (s *casesScreen) caseDialog(sp actSpec, done string) *actDialog {
	sp.intro = append(s.intro(), sp.intro...)
	sp.office = s.cur.Row.Case.Office
	sp.done = func() { s.acted(done) }
	return s.u.openAct(sp)
}

// openReply drafts the reply (or changes the draft: its text and files
// start from it).
func (s *casesScreen) openReply() *actDialog {
	u, d := s.u, s.cur
	row := d.Row
	text := u.newEntry(true)
	text.SetMinRowsVisible(6)
	text.SetPlaceHolder(u.T("caseui.field.reply_hint"))
	var keep []protocol.Hash
	var names []string
	if dr := row.Case.Draft; dr != nil {
		text.SetText(dr.Text)
		keep = dr.Evidence
		for _, f := range d.DraftFiles {
			names = append(names, "• "+f.Name)
		}
	}
	ad := s.caseDialog(actSpec{title: u.T("caseui.action.draft"), ok: u.T("caseui.action.save_draft"), files: true,
		intro: []fyne.CanvasObject{para(u.T("caseui.reply.intro"))},
		items: []*widget.FormItem{widget.NewFormItem(u.T("caseui.field.reply"), text)},
		submit: func(ev []protocol.Hash) error {
			return s.vm.DraftReply(row, vm.ReplyForm{Text: text.Text, Evidence: ev}, u.today())
		}}, "caseui.done.drafted")
	ad.evidence, ad.names = append(ad.evidence, keep...), append(ad.names, names...)
	if len(names) > 0 {
		ad.files.SetText(joinLines(ad.names))
	}
	ad.text = text
	return ad
}

// askApprove shows the draft and asks the leader to approve it.
func (s *casesScreen) askApprove() {
	u, row := s.u, s.cur.Row
	if row.Case.Draft == nil {
		return
	}
	u.confirm(u.T("caseui.action.approve"), u.T("caseui.approve.confirm", row.Case.Draft.Text), func(ok bool) {
		if ok {
			s.run(func() error { return s.vm.Approve(row, u.today()) }, "caseui.done.approved")
		}
	})
}

// findingChoice is a radio group of the findings of kind k; finding
// returns the one chosen ("" for none).
func (s *casesScreen) findingChoice(k domain.CaseKind) (*widget.RadioGroup, func() domain.CaseFinding) {
	var labels []string
	of := map[string]domain.CaseFinding{}
	for _, f := range domain.CaseFindings(k) {
		l := s.u.msg(vm.CaseFindingMessage(k, f))
		labels = append(labels, l)
		of[l] = f
	}
	g := widget.NewRadioGroup(labels, nil)
	g.Horizontal = true
	return g, func() domain.CaseFinding { return of[g.Selected] }
}

// openAccept accepts the approved reply of a complaint, with the finding.
func (s *casesScreen) openAccept() *actDialog {
	u, row := s.u, s.cur.Row
	finding, chosen := s.findingChoice(domain.CaseComplaint)
	note := u.newEntry(true)
	note.SetMinRowsVisible(3)
	note.SetPlaceHolder(u.T("caseui.field.optional"))
	ad := s.caseDialog(actSpec{title: u.T("caseui.action.accept"), ok: u.T("caseui.action.accept"), files: true,
		intro: []fyne.CanvasObject{para(u.T("caseui.accept.intro"))},
		items: []*widget.FormItem{widget.NewFormItem(u.T("caseui.field.finding"), finding), widget.NewFormItem(u.T("caseui.field.note"), note)},
		submit: func(ev []protocol.Hash) error {
			return s.vm.Accept(row, vm.FindingForm{Finding: chosen(), Text: note.Text, Evidence: ev}, u.today())
		}}, "caseui.done.accepted")
	ad.finding, ad.text = finding, note
	return ad
}

// openReturn sends the approved reply back with the reason.
func (s *casesScreen) openReturn() *actDialog {
	u, row := s.u, s.cur.Row
	reason := u.newEntry(true)
	reason.SetMinRowsVisible(3)
	ad := s.caseDialog(actSpec{title: u.T("caseui.action.return"), ok: u.T("caseui.action.return"), danger: true,
		items: []*widget.FormItem{widget.NewFormItem(u.T("caseui.field.return_reason"), reason)},
		submit: func([]protocol.Hash) error {
			return s.vm.Return(row, vm.ReasonForm{Reason: reason.Text}, u.today())
		}}, "caseui.done.returned")
	ad.text = reason
	return ad
}

// openDecide decides an objection.
func (s *casesScreen) openDecide() *actDialog {
	u, row := s.u, s.cur.Row
	finding, chosen := s.findingChoice(domain.CaseObjection)
	reason := u.newEntry(true)
	reason.SetMinRowsVisible(3)
	ad := s.caseDialog(actSpec{title: u.T("caseui.action.decide"), ok: u.T("caseui.action.decide"), files: true,
		intro: []fyne.CanvasObject{para(u.T("caseui.decide.intro"))},
		items: []*widget.FormItem{widget.NewFormItem(u.T("caseui.field.finding"), finding), widget.NewFormItem(u.T("caseui.field.decide_reason"), reason)},
		submit: func(ev []protocol.Hash) error {
			return s.vm.Decide(row, vm.FindingForm{Finding: chosen(), Text: reason.Text, Evidence: ev}, u.today())
		}}, "caseui.done.decided")
	ad.finding, ad.text = finding, reason
	return ad
}

// openWithdraw withdraws the case with the reason.
func (s *casesScreen) openWithdraw() *actDialog {
	u, row := s.u, s.cur.Row
	reason := u.newEntry(true)
	reason.SetMinRowsVisible(3)
	reason.SetPlaceHolder(u.T("caseui.field.withdraw_hint"))
	ad := s.caseDialog(actSpec{title: u.T("caseui.action.withdraw"), ok: u.T("caseui.action.withdraw"), danger: true,
		items: []*widget.FormItem{widget.NewFormItem(u.T("caseui.field.withdraw_reason"), reason)},
		submit: func([]protocol.Hash) error {
			return s.vm.Withdraw(row, vm.ReasonForm{Reason: reason.Text}, u.today())
		}}, "caseui.done.withdrawn")
	ad.text = reason
	return ad
}

// openDeadlines changes the case's deadlines.
func (s *casesScreen) openDeadlines() *actDialog {
	u, row := s.u, s.cur.Row
	f := vm.NewDeadlineForm(row)
	ack, answer := u.newEntry(false), u.newEntry(false)
	ack.SetText(f.AckDue)
	answer.SetText(f.AnswerDue)
	ack.SetPlaceHolder(u.T("breachui.deadline_hint"))
	answer.SetPlaceHolder(u.T("breachui.deadline_hint"))
	ad := s.caseDialog(actSpec{title: u.T("caseui.action.deadlines"), ok: u.T("app.save"),
		intro: []fyne.CanvasObject{para(u.T("caseui.deadlines.intro"))},
		items: []*widget.FormItem{widget.NewFormItem(u.T("caseui.field.ack_due"), ack), widget.NewFormItem(u.T("caseui.field.answer_due"), answer)},
		submit: func([]protocol.Hash) error {
			return s.vm.SetDeadlines(row, vm.DeadlineForm{AckDue: ack.Text, AnswerDue: answer.Text}, u.today())
		}}, "caseui.done.deadlines")
	ad.text, ad.second = ack, answer
	return ad
}

// openBreachAndLink confirms the breach of the complaint's commitment
// (the breach dialog) and links the record made to the case.
func (s *casesScreen) openBreachAndLink() *breachDialog {
	u, row := s.u, s.cur.Row
	c, err := u.st.Commitment(row.Case.Commitment)
	if err != nil {
		u.showError(err)
		return nil
	}
	return u.openBreachFor(c, func(id protocol.EntityID) {
		if err := s.vm.Link(row, id, u.today()); err != nil {
			u.showError(err)
		}
		s.acted("caseui.done.breach_linked")
		u.reload()
	})
}

// openRecordAction corrects (correct) or withdraws the dishonesty record
// ref after the objection shown was upheld, with the dishonesty screen's
// forms.
func (s *casesScreen) openRecordAction(ref store.Ref, correct bool) *actDialog {
	u := s.u
	l := vm.NewDishonestyList(u.se, u.acted)
	if err := l.Load(u.today()); err != nil {
		u.showError(err)
		return nil
	}
	row, ok := l.Row(ref)
	if !ok {
		u.showError(store.ErrNotFound)
		return nil
	}
	done := func() {
		s.refresh()
		u.reload()
	}
	if correct {
		return u.openCorrect(l, row, s.cur.Row.Case.ID, done)
	}
	return u.openRecordWithdraw(l, row, s.cur.Row.Case.ID, done)
}
