package store

// Benchmarks of the store against raw bbolt on the same machine, in the same
// run. The machines we measure on are shared and noisy, so every benchmark
// measures its own baseline next to the figure it reports and quotes the
// ratio; docs/benchmarks.md records the results and how to rerun them.
//
// These are benchmarks only: nothing here asserts a duration.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/sync/protocol"
)

// openBenchStore opens a store at path with the production defaults except
// the password-hashing cost, with fsync unless noSync.
func openBenchStore(tb testing.TB, path string, noSync bool) *Store {
	tb.Helper()
	s, err := Open(path, &Options{KDF: auth.TestParams(), Logger: quietLogger(), NoSync: noSync})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func setupBench(tb testing.TB, s *Store, role domain.Role) *Session {
	tb.Helper()
	se, err := s.Setup(SetupConfig{Office: township, DeviceName: "bench", Name: "user", Role: role, Passphrase: testPass})
	if err != nil {
		tb.Fatal(err)
	}
	return se
}

// openRawBolt opens a bare bbolt file with the options Open uses, fsync on,
// and creates the store's buckets in it.
func openRawBolt(tb testing.TB, path string) *bolt.DB {
	tb.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return db
}

// kvWrite is one key a transaction left changed: put (or deleted).
type kvWrite struct {
	bucket, key, value []byte
	del                bool
}

// kvSnapshot is a copy of every bucket, to find what a transaction wrote.
type kvSnapshot map[string]map[string][]byte

// changedSince returns every key whose value differs from snap (new,
// rewritten with other bytes, or deleted) and brings snap up to date. A put
// of identical bytes is not seen; the store makes few of those.
func changedSince(tb testing.TB, db *bolt.DB, snap kvSnapshot) []kvWrite {
	tb.Helper()
	var out []kvWrite
	err := db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, bk *bolt.Bucket) error {
			m := snap[string(name)]
			if m == nil {
				m = make(map[string][]byte)
				snap[string(name)] = m
			}
			seen := make(map[string]bool, len(m))
			err := bk.ForEach(func(k, v []byte) error {
				seen[string(k)] = true
				if old, ok := m[string(k)]; !ok || !bytes.Equal(old, v) {
					c := bytes.Clone(v)
					m[string(k)] = c
					out = append(out, kvWrite{bucket: bytes.Clone(name), key: bytes.Clone(k), value: c})
				}
				return nil
			})
			if err != nil {
				return err
			}
			for k := range m {
				if !seen[k] {
					delete(m, k)
					out = append(out, kvWrite{bucket: bytes.Clone(name), key: []byte(k), del: true})
				}
			}
			return nil
		})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func writeSize(ws []kvWrite) (keys, size int) {
	for _, w := range ws {
		keys++
		size += len(w.key) + len(w.value)
	}
	return keys, size
}

