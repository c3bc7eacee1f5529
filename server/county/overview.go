package county

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/report"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// County oversight: the overview by township with early warnings (§三(四)),
// the dishonesty register, and the audit trail, over the admin API.

var (
	bLastSeen  = []byte("x-lastseen")  // device -> LastSeen
	bSnapshots = []byte("x-snapshots") // office|YYYY-MM-DD -> snapshot of the overdue share
)

// cst is China Standard Time, in which the overview's "today" is taken.
var cst = time.FixedZone("CST", 8*3600)

// LastSeen is when a device's sessions last opened and closed, and what the
// device last said of itself in a hello (protocol.HelloStatus): advisory
// figures for the admin's device list, kept as reported.
type LastSeen struct {
	Opened time.Time `json:"opened,omitzero"`
	Closed time.Time `json:"closed,omitzero"`
	// Reported is when the device last sent its status; zero if it never
	// did (an app older than the status).
	Reported   time.Time `json:"reported,omitzero"`
	Version    string    `json:"version,omitempty"`     // the app's software version
	DeviceSeq  uint64    `json:"device_seq,omitempty"`  // the last change set it had sealed
	PendingOps uint64    `json:"pending_ops,omitempty"` // its operations not sealed yet
}

// Latest is the later of the two.
func (l LastSeen) Latest() time.Time {
	if l.Closed.After(l.Opened) {
		return l.Closed
	}
	return l.Opened
}

// seen records a session opening, with the status the device's hello
// carried if any, or closing. It does not wait for the writer (lastseen.go):
// the welcome must not wait behind the ingest.
func (s *Server) seen(dev protocol.DeviceID, opened bool, status *protocol.HelloStatus) {
	now := s.cfg.Now().UTC()
	var p LastSeen
	if opened {
		p.Opened = now
	} else {
		p.Closed = now
	}
	if status != nil {
		p.Reported, p.Version, p.DeviceSeq, p.PendingOps = now, status.Software, status.Seq, status.PendingOps
	}
	s.seenLog.note(dev, p)
}

type snapshot struct {
	Open    int `json:"open"`
	Overdue int `json:"overdue"`
}

// share is the snapshot's overdue share, nil with nothing open.
func (sn snapshot) share() *float64 {
	if sn.Open == 0 {
		return nil
	}
	v := float64(sn.Overdue) / float64(sn.Open)
	return &v
}

func snapshotKey(o office.Code, d calendar.Date) []byte {
	return []byte(string(o) + "|" + d.String())
}

// DefaultStaleDays is how long a device may go without syncing before the
// overview warns (Config.StaleDays).
const DefaultStaleDays = 7

