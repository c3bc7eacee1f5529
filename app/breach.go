package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"jiannuo/app/vm"
	"jiannuo/domain"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// Breach confirmation on a county-admin device (§四(二)–(三)): the detail
// screen's "确认未践诺并建立失信记录" action and its dialog.

// addBreachAction adds the breach action to the detail screen's actions
// when the signed-in admin may confirm the breach of the commitment shown.
func (s *detailScreen) addBreachAction(box *fyne.Container) {
	if s.d == nil {
		return
	}
	c := s.d.C
	ok, err := vm.CanConfirmBreach(s.u.se, &c)
	if err != nil || !ok {
		return
	}
	b := widget.NewButtonWithIcon(s.u.T("breachui.action"), theme.WarningIcon(), func() { s.openBreach() })
	b.Importance = widget.DangerImportance
	box.Add(b)
}

// breachDialog is the breach confirmation dialog.
type breachDialog struct {
	types       *widget.Select
	typeOf      map[string]domain.DishonestyType // label → type
	official    *widget.Entry
	deadline    *widget.Entry
	explanation *widget.Entry
	reason      *widget.Entry
	errLine     *widget.Label
	ok          *widget.Button
	d           *dialog.CustomDialog
}

// openBreach opens the dialog for the commitment shown; once confirmed,
// the list and this screen reload and the admin screens are told.
func (s *detailScreen) openBreach() *breachDialog {
	u := s.u
	return u.openBreachFor(s.d.C, func(protocol.EntityID) {
		s.do(nil) // syncs, reloads the list and this screen
		if u.main != nil && u.main.admin != nil {
			u.main.admin.breachDone()
		}
	})
}

// openBreachFor opens the breach confirmation dialog for commitment c;
// done gets the dishonesty record made (the cases screen links it to the
// complaint that led to it).
func (u *ui) openBreachFor(c store.Commitment, done func(protocol.EntityID)) *breachDialog {
	form := vm.NewBreachForm(c, u.today())
	bd := &breachDialog{typeOf: map[string]domain.DishonestyType{}, official: widget.NewEntry(), deadline: widget.NewEntry(),
		explanation: widget.NewMultiLineEntry(), reason: widget.NewMultiLineEntry(), errLine: widget.NewLabel("")}
	var labels []string
	sel := ""
	for _, t := range domain.DishonestyTypes() {
		l := u.msg(vm.DishonestyTypeMessage(t))
		labels = append(labels, l)
		bd.typeOf[l] = t
		if t == form.Type {
			sel = l
		}
	}
	bd.types = widget.NewSelect(labels, nil)
	bd.types.SetSelected(sel)
	bd.official.SetText(form.Official)
	bd.deadline.SetPlaceHolder(u.T("breachui.deadline_hint"))
	bd.explanation.SetPlaceHolder(u.T("breachui.explanation_hint"))
	bd.explanation.SetMinRowsVisible(2)
	bd.reason.SetPlaceHolder(u.T("breachui.reason_hint"))
	bd.reason.SetMinRowsVisible(3)
	bd.errLine.Wrapping = fyne.TextWrapWord
	bd.errLine.Importance = widget.DangerImportance
	bd.ok = widget.NewButtonWithIcon(u.T("breachui.ok"), theme.WarningIcon(), func() { u.submitBreach(bd, c.Ref, form, done) })
	bd.ok.Importance = widget.DangerImportance
	content := container.NewVBox(
		heading(u.T("breachui.commitment", c.Title, u.T("status."+string(c.Status)))),
		para(u.T("breachui.intro")),
		widget.NewForm(
			widget.NewFormItem(u.T("breachui.field.type"), bd.types),
			widget.NewFormItem(u.T("breachui.field.official"), bd.official),
			widget.NewFormItem(u.T("breachui.field.deadline"), bd.deadline),
			widget.NewFormItem(u.T("breachui.field.explanation"), bd.explanation),
			widget.NewFormItem(u.T("breachui.field.reason"), bd.reason),
		),
		bd.errLine)
	bd.d = dialog.NewCustomWithoutButtons(u.T("breachui.title"), container.NewVScroll(content), u.win)
	bd.d.SetButtons([]fyne.CanvasObject{widget.NewButton(u.T("breachui.cancel"), func() { bd.d.Hide() }), bd.ok})
	bd.d.Resize(u.dialogSize(680, 560))
	u.track(bd.d)
	bd.d.Show()
	return bd
}

// breachFieldOrder is the order in which the dialog reports a field at
// fault: the first one only, as the fields read top to bottom.
var breachFieldOrder = []string{vm.BreachFieldType, vm.BreachFieldOfficial, vm.BreachFieldDeadline, vm.BreachFieldExplanation, vm.BreachFieldReason}

func (u *ui) submitBreach(bd *breachDialog, ref store.Ref, form vm.BreachForm, done func(protocol.EntityID)) {
	form.Type = bd.typeOf[bd.types.Selected]
	form.Official, form.Deadline = bd.official.Text, bd.deadline.Text
	form.Explanation, form.Reason = bd.explanation.Text, bd.reason.Text
	if bad := form.Validate(); len(bad) > 0 {
		for _, f := range breachFieldOrder {
			if m, ok := bad[f]; ok {
				bd.errLine.SetText(u.T("breachui.field."+f) + "：" + u.msg(m))
				return
			}
		}
	}
	bd.errLine.SetText("")
	id, err := vm.ConfirmBreach(u.se, ref, form)
	if err != nil {
		bd.errLine.SetText(u.msg(vm.ErrorMessage(err)))
		return
	}
	bd.d.Hide()
	done(id)
}

// breachDone tells the admin screens that a breach was confirmed.
func (a *adminScreens) breachDone() {
	a.status.SetText(a.u.T("breachui.done"))
	if a.breach != nil {
		a.breach.load()
	}
}
