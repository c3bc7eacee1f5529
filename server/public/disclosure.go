package public

import (
	"slices"
	"time"

	"jiannuo/domain/calendar"
	"jiannuo/store"
)

// Publication of government dishonesty records (§四(二)). What is shown of
// a record, and until when, is store.DishonestyRecord.Public's to say under
// the city's disclosure settings (domain.Disclosure): the page and the
// feed add only that the commitment it is about must be shown too.

// pubRecord is a published dishonesty record: its publication, the
// commitment it is about (shown) and when it was recorded (to order
// records). Pages and the feed read nothing else of the record, so what
// the township submitted and the county has not accepted, a return, a
// withdrawal and the names of county staff never reach them.
type pubRecord struct {
	store.DishonestyPublication
	c          store.Commitment
	recordedAt time.Time
}

func (p *pubRecord) ref() store.Ref { return store.Ref{Office: p.Office, ID: p.ID} }

// updatedAt is when the publication last changed: its latest public step.
func (p *pubRecord) updatedAt() time.Time {
	t := p.recordedAt
	for _, s := range p.Steps {
		if s.Time.After(t) {
			t = s.Time
		}
	}
	return t
}

// published returns the record as published on the day today, or false:
// its commitment must be shown and the record published by
// store.DishonestyRecord.Public.
func (h *handler) published(r store.DishonestyRecord, snap *snapshot, today calendar.Date) (*pubRecord, bool) {
	it := snap.refs[r.Commitment]
	if it == nil {
		return nil, false
	}
	pub, ok := r.Public(h.disc, today)
	if !ok {
		return nil, false
	}
	return &pubRecord{DishonestyPublication: pub, c: it.c, recordedAt: r.RecordedAt.Wall()}, true
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
		if c := b.recordedAt.Compare(a.recordedAt); c != 0 {
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
