package vm

import (
	"cmp"
	"encoding/json"
	"slices"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/report"
	"jiannuo/store"
)

// The today panel (今日待办): what needs attention on the day, shown at
// sign-in at the top of the dashboard and as desktop notifications, at
// most once a day per item (Notifier). A township sees the county's unread
// urges (催办), its overdue commitments and those due within the set
// number of working days, complaint cases near or past their limits, the
// dishonesty records awaiting its explanation or rectification, and from
// 15 December the annual report still to submit (its leader). A county
// admin sees the cases awaiting the county's decision or past a limit,
// the townships' submissions awaiting review, and the townships late with
// their annual report.

// DefaultDueWithin is the working days within which a deadline counts as
// due soon on the today panel, unless the user set another.
const DefaultDueWithin = domain.DueSoonWorkdays

// MaxDueWithin bounds the setting.
const MaxDueWithin = 30

// TodayKind says what a today item is and what opening it does.
type TodayKind string

// The kinds of today items, in the order the panel lists them.
const (
	TodayUrge    TodayKind = "urge"    // an unread urge: opens the urges
	TodayOverdue TodayKind = "overdue" // an overdue commitment: opens it
	TodayCase    TodayKind = "case"    // a case near or past a limit: opens it
	TodayRecord  TodayKind = "record"  // a dishonesty record awaiting the office (or the county): opens the records
	TodayDueSoon TodayKind = "due"     // a commitment due soon: opens it
	TodayReport  TodayKind = "report"  // the annual report to submit (or the late townships'): opens the report
)

var todayOrder = []TodayKind{TodayUrge, TodayOverdue, TodayCase, TodayRecord, TodayDueSoon, TodayReport}

// TodayItem is one line of the today panel.
type TodayItem struct {
	Kind TodayKind
	// Key names the item for notifications: the same item on the same
	// day is notified once.
	Key string
	// Ref is what the line opens: the commitment, case, urge or record
	// (zero for the report).
	Ref  store.Ref
	Year int // the report's year
	Text Message
	// Urgent marks what is past a limit (shown in the error colour).
	Urgent bool
}

// Today is the today panel on one day.
type Today struct {
	Date   calendar.Date
	Within int // working days counted as due soon
	Items  []TodayItem
	// Unread are the unread urges, newest first, for the banner.
	Unread []store.Urge
}

// Title heads the panel: the date and how many items.
func (t Today) Title() Message { return Msg("today.title", t.Date.String(), len(t.Items)) }

// TodayInput is what the today panel is made of; LoadToday reads it from
// a replica.
type TodayInput struct {
	Today  calendar.Date
	Cal    *calendar.Calendar
	Within int // 0: DefaultDueWithin
	// Admin is a county-admin device; Leader an author who signs the
	// annual report.
	Admin, Leader bool
	Commitments   []store.Commitment
	Cases         []store.Case // open cases
	Urges         []store.Urge // unread
	Records       []store.DishonestyRecord
	// Reports are the annual reports the replica holds (the office's
	// own; a county's: its townships' too);
	// Townships are the county's townships on the system (admin only).
	Reports   []store.AnnualReport
	Townships int
}

// WithinSetting clamps a stored setting: 0 or less is the default.
func WithinSetting(n int) int {
	if n <= 0 {
		return DefaultDueWithin
	}
	return min(n, MaxDueWithin)
}

// NewToday lays the panel out.
func NewToday(in TodayInput) Today {
	t := Today{Date: in.Today, Within: WithinSetting(in.Within), Unread: in.Urges}
	titles := map[store.Ref]string{}
	for _, c := range in.Commitments {
		titles[c.Ref] = c.Title
	}
	for _, u := range in.Urges {
		about := Msg("today.urge_report", u.Year)
		if u.Commitment != nil {
			about = Msg("today.urge_about", titles[*u.Commitment])
		}
		t.Items = append(t.Items, TodayItem{Kind: TodayUrge, Key: "urge:" + u.Ref().String(), Ref: u.Ref(), Urgent: true,
			Text: Msg("today.urge", about, u.Note)})
	}
	if !in.Admin {
		t.commitments(in)
	}
	t.cases(in, titles)
	t.records(in, titles)
	t.report(in)
	slices.SortStableFunc(t.Items, func(a, b TodayItem) int {
		return cmp.Compare(slices.Index(todayOrder, a.Kind), slices.Index(todayOrder, b.Kind))
	})
	return t
}

