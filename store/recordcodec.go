package store

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// Since schema 9 the records written for every received operation besides
// versions and views (versioncodec.go, commitcodec.go) are binary too: a
// fulfilment entry (three operations in five on a busy county), an
// amendment, and a server's feed entry (one per change set, read by every
// session that streams the feed). What the key holds is not repeated in
// the value, and each record is decoded from key and value together, so
// the two cannot disagree. Each value starts with a format byte; nothing
// may follow the last field. The encodings are functions of the record
// alone, so replicas holding the same change sets hold the same bytes.
const (
	// entryFormat: author, date (year, month, day as uvarints), progress
	// (uvarint), note, evidence (uvarint count, then 32-byte hashes). The
	// key (entryKey) holds the commitment, the stamp and the operation.
	entryFormat = 1
	// amendmentFormat: stamp (8 bytes), author, reason, fields (uvarint
	// count, then each a string). The key (opKey(refKey)) holds the
	// commitment and the operation.
	amendmentFormat = 1
	// feedFormat: device (16 bytes), sequence (uvarint), hash (32 bytes),
	// office, commit time (8 bytes, Unix milliseconds). The key
	// (seqKey) holds the position.
	feedFormat = 1
)

// encodeEntry returns the value stored under entryKey(ref, e.HLC, e.Op).
func encodeEntry(e *Entry) []byte {
	b := make([]byte, 0, 1+len(e.Author)+len(e.Note)+len(e.Evidence)*32+6*binary.MaxVarintLen32)
	b = append(b, entryFormat)
	b = appendString(b, e.Author)
	b = binary.AppendUvarint(b, uint64(e.Date.Year))
	b = binary.AppendUvarint(b, uint64(e.Date.Month))
	b = binary.AppendUvarint(b, uint64(e.Date.Day))
	b = binary.AppendUvarint(b, uint64(e.Progress))
	b = appendString(b, e.Note)
	b = binary.AppendUvarint(b, uint64(len(e.Evidence)))
	for _, h := range e.Evidence {
		b = append(b, h[:]...)
	}
	return b
}

// decodeEntry decodes the entry stored under key k with value b. A record
// that does not decode exactly is an ErrInvariant.
func decodeEntry(k, b []byte) (Entry, error) {
	var e Entry
	bad := func(what string) (Entry, error) {
		return Entry{}, fmt.Errorf("%w: entry record %x: %s", ErrInvariant, k, what)
	}
	_, rest, ok := parseRefKey(k)
	if !ok || len(rest) != 8+16+8 {
		return bad("malformed key")
	}
	e.HLC = protocol.HLC(binary.BigEndian.Uint64(rest))
	copy(e.Op.Device[:], rest[8:24])
	e.Op.Num = binary.BigEndian.Uint64(rest[24:])
	d := decoder{b: b}
	if f := d.byte(); f != entryFormat {
		return bad(fmt.Sprintf("format %d", f))
	}
	e.Author = d.string()
	y, m, day, p := d.uvarint(), d.uvarint(), d.uvarint(), d.uvarint()
	// Bounds that keep the conversions exact; the values are checked
	// against the domain's rules on the way in (protocol.Op.Validate).
	if y > 1<<20 || m > 12 || day > 31 || p > 1<<20 {
		return bad("date or progress out of range")
	}
	e.Date = calendar.Date{Year: int(y), Month: time.Month(m), Day: int(day)}
	e.Progress = int(p)
	e.Note = d.string()
	n := d.uvarint()
	if n > uint64(len(d.b))/32 {
		return bad("evidence count past the end")
	}
	if n > 0 {
		e.Evidence = make([]protocol.Hash, n)
		for i := range e.Evidence {
			copy(e.Evidence[i][:], d.bytes(32))
		}
	}
	if d.err {
		return bad("truncated")
	}
	if len(d.b) != 0 {
		return bad("trailing bytes")
	}
	return e, nil
}

// encodeAmendment returns the value stored under opKey(refKey(ref), a.Op).
func encodeAmendment(a *Amendment) []byte {
	n := 1 + 8 + len(a.Author) + len(a.Reason) + 3*binary.MaxVarintLen32
	for _, f := range a.Fields {
		n += len(f) + binary.MaxVarintLen32
	}
	b := make([]byte, 0, n)
	b = append(b, amendmentFormat)
	b = binary.BigEndian.AppendUint64(b, uint64(a.HLC))
	b = appendString(b, a.Author)
	b = appendString(b, a.Reason)
	b = binary.AppendUvarint(b, uint64(len(a.Fields)))
	for _, f := range a.Fields {
		b = appendString(b, string(f))
	}
	return b
}

