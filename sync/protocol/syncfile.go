package protocol

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"jiannuo/domain/office"
)

// Sync files carry a session on a USB stick (docs/sync-file.md): a device
// writes a bundle (JNSB) of what it would push in a session — its change
// sets the county has not receipted, its evidence files the county has not
// confirmed, what it lacks — and the county answers with a return file
// (JNSR) of what the session would send back — receipts and refusals, the
// office's feed from the device's cursor, evidence. Both are a head, a run
// of records each holding one wire frame exactly as a session carries it,
// an end mark, and a trailer: the SHA-256 of everything before it, signed
// by the device key (bundle) or the county key (return). Nothing is
// compressed: evidence (JPEG, PNG, PDF) is compressed already, and a
// decoder that inflates nothing cannot be made to inflate a bomb.

// Sync file limits.
const (
	// SyncFileVersion is the version byte of both kinds of sync file.
	SyncFileVersion = 1
	// MaxSyncFileBytes is the largest sync file of either kind: a reader
	// stops at it (oversize), a writer refuses to pass it. A sender fits
	// its file to a smaller limit if its peer takes less.
	MaxSyncFileBytes = 256 << 20
	// MaxSyncFileEvidence bounds each list of evidence files in a sync
	// file (offered, asked for, confirmed, sent), so a reader's memory is
	// bounded whatever the file holds.
	MaxSyncFileEvidence = 1 << 16
	// MaxEpochBytes bounds a feed epoch (see BundleHeader.Epoch).
	MaxEpochBytes = 32
	// maxSyncHeaderBytes bounds a sync file's header.
	maxSyncHeaderBytes = 4 << 10
	// syncTrailerBytes is the end mark, the digest and the signature.
	syncTrailerBytes = 1 + sha256.Size + ed25519.SignatureSize
)

// The file name extensions of the two kinds of sync file.
const (
	BundleFileExt = ".jnsb"
	ReturnFileExt = ".jnsr"
)

// The two kinds of sync file, by their magic.
const (
	magicBundle = "JNSB"
	magicReturn = "JNSR"
)

// Signature contexts of the sync files.
const (
	bundleContext = "jiannuo/sync-bundle/v1\x00"
	returnContext = "jiannuo/sync-return/v1\x00"
)

// BundleHeader opens a bundle: who made it, for which county, and what the
// county needs to answer it as it would answer the device's hello.
type BundleHeader struct {
	County    office.Code       // the county the device is enrolled with
	CountyKey ed25519.PublicKey // the county key the device pinned at enrolment
	Device    DeviceID          // the device that signs the bundle
	Office    office.Code       // its office
	// Number counts the device's bundles, from 1; the return file names
	// it, so the device can tell an old return from a new one.
	Number  uint64
	Created int64  // Unix milliseconds
	Cursor  uint64 // the device's feed cursor, as in its hello
	// Epoch is the county feed's epoch as the device last learnt it,
	// empty while the county has none: a county restored from a backup
	// starts a new epoch, and a cursor of another epoch means nothing.
	Epoch []byte
	// Head is the device's own chain head: its last sealed change set,
	// receipted or not.
	Head Head
	// Software and PendingOps are the rest of the hello's status: the
	// app's version (printable ASCII) and its operations not sealed yet.
	Software   string
	PendingOps uint64
}

// ReturnHeader opens a return file: which bundle it answers, and what a
// welcome would have said after the bundle's change sets were ingested.
type ReturnHeader struct {
	County office.Code
	Device DeviceID
	Number uint64 // the bundle's
	Bundle Hash   // the bundle's digest
	// Created is when the county made the file, Unix milliseconds.
	Created int64
	// Head is the device's chain as the county holds it once the bundle's
	// change sets are in.
	Head Head
	// FeedHead is the county's feed head when the file was made; From is
	// the position the feed in the file continues after: the bundle's
	// cursor, or 0 when that cursor lay beyond the head or in another
	// epoch (a county restored from an older backup sends its feed again).
	FeedHead uint64
	From     uint64
	Epoch    []byte // the county feed's epoch; empty while it has none
}

