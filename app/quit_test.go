package app

import (
	"testing"
	"time"
)

// TestQuitWatchdog: an app that ends in time after quitting is left to
// end by itself; one whose shutdown hangs is ended, so it does not keep
// the store's file locked for the next start.
func TestQuitWatchdog(t *testing.T) {
	returned, deadline := make(chan struct{}), make(chan time.Time)
	exited, done := false, make(chan struct{})
	go func() {
		quitWatchdog(returned, deadline, func() { exited = true })
		close(done)
	}()
	close(returned)
	<-done
	if exited {
		t.Fatal("an app that ended in time was ended by the watchdog")
	}

	hung := make(chan time.Time, 1)
	hung <- time.Now()
	quitWatchdog(make(chan struct{}), hung, func() { exited = true })
	if !exited {
		t.Fatal("an app whose shutdown hangs was not ended")
	}
}
