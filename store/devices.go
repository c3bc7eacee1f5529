package store

import (
	"crypto/ed25519"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// DeviceRecord is what this replica knows of a device allowed to sign change
// sets. Records arrive through enrolment (signed by the county); a replica
// trusts exactly the devices listed here.
type DeviceRecord struct {
	ID      protocol.DeviceID `json:"id"`
	Key     ed25519.PublicKey `json:"key"`
	Office  office.Code       `json:"office"`
	Name    string            `json:"name"`
	Admin   bool              `json:"admin"`
	Revoked bool              `json:"revoked"`
	Reason  string            `json:"reason,omitempty"` // why it was revoked
}

// Info is what protocol.Verify and protocol.Prepare check a change set
// against: the record's identity, office, rights and revocation.
func (d DeviceRecord) Info() protocol.DeviceInfo {
	return protocol.DeviceInfo{ID: d.ID, Key: d.Key, Office: d.Office, Admin: d.Admin, Revoked: d.Revoked}
}

// PutDevice adds or replaces a device record. The sync engine calls it with
// enrolment records it has verified; it refuses a record whose ID does not
// belong to its key.
func (s *Store) PutDevice(d DeviceRecord) error {
	return s.db.Update(func(tx *bolt.Tx) error { return PutDeviceTx(tx, d) })
}

func checkDeviceRecord(d DeviceRecord) error {
	if len(d.Key) != ed25519.PublicKeySize || protocol.DeviceIDFromKey(d.Key) != d.ID {
		return fmt.Errorf("%w: device record key does not match id %s", protocol.ErrWrongDevice, d.ID)
	}
	if !d.Office.Valid() {
		return fmt.Errorf("%w: device office %q", protocol.ErrInvalidOperation, d.Office)
	}
	return nil
}

// DeviceRecord returns a device's record.
func (s *Store) DeviceRecord(id protocol.DeviceID) (DeviceRecord, error) {
	var d DeviceRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bDevices).Get(id[:])
		if v == nil {
			return fmt.Errorf("%w: device %s", ErrNotFound, id)
		}
		return unmarshal(v, &d)
	})
	return d, err
}

// Devices lists every known device record, ordered by ID.
func (s *Store) Devices() ([]DeviceRecord, error) {
	var out []DeviceRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bDevices).ForEach(func(_, v []byte) error {
			var d DeviceRecord
			if err := unmarshal(v, &d); err != nil {
				return err
			}
			out = append(out, d)
			return nil
		})
	})
	return out, err
}

// DeviceRecordTx reads a device record inside a caller's transaction (see
// Update); ErrNotFound if there is none.
func DeviceRecordTx(tx *bolt.Tx, id protocol.DeviceID) (DeviceRecord, error) {
	var d DeviceRecord
	v := tx.Bucket(bDevices).Get(id[:])
	if v == nil {
		return d, fmt.Errorf("%w: device %s", ErrNotFound, id)
	}
	return d, unmarshal(v, &d)
}
