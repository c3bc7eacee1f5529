package backup

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Create writes a backup file at path: the container of o around an
// archive of m (its Kind set from o) and the files fill adds. It writes a
// temporary file beside path with mode 0600, syncs it and renames it into
// place only once complete, so path is either the whole backup or not
// there (an older file of that name stays until the rename replaces it);
// on any error the temporary file is removed.
func Create(path string, o WriterOptions, m Manifest, fill func(*Archive) error) (err error) {
	m.Kind = o.Kind.String()
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// CreateTemp makes it 0600 already; said again so a umask or a
	// platform default never loosens a file holding private keys.
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	w, err := NewWriter(bw, o)
	if err != nil {
		return err
	}
	a, err := NewArchive(w, m)
	if err != nil {
		return err
	}
	if err := fill(a); err != nil {
		return err
	}
	if err := a.Close(); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename in dir durable where the platform allows it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// Contents is what Verify found in a backup file.
type Contents struct {
	Header   Header
	Manifest Manifest
	Files    []FileHeader
}

// Inspect reads only the header of the backup file at path.
func Inspect(path string) (Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return Header{}, err
	}
	defer f.Close()
	return ReadHeader(f)
}

// Verify reads the whole backup file at path, checking every chunk and
// the archive's structure, and writes nothing. kind, unless zero, is the
// kind expected (ErrWrongKind otherwise, before a passphrase is asked
// for). passphrase is asked for an encrypted file.
func Verify(path string, kind Kind, passphrase func() (string, error)) (Contents, error) {
	var c Contents
	err := walk(path, kind, passphrase, func(h Header, m Manifest) error {
		c.Header, c.Manifest = h, m
		return nil
	}, func(fh FileHeader, r io.Reader) error {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return err
		}
		c.Files = append(c.Files, fh)
		return nil
	})
	return c, err
}

