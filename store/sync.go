package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// FeedEntry is one accepted change set in a serving replica's feed: what a
// county server streams to devices and the municipal platform, in order.
type FeedEntry struct {
	Pos    uint64            `json:"pos"`
	Device protocol.DeviceID `json:"device"`
	Seq    uint64            `json:"seq"`
	Hash   protocol.Hash     `json:"hash"`
	Office office.Code       `json:"office"` // whose records it writes (its TargetOffice)
	Time   int64             `json:"time"`   // Unix milliseconds of the commit
}

// ApplyBatch is Apply with a hook: fn runs inside the same transaction after
// the change sets are applied, with their results, so a server can record
// what must commit together with them. If fn fails nothing is stored.
// Callers' own buckets must be named with the prefix "x-" (see Update).
func (s *Store) ApplyBatch(raws [][]byte, fn func(tx *bolt.Tx, results []Result) error) ([]Result, error) {
	ps := make([]*protocol.Prepared, len(raws))
	for i, raw := range raws {
		ps[i] = protocol.Prepare(raw, nil)
	}
	return s.ApplyPrepared(ps, fn)
}

// ApplyPrepared is ApplyBatch of change sets already decoded, and perhaps
// checked ahead against their devices' records, by protocol.Prepare on
// other goroutines: inside the transaction only what needs the replica's
// state is checked (protocol.VerifyPrepared) before the apply. The
// results are exactly ApplyBatch's for the same bytes.
func (s *Store) ApplyPrepared(ps []*protocol.Prepared, fn func(tx *bolt.Tx, results []Result) error) ([]Result, error) {
	results := make([]Result, len(ps))
	err := s.db.Update(func(tx *bolt.Tx) error {
		views := newViewCache(tx)
		for i, p := range ps {
			r, err := s.applyPrepared(tx, views, p)
			if err != nil {
				return err
			}
			results[i] = r
		}
		if err := views.flush(tx); err != nil {
			return err
		}
		if err := s.persistClock(tx); err != nil {
			return err
		}
		if fn != nil {
			return fn(tx, results)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, r := range results {
		if !r.Applied() {
			s.log.Warn("change set refused", "device", r.Device, "seq", r.Seq, "code", string(r.Code), "err", r.Err)
		}
	}
	return results, nil
}

// ApplyFrom applies change sets received from the county's feed and records
// cursor, the feed position of the last of them, in the same transaction:
// after a crash the device resumes exactly after what it has applied.
func (s *Store) ApplyFrom(cursor uint64, raws ...[]byte) ([]Result, error) {
	return s.ApplyBatch(raws, func(tx *bolt.Tx, _ []Result) error {
		m := tx.Bucket(bMeta)
		if cursor > getU64(m, kCursor) {
			return putU64(m, kCursor, cursor)
		}
		return nil
	})
}

// Cursor returns the position in the county's feed up to which this replica
// has applied everything.
func (s *Store) Cursor() (uint64, error) {
	var c uint64
	err := s.db.View(func(tx *bolt.Tx) error { c = getU64(tx.Bucket(bMeta), kCursor); return nil })
	return c, err
}

// recordFeed appends an accepted change set to the feed of a serving
// replica.
func (s *Store) recordFeed(tx *bolt.Tx, cs *protocol.ChangeSet, r *Result) error {
	if !s.opts.Feed {
		return nil
	}
	m := tx.Bucket(bMeta)
	pos := getU64(m, kFeed) + 1
	e := FeedEntry{Pos: pos, Device: cs.Device, Seq: cs.Seq, Hash: cs.Hash(), Office: cs.TargetOffice(), Time: s.opts.Now().UnixMilli()}
	if err := tx.Bucket(bFeed).Put(seqKey(pos), encodeFeedEntry(&e)); err != nil {
		return err
	}
	if err := tx.Bucket(bFeedIdx).Put(logKey(cs.Device, cs.Seq), seqKey(pos)); err != nil {
		return err
	}
	r.Pos, r.Time = pos, e.Time
	return putU64(m, kFeed, pos)
}

// FeedHead returns the last position in this replica's feed.
func (s *Store) FeedHead() (uint64, error) {
	var h uint64
	err := s.db.View(func(tx *bolt.Tx) error { h = getU64(tx.Bucket(bMeta), kFeed); return nil })
	return h, err
}

// FeedHeadTx is FeedHead inside a caller's transaction (see Update), for a
// server that records the feed position at which something of its own took
// effect (a revocation) atomically with it.
func FeedHeadTx(tx *bolt.Tx) uint64 { return getU64(tx.Bucket(bMeta), kFeed) }

// Feed calls fn for each feed entry after position after, in order, with the
// change set's bytes (a copy fn may keep), until fn returns false or limit
// entries (0: no limit) have been visited.
func (s *Store) Feed(after uint64, limit int, fn func(FeedEntry, []byte) bool) error {
	return s.FeedSelect(after, limit, nil, fn)
}

// FeedSelect is Feed for a reader that wants only some entries: keep (nil:
// all) sees each entry first, and only the kept ones have their change set
// copied and passed to fn. A county session serving one township skips the
// others' entries this way without copying them. Skipped entries count
// towards limit.
func (s *Store) FeedSelect(after uint64, limit int, keep func(FeedEntry) bool, fn func(FeedEntry, []byte) bool) error {
	return s.db.View(func(tx *bolt.Tx) error {
		log := tx.Bucket(bLog)
		c := tx.Bucket(bFeed).Cursor()
		n := 0
		for k, v := c.Seek(seqKey(after + 1)); k != nil; k, v = c.Next() {
			e, err := decodeFeedEntry(k, v)
			if err != nil {
				return err
			}
			var raw []byte
			if keep == nil || keep(e) {
				v := log.Get(logKey(e.Device, e.Seq))
				if v == nil {
					return fmt.Errorf("%w: feed %d names missing change set", ErrInvariant, e.Pos)
				}
				raw = append([]byte(nil), v...)
			}
			if !fn(e, raw) {
				return nil
			}
			if n++; limit > 0 && n >= limit {
				return nil
			}
		}
		return nil
	})
}

// FeedEntryOf returns the feed entry of an accepted change set, for a
// server answering a replay with the original receipt.
func (s *Store) FeedEntryOf(dev protocol.DeviceID, seq uint64) (FeedEntry, bool, error) {
	var out FeedEntry
	found := false
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bFeedIdx).Get(logKey(dev, seq))
		if v == nil {
			return nil
		}
		k := seqKey(binary.BigEndian.Uint64(v))
		b := tx.Bucket(bFeed).Get(k)
		if b == nil {
			return nil
		}
		var err error
		out, err = decodeFeedEntry(k, b)
		found = err == nil
		return err
	})
	return out, found, err
}

