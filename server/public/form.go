package public

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"jiannuo/domain"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// The filing forms: GET shows the form, POST (multipart/form-data) files
// the complaint or objection. Nothing is stored unless every check passes;
// then the intake goes to Config.Intake and the filer gets the case number
// and the tracking code, once.

// maxFormBytes bounds a form submission's body: the attachments at their
// limit and room for the text and the other fields. The body is cut there
// before anything is parsed.
const maxFormBytes = domain.MaxCaseAttachments*domain.MaxAttachmentBytes + 256<<10

// Bounds of the form's fields, in bytes as they arrive. The text may come
// longer than its limit so that the form can show it back for shortening.
const (
	maxTextFieldBytes  = 32 << 10
	maxSmallFieldBytes = 1 << 10
)

// maxConcurrentFilings bounds the submissions read at once: each holds up
// to maxFormBytes in memory.
const maxConcurrentFilings = 4

// The form's field names.
const (
	fieldKind     = "kind"
	fieldText     = "text"
	fieldName     = "name"
	fieldPhone    = "phone"
	fieldFiles    = "files"
	fieldToken    = "token"
	fieldAnswer   = "answer"
	fieldHoneypot = "website" // a name a form-filling script is keen on
	fieldRefresh  = "refresh"
)

// fileTarget is what a form files about: a shown commitment (complaints)
// or a published dishonesty record (objections, or complaints about its
// commitment).
type fileTarget struct {
	ref    store.Ref // the commitment
	c      store.Commitment
	record *pubRecord // nil for a commitment's form
	kinds  []domain.CaseKind
}

// upload is one attached file as received.
type upload struct {
	name string // cleaned
	mime string // sniffed
	data []byte
	hash protocol.Hash
}

// filing is a parsed submission.
type filing struct {
	kind, text, name, phone string
	token, answer, honeypot string
	refresh                 bool
	files                   []upload
	textSeen                bool
}

// refusal is why a submission is not taken: a stable code for the log,
// an HTTP status and the message the form shows.
type refusal struct {
	code   protocol.Code
	status int
	msg    string
	detail string // for the log only: never the text or the contact
}

func (h *handler) refusal(code protocol.Code, status int, detail, key string, args ...any) *refusal {
	return &refusal{code: code, status: status, msg: h.tr.T(key, args...), detail: detail}
}

// commitmentTarget resolves the form of a commitment.
func (h *handler) commitmentTarget(r *http.Request) (*fileTarget, error) {
	ref, ok := parseRef(r.PathValue("office"), r.PathValue("id"))
	if !ok {
		return nil, errHidden
	}
	c, err := h.shownCommitment(ref)
	if err != nil {
		return nil, err
	}
	return &fileTarget{ref: ref, c: c, kinds: []domain.CaseKind{domain.CaseComplaint}}, nil
}

// recordTarget resolves the form of a dishonesty record.
func (h *handler) recordTarget(r *http.Request) (*fileTarget, error) {
	rk, ok := parseRef(r.PathValue("office"), r.PathValue("id"))
	if !ok {
		return nil, errHidden
	}
	pr, err := h.publishedRecord(rk)
	if err != nil {
		return nil, err
	}
	return &fileTarget{ref: pr.Commitment, c: pr.c, record: pr,
		kinds: []domain.CaseKind{domain.CaseObjection, domain.CaseComplaint}}, nil
}

// shownCommitment reads a commitment the page shows, or errHidden /
// store.ErrNotFound.
func (h *handler) shownCommitment(ref store.Ref) (store.Commitment, error) {
	c, err := h.st.Commitment(ref)
	if err != nil {
		return c, err
	}
	if !candidate(&c) {
		return c, errHidden
	}
	vs, err := h.st.FieldHistory(ref, domain.FieldStatus)
	if err != nil {
		return c, err
	}
	if !publishedOnce(vs) {
		return c, errHidden
	}
	return c, nil
}

func (h *handler) serveCommitmentForm(w http.ResponseWriter, r *http.Request) {
	h.serveForm(w, r, h.commitmentTarget)
}

func (h *handler) serveRecordForm(w http.ResponseWriter, r *http.Request) {
	h.serveForm(w, r, h.recordTarget)
}

func (h *handler) postCommitmentForm(w http.ResponseWriter, r *http.Request) {
	h.postForm(w, r, h.commitmentTarget)
}

func (h *handler) postRecordForm(w http.ResponseWriter, r *http.Request) {
	h.postForm(w, r, h.recordTarget)
}

