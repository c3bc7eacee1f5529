package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/auth"
	"jiannuo/sync/protocol"
)

// Bucket names. Replicated buckets hold the same bytes on every replica that
// has received the same change sets; local buckets belong to this device.
var (
	// local
	bMeta     = []byte("meta")     // schema version, device identity, counters
	bDevices  = []byte("devices")  // DeviceID -> deviceRecord: who may sign what
	bPending  = []byte("pending")  // op number -> pendingOp: acted but not yet sealed
	bOutbox   = []byte("outbox")   // seq -> empty: sealed, not yet acknowledged by the county
	bAccounts = []byte("accounts") // name -> account
	bBlobs    = []byte("blobs")    // evidence hash -> content
	bFeed     = []byte("feed")     // position -> FeedEntry: accepted change sets in arrival order (servers; binary since schema 9, recordcodec.go)
	bFeedIdx  = []byte("feedidx")  // device|seq -> position in the feed
	bReceipts = []byte("receipts") // seq -> the county's signed receipt for our change set
	bUploaded = []byte("uploaded") // evidence hash -> empty: the county has the content

	// replicated
	bLog         = []byte("log")         // device|seq -> change set bytes
	bChains      = []byte("chains")      // device -> chainHead
	bCommitments = []byte("commitments") // ref -> Commitment (derived view; binary since schema 8, commitcodec.go)
	bVersions    = []byte("versions")    // ref|field|op -> Version (every value ever written; binary since schema 8, versioncodec.go)
	bConflicts   = []byte("conflicts")   // ref|field -> Conflict (derived)
	bAmendments  = []byte("amendments")  // ref|op -> Amendment (binary since schema 9)
	bEntries     = []byte("entries")     // ref|hlc|op -> Entry (binary since schema 9)
	bEvidence    = []byte("evidence")    // hash|op -> EvidenceMeta
	// schema 3: government dishonesty records
	bDishonesty    = []byte("dishonesty")     // office|record -> DishonestyRecord (derived)
	bDishonestyLog = []byte("dishonesty_log") // office|record|hlc|op -> DishonestyEvent
	// schema 4 (local): what a re-key after a fork set aside
	bForked       = []byte("forked")        // old device|seq -> change set the county never accepted (kept, carried over)
	bPrevReceipts = []byte("prev_receipts") // old device|seq -> the county's receipt, from before a re-key
	// schema 5: supervision cases (complaints and objections)
	bCases   = []byte("cases")    // office|case -> Case (derived)
	bCaseLog = []byte("case_log") // office|case|hlc|op -> CaseEvent
	// schema 6: the office's account directory (who a login is)
	bAccountDir = []byte("account_dir") // office|account -> DirectoryEntry (derived)
	bAccountLog = []byte("account_log") // office|account|hlc|op -> AccountEvent
	// schema 7: the office's year (urges and their read receipts, annual reports)
	bUrges     = []byte("urges")      // office|urge -> Urge (derived)
	bUrgeLog   = []byte("urge_log")   // office|urge|hlc|op -> UrgeEvent
	bReports   = []byte("reports")    // office|year -> AnnualReport (derived)
	bReportLog = []byte("report_log") // office|year|hlc|op -> ReportVersion
)

// replicated lists the buckets Digest covers, in a fixed order.
var replicated = [][]byte{bLog, bChains, bCommitments, bVersions, bConflicts, bAmendments, bEntries, bEvidence,
	bDishonesty, bDishonestyLog, bCases, bCaseLog, bAccountDir, bAccountLog, bUrges, bUrgeLog, bReports, bReportLog}

// allBuckets are the buckets of the current schema.
var allBuckets = append(append([][]byte(nil), v1Buckets...), bFeed, bFeedIdx, bReceipts, bUploaded,
	bDishonesty, bDishonestyLog, bForked, bPrevReceipts, bCases, bCaseLog, bAccountDir, bAccountLog,
	bUrges, bUrgeLog, bReports, bReportLog)

// v1Buckets are the buckets of the first schema; later schemas add theirs
// in their migration.
var v1Buckets = [][]byte{bMeta, bDevices, bPending, bOutbox, bAccounts, bBlobs,
	bLog, bChains, bCommitments, bVersions, bConflicts, bAmendments, bEntries, bEvidence}