// walk opens the backup file at path and calls file with each of its
// files in order.
func walk(path string, kind Kind, passphrase func() (string, error), begin func(Header, Manifest) error, file func(FileHeader, io.Reader) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if kind != 0 {
		h, err := ReadHeader(f)
		if err != nil {
			return err
		}
		if h.Kind != kind {
			return fmt.Errorf("%w: a %s backup, not a %s backup", ErrWrongKind, h.Kind, kind)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
	}
	r, err := NewReader(f, passphrase)
	if err != nil {
		return err
	}
	ar, err := NewArchiveReader(r)
	if err != nil {
		return err
	}
	if ar.Manifest().Kind != r.Header().Kind.String() {
		return fmt.Errorf("%w: the manifest says %q inside a %s backup", ErrDamaged, ar.Manifest().Kind, r.Header().Kind)
	}
	if err := begin(r.Header(), ar.Manifest()); err != nil {
		return err
	}
	return ar.Each(file)
}

// Extract writes the files of the backup file at path into dir, which
// must not exist yet: it is made (mode 0700) with every file of the
// archive, each synced, and on any error removed again with everything in
// it. allow, if set, is asked about each file before it is written and
// may refuse it. It reads and checks the file again as it goes (it may
// have changed since Verify), so a damaged backup never leaves a partial
// directory.
func Extract(path string, kind Kind, passphrase func() (string, error), dir string, allow func(FileHeader) error) (m Manifest, err error) {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return Manifest{}, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	err = walk(path, kind, passphrase, func(_ Header, man Manifest) error {
		m = man
		return nil
	}, func(fh FileHeader, r io.Reader) error {
		if allow != nil {
			if err := allow(fh); err != nil {
				return err
			}
		}
		// Never executable, never writable by others; the owner can
		// always read and write what it restored.
		mode := fh.Mode&0o644 | 0o600
		out, err := os.OpenFile(filepath.Join(dir, fh.Name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, r); err != nil {
			out.Close()
			return err
		}
		if err := out.Sync(); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err == nil {
		syncDir(dir)
	}
	return m, err
}

// Passphrase returns a passphrase function that asks ask once and gives
// the same answer to every later call: a restore reads the file twice
// (Verify, then Extract) and must not ask twice.
func Passphrase(ask func() (string, error)) func() (string, error) {
	var (
		done bool
		pass string
		err  error
	)
	return func() (string, error) {
		if !done {
			done = true
			pass, err = ask()
		}
		return pass, err
	}
}

// CreateFrom writes a backup file at path (as Create does) around the
// archive read from src, checking it file by file: a backup streamed from
// a server is written only if it arrived whole and well formed. check, if
// set, is asked about the manifest and each file before anything is kept.
func CreateFrom(path string, o WriterOptions, src io.Reader, check func(Manifest, *FileHeader) error) (Manifest, error) {
	ar, err := NewArchiveReader(src)
	if err != nil {
		return Manifest{}, err
	}
	m := ar.Manifest()
	if m.Kind != o.Kind.String() {
		return m, fmt.Errorf("%w: the archive is of a %s, not a %s", ErrWrongKind, m.Kind, o.Kind)
	}
	if check != nil {
		if err := check(m, nil); err != nil {
			return m, err
		}
	}
	err = Create(path, o, m, func(a *Archive) error {
		return ar.Each(func(fh FileHeader, content io.Reader) error {
			if check != nil {
				if err := check(m, &fh); err != nil {
					return err
				}
			}
			return a.Copy(fh.Name, fh.Mode, fh.Size, content)
		})
	})
	return m, err
}

// ErrNotEmpty means a restore's target directory holds files and the
// restore was not told to replace them.
var ErrNotEmpty = errors.New("the directory to restore into is not empty (replace it with -force, the server stopped)")

// RestoreOptions configure Restore.
type RestoreOptions struct {
	// Force replaces a directory that holds files: it is kept, renamed
	// with the suffix ".before-restore-" and the time, never deleted.
	Force bool
	// Files, if set, names every file a backup of this kind holds: one
	// holding another file, or lacking one, is refused as damaged
	// (ErrDamaged) before anything is written.
	Files []string
	// Replacing, if set, is called with the directory about to be
	// replaced (Force): to refuse it while a server uses it, or to read
	// what must carry over.
	Replacing func(dir string) error
	// Prepare, if set, is called with the directory the backup was
	// extracted into, before it takes the target's place: to check it and
	// mark it restored. An error removes it and leaves the target as it
	// was.
	Prepare func(dir string, m Manifest) error
	// Now is the clock of the suffix; nil means time.Now.
	Now func() time.Time
}

// Restored is what Restore did.
type Restored struct {
	Contents
	// Replaced is where the directory that was replaced went, if any.
	Replaced string
}

// Restore restores the backup file at path into dir. It reads and checks
// the whole file before it writes anything (Verify), then extracts it into
// a new directory beside dir, lets Prepare check it, and only then puts it
// in dir's place: dir is never left half written. dir must not exist, or
// be empty, or (with Force) is renamed aside.
func Restore(path string, kind Kind, passphrase func() (string, error), dir string, o RestoreOptions) (Restored, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	passphrase = Passphrase(passphrase)
	c, err := Verify(path, kind, passphrase)
	if err != nil {
		return Restored{}, err
	}
	res := Restored{Contents: c}
	var allow func(FileHeader) error
	if o.Files != nil {
		allow = func(fh FileHeader) error {
			if !slices.Contains(o.Files, fh.Name) {
				return fmt.Errorf("%w: %s is no file of a %s backup", ErrDamaged, fh.Name, kind)
			}
			return nil
		}
		for _, fh := range c.Files {
			if err := allow(fh); err != nil {
				return res, err
			}
		}
		for _, name := range o.Files {
			if !slices.ContainsFunc(c.Files, func(fh FileHeader) bool { return fh.Name == name }) {
				return res, fmt.Errorf("%w: the backup lacks %s", ErrDamaged, name)
			}
		}
	}
	entries, err := os.ReadDir(dir)
	exists := err == nil
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return res, err
	case len(entries) > 0 && !o.Force:
		return res, fmt.Errorf("%w: %s", ErrNotEmpty, dir)
	case len(entries) > 0 && o.Replacing != nil:
		if err := o.Replacing(dir); err != nil {
			return res, err
		}
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return res, err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".restore-*")
	if err != nil {
		return res, err
	}
	os.Remove(tmp) // Extract makes it, and refuses one that exists
	m, err := Extract(path, kind, passphrase, tmp, allow)
	if err != nil {
		return res, err
	}
	if o.Prepare != nil {
		if err := o.Prepare(tmp, m); err != nil {
			os.RemoveAll(tmp)
			return res, err
		}
	}
	if exists {
		if len(entries) > 0 {
			res.Replaced = filepath.Clean(dir) + ".before-restore-" + o.Now().Format("20060102-150405")
			if err := os.Rename(dir, res.Replaced); err != nil {
				os.RemoveAll(tmp)
				return res, err
			}
		} else if err := os.Remove(dir); err != nil {
			os.RemoveAll(tmp)
			return res, err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return res, fmt.Errorf("moving the restored directory into place (it is in %s): %w", tmp, err)
	}
	syncDir(parent)
	return res, nil
}

// SourceFile is a file of a data directory that a server's backup holds:
// its name in the archive and where it is read from.
type SourceFile struct {
	Name, Path string
	Mode       os.FileMode
}

// WriteDir writes a server's backup archive to w: the manifest, the files
// (read whole: keys, certificates, small JSON) and last the copy of the
// replica in snap (store.Snapshot) as dbName. The copy stops when ctx
// ends. It returns the size of the replica's copy, for the log.
func WriteDir(ctx context.Context, w io.Writer, m Manifest, files []SourceFile, dbName string, snap *os.File) (int64, error) {
	a, err := NewArchive(w, m)
	if err != nil {
		return 0, err
	}
	for _, f := range files {
		data, err := os.ReadFile(f.Path)
		if err != nil {
			return 0, err
		}
		if err := a.Bytes(f.Name, f.Mode, data); err != nil {
			return 0, err
		}
	}
	fi, err := snap.Stat()
	if err != nil {
		return 0, err
	}
	if err := a.Copy(dbName, 0o600, fi.Size(), ctxReader{ctx, snap}); err != nil {
		return 0, err
	}
	return fi.Size(), a.Close()
}

// ctxReader stops reading once ctx ends (the one asking went away).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// ProgressWriter counts the bytes it passes to W and calls Step before
// the first and after every further mebibyte: a server streaming a backup
// moves its connection's write deadline on this way, so a reader that
// keeps reading is never cut off, and one that stops is.
type ProgressWriter struct {
	W    io.Writer
	Step func()
	N    int64 // bytes written so far
}

// Write passes b on to W, calling Step first when b starts the stream or
// crosses a mebibyte boundary.
func (p *ProgressWriter) Write(b []byte) (int, error) {
	if p.N == 0 || p.N>>20 != (p.N+int64(len(b)))>>20 {
		p.Step()
	}
	n, err := p.W.Write(b)
	p.N += int64(n)
	return n, err
}
