// Package store keeps one replica's data in a single bbolt file: the
// commitments of a township (or, on a county-admin device, of its county),
// every version of every field, fulfilment entries, evidence, the log of
// signed change sets the replica holds, and its outbox.
//
// # Basics
//
// Open a file with Open(path, nil). A fresh file gets its device identity
// with Setup, which also creates the first account; afterwards users SignIn
// with their passphrase and act through the returned Session: Create, Edit,
// Publish, Amend, Transition, LogFulfilment, AddEvidence (AddEvidenceFor
// the office of the record that cites the file, when a county-admin device
// attaches it to a township's record), and on a
// county-admin device Resolve, RecordDishonesty and DishonestyStep
// (government dishonesty records, read with DishonestyRecords). Supervision
// cases (complaints and objections) are opened with OpenCase and moved on
// with CaseStep (AcknowledgeCase, DraftReply, ApproveReply on a township
// device), read with Cases and Case; the county server signs the cases the
// public files with its own device through ServerSigner. A leader manages
// the device's accounts (AddAccount, DisableAccount, ResetPassphrase,
// SetAccountRole, RenameAccount; every user ChangePassphrase): each change
// travels as an OpAccount, so every replica's directory (Directory, People)
// tells the person behind an author login. A county admin urges a
// township (Urge, 催办), whose devices sign that they read it (ReadUrge);
// an office's leader submits its annual report (SubmitAnnualReport), read
// with Urges, FollowUps and AnnualReports. Session.Seal turns
// what the users did into signed change sets; Apply takes change sets from
// other replicas.
//
// Every action changes the state and queues its operation in one bbolt
// transaction, so after a crash at any instant the two agree (Check verifies
// this and every other invariant).
//
// # Convergence
//
// Each field of a commitment is a register with a version history: a write
// names the versions it replaces (its base). The current versions are those
// no other version replaces; one is the value, several are a conflict kept
// for the county admin, with the latest-stamped version shown meanwhile.
// Everything derived this way depends on the set of operations a replica
// holds, not the order they arrived in, so replicas holding the same change
// sets are byte-for-byte equal in their replicated buckets (Digest).
//
// # Caveats
//
// Callbacks of Commitments, Feed and FeedSelect run inside a read
// transaction: they must not call the store (or open another bbolt
// transaction) themselves. A second read transaction opened on the same
// goroutine deadlocks as soon as a writer waits to grow the file.
//
// Values returned are copies; nothing refers into bbolt's memory map. The
// file allows one process at a time: a second Open waits LockTimeout and
// fails. Evidence content is stored inside the file; files are limited to
// protocol.MaxEvidenceBytes each.
package store