// meta keys
var (
	kSchema  = []byte("schema")
	kDevice  = []byte("device")    // our DeviceID
	kNextOp  = []byte("next_op")   // next operation number to issue
	kHLC     = []byte("hlc")       // highest HLC issued or observed
	kCreated = []byte("created")   // RFC 3339 creation time, for support
	kFeed    = []byte("feed_head") // last feed position assigned
	kCursor  = []byte("cursor")    // last position of the county's feed applied here
	// re-enrolment (rekey.go)
	kSuccessor = []byte("successor")  // the next device key, sealed under the current one, while re-enrolment is pending
	kRekeys    = []byte("rekeys")     // JSON list of Rekey: every re-key of this replica
	pPrevKey   = []byte("successor/") // + old DeviceID -> the key that replaced it, sealed under it (sign-in follows the chain)
)

// SchemaVersion is the layout this build writes. Open migrates older files
// step by step and refuses newer ones.
const SchemaVersion = 9

// migrations[i] upgrades a file from schema i to i+1, inside one
// transaction, so a crash mid-migration leaves the old schema intact.
var migrations = []func(tx *bolt.Tx) error{
	0: func(tx *bolt.Tx) error { // the first release: create the buckets
		for _, b := range v1Buckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	},
	1: func(tx *bolt.Tx) error { // sync: the server's feed and the device's receipts
		for _, b := range [][]byte{bFeed, bFeedIdx, bReceipts, bUploaded} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	},
	2: func(tx *bolt.Tx) error { // government dishonesty records
		for _, b := range [][]byte{bDishonesty, bDishonestyLog} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	},
	3: func(tx *bolt.Tx) error { // re-enrolment after a fork
		for _, b := range [][]byte{bForked, bPrevReceipts} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	},
	4: func(tx *bolt.Tx) error { // supervision cases
		// No earlier release knew op kinds 10 and 11, so no log holds one:
		// the new buckets start empty and nothing is derived again.
		for _, b := range [][]byte{bCases, bCaseLog} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	},
	5: func(tx *bolt.Tx) error { // the account directory
		// Op kind 12 is new too: the directory starts empty. The accounts
		// already on the device reach it when a leader next changes the
		// accounts (Session.AnnounceAccounts).
		for _, b := range [][]byte{bAccountDir, bAccountLog} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	},
	6: func(tx *bolt.Tx) error { // the office's year: urges and annual reports
		// Op kinds 13 to 15 are new: no log holds one, the buckets start
		// empty and nothing is derived again.
		for _, b := range [][]byte{bUrges, bUrgeLog, bReports, bReportLog} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	},
	7: recordsToBinary,     // versions and commitment views in compact binary encodings (versioncodec.go, commitcodec.go)
	8: moreRecordsToBinary, // entries, amendments and feed entries too (recordcodec.go)
}

// Options configure a Store. The zero value (or nil) gives the defaults.
type Options struct {
	// Now returns the current time; nil means time.Now. Tests inject a
	// fixed clock so that stamps and "today" are reproducible.
	Now func() time.Time
	// KDF are the argon2id parameters for new passwords and sealed keys;
	// the zero value means auth.DefaultParams(). Tests use auth.TestParams().
	KDF auth.Params
	// Logger receives refused change sets and other events worth an
	// administrator's attention; nil means slog.Default().
	Logger *slog.Logger
	// LockTimeout is how long Open waits for another process holding the
	// file; zero means 2 seconds. (bbolt allows one writer process.)
	LockTimeout time.Duration
	// Feed numbers every change set this replica accepts with a position in
	// its own log, so it can serve them to others in arrival order: county
	// servers set it; devices do not need it.
	Feed bool
	// NoSync skips fsync on commit. Only for benchmarks that measure
	// everything but the disk: a store opened this way loses data on a crash.
	NoSync bool
	// Admit, if set, is asked about every received change set that
	// verifies, inside the transaction that would apply it, before
	// anything of it is stored. It sees the change sets of the batch
	// before it (the log, chain heads, cases and dishonesty records; the
	// commitment views of a batch are written at its end). An error refuses the change set exactly as a verification
	// failure does: its protocol code (CodeOf) is the result's, nothing of
	// it is stored, the batch goes on; an error without a protocol code
	// fails the whole batch. A county server refuses this way what only
	// it can judge: a public case not opened by its own device, or whose
	// intake no municipal node it knows signed (a step on a case it has
	// not seen opened it keeps, as every replica does).
	Admit func(tx *bolt.Tx, cs *protocol.ChangeSet) error
	// MmapReserve is the address space bbolt maps for the file from the
	// start (bolt.Options.InitialMmapSize). While the file fits in it,
	// growing the file needs no new mapping; a new mapping waits for
	// every read transaction to end, so on a server it would stall
	// ingest behind a feed read or a backup being downloaded. It is
	// address space, not memory: pages are read in as they are used.
	// Zero means ServerMmapReserve for a serving replica (Feed) and
	// bbolt's default (grow as needed) for a device and on Windows (where
	// bbolt makes the file as large as the mapping); negative means
	// bbolt's default.
	MmapReserve int
}

