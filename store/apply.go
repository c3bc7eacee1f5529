package store

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain"
	"jiannuo/sync/protocol"
)

// The apply path is shared by local actions and received change sets: a
// user's own action and the same operation arriving from another device
// leave identical bytes. Everything it derives (current values, conflicts,
// the latest entry) is a function of the set of operations received, never
// of the order they came in, so replicas that hold the same change sets are
// equal byte for byte (see Digest).

// viewCache keeps the commitment views an Apply touches decoded in memory
// until the end of its transaction: a change set of a hundred entries on
// one commitment decodes and encodes its view once, not a hundred times.
type viewCache struct {
	views map[string]*Commitment
	fresh map[string]bool // no record of the commitment existed before this transaction
	order []string        // first-touch order, so writes are deterministic
}

func newViewCache(tx *bolt.Tx) *viewCache {
	appendMostly(tx)
	return &viewCache{views: make(map[string]*Commitment), fresh: make(map[string]bool)}
}

// appendFill is how full bbolt fills a page of an append-mostly bucket
// before it splits (its default is half). Most keys of these buckets
// arrive in order: the log's and the feed's by sequence, a new
// commitment's view and versions by its time-ordered ID
// (protocol.NewOrderedEntityID). A page that splits at the end of a
// range is then left nearly full instead of half empty, and nothing
// inserted later lands in it. Keys that do arrive out of order (an edit
// of an old commitment) still work; they only split a full page sooner.
const appendFill = 0.9

// appendMostly sets appendFill on the append-mostly buckets for the rest
// of the write transaction tx (bbolt keeps the setting on the bucket's
// handle, which a transaction caches).
func appendMostly(tx *bolt.Tx) {
	for _, name := range [][]byte{bVersions, bCommitments, bEntries, bLog, bFeed, bFeedIdx} {
		if b := tx.Bucket(name); b != nil {
			b.FillPercent = appendFill
		}
	}
}

func (vc *viewCache) get(tx *bolt.Tx, ref Ref) (view *Commitment, fresh bool, err error) {
	k := string(refKey(ref))
	if v, ok := vc.views[k]; ok {
		return v, vc.fresh[k], nil
	}
	view, err = loadView(tx, ref)
	if errors.Is(err, ErrNotFound) {
		view, fresh = &Commitment{Ref: ref, Status: domain.StatusDraft}, true
	} else if err != nil {
		return nil, false, err
	}
	vc.views[k] = view
	vc.fresh[k] = fresh
	vc.order = append(vc.order, k)
	return view, fresh, nil
}

// touched records that an operation has changed the view: it is no
// longer fresh for the rest of the transaction.
func (vc *viewCache) touched(ref Ref) { vc.fresh[string(refKey(ref))] = false }

// flush writes every view touched back to the bucket.
func (vc *viewCache) flush(tx *bolt.Tx) error {
	b := tx.Bucket(bCommitments)
	for _, k := range vc.order {
		if err := b.Put([]byte(k), encodeCommitment(vc.views[k])); err != nil {
			return err
		}
	}
	vc.views, vc.fresh, vc.order = make(map[string]*Commitment), make(map[string]bool), nil
	return nil
}

