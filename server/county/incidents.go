package county

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// Incidents: everything the server refused, for the county admin. A flood
// of refusals must not grow the database or the log without bound, so
// incidents are counted, not stored one by one:
//
//   - A source is the device (or municipal node) of an authenticated
//     session, else the client's address (an IPv4 address, an IPv6 /64).
//   - Within IncidentWindow, the refusals of one source with one code are
//     one group. Its first few distinct refusals (device, sequence number
//     and message) are a record each; later ones of the same kind add to
//     their record's count and last-seen time, and any further kind adds to
//     one record for them all. So a flood from one source costs a handful
//     of records per window, however long it lasts.
//   - At most IncidentSources groups are counted at once; refusals from
//     further sources are counted together under one source.
//   - Every string from outside is cut to a bound before it is stored or
//     logged.
//
// A new record is written at once; counts are written at most every
// IncidentFlush, and before incidents are read, acknowledged or pruned,
// and when the server stops. A crash loses at most that much counting.

// Bounds on what one incident keeps of its input.
const (
	maxIncidentMessage = 512 // bytes of the message
	maxIncidentRemote  = 64  // bytes of the remote address
	// maxVariants is how many distinct refusals of one group get a
	// record of their own.
	maxVariants = 4
	// Incident pages: the default and the largest.
	defaultIncidentPage = 100
	maxIncidentPage     = 1000
)

// overflowSource stands for the sources beyond IncidentSources.
const overflowSource = "other"

// AuditPruneIncidents is the audit action of pruning old incidents;
// Detail says the date and how many went.
const AuditPruneIncidents = "prune_incidents"

// clip cuts s to at most n bytes of valid UTF-8 without control
// characters, saying how long it was when it had to cut.
func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s[:min(len(s), 4*n)], "?"))
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(cut)"
}

type groupKey struct {
	source string
	code   protocol.Code
}

// incidentGroup is the refusals of one source and code in one window.
type incidentGroup struct {
	opened   time.Time
	variants map[[32]byte]*openIncident
	overflow *openIncident // the kinds beyond maxVariants, together
}

// openIncident is a record still counting.
type openIncident struct {
	key    []byte // in bIncidents
	in     countyapi.Incident
	dirty  bool // counted since it was last written
	stored bool // written at least once
}

// incidentLog counts incidents and writes them.
type incidentLog struct {
	st         *store.Store
	now        func() time.Time
	log        *slog.Logger
	window     time.Duration
	maxSources int
	every      time.Duration

	flushMu sync.Mutex // one writer at a time; held while reading flushed state

	mu      sync.Mutex
	groups  map[groupKey]*incidentGroup
	retired []*openIncident // of groups whose window ended before they were written
	seq     uint64          // of the last key handed out
	armed   bool            // a flush of counts is due
	wake    chan struct{}
	done    chan struct{}
	stopped chan struct{}
}

func newIncidentLog(st *store.Store, cfg *Config, log *slog.Logger) (*incidentLog, error) {
	l := &incidentLog{st: st, now: cfg.Now, log: log, window: cfg.IncidentWindow, maxSources: cfg.IncidentSources,
		every: cfg.IncidentFlush, groups: make(map[groupKey]*incidentGroup), wake: make(chan struct{}, 1),
		done: make(chan struct{}), stopped: make(chan struct{})}
	err := st.View(func(tx *bolt.Tx) error {
		l.seq = tx.Bucket(bIncidents).Sequence()
		return nil
	})
	if err != nil {
		return nil, err
	}
	go l.run()
	return l, nil
}

func (l *incidentLog) run() {
	defer close(l.stopped)
	for {
		select {
		case <-l.done:
			l.flush()
			return
		case <-l.wake:
			l.flush()
		}
	}
}

func (l *incidentLog) kick() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// close writes what is counted and stops the writer.
func (l *incidentLog) close() {
	close(l.done)
	<-l.stopped
}