// decodeAmendment decodes the amendment stored under key k with value b
// (Version is left zero: it is numbered on read).
func decodeAmendment(k, b []byte) (Amendment, error) {
	var a Amendment
	bad := func(what string) (Amendment, error) {
		return Amendment{}, fmt.Errorf("%w: amendment record %x: %s", ErrInvariant, k, what)
	}
	_, rest, ok := parseRefKey(k)
	if !ok || len(rest) != 16+8 {
		return bad("malformed key")
	}
	copy(a.Op.Device[:], rest[:16])
	a.Op.Num = binary.BigEndian.Uint64(rest[16:])
	d := decoder{b: b}
	if f := d.byte(); f != amendmentFormat {
		return bad(fmt.Sprintf("format %d", f))
	}
	a.HLC = protocol.HLC(d.u64())
	a.Author = d.string()
	a.Reason = d.string()
	n := d.uvarint()
	if n > uint64(len(d.b)) { // each field takes at least a byte
		return bad("field count past the end")
	}
	if n > 0 {
		a.Fields = make([]domain.Field, n)
		for i := range a.Fields {
			a.Fields[i] = domain.Field(d.string())
		}
	}
	if d.err {
		return bad("truncated")
	}
	if len(d.b) != 0 {
		return bad("trailing bytes")
	}
	return a, nil
}

// encodeFeedEntry returns the value stored under seqKey(e.Pos).
func encodeFeedEntry(e *FeedEntry) []byte {
	b := make([]byte, 0, 1+16+binary.MaxVarintLen64+32+1+len(e.Office)+8)
	b = append(b, feedFormat)
	b = append(b, e.Device[:]...)
	b = binary.AppendUvarint(b, e.Seq)
	b = append(b, e.Hash[:]...)
	b = appendString(b, string(e.Office))
	return binary.BigEndian.AppendUint64(b, uint64(e.Time))
}

// decodeFeedEntry decodes the feed entry stored under key k with value b.
func decodeFeedEntry(k, b []byte) (FeedEntry, error) {
	var e FeedEntry
	bad := func(what string) (FeedEntry, error) {
		return FeedEntry{}, fmt.Errorf("%w: feed record %x: %s", ErrInvariant, k, what)
	}
	if len(k) != 8 {
		return bad("malformed key")
	}
	e.Pos = binary.BigEndian.Uint64(k)
	d := decoder{b: b}
	if f := d.byte(); f != feedFormat {
		return bad(fmt.Sprintf("format %d", f))
	}
	copy(e.Device[:], d.bytes(16))
	e.Seq = d.uvarint()
	copy(e.Hash[:], d.bytes(32))
	e.Office = office.Code(d.string())
	e.Time = int64(d.u64())
	if d.err {
		return bad("truncated")
	}
	if len(d.b) != 0 {
		return bad("trailing bytes")
	}
	return e, nil
}

// scanEntries returns the entries whose keys begin with prefix, in key
// order.
func scanEntries(tx *bolt.Tx, prefix []byte) ([]Entry, error) {
	return scanDecoded(tx.Bucket(bEntries), prefix, decodeEntry)
}

// moreRecordsToBinary is the migration from schema 8: it rewrites every
// fulfilment entry, amendment and feed entry, JSON until then, in the
// binary encodings, in place and in the migration's one transaction. A
// record that does not decode, or whose JSON names another operation,
// stamp or position than its key, is an invariant broken before the
// migration: it fails, and the file stays at schema 8.
func moreRecordsToBinary(tx *bolt.Tx) error {
	err := jsonToBinary(tx.Bucket(bEntries), "entry", func(k []byte, e *Entry) []byte {
		ref, _, _ := parseRefKey(k)
		return entryKey(ref, e.HLC, e.Op)
	}, encodeEntry)
	if err != nil {
		return err
	}
	err = jsonToBinary(tx.Bucket(bAmendments), "amendment", func(k []byte, a *Amendment) []byte {
		ref, _, _ := parseRefKey(k)
		return opKey(refKey(ref), a.Op)
	}, encodeAmendment)
	if err != nil {
		return err
	}
	return jsonToBinary(tx.Bucket(bFeed), "feed", func(_ []byte, e *FeedEntry) []byte { return seqKey(e.Pos) }, encodeFeedEntry)
}
