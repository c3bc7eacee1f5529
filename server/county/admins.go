package county

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// County admin accounts (docs/county-server.md, "Admin accounts and
// sessions"). A county has several admins, each with their own password;
// any enabled admin adds, disables and enables accounts and sets another's
// password, and everyone changes their own (giving the present one
// again). Two rules keep the county from locking itself out or losing its
// last resort:
//
//   - the last enabled admin cannot be disabled;
//   - the password of the recovery credential made at init is set only by
//     its own admin, or with `admins reset` on the stopped server with that
//     very credential (RecoverResetAdmin), never by another admin.
//
// Every change is audited in the same transaction under the name of the
// admin who made it, and disabling an admin or setting their password ends
// every session they hold.

// The audited account actions.
const (
	AuditAdminAdd          = "admin_add"
	AuditAdminDisable      = "admin_disable"
	AuditAdminEnable       = "admin_enable"
	AuditAdminPassword     = "admin_password"
	AuditRecoverAdminReset = "recover_admin_reset" // a password set with the recovery credential on a stopped server
)

// accountRoutes registers the sign-in and the account management routes.
func (s *Server) accountRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /admin/login", s.serveLogin)
	mux.HandleFunc("POST /admin/logout", s.serveLogout)
	mux.HandleFunc("GET /admin/admins", s.admin(s.serveAdmins))
	mux.HandleFunc("POST /admin/admins", s.admin(s.serveAddAdmin))
	mux.HandleFunc("POST /admin/admins/{name}/disable", s.admin(s.serveDisableAdmin))
	mux.HandleFunc("POST /admin/admins/{name}/enable", s.admin(s.serveEnableAdmin))
	mux.HandleFunc("POST /admin/admins/{name}/password", s.admin(s.serveAdminPassword))
}

// ---- Sessions ----

// serveLogin is POST /admin/login: a credential (HTTP basic
// authentication, or a countyapi.LoginRequest body) for a session token.
func (s *Server) serveLogin(w http.ResponseWriter, r *http.Request) {
	name, pass, ok := r.BasicAuth()
	if !ok {
		var body countyapi.LoginRequest
		if err := readBody(r, &body); err != nil {
			s.incident(countyapi.Incident{Code: protocol.CodeMalformed, Message: "admin sign-in: " + err.Error(), Remote: r.RemoteAddr})
			s.writeErr(w, r, http.StatusBadRequest, err)
			return
		}
		name, pass, ok = body.Name, body.Password, body.Name != ""
	}
	if !ok {
		s.refuseCredential(w, r, "", ErrBadCredential)
		return
	}
	gen := s.admins.generation(name)
	err := s.checkAdmin(r.Context(), name, pass, r.RemoteAddr)
	var sess countyapi.AdminSession
	if err == nil {
		sess, err = s.admins.issue(name, gen, s.cfg.Now())
	}
	if err != nil {
		s.refuseCredential(w, r, name, err)
		return
	}
	authenticated(r)
	s.log.Info("admin signed in", "admin", name, "remote", r.RemoteAddr, "session", sess)
	w.Header().Set("Cache-Control", "no-store")
	countyapi.WriteJSON(w, http.StatusOK, sess)
}

// serveLogout is POST /admin/logout with the session's bearer token: the
// session ends. Ending one that already ended is not an error.
func (s *Server) serveLogout(w http.ResponseWriter, r *http.Request) {
	tok, ok := bearer(r)
	if !ok || !countyapi.ValidToken(tok) {
		s.refuseToken(w, r)
		return
	}
	if name, live := s.admins.end(tok); live {
		s.log.Info("admin signed out", "admin", name, "remote", r.RemoteAddr)
	}
	countyapi.WriteJSON(w, http.StatusOK, struct{}{})
}

