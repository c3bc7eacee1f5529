package app

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"

	"jiannuo/app/vm"
	"jiannuo/demo"
	"jiannuo/domain/office"
)

// Scenes are states of the window a person otherwise reaches with a few
// clicks, opened directly for the documentation's screenshots (`make
// screenshot` takes one per scene) and for looking at a screen while
// working on it: jiannuo -demo -scene form.
//
//	main       the commitments list with the most urgent one open
//	form       the new-commitment form, as it opens
//	dashboard  the dashboard tab
//	small      the window at its minimum size, 640×480, an item open
//	enrol      the set-up wizard's enrolment step after a failed attempt
//	           (needs an empty -data directory, not -demo)
//	cases      投诉与异议 on the township device, the draft awaiting the
//	           leader's approval open
//	case       the same tab, the overdue case open (the filer's contact)
//	records    the township's 失信记录
//	admin-cases  投诉与异议 on the county-admin device (the demo opens as
//	           its county admin), a reply awaiting the county open
//	today      the dashboard as it opens at sign-in: today's panel first,
//	           the banner of the county's unread urge above the tabs
//	report     the annual report screen with a narrative written, the
//	           notable commitments chosen, and its preview open
//	syncfile   File → 导出同步包: what the USB-stick package will hold
//	admin-urges  催办 on the county-admin device: the urges sent, read
//	           or not, and what was done after
//	admin-admins  管理员账号 on the county-admin device
var Scenes = []string{"main", "form", "dashboard", "small", "enrol", "cases", "case", "records", "admin-cases", "today", "report",
	"syncfile", "admin-urges", "admin-admins"}

// AdminScene reports whether scene name is of the county-admin device: the
// demo then opens as its county admin.
func AdminScene(name string) bool { return strings.HasPrefix(name, "admin-") }

// scene opens one of Scenes once the window is up.
func (u *ui) scene(name string) error {
	openFirst := func() {
		if u.main != nil && u.main.list.vm.Len() > 0 {
			u.showCommitment(u.main.list.vm.Row(0).Ref)
		}
	}
	switch name {
	case "main":
		openFirst()
	case "form":
		u.showForm(nil)
	case "dashboard", "today":
		u.main.tabs.SelectIndex(1)
	case "report":
		return u.reportScene()
	case "small":
		u.win.Resize(minWindow)
		openFirst()
	case "enrol":
		return u.enrolScene()
	case "cases", "admin-cases":
		return u.caseScene(func(r vm.CaseRow) bool { return r.Can.Approve || r.Can.Accept })
	case "case":
		return u.caseScene(func(r vm.CaseRow) bool { return r.Overdue })
	case "records":
		if u.main.townBreach == nil {
			return fmt.Errorf("scene records needs a township device")
		}
		for i, t := range u.main.tabs.Items {
			if t.Content == u.main.townBreach.obj {
				u.main.tabs.SelectIndex(i)
			}
		}
	case "syncfile":
		u.showSyncExport()
	case "admin-urges", "admin-admins":
		a := u.main.admin
		if a == nil {
			return fmt.Errorf("scene %s needs the county-admin device", name)
		}
		if name == "admin-urges" {
			u.main.tabs.Select(a.urges.tab)
			return nil
		}
		u.main.tabs.Select(a.admins.tab)
		// Signed in as the demo county's admin, with the tab's own form.
		st, ok, err := u.st.SyncSettings()
		if err != nil || !ok || len(a.logins) == 0 {
			return fmt.Errorf("scene %s: no county server to sign in to (%v)", name, err)
		}
		f := a.logins[len(a.logins)-1]
		f.name.SetText(demo.Admin)
		f.pass.SetText(demo.Passphrase)
		a.login(st, f)
	default:
		return fmt.Errorf("unknown scene %q (want one of %s)", name, strings.Join(Scenes, ", "))
	}
	return nil
}

// reportScene opens the annual report of the year due with a narrative
// written and the first three commitments chosen, and previews it.
func (u *ui) reportScene() error {
	u.showAnnualReport(0)
	ad := u.lastReport
	if ad == nil {
		return fmt.Errorf("scene report: the screen did not open")
	}
	ad.narrative.SetText(u.T("annualui.scene_narrative", ad.a.Year))
	for i, c := range ad.a.Candidates {
		if i < 3 {
			ad.checks[c.Ref.String()].SetChecked(true)
		}
	}
	ad.showPreview()
	return nil
}

// caseScene shows the cases tab with the first case pick chooses open
// (the first case when none is chosen).
func (u *ui) caseScene(pick func(vm.CaseRow) bool) error {
	s := u.main.cases
	u.main.tabs.Select(s.tab)
	if len(s.vm.Rows) == 0 {
		return fmt.Errorf("no cases to show")
	}
	row := s.vm.Rows[0]
	for _, r := range s.vm.Rows {
		if pick(r) {
			row = r
			break
		}
	}
	s.selectCase(row.Ref())
	return nil
}

// enrolScene walks the wizard to its enrolment step for 栾川县赤土店镇 and
// makes one attempt at a county server that is not there, with a
// fingerprint as long as a real one.
func (u *ui) enrolScene() error {
	if u.main != nil {
		return fmt.Errorf("scene enrol needs a device not yet set up (an empty -data directory)")
	}
	wz := vm.NewWizard(office.Luoyang())
	if m := wz.SetOffice("410324101"); m != nil {
		return fmt.Errorf("scene enrol: %s", u.msg(*m))
	}
	if ms := wz.SetAccount("zhangli", "张丽", "演示口令-2026", "演示口令-2026"); len(ms) > 0 {
		return fmt.Errorf("scene enrol: %d fields refused", len(ms))
	}
	u.goWork(func(context.Context) {
		se, err := wz.Finish(u.st)
		fyne.Do(func() {
			if err != nil {
				u.showError(err)
				return
			}
			u.se = se
			p := u.showEnrol(wz)
			p.url.SetText("https://127.0.0.1:1")
			p.fp.SetText("3A:7F:0C:91:5E:22:B8:4D:6A:E0:13:C7:9B:58:F2:04:7D:A1:66:3E:C9:0B:85:2F:D4:71:1A:9E:60:B3:E8:52")
			p.submit()
		})
	})
	return nil
}
