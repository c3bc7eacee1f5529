// Package protocol defines what township devices, county servers and the
// municipal platform exchange: device and record identifiers, operations,
// signed change sets, their canonical encoding, and the verification rules
// with a stable refusal code for each way a change set can be wrong.
//
// # Basics
//
// A user action is an Op. A device batches its operations, in order, into a
// ChangeSet, numbers it with the next gapless sequence number, names the hash
// of its previous change set, and signs it with its ed25519 key (Seal). A
// receiver runs Verify before anything is stored: it checks the form, the
// device, the signature, the office scope, the chain and each operation, and
// returns an error wrapping exactly one sentinel; CodeOf turns it into the
// Code that travels on the wire and is shown to people.
//
// The package knows nothing of bbolt or websockets: receivers supply what
// they know through the small Registry and Chains interfaces.
//
// # Encoding
//
// The encoding is hand-written binary with exactly one form per value
// (docs/changeset-format.md describes it byte by byte; testdata/ holds
// golden vectors). Decode refuses anything non-canonical, so equal content
// always has an equal hash and a replay is recognised byte for byte.
//
// # Caveats
//
// Verify checks an operation against the rules that need no stored state.
// Whether, say, a transition's from-status still holds on the receiver is
// not checked: concurrent transitions are kept as a conflict for a county
// admin instead (see package store), which is what makes every replica end
// equal whatever order change sets arrive in.
package protocol
