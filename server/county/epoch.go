package county

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// The feed epoch (protocol.Epoch) names one life of the county's feed. It
// is made at init (or at the first start of an older data directory) and
// made anew by a restore from a backup (MarkRestored), since the restored
// feed gives positions again to other change sets than the lost ones did.
// A device or municipal node that says in its hello which epoch its cursor
// counts in gets the county's in the welcome; when they differ, the
// session streams the feed from the start whatever the cursor says, and
// the peer starts its cursor again (docs/protocol.md, "Restored county").
//
// A restore also gives the server its own device anew
// (protocol.ServerDeviceKeyAt): the old one's chain may have change sets
// after the backup that only the devices hold now, and continuing it would
// sign others with their numbers. Every server device the county had is
// kept in x-serverdevices, so what they signed is accepted again when the
// devices bring it back.

var (
	bMeta          = []byte("x-meta")          // kEpoch, kServerEpoch
	bServerDevices = []byte("x-serverdevices") // epoch (16 bytes; zero: the device made at init) -> its device ID
	kEpoch         = []byte("epoch")           // the feed epoch (16 bytes)
	kServerEpoch   = []byte("server_epoch")    // the epoch the server device signing now derives from (absent: zero)
)

// AuditRestore is the audit action a restore from a backup records in the
// restored file.
const AuditRestore = "restore"

func newEpoch() protocol.Epoch {
	var e protocol.Epoch
	rand.Read(e[:])
	return e
}

func getEpoch(tx *bolt.Tx, key []byte) protocol.Epoch {
	var e protocol.Epoch
	copy(e[:], tx.Bucket(bMeta).Get(key))
	return e
}

// ensureEpoch returns the feed epoch, making one if the file has none (a
// data directory made before epochs).
func ensureEpoch(st *store.Store) (protocol.Epoch, error) {
	var e protocol.Epoch
	err := st.Update(func(tx *bolt.Tx) error {
		if e = getEpoch(tx, kEpoch); !e.IsZero() {
			return nil
		}
		e = newEpoch()
		return tx.Bucket(bMeta).Put(kEpoch, e[:])
	})
	return e, err
}

// Epoch returns the feed epoch the server serves.
func (s *Server) Epoch() protocol.Epoch { return s.epoch }

// ownDevice reports whether dev is one of the server's own devices, of
// this epoch or an earlier one.
func (s *Server) ownDevice(dev protocol.DeviceID) bool { return s.ownDevices[dev] }

// RestoreConfig describes the restore MarkRestored records.
type RestoreConfig struct {
	// Backup is the manifest's creation time of the backup restored, for
	// the audit entry.
	Backup time.Time
	// Who restored it (the operating system user, say), for the audit
	// entry.
	Who string
	// ServerEpochs are the epochs of server devices the county had in the
	// directory the restore replaces (KnownServerEpochs of its file): a
	// backup older than a previous restore does not know that restore's
	// server device, whose change sets the devices may bring back.
	ServerEpochs []protocol.Epoch
	// Now is the clock; nil means time.Now. Logger nil means slog.Default().
	Now    func() time.Time
	Logger *slog.Logger
}

// MarkRestored makes the data directory dir, just restored from a backup
// and not served yet, a new life of the feed: a new feed epoch, a new
// server device to sign with (the backup's may have signed more since),
// and an audit entry. It returns the new epoch.
func MarkRestored(dir string, cfg RestoreConfig) (protocol.Epoch, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if _, err := LoadIdentity(dir); err != nil {
		return protocol.Epoch{}, err
	}
	st, err := store.Open(filepath.Join(dir, fileDB), &store.Options{Feed: true, Now: cfg.Now, Logger: cfg.Logger})
	if err != nil {
		return protocol.Epoch{}, err
	}
	defer st.Close()
	if err := ensureBuckets(st); err != nil {
		return protocol.Epoch{}, err
	}
	e := newEpoch()
	err = st.Update(func(tx *bolt.Tx) error {
		old := getEpoch(tx, kEpoch)
		m := tx.Bucket(bMeta)
		if err := m.Put(kEpoch, e[:]); err != nil {
			return err
		}
		if err := m.Put(kServerEpoch, e[:]); err != nil {
			return err
		}
		for _, se := range cfg.ServerEpochs {
			if b := tx.Bucket(bServerDevices); b.Get(se[:]) == nil {
				// Its device ID is written when the server registers it.
				if err := b.Put(se[:], nil); err != nil {
					return err
				}
			}
		}
		head := store.FeedHeadTx(tx)
		return putAudit(tx, countyapi.AuditEntry{Time: cfg.Now(), Who: cfg.Who, Action: AuditRestore, Target: e.String(),
			Detail: fmt.Sprintf("backup of %s, feed head %d, epoch %s before", cfg.Backup.UTC().Format(time.RFC3339), head, old)})
	})
	if err != nil {
		return protocol.Epoch{}, err
	}
	return e, nil
}

// KnownServerEpochs returns the epochs of every server device the county
// file at path has had (the zero epoch for the one made at init), for a
// restore that replaces it (RestoreConfig.ServerEpochs). The file must not
// be open elsewhere.
func KnownServerEpochs(path string) ([]protocol.Epoch, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var out []protocol.Epoch
	err = db.View(func(tx *bolt.Tx) error {
		out = append(out, protocol.Epoch{})
		if m := tx.Bucket(bMeta); m != nil {
			var cur protocol.Epoch
			copy(cur[:], m.Get(kServerEpoch))
			if !cur.IsZero() {
				out = append(out, cur)
			}
		}
		b := tx.Bucket(bServerDevices)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, _ []byte) error {
			var e protocol.Epoch
			copy(e[:], k)
			if !e.IsZero() {
				out = append(out, e)
			}
			return nil
		})
	})
	return out, err
}
