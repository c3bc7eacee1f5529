package auth

import (
	"errors"
	"testing"
)

func TestValidatePassphrase(t *testing.T) {
	for _, tc := range []struct {
		p  string
		ok bool
	}{
		{"abcdefgh", true},
		{"correct horse battery staple", true},
		{"践诺洛阳栾川赤土", true}, // 8 Chinese characters
		{"践诺践诺践诺践诺", true}, // repeated, but not one character
		{"aaaaaaab", true},
		{"洛阳 2025!", true},
		{"", false},
		{"abcdefg", false}, // 7
		{"践诺洛阳栾川赤", false}, // 7 characters, 21 bytes
		{"aaaaaaaa", false},
		{"诺诺诺诺诺诺诺诺诺诺", false},
		{"        ", false},
		{"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", false}, // not UTF-8
		{"abcdefg\xff", false},
	} {
		err := ValidatePassphrase(tc.p)
		if tc.ok && err != nil {
			t.Errorf("ValidatePassphrase(%q) = %v, want nil", tc.p, err)
		}
		if !tc.ok && !errors.Is(err, ErrWeakPassphrase) {
			t.Errorf("ValidatePassphrase(%q) = %v, want ErrWeakPassphrase", tc.p, err)
		}
	}
}
