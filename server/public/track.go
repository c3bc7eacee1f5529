package public

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"jiannuo/domain"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// Tracking: with its case number and tracking code a filer sees the case's
// whole history (never the contact, never who handled it). The code comes
// in a POST body, never in a URL, so it lands in no log and no history.

// maxTrackBody bounds the tracking form's body.
const maxTrackBody = 4 << 10

// caseNumberPattern is the form of protocol.CaseNumber.
var caseNumberPattern = regexp.MustCompile(`^(TS|YY)[0-9]{8}-[0-9A-HJKMNP-TV-Z]{8}$`)

// normalizeCaseNumber reads a case number as typed: case and spaces
// ignored, O read as 0 and I or L as 1 in its random part. ok is false
// unless that gives a well-formed number.
func normalizeCaseNumber(s string) (string, bool) {
	s = strings.ToUpper(strings.Join(strings.Fields(s), ""))
	if len(s) != 19 {
		return s, false
	}
	tail := strings.NewReplacer("O", "0", "I", "1", "L", "1").Replace(s[11:])
	s = s[:11] + tail
	return s, caseNumberPattern.MatchString(s)
}

// recentIntakes remembers the number → ID of the filings this process
// took, for a sink that does not implement IntakeFinder: bounded, oldest
// forgotten first.
type recentIntakes struct {
	mu    sync.Mutex
	ids   map[string]protocol.EntityID
	order []string
	next  int
}

const recentIntakesCap = 1 << 16

func (ri *recentIntakes) add(number string, id protocol.EntityID) {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	if ri.ids == nil {
		ri.ids = map[string]protocol.EntityID{}
	}
	if len(ri.order) < recentIntakesCap {
		ri.order = append(ri.order, number)
	} else {
		delete(ri.ids, ri.order[ri.next])
		ri.order[ri.next] = number
		ri.next = (ri.next + 1) % recentIntakesCap
	}
	ri.ids[number] = id
}

func (ri *recentIntakes) get(number string) (protocol.EntityID, bool) {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	id, ok := ri.ids[number]
	return id, ok
}

// trackView is what the tracking template shows.
type trackView struct {
	Number  string // as typed, to fill the form again
	Message string
	Case    *caseDetail
}

// caseDetail is one case as its filer sees it.
type caseDetail struct {
	caseRow
	Commitment, CommitmentHref string
	Place                      string
	Text                       string
	Attachments                []evidenceView
	Steps                      []stepView
	State                      string // before the case reached this replica: the intake's state
	StateClass                 string
}

// found is what a number and a code found.
type found struct {
	c  *store.Case  // the case, once on this replica
	in *IntakeState // else the filing, as this node holds it
}

func (h *handler) serveTrack(w http.ResponseWriter, r *http.Request) {
	h.renderTrack(w, r, http.StatusOK, &trackView{})
}

func (h *handler) renderTrack(w http.ResponseWriter, r *http.Request, status int, tv *trackView) {
	v := h.newView(r, h.tr.T("public.track.heading"))
	v.Crumbs = []crumb{{Name: h.tr.T("public.crumbs.home"), Href: v.Home}, {Name: h.tr.T("public.track.heading")}}
	v.Track = tv
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, status, "track", v)
}

// postTrack is POST /case: the case with that number, if the code is its
// tracking code. A wrong number and a wrong code get the same answer, and
// count against the address's attempts.
func (h *handler) postTrack(w http.ResponseWriter, r *http.Request) {
	addr := clientAddr(r, h.proxyHeader)
	now := h.now()
	if !h.lim.trackAllowed(addr, now) {
		h.log.Warn("tracking refused", "code", protocol.CodeRateLimited, "addr", addr)
		h.renderTrack(w, r, http.StatusTooManyRequests, &trackView{Message: h.tr.T("public.track.rate_limited")})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxTrackBody)
	if err := r.ParseForm(); err != nil {
		h.log.Warn("tracking refused", "code", protocol.CodeMalformed, "addr", addr)
		h.renderTrack(w, r, http.StatusBadRequest, &trackView{Message: h.tr.T("public.refused.malformed")})
		return
	}
	typed := r.PostForm.Get("number")
	number, _ := normalizeCaseNumber(typed)
	fd, err := h.findCase(number, r.PostForm.Get("code"))
	if err != nil {
		h.internalError(w, r, err)
		return
	}
	if fd == nil {
		h.lim.trackFailed(addr, now)
		h.log.Warn("tracking refused", "code", protocol.CodeNotFound, "addr", addr)
		h.renderTrack(w, r, http.StatusForbidden, &trackView{Number: displayFileName(typed), Message: h.tr.T("public.track.wrong")})
		return
	}
	cd, err := h.caseDetail(fd, h.newView(r, "").Home)
	if err != nil {
		h.internalError(w, r, err)
		return
	}
	h.renderTrack(w, r, http.StatusOK, &trackView{Case: cd})
}