// Acknowledge records the county's receipt for our change set seq and takes
// it off the outbox: the county has committed it. The receipt is kept as
// proof of submission.
func (s *Store) Acknowledge(seq uint64, receipt []byte) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bOutbox).Delete(seqKey(seq)); err != nil {
			return err
		}
		if receipt == nil {
			return nil
		}
		return tx.Bucket(bReceipts).Put(seqKey(seq), receipt)
	})
}

// Receipt returns the county's receipt for our change set seq.
func (s *Store) Receipt(seq uint64) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bReceipts).Get(seqKey(seq))
		if v == nil {
			return fmt.Errorf("%w: receipt %d", ErrNotFound, seq)
		}
		out = append([]byte(nil), v...)
		return nil
	})
	return out, err
}

// LastReceipt returns the newest receipt and its sequence number, or
// ErrNotFound before the first.
func (s *Store) LastReceipt() (uint64, []byte, error) {
	var seq uint64
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		k, v := tx.Bucket(bReceipts).Cursor().Last()
		if k == nil {
			return fmt.Errorf("%w: no receipt yet", ErrNotFound)
		}
		seq, out = binary.BigEndian.Uint64(k), append([]byte(nil), v...)
		return nil
	})
	return seq, out, err
}

// Update runs fn in a read-write transaction of the store's file, for
// layers above (the county server) that keep their own records beside the
// replica. They must only touch buckets whose names start with "x-", which
// the store never uses; fn's changes commit or roll back as a whole.
func (s *Store) Update(fn func(tx *bolt.Tx) error) error { return s.db.Update(fn) }

// View runs fn in a read-only transaction; see Update.
func (s *Store) View(fn func(tx *bolt.Tx) error) error { return s.db.View(fn) }

// PutDeviceTx is PutDevice inside a caller's transaction, so a server can
// register a device together with its own enrolment records.
func PutDeviceTx(tx *bolt.Tx, d DeviceRecord) error {
	if err := checkDeviceRecord(d); err != nil {
		return err
	}
	return tx.Bucket(bDevices).Put(d.ID[:], marshal(d))
}

// Now returns the store's clock reading, for callers that stamp records
// beside it.
func (s *Store) Now() time.Time { return s.opts.Now() }

// HasEvidence reports whether an evidence file's content is on this replica.
func (s *Store) HasEvidence(h protocol.Hash) (bool, error) {
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error { ok = HasEvidenceTx(tx, h); return nil })
	return ok, err
}

