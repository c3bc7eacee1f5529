package protocol_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"jiannuo/sync/protocol"
)

// reenrolFixture is a forked device asking for a new key: the outer
// document signed by the old key, the enrolment inside by the new one.
func reenrolFixture(t testing.TB) (old, fresh *device, r protocol.ReenrolRequest, b []byte) {
	old = newDevice(t, "reenrol-old", township, false)
	fresh = newDevice(t, "reenrol-new", township, false)
	in := protocol.EnrolRequest{Key: fresh.pub, Office: township, DeviceName: "赤土店镇党政办-1", Staff: "王建国", Time: 1772413200000}
	r = protocol.ReenrolRequest{Enrol: in.Sign(fresh.priv), Old: old.pub, From: 4,
		Held: []protocol.Hash{{1}, {2}, {3}}, Time: 1772413200001}
	return old, fresh, r, r.Sign(old.priv)
}

func TestReenrolRequest(t *testing.T) {
	old, fresh, r, b := reenrolFixture(t)
	got, inner, err := protocol.OpenReenrolRequest(b)
	if err != nil || !reflect.DeepEqual(*got, r) {
		t.Fatalf("OpenReenrolRequest = %+v, %v", got, err)
	}
	if got.OldDevice() != old.id || inner.Device() != fresh.id || inner.Office != township {
		t.Fatalf("old %s new %s office %s", got.OldDevice(), inner.Device(), inner.Office)
	}
	edit := func(fn func(*protocol.ReenrolRequest), key *device) []byte {
		c := r
		fn(&c)
		return c.Sign(key.priv)
	}
	none := func(*protocol.ReenrolRequest) {}
	tooMany := make([]protocol.Hash, protocol.MaxReenrolHeld+1)
	for _, c := range []struct {
		name string
		b    []byte
		want error
	}{
		// Only a holder of the forked key may ask for its replacement.
		{"signed by the new key", edit(none, fresh), protocol.ErrBadSignature},
		{"bad signature", flipBit(b, len(b)-1, 2), protocol.ErrBadSignature},
		{"inner request forged", edit(func(r *protocol.ReenrolRequest) { r.Enrol = flipBit(r.Enrol, len(r.Enrol)-1, 0) }, old), protocol.ErrBadSignature},
		{"inner request is not one", edit(func(r *protocol.ReenrolRequest) { r.Enrol = []byte("JNER") }, old), protocol.ErrMalformed},
		{"same key twice", edit(func(r *protocol.ReenrolRequest) {
			in := protocol.EnrolRequest{Key: old.pub, Office: township, DeviceName: "x", Staff: "y", Time: 1}
			r.Enrol = in.Sign(old.priv)
		}, old), protocol.ErrInvalidOperation},
		{"from zero", edit(func(r *protocol.ReenrolRequest) { r.From = 0 }, old), protocol.ErrInvalidOperation},
		{"too many held", edit(func(r *protocol.ReenrolRequest) { r.Held = tooMany }, old), protocol.ErrMalformed},
		{"trailing byte", append(bytes.Clone(b), 0), protocol.ErrMalformed},
		{"truncated", b[:len(b)/2], protocol.ErrMalformed},
		{"an enrolment request", r.Enrol, protocol.ErrMalformed},
		{"empty", nil, protocol.ErrMalformed},
	} {
		if got, _, err := protocol.OpenReenrolRequest(c.b); !errors.Is(err, c.want) {
			t.Errorf("%s: OpenReenrolRequest = %+v, %v; want %v", c.name, got, err, c.want)
		}
	}
}

// FuzzOpenReenrolRequest: whatever the bytes, opening a re-enrolment
// request either fails with a coded error or returns one that re-encodes to
// the same bytes; it never panics.
func FuzzOpenReenrolRequest(f *testing.F) {
	_, _, _, b := reenrolFixture(f)
	f.Add(b) // more seeds in testdata/fuzz/FuzzOpenReenrolRequest
	f.Fuzz(func(t *testing.T, data []byte) {
		r, inner, err := protocol.OpenReenrolRequest(data)
		if err != nil {
			if protocol.CodeOf(err) == protocol.CodeInternal {
				t.Fatalf("uncoded error: %v", err)
			}
			return
		}
		if inner == nil || r.OldDevice() == inner.Device() {
			t.Fatalf("accepted %+v", r)
		}
	})
}
