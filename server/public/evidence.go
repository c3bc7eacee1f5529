package public

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// citedBy returns the shown commitments whose fulfilment entries cite an
// evidence file. Only the offices that recorded the file (a township, or a
// county-admin device for its county) can cite it, so only their shown
// commitments are read.
func (h *handler) citedBy(snap *snapshot, hs protocol.Hash) ([]store.Ref, error) {
	metas, err := h.st.EvidenceMeta(hs)
	if err != nil || len(metas) == 0 {
		return nil, err
	}
	var offices []office.Code
	for _, m := range metas {
		if !slices.Contains(offices, m.Office) {
			offices = append(offices, m.Office)
		}
	}
	var out []store.Ref
	seen := map[store.Ref]bool{}
	for _, o := range offices {
		// byRef is sorted by office code, and a county's townships share
		// its code as prefix: the office's commitments are one run.
		i := sort.Search(len(snap.byRef), func(i int) bool { return snap.byRef[i].c.Office >= o })
		for ; i < len(snap.byRef) && strings.HasPrefix(string(snap.byRef[i].c.Office), string(o)); i++ {
			it := snap.byRef[i]
			if it.c.Entries == 0 || seen[it.c.Ref] || !o.Contains(it.c.Office) {
				continue
			}
			entries, err := h.st.Entries(it.c.Ref)
			if err != nil {
				return nil, err
			}
			if slices.ContainsFunc(entries, func(e store.Entry) bool { return slices.Contains(e.Evidence, hs) }) {
				seen[it.c.Ref] = true
				out = append(out, it.c.Ref)
			}
		}
	}
	return out, nil
}

// safeTypes are the content types evidence is served with; anything else
// goes out as application/octet-stream. Never HTML, SVG or script: the
// file comes from a township device, not from us. Every file is sent as an
// attachment in any case.
var safeTypes = map[string]string{
	"application/pdf":          "application/pdf",
	"application/ofd":          "application/ofd", // 版式文档, the Chinese standard for official documents
	"image/png":                "image/png",
	"image/jpeg":               "image/jpeg",
	"image/gif":                "image/gif",
	"image/webp":               "image/webp",
	"image/tiff":               "image/tiff",
	"text/plain":               "text/plain; charset=utf-8",
	"text/csv":                 "text/csv; charset=utf-8",
	"application/zip":          "application/zip",
	"application/msword":       "application/msword",
	"application/vnd.ms-excel": "application/vnd.ms-excel",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"audio/mpeg": "audio/mpeg",
	"video/mp4":  "video/mp4",
}

func safeContentType(declared string) string {
	mt, _, err := mime.ParseMediaType(declared)
	if err == nil {
		if t, ok := safeTypes[strings.ToLower(mt)]; ok {
			return t
		}
	}
	return "application/octet-stream"
}

// attachmentName cleans a recorded file name for Content-Disposition: no
// directories, no control characters, not empty.
func attachmentName(name string, hs protocol.Hash) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(strings.Trim(name, "."))
	if name == "" {
		name = "evidence-" + hs.String()[:12]
	}
	if r := []rune(name); len(r) > 120 {
		name = string(r[len(r)-120:])
	}
	return name
}

// serveEvidence is GET /evidence/{hash}: the file's bytes, only while a
// shown commitment cites it, always as a download.
func (h *handler) serveEvidence(w http.ResponseWriter, r *http.Request) {
	var hs protocol.Hash
	if err := hs.UnmarshalText([]byte(strings.ToLower(r.PathValue("hash")))); err != nil {
		h.serveNotFound(w, r)
		return
	}
	snap, err := h.idx.get()
	if err != nil {
		h.internalError(w, r, err)
		return
	}
	refs, err := h.citedBy(snap, hs)
	if err != nil {
		h.internalError(w, r, err)
		return
	}
	if len(refs) == 0 {
		// Not cited by anything shown: answer as if it did not exist.
		h.serveNotFound(w, r)
		return
	}
	data, err := h.st.EvidenceContent(hs)
	if errors.Is(err, store.ErrNotFound) {
		h.pageError(w, r, http.StatusNotFound, h.tr.T("public.error.not_found_heading"), h.tr.T("public.evidence.pending_long"))
		return
	}
	if err != nil {
		h.internalError(w, r, err)
		return
	}
	if protocol.Hash(sha256.Sum256(data)) != hs {
		h.internalError(w, r, errors.New("stored evidence does not match its hash "+hs.String()))
		return
	}
	ev, err := h.evidenceInfo(hs, refs[0].Office)
	if err != nil {
		h.internalError(w, r, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", safeContentType(ev.MIME))
	disp := mime.FormatMediaType("attachment", map[string]string{"filename": attachmentName(ev.Name, hs)})
	if disp == "" {
		disp = "attachment"
	}
	hd.Set("Content-Disposition", disp)
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", `"sha256-`+hs.String()+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}
