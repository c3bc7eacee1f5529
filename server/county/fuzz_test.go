package county

import (
	"bytes"
	"crypto/ed25519"
	"testing"

	"jiannuo/domain"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// FuzzIntakeID: the ID read from the front of any bytes a node sends as an
// intake is the intake's own when they are one, zero when they cannot be,
// and reading never panics.
func FuzzIntakeID(f *testing.F) {
	_, key, _ := ed25519.GenerateKey(nil)
	id := protocol.EntityID{1, 2, 3}
	in := &protocol.Intake{ID: id, Kind: domain.CaseComplaint, Office: "410324101", Commitment: protocol.EntityID{9},
		Text: "窗口无人值守", Filed: 1796000000000, TrackHash: protocol.TrackHash(id, "0123456789AB")}
	in.Number = protocol.CaseNumber(in.Kind, in.Filed, id)
	f.Add(in.Sign(key))
	f.Add([]byte("JNCI\x01"))
	f.Add([]byte("JNCA\x01" + string(id[:])))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		got := intakeID(raw)
		if in, err := protocol.DecodeIntake(raw); err == nil && got != in.ID {
			t.Fatalf("intakeID %s, the intake's %s", got, in.ID)
		}
		if !bytes.HasPrefix(raw, []byte("JNCI")) && !got.IsZero() {
			t.Fatalf("an ID %s from what is no intake", got)
		}
	})
}

// FuzzCaseCursor: a cursor of GET /admin/cases reads back as the case it
// was made from, and anything else is refused as malformed, never a
// panic.
func FuzzCaseCursor(f *testing.F) {
	c := &store.Case{Office: "410324101", ID: protocol.EntityID{0xab, 0xcd}}
	f.Add(caseCursor(c))
	f.Add("410324101:")
	f.Add(":" + c.ID.String())
	f.Add("no cursor")
	f.Add("4103241019:" + c.ID.String())
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := parseCaseCursor(s)
		if err != nil {
			if protocol.CodeOf(err) != protocol.CodeMalformed {
				t.Fatalf("%q: %v, want malformed", s, err)
			}
			return
		}
		if back, err := parseCaseCursor(caseCursor(&store.Case{Office: ref.Office, ID: ref.ID})); err != nil || back != ref {
			t.Fatalf("%q reads as %v, which reads back as %v (%v)", s, ref, back, err)
		}
	})
}
