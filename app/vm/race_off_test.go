//go:build !race

package vm

// raceEnabled is true when the tests run under the race detector, which
// makes building the big store some twenty times slower.
const raceEnabled = false
