package countyapi

import (
	"fmt"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// EnrolmentStatus is where a device's enrolment stands.
type EnrolmentStatus string

// The enrolment statuses.
const (
	EnrolPending  EnrolmentStatus = "pending"
	EnrolApproved EnrolmentStatus = "approved"
	EnrolRejected EnrolmentStatus = "rejected"
	EnrolRevoked  EnrolmentStatus = "revoked"
)

// EnrolStatus is what the county says of a device's enrolment: the answer
// of POST /enrol, POST /enrol/replace and GET /enrol/{device}.
type EnrolStatus struct {
	Status      EnrolmentStatus `json:"status"`
	Reason      string          `json:"reason,omitempty"`
	County      office.Code     `json:"county"`
	CountyKey   []byte          `json:"county_key"`            // ed25519 public key: verifies receipts and certificates
	Certificate []byte          `json:"certificate,omitempty"` // when approved
	// Replaces and CarryFrom answer a re-enrolment (POST /enrol/replace):
	// the device replaced, and the first of its change sets the device
	// must carry over to the new key (store.Session.Rekey).
	Replaces  protocol.DeviceID `json:"replaces,omitzero"`
	CarryFrom uint64            `json:"carry_from,omitempty"`
}

// Enrolment is a device's request and what the county decided: a row of
// GET /admin/enrolments (without Request), and the server's record of it.
type Enrolment struct {
	Device     protocol.DeviceID `json:"device"`
	Office     office.Code       `json:"office"` // requested, or as approved
	DeviceName string            `json:"device_name"`
	Staff      string            `json:"staff"`
	Status     EnrolmentStatus   `json:"status"`
	Reason     string            `json:"reason,omitempty"` // of a rejection or revocation
	Admin      bool              `json:"admin"`            // approved as a county-admin device
	Requested  time.Time         `json:"requested"`
	Decided    time.Time         `json:"decided,omitzero"`
	DecidedBy  string            `json:"decided_by,omitempty"`
	Request    []byte            `json:"request"` // the signed EnrolRequest
	// Re-enrolment after a fork: the device this one replaces, where the
	// two branches part (CarryFrom: the first change set of the old device
	// the county does not hold as the device has it), how many change sets
	// the device holds from there on (Carried: they come back as new
	// change sets of the new key), and the county's head for the old
	// device when asked.
	Replaces   protocol.DeviceID `json:"replaces,omitzero"`
	CarryFrom  uint64            `json:"carry_from,omitempty"`
	Carried    int               `json:"carried,omitempty"`
	CountyHead uint64            `json:"county_head,omitempty"`
}

// ApproveRequest is the body of POST /admin/enrolments/{device}/approve.
type ApproveRequest struct {
	// Office binds the device to an office; empty means the one it asked
	// for. It must lie in the county.
	Office office.Code `json:"office,omitempty"`
	// Admin makes it a county-admin device (office must be the county).
	Admin bool `json:"admin,omitempty"`
}

// ReasonRequest is the body of reject, revoke and acknowledging an
// incident (where the reason is the note).
type ReasonRequest struct {
	Reason string `json:"reason"`
}

// Decision is the answer of approve (with the signed certificate), reject
// and revoke: the enrolment's status after it.
type Decision struct {
	Certificate []byte          `json:"certificate,omitempty"`
	Status      EnrolmentStatus `json:"status"`
}

// DeviceInfo is a row of GET /admin/devices.
type DeviceInfo struct {
	store.DeviceRecord
	LastSeq uint64 `json:"last_seq"` // the device's last change set the county holds
	Online  bool   `json:"online"`
	// LastSeen is when a session of the device last opened or closed (now
	// while online); zero if it never connected.
	LastSeen time.Time `json:"last_seen,omitzero"`
	// What the device said of itself in its last hello that carried it
	// (protocol.HelloStatus), at Reported; all zero for an app older than
	// that, or a device that never connected. Advisory: as reported.
	Reported   time.Time `json:"reported,omitzero"`
	Version    string    `json:"version,omitempty"` // the app's software version
	DeviceSeq  uint64    `json:"device_seq"`        // the last change set it had sealed
	PendingOps uint64    `json:"pending_ops"`       // its operations not sealed yet
	// Gap is how many change sets the device had sealed that the county
	// does not hold: DeviceSeq − LastSeq, never negative. Unsealed is
	// PendingOps > 0: work on the device not even in a change set yet.
	Gap      uint64 `json:"gap"`
	Unsealed bool   `json:"unsealed"`
}

// Incident is refused input kept for the county admin (forks, scope
// violations, forged signatures and every other refusal but a harmless
// replay): a row of GET /admin/incidents, newest first, and the answer of
// acknowledging one. Repeated refusals of one kind from one source are
// one incident that counts them (docs/county-server.md, "Limits").
type Incident struct {
	// ID names the incident for POST /admin/incidents/{id}/ack. The server
	// derives it from where it keeps the incident when it reads it.
	ID string `json:"id,omitempty"`
	// Time is when it was first seen; LastSeen when last, and Count how
	// many times in all (0 in incidents kept before counting began: once).
	Time     time.Time         `json:"time"`
	LastSeen time.Time         `json:"last_seen,omitzero"`
	Count    int               `json:"count,omitempty"`
	Device   protocol.DeviceID `json:"device"`
	Seq      uint64            `json:"seq,omitempty"`
	Code     protocol.Code     `json:"code"`
	Message  string            `json:"message"`
	Remote   string            `json:"remote,omitempty"`
	// Acknowledged is set when a county admin has acknowledged the
	// incident: who (the admin credential), when, and the note given.
	Acknowledged bool      `json:"acknowledged,omitempty"`
	AckedBy      string    `json:"acked_by,omitempty"`
	AckedAt      time.Time `json:"acked_at,omitzero"`
	AckNote      string    `json:"ack_note,omitempty"`
}

// Times returns how many times the incident happened: Count, or 1 for an
// incident kept before counting began.
func (in Incident) Times() int { return max(in.Count, 1) }

// Last returns when the incident was last seen.
func (in Incident) Last() time.Time {
	if in.LastSeen.IsZero() {
		return in.Time
	}
	return in.LastSeen
}

// PruneRequest is the body of POST /admin/incidents/prune: incidents last
// seen before Before go (a date, 2006-01-02, in China Standard Time, or
// an RFC 3339 time).
type PruneRequest struct {
	Before string `json:"before"`
}

// PruneResult is the answer of POST /admin/incidents/prune.
type PruneResult struct {
	Deleted int `json:"deleted"`
}

// cst is China Standard Time, where a county's dates are.
var cst = time.FixedZone("CST", 8*3600)

// ParseBefore reads the date of a PruneRequest: the start of a civil day
// in China Standard Time, or an RFC 3339 time.
func ParseBefore(s string) (time.Time, error) {
	if t, err := time.ParseInLocation(time.DateOnly, s, cst); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: date %q: want 2006-01-02 or an RFC 3339 time", protocol.ErrMalformed, s)
	}
	return t, nil
}

