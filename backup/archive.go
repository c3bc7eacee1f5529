package backup

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"
)

const (
	archiveMagic   = "JNAR"
	archiveVersion = 1
	maxManifest    = 64 << 10
	maxName        = 64
	// MaxFileBytes bounds one file of a backup (1 TiB): far beyond any
	// replica, small enough that a size read from a damaged archive
	// cannot overflow anything.
	MaxFileBytes = 1 << 40
	tagFile      = 'f'
	tagEnd       = 'e'
)

// Manifest describes a backup: what it is of and how things stood when it
// was taken. Restore prints it; nothing is decided by it alone.
type Manifest struct {
	// Kind is "county", "municipal" or "device" (Kind.String).
	Kind string `json:"kind"`
	// Created is when the copy was taken (the read transaction).
	Created time.Time `json:"created"`
	// Software is the version of the program that took it.
	Software string `json:"software,omitempty"`
	// County is the county code of a county server, or of a device's
	// county; Office a device's office.
	County string `json:"county,omitempty"`
	Office string `json:"office,omitempty"`
	// Device is the device ID of a device backup; Node the node ID of a
	// municipal node's.
	Device string `json:"device,omitempty"`
	Node   string `json:"node,omitempty"`
	// Name is the node's or device's name.
	Name string `json:"name,omitempty"`
	// Schema is the replica's schema version.
	Schema int `json:"schema,omitempty"`
	// FeedHead is a county's feed head in the copy; Epoch its feed epoch.
	FeedHead uint64 `json:"feed_head,omitempty"`
	Epoch    string `json:"epoch,omitempty"`
	// Seq is a device's own chain head in the copy (the last change set it
	// sealed).
	Seq uint64 `json:"seq,omitempty"`
}

// FileHeader is one file of an archive.
type FileHeader struct {
	Name string
	Mode fs.FileMode // permission bits only
	Size int64
}

