package county

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// Admin session tokens. A sign-in (POST /admin/login) runs argon2id once
// and hands out a token of 256 random bits; the admin calls then carry it
// as a bearer token and cost a map lookup. The server keeps only each
// token's SHA-256, in memory: a stolen copy of county.db holds none, and a
// restart ends every session (an admin signs in again, nothing else is
// lost). A session ends after Config.AdminIdleTimeout without a call, at
// Config.AdminSessionMax after its sign-in whatever the use, when its
// admin signs out, and when the admin is disabled or their password set.
//
// The lookup is by the token's hash, so how long it takes depends on the
// hash, which an attacker who does not hold the token cannot steer to a
// stored one: nothing compares a sent token with a stored one byte by byte.

const (
	// maxSessionsPerAdmin bounds one admin's live sessions: a new sign-in
	// beyond ends their oldest.
	maxSessionsPerAdmin = 16
	// maxSessions bounds all live sessions; beyond, the oldest ends.
	maxSessions = 1024
)

type tokenHash [sha256.Size]byte

// adminSession is what the server holds of a session.
type adminSession struct {
	admin   string
	created time.Time
	used    time.Time // its last call
	expires time.Time // created + AdminSessionMax
}

// sessionTable holds the live admin sessions by token hash.
type sessionTable struct {
	idle, life time.Duration

	mu sync.Mutex
	m  map[tokenHash]*adminSession
	// gen counts the times an admin's sessions were all ended: a sign-in
	// that began before (its password checked against the hash before the
	// change) gets no session.
	gen map[string]uint64
}

func newSessionTable(idle, life time.Duration) *sessionTable {
	return &sessionTable{idle: idle, life: life, m: make(map[tokenHash]*adminSession), gen: make(map[string]uint64)}
}

// generation is admin's count of ended sessions, read before a sign-in
// checks the password.
func (t *sessionTable) generation(admin string) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.gen[admin]
}

// errStaleSignIn refuses a sign-in that overlapped the admin being
// disabled or their password being set.
var errStaleSignIn = fmt.Errorf("%w: the admin account changed during the sign-in; sign in again", protocol.ErrNotAuthorized)

// issue starts a session of admin at now, unless its sessions were ended
// since generation gen; it returns the token, which is not kept.
func (t *sessionTable) issue(admin string, gen uint64, now time.Time) (countyapi.AdminSession, error) {
	var raw [32]byte
	rand.Read(raw[:])
	tok := countyapi.TokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.gen[admin] != gen {
		return countyapi.AdminSession{}, errStaleSignIn
	}
	t.sweep(now)
	var mine []tokenHash
	for h, s := range t.m {
		if s.admin == admin {
			mine = append(mine, h)
		}
	}
	if len(mine) >= maxSessionsPerAdmin {
		t.dropOldest(mine)
	}
	if len(t.m) >= maxSessions {
		all := make([]tokenHash, 0, len(t.m))
		for h := range t.m {
			all = append(all, h)
		}
		t.dropOldest(all)
	}
	s := &adminSession{admin: admin, created: now, used: now, expires: now.Add(t.life)}
	t.m[sha256.Sum256([]byte(tok))] = s
	return countyapi.AdminSession{Token: tok, Admin: admin, Expires: s.expires.UTC(), IdleSeconds: int(t.idle / time.Second)}, nil
}

// dropOldest ends the session among hs signed in first; t.mu is held.
func (t *sessionTable) dropOldest(hs []tokenHash) {
	var oldest tokenHash
	var at time.Time
	for i, h := range hs {
		if s := t.m[h]; i == 0 || s.created.Before(at) {
			oldest, at = h, s.created
		}
	}
	delete(t.m, oldest)
}

// sweep ends the sessions expired at now; t.mu is held.
func (t *sessionTable) sweep(now time.Time) {
	for h, s := range t.m {
		if t.over(s, now) {
			delete(t.m, h)
		}
	}
}

func (t *sessionTable) over(s *adminSession, now time.Time) bool {
	return !now.Before(s.expires) || now.Sub(s.used) >= t.idle
}

// use is a call with token at now: the session's admin, and the call
// counts as its last use. A token the table does not hold (never issued,
// expired, ended) is protocol.ErrSessionExpired; the caller has checked
// its form (countyapi.ValidToken).
func (t *sessionTable) use(token string, now time.Time) (string, error) {
	h := sha256.Sum256([]byte(token))
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.m[h]
	if s == nil {
		return "", fmt.Errorf("%w: sign in again", protocol.ErrSessionExpired)
	}
	if t.over(s, now) {
		delete(t.m, h)
		end := s.used.Add(t.idle)
		if s.expires.Before(end) {
			end = s.expires
		}
		return "", fmt.Errorf("%w: the session of %s ended at %s; sign in again", protocol.ErrSessionExpired, s.admin, end.UTC().Format(time.RFC3339))
	}
	s.used = now
	return s.admin, nil
}

// end ends the session of token, if it is live, and returns its admin.
func (t *sessionTable) end(token string) (string, bool) {
	h := sha256.Sum256([]byte(token))
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.m[h]
	if s == nil {
		return "", false
	}
	delete(t.m, h)
	return s.admin, true
}

// endAll ends every session of admin and returns how many were live;
// sign-ins of admin under way get none.
func (t *sessionTable) endAll(admin string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gen[admin]++
	n := 0
	for h, s := range t.m {
		if s.admin == admin {
			delete(t.m, h)
			n++
		}
	}
	return n
}

// live counts the live sessions of each admin at now.
func (t *sessionTable) live(now time.Time) map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int)
	for _, s := range t.m {
		if !t.over(s, now) {
			out[s.admin]++
		}
	}
	return out
}
