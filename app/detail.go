package app

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"jiannuo/app/vm"
	"jiannuo/domain"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// detailScreen shows one commitment: full text, amendments with reasons,
// the fulfilment timeline with evidence, the county's confirmation,
// conflicts with every competing value, and the actions the user may take.
type detailScreen struct {
	u       *ui
	ref     *store.Ref
	d       *vm.Detail
	content *fyne.Container
	obj     fyne.CanvasObject
}

func newDetailScreen(u *ui) *detailScreen {
	s := &detailScreen{u: u, content: container.NewVBox(widget.NewLabel(u.T("app.pick_one")))}
	s.obj = container.NewVScroll(container.NewPadded(s.content))
	return s
}

func (s *detailScreen) show(ref store.Ref) {
	s.ref = &ref
	s.reload()
}

func (s *detailScreen) reload() {
	if s.ref == nil {
		return
	}
	d, err := vm.LoadDetail(s.u.se, *s.ref, s.u.today(), s.u.cal)
	if err != nil {
		s.u.showError(err)
		return
	}
	s.d = d
	s.render()
}

func (s *detailScreen) msg(m vm.Message) string { return s.u.msg(m) }

// title is a page's title, larger than the headings inside it.
func title(text string) *widget.Label {
	l := heading(text)
	l.SizeName = theme.SizeNameHeadingText
	return l
}

func heading(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.TextStyle = fyne.TextStyle{Bold: true}
	l.Wrapping = fyne.TextWrapWord
	return l
}

func para(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	return l
}

func (s *detailScreen) render() {
	u, d, c := s.u, s.d, s.d.C
	objs := []fyne.CanvasObject{
		heading(c.Title),
		para(fmt.Sprintf("%s · %s · %s", u.T("category."+string(c.Category)), u.T("status."+string(c.Status)), u.T("app.version", c.Version))),
		para(u.T("app.responsible", c.Responsible) + "    " + s.msg(d.DeadlineText)),
	}
	if d.Due.State == domain.DueOverdue || d.Due.State == domain.DueSoon {
		due := para(u.dueText(d.Due))
		due.Importance = widget.WarningImportance
		if d.Due.State == domain.DueOverdue {
			due.Importance = widget.DangerImportance
		}
		objs = append(objs, due)
	}
	if c.LegalBasis != "" {
		objs = append(objs, para(u.T("app.legal_basis", c.LegalBasis)))
	}
	switch {
	case d.Confirmed && !d.ConfirmedAt.IsZero():
		objs = append(objs, para(u.T("app.confirmed_at", d.ConfirmedAt.Format("2006-01-02 15:04"))))
	case d.Confirmed: // a receipt this device does not keep (the work of another device)
		objs = append(objs, para(u.msg(d.ConfirmedText())))
	default:
		objs = append(objs, para(u.T("app.not_confirmed")))
	}
	objs = append(objs, widget.NewSeparator(), para(c.Text))

	if len(d.Conflicts) > 0 {
		objs = append(objs, widget.NewSeparator(), heading(u.T("app.conflicts")))
		for _, cf := range d.Conflicts {
			objs = append(objs, para(u.T("app.conflict_field", u.T("app.field."+string(cf.Field)), cf.Provisional)))
			for _, v := range cf.Versions {
				objs = append(objs, para(fmt.Sprintf("  • %s — %s, %s", v.Value, d.Name(v.Op, v.Author), v.HLC.Wall().Format("2006-01-02 15:04"))))
			}
		}
	}
	if len(d.Amendments) > 0 {
		objs = append(objs, widget.NewSeparator(), heading(u.T("app.amendments")))
		for _, a := range d.Amendments {
			objs = append(objs, para(u.T("app.amendment", a.Version, a.HLC.Wall().Format("2006-01-02 15:04"), d.Name(a.Op, a.Author), a.Reason)))
		}
	}
	objs = append(objs, widget.NewSeparator(), heading(u.T("app.timeline")))
	if len(d.Entries) == 0 {
		objs = append(objs, para(u.T("app.no_entries")))
	}
	for _, e := range d.Entries {
		objs = append(objs, para(u.T("app.entry", e.Date.String(), e.Progress, d.Name(e.Op, e.Author), e.Note)))
		for _, h := range e.Evidence {
			name, mime := h.String()[:12], ""
			if metas := d.Evidence[h]; len(metas) > 0 {
				name, mime = metas[0].Name, metas[0].MIME
			}
			objs = append(objs, u.evidenceView(h, name, mime)...)
		}
	}
	objs = append(objs, widget.NewSeparator(), s.actions())
	s.content.Objects = objs
	s.content.Refresh()
}

