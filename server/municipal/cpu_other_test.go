//go:build !unix

package municipal_test

import "time"

// processCPU returns 0: this system has no getrusage.
func processCPU() time.Duration { return 0 }