// findCase returns the case or filing with that number whose tracking code
// is code, or nil.
func (h *handler) findCase(number, code string) (*found, error) {
	if !caseNumberPattern.MatchString(number) {
		protocol.CheckTrackingCode(protocol.EntityID{}, code, protocol.Hash{}) // as long as a real check
		return nil, nil
	}
	c, err := h.st.CaseByNumber(number)
	switch {
	case err == nil:
		if c.TrackHash == nil || !protocol.CheckTrackingCode(c.ID, code, *c.TrackHash) {
			return nil, nil
		}
		return &found{c: &c}, nil
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	if h.intake == nil {
		return nil, nil
	}
	id, ok, err := h.intakeID(number)
	if err != nil || !ok {
		return nil, err
	}
	st, ok, err := h.intake.IntakeState(id)
	if err != nil || !ok || st.Intake == nil || st.Intake.Number != number {
		return nil, err
	}
	if !protocol.CheckTrackingCode(id, code, st.Intake.TrackHash) {
		return nil, nil
	}
	return &found{in: &st}, nil
}

// intakeID finds the ID of a filing by its number: from the sink when it
// can tell, else from this process's memory.
func (h *handler) intakeID(number string) (protocol.EntityID, bool, error) {
	if f, ok := h.intake.(IntakeFinder); ok {
		return f.IntakeByNumber(number)
	}
	id, ok := h.recent.get(number)
	return id, ok, nil
}

// caseDetail builds the tracking page's view of what was found.
func (h *handler) caseDetail(fd *found, homeLink string) (*caseDetail, error) {
	if fd.c != nil {
		c := fd.c
		row, err := h.caseRow(c, homeLink)
		if err != nil {
			return nil, err
		}
		cd := &caseDetail{caseRow: row, Text: c.Text, Steps: h.caseSteps(c, homeLink)}
		if cd.Attachments, err = h.evidenceViews(c.Evidence, c.Office, homeLink); err != nil {
			return nil, err
		}
		h.commitmentOf(cd, c.Commitment, homeLink)
		return cd, nil
	}
	in := fd.in.Intake
	filed := time.UnixMilli(in.Filed).In(cst)
	cd := &caseDetail{caseRow: caseRow{Number: in.Number, Kind: h.tr.T("public.case.kind." + string(in.Kind)),
		Filed: filed.Format("2006-01-02"), FiledISO: filed.Format(time.RFC3339), IsObjection: in.Kind == domain.CaseObjection},
		Text: in.Text}
	for _, a := range in.Attachments {
		cd.Attachments = append(cd.Attachments, evidenceView{Name: a.Name, Size: fmtSize(a.Size), Hash: a.Hash.String()})
	}
	switch fd.in.State {
	case IntakeRefused:
		cd.State, cd.StateClass = h.tr.T("public.track.refused", h.refusedReason(fd.in.Code)), "refused"
		h.log.Info("tracking a refused filing", "number", in.Number, "code", fd.in.Code, "message", fd.in.Message)
	case IntakeAccepted:
		cd.State, cd.StateClass = h.tr.T("public.track.accepted"), "accepted"
	default:
		cd.State, cd.StateClass = h.tr.T("public.track.pending"), "pending"
	}
	cd.StatusName = cd.State
	cd.Steps = []stepView{{Time: fmtTime(filed), TimeISO: filed.Format(time.RFC3339), Name: h.tr.T("public.case.step.opened")}}
	h.commitmentOf(cd, store.Ref{Office: in.Office, ID: in.Commitment}, homeLink)
	return cd, nil
}

// commitmentOf names the case's commitment, if it is still shown.
func (h *handler) commitmentOf(cd *caseDetail, ref store.Ref, homeLink string) {
	if c, err := h.shownCommitment(ref); err == nil {
		cd.Commitment, cd.CommitmentHref, cd.Place = c.Title, homeLink+detailHref(ref), h.place(c.Office)
	} else {
		cd.CommitmentHref = ""
	}
}

// refusedReason says in plain words why the county did not take a filing.
func (h *handler) refusedReason(code protocol.Code) string {
	switch code {
	case protocol.CodeUnknownRecord, protocol.CodeNotFound:
		return h.tr.T("public.track.refused_unknown_record")
	case protocol.CodeOutOfScope:
		return h.tr.T("public.track.refused_out_of_scope")
	case protocol.CodeAttachmentType, protocol.CodeOversize, protocol.CodeEvidenceMismatch:
		return h.tr.T("public.track.refused_files")
	}
	return h.tr.T("public.track.refused_other")
}
