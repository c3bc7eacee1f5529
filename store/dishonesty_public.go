package store

import (
	"slices"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// DishonestyPublication is what the public may see of a dishonesty record
// (the page /d/{office}/{id} and the JSON feed), as Public derives it: the
// facts as corrected, the steps of the county that are public, and the
// files they cite. Never what the township submitted and the county has
// not accepted, never a return, never the names of county staff.
type DishonestyPublication struct {
	Office     office.Code           `json:"office"`
	ID         protocol.EntityID     `json:"id"`
	Commitment Ref                   `json:"commitment"`
	Type       domain.DishonestyType `json:"type"`
	Official   string                `json:"official"`
	Deadline   string                `json:"deadline,omitempty"` // rectification deadline, YYYY-MM-DD
	// Facts are the facts as last corrected (the original ones are not
	// published once corrected); Corrected says they were.
	Facts     string `json:"facts"`
	Corrected bool   `json:"corrected,omitempty"`
	// Explanation is the written explanation the county holds.
	Explanation string `json:"explanation,omitempty"`
	// Status is the furthest progress step; Repaired says credit was
	// repaired (shown as 已修复).
	Status   domain.DishonestyStep `json:"status"`
	Repaired bool                  `json:"repaired,omitempty"`
	// RecordedOn and RepairedOn are days in China; LastDay is the last day
	// the record is shown (Disclosure.LastDay).
	RecordedOn calendar.Date `json:"recorded_on"`
	RepairedOn calendar.Date `json:"repaired_on,omitzero"`
	LastDay    calendar.Date `json:"last_day"`
	// Sanctions and Mitigation as the record holds them (Detail: the
	// measure, the mitigation). Author is left empty.
	Sanctions  []DishonestyAction `json:"sanctions,omitempty"`
	Mitigation *DishonestyAction  `json:"mitigation,omitempty"`
	// Steps are the public steps, oldest first.
	Steps []PublicDishonestyStep `json:"steps"`
	// Evidence is every file the public steps cite, sorted, no repeats:
	// the files a public page may serve for this record.
	Evidence []protocol.Hash `json:"evidence,omitempty"`
}

// PublicDishonestyStep is one public step of a record: its recording, an
// accepted explanation or rectification, a sanction, a mitigation, a
// correction, credit repair.
type PublicDishonestyStep struct {
	Step domain.DishonestyStep `json:"step"`
	On   calendar.Date         `json:"on"` // the day in China
	// Time is when it was taken: the wall clock of its stamp.
	Time time.Time `json:"time"`
	// Reason is why the step was taken; for the recording, the facts as
	// corrected.
	Reason string `json:"reason"`
	// Detail is a sanction's measure or a mitigation; empty for a
	// correction (its facts are the publication's Facts).
	Detail      string          `json:"detail,omitempty"`
	Explanation string          `json:"explanation,omitempty"` // explained
	Evidence    []protocol.Hash `json:"evidence,omitempty"`
}

// publicSteps are the steps the public sees.
var publicSteps = []domain.DishonestyStep{domain.StepRecorded, domain.StepExplained, domain.StepRectified,
	domain.StepRepaired, domain.StepSanctioned, domain.StepMitigated, domain.StepCorrected}

// Public says whether the record is published on the day today under the
// disclosure settings d (zero values: domain's defaults), and what of it:
// not before it fully arrived, never once withdrawn, not after
// d.LastDay(recorded, repaired). r must come from the queries
// (DishonestyRecords, DishonestyRecord), which fill its History: the steps
// and the day of repair are read from it.
func (r *DishonestyRecord) Public(d domain.Disclosure, today calendar.Date) (DishonestyPublication, bool) {
	if !r.Recorded || r.Withdrawn != nil {
		return DishonestyPublication{}, false
	}
	p := DishonestyPublication{Office: r.Office, ID: r.ID, Commitment: r.Commitment, Type: r.Type, Official: r.Official,
		Deadline: r.Deadline, Facts: r.Reason, Corrected: len(r.Corrections) > 0, Explanation: r.Explanation,
		Status: r.Status, Repaired: r.Status == domain.StepRepaired, RecordedOn: dayOf(r.RecordedAt)}
	for _, e := range r.History {
		if !slices.Contains(publicSteps, e.Step) {
			continue
		}
		s := PublicDishonestyStep{Step: e.Step, On: dayOf(e.HLC), Time: e.HLC.Wall(), Reason: e.Reason, Detail: e.Detail, Evidence: e.Evidence}
		switch e.Step {
		case domain.StepRecorded:
			s.Reason = r.Reason
		case domain.StepCorrected:
			s.Detail = ""
		case domain.StepRepaired:
			if p.RepairedOn.IsZero() {
				p.RepairedOn = s.On
			}
		}
		if e.Step.Rank() > 0 {
			s.Explanation = e.Explanation
		}
		p.Steps = append(p.Steps, s)
		p.Evidence = append(p.Evidence, e.Evidence...)
	}
	if p.Repaired && p.RepairedOn.IsZero() {
		// Without its history the last change is the latest the repair
		// can have been: the record is not shown for longer than it may.
		p.RepairedOn = dayOf(r.UpdatedAt)
	}
	p.LastDay = d.LastDay(p.RecordedOn, p.RepairedOn)
	if today.After(p.LastDay) {
		return DishonestyPublication{}, false
	}
	p.Evidence = protocol.SortHashes(p.Evidence)
	for _, a := range r.Sanctions {
		a.Author = ""
		p.Sanctions = append(p.Sanctions, a)
	}
	if m := r.Mitigation; m != nil {
		c := *m
		c.Author = ""
		p.Mitigation = &c
	}
	return p, true
}

// dayOf is the day in China of a stamp.
func dayOf(h protocol.HLC) calendar.Date { return domain.ChinaDate(h.Wall().UnixMilli()) }