// ServerMmapReserve is the default MmapReserve of a serving replica:
// 4 GiB holds about three million operations (a county's server writes
// about 1.3 KB for each, docs/benchmarks-sync.md), years of a county's
// work, before the first re-mapping.
const ServerMmapReserve = 4 << 30

// boltOptions are the bbolt options of a file opened with o.
func (o *Options) boltOptions() *bolt.Options {
	return &bolt.Options{Timeout: o.LockTimeout, NoSync: o.NoSync, InitialMmapSize: max(o.MmapReserve, 0)}
}

// Store is one replica's bbolt file: this device's commitments and their
// history, the log of every change set it holds, and its outbox. It is safe
// for concurrent use; bbolt serialises writers.
type Store struct {
	db    *bolt.DB
	opts  Options
	log   *slog.Logger
	clock *protocol.Clock
	// dev caches this replica's device ID (zero until Setup) for callers
	// outside a transaction; a re-key replaces it. Code inside a
	// transaction reads selfTx, which is consistent with what it reads.
	dev atomic.Pointer[protocol.DeviceID]
}

// Open opens or creates the store at path, migrating it to SchemaVersion.
func Open(path string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.KDF == (auth.Params{}) {
		o.KDF = auth.DefaultParams()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = 2 * time.Second
	}
	// Not on Windows: there bbolt makes the file as large as its mapping.
	if o.MmapReserve == 0 && o.Feed && runtime.GOOS != "windows" {
		o.MmapReserve = ServerMmapReserve
	}
	db, err := bolt.Open(path, 0o600, o.boltOptions())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &Store{db: db, opts: o, log: o.Logger.With("store", path)}
	if err := s.migrate(); err != nil {
		if s.db != nil {
			s.db.Close()
		}
		return nil, err
	}
	db = s.db // a migration may have compacted the file into a new one
	var last protocol.HLC
	err = db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bMeta)
		last = protocol.HLC(getU64(m, kHLC))
		if v := m.Get(kDevice); v != nil {
			dev := selfTx(tx)
			s.dev.Store(&dev)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	s.clock = protocol.NewClock(o.Now, last)
	return s, nil
}

