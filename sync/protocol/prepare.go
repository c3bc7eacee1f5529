package protocol

import (
	"bytes"
	"errors"

	"jiannuo/domain"
	"jiannuo/domain/office"
)

// Prepared is a change set decoded, and checked as far as it can be
// without the receiver's state, before the receiver's write transaction:
// a server prepares pushes on several cores and its single writer then
// only checks the chain and applies (VerifyPrepared). Preparing never
// changes a verdict: whatever was checked against a device record that
// differs from the one the writer reads is checked again.
type Prepared struct {
	cs  *ChangeSet // a copy of its bytes included
	err error      // from Decode

	// what was checked ahead, against the device record dev
	checked bool
	dev     DeviceInfo
	sigOK   bool
	rest    error // the author and operation rules (checkContent)
}

// Prepare decodes raw and, if dev is not nil (what the receiver believed
// of the pushing device when it arrived), checks the signature and the
// author and operation rules against it. Safe to call from any goroutine;
// it reads nothing but its arguments.
func Prepare(raw []byte, dev *DeviceInfo) *Prepared {
	cs, err := Decode(raw)
	if err != nil {
		return &Prepared{err: err}
	}
	return PrepareDecoded(cs, dev)
}

// PrepareDecoded is Prepare of a change set the receiver decoded already
// (Decode), for one that must look at it before it knows which device
// record to check it against: the municipal node reads the device from the
// change set, checks the county's receipt for it, then prepares it
// without decoding it again.
func PrepareDecoded(cs *ChangeSet, dev *DeviceInfo) *Prepared {
	p := &Prepared{cs: cs}
	if dev == nil || dev.ID != p.cs.Device || DeviceIDFromKey(dev.Key) != p.cs.Device {
		return p
	}
	p.checked, p.dev = true, *dev
	p.sigOK = p.cs.VerifySignature(dev.Key)
	if p.sigOK {
		p.rest = checkContent(p.cs, *dev)
	}
	return p
}

// ChangeSet returns the decoded change set, nil if it could not be
// decoded. It is not verified: VerifyPrepared says whether it is.
func (p *Prepared) ChangeSet() *ChangeSet { return p.cs }

// same reports whether dev is the record the change set was checked
// against ahead, so the checks need not run again.
func (p *Prepared) same(dev DeviceInfo) bool {
	return p.checked && p.dev.ID == dev.ID && bytes.Equal(p.dev.Key, dev.Key) &&
		p.dev.Office == dev.Office && p.dev.Admin == dev.Admin && p.dev.Revoked == dev.Revoked
}

// Verify decodes raw and checks it completely against what the receiver
// knows: the device is enrolled, not revoked and the one expected (from, if
// not zero: the device that authenticated the session), the signature, the
// office scope, the sequence and hash chain, and every operation. The error
// wraps exactly one sentinel; CodeOf gives its stable code. ErrReplay comes
// with the decoded change set so a receiver can acknowledge it again.
func Verify(raw []byte, reg Registry, chains Chains, from DeviceID) (*ChangeSet, error) {
	return VerifyPrepared(Prepare(raw, nil), reg, chains, from)
}

// VerifyPrepared is Verify of a prepared change set: the same checks in
// the same order with the same errors, skipping the signature and the
// operation rules when they were checked ahead against the record reg
// returns now.
func VerifyPrepared(p *Prepared, reg Registry, chains Chains, from DeviceID) (*ChangeSet, error) {
	if p.err != nil {
		return nil, p.err
	}
	cs := p.cs
	if !from.IsZero() && cs.Device != from {
		return nil, errorf(ErrWrongDevice, "change set of %s sent by %s", cs.Device, from)
	}
	dev, err := reg.Device(cs.Device)
	if err != nil {
		return nil, err
	}
	if DeviceIDFromKey(dev.Key) != cs.Device {
		return nil, errorf(ErrWrongDevice, "registered key does not match device %s", cs.Device)
	}
	if dev.Revoked {
		return nil, errorf(ErrRevokedDevice, "device %s", cs.Device)
	}
	ahead := p.same(dev)
	sigOK := p.sigOK
	if !ahead {
		sigOK = cs.VerifySignature(dev.Key)
	}
	if !sigOK {
		return nil, errorf(ErrBadSignature, "change set %s/%d", cs.Device.Short(), cs.Seq)
	}
	if cs.Office != dev.Office {
		return nil, errorf(ErrOutOfScope, "device enrolled for %s wrote as %s", dev.Office, cs.Office)
	}
	pc, ok := chains.(PartialChains)
	if err := checkChain(cs, chains, ok && pc.Partial(dev)); err != nil {
		if errors.Is(err, ErrReplay) {
			return cs, err
		}
		return nil, err
	}
	rest := p.rest
	if !ahead {
		rest = checkContent(cs, dev)
	}
	if rest != nil {
		return nil, rest
	}
	return cs, nil
}

// checkContent checks what Verify checks after the chain: the author and
// every operation against the device's office and rights. It depends on
// the change set and the device record only.
func checkContent(cs *ChangeSet, dev DeviceInfo) error {
	if !cs.AuthorRole.Valid() || !domain.NonBlank(cs.Author) || domain.CheckText("author", cs.Author, MaxNameBytes) != nil {
		return errorf(ErrInvalidOperation, "author %q with role %q", cs.Author, cs.AuthorRole)
	}
	if cs.AuthorRole == domain.RoleCountyAdmin && !dev.Admin {
		return errorf(ErrNotAuthorized, "county-admin author on a township device")
	}
	var lastHLC HLC
	for i := range cs.Ops {
		op := &cs.Ops[i]
		if !office.InScope(dev.Office, dev.Admin, op.Office) {
			return errorf(ErrOutOfScope, "op %d writes for %s, device enrolled for %s", op.Num, op.Office, dev.Office)
		}
		if op.Kind.OwnOffice() && op.Office != dev.Office {
			// A device manages its own office's accounts only, reads the
			// urges to its own office and reports for it alone, even a
			// county-admin device whose scope is its whole county.
			return errorf(ErrOutOfScope, "op %d: %s for %s by a device of %s", op.Num, op.Kind, op.Office, dev.Office)
		}
		if op.Office != cs.Ops[0].Office {
			// One office per change set lets a server route it whole:
			// a township never receives another township's records.
			return errorf(ErrInvalidOperation, "op %d writes for %s, the change set for %s", op.Num, op.Office, cs.Ops[0].Office)
		}
		if err := op.Validate(cs.AuthorRole, dev.Admin); err != nil {
			return err
		}
		if op.HLC <= lastHLC {
			return errorf(ErrInvalidOperation, "op %d: clock stamps not increasing", op.Num)
		}
		lastHLC = op.HLC
	}
	return nil
}
