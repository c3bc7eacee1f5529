package office

import "errors"

// Sentinel errors. They are always wrapped with a precise reason, so test
// for them with [errors.Is].
var (
	// ErrInvalidCode means a string is not a province, city, county or
	// township statistical division code. The wrapped reason says which
	// rule failed, in words fit for a log or a form hint.
	ErrInvalidCode = errors.New("office: invalid division code")

	// ErrBadDirectory means a directory file was refused: bad JSON, an
	// invalid or duplicate code, a missing parent, an empty name, or an
	// unknown kind. The wrapped reason names the offending unit.
	ErrBadDirectory = errors.New("office: bad directory")
)