// bearer returns the token of an "Authorization: Bearer" header; ok is
// false without one (another scheme, or none).
func bearer(r *http.Request) (string, bool) {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

// authenticate checks a request's credential: a session token, or the
// name and password of basic authentication. It returns the admin the
// request acts as, and the name it claimed (for refusals).
func (s *Server) authenticate(r *http.Request) (who, claimed string, err error) {
	if tok, ok := bearer(r); ok {
		if !countyapi.ValidToken(tok) {
			return "", "", errMalformedToken
		}
		who, err := s.admins.use(tok, s.cfg.Now())
		return who, who, err
	}
	name, pass, ok := r.BasicAuth()
	if !ok {
		s.passwords.addrs.fail(addrString(addrKey(r.RemoteAddr)), s.cfg.Now())
		return "", "", ErrBadCredential
	}
	return name, name, s.checkAdmin(r.Context(), name, pass, r.RemoteAddr)
}

// errMalformedToken refuses a bearer token that is not one the server
// could have issued.
var errMalformedToken = fmt.Errorf("%w: malformed session token", protocol.ErrNotAuthorized)

// refuseToken answers a malformed session token (never quoted: it may be
// a credential pasted in the wrong place).
func (s *Server) refuseToken(w http.ResponseWriter, r *http.Request) {
	s.incident(countyapi.Incident{Code: protocol.CodeNotAuthorized, Message: "admin API: malformed session token", Remote: r.RemoteAddr})
	w.Header().Set("WWW-Authenticate", `Bearer realm="jiannuo county admin", error="invalid_token"`)
	s.writeErr(w, r, http.StatusUnauthorized, errMalformedToken)
}

// refuseCredential answers a request whose credential (of name) was
// refused with err, recording what is worth an incident.
func (s *Server) refuseCredential(w http.ResponseWriter, r *http.Request, name string, err error) {
	var be *busyError
	switch {
	case errors.As(err, &be):
		s.incident(countyapi.Incident{Code: protocol.CodeBusy, Message: "admin API: " + be.Error(), Remote: r.RemoteAddr})
		status := http.StatusServiceUnavailable
		if be.backoff {
			status = http.StatusTooManyRequests
		}
		s.writeErr(w, r, status, err)
	case errors.Is(err, errMalformedToken):
		s.refuseToken(w, r)
	case errors.Is(err, protocol.ErrSessionExpired):
		// Sessions end every day: not an incident, and the answer says to
		// sign in again.
		w.Header().Set("WWW-Authenticate", `Bearer realm="jiannuo county admin", error="invalid_token"`)
		s.writeErr(w, r, http.StatusUnauthorized, err)
	case errors.Is(err, ErrAdminDisabled):
		s.incident(countyapi.Incident{Code: protocol.CodeNotAuthorized, Message: "admin API: disabled admin " + clip(name, 64), Remote: r.RemoteAddr})
		s.writeErr(w, r, http.StatusForbidden, fmt.Errorf("%w: admin %s is disabled", protocol.ErrNotAuthorized, clip(name, 64)))
	case errors.Is(err, ErrBadCredential):
		s.incident(countyapi.Incident{Code: protocol.CodeNotAuthorized, Message: "admin API: bad credential for " + clip(name, 64), Remote: r.RemoteAddr})
		w.Header().Set("WWW-Authenticate", `Basic realm="jiannuo county admin"`)
		s.writeErr(w, r, http.StatusUnauthorized, fmt.Errorf("%w: %v", protocol.ErrNotAuthorized, ErrBadCredential))
	case errors.Is(err, errStaleSignIn):
		s.writeErr(w, r, http.StatusUnauthorized, err)
	default:
		s.writeErr(w, r, http.StatusInternalServerError, err)
	}
}

// ---- Accounts ----

// Admins lists the admin accounts by name, with their live sessions.
func (s *Server) Admins() ([]countyapi.AdminInfo, error) {
	live := s.admins.live(s.cfg.Now())
	out := []countyapi.AdminInfo{}
	err := s.st.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bAdmins).ForEach(func(_, v []byte) error {
			var a admin
			if err := json.Unmarshal(v, &a); err != nil {
				return err
			}
			out = append(out, a.info(live[a.Name]))
			return nil
		})
	})
	slices.SortFunc(out, func(a, b countyapi.AdminInfo) int { return cmp.Compare(a.Name, b.Name) })
	return out, err
}

