package county

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// Enrolment and administration over HTTPS with JSON. A device asks to be
// enrolled with POST /enrol and polls GET /enrol/{device}; county admins use
// /admin/… from the server command or the admin screens, with a session
// token from POST /admin/login or HTTP basic authentication (admins.go).

func (s *Server) writeErr(w http.ResponseWriter, r *http.Request, status int, err error) {
	code := protocol.CodeOf(err)
	if code == protocol.CodeInternal && errors.Is(err, store.ErrNotFound) {
		code = protocol.CodeNotFound // no such enrolment or device: not a server failure
	}
	msg := clip(err.Error(), maxIncidentMessage) // it may quote the request
	path := clip(r.URL.Path, 128)
	var be *busyError
	switch {
	case errors.As(err, &be):
		w.Header().Set("Retry-After", strconv.Itoa(be.seconds()))
		s.log.Debug("request refused", "path", path, "code", string(code), "err", msg, "remote", r.RemoteAddr)
	case status >= 500:
		s.log.Error("request failed", "path", path, "err", msg)
	default:
		s.log.Info("request refused", "path", path, "code", string(code), "err", msg, "remote", r.RemoteAddr)
	}
	countyapi.WriteJSON(w, status, countyapi.ErrorBody{Code: code, Message: msg})
}

func (s *Server) enrolment(dev protocol.DeviceID, e *countyapi.Enrolment) (bool, error) {
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
		s.incident(countyapi.Incident{Code: protocol.CodeOf(err), Message: "enrolment request: " + err.Error(), Remote: r.RemoteAddr})
		s.writeErr(w, r, http.StatusBadRequest, err)
		return
	}
	dev := req.Device()
	var counted bool
	err = s.st.Update(func(tx *bolt.Tx) error {
		var old countyapi.Enrolment
		found, err := getJSON(tx, bEnrolments, dev[:], &old)
		if err != nil {
			return err
		}
		if found && old.Status != countyapi.EnrolRejected {
			return nil // asked again: nothing changes
		}
		if err := s.pending.take(req.Office, false); err != nil {
			return err
		}
		counted = true
		e := countyapi.Enrolment{Device: dev, Office: req.Office, DeviceName: req.DeviceName, Staff: req.Staff,
			Status: countyapi.EnrolPending, Requested: s.cfg.Now().UTC(), Request: body}
		return putJSON(tx, bEnrolments, dev[:], e)
	})
	if err != nil && counted {
		s.pending.done(req.Office)
	}
	if errors.Is(err, protocol.ErrTooManyPending) {
		// Not an attack by itself (offices do set up many devices), and a
		// flood of them is counted by its address like any refusal.
		s.incident(countyapi.Incident{Code: protocol.CodeTooManyPending, Message: "enrolment request: " + err.Error(), Remote: r.RemoteAddr})
		s.writeErr(w, r, http.StatusTooManyRequests, err)
		return
	}
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
	var e countyapi.Enrolment
	found, err := s.enrolment(dev, &e)
	if err != nil {
		s.writeErr(w, r, http.StatusInternalServerError, err)
		return
	}
	if !found {
		s.writeErr(w, r, http.StatusNotFound, fmt.Errorf("%w: no enrolment request from %s", protocol.ErrUnknownDevice, dev))
		return
	}
	out := countyapi.EnrolStatus{Status: e.Status, Reason: e.Reason, County: s.id.County, CountyKey: s.id.Key.Public().(ed25519.PublicKey),
		Replaces: e.Replaces, CarryFrom: e.CarryFrom}
	if e.Status == countyapi.EnrolApproved {
		out.Certificate = s.certificate(dev)
	}
	countyapi.WriteJSON(w, status, out)
}