// applyOp applies one verified operation made on device dev by author. The
// commitment view it changes stays in views until views.flush.
func applyOp(tx *bolt.Tx, views *viewCache, dev protocol.DeviceID, author string, role domain.Role, op *protocol.Op) error {
	id := op.ID(dev)
	if op.Kind == protocol.OpEvidence {
		ev := Evidence{Op: id, Office: op.Office, Hash: op.Meta.Hash, Name: op.Meta.Name, MIME: op.Meta.MIME, Size: op.Meta.Size, Author: author}
		return tx.Bucket(bEvidence).Put(opKey(append([]byte(nil), op.Meta.Hash[:]...), id), marshal(ev))
	}
	if op.Kind == protocol.OpDishonesty || op.Kind == protocol.OpDishonestyStep {
		return applyDishonesty(tx, dev, author, op)
	}
	if op.Kind == protocol.OpCase || op.Kind == protocol.OpCaseStep {
		return applyCase(tx, dev, author, role, op)
	}
	if op.Kind == protocol.OpAccount {
		return applyAccount(tx, dev, author, role, op)
	}
	if op.Kind == protocol.OpUrge || op.Kind == protocol.OpUrgeRead {
		return applyUrge(tx, dev, author, role, op)
	}
	if op.Kind == protocol.OpAnnualReport {
		return applyReport(tx, dev, author, role, op)
	}
	ref := Ref{Office: op.Office, ID: op.Target}
	view, fresh, err := views.get(tx, ref)
	if err != nil {
		return err
	}
	// The create of a commitment nothing was known of yet — not on disk,
	// and no earlier operation of this transaction touched it: each field
	// has exactly this one version, so there is nothing to recompute.
	firstCreate := fresh && op.Kind == protocol.OpCreate
	views.touched(ref)
	switch op.Kind {
	case protocol.OpCreate, protocol.OpEdit, protocol.OpAmend, protocol.OpTransition, protocol.OpResolve:
		versions := tx.Bucket(bVersions)
		for _, w := range op.Writes {
			v := Version{Field: w.Field, Op: id, HLC: op.HLC, Kind: op.Kind.String(), Value: w.Value,
				Base: w.Base, Author: author, Role: role, Reason: op.Reason}
			if err := versions.Put(versionKey(ref, w.Field, id), encodeVersion(&v)); err != nil {
				return err
			}
			if firstCreate {
				view.set(w.Field, w.Value)
				continue
			}
			if err := recomputeField(tx, view, w.Field); err != nil {
				return err
			}
		}
		switch op.Kind {
		case protocol.OpCreate:
			view.Created, view.CreatedBy, view.CreatedAt, view.CreatedDevice = true, author, op.HLC, dev
		case protocol.OpAmend:
			a := Amendment{Op: id, HLC: op.HLC, Author: author, Reason: op.Reason}
			for _, w := range op.Writes {
				a.Fields = append(a.Fields, w.Field)
			}
			b := tx.Bucket(bAmendments)
			if err := b.Put(opKey(refKey(ref), id), encodeAmendment(&a)); err != nil {
				return err
			}
			view.Version = 1 + countPrefix(b, refKey(ref))
		}
	case protocol.OpFulfil:
		e := Entry{Op: id, HLC: op.HLC, Author: author, Date: op.Entry.Date, Progress: int(op.Entry.Progress),
			Note: op.Entry.Note, Evidence: op.Entry.Evidence}
		b := tx.Bucket(bEntries)
		k := entryKey(ref, op.HLC, id)
		if b.Get(k) == nil {
			view.Entries++
		}
		if err := b.Put(k, encodeEntry(&e)); err != nil {
			return err
		}
		p := &EntryPointer{Date: e.Date, HLC: e.HLC, Op: id}
		if view.LastEntry == nil || view.LastEntry.before(p) {
			view.LastEntry, view.Progress = p, e.Progress
		}
	default:
		return fmt.Errorf("%w: op kind %d", protocol.ErrInvalidOperation, op.Kind)
	}
	if view.Version == 0 {
		view.Version = 1
	}
	view.UpdatedAt = max(view.UpdatedAt, op.HLC)
	return nil
}

// recomputeField derives a field's current value from all its versions: the
// heads are the versions no other version supersedes (names in its base);
// one head is the value, several are a conflict whose provisional value is
// the head with the latest stamp.
func recomputeField(tx *bolt.Tx, view *Commitment, f domain.Field) error {
	all, err := fieldVersions(tx, view.Ref, f)
	if err != nil {
		return err
	}
	heads := currentVersions(all)
	if len(heads) == 0 {
		return nil
	}
	view.set(f, heads[0].Value)
	conflicts := tx.Bucket(bConflicts)
	ck := fieldKey(view.Ref, f)
	view.Conflicted = slices.DeleteFunc(view.Conflicted, func(g domain.Field) bool { return g == f })
	if len(heads) == 1 {
		return conflicts.Delete(ck)
	}
	view.Conflicted = append(view.Conflicted, f)
	order := domain.Fields()
	slices.SortFunc(view.Conflicted, func(a, b domain.Field) int {
		return slices.Index(order, a) - slices.Index(order, b)
	})
	c := Conflict{Ref: view.Ref, Field: f, Versions: heads, Provisional: heads[0].Value}
	return conflicts.Put(ck, marshal(c))
}

