package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"jiannuo/app/vm"
	"jiannuo/sync/protocol"
)

// The 失信记录 tab of a township device (§四(三)–(四)): the government
// dishonesty records against the office, what each awaits from the
// township, and the county's answers (returned with a reason, sanctions,
// mitigation, corrected facts, withdrawal). The office's leader submits
// the written explanation and the rectification and files objections;
// staff read.

// townBreachScreen is the township's 失信记录 tab.
type townBreachScreen struct {
	u    *ui
	vm   *vm.TownshipDishonesty
	note *widget.Label
	box  *fyne.Container
	obj  fyne.CanvasObject
}

func newTownBreachScreen(u *ui) *townBreachScreen {
	s := &townBreachScreen{u: u, note: widget.NewLabel(""), box: container.NewVBox()}
	s.vm = vm.NewTownshipDishonesty(u.se, u.acted)
	s.note.Wrapping = fyne.TextWrapWord
	s.note.Hide()
	top := container.NewVBox(container.NewHBox(widget.NewButtonWithIcon(u.T("adminui.refresh"), theme.ViewRefreshIcon(), s.load)), s.note)
	if !s.vm.MaySubmit() {
		top.Add(para(u.T("caseui.record.leader_only")))
	}
	s.obj = container.NewBorder(top, nil, nil, nil, container.NewVScroll(container.NewPadded(s.box)))
	return s
}

func (s *townBreachScreen) load() {
	if err := s.vm.Load(s.u.today()); err != nil {
		s.u.showError(err)
		return
	}
	s.render()
}

func (s *townBreachScreen) render() {
	u := s.u
	var objs []fyne.CanvasObject
	if len(s.vm.Rows) == 0 {
		objs = append(objs, para(u.T("caseui.record.none")))
	}
	for _, r := range s.vm.Rows {
		rec := r.Record
		title := r.Title
		if title == "" {
			title = u.T("breachui.list.unknown_commitment")
		}
		objs = append(objs, heading(title),
			para(u.T("breachui.list.detail", u.msg(r.TypeName), rec.Official, nonEmpty(rec.Deadline, u.T("breachui.list.no_deadline")), u.msg(r.StatusName))),
			para(u.T("caseui.record.facts", rec.Reason)))
		due := heading(u.msg(r.DueName))
		if r.Due.ForTownship() {
			due.Importance = widget.WarningImportance
		}
		objs = append(objs, due)
		if r.OverdueDays > 0 {
			l := para(u.msg(r.Overdue))
			l.Importance = widget.DangerImportance
			objs = append(objs, l)
		}
		if p := rec.Pending; p != nil {
			objs = append(objs, para(u.T("caseui.record.pending", nonEmpty(p.Explanation, p.Description))))
			for _, h := range p.Evidence {
				objs = append(objs, u.recordFile(h)...)
			}
		}
		if !r.Returned.IsZero() {
			l := para(u.msg(r.Returned))
			l.Importance = widget.DangerImportance
			objs = append(objs, l)
		}
		var objections []fyne.CanvasObject
		if r.Objection != nil {
			objections = append(objections, para(u.T("caseui.record.objection", r.Objection.Number, u.msg(r.ObjectionStatus))))
			if r.Objection.Closed && r.Objection.CloseText != "" {
				objections = append(objections, para(r.Objection.CloseText))
			}
		}
		objs = append(objs, u.recordDecisions(rec, r.Sanctions, r.Mitigation, nil)...)
		objs = append(objs, objections...)
		if buttons := s.buttons(r); len(buttons) > 0 {
			objs = append(objs, buttonRow(buttons))
		}
		objs = append(objs, widget.NewSeparator())
	}
	s.box.Objects = objs
	s.box.Refresh()
}

// buttons are the leader's submissions the record takes now.
func (s *townBreachScreen) buttons(r vm.TownshipDishonestyRow) []fyne.CanvasObject {
	u := s.u
	bl := &buttonList{u: u}
	add := bl.add
	add(r.CanExplain, "breachui.action.explain", widget.HighImportance, func() { s.openExplain(r) })
	add(r.CanRectify, "breachui.action.rectify", widget.HighImportance, func() { s.openRectify(r) })
	add(r.CanObject, "breachui.action.object", widget.MediumImportance, func() { s.openObject(r) })
	return bl.out
}

// submission opens a dialog with one text and files for record r.
func (s *townBreachScreen) submission(r vm.TownshipDishonestyRow, key, field, done string, rows int, submit func(text string, ev []protocol.Hash) error) *actDialog {
	u := s.u
	text := u.newEntry(true)
	text.SetMinRowsVisible(rows)
	title := r.Title
	if title == "" {
		title = u.T("breachui.list.unknown_commitment")
	}
	ad := u.openAct(actSpec{title: u.T(key), ok: u.T(key), files: true, office: r.Record.Office,
		intro:  []fyne.CanvasObject{heading(title), para(u.T("caseui.record.facts", r.Record.Reason))},
		items:  []*widget.FormItem{widget.NewFormItem(u.T(field), text)},
		submit: func(ev []protocol.Hash) error { return submit(text.Text, ev) },
		done: func() {
			setNote(s.note, u.T(done))
			s.render()
		}})
	ad.text = text
	return ad
}

func (s *townBreachScreen) openExplain(r vm.TownshipDishonestyRow) *actDialog {
	return s.submission(r, "breachui.action.explain", "breachui.field.submission_text", "caseui.done.submitted", 6, func(text string, ev []protocol.Hash) error {
		return s.vm.SubmitExplanation(r, vm.ExplanationForm{Text: text, Evidence: ev}, s.u.today())
	})
}

func (s *townBreachScreen) openRectify(r vm.TownshipDishonestyRow) *actDialog {
	return s.submission(r, "breachui.action.rectify", "breachui.field.rectification", "caseui.done.submitted", 4, func(text string, ev []protocol.Hash) error {
		return s.vm.SubmitRectification(r, vm.RectificationForm{Description: text, Evidence: ev}, s.u.today())
	})
}

func (s *townBreachScreen) openObject(r vm.TownshipDishonestyRow) *actDialog {
	return s.submission(r, "breachui.action.object", "breachui.field.objection", "caseui.done.objected", 6, func(text string, ev []protocol.Hash) error {
		_, err := s.vm.FileObjection(r, vm.ObjectionForm{Text: text, Evidence: ev}, s.u.today())
		if err == nil && s.u.main != nil && s.u.main.cases != nil {
			s.u.main.cases.load() // the objection is a case of the office
		}
		return err
	})
}
