package backup

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jiannuo/auth"
)

const testPass = "备份口令-县信用办2026"

// files are the test archive's files: a key, a small file and one of
// several chunks.
func testFiles() []struct {
	name string
	mode fs.FileMode
	data []byte
} {
	big := bytes.Repeat([]byte("栾川县政务承诺"), 30_000) // 630 KB: ten chunks
	return []struct {
		name string
		mode fs.FileMode
		data []byte
	}{
		{"county.key", 0o600, []byte("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIG\n-----END PRIVATE KEY-----\n")},
		{"county.json", 0o644, []byte(`{"county":"410324"}`)},
		{"county.db", 0o600, big},
		{"empty", 0o600, nil},
	}
}

// write makes a backup of the test files in a new file and returns its
// path.
func write(t testing.TB, kind Kind, pass string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "b.jnbk")
	err := Create(path, WriterOptions{Kind: kind, Passphrase: pass, KDF: auth.TestParams()},
		Manifest{County: "410324", FeedHead: 42, Created: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)},
		func(a *Archive) error {
			for _, f := range testFiles() {
				if err := a.Bytes(f.name, f.mode, f.data); err != nil {
					return err
				}
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func pass(p string) func() (string, error) { return func() (string, error) { return p, nil } }

func TestRoundTrip(t *testing.T) {
	for _, p := range []string{"", testPass} {
		t.Run(fmt.Sprintf("encrypted=%v", p != ""), func(t *testing.T) {
			path := write(t, KindCounty, p)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Fatalf("backup file mode %o, want 0600", fi.Mode().Perm())
			}
			if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*.tmp")); len(leftovers) != 0 {
				t.Fatalf("temporary files left: %v", leftovers)
			}
			if p != "" {
				raw, _ := os.ReadFile(path)
				if bytes.Contains(raw, []byte("BEGIN PRIVATE KEY")) || bytes.Contains(raw, []byte("410324")) {
					t.Fatal("the encrypted backup holds plain text")
				}
			}
			c, err := Verify(path, KindCounty, pass(p))
			if err != nil {
				t.Fatal(err)
			}
			if c.Header.Kind != KindCounty || c.Header.Encrypted != (p != "") || c.Manifest.Kind != "county" || c.Manifest.FeedHead != 42 || len(c.Files) != 4 {
				t.Fatalf("contents %+v", c)
			}
			dir := filepath.Join(t.TempDir(), "restored")
			m, err := Extract(path, KindCounty, pass(p), dir, nil)
			if err != nil || m.County != "410324" {
				t.Fatalf("extract: %+v %v", m, err)
			}
			for _, f := range testFiles() {
				got, err := os.ReadFile(filepath.Join(dir, f.name))
				if err != nil || !bytes.Equal(got, f.data) {
					t.Fatalf("%s: %d bytes, %v", f.name, len(got), err)
				}
				fi, _ := os.Stat(filepath.Join(dir, f.name))
				if fi.Mode().Perm() != f.mode {
					t.Fatalf("%s restored with mode %o, want %o", f.name, fi.Mode().Perm(), f.mode)
				}
			}
			di, _ := os.Stat(dir)
			if di.Mode().Perm() != 0o700 {
				t.Fatalf("restored directory mode %o", di.Mode().Perm())
			}
		})
	}
}