// Overview computes the county overview for today: every township with
// commitments, devices or open cases, its figures over the county replica
// (report.TallyByOffice), its open and overdue cases, the last sync of each
// device (the server's own device left out), and early warnings. It takes today's snapshot of each township's overdue share if
// there is none yet, and compares with the latest one at least 30 days
// old.
func (s *Server) Overview() (*report.Overview, error) {
	now := s.cfg.Now()
	today := calendar.DateOf(now.In(cst))
	cal := s.calendar()
	stale := s.cfg.StaleDays
	if stale <= 0 {
		stale = DefaultStaleDays
	}
	cs, err := s.st.AllCommitments()
	if err != nil {
		return nil, err
	}
	byOffice := report.TallyByOffice(cs, today, cal)
	devs, err := s.st.Devices()
	if err != nil {
		return nil, err
	}
	heads, err := s.st.Heads()
	if err != nil {
		return nil, err
	}
	dir := office.Luoyang()
	rows := map[office.Code]*report.OverviewRow{}
	row := func(o office.Code) *report.OverviewRow {
		if r := rows[o]; r != nil {
			return r
		}
		var name string
		if u, ok := dir.Lookup(o); ok {
			name = u.Name
		}
		r := report.NewOverviewRow(o, name, byOffice[o])
		rows[o] = &r
		return &r
	}
	for o := range byOffice {
		row(o)
	}
	cases, err := s.st.Cases(store.CaseFilter{Office: s.id.County, OpenOnly: true})
	if err != nil {
		return nil, err
	}
	for i := range cases {
		r := row(cases[i].Office)
		r.Cases.Open++
		if cases[i].Due(today, cal).Overdue() {
			r.Cases.Overdue++
		}
	}
	s.mu.Lock()
	online := make(map[protocol.DeviceID]bool, len(s.sessions))
	for d := range s.sessions {
		online[d] = true
	}
	s.mu.Unlock()

	staleBefore := now.Add(-time.Duration(stale) * 24 * time.Hour)
	err = s.st.Update(func(tx *bolt.Tx) error {
		for _, d := range devs {
			if !s.id.County.Contains(d.Office) || d.ID == s.signer.Device() {
				continue // the server's own device is the server, always there
			}
			l, err := s.lastSeenTx(tx, d.ID)
			if err != nil {
				return err
			}
			r := row(d.Office)
			ds := report.DeviceSeen{Device: d.ID, Name: d.Name, Admin: d.Admin, Revoked: d.Revoked, Online: online[d.ID],
				LastSeen: l.Latest(), LastSeq: heads[d.ID].Seq}
			if ds.Online {
				ds.LastSeen = now.UTC()
			}
			r.Devices = append(r.Devices, ds)
			if ds.LastSeen.After(r.LastSync) {
				r.LastSync = ds.LastSeen
			}
			if !d.Revoked && ds.LastSeen.Before(staleBefore) {
				msg := fmt.Sprintf("device %s (%s) has not synced for %d days", d.ID.Short(), d.Name, stale)
				if ds.LastSeen.IsZero() {
					msg = fmt.Sprintf("device %s (%s) has never synced", d.ID.Short(), d.Name)
				}
				r.Warnings = append(r.Warnings, report.Warning{Kind: report.WarnNotSynced, Message: msg})
			}
		}
		for _, r := range rows {
			if n := r.Cases.Overdue; n > 0 {
				r.Warnings = append(r.Warnings, report.Warning{Kind: report.WarnCaseOverdue,
					Message: fmt.Sprintf("%d of %d open complaints and objections past their deadline", n, r.Cases.Open)})
			}
		}
		b := tx.Bucket(bSnapshots)
		for o, r := range rows {
			if err := putSnapshotOnce(b, o, today, snapshot{Open: r.Tally.Open, Overdue: r.Tally.Overdue}); err != nil {
				return err
			}
			old, date, ok, err := snapshotBefore(b, o, today.AddDays(-30))
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			r.BeforeDate = date
			r.OverdueShareBefore = old.share()
			if r.OverdueShare != nil && *r.OverdueShare > 0 && (r.OverdueShareBefore == nil || *r.OverdueShare > *r.OverdueShareBefore) {
				before := 0.0
				if r.OverdueShareBefore != nil {
					before = *r.OverdueShareBefore
				}
				r.Warnings = append(r.Warnings, report.Warning{Kind: report.WarnOverdueRising,
					Message: fmt.Sprintf("overdue share %.0f%%, was %.0f%% on %s", 100**r.OverdueShare, 100*before, date)})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	ov := &report.Overview{County: s.id.County, Today: today, StaleDays: stale, Rows: []report.OverviewRow{}}
	codes := make([]office.Code, 0, len(rows))
	for o := range rows {
		codes = append(codes, o)
	}
	slices.Sort(codes)
	for _, o := range codes {
		r := rows[o]
		slices.SortFunc(r.Devices, func(a, b report.DeviceSeen) int { return slices.Compare(a.Device[:], b.Device[:]) })
		ov.Warnings += len(r.Warnings)
		ov.Rows = append(ov.Rows, *r)
	}
	return ov, nil
}

func putSnapshotOnce(b *bolt.Bucket, o office.Code, d calendar.Date, sn snapshot) error {
	k := snapshotKey(o, d)
	if b.Get(k) != nil {
		return nil // the first overview of the day keeps its snapshot
	}
	v, _ := json.Marshal(sn)
	return b.Put(k, v)
}

// snapshotBefore returns o's latest snapshot dated on or before d.
func snapshotBefore(b *bolt.Bucket, o office.Code, d calendar.Date) (snapshot, string, bool, error) {
	var sn snapshot
	prefix := []byte(string(o) + "|")
	limit := snapshotKey(o, d)
	c := b.Cursor()
	k, v := c.Seek(limit)
	switch {
	case k != nil && string(k) == string(limit):
	default:
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
	}
	if k == nil || len(k) < len(prefix) || string(k[:len(prefix)]) != string(prefix) {
		return sn, "", false, nil
	}
	if err := json.Unmarshal(v, &sn); err != nil {
		return sn, "", false, err
	}
	return sn, string(k[len(prefix):]), true, nil
}

// Dishonesty returns the county's dishonesty records f selects.
func (s *Server) Dishonesty(f store.DishonestyFilter) ([]store.DishonestyRecord, error) {
	if f.Office == "" {
		f.Office = s.id.County
	}
	out, err := s.st.DishonestyRecords(f)
	if out == nil {
		out = []store.DishonestyRecord{}
	}
	return out, err
}

func (s *Server) adminRoutesMore(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/audit", s.admin(s.serveAudit))
	mux.HandleFunc("GET /admin/overview", s.admin(s.serveOverview))
	mux.HandleFunc("GET /admin/dishonesty", s.admin(s.serveDishonesty))
	s.caseRoutes(mux) // cases.go
	s.yearRoutes(mux) // year.go
}

func (s *Server) serveOverview(w http.ResponseWriter, r *http.Request, _ string) {
	ov, err := s.Overview()
	if err != nil {
		s.writeErr(w, r, http.StatusInternalServerError, err)
		return
	}
	countyapi.WriteJSON(w, http.StatusOK, ov)
}

// serveDishonesty answers GET /admin/dishonesty[?office=CODE][&open=1][&type=T].
func (s *Server) serveDishonesty(w http.ResponseWriter, r *http.Request, _ string) {
	q := r.URL.Query()
	f := store.DishonestyFilter{Office: office.Code(q.Get("office")), Type: domain.DishonestyType(q.Get("type"))}
	f.OpenOnly, _ = strconv.ParseBool(q.Get("open"))
	if f.Office != "" && !s.id.County.Contains(f.Office) {
		s.writeErr(w, r, http.StatusBadRequest, fmt.Errorf("%w: office %s is not in county %s", protocol.ErrOutOfScope, f.Office, s.id.County))
		return
	}
	recs, err := s.Dishonesty(f)
	if err != nil {
		s.writeErr(w, r, http.StatusInternalServerError, err)
		return
	}
	countyapi.WriteJSON(w, http.StatusOK, recs)
}
