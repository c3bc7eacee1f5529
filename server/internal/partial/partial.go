// Package partial keeps the chunks of a file being received in a bucket of
// the receiver's own bbolt file ("x-" buckets beside a replica), keyed by
// the file's hash and each chunk's offset, so a transfer cut at any byte
// resumes from what is on disk, across sessions and restarts. The county
// server keeps evidence uploads and the files filed with public cases this
// way; a municipal node keeps the evidence it fetches from counties.
//
// Callers check sizes and hashes: the package only stores contiguous
// chunks and gives them back.
package partial

import (
	"bytes"
	"encoding/binary"

	bolt "go.etcd.io/bbolt"

	"jiannuo/sync/protocol"
)

func key(h protocol.Hash, off int64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(nil), h[:]...), uint64(off))
}

// Have returns how many contiguous bytes of file h bucket b holds from the
// start.
func Have(b *bolt.Bucket, h protocol.Hash) int64 {
	var n int64
	c := b.Cursor()
	for k, v := c.Seek(h[:]); k != nil && bytes.HasPrefix(k, h[:]); k, v = c.Next() {
		if int64(binary.BigEndian.Uint64(k[len(h):])) != n {
			break
		}
		n += int64(len(v))
	}
	return n
}

// Put stores a chunk of h at offset off, and returns the bytes now held and
// whether the chunk was taken: only a chunk that starts exactly at what is
// held is (after a cut the sender may be out of step; it is asked again
// from the returned offset).
func Put(b *bolt.Bucket, h protocol.Hash, off int64, data []byte) (have int64, took bool, err error) {
	have = Have(b, h)
	if off != have || len(data) == 0 {
		return have, false, nil
	}
	if err := b.Put(key(h, off), data); err != nil {
		return have, false, err
	}
	return have + int64(len(data)), true, nil
}

// Whole returns every chunk of h held, concatenated.
func Whole(b *bolt.Bucket, h protocol.Hash) []byte {
	var out []byte
	c := b.Cursor()
	for k, v := c.Seek(h[:]); k != nil && bytes.HasPrefix(k, h[:]); k, v = c.Next() {
		out = append(out, v...)
	}
	return out
}

// Drop forgets every chunk of h.
func Drop(b *bolt.Bucket, h protocol.Hash) error {
	c := b.Cursor()
	for k, _ := c.Seek(h[:]); k != nil && bytes.HasPrefix(k, h[:]); k, _ = c.Seek(h[:]) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}
