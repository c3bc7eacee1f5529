package domain

import "errors"

// Errors returned by the rules of this package. Callers test them with
// errors.Is; the wrapped message says which value broke which rule.
var (
	// ErrIllegalTransition means the state machine has no such status change.
	ErrIllegalTransition = errors.New("illegal status transition")
	// ErrNotAllowed means the user's role may not do this.
	ErrNotAllowed = errors.New("not allowed for this role")
	// ErrReasonRequired means the action needs a written reason (amendment,
	// withdrawal, partial fulfilment, breach, conflict resolution).
	ErrReasonRequired = errors.New("a reason is required")
	// ErrInvalidValue means a field value breaks its rule.
	ErrInvalidValue = errors.New("invalid value")
)