// ValidName reports whether name may name a file of an archive: 1 to 64
// bytes of lower-case ASCII letters, digits, '.', '_' and '-', not "." or
// "..": a plain file name, never a path.
func ValidName(name string) bool {
	if len(name) == 0 || len(name) > maxName || name == "." || name == ".." {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Archive writes the files of a backup, in order: each one's size is
// given first and exactly that many bytes must follow.
type Archive struct {
	w      io.Writer
	names  map[string]bool
	closed bool
}

// NewArchive starts an archive on w with its manifest.
func NewArchive(w io.Writer, m Manifest) (*Archive, error) {
	mj, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if len(mj) > maxManifest {
		return nil, fmt.Errorf("backup: manifest of %d bytes", len(mj))
	}
	b := append([]byte(archiveMagic), archiveVersion)
	b = binary.AppendUvarint(b, uint64(len(mj)))
	b = append(b, mj...)
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	return &Archive{w: w, names: map[string]bool{}}, nil
}

// File adds a file of size bytes, which content writes to the writer it
// is given: exactly size bytes, or the archive is refused.
func (a *Archive) File(name string, mode fs.FileMode, size int64, content func(io.Writer) error) error {
	if a.closed {
		return errors.New("backup: file after the end of the archive")
	}
	if !ValidName(name) || a.names[name] {
		return fmt.Errorf("backup: file name %q", name)
	}
	if size < 0 || size > MaxFileBytes {
		return fmt.Errorf("backup: file %s of %d bytes", name, size)
	}
	a.names[name] = true
	b := []byte{tagFile}
	b = binary.AppendUvarint(b, uint64(len(name)))
	b = append(b, name...)
	b = binary.AppendUvarint(b, uint64(mode.Perm()))
	b = binary.AppendUvarint(b, uint64(size))
	if _, err := a.w.Write(b); err != nil {
		return err
	}
	cw := &countWriter{w: a.w, left: size}
	if err := content(cw); err != nil {
		return fmt.Errorf("backup: writing %s: %w", name, err)
	}
	if cw.left != 0 || cw.over {
		return fmt.Errorf("backup: %s: %d bytes announced, %d written", name, size, size-cw.left)
	}
	return nil
}

// Bytes adds a file held in memory.
func (a *Archive) Bytes(name string, mode fs.FileMode, data []byte) error {
	return a.File(name, mode, int64(len(data)), func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Copy adds a file of size bytes read from r.
func (a *Archive) Copy(name string, mode fs.FileMode, size int64, r io.Reader) error {
	return a.File(name, mode, size, func(w io.Writer) error {
		_, err := io.Copy(w, r)
		return err
	})
}

// Close ends the archive. It does not close the underlying writer.
func (a *Archive) Close() error {
	if a.closed {
		return nil
	}
	a.closed = true
	_, err := a.w.Write([]byte{tagEnd})
	return err
}

// countWriter passes at most left bytes on and notes more.
type countWriter struct {
	w    io.Writer
	left int64
	over bool
}

func (c *countWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		c.over = true
		return 0, errors.New("more bytes than announced")
	}
	n, err := c.w.Write(p)
	c.left -= int64(n)
	return n, err
}

// ArchiveReader reads an archive written by Archive. Every error it
// returns about the archive's structure wraps ErrDamaged (or ErrTruncated
// when it ends early); errors of the underlying reader are returned as
// they are.
type ArchiveReader struct {
	r        *bufio.Reader
	manifest Manifest
	cur      *io.LimitedReader
	names    map[string]bool
	done     bool
}

// NewArchiveReader reads the archive's start and manifest from r.
func NewArchiveReader(r io.Reader) (*ArchiveReader, error) {
	br := bufio.NewReader(r)
	head := make([]byte, len(archiveMagic)+1)
	if _, err := io.ReadFull(br, head); err != nil {
		return nil, structural(err, "archive start")
	}
	if string(head[:4]) != archiveMagic || head[4] != archiveVersion {
		return nil, fmt.Errorf("%w: no archive inside (magic %q, version %d)", ErrDamaged, head[:4], head[4])
	}
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return nil, structural(err, "manifest length")
	}
	if n > maxManifest {
		return nil, fmt.Errorf("%w: manifest of %d bytes", ErrDamaged, n)
	}
	mj := make([]byte, n)
	if _, err := io.ReadFull(br, mj); err != nil {
		return nil, structural(err, "manifest")
	}
	ar := &ArchiveReader{r: br, names: map[string]bool{}}
	if err := json.Unmarshal(mj, &ar.manifest); err != nil {
		return nil, fmt.Errorf("%w: manifest: %v", ErrDamaged, err)
	}
	return ar, nil
}

// structural turns a read error inside the archive into the error it
// means: an archive that ends early is truncated; an error of the
// container below is passed on as it is.
func structural(err error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: the archive ends inside its %s", ErrTruncated, what)
	}
	return err
}

// Manifest returns the archive's manifest.
func (ar *ArchiveReader) Manifest() Manifest { return ar.manifest }

// Next returns the next file and a reader of its content, or io.EOF after
// the last file, once it has checked nothing follows the end. The content
// of the file before is skipped if it was not read.
func (ar *ArchiveReader) Next() (FileHeader, io.Reader, error) {
	if ar.done {
		return FileHeader{}, nil, io.EOF
	}
	if ar.cur != nil {
		if _, err := io.Copy(io.Discard, ar.cur); err != nil {
			return FileHeader{}, nil, structural(err, "content of a file")
		}
		if ar.cur.N != 0 {
			return FileHeader{}, nil, fmt.Errorf("%w: the archive ends inside a file", ErrTruncated)
		}
		ar.cur = nil
	}
	tag, err := ar.r.ReadByte()
	if err != nil {
		return FileHeader{}, nil, structural(err, "list of files")
	}
	switch tag {
	case tagEnd:
		if _, err := ar.r.ReadByte(); err == nil {
			return FileHeader{}, nil, fmt.Errorf("%w: data after the end of the archive", ErrDamaged)
		} else if !errors.Is(err, io.EOF) {
			return FileHeader{}, nil, err
		}
		ar.done = true
		return FileHeader{}, nil, io.EOF
	case tagFile:
	default:
		return FileHeader{}, nil, fmt.Errorf("%w: unknown entry %#x", ErrDamaged, tag)
	}
	nl, err := binary.ReadUvarint(ar.r)
	if err != nil {
		return FileHeader{}, nil, structural(err, "file name")
	}
	if nl == 0 || nl > maxName {
		return FileHeader{}, nil, fmt.Errorf("%w: file name of %d bytes", ErrDamaged, nl)
	}
	name := make([]byte, nl)
	if _, err := io.ReadFull(ar.r, name); err != nil {
		return FileHeader{}, nil, structural(err, "file name")
	}
	mode, err := binary.ReadUvarint(ar.r)
	if err != nil {
		return FileHeader{}, nil, structural(err, "file mode")
	}
	size, err := binary.ReadUvarint(ar.r)
	if err != nil {
		return FileHeader{}, nil, structural(err, "file size")
	}
	fh := FileHeader{Name: string(name), Mode: fs.FileMode(mode), Size: int64(size)}
	switch {
	case !ValidName(fh.Name):
		return FileHeader{}, nil, fmt.Errorf("%w: file name %q", ErrDamaged, fh.Name)
	case ar.names[fh.Name]:
		return FileHeader{}, nil, fmt.Errorf("%w: file %s twice", ErrDamaged, fh.Name)
	case mode > 0o777:
		return FileHeader{}, nil, fmt.Errorf("%w: file %s with mode %o", ErrDamaged, fh.Name, mode)
	case size > MaxFileBytes:
		return FileHeader{}, nil, fmt.Errorf("%w: file %s of %d bytes", ErrDamaged, fh.Name, size)
	}
	ar.names[fh.Name] = true
	ar.cur = &io.LimitedReader{R: ar.r, N: fh.Size}
	return fh, &fileReader{ar: ar}, nil
}

// Each calls fn with each file of the archive in order, until the end
// (nil) or an error.
func (ar *ArchiveReader) Each(fn func(FileHeader, io.Reader) error) error {
	for {
		fh, content, err := ar.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(fh, content); err != nil {
			return err
		}
	}
}

// fileReader reads the current file's content and says so when the
// archive ends inside it.
type fileReader struct{ ar *ArchiveReader }

func (f *fileReader) Read(p []byte) (int, error) {
	cur := f.ar.cur
	if cur == nil {
		return 0, io.EOF
	}
	n, err := cur.Read(p)
	if errors.Is(err, io.EOF) && cur.N > 0 {
		return n, fmt.Errorf("%w: the archive ends inside a file", ErrTruncated)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return n, err
	}
	return n, err
}