// target resolves a form's target, answering the request itself when
// there is none (nil returned).
func (h *handler) target(w http.ResponseWriter, r *http.Request, resolve func(*http.Request) (*fileTarget, error), addr string) *fileTarget {
	if h.intake == nil {
		h.pageError(w, r, http.StatusNotFound, h.tr.T("public.file.not_here_heading"), h.tr.T("public.file.not_here"))
		return nil
	}
	t, err := resolve(r)
	if errors.Is(err, errHidden) || errors.Is(err, store.ErrNotFound) {
		if r.Method == http.MethodPost {
			h.log.Warn("filing refused", "code", protocol.CodeUnknownRecord, "addr", addr, "path", r.URL.Path)
		}
		h.pageError(w, r, http.StatusNotFound, h.tr.T("public.error.not_found_heading"), h.tr.T("public.file.unknown_record"))
		return nil
	}
	if err != nil {
		h.internalError(w, r, err)
		return nil
	}
	return t
}

func (h *handler) serveForm(w http.ResponseWriter, r *http.Request, resolve func(*http.Request) (*fileTarget, error)) {
	t := h.target(w, r, resolve, clientAddr(r, h.proxyHeader))
	if t == nil {
		return
	}
	h.renderForm(w, r, t, http.StatusOK, &filing{kind: string(t.kinds[0])}, nil)
}

// postForm files a complaint or objection, or shows the form again with
// why it was not taken.
func (h *handler) postForm(w http.ResponseWriter, r *http.Request, resolve func(*http.Request) (*fileTarget, error)) {
	addr := clientAddr(r, h.proxyHeader)
	t := h.target(w, r, resolve, addr)
	if t == nil {
		return
	}
	now := h.now()
	if !h.lim.post(addr, now) {
		// The body is not read: the form comes back empty, so say so.
		h.refuse(w, r, t, addr, &filing{kind: string(t.kinds[0])},
			h.refusal(protocol.CodeRateLimited, http.StatusTooManyRequests, "address over its limits", "public.refused.rate_limited"))
		return
	}
	select {
	case h.filingSlots <- struct{}{}:
		defer func() { <-h.filingSlots }()
	case <-r.Context().Done():
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	f, ref := h.readFiling(r)
	if ref == nil && f.refresh {
		h.renderForm(w, r, t, http.StatusOK, f, nil)
		return
	}
	if ref == nil {
		ref = h.checkFiling(t, f, h.now())
	}
	if ref != nil {
		h.refuse(w, r, t, addr, f, ref)
		return
	}
	h.submit(w, r, t, f, addr)
}

// refuse logs a refusal with its code and the client's address (never
// the text or the contact) and shows the form again with the message.
func (h *handler) refuse(w http.ResponseWriter, r *http.Request, t *fileTarget, addr string, f *filing, ref *refusal) {
	h.log.Warn("filing refused", "code", ref.code, "addr", addr, "office", t.ref.Office, "commitment", t.ref.ID.String(),
		"detail", ref.detail)
	h.renderForm(w, r, t, ref.status, f, ref)
}

// readFiling reads the multipart body part by part, holding at most the
// fields and the attached files (each read only up to its limit): no
// temporary files. It stops at the first problem; what was read until
// then (the text comes before the files in the form) is kept for showing
// the form again.
func (h *handler) readFiling(r *http.Request) (*filing, *refusal) {
	f := &filing{}
	mr, err := r.MultipartReader()
	if err != nil {
		return f, h.refusal(protocol.CodeMalformed, http.StatusBadRequest, "not a multipart body", "public.refused.malformed")
	}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return f, nil
		}
		if err != nil {
			return f, h.bodyError(err)
		}
		if ref := h.readPart(f, p); ref != nil {
			p.Close()
			return f, ref
		}
		p.Close()
	}
}

// bodyError names a failure to read the body: over the cap, or broken.
func (h *handler) bodyError(err error) *refusal {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return h.refusal(protocol.CodeOversize, http.StatusRequestEntityTooLarge, "body over the cap", "public.refused.oversize")
	}
	// Not the error's text: a broken part's header may quote what the
	// client sent.
	return h.refusal(protocol.CodeMalformed, http.StatusBadRequest, "multipart body unreadable", "public.refused.malformed")
}

