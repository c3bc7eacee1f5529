package vm

import (
	"slices"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// Actions are what the signed-in user may do with a commitment now, from
// their role, its status and its conflicts. A screen shows a button for
// each true field; the store checks again when it is pressed.
type Actions struct {
	Edit            bool // change the content in place (drafts)
	Publish         bool // draft → published (leader)
	Amend           bool // change published content with a reason (leader)
	Withdraw        bool // withdraw, with its legal basis (leader)
	Start           bool // published → in progress
	Close           bool // close as fulfilled, on time or late as the deadline says (leader)
	PartlyFulfilled bool // close as partly fulfilled, with a reason (leader)
	Breach          bool // confirm a breach, with a reason (county admin device)
	Log             bool // log fulfilment with evidence
}

// Any reports whether any action is allowed.
func (a Actions) Any() bool { return a != Actions{} }

// ActionsFor returns what a user with role (on a county-admin device if
// admin) may do with c: transitions the state machine allows that role,
// none while the status itself is conflicted; editing or amending while
// the status allows it (conflicted content fields are refused one by one,
// see Detail.Locked); logging fulfilment while it is open or partly
// fulfilled. Closed and withdrawn commitments allow nothing.
func ActionsFor(c *store.Commitment, role domain.Role, admin bool) Actions {
	var a Actions
	if !slices.Contains(c.Conflicted, domain.FieldStatus) {
		for _, to := range domain.NextStatuses(c.Status, role) {
			switch to {
			case domain.StatusPublished:
				a.Publish = true
			case domain.StatusInProgress:
				a.Start = true
			case domain.StatusFulfilledOnTime, domain.StatusFulfilledLate:
				a.Close = true
			case domain.StatusPartlyFulfilled:
				a.PartlyFulfilled = true
			case domain.StatusBreached:
				a.Breach = admin
			case domain.StatusWithdrawn:
				a.Withdraw = true
			}
		}
	}
	a.Edit = domain.Editable(c.Status)
	a.Amend = domain.Amendable(c.Status) && role.AtLeast(domain.RoleLeader)
	a.Log = c.Status.Open() || c.Status == domain.StatusPartlyFulfilled
	return a
}

// Detail is everything the detail screen shows of one commitment.
type Detail struct {
	C            store.Commitment // the commitment as this replica sees it
	Due          domain.Due       // where it stands against its deadline today
	DueText      Message          // overdue by N days, N working days left, …
	DeadlineText Message          // the deadline as promised, with its computed date
	// History is every version of every field, oldest first.
	History    []store.Version
	Amendments []store.Amendment // oldest first, each with its reason
	Entries    []store.Entry     // fulfilment timeline, in the order made
	// Evidence describes every file the entries cite (one record per
	// operation that added it; the first is the one to show).
	Evidence map[protocol.Hash][]store.Evidence
	// Here reports which evidence files' content is on this device (the
	// rest are still to be fetched by sync).
	Here      map[protocol.Hash]bool
	Conflicts []store.Conflict // this commitment's conflicted fields, both values
	// Locked are the fields awaiting reconciliation, not to be edited.
	Locked map[domain.Field]bool
	// Confirmed: the county has acknowledged the newest operation on the
	// commitment. ConfirmedAt is when it committed it, from its receipt
	// (zero when the receipt is not kept or came from another device).
	Confirmed   bool
	ConfirmedAt time.Time
	Actions     Actions // what the signed-in user may do with it now
	// People tells the person behind each author login (Who).
	People *store.People
}

// CloseWarning is what to add to the question before closing a
// commitment as fulfilled when its latest entry says the work is not done
// ("最近一次记录的进度为 40%"); ok is false when it is at 100 %.
func CloseWarning(c *store.Commitment) (m Message, ok bool) {
	if c.Progress >= 100 {
		return Message{}, false
	}
	return Msg("ui.close.progress_warning", c.Progress), true
}

// Who names the author of operation op for the screen: the person's name
// from the office's account directory with the login, "王芳（wangfang）",
// or the login alone when the directory does not know it.
func (d *Detail) Who(op protocol.OpID, author string) string { return d.People.Who(op.Device, author) }

// Name is how the detail's timeline names the author of operation op: the
// person's name alone ("王芳"), or the login when nobody knows the name.
func (d *Detail) Name(op protocol.OpID, author string) string {
	return d.People.Name(op.Device, author)
}

// LoadDetail reads one commitment and everything about it for the
// signed-in user of se, with its due state on day today.
func LoadDetail(se *store.Session, ref store.Ref, today calendar.Date, cal *calendar.Calendar) (*Detail, error) {
	if cal == nil {
		cal = calendar.Default()
	}
	s := se.Store()
	c, err := s.Commitment(ref)
	if err != nil {
		return nil, err
	}
	d := &Detail{C: c, Evidence: map[protocol.Hash][]store.Evidence{}, Here: map[protocol.Hash]bool{}, Locked: map[domain.Field]bool{}}
	start, dl := c.Start(), c.DeadlineValue()
	d.Due = domain.ComputeDue(c.Status, start, dl, today, cal)
	d.DueText = DueMessage(d.Due)
	d.DeadlineText = DeadlineMessage(dl, start, cal)
	if d.History, err = s.History(ref); err != nil {
		return nil, err
	}
	if d.People, err = s.People(); err != nil {
		return nil, err
	}
	if d.Amendments, err = s.Amendments(ref); err != nil {
		return nil, err
	}
	if d.Entries, err = s.Entries(ref); err != nil {
		return nil, err
	}
	for _, e := range d.Entries {
		for _, h := range e.Evidence {
			if _, ok := d.Evidence[h]; ok {
				continue
			}
			meta, err := s.EvidenceMeta(h)
			if err != nil {
				return nil, err
			}
			d.Evidence[h] = meta
			if d.Here[h], err = s.HasEvidence(h); err != nil {
				return nil, err
			}
		}
	}
	if c.IsConflicted() {
		all, err := s.Conflicts()
		if err != nil {
			return nil, err
		}
		for _, x := range all {
			if x.Ref == ref {
				d.Conflicts = append(d.Conflicts, x)
				d.Locked[x.Field] = true
			}
		}
		for _, f := range c.Conflicted {
			d.Locked[f] = true
		}
	}
	if err := d.confirmation(s); err != nil {
		return nil, err
	}
	d.Actions = ActionsFor(&c, se.Account().Role, se.Device().Admin)
	if d.People, err = s.People(); err != nil {
		return nil, err
	}
	return d, nil
}

// confirmation finds the newest operation on the commitment and whether
// the county has acknowledged it.
func (d *Detail) confirmation(s *store.Store) error {
	var newest protocol.OpID
	var at protocol.HLC
	later := func(h protocol.HLC, op protocol.OpID) {
		if h > at || (h == at && op.Compare(newest) > 0) {
			at, newest = h, op
		}
	}
	for _, v := range d.History {
		later(v.HLC, v.Op)
	}
	for _, e := range d.Entries {
		later(e.HLC, e.Op)
	}
	if at == 0 {
		return nil
	}
	conf, err := s.OpConfirmation(newest)
	if err != nil {
		return err
	}
	d.Confirmed = conf.Confirmed
	if conf.Receipt != nil {
		d.ConfirmedAt = receiptTime(s, conf.Receipt)
	}
	return nil
}

// receiptTime decodes when the county committed a change set from its
// receipt, checked with the county key saved at enrolment; zero if it
// cannot be read.
func receiptTime(s *store.Store, receipt []byte) time.Time {
	set, ok, err := s.SyncSettings()
	if err != nil || !ok || len(set.CountyKey) == 0 {
		return time.Time{}
	}
	rc, err := protocol.OpenReceipt(receipt, set.CountyKey)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(rc.Time)
}

// ConfirmedText describes the county's acknowledgement for the detail
// screen: "县级平台已于 <time> 确认", "已确认", or "尚未经县级平台确认".
func (d *Detail) ConfirmedText() Message {
	switch {
	case d.Confirmed && !d.ConfirmedAt.IsZero():
		return Msg("ui.detail.confirmed_at", d.ConfirmedAt.Format("2006-01-02 15:04"))
	case d.Confirmed:
		return Msg("ui.detail.confirmed")
	}
	return Msg("ui.detail.unconfirmed")
}

// Close closes a commitment as fulfilled on day on: on time or late as its
// deadline says, and late from partly fulfilled, the only way the state
// machine allows from there (leaders).
func Close(se *store.Session, ref store.Ref, on calendar.Date, cal *calendar.Calendar) error {
	if cal == nil {
		cal = calendar.Default()
	}
	c, err := se.Store().Commitment(ref)
	if err != nil {
		return err
	}
	if c.Status == domain.StatusPartlyFulfilled {
		return se.Transition(ref, domain.StatusFulfilledLate, "")
	}
	return se.CloseFulfilled(ref, on, cal)
}
