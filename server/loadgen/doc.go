// Package loadgen simulates township devices against a county server
// (package county) to measure how fast it ingests change sets and how much
// an idle connected device costs it. The jiannuo-loadgen command and the
// county package's benchmarks share it.
//
// # Basics
//
// New takes a Config (zero fields mean the documented defaults) and returns
// a Loadgen. Prepare gives every simulated device an ed25519 key and builds
// and seals its change sets — K change sets of M operations each, creates
// of commitments with Chinese text, publications and fulfilment entries,
// chained exactly as a real device chains them and checked with
// protocol.Verify — so none of that is timed. Enrol asks the county to
// enrol each device (POST /enrol) and approves it, through the admin API
// with HTTP basic authentication or through Config.Approve, a callback such
// as (*county.Server).Approve for a server in the same process.
//
// Run connects every device over a websocket session (pinned TLS,
// challenge, hello signed with protocol.SignChallenge, welcome), then
// pushes all change sets at once, at most Window unacknowledged per device,
// and waits for every receipt. It returns the operations acknowledged, the
// wall time from the first push to the last receipt, operations per second,
// bytes on the wire per operation (counted below TLS, at the net.Conn) and
// refusals and failures by code. Receipts are matched to the change set
// they name; every VerifyEvery-th receipt of each device (and its last) has
// its county signature checked too, so the load generator's own ed25519
// work stays far below the server's.
//
// Idle connects n devices, completes the handshake and keeps them
// connected, answering pings, until Close: for measuring what an idle
// device costs the server.
//
// # Caveats
//
// A Loadgen pushes its change sets once: the server holds them afterwards
// and would answer them as replays. Make a new Loadgen for another run (its
// devices are new too).
//
// Approving through the admin API checks the admin password with argon2id
// on every request; with the production cost that is a fraction of a second
// and 64 MiB per approval, so the admin API is called at most two at a time
// and enrolling thousands of devices that way is slow. In-process callers
// pass Config.Approve instead.
//
// The load generator itself needs CPU, memory and file descriptors. On a
// small machine running it beside the server makes the server look slower
// than it is; the figures are only comparable with baselines measured on
// the same machine in the same run (docs/benchmarks-sync.md).
package loadgen
