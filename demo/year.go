package demo

import (
	"cmp"
	"slices"

	"jiannuo/domain"
	"jiannuo/store"
)

// seedYear has the county admin urge the township (催办) about its most
// overdue commitment still in progress: the demo opens with the urge's
// banner and the today panel shows it first.
func (d *Demo) seedYear(admin *store.Session) error {
	all, err := admin.Store().AllCommitments()
	if err != nil {
		return err
	}
	type late struct {
		c    store.Commitment
		days int
	}
	var overdue []late
	for _, c := range all {
		if c.Office != Township || c.Status != domain.StatusInProgress {
			continue
		}
		if due := domain.ComputeDue(c.Status, c.Start(), c.DeadlineValue(), d.Today, d.Calendar); due.State == domain.DueOverdue {
			overdue = append(overdue, late{c, due.DaysOverdue})
		}
	}
	if len(overdue) == 0 {
		return nil
	}
	slices.SortStableFunc(overdue, func(a, b late) int { return cmp.Compare(b.days, a.days) })
	_, err = admin.Urge(store.UrgeInput{Commitment: overdue[0].c.Ref,
		Note: "该承诺已逾期，请于本周五前更新践诺记录、上传佐证材料，并说明逾期原因。"})
	return err
}
