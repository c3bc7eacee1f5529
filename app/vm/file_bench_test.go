package vm

// Benchmarks of the township file itself at 50,000 commitments (issue
// #15): what it costs on disk per operation, and how long the app takes
// from opening it to a usable commitments list. Each reports ratios
// against a baseline measured in the same run; docs/benchmarks-app.md
// records the figures and the commands:
//
//	go test -run '^$' -bench 'TownshipFile|OpenToList' -benchtime 3x ./app/vm/
//
// These are benchmarks only: nothing here asserts a size or a duration.

import (
	"context"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/auth"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

var (
	townshipOnce sync.Once
	townshipPath string
	townshipDir  string
	townshipErr  error
)

// townshipFile returns the path of a closed township file built as big's is
// (bigSize() commitments, about 3.3 operations each), for benchmarks that
// open it themselves. Built once per test binary.
func townshipFile(tb testing.TB) string {
	tb.Helper()
	townshipOnce.Do(func() {
		townshipDir, townshipErr = os.MkdirTemp("", "jiannuo-vm-bigfile-")
		if townshipErr != nil {
			return
		}
		townshipPath = filepath.Join(townshipDir, "township.db")
		var s *store.Store
		if s, townshipErr = buildBigAt(townshipPath, bigSize()); townshipErr == nil {
			townshipErr = s.Close()
		}
		// A copy to keep, for BenchmarkMigrateFile on a file of an
		// older build.
		if keep := os.Getenv("JIANNUO_KEEP_TOWNSHIP_FILE"); keep != "" && townshipErr == nil {
			var data []byte
			if data, townshipErr = os.ReadFile(townshipPath); townshipErr == nil {
				townshipErr = os.WriteFile(keep, data, 0o600)
			}
		}
	})
	if townshipErr != nil {
		tb.Fatal(townshipErr)
	}
	return townshipPath
}

// bucketSize is what one bucket of the file holds.
type bucketSize struct {
	name  string
	keys  int
	bytes int64 // in use in its pages: keys, values and page headers
	alloc int64 // its pages, used or not
}

// fileCensus is what a township file holds.
type fileCensus struct {
	size       int64 // the file on disk
	free       int64 // of which free pages (bbolt keeps them for reuse)
	ops        int   // operations: in the log's change sets, and pending
	changeSets int
	logBytes   int64 // the change sets' own bytes
	buckets    []bucketSize
}

func census(tb testing.TB, path string) fileCensus {
	tb.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	// Read-write, so that bbolt loads its free list (nothing is written).
	db, err := bolt.Open(path, 0o600, &bolt.Options{NoSync: true, Timeout: 2 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	c := fileCensus{size: fi.Size()}
	err = db.View(func(tx *bolt.Tx) error {
		st := db.Stats()
		c.free = int64(st.FreePageN+st.PendingPageN) * int64(db.Info().PageSize)
		err := tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			bs := b.Stats()
			c.buckets = append(c.buckets, bucketSize{name: string(name), keys: bs.KeyN,
				bytes: int64(bs.LeafInuse + bs.BranchInuse + bs.InlineBucketInuse), alloc: int64(bs.LeafAlloc + bs.BranchAlloc)})
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Bucket([]byte("log")).ForEach(func(_, v []byte) error {
			cs, err := protocol.Decode(v)
			if err != nil {
				return err
			}
			c.changeSets++
			c.ops += len(cs.Ops)
			c.logBytes += int64(len(v))
			return nil
		})
		if err != nil {
			return err
		}
		c.ops += tx.Bucket([]byte("pending")).Stats().KeyN
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	slices.SortFunc(c.buckets, func(a, b bucketSize) int { return int(b.bytes - a.bytes) })
	return c
}

// logOnlyFile writes the file's log (every change set, as the store keys
// it) into a fresh bbolt file, 40 change sets a transaction as big's were
// applied, and returns its size: the file a replica would be if it kept
// nothing but the change sets.
func logOnlyFile(tb testing.TB, path string) int64 {
	tb.Helper()
	src, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	out := filepath.Join(tb.TempDir(), "log-only.db")
	dst, err := bolt.Open(out, 0o600, &bolt.Options{NoSync: true, Timeout: 2 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	type kv struct{ k, v []byte }
	var batch []kv
	flush := func() {
		err := dst.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("log"))
			if err != nil {
				return err
			}
			for _, x := range batch {
				if err := b.Put(x.k, x.v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
		batch = batch[:0]
	}
	err = src.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("log")).ForEach(func(k, v []byte) error {
			batch = append(batch, kv{slices.Clone(k), slices.Clone(v)})
			if len(batch) == 40 {
				flush()
			}
			return nil
		})
	})
	if err != nil {
		tb.Fatal(err)
	}
	flush()
	if err := dst.Close(); err != nil {
		tb.Fatal(err)
	}
	fi, err := os.Stat(out)
	if err != nil {
		tb.Fatal(err)
	}
	return fi.Size()
}

// BenchmarkTownshipFile reports the township file's size per operation
// (file-B/op; issue #15's goal is at most 1 KiB: x-of-1KiB-goal), the
// buckets' pages (pages-B/op) and the bytes in them (inuse-B/op), and two
// baselines from the same file: the change sets' own bytes (log-B/op,
// what every replica must keep, x-of-log) and a bbolt file holding only
// them (log-file-B/op, x-of-log-file). The log lines break the file down
// by bucket.
func BenchmarkTownshipFile(b *testing.B) {
	path := townshipFile(b)
	var c fileCensus
	var logFile int64
	for range b.N {
		c = census(b, path)
		logFile = logOnlyFile(b, path)
	}
	ops := float64(c.ops)
	b.ReportMetric(float64(c.size)/ops, "file-B/op")
	b.ReportMetric(float64(c.logBytes)/ops, "log-B/op")
	b.ReportMetric(float64(logFile)/ops, "log-file-B/op")
	b.ReportMetric(float64(c.size)/float64(c.logBytes), "x-of-log")
	b.ReportMetric(float64(c.size)/float64(logFile), "x-of-log-file")
	b.ReportMetric(float64(c.size)/ops/1024, "x-of-1KiB-goal")
	b.ReportMetric(ops, "ops")
	b.ReportMetric(float64(c.size)/1e6, "MB")
	b.Logf("%d commitments: %d operations in %d change sets (and pending); file %.1f MB (%.1f MB free pages), %.0f B/op; "+
		"change sets %.1f MB (%.0f B/op); a bbolt file of only them %.1f MB", bigSize(), c.ops, c.changeSets,
		float64(c.size)/1e6, float64(c.free)/1e6, float64(c.size)/ops, float64(c.logBytes)/1e6, float64(c.logBytes)/ops, float64(logFile)/1e6)
	var inuse, alloc int64
	for _, bk := range c.buckets {
		inuse, alloc = inuse+bk.bytes, alloc+bk.alloc
	}
	b.ReportMetric(float64(inuse)/ops, "inuse-B/op")
	b.ReportMetric(float64(alloc)/ops, "pages-B/op")
	b.Logf("  pages of the buckets %.1f MB, bytes in them %.1f MB (%.0f%% full); free pages %.1f MB; the rest (%.1f MB) the free list and meta pages",
		float64(alloc)/1e6, float64(inuse)/1e6, 100*float64(inuse)/float64(alloc), float64(c.free)/1e6, float64(c.size-alloc-c.free)/1e6)
	for _, bk := range c.buckets {
		if bk.bytes < inuse/1000 {
			continue
		}
		b.Logf("  %-14s %8d keys %8.1f MB in %8.1f MB of pages, %5.1f%% of the bytes, %6.0f B/op", bk.name, bk.keys,
			float64(bk.bytes)/1e6, float64(bk.alloc)/1e6, 100*float64(bk.bytes)/float64(inuse), float64(bk.bytes)/ops)
	}
}

// BenchmarkOpenToList measures the start-up of the commitments screen on
// the township file, as the app does it: store.Open, SignIn (with the
// tests' cheap key derivation) and List.Load, to a list of every
// commitment, sorted and counted (ms/op). Alternating in every iteration
// with two baselines: read-all-ms, opening the file and reading every
// commitment through the store (its decoding of the records, as
// docs/benchmarks-app.md measured before), and raw-scan-ms, opening the
// file with bbolt and touching every key and value of its commitments
// bucket without decoding them (the bytes any start-up reads). The file
// is in the page cache (it was just written): a cold start adds the
// disk's reads. Profiles: -cpuprofile and go tool pprof -tagfocus
// phase=start-up.
func BenchmarkOpenToList(b *testing.B) {
	path := townshipFile(b)
	ctx := context.Background()
	phase := func(p string) { pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels("phase", p))) }
	defer pprof.SetGoroutineLabels(ctx)
	opts := &store.Options{KDF: auth.TestParams(), Logger: quiet()}
	var full, read, scan time.Duration
	rows := 0
	b.ResetTimer()
	for i := range b.N {
		steps := []func(){
			func() {
				phase("start-up")
				t0 := time.Now()
				s, err := store.Open(path, opts)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.SignIn("zhangli", testPass); err != nil {
					b.Fatal(err)
				}
				l := NewList(nil)
				if err := l.Load(s, testToday); err != nil {
					b.Fatal(err)
				}
				full += time.Since(t0)
				rows = l.Total()
				s.Close()
			},
			func() {
				phase("baseline")
				t0 := time.Now()
				s, err := store.Open(path, opts)
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Commitments(func(store.Commitment) bool { return true }); err != nil {
					b.Fatal(err)
				}
				read += time.Since(t0)
				s.Close()
			},
			func() {
				phase("baseline")
				t0 := time.Now()
				db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
				if err != nil {
					b.Fatal(err)
				}
				var sum int
				err = db.View(func(tx *bolt.Tx) error {
					return tx.Bucket([]byte("commitments")).ForEach(func(k, v []byte) error {
						sum += len(k) + len(v)
						return nil
					})
				})
				if err != nil || sum == 0 {
					b.Fatal(err, sum)
				}
				scan += time.Since(t0)
				db.Close()
			},
		}
		for k := range steps {
			steps[(i+k)%len(steps)]()
		}
	}
	n := float64(b.N)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / n }
	b.ReportMetric(ms(full), "ms/op")
	b.ReportMetric(ms(read), "read-all-ms")
	b.ReportMetric(ms(scan), "raw-scan-ms")
	b.ReportMetric(float64(full)/float64(read), "x-read-all")
	b.ReportMetric(float64(full)/float64(scan), "x-raw-scan")
	b.ReportMetric(ms(full)/1000, "x-of-1s-goal")
	b.ReportMetric(float64(rows), "rows")
}

// BenchmarkMigrateFile measures opening a township file written by an
// older build, which migrates it in place (ms/op, the first Open; the
// schema-8 migration rewrites every version and commitment view in one
// transaction), then the whole-file Check on the result (check-ms), and
// the file's size before and after (file-B/op, after-B/op: bbolt keeps the
// pages it freed for reuse, it does not shrink the file). The older file
// comes from JIANNUO_SCHEMA7_FILE; docs/benchmarks-app.md says how it is
// made with the schema-7 build. Without the variable it is skipped.
func BenchmarkMigrateFile(b *testing.B) {
	src := os.Getenv("JIANNUO_SCHEMA7_FILE")
	if src == "" {
		b.Skip("set JIANNUO_SCHEMA7_FILE to a township file of an older build")
	}
	data, err := os.ReadFile(src)
	if err != nil {
		b.Fatal(err)
	}
	before := census(b, src)
	path := filepath.Join(b.TempDir(), "township.db")
	opts := &store.Options{KDF: auth.TestParams(), Logger: quiet()}
	var migrate, check time.Duration
	b.StopTimer()
	for range b.N {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		s, err := store.Open(path, opts)
		if err != nil {
			b.Fatal(err)
		}
		migrate += time.Since(t0)
		b.StopTimer()
		t0 = time.Now()
		if err := s.Check(); err != nil {
			b.Fatal(err)
		}
		check += time.Since(t0)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	after := census(b, path)
	ops := float64(before.ops)
	b.ReportMetric(float64(check)/float64(time.Millisecond)/float64(b.N), "check-ms")
	b.ReportMetric(float64(migrate)/float64(check), "x-check")
	b.ReportMetric(float64(before.size)/ops, "file-B/op")
	b.ReportMetric(float64(after.size)/ops, "after-B/op")
	b.ReportMetric(float64(after.free)/1e6, "after-free-MB")
	b.Logf("%d operations: %.1f MB before, %.1f MB after (%.1f MB of it free pages)", before.ops,
		float64(before.size)/1e6, float64(after.size)/1e6, float64(after.free)/1e6)
}
