// Command jiannuo is the offline command-line companion of the 践诺 desktop
// app: `jiannuo demo` builds and summarises the demo data, `jiannuo check
// FILE` verifies a store file after a crash, `jiannuo workdays DATE N`
// computes a working-day deadline. See package jiannuo/internal/cli.
package main

import (
	"os"

	"jiannuo/internal/cli"
)

func main() { os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr)) }
