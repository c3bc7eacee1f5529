package store

import (
	"encoding/binary"
	"fmt"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/sync/protocol"
)

// Commitment views are read whole by every apply that touches one and by
// the app's start-up (every view, to a list), so since schema 8 they too
// are binary: JSON decoding was most of both. The ref is the key's
// (refKey), not repeated.
//
// The value, after a format byte (commitmentFormat):
//
//	flags          1 byte: created, public, has a last entry
//	created_by     string (uvarint length, bytes)
//	created_at     8 bytes, big-endian
//	created_device 16 bytes
//	category, title, text, legal_basis, responsible, start_date,
//	deadline, status: strings
//	version        varint
//	conflicted     uvarint count, then each a string
//	updated_at     8 bytes
//	entries, progress: varints
//	last entry     (when flagged) year, month, day varints; stamp 8 bytes;
//	               operation: device 16 bytes, uvarint number
//
// Nothing may follow.
const commitmentFormat = 1

const (
	flagCreated = 1 << iota
	flagPublic
	flagLastEntry
	flagsKnown = flagCreated | flagPublic | flagLastEntry
)

// encodeCommitment returns the value stored under refKey(c.Ref).
func encodeCommitment(c *Commitment) []byte {
	n := 64 + len(c.CreatedBy) + len(c.Category) + len(c.Title) + len(c.Text) + len(c.LegalBasis) + len(c.Responsible) +
		len(c.StartDate) + len(c.Deadline) + len(c.Status) + 8*len(c.Conflicted) + 64
	b := make([]byte, 0, n)
	var flags byte
	if c.Created {
		flags |= flagCreated
	}
	if c.Public {
		flags |= flagPublic
	}
	if c.LastEntry != nil {
		flags |= flagLastEntry
	}
	b = append(b, commitmentFormat, flags)
	b = appendString(b, c.CreatedBy)
	b = binary.BigEndian.AppendUint64(b, uint64(c.CreatedAt))
	b = append(b, c.CreatedDevice[:]...)
	for _, s := range []string{string(c.Category), c.Title, c.Text, c.LegalBasis, c.Responsible, c.StartDate, c.Deadline, string(c.Status)} {
		b = appendString(b, s)
	}
	b = binary.AppendVarint(b, int64(c.Version))
	b = binary.AppendUvarint(b, uint64(len(c.Conflicted)))
	for _, f := range c.Conflicted {
		b = appendString(b, string(f))
	}
	b = binary.BigEndian.AppendUint64(b, uint64(c.UpdatedAt))
	b = binary.AppendVarint(b, int64(c.Entries))
	b = binary.AppendVarint(b, int64(c.Progress))
	if e := c.LastEntry; e != nil {
		b = binary.AppendVarint(b, int64(e.Date.Year))
		b = binary.AppendVarint(b, int64(e.Date.Month))
		b = binary.AppendVarint(b, int64(e.Date.Day))
		b = binary.BigEndian.AppendUint64(b, uint64(e.HLC))
		b = append(b, e.Op.Device[:]...)
		b = binary.AppendUvarint(b, e.Op.Num)
	}
	return b
}

// decodeCommitment decodes the view stored under key k with value b. A
// record that does not decode exactly is an ErrInvariant.
func decodeCommitment(k, b []byte) (Commitment, error) {
	var c Commitment
	bad := func(what string) (Commitment, error) {
		return Commitment{}, fmt.Errorf("%w: commitment record %x: %s", ErrInvariant, k, what)
	}
	ref, rest, ok := parseRefKey(k)
	if !ok || len(rest) != 0 {
		return bad("malformed key")
	}
	c.Ref = ref
	d := decoder{b: b}
	if f := d.byte(); f != commitmentFormat {
		return bad(fmt.Sprintf("format %d", f))
	}
	flags := d.byte()
	if flags&^flagsKnown != 0 {
		return bad(fmt.Sprintf("flags %#x", flags))
	}
	c.Created, c.Public = flags&flagCreated != 0, flags&flagPublic != 0
	c.CreatedBy = d.string()
	c.CreatedAt = protocol.HLC(d.u64())
	copy(c.CreatedDevice[:], d.bytes(16))
	c.Category = domain.Category(d.string())
	c.Title = d.string()
	c.Text = d.string()
	c.LegalBasis = d.string()
	c.Responsible = d.string()
	c.StartDate = d.string()
	c.Deadline = d.string()
	c.Status = domain.Status(d.string())
	c.Version = d.int()
	nc := d.uvarint()
	if nc > uint64(len(d.b)) { // each takes at least its length byte
		return bad("conflicted count past the end")
	}
	for range nc {
		c.Conflicted = append(c.Conflicted, domain.Field(d.string()))
	}
	c.UpdatedAt = protocol.HLC(d.u64())
	c.Entries = d.int()
	c.Progress = d.int()
	if flags&flagLastEntry != 0 {
		e := &EntryPointer{}
		e.Date = calendar.Date{Year: d.int()}
		e.Date.Month = time.Month(d.int())
		e.Date.Day = d.int()
		e.HLC = protocol.HLC(d.u64())
		copy(e.Op.Device[:], d.bytes(16))
		e.Op.Num = d.uvarint()
		c.LastEntry = e
	}
	if d.err {
		return bad("truncated")
	}
	if len(d.b) != 0 {
		return bad("trailing bytes")
	}
	return c, nil
}

// int reads a varint that must fit an int.
func (d *decoder) int() int {
	if d.err {
		return 0
	}
	x, n := binary.Varint(d.b)
	if n <= 0 || int64(int(x)) != x {
		d.err = true
		return 0
	}
	d.b = d.b[n:]
	return int(x)
}