func (s *Server) serveAdmins(w http.ResponseWriter, r *http.Request, _ string) {
	out, err := s.Admins()
	if err != nil {
		s.writeErr(w, r, http.StatusInternalServerError, err)
		return
	}
	countyapi.WriteJSON(w, http.StatusOK, out)
}

// AddAdmin makes a new admin account, added by who. The name and the
// password are checked (countyapi.CheckAdminName, CheckAdminPassword);
// a name in use is refused. Nothing is stored on a refusal.
func (s *Server) AddAdmin(ctx context.Context, name, password, who string) (countyapi.AdminInfo, error) {
	if err := countyapi.CheckAdminName(name); err != nil {
		return countyapi.AdminInfo{}, fmt.Errorf("%w: %w", protocol.ErrInvalidOperation, err)
	}
	if err := countyapi.CheckAdminPassword(password); err != nil {
		return countyapi.AdminInfo{}, fmt.Errorf("%w: %w", protocol.ErrInvalidOperation, err)
	}
	hash, err := s.passwords.hash(ctx, password)
	if err != nil {
		return countyapi.AdminInfo{}, err
	}
	a := admin{Name: name, PasswordHash: hash, Created: s.cfg.Now().UTC(), CreatedBy: who}
	err = s.st.Update(func(tx *bolt.Tx) error {
		if err := putNewAdminTx(tx, a); err != nil {
			return err
		}
		return putAudit(tx, countyapi.AuditEntry{Time: a.Created, Who: who, Action: AuditAdminAdd, Target: name})
	})
	if err != nil {
		return countyapi.AdminInfo{}, err
	}
	s.log.Info("admin added", "admin", name, "by", who)
	return a.info(0), nil
}

func (s *Server) serveAddAdmin(w http.ResponseWriter, r *http.Request, who string) {
	var body countyapi.NewAdminRequest
	err := readBody(r, &body)
	var info countyapi.AdminInfo
	if err == nil {
		info, err = s.AddAdmin(r.Context(), body.Name, body.Password, who)
	}
	if err != nil {
		s.accountRefused(w, r, err)
		return
	}
	countyapi.WriteJSON(w, http.StatusOK, info)
}

// accountRefused answers a refused account change: busy as the password
// checks are, a bad request with its code (recorded), a missing account
// as 404.
func (s *Server) accountRefused(w http.ResponseWriter, r *http.Request, err error) {
	var be *busyError
	switch {
	case errors.As(err, &be):
		status := http.StatusServiceUnavailable
		if be.backoff {
			status = http.StatusTooManyRequests
		}
		s.writeErr(w, r, status, err)
	case errors.Is(err, protocol.ErrNotAuthorized):
		s.writeErr(w, r, http.StatusForbidden, err)
	case errors.Is(err, store.ErrNotFound):
		s.writeErr(w, r, http.StatusNotFound, err)
	case protocol.CodeOf(err) != protocol.CodeInternal:
		s.incident(countyapi.Incident{Code: protocol.CodeOf(err), Message: "admin accounts: " + err.Error(), Remote: r.RemoteAddr})
		s.writeErr(w, r, http.StatusBadRequest, err)
	default:
		s.writeErr(w, r, http.StatusInternalServerError, err)
	}
}

