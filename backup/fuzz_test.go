package backup

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	"jiannuo/auth"
)

// FuzzReadBackup feeds arbitrary bytes to the backup reader, as restore
// would read them: it must never panic, never allocate beyond its bounds,
// and refuse everything it does not read whole with one of the package's
// errors. A file that does read whole reads the same way again.
func FuzzReadBackup(f *testing.F) {
	for _, p := range []string{"", testPass} {
		raw, _ := os.ReadFile(write(f, KindDevice, p))
		f.Add(raw[:min(len(raw), 4096)])
		var small bytes.Buffer
		w, _ := NewWriter(&small, WriterOptions{Kind: KindMunicipal, Passphrase: p, KDF: auth.TestParams()})
		a, _ := NewArchive(w, Manifest{Kind: "municipal"})
		a.Bytes("node.key", 0o600, []byte("key"))
		a.Close()
		w.Close()
		f.Add(small.Bytes())
	}
	f.Add([]byte("JNBK"))
	f.Add([]byte("JNBK\x01\x03\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if h, err := ReadHeader(bytes.NewReader(data)); err == nil && h.Encrypted && !cheap(h.KDF) {
			t.Skip("costly key derivation")
		}
		read := func() ([]FileHeader, error) {
			r, err := NewReader(bytes.NewReader(data), pass(testPass))
			if err != nil {
				return nil, err
			}
			ar, err := NewArchiveReader(r)
			if err != nil {
				return nil, err
			}
			var out []FileHeader
			for {
				fh, content, err := ar.Next()
				if errors.Is(err, io.EOF) {
					return out, nil
				}
				if err != nil {
					return nil, err
				}
				if _, err := io.Copy(io.Discard, content); err != nil {
					return nil, err
				}
				out = append(out, fh)
			}
		}
		files, err := read()
		if err != nil {
			for _, known := range []error{ErrNotBackup, ErrVersion, ErrPassphrase, ErrTruncated, ErrDamaged} {
				if errors.Is(err, known) {
					return
				}
			}
			t.Fatalf("unclassified error: %v", err)
		}
		again, err := read()
		if err != nil || len(again) != len(files) {
			t.Fatalf("read whole once, then %d files: %v", len(again), err)
		}
		for _, fh := range files {
			if !ValidName(fh.Name) || fh.Mode > 0o777 || fh.Size < 0 || fh.Size > MaxFileBytes {
				t.Fatalf("accepted %+v", fh)
			}
		}
	})
}

// cheap reports whether argon2id under p is fast enough for every fuzz
// input.
func cheap(p auth.Params) bool { return p.MemoryKiB <= 1024 && p.Time <= 4 }
