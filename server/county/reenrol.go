package county

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	bolt "go.etcd.io/bbolt"

	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// Re-enrolment settles a fork (store/rekey.go tells the device's side). A
// device whose chain forked asks, with its old key, for a new key to be
// enrolled in its place (POST /enrol/replace). The county finds where the
// branches part by comparing the hashes the device holds with its own, and
// keeps the request pending with that point for an admin. Approving it
// enrols the new key for the old device's office, revokes the old key and
// marks the old device's fork incidents settled, all in one transaction;
// the device then carries everything from the fork point over as new work.
// Nothing the county accepted from the old key is touched.

// AuditReenrol is the audit action of an approved re-enrolment: Target is
// the new device, Detail names the old one and the fork point.
const AuditReenrol = "reenrol"

// revocation is one to announce once its transaction has committed.
type revocation struct {
	dev    protocol.DeviceID
	reason string
}

func (s *Server) serveReenrol(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(protocol.MaxReenrolBytes)+1))
	if err == nil && len(body) > protocol.MaxReenrolBytes {
		err = fmt.Errorf("%w: re-enrolment request over %d bytes", protocol.ErrOversize, protocol.MaxReenrolBytes)
	} else if err != nil {
		err = fmt.Errorf("%w: %v", protocol.ErrMalformed, err)
	}
	var rr *protocol.ReenrolRequest
	var req *protocol.EnrolRequest
	if err == nil {
		rr, req, err = protocol.OpenReenrolRequest(body)
	}
	var e countyapi.Enrolment
	if err == nil {
		e, err = s.reenrolment(rr, req)
	}
	if err != nil {
		in := countyapi.Incident{Code: protocol.CodeOf(err), Message: "re-enrolment request: " + err.Error(), Remote: r.RemoteAddr}
		if rr != nil {
			in.Device = rr.OldDevice()
		}
		s.incident(in)
		s.writeErr(w, r, statusFor(err), err)
		return
	}
	s.serveEnrolStatusOf(w, r, e.Device, http.StatusAccepted)
}

// reenrolment records a verified re-enrolment request as pending, or finds
// the one recorded before.
func (s *Server) reenrolment(rr *protocol.ReenrolRequest, req *protocol.EnrolRequest) (countyapi.Enrolment, error) {
	old, dev := rr.OldDevice(), req.Device()
	var e countyapi.Enrolment
	var asked bool
	err := s.st.Update(func(tx *bolt.Tx) error {
		found, err := getJSON(tx, bEnrolments, dev[:], &e)
		if err != nil {
			return err
		}
		if found && e.Status != countyapi.EnrolRejected {
			if e.Replaces != old {
				return fmt.Errorf("%w: %s is enrolled on its own", protocol.ErrInvalidOperation, dev)
			}
			return nil // asked again: nothing changes
		}
		d, err := store.DeviceRecordTx(tx, old)
		if err != nil {
			return fmt.Errorf("%w: %s was never enrolled here", protocol.ErrUnknownDevice, old)
		}
		if req.Office != d.Office {
			return fmt.Errorf("%w: %s writes for %s, its replacement asks for %s", protocol.ErrOutOfScope, old, d.Office, req.Office)
		}
		view := store.ChainsTx(tx)
		head, err := view.Head(old)
		if err != nil {
			return err
		}
		// The branches part at the first held change set whose hash is
		// not the county's. Everything before From the county receipted.
		carry := rr.From
		if rr.From > head.Seq+1 {
			return fmt.Errorf("%w: %s holds receipts up to %d, the county only %d", protocol.ErrInvalidOperation, old, rr.From-1, head.Seq)
		}
		for i, h := range rr.Held {
			got, ok, err := view.HashAt(old, rr.From+uint64(i))
			if err != nil {
				return err
			}
			if !ok || got != h {
				break
			}
			carry++
		}
		e = countyapi.Enrolment{Device: dev, Office: req.Office, DeviceName: req.DeviceName, Staff: req.Staff,
			Status: countyapi.EnrolPending, Admin: d.Admin, Requested: s.cfg.Now().UTC(), Request: rr.Enrol,
			Replaces: old, CarryFrom: carry, Carried: int(rr.From + uint64(len(rr.Held)) - carry), CountyHead: head.Seq}
		asked = true
		s.pending.take(req.Office, true) // forced: signed by an enrolled key, it is not refused
		return putJSON(tx, bEnrolments, dev[:], e)
	})
	if err != nil {
		if asked {
			s.pending.done(req.Office)
		}
		return countyapi.Enrolment{}, err
	}
	if asked {
		// The admin sees the fork as an incident whether or not the county
		// refused a change set of it: a restored device stops before it
		// sends one.
		// Counted by the old device: the request is signed with its key.
		s.deviceIncident(countyapi.Incident{Device: old, Seq: e.CarryFrom, Code: protocol.CodeFork, Message: fmt.Sprintf(
			"asks to be re-enrolled as %s: the county holds change sets up to %d, the device holds %d of its own from %d that the county does not",
			dev, e.CountyHead, e.Carried, e.CarryFrom)})
		s.log.Warn("re-enrolment requested", "old", old, "new", dev, "carry_from", e.CarryFrom, "carried", e.Carried)
	}
	return e, nil
}

// replaceTx is the re-enrolment part of approving e: the new device takes
// the old one's office and kind, the old key is revoked unless it already
// is, and the old device's fork incidents are marked settled. It returns
// the revocation to announce after the commit, if any.
func (s *Server) replaceTx(tx *bolt.Tx, e *countyapi.Enrolment, body *countyapi.ApproveRequest, who string) (*revocation, error) {
	d, err := store.DeviceRecordTx(tx, e.Replaces)
	if err != nil {
		return nil, err
	}
	if (body.Office != "" && body.Office != d.Office) || (body.Admin && !d.Admin) {
		return nil, fmt.Errorf("%w: a re-enrolled device keeps the office %s of the one it replaces", protocol.ErrInvalidOperation, d.Office)
	}
	body.Office, body.Admin = d.Office, d.Admin
	now := s.cfg.Now().UTC()
	var rv *revocation
	if !d.Revoked {
		reason := fmt.Sprintf("re-enrolled as %s after a fork", e.Device.Short())
		if err := s.revokeTx(tx, e.Replaces, reason, who, now); err != nil {
			return nil, err
		}
		rv = &revocation{dev: e.Replaces, reason: reason}
	}
	note := "settled by re-enrolment as " + e.Device.String()
	err = tx.Bucket(bIncidents).ForEach(func(k, v []byte) error {
		var in countyapi.Incident
		if err := json.Unmarshal(v, &in); err != nil {
			return err
		}
		if in.Device != e.Replaces || in.Code != protocol.CodeFork || in.Acknowledged {
			return nil
		}
		in.Acknowledged, in.AckedBy, in.AckedAt, in.AckNote = true, who, now, note
		if err := putJSON(tx, bIncidents, k, in); err != nil {
			return err
		}
		return putAudit(tx, countyapi.AuditEntry{Time: now, Who: who, Action: AuditAckIncident, Target: incidentID(k), Reason: note, Detail: string(in.Code)})
	})
	if err != nil {
		return nil, err
	}
	return rv, putAudit(tx, countyapi.AuditEntry{Time: now, Who: who, Action: AuditReenrol, Target: e.Device.String(),
		Detail: fmt.Sprintf("replaces %s of office %s; its change sets from %d (%d held by the device) are carried over", e.Replaces, d.Office, e.CarryFrom, e.Carried)})
}
