package county

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"jiannuo/auth"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"

	bolt "go.etcd.io/bbolt"
)

func (f *adminFixture) audit() countyapi.AuditReport {
	f.t.Helper()
	code, body := f.admin("GET", "/admin/audit", nil)
	if code != http.StatusOK {
		f.t.Fatalf("GET /admin/audit: %d %s", code, body)
	}
	var rep countyapi.AuditReport
	if err := json.Unmarshal(body, &rep); err != nil {
		f.t.Fatal(err)
	}
	return rep
}

func TestAuditTrail(t *testing.T) {
	f := startAdminFixture(t)
	if rep := f.audit(); len(rep.Entries) != 0 || !rep.Verified {
		t.Fatalf("fresh audit: %+v", rep)
	}
	a := newTestDevice(t, chitudian, "赤土店镇-1", "李明")
	b := newTestDevice(t, chitudian, "赤土店镇-2", "王芳")
	f.enrol(a)
	f.enrol(b)
	if code, body := f.admin("POST", "/admin/enrolments/"+a.id.String()+"/approve", countyapi.ApproveRequest{}); code != http.StatusOK {
		t.Fatalf("approve: %d %s", code, body)
	}
	if code, body := f.admin("POST", "/admin/enrolments/"+b.id.String()+"/reject", countyapi.ReasonRequest{Reason: "非本单位设备"}); code != http.StatusOK {
		t.Fatalf("reject: %d %s", code, body)
	}
	if code, body := f.admin("POST", "/admin/devices/"+a.id.String()+"/revoke", countyapi.ReasonRequest{Reason: "笔记本丢失"}); code != http.StatusOK {
		t.Fatalf("revoke: %d %s", code, body)
	}
	rep := f.audit()
	if !rep.Verified || len(rep.Entries) != 3 {
		t.Fatalf("audit: %+v", rep)
	}
	want := []struct{ action, target, reason string }{
		{AuditApprove, a.id.String(), ""}, {AuditReject, b.id.String(), "非本单位设备"}, {AuditRevoke, a.id.String(), "笔记本丢失"}}
	for i, w := range want {
		e := rep.Entries[i]
		if e.Seq != uint64(i+1) || e.Who != "zhangwei" || e.Action != w.action || e.Target != w.target || e.Reason != w.reason || e.Time.IsZero() {
			t.Errorf("entry %d: %+v, want %+v", i, e, w)
		}
		if i > 0 && e.Prev != rep.Entries[i-1].Hash {
			t.Errorf("entry %d does not name the previous hash", i)
		}
	}
	if err := f.srv.VerifyAudit(); err != nil {
		t.Fatal(err)
	}

	// Flip one byte of the stored reason of entry 2 in the bbolt file.
	key := binary.BigEndian.AppendUint64(nil, 2)
	err := f.srv.st.Update(func(tx *bolt.Tx) error {
		v := append([]byte(nil), tx.Bucket(bAudit).Get(key)...)
		i := strings.Index(string(v), `"who":"zhangwei"`) + len(`"who":"`)
		v[i] ^= 0x01 // zhangwei -> {hangwei
		return tx.Bucket(bAudit).Put(key, v)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.srv.VerifyAudit(); !errors.Is(err, ErrAuditBroken) || !strings.Contains(err.Error(), "entry 2") {
		t.Fatalf("VerifyAudit after an edit: %v", err)
	}
	if rep := f.audit(); rep.Verified || !strings.Contains(rep.Problem, "entry 2") {
		t.Fatalf("GET /admin/audit after an edit: verified %v, %q", rep.Verified, rep.Problem)
	}
}

func TestAuditTruncationDetected(t *testing.T) {
	f := startAdminFixture(t)
	a := newTestDevice(t, chitudian, "赤土店镇-1", "李明")
	f.enrol(a)
	if code, body := f.admin("POST", "/admin/enrolments/"+a.id.String()+"/approve", countyapi.ApproveRequest{}); code != http.StatusOK {
		t.Fatalf("approve: %d %s", code, body)
	}
	if err := f.srv.Revoke(a.id, "调岗", "zhangwei"); err != nil {
		t.Fatal(err)
	}
	err := f.srv.st.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bAudit).Delete(binary.BigEndian.AppendUint64(nil, 2))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.srv.VerifyAudit(); !errors.Is(err, ErrAuditBroken) {
		t.Fatalf("VerifyAudit after removing the last entry: %v", err)
	}
}

// startStopped initialises a county server, serves it on 127.0.0.1 with a
// pinned client, and returns the fixture and a function that stops it.
func startStoppable(t *testing.T, dir string) (*adminFixture, func()) {
	t.Helper()
	cfg := DefaultConfig(dir)
	cfg.KDF = auth.TestParams()
	cfg.Logger = slog.New(slog.DiscardHandler)
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	tr := &http.Transport{TLSClientConfig: protocol.PinnedTLSConfig(srv.Identity().Fingerprint)}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		tr.CloseIdleConnections()
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	t.Cleanup(stop)
	return &adminFixture{t: t, srv: srv, base: "https://" + ln.Addr().String(),
		client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}, stop
}

func TestRecoverRevoke(t *testing.T) {
	dir := t.TempDir()
	if _, err := Init(dir, testInitConfig()); err != nil {
		t.Fatal(err)
	}
	f, stop := startStoppable(t, dir)
	laptop := newTestDevice(t, "410324", "县信用办笔记本", "张伟")
	f.enrol(laptop)
	if code, body := f.admin("POST", "/admin/enrolments/"+laptop.id.String()+"/approve", countyapi.ApproveRequest{Admin: true}); code != http.StatusOK {
		t.Fatalf("approve: %d %s", code, body)
	}
	// A second admin credential, not the recovery one.
	if err := addAdmin(f.srv.st, "lisi", "李四的口令", auth.TestParams(), false); err != nil {
		t.Fatal(err)
	}
	stop()

	cfg := DefaultConfig(dir)
	cfg.KDF = auth.TestParams()
	cfg.Logger = slog.New(slog.DiscardHandler)
	for _, c := range []struct{ name, pass string }{{"zhangwei", "wrong"}, {"lisi", "李四的口令"}, {"nobody", "x"}} {
		err := RecoverRevoke(cfg, laptop.id, c.name, c.pass, "笔记本丢失")
		if !errors.Is(err, protocol.ErrNotAuthorized) {
			t.Errorf("recovery as %s/%s: %v, want not_authorized", c.name, c.pass, err)
		}
	}
	if err := RecoverRevoke(cfg, laptop.id, "zhangwei", testAdminPassword, " "); protocol.CodeOf(err) != protocol.CodeInvalidOperation {
		t.Errorf("recovery without a reason: %v", err)
	}
	if err := RecoverRevoke(cfg, laptop.id, "zhangwei", testAdminPassword, "笔记本丢失，管理员口令可能泄露"); err != nil {
		t.Fatal(err)
	}

	f, _ = startStoppable(t, dir)
	var revoked bool
	for _, d := range f.devices() {
		if d.ID == laptop.id {
			revoked = d.Revoked && d.Reason == "笔记本丢失，管理员口令可能泄露"
		}
	}
	if !revoked {
		t.Fatalf("laptop not revoked after recovery: %+v", f.devices())
	}
	rep := f.audit()
	last := rep.Entries[len(rep.Entries)-1]
	if !rep.Verified || last.Action != AuditRecoverRevoke || last.Who != "recovery:zhangwei" || last.Target != laptop.id.String() {
		t.Fatalf("audit after recovery: %+v", rep)
	}
	if !hasIncident(f.incidents(), protocol.CodeNotAuthorized, "recovery revocation") {
		t.Error("failed recovery attempts left no incident")
	}
}

func TestAuditUpstream(t *testing.T) {
	f := startAdminFixture(t)
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.srv.AuthoriseUpstream(pub, "市信用平台-1"); err != nil {
		t.Fatal(err)
	}
	rep := f.audit()
	if !rep.Verified || len(rep.Entries) != 1 || rep.Entries[0].Action != AuditUpstream || rep.Entries[0].Detail != "市信用平台-1" {
		t.Fatalf("audit: %+v", rep)
	}
}