// changeAdmin reads the account of name in tx, lets edit change it (it
// returns false for nothing to change) and stores it with the audit entry
// edit filled in. It returns the account as stored.
func changeAdmin(tx *bolt.Tx, name string, edit func(a *admin, e *countyapi.AuditEntry) (bool, error)) (admin, error) {
	var a admin
	found := false
	var err error
	if len(name) <= maxAdminName {
		found, err = getJSON(tx, bAdmins, []byte(name), &a)
	}
	if err != nil {
		return a, err
	}
	if !found {
		return a, fmt.Errorf("%w: no admin %q", store.ErrNotFound, clip(name, 64))
	}
	var e countyapi.AuditEntry
	changed, err := edit(&a, &e)
	if err != nil || !changed {
		return a, err
	}
	if err := putJSON(tx, bAdmins, []byte(name), a); err != nil {
		return a, err
	}
	e.Target = name
	return a, putAudit(tx, e)
}

// DisableAdmin disables the admin name with a reason (required), by who:
// it can no longer sign in and its sessions end. The last enabled admin is
// not disabled. Disabling a disabled admin changes nothing.
func (s *Server) DisableAdmin(name, reason, who string) (countyapi.AdminInfo, error) {
	reason = strings.TrimSpace(reason)
	if !domain.NonBlank(reason) {
		return countyapi.AdminInfo{}, fmt.Errorf("%w: disabling an admin needs a reason", protocol.ErrInvalidOperation)
	}
	if err := domain.CheckText("reason", reason, domain.MaxShortBytes); err != nil {
		return countyapi.AdminInfo{}, fmt.Errorf("%w: %v", protocol.ErrInvalidOperation, err)
	}
	now := s.cfg.Now().UTC()
	var did bool
	var a admin
	err := s.st.Update(func(tx *bolt.Tx) error {
		did = false
		var err error
		a, err = changeAdmin(tx, name, func(a *admin, e *countyapi.AuditEntry) (bool, error) {
			if a.Disabled {
				return false, nil
			}
			enabled := 0
			err := tx.Bucket(bAdmins).ForEach(func(_, v []byte) error {
				var b admin
				if err := json.Unmarshal(v, &b); err != nil {
					return err
				}
				if !b.Disabled {
					enabled++
				}
				return nil
			})
			if err != nil {
				return false, err
			}
			if enabled <= 1 {
				return false, fmt.Errorf("%w: %s is the last enabled admin; add or enable another first", protocol.ErrInvalidOperation, name)
			}
			a.Disabled, a.Changed, a.ChangedBy, a.Reason = true, now, who, reason
			*e = countyapi.AuditEntry{Time: now, Who: who, Action: AuditAdminDisable, Reason: reason}
			did = true
			return true, nil
		})
		return err
	})
	if err != nil {
		return countyapi.AdminInfo{}, err
	}
	if did {
		n := s.admins.endAll(name)
		s.log.Warn("admin disabled", "admin", name, "by", who, "reason", reason, "sessions_ended", n)
	}
	return a.info(s.admins.live(s.cfg.Now())[name]), nil
}

func (s *Server) serveDisableAdmin(w http.ResponseWriter, r *http.Request, who string) {
	var body countyapi.ReasonRequest
	err := readBody(r, &body)
	var info countyapi.AdminInfo
	if err == nil {
		info, err = s.DisableAdmin(r.PathValue("name"), body.Reason, who)
	}
	if err != nil {
		s.accountRefused(w, r, err)
		return
	}
	countyapi.WriteJSON(w, http.StatusOK, info)
}

// EnableAdmin lets the disabled admin name sign in again, by who.
// Enabling an enabled admin changes nothing.
func (s *Server) EnableAdmin(name, who string) (countyapi.AdminInfo, error) {
	now := s.cfg.Now().UTC()
	var a admin
	err := s.st.Update(func(tx *bolt.Tx) error {
		var err error
		a, err = changeAdmin(tx, name, func(a *admin, e *countyapi.AuditEntry) (bool, error) {
			if !a.Disabled {
				return false, nil
			}
			a.Disabled, a.Changed, a.ChangedBy, a.Reason = false, now, who, ""
			*e = countyapi.AuditEntry{Time: now, Who: who, Action: AuditAdminEnable}
			return true, nil
		})
		return err
	})
	if err != nil {
		return countyapi.AdminInfo{}, err
	}
	s.log.Info("admin enabled", "admin", name, "by", who)
	return a.info(0), nil
}