func (s *Store) migrate() error {
	var have uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		if m := tx.Bucket(bMeta); m != nil {
			have = getU64(m, kSchema)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if have > SchemaVersion {
		return fmt.Errorf("%w: file has schema %d, this build knows %d", ErrSchemaTooNew, have, SchemaVersion)
	}
	// The migrations to schemas 8 and 9 rewrite most of the file in one
	// transaction, which bbolt cannot do in the pages it frees: the file
	// would grow by what it rewrote. Compacting it afterwards gives the
	// space back.
	compact := have > 0 && have < 9
	for v := have; v < SchemaVersion; v++ {
		err := s.db.Update(func(tx *bolt.Tx) error {
			if err := migrations[v](tx); err != nil {
				return err
			}
			m := tx.Bucket(bMeta)
			if v == 0 {
				if err := m.Put(kCreated, []byte(s.opts.Now().UTC().Format(time.RFC3339))); err != nil {
					return err
				}
			}
			return putU64(m, kSchema, v+1)
		})
		if err != nil {
			return fmt.Errorf("migrating schema %d to %d: %w", v, v+1, err)
		}
		s.opts.Logger.Info("store migrated", "from", v, "to", v+1)
	}
	if compact {
		if err := s.compactFile(); err != nil {
			if s.db == nil {
				return err // the file could not be opened again
			}
			// The migrated file is whole, only larger than it need be: a
			// disk without room for a second copy must not keep the office
			// from its work.
			s.opts.Logger.Warn("store not compacted after the upgrade; it keeps working, only larger", "err", err)
		}
	}
	return nil
}

// compactFile rewrites the file, migrated and committed, into a fresh one
// with full pages and swaps it in by a rename: a crash before the rename
// leaves the migrated file as it was (and a stale ".compact" file, which
// the next compaction overwrites), after it the compact one.
func (s *Store) compactFile() error {
	path := s.db.Path()
	tmp := path + ".compact"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("compacting %s: %w", path, err)
	}
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: s.opts.LockTimeout, NoSync: s.opts.NoSync})
	if err != nil {
		return fmt.Errorf("compacting %s: %w", path, err)
	}
	before := s.Size()
	if err := bolt.Compact(dst, s.db, 64<<20); err != nil {
		dst.Close()
		os.Remove(tmp)
		return fmt.Errorf("compacting %s: %w", path, err)
	}
	if err := dst.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("compacting %s: %w", path, err)
	}
	if err := s.db.Close(); err != nil {
		s.db = nil
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		// Back to the migrated file, which the rename left in place.
		db, oerr := bolt.Open(path, 0o600, s.opts.boltOptions())
		if oerr != nil {
			s.db = nil
			return fmt.Errorf("open %s: %w", path, oerr)
		}
		s.db = db
		return fmt.Errorf("compacting %s: %w", path, err)
	}
	if !s.opts.NoSync {
		if d, err := os.Open(filepath.Dir(path)); err == nil {
			d.Sync() // the rename is durable: best effort where directories cannot be synced
			d.Close()
		}
	}
	db, err := bolt.Open(path, 0o600, s.opts.boltOptions())
	if err != nil {
		s.db = nil
		return fmt.Errorf("open %s: %w", path, err)
	}
	s.db = db
	s.opts.Logger.Info("store compacted", "before", before, "after", s.Size())
	return nil
}

// Close closes the file. Sessions and values read from the store stay
// valid; further calls fail.
func (s *Store) Close() error { return s.db.Close() }

// Path returns the file's path.
func (s *Store) Path() string { return s.db.Path() }

// Device returns this replica's device ID, or ErrNotSetUp.
func (s *Store) Device() (protocol.DeviceID, error) {
	if d := s.dev.Load(); d != nil {
		return *d, nil
	}
	return protocol.DeviceID{}, ErrNotSetUp
}

// selfTx returns this replica's device ID as the transaction sees it (zero
// before Setup). A re-key changes it, so code inside a transaction reads it
// here rather than from the cache, never pairing one identity with data
// written under another.
func selfTx(tx *bolt.Tx) protocol.DeviceID {
	var d protocol.DeviceID
	copy(d[:], tx.Bucket(bMeta).Get(kDevice))
	return d
}

// Schema returns the file's schema version.
func (s *Store) Schema() (int, error) {
	var v uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		v = getU64(tx.Bucket(bMeta), kSchema)
		return nil
	})
	return int(v), err
}

// Size returns the file's size in bytes.
func (s *Store) Size() int64 {
	fi, err := os.Stat(s.db.Path())
	if err != nil {
		return 0
	}
	return fi.Size()
}

func getU64(b *bolt.Bucket, k []byte) uint64 {
	v := b.Get(k)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func putU64(b *bolt.Bucket, k []byte, v uint64) error {
	return b.Put(k, binary.BigEndian.AppendUint64(nil, v))
}

// persistClock writes the clock's high-water mark so a restart never issues
// a stamp below one already used or seen.
func (s *Store) persistClock(tx *bolt.Tx) error {
	m := tx.Bucket(bMeta)
	if last := uint64(s.clock.Last()); last > getU64(m, kHLC) {
		return putU64(m, kHLC, last)
	}
	return nil
}

var errStop = errors.New("stop")
