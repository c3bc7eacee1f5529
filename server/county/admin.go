package county

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// Enrolment and administration over HTTPS with JSON. A device asks to be
// enrolled with POST /enrol and polls GET /enrol/{device}; county admins use
// /admin/… with HTTP basic authentication (the credential made by init, or
// added since), from the server command or the admin screens.

// EnrolStatus is what GET /enrol/{device} answers.
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

// apiError is the JSON body of every refused HTTP request: a stable code
// and a message for logs.
type apiError struct {
	Code    protocol.Code `json:"code"`
	Message string        `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *Server) writeErr(w http.ResponseWriter, r *http.Request, status int, err error) {
	code := protocol.CodeOf(err)
	if code == protocol.CodeInternal && errors.Is(err, store.ErrNotFound) {
		code = protocol.CodeNotFound // no such enrolment or device: not a server failure
	}
	if status >= 500 {
		s.log.Error("request failed", "path", r.URL.Path, "err", err)
	} else {
		s.log.Info("request refused", "path", r.URL.Path, "code", string(code), "err", err, "remote", r.RemoteAddr)
	}
	writeJSON(w, status, apiError{Code: code, Message: err.Error()})
}

func (s *Server) enrolment(dev protocol.DeviceID, e *Enrolment) (bool, error) {
	var found bool
	err := s.st.View(func(tx *bolt.Tx) error {
		var err error
		found, err = getJSON(tx, bEnrolments, dev[:], e)
		return err
	})
	return found, err
}

func (s *Server) serveEnrol(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<10))
	if err != nil {
		s.writeErr(w, r, http.StatusBadRequest, fmt.Errorf("%w: %v", protocol.ErrMalformed, err))
		return
	}
	req, err := protocol.OpenEnrolRequest(body)
	if err == nil && !s.id.County.Contains(req.Office) {
		err = fmt.Errorf("%w: office %s is not in county %s", protocol.ErrOutOfScope, req.Office, s.id.County)
	}
	if err != nil {
		s.incident(Incident{Code: protocol.CodeOf(err), Message: "enrolment request: " + err.Error(), Remote: r.RemoteAddr})
		s.writeErr(w, r, http.StatusBadRequest, err)
		return
	}
	dev := req.Device()
	err = s.st.Update(func(tx *bolt.Tx) error {
		var old Enrolment
		found, err := getJSON(tx, bEnrolments, dev[:], &old)
		if err != nil {
			return err
		}
		if found && old.Status != EnrolRejected {
			return nil // asked again: nothing changes
		}
		e := Enrolment{Device: dev, Office: req.Office, DeviceName: req.DeviceName, Staff: req.Staff,
			Status: EnrolPending, Requested: s.cfg.Now().UTC(), Request: body}
		return putJSON(tx, bEnrolments, dev[:], e)
	})
	if err != nil {
		s.writeErr(w, r, http.StatusInternalServerError, err)
		return
	}
	s.log.Info("enrolment requested", "device", dev, "office", string(req.Office), "staff", req.Staff)
	s.serveEnrolStatusOf(w, r, dev, http.StatusAccepted)
}

func (s *Server) serveEnrolStatus(w http.ResponseWriter, r *http.Request) {
	dev, err := protocol.ParseDeviceID(r.PathValue("device"))
	if err != nil {
		s.writeErr(w, r, http.StatusBadRequest, err)
		return
	}
	s.serveEnrolStatusOf(w, r, dev, http.StatusOK)
}

func (s *Server) serveEnrolStatusOf(w http.ResponseWriter, r *http.Request, dev protocol.DeviceID, status int) {
	var e Enrolment
	found, err := s.enrolment(dev, &e)
	if err != nil {
		s.writeErr(w, r, http.StatusInternalServerError, err)
		return
	}
	if !found {
		s.writeErr(w, r, http.StatusNotFound, fmt.Errorf("%w: no enrolment request from %s", protocol.ErrUnknownDevice, dev))
		return
	}
	out := EnrolStatus{Status: e.Status, Reason: e.Reason, County: s.id.County, CountyKey: s.id.Key.Public().(ed25519.PublicKey),
		Replaces: e.Replaces, CarryFrom: e.CarryFrom}
	if e.Status == EnrolApproved {
		out.Certificate = s.certificate(dev)
	}
	writeJSON(w, status, out)
}

// adminRoutes registers the admin API.
func (s *Server) adminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/enrolments", s.admin(s.listEnrolments))
	mux.HandleFunc("POST /admin/enrolments/{device}/approve", s.admin(s.approve))
	mux.HandleFunc("POST /admin/enrolments/{device}/reject", s.admin(s.reject))
	mux.HandleFunc("GET /admin/devices", s.admin(s.listDevices))
	mux.HandleFunc("POST /admin/devices/{device}/revoke", s.admin(s.revoke))
	mux.HandleFunc("GET /admin/conflicts", s.admin(s.listConflicts))
	mux.HandleFunc("GET /admin/incidents", s.admin(s.listIncidents))
	mux.HandleFunc("POST /admin/incidents/{id}/ack", s.admin(s.ackIncident))
	mux.HandleFunc("POST /admin/calendar", s.admin(s.publishCalendar))
	s.adminRoutesMore(mux) // audit, overview, dishonesty (overview.go)
}

type adminHandler func(w http.ResponseWriter, r *http.Request, who string)

func (s *Server) admin(h adminHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name, pass, ok := r.BasicAuth()
		if !ok || checkAdmin(s.st, name, pass) != nil {
			s.incident(Incident{Code: protocol.CodeNotAuthorized, Message: "admin API: bad credential for " + name, Remote: r.RemoteAddr})
			w.Header().Set("WWW-Authenticate", `Basic realm="jiannuo county admin"`)
			s.writeErr(w, r, http.StatusUnauthorized, fmt.Errorf("%w: %v", protocol.ErrNotAuthorized, ErrBadCredential))
			return
		}
		h(w, r, name)
	}
}

// Enrolments lists the pending enrolment requests, or with all every
// enrolment ever asked for, in device ID order, without the signed request.
func (s *Server) Enrolments(all bool) ([]Enrolment, error) {
	out := []Enrolment{}
	err := s.st.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bEnrolments).ForEach(func(_, v []byte) error {
			var e Enrolment
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			e.Request = nil
			if all || e.Status == EnrolPending {
				out = append(out, e)
			}
			return nil
		})
	})
	return out, err
}

func (s *Server) listEnrolments(w http.ResponseWriter, r *http.Request, _ string) {
	out, err := s.Enrolments(r.URL.Query().Get("all") != "")
	if err != nil {
		s.writeErr(w, r, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// ApproveRequest is the body of POST /admin/enrolments/{device}/approve.
type ApproveRequest struct {
	// Office binds the device to an office; empty means the one it asked
	// for. It must lie in the county.
	Office office.Code `json:"office,omitempty"`
	// Admin makes it a county-admin device (office must be the county).
	Admin bool `json:"admin,omitempty"`
}

// ReasonRequest is the body of reject and revoke.
type ReasonRequest struct {
	Reason string `json:"reason"`
}

func readBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %v", protocol.ErrMalformed, err)
	}
	return nil
}

func (s *Server) approve(w http.ResponseWriter, r *http.Request, who string) {
	dev, err := protocol.ParseDeviceID(r.PathValue("device"))
	var body ApproveRequest
	if err == nil {
		err = readBody(r, &body)
	}
	if err != nil {
		s.writeErr(w, r, http.StatusBadRequest, err)
		return
	}
	cert, err := s.Approve(dev, body, who)
	if err != nil {
		s.writeErr(w, r, statusFor(err), err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": string(EnrolApproved), "certificate": base64.StdEncoding.EncodeToString(cert)})
}

// Approve enrols a device whose request is pending, binding it to an office
// (the requested one if req.Office is empty), and returns its signed
// certificate. who is the approving admin, for the audit trail.
func (s *Server) Approve(dev protocol.DeviceID, body ApproveRequest, who string) ([]byte, error) {
	var cert []byte
	var replaced *revocation
	err := s.st.Update(func(tx *bolt.Tx) error {
		replaced = nil
		var e Enrolment
		found, err := getJSON(tx, bEnrolments, dev[:], &e)
		if err != nil {
			return err
		}
		if !found || e.Status != EnrolPending {
			return fmt.Errorf("%w: no pending enrolment for %s", store.ErrNotFound, dev)
		}
		req, err := protocol.OpenEnrolRequest(e.Request)
		if err != nil {
			return err
		}
		o := body.Office
		if o == "" {
			o = req.Office
		}
		if !e.Replaces.IsZero() {
			// A re-enrolment takes over the replaced device's office and
			// kind; the old key is revoked in this same transaction.
			if replaced, err = s.replaceTx(tx, &e, &body, who); err != nil {
				return err
			}
			o = body.Office
		}
		if !s.id.County.Contains(o) || (body.Admin && o != s.id.County) {
			return fmt.Errorf("%w: office %s for county %s (admin %v)", protocol.ErrOutOfScope, o, s.id.County, body.Admin)
		}
		now := s.cfg.Now().UTC()
		c := protocol.Certificate{County: s.id.County, Device: dev, Key: req.Key, Office: o, Admin: body.Admin, Name: req.DeviceName, Issued: now.UnixMilli()}
		cert = c.Sign(s.id.Key)
		if err := tx.Bucket(bCerts).Put(dev[:], cert); err != nil {
			return err
		}
		if err := store.PutDeviceTx(tx, store.DeviceRecord{ID: dev, Key: req.Key, Office: o, Name: req.DeviceName, Admin: body.Admin}); err != nil {
			return err
		}
		e.Status, e.Office, e.Admin, e.Decided, e.DecidedBy = EnrolApproved, o, body.Admin, now, who
		if err := putAudit(tx, AuditEntry{Time: now, Who: who, Action: AuditApprove, Target: dev.String(),
			Detail: fmt.Sprintf("office %s, admin device %v", o, body.Admin)}); err != nil {
			return err
		}
		return putJSON(tx, bEnrolments, dev[:], e)
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("enrolment approved", "device", dev, "by", who, "office", string(body.Office), "admin_device", body.Admin)
	if replaced != nil {
		s.revoked(replaced.dev, replaced.reason, who)
	}
	return cert, nil
}

func statusFor(err error) int {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	case protocol.CodeOf(err) != protocol.CodeInternal:
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

func (s *Server) reject(w http.ResponseWriter, r *http.Request, who string) {
	dev, err := protocol.ParseDeviceID(r.PathValue("device"))
	var body ReasonRequest
	if err == nil {
		err = readBody(r, &body)
	}
	if err == nil && !domain.NonBlank(body.Reason) {
		err = fmt.Errorf("%w: a rejection needs a reason", protocol.ErrInvalidOperation)
	}
	if err != nil {
		s.writeErr(w, r, http.StatusBadRequest, err)
		return
	}
	err = s.st.Update(func(tx *bolt.Tx) error {
		var e Enrolment
		found, err := getJSON(tx, bEnrolments, dev[:], &e)
		if err != nil {
			return err
		}
		if !found || e.Status != EnrolPending {
			return fmt.Errorf("%w: no pending enrolment for %s", store.ErrNotFound, dev)
		}
		e.Status, e.Reason, e.Decided, e.DecidedBy = EnrolRejected, body.Reason, s.cfg.Now().UTC(), who
		if err := putAudit(tx, AuditEntry{Time: e.Decided, Who: who, Action: AuditReject, Target: dev.String(), Reason: body.Reason}); err != nil {
			return err
		}
		return putJSON(tx, bEnrolments, dev[:], e)
	})
	if err != nil {
		s.writeErr(w, r, statusFor(err), err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": string(EnrolRejected)})
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

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request, _ string) {
	devs, err := s.st.Devices()
	heads, herr := s.st.Heads()
	if err == nil {
		err = herr
	}
	seen := make(map[protocol.DeviceID]LastSeen, len(devs))
	if err == nil {
		err = s.st.View(func(tx *bolt.Tx) error {
			for _, d := range devs {
				l, err := s.lastSeenTx(tx, d.ID)
				if err != nil {
					return err
				}
				seen[d.ID] = l
			}
			return nil
		})
	}
	if err != nil {
		s.writeErr(w, r, http.StatusInternalServerError, err)
		return
	}
	now := s.cfg.Now().UTC()
	s.mu.Lock()
	out := make([]DeviceInfo, 0, len(devs))
	for _, d := range devs {
		_, online := s.sessions[d.ID]
		l := seen[d.ID]
		di := DeviceInfo{DeviceRecord: d, LastSeq: heads[d.ID].Seq, Online: online, LastSeen: l.Latest(),
			Reported: l.Reported, Version: l.Version, DeviceSeq: l.DeviceSeq, PendingOps: l.PendingOps, Unsealed: l.PendingOps > 0}
		if online {
			di.LastSeen = now // as the overview counts it
		}
		if di.DeviceSeq > di.LastSeq {
			di.Gap = di.DeviceSeq - di.LastSeq
		}
		out = append(out, di)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// Revoke revokes a device with a reason: its next message is refused with
// revoked_device and its user sees the reason; what it sent before stays.
func (s *Server) Revoke(dev protocol.DeviceID, reason, who string) error {
	if !domain.NonBlank(reason) {
		return fmt.Errorf("%w: a revocation needs a reason", protocol.ErrInvalidOperation)
	}
	// The signed revocation carries the reason; a longer one would not
	// decode (protocol.OpenRevocation).
	if err := domain.CheckText("reason", reason, domain.MaxShortBytes); err != nil {
		return fmt.Errorf("%w: %v", protocol.ErrInvalidOperation, err)
	}
	err := s.st.Update(func(tx *bolt.Tx) error { return s.revokeTx(tx, dev, reason, who, s.cfg.Now().UTC()) })
	if err != nil {
		return err
	}
	s.revoked(dev, reason, who)
	return nil
}

// revokeTx records a revocation inside the caller's transaction; after the
// commit the caller calls revoked.
func (s *Server) revokeTx(tx *bolt.Tx, dev protocol.DeviceID, reason, who string, now time.Time) error {
	{
		d, err := store.DeviceRecordTx(tx, dev)
		if err != nil {
			return err
		}
		rv := protocol.Revocation{County: s.id.County, Device: dev, Reason: reason, Time: now.UnixMilli()}
		if err := tx.Bucket(bRevocations).Put(dev[:], rv.Sign(s.id.Key)); err != nil {
			return err
		}
		// Where in the feed it took effect, for the upstream feed.
		if err := putRevocationPos(tx, dev); err != nil {
			return err
		}
		d.Revoked, d.Reason = true, reason
		if err := store.PutDeviceTx(tx, d); err != nil {
			return err
		}
		action := AuditRevoke
		if strings.HasPrefix(who, recoveryPrefix) {
			action = AuditRecoverRevoke
		}
		if err := putAudit(tx, AuditEntry{Time: now, Who: who, Action: action, Target: dev.String(), Reason: reason,
			Detail: "office " + string(d.Office)}); err != nil {
			return err
		}
		var e Enrolment
		if found, err := getJSON(tx, bEnrolments, dev[:], &e); err != nil || !found {
			return err
		}
		e.Status, e.Reason, e.Decided, e.DecidedBy = EnrolRevoked, reason, now, who
		return putJSON(tx, bEnrolments, dev[:], e)
	}
}

// revoked acts on a committed revocation: the feeds learn of it and the
// device's session, if it has one, ends with the reason.
func (s *Server) revoked(dev protocol.DeviceID, reason, who string) {
	s.log.Warn("device revoked", "device", dev, "by", who, "reason", reason)
	// Wake the upstream feeds (and the cluster announcement) so municipal
	// nodes learn of it now; device feeds find nothing new and sleep again.
	s.feedAdvanced()
	s.mu.Lock()
	se := s.sessions[dev]
	s.mu.Unlock()
	if se != nil {
		se.fail(protocol.CodeRevokedDevice, reason)
	}
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request, who string) {
	dev, err := protocol.ParseDeviceID(r.PathValue("device"))
	var body ReasonRequest
	if err == nil {
		err = readBody(r, &body)
	}
	if err == nil {
		err = s.Revoke(dev, body.Reason, who)
	}
	if err != nil {
		s.writeErr(w, r, statusFor(err), err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": string(EnrolRevoked)})
}

func (s *Server) listConflicts(w http.ResponseWriter, r *http.Request, _ string) {
	cs, err := s.st.Conflicts()
	if err != nil {
		s.writeErr(w, r, http.StatusInternalServerError, err)
		return
	}
	if cs == nil {
		cs = []store.Conflict{}
	}
	writeJSON(w, http.StatusOK, cs)
}

// Incidents returns the recorded incidents, newest first.
func (s *Server) Incidents() ([]Incident, error) {
	var out []Incident
	err := s.st.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bIncidents).ForEach(func(k, v []byte) error {
			var in Incident
			if err := json.Unmarshal(v, &in); err != nil {
				return err
			}
			in.ID = incidentID(k)
			out = append(out, in)
			return nil
		})
	})
	slices.Reverse(out)
	return out, err
}

func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request, _ string) {
	in, err := s.Incidents()
	if err != nil {
		s.writeErr(w, r, http.StatusInternalServerError, err)
		return
	}
	if in == nil {
		in = []Incident{}
	}
	writeJSON(w, http.StatusOK, in)
}

// AuditAckIncident is the audit action of an incident acknowledged by a
// county admin; Target is the incident's ID, Detail its code.
const AuditAckIncident = "ack_incident"

// AckIncident records that the admin who acknowledged the incident id
// (Incident.ID), with an optional note, and audits it in the same
// transaction. The incident itself is kept as it was. Acknowledging it
// again changes nothing and returns the first acknowledgement.
func (s *Server) AckIncident(id, who, note string) (Incident, error) {
	k, ok := incidentKey(id)
	if !ok {
		return Incident{}, fmt.Errorf("%w: incident ID %q", protocol.ErrMalformed, id)
	}
	if err := domain.CheckText("note", note, domain.MaxShortBytes); err != nil {
		return Incident{}, fmt.Errorf("%w: %v", protocol.ErrMalformed, err)
	}
	var in Incident
	err := s.st.Update(func(tx *bolt.Tx) error {
		found, err := getJSON(tx, bIncidents, k, &in)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: incident %s", store.ErrNotFound, id)
		}
		if in.Acknowledged {
			return nil
		}
		now := s.cfg.Now()
		in.ID, in.Acknowledged, in.AckedBy, in.AckedAt, in.AckNote = "", true, who, now.UTC(), strings.TrimSpace(note)
		if err := putJSON(tx, bIncidents, k, in); err != nil {
			return err
		}
		return putAudit(tx, AuditEntry{Time: now, Who: who, Action: AuditAckIncident, Target: id, Reason: in.AckNote, Detail: string(in.Code)})
	})
	in.ID = id
	if err == nil {
		s.log.Info("incident acknowledged", "incident", id, "by", who)
	}
	return in, err
}

func (s *Server) ackIncident(w http.ResponseWriter, r *http.Request, who string) {
	var body ReasonRequest
	err := readBody(r, &body)
	var in Incident
	if err == nil {
		in, err = s.AckIncident(r.PathValue("id"), who, body.Reason)
	}
	if err != nil {
		s.writeErr(w, r, statusFor(err), err)
		return
	}
	writeJSON(w, http.StatusOK, in)
}

// publishCalendar is POST /admin/calendar: the body is a calendar overlay
// file (see domain/calendar), signed and sent to every device.
func (s *Server) publishCalendar(w http.ResponseWriter, r *http.Request, who string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, protocol.MaxCalendarBytes+1))
	if err == nil {
		var version uint64
		if version, err = s.PublishCalendar(body, who); err == nil {
			writeJSON(w, http.StatusOK, map[string]uint64{"version": version})
			return
		}
	}
	s.writeErr(w, r, statusFor(err), err)
}
