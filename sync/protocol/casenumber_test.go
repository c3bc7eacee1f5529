package protocol_test

import (
	"testing"

	"jiannuo/domain"
	"jiannuo/sync/protocol"
)

// FuzzCaseNumberIDPrefix: whatever anyone types into the tracking page,
// the parser neither panics nor accepts what does not end in a dash and
// eight Crockford characters; and a number CaseNumber made gives back
// the first five bytes of its ID.
func FuzzCaseNumberIDPrefix(f *testing.F) {
	f.Add("TS20261207-7K3M9Q2P", []byte{1, 2, 3, 4, 5})
	f.Add("YY20261207-IIIIIIII", []byte{0xff})
	f.Add("-", []byte{})
	f.Fuzz(func(t *testing.T, s string, idBytes []byte) {
		if p, ok := protocol.CaseNumberIDPrefix(s); ok {
			if len(s) < 9 || s[len(s)-9] != '-' {
				t.Fatalf("%q accepted: %x", s, p)
			}
		}
		var id protocol.EntityID
		copy(id[:], idBytes)
		n := protocol.CaseNumber(domain.CaseComplaint, 1_780_000_000_000, id)
		p, ok := protocol.CaseNumberIDPrefix(n)
		if !ok || [5]byte(id[:5]) != p {
			t.Fatalf("CaseNumber %s of %s gives back %x, %v", n, id, p, ok)
		}
	})
}