func (h *BundleHeader) encode(e *encoder) {
	e.str(string(h.County))
	e.raw(h.CountyKey)
	e.raw(h.Device[:])
	e.str(string(h.Office))
	e.uvarint(h.Number)
	e.u64(uint64(h.Created))
	e.uvarint(h.Cursor)
	e.uvarint(uint64(len(h.Epoch)))
	e.raw(h.Epoch)
	e.uvarint(h.Head.Seq)
	e.raw(h.Head.Hash[:])
	e.uvarint(h.Head.LastOp)
	e.str(h.Software)
	e.uvarint(h.PendingOps)
}

func (h *BundleHeader) decode(d *decoder) {
	h.County = office.Code(d.str(16))
	h.CountyKey = make(ed25519.PublicKey, ed25519.PublicKeySize)
	d.raw(h.CountyKey)
	d.raw(h.Device[:])
	h.Office = office.Code(d.str(16))
	h.Number = d.uvarint()
	h.Created = int64(d.u64())
	h.Cursor = d.uvarint()
	h.Epoch = decodeEpoch(d)
	h.Head.Seq = d.uvarint()
	d.raw(h.Head.Hash[:])
	h.Head.LastOp = d.uvarint()
	h.Software = d.str(MaxSoftwareVersionBytes)
	h.PendingOps = d.uvarint()
	if d.err == nil && !ValidSoftwareVersion(h.Software) {
		d.fail("software version %q is not printable ASCII", h.Software)
	}
	if d.err == nil && h.Number == 0 {
		d.fail("bundle number 0")
	}
}

func (h *ReturnHeader) encode(e *encoder) {
	e.str(string(h.County))
	e.raw(h.Device[:])
	e.uvarint(h.Number)
	e.raw(h.Bundle[:])
	e.u64(uint64(h.Created))
	e.uvarint(h.Head.Seq)
	e.raw(h.Head.Hash[:])
	e.uvarint(h.Head.LastOp)
	e.uvarint(h.FeedHead)
	e.uvarint(h.From)
	e.uvarint(uint64(len(h.Epoch)))
	e.raw(h.Epoch)
}

func (h *ReturnHeader) decode(d *decoder) {
	h.County = office.Code(d.str(16))
	d.raw(h.Device[:])
	h.Number = d.uvarint()
	d.raw(h.Bundle[:])
	h.Created = int64(d.u64())
	h.Head.Seq = d.uvarint()
	d.raw(h.Head.Hash[:])
	h.Head.LastOp = d.uvarint()
	h.FeedHead = d.uvarint()
	h.From = d.uvarint()
	h.Epoch = decodeEpoch(d)
	if d.err == nil && h.Number == 0 {
		d.fail("return for bundle number 0")
	}
	if d.err == nil && h.From > h.FeedHead {
		d.fail("feed from %d beyond the head %d", h.From, h.FeedHead)
	}
}

func decodeEpoch(d *decoder) []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > MaxEpochBytes || n > uint64(len(d.b)) {
		d.fail("epoch of %d bytes", n)
		return nil
	}
	if n == 0 {
		return nil
	}
	out := make([]byte, n)
	d.raw(out)
	return out
}

// syncFileHead encodes a sync file's head: magic, version, the header's
// length and the header.
func syncFileHead(magic string, header interface{ encode(*encoder) }) ([]byte, error) {
	var h encoder
	header.encode(&h)
	if len(h.b) > maxSyncHeaderBytes {
		return nil, errorf(ErrOversize, "%s header of %d bytes", magic, len(h.b))
	}
	e := encoder{}
	e.raw([]byte(magic))
	e.byte(SyncFileVersion)
	e.uvarint(uint64(len(h.b)))
	e.raw(h.b)
	return e.b, nil
}

// SyncFile is what ReadSyncFile read: the header of a bundle or of a
// return file (the other is nil), the digest its trailer gives and checks,
// and the signature over it, not yet verified.
type SyncFile struct {
	Bundle *BundleHeader
	Return *ReturnHeader
	Digest Hash
	Sig    []byte
	Size   int64 // bytes read, trailer included
}

