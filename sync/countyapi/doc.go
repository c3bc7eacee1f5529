// Package countyapi is the county server's HTTP API as both sides see it:
// the JSON of every request and answer under /enrol (devices asking to be
// enrolled, unauthenticated) and /admin (county admins: a session token
// from POST /admin/login, or HTTP basic authentication; admin accounts
// under /admin/admins), the error body every refusal carries, the parsing of a
// certificate fingerprint as people type it, and one client that pins the
// server's TLS certificate by that fingerprint.
//
// The county server (server/county) serves these types and stores several
// of them as they are served (enrolments, incidents, audit entries,
// upstream nodes); the device's sync engine, the desktop app's admin
// screens, the server command and the load generator call the Client. The
// county overview (GET /admin/overview) is report.Overview, which the
// exports write.
//
//	c := countyapi.New(countyapi.Config{BaseURL: "https://county:8443", Fingerprint: fp,
//		Admin: "xinyongban", Password: pass})
//	pending, err := c.Enrolments(ctx, false) // signs in first, then carries the token
//
// A refusal is an *APIError: errors.Is(err, protocol.ErrNotAuthorized) and
// the other protocol sentinels work on it, by its code. A server whose
// certificate is not the pinned one fails every call with an error for
// which errors.Is(err, protocol.ErrWrongServer) holds.
package countyapi
