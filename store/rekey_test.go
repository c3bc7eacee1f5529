package store

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/sync/protocol"
)

// forkScenario: device A syncs change set 1 to the office's other device O
// (standing in for the county); a backup of A is taken; A goes on with
// change sets 2–3, which O accepts. The backup is restored on the same
// machine and used: it seals a different change set 2 and keeps one more
// operation pending. The restored replica has forked.
type forkScenario struct {
	a, o      *replica
	restored  *replica
	ref       Ref // created before the backup, edited on both branches
	aRef      Ref // created on A's branch only
	rRef      Ref // created on the restored branch only
	aBranch   [][]byte
	forked    []byte
	receipted uint64
}

func newForkScenario(t *testing.T) *forkScenario {
	t.Helper()
	f := &forkScenario{a: newReplica(t, township, domain.RoleLeader), o: newReplica(t, township, domain.RoleStaff)}
	introduce(t, f.a, f.o)
	must(t, f.a.se.AddAccount("second", "第二位同事", domain.RoleStaff, testPass+"-2"))
	var err error
	f.ref, err = f.a.se.Create(sampleDraft("停车位规划"))
	must(t, err)
	deliver(t, f.o, f.a.seal(t, 0)...)
	must(t, f.a.Acknowledge(1, []byte("receipt 1")))
	f.receipted = 1

	backup := filepath.Join(t.TempDir(), "backup.db")
	must(t, f.a.db.View(func(tx *bolt.Tx) error { return tx.CopyFile(backup, 0o600) }))

	must(t, f.a.se.Edit(f.ref, domain.FieldTitle, "停车位规划（A 分支）"))
	must(t, err)
	f.aRef, err = f.a.se.Create(sampleDraft("A 分支新建"))
	must(t, err)
	f.aBranch = f.a.seal(t, 1)
	deliver(t, f.o, f.aBranch...)

	s, err := Open(backup, &Options{Now: newStepClock().Now, KDF: auth.TestParams(), Logger: quietLogger(), NoSync: true})
	must(t, err)
	t.Cleanup(func() {
		if err := s.Check(); err != nil {
			t.Errorf("restored replica invariants at end of test: %v", err)
		}
		s.Close()
	})
	se, err := s.SignIn("user", testPass)
	must(t, err)
	f.restored = &replica{Store: s, se: se}
	must(t, se.Edit(f.ref, domain.FieldTitle, "停车位规划（恢复分支）"))
	f.rRef, err = se.Create(sampleDraft("恢复分支新建"))
	must(t, err)
	sets := f.restored.seal(t, 1)
	if len(sets) != 1 {
		t.Fatalf("restored branch sealed %d change sets", len(sets))
	}
	f.forked = sets[0]
	must(t, se.Edit(f.rRef, domain.FieldText, "尚未封装的修改"))
	return f
}

// county plays the county's part: it finds where the branches part from
// the hashes in the request, as server/county does, and certifies the key.
func (f *forkScenario) county(t *testing.T, req []byte) (*protocol.Certificate, uint64) {
	t.Helper()
	r, in, err := protocol.OpenReenrolRequest(req)
	must(t, err)
	if r.OldDevice() != f.a.se.Device().ID || r.From != f.receipted+1 || len(r.Held) != 1 {
		t.Fatalf("request: old %s from %d held %d", r.OldDevice().Short(), r.From, len(r.Held))
	}
	carry := r.From
	for i, h := range r.Held {
		got, ok, err := hashAt(f.o.Store, r.OldDevice(), r.From+uint64(i))
		must(t, err)
		if !ok || got != h {
			break
		}
		carry++
	}
	return &protocol.Certificate{Device: in.Device(), Key: in.Key, Office: in.Office, Name: in.DeviceName, Issued: 1}, carry
}

func hashAt(s *Store, dev protocol.DeviceID, seq uint64) (h protocol.Hash, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		h, ok, err = txView{tx}.HashAt(dev, seq)
		return err
	})
	return
}

