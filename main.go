// Command jiannuo-desktop will be the 践诺 desktop app for township staff
// (the Fyne UI arrives with the desktop issue). Until then it runs the
// offline demo of the command-line companion: `go run .` is `jiannuo demo`.
package main

import (
	"os"

	"jiannuo/internal/cli"
)

func main() { os.Exit(cli.Run(append([]string{"demo"}, os.Args[1:]...), os.Stdout, os.Stderr)) }