// replay makes the writes in tx, as a store with no logic at all would.
func replay(tx *bolt.Tx, ws []kvWrite) error {
	for _, w := range ws {
		b := tx.Bucket(w.bucket)
		var err error
		if w.del {
			err = b.Delete(w.key)
		} else {
			err = b.Put(w.key, w.value)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// percentile returns the p-th percentile (0 < p ≤ 100) of ds, sorting ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(float64(len(ds))*p/100+0.5) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// benchNote is a fulfilment note of a typical length (about 70 characters).
func benchNote(i int) string {
	notes := []string{
		"本月上门走访独居老人%d户，建立走访台账，发现问题已当场协调社区卫生服务站解决。",
		"完成第%d批就业岗位推荐，组织招聘会一场，登记求职人员信息并跟踪回访。",
		"协调物业公司整改消防通道占用问题，现场复查%d处，已全部清理完毕并拍照留档。",
		"为辖区%d名残疾人办理补贴申请，材料齐全者已于当日受理，其余一次性告知补正。",
	}
	return fmt.Sprintf(notes[i%len(notes)], i%97+3)
}

// BenchmarkLogFulfilment measures the latency of one fulfilment entry on a
// store that syncs to disk, as township staff experience it, against the
// same-run cost of the disk itself: one bbolt transaction putting a single
// value as large as everything the action writes ("raw"), and one making
// exactly the action's writes ("same-puts": the same buckets, keys and
// sizes, without the logic). The three alternate call by call so that disk
// noise hits them alike. Use a fixed -benchtime such as 1000x: the
// percentiles need samples.
func BenchmarkLogFulfilment(b *testing.B) {
	dir := b.TempDir()
	s := openBenchStore(b, filepath.Join(dir, "replica.db"), false)
	defer s.Close()
	se := setupBench(b, s, domain.RoleLeader)
	ref, err := se.Create(sampleDraft("独居老人每月走访"))
	if err != nil {
		b.Fatal(err)
	}
	if err := se.Publish(ref); err != nil {
		b.Fatal(err)
	}
	entry := func(i int) EntryInput {
		return EntryInput{Date: calendar.NewDate(2026, 10, 1).AddDays(i / 20), Progress: min(100, i/10), Note: benchNote(i)}
	}

	// What one call writes: found from a trial call.
	snap := make(kvSnapshot)
	changedSince(b, s.db, snap)
	if _, err := se.LogFulfilment(ref, entry(0)); err != nil {
		b.Fatal(err)
	}
	trial := changedSince(b, s.db, snap)
	snap = nil
	keys, size := writeSize(trial)

	raw := openRawBolt(b, filepath.Join(dir, "raw.db"))
	defer raw.Close()
	same := openRawBolt(b, filepath.Join(dir, "same.db"))
	defer same.Close()
	value := bytes.Repeat([]byte("践诺记录"), size/len("践诺记录")+1)[:size]

	// Keys the action makes anew each time (an entry, a pending operation)
	// end in the operation number; the rest it rewrites in place.
	sameWrites := func(i int) []kvWrite {
		ws := slices.Clone(trial)
		for j, w := range ws {
			if bytes.Equal(w.bucket, bEntries) || bytes.Equal(w.bucket, bPending) {
				k := bytes.Clone(w.key)
				binary.BigEndian.PutUint64(k[len(k)-8:], uint64(i+100))
				ws[j].key = k
			}
		}
		return ws
	}

	lat := make([]time.Duration, 0, b.N)
	rawLat := make([]time.Duration, 0, b.N)
	sameLat := make([]time.Duration, 0, b.N)
	store := func(i int) {
		in := entry(i + 1)
		t0 := time.Now()
		_, err := se.LogFulfilment(ref, in)
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
	}
	rawPut := func(i int) {
		k := binary.BigEndian.AppendUint64(nil, uint64(i))
		t0 := time.Now()
		err := raw.Update(func(tx *bolt.Tx) error { return tx.Bucket(bEntries).Put(k, value) })
		rawLat = append(rawLat, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
	}
	samePuts := func(i int) {
		ws := sameWrites(i)
		t0 := time.Now()
		err := same.Update(func(tx *bolt.Tx) error { return replay(tx, ws) })
		sameLat = append(sameLat, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
	}
	steps := []func(int){store, rawPut, samePuts}
	b.ResetTimer()
	for i := range b.N {
		// Rotate the order so no one of them always follows another's fsync.
		for j := range steps {
			steps[(i+j)%len(steps)](i)
		}
	}
	b.StopTimer()

	p50, p99 := percentile(lat, 50), percentile(lat, 99)
	rp50, rp99 := percentile(rawLat, 50), percentile(rawLat, 99)
	sp50 := percentile(sameLat, 50)
	b.ReportMetric(micros(p50), "p50-µs")
	b.ReportMetric(micros(p99), "p99-µs")
	b.ReportMetric(micros(rp50), "raw-p50-µs")
	b.ReportMetric(micros(rp99), "raw-p99-µs")
	b.ReportMetric(micros(sp50), "same-p50-µs")
	b.ReportMetric(float64(p50)/float64(rp50), "x-raw-p50")
	b.ReportMetric(float64(p99)/float64(rp99), "x-raw-p99")
	b.ReportMetric(float64(p50)/float64(sp50), "x-same-p50")
	b.ReportMetric(float64(keys), "keys/call")
	b.ReportMetric(float64(size), "B/call")
	// ns/op covers all three steps; the metrics above are what to quote.
	if err := s.Check(); err != nil {
		b.Fatal(err)
	}
}

// applyFixture is 10,000 operations sealed into 100 change sets on a source
// replica, and what applying each of them writes on a receiver.
type applyFixture struct {
	source  DeviceRecord
	sets    [][]byte
	writes  [][]kvWrite // per change set, found on a trial receiver
	digest  protocol.Hash
	ops     int
	csBytes int
	keys    int // keys written over all change sets
	size    int // bytes of keys and values written over all change sets
}

var (
	applyFixtureOnce sync.Once
	applyFixtureVal  *applyFixture
	applyFixtureErr  error
)

const (
	fixtureOps         = 10_000
	fixtureCommitments = 400
	fixtureEdits       = 200 // drafts retitled before publication
	fixtureAmendments  = 100
	fixtureEvidence    = 100
	fixtureMaxOps      = 100
)

// getApplyFixture builds the fixture once per test binary: the -count runs
// share it.
func getApplyFixture(b *testing.B) *applyFixture {
	applyFixtureOnce.Do(func() {
		dir, err := os.MkdirTemp("", "jiannuo-bench-")
		if err != nil {
			applyFixtureErr = err
			return
		}
		defer os.RemoveAll(dir)
		applyFixtureVal, applyFixtureErr = buildApplyFixture(b, dir)
	})
	if applyFixtureErr != nil || applyFixtureVal == nil {
		b.Fatalf("building the fixture failed: %v", applyFixtureErr)
	}
	return applyFixtureVal
}

// buildApplyFixture plays a township's few months on one replica: 400
// commitments drafted (half of them retitled) and published, 100
// amendments, 100 evidence files and 8,800 fulfilment entries with notes,
// interleaved at random but reproducibly. Sealed with maxOps=100 that is
// exactly 100 change sets.
func buildApplyFixture(b *testing.B, dir string) (*applyFixture, error) {
	src, err := Open(filepath.Join(dir, "source.db"), &Options{Now: newStepClock().Now, KDF: auth.TestParams(), Logger: quietLogger(), NoSync: true})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	se := setupBench(b, src, domain.RoleLeader)

	const (
		tNew = iota
		tAmend
		tEvidence
		tEntry
	)
	entries := fixtureOps - fixtureCommitments*2 - fixtureEdits - fixtureAmendments - fixtureEvidence
	var plan []int
	for range fixtureCommitments - 1 {
		plan = append(plan, tNew)
	}
	for range fixtureAmendments {
		plan = append(plan, tAmend)
	}
	for range fixtureEvidence {
		plan = append(plan, tEvidence)
	}
	for range entries {
		plan = append(plan, tEntry)
	}
	rng := rand.New(rand.NewPCG(2026, 1))
	rng.Shuffle(len(plan), func(i, j int) { plan[i], plan[j] = plan[j], plan[i] })
	plan = append([]int{tNew}, plan...) // something to log fulfilment on

	categories := []domain.Category{domain.CatEmployment, domain.CatProperty, domain.CatSchooling, domain.CatElderlyCare,
		domain.CatDisability, domain.CatMedicalInsurance, domain.CatParking, domain.CatFireTheft, domain.CatConvenience}
	var published []Ref
	progress := make(map[Ref]int)
	var cite []protocol.Hash
	created, edits := 0, 0
	for i, t := range plan {
		day := calendar.NewDate(2026, 10, 1).AddDays(i / 60)
		switch t {
		case tNew:
			d := sampleDraft(fmt.Sprintf("第%d项承诺：%s", created+1, strings.Repeat("便民", 1+created%5)))
			d.Category = categories[created%len(categories)]
			d.Text = strings.Repeat(d.Text, 1+created%4)
			ref, err := se.Create(d)
			if err != nil {
				return nil, err
			}
			if created%2 == 0 && edits < fixtureEdits {
				if err := se.Edit(ref, domain.FieldTitle, d.Title+"（修订）"); err != nil {
					return nil, err
				}
				edits++
			}
			if err := se.Publish(ref); err != nil {
				return nil, err
			}
			created++
			published = append(published, ref)
		case tAmend:
			ref := published[rng.IntN(len(published))]
			c, err := src.Commitment(ref)
			if err != nil {
				return nil, err
			}
			err = se.Amend(ref, []Change{{domain.FieldText, c.Text + "并每季度公示一次。"}}, "县民政局提高服务标准")
			if err != nil {
				return nil, err
			}
		case tEvidence:
			content := bytes.Repeat([]byte(fmt.Sprintf("%%PDF-1.4 佐证材料 %d\n", i)), 64)
			h, err := se.AddEvidence(fmt.Sprintf("走访记录-%d.pdf", i), "application/pdf", bytes.NewReader(content))
			if err != nil {
				return nil, err
			}
			cite = append(cite, h)
		case tEntry:
			ref := published[rng.IntN(len(published))]
			progress[ref] = min(100, progress[ref]+rng.IntN(15))
			in := EntryInput{Date: day, Progress: progress[ref], Note: benchNote(i), Evidence: cite}
			if _, err := se.LogFulfilment(ref, in); err != nil {
				return nil, err
			}
			cite = nil
		}
	}
	if edits != fixtureEdits {
		return nil, fmt.Errorf("fixture made %d edits, want %d", edits, fixtureEdits)
	}
	if c, err := src.Pending(); err != nil || c.PendingOps != fixtureOps {
		return nil, fmt.Errorf("fixture has %d pending operations (%v), want %d", c.PendingOps, err, fixtureOps)
	}
	n, err := se.Seal(fixtureMaxOps)
	if err != nil {
		return nil, err
	}
	if n != fixtureOps/fixtureMaxOps {
		return nil, fmt.Errorf("sealed %d change sets, want %d", n, fixtureOps/fixtureMaxOps)
	}
	// The source was written without fsync; flush it so that its dirty pages
	// do not land on the first fsyncs the benchmark times.
	if err := src.db.Sync(); err != nil {
		return nil, err
	}
	fx := &applyFixture{source: se.Device(), ops: fixtureOps}
	if fx.sets, err = src.ChangeSets(fx.source.ID, 0, 0); err != nil {
		return nil, err
	}
	for _, cs := range fx.sets {
		fx.csBytes += len(cs)
	}
	if fx.digest, err = src.Digest(); err != nil {
		return nil, err
	}

	// A trial receiver shows what each change set writes.
	rcv := newBenchReceiver(b, filepath.Join(dir, "trial.db"), fx, true)
	defer rcv.Close()
	snap := make(kvSnapshot)
	changedSince(b, rcv.db, snap)
	for _, cs := range fx.sets {
		if err := applyAll(rcv, cs); err != nil {
			return nil, err
		}
		ws := changedSince(b, rcv.db, snap)
		k, n := writeSize(ws)
		fx.keys += k
		fx.size += n
		fx.writes = append(fx.writes, ws)
	}
	if d, err := rcv.Digest(); err != nil || d != fx.digest {
		return nil, fmt.Errorf("trial receiver differs from the source after applying everything (%v)", err)
	}
	if err := rcv.Check(); err != nil {
		return nil, err
	}
	return fx, rcv.db.Sync()
}

// newBenchReceiver opens a fresh replica of the same township (a colleague's
// PC) that knows the fixture's source device.
func newBenchReceiver(tb testing.TB, path string, fx *applyFixture, noSync bool) *Store {
	tb.Helper()
	s := openBenchStore(tb, path, noSync)
	setupBench(tb, s, domain.RoleStaff)
	if err := s.PutDevice(fx.source); err != nil {
		tb.Fatal(err)
	}
	return s
}

// applyAll applies change sets in one call and fails unless all are applied.
func applyAll(s *Store, sets ...[]byte) error {
	res, err := s.Apply(sets...)
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Code != protocol.CodeOK {
			return fmt.Errorf("change set %d refused: %s: %v", r.Seq, r.Code, r.Err)
		}
	}
	return nil
}

// BenchmarkApply10kOps measures a receiver applying 10,000 operations (100
// change sets of 100) against raw bbolt making the very same writes (the
// same buckets, keys and values, found on a trial receiver) with no logic:
// no decoding, no signature or chain check, no JSON, no derivation.
//
//   - per-changeset: one Apply call per change set, so 100 fsync'd
//     transactions; the baseline makes 100 transactions too.
//   - group-commit: all 100 change sets in one Apply call, one transaction;
//     the baseline makes every write in one transaction.
//
// One iteration is the whole 10,000 operations into a fresh file; ns/op is
// the apply alone. The target is x-raw ≤ 2.
//
// per-changeset-nosync is the first without fsync on either side: the store's
// processing against bbolt's alone, as if the disk were infinitely fast. It
// is the worst case for the ratio and shows where the CPU goes.
func BenchmarkApply10kOps(b *testing.B) {
	fx := getApplyFixture(b)
	b.Run("per-changeset", func(b *testing.B) { benchApply(b, fx, false, false) })
	b.Run("group-commit", func(b *testing.B) { benchApply(b, fx, true, false) })
	b.Run("per-changeset-nosync", func(b *testing.B) { benchApply(b, fx, false, true) })
}

func benchApply(b *testing.B, fx *applyFixture, group, noSync bool) {
	dir := b.TempDir()
	var applyTotal, rawTotal time.Duration
	var csLat, rawLat []time.Duration
	b.StopTimer()
	b.ResetTimer()
	for i := range b.N {
		rcvPath, rawPath := filepath.Join(dir, fmt.Sprint("rcv", i)), filepath.Join(dir, fmt.Sprint("raw", i))
		rcv := newBenchReceiver(b, rcvPath, fx, noSync)
		raw := openRawBolt(b, rawPath)
		raw.NoSync = noSync

		doApply := func() {
			b.StartTimer()
			t0 := time.Now()
			if group {
				if err := applyAll(rcv, fx.sets...); err != nil {
					b.Fatal(err)
				}
			} else {
				for _, cs := range fx.sets {
					t1 := time.Now()
					if err := applyAll(rcv, cs); err != nil {
						b.Fatal(err)
					}
					csLat = append(csLat, time.Since(t1))
				}
			}
			applyTotal += time.Since(t0)
			b.StopTimer()
		}
		doRaw := func() {
			t0 := time.Now()
			var err error
			if group {
				err = raw.Update(func(tx *bolt.Tx) error {
					for _, ws := range fx.writes {
						if err := replay(tx, ws); err != nil {
							return err
						}
					}
					return nil
				})
			} else {
				for _, ws := range fx.writes {
					t1 := time.Now()
					if err = raw.Update(func(tx *bolt.Tx) error { return replay(tx, ws) }); err != nil {
						break
					}
					rawLat = append(rawLat, time.Since(t1))
				}
			}
			rawTotal += time.Since(t0)
			if err != nil {
				b.Fatal(err)
			}
		}
		if i%2 == 0 {
			doApply()
			doRaw()
		} else {
			doRaw()
			doApply()
		}

		if d, err := rcv.Digest(); err != nil || d != fx.digest {
			b.Fatalf("receiver differs from the source (%v)", err)
		}
		rcv.Close()
		raw.Close()
		os.Remove(rcvPath)
		os.Remove(rawPath)
	}
	n := float64(b.N * fx.ops)
	b.ReportMetric(n/applyTotal.Seconds(), "ops/s")
	b.ReportMetric(n/rawTotal.Seconds(), "raw-ops/s")
	b.ReportMetric(float64(applyTotal)/float64(rawTotal), "x-raw")
	b.ReportMetric(float64(fx.keys)/float64(len(fx.sets)), "keys/cs")
	b.ReportMetric(float64(fx.size)/float64(len(fx.sets))/1024, "KiB-written/cs")
	b.ReportMetric(float64(fx.csBytes)/float64(len(fx.sets))/1024, "KiB-signed/cs")
	if !group {
		b.ReportMetric(float64(percentile(csLat, 50))/float64(time.Millisecond), "cs-p50-ms")
		b.ReportMetric(float64(percentile(csLat, 99))/float64(time.Millisecond), "cs-p99-ms")
		b.ReportMetric(float64(percentile(rawLat, 50))/float64(time.Millisecond), "raw-cs-p50-ms")
		b.ReportMetric(float64(percentile(rawLat, 99))/float64(time.Millisecond), "raw-cs-p99-ms")
	}
}

// BenchmarkSeal measures sealing 100 pending fulfilment entries into one
// change set: reading the queue, encoding, signing, verifying the result as
// a receiver would, and committing, with fsync and without (the CPU part).
func BenchmarkSeal(b *testing.B) {
	for _, noSync := range []bool{false, true} {
		name := "fsync"
		if noSync {
			name = "nosync"
		}
		b.Run(name, func(b *testing.B) {
			s := openBenchStore(b, filepath.Join(b.TempDir(), "replica.db"), noSync)
			defer s.Close()
			se := setupBench(b, s, domain.RoleLeader)
			ref, err := se.Create(sampleDraft("独居老人每月走访"))
			if err != nil {
				b.Fatal(err)
			}
			if err := se.Publish(ref); err != nil {
				b.Fatal(err)
			}
			if _, err := se.Seal(0); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ResetTimer()
			var total time.Duration
			for i := range b.N {
				for j := range fixtureMaxOps {
					in := EntryInput{Date: calendar.NewDate(2026, 10, 1).AddDays(i), Progress: j, Note: benchNote(j)}
					if _, err := se.LogFulfilment(ref, in); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				t0 := time.Now()
				n, err := se.Seal(fixtureMaxOps)
				total += time.Since(t0)
				b.StopTimer()
				if err != nil || n != 1 {
					b.Fatalf("sealed %d change sets: %v", n, err)
				}
			}
			b.ReportMetric(float64(b.N*fixtureMaxOps)/total.Seconds(), "ops/s")
		})
	}
}

// BenchmarkCheck measures the full invariant check on a replica holding
// 1,000 commitments (5,000 operations in 50 change sets, 20 more pending).
// Informational: Check runs in tests and on demand, not on every action.
func BenchmarkCheck(b *testing.B) {
	s := openBenchStore(b, filepath.Join(b.TempDir(), "replica.db"), true)
	defer s.Close()
	se := setupBench(b, s, domain.RoleLeader)
	const commitments = 1000
	for i := range commitments {
		ref, err := se.Create(sampleDraft(fmt.Sprintf("第%d项承诺", i+1)))
		if err != nil {
			b.Fatal(err)
		}
		if err := se.Publish(ref); err != nil {
			b.Fatal(err)
		}
		for j := range 3 {
			in := EntryInput{Date: calendar.NewDate(2026, 10, 1+j), Progress: 30 * (j + 1), Note: benchNote(i + j)}
			if _, err := se.LogFulfilment(ref, in); err != nil {
				b.Fatal(err)
			}
		}
	}
	if _, err := se.Seal(fixtureMaxOps); err != nil {
		b.Fatal(err)
	}
	all, err := s.AllCommitments()
	if err != nil || len(all) != commitments {
		b.Fatalf("%d commitments (%v)", len(all), err)
	}
	for i := range 20 {
		if _, err := se.LogFulfilment(all[i].Ref, EntryInput{Date: calendar.NewDate(2026, 11, 2), Progress: 100}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		if err := s.Check(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(s.Size())/(1<<20), "MiB-file")
}
