package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"

	"jiannuo/auth"
)

// Environment variables the commands read.
const (
	envPassword = "JIANNUO_ADMIN_PASSWORD" // the admin password (init, admin commands)
	envAdmin    = "JIANNUO_ADMIN"          // default for -admin
	// envNewPassword is the new password of `admins add`, `admins passwd`
	// and `admins reset` (else typed twice at a prompt); never a flag,
	// which other users could read in the process list.
	envNewPassword = "JIANNUO_NEW_ADMIN_PASSWORD"
)

const defaultDir = "./county-data"

// cli is one invocation: where it reads and writes, and the hooks tests
// use instead of signals and real argon2 costs.
type cli struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger

	// kdf is the argon2id cost of the admin credential made by init and
	// of the admin passwords set later; zero means auth.DefaultParams().
	// Tests use auth.TestParams().
	kdf auth.Params
	// ctx, when set, stops serve instead of SIGINT/SIGTERM.
	ctx context.Context
	// listening, when set, is called with the address serve listens on
	// before it starts accepting.
	listening func(net.Addr)

	in      *bufio.Reader // stdin, buffered once for prompts
	clients []*client     // the admin API clients made, signed out when the command ends
}

// run runs the command line args (without the program name) and returns
// the exit status: 0 on success, 1 on an error, 2 on a usage error.
func run(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	return newCLI(getenv, stdin, stdout, stderr).run(args)
}

func newCLI(getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) *cli {
	return &cli{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr,
		log: slog.New(slog.NewTextHandler(stderr, nil))}
}

// command is one subcommand.
type command struct {
	name    string
	args    string // synopsis after the name
	summary string
	run     func(c *cli, fs *flag.FlagSet, args []string) error
}

var commands = []command{
	{"init", "-county CODE -admin NAME [-hosts H1,H2,…] [-dir DIR] [-json] | -role municipal -trust FILE -name NAME [-dir DIR]",
		"create the county server's identity, TLS certificate and first admin in -dir (or a municipal node's)", (*cli).initCmd},
	{"serve", "[-addr :8443] [-insecure-loopback] [-dir DIR] [-cluster-addr :7946 -join H:P,… [-advertise HOST]] [-case-ack-days 3] [-case-answer-days 15] [-objection-days 15]" +
		" | -role municipal -join H:P,… [-http :8080] [-ops ADDR] [-disclosure-days 1095] [-after-repair keep|withdraw] [-repair-withdraw-days 30]" +
		" [-intake-per-hour 5] [-intake-per-day 20] [-trusted-proxy-header NAME] [-question-key-file FILE]",
		"run the county server (or the municipal node) until SIGINT or SIGTERM", (*cli).serveCmd},
	{"fingerprint", "[-dir DIR] [-json]",
		"print the TLS fingerprint that devices pin", (*cli).fingerprintCmd},
	{"trust-entry", "[-dir DIR]",
		"print this county's line for a municipal node's trust file (county code and key)", (*cli).trustEntryCmd},
	{"enrolments", "[-all] [admin flags]",
		"list pending enrolment requests (-all: every request and its decision)", (*cli).enrolmentsCmd},
	{"approve", "DEVICE [-office CODE] [-admin-device] [admin flags]",
		"approve a pending enrolment after checking the device ID by phone", (*cli).approveCmd},
	{"reject", "DEVICE -reason TEXT [admin flags]",
		"reject a pending enrolment", (*cli).rejectCmd},
	{"devices", "[admin flags]",
		"list enrolled devices", (*cli).devicesCmd},
	{"revoke", "DEVICE -reason TEXT [admin flags]",
		"revoke a device: it can no longer sync", (*cli).revokeCmd},
	{"conflicts", "[admin flags]",
		"list conflicting edits waiting for reconciliation", (*cli).conflictsCmd},
	{"directory", "[-office CODE] [admin flags]",
		"list who each login of the county's offices is: name, role, enabled, who changed it", (*cli).directoryCmd},
	{"incidents", "[-limit N] | prune -before DATE [admin flags]",
		"list refused input (forgeries, forks, out-of-scope writes, wrong passwords), or delete what was last seen before DATE", (*cli).incidentsCmd},
	{"upstream", "add -key HEX -name NAME | list [admin flags]",
		"authorise a municipal node to pull this county's records, or list those authorised", (*cli).upstreamCmd},
}

func (c *cli) usage(w io.Writer) {
	fmt.Fprint(w, `jiannuo-server: 践诺 county aggregation server (县级汇聚服务器) and municipal node (市信用信息综合平台, -role municipal)

usage: jiannuo-server COMMAND [flags] [ARGS]

On the server machine:
`)
	for _, cmd := range commands {
		if cmd.name == "enrolments" {
			fmt.Fprint(w, "\nCounty admin, against a running server (admin API over pinned HTTPS):\n")
		}
		fmt.Fprintf(w, "  %-12s %s\n", cmd.name, cmd.summary)
	}
	fmt.Fprintf(w, `
Admin flags: -dir DIR (pins its tls.crt), -url URL (default %s),
  -fingerprint FP (instead of -dir), -admin NAME (default $%s), -json.
Environment: %s  the admin password (else a prompt on a terminal)
Run "jiannuo-server COMMAND -h" for a command's flags. Exit status: 0 ok, 1 error, 2 usage.
Guide: docs/county-server.md
`, defaultURL, envAdmin, envPassword)
}

// usageError is a mistake in the command line; run prints it with the
// command's synopsis and exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

func (c *cli) run(args []string) int {
	if len(args) == 0 {
		c.usage(c.stderr)
		return 2
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "-help" || name == "--help" {
		c.usage(c.stdout)
		return 0
	}
	var cmd *command
	for i := range commands {
		if commands[i].name == name {
			cmd = &commands[i]
		}
	}
	if cmd == nil {
		fmt.Fprintf(c.stderr, "jiannuo-server: unknown command %q\n\n", name)
		c.usage(c.stderr)
		return 2
	}
	fs := flag.NewFlagSet("jiannuo-server "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: jiannuo-server %s %s\n  %s\n\nflags:\n", name, cmd.args, cmd.summary)
		fs.PrintDefaults()
	}
	err := cmd.run(c, fs, args[1:])
	c.signOut()
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errFlagParse):
		return 2 // the flag package has printed the problem and the usage
	case errors.As(err, &ue):
		fmt.Fprintf(c.stderr, "jiannuo-server %s: %s\nusage: jiannuo-server %s %s\n", name, ue.msg, name, cmd.args)
		return 2
	}
	// Server messages may quote what a device sent: no control characters.
	fmt.Fprintf(c.stderr, "jiannuo-server %s: %s\n", name, clean(err.Error()))
	return 1
}

var errFlagParse = errors.New("flag parse error")

// parse parses flags that may come before, between or after positional
// arguments ("approve DEVICE -office 410324101"), and checks the number of
// positional arguments.
func parse(fs *flag.FlagSet, args []string, positional ...string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errFlagParse
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) != len(positional) {
		if len(positional) == 0 {
			return nil, usagef("unexpected argument %q", pos[0])
		}
		return nil, usagef("want %s", strings.Join(positional, " "))
	}
	return pos, nil
}
