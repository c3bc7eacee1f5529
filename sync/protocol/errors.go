package protocol

import (
	"errors"
	"fmt"

	"jiannuo/domain"
)

// Code is the stable, machine-readable reason a change set (or a message
// carrying one) was refused. Codes travel on the wire, are stored with
// incidents and pick the user-facing text ("error.<code>" in the translation
// files), so they never change once released.
type Code string

// The refusal codes.
const (
	CodeOK               Code = ""
	CodeMalformed        Code = "malformed"
	CodeUnknownVersion   Code = "unknown_version"
	CodeOversize         Code = "oversize"
	CodeUnknownDevice    Code = "unknown_device"
	CodeWrongDevice      Code = "wrong_device"
	CodeRevokedDevice    Code = "revoked_device"
	CodeBadSignature     Code = "bad_signature"
	CodeReplay           Code = "replay"
	CodeSequenceGap      Code = "sequence_gap"
	CodeBrokenChain      Code = "broken_chain"
	CodeFork             Code = "fork"
	CodeOutOfScope       Code = "out_of_scope"
	CodeInvalidOperation Code = "invalid_operation"
	CodeNotAuthorized    Code = "not_authorized"
	CodeEvidenceMismatch Code = "evidence_mismatch"
	CodeNotEnrolled      Code = "not_enrolled"
	CodeNotFound         Code = "not_found"
	CodeWrongServer      Code = "wrong_server"
	// Refusals of what the public files on a municipal page, and of the
	// intakes that carry it to the county (docs/protocol.md).
	CodeRateLimited    Code = "rate_limited"
	CodeBadAnswer      Code = "bad_answer"
	CodeHoneypot       Code = "honeypot"
	CodeTooFast        Code = "too_fast"
	CodeUnknownRecord  Code = "unknown_record"
	CodeAttachmentType Code = "attachment_type"
	// Refusals of a server protecting itself.
	CodeBusy           Code = "busy"
	CodeTooManyPending Code = "too_many_pending"
	CodeInternal       Code = "internal"
	// The county admin API's session token ended (docs/county-server.md).
	CodeSessionExpired Code = "session_expired"
	// Refusals of sync files (docs/sync-file.md).
	CodeStaleFile Code = "stale_file"
)

// Sentinel errors, one per code. Verification wraps them with detail; test
// with errors.Is and map to a Code with CodeOf.
var (
	// ErrMalformed: the bytes do not decode as a canonical change set.
	ErrMalformed = errors.New("malformed")
	// ErrUnknownVersion: the format version is not one this build reads.
	ErrUnknownVersion = errors.New("unknown format version")
	// ErrOversize: the change set exceeds the size or operation-count limit.
	ErrOversize = errors.New("oversize")
	// ErrUnknownDevice: no enrolled device has this ID.
	ErrUnknownDevice = errors.New("unknown device")
	// ErrWrongDevice: the change set names a device other than the one that
	// presented it, or the device's registered key does not match its ID.
	ErrWrongDevice = errors.New("wrong device")
	// ErrRevokedDevice: the device was revoked by the county.
	ErrRevokedDevice = errors.New("device revoked")
	// ErrBadSignature: the signature does not verify with the device's key.
	ErrBadSignature = errors.New("bad signature")
	// ErrReplay: this exact change set was accepted before. Receivers treat
	// it as success without applying anything (idempotence).
	ErrReplay = errors.New("replayed change set")
	// ErrSequenceGap: change sets or operation numbers are missing before this one.
	ErrSequenceGap = errors.New("sequence gap")
	// ErrBrokenChain: the previous-hash does not match the device's last change set.
	ErrBrokenChain = errors.New("broken hash chain")
	// ErrFork: a different change set with this sequence number was accepted
	// before: the device was restored from an old backup or cloned.
	ErrFork = errors.New("fork")
	// ErrOutOfScope: the change set writes for an office the device was not
	// enrolled for.
	ErrOutOfScope = errors.New("out of scope")
	// ErrInvalidOperation: an operation breaks the domain rules.
	ErrInvalidOperation = errors.New("invalid operation")
	// ErrNotAuthorized: the device or author role may not perform this
	// operation (e.g. a township device resolving a conflict).
	ErrNotAuthorized = errors.New("not authorized")
	// ErrEvidenceMismatch: evidence bytes do not hash to the announced value.
	ErrEvidenceMismatch = errors.New("evidence content does not match its hash")
	// ErrNotEnrolled: the device's enrolment is pending or was rejected.
	ErrNotEnrolled = errors.New("device not enrolled")
	// ErrNotFound: the asked-for thing (an evidence file, say) is not there
	// yet; asking again later may succeed.
	ErrNotFound = errors.New("not found")
	// ErrWrongServer: the server is not the county server this device was
	// enrolled with (certificate fingerprint or county key differ).
	ErrWrongServer = errors.New("wrong server")
	// ErrRateLimited: too many filings from one address; try again later.
	ErrRateLimited = errors.New("rate limited")
	// ErrBadAnswer: the form's question was answered wrong, or its token
	// expired or was used before.
	ErrBadAnswer = errors.New("wrong answer to the question")
	// ErrHoneypot: the form's hidden field was filled in, as only a script
	// does.
	ErrHoneypot = errors.New("honeypot field filled")
	// ErrTooFast: the form came back sooner after it was served than a
	// person can fill it in.
	ErrTooFast = errors.New("form sent too fast")
	// ErrUnknownRecord: the commitment or dishonesty record a case
	// concerns is not published (or does not exist).
	ErrUnknownRecord = errors.New("unknown record")
	// ErrAttachmentType: an attached file's content is not one of the
	// allowed types (domain.AttachmentTypes). It is domain's sentinel, so
	// domain.SniffAttachment's refusal has this code too.
	ErrAttachmentType = domain.ErrAttachmentType
	// ErrBusy: the server is too busy to check the request now, or the
	// sender failed too often lately and must wait; asking again after the
	// time the server says (HTTP Retry-After) may succeed.
	ErrBusy = errors.New("server busy")
	// ErrTooManyPending: the county holds as many enrolment requests
	// waiting for an admin as it accepts, for the office or in all; a new
	// one is taken once the admin has decided some.
	ErrTooManyPending = errors.New("too many pending enrolment requests")
	// ErrSessionExpired: a county admin's session token is unknown to the
	// server: it expired (idle or too old), was ended by signing out, or
	// its admin was disabled or changed password; signing in again gives a
	// new one.
	ErrSessionExpired = errors.New("admin session expired")
	// ErrStaleFile: a return file older than one the device has already
	// imported (or answering a bundle it never exported).
	ErrStaleFile = errors.New("stale sync file")
)