// EvidenceOffice returns the offices whose records cite an evidence file,
// so a server sends its content only to devices of those offices.
func (s *Store) EvidenceOffice(h protocol.Hash) ([]office.Code, error) {
	metas, err := s.EvidenceMeta(h)
	var out []office.Code
	for _, m := range metas {
		out = append(out, m.Office)
	}
	return out, err
}

// MissingEvidence returns evidence files recorded on this replica whose
// content has not arrived, for the sync engine to fetch: in hash order
// after after (the zero hash: from the first), at most limit.
func (s *Store) MissingEvidence(after protocol.Hash, limit int) ([]Evidence, error) {
	var out []Evidence
	err := s.db.View(func(tx *bolt.Tx) error {
		blobs := tx.Bucket(bBlobs)
		var last protocol.Hash
		return forEvidenceAfter(tx, after, func(e *Evidence) bool {
			if e.Hash != last && blobs.Get(e.Hash[:]) == nil {
				out = append(out, *e)
			}
			last = e.Hash
			return len(out) < limit
		})
	})
	return out, err
}

// EvidenceToUpload returns evidence files this device added whose content
// the county has not confirmed yet and may take now, in hash order after
// after (the zero hash: from the first), at most limit. The county takes a
// file only once a record of its replica cites it: held is the last
// operation of this device the county holds (its chain head at the
// session's welcome, or the last change set it receipted since), and a
// file whose citing operation comes after it is left for later.
func (s *Store) EvidenceToUpload(after protocol.Hash, limit int, held uint64) ([]Evidence, error) {
	var out []Evidence
	err := s.db.View(func(tx *bolt.Tx) error {
		done, self := tx.Bucket(bUploaded), selfTx(tx)
		var last protocol.Hash // its first record of this device decides
		return forEvidenceAfter(tx, after, func(e *Evidence) bool {
			if e.Op.Device != self || e.Hash == last {
				return true
			}
			last = e.Hash
			if e.Op.Num <= held && done.Get(e.Hash[:]) == nil {
				out = append(out, *e)
			}
			return len(out) < limit
		})
	})
	return out, err
}

// forEvidenceAfter calls fn with each record of an evidence file (a file
// cited twice has two), in hash order after after, until fn returns false.
func forEvidenceAfter(tx *bolt.Tx, after protocol.Hash, fn func(*Evidence) bool) error {
	c := tx.Bucket(bEvidence).Cursor()
	var k, v []byte
	if after.IsZero() {
		k, v = c.First()
	} else {
		// Keys are hash|op: skip those of after itself.
		k, v = c.Seek(after[:])
		for k != nil && bytes.HasPrefix(k, after[:]) {
			k, v = c.Next()
		}
	}
	for ; k != nil; k, v = c.Next() {
		var e Evidence
		if err := unmarshal(v, &e); err != nil {
			return err
		}
		if !fn(&e) {
			return nil
		}
	}
	return nil
}

// MarkUploaded records that the county holds an evidence file's content.
func (s *Store) MarkUploaded(h protocol.Hash) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bUploaded).Put(h[:], nil) })
}

// OutboxFirst returns the sequence number of the oldest change set still
// awaiting the county's receipt; ok is false when the outbox is empty.
func (s *Store) OutboxFirst() (seq uint64, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bOutbox).Cursor().First(); k != nil {
			seq, ok = binary.BigEndian.Uint64(k), true
		}
		return nil
	})
	return seq, ok, err
}

// SyncSettings are what a device needs to reach its county server, saved at
// enrolment beside the replica they belong to.
type SyncSettings struct {
	BaseURL     string      `json:"base_url"`    // https://host:port
	Fingerprint string      `json:"fingerprint"` // of the server's TLS certificate, pinned
	County      office.Code `json:"county"`
	CountyKey   []byte      `json:"county_key"` // ed25519 public key
	Enrolled    bool        `json:"enrolled"`   // the county approved this device
}

var kSync = []byte("sync")

// SetSyncSettings saves the device's county server settings.
func (s *Store) SetSyncSettings(v SyncSettings) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Put(kSync, marshal(v)) })
}

// SyncSettings returns the saved settings; ok is false before enrolment
// was ever started.
func (s *Store) SyncSettings() (v SyncSettings, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bMeta).Get(kSync)
		if raw == nil {
			return nil
		}
		ok = true
		return unmarshal(raw, &v)
	})
	return v, ok, err
}

var kCalendar = []byte("calendar") // version(8) | signed protocol.CalendarUpdate

