package municipal

import (
	"cmp"
	"maps"
	"slices"
	"sync"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/store"
)

// City statistics (§五(七): how offices keep their commitments counts in
// their assessment; §三(四): monitoring per county; §四: dishonesty
// records), computed from the city replica with domain.ComputeDue and the
// official calendar, on the day Config.Now gives in China Standard Time.
//
// Drafts are left out (they are not commitments yet). Everything else
// counts, whether or not its public flag is set: the statistics are
// counts, and a breach record shows the title, the responsible official
// and the reason only for a public commitment. Government dishonesty
// records (store.DishonestyRecords) are counted by county, type and step.

// cst is China Standard Time; China has no daylight saving time, so a fixed
// zone is exact and needs no tzdata.
var cst = time.FixedZone("CST", 8*3600)

// Counts summarise a set of commitments.
type Counts struct {
	// Commitments counts every published commitment (not drafts).
	Commitments int `json:"commitments"`
	// Open are published or in progress; Overdue of them are past their
	// deadline today; DueSoon are due within domain.DueSoonWorkdays
	// working days.
	Open    int `json:"open"`
	Overdue int `json:"overdue"`
	DueSoon int `json:"due_soon"`
	// The closed ones by outcome, and withdrawn ones.
	FulfilledOnTime int `json:"fulfilled_on_time"`
	FulfilledLate   int `json:"fulfilled_late"`
	PartlyFulfilled int `json:"partly_fulfilled"`
	Breached        int `json:"breached"`
	Withdrawn       int `json:"withdrawn"`
	// Closed is on time + late + partly + breached.
	Closed int `json:"closed"`
	// OnTimeRate is FulfilledOnTime / Closed, the on-time fulfilment rate;
	// null while nothing is closed.
	OnTimeRate *float64 `json:"on_time_rate"`
}

func (c *Counts) add(cm *store.Commitment, due domain.Due) {
	c.Commitments++
	switch cm.Status {
	case domain.StatusPublished, domain.StatusInProgress:
		c.Open++
		switch due.State {
		case domain.DueOverdue:
			c.Overdue++
		case domain.DueSoon:
			c.DueSoon++
		}
	case domain.StatusFulfilledOnTime:
		c.FulfilledOnTime++
	case domain.StatusFulfilledLate:
		c.FulfilledLate++
	case domain.StatusPartlyFulfilled:
		c.PartlyFulfilled++
	case domain.StatusBreached:
		c.Breached++
	case domain.StatusWithdrawn:
		c.Withdrawn++
	}
}

func (c *Counts) finish() {
	c.Closed = c.FulfilledOnTime + c.FulfilledLate + c.PartlyFulfilled + c.Breached
	if c.Closed > 0 {
		r := float64(c.FulfilledOnTime) / float64(c.Closed)
		c.OnTimeRate = &r
	}
}

// Stats are the city's figures on one day.
type Stats struct {
	Today      calendar.Date   `json:"today"`
	Generated  time.Time       `json:"generated"`
	City       Counts          `json:"city"`
	Categories []CategoryStats `json:"categories"`
	Counties   []CountyStats   `json:"counties"`
}

// CountyStats are one county's figures, by township and category, with
// its dishonesty records.
type CountyStats struct {
	County office.Code `json:"county"`
	Name   string      `json:"name,omitempty"`
	Counts
	Townships  []TownshipStats `json:"townships"`
	Categories []CategoryStats `json:"categories"`
	// Breaches are the county's commitments a county admin recorded as
	// breached (未践诺).
	Breaches []Breach `json:"breaches"`
	// Dishonesty counts the county's government dishonesty records
	// (政务失信记录, §四): court judgments, penalties, sanctions,
	// accountability decisions and breaches of commitment, by type and by
	// the furthest step reached.
	Dishonesty DishonestyCounts `json:"dishonesty"`
}

// DishonestyCounts summarise dishonesty records.
type DishonestyCounts struct {
	Records int                           `json:"records"`
	Open    int                           `json:"open"` // not yet closed by credit repair
	ByType  map[domain.DishonestyType]int `json:"by_type"`
	ByStep  map[domain.DishonestyStep]int `json:"by_step"`
}