// VerifyBundle checks a bundle's signature with its device's key.
func (f *SyncFile) VerifyBundle(deviceKey ed25519.PublicKey) error {
	if f.Bundle == nil {
		return errorf(ErrMalformed, "not a bundle")
	}
	return verifySyncFile(bundleContext, f.Digest, f.Sig, deviceKey)
}

// VerifyReturn checks a return file's signature with the county key.
func (f *SyncFile) VerifyReturn(countyKey ed25519.PublicKey) error {
	if f.Return == nil {
		return errorf(ErrMalformed, "not a return file")
	}
	return verifySyncFile(returnContext, f.Digest, f.Sig, countyKey)
}

func verifySyncFile(context string, digest Hash, sig []byte, key ed25519.PublicKey) error {
	if len(key) != ed25519.PublicKeySize || !ed25519.Verify(key, append([]byte(context), digest[:]...), sig) {
		return errorf(ErrBadSignature, "sync file signature")
	}
	return nil
}

// SignBundle signs a bundle's digest with the device key.
func SignBundle(key ed25519.PrivateKey, digest Hash) []byte {
	return ed25519.Sign(key, append([]byte(bundleContext), digest[:]...))
}

// SignReturn signs a return file's digest with the county key.
func SignReturn(key ed25519.PrivateKey, digest Hash) []byte {
	return ed25519.Sign(key, append([]byte(returnContext), digest[:]...))
}

// ---- Writing ----

// SyncFileWriter writes one sync file to an io.Writer as it goes: records
// are checked against the file's rules (the ones ReadSyncFile applies) and
// its size limit before any byte of them is written, so what it writes is
// always a file a reader takes.
type SyncFileWriter struct {
	w      io.Writer
	h      hash.Hash
	n      int64
	limit  int64
	rules  syncRules
	closed bool
	err    error
}

// NewBundleWriter starts a bundle on w of at most limit bytes (0 or more
// than MaxSyncFileBytes: MaxSyncFileBytes).
func NewBundleWriter(w io.Writer, h *BundleHeader, limit int64) (*SyncFileWriter, error) {
	if !ValidSoftwareVersion(h.Software) || h.Number == 0 || len(h.Epoch) > MaxEpochBytes || len(h.CountyKey) != ed25519.PublicKeySize {
		return nil, errorf(ErrMalformed, "bundle header")
	}
	return newSyncFileWriter(w, magicBundle, h, limit, &bundleRules{})
}

// NewReturnWriter starts a return file on w of at most limit bytes.
func NewReturnWriter(w io.Writer, h *ReturnHeader, limit int64) (*SyncFileWriter, error) {
	if h.Number == 0 || h.From > h.FeedHead || len(h.Epoch) > MaxEpochBytes {
		return nil, errorf(ErrMalformed, "return header")
	}
	return newSyncFileWriter(w, magicReturn, h, limit, &returnRules{h: h})
}

func newSyncFileWriter(w io.Writer, magic string, header interface{ encode(*encoder) }, limit int64, rules syncRules) (*SyncFileWriter, error) {
	head, err := syncFileHead(magic, header)
	if err != nil {
		return nil, err
	}
	fw := &SyncFileWriter{w: w, h: sha256.New(), limit: syncLimit(limit), rules: rules}
	if int64(len(head))+syncTrailerBytes > fw.limit {
		return nil, errorf(ErrOversize, "sync file limit %d bytes", fw.limit)
	}
	return fw, fw.write(head)
}

func syncLimit(limit int64) int64 {
	if limit <= 0 || limit > MaxSyncFileBytes {
		return MaxSyncFileBytes
	}
	return limit
}

func (fw *SyncFileWriter) write(b []byte) error {
	if fw.err != nil {
		return fw.err
	}
	fw.h.Write(b)
	n, err := fw.w.Write(b)
	fw.n += int64(n)
	if err != nil {
		fw.err = err
	}
	return err
}

// Size returns the bytes written so far.
func (fw *SyncFileWriter) Size() int64 { return fw.n }

// Room returns how many bytes a record may still take: the limit less
// what is written and the trailer.
func (fw *SyncFileWriter) Room() int64 { return fw.limit - fw.n - syncTrailerBytes }

// RecordSize is what a frame of n encoded bytes takes in a sync file.
func RecordSize(n int) int64 { return int64(len(binary.AppendUvarint(nil, uint64(n))) + n) }