// commitments adds the office's overdue ones, most days first, and those
// due within the setting, nearest first.
func (t *Today) commitments(in TodayInput) {
	type due struct {
		c store.Commitment
		d domain.Due
	}
	var over, soon []due
	for _, c := range in.Commitments {
		if !c.Status.Open() {
			continue
		}
		d := domain.ComputeDue(c.Status, c.Start(), c.DeadlineValue(), in.Today, in.Cal)
		switch {
		case d.State == domain.DueOverdue:
			over = append(over, due{c, d})
		case d.State != domain.DueNone && d.WorkdaysLeft <= t.Within:
			soon = append(soon, due{c, d})
		}
	}
	slices.SortStableFunc(over, func(a, b due) int { return cmp.Compare(b.d.DaysOverdue, a.d.DaysOverdue) })
	slices.SortStableFunc(soon, func(a, b due) int { return a.d.Date.Compare(b.d.Date) })
	for _, x := range over {
		t.Items = append(t.Items, TodayItem{Kind: TodayOverdue, Key: "overdue:" + x.c.Ref.String(), Ref: x.c.Ref, Urgent: true,
			Text: Msg("today.overdue", x.c.Title, x.c.Responsible, x.d.DaysOverdue)})
	}
	for _, x := range soon {
		t.Items = append(t.Items, TodayItem{Kind: TodayDueSoon, Key: "due:" + x.c.Ref.String(), Ref: x.c.Ref,
			Text: Msg("today.due", x.c.Title, x.c.Responsible, x.d.Date.String(), x.d.WorkdaysLeft)})
	}
}

// cases adds the open cases past a limit or with one within the setting;
// on a county-admin device also those awaiting the county's decision.
func (t *Today) cases(in TodayInput, titles map[store.Ref]string) {
	for _, c := range in.Cases {
		if c.Closed {
			continue
		}
		due := c.Due(in.Today, in.Cal)
		next := nextCaseDeadline(c, in.Today)
		item := TodayItem{Kind: TodayCase, Key: "case:" + c.Ref().String(), Ref: c.Ref()}
		switch {
		case due.Overdue():
			item.Urgent, item.Text = true, Msg("today.case_overdue", c.Number, titles[c.Commitment], due.DaysOverdue)
		case in.Admin && c.Status == domain.CaseStatusReplied:
			item.Text = Msg("today.case_replied", c.Number, titles[c.Commitment])
		case !in.Admin && !next.IsZero() && due.WorkdaysLeft <= t.Within:
			item.Text = Msg("today.case_due", c.Number, titles[c.Commitment], next.String(), due.WorkdaysLeft)
		default:
			continue
		}
		t.Items = append(t.Items, item)
	}
}

// records adds the dishonesty records awaiting the office (a township)
// or the county's review (an admin).
func (t *Today) records(in TodayInput, titles map[store.Ref]string) {
	for _, r := range in.Records {
		due := RecordDue(r)
		if (in.Admin && due != DueCountyReview) || (!in.Admin && !due.ForTownship()) {
			continue
		}
		ref := store.Ref{Office: r.Office, ID: r.ID}
		t.Items = append(t.Items, TodayItem{Kind: TodayRecord, Key: "record:" + ref.String() + ":" + string(due), Ref: ref,
			Text: Msg("today.record", due.Message(), titles[r.Commitment])})
	}
}

