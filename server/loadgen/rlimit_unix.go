//go:build linux || darwin

package loadgen

import "syscall"

// RaiseFileLimit raises this process's limit on open files (RLIMIT_NOFILE)
// to at least want, as far as the hard limit allows, and returns the limit
// now in force. Every simulated device holds a connection, and on the
// server's side every connected device does too.
func RaiseFileLimit(want uint64) (uint64, error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, err
	}
	if r.Cur >= want {
		return r.Cur, nil
	}
	r.Cur = min(want, r.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, err
	}
	return r.Cur, nil
}
