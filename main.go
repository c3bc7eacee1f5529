// Command jiannuo is the 践诺 desktop app for township staff: record public
// commitments and their fulfilment offline, and sync them with the county.
//
//	jiannuo                 open this user's data (first run: set-up wizard)
//	jiannuo -demo           open the demo township with a local county server
//	jiannuo -demo -demo-admin
//	                        the same demo on its county-admin device
//	jiannuo -lang en        English instead of the system language
//	jiannuo -demo -scene dashboard
//	                        open a screen directly (for screenshots)
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"jiannuo/app"
)

func main() {
	var opts app.Options
	flag.BoolVar(&opts.Demo, "demo", false, "open the demo data (built on first use) with a local county server")
	flag.StringVar(&opts.DemoDir, "demo-dir", "jiannuo-demo", "where the demo data lives")
	flag.BoolVar(&opts.DemoAdmin, "demo-admin", false, "with -demo: open it on the county admin's device")
	flag.StringVar(&opts.DataDir, "data", "", "directory of this device's data (default: the user's config directory)")
	flag.StringVar(&opts.Lang, "lang", "", "language: zh-Hans or en (default: saved choice, else the system's)")
	flag.StringVar(&opts.Scene, "scene", "", "open a screen directly, for screenshots: "+strings.Join(app.Scenes, ", "))
	flag.Parse()
	if err := app.Run(opts); err != nil {
		fmt.Fprintln(os.Stderr, "jiannuo:", err)
		os.Exit(1)
	}
}
