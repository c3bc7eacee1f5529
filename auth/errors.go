package auth

import "errors"

// Sentinel errors. They are returned bare or wrapped with a reason, so test
// for them with [errors.Is], never with ==.
var (
	// ErrWrongPassword means the hash was well formed but the password does
	// not match. Show the user a generic "wrong user or password" message.
	ErrWrongPassword = errors.New("auth: wrong password")

	// ErrMalformedHash means a stored password hash could not be decoded or
	// carries parameters outside the accepted limits. It points at corrupt
	// or tampered storage, not at the user, so log it.
	ErrMalformedHash = errors.New("auth: malformed password hash")

	// ErrWrongPassphrase means a sealed key was well formed but could not be
	// opened: the passphrase is wrong, or the ciphertext or its header was
	// altered. The AEAD cannot tell these apart, and neither can we.
	ErrWrongPassphrase = errors.New("auth: wrong passphrase or tampered key file")

	// ErrMalformedKey means sealed key bytes are not in a format this
	// package understands (bad magic, unknown version, wrong length, or
	// parameters outside the accepted limits).
	ErrMalformedKey = errors.New("auth: malformed sealed key")

	// ErrWeakPassphrase means a passphrase fails the policy of
	// [ValidatePassphrase]. The wrapped reason is safe to show to the user.
	ErrWeakPassphrase = errors.New("auth: passphrase too weak")

	// ErrInvalidParams means cost parameters given to [HashPassword] or
	// [SealKey] are zero, inconsistent or beyond the limits that
	// [VerifyPassword] and [OpenKey] accept, so the result could never be
	// checked again.
	ErrInvalidParams = errors.New("auth: invalid argon2 parameters")

	// ErrInvalidKey means the private key given to [SealKey] is not a
	// well-formed ed25519 private key.
	ErrInvalidKey = errors.New("auth: invalid ed25519 private key")

	// ErrEmptyPassword means [HashPassword] was asked to hash an empty
	// password, which is almost always a form-handling bug.
	ErrEmptyPassword = errors.New("auth: empty password")
)
