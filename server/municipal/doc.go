// Package municipal is the municipal platform node (市信用信息综合平台,
// "信用洛阳"): it gathers every county's records level by level (§四(二)),
// verifies them itself, keeps their union in one replica, publishes them
// (§二(二)) and computes the city's statistics.
//
// # Basics
//
// Init makes a data directory: the node's ed25519 key, which county admins
// authorise for their upstream feed (`jiannuo-server upstream add`), and a
// copy of the trust file, which maps county codes to county public keys. New
// opens it with the replica (a store.Store with a feed); Serve joins the
// cluster (package cluster), pulls counties and serves HTTP until its
// context ends; Close closes the files.
//
// Counties are discovered through the cluster, never listed: a county
// server's tags give its upstream address, its feed head and its TLS
// fingerprint. The node pulls a county when it joins, when its head tag
// moves and when it announces an advance — there is no polling loop — and
// keeps a pull open for Config.Linger after catching up. A county that
// fails is shown failed with its lag (its last head against what was
// applied); when it returns the node catches up from its cursor.
//
// # Trust
//
// Gossip and TLS pins say where a county server is; only the trust file
// says who a county is. A county is pulled only if its code is in the trust
// file, and only if its server answers the session challenge with the
// trust file's key. Then every document is checked against that key, and
// every change set through store.ApplyBatch (see pull.go for the list). A
// county server is a relay like any other: what it stored could have been
// altered on its disk, and the node finds out.
//
// A change set, certificate or revocation that does not verify is refused:
// nothing of it is stored, the cursor stays just before it (it is never
// skipped), an Incident naming the county is recorded in the "x-incidents"
// bucket and logged, and the county's status says "tampered" until a later
// pull gets past it.
//
// # Several nodes
//
// Any number of municipal nodes may run: each pulls every county itself,
// and since the replica derives everything from the set of change sets it
// holds, nodes that hold the same change sets have the same digest
// (store.Digest leaves out the "x-" buckets and the feed, which are the
// node's own).
//
// # Caveats
//
// The trust file is read at start: restart the node after changing it.
//
// # Cases filed here, and evidence
//
// The node is the public page's intake sink (public.IntakeSink,
// intake.go): a case filed on its page is signed with the node's key, the
// filer's contact sealed to the county before anything is stored, and kept
// in the node's own buckets with its files until the county that owns the
// record answers; it travels on the next upstream session with that county
// (link.go), which is opened at once when one is possible. The node also
// fetches the content of every evidence file its replica cites, so the
// public page can serve it.
package municipal