// SetCalendarUpdate keeps a county-signed calendar update if its version is
// newer than the one held; it reports whether it did. The caller has
// verified the signature.
func (s *Store) SetCalendarUpdate(version uint64, doc []byte) (bool, error) {
	stored := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bMeta)
		if old := m.Get(kCalendar); len(old) >= 8 && binary.BigEndian.Uint64(old) >= version {
			return nil
		}
		stored = true
		return m.Put(kCalendar, append(binary.BigEndian.AppendUint64(nil, version), doc...))
	})
	return stored, err
}

// CalendarUpdate returns the newest calendar update held; ok is false if
// none has arrived.
func (s *Store) CalendarUpdate() (version uint64, doc []byte, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bMeta).Get(kCalendar)
		if len(v) < 8 {
			return nil
		}
		version, doc, ok = binary.BigEndian.Uint64(v), append([]byte(nil), v[8:]...), true
		return nil
	})
	return version, doc, ok, err
}

// ResetCursor forgets how far the county's feed was applied, so the next
// session receives it again from the start (replays are ignored). A device
// does this when the county's feed is shorter than its cursor: the server
// was restored from an older backup and may number change sets anew.
//
// The same backup may lack evidence files this device uploaded since, so it
// also forgets which files the county confirmed holding (MarkUploaded): the
// device offers each of its files again, and the county answers at once
// for those it has. (A county that names its feed epoch says more, and
// RestartFeed does more.)
func (s *Store) ResetCursor() error { return s.restartFeed(protocol.Epoch{}, false) }

var (
	kCountyEpoch  = []byte("county_epoch")  // the county feed epoch the cursor counts in (16 bytes)
	kRelayPending = []byte("relay_pending") // present while change sets and files may be owed to a restored county
)

// CountyEpoch returns the epoch of the county's feed that the cursor
// counts in (protocol.Epoch); zero before a county said one.
func (s *Store) CountyEpoch() (protocol.Epoch, error) {
	var e protocol.Epoch
	err := s.db.View(func(tx *bolt.Tx) error { copy(e[:], tx.Bucket(bMeta).Get(kCountyEpoch)); return nil })
	return e, err
}

// SetCountyEpoch records the county's feed epoch the cursor counts in,
// when the device learns it for the first time.
func (s *Store) SetCountyEpoch(e protocol.Epoch) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Put(kCountyEpoch, e[:]) })
}

// RestartFeed starts over with a county feed of another epoch, in one
// transaction: the cursor goes back to 0, the files the county confirmed
// holding are forgotten (ResetCursor), epoch (unless zero) becomes the one
// the cursor counts in, and the relay is marked pending: the county was
// restored from a backup and may lack what this replica holds of other
// devices, which the sync engine offers it once it has the county's feed
// again (RelayPending, RelayDone).
func (s *Store) RestartFeed(epoch protocol.Epoch) error { return s.restartFeed(epoch, true) }

func (s *Store) restartFeed(epoch protocol.Epoch, relay bool) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bMeta)
		if err := putU64(m, kCursor, 0); err != nil {
			return err
		}
		if !epoch.IsZero() {
			if err := m.Put(kCountyEpoch, epoch[:]); err != nil {
				return err
			}
		}
		if relay {
			if err := m.Put(kRelayPending, []byte{1}); err != nil {
				return err
			}
		}
		if err := tx.DeleteBucket(bUploaded); err != nil {
			return err
		}
		_, err := tx.CreateBucket(bUploaded)
		return err
	})
}

// RelayPending reports whether the county may lack change sets and files
// this replica holds of other devices (RestartFeed).
func (s *Store) RelayPending() (bool, error) {
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error { ok = tx.Bucket(bMeta).Get(kRelayPending) != nil; return nil })
	return ok, err
}

// RelayDone records that the county was offered everything this replica
// holds of other devices.
func (s *Store) RelayDone() error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Delete(kRelayPending) })
}

// EvidenceHeld returns evidence files whose content this replica holds
// and whose content the county has not confirmed holding, added by another
// device than exclude, in hash order after after (the zero hash: from the
// first), at most limit: what a device offers a county restored from a
// backup, which may have lost files whose authors are gone.
func (s *Store) EvidenceHeld(after protocol.Hash, limit int, exclude protocol.DeviceID) ([]Evidence, error) {
	var out []Evidence
	err := s.db.View(func(tx *bolt.Tx) error {
		blobs, done := tx.Bucket(bBlobs), tx.Bucket(bUploaded)
		var last protocol.Hash
		return forEvidenceAfter(tx, after, func(e *Evidence) bool {
			if e.Hash == last {
				return true
			}
			last = e.Hash
			if e.Op.Device != exclude && blobs.Get(e.Hash[:]) != nil && done.Get(e.Hash[:]) == nil {
				out = append(out, *e)
			}
			return len(out) < limit
		})
	})
	return out, err
}
