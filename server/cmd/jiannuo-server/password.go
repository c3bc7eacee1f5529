package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"

	"jiannuo/auth"
	"jiannuo/sync/countyapi"
)

// password returns the admin password: from JIANNUO_ADMIN_PASSWORD, else
// typed at a prompt when stdin is a terminal (twice when confirm is set),
// else a usage error saying how to provide it.
func (c *cli) password(confirm bool) (string, error) {
	return c.secret(envPassword, "admin password", "管理员密码 admin password: ", confirm)
}

// newPassword returns a new admin password: from
// JIANNUO_NEW_ADMIN_PASSWORD, else typed twice at a prompt; it must pass
// the password rules (countyapi.CheckAdminPassword).
func (c *cli) newPassword() (string, error) {
	p, err := c.secret(envNewPassword, "new admin password", "新密码 new password: ", true)
	if err != nil {
		return "", err
	}
	if err := countyapi.CheckAdminPassword(p); err != nil {
		return "", fmt.Errorf("新密码不符合要求 the new password: %w (at least %d characters, not one repeated)", err, auth.MinPassphraseRunes)
	}
	return p, nil
}

// secret returns what the environment variable env holds, else what is
// typed at a prompt labelled label (twice when confirm is set) when stdin
// is a terminal, else a usage error naming what (and env).
func (c *cli) secret(env, what, label string, confirm bool) (string, error) {
	if p := c.getenv(env); p != "" {
		return p, nil
	}
	f, ok := c.stdin.(*os.File)
	if !ok || !isTerminal(f) {
		return "", usagef("no %s: set %s or run on a terminal to be asked for it", what, env)
	}
	p, err := c.prompt(f, label)
	if err != nil {
		return "", err
	}
	if confirm {
		again, err := c.prompt(f, "再输入一次 again: ")
		if err != nil {
			return "", err
		}
		if again != p {
			return "", errors.New("the two passwords differ")
		}
	}
	return p, nil
}

// isTerminal reports whether f looks like a terminal. Without
// golang.org/x/term (not a dependency of this module) a character device
// is the best cheap test; /dev/null passes it too, and then reading gives
// no password, which is refused.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// prompt reads one line from the terminal f with echo off. Echo is turned
// off with stty(1), which every Debian system has; if that fails the
// password is read anyway, with a warning that it shows on the screen.
func (c *cli) prompt(f *os.File, label string) (string, error) {
	fmt.Fprint(c.stderr, label)
	restore := echoOff(f)
	if restore == nil {
		fmt.Fprint(c.stderr, "(stty failed: input will be visible) ")
	} else {
		// Ctrl-C at the prompt must not leave the terminal without echo.
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			select {
			case <-sig:
				restore()
				fmt.Fprintln(c.stderr)
				os.Exit(130)
			case <-stop:
			}
		}()
		defer func() {
			signal.Stop(sig)
			close(stop)
			<-done
			restore()
			fmt.Fprintln(c.stderr)
		}()
	}
	if c.in == nil {
		c.in = bufio.NewReader(c.stdin)
	}
	line, err := c.in.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password entered")
	}
	return line, nil
}

// echoOff turns terminal echo off and returns the function that turns it
// back on, or nil if it could not.
func echoOff(f *os.File) func() {
	cmd := exec.Command("stty", "-echo")
	cmd.Stdin = f
	if cmd.Run() != nil {
		return nil
	}
	return func() {
		cmd := exec.Command("stty", "echo")
		cmd.Stdin = f
		cmd.Run()
	}
}