// record counts one incident from source.
func (l *incidentLog) record(in countyapi.Incident, source string) {
	now := l.now()
	if in.Time.IsZero() {
		in.Time = now
	}
	in.ID, in.Count, in.LastSeen = "", 1, in.Time
	in.Message = clip(in.Message, maxIncidentMessage)
	in.Remote = clip(in.Remote, maxIncidentRemote)

	l.mu.Lock()
	gk := groupKey{source, in.Code}
	g := l.groups[gk]
	if g != nil && now.Sub(g.opened) >= l.window {
		l.retire(gk, g)
		g = nil
	}
	if g == nil && len(l.groups) >= l.maxSources {
		l.expire(now)
		if len(l.groups) >= l.maxSources {
			gk.source = overflowSource
			if g = l.groups[gk]; g != nil && now.Sub(g.opened) >= l.window {
				l.retire(gk, g)
				g = nil
			}
		}
	}
	if gk.source == overflowSource {
		in.Message = clip("from more sources than are counted apart: "+in.Message, maxIncidentMessage)
	}
	if g == nil {
		g = &incidentGroup{opened: now, variants: make(map[[32]byte]*openIncident)}
		l.groups[gk] = g
	}
	fp := fingerprint(in)
	o, isNew := g.variants[fp], false
	switch {
	case o != nil:
	case len(g.variants) < maxVariants:
		o, isNew = l.open(in), true
		g.variants[fp] = o
	case g.overflow != nil:
		o = g.overflow
	default:
		in.Message = clip("several kinds of refusal; the first of them: "+in.Message, maxIncidentMessage)
		o, isNew = l.open(in), true
		g.overflow = o
	}
	if !isNew {
		o.in.Count++
		o.in.LastSeen = in.Time
	}
	o.dirty = true
	arm := !isNew && !l.armed
	if arm {
		l.armed = true
	}
	l.mu.Unlock()

	if isNew {
		l.log.Warn("incident", "device", in.Device, "code", string(in.Code), "message", in.Message, "remote", in.Remote)
		l.kick()
	} else if arm {
		time.AfterFunc(l.every, l.kick)
	}
}

// open makes the record of a new kind; l.mu is held.
func (l *incidentLog) open(in countyapi.Incident) *openIncident {
	l.seq++
	k := binary.BigEndian.AppendUint64(nil, uint64(in.Time.UnixMilli()))
	return &openIncident{key: binary.BigEndian.AppendUint64(k, l.seq), in: in}
}

// fingerprint tells kinds of refusal apart within a group.
func fingerprint(in countyapi.Incident) [32]byte {
	h := sha256.New()
	h.Write(in.Device[:])
	h.Write(binary.BigEndian.AppendUint64(nil, in.Seq))
	h.Write([]byte(in.Message))
	return [32]byte(h.Sum(nil))
}

// retire drops a group whose window ended, keeping what it has not
// written yet; l.mu is held.
func (l *incidentLog) retire(gk groupKey, g *incidentGroup) {
	delete(l.groups, gk)
	for _, o := range g.records() {
		if o.dirty {
			l.retired = append(l.retired, o)
		}
	}
}

// expire retires every group whose window ended; l.mu is held.
func (l *incidentLog) expire(now time.Time) {
	for gk, g := range l.groups {
		if now.Sub(g.opened) >= l.window {
			l.retire(gk, g)
		}
	}
}

func (g *incidentGroup) records() []*openIncident {
	out := make([]*openIncident, 0, len(g.variants)+1)
	for _, o := range g.variants {
		out = append(out, o)
	}
	if g.overflow != nil {
		out = append(out, g.overflow)
	}
	return out
}

// flush writes what was counted since the last flush.
func (l *incidentLog) flush() error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	return l.flushLocked()
}

// flushLocked is flush with l.flushMu held.
func (l *incidentLog) flushLocked() error {
	type write struct {
		o  *openIncident
		in countyapi.Incident
	}
	var batch []write
	l.mu.Lock()
	l.expire(l.now())
	take := func(o *openIncident) {
		if o.dirty {
			o.dirty = false
			batch = append(batch, write{o, o.in})
		}
	}
	for _, g := range l.groups {
		for _, o := range g.records() {
			take(o)
		}
	}
	retired := l.retired
	l.retired = nil
	for _, o := range retired {
		take(o)
	}
	seq := l.seq
	l.armed = false
	l.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	err := l.st.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bIncidents)
		for _, w := range batch {
			var old countyapi.Incident
			found, err := getJSON(tx, bIncidents, w.o.key, &old)
			if err != nil {
				return err
			}
			if found { // keep what else happened to it (an acknowledgement)
				old.Count, old.LastSeen = w.in.Count, w.in.LastSeen
				w.in = old
			}
			if err := putJSON(tx, bIncidents, w.o.key, w.in); err != nil {
				return err
			}
		}
		return b.SetSequence(max(b.Sequence(), seq))
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, w := range batch {
		if err != nil {
			w.o.dirty = true
		} else {
			w.o.stored = true
		}
	}
	if err != nil {
		l.retired = append(l.retired, retired...)
		l.log.Error("recording incidents", "err", err, "records", len(batch))
	}
	return err
}