// Add writes one record. A frame the file's rules do not allow there is
// ErrMalformed, one that would take the file past its limit ErrOversize;
// either way nothing of it is written and the file goes on.
func (fw *SyncFileWriter) Add(f *Frame) error {
	if fw.closed {
		return errors.New("sync file closed")
	}
	raw := AppendFrame(nil, f)
	if len(raw) > MaxFrameBytes {
		return errorf(ErrOversize, "%s frame of %d bytes", f.Type, len(raw))
	}
	if RecordSize(len(raw)) > fw.Room() {
		return errorf(ErrOversize, "sync file would pass its limit of %d bytes", fw.limit)
	}
	if err := fw.rules.check(f, true); err != nil {
		return err
	}
	return fw.write(append(binary.AppendUvarint(nil, uint64(len(raw))), raw...))
}

// Close writes the end mark and the trailer, the digest signed by sign
// (SignBundle or SignReturn with the signer's key), and returns the digest.
func (fw *SyncFileWriter) Close(sign func(digest Hash) []byte) (Hash, error) {
	var digest Hash
	if fw.closed {
		return digest, errors.New("sync file closed")
	}
	if err := fw.rules.end(); err != nil {
		return digest, err
	}
	fw.closed = true
	if err := fw.write([]byte{0}); err != nil {
		return digest, err
	}
	copy(digest[:], fw.h.Sum(nil))
	sig := sign(digest)
	if len(sig) != ed25519.SignatureSize {
		return digest, errors.New("sync file signature of the wrong size")
	}
	if err := fw.write(digest[:]); err != nil {
		return digest, err
	}
	return digest, fw.write(sig)
}

// ---- Reading ----

// ReadSyncFile reads one sync file from r to its end, at most limit bytes
// (0 or more than MaxSyncFileBytes: MaxSyncFileBytes): the head, each
// record — given to fn in order, if fn is not nil — and the trailer,
// checking the file's structure and its digest but not its signature
// (VerifyBundle, VerifyReturn). A truncated or damaged file, or bytes
// after the trailer, are ErrMalformed; a longer file than limit is
// ErrOversize; another version ErrUnknownVersion. An error fn returns
// stops the reading and is returned as it is.
//
// A caller that must not act on a file before its signature is checked
// reads it twice: once to verify, once to act (a file it keeps to itself
// between the two: see docs/sync-file.md).
func ReadSyncFile(r io.Reader, limit int64, fn func(*Frame) error) (*SyncFile, error) {
	sr := &syncReader{r: bufio.NewReader(r), h: sha256.New(), limit: syncLimit(limit)}
	out, err := sr.read(fn)
	if err != nil {
		return nil, err
	}
	out.Size = sr.n
	return out, nil
}

// syncReader reads a sync file, counting and hashing what it reads.
type syncReader struct {
	r     *bufio.Reader
	h     hash.Hash
	n     int64
	limit int64
	buf   []byte
}

// errTruncated is what reading past the end of a file means.
var errTruncated = errorf(ErrMalformed, "sync file truncated")

// full reads exactly n bytes into a buffer reused between calls, hashed
// if hashed.
func (sr *syncReader) full(n int, hashed bool) ([]byte, error) {
	if sr.n+int64(n) > sr.limit {
		return nil, errorf(ErrOversize, "sync file over its limit of %d bytes", sr.limit)
	}
	if cap(sr.buf) < n {
		sr.buf = make([]byte, n)
	}
	b := sr.buf[:n]
	if _, err := io.ReadFull(sr.r, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errTruncated
		}
		return nil, err
	}
	sr.n += int64(n)
	if hashed {
		sr.h.Write(b)
	}
	return b, nil
}

// uvarint reads a minimal unsigned varint.
func (sr *syncReader) uvarint() (uint64, error) {
	var v uint64
	for i := 0; i < binary.MaxVarintLen64; i++ {
		b, err := sr.full(1, true)
		if err != nil {
			return 0, err
		}
		c := b[0]
		if i == binary.MaxVarintLen64-1 && c > 1 {
			return 0, errorf(ErrMalformed, "varint overflows")
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			if i > 0 && c == 0 {
				return 0, errorf(ErrMalformed, "non-minimal varint")
			}
			return v, nil
		}
	}
	return 0, errorf(ErrMalformed, "varint overflows")
}

