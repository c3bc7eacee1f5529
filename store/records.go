package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// Ref names a commitment: the office it belongs to and its ID. The office is
// part of every key, so an operation can only ever touch records of the
// office it claims, and that claim is checked against the signer's scope.
type Ref struct {
	Office office.Code       `json:"office"`
	ID     protocol.EntityID `json:"id"`
}

// String returns "office/id".
func (r Ref) String() string { return string(r.Office) + "/" + r.ID.String() }

// Commitment is the current view of a commitment on this replica, derived
// from every version of every field it has received. Where a field is
// conflicted it holds the provisional value, the same on every replica.
type Commitment struct {
	Ref
	Created       bool              `json:"created"` // the create operation has arrived
	CreatedBy     string            `json:"created_by,omitempty"`
	CreatedAt     protocol.HLC      `json:"created_at,omitempty"`
	CreatedDevice protocol.DeviceID `json:"created_device"`

	Category    domain.Category `json:"category"`
	Title       string          `json:"title"`
	Text        string          `json:"text"`
	LegalBasis  string          `json:"legal_basis"`
	Responsible string          `json:"responsible"`
	StartDate   string          `json:"start_date"`
	Deadline    string          `json:"deadline"`
	Public      bool            `json:"public"`
	Status      domain.Status   `json:"status"`

	Version    int            `json:"version"`              // 1 + number of amendments
	Conflicted []domain.Field `json:"conflicted,omitempty"` // fields awaiting reconciliation
	UpdatedAt  protocol.HLC   `json:"updated_at"`           // newest stamp of any operation on it

	Entries   int           `json:"entries"`              // fulfilment entries
	Progress  int           `json:"progress"`             // of the latest entry
	LastEntry *EntryPointer `json:"last_entry,omitempty"` // the latest entry by date, then stamp
}

// EntryPointer identifies the latest fulfilment entry of a commitment: the
// one with the latest date, ties broken by stamp and operation, so the same
// entry is "latest" on every replica whatever order entries arrived in.
type EntryPointer struct {
	Date calendar.Date `json:"date"`
	HLC  protocol.HLC  `json:"hlc"`
	Op   protocol.OpID `json:"op"`
}

func (p *EntryPointer) before(q *EntryPointer) bool {
	if c := p.Date.Compare(q.Date); c != 0 {
		return c < 0
	}
	if p.HLC != q.HLC {
		return p.HLC < q.HLC
	}
	return p.Op.Compare(q.Op) < 0
}

// Get returns the stored string form of a field's value.
func (c *Commitment) Get(f domain.Field) string {
	switch f {
	case domain.FieldCategory:
		return string(c.Category)
	case domain.FieldTitle:
		return c.Title
	case domain.FieldText:
		return c.Text
	case domain.FieldLegalBasis:
		return c.LegalBasis
	case domain.FieldResponsible:
		return c.Responsible
	case domain.FieldStartDate:
		return c.StartDate
	case domain.FieldDeadline:
		return c.Deadline
	case domain.FieldPublic:
		if c.Public {
			return "true"
		}
		return "false"
	case domain.FieldStatus:
		return string(c.Status)
	}
	return ""
}

func (c *Commitment) set(f domain.Field, v string) {
	switch f {
	case domain.FieldCategory:
		c.Category = domain.Category(v)
	case domain.FieldTitle:
		c.Title = v
	case domain.FieldText:
		c.Text = v
	case domain.FieldLegalBasis:
		c.LegalBasis = v
	case domain.FieldResponsible:
		c.Responsible = v
	case domain.FieldStartDate:
		c.StartDate = v
	case domain.FieldDeadline:
		c.Deadline = v
	case domain.FieldPublic:
		c.Public = v == "true"
	case domain.FieldStatus:
		c.Status = domain.Status(v)
	}
}

// Start returns the parsed start date (zero if none).
func (c *Commitment) Start() calendar.Date {
	d, _ := calendar.ParseDate(c.StartDate)
	return d
}

// DeadlineValue returns the parsed deadline.
func (c *Commitment) DeadlineValue() domain.Deadline {
	d, _ := domain.ParseDeadline(c.Deadline)
	return d
}

// IsConflicted reports whether any field awaits reconciliation.
func (c *Commitment) IsConflicted() bool { return len(c.Conflicted) > 0 }

// Version is one value written to one field: the history of a commitment is
// the set of its versions. Versions are never deleted.
type Version struct {
	Field  domain.Field    `json:"field"`
	Op     protocol.OpID   `json:"op"`
	HLC    protocol.HLC    `json:"hlc"`
	Kind   string          `json:"kind"` // the operation kind: create, edit, amend, transition, resolve
	Value  string          `json:"value"`
	Base   []protocol.OpID `json:"base,omitempty"`
	Author string          `json:"author"`
	Role   domain.Role     `json:"role"`
	Reason string          `json:"reason,omitempty"`
}

