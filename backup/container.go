package backup

import (
	"bufio"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"

	"jiannuo/auth"
)

// Kind is what a backup is of.
type Kind byte

// The kinds of backup.
const (
	KindCounty    Kind = 1 // a county server's data directory
	KindMunicipal Kind = 2 // a municipal node's data directory
	KindDevice    Kind = 3 // a township (or county-admin) device's replica
)

// String names the kind as the manifest and messages do.
func (k Kind) String() string {
	switch k {
	case KindCounty:
		return "county"
	case KindMunicipal:
		return "municipal"
	case KindDevice:
		return "device"
	}
	return fmt.Sprintf("kind %d", byte(k))
}

func (k Kind) valid() bool { return k >= KindCounty && k <= KindDevice }

// Errors. Every error reading a backup wraps one of them; test with
// errors.Is.
var (
	// ErrNotBackup means the file is not a Jiannuo backup at all.
	ErrNotBackup = errors.New("not a Jiannuo backup file")
	// ErrVersion means a backup of a format this build does not know.
	ErrVersion = errors.New("backup file of an unknown format version")
	// ErrNeedPassphrase means the backup is encrypted and no passphrase
	// was given.
	ErrNeedPassphrase = errors.New("the backup is encrypted: a passphrase is needed")
	// ErrPassphrase means the first chunk does not open: a wrong
	// passphrase, or a file altered at its start (they cannot be told
	// apart).
	ErrPassphrase = errors.New("wrong passphrase, or the backup file was altered")
	// ErrTruncated means the file ends before its last chunk: cut short.
	ErrTruncated = errors.New("the backup file is incomplete (cut short)")
	// ErrDamaged means a chunk does not verify, or its content breaks the
	// format: the file was damaged or altered after it was written.
	ErrDamaged = errors.New("the backup file is damaged or was altered")
	// ErrWrongKind means a backup of another kind than the one asked for
	// (a device backup given to a county restore, say).
	ErrWrongKind = errors.New("the backup is of another kind")
)

const (
	magic         = "JNBK"
	version       = 1
	cipherNone    = 0
	cipherXChaCha = 1
	prefixLen     = 15
	saltLen       = 16
	tagLen        = 16
	// ChunkBytes is the most archive bytes one chunk holds.
	ChunkBytes   = 64 << 10
	maxSealed    = ChunkBytes + tagLen
	plainHeader  = 4 + 1 + 1 + 1 + prefixLen         // 22
	xHeader      = plainHeader + 4 + 4 + 1 + saltLen // 47
	plainContext = "jiannuo/backup/v1 plain\x00"
)

// Header is what a backup file says of itself before its content.
type Header struct {
	Kind      Kind
	Encrypted bool
	KDF       auth.Params // the argon2id cost, when Encrypted
}

// WriterOptions configure a backup being written.
type WriterOptions struct {
	// Kind is what the backup is of.
	Kind Kind
	// Passphrase encrypts the backup; empty writes it unencrypted (still
	// checked against damage on reading). It must pass
	// auth.ValidatePassphrase.
	Passphrase string
	// KDF is the argon2id cost of the key; zero means auth.DefaultParams().
	// Tests use auth.TestParams().
	KDF auth.Params
	// rand is the source of the nonce prefix and salt; nil means
	// crypto/rand (tests pin it for known answers).
	rand io.Reader
}

// Writer seals what is written to it into chunks. Close writes the last
// chunk; a backup without it is refused as truncated.
type Writer struct {
	w      io.Writer
	header []byte
	aead   cipher.AEAD
	idx    uint64
	buf    []byte
	err    error
	closed bool
}

// NewWriter writes a backup file's header to w and returns the writer of
// its content.
func NewWriter(w io.Writer, o WriterOptions) (*Writer, error) {
	if !o.Kind.valid() {
		return nil, fmt.Errorf("backup: %v is not a kind of backup", o.Kind)
	}
	rnd := o.rand
	if rnd == nil {
		rnd = rand.Reader
	}
	hdr := []byte(magic)
	hdr = append(hdr, version, byte(o.Kind))
	var aead cipher.AEAD
	if o.Passphrase == "" {
		hdr = append(hdr, cipherNone)
		hdr = append(hdr, make([]byte, prefixLen)...)
		if _, err := io.ReadFull(rnd, hdr[plainHeader-prefixLen:]); err != nil {
			return nil, err
		}
	} else {
		if err := auth.ValidatePassphrase(o.Passphrase); err != nil {
			return nil, err
		}
		p := o.KDF
		if p == (auth.Params{}) {
			p = auth.DefaultParams()
		}
		if err := p.Validate(); err != nil {
			return nil, err
		}
		hdr = append(hdr, cipherXChaCha)
		hdr = append(hdr, make([]byte, prefixLen)...)
		hdr = binary.BigEndian.AppendUint32(hdr, p.Time)
		hdr = binary.BigEndian.AppendUint32(hdr, p.MemoryKiB)
		hdr = append(hdr, p.Threads)
		hdr = append(hdr, make([]byte, saltLen)...)
		if _, err := io.ReadFull(rnd, hdr[plainHeader-prefixLen:plainHeader]); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(rnd, hdr[xHeader-saltLen:]); err != nil {
			return nil, err
		}
		var err error
		if aead, err = newAEAD(o.Passphrase, hdr[xHeader-saltLen:], p); err != nil {
			return nil, err
		}
	}
	if _, err := w.Write(hdr); err != nil {
		return nil, err
	}
	return &Writer{w: w, header: hdr, aead: aead, buf: make([]byte, 0, ChunkBytes)}, nil
}