// forget stops counting into the records whose keys drop says, so the
// next refusal of their kind opens a new one; l.flushMu is held.
func (l *incidentLog) forget(drop func(key []byte) bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for gk, g := range l.groups {
		for fp, o := range g.variants {
			if drop(o.key) {
				delete(g.variants, fp)
			}
		}
		if g.overflow != nil && drop(g.overflow.key) {
			g.overflow = nil
		}
		if len(g.variants) == 0 && g.overflow == nil {
			delete(l.groups, gk)
		}
	}
}

// incident records refused input from an unauthenticated client (a
// hello, an enrolment request, an admin credential), counted by its
// address.
func (s *Server) incident(in countyapi.Incident) {
	s.incidents.record(in, "addr:"+addrString(addrKey(in.Remote)))
}

// deviceIncident records refused input in an authenticated session,
// counted by the device (or municipal node) in.Device.
func (s *Server) deviceIncident(in countyapi.Incident) {
	if in.Device.IsZero() {
		s.incident(in)
		return
	}
	s.incidents.record(in, "device:"+in.Device.String())
}

// incidentID is the ID of the incident stored under key k.
func incidentID(k []byte) string { return hex.EncodeToString(k) }

// incidentKey parses an incident ID back into its key.
func incidentKey(id string) ([]byte, bool) {
	k, err := hex.DecodeString(id)
	return k, err == nil && len(k) == 16
}

// Incidents returns every recorded incident, newest first (by when each
// was first seen).
func (s *Server) Incidents() ([]countyapi.Incident, error) {
	out, _, err := s.IncidentPage(0, "")
	return out, err
}

// IncidentPage returns up to limit incidents (0: all), newest first,
// starting after the one whose ID is cursor ("" for the newest), and the
// cursor of the next page ("" when there is none).
func (s *Server) IncidentPage(limit int, cursor string) ([]countyapi.Incident, string, error) {
	var after []byte
	if cursor != "" {
		k, ok := incidentKey(cursor)
		if !ok {
			return nil, "", fmt.Errorf("%w: incident cursor %q", protocol.ErrMalformed, clip(cursor, 40))
		}
		after = k
	}
	s.incidents.flush() // counted so far; a failure is logged, the stored ones are still listed
	out := []countyapi.Incident{}
	var next string
	err := s.st.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bIncidents).Cursor()
		var k, v []byte
		if after == nil {
			k, v = c.Last()
		} else if k, _ = c.Seek(after); k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		for ; k != nil; k, v = c.Prev() {
			if limit > 0 && len(out) == limit {
				next = out[len(out)-1].ID
				return nil
			}
			var in countyapi.Incident
			if err := json.Unmarshal(v, &in); err != nil {
				return err
			}
			in.ID = incidentID(k)
			out = append(out, in)
		}
		return nil
	})
	return out, next, err
}

// listIncidents is GET /admin/incidents?limit=N&cursor=ID: a page of
// incidents as a JSON array, newest first, and when more follow a Link
// header to the next page (rel="next").
func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request, _ string) {
	q := r.URL.Query()
	limit := defaultIncidentPage
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.writeErr(w, r, http.StatusBadRequest, fmt.Errorf("%w: limit %q", protocol.ErrMalformed, clip(v, 20)))
			return
		}
		limit = min(n, maxIncidentPage)
	}
	in, next, err := s.IncidentPage(limit, q.Get("cursor"))
	if err != nil {
		s.writeErr(w, r, statusFor(err), err)
		return
	}
	if next != "" {
		w.Header().Set("Link", fmt.Sprintf(`</admin/incidents?limit=%d&cursor=%s>; rel="next"`, limit, next))
	}
	countyapi.WriteJSON(w, http.StatusOK, in)
}

// AuditAckIncident is the audit action of an incident acknowledged by a
// county admin; Target is the incident's ID, Detail its code.
const AuditAckIncident = "ack_incident"

