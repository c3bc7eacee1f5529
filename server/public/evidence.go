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

	"jiannuo/domain"
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

// citedPublicly reports whether something published cites an evidence
// file, and the office to describe it under: a shown commitment's
// fulfilment entry, a step of a published dishonesty record, or a shown
// case (the files its filer attached, which only the tracking page lists;
// its public reply; the county's closing decision). Only the offices that
// recorded the file can cite it, so only their records are read.
func (h *handler) citedPublicly(snap *snapshot, hs protocol.Hash) (office.Code, bool, error) {
	refs, err := h.citedBy(snap, hs)
	if err != nil || len(refs) > 0 {
		return firstOffice(refs), len(refs) > 0, err
	}
	metas, err := h.st.EvidenceMeta(hs)
	if err != nil {
		return "", false, err
	}
	var offices []office.Code
	for _, m := range metas {
		if !slices.ContainsFunc(offices, func(o office.Code) bool { return o.Contains(m.Office) }) {
			offices = append(offices, m.Office)
		}
	}
	today := h.today()
	for _, o := range offices {
		recs, err := h.st.DishonestyRecords(store.DishonestyFilter{Office: o})
		if err != nil {
			return "", false, err
		}
		for _, r := range recs {
			// Only the files the publication cites: never those of a
			// submission the county has not accepted.
			if p, ok := h.published(r, snap, today); ok && slices.Contains(p.Evidence, hs) {
				return r.Office, true, nil
			}
		}
		cases, err := h.st.Cases(store.CaseFilter{Office: o})
		if err != nil {
			return "", false, err
		}
		for i := range cases {
			if c := &cases[i]; snap.refs[c.Commitment] != nil && slices.Contains(publicCaseFiles(c), hs) {
				return c.Office, true, nil
			}
		}
	}
	return "", false, nil
}

func firstOffice(refs []store.Ref) office.Code {
	if len(refs) == 0 {
		return ""
	}
	return refs[0].Office
}

// publicCaseFiles are the files of a shown case that may be served: its
// attachments, its public reply's and its closing decision's.
func publicCaseFiles(c *store.Case) []protocol.Hash {
	out := slices.Clone(c.Evidence)
	if rep := c.PublicReply(); rep != nil {
		out = append(out, rep.Evidence...)
	}
	if e := closingEvent(c); e != nil {
		out = append(out, e.Evidence...)
	}
	return out
}

// evidenceType returns the type a file is served with, from its content
// alone (the declared type and the name come from whoever recorded it):
// JPEG and PNG images, shown inline; PDF, as a download; anything else as
// application/octet-stream, a download. Never HTML, SVG or script.
func evidenceType(data []byte) (ctype string, inline bool) {
	mt, err := domain.SniffAttachment(data[:min(len(data), 512)])
	switch {
	case err != nil:
		return "application/octet-stream", false
	case mt == domain.MIMEPDF:
		return mt, false
	}
	return mt, true
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

// serveEvidence is GET /evidence/{hash}: the file's bytes, only while
// something published cites it (citedPublicly), with the type its content
// shows, as a download unless it is a JPEG or PNG image.
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
	o, cited, err := h.citedPublicly(snap, hs)
	if err != nil {
		h.internalError(w, r, err)
		return
	}
	if !cited {
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
	ev, err := h.evidenceInfo(hs, o)
	if err != nil {
		h.internalError(w, r, err)
		return
	}
	ctype, inline := evidenceType(data)
	kind := "attachment"
	if inline {
		kind = "inline"
	}
	hd := w.Header()
	hd.Set("Content-Type", ctype)
	disp := mime.FormatMediaType(kind, map[string]string{"filename": attachmentName(ev.Name, hs)})
	if disp == "" {
		disp = kind
	}
	hd.Set("Content-Disposition", disp)
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", `"sha256-`+hs.String()+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}