// CalendarVersion is the answer of POST /admin/calendar: the version the
// published calendar update got.
type CalendarVersion struct {
	Version uint64 `json:"version"`
}

// ConflictRow is a row of GET /admin/conflicts: a conflicted field, and
// for each of its competing versions, in order, the person behind the
// author login as the office's account directory names it ("王芳（wangfang）";
// the login alone when the directory does not know it).
type ConflictRow struct {
	store.Conflict
	Authors []string `json:"authors"`
}

// AuditEntry is one admin action of the audit trail.
type AuditEntry struct {
	Seq    uint64    `json:"seq"`
	Time   time.Time `json:"time"`
	Who    string    `json:"who"`              // the admin credential used
	Action string    `json:"action"`           // e.g. approve, revoke, publish_calendar
	Target string    `json:"target"`           // the device (or other thing) acted on
	Reason string    `json:"reason,omitempty"` // why
	Detail string    `json:"detail,omitempty"` // e.g. the office a device was bound to
	Prev   string    `json:"prev"`             // hex SHA-256 of the previous entry; empty for the first
	Hash   string    `json:"hash"`             // hex SHA-256 of this entry with Hash empty
}

// AuditReport is the answer of GET /admin/audit.
type AuditReport struct {
	Entries []AuditEntry `json:"entries"`
	// Verified is true when the chain is intact; Problem says where it is
	// not.
	Verified bool   `json:"verified"`
	Problem  string `json:"problem,omitempty"`
}

// UpstreamNode is a municipal node the county admin has authorised to pull
// the county's feed: a row of GET /admin/upstream and the answer of POST
// /admin/upstream. Its ID is derived from its key as a device ID is.
type UpstreamNode struct {
	ID      protocol.DeviceID `json:"id"`
	Key     string            `json:"key"` // ed25519 public key, hex
	Name    string            `json:"name"`
	Added   time.Time         `json:"added"`
	AddedBy string            `json:"added_by,omitempty"`
}

// UpstreamRequest is the body of POST /admin/upstream.
type UpstreamRequest struct {
	Key  string `json:"key"` // the node's ed25519 public key, 64 hex digits
	Name string `json:"name"`
}

// DishonestyQuery selects the records of GET /admin/dishonesty; the zero
// value selects every record of the county.
type DishonestyQuery struct {
	Office   office.Code           // a township, or the county; empty: the county
	OpenOnly bool                  // only records not yet closed by credit repair
	Type     domain.DishonestyType // only records of this type; empty: every type
}

// CaseQuery selects the cases of GET /admin/cases; the zero value selects
// every case of the county, a page of DefaultCasePage.
type CaseQuery struct {
	Office      office.Code     // a township (or the county); empty: the county
	OpenOnly    bool            // leave out closed cases
	OverdueOnly bool            // only cases overdue today
	Kind        domain.CaseKind // complaint or objection; empty: both
	// Limit is the page size: 0 means DefaultCasePage, at most
	// MaxCasePage.
	Limit int
	// Cursor is CasePage.Next of the page before; empty: the first page.
	Cursor string
}

