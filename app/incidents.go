package app

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"jiannuo/app/vm"
	"jiannuo/sync/countyapi"
)

// Incident acknowledgement in the 安全事件 tab: an unacknowledged incident
// has a button; an acknowledged one says who acknowledged it and when.

// incidentAck is the acknowledgement line of an incident row.
func (a *adminScreens) incidentAck(r vm.IncidentRow) fyne.CanvasObject {
	u := a.u
	if r.Acked {
		l := para(u.msg(r.AckedText))
		if r.AckNote != "" {
			l.SetText(l.Text + " · " + r.AckNote)
		}
		return l
	}
	if r.ID == "" {
		return container.NewHBox()
	}
	return container.NewHBox(widget.NewButtonWithIcon(u.T("breachui.incidents.ack"), theme.ConfirmIcon(), func() { a.openAck(r) }))
}

// openAck asks for the note the audit trail keeps and acknowledges the
// incident.
func (a *adminScreens) openAck(r vm.IncidentRow) *reasonDialog {
	u := a.u
	intro := []fyne.CanvasObject{heading(u.T("adminui.incidents.row", r.When, u.msg(r.Text))), para(r.Detail)}
	rd := a.openReason(u.T("breachui.incidents.ack"), u.T("breachui.incidents.ack"), intro, func(note string, done func(error)) {
		c, in := a.client, a.incidents
		var got countyapi.Incident
		a.apiCall(func(ctx context.Context) (err error) {
			got, err = c.AckIncident(ctx, r.ID, note)
			return err
		}, func(err error) {
			done(err)
			if err == nil {
				in.Replace(got) // the pages loaded stay as they are
				a.status.SetText(u.T("breachui.incidents.ack_done"))
				a.renderIncidents()
			}
		})
	})
	rd.ok.Importance = widget.HighImportance
	return rd
}
