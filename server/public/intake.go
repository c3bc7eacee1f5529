package public

import (
	"context"

	"jiannuo/sync/protocol"
)

// IntakeSink takes a citizen's filing from the public page and keeps it until
// the county that owns the record has accepted it. The municipal node
// implements it (server/municipal); the public package never holds a key.
type IntakeSink interface {
	// SubmitIntake seals contact (may be empty) to the county of in.Office with
	// protocol.SealContact and the county key from the node's trust file, signs
	// the intake with the node key (in.Sign fills Node), and stores it with the
	// attachment bytes (keyed by SHA-256, exactly in.Attachments) in one
	// transaction, to be delivered on the next upstream session with that
	// county. Everything except Node and Contact is filled by the caller (ID,
	// Number, Kind, Office, Commitment, Record, Text, Attachments, TrackHash,
	// Filed). Errors: protocol.ErrOutOfScope when no trusted county covers
	// in.Office (the page says the filing cannot be taken now), anything else
	// is internal. The plaintext contact is never stored or logged.
	SubmitIntake(ctx context.Context, in *protocol.Intake, contact protocol.Contact, files map[protocol.Hash][]byte) error
	// IntakeState reports a filing this node took: pending (not yet accepted by
	// the county), accepted (with the feed position of the case's change set at
	// the county), or refused (with the county's code and message). ok is false
	// when this node never took it (it may be another node's; then the replica's
	// store.Case is all there is).
	IntakeState(id protocol.EntityID) (st IntakeState, ok bool, err error)
}

// IntakeState is what IntakeSink.IntakeState answers.
type IntakeState struct {
	Intake  *protocol.Intake // decoded; Contact is the sealed box, never plaintext
	State   string           // "pending", "accepted", "refused"
	Code    protocol.Code    // refused: the county's code
	Message string           // refused: the county's message (for the log, not shown raw)
	Pos     uint64           // accepted: feed position at the county
}

// The values of IntakeState.State.
const (
	IntakePending  = "pending"
	IntakeAccepted = "accepted"
	IntakeRefused  = "refused"
)

// IntakeFinder is an optional extension of IntakeSink: the tracking page
// knows a filing only by its case number, while IntakeState asks for its
// ID (the number carries only 40 bits of it). A sink that also implements
// IntakeFinder lets the tracking page find any filing the node holds, across
// restarts; without it the page remembers the numbers of the filings this
// process took (a bounded table, lost on restart: such a filing shows once
// the county has accepted it and the case reached the replica).
type IntakeFinder interface {
	// IntakeByNumber returns the ID of the filing with the given case
	// number, if this node took it.
	IntakeByNumber(number string) (id protocol.EntityID, ok bool, err error)
}
