// Package cluster is the membership layer between county servers and
// municipal nodes: a small wrapper around a hashicorp/serf member that
// advertises who a server is in tags and turns serf's events into the few
// this project needs.
//
// # Basics
//
// Every server runs one Member. A county server's tags say its role
// ("county"), its county code, the wss:// address of its upstream feed, the
// head of its feed and its TLS certificate's fingerprint; a municipal node's
// say only its role. New checks a Config (start from DefaultConfig, or
// DefaultLocalConfig in tests on loopback); Start creates the serf member,
// binds its UDP and TCP port and joins the members listed in Config.Join
// (retrying in the background until one answers); Leave tells the others it
// is going; Shutdown stops it, and is safe to call more than once.
// Shutdown without Leave is what a crash looks like: the others mark the
// member failed after memberlist's probes and suspicion timeout.
//
// Config.OnEvent receives membership changes (join, update, leave, failed,
// reap) and user events, one at a time from one goroutine. A county server
// calls Announce with its feed: whenever the feed advances Announce updates
// the head tag and fires a user event "advance" whose payload is the county
// code and the head, at most once per Config.AnnounceInterval, so a busy
// ingest loop costs one tag update and one event per interval, never a
// wait.
//
// # Trust
//
// Gossip says where to look, never what to believe: tags and events are
// unauthenticated (unless Config.SecretKey encrypts the gossip, which keeps
// outsiders out but still trusts every member), so a municipal node uses
// them only to find counties and to decide when to pull. What it accepts is
// checked against the county keys in its trust file (package municipal).
//
// # Caveats
//
// Memberlist's defaults suit a LAN: a stopped member is seen failed in about
// 5 seconds, and a member that missed an update catches up at the next
// push-pull (every 30 seconds). Memberlist sometimes takes that long to
// converge after a join, so callers wait on events rather than assume it is
// quick. Tags are limited to 512 bytes in all and user events to 512 bytes.
package cluster
