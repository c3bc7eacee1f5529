package protocol_test

import (
	"testing"

	"jiannuo/sync/protocol"
)

// hintsFor returns what a server may believe of the device a change set
// claims when it prepares it: nothing, the registry's record, and that
// record stale in each way a later one can differ (another office,
// admin rights granted or taken, revoked, another device's key).
func hintsFor(w *world, reg protocol.Registry, raw []byte) map[string]*protocol.DeviceInfo {
	hints := map[string]*protocol.DeviceInfo{"none": nil}
	id, ok := protocol.PeekDevice(raw)
	if !ok {
		return hints
	}
	info, err := reg.Device(id)
	if err != nil {
		info = protocol.DeviceInfo{ID: id, Key: w.town.pub, Office: township}
	}
	vary := func(name string, f func(d *protocol.DeviceInfo)) {
		d := info
		f(&d)
		hints[name] = &d
	}
	vary("current", func(*protocol.DeviceInfo) {})
	vary("other office", func(d *protocol.DeviceInfo) { d.Office = township2 })
	vary("admin flipped", func(d *protocol.DeviceInfo) { d.Admin = !d.Admin })
	vary("revoked flipped", func(d *protocol.DeviceInfo) { d.Revoked = !d.Revoked })
	vary("other key", func(d *protocol.DeviceInfo) { d.Key = w.town2.pub })
	return hints
}

// TestVerifyPreparedAgrees checks that preparing ahead never changes a
// verdict: for every refusal of TestVerifyRefusals and for accepted change
// sets, with every hint, VerifyPrepared answers exactly as Verify.
func TestVerifyPreparedAgrees(t *testing.T) {
	w := newWorld(t)
	type input struct {
		raw    []byte
		reg    protocol.Registry
		chains protocol.Chains
		from   protocol.DeviceID
	}
	cases := map[string]func(t *testing.T) input{
		"accepted": func(t *testing.T) input {
			return input{raw: w.good(t).Bytes(), reg: w.reg, chains: memChains{}, from: w.town.id}
		},
		"replay": func(t *testing.T) input {
			cs := w.good(t)
			return input{raw: cs.Bytes(), reg: w.reg, chains: chainsWith(t, cs)}
		},
	}
	for _, r := range refusals() {
		cases[string(r.code)+"/"+r.name] = func(t *testing.T) input {
			in := r.in(t, w)
			out := input{raw: in.raw, reg: w.reg, chains: memChains{}, from: in.from}
			if in.reg != nil {
				out.reg = in.reg
			}
			if in.chains != nil {
				out.chains = in.chains
			}
			return out
		}
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			in := mk(t)
			want, wantErr := protocol.Verify(in.raw, in.reg, in.chains, in.from)
			for hname, hint := range hintsFor(w, in.reg, in.raw) {
				p := protocol.Prepare(in.raw, hint)
				got, err := protocol.VerifyPrepared(p, in.reg, in.chains, in.from)
				if protocol.CodeOf(err) != protocol.CodeOf(wantErr) || (err == nil) != (wantErr == nil) ||
					(err != nil && err.Error() != wantErr.Error()) {
					t.Fatalf("hint %s: VerifyPrepared: %v, Verify: %v", hname, err, wantErr)
				}
				if (got == nil) != (want == nil) || (got != nil && got.Hash() != want.Hash()) {
					t.Fatalf("hint %s: VerifyPrepared returned %v, Verify %v", hname, got, want)
				}
			}
		})
	}
}