func (s *Server) serveEnableAdmin(w http.ResponseWriter, r *http.Request, who string) {
	var body struct{}
	err := readBody(r, &body)
	var info countyapi.AdminInfo
	if err == nil {
		info, err = s.EnableAdmin(r.PathValue("name"), who)
	}
	if err != nil {
		s.accountRefused(w, r, err)
		return
	}
	countyapi.WriteJSON(w, http.StatusOK, info)
}

// SetAdminPassword sets the password of the admin name, by who from
// remote. An admin setting their own gives their present password as
// current, checked (and held back after failures) as a sign-in is; nobody
// sets the recovery credential's but its own admin. Every session of name
// ends; for an admin who set their own, the answer carries a new one.
func (s *Server) SetAdminPassword(ctx context.Context, name, password, current, who, remote string) (countyapi.PasswordChanged, error) {
	if err := countyapi.CheckAdminPassword(password); err != nil {
		return countyapi.PasswordChanged{}, fmt.Errorf("%w: %w", protocol.ErrInvalidOperation, err)
	}
	a, found, err := s.readAdmin(name)
	if err != nil {
		return countyapi.PasswordChanged{}, err
	}
	if !found {
		return countyapi.PasswordChanged{}, fmt.Errorf("%w: no admin %q", store.ErrNotFound, clip(name, 64))
	}
	own := name == who
	switch {
	case own && current == "":
		return countyapi.PasswordChanged{}, fmt.Errorf("%w: give your present password to change it", protocol.ErrInvalidOperation)
	case own:
		err := s.passwords.check(ctx, name, a.PasswordHash, current, a.Recovery, a.Disabled, addrString(addrKey(remote)))
		switch {
		case errors.Is(err, ErrBadCredential):
			return countyapi.PasswordChanged{}, fmt.Errorf("%w: the present password is wrong", protocol.ErrNotAuthorized)
		case err != nil:
			return countyapi.PasswordChanged{}, err
		}
	case a.Recovery:
		return countyapi.PasswordChanged{}, fmt.Errorf("%w: the recovery credential's password is set only by %s, or with `admins reset` on the stopped server",
			protocol.ErrNotAuthorized, name)
	}
	gen := s.admins.generation(name)
	hash, err := s.passwords.hash(ctx, password)
	if err != nil {
		return countyapi.PasswordChanged{}, err
	}
	detail := "set by another admin"
	if own {
		detail = "own password"
	}
	stored, err := s.setPassword(name, a.PasswordHash, hash, who, detail, AuditAdminPassword)
	if err != nil {
		return countyapi.PasswordChanged{}, err
	}
	n := s.admins.endAll(name)
	s.log.Info("admin password set", "admin", name, "by", who, "sessions_ended", n)
	out := countyapi.PasswordChanged{Admin: stored.info(0)}
	if own {
		// The caller proved the password a moment ago: they go on.
		sess, err := s.admins.issue(name, gen+1, s.cfg.Now())
		if err == nil {
			out.Session, out.Admin.Sessions = &sess, 1
		}
	}
	return out, nil
}

