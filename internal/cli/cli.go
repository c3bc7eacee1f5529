// Package cli is the offline command-line companion of the 践诺 desktop
// app: it builds and shows the demo data, checks a store file after a crash,
// and computes working-day deadlines.
//
//	jiannuo demo [-dir DIR]       build (or reopen) the demo and print a summary
//	jiannuo check FILE            verify every invariant of a store file
//	jiannuo workdays DATE N       the N-th working day after DATE
//
// Output follows the system locale (zh-Hans by default, English on request,
// or -lang).
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"

	"jiannuo/assets"
	"jiannuo/domain/calendar"
	"jiannuo/store"
)

// Run runs the command line args (without the program name) and returns the
// process exit code: 0 on success, 1 on failure, 2 on a usage error.
func Run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("jiannuo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	lang := fs.String("lang", assets.LocaleFromEnv(), "language of the output: zh-Hans or en")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: jiannuo [-lang zh-Hans|en] demo [-dir DIR] | check FILE | workdays YYYY-MM-DD N")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	tr := assets.NewTranslator(*lang)
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return 2
	}
	var err error
	switch rest[0] {
	case "demo":
		err = runDemo(rest[1:], tr, stdout, stderr)
	case "check":
		err = runCheck(rest[1:], tr, stdout)
	case "workdays":
		err = runWorkdays(rest[1:], tr, stdout)
	default:
		fs.Usage()
		return 2
	}
	if errors.Is(err, errUsage) {
		fs.Usage()
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "jiannuo:", err)
		return 1
	}
	return 0
}

var errUsage = errors.New("usage")

func runCheck(args []string, tr *assets.Translator, out io.Writer) error {
	if len(args) != 1 {
		return errUsage
	}
	s, err := store.Open(args[0], nil)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Check(); err != nil {
		return err
	}
	fmt.Fprintln(out, tr.T("cli.check_ok", args[0]))
	return nil
}

func runWorkdays(args []string, tr *assets.Translator, out io.Writer) error {
	if len(args) != 2 {
		return errUsage
	}
	start, err := calendar.ParseDate(args[0])
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(args[1])
	if err != nil {
		return errUsage
	}
	due, err := calendar.Default().AddWorkingDays(start, n)
	if errors.Is(err, calendar.ErrYearNotCovered) {
		fmt.Fprintln(out, tr.T("cli.workdays_estimate", n, start, due))
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(out, tr.T("cli.workdays", n, start, due))
	return nil
}
