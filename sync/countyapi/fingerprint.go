package countyapi

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadFingerprint means a typed fingerprint is not a SHA-256 fingerprint.
var ErrBadFingerprint = errors.New("not a SHA-256 fingerprint (32 hex pairs, as jiannuo-server fingerprint prints it)")

// ParseFingerprint accepts a certificate fingerprint as people type or
// paste it — any case, with or without colons, spaces or dashes between
// the pairs, spaces around it — and returns the form devices pin
// (protocol.Fingerprint's: upper-case hex pairs joined by colons). It
// fails with ErrBadFingerprint unless there are exactly 64 hex digits.
func ParseFingerprint(s string) (string, error) {
	h := strings.NewReplacer(":", "", " ", "", "-", "").Replace(strings.TrimSpace(s))
	if len(h) != 64 || strings.IndexFunc(h, func(r rune) bool { return !isHex(r) }) >= 0 {
		return "", fmt.Errorf("%q is %w", s, ErrBadFingerprint)
	}
	h = strings.ToUpper(h)
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String(), nil
}

func isHex(r rune) bool {
	return '0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F'
}
