package countyapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"jiannuo/sync/protocol"
)

// ErrorBody is the JSON body of every refused request: a stable code and a
// message for logs.
type ErrorBody struct {
	Code    protocol.Code `json:"code"`
	Message string        `json:"message"`
}

// APIError is a refusal by the county server: the HTTP status and the code
// and message of its ErrorBody. It unwraps to the protocol's sentinel
// error for the code, so errors.Is(err, protocol.ErrNotAuthorized) and
// protocol.CodeOf work on it.
type APIError struct {
	Status  int
	Code    protocol.Code
	Message string
	// RetryAfter is how long the server asked to wait before trying again
	// (its Retry-After header, with busy); zero when it said nothing.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	code := string(e.Code)
	if code == "" {
		code = "?"
	}
	return fmt.Sprintf("server refused (HTTP %d, %s): %s", e.Status, code, e.Message)
}

// Unwrap returns the sentinel error of the code (protocol.ErrNotAuthorized, …).
func (e *APIError) Unwrap() error {
	if e.Code == "" {
		return nil
	}
	return protocol.ErrorFor(e.Code)
}

// refusal makes the APIError of an answer with a status of 300 or more.
// An answer without a coded body (a proxy's, say) gets the code its status
// implies and its text, or the status text, as the message.
func refusal(status int, raw []byte) *APIError {
	e := &APIError{Status: status}
	var body ErrorBody
	if json.Unmarshal(raw, &body) == nil {
		e.Code, e.Message = body.Code, body.Message
	}
	if e.Code == "" {
		switch status {
		case http.StatusUnauthorized, http.StatusForbidden:
			e.Code = protocol.CodeNotAuthorized
		case http.StatusNotFound:
			e.Code = protocol.CodeNotFound
		default:
			e.Code = protocol.CodeInternal
		}
	}
	if e.Message == "" {
		e.Message = strings.TrimSpace(string(raw))
		if e.Message == "" {
			e.Message = http.StatusText(status)
		}
	}
	return e
}

// IsCredentialError reports whether err is the server refusing the admin
// name or password, so that a screen asks for them again.
func IsCredentialError(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusUnauthorized
}