// AckIncident records that the admin who acknowledged the incident id
// (countyapi.Incident.ID), with an optional note, and audits it in the same
// transaction. The incident itself is kept as it was; refusals of its kind
// from then on are counted in a new one. Acknowledging it again changes
// nothing and returns the first acknowledgement.
func (s *Server) AckIncident(id, who, note string) (countyapi.Incident, error) {
	k, ok := incidentKey(id)
	if !ok {
		return countyapi.Incident{}, fmt.Errorf("%w: incident ID %q", protocol.ErrMalformed, clip(id, 40))
	}
	if err := domain.CheckText("note", note, domain.MaxShortBytes); err != nil {
		return countyapi.Incident{}, fmt.Errorf("%w: %v", protocol.ErrMalformed, err)
	}
	l := s.incidents
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.flushLocked()
	var in countyapi.Incident
	err := s.st.Update(func(tx *bolt.Tx) error {
		found, err := getJSON(tx, bIncidents, k, &in)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: incident %s", store.ErrNotFound, id)
		}
		if in.Acknowledged {
			return nil
		}
		now := s.cfg.Now()
		in.ID, in.Acknowledged, in.AckedBy, in.AckedAt, in.AckNote = "", true, who, now.UTC(), strings.TrimSpace(note)
		if err := putJSON(tx, bIncidents, k, in); err != nil {
			return err
		}
		return putAudit(tx, countyapi.AuditEntry{Time: now, Who: who, Action: AuditAckIncident, Target: id, Reason: in.AckNote, Detail: string(in.Code)})
	})
	in.ID = id
	if err == nil {
		l.forget(func(key []byte) bool { return bytes.Equal(key, k) })
		s.log.Info("incident acknowledged", "incident", id, "by", who)
	}
	return in, err
}

func (s *Server) ackIncident(w http.ResponseWriter, r *http.Request, who string) {
	var body countyapi.ReasonRequest
	err := readBody(r, &body)
	var in countyapi.Incident
	if err == nil {
		in, err = s.AckIncident(r.PathValue("id"), who, body.Reason)
	}
	if err != nil {
		s.writeErr(w, r, statusFor(err), err)
		return
	}
	countyapi.WriteJSON(w, http.StatusOK, in)
}

// PruneIncidents deletes the incidents last seen before before, whether
// acknowledged or not, and audits it (who, the date, how many) in the same
// transaction. It returns how many it deleted.
func (s *Server) PruneIncidents(before time.Time, who string) (int, error) {
	if before.IsZero() {
		return 0, fmt.Errorf("%w: prune needs a date", protocol.ErrInvalidOperation)
	}
	l := s.incidents
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.flushLocked()
	var gone [][]byte
	err := s.st.Update(func(tx *bolt.Tx) error {
		gone = nil
		b := tx.Bucket(bIncidents)
		err := b.ForEach(func(k, v []byte) error {
			var in countyapi.Incident
			if err := json.Unmarshal(v, &in); err != nil {
				return err
			}
			last := in.LastSeen
			if last.IsZero() {
				last = in.Time
			}
			if last.Before(before) {
				gone = append(gone, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range gone {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return putAudit(tx, countyapi.AuditEntry{Time: s.cfg.Now(), Who: who, Action: AuditPruneIncidents, Target: "incidents",
			Detail: fmt.Sprintf("%d incidents last seen before %s", len(gone), before.UTC().Format(time.RFC3339))})
	})
	if err != nil {
		return 0, err
	}
	deleted := make(map[string]bool, len(gone))
	for _, k := range gone {
		deleted[string(k)] = true
	}
	l.forget(func(key []byte) bool { return deleted[string(key)] })
	s.log.Info("incidents pruned", "before", before, "deleted", len(gone), "by", who)
	return len(gone), nil
}

// pruneIncidents is POST /admin/incidents/prune {"before": "2026-01-01"}:
// the date is a civil date in China Standard Time (or an RFC 3339 time).
func (s *Server) pruneIncidents(w http.ResponseWriter, r *http.Request, who string) {
	var body countyapi.PruneRequest
	err := readBody(r, &body)
	var before time.Time
	if err == nil {
		before, err = countyapi.ParseBefore(body.Before)
	}
	var n int
	if err == nil {
		n, err = s.PruneIncidents(before, who)
	}
	if err != nil {
		s.writeErr(w, r, statusFor(err), err)
		return
	}
	countyapi.WriteJSON(w, http.StatusOK, countyapi.PruneResult{Deleted: n})
}
