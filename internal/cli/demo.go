package cli

import (
	"flag"
	"fmt"
	"io"
	"slices"

	"jiannuo/assets"
	"jiannuo/demo"
	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/store"
)

// runDemo builds (or reopens) the demo and prints what a township clerk
// would look at first: what is overdue, what is due within five working
// days, and whether the replicas agree.
func runDemo(args []string, tr *assets.Translator, out, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "jiannuo-demo", "directory for the demo's store files")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	d, err := demo.Build(demo.Config{Dir: *dir})
	if err != nil {
		return err
	}
	defer d.Close()

	name := string(demo.Township)
	if _, ok := office.Luoyang().Lookup(demo.Township); ok {
		name = ""
		for _, p := range office.Luoyang().Path(demo.Township) {
			name += p.Name
		}
	}
	fmt.Fprintln(out, tr.T("demo.title", name))
	fmt.Fprintln(out, tr.T("demo.store", demo.TownshipPath(*dir)))
	fmt.Fprintln(out, tr.T("demo.signin", demo.Leader, demo.Passphrase))

	all, err := d.Township.AllCommitments()
	if err != nil {
		return err
	}
	entries := 0
	type due struct {
		c   store.Commitment
		due domain.Due
	}
	var overdue, soon []due
	for _, c := range all {
		entries += c.Entries
		st := domain.ComputeDue(c.Status, c.Start(), c.DeadlineValue(), d.Today, d.Calendar)
		switch st.State {
		case domain.DueOverdue:
			overdue = append(overdue, due{c, st})
		case domain.DueSoon:
			soon = append(soon, due{c, st})
		}
	}
	pending, err := d.Township.Pending()
	if err != nil {
		return err
	}
	fmt.Fprintln(out, tr.T("demo.counts", len(all), entries, pending.OutboxChangeSets))

	byStatus := make(map[domain.Status]int)
	for _, c := range all {
		byStatus[c.Status]++
	}
	for _, s := range domain.Statuses() {
		fmt.Fprintf(out, "  %s %d\n", tr.T("status."+string(s)), byStatus[s])
	}

	slices.SortFunc(overdue, func(a, b due) int { return b.due.DaysOverdue - a.due.DaysOverdue })
	fmt.Fprintln(out, tr.T("demo.overdue"))
	for _, o := range overdue {
		fmt.Fprintf(out, "  [%s] %s — %s, %s\n", tr.T("category."+string(o.c.Category)), o.c.Title, o.c.Responsible, tr.T("due.overdue", o.due.DaysOverdue))
	}
	slices.SortFunc(soon, func(a, b due) int { return a.due.WorkdaysLeft - b.due.WorkdaysLeft })
	fmt.Fprintln(out, tr.T("demo.due_soon"))
	for _, o := range soon {
		fmt.Fprintf(out, "  [%s] %s — %s, %s\n", tr.T("category."+string(o.c.Category)), o.c.Title, o.c.Responsible, tr.T("due.soon", o.due.WorkdaysLeft))
	}

	conflicts, err := d.Township.Conflicts()
	if err != nil {
		return err
	}
	fmt.Fprintln(out, tr.T("demo.conflicts", len(conflicts)))

	same := tr.T("demo.no")
	a, errA := d.Township.Digest()
	b, errB := d.Colleague.Digest()
	c, errC := d.County.Digest()
	if errA == nil && errB == nil && errC == nil && a == b && b == c {
		same = tr.T("demo.yes")
	}
	heads, err := d.Township.Heads()
	if err != nil {
		return err
	}
	sets := 0
	for _, h := range heads {
		sets += int(h.Seq)
	}
	fmt.Fprintln(out, tr.T("demo.verified", sets, same))
	return d.Township.Check()
}