// adminRoutes registers the admin API.
func (s *Server) adminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/enrolments", s.admin(s.listEnrolments))
	mux.HandleFunc("POST /admin/enrolments/{device}/approve", s.admin(s.approve))
	mux.HandleFunc("POST /admin/enrolments/{device}/reject", s.admin(s.reject))
	mux.HandleFunc("GET /admin/devices", s.admin(s.listDevices))
	mux.HandleFunc("POST /admin/devices/{device}/revoke", s.admin(s.revoke))
	mux.HandleFunc("GET /admin/conflicts", s.admin(s.listConflicts))
	mux.HandleFunc("GET /admin/directory", s.admin(s.serveDirectory))
	mux.HandleFunc("GET /admin/incidents", s.admin(s.listIncidents))
	mux.HandleFunc("POST /admin/incidents/{id}/ack", s.admin(s.ackIncident))
	mux.HandleFunc("POST /admin/incidents/prune", s.admin(s.pruneIncidents))
	mux.HandleFunc("POST /admin/calendar", s.admin(s.publishCalendar))
	s.accountRoutes(mux) // admin accounts and sessions (admins.go)
	mux.HandleFunc("POST "+countyapi.SyncImportPath, s.admin(s.serveSyncImport))
	mux.HandleFunc("GET /admin/backup", s.admin(s.serveBackup))
	s.adminRoutesMore(mux) // audit, overview, dishonesty (overview.go)
}

type adminHandler func(w http.ResponseWriter, r *http.Request, who string)

// admin wraps an admin route: the request's credential is checked first
// — a session token (admins.go, tokens.go), or a name and password (see
// passwords.go for the bounds on that) — and h gets the admin it acts as;
// a request refused is an incident, except for a session that ended.
func (s *Server) admin(h adminHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		who, claimed, err := s.authenticate(r)
		if err != nil {
			s.refuseCredential(w, r, claimed, err)
			return
		}
		authenticated(r)
		h(w, r, who)
	}
}

// Enrolments lists the pending enrolment requests, or with all every
// enrolment ever asked for, in device ID order, without the signed request.
func (s *Server) Enrolments(all bool) ([]countyapi.Enrolment, error) {
	out := []countyapi.Enrolment{}
	err := s.st.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bEnrolments).ForEach(func(_, v []byte) error {
			var e countyapi.Enrolment
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			e.Request = nil
			if all || e.Status == countyapi.EnrolPending {
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
	countyapi.WriteJSON(w, http.StatusOK, out)
}

// readBody decodes a JSON request body of at most 16 KiB into v: one
// value with known fields and nothing after it; an empty body leaves v
// as it is.
func readBody(r *http.Request, v any) error { return readBodyUpTo(r, v, 16<<10) }

// readBodyUpTo is readBody for a body of at most limit bytes.
func readBodyUpTo(r *http.Request, v any, limit int64) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err == nil {
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			err = errors.New("data after the JSON value")
		}
	}
	if err != nil {
		return fmt.Errorf("%w: %v", protocol.ErrMalformed, err)
	}
	return nil
}

func (s *Server) approve(w http.ResponseWriter, r *http.Request, who string) {
	dev, err := protocol.ParseDeviceID(r.PathValue("device"))
	var body countyapi.ApproveRequest
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
	countyapi.WriteJSON(w, http.StatusOK, countyapi.Decision{Status: countyapi.EnrolApproved, Certificate: cert})
}

