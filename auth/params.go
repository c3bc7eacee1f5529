package auth

import "fmt"

// Limits on argon2id cost parameters. Decoders refuse anything outside them
// before doing any work, so a crafted hash or key file cannot make us
// allocate gigabytes or spin for minutes; encoders refuse them too, so we
// never write something we would later refuse to read.
const (
	// MaxTime is the largest accepted number of passes.
	MaxTime = 100
	// MaxMemoryKiB is the largest accepted memory cost: 1 GiB.
	MaxMemoryKiB = 1 << 20
)

// Params are argon2id cost parameters.
//
// They are stored next to every hash and inside every sealed key, so they can
// be raised later without breaking old data; see [NeedsRehash].
type Params struct {
	// Time is the number of passes over memory (argon2 "t").
	Time uint32
	// MemoryKiB is the memory cost in KiB (argon2 "m").
	MemoryKiB uint32
	// Threads is the degree of parallelism (argon2 "p").
	Threads uint8
}

// DefaultParams returns the production cost: t=3, 64 MiB, 2 lanes.
//
// This is the second recommendation of RFC 9106 §4 (t=3, 64 MiB) with the
// parallelism lowered from 4 to 2, because township offices run on old
// dual-core desktops and laptops with 4 GiB of RAM: 64 MiB is affordable
// next to the rest of the program, 2 lanes match the cores we can count on,
// and one login costs a few hundred milliseconds at most on such machines,
// which users accept for an action done a few times a day. It is well above
// the OWASP minimum (19 MiB, t=2, p=1). A new value is returned on each call
// so callers cannot change the default for everybody.
func DefaultParams() Params {
	return Params{Time: 3, MemoryKiB: 64 * 1024, Threads: 2}
}

// TestParams returns the cheapest valid cost (t=1, 64 KiB, 1 lane) so that
// tests hashing many passwords stay fast.
//
// Never use it in production: a hash made with it can be brute-forced at
// millions of guesses per second. [NeedsRehash] with [DefaultParams] reports
// such hashes, so a slip is repaired at the next successful login.
func TestParams() Params {
	return Params{Time: 1, MemoryKiB: 64, Threads: 1}
}

// Validate reports whether p can be used with argon2id and lies within the
// limits the decoders accept. The error wraps [ErrInvalidParams].
func (p Params) Validate() error {
	switch {
	case p.Time < 1:
		return fmt.Errorf("%w: time must be at least 1", ErrInvalidParams)
	case p.Time > MaxTime:
		return fmt.Errorf("%w: time %d exceeds %d", ErrInvalidParams, p.Time, MaxTime)
	case p.Threads < 1:
		return fmt.Errorf("%w: threads must be at least 1", ErrInvalidParams)
	case p.MemoryKiB < 8*uint32(p.Threads):
		// argon2 would silently raise memory to 8*threads, and the stored
		// "m" would then lie about the real cost.
		return fmt.Errorf("%w: memory %d KiB is below 8 KiB per thread", ErrInvalidParams, p.MemoryKiB)
	case p.MemoryKiB > MaxMemoryKiB:
		return fmt.Errorf("%w: memory %d KiB exceeds %d KiB", ErrInvalidParams, p.MemoryKiB, MaxMemoryKiB)
	}
	return nil
}

// String formats p like the PHC parameter field, for logs.
func (p Params) String() string {
	return fmt.Sprintf("m=%d,t=%d,p=%d", p.MemoryKiB, p.Time, p.Threads)
}
