package county

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// admit is the replica's Admit hook (store.Options): what the county
// refuses beyond protocol.Verify because only it can judge it, inside the
// transaction that would apply the change set, before anything of it is
// stored.
//
//   - A public case not opened by the county server's own device:
//     not_authorized. Only the server opens what the public filed, after
//     checking the intake (intake.go).
//   - A public case whose intake was not signed by a municipal node the
//     county authorised: not_authorized for a node it does not know,
//     bad_signature for a signature that does not verify with the node's
//     key.
//
// Like every semantic refusal (invalid_operation, not_authorized), the
// change set is refused with nothing stored, recorded as an incident, and
// the device stops; re-enrolment sets the refused change sets aside
// (docs/county-admin.md).
//
// A step on a case the county has not seen opened is NOT refused: like
// every replica, the county keeps a step that overtook its case (store
// cases.go), and it is no case until the case arrives. Steps and their
// case come from different devices (a township's objection and the county
// admin's assignment of it, a case opened by an admin's desktop and the
// township's reply), and after a county is restored from a backup the
// devices push them again in whatever order they reconnect: refusing a
// step that came first would stop an honest device until the other one
// synced. A device can only write such steps for its own office, where it
// may write anything its role allows anyway.
func (s *Server) admit(tx *bolt.Tx, cs *protocol.ChangeSet) error {
	for i := range cs.Ops {
		op := &cs.Ops[i]
		switch op.Kind {
		case protocol.OpCase:
			c := op.Case
			if c.Source != domain.CaseSourcePublic {
				continue
			}
			if !s.ownDevice(cs.Device) {
				return fmt.Errorf("%w: op %d: a public case is opened by the county server's own device, not %s", protocol.ErrNotAuthorized, op.Num, cs.Device.Short())
			}
			if _, err := openIntakeTx(tx, c.Intake); err != nil {
				return fmt.Errorf("op %d: %w", op.Num, err)
			}
		}
	}
	return nil
}

// openIntakeTx opens a signed intake with the key of the municipal node it
// names, which must be authorised for the upstream feed: not_authorized
// for a node the county does not know, bad_signature, and the intake's
// own refusals (protocol.OpenIntake).
func openIntakeTx(tx *bolt.Tx, raw []byte) (*protocol.Intake, error) {
	in, err := protocol.DecodeIntake(raw)
	if err != nil {
		return nil, err
	}
	var n countyapi.UpstreamNode
	found, err := getJSON(tx, bUpstream, in.Node[:], &n)
	if err != nil {
		return nil, err
	}
	if !found || upstreamKey(n) == nil {
		return nil, fmt.Errorf("%w: intake signed by node %s, which this county has not authorised", protocol.ErrNotAuthorized, in.Node.Short())
	}
	return protocol.OpenIntake(raw, upstreamKey(n))
}
