package vm

import (
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// Names of the fulfilment form's fields, the keys of Fulfil.Validate's
// result.
const (
	FieldDate     = "date"
	FieldProgress = "progress"
	FieldNote     = "note"
	FieldEvidence = "evidence"
)

// Fulfil is the log-fulfilment form (践诺记录) as the user filled it.
type Fulfil struct {
	Date     string   // YYYY-MM-DD (loose forms as for Form)
	Progress string   // percent, 0..100 ("60", "60%", full-width digits)
	Note     string   // what was done
	Evidence []string // paths of evidence files (file dialog or drag-and-drop)
	// Today, when set, refuses entries dated after it.
	Today calendar.Date
}

// FulfilFor is the fulfilment form for the next entry on c, dated today:
// the progress starts where the latest entry left it (a slider back at 0 %
// after an entry of 45 % invites logging a step backwards by mistake).
func FulfilFor(c *store.Commitment, today calendar.Date) Fulfil {
	return Fulfil{Date: today.String(), Progress: strconv.Itoa(c.Progress), Today: today}
}

// ProgressValue is the form's progress as a number, 0 when it does not
// parse (Validate says why).
func (f Fulfil) ProgressValue() int {
	n, _ := parseProgress(f.Progress)
	return n
}

// Validate checks the form: a real date (not in the future when Today is
// set), a progress of 0..100, a note within domain.MaxNoteBytes, at most
// protocol.MaxEvidencePerEntry evidence files, each an existing, non-empty
// regular file within protocol.MaxEvidenceBytes. It looks at the files on
// disk (size only). It returns a message per field at fault; for
// evidence, the first file at fault.
func (f Fulfil) Validate() map[string]Message {
	out := map[string]Message{}
	switch d, err := parseFormDate(f.Date); {
	case strings.TrimSpace(f.Date) == "":
		out[FieldDate] = Msg("ui.fulfil.date_required")
	case err != nil:
		out[FieldDate] = Msg("ui.form.date_invalid")
	case !f.Today.IsZero() && d.After(f.Today):
		out[FieldDate] = Msg("ui.fulfil.date_future", f.Today.String())
	}
	if _, err := parseProgress(f.Progress); err != nil {
		out[FieldProgress] = Msg("ui.fulfil.progress_invalid")
	}
	checkText(out, FieldNote, f.Note, "ui.fulfil.note_required", domain.MaxNoteBytes)
	if len(f.Evidence) > protocol.MaxEvidencePerEntry {
		out[FieldEvidence] = Msg("ui.fulfil.too_many_files", protocol.MaxEvidencePerEntry)
	} else {
		for _, p := range f.Evidence {
			if m, bad := checkFile(p); bad {
				out[FieldEvidence] = m
				break
			}
		}
	}
	return out
}

// checkFile checks one evidence file before it is read.
func checkFile(path string) (Message, bool) {
	name := filepath.Base(path)
	fi, err := os.Stat(path)
	switch {
	case os.IsNotExist(err):
		return Msg("ui.fulfil.file_missing", name), true
	case err != nil:
		return Msg("ui.fulfil.file_unreadable", name), true
	case !fi.Mode().IsRegular():
		return Msg("ui.fulfil.file_not_regular", name), true
	case fi.Size() == 0:
		return Msg("ui.fulfil.file_empty", name), true
	case fi.Size() > protocol.MaxEvidenceBytes:
		return Msg("ui.fulfil.file_too_large", name, protocol.MaxEvidenceBytes>>20), true
	}
	return Message{}, false
}

// parseProgress parses a percentage as typed.
func parseProgress(s string) (int, error) {
	s = strings.TrimSpace(fold(s))
	s = strings.TrimSpace(strings.TrimSuffix(s, "%"))
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 100 {
		return 0, fmt.Errorf("%w: progress %q", domain.ErrInvalidValue, s)
	}
	return n, nil
}

// LogFulfil records a fulfilment entry: it reads each evidence file,
// refusing one over protocol.MaxEvidenceBytes with a *FileError (which
// ErrorMessage explains), adds it with AddEvidenceFor the commitment's
// office (the MIME type from its extension, see MIMEOf), and logs the
// entry citing them. A form that does not validate gives a *FormError, and
// a commitment that is not open (or partly fulfilled) store.ErrNotEditable,
// both before anything is written.
func LogFulfil(se *store.Session, ref store.Ref, f Fulfil) error {
	if bad := f.Validate(); len(bad) > 0 {
		return &FormError{Fields: bad}
	}
	c, err := se.Store().Commitment(ref)
	if err != nil {
		return err
	}
	if !(c.Status.Open() || c.Status == domain.StatusPartlyFulfilled) {
		return fmt.Errorf("%w: fulfilment of a %s commitment", store.ErrNotEditable, c.Status)
	}
	date, _ := parseFormDate(f.Date)
	progress, _ := parseProgress(f.Progress)
	var hashes []protocol.Hash
	seen := map[string]bool{}
	for _, p := range f.Evidence {
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		if seen[p] {
			continue // the same file attached twice
		}
		seen[p] = true
		h, err := addEvidenceFor(se, ref.Office, p)
		if err != nil {
			return &FileError{Name: filepath.Base(p), Err: err}
		}
		if !slices.Contains(hashes, h) {
			hashes = append(hashes, h)
		}
	}
	_, err = se.LogFulfilment(ref, store.EntryInput{Date: date, Progress: progress, Note: f.Note, Evidence: hashes})
	return err
}

func addEvidence(se *store.Session, path string) (protocol.Hash, error) {
	return addEvidenceFor(se, se.Device().Office, path)
}

// addEvidenceFor adds the file at path as evidence of office o, the office
// of the commitment whose entry cites it: on a county-admin device that is
// the township, whose devices must receive the file.
func addEvidenceFor(se *store.Session, o office.Code, path string) (protocol.Hash, error) {
	fh, err := os.Open(path)
	if err != nil {
		return protocol.Hash{}, err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return protocol.Hash{}, err
	}
	if fi.Size() > protocol.MaxEvidenceBytes {
		return protocol.Hash{}, fmt.Errorf("%w: %d bytes, limit %d MiB", store.ErrEvidenceTooLarge, fi.Size(), protocol.MaxEvidenceBytes>>20)
	}
	name := EvidenceName(path)
	return se.AddEvidenceFor(o, name, MIMEOf(name), io.Reader(fh))
}

// EvidenceName returns the name an evidence file is recorded under: its
// base name, control characters replaced, shortened (keeping the
// extension) to fit protocol.MaxNameBytes.
func EvidenceName(path string) string {
	name := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return '_'
		}
		return r
	}, filepath.Base(path))
	if len(name) <= protocol.MaxNameBytes {
		return name
	}
	ext := filepath.Ext(name)
	if len(ext) > 16 {
		ext = ""
	}
	stem := name[:protocol.MaxNameBytes-len(ext)]
	for !utf8.ValidString(stem) { // do not cut a character in half
		stem = stem[:len(stem)-1]
	}
	return stem + ext
}

