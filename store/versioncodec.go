package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain"
	"jiannuo/sync/protocol"
)

// Versions are the store's most numerous records (about three an
// operation, two thirds of a township file's bytes in schema 7), so since
// schema 8 they are kept in a compact binary encoding rather than JSON
// (issue #15). The field and the operation are not repeated in the value:
// the key (versionKey) holds them, so a version is decoded from its key
// and value together and the two cannot disagree.
//
// The value, after a format byte (versionFormat):
//
//	hlc      8 bytes, big-endian
//	kind     uvarint length, bytes
//	value    uvarint length, bytes
//	base     uvarint count, then each: device (16 bytes), uvarint number
//	author   uvarint length, bytes
//	role     uvarint length, bytes
//	reason   uvarint length, bytes
//
// Nothing may follow. The encoding is a function of the Version alone,
// so replicas holding the same change sets hold the same bytes (Digest).
const versionFormat = 1

// encodeVersion returns the value stored under versionKey(ref, v.Field, v.Op).
func encodeVersion(v *Version) []byte {
	n := 1 + 8 + 6*binary.MaxVarintLen16 + len(v.Kind) + len(v.Value) + len(v.Author) + len(v.Role) + len(v.Reason) +
		len(v.Base)*(16+binary.MaxVarintLen64)
	b := make([]byte, 0, n)
	b = append(b, versionFormat)
	b = binary.BigEndian.AppendUint64(b, uint64(v.HLC))
	b = appendString(b, v.Kind)
	b = appendString(b, v.Value)
	b = binary.AppendUvarint(b, uint64(len(v.Base)))
	for _, id := range v.Base {
		b = append(b, id.Device[:]...)
		b = binary.AppendUvarint(b, id.Num)
	}
	b = appendString(b, v.Author)
	b = appendString(b, string(v.Role))
	return appendString(b, v.Reason)
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// decodeVersion decodes the version stored under key k with value b. A
// record that does not decode exactly is an ErrInvariant.
func decodeVersion(k, b []byte) (Version, error) {
	var v Version
	bad := func(what string) (Version, error) {
		return Version{}, fmt.Errorf("%w: version record %x: %s", ErrInvariant, k, what)
	}
	_, rest, ok := parseRefKey(k)
	if !ok || len(rest) < 1 || len(rest) != 1+int(rest[0])+16+8 {
		return bad("malformed key")
	}
	n := int(rest[0])
	v.Field = domain.Field(rest[1 : 1+n])
	copy(v.Op.Device[:], rest[1+n:1+n+16])
	v.Op.Num = binary.BigEndian.Uint64(rest[1+n+16:])
	d := decoder{b: b}
	if f := d.byte(); f != versionFormat {
		return bad(fmt.Sprintf("format %d", f))
	}
	v.HLC = protocol.HLC(d.u64())
	v.Kind = d.string()
	v.Value = d.string()
	nb := d.uvarint()
	if nb > uint64(len(d.b))/17 { // each base takes at least 17 bytes
		return bad("base count past the end")
	}
	if nb > 0 {
		v.Base = make([]protocol.OpID, nb)
		for i := range v.Base {
			copy(v.Base[i].Device[:], d.bytes(16))
			v.Base[i].Num = d.uvarint()
		}
	}
	v.Author = d.string()
	v.Role = domain.Role(d.string())
	v.Reason = d.string()
	if d.err {
		return bad("truncated")
	}
	if len(d.b) != 0 {
		return bad("trailing bytes")
	}
	return v, nil
}

// decoder reads a record front to back; a read past the end sets err and
// returns zero values from then on.
type decoder struct {
	b   []byte
	err bool
}

func (d *decoder) bytes(n int) []byte {
	if d.err || n < 0 || n > len(d.b) {
		d.err = true
		return make([]byte, max(n, 0))
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) byte() byte { return d.bytes(1)[0] }

func (d *decoder) u64() uint64 { return binary.BigEndian.Uint64(d.bytes(8)) }

func (d *decoder) uvarint() uint64 {
	if d.err {
		return 0
	}
	x, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = true
		return 0
	}
	d.b = d.b[n:]
	return x
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err = true
		return ""
	}
	return string(d.bytes(int(n)))
}

// scanVersions returns the versions whose keys begin with prefix, in key
// order.
func scanVersions(tx *bolt.Tx, prefix []byte) ([]Version, error) {
	return scanDecoded(tx.Bucket(bVersions), prefix, decodeVersion)
}

// scanDecoded returns the binary records of b whose keys begin with
// prefix, in key order, each decoded from its key and value.
func scanDecoded[T any](b *bolt.Bucket, prefix []byte, decode func(k, v []byte) (T, error)) ([]T, error) {
	var out []T
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
		r, err := decode(k, v)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// migrateChunk is how many records rewriteBucket converts between two
// seeks; a variable so a test can make a small file take several chunks.
var migrateChunk = 4096

// recordsToBinary is the migration from schema 7: it rewrites every
// version record and every commitment view, JSON until then, in the binary
// encodings, in place and in the migration's one transaction. A record
// that does not decode, or a version whose JSON names another field or
// operation than its key, is an invariant broken before the migration: it
// fails, and the file stays at schema 7.
func recordsToBinary(tx *bolt.Tx) error {
	err := jsonToBinary(tx.Bucket(bVersions), "version", func(k []byte, v *Version) []byte {
		ref, _, _ := parseRefKey(k)
		return versionKey(ref, v.Field, v.Op)
	}, encodeVersion)
	if err != nil {
		return err
	}
	return jsonToBinary(tx.Bucket(bCommitments), "commitment", func(_ []byte, c *Commitment) []byte { return refKey(c.Ref) }, encodeCommitment)
}

// jsonToBinary is a migration's conversion of the records of b, named
// what in errors, from JSON to a binary encoding (encode). A record that
// does not decode, or whose JSON names another record than its key says
// (keyOf gives the key its content names), is an invariant broken before
// the migration: it fails, and nothing of it is stored.
func jsonToBinary[T any](b *bolt.Bucket, what string, keyOf func(k []byte, v *T) []byte, encode func(*T) []byte) error {
	return rewriteBucket(b, func(k, v []byte) ([]byte, error) {
		var old T
		if err := json.Unmarshal(v, &old); err != nil {
			return nil, fmt.Errorf("%w: %s record %x: %v", ErrInvariant, what, k, err)
		}
		if named := keyOf(k, &old); string(named) != string(k) {
			return nil, fmt.Errorf("%w: %s record %x names another record (%x)", ErrInvariant, what, k, named)
		}
		return encode(&old), nil
	})
}

// rewriteBucket replaces every value of b by convert's. bbolt forbids
// changing a bucket under a live cursor, so the records are converted a
// chunk at a time, seeking past the last key rewritten: memory stays
// bounded on a file of millions.
func rewriteBucket(b *bolt.Bucket, convert func(k, v []byte) ([]byte, error)) error {
	type rec struct{ k, v []byte }
	var from []byte
	for {
		var batch []rec
		c := b.Cursor()
		k, v := c.First()
		if from != nil {
			k, v = c.Seek(from)
			if k != nil && string(k) == string(from) {
				k, v = c.Next()
			}
		}
		for ; k != nil && len(batch) < migrateChunk; k, v = c.Next() {
			nv, err := convert(k, v)
			if err != nil {
				return err
			}
			batch = append(batch, rec{append([]byte(nil), k...), nv})
		}
		if len(batch) == 0 {
			return nil
		}
		for _, r := range batch {
			if err := b.Put(r.k, r.v); err != nil {
				return err
			}
		}
		from = batch[len(batch)-1].k
	}
}
