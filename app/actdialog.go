package app

import (
	"errors"
	"io"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"jiannuo/app/vm"
	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// actDialog is the dialog of one action on a case or a dishonesty record:
// a few fields, evidence files when the action takes them (attached with a
// file dialog or dropped onto the window), and a button that submits. It
// stays open with the first fault when the view-model refuses, closes on
// success and on Escape.
type actDialog struct {
	u        *ui
	spec     actSpec
	evidence []protocol.Hash
	names    []string
	files    *widget.Label
	errLine  *widget.Label
	ok       *widget.Button
	d        dialog.Dialog
	// The controls the opener made, for tests to fill: the main text, a
	// second entry, a finding, a menu (nil when the dialog has none).
	text, second *entry
	finding      *widget.RadioGroup
	choice       *widget.Select
}

// actSpec says what an actDialog shows and does.
type actSpec struct {
	title, ok string
	intro     []fyne.CanvasObject // above the fields: what the action is on
	items     []*widget.FormItem
	// files: the action takes evidence files, recorded for office (the
	// township the case or record belongs to).
	files  bool
	office office.Code
	danger bool // the button is red: returning, withdrawing
	// submit acts with the files attached; done runs after it succeeded
	// and the dialog closed.
	submit func(evidence []protocol.Hash) error
	done   func()
}

// fieldOrder is the order in which a dialog names the first field at
// fault: the whole action first, then the fields as they read.
var fieldOrder = []string{vm.CaseFieldCase, vm.SubmitFieldRecord, vm.ReviewFieldObjection, vm.ReviewFieldMeasure, vm.CaseFieldFinding,
	vm.CaseFieldAckDue, vm.CaseFieldAnswerDue, vm.CaseFieldRecord, vm.ReviewFieldFacts, vm.CaseFieldText, vm.ReviewFieldReason, vm.CaseFieldEvidence}

// openAct shows the dialog of sp and returns it (tests drive it).
func (u *ui) openAct(sp actSpec) *actDialog {
	ad := &actDialog{u: u, spec: sp, files: widget.NewLabel(u.T("caseui.files.none")), errLine: widget.NewLabel("")}
	ad.files.Wrapping = fyne.TextWrapWord
	ad.errLine.Wrapping = fyne.TextWrapWord
	ad.errLine.Importance = widget.DangerImportance
	items := sp.items
	if sp.files {
		attach := widget.NewButtonWithIcon(u.T("caseui.files.attach"), theme.FileIcon(), func() {
			d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
				if err != nil || r == nil {
					return
				}
				ad.attach(r.URI().Name(), r)
			}, u.win)
			d.SetTitleText(u.T("app.attach_title"))
			d.Show()
		})
		items = append(items, widget.NewFormItem(u.T("caseui.files"), container.NewVBox(ad.files, container.NewHBox(attach), widget.NewLabel(u.T("app.drop_hint")))))
	}
	ad.ok = widget.NewButtonWithIcon(sp.ok, theme.ConfirmIcon(), ad.submit)
	ad.ok.Importance = widget.HighImportance
	if sp.danger {
		ad.ok.Importance = widget.DangerImportance
	}
	cancel := widget.NewButton(u.T("app.cancel"), func() { ad.d.Hide() })
	body := container.NewVBox(append(append([]fyne.CanvasObject{}, sp.intro...), inputs(widget.NewForm(items...)))...)
	var closed []func()
	if sp.files {
		u.dropTarget = ad.dropped
		closed = append(closed, func() { u.dropTarget = nil })
	}
	ad.d = u.track(dialog.NewCustomWithoutButtons(sp.title,
		container.NewBorder(nil, container.NewVBox(ad.errLine, container.NewHBox(cancel, ad.ok)), nil, nil, container.NewVScroll(body)), u.win), closed...)
	ad.d.Resize(u.dialogSize(640, 520))
	ad.d.Show()
	u.lastAct = ad
	return ad
}

// dropped attaches the files dropped onto the window.
func (ad *actDialog) dropped(uris []fyne.URI) {
	for _, uri := range uris {
		if uri.Scheme() != "file" {
			continue
		}
		f, err := os.Open(uri.Path())
		if err != nil {
			ad.errLine.SetText(ad.u.msg(vm.ErrorMessage(err)))
			continue
		}
		ad.attach(uri.Name(), f)
	}
}

// attach adds an evidence file (the file dialog's choice, a dropped file;
// tests call it directly), reading it off the UI goroutine; r is closed if
// it is an io.Closer.
func (ad *actDialog) attach(name string, r io.Reader) {
	ad.u.attachEvidence(ad.spec.office, name, r, ad.ok, ad.errLine, func(h protocol.Hash) {
		ad.evidence = append(ad.evidence, h)
		ad.names = append(ad.names, "• "+name)
		ad.files.SetText(joinLines(ad.names))
	})
}

// attachEvidence records an evidence file for office o from r off the UI
// goroutine (r is closed if it is an io.Closer), with ok disabled
// meanwhile; then, on the UI goroutine, it says why in errLine or hands
// the file's hash to added.
func (u *ui) attachEvidence(o office.Code, name string, r io.Reader, ok *widget.Button, errLine *widget.Label, added func(protocol.Hash)) {
	ok.Disable()
	u.bg.spawn(func() {
		h, err := vm.AddStepEvidence(u.se, o, name, r)
		if c, isCloser := r.(io.Closer); isCloser {
			c.Close()
		}
		fyne.Do(func() {
			ok.Enable()
			if err != nil {
				errLine.SetText(u.msg(vm.ErrorMessage(err)))
				return
			}
			errLine.SetText("")
			added(h)
		})
	})
}

// submit runs the action; a refusal stays in the dialog.
func (ad *actDialog) submit() {
	u := ad.u
	if err := ad.spec.submit(ad.evidence); err != nil {
		ad.errLine.SetText(u.msg(faultMessage(err)))
		return
	}
	ad.errLine.SetText("")
	ad.d.Hide()
	if ad.spec.done != nil {
		ad.spec.done()
	}
}

// faultMessage is what a dialog says about a refusal: the first field at
// fault of a form, else the error in plain language.
func faultMessage(err error) vm.Message {
	var fe *vm.FormError
	if errors.As(err, &fe) {
		for _, f := range fieldOrder {
			if m, ok := fe.Fields[f]; ok {
				return m
			}
		}
		for _, m := range fe.Fields {
			return m
		}
	}
	return vm.ErrorMessage(err)
}
