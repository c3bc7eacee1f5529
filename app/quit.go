package app

import (
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// quitGrace is how long the app may take to end once it is asked to quit
// (its window closed, or SIGTERM/SIGINT from the desktop session) before
// the watchdog ends the process.
//
// Fyne 2.7.1's shutdown can deadlock: a callback queued for the main
// thread just as its loop ends is never run, and the loop's last step
// waits for it. The window is gone, but the process lingers and keeps
// the store's file lock, so the next start finds the file in use. Ending
// the process loses nothing: every action is committed (fsync'd) when it
// is made, and the operating system releases the lock.
const quitGrace = 10 * time.Second

// armQuitWatchdog returns a function that, called once the app is asked
// to quit (more calls do nothing), starts a watchdog ending the process
// if returned is not closed within quitGrace. SIGINT and SIGTERM arm it
// too, until returned is closed.
func armQuitWatchdog(returned <-chan struct{}, log *slog.Logger) (arm func()) {
	var once sync.Once
	arm = func() {
		once.Do(func() {
			go quitWatchdog(returned, time.After(quitGrace), func() {
				log.Warn("the app did not end after quitting (Fyne's shutdown); ending it", "after", quitGrace)
				os.Exit(0)
			})
		})
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		defer signal.Stop(sigs)
		select {
		case <-sigs:
			arm()
		case <-returned:
		}
	}()
	return arm
}

// quitWatchdog calls exit if deadline comes before returned is closed.
func quitWatchdog(returned <-chan struct{}, deadline <-chan time.Time, exit func()) {
	select {
	case <-returned:
	case <-deadline:
		exit()
	}
}