func TestRekeyCarriesForkedWorkAndConverges(t *testing.T) {
	f := newForkScenario(t)
	r := f.restored
	oldID := r.se.Device().ID
	if res, err := f.o.Apply(f.forked); err != nil || res[0].Code != protocol.CodeFork {
		t.Fatalf("the other branch's change set 2 was not refused as a fork: %+v %v", res, err)
	}

	req, newID, err := r.se.PrepareReenrolment(time.Unix(1772413200, 0))
	must(t, err)
	if again, id2, err := r.se.PrepareReenrolment(time.Unix(1772413200, 0)); err != nil || id2 != newID || !bytes.Equal(again, req) {
		t.Fatalf("asking again asks for another key: %s vs %s (%v)", id2.Short(), newID.Short(), err)
	}
	cert, carryFrom := f.county(t, req)
	if carryFrom != 2 {
		t.Fatalf("fork point %d, want 2", carryFrom)
	}
	se, res, err := r.se.Rekey(cert, carryFrom)
	must(t, err)
	if se.Device().ID != newID || res.Old != oldID || res.Forked != 1 || res.Carried != 3 {
		t.Fatalf("rekey: device %s, result %+v", se.Device().ID.Short(), res)
	}
	if dev, _ := r.Device(); dev != newID {
		t.Fatalf("store device %s after re-key", dev.Short())
	}
	must(t, r.Check())
	// The restored branch's work is still there, now under the new key and
	// waiting to go out; nothing of it was dropped.
	if c, err := r.Commitment(f.rRef); err != nil || c.Text != "尚未封装的修改" || c.Title != "恢复分支新建" {
		t.Fatalf("restored branch's commitment after re-key: %+v %v", c, err)
	}
	if n, err := r.Pending(); err != nil || n.PendingOps != 3 {
		t.Fatalf("pending after re-key: %+v %v", n, err)
	}

	// The county's branch of the old key now arrives like any device's.
	r.se = se
	deliver(t, r, f.aBranch...)
	must(t, f.o.PutDevice(se.Device()))
	deliver(t, f.o, r.seal(t, 0)...)
	if digest(t, r.Store) != digest(t, f.o.Store) {
		t.Fatal("the re-keyed replica and the office's other device differ")
	}
	for _, ref := range []Ref{f.aRef, f.rRef} {
		if _, err := f.o.Commitment(ref); err != nil {
			t.Errorf("commitment %s missing on the other device: %v", ref, err)
		}
	}
	// Both branches edited the title: the admin sees both values.
	cs, err := f.o.Conflicts()
	must(t, err)
	if len(cs) != 1 || cs[0].Ref != f.ref || cs[0].Field != domain.FieldTitle || len(cs[0].Versions) != 2 {
		t.Fatalf("conflicts after the fork settled: %+v", cs)
	}
	vals := map[string]bool{cs[0].Versions[0].Value: true, cs[0].Versions[1].Value: true}
	if !vals["停车位规划（A 分支）"] || !vals["停车位规划（恢复分支）"] {
		t.Fatalf("competing values %v", vals)
	}
	// The refused change set is kept, not deleted.
	var kept []byte
	must(t, r.db.View(func(tx *bolt.Tx) error { kept = bytes.Clone(tx.Bucket(bForked).Get(logKey(oldID, 2))); return nil }))
	if !bytes.Equal(kept, f.forked) {
		t.Error("the forked change set was not kept")
	}
	if rk, err := r.Rekeys(); err != nil || len(rk) != 1 || rk[0].New != newID {
		t.Errorf("re-key record: %+v %v", rk, err)
	}
	// Every account signs in with its own passphrase and gets the new key;
	// the second time straight away.
	for _, acct := range []struct{ name, pass string }{{"user", testPass}, {"second", testPass + "-2"}, {"second", testPass + "-2"}} {
		s2, err := r.SignIn(acct.name, acct.pass)
		if err != nil || s2.Device().ID != newID || !bytes.Equal(s2.key.Public().(ed25519.PublicKey), cert.Key) {
			t.Fatalf("%s signs in after re-key: %v", acct.name, err)
		}
	}
	if _, err := r.SignIn("second", testPass); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("another account's passphrase: %v", err)
	}
}

func TestRekeyRefusesWhatDoesNotFit(t *testing.T) {
	f := newForkScenario(t)
	r := f.restored
	if _, _, err := r.se.Rekey(&protocol.Certificate{}, 2); !errors.Is(err, ErrReenrolment) {
		t.Fatalf("re-key without a request: %v", err)
	}
	req, _, err := r.se.PrepareReenrolment(time.Unix(1772413200, 0))
	must(t, err)
	cert, _ := f.county(t, req)
	d0 := digest(t, r.Store)
	other := *cert
	other.Office = township2
	_, wrongKey, _ := ed25519.GenerateKey(nil)
	stranger := *cert
	stranger.Key = wrongKey.Public().(ed25519.PublicKey)
	for name, c := range map[string]struct {
		cert  *protocol.Certificate
		carry uint64
	}{
		"fork point before the last receipt": {cert, 1},
		"fork point beyond the chain":        {cert, 4},
		"certificate for another office":     {&other, 2},
		"certificate for another key":        {&stranger, 2},
	} {
		if _, _, err := r.se.Rekey(c.cert, c.carry); !errors.Is(err, ErrReenrolment) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if digest(t, r.Store) != d0 {
		t.Error("a refused re-key changed the replica")
	}
	if dev, _ := r.Device(); dev != f.a.se.Device().ID {
		t.Error("a refused re-key changed the device")
	}
}
