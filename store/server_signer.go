package store

import (
	"crypto/ed25519"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// ServerAuthor is the author of what a county server does by itself
// (opening a case the public filed).
const ServerAuthor = "county-server"

// ServerSigner signs the change sets of a device whose key the program
// holds itself rather than sealed under a passphrase: the county server's
// own county-admin device (protocol.ServerDeviceKey). It keeps no state:
// each change set continues the device's chain as the replica holds it, so
// the server hands it to its ingest path (Store.ApplyBatch) like one pushed
// by a device, and builds the next one once that one is applied (or with
// NextAfter, after the head it returned).
//
// The device must be registered in the replica (PutDevice / PutDeviceTx of
// its certificate: Admin, office = the county), or Next refuses with
// protocol.ErrUnknownDevice.
type ServerSigner struct {
	key    ed25519.PrivateKey
	device protocol.DeviceID
	county office.Code
}

// NewServerSigner returns a signer for the device of key, enrolled for
// county (a county code).
func NewServerSigner(key ed25519.PrivateKey, county office.Code) (*ServerSigner, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: private key of %d bytes", domain.ErrInvalidValue, len(key))
	}
	if !county.Valid() || county.Level() != office.County {
		return nil, fmt.Errorf("%w: %q is not a county", domain.ErrInvalidValue, county)
	}
	return &ServerSigner{key: key, device: protocol.DeviceIDFromKey(key.Public().(ed25519.PublicKey)), county: county}, nil
}

// Device returns the signing device's ID.
func (sg *ServerSigner) Device() protocol.DeviceID { return sg.device }

// Next returns the device's next change set holding ops (at most
// protocol.MaxOpsPerChangeSet, all for one office of the county), signed
// by author with role county_admin: numbered after the chain head the
// replica s holds for the device, stamped with s's clock, sealed and
// verified as a receiver will verify it. ops are copied, not changed.
// Errors wrap the protocol sentinel a receiver would refuse it with.
func (sg *ServerSigner) Next(s *Store, author string, ops []protocol.Op) (*protocol.ChangeSet, error) {
	var head protocol.Head
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		head, err = txView{tx}.Head(sg.device)
		return err
	})
	if err != nil {
		return nil, err
	}
	return sg.NextAfter(s, head, author, ops)
}

// NextAfter is Next continuing the chain after head instead of the
// replica's head: for a caller that builds a change set before the one
// before it is applied (head is then that one's Seq, Hash and LastOp).
func (sg *ServerSigner) NextAfter(s *Store, head protocol.Head, author string, ops []protocol.Op) (*protocol.ChangeSet, error) {
	if len(ops) == 0 {
		return nil, fmt.Errorf("%w: no operations", protocol.ErrInvalidOperation)
	}
	cs := &protocol.ChangeSet{Device: sg.device, Office: sg.county, Author: author, AuthorRole: domain.RoleCountyAdmin,
		Seq: head.Seq + 1, Prev: head.Hash, Ops: slices.Clone(ops)}
	for i := range cs.Ops {
		cs.Ops[i].Num, cs.Ops[i].HLC = head.LastOp+1+uint64(i), s.clock.Now()
	}
	if err := cs.Seal(sg.key); err != nil {
		return nil, err
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		_, err := protocol.Verify(cs.Bytes(), txView{tx}, afterHead{head}, sg.device)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("server change set does not verify: %w", err)
	}
	return cs, nil
}

// afterHead is the chain a ServerSigner continues: only its head is known.
type afterHead struct{ head protocol.Head }

func (a afterHead) Head(protocol.DeviceID) (protocol.Head, error) { return a.head, nil }

func (a afterHead) HashAt(protocol.DeviceID, uint64) (protocol.Hash, bool, error) {
	return protocol.Hash{}, false, nil
}
