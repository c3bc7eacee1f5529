package vm

import (
	"time"

	"jiannuo/domain/office"
	"jiannuo/store"
)

// UrgeRow is an urge as the county admin's 催办 tab shows it: when, to
// whom, about what and by whom; whether and when it was read, by whom;
// and what the township did after it.
type UrgeRow struct {
	Urge  store.Urge
	Head  Message   // "2026-09-28 10:00 赤土店镇 ·「窗口午间值守」· 李明"
	Read  Message   // "已阅：王芳，2026-09-28 11:02" or "未读"
	After []Message // the follow-ups, oldest first, or "nothing yet"
}

// stamp formats a wall time as the screens show it.
func stamp(t time.Time) string { return t.In(time.Local).Format("2006-01-02 15:04") }

// LoadUrgeRows reads the urges to the offices of o, newest first.
func LoadUrgeRows(st *store.Store, o office.Code) ([]UrgeRow, error) {
	urges, err := st.Urges(store.UrgeFilter{Office: o})
	if err != nil {
		return nil, err
	}
	people, err := st.People()
	if err != nil {
		return nil, err
	}
	dir := office.Luoyang()
	out := make([]UrgeRow, 0, len(urges))
	for _, u := range urges {
		name := string(u.Office)
		if unit, ok := dir.Lookup(u.Office); ok {
			name = unit.Name
		}
		about := Msg("today.urge_report", u.Year)
		if u.Commitment != nil {
			if c, err := st.Commitment(*u.Commitment); err == nil {
				about = Msg("today.urge_about", c.Title)
			}
		}
		row := UrgeRow{Urge: u, Head: Msg("urgeui.sent_head", stamp(u.At.Wall()), name, about, people.Name(u.Op.Device, u.By)),
			Read: Msg("urgeui.unread")}
		if u.Read {
			row.Read = Msg("urgeui.read_by", people.Name(u.ReadOp.Device, u.ReadBy), stamp(u.ReadAt.Wall()))
		}
		follow, err := st.FollowUps(&u)
		if err != nil {
			return nil, err
		}
		for _, f := range follow {
			row.After = append(row.After, followMessage(f))
		}
		if len(row.After) == 0 {
			row.After = []Message{Msg("urgeui.nothing_after")}
		}
		out = append(out, row)
	}
	return out, nil
}

// followMessage says what one follow-up was.
func followMessage(f store.FollowUp) Message {
	when := stamp(f.HLC.Wall())
	switch f.Kind {
	case "fulfil":
		return Msg("urgeui.after_entry", when, f.Progress, f.Note)
	case "transition":
		return Msg("urgeui.after_status", when, StatusMessage(f.Status))
	case "case_step":
		return Msg("urgeui.after_case", when, Msg("caseui.step."+string(f.Step)))
	case "annual_report":
		return Msg("urgeui.after_report", when)
	}
	return Msg("urgeui.after_change", when)
}