// readField reads a field's value up to limit bytes; ok is false past it.
func readField(p *multipart.Part, limit int) (string, bool, error) {
	b, err := io.ReadAll(io.LimitReader(p, int64(limit)+1))
	if err != nil {
		return "", false, err
	}
	if len(b) > limit {
		return string(b[:limit]), false, nil
	}
	return string(b), true, nil
}

func (h *handler) readPart(f *filing, p *multipart.Part) *refusal {
	name := p.FormName()
	switch name {
	case fieldFiles:
		return h.readFile(f, p)
	case fieldText, fieldKind, fieldName, fieldPhone, fieldToken, fieldAnswer, fieldHoneypot, fieldRefresh:
	default:
		// Not a field of the form: skipped, within the body's cap.
		if _, err := io.Copy(io.Discard, p); err != nil {
			return h.bodyError(err)
		}
		return nil
	}
	limit := maxSmallFieldBytes
	if name == fieldText {
		limit = maxTextFieldBytes
	}
	v, ok, err := readField(p, limit)
	if err != nil {
		return h.bodyError(err)
	}
	if name == fieldText {
		if f.textSeen {
			return h.refusal(protocol.CodeMalformed, http.StatusBadRequest, "two text fields", "public.refused.malformed")
		}
		f.textSeen = true
		f.text = strings.ToValidUTF8(strings.ReplaceAll(v, "\r\n", "\n"), "\uFFFD")
		if !ok {
			n := utf8.RuneCountInString(f.text)
			return h.refusal(protocol.CodeOversize, http.StatusRequestEntityTooLarge, "text over the field cap",
				"public.refused.text_long", domain.MaxCaseTextRunes, n)
		}
		return nil
	}
	if !ok {
		return h.refusal(protocol.CodeOversize, http.StatusRequestEntityTooLarge, "field "+name+" over its cap", "public.refused.oversize")
	}
	switch name {
	case fieldKind:
		f.kind = v
	case fieldName:
		f.name = strings.TrimSpace(v)
	case fieldPhone:
		f.phone = strings.TrimSpace(v)
	case fieldToken:
		f.token = strings.TrimSpace(v)
	case fieldAnswer:
		f.answer = v
	case fieldHoneypot:
		f.honeypot = v
	case fieldRefresh:
		f.refresh = true
	}
	return nil
}

// readFile reads one attached file: counted, capped, its type sniffed
// from its first bytes. An empty file input (nothing chosen) is skipped.
func (h *handler) readFile(f *filing, p *multipart.Part) *refusal {
	data, err := io.ReadAll(io.LimitReader(p, domain.MaxAttachmentBytes+1))
	if err != nil {
		return h.bodyError(err)
	}
	if len(data) == 0 && p.FileName() == "" {
		return nil
	}
	display := displayFileName(p.FileName())
	if len(f.files) == domain.MaxCaseAttachments {
		return h.refusal(protocol.CodeOversize, http.StatusRequestEntityTooLarge, "too many files",
			"public.refused.too_many_files", domain.MaxCaseAttachments)
	}
	if len(data) > domain.MaxAttachmentBytes {
		return h.refusal(protocol.CodeOversize, http.StatusRequestEntityTooLarge, "file over its cap",
			"public.refused.file_large", display, domain.MaxAttachmentBytes>>20)
	}
	mt, err := domain.SniffAttachment(data[:min(len(data), 512)])
	if err != nil {
		return h.refusal(protocol.CodeAttachmentType, http.StatusUnsupportedMediaType, "file content not JPEG, PNG or PDF",
			"public.refused.attachment_type", display)
	}
	hs := protocol.Hash(sha256.Sum256(data))
	if slices.ContainsFunc(f.files, func(u upload) bool { return u.hash == hs }) {
		return nil // the same file twice: once is enough
	}
	f.files = append(f.files, upload{name: cleanFileName(p.FileName(), mt, len(f.files)+1), mime: mt, data: data, hash: hs})
	return nil
}

// displayFileName is a file name as the form may show it back (escaped by
// the template): short, one line.
func displayFileName(name string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	if r := []rune(name); len(r) > 60 {
		name = string(r[:60]) + "…"
	}
	return name
}

