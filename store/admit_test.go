package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/sync/protocol"
)

// TestAdmit: a change set the Admit hook refuses is refused with the
// hook's code and stores nothing, while the rest of the batch is applied
// (the hook sees the change sets before it in the batch); a hook error
// without a code fails the whole batch, storing nothing.
func TestAdmit(t *testing.T) {
	a := newReplica(t, township, domain.RoleStaff)
	b := newReplica(t, township, domain.RoleStaff)
	ra, err := a.se.Create(sampleDraft("甲的承诺"))
	if err != nil {
		t.Fatal(err)
	}
	setsA := a.seal(t, 0)
	if _, err := b.se.Create(sampleDraft("乙的承诺")); err != nil {
		t.Fatal(err)
	}
	setsB := b.seal(t, 0)

	var refuse protocol.DeviceID
	var broken bool
	var sawA bool
	s, err := Open(filepath.Join(t.TempDir(), "server.db"), &Options{Feed: true, KDF: auth.TestParams(), Logger: quietLogger(), NoSync: true,
		Admit: func(tx *bolt.Tx, cs *protocol.ChangeSet) error {
			if cs.Device == b.se.Device().ID {
				h, err := ChainsTx(tx).Head(a.se.Device().ID)
				sawA = err == nil && h.Seq == 1
			}
			switch {
			case broken:
				return errors.New("disk on fire")
			case cs.Device == refuse:
				return fmt.Errorf("%w: not this one", protocol.ErrInvalidOperation)
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, d := range []DeviceRecord{a.se.Device(), b.se.Device()} {
		if err := s.PutDevice(d); err != nil {
			t.Fatal(err)
		}
	}
	empty := digest(t, s)

	broken = true
	if _, err := s.Apply(setsA[0], setsB[0]); err == nil {
		t.Fatal("a failing hook did not fail the batch")
	}
	if digest(t, s) != empty {
		t.Fatal("a failed batch stored something")
	}

	broken, refuse = false, a.se.Device().ID
	res, err := s.Apply(setsA[0], setsB[0])
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Code != protocol.CodeInvalidOperation || res[0].Device != refuse || res[0].Seq != 1 || res[1].Code != protocol.CodeOK {
		t.Fatalf("results %+v", res)
	}
	if _, err := s.Commitment(ra); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the refused change set's commitment: %v", err)
	}
	if h, _ := s.FeedHead(); h != 1 {
		t.Fatalf("feed head %d", h)
	}

	// Admitted now, before b's next in one batch: the hook sees it.
	refuse = protocol.DeviceID{}
	if _, err := b.se.Create(sampleDraft("乙的第二个承诺")); err != nil {
		t.Fatal(err)
	}
	res, err = s.Apply(setsA[0], b.seal(t, 1)[0])
	if err != nil || !res[0].Applied() || !res[1].Applied() || !sawA {
		t.Fatalf("results %+v %v, the hook saw the batch's first: %v", res, err, sawA)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}