// report adds the annual report: from 15 December to the leader whose
// office has not submitted it; to a county admin from 1 January while
// townships have not.
func (t *Today) report(in TodayInput) {
	year := report.ReportYear(in.Today)
	if in.Admin {
		// Through January the county chases the townships' reports of
		// the year before, past the deadline too.
		if in.Today.Month != time.January {
			return
		}
		year = in.Today.Year - 1
	}
	deadline := report.AnnualDeadline(year)
	if in.Admin {
		done := 0
		for _, r := range in.Reports {
			if r.Year == year && r.Version > 0 && r.Office.Level() == office.Township {
				done++
			}
		}
		if missing := in.Townships - done; missing > 0 {
			t.Items = append(t.Items, TodayItem{Kind: TodayReport, Key: "report:" + deadline.String(), Year: year,
				Urgent: in.Today.After(deadline), Text: Msg("today.reports_missing", year, missing, deadline.String())})
		}
		return
	}
	if !in.Leader || in.Today.Before(report.AnnualReminderFrom(year)) {
		return
	}
	for _, r := range in.Reports {
		if r.Year == year && r.Version > 0 {
			return
		}
	}
	t.Items = append(t.Items, TodayItem{Kind: TodayReport, Key: "report:" + deadline.String(), Year: year,
		Urgent: in.Today.After(deadline), Text: Msg("today.report", year, deadline.String())})
}

// LoadToday reads the today panel of se's device from its replica on day
// today, with due soon meaning within the working days (0: the default).
func LoadToday(se *store.Session, cal *calendar.Calendar, today calendar.Date, within int) (Today, error) {
	st, dev := se.Store(), se.Device()
	acct := se.Account()
	in := TodayInput{Today: today, Cal: cal, Within: within, Admin: dev.Admin, Leader: acct.Role.AtLeast(domain.RoleLeader)}
	var err error
	if in.Commitments, err = st.AllCommitments(); err != nil {
		return Today{}, err
	}
	if in.Cases, err = st.Cases(store.CaseFilter{Office: dev.Office, OpenOnly: true}); err != nil {
		return Today{}, err
	}
	if !dev.Admin {
		if in.Urges, err = st.Urges(store.UrgeFilter{Office: dev.Office, UnreadOnly: true}); err != nil {
			return Today{}, err
		}
	}
	if in.Records, err = st.DishonestyRecords(store.DishonestyFilter{Office: dev.Office, OpenOnly: true}); err != nil {
		return Today{}, err
	}
	if in.Reports, err = st.AnnualReports(store.ReportFilter{Office: dev.Office}); err != nil {
		return Today{}, err
	}
	if dev.Admin {
		towns := map[office.Code]bool{}
		for _, c := range in.Commitments {
			if c.Office.Level() == office.Township {
				towns[c.Office] = true
			}
		}
		in.Townships = len(towns)
	}
	return NewToday(in), nil
}

// NotifyLog keeps what was notified, per device: a string the app stores
// in its preferences.
type NotifyLog interface {
	Load() string
	Save(string)
}

// Notifier picks the today items to notify: each at most once a day,
// again the next day while it still needs attention.
type Notifier struct{ log NotifyLog }

// NewNotifier returns a notifier that remembers in log.
func NewNotifier(log NotifyLog) *Notifier { return &Notifier{log: log} }

// notified is what the log holds: the day and the items notified on it.
type notified struct {
	Day  string   `json:"day"`
	Keys []string `json:"keys"`
}

// Due returns the items of t not notified on t.Date yet and records them
// as notified.
func (n *Notifier) Due(t Today) []TodayItem {
	var seen notified
	if err := json.Unmarshal([]byte(n.log.Load()), &seen); err != nil || seen.Day != t.Date.String() {
		seen = notified{Day: t.Date.String()}
	}
	var out []TodayItem
	for _, it := range t.Items {
		if !slices.Contains(seen.Keys, it.Key) {
			out = append(out, it)
			seen.Keys = append(seen.Keys, it.Key)
		}
	}
	if len(out) > 0 {
		b, _ := json.Marshal(seen)
		n.log.Save(string(b))
	}
	return out
}

// Notification is a desktop notification's title and text.
type Notification struct{ Title, Content Message }

// MaxSeparateNotifications is how many new items get a notification each;
// more are summed up in one.
const MaxSeparateNotifications = 3

// Notifications turns the items due for notification into desktop
// notifications: one each, or one summary when there are many.
func Notifications(items []TodayItem) []Notification {
	if len(items) > MaxSeparateNotifications {
		return []Notification{{Title: Msg("today.notify_title"), Content: Msg("today.notify_many", len(items), items[0].Text)}}
	}
	var out []Notification
	for _, it := range items {
		out = append(out, Notification{Title: Msg("today.notify_" + string(it.Kind)), Content: it.Text})
	}
	return out
}