// Approve enrols a device whose request is pending, binding it to an office
// (the requested one if req.Office is empty), and returns its signed
// certificate. who is the approving admin, for the audit trail.
func (s *Server) Approve(dev protocol.DeviceID, body countyapi.ApproveRequest, who string) ([]byte, error) {
	var cert []byte
	var replaced *revocation
	err := s.st.Update(func(tx *bolt.Tx) error {
		replaced = nil
		var e countyapi.Enrolment
		found, err := getJSON(tx, bEnrolments, dev[:], &e)
		if err != nil {
			return err
		}
		if !found || e.Status != countyapi.EnrolPending {
			return fmt.Errorf("%w: no pending enrolment for %s", store.ErrNotFound, dev)
		}
		asked := e.Office
		tx.OnCommit(func() { s.pending.done(asked) })
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
		e.Status, e.Office, e.Admin, e.Decided, e.DecidedBy = countyapi.EnrolApproved, o, body.Admin, now, who
		if err := putAudit(tx, countyapi.AuditEntry{Time: now, Who: who, Action: AuditApprove, Target: dev.String(),
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
	var body countyapi.ReasonRequest
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
		var e countyapi.Enrolment
		found, err := getJSON(tx, bEnrolments, dev[:], &e)
		if err != nil {
			return err
		}
		if !found || e.Status != countyapi.EnrolPending {
			return fmt.Errorf("%w: no pending enrolment for %s", store.ErrNotFound, dev)
		}
		asked := e.Office
		tx.OnCommit(func() { s.pending.done(asked) })
		e.Status, e.Reason, e.Decided, e.DecidedBy = countyapi.EnrolRejected, body.Reason, s.cfg.Now().UTC(), who
		if err := putAudit(tx, countyapi.AuditEntry{Time: e.Decided, Who: who, Action: AuditReject, Target: dev.String(), Reason: body.Reason}); err != nil {
			return err
		}
		return putJSON(tx, bEnrolments, dev[:], e)
	})
	if err != nil {
		s.writeErr(w, r, statusFor(err), err)
		return
	}
	countyapi.WriteJSON(w, http.StatusOK, countyapi.Decision{Status: countyapi.EnrolRejected})
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
	out := make([]countyapi.DeviceInfo, 0, len(devs))
	for _, d := range devs {
		if d.ID == s.signer.Device() {
			continue // the server itself, not an enrolled device (serverdevice.go)
		}
		_, online := s.sessions[d.ID]
		l := seen[d.ID]
		di := countyapi.DeviceInfo{DeviceRecord: d, LastSeq: heads[d.ID].Seq, Online: online, LastSeen: l.Latest(),
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
	countyapi.WriteJSON(w, http.StatusOK, out)
}

// Revoke revokes a device with a reason: its next message is refused with
// revoked_device and its user sees the reason; what it sent before stays.
func (s *Server) Revoke(dev protocol.DeviceID, reason, who string) error {
	if !domain.NonBlank(reason) {
		return fmt.Errorf("%w: a revocation needs a reason", protocol.ErrInvalidOperation)
	}
	if dev == s.signer.Device() {
		// Its key is the county key's: revoking it would only stop the
		// server opening the cases the public files.
		return fmt.Errorf("%w: %s is the county server's own device", protocol.ErrInvalidOperation, dev)
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
		if err := putAudit(tx, countyapi.AuditEntry{Time: now, Who: who, Action: action, Target: dev.String(), Reason: reason,
			Detail: "office " + string(d.Office)}); err != nil {
			return err
		}
		var e countyapi.Enrolment
		if found, err := getJSON(tx, bEnrolments, dev[:], &e); err != nil || !found {
			return err
		}
		e.Status, e.Reason, e.Decided, e.DecidedBy = countyapi.EnrolRevoked, reason, now, who
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
	var body countyapi.ReasonRequest
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
	countyapi.WriteJSON(w, http.StatusOK, countyapi.Decision{Status: countyapi.EnrolRevoked})
}

func (s *Server) listConflicts(w http.ResponseWriter, r *http.Request, _ string) {
	cs, err := s.ConflictRows()
	if err != nil {
		s.writeErr(w, r, http.StatusInternalServerError, err)
		return
	}
	countyapi.WriteJSON(w, http.StatusOK, cs)
}

// publishCalendar is POST /admin/calendar: the body is a calendar overlay
// file (see domain/calendar), signed and sent to every device.
func (s *Server) publishCalendar(w http.ResponseWriter, r *http.Request, who string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, protocol.MaxCalendarBytes+1))
	if err == nil {
		var version uint64
		if version, err = s.PublishCalendar(body, who); err == nil {
			countyapi.WriteJSON(w, http.StatusOK, countyapi.CalendarVersion{Version: version})
			return
		}
	}
	s.writeErr(w, r, statusFor(err), err)
}