// currentVersions returns the versions not superseded by another, the
// provisional winner first. A malformed history in which every version is
// superseded (a cycle no honest device can make) counts all as current, so
// it surfaces as a conflict rather than vanishing.
func currentVersions(all []Version) []Version {
	superseded := make(map[protocol.OpID]bool)
	for _, v := range all {
		for _, b := range v.Base {
			superseded[b] = true
		}
	}
	var heads []Version
	for _, v := range all {
		if !superseded[v.Op] {
			heads = append(heads, v)
		}
	}
	if len(heads) == 0 {
		heads = slices.Clone(all)
	}
	slices.SortFunc(heads, func(a, b Version) int {
		if a.after(&b) {
			return -1
		}
		if b.after(&a) {
			return 1
		}
		return 0
	})
	return heads
}

func fieldVersions(tx *bolt.Tx, ref Ref, f domain.Field) ([]Version, error) {
	return scanVersions(tx, fieldKey(ref, f))
}

func loadView(tx *bolt.Tx, ref Ref) (*Commitment, error) {
	v := tx.Bucket(bCommitments).Get(refKey(ref))
	if v == nil {
		return nil, fmt.Errorf("%w: commitment %s", ErrNotFound, ref)
	}
	c, err := decodeCommitment(refKey(ref), v)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// arrivedView returns a commitment whose create has arrived, or
// ErrNotFound: later operations may overtake the create on the way, and
// nothing is done to a commitment known only from them.
func arrivedView(tx *bolt.Tx, ref Ref) (*Commitment, error) {
	view, err := loadView(tx, ref)
	if err != nil {
		return nil, err
	}
	if !view.Created {
		return nil, fmt.Errorf("%w: commitment %s has not fully arrived", ErrNotFound, ref)
	}
	return view, nil
}

func countPrefix(b *bolt.Bucket, prefix []byte) int {
	n := 0
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	return n
}

// txView gives protocol.Verify what this replica knows, read inside the
// transaction that will apply the change set, so a batch sees its own
// earlier change sets.
type txView struct{ tx *bolt.Tx }

func (t txView) Device(id protocol.DeviceID) (protocol.DeviceInfo, error) {
	v := t.tx.Bucket(bDevices).Get(id[:])
	if v == nil {
		return protocol.DeviceInfo{}, fmt.Errorf("%w: %s", protocol.ErrUnknownDevice, id)
	}
	var d DeviceRecord
	if err := unmarshal(v, &d); err != nil {
		return protocol.DeviceInfo{}, err
	}
	return d.Info(), nil
}

// Partial implements protocol.PartialChains: a township replica holds of a
// county-admin device only the change sets for its own office. A
// county-admin replica and a server (no device of its own) hold every
// chain whole.
func (t txView) Partial(dev protocol.DeviceInfo) bool {
	return dev.Admin && !selfAdminTx(t.tx)
}

// selfAdminTx reports whether this replica is a county-admin device or a
// server: either receives every change set of the county.
func selfAdminTx(tx *bolt.Tx) bool {
	self := selfTx(tx)
	if self.IsZero() {
		return true
	}
	var d DeviceRecord
	if err := unmarshal(tx.Bucket(bDevices).Get(self[:]), &d); err != nil {
		return true
	}
	return d.Admin
}

func (t txView) Head(id protocol.DeviceID) (protocol.Head, error) {
	v := t.tx.Bucket(bChains).Get(id[:])
	if v == nil {
		return protocol.Head{}, nil
	}
	return decodeHead(v)
}

func (t txView) HashAt(id protocol.DeviceID, seq uint64) (protocol.Hash, bool, error) {
	v := t.tx.Bucket(bLog).Get(logKey(id, seq))
	if v == nil {
		return protocol.Hash{}, false, nil
	}
	if len(v) < ed25519.SignatureSize {
		return protocol.Hash{}, false, fmt.Errorf("%w: stored change set %s/%d is truncated", ErrInvariant, id.Short(), seq)
	}
	// The chain hash is the SHA-256 of the signed body, which the log
	// holds verbatim: no need to decode it again.
	return protocol.Hash(sha256.Sum256(v[:len(v)-ed25519.SignatureSize])), true, nil
}

// Result is the outcome of one received change set.
type Result struct {
	Device protocol.DeviceID
	Seq    uint64
	Hash   protocol.Hash
	// Code is empty when the change set was applied, protocol.CodeReplay
	// when it had been applied before (nothing changed), and otherwise the
	// reason it was refused (nothing stored).
	Code protocol.Code
	Err  error
	// Pos and Time are the feed position and commit time assigned to a
	// newly applied change set on a replica opened with Options.Feed.
	Pos  uint64
	Time int64
}

// Applied reports whether the change set is now held: newly applied or
// applied before.
func (r Result) Applied() bool { return r.Code == protocol.CodeOK || r.Code == protocol.CodeReplay }

// Apply verifies and applies change sets received from other replicas, in
// the order given, in one transaction: one fsync for the batch. A refused
// change set stores nothing and does not stop the others; the returned
// error is only for a failure of the store itself, in which case nothing of
// the batch is stored.
func (s *Store) Apply(raws ...[]byte) ([]Result, error) {
	results := make([]Result, len(raws))
	err := s.db.Update(func(tx *bolt.Tx) error {
		views := newViewCache(tx)
		for i, raw := range raws {
			r, err := s.applyPrepared(tx, views, protocol.Prepare(raw, nil))
			if err != nil {
				return err
			}
			results[i] = r
		}
		if err := views.flush(tx); err != nil {
			return err
		}
		return s.persistClock(tx)
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

// applyPrepared verifies and applies one change set, decoded (and perhaps
// checked ahead) by protocol.Prepare.
func (s *Store) applyPrepared(tx *bolt.Tx, views *viewCache, p *protocol.Prepared) (Result, error) {
	cs, err := protocol.VerifyPrepared(p, txView{tx}, txView{tx}, protocol.DeviceID{})
	if self := selfTx(tx); err == nil && !self.IsZero() && cs.Device == self {
		// A change set of this very device that this replica does not
		// hold: the replica was restored from an old backup while the
		// device went on elsewhere. Taking it would reuse operation
		// numbers; the admin must settle it.
		err = fmt.Errorf("%w: change set %d of this device arrived from elsewhere: this replica was restored from an older backup", protocol.ErrFork, cs.Seq)
		cs = nil
	}
	var r Result
	if cs != nil {
		r = Result{Device: cs.Device, Seq: cs.Seq, Hash: cs.Hash()}
		if err == nil && s.opts.Admit != nil {
			err = s.opts.Admit(tx, cs)
		}
	}
	if err != nil {
		r.Code, r.Err = protocol.CodeOf(err), err
		if r.Code == protocol.CodeInternal {
			return r, err
		}
		return r, nil
	}
	if err := s.applyChangeSet(tx, views, cs); err != nil {
		return r, err
	}
	return r, s.recordFeed(tx, cs, &r)
}

// applyChangeSet stores a verified change set and applies its operations.
func (s *Store) applyChangeSet(tx *bolt.Tx, views *viewCache, cs *protocol.ChangeSet) error {
	for i := range cs.Ops {
		op := &cs.Ops[i]
		if err := applyOp(tx, views, cs.Device, cs.Author, cs.AuthorRole, op); err != nil {
			return fmt.Errorf("applying %s: %w", op.ID(cs.Device), err)
		}
		s.clock.Observe(op.HLC)
	}
	return recordChangeSet(tx, cs)
}

// recordChangeSet appends a change set to the log and advances its device's
// chain head.
func recordChangeSet(tx *bolt.Tx, cs *protocol.ChangeSet) error {
	if err := tx.Bucket(bLog).Put(logKey(cs.Device, cs.Seq), cs.Bytes()); err != nil {
		return err
	}
	h := chainHead{Seq: cs.Seq, Hash: cs.Hash(), LastOp: cs.LastOp()}
	return tx.Bucket(bChains).Put(cs.Device[:], encodeHead(h))
}