func newAEAD(passphrase string, salt []byte, p auth.Params) (cipher.AEAD, error) {
	key := argon2.IDKey([]byte(passphrase), salt, p.Time, p.MemoryKiB, p.Threads, chacha20poly1305.KeySize)
	defer clear(key)
	return chacha20poly1305.NewX(key)
}

// Write buffers p and seals each full chunk.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.closed {
		return 0, errors.New("backup: write after close")
	}
	n := 0
	for len(p) > 0 {
		if len(w.buf) == ChunkBytes {
			// A full chunk is sealed only when more follows, so the last
			// one is always the one Close seals with the final flag.
			if w.err = w.seal(false); w.err != nil {
				return n, w.err
			}
		}
		k := min(len(p), ChunkBytes-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p, n = p[k:], n+k
	}
	return n, nil
}

// Close seals the last chunk. It does not close the underlying writer.
func (w *Writer) Close() error {
	if w.err != nil || w.closed {
		return w.err
	}
	w.closed = true
	w.err = w.seal(true)
	return w.err
}

func (w *Writer) seal(final bool) error {
	nonce := chunkNonce(w.header, w.idx, final)
	var out []byte
	if w.aead != nil {
		out = w.aead.Seal(make([]byte, 4, 4+len(w.buf)+tagLen), nonce, w.buf, w.header)
	} else {
		out = append(make([]byte, 4, 4+len(w.buf)+tagLen), w.buf...)
		out = append(out, plainTag(w.header, nonce, w.buf)...)
	}
	binary.BigEndian.PutUint32(out, uint32(len(out)-4))
	w.idx++
	w.buf = w.buf[:0]
	_, err := w.w.Write(out)
	return err
}

// chunkNonce is the nonce of chunk idx: the header's prefix, idx and the
// last-chunk flag.
func chunkNonce(header []byte, idx uint64, final bool) []byte {
	n := make([]byte, 0, chacha20poly1305.NonceSizeX)
	n = append(n, header[plainHeader-prefixLen:plainHeader]...)
	n = binary.BigEndian.AppendUint64(n, idx)
	if final {
		return append(n, 1)
	}
	return append(n, 0)
}

func plainTag(header, nonce, data []byte) []byte {
	h := sha256.New()
	h.Write([]byte(plainContext))
	h.Write(header)
	h.Write(nonce)
	h.Write(data)
	return h.Sum(nil)[:tagLen]
}

// Reader opens the chunks of a backup file and reads its content. It
// returns an error wrapping ErrDamaged, ErrTruncated or ErrPassphrase as
// soon as a chunk fails, and never returns bytes of a chunk that did not
// verify.
type Reader struct {
	src    *bufio.Reader
	header []byte
	hdr    Header
	aead   cipher.AEAD
	idx    uint64
	off    int64 // bytes of the file read so far, for messages
	buf    []byte
	final  bool // the final chunk has been opened
	err    error
}

// ReadHeader reads a backup file's header from r without asking for a
// passphrase: to say what a file is before anything else.
func ReadHeader(r io.Reader) (Header, error) {
	_, h, err := readHeader(bufio.NewReader(r))
	return h, err
}

