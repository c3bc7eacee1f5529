package municipal_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"jiannuo/auth"
	"jiannuo/backup"
	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/server/county"
	"jiannuo/server/county/countytest"
	"jiannuo/server/loadgen"
	"jiannuo/server/municipal"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

const backupPass = "县服务器备份口令2026"

// TestCountyBackupUnderLoadRestored: a county server is backed up through
// its admin API while the load generator pushes change sets at it; more
// is receipted after the backup. The server is stopped and restored from
// the backup, which passes the server's check; it comes back with a new
// feed epoch. The devices reconnect one after the other, one of them after
// the feed has grown past its cursor again, and the load generator's
// devices never come back: in the end the county holds every change set
// it ever receipted, each once (the devices relayed what only they held,
// and every receipt a device holds names what the county holds), and the
// municipal node, which noticed the restore and pulled the feed again,
// holds exactly what the county holds.
func TestCountyBackupUnderLoadRestored(t *testing.T) {
	c := newCounty(t, "410324")
	m := newMunicipal(t, "市信用平台-1", c)
	m.start(c.serfAddr)
	const townA office.Code = "410324101"
	a := c.device(townA, domain.RoleLeader)
	b := c.device(townA, domain.RoleLeader)
	x := c.device(townA, domain.RoleStaff)
	a.create("A1 路灯维修三日内答复", domain.WorkdaysDeadline(10))
	a.sync()
	b.create("B1 便民服务窗口午间值守", domain.WorkdaysDeadline(10))
	b.sync()
	x.sync()

	// The load: township devices of the same township pushing change sets,
	// a couple at a time each, so the ingest runs long past the backup.
	lg, err := loadgen.New(loadgen.Config{URL: "https://" + c.addr, Fingerprint: c.fp, Devices: 3, ChangeSets: 60, Ops: 5,
		Offices: 1, Window: 1, Approve: func(_ context.Context, d protocol.DeviceID) error {
			_, err := c.srv.Approve(d, countyapi.ApproveRequest{}, "loadgen")
			return err
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ran := make(chan error, 1)
	go func() {
		res, err := lg.Run(ctx)
		if err == nil && (res.Refused != 0 || res.Unacknowledged != 0) {
			err = errors.New("the load was not all receipted")
		}
		ran <- err
	}()
	// Wait until the load is being ingested, then back up.
	loadStart := c.head()
	for c.head() < loadStart+20 {
		select {
		case <-c.srv.FeedWaiter():
		case err := <-ran:
			t.Fatalf("the load ended before the backup: %v", err)
		case <-ctx.Done():
			t.Fatal("the load did not start")
		}
	}
	file := filepath.Join(t.TempDir(), "county.jnbk")
	cfg := countyapi.DefaultConfig("https://"+c.addr, c.fp)
	cfg.Admin, cfg.Password = "admin", adminPass
	var man backup.Manifest
	err = countyapi.New(cfg).Backup(ctx, func(r io.Reader) error {
		man, err = backup.CreateFrom(file, backup.WriterOptions{Kind: backup.KindCounty, Passphrase: backupPass, KDF: auth.TestParams()}, r, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	loadEnd := c.head()
	if man.FeedHead <= loadStart || man.FeedHead >= loadEnd {
		t.Fatalf("backup at feed head %d, the load ran from %d to %d: not taken under load", man.FeedHead, loadStart, loadEnd)
	}

	// After the backup: the devices receive the load and work on.
	a.create("A2 老旧小区加装电梯答复", domain.WorkdaysDeadline(10))
	a.sync()
	b.sync()
	b.create("B2 村级公厕改造", domain.WorkdaysDeadline(10))
	b.sync()
	x.sync()
	m.waitConverged(c)
	ever := countytest.FeedSet(t, c.srv.Store())
	curX, _ := x.st.Cursor()

	// The server stops and is restored; the result passes the check.
	c.stop()
	res, err := county.Restore(file, c.dir, county.RestoreOptions{Passphrase: func() (string, error) { return backupPass, nil }, Force: true, Who: "test"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := county.Check(c.dir)
	if err != nil {
		t.Fatalf("check after the restore: %v", err)
	}
	if rep.FeedHead != man.FeedHead || rep.Epoch != res.Epoch.String() || rep.Epoch == man.Epoch {
		t.Fatalf("check %+v after restoring %+v into epoch %s", rep, man, res.Epoch)
	}
	if _, err := os.Stat(res.Replaced); err != nil {
		t.Fatalf("the replaced directory is gone: %v", err)
	}
	c.join = []string{m.n.ClusterAddr()} // it left the cluster: it joins the node again
	c.start()

	// The node notices the restore by the epoch.
	m.waitFor("the node to see the restore", func(s municipal.Status) bool { return countyOf(s, c.code).Restored > 0 })

	// The devices come back in turn: b first (relaying what a, x and the
	// load generator's devices did after the backup), then it works on
	// until the feed is past x's cursor; then x, late; a last.
	b.sync()
	for i := 0; c.head() <= curX; i++ {
		b.create("B3 恢复后新录入-"+string(rune('一'+i)), domain.WorkdaysDeadline(10))
		b.sync()
	}
	x.sync()
	a.create("A3 恢复后录入", domain.WorkdaysDeadline(10))
	a.sync()
	b.sync()
	x.sync()

	countytest.HasAll(t, countytest.FeedSet(t, c.srv.Store()), ever)
	want, err := c.srv.Store().Digest()
	if err != nil {
		t.Fatal(err)
	}
	for name, d := range map[string]*device{"a": a, "b": b, "x": x} {
		if got, _ := d.st.Digest(); got != want {
			t.Errorf("%s's replica differs from the county's", name)
		}
		countytest.ReceiptsMatch(t, d.st, c.srv.Store(), c.key)
	}
	m.waitConverged(c)
	sameAs(t, "the municipal replica after the restore", m.n.Store(), union(t, c))
	if got, _ := m.n.Store().Digest(); got != want {
		t.Fatal("the municipal node's digest differs from the county's")
	}
	if e, _ := m.n.Epoch(c.code); e != res.Epoch {
		t.Fatalf("the node counts in epoch %s, the county serves %s", e, res.Epoch)
	}
	if cs := countyOf(m.n.Status(), c.code); cs.State == municipal.StateBehind || cs.State == municipal.StateTampered {
		t.Fatalf("the node's view of the county: %+v", cs)
	}
	if titles := func() []string {
		all, _ := c.srv.Store().AllCommitments()
		var out []string
		for _, cm := range all {
			if slices.Contains([]string{"A1 路灯维修三日内答复", "A2 老旧小区加装电梯答复", "A3 恢复后录入", "B2 村级公厕改造"}, cm.Title) {
				out = append(out, cm.Title)
			}
		}
		return out
	}(); len(titles) != 4 {
		t.Fatalf("the county holds %q of the devices' commitments", titles)
	}
}
