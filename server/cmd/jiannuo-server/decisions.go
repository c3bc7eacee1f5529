package main

import (
	"flag"
	"fmt"
	"os"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
)

// Commands for county decisions that reach devices (calendar updates) and
// for settling incidents.

func init() {
	commands = append(commands,
		command{"calendar", "FILE [admin flags]",
			"publish an official holiday schedule (a calendar overlay file, see docs) to every device of the county", (*cli).calendarCmd},
		command{"ack", "INCIDENT-ID -reason TEXT [admin flags]",
			"acknowledge an incident (its ID from `incidents -json`), with a note of what was done", (*cli).ackCmd},
	)
}

func (c *cli) calendarCmd(fs *flag.FlagSet, args []string) error {
	a := c.adminFlags(fs)
	pos, err := parse(fs, args, "FILE")
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	// Checked here too, so a typing error is reported before anything is sent.
	if _, err := calendar.ParseOverlay(raw); err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	cl, err := c.client(a)
	if err != nil {
		return err
	}
	version, err := cl.PublishCalendar(cl.ctx, raw)
	if a.json || err != nil {
		return cl.explain(err)
	}
	fmt.Fprintf(c.stdout, "已发布节假日安排 calendar update published: version %d — devices receive it on their next sync\n", version)
	return nil
}

func (c *cli) ackCmd(fs *flag.FlagSet, args []string) error {
	a := c.adminFlags(fs)
	reason := fs.String("reason", "", "what was done about it (required)")
	pos, err := parse(fs, args, "INCIDENT-ID")
	if err != nil {
		return err
	}
	if !domain.NonBlank(*reason) {
		return usagef("-reason is required: an acknowledgement is recorded with a note")
	}
	cl, err := c.client(a)
	if err != nil {
		return err
	}
	if _, err := cl.AckIncident(cl.ctx, pos[0], *reason); a.json || err != nil {
		return cl.explain(err)
	}
	fmt.Fprintf(c.stdout, "已确认 acknowledged: %s\n", pos[0])
	return nil
}