// TestBadFiles: every way a backup file can be wrong is refused with its
// error, and Extract leaves nothing behind.
func TestBadFiles(t *testing.T) {
	enc := write(t, KindCounty, testPass)
	plain := write(t, KindCounty, "")
	raw, _ := os.ReadFile(enc)
	rawPlain, _ := os.ReadFile(plain)
	dir := t.TempDir()
	put := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	refused := func(t *testing.T, path string, kind Kind, p string, want error) {
		t.Helper()
		if _, err := Verify(path, kind, pass(p)); !errors.Is(err, want) {
			t.Fatalf("Verify: %v, want %v", err, want)
		}
		out := filepath.Join(t.TempDir(), "out")
		if _, err := Extract(path, kind, pass(p), out, nil); !errors.Is(err, want) {
			t.Fatalf("Extract: %v, want %v", err, want)
		}
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("Extract left %s behind: %v", out, err)
		}
	}
	t.Run("wrong passphrase", func(t *testing.T) { refused(t, enc, KindCounty, "另一个口令-县信用办2026", ErrPassphrase) })
	t.Run("no passphrase", func(t *testing.T) {
		if _, err := Verify(enc, KindCounty, nil); !errors.Is(err, ErrNeedPassphrase) {
			t.Fatalf("Verify without a passphrase: %v", err)
		}
	})
	t.Run("wrong kind", func(t *testing.T) { refused(t, enc, KindDevice, testPass, ErrWrongKind) })
	t.Run("not a backup", func(t *testing.T) {
		refused(t, put("notes.txt", []byte("这不是备份文件 not a backup")), KindCounty, testPass, ErrNotBackup)
		refused(t, put("empty.jnbk", nil), KindCounty, testPass, ErrNotBackup)
		refused(t, put("tar.gz", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3}), KindCounty, testPass, ErrNotBackup)
	})
	t.Run("newer version", func(t *testing.T) {
		b := bytes.Clone(raw)
		b[4] = 2
		refused(t, put("v2.jnbk", b), 0, testPass, ErrVersion)
	})
	for name, file := range map[string][]byte{"encrypted": raw, "plain": rawPlain} {
		t.Run("truncated "+name, func(t *testing.T) {
			// At every offset of the header and the first chunk's length,
			// inside chunks, at chunk boundaries, and one byte short.
			var offs []int
			for i := 5; i < 60; i++ {
				offs = append(offs, i)
			}
			for i := 1; i < 12; i++ {
				offs = append(offs, i*(4+maxSealed)+xHeader, i*(4+maxSealed)+xHeader-3, i*(4+maxSealed)+xHeader+100)
			}
			offs = append(offs, len(file)-1, len(file)-17, len(file)-20)
			for _, n := range offs {
				if n >= len(file) {
					continue
				}
				want := ErrTruncated
				path := put(fmt.Sprintf("cut-%s-%d", name, n), file[:n])
				_, err := Verify(path, 0, pass(testPass))
				if !errors.Is(err, want) {
					t.Fatalf("cut at %d of %d: %v", n, len(file), err)
				}
			}
			refused(t, put("cut-"+name, file[:len(file)/2]), KindCounty, testPass, ErrTruncated)
		})
		t.Run("flipped bits "+name, func(t *testing.T) {
			// A bit flipped anywhere: header, lengths, content, tags.
			for i := 0; i < len(file); i += max(1, len(file)/97) {
				b := bytes.Clone(file)
				b[i] ^= 0x10
				_, err := Verify(put(fmt.Sprintf("flip-%s-%d", name, i), b), KindCounty, pass(testPass))
				if err == nil {
					t.Fatalf("a bit flipped at %d of %d went unnoticed", i, len(file))
				}
				if !errors.Is(err, ErrDamaged) && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrPassphrase) &&
					!errors.Is(err, ErrNotBackup) && !errors.Is(err, ErrVersion) && !errors.Is(err, ErrWrongKind) {
					t.Fatalf("flip at %d: %v", i, err)
				}
			}
			b := bytes.Clone(file)
			b[len(b)/2] ^= 1
			refused(t, put("flip-"+name, b), KindCounty, testPass, ErrDamaged)
		})
		t.Run("reordered "+name, func(t *testing.T) {
			hl := plainHeader
			if name == "encrypted" {
				hl = xHeader
			}
			c1, c2 := file[hl:hl+4+maxSealed], file[hl+4+maxSealed:hl+2*(4+maxSealed)]
			b := append(append(append(bytes.Clone(file[:hl]), c2...), c1...), file[hl+2*(4+maxSealed):]...)
			want := ErrDamaged
			if name == "encrypted" {
				want = ErrPassphrase // the first chunk no longer opens
			}
			refused(t, put("swap-"+name, b), KindCounty, testPass, want)
			// A chunk repeated, one dropped.
			b = append(append(bytes.Clone(file[:hl+4+maxSealed]), c1...), file[hl+4+maxSealed:]...)
			refused(t, put("dup-"+name, b), KindCounty, testPass, ErrDamaged)
			b = append(bytes.Clone(file[:hl+4+maxSealed]), file[hl+2*(4+maxSealed):]...)
			refused(t, put("drop-"+name, b), KindCounty, testPass, ErrDamaged)
		})
		t.Run("trailing "+name, func(t *testing.T) {
			refused(t, put("trail-"+name, append(bytes.Clone(file), 0)), KindCounty, testPass, ErrDamaged)
		})
	}
	t.Run("kind byte changed", func(t *testing.T) {
		// The header is authenticated: claiming another kind does not open.
		b := bytes.Clone(raw)
		b[5] = byte(KindDevice)
		refused(t, put("kind.jnbk", b), KindDevice, testPass, ErrPassphrase)
		b = bytes.Clone(rawPlain)
		b[5] = byte(KindDevice)
		refused(t, put("kindp.jnbk", b), KindDevice, "", ErrDamaged)
	})
	t.Run("extract refuses a file", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "out")
		_, err := Extract(enc, KindCounty, pass(testPass), out, func(fh FileHeader) error {
			if fh.Name == "county.db" {
				return errors.New("no databases today")
			}
			return nil
		})
		if err == nil || !strings.Contains(err.Error(), "no databases") {
			t.Fatalf("extract: %v", err)
		}
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
			t.Fatal("a refused extract left its directory")
		}
	})
	t.Run("target exists", func(t *testing.T) {
		out := t.TempDir()
		if _, err := Extract(enc, KindCounty, pass(testPass), out, nil); !errors.Is(err, fs.ErrExist) {
			t.Fatalf("extract into an existing directory: %v", err)
		}
	})
}

