package store

import (
	"errors"

	"jiannuo/sync/protocol"
)

// Errors returned by the store. Domain and protocol errors (domain.Err…,
// protocol.Err…) pass through wrapped, so errors.Is works on them too.
var (
	// ErrNotFound means the record does not exist on this replica. It is
	// protocol.ErrNotFound, so one errors.Is test covers a record missing
	// here and one a peer reported missing, and both map to code not_found.
	ErrNotFound = protocol.ErrNotFound
	// ErrNotSetUp means the replica has no device identity yet (see Setup).
	ErrNotSetUp = errors.New("device not set up")
	// ErrAlreadySetUp means Setup was called on a replica that has a device.
	ErrAlreadySetUp = errors.New("device already set up")
	// ErrConflicted means the field has competing values awaiting the county
	// admin's reconciliation; it cannot be edited until then.
	ErrConflicted = errors.New("field is conflicted")
	// ErrNotEditable means the commitment's content can no longer be edited
	// in place: once published it changes only by amendment (§五(四)).
	ErrNotEditable = errors.New("not editable in this status")
	// ErrSchemaTooNew means the file was written by a newer Jiannuo; this
	// build refuses to touch it rather than corrupt it.
	ErrSchemaTooNew = errors.New("database schema is newer than this program")
	// ErrAccountExists means an account with that name exists.
	ErrAccountExists = errors.New("account exists")
	// ErrAccountDisabled means the account was disabled by a leader: it
	// signs in no more and cannot be changed.
	ErrAccountDisabled = errors.New("account disabled")
	// ErrMustChangePassphrase means a leader reset the account's
	// passphrase: its owner must change it (Session.ChangePassphrase)
	// before doing anything else.
	ErrMustChangePassphrase = errors.New("passphrase must be changed first")
	// ErrWrongPassword means sign-in failed. It does not say whether the
	// name or the password was wrong.
	ErrWrongPassword = errors.New("wrong name or password")
	// ErrEvidenceTooLarge means an evidence file exceeds the size limit.
	ErrEvidenceTooLarge = errors.New("evidence file too large")
	// ErrEvidenceMismatch means evidence bytes do not hash to the expected
	// value. It is protocol.ErrEvidenceMismatch (code evidence_mismatch).
	ErrEvidenceMismatch = protocol.ErrEvidenceMismatch
	// ErrInvariant means a consistency check (Check) found the store broken.
	ErrInvariant = errors.New("store invariant violated")
)
