package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/assets"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/report"
	"jiannuo/server/county"
	"jiannuo/store"
)

// The printable public notice (公示) from the county's replica: the same
// PDF the desktop app prints (report.WriteNoticePDF), for one township or
// for the whole county with one section per township.

// replicaFile is the county replica's file in the data directory (see
// docs/county-server.md, "Backups").
const replicaFile = "county.db"

func init() {
	// Listed with the commands on the server machine, before the admin
	// commands that need a running server.
	at := slices.IndexFunc(commands, func(c command) bool { return c.name == "enrolments" })
	commands = slices.Insert(commands, max(at, 0), command{"notice",
		"-office CODE | -county [-dir DIR | -db FILE] -o FILE.pdf [-public-url URL] [-date YYYY-MM-DD] [-lang zh|en]",
		"with the server STOPPED (or on a copy of county.db): print the public notice (公示) of a township or the whole county as an A4 PDF with QR codes",
		(*cli).noticeCmd})
}

func (c *cli) noticeCmd(fs *flag.FlagSet, args []string) error {
	dir := fs.String("dir", defaultDir, "the county server's data directory (the server must be stopped)")
	db := fs.String("db", "", "a copy of the county replica (county.db, e.g. from a backup) instead of -dir")
	code := fs.String("office", "", "the office: a township code, or a county code for every township")
	whole := fs.Bool("county", false, "the whole county of -dir, one section per township")
	out := fs.String("o", "", "the PDF file to write")
	base := fs.String("public-url", "", "the public site's address, for the QR codes (empty: no QR codes)")
	day := fs.String("date", "", "the notice's date, YYYY-MM-DD (default: today in China Standard Time)")
	lang := fs.String("lang", "zh", "language of the headings: zh or en")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if (*code == "") == !*whole {
		return usagef("give -office CODE or -county")
	}
	if *out == "" || strings.ToLower(filepath.Ext(*out)) != ".pdf" {
		return usagef("-o FILE is required and must end in .pdf")
	}
	publicURL, err := report.PublicURLBase(*base)
	if err != nil {
		return usagef("-public-url: %v", err)
	}
	today := calendar.DateOf(time.Now().In(time.FixedZone("CST", 8*3600)))
	if *day != "" {
		if today, err = calendar.ParseDate(*day); err != nil {
			return usagef("-date: %v", err)
		}
	}
	o := office.Code(*code)
	path := *db
	if path == "" {
		path = filepath.Join(*dir, replicaFile)
		if *whole {
			id, err := county.LoadIdentity(*dir)
			if err != nil {
				return err
			}
			o = id.County
		}
	} else if *whole {
		return usagef("-county needs -dir; with -db give -office and the county's code")
	}
	if !o.Valid() {
		return usagef("-office %q: not an office code", o)
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no county replica at %s: %w", path, err)
	}
	st, err := store.Open(path, &store.Options{Feed: true, Logger: c.log, LockTimeout: time.Second})
	if errors.Is(err, bolt.ErrTimeout) {
		return fmt.Errorf("%s is in use: stop the server first, or give -db a copy of it (from a backup) (%w)", path, err)
	}
	if err != nil {
		return err
	}
	cs, err := st.AllCommitments()
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	unit := office.Unit{Code: o, Name: string(o)}
	if u, ok := office.Luoyang().Lookup(o); ok {
		unit = u
	}
	var buf bytes.Buffer
	res, err := report.WriteNoticePDF(&buf, cs, report.NoticeConfig{Unit: unit, Today: today, Cal: calendar.Default(),
		Tr: assets.NewTranslator(*lang), PublicURL: publicURL})
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "已生成 wrote %s: %s, %d commitments, %d pages, %d QR codes\n", *out, officeLabel(o), res.Items, res.Pages, len(res.QR))
	if publicURL == "" {
		fmt.Fprintln(c.stdout, "未印二维码 no QR codes: give -public-url to print them")
	}
	if len(res.Missing) > 0 {
		fmt.Fprintf(c.stderr, "字体缺字 characters printed blank (not in the font): %q\n", string(res.Missing))
	}
	c.log.Info("public notice printed", "office", o, "items", res.Items, "pages", res.Pages, "file", *out)
	return nil
}