// TestCreateFails: a fill that fails leaves neither the backup nor its
// temporary file, and an older backup of the name stays as it was.
func TestCreateFails(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "b.jnbk")
	os.WriteFile(path, []byte("older"), 0o600)
	err := Create(path, WriterOptions{Kind: KindDevice}, Manifest{}, func(a *Archive) error {
		return a.File("device.db", 0o600, 10, func(w io.Writer) error {
			_, err := w.Write([]byte("short"))
			return err
		})
	})
	if err == nil {
		t.Fatal("a file shorter than announced was written")
	}
	if got, _ := os.ReadFile(path); string(got) != "older" {
		t.Fatalf("the older backup became %q", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left in the directory: %v", entries)
	}
	if err := Create(path, WriterOptions{Kind: KindDevice, Passphrase: "短"}, Manifest{}, func(*Archive) error { return nil }); !errors.Is(err, auth.ErrWeakPassphrase) {
		t.Fatalf("weak passphrase: %v", err)
	}
}

// TestKnownAnswer pins the format: the same passphrase, salt and nonce
// prefix give the same bytes.
func TestKnownAnswer(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, WriterOptions{Kind: KindDevice, Passphrase: testPass, KDF: auth.TestParams(), rand: bytes.NewReader(bytes.Repeat([]byte{7}, 64))})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := NewArchive(w, Manifest{Kind: "device", Created: time.Unix(0, 0).UTC()})
	a.Bytes("device.db", 0o600, []byte("replica"))
	a.Close()
	w.Close()
	sum := sha256.Sum256(buf.Bytes())
	const knownAnswer = "31438b432be63bc5"
	if got := fmt.Sprintf("%x", sum[:8]); got != knownAnswer {
		t.Fatalf("backup bytes changed: sha256 prefix %s, pinned %s", got, knownAnswer)
	}
}

// TestRestoreFiles: a backup holding a file the kind does not have, or
// lacking one it must have, is refused as damaged and writes nothing; one
// with exactly the files is restored.
func TestRestoreFiles(t *testing.T) {
	path := write(t, KindCounty, testPass)
	var all []string
	for _, f := range testFiles() {
		all = append(all, f.name)
	}
	cases := []struct {
		name  string
		files []string
		want  string
	}{
		{"another file", all[1:], "county.key is no file of a county backup"},
		{"a file lacking", append(append([]string{}, all...), "tls.key"), "lacks tls.key"},
	}
	for _, c := range cases {
		dir := filepath.Join(t.TempDir(), "data")
		_, err := Restore(path, KindCounty, pass(testPass), dir, RestoreOptions{Files: c.files})
		if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrDamaged saying %q", c.name, err, c.want)
		}
		if entries, _ := os.ReadDir(filepath.Dir(dir)); len(entries) != 0 {
			t.Errorf("%s: %d entries written", c.name, len(entries))
		}
	}
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := Restore(path, KindCounty, pass(testPass), dir, RestoreOptions{Files: all}); err != nil {
		t.Fatal(err)
	}
	for _, name := range all {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
}
