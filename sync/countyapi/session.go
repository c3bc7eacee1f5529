package countyapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"jiannuo/domain"
	"jiannuo/sync/protocol"
)

// TokenPrefix starts every admin session token; the rest is 32 random
// bytes in unpadded base64url (TokenLen characters in all).
const TokenPrefix = "jna_"

// TokenLen is the length of an admin session token.
const TokenLen = len(TokenPrefix) + 43

// ValidToken reports whether s has the form of an admin session token.
// It says nothing of whether the server holds it.
func ValidToken(s string) bool {
	if len(s) != TokenLen || !strings.HasPrefix(s, TokenPrefix) {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(s[len(TokenPrefix):])
	return err == nil && len(b) == 32
}

// The client's side of admin sessions: sign in once, carry the token,
// sign in again when the server ends the session (only while the client
// holds the password), sign out when done.

// holdsPassword reports whether the client can sign in by itself.
func (c *Client) holdsPassword() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg.Admin != "" && c.pass != "" && !c.basic
}

// credential is the name and password sent as basic authentication.
func (c *Client) credential() (string, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg.Admin, c.pass
}

// sessionToken returns the token to send: the session's, unless it is
// stale (the one the server just refused), in which case, or when there
// is none, the client signs in if it holds the password. "" means none:
// the call goes with the basic credential, which is how a server without
// sessions, or a client without a credential, is answered.
func (c *Client) sessionToken(ctx context.Context, stale string) (string, error) {
	fresh := func() (string, bool) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.sess.Token != "" && c.sess.Token != stale {
			return c.sess.Token, true
		}
		return "", c.basic || c.cfg.Admin == "" || c.pass == ""
	}
	if tok, done := fresh(); done {
		return tok, nil
	}
	c.signIn.Lock()
	defer c.signIn.Unlock()
	if tok, done := fresh(); done { // another call signed in meanwhile
		return tok, nil
	}
	if _, err := c.login(ctx); err != nil {
		return "", err
	}
	tok, _ := fresh()
	return tok, nil
}

// login signs in with the credential held and keeps the session; against
// a server without /admin/login it switches the client to basic
// authentication and returns a zero session.
func (c *Client) login(ctx context.Context) (AdminSession, error) {
	rq, err := c.prepare(http.MethodPost, "/admin/login", nil, nil)
	if err != nil {
		return AdminSession{}, err
	}
	// The answer holds the token: it is never handed on. A refusal is
	// the answer to the call that needed the sign-in.
	rq.raw = false
	_, raw, err := c.send(ctx, rq, "")
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		c.mu.Lock()
		c.basic = true
		c.mu.Unlock()
		return AdminSession{}, nil
	}
	if err != nil {
		return AdminSession{}, err
	}
	var s AdminSession
	if err := json.Unmarshal(raw, &s); err != nil || !ValidToken(s.Token) {
		return AdminSession{}, fmt.Errorf("%w: the answer to POST /admin/login holds no session token", protocol.ErrMalformed)
	}
	c.mu.Lock()
	c.sess = s
	c.mu.Unlock()
	return s, nil
}

// Login signs in with the client's credential now, replacing any session
// it had, and returns the session without its token (which stays inside
// the client). A wrong name or password is an *APIError with
// protocol.ErrNotAuthorized (HTTP 401; a disabled admin's, 403). Against a
// server that has no sessions (an older one) it only checks the
// credential, with one admin call, and returns a zero session.
func (c *Client) Login(ctx context.Context) (AdminSession, error) {
	c.signIn.Lock()
	defer c.signIn.Unlock()
	c.mu.Lock()
	basic := c.basic
	c.mu.Unlock()
	s, err := AdminSession{}, error(nil)
	if !basic {
		s, err = c.login(ctx)
	}
	if err == nil && s.Token == "" {
		// An older server: check the credential with a call it has.
		err = c.call(ctx, http.MethodGet, "/admin/enrolments", nil, nil, nil)
	}
	s.Token = ""
	return s, err
}

// Session returns the client's session without its token, and whether it
// has one. The server may have ended it since.
func (c *Client) Session() (AdminSession, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sess
	ok := s.Token != ""
	s.Token = ""
	return s, ok
}

// ForgetPassword drops the password the client was made with: the client
// goes on with its session until the server ends it, and then its admin
// calls are refused with protocol.ErrSessionExpired until a new client
// signs in. The desktop admin mode holds its session so.
func (c *Client) ForgetPassword() {
	c.mu.Lock()
	c.pass = ""
	c.mu.Unlock()
}