// Page sizes of GET /admin/cases.
const (
	DefaultCasePage = 100
	MaxCasePage     = 500
)

// CaseInfo is a case as the county admin sees it: the replicated view
// (store.Case: history only in GET /admin/cases/{case} and the answers of
// decisions) and where it stands against its deadlines today.
type CaseInfo struct {
	store.Case
	Due     domain.CaseDue `json:"due"`
	Overdue bool           `json:"overdue"`
}

// CasePage is the answer of GET /admin/cases: cases in the order of their
// office, then ID, and the cursor of the next page (empty on the last).
type CasePage struct {
	Today calendar.Date `json:"today"`
	Cases []CaseInfo    `json:"cases"`
	Next  string        `json:"next,omitempty"`
}

// CaseDecision is the body of POST /admin/cases/{case}/{action}: what the
// action needs of it.
type CaseDecision struct {
	// Reason is the reason of return, decide and withdraw (required), the
	// note of accept (optional).
	Reason string `json:"reason,omitempty"`
	// Finding is accept's (upheld, not_upheld) or decide's (upheld,
	// rejected).
	Finding domain.CaseFinding `json:"finding,omitempty"`
	// Record is link's: the dishonesty record created from the case.
	Record protocol.EntityID `json:"record,omitzero"`
	// AckDue and AnswerDue are assign's new deadlines, YYYY-MM-DD;
	// AnswerDue is required, AckDue for a complaint (empty: the one it
	// has).
	AckDue    string `json:"ack_due,omitempty"`
	AnswerDue string `json:"answer_due,omitempty"`
}

// CaseActions maps the actions of POST /admin/cases/{case}/{action} to the
// step each takes.
var CaseActions = map[string]domain.CaseStep{
	"accept":   domain.CaseAccepted,
	"return":   domain.CaseReturned,
	"decide":   domain.CaseDecided,
	"link":     domain.CaseLinked,
	"withdraw": domain.CaseWithdrawn,
	"assign":   domain.CaseAssigned,
}

// CaseDecided is the answer of a decision: the case as it stands after it
// (with its history) and the feed position of the change set that carries
// the decision, signed by the county server's device.
type CaseDecided struct {
	Case CaseInfo `json:"case"`
	Pos  uint64   `json:"pos"`
}

// CaseContact is the answer of POST /admin/cases/{case}/contact: the
// filer's name and phone, opened with the county key. Every reading is
// in the audit trail.
type CaseContact struct {
	Case    string `json:"case"` // its number
	Name    string `json:"name"`
	Phone   string `json:"phone"`
	Present bool   `json:"present"` // false: the filer left neither
}

// SyncImportPath is where a county admin posts a device's sync bundle
// (docs/sync-file.md): the bundle is the raw body, the answer's body the
// return file, and SyncImportHeader the summary below as JSON.
const SyncImportPath = "/admin/sync/import"

// SyncImportHeader carries the summary of an import (SyncImport, JSON) in
// the answer's header, as the body is the return file itself.
const SyncImportHeader = "Jiannuo-Sync-Import"

// SyncImport says what the county did with a sync bundle and what its
// return file holds.
type SyncImport struct {
	Device protocol.DeviceID `json:"device"`
	Office office.Code       `json:"office"`
	Number uint64            `json:"number"` // the bundle's
	// ChangeSets are those the bundle carried; Receipted the ones the
	// county holds (now, or from before: answered with the original
	// receipt), Refused those it refused, RefusedCode the code of the
	// first. Skipped: the bundle's change sets did not continue the
	// county's chain of the device (a county restored from an older
	// backup), so none was taken; the return file tells the device to send
	// them again from where the county stands.
	ChangeSets  int           `json:"change_sets"`
	Receipted   int           `json:"receipted"`
	Refused     int           `json:"refused"`
	RefusedCode protocol.Code `json:"refused_code,omitempty"`
	Skipped     bool          `json:"skipped,omitempty"`
	// From and To are the feed positions the return file covers (after
	// From, up to To); Delivered the change sets of other devices in it.
	// FeedComplete is false when the size limit cut the feed short: the
	// device gets the rest next time.
	From         uint64 `json:"from"`
	To           uint64 `json:"to"`
	Delivered    int    `json:"delivered"`
	FeedComplete bool   `json:"feed_complete"`
	// EvidenceIn are the files the bundle brought that the county now
	// holds; EvidenceOut those the return file carries to the device;
	// EvidenceLeft those the device lacks that did not fit (next time).
	EvidenceIn   int `json:"evidence_in"`
	EvidenceOut  int `json:"evidence_out"`
	EvidenceLeft int `json:"evidence_left"`
	// ReturnBytes is the return file's size.
	ReturnBytes int64 `json:"return_bytes"`
}