func (sr *syncReader) read(fn func(*Frame) error) (*SyncFile, error) {
	magic, err := sr.full(4, true)
	if err != nil {
		return nil, err
	}
	out := &SyncFile{}
	var rules syncRules
	switch string(magic) {
	case magicBundle:
		out.Bundle = &BundleHeader{}
		rules = &bundleRules{}
	case magicReturn:
		out.Return = &ReturnHeader{}
		rules = &returnRules{h: out.Return}
	default:
		return nil, errorf(ErrMalformed, "not a sync file")
	}
	v, err := sr.full(1, true)
	if err != nil {
		return nil, err
	}
	if v[0] != SyncFileVersion {
		return nil, errorf(ErrUnknownVersion, "sync file version %d", v[0])
	}
	n, err := sr.uvarint()
	if err != nil {
		return nil, err
	}
	if n > maxSyncHeaderBytes {
		return nil, errorf(ErrMalformed, "sync file header of %d bytes", n)
	}
	raw, err := sr.full(int(n), true)
	if err != nil {
		return nil, err
	}
	header := append([]byte(nil), raw...)
	d := decoder{b: header}
	var h interface{ encode(*encoder) }
	if out.Bundle != nil {
		out.Bundle.decode(&d)
		h = out.Bundle
	} else {
		out.Return.decode(&d)
		h = out.Return
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes in the sync file header", len(d.b))
	}
	if d.err != nil {
		return nil, d.err
	}
	// One encoding only: re-encode and compare.
	var e encoder
	h.encode(&e)
	if !bytes.Equal(e.b, header) {
		return nil, errorf(ErrMalformed, "sync file header not in canonical form")
	}
	for {
		n, err := sr.uvarint()
		if err != nil {
			return nil, err
		}
		if n == 0 {
			break // the end mark
		}
		if n > MaxFrameBytes {
			return nil, errorf(ErrMalformed, "record of %d bytes", n)
		}
		raw, err := sr.full(int(n), true)
		if err != nil {
			return nil, err
		}
		f, err := DecodeFrame(raw)
		if err != nil {
			return nil, err
		}
		if err := rules.check(f, false); err != nil {
			return nil, err
		}
		if fn != nil {
			if err := fn(f); err != nil {
				return nil, err
			}
		}
	}
	if err := rules.end(); err != nil {
		return nil, err
	}
	copy(out.Digest[:], sr.h.Sum(nil))
	sum, err := sr.full(sha256.Size, false)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(sum, out.Digest[:]) {
		return nil, errorf(ErrMalformed, "sync file damaged: its content does not match its digest")
	}
	sig, err := sr.full(ed25519.SignatureSize, false)
	if err != nil {
		return nil, err
	}
	out.Sig = append([]byte(nil), sig...)
	if _, err := sr.r.ReadByte(); err == nil {
		return nil, errorf(ErrMalformed, "bytes after the sync file's signature")
	} else if !errors.Is(err, io.EOF) {
		return nil, err
	}
	return out, nil
}

// ---- The rules of the records ----

// syncRules checks the records of one file in order: which frames may
// come, in which section, and that each evidence file sent is whole.
type syncRules interface {
	// check takes the next record's frame; writing is set when a writer
	// asks, so a refused frame leaves the state as it was.
	check(f *Frame, writing bool) error
	// end checks the file may end here.
	end() error
}

// fileChunks follows the evidence files a sync file carries: each whole,
// its chunks in order from offset 0, files in hash order.
type fileChunks struct {
	hash Hash  // the file being sent; zero before the first
	size int64 // its size
	have int64 // bytes of it so far
	n    int   // files begun
}

// begin starts the next file, of size bytes.
func (c *fileChunks) begin(h Hash, size int64) error {
	if c.have != c.size {
		return errorf(ErrMalformed, "evidence %s cut short at %d of %d bytes", c.hash, c.have, c.size)
	}
	if c.n > 0 && bytes.Compare(h[:], c.hash[:]) <= 0 {
		return errorf(ErrMalformed, "evidence %s out of hash order", h)
	}
	if c.n >= MaxSyncFileEvidence {
		return errorf(ErrMalformed, "more than %d evidence files", MaxSyncFileEvidence)
	}
	c.hash, c.size, c.have = h, size, 0
	c.n++
	return nil
}

