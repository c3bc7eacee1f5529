package county_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"jiannuo/auth"
	"jiannuo/backup"
	"jiannuo/domain"
	"jiannuo/server/county"
	"jiannuo/server/county/countytest"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

const backupPass = "县服务器备份口令2026"

// backupTo takes a backup of the running server, as the admin's command
// does: the archive from Server.Backup wrapped in an encrypted backup file.
func (h *harness) backupTo(t *testing.T, path string) backup.Manifest {
	t.Helper()
	var buf bytes.Buffer
	if _, err := h.srv.Backup(context.Background(), &buf, "admin"); err != nil {
		t.Fatal(err)
	}
	m, err := backup.CreateFrom(path, backup.WriterOptions{Kind: backup.KindCounty, Passphrase: backupPass, KDF: auth.TestParams()}, &buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// restoreFrom stops the server, restores the backup over its data
// directory and starts it again on the same address.
func (h *harness) restoreFrom(t *testing.T, path string) county.Restored {
	t.Helper()
	var res county.Restored
	h.restart(func(dir string) {
		var err error
		res, err = county.Restore(path, dir, county.RestoreOptions{Passphrase: func() (string, error) { return backupPass, nil }, Force: true, Who: "test"})
		if err != nil {
			t.Fatal(err)
		}
	})
	return res
}

// TestRestoredCountyLosesNothingDevicesHold: a county restored from a
// backup older than the latest receipts gets back every change set any
// device holds, each once: the devices that come back first push their
// own again and relay the others' they received (and their evidence file)
// for a device that is not back; one that comes back late — after the
// feed grew past its cursor again — still notices the restore by the
// feed epoch, receives the feed from the start, and misses nothing; the
// device whose work others relayed gets its receipts when it returns.
func TestRestoredCountyLosesNothingDevicesHold(t *testing.T) {
	h := newHarness(t)
	a := h.device(townA, domain.RoleLeader)
	b := h.device(townA, domain.RoleLeader)
	c := h.device(townA, domain.RoleLeader)
	a.create("A1 路灯维修三日内答复")
	a.sync()
	b.create("B1 便民服务窗口午间值守")
	b.sync()
	c.sync()

	file := filepath.Join(t.TempDir(), "county.jnbk")
	m := h.backupTo(t, file)
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	epochBefore := h.srv.Epoch()
	if audit, err := h.srv.Audit(); err != nil || audit[len(audit)-1].Action != county.AuditBackup {
		t.Fatalf("the backup is not audited: %+v %v", audit, err)
	}
	if m.FeedHead != h.feedHead() || m.Epoch != epochBefore.String() {
		t.Fatalf("manifest %+v, feed head %d, epoch %s", m, h.feedHead(), epochBefore)
	}

	// After the backup: a's work with an evidence file, which b and c
	// receive; b's too.
	_, ev, photo := a.publishedWithEvidence("A2 老旧小区加装电梯答复")
	a.sync()
	a.create("A3 村道硬化")
	a.sync()
	b.sync()
	b.create("B2 村级公厕改造")
	b.sync()
	c.sync()
	if ok, _ := c.st.HasEvidence(ev); !ok {
		t.Fatal("the evidence did not reach c before the restore")
	}
	ever := countytest.FeedSet(t, h.srv.Store())
	curC, _ := c.st.Cursor()
	digestBefore := devDigest(t, h.srv.Store())

	res := h.restoreFrom(t, file)
	if res.Epoch == epochBefore || h.srv.Epoch() != res.Epoch {
		t.Fatalf("the restore kept the epoch: %s, serving %s", res.Epoch, h.srv.Epoch())
	}
	if h.feedHead() != m.FeedHead {
		t.Fatalf("restored feed head %d, backup's %d", h.feedHead(), m.FeedHead)
	}
	if ok, _ := h.srv.Store().HasEvidence(ev); ok {
		t.Fatal("the backup holds the evidence: nothing to test")
	}

	// b comes back first; a is not back. b pushes B2 again, and relays
	// a's change sets and a's file, which only b and c hold now. Its sync
	// once ends only when the county has receipted its own and answered
	// the relayed ones.
	b.sync()
	heads, _ := h.srv.Store().Heads()
	if mine, _ := b.st.Heads(); heads[b.se.Device().ID] != mine[b.se.Device().ID] {
		t.Fatalf("b's sync once ended before the county held its change sets again: county %+v, b %+v", heads[b.se.Device().ID], mine[b.se.Device().ID])
	}
	if ok, _ := h.srv.Store().HasEvidence(ev); !ok {
		t.Fatal("b did not relay a's evidence file")
	}
	if pending, _ := b.st.RelayPending(); pending {
		t.Fatal("b's relay still pending after its sync")
	}
	// The feed grows past c's cursor again before c comes back.
	for i := range 3 {
		b.create("B3 复工后新录入-" + string(rune('一'+i)))
		b.sync()
	}
	if h.feedHead() <= curC {
		t.Fatalf("feed head %d not past c's cursor %d: c would not be late", h.feedHead(), curC)
	}
	// c comes back late: the epoch tells it the feed it knew is gone.
	c.sync()
	// a comes back last: its own change sets are at the county already
	// (relayed); it gets the county's receipts for them.
	a.create("A4 恢复后录入")
	a.sync()
	b.sync()
	c.sync()

	countytest.HasAll(t, countytest.FeedSet(t, h.srv.Store()), ever)
	if devDigest(t, h.srv.Store()) == digestBefore {
		t.Fatal("nothing changed since the restore: the test did nothing")
	}
	want := devDigest(t, h.srv.Store())
	for name, d := range map[string]*device{"a": a, "b": b, "c": c} {
		if d.digest() != want {
			t.Errorf("%s's replica differs from the county's", name)
		}
		countytest.ReceiptsMatch(t, d.st, h.srv.Store(), h.key)
		if p, _ := d.st.Pending(); p.OutboxChangeSets != 0 || p.PendingOps != 0 {
			t.Errorf("%s has unsent work: %+v", name, p)
		}
		if e, _ := d.st.CountyEpoch(); e != res.Epoch {
			t.Errorf("%s counts its cursor in epoch %s, the county serves %s", name, e, res.Epoch)
		}
	}
	if gotTitles, wantTitles := titles(t, c.st), titles(t, h.srv.Store()); !slices.Equal(gotTitles, wantTitles) || len(gotTitles) != 9 {
		t.Fatalf("c holds %q, the county %q", gotTitles, wantTitles)
	}
	if content, err := h.srv.Store().EvidenceContent(ev); err != nil || !bytes.Equal(content, photo) {
		t.Fatalf("the county's copy of the evidence: %d bytes, %v", len(content), err)
	}
	// The restore is in the audit trail.
	audit, err := h.srv.Audit()
	if err != nil {
		t.Fatal(err)
	}
	actions := []string{}
	for _, e := range audit {
		actions = append(actions, e.Action)
	}
	if !slices.Contains(actions, county.AuditRestore) {
		t.Fatalf("audit actions after the restore %v", actions)
	}
}

// TestRelayBounds: a device whose hello names a feed epoch gets the
// county's in its welcome (one whose hello does not, none) and may push
// change sets of other devices of its township — verified as their own,
// answered with a receipt naming them; one that does not continue their
// chain is refused without an incident. A change set of another township
// is refused as out of scope, stores nothing and is an incident.
func TestRelayBounds(t *testing.T) {
	h := newHarness(t)
	d := h.rawEnrolled(t, townA)
	if _, w := h.connectRaw(t, d); w.Epoch != nil {
		t.Fatalf("a welcome with an epoch for a hello without: %v", w.Epoch)
	}
	rc := h.dialRaw(t)
	var none protocol.Epoch
	rc.send(&protocol.Frame{Type: protocol.FrameHello, Version: protocol.ProtocolVersion, Device: d.id, Sig: rc.sign(d),
		Status: &protocol.HelloStatus{}, Epoch: &none})
	if w := rc.await(protocol.FrameWelcome); w.Epoch == nil || *w.Epoch != h.srv.Epoch() {
		t.Fatalf("welcome epoch %v, the county's %s", w.Epoch, h.srv.Epoch())
	}

	sib := h.rawEnrolled(t, townA)
	cs := sib.next(rawCreateOp(t, townA))
	rc.push(cs)
	rc.wantReceipt(h, cs) // names sib, not d
	sib.accepted(cs)

	before := h.replicaSnapshot(t)
	gap := sib.build(sib.seq+2, sib.head, sib.lastOp+2, nil, rawCreateOp(t, townA))
	rc.push(gap)
	if f := rc.wantRefused(protocol.CodeSequenceGap); f.Device != sib.id {
		t.Fatalf("the refusal names %s, not the relayed device", f.Device.Short())
	}
	other := h.rawEnrolled(t, townB)
	rc.push(other.next(rawCreateOp(t, townB)))
	rc.wantRefused(protocol.CodeOutOfScope)
	h.wantUnchanged(t, before)
	h.wantIncidentFor(t, d.id, protocol.CodeOutOfScope)
	for _, in := range h.incidentList(t) {
		if in.Code == protocol.CodeSequenceGap {
			t.Fatalf("a relay the chain had moved past is an incident: %+v", in)
		}
	}
}

// TestBackupBySecondAdminRestoresAccounts: an admin added after init
// downloads the backup with a session token (no argon2id beyond the one
// sign-in) and the audit names them; the restored county holds both
// accounts, and the same client, whose session the restart ended, signs
// in again by itself and takes the next backup.
func TestBackupBySecondAdminRestoresAccounts(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.withLisi(t)
	lisi := h.adminAs(t, "lisi", lisiPass)
	download := func(path string) backup.Manifest {
		t.Helper()
		var m backup.Manifest
		err := lisi.Backup(ctx, func(r io.Reader) error {
			var err error
			m, err = backup.CreateFrom(path, backup.WriterOptions{Kind: backup.KindCounty, Passphrase: backupPass, KDF: auth.TestParams()}, r, nil)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if _, err := lisi.Login(ctx); err != nil {
		t.Fatal(err)
	}
	runs := h.runs()
	file := filepath.Join(t.TempDir(), "county.jnbk")
	download(file)
	if got := h.runs() - runs; got != 0 {
		t.Fatalf("%d argon2id runs for a backup with a session token, want 0", got)
	}
	if audit, err := h.srv.Audit(); err != nil || len(audit) == 0 || audit[len(audit)-1].Who != "lisi" || audit[len(audit)-1].Action != county.AuditBackup {
		t.Fatalf("audit after lisi's backup: %+v, %v", audit, err)
	}

	h.restoreFrom(t, file)
	download(filepath.Join(t.TempDir(), "again.jnbk"))
	if got := h.runs(); got != 1 { // the restarted server's: lisi's sign-in again
		t.Fatalf("%d argon2id runs for a backup with an ended session, want 1", got)
	}
	audit, err := h.srv.Audit()
	if err != nil || len(audit) == 0 || audit[len(audit)-1].Who != "lisi" || audit[len(audit)-1].Action != county.AuditBackup {
		t.Fatalf("audit after the restore: %+v, %v", audit, err)
	}
	list, err := h.adminAs(t, "admin", adminPass).Admins(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "admin" || !list[0].Recovery || list[1].Name != "lisi" || list[1].Disabled {
		t.Fatalf("admins of the restored county: %+v, %v", list, err)
	}
}

// TestFileSyncLateDeviceAfterRestore: a device that syncs only by USB
// stick notices a county restored from a backup by the feed epoch its
// bundle names, even when the feed has grown past its cursor again (the
// head alone cannot tell): the return file carries the feed from the start
// and the county's new epoch, the device starts its cursor again, and it
// ends with the county's records; it owes the county the relay of what it
// holds, which its next online session makes.
func TestFileSyncLateDeviceAfterRestore(t *testing.T) {
	h := newHarness(t)
	b := h.device(townA, domain.RoleLeader)
	c := h.device(townA, domain.RoleLeader)
	b.create("B1 便民服务窗口午间值守")
	b.sync()
	c.sync()
	file := filepath.Join(t.TempDir(), "county.jnbk")
	h.backupTo(t, file)
	b.create("B2 村级公厕改造")
	b.sync()
	h.stick(c)
	curC := c.cursor()
	epochBefore, _ := c.st.CountyEpoch()
	if epochBefore != h.srv.Epoch() {
		t.Fatalf("a return file did not teach the device the county's epoch: %s, county %s", epochBefore, h.srv.Epoch())
	}

	res := h.restoreFrom(t, file)
	b.sync() // pushes B2 again
	for i := range 3 {
		b.create("B3 恢复后新录入-" + string(rune('一'+i)))
		b.sync()
	}
	if h.feedHead() <= curC {
		t.Fatalf("feed head %d not past c's cursor %d: c would not be late", h.feedHead(), curC)
	}

	bundle, _ := c.export(engine.ExportOptions{})
	ret, sum := h.importBundle(bundle)
	if sum.From != 0 {
		t.Fatalf("the return file for a bundle of the old epoch continues from %d, not the start", sum.From)
	}
	got := c.importReturn(ret)
	if !got.Reset {
		t.Fatalf("the device did not start its cursor again: %+v", got)
	}
	if e, _ := c.st.CountyEpoch(); e != res.Epoch {
		t.Fatalf("device epoch %s, county's %s", e, res.Epoch)
	}
	if pending, _ := c.st.RelayPending(); !pending {
		t.Fatal("no relay owed to the restored county")
	}
	if want, have := titles(t, h.srv.Store()), titles(t, c.st); !slices.Equal(want, have) {
		t.Fatalf("the device holds %v, the county %v", have, want)
	}
	// The next stick sync continues the new epoch's feed.
	b.create("B4 再次新录入")
	b.sync()
	if got := h.stick(c); got.Reset || got.Cursor != h.feedHead() {
		t.Fatalf("the next return file: %+v (county head %d)", got, h.feedHead())
	}
}