// TownshipStats are one office's figures (a township or street, or the
// county's own commitments).
type TownshipStats struct {
	Office office.Code `json:"office"`
	Name   string      `json:"name,omitempty"`
	Counts
}

// CategoryStats are the figures of one category.
type CategoryStats struct {
	Category domain.Category `json:"category"`
	Counts
}

// Breach is a dishonesty record: a commitment recorded as breached.
type Breach struct {
	Ref        string          `json:"ref"`
	Office     office.Code     `json:"office"`
	OfficeName string          `json:"office_name,omitempty"`
	Category   domain.Category `json:"category"`
	Deadline   calendar.Date   `json:"deadline,omitzero"`
	Recorded   time.Time       `json:"recorded,omitzero"` // when the breach was recorded
	// Public commitments only: what was promised, who answers for it
	// (惩戒到人) and the county's reason.
	Title       string `json:"title,omitempty"`
	Responsible string `json:"responsible,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// statsCache keeps the last figures until the replica or the day changes.
type statsCache struct {
	mu    sync.Mutex
	head  uint64
	today calendar.Date
	stats *Stats
}

// Stats computes the city's figures for today, or returns them from the
// cache if no change set arrived since.
func (n *Node) Stats() (*Stats, error) {
	now := n.cfg.Now()
	today := calendar.DateOf(now.In(cst))
	head, err := n.st.FeedHead()
	if err != nil {
		return nil, err
	}
	n.stats.mu.Lock()
	defer n.stats.mu.Unlock()
	if n.stats.stats != nil && n.stats.head == head && n.stats.today == today {
		return n.stats.stats, nil
	}
	s, err := ComputeStats(n.st, today, n.cfg.Calendar, n.cfg.Directory)
	if err != nil {
		return nil, err
	}
	s.Generated = now.UTC()
	n.stats.head, n.stats.today, n.stats.stats = head, today, s
	return s, nil
}

// ComputeStats computes the figures of a replica on the day today.
func ComputeStats(st *store.Store, today calendar.Date, cal *calendar.Calendar, dir *office.Directory) (*Stats, error) {
	type countyAcc struct {
		cs        *CountyStats
		townships map[office.Code]*TownshipStats
		cats      map[domain.Category]*CategoryStats
	}
	counties := map[office.Code]*countyAcc{}
	cityCats := map[domain.Category]*CategoryStats{}
	out := &Stats{Today: today}
	var breached []store.Commitment
	name := func(c office.Code) string {
		if dir == nil {
			return ""
		}
		if u, ok := dir.Lookup(c); ok {
			return u.Name
		}
		return ""
	}
	err := st.Commitments(func(cm store.Commitment) bool {
		if cm.Status == domain.StatusDraft || cm.Status == "" {
			return true
		}
		start, _ := calendar.ParseDate(cm.StartDate)
		dl, _ := domain.ParseDeadline(cm.Deadline)
		due := domain.ComputeDue(cm.Status, start, dl, today, cal)
		cc := cm.Office.County()
		acc := counties[cc]
		if acc == nil {
			acc = &countyAcc{cs: &CountyStats{County: cc, Name: name(cc)}, townships: map[office.Code]*TownshipStats{},
				cats: map[domain.Category]*CategoryStats{}}
			counties[cc] = acc
		}
		ts := acc.townships[cm.Office]
		if ts == nil {
			ts = &TownshipStats{Office: cm.Office, Name: name(cm.Office)}
			acc.townships[cm.Office] = ts
		}
		cat := acc.cats[cm.Category]
		if cat == nil {
			cat = &CategoryStats{Category: cm.Category}
			acc.cats[cm.Category] = cat
		}
		ccat := cityCats[cm.Category]
		if ccat == nil {
			ccat = &CategoryStats{Category: cm.Category}
			cityCats[cm.Category] = ccat
		}
		for _, c := range []*Counts{&out.City, &acc.cs.Counts, &ts.Counts, &cat.Counts, &ccat.Counts} {
			c.add(&cm, due)
		}
		if cm.Status == domain.StatusBreached {
			breached = append(breached, cm)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	for _, cm := range breached {
		b := Breach{Ref: cm.Ref.String(), Office: cm.Office, OfficeName: name(cm.Office), Category: cm.Category}
		start, _ := calendar.ParseDate(cm.StartDate)
		if dl, err := domain.ParseDeadline(cm.Deadline); err == nil {
			if d, ok, _ := dl.Resolve(start, cal); ok {
				b.Deadline = d
			}
		}
		hist, err := st.FieldHistory(cm.Ref, domain.FieldStatus)
		if err != nil {
			return nil, err
		}
		var reason string
		for _, v := range hist { // oldest first: the last breach wins
			if v.Value == string(domain.StatusBreached) {
				b.Recorded, reason = v.HLC.Wall().UTC(), v.Reason
			}
		}
		if cm.Public {
			b.Title, b.Responsible, b.Reason = cm.Title, cm.Responsible, reason
		}
		acc := counties[cm.Office.County()]
		acc.cs.Breaches = append(acc.cs.Breaches, b)
	}
	records, err := st.DishonestyRecords(store.DishonestyFilter{})
	if err != nil {
		return nil, err
	}
	for _, r := range records {
		if !r.Recorded {
			continue // later steps that overtook the record itself
		}
		cc := r.Office.County()
		acc := counties[cc]
		if acc == nil {
			acc = &countyAcc{cs: &CountyStats{County: cc, Name: name(cc)}, townships: map[office.Code]*TownshipStats{},
				cats: map[domain.Category]*CategoryStats{}}
			counties[cc] = acc
		}
		d := &acc.cs.Dishonesty
		if d.ByType == nil {
			d.ByType, d.ByStep = map[domain.DishonestyType]int{}, map[domain.DishonestyStep]int{}
		}
		d.Records++
		if !r.Closed {
			d.Open++
		}
		d.ByType[r.Type]++
		d.ByStep[r.Status]++
	}
	out.City.finish()
	out.Categories = sortedCategories(cityCats)
	for _, acc := range counties {
		acc.cs.finish()
		for _, ts := range acc.townships {
			ts.finish()
			acc.cs.Townships = append(acc.cs.Townships, *ts)
		}
		slices.SortFunc(acc.cs.Townships, func(a, b TownshipStats) int { return cmp.Compare(a.Office, b.Office) })
		acc.cs.Categories = sortedCategories(acc.cats)
		if acc.cs.Breaches == nil {
			acc.cs.Breaches = []Breach{}
		}
		if acc.cs.Dishonesty.ByType == nil {
			acc.cs.Dishonesty.ByType, acc.cs.Dishonesty.ByStep = map[domain.DishonestyType]int{}, map[domain.DishonestyStep]int{}
		}
		slices.SortFunc(acc.cs.Breaches, func(a, b Breach) int {
			if c := a.Recorded.Compare(b.Recorded); c != 0 {
				return c
			}
			return cmp.Compare(a.Ref, b.Ref)
		})
		out.Counties = append(out.Counties, *acc.cs)
	}
	slices.SortFunc(out.Counties, func(a, b CountyStats) int { return cmp.Compare(a.County, b.County) })
	if out.Counties == nil {
		out.Counties = []CountyStats{}
	}
	return out, nil
}

// sortedCategories lists categories in the domain's display order (the
// fourteen public services first).
func sortedCategories(m map[domain.Category]*CategoryStats) []CategoryStats {
	out := []CategoryStats{}
	for _, c := range domain.Categories() {
		if s := m[c]; s != nil {
			s.finish()
			out = append(out, *s)
			delete(m, c)
		}
	}
	rest := slices.SortedFunc(maps.Values(m), func(a, b *CategoryStats) int { return cmp.Compare(a.Category, b.Category) })
	for _, s := range rest { // unknown categories (a newer build's), last
		s.finish()
		out = append(out, *s)
	}
	return out
}
