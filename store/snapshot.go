package store

import (
	"fmt"
	"os"

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
