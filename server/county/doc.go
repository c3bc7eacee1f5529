// Package county is the county aggregation server (县级汇聚服务器): it
// enrols township devices, ingests their signed change sets over websocket
// sessions, answers each with a receipt signed by the county only once the
// change set is on disk, streams every office's records to that office's
// devices, and keeps conflicts and incidents for the county admin.
//
// # Basics
//
// Init makes a data directory: the county's ed25519 signing key, a
// self-signed TLS certificate (devices pin its fingerprint at enrolment),
// the replica file and the first admin credential. New opens it; Serve
// accepts connections; Close shuts down.
//
// The replica is a store.Store opened with a feed: every accepted change
// set gets a position, and a device's cursor into that feed says what it
// has. The server keeps its own records (enrolments, certificates,
// revocations, incidents, partial uploads) in "x-" buckets of the same
// file, so an approval and the device record it creates commit together.
//
// # Lifecycle of a session
//
// The server sends a challenge; the device answers with a hello signed with
// its key; the server checks version, enrolment, revocation and signature,
// then sends its view of the device's chain head. Nothing between the hello
// and the welcome waits for the single writer: the session's opening is
// noted in memory and written later (lastseen.go). From then on up to three
// goroutines serve the connection: a reader (pushes, acks, evidence), a
// writer (a wsconn.Pump, only while it has something to send: control
// frames before feed frames before evidence chunks) and a feeder
// (feedStream: the office's change sets from the device's cursor, never
// more than Window ahead of its acknowledgements; parked, with no
// goroutine, while the device has everything, until the feed advances).
// A municipal node's /upstream session runs the same writer and feeder
// over the whole feed (upstream.go); its reader takes the cases filed on
// the node's page and their files (intake.go) and its requests for
// evidence files. Pushes from every session go to one ingest goroutine
// that commits them in groups — one fsync for many — and only then signs
// the receipts; the server's own device (serverdevice.go), which opens the
// cases the public files and signs the decisions county admins take
// through the admin API (cases.go), hands its change sets to the same
// goroutine.
//
// # Caveats
//
// Plain ws:// (Config.Insecure) is refused on anything but loopback. Admin
// credentials travel in HTTP basic authentication, so the admin API is only
// as private as the TLS around it.
package county