// actions are the buttons for what the user may do now.
func (s *detailScreen) actions() fyne.CanvasObject {
	u, a, ref := s.u, s.d.Actions, s.d.C.Ref
	box := container.NewHBox()
	add := func(ok bool, key string, fn func()) {
		if ok {
			b := widget.NewButton(u.T(key), fn)
			box.Add(b)
		}
	}
	add(a.Edit, "app.action.edit", func() { u.showForm(&ref) })
	add(a.Publish, "app.action.publish", func() {
		u.confirm(u.T("app.action.publish"), u.T("app.confirm_publish"), func(ok bool) {
			if ok {
				s.do(u.se.Publish(ref))
			}
		})
	})
	add(a.Amend, "app.action.amend", func() { u.showForm(&ref) })
	add(a.Start, "app.action.start", func() { s.do(u.se.Transition(ref, domain.StatusInProgress, "")) })
	add(a.Log, "app.action.log", func() { u.showFulfil(ref) })
	add(a.Close, "app.action.close", func() { s.askClose() })
	add(a.PartlyFulfilled, "app.action.partly", func() { s.withReason("app.action.partly", domain.StatusPartlyFulfilled) })
	add(a.Withdraw, "app.action.withdraw", func() { s.withReason("app.action.withdraw", domain.StatusWithdrawn) })
	s.addBreachAction(box) // county-admin devices (breach.go)
	s.addUrgeAction(box)   // county-admin devices (urges.go)
	return box
}

// askClose asks before closing as fulfilled, warning when the latest
// entry says the work is not done.
func (s *detailScreen) askClose() {
	u, ref := s.u, s.d.C.Ref
	q := u.T("app.confirm_close")
	if m, ok := vm.CloseWarning(&s.d.C); ok {
		q += "\n\n" + u.msg(m)
	}
	u.confirm(u.T("app.action.close"), q, func(ok bool) {
		if ok {
			s.do(vm.Close(u.se, ref, u.today(), u.cal))
		}
	})
}

// withReason asks for the reason a transition needs (a withdrawal's legal
// basis, say) and makes it.
func (s *detailScreen) withReason(titleKey string, to domain.Status) {
	u := s.u
	reason := u.newEntry(true)
	reason.SetPlaceHolder(u.T("app.reason_required"))
	d := dialog.NewForm(u.T(titleKey), u.T("app.ok"), u.T("app.cancel"), []*widget.FormItem{widget.NewFormItem(u.T("app.reason"), inputs(reason))}, func(ok bool) {
		if ok {
			s.do(u.se.Transition(s.d.C.Ref, to, reason.Text))
		}
	}, u.win)
	d.Resize(u.dialogSize(480, 240))
	u.track(d).Show()
}

func (s *detailScreen) do(err error) {
	if err != nil {
		s.u.showError(err)
		return
	}
	s.u.acted()
	s.u.main.list.load()
	s.reload()
}

// evidenceView shows an evidence file: a preview of an image whose
// content is here, and a button that opens it.
func (u *ui) evidenceView(h protocol.Hash, name, mime string) []fyne.CanvasObject {
	var objs []fyne.CanvasObject
	if strings.HasPrefix(mime, "image/") {
		if data, err := u.st.EvidenceContent(h); err == nil {
			img := canvas.NewImageFromResource(fyne.NewStaticResource(name, data))
			img.FillMode = canvas.ImageFillContain
			img.SetMinSize(fyne.NewSize(240, 160))
			objs = append(objs, container.NewHBox(img))
		}
	}
	return append(objs, widget.NewButton(u.T("app.open_evidence", name), func() { u.openEvidence(h, name) }))
}

// openEvidence writes the file to a temporary folder and asks the system to
// open it.
func (u *ui) openEvidence(h protocol.Hash, name string) {
	data, err := u.st.EvidenceContent(h)
	if err != nil {
		u.showError(err)
		return
	}
	dir, err := os.MkdirTemp("", "jiannuo-evidence-")
	if err != nil {
		u.showError(err)
		return
	}
	path := filepath.Join(dir, strings.NewReplacer("/", "_", "\\", "_").Replace(name))
	if err := os.WriteFile(path, data, 0o600); err != nil {
		u.showError(err)
		return
	}
	if err := u.fa.OpenURL(&url.URL{Scheme: "file", Path: path}); err != nil {
		u.showError(err)
	}
}
