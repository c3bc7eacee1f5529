package app

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"jiannuo/app/vm"
	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// Urging (催办) on a county-admin device: a 催办 button on a township's
// commitment, and the 催办 tab listing every urge sent with when it was
// read and by whom, and what the township did after it (vm.UrgeRows).

// addUrgeAction adds 催办 to the detail of a township's commitment on a
// county-admin device signed in as a county admin.
func (s *detailScreen) addUrgeAction(box *fyne.Container) {
	u := s.u
	if s.d == nil || !u.adminDevice() || u.se.Account().Role != domain.RoleCountyAdmin || s.d.C.Office.Level() != office.Township {
		return
	}
	c := s.d.C
	box.Add(widget.NewButtonWithIcon(u.T("urgeui.urge"), theme.MailSendIcon(), func() { u.openUrge(c) }))
}

// openUrge asks for the urge's note and sends it.
func (u *ui) openUrge(c store.Commitment) *actDialog {
	note := u.newEntry(true)
	note.SetPlaceHolder(u.T("urgeui.note_hint"))
	ad := u.openAct(actSpec{title: u.T("urgeui.urge_title", c.Title), ok: u.T("urgeui.send"),
		intro: []fyne.CanvasObject{para(u.T("urgeui.urge_intro", u.officeName(c.Office)))},
		items: []*widget.FormItem{widget.NewFormItem(u.T("urgeui.note"), inputs(note))},
		submit: func([]protocol.Hash) error {
			_, err := u.se.Urge(store.UrgeInput{Commitment: c.Ref, Note: note.Text})
			return err
		},
		done: func() {
			u.acted()
			if u.main != nil && u.main.admin != nil {
				u.main.admin.urges.load()
			}
		}})
	ad.text = note
	return ad
}

// officeName names an office from the directory (its code when unknown).
func (u *ui) officeName(o office.Code) string {
	if unit, ok := office.Luoyang().Lookup(o); ok {
		return unit.Name
	}
	return string(o)
}

// urgesScreen is the county admin's 催办 tab.
type urgesScreen struct {
	u    *ui
	box  *fyne.Container
	tab  *container.TabItem
	rows []vm.UrgeRow // shown, for tests
}

func newUrgesScreen(u *ui) *urgesScreen {
	s := &urgesScreen{u: u, box: container.NewVBox()}
	refresh := widget.NewButtonWithIcon(u.T("adminui.refresh"), theme.ViewRefreshIcon(), s.load)
	obj := container.NewBorder(container.NewHBox(refresh), nil, nil, nil, container.NewVScroll(container.NewPadded(s.box)))
	s.tab = container.NewTabItemWithIcon(u.T("urgeui.tab"), theme.MailSendIcon(), obj)
	return s
}

// load reads the urges of the county from the replica.
func (s *urgesScreen) load() {
	u := s.u
	rows, err := vm.LoadUrgeRows(u.st, u.se.Device().Office)
	if err != nil {
		u.showError(err)
		return
	}
	s.rows = rows
	s.box.Objects = nil
	if len(rows) == 0 {
		s.box.Add(para(u.T("urgeui.none_sent")))
	}
	for _, r := range rows {
		objs := []fyne.CanvasObject{heading(u.msg(r.Head)), para(r.Urge.Note)}
		read := para(u.msg(r.Read))
		if !r.Urge.Read {
			read.Importance = widget.DangerImportance
		}
		objs = append(objs, read)
		for _, f := range r.After {
			objs = append(objs, para("  • "+u.msg(f)))
		}
		if r.Urge.Commitment != nil {
			ref := *r.Urge.Commitment
			objs = append(objs, container.NewHBox(widget.NewButton(u.T("urgeui.open_item"), func() { u.showCommitment(ref) })))
		}
		s.box.Add(widget.NewCard("", "", container.NewVBox(objs...)))
	}
	s.box.Refresh()
}

// localTime is a stamp as the screens show it.
func localTime(t time.Time) string { return t.In(time.Local).Format("2006-01-02 15:04") }