// setPassword stores hash as name's password if its hash is still was
// (else another change came first: refused), audited as action by who.
func (s *Server) setPassword(name, was, hash, who, detail, action string) (admin, error) {
	now := s.cfg.Now().UTC()
	var a admin
	err := s.st.Update(func(tx *bolt.Tx) error {
		var err error
		a, err = changeAdmin(tx, name, func(a *admin, e *countyapi.AuditEntry) (bool, error) {
			if was != "" && a.PasswordHash != was {
				return false, fmt.Errorf("%w: the password of %s was changed meanwhile", protocol.ErrNotAuthorized, name)
			}
			a.PasswordHash, a.PasswordSet, a.PasswordSetBy = hash, now, who
			*e = countyapi.AuditEntry{Time: now, Who: who, Action: action, Detail: detail}
			if action == AuditRecoverAdminReset && a.Disabled {
				a.Disabled, a.Changed, a.ChangedBy, a.Reason = false, now, who, ""
				e.Detail += "; enabled again"
			}
			return true, nil
		})
		return err
	})
	return a, err
}

func (s *Server) serveAdminPassword(w http.ResponseWriter, r *http.Request, who string) {
	var body countyapi.PasswordRequest
	err := readBody(r, &body)
	var out countyapi.PasswordChanged
	if err == nil {
		out, err = s.SetAdminPassword(r.Context(), r.PathValue("name"), body.Password, body.Current, who, r.RemoteAddr)
	}
	if err != nil {
		s.accountRefused(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	countyapi.WriteJSON(w, http.StatusOK, out)
}

// ---- Recovery on a stopped server ----

// recoveryAdmin checks the recovery credential (name "" means whichever
// admin holds it) for what, and returns its name; a refusal is recorded
// and wraps protocol.ErrNotAuthorized. It is bounded like every check
// but never held back: it is the last resort.
func (s *Server) recoveryAdmin(name, password, what string) (string, error) {
	var a admin
	err := s.st.View(func(tx *bolt.Tx) error {
		if name == "" { // the recovery credential, whatever its name
			return tx.Bucket(bAdmins).ForEach(func(_, v []byte) error {
				var b admin
				if err := json.Unmarshal(v, &b); err != nil {
					return err
				}
				if b.Recovery {
					a, name = b, b.Name
				}
				return nil
			})
		}
		found := false
		var err error
		if len(name) <= maxAdminName {
			found, err = getJSON(tx, bAdmins, []byte(name), &a)
		}
		if err == nil && !found {
			err = ErrBadCredential
		}
		return err
	})
	if err == nil && a.Name == "" {
		err = ErrBadCredential
	}
	if err == nil {
		if s.passwords.verify(context.Background(), a.PasswordHash, password) != nil {
			err = ErrBadCredential
		} else if !a.Recovery {
			err = fmt.Errorf("%w: %s", ErrNotRecovery, name)
		}
	}
	if err != nil {
		s.incident(countyapi.Incident{Code: protocol.CodeNotAuthorized, Message: what + ": " + err.Error()})
		return "", fmt.Errorf("%w: %w", protocol.ErrNotAuthorized, err)
	}
	return name, nil
}

// RecoverResetAdmin sets the password of the admin target from the data
// directory of a stopped server, authenticated by the recovery credential
// made at Init (recoveryName "" means whichever admin holds it), and
// enables target if it was disabled. It is how a county whose admins are
// all locked out (forgotten passwords, everyone disabled) gets back in;
// the recovery credential may reset itself. Audited as recover_admin_reset
// by recovery:NAME. It fails if the server is running (the file is
// locked).
func RecoverResetAdmin(cfg Config, target, recoveryName, recoveryPassword, newPassword string) error {
	if err := countyapi.CheckAdminPassword(newPassword); err != nil {
		return err
	}
	s, err := New(cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	name, err := s.recoveryAdmin(recoveryName, recoveryPassword, "recovery reset of admin "+clip(target, 64))
	if err != nil {
		return err
	}
	hash, err := s.passwords.hash(context.Background(), newPassword)
	if err != nil {
		return err
	}
	if _, err := s.setPassword(target, "", hash, recoveryPrefix+name, "password set with the recovery credential", AuditRecoverAdminReset); err != nil {
		return err
	}
	s.log.Warn("admin password reset with the recovery credential", "admin", target, "recovery", name)
	return nil
}
