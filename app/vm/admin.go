package vm

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/report"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// County admin mode (县信用办): the view-models of the admin screens.
// Pending enrolments, devices and incidents come from the county server's
// admin API (countyapi.Client: HTTP basic authentication with the admin's
// credential, TLS pinned to the fingerprint saved at enrolment); conflicts
// and the county overview come from the admin device's own replica, which
// receives every township of the county.

// NewAdminClient returns a client of the admin API of the server in
// settings (BaseURL and the pinned Fingerprint), authenticating as name
// with password. The credential is kept in memory only, for the session.
func NewAdminClient(settings store.SyncSettings, name, password string) *countyapi.Client {
	cfg := countyapi.DefaultConfig(settings.BaseURL, settings.Fingerprint)
	cfg.Admin, cfg.Password = name, password
	return countyapi.New(cfg)
}

// officeName names an office from the Luoyang directory, or its code.
func officeName(o office.Code) string {
	if u, ok := office.Luoyang().Lookup(o); ok {
		return u.Name
	}
	return string(o)
}

// adminTime formats a time for the admin screens, in local time.
func adminTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(time.Local).Format("2006-01-02 15:04")
}

// ---- Pending enrolments ----

// PendingRow is one pending enrolment request.
type PendingRow struct {
	Device     protocol.DeviceID
	DeviceID   string // full printed ID with its check characters, read over the phone
	Office     office.Code
	OfficeName string
	DeviceName string
	Staff      string
	Requested  time.Time
	When       string // Requested, formatted
	// CountyLevel is set when the device asked for the county's own code:
	// it is then normally approved as a county-admin device.
	CountyLevel bool
	// Replacement, for a re-enrolment after a fork, says which device it
	// replaces, what will be carried over, and that approving revokes the
	// old key; zero for a first enrolment.
	Replacement Message
}

// PendingDevices is the 设备注册 screen: enrolment requests waiting for the
// county admin.
type PendingDevices struct {
	c    *countyapi.Client
	Rows []PendingRow
}

// NewPendingDevices returns the view-model over client c.
func NewPendingDevices(c *countyapi.Client) *PendingDevices { return &PendingDevices{c: c} }

// Load reads the pending requests into Rows, oldest first.
func (p *PendingDevices) Load(ctx context.Context) error {
	rows, err := p.Fetch(ctx)
	if err != nil {
		return err
	}
	p.Rows = rows
	return nil
}

// Fetch reads the pending requests, oldest first, without touching Rows:
// a screen fetches off the UI goroutine and sets Rows on it.
func (p *PendingDevices) Fetch(ctx context.Context) ([]PendingRow, error) {
	es, err := p.c.Enrolments(ctx, false)
	if err != nil {
		return nil, err
	}
	rows := make([]PendingRow, 0, len(es))
	for _, e := range es {
		if e.Status != countyapi.EnrolPending {
			continue
		}
		rows = append(rows, PendingRow{Device: e.Device, DeviceID: e.Device.String(), Office: e.Office, OfficeName: officeName(e.Office),
			DeviceName: e.DeviceName, Staff: e.Staff, Requested: e.Requested, When: adminTime(e.Requested),
			CountyLevel: e.Office.Level() == office.County, Replacement: replacement(e)})
	}
	slices.SortStableFunc(rows, func(a, b PendingRow) int { return a.Requested.Compare(b.Requested) })
	return rows, nil
}

func replacement(e countyapi.Enrolment) Message {
	if e.Replaces.IsZero() {
		return Message{}
	}
	return Msg("adminui.pending.replaces", e.Replaces.String(), e.CarryFrom, e.Carried)
}

// Approve enrols a pending device for o (empty: the office it asked for),
// as a county-admin device when admin, and reloads.
func (p *PendingDevices) Approve(ctx context.Context, dev protocol.DeviceID, o office.Code, admin bool) error {
	if _, err := p.c.Approve(ctx, dev, countyapi.ApproveRequest{Office: o, Admin: admin}); err != nil {
		return err
	}
	return p.Load(ctx)
}

// Reject refuses a pending request with a reason (required) and reloads.
func (p *PendingDevices) Reject(ctx context.Context, dev protocol.DeviceID, reason string) error {
	if err := p.c.Reject(ctx, dev, reason); err != nil {
		return err
	}
	return p.Load(ctx)
}