// chunk takes the next chunk of the file begun.
func (c *fileChunks) chunk(f *Frame) error {
	if c.n == 0 || f.Hash != c.hash || f.Offset != c.have || c.have+int64(len(f.Body)) > c.size {
		return errorf(ErrMalformed, "evidence chunk %s at %d out of place", f.Hash, f.Offset)
	}
	c.have += int64(len(f.Body))
	return nil
}

func (c *fileChunks) whole() error {
	if c.have != c.size {
		return errorf(ErrMalformed, "evidence %s cut short at %d of %d bytes", c.hash, c.have, c.size)
	}
	return nil
}

// hashList follows a list of evidence hashes that must be strictly
// increasing and at most MaxSyncFileEvidence long.
type hashList struct {
	last Hash
	n    int
}

func (l *hashList) next(h Hash) error {
	if l.n > 0 && bytes.Compare(h[:], l.last[:]) <= 0 {
		return errorf(ErrMalformed, "evidence %s out of hash order", h)
	}
	if l.n >= MaxSyncFileEvidence {
		return errorf(ErrMalformed, "more than %d evidence files in a list", MaxSyncFileEvidence)
	}
	l.last = h
	l.n++
	return nil
}

// bundleRules: pushes, then offers, then the content of offered files,
// then the files asked for.
type bundleRules struct {
	section int // 0 push, 1 offer, 2 chunk, 3 get
	offers  hashList
	sizes   map[Hash]int64
	files   fileChunks
	gets    hashList
}

func (r *bundleRules) check(f *Frame, writing bool) error {
	saved := *r
	err := r.step(f)
	if err != nil && writing {
		*r = saved
	}
	return err
}

func (r *bundleRules) step(f *Frame) error {
	out := func(section int) error {
		if r.section > section {
			return errorf(ErrMalformed, "%s frame after the bundle's %s section", f.Type, bundleSections[r.section])
		}
		r.section = section
		return nil
	}
	switch f.Type {
	case FramePush:
		return out(0)
	case FrameEvidenceOffer:
		if err := out(1); err != nil {
			return err
		}
		if err := r.offers.next(f.Hash); err != nil {
			return err
		}
		if r.sizes == nil {
			r.sizes = map[Hash]int64{}
		}
		r.sizes[f.Hash] = f.Size
		return nil
	case FrameEvidenceChunk:
		if err := out(2); err != nil {
			return err
		}
		if f.Hash != r.files.hash || r.files.n == 0 {
			size, ok := r.sizes[f.Hash]
			if !ok {
				return errorf(ErrMalformed, "evidence %s sent without an offer", f.Hash)
			}
			if err := r.files.begin(f.Hash, size); err != nil {
				return err
			}
		}
		return r.files.chunk(f)
	case FrameEvidenceGet:
		if err := out(3); err != nil {
			return err
		}
		if err := r.files.whole(); err != nil {
			return err
		}
		if f.Offset != 0 {
			return errorf(ErrMalformed, "evidence asked for from offset %d", f.Offset)
		}
		return r.gets.next(f.Hash)
	}
	return errorf(ErrMalformed, "%s frame in a bundle", f.Type)
}

var bundleSections = []string{"push", "offer", "evidence", "get"}

func (r *bundleRules) end() error { return r.files.whole() }

// returnRules: answers to the pushes, the feed (certificates and
// deliveries, then revocations and the calendar, then caught_up), the
// evidence the county confirms or refuses, the files it sends.
type returnRules struct {
	h        *ReturnHeader
	section  int // 0 answers, 1 feed, 2 settled, 3 caught up, 4 evidence control, 5 evidence content
	lastPos  uint64
	control  hashList
	files    fileChunks
	caughtUp bool
}

func (r *returnRules) check(f *Frame, writing bool) error {
	saved := *r
	err := r.step(f)
	if err != nil && writing {
		*r = saved
	}
	return err
}