// cleanFileName makes the name a file is filed under: no directories, no
// control characters or quotes, at most protocol.MaxNameBytes bytes, and
// "附件N.ext" when nothing is left.
func cleanFileName(name, mt string, n int) string {
	name = strings.ToValidUTF8(name, "")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(strings.Trim(strings.TrimSpace(name), "."))
	for len(name) > protocol.MaxNameBytes {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if !domain.NonBlank(name) {
		ext := map[string]string{domain.MIMEJPEG: ".jpg", domain.MIMEPNG: ".png", domain.MIMEPDF: ".pdf"}[mt]
		name = "附件" + string(rune('0'+n)) + ext
	}
	return name
}

// checkFiling applies every rule to a parsed submission, cheapest first.
func (h *handler) checkFiling(t *fileTarget, f *filing, now time.Time) *refusal {
	if f.honeypot != "" {
		return h.refusal(protocol.CodeHoneypot, http.StatusBadRequest, "hidden field filled", "public.refused.honeypot")
	}
	if code, why := h.q.check(f.token, f.answer, now); code != protocol.CodeOK {
		status := http.StatusBadRequest
		if code == protocol.CodeRateLimited {
			status = http.StatusTooManyRequests
		}
		return h.refusal(code, status, why, "public.refused."+string(code))
	}
	if !slices.Contains(t.kinds, domain.CaseKind(f.kind)) {
		return h.refusal(protocol.CodeMalformed, http.StatusBadRequest, "kind not offered here", "public.refused.malformed")
	}
	if !domain.NonBlank(f.text) {
		return h.refusal(protocol.CodeInvalidOperation, http.StatusBadRequest, "text blank", "public.refused.text_blank")
	}
	if n := utf8.RuneCountInString(f.text); n > domain.MaxCaseTextRunes || len(f.text) > domain.MaxCaseTextBytes {
		return h.refusal(protocol.CodeOversize, http.StatusRequestEntityTooLarge, "text over its limit",
			"public.refused.text_long", domain.MaxCaseTextRunes, n)
	}
	if err := domain.CheckCaseText("text", f.text, true); err != nil {
		return h.refusal(protocol.CodeInvalidOperation, http.StatusBadRequest, "text has control characters", "public.refused.text_invalid")
	}
	if err := domain.CheckContact(f.name, ""); err != nil {
		return h.refusal(protocol.CodeInvalidOperation, http.StatusBadRequest, "name breaks the rules",
			"public.refused.name", domain.MaxContactNameRunes)
	}
	if err := domain.CheckContact("", f.phone); err != nil {
		return h.refusal(protocol.CodeInvalidOperation, http.StatusBadRequest, "phone breaks the rules",
			"public.refused.phone", domain.MinPhoneChars, domain.MaxPhoneChars)
	}
	return nil
}

// submit builds the intake and hands it to the sink; on success it shows
// the case number and the tracking code, once.
func (h *handler) submit(w http.ResponseWriter, r *http.Request, t *fileTarget, f *filing, addr string) {
	now := h.now()
	kind := domain.CaseKind(f.kind)
	id := protocol.NewEntityID()
	code := protocol.NewTrackingCode()
	in := &protocol.Intake{ID: id, Number: protocol.CaseNumber(kind, now.UnixMilli(), id), Kind: kind,
		Office: t.ref.Office, Commitment: t.ref.ID, Text: f.text, TrackHash: protocol.TrackHash(id, code), Filed: now.UnixMilli()}
	if kind == domain.CaseObjection {
		in.Record = t.record.ID
	}
	files := make(map[protocol.Hash][]byte, len(f.files))
	for _, u := range f.files {
		in.Attachments = append(in.Attachments, protocol.Attachment{Hash: u.hash, Name: u.name, MIME: u.mime, Size: int64(len(u.data))})
		files[u.hash] = u.data
	}
	slices.SortFunc(in.Attachments, func(a, b protocol.Attachment) int { return bytes.Compare(a.Hash[:], b.Hash[:]) })
	err := h.intake.SubmitIntake(r.Context(), in, protocol.Contact{Name: f.name, Phone: f.phone}, files)
	if errors.Is(err, protocol.ErrOutOfScope) {
		h.refuse(w, r, t, addr, f, h.refusal(protocol.CodeOutOfScope, http.StatusServiceUnavailable,
			"no trusted county covers the office", "public.refused.out_of_scope"))
		return
	}
	if err != nil {
		h.log.Error("filing not stored", "code", protocol.CodeInternal, "addr", addr, "office", t.ref.Office, "err", err)
		h.renderForm(w, r, t, http.StatusInternalServerError, f,
			&refusal{code: protocol.CodeInternal, msg: h.tr.T("public.refused.internal")})
		return
	}
	h.lim.filed(addr, now)
	h.recent.add(in.Number, id)
	h.log.Info("filing taken", "number", in.Number, "kind", kind, "office", t.ref.Office, "commitment", t.ref.ID.String(),
		"attachments", len(in.Attachments), "addr", addr)
	v := h.newView(r, h.tr.T("public.confirm.heading"))
	v.Crumbs = h.targetCrumbs(t, v.Home)
	v.Crumbs = append(v.Crumbs, crumb{Name: h.tr.T("public.confirm.heading")})
	v.Confirm = &confirmView{Number: in.Number, Code: protocol.FormatTrackingCode(code), Kind: h.tr.T("public.case.kind." + string(kind)),
		TrackHref: v.Home + "case", Title: t.c.Title, Href: v.Home + detailHref(t.ref), Files: len(in.Attachments)}
	w.Header().Set("Cache-Control", "no-store") // the code is shown this once
	h.render(w, http.StatusOK, "confirm", v)
}

// formView is what the form template shows.
type formView struct {
	Title, Place, Href  string // the commitment
	Record              *recordSummary
	Kinds               []kindOpt
	Kind                string
	Text                string
	Message, Code       string
	Token, QuestionSrc  string
	MaxRunes, MaxFiles  int
	MaxMB, MaxNameRunes int
	FilesDropped        int
	Kept                bool // the text came with the refused submission and is shown again
}

type kindOpt struct {
	Value, Label, Hint string
	Checked            bool
}

// recordSummary names a dishonesty record in the form's heading.
type recordSummary struct {
	Type, Recorded, Href string
}

type confirmView struct {
	Number, Code, Kind string
	TrackHref          string
	Title, Href        string
	Files              int
}

func detailHref(ref store.Ref) string { return "c/" + string(ref.Office) + "/" + ref.ID.String() }

func recordHref(rk store.Ref) string { return "d/" + string(rk.Office) + "/" + rk.ID.String() }

// targetCrumbs leads from the list to the target's page.
func (h *handler) targetCrumbs(t *fileTarget, homeLink string) []crumb {
	cs := []crumb{{Name: h.tr.T("public.crumbs.home"), Href: homeLink}, {Name: t.c.Title, Href: homeLink + detailHref(t.ref)}}
	if t.record != nil {
		cs = append(cs, crumb{Name: h.tr.T("public.record.crumb"), Href: homeLink + recordHref(t.record.ref())})
	}
	return cs
}

// renderForm shows the form with a new question; after a refusal with
// its message and the text as sent (never the name or phone, and files
// must be chosen again).
func (h *handler) renderForm(w http.ResponseWriter, r *http.Request, t *fileTarget, status int, f *filing, ref *refusal) {
	heading := h.tr.T("public.file.heading_complaint")
	if t.record != nil {
		heading = h.tr.T("public.file.heading_record")
	}
	v := h.newView(r, heading)
	v.Crumbs = append(h.targetCrumbs(t, v.Home), crumb{Name: heading})
	tok := h.q.issue(h.now())
	fv := &formView{Title: t.c.Title, Place: h.place(t.c.Office), Href: v.Home + detailHref(t.ref), Text: f.text, Kind: f.kind,
		Token: tok, QuestionSrc: v.Home + "q/" + tok + ".png", MaxRunes: domain.MaxCaseTextRunes, MaxFiles: domain.MaxCaseAttachments,
		MaxMB: domain.MaxAttachmentBytes >> 20, MaxNameRunes: domain.MaxContactNameRunes, FilesDropped: len(f.files)}
	if !slices.Contains(t.kinds, domain.CaseKind(fv.Kind)) {
		fv.Kind = string(t.kinds[0])
	}
	if t.record != nil {
		fv.Record = &recordSummary{Type: h.tr.T("public.record.type." + string(t.record.Type)),
			Recorded: fmtDate(t.record.RecordedOn), Href: v.Home + recordHref(t.record.ref())}
	}
	if len(t.kinds) > 1 {
		for _, k := range t.kinds {
			fv.Kinds = append(fv.Kinds, kindOpt{Value: string(k), Label: h.tr.T("public.case.kind." + string(k)),
				Hint: h.tr.T("public.file.kind_hint." + string(k)), Checked: string(k) == fv.Kind})
		}
	}
	if ref != nil {
		fv.Message, fv.Code, fv.Kept = ref.msg, string(ref.code), f.textSeen
	}
	v.Form = fv
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, status, "form", v)
}