// ---- Devices ----

// DeviceRow is one enrolled device.
type DeviceRow struct {
	Device     protocol.DeviceID
	DeviceID   string
	Short      string
	Name       string
	Office     office.Code
	OfficeName string
	Admin      bool
	LastSeq    uint64
	Online     bool
	Revoked    bool
	Reason     string  // of the revocation
	State      Message // online, offline, or revoked with its reason

	LastSeen time.Time // when a session of it last opened or closed; zero: never
	LastWhen Message   // LastSeen relative to now: "3 天前", "never"
	// What the device reported of itself when it last connected: its
	// software version, the change sets it had sealed that the county
	// lacks (Gap) and its operations not sealed yet. Reported is false
	// for an app too old to report them, or a device never connected.
	Reported    bool
	Version     string
	VersionText Message // Version, or "not reported"
	Gap         uint64
	PendingOps  uint64
	GapText     Message // "无", "2 个变更集", "1 项操作未封存", …; "not reported"
}

// Devices is the 终端 screen: every enrolled device of the county.
type Devices struct {
	c    *countyapi.Client
	Rows []DeviceRow
	// Now is the clock "3 days ago" is counted from; nil means time.Now.
	Now func() time.Time
}

// NewDevices returns the view-model over client c.
func NewDevices(c *countyapi.Client) *Devices { return &Devices{c: c} }

// Load reads the devices into Rows, by office then name; revoked devices
// last.
func (d *Devices) Load(ctx context.Context) error {
	rows, err := d.Fetch(ctx)
	if err != nil {
		return err
	}
	d.Rows = rows
	return nil
}