var returnSections = []string{"answers", "feed", "decisions", "caught_up", "evidence control", "evidence"}

func (r *returnRules) step(f *Frame) error {
	out := func(lo, hi, section int) error {
		if r.section < lo || r.section > hi {
			return errorf(ErrMalformed, "%s frame in the return file's %s section", f.Type, returnSections[r.section])
		}
		r.section = section
		return nil
	}
	switch f.Type {
	case FrameReceipt:
		return out(0, 0, 0)
	case FrameRefused:
		if f.Hash.IsZero() {
			return out(0, 0, 0)
		}
		if err := out(3, 4, 4); err != nil {
			return err
		}
		return r.control.next(f.Hash)
	case FrameCertificate:
		return out(0, 1, 1)
	case FrameDeliver:
		if err := out(0, 1, 1); err != nil {
			return err
		}
		if f.Pos <= r.h.From || f.Pos <= r.lastPos || f.Pos > r.h.FeedHead {
			return errorf(ErrMalformed, "feed position %d out of place (from %d, last %d, head %d)", f.Pos, r.h.From, r.lastPos, r.h.FeedHead)
		}
		r.lastPos = f.Pos
		return nil
	case FrameRevocation, FrameCalendar:
		return out(0, 2, 2)
	case FrameCaughtUp:
		if err := out(0, 2, 3); err != nil {
			return err
		}
		if f.Pos < r.h.From || f.Pos < r.lastPos || f.Pos > r.h.FeedHead {
			return errorf(ErrMalformed, "caught up to %d out of place (from %d, last %d, head %d)", f.Pos, r.h.From, r.lastPos, r.h.FeedHead)
		}
		r.caughtUp = true
		return nil
	case FrameEvidenceStored:
		if err := out(3, 4, 4); err != nil {
			return err
		}
		return r.control.next(f.Hash)
	case FrameEvidenceOffer:
		if err := out(3, 5, 5); err != nil {
			return err
		}
		return r.files.begin(f.Hash, f.Size)
	case FrameEvidenceChunk:
		if err := out(5, 5, 5); err != nil {
			return err
		}
		return r.files.chunk(f)
	}
	return errorf(ErrMalformed, "%s frame in a return file", f.Type)
}

func (r *returnRules) end() error {
	if !r.caughtUp {
		return errorf(ErrMalformed, "return file without caught_up")
	}
	return r.files.whole()
}

// ---- Reading twice ----

// SpooledSyncFile is a sync file copied to a private temporary file and
// read through once (structure and digest): the caller checks its header
// and signature, then reads its records again from the copy, which nobody
// else writes, to act on them. Close removes the copy.
type SpooledSyncFile struct {
	*SyncFile
	f     *os.File
	limit int64
}

// SpoolSyncFile copies at most limit bytes of r (0 or more than
// MaxSyncFileBytes: MaxSyncFileBytes; more is ErrOversize) to a temporary
// file in dir ("": the system's) and reads it through with ReadSyncFile.
func SpoolSyncFile(r io.Reader, dir string, limit int64) (*SpooledSyncFile, error) {
	limit = syncLimit(limit)
	f, err := os.CreateTemp(dir, ".jiannuo-sync-*")
	if err != nil {
		return nil, err
	}
	s := &SpooledSyncFile{f: f, limit: limit}
	n, err := io.Copy(f, io.LimitReader(r, limit+1))
	if err == nil && n > limit {
		err = errorf(ErrOversize, "sync file over its limit of %d bytes", limit)
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err == nil {
		s.SyncFile, err = ReadSyncFile(f, limit, nil)
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Records reads the file's records again, in order, giving each to fn; an
// error fn returns stops it and is returned as it is.
func (s *SpooledSyncFile) Records(fn func(*Frame) error) error {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	again, err := ReadSyncFile(s.f, s.limit, fn)
	if err != nil {
		return err
	}
	if again.Digest != s.Digest {
		return fmt.Errorf("sync file changed while it was read")
	}
	return nil
}

// Close removes the copy.
func (s *SpooledSyncFile) Close() error {
	s.f.Close()
	return os.Remove(s.f.Name())
}