var codes = []struct {
	err  error
	code Code
}{
	{ErrMalformed, CodeMalformed},
	{ErrUnknownVersion, CodeUnknownVersion},
	{ErrOversize, CodeOversize},
	{ErrUnknownDevice, CodeUnknownDevice},
	{ErrWrongDevice, CodeWrongDevice},
	{ErrRevokedDevice, CodeRevokedDevice},
	{ErrBadSignature, CodeBadSignature},
	{ErrReplay, CodeReplay},
	{ErrSequenceGap, CodeSequenceGap},
	{ErrBrokenChain, CodeBrokenChain},
	{ErrFork, CodeFork},
	{ErrOutOfScope, CodeOutOfScope},
	{ErrInvalidOperation, CodeInvalidOperation},
	{ErrNotAuthorized, CodeNotAuthorized},
	{ErrEvidenceMismatch, CodeEvidenceMismatch},
	{ErrNotEnrolled, CodeNotEnrolled},
	{ErrNotFound, CodeNotFound},
	{ErrWrongServer, CodeWrongServer},
	{ErrRateLimited, CodeRateLimited},
	{ErrBadAnswer, CodeBadAnswer},
	{ErrHoneypot, CodeHoneypot},
	{ErrTooFast, CodeTooFast},
	{ErrUnknownRecord, CodeUnknownRecord},
	{ErrAttachmentType, CodeAttachmentType},
	{ErrBusy, CodeBusy},
	{ErrTooManyPending, CodeTooManyPending},
	{ErrSessionExpired, CodeSessionExpired},
	{ErrStaleFile, CodeStaleFile},
}

// CodeOf returns the stable code for err: CodeOK for nil, CodeInternal for
// an error that is not a refusal (a disk failure, say).
func CodeOf(err error) Code {
	if err == nil {
		return CodeOK
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return CodeInternal
}

// MessageOf is the message that goes with err's code on the wire and in
// incidents: its text, or nothing for nil.
func MessageOf(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// ErrorFor returns the sentinel error of a code, for a peer that received a
// code on the wire; unknown codes map to an error carrying the code text.
func ErrorFor(c Code) error {
	for _, e := range codes {
		if e.code == c {
			return e.err
		}
	}
	return fmt.Errorf("refused: %s", c)
}

// Codes lists every refusal code, for documentation and translation checks.
func Codes() []Code {
	out := make([]Code, len(codes))
	for i, c := range codes {
		out[i] = c.code
	}
	return out
}

func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}
