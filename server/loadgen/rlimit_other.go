//go:build !linux && !darwin

package loadgen

// RaiseFileLimit does nothing on this system and returns want: it has no
// RLIMIT_NOFILE to raise.
func RaiseFileLimit(want uint64) (uint64, error) { return want, nil }
