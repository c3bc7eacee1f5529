package store

import (
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Snapshot copies the store's file, as one read transaction sees it, to a
// new temporary file in dir (mode 0600) and returns it open at its start,
// for a backup to read at leisure: the caller closes and removes it. fn,
// if set, runs inside the same transaction first, so what it reads (the
// feed head, say) describes exactly the copy.
//
// The copy is made to local disk rather than streamed to a slow reader
// because bbolt cannot grow its file while a read transaction is open: a
// writer needing more room waits for it (store/doc.go). So the ingest of a
// server waits at most for a local copy of the file, never for a network.
func (s *Store) Snapshot(dir string, fn func(tx *bolt.Tx) error) (f *os.File, err error) {
	f, err = os.CreateTemp(dir, ".snapshot-*.db")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return nil, err
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		if fn != nil {
			if err := fn(tx); err != nil {
				return err
			}
		}
		n, err := tx.WriteTo(f)
		if err == nil && n != tx.Size() {
			err = fmt.Errorf("snapshot of %d bytes, the file has %d", n, tx.Size())
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, 0); err != nil {
		return nil, err
	}
	return f, nil
}

var kLastBackup = []byte("last_backup") // RFC 3339 time of this replica's last backup (local)

// SetLastBackup records when this replica was last backed up, for the
// reminder of a device whose backup is getting old.
func (s *Store) SetLastBackup(t time.Time) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bMeta).Put(kLastBackup, []byte(t.UTC().Format(time.RFC3339)))
	})
}

// LastBackup returns when this replica was last backed up; ok is false if
// never. since is when the replica was made (or, if it says nothing of
// it, zero): what a reminder counts from before the first backup.
func (s *Store) LastBackup() (last time.Time, ok bool, since time.Time, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bMeta)
		since, _ = time.Parse(time.RFC3339, string(m.Get(kCreated)))
		if v := m.Get(kLastBackup); v != nil {
			t, perr := time.Parse(time.RFC3339, string(v))
			last, ok = t, perr == nil
		}
		return nil
	})
	return last, ok, since, err
}