// mimeTypes are the evidence types offices use, fixed here rather than
// read from the system, whose tables differ between Windows and Linux.
var mimeTypes = map[string]string{
	".pdf":  "application/pdf",
	".ofd":  "application/ofd", // 国家版式文档 (GB/T 33190)
	".jpg":  "image/jpeg",
	".jpeg": "image/jpeg",
	".png":  "image/png",
	".gif":  "image/gif",
	".webp": "image/webp",
	".bmp":  "image/bmp",
	".tif":  "image/tiff",
	".tiff": "image/tiff",
	".heic": "image/heic",
	".txt":  "text/plain; charset=utf-8",
	".csv":  "text/csv",
	".doc":  "application/msword",
	".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xls":  "application/vnd.ms-excel",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".ppt":  "application/vnd.ms-powerpoint",
	".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	".wps":  "application/vnd.ms-works", // WPS 文字
	".et":   "application/vnd.ms-excel", // WPS 表格
	".dps":  "application/vnd.ms-powerpoint",
	".zip":  "application/zip",
	".rar":  "application/vnd.rar",
	".7z":   "application/x-7z-compressed",
	".mp4":  "video/mp4",
	".mov":  "video/quicktime",
	".mp3":  "audio/mpeg",
	".m4a":  "audio/mp4",
	".amr":  "audio/amr",
}

// MIMEOf returns the MIME type of an evidence file from its extension:
// the table above, then the system's, then application/octet-stream.
func MIMEOf(name string) string {
	ext := strings.ToLower(filepath.Ext(name))
	if t, ok := mimeTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// IsImage reports whether evidence of this MIME type can be previewed as
// an image.
func IsImage(mimeType string) bool {
	switch strings.TrimSpace(strings.SplitN(mimeType, ";", 2)[0]) {
	case "image/jpeg", "image/png", "image/gif", "image/bmp", "image/webp":
		return true
	}
	return false
}