// after reports whether v sorts after w in the provisional order: the later
// stamp wins, ties broken by device and operation number, so every replica
// picks the same provisional value.
func (v *Version) after(w *Version) bool {
	if v.HLC != w.HLC {
		return v.HLC > w.HLC
	}
	return v.Op.Compare(w.Op) > 0
}

// Conflict is a field with more than one current version: edits made on
// different devices without knowledge of each other.
type Conflict struct {
	Ref         Ref          `json:"ref"`
	Field       domain.Field `json:"field"`
	Versions    []Version    `json:"versions"`    // the competing versions, provisional first
	Provisional string       `json:"provisional"` // the value every replica shows meanwhile
}

// Amendment is a published commitment's visible change (变更), with reason.
type Amendment struct {
	Op      protocol.OpID  `json:"op"`
	HLC     protocol.HLC   `json:"hlc"`
	Author  string         `json:"author"`
	Reason  string         `json:"reason"`
	Fields  []domain.Field `json:"fields"`
	Version int            `json:"-"` // the version it created, filled on read
}

// Entry is a fulfilment entry (践诺记录).
type Entry struct {
	Op       protocol.OpID   `json:"op"`
	HLC      protocol.HLC    `json:"hlc"`
	Author   string          `json:"author"`
	Date     calendar.Date   `json:"date"`
	Progress int             `json:"progress"`
	Note     string          `json:"note"`
	Evidence []protocol.Hash `json:"evidence,omitempty"`
}

// Evidence describes an evidence file (佐证材料) recorded by an operation.
type Evidence struct {
	Op     protocol.OpID `json:"op"`
	Office office.Code   `json:"office"` // whose record cites it: who may fetch its content
	Hash   protocol.Hash `json:"hash"`
	Name   string        `json:"name"`
	MIME   string        `json:"mime"`
	Size   int64         `json:"size"`
	Author string        `json:"author"`
}

// chainHead is what this replica accepted last from a device.
type chainHead = protocol.Head

func encodeHead(h chainHead) []byte {
	b := binary.BigEndian.AppendUint64(nil, h.Seq)
	b = append(b, h.Hash[:]...)
	return binary.BigEndian.AppendUint64(b, h.LastOp)
}

func decodeHead(b []byte) (chainHead, error) {
	var h chainHead
	if len(b) != 48 {
		return h, fmt.Errorf("%w: chain head of %d bytes", ErrInvariant, len(b))
	}
	h.Seq = binary.BigEndian.Uint64(b)
	copy(h.Hash[:], b[8:40])
	h.LastOp = binary.BigEndian.Uint64(b[40:])
	return h, nil
}

// Keys. Every key starts with the ref, so a commitment's records sit
// together and a prefix scan finds them.

func refKey(r Ref) []byte {
	b := make([]byte, 0, 1+len(r.Office)+16)
	b = append(b, byte(len(r.Office)))
	b = append(b, r.Office...)
	return append(b, r.ID[:]...)
}

func parseRefKey(k []byte) (Ref, []byte, bool) {
	if len(k) < 1 || len(k) < 1+int(k[0])+16 {
		return Ref{}, nil, false
	}
	n := int(k[0])
	var r Ref
	r.Office = office.Code(k[1 : 1+n])
	copy(r.ID[:], k[1+n:1+n+16])
	return r, k[1+n+16:], true
}

func opKey(b []byte, id protocol.OpID) []byte {
	b = append(b, id.Device[:]...)
	return binary.BigEndian.AppendUint64(b, id.Num)
}

func fieldKey(r Ref, f domain.Field) []byte {
	b := refKey(r)
	b = append(b, byte(len(f)))
	return append(b, f...)
}

func versionKey(r Ref, f domain.Field, id protocol.OpID) []byte {
	return opKey(fieldKey(r, f), id)
}

func entryKey(r Ref, hlc protocol.HLC, id protocol.OpID) []byte {
	b := binary.BigEndian.AppendUint64(refKey(r), uint64(hlc))
	return opKey(b, id)
}

func logKey(dev protocol.DeviceID, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(nil), dev[:]...), seq)
}

func seqKey(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// marshal encodes a record. encoding/json writes struct fields in order and
// map keys sorted, so equal records give equal bytes on every replica.
func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("store: encoding a record: " + err.Error()) // only plain data types are encoded
	}
	return b
}

func unmarshal(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: decoding %T: %v", ErrInvariant, v, err)
	}
	return nil
}

func hasPrefix(k, p []byte) bool { return bytes.HasPrefix(k, p) }
