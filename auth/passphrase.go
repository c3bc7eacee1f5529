package auth

import (
	"fmt"
	"unicode/utf8"
)

// MinPassphraseRunes is the minimum passphrase length in characters. It
// counts runes, not bytes, so "践诺践诺洛阳栾川" (8 characters, 24 bytes)
// passes and a 3-character Chinese phrase does not sneak through on its
// 9 UTF-8 bytes.
const MinPassphraseRunes = 8

// ValidatePassphrase applies the policy for passphrases that protect keys
// at rest: valid UTF-8, at least [MinPassphraseRunes] characters, and not
// one character repeated. Any script is allowed, Chinese included. The
// policy is deliberately small (length beats composition rules, per
// NIST SP 800-63B); the error wraps [ErrWeakPassphrase] and its reason can
// be shown to the user.
func ValidatePassphrase(p string) error {
	if !utf8.ValidString(p) {
		return fmt.Errorf("%w: not valid UTF-8 text", ErrWeakPassphrase)
	}
	n := utf8.RuneCountInString(p)
	if n < MinPassphraseRunes {
		return fmt.Errorf("%w: %d characters, need at least %d", ErrWeakPassphrase, n, MinPassphraseRunes)
	}
	first, _ := utf8.DecodeRuneInString(p)
	for _, r := range p {
		if r != first {
			return nil
		}
	}
	return fmt.Errorf("%w: all characters are the same", ErrWeakPassphrase)
}