// Fetch reads the devices as Load orders them, without touching Rows.
func (d *Devices) Fetch(ctx context.Context) ([]DeviceRow, error) {
	ds, err := d.c.Devices(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if d.Now != nil {
		now = d.Now()
	}
	rows := make([]DeviceRow, 0, len(ds))
	for _, x := range ds {
		r := DeviceRow{Device: x.ID, DeviceID: x.ID.String(), Short: x.ID.Short(), Name: x.Name, Office: x.Office,
			OfficeName: officeName(x.Office), Admin: x.Admin, LastSeq: x.LastSeq, Online: x.Online, Revoked: x.Revoked, Reason: x.Reason,
			LastSeen: x.LastSeen, LastWhen: SeenAgo(x.LastSeen, now), Reported: !x.Reported.IsZero(), Version: x.Version,
			Gap: x.Gap, PendingOps: x.PendingOps}
		r.VersionText, r.GapText = Msg("adminui.devices.not_reported"), Msg("adminui.devices.not_reported")
		if r.Reported {
			if x.Version != "" {
				r.VersionText = Msg("adminui.devices.version", x.Version)
			}
			r.GapText = GapMessage(x.Gap, x.PendingOps)
		}
		switch {
		case x.Revoked:
			r.State = Msg("adminui.devices.revoked", x.Reason)
		case x.Online:
			r.State = Msg("adminui.devices.online")
		default:
			r.State = Msg("adminui.devices.offline")
		}
		rows = append(rows, r)
	}
	slices.SortStableFunc(rows, func(a, b DeviceRow) int {
		if a.Revoked != b.Revoked {
			if a.Revoked {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(a.Office, b.Office), cmp.Compare(a.Name, b.Name), cmp.Compare(a.DeviceID, b.DeviceID))
	})
	return rows, nil
}

// SeenAgo says how long before now t was, for the devices screen: "刚刚",
// "25 分钟前", "5 小时前", "1 天前", "3 天前"; "从未同步" for the zero time. A
// time after now (the clocks disagree) is "just now".
func SeenAgo(t, now time.Time) Message {
	if t.IsZero() {
		return Msg("adminui.devices.seen_never")
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return Msg("adminui.devices.seen_now")
	case d < time.Hour:
		return Msg("adminui.devices.seen_minutes", int(d/time.Minute))
	case d < 24*time.Hour:
		return Msg("adminui.devices.seen_hours", int(d/time.Hour))
	case d < 48*time.Hour:
		return Msg("adminui.devices.seen_day")
	}
	return Msg("adminui.devices.seen_days", int(d/(24*time.Hour)))
}

// GapMessage describes what a device holds that the county does not: gap
// change sets sealed and not yet received, and pending operations not yet
// sealed.
func GapMessage(gap, pending uint64) Message {
	switch {
	case gap == 0 && pending == 0:
		return Msg("adminui.devices.gap_none")
	case pending == 0:
		return Msg("adminui.devices.gap_sets", gap)
	case gap == 0:
		return Msg("adminui.devices.gap_unsealed", pending)
	}
	return Msg("adminui.devices.gap_both", gap, pending)
}

// Revoke revokes a device with a reason (required) and reloads.
func (d *Devices) Revoke(ctx context.Context, dev protocol.DeviceID, reason string) error {
	if err := d.c.Revoke(ctx, dev, reason); err != nil {
		return err
	}
	return d.Load(ctx)
}

// ---- Incidents ----

// IncidentPageSize is how many incidents the screen reads at a time; the
// server keeps the rest for "older".
const IncidentPageSize = 100

// IncidentRow is one incident in plain language.
type IncidentRow struct {
	Time   time.Time // first seen
	When   string
	Device protocol.DeviceID
	Short  string // device short ID, "" when the device is unknown
	Seq    uint64
	Code   protocol.Code
	Text   Message // "error.<code>"
	Detail string  // the server's message, for the technically minded
	Remote string
	ID     string // for Incidents.Ack
	// Count is how many times it happened (the server counts repeats of
	// one kind from one source); Repeated says how many and when last
	// ("adminui.incidents.repeated"), empty for once.
	Count    int
	Last     time.Time
	Repeated Message
	// Acked is set once a county admin acknowledged it; AckedText says who
	// and when ("breachui.incidents.acked").
	Acked     bool
	AckedText Message
	AckNote   string
}

// Incidents is the 安全事件 screen: the newest page of incidents, and
// older pages as the admin asks for them.
type Incidents struct {
	c    *countyapi.Client
	Rows []IncidentRow
	// Next is where the older incidents start; "" when Rows holds all.
	Next string
}

// IncidentList is a page of incident rows and where the older ones start.
type IncidentList struct {
	Rows []IncidentRow
	Next string
}

// NewIncidents returns the view-model over client c.
func NewIncidents(c *countyapi.Client) *Incidents { return &Incidents{c: c} }

// Load reads the newest page into Rows and Next.
func (in *Incidents) Load(ctx context.Context) error {
	l, err := in.Fetch(ctx)
	if err != nil {
		return err
	}
	in.Rows, in.Next = l.Rows, l.Next
	return nil
}

// Fetch reads the newest page, without touching Rows.
func (in *Incidents) Fetch(ctx context.Context) (IncidentList, error) { return in.FetchOlder(ctx, "") }

// FetchOlder reads the page that starts at next (Incidents.Next), without
// touching Rows; "" reads the newest.
func (in *Incidents) FetchOlder(ctx context.Context, next string) (IncidentList, error) {
	p, err := in.c.Incidents(ctx, IncidentPageSize, next)
	if err != nil {
		return IncidentList{}, err
	}
	return IncidentList{Rows: IncidentRows(p.Incidents), Next: p.Next}, nil
}

// LoadOlder appends the next older page to Rows.
func (in *Incidents) LoadOlder(ctx context.Context) error {
	if in.Next == "" {
		return nil
	}
	l, err := in.FetchOlder(ctx, in.Next)
	if err != nil {
		return err
	}
	in.Append(l)
	return nil
}

// Append adds an older page fetched with FetchOlder(Next) to Rows.
func (in *Incidents) Append(l IncidentList) {
	in.Rows, in.Next = append(in.Rows, l.Rows...), l.Next
}

// Ack acknowledges the incident of row r with a note (required) and puts
// the server's answer in its place.
func (in *Incidents) Ack(ctx context.Context, r IncidentRow, note string) error {
	x, err := in.c.AckIncident(ctx, r.ID, note)
	if err != nil {
		return err
	}
	in.Replace(x)
	return nil
}

// Replace puts the incident x (as the server answers an acknowledgement)
// in place of its row.
func (in *Incidents) Replace(x countyapi.Incident) {
	for i := range in.Rows {
		if in.Rows[i].ID == x.ID {
			in.Rows[i] = incidentRow(x)
		}
	}
}

// IncidentRows turns incidents into rows, newest first.
func IncidentRows(is []countyapi.Incident) []IncidentRow {
	rows := make([]IncidentRow, 0, len(is))
	for _, x := range is {
		rows = append(rows, incidentRow(x))
	}
	slices.SortStableFunc(rows, func(a, b IncidentRow) int { return b.Time.Compare(a.Time) })
	return rows
}

func incidentRow(x countyapi.Incident) IncidentRow {
	r := IncidentRow{Time: x.Time, When: adminTime(x.Time), Device: x.Device, Seq: x.Seq, Code: x.Code,
		Text: CodeMessage(x.Code), Detail: x.Message, Remote: x.Remote, ID: x.ID, Acked: x.Acknowledged, AckNote: x.AckNote,
		Count: x.Times(), Last: x.Last()}
	if r.Count > 1 {
		r.Repeated = Msg("adminui.incidents.repeated", r.Count, adminTime(r.Last))
	}
	if x.Acknowledged {
		r.AckedText = Msg("breachui.incidents.acked", x.AckedBy, adminTime(x.AckedAt))
	}
	if !x.Device.IsZero() {
		r.Short = x.Device.Short()
	}
	return r
}

// ---- Conflicts ----

// ConflictValue is one competing value of a conflicted field.
type ConflictValue struct {
	Value       string  // as stored
	Display     Message // for people: a category or status by name
	Author      string  // the person, with the login: "王芳（wangfang）" (store.People.Who)
	Device      protocol.DeviceID
	Short       string // device short ID
	Time        time.Time
	When        string
	Kind        string // the operation: create, edit, amend, …
	Reason      string // of an amendment
	Provisional bool   // the value every replica shows meanwhile
}

// ConflictItem is one conflicted field of one commitment.
type ConflictItem struct {
	Ref         store.Ref
	Title       string
	OfficeName  string
	Field       domain.Field
	FieldLabel  Message
	Provisional string
	ProvDisplay Message
	Values      []ConflictValue
}

// ConflictQueue is the 冲突核定 screen over the admin device's replica.
type ConflictQueue struct {
	se *store.Session
	// Sync, when set, is called after a resolution so that it reaches the
	// county server (and every device of the office) now; the app passes
	// its sync engine's SyncNow.
	Sync  func()
	Items []ConflictItem
}

// NewConflictQueue returns the queue of the county-admin session se.
func NewConflictQueue(se *store.Session, sync func()) *ConflictQueue {
	return &ConflictQueue{se: se, Sync: sync}
}

// valueDisplay renders a stored field value for people.
func valueDisplay(f domain.Field, v string) Message {
	switch f {
	case domain.FieldCategory:
		return CategoryMessage(domain.Category(v))
	case domain.FieldStatus:
		return StatusMessage(domain.Status(v))
	case domain.FieldPublic:
		if v == "true" {
			return Msg("adminui.value.yes")
		}
		return Msg("adminui.value.no")
	}
	if v == "" {
		return Msg("adminui.value.empty")
	}
	return Msg("adminui.value.text", v)
}

// Load reads the conflicts of the replica: by office, record, field.
func (q *ConflictQueue) Load() error {
	st := q.se.Store()
	cs, err := st.Conflicts()
	if err != nil {
		return err
	}
	people, err := st.People()
	if err != nil {
		return err
	}
	items := make([]ConflictItem, 0, len(cs))
	for _, c := range cs {
		it := ConflictItem{Ref: c.Ref, OfficeName: officeName(c.Ref.Office), Field: c.Field,
			FieldLabel: Msg("app.field." + string(c.Field)), Provisional: c.Provisional, ProvDisplay: valueDisplay(c.Field, c.Provisional)}
		if cm, err := st.Commitment(c.Ref); err == nil {
			it.Title = cm.Title
		}
		for i, v := range c.Versions {
			at := v.HLC.Wall()
			it.Values = append(it.Values, ConflictValue{Value: v.Value, Display: valueDisplay(c.Field, v.Value), Author: people.Who(v.Op.Device, v.Author),
				Device: v.Op.Device, Short: v.Op.Device.Short(), Time: at, When: adminTime(at), Kind: v.Kind, Reason: v.Reason,
				Provisional: i == 0})
		}
		items = append(items, it)
	}
	slices.SortStableFunc(items, func(a, b ConflictItem) int {
		return cmp.Or(cmp.Compare(a.Ref.Office, b.Ref.Office), cmp.Compare(a.Ref.String(), b.Ref.String()), cmp.Compare(a.Field, b.Field))
	})
	q.Items = items
	return nil
}

// Len is the number of conflicts in the queue.
func (q *ConflictQueue) Len() int { return len(q.Items) }

// Resolve settles a conflicted field with value (one of the competing
// values, or a merged one) and a reason (required), signed by the county
// admin's device; then syncs and reloads.
func (q *ConflictQueue) Resolve(ref store.Ref, f domain.Field, value, reason string) error {
	if !domain.NonBlank(reason) {
		return fmt.Errorf("%w: a resolution needs a reason", domain.ErrReasonRequired)
	}
	if err := q.se.Resolve(ref, f, value, strings.TrimSpace(reason)); err != nil {
		return err
	}
	if q.Sync != nil {
		q.Sync()
	}
	return q.Load()
}

// ---- Overview ----

// Early-warning defaults (§三(四)).
const (
	// DefaultOverdueWarning is the overdue share of open commitments above
	// which a township is flagged.
	DefaultOverdueWarning = 0.2
	// DefaultSilentDays is how many days without any change arriving from a
	// township flag it.
	DefaultSilentDays = 14
)

// OverviewConfig says how to compute the county overview.
type OverviewConfig struct {
	County office.Code
	Today  calendar.Date
	Now    time.Time // for the days since the last change; zero: time.Now()
	Cal    *calendar.Calendar
	// OverdueWarning is the overdue-share threshold (0 < x ≤ 1); zero means
	// DefaultOverdueWarning.
	OverdueWarning float64
	// SilentDays flags townships from which nothing arrived for that many
	// days; zero means DefaultSilentDays.
	SilentDays int
	// AllTownships lists every township of the county from the directory,
	// even those with no commitment on the replica (flagged silent).
	AllTownships bool
}

// OverviewRow is one township of the 辖区概况 screen: a row of
// report.Overview as the screen shows it.
type OverviewRow struct {
	Office     office.Code
	Name       string
	Tally      report.Tally
	OnTimeRate float64
	HasRate    bool    // false when nothing has a verdict yet
	Rate       Message // "92.5%" or "—"
	Overdue    int
	DueSoon    int
	// OverdueShare is overdue ÷ open.
	OverdueShare float64
	// LastChange is the township's last sync with the county (the server's
	// overview), or the newest stamp of any operation from it on this
	// replica (the local one); zero if none.
	LastChange time.Time
	LastWhen   string
	SilentDays int // whole days since LastChange; -1 when none
	Warnings   []Message
}

// Warned reports whether the row carries an early warning.
func (r OverviewRow) Warned() bool { return len(r.Warnings) > 0 }

// Overview is the 辖区概况 screen.
type Overview struct {
	Rows  []OverviewRow
	Total report.Tally // the county as a whole
	// Report is the overview the rows show, in the shape the county server
	// serves and report.WriteOverviewXLSX exports.
	Report *report.Overview
}

// overviewRow is r as the screen shows it, without warnings: those say
// different things for the server's overview and the replica's. now is
// for the days since the last sync.
func overviewRow(r report.OverviewRow, now time.Time) OverviewRow {
	name := r.Name
	if name == "" {
		name = officeName(r.Office)
	}
	row := OverviewRow{Office: r.Office, Name: name, Tally: r.Tally, Overdue: r.Tally.Overdue, DueSoon: r.Tally.DueSoon, SilentDays: -1}
	if r.OnTimeRate != nil {
		row.OnTimeRate, row.HasRate = *r.OnTimeRate, true
		row.Rate = Msg("adminui.overview.rate", *r.OnTimeRate*100)
	} else {
		row.Rate = Msg("adminui.overview.no_rate")
	}
	if r.OverdueShare != nil {
		row.OverdueShare = *r.OverdueShare
	}
	if !r.LastSync.IsZero() {
		row.LastChange, row.LastWhen = r.LastSync, adminTime(r.LastSync)
		row.SilentDays = max(0, int(now.Sub(r.LastSync)/(24*time.Hour))) // a clock behind the stamps counts as today
	}
	return row
}

// LoadOverview computes the county overview by township from the replica st
// (the admin device's, which receives every township of the county).
func LoadOverview(st *store.Store, cfg OverviewConfig) (*Overview, error) {
	cs, err := st.AllCommitments()
	if err != nil {
		return nil, err
	}
	return ComputeOverview(cs, cfg), nil
}

// ComputeOverview is LoadOverview over commitments already read. The
// replica keeps no snapshots and knows no device's last sync, so Report has
// no device list and no earlier share, the township's newest operation
// stands for its last sync, and a township from which nothing has arrived
// for the silent days carries the not-synced warning; the screen's rows
// warn of an overdue share above the threshold and of silence.
func ComputeOverview(cs []store.Commitment, cfg OverviewConfig) *Overview {
	if cfg.OverdueWarning <= 0 {
		cfg.OverdueWarning = DefaultOverdueWarning
	}
	if cfg.SilentDays <= 0 {
		cfg.SilentDays = DefaultSilentDays
	}
	if cfg.Now.IsZero() {
		cfg.Now = time.Now()
	}
	if cfg.Cal == nil {
		cfg.Cal = calendar.Default()
	}
	var scoped []store.Commitment
	last := map[office.Code]time.Time{}
	for _, c := range cs {
		if cfg.County != "" && !cfg.County.Contains(c.Office) {
			continue
		}
		scoped = append(scoped, c)
		if w := c.UpdatedAt.Wall(); c.UpdatedAt != 0 && w.After(last[c.Office]) {
			last[c.Office] = w
		}
	}
	by := report.TallyByOffice(scoped, cfg.Today, cfg.Cal)
	offices := report.Offices(by)
	if cfg.AllTownships && cfg.County != "" {
		for _, u := range office.Luoyang().Townships(cfg.County) {
			if _, ok := by[u.Code]; !ok {
				offices = append(offices, u.Code)
			}
		}
		slices.Sort(offices)
	}
	rep := &report.Overview{County: cfg.County, Today: cfg.Today, StaleDays: cfg.SilentDays, Rows: []report.OverviewRow{}}
	out := &Overview{Total: report.Compute(scoped, cfg.Today, cfg.Cal).All, Report: rep}
	for _, o := range offices {
		t, ok := by[o]
		if !ok {
			t = report.Compute(nil, cfg.Today, cfg.Cal).All
		}
		m := report.NewOverviewRow(o, officeName(o), t)
		m.LastSync = last[o]
		r := overviewRow(m, cfg.Now)
		if m.OverdueShare != nil && *m.OverdueShare > cfg.OverdueWarning {
			r.Warnings = append(r.Warnings, Msg("adminui.overview.warn_overdue", *m.OverdueShare*100))
		}
		switch {
		case r.SilentDays < 0:
			r.Warnings = append(r.Warnings, Msg("adminui.overview.warn_never"))
		case r.SilentDays >= cfg.SilentDays:
			r.Warnings = append(r.Warnings, Msg("adminui.overview.warn_silent", r.SilentDays))
		}
		if r.SilentDays < 0 || r.SilentDays >= cfg.SilentDays {
			m.Warnings = append(m.Warnings, report.Warning{Kind: report.WarnNotSynced})
			rep.Warnings++
		}
		out.Rows = append(out.Rows, r)
		rep.Rows = append(rep.Rows, m)
	}
	return out
}

// StatusCount is one status of a tally, for a table.
type StatusCount struct {
	Status domain.Status
	Name   Message
	Count  int
}

// StatusCounts lists a tally's counts in domain.Statuses order.
func StatusCounts(t report.Tally) []StatusCount {
	var out []StatusCount
	for _, s := range domain.Statuses() {
		out = append(out, StatusCount{s, StatusMessage(s), t.ByStatus[s]})
	}
	return out
}
