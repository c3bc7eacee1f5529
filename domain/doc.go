// Package domain holds the vocabulary of public commitments (公开承诺) and
// their fulfilment (践诺) that every layer of Jiannuo shares: categories,
// statuses and the state machine between them, deadlines, roles, the
// editable fields of a commitment, and the types and steps of government
// dishonesty records (政务失信记录).
//
// # Basics
//
// The package is pure data and rules: it performs no I/O and knows nothing
// of storage or networks, so the desktop app, the store, the sync protocol
// and the servers all agree on one definition of "a legal status change" or
// "overdue".
//
// Offices are identified by statistical division codes (package
// domain/office); dates and working days come from package domain/calendar.
//
// # Caveats
//
// Overdue and due-soon are derived from a deadline and "today" each time they
// are needed (see Due); they are never stored, because a stored flag would be
// wrong the morning after it was written.
package domain
