//go:build !race

package county_test

// raceEnabled is true when the tests run under the race detector, which
// makes making and verifying operations some twenty times slower.
const raceEnabled = false
