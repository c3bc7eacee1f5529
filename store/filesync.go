package store

import (
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/sync/protocol"
)

// A device that syncs by USB stick (docs/sync-file.md) keeps, beside its
// replica and never replicated, what it needs to tell a return file it
// waits for from an old one: the bundles it exported and not yet saw
// answered, and the number of the last return file it imported. Both
// kinds of sync, online and by file, also note when and how the last one
// happened, for the status bar.

var (
	kFileSync = []byte("filesync") // FileSync, JSON
	kLastSync = []byte("lastsync") // LastSync, JSON
)

// MaxExportedBundles bounds the bundles a device remembers as waiting for
// their return file: exporting more forgets the oldest, whose return file
// is then refused as stale.
const MaxExportedBundles = 64

// FileSync is a device's record of its sync files.
type FileSync struct {
	// Number is the number of the last bundle exported (0: none yet).
	Number uint64 `json:"number"`
	// Exported are the bundles exported and not answered yet, oldest
	// first.
	Exported []ExportedBundle `json:"exported,omitempty"`
	// Imported is the number of the bundle whose return file was imported
	// last: a return file answering it or an older one is stale.
	Imported uint64 `json:"imported"`
	// CountyHead, when not zero, is the sequence number up to which the
	// county holds this device's chain by its last return file, when that
	// was below what it had receipted before: a county restored from an
	// older backup. The next bundle carries the change sets after it
	// again.
	CountyHead uint64 `json:"county_head,omitempty"`
}

// ExportedBundle is one bundle the device exported.
type ExportedBundle struct {
	Number uint64        `json:"number"`
	Digest protocol.Hash `json:"digest"`
	Time   time.Time     `json:"time"`
	// Cursor is the feed cursor the bundle gave: a return file whose feed
	// starts before it tells the county started its feed again.
	Cursor uint64 `json:"cursor"`
}

// Waiting returns the exported bundle with this number and digest, if the
// device still waits for its return file.
func (f FileSync) Waiting(number uint64, digest protocol.Hash) (ExportedBundle, bool) {
	if number <= f.Imported {
		return ExportedBundle{}, false
	}
	for _, b := range f.Exported {
		if b.Number == number && b.Digest == digest {
			return b, true
		}
	}
	return ExportedBundle{}, false
}

// How a sync happened.
const (
	SyncedOnline = "online" // a session with the county server
	SyncedByFile = "file"   // a return file imported
)

// LastSync is when and how this device last synchronised with its county:
// the end of an online session that caught up with the county's feed, or
// a return file imported.
type LastSync struct {
	Time time.Time `json:"time"`
	Via  string    `json:"via"` // SyncedOnline or SyncedByFile
}

// FileSyncState returns the device's record of its sync files.
func (s *Store) FileSyncState() (FileSync, error) {
	var f FileSync
	err := s.db.View(func(tx *bolt.Tx) error { return getMetaJSON(tx, kFileSync, &f) })
	return f, err
}

// RecordExport notes a bundle exported: its number becomes the last, and
// its return file is awaited.
func (s *Store) RecordExport(b ExportedBundle) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		var f FileSync
		if err := getMetaJSON(tx, kFileSync, &f); err != nil {
			return err
		}
		f.Number = max(f.Number, b.Number)
		f.Exported = append(f.Exported, b)
		if n := len(f.Exported) - MaxExportedBundles; n > 0 {
			f.Exported = f.Exported[n:]
		}
		return tx.Bucket(bMeta).Put(kFileSync, marshal(f))
	})
}

// RecordImport notes a return file imported, answering bundle number: it
// and every older bundle are answered, countyHead is kept if it is behind
// what the county receipted before (0 clears it), and the last sync is
// now, by file.
func (s *Store) RecordImport(number, countyHead uint64, at time.Time) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		var f FileSync
		if err := getMetaJSON(tx, kFileSync, &f); err != nil {
			return err
		}
		f.Imported = max(f.Imported, number)
		kept := f.Exported[:0]
		for _, b := range f.Exported {
			if b.Number > f.Imported {
				kept = append(kept, b)
			}
		}
		f.Exported, f.CountyHead = kept, countyHead
		if err := tx.Bucket(bMeta).Put(kFileSync, marshal(f)); err != nil {
			return err
		}
		return tx.Bucket(bMeta).Put(kLastSync, marshal(LastSync{Time: at.UTC(), Via: SyncedByFile}))
	})
}

// SetLastSync notes when and how the device last synchronised.
func (s *Store) SetLastSync(l LastSync) error {
	l.Time = l.Time.UTC()
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Put(kLastSync, marshal(l)) })
}

// LastSyncState returns when and how the device last synchronised; ok is
// false if it never has (or only before this was recorded).
func (s *Store) LastSyncState() (l LastSync, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		ok = tx.Bucket(bMeta).Get(kLastSync) != nil
		return getMetaJSON(tx, kLastSync, &l)
	})
	return l, ok, err
}

// getMetaJSON reads the JSON value of a meta key into v; a missing key
// leaves v as it is.
func getMetaJSON(tx *bolt.Tx, k []byte, v any) error {
	raw := tx.Bucket(bMeta).Get(k)
	if raw == nil {
		return nil
	}
	return unmarshal(raw, v)
}

// SignSyncBundle signs a bundle's digest with the device key
// (protocol.SignBundle).
func (se *Session) SignSyncBundle(digest protocol.Hash) []byte {
	return protocol.SignBundle(se.key, digest)
}

// CaughtUp moves the feed cursor to pos, as ApplyFrom with no change set
// does, and notes an online sync at at, in one transaction: a session that
// has caught up with the county's feed has synchronised.
func (s *Store) CaughtUp(pos uint64, at time.Time) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bMeta)
		if pos > getU64(m, kCursor) {
			if err := putU64(m, kCursor, pos); err != nil {
				return err
			}
		}
		return m.Put(kLastSync, marshal(LastSync{Time: at.UTC(), Via: SyncedOnline}))
	})
}