func readHeader(src *bufio.Reader) ([]byte, Header, error) {
	head := make([]byte, plainHeader)
	n, err := io.ReadFull(src, head)
	if n < len(magic) || string(head[:len(magic)]) != magic {
		return nil, Header{}, ErrNotBackup
	}
	if n > len(magic) && head[4] != version {
		return nil, Header{}, fmt.Errorf("%w: version %d, this program reads %d", ErrVersion, head[4], version)
	}
	if err != nil {
		return nil, Header{}, fmt.Errorf("%w: the header ends after %d bytes", ErrTruncated, n)
	}
	h := Header{Kind: Kind(head[5])}
	if !h.Kind.valid() {
		return nil, Header{}, fmt.Errorf("%w: unknown kind %d", ErrDamaged, head[5])
	}
	switch head[6] {
	case cipherNone:
	case cipherXChaCha:
		h.Encrypted = true
		more := make([]byte, xHeader-plainHeader)
		if n, err := io.ReadFull(src, more); err != nil {
			return nil, Header{}, fmt.Errorf("%w: the header ends after %d bytes", ErrTruncated, plainHeader+n)
		}
		head = append(head, more...)
		h.KDF = auth.Params{Time: binary.BigEndian.Uint32(more), MemoryKiB: binary.BigEndian.Uint32(more[4:]), Threads: more[8]}
		if err := h.KDF.Validate(); err != nil {
			return nil, Header{}, fmt.Errorf("%w: key derivation parameters %v: %v", ErrDamaged, h.KDF, err)
		}
	default:
		return nil, Header{}, fmt.Errorf("%w: unknown cipher %d", ErrDamaged, head[6])
	}
	return head, h, nil
}

// NewReader reads the header of the backup file in r and opens its first
// chunk, so that a wrong passphrase is reported at once. passphrase is
// asked only for an encrypted backup; nil then fails with
// ErrNeedPassphrase.
func NewReader(r io.Reader, passphrase func() (string, error)) (*Reader, error) {
	src := bufio.NewReaderSize(r, 4+maxSealed)
	header, h, err := readHeader(src)
	if err != nil {
		return nil, err
	}
	rd := &Reader{src: src, header: header, hdr: h, off: int64(len(header))}
	if h.Encrypted {
		if passphrase == nil {
			return nil, ErrNeedPassphrase
		}
		pass, err := passphrase()
		if err != nil {
			return nil, err
		}
		if rd.aead, err = newAEAD(pass, header[xHeader-saltLen:], h.KDF); err != nil {
			return nil, err
		}
	}
	if err := rd.next(); err != nil {
		return nil, err
	}
	return rd, nil
}

// Header returns what the file says of itself.
func (r *Reader) Header() Header { return r.hdr }

// Read reads the backup's content, verified chunk by chunk.
func (r *Reader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.final {
			// Nothing may follow the final chunk.
			if _, err := r.src.ReadByte(); err == nil {
				r.err = fmt.Errorf("%w: data after the last chunk (at byte %d)", ErrDamaged, r.off)
				return 0, r.err
			}
			r.err = io.EOF
			return 0, io.EOF
		}
		if err := r.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// next reads and opens the next chunk into buf.
func (r *Reader) next() error {
	var lb [4]byte
	if n, err := io.ReadFull(r.src, lb[:]); err != nil {
		r.err = fmt.Errorf("%w: it ends at byte %d, inside chunk %d", ErrTruncated, r.off+int64(n), r.idx)
		return r.err
	}
	l := binary.BigEndian.Uint32(lb[:])
	if l < tagLen || l > maxSealed {
		r.err = fmt.Errorf("%w: chunk %d at byte %d claims %d bytes", r.failure(), r.idx, r.off, l)
		return r.err
	}
	sealed := make([]byte, l)
	if n, err := io.ReadFull(r.src, sealed); err != nil {
		r.err = fmt.Errorf("%w: it ends at byte %d, inside chunk %d", ErrTruncated, r.off+4+int64(n), r.idx)
		return r.err
	}
	// The final flag is not stored: a chunk opens with one of the two
	// nonces, and only the last may open as final.
	var data []byte
	var err error
	for _, final := range []bool{false, true} {
		if data, err = r.open(sealed, chunkNonce(r.header, r.idx, final)); err == nil {
			r.final = final
			break
		}
	}
	if err != nil {
		r.err = fmt.Errorf("%w: chunk %d at byte %d does not verify", r.failure(), r.idx, r.off)
		return r.err
	}
	r.off += 4 + int64(l)
	r.idx++
	r.buf = data
	return nil
}

// failure is what a chunk that does not verify means: the first one of an
// encrypted file proves the passphrase, so its failure may be a wrong
// passphrase; any other is damage.
func (r *Reader) failure() error {
	if r.idx == 0 && r.aead != nil {
		return ErrPassphrase
	}
	return ErrDamaged
}

func (r *Reader) open(sealed, nonce []byte) ([]byte, error) {
	if r.aead != nil {
		return r.aead.Open(nil, nonce, sealed, r.header)
	}
	data, tag := sealed[:len(sealed)-tagLen], sealed[len(sealed)-tagLen:]
	if string(plainTag(r.header, nonce, data)) != string(tag) {
		return nil, ErrDamaged
	}
	return data, nil
}
