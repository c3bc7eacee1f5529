package county

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// The county server's own device (县级平台): a county-admin device whose key
// is derived from the county key (protocol.ServerDeviceKey), so it needs no
// key file of its own; a server restored from a backup signs with a new
// one derived from the county key and the restore's epoch
// (protocol.ServerDeviceKeyAt, epoch.go). It signs
// what the server does by itself (opening a case the public filed, author
// store.ServerAuthor) and the decisions a county admin takes through the
// admin API (author: the admin's name). Its certificate is issued by the
// county like any device's and kept with the others, so the feeds send it
// to devices and municipal nodes before its first change set; its change
// sets go through the ingest loop like pushed ones (signOwn).

// serverDeviceName names the server device in its certificate.
const serverDeviceName = "县级平台"

// registerServerDevice registers the server's own devices in the replica
// of st unless they are: the one it signs with now (derived from the
// county key and the epoch of its last restore, protocol.ServerDeviceKeyAt)
// and those of earlier epochs (x-serverdevices), whose change sets devices
// may bring back after a restore. Each gets its certificate, issued by the
// county itself (office = the county, admin, name 县级平台), and its device
// record. They asked for no enrolment and never connect, so they are in
// neither the enrolment nor the device list of the admin API, and they
// cannot be revoked. Init and New both call it, so a data directory made
// by an older version gets them on its next start. It returns the signer
// of the current one and the IDs of all.
func registerServerDevice(st *store.Store, id *Identity, now time.Time) (*store.ServerSigner, map[protocol.DeviceID]bool, error) {
	var signer *store.ServerSigner
	own := map[protocol.DeviceID]bool{}
	err := st.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bMeta); err != nil {
			return err
		}
		devs, err := tx.CreateBucketIfNotExists(bServerDevices)
		if err != nil {
			return err
		}
		current := getEpoch(tx, kServerEpoch)
		epochs := []protocol.Epoch{{}, current}
		devs.ForEach(func(k, _ []byte) error {
			var e protocol.Epoch
			copy(e[:], k)
			epochs = append(epochs, e)
			return nil
		})
		for _, e := range epochs {
			key := protocol.ServerDeviceKeyAt(id.Key, e)
			sg, err := store.NewServerSigner(key, id.County)
			if err != nil {
				return err
			}
			dev := sg.Device()
			if e == current {
				signer = sg
			}
			own[dev] = true
			if err := devs.Put(e[:], dev[:]); err != nil {
				return err
			}
			if tx.Bucket(bCerts).Get(dev[:]) != nil {
				continue
			}
			pub := key.Public().(ed25519.PublicKey)
			c := protocol.Certificate{County: id.County, Device: dev, Key: pub, Office: id.County, Admin: true,
				Name: serverDeviceName, Issued: now.UnixMilli()}
			if err := tx.Bucket(bCerts).Put(dev[:], c.Sign(id.Key)); err != nil {
				return err
			}
			if err := store.PutDeviceTx(tx, store.DeviceRecord{ID: dev, Key: pub, Office: id.County, Name: serverDeviceName, Admin: true}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("registering the server device: %w", err)
	}
	return signer, own, nil
}

// ServerDevice returns the ID of the server's own device.
func (s *Server) ServerDevice() protocol.DeviceID { return s.signer.Device() }

// errClosed means the server closed before the change set was stored.
var errClosed = errors.New("county server closed")

// signOwn signs ops as the next change set of the server device, by
// author, and hands it to the ingest loop like a pushed one: verified,
// committed with others in a group, given its feed position. onCommit, if
// set, runs in the transaction that applies it. build, if set, is called
// first with signMu held, so what it reads (has the case been opened?)
// cannot change before the change set is applied; it returns the
// operations (none: nothing to sign). It returns the ingest result: Code
// is CodeOK, or the refusal.
func (s *Server) signOwn(author string, build func() ([]protocol.Op, error), onCommit func(tx *bolt.Tx, r store.Result) error) (store.Result, error) {
	s.signMu.Lock()
	defer s.signMu.Unlock()
	ops, err := build()
	if err != nil || len(ops) == 0 {
		return store.Result{}, err
	}
	cs, err := s.signer.Next(s.st, author, ops)
	if err != nil {
		return store.Result{}, err
	}
	res := make(chan store.Result, 1)
	if !s.submit(&pushReq{raw: cs.Bytes(), own: res, onCommit: onCommit}, nil) {
		return store.Result{}, errClosed
	}
	select {
	case r := <-res:
		if r.Code == protocol.CodeInternal {
			return r, r.Err
		}
		return r, nil
	case <-s.done:
		return store.Result{}, errClosed
	}
}