// Logout ends the client's session on the server (POST /admin/logout)
// and forgets it; with no session it does nothing. The session is
// forgotten even if the server cannot be told (it then ends by itself).
func (c *Client) Logout(ctx context.Context) error {
	c.signIn.Lock()
	defer c.signIn.Unlock()
	c.mu.Lock()
	tok := c.sess.Token
	c.sess = AdminSession{}
	c.mu.Unlock()
	if tok == "" {
		return nil
	}
	rq, err := c.prepare(http.MethodPost, "/admin/logout", nil, nil)
	if err != nil {
		return err
	}
	rq.raw, rq.rawRefusal = false, false // not the answer to anything asked
	_, _, err = c.send(ctx, rq, tok)
	return err
}

// adopt takes the session the server handed over when the client's admin
// changed their own password, and the new password if the client holds
// one.
func (c *Client) adopt(s *AdminSession, password string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pass != "" {
		c.pass = password
	}
	if s != nil && ValidToken(s.Token) {
		c.sess = *s
	} else {
		c.sess = AdminSession{}
	}
}

// ---- Admin accounts ----

// Admins lists the county's admin accounts, by name.
func (c *Client) Admins(ctx context.Context) ([]AdminInfo, error) {
	var out []AdminInfo
	return out, c.call(ctx, http.MethodGet, "/admin/admins", nil, nil, &out)
}

// AddAdmin makes a new admin account; the name (CheckAdminName) and the
// password (CheckAdminPassword) are checked before anything is sent.
func (c *Client) AddAdmin(ctx context.Context, name, password string) (AdminInfo, error) {
	var out AdminInfo
	if err := CheckAdminName(name); err != nil {
		return out, err
	}
	if err := CheckAdminPassword(password); err != nil {
		return out, err
	}
	return out, c.call(ctx, http.MethodPost, "/admin/admins", nil, NewAdminRequest{Name: name, Password: password}, &out)
}

// DisableAdmin disables an admin account with a reason (required,
// domain.ErrReasonRequired before anything is sent): it can no longer sign
// in and its sessions end. The last enabled admin cannot be disabled.
func (c *Client) DisableAdmin(ctx context.Context, name, reason string) (AdminInfo, error) {
	var out AdminInfo
	if strings.TrimSpace(reason) == "" {
		return out, fmt.Errorf("%w: disabling an admin needs a reason", domain.ErrReasonRequired)
	}
	return out, c.call(ctx, http.MethodPost, "/admin/admins/"+url.PathEscape(name)+"/disable", nil, ReasonRequest{Reason: reason}, &out)
}

// EnableAdmin lets a disabled admin sign in again.
func (c *Client) EnableAdmin(ctx context.Context, name string) (AdminInfo, error) {
	var out AdminInfo
	return out, c.call(ctx, http.MethodPost, "/admin/admins/"+url.PathEscape(name)+"/enable", nil, nil, &out)
}

// SetAdminPassword sets the password of the admin name (checked with
// CheckAdminPassword before anything is sent). For the client's own
// admin, current is their present password, which the server checks
// again; every session of theirs ends and the client goes on with the
// new one the server hands over (and the new password, if it held the
// old). For another admin current is empty; the recovery credential's
// password only its own admin changes (or `admins reset` on a stopped
// server).
func (c *Client) SetAdminPassword(ctx context.Context, name, password, current string) (AdminInfo, error) {
	if err := CheckAdminPassword(password); err != nil {
		return AdminInfo{}, err
	}
	rq, err := c.prepare(http.MethodPost, "/admin/admins/"+url.PathEscape(name)+"/password", nil, PasswordRequest{Password: password, Current: current})
	if err != nil {
		return AdminInfo{}, err
	}
	rq.raw = false // the answer may hold a session token: RawAnswer gets it without
	_, raw, err := c.sendAdmin(ctx, rq)
	if err != nil {
		return AdminInfo{}, err
	}
	var out PasswordChanged
	if err := json.Unmarshal(raw, &out); err != nil {
		return AdminInfo{}, fmt.Errorf("%w: the answer to setting a password: %v", protocol.ErrMalformed, err)
	}
	if name == c.Admin() {
		c.adopt(out.Session, password)
	}
	if c.cfg.RawAnswer != nil {
		shown := out
		if shown.Session != nil {
			s := *shown.Session
			s.Token = ""
			shown.Session = &s
		}
		b, _ := json.Marshal(shown)
		c.cfg.RawAnswer(b)
	}
	return out.Admin, nil
}
