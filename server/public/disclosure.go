package public

import (
	"cmp"
	"slices"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// Publication of government dishonesty records (§四(二)): a record is shown
// from when it was recorded for the disclosure period, as long as the
// commitment it is about is shown; after credit repair it stays, marked
// 已修复, or is taken off some days later, as the city decides; a record
// the county withdrew is never shown again.

// Defaults and values of the disclosure settings (Config).
const (
	DefaultDisclosureDays     = 1095 // three years
	DefaultRepairWithdrawDays = 30
	// AfterRepairKeep shows a repaired record, as 已修复, until its
	// disclosure period ends.
	AfterRepairKeep = "keep"
	// AfterRepairWithdraw takes a repaired record off the page
	// RepairWithdrawDays after the repair.
	AfterRepairWithdraw = "withdraw"
)

// stepWithdrawn is the county's withdrawal of a record (issue #10): a
// withdrawn record is never published. The step is being added to domain
// alongside this page; the page recognises it by its stored value.
const stepWithdrawn domain.DishonestyStep = "withdrawn"

// disclosure holds the settings.
type disclosure struct {
	days         int
	withdraw     bool
	withdrawDays int
}

func newDisclosure(cfg *Config) disclosure {
	d := disclosure{days: cfg.DisclosureDays, withdrawDays: cfg.RepairWithdrawDays}
	if d.days <= 0 {
		d.days = DefaultDisclosureDays
	}
	if d.withdrawDays <= 0 {
		d.withdrawDays = DefaultRepairWithdrawDays
	}
	switch cfg.AfterRepair {
	case "", AfterRepairKeep:
	case AfterRepairWithdraw:
		d.withdraw = true
	default:
		panic("public.New: Config.AfterRepair is " + cfg.AfterRepair + `, want "keep" or "withdraw"`)
	}
	return d
}

// pubRecord is a published dishonesty record with what the page says of
// it.
type pubRecord struct {
	rec      store.DishonestyRecord
	c        store.Commitment // the commitment it is about (shown)
	recorded calendar.Date    // in China
	repaired calendar.Date    // zero until credit repair
	lastDay  calendar.Date    // the last day it is published
}

func (p *pubRecord) ref() store.Ref { return store.Ref{Office: p.rec.Office, ID: p.rec.ID} }

// chinaDay is the civil date in China of a stamp.
func chinaDay(t protocol.HLC) calendar.Date { return domain.ChinaDate(t.Wall().UnixMilli()) }

// published returns the record as published on the day today, or false.
func (h *handler) published(r store.DishonestyRecord, snap *snapshot, today calendar.Date) (*pubRecord, bool) {
	it := snap.refs[r.Commitment]
	if it == nil || !r.Recorded {
		return nil, false
	}
	p := &pubRecord{rec: r, c: it.c, recorded: chinaDay(r.RecordedAt)}
	for _, e := range r.History {
		switch e.Step {
		case stepWithdrawn:
			return nil, false
		case domain.StepRepaired:
			if p.repaired.IsZero() {
				p.repaired = chinaDay(e.HLC)
			}
		}
	}
	p.lastDay = p.recorded.AddDays(h.disc.days - 1)
	if h.disc.withdraw && !p.repaired.IsZero() {
		if end := p.repaired.AddDays(h.disc.withdrawDays - 1); end.Before(p.lastDay) {
			p.lastDay = end
		}
	}
	if today.After(p.lastDay) {
		return nil, false
	}
	return p, true
}

// publishedRecord reads one published record, or errHidden /
// store.ErrNotFound.
func (h *handler) publishedRecord(rk store.Ref) (*pubRecord, error) {
	r, err := h.st.DishonestyRecord(rk.Office, rk.ID)
	if err != nil {
		return nil, err
	}
	snap, err := h.idx.get()
	if err != nil {
		return nil, err
	}
	p, ok := h.published(r, snap, h.today())
	if !ok {
		return nil, errHidden
	}
	return p, nil
}

// publishedRecords returns the published records f selects, most recently
// recorded first.
func (h *handler) publishedRecords(f store.DishonestyFilter) ([]*pubRecord, error) {
	snap, err := h.idx.get()
	if err != nil {
		return nil, err
	}
	rs, err := h.st.DishonestyRecords(f)
	if err != nil {
		return nil, err
	}
	today := h.today()
	var out []*pubRecord
	for _, r := range rs {
		if p, ok := h.published(r, snap, today); ok {
			out = append(out, p)
		}
	}
	slices.SortStableFunc(out, func(a, b *pubRecord) int {
		if c := cmp.Compare(b.rec.RecordedAt, a.rec.RecordedAt); c != 0 {
			return c
		}
		return cmpRef(&item{c: store.Commitment{Ref: a.ref()}}, &item{c: store.Commitment{Ref: b.ref()}})
	})
	return out, nil
}

func fmtDate(d calendar.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}
