package county_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/server/county"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// engineFor starts an engine for a session of an enrolled device.
func (h *harness) engineFor(se *store.Session) *engine.Engine {
	return engine.New(se, engine.Config{URL: h.base.SyncURL(), Fingerprint: h.base.Fingerprint, CountyKey: h.key,
		Logger: quiet(), MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
}

// TestForkSettledByReenrolment: a township device is restored from an old
// backup and used, so its chain forks from what the county accepted. It
// stops; asks to be re-enrolled; the admin sees the request with the fork
// point and approves; the device re-keys, carrying its unaccepted work over.
// Neither branch is dropped: the county and the office's other device end
// up with both, the field both branches wrote is in the conflict queue, the
// old key is revoked with the reason, and the fork incident is settled.
func TestForkSettledByReenrolment(t *testing.T) {
	h := newHarness(t)
	a := h.device(townA, domain.RoleStaff)
	peer := h.device(townA, domain.RoleStaff)
	ref := a.create("老旧小区加装电梯")
	a.sync()
	backup := filepath.Join(t.TempDir(), "backup.db")
	if err := a.st.View(func(tx *bolt.Tx) error { return tx.CopyFile(backup, 0o600) }); err != nil {
		t.Fatal(err)
	}
	if err := a.se.Edit(ref, domain.FieldTitle, "老旧小区加装电梯（原机）"); err != nil {
		t.Fatal(err)
	}
	aRef := a.create("原机新建：路灯维修")
	a.sync()

	// The backup, restored and used.
	st, err := store.Open(backup, &store.Options{KDF: auth.TestParams(), Logger: quiet(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Check(); err != nil {
			t.Errorf("restored replica invariants: %v", err)
		}
		st.Close()
	})
	se, err := st.SignIn("user", devPass)
	if err != nil {
		t.Fatal(err)
	}
	oldID := se.Device().ID
	if err := se.Edit(ref, domain.FieldTitle, "老旧小区加装电梯（恢复机）"); err != nil {
		t.Fatal(err)
	}
	rRef, err := se.Create(store.Draft{Category: domain.CatConvenience, Title: "恢复机新建：垃圾清运", Text: "每日清运",
		Responsible: "负责人", StartDate: calendar.NewDate(2026, 11, 2), Deadline: domain.WorkdaysDeadline(10), Public: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := se.Seal(0); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var fatal *engine.FatalError
	if err := h.engineFor(se).SyncOnce(ctx); !errors.As(err, &fatal) || fatal.Code != protocol.CodeFork {
		t.Fatalf("restored device synced: %v", err)
	}

	en, err := engine.RequestReenrolment(ctx, h.base, se)
	if err != nil || en.Status != "pending" || en.Replaces != oldID || en.CarryFrom != 2 {
		t.Fatalf("re-enrolment request: %+v %v", en, err)
	}
	newID, _, _ := se.Successor()
	pending, err := h.srv.Enrolments(false)
	if err != nil || len(pending) != 1 || pending[0].Device != newID || pending[0].Replaces != oldID || pending[0].Carried != 1 || pending[0].Office != townA {
		t.Fatalf("admin's pending list: %+v %v", pending, err)
	}
	if in := openForks(t, h, oldID); len(in) != 1 {
		t.Fatalf("fork incidents before approval: %+v", in)
	}
	// Pending: nothing changes on the device yet.
	if nse, en, _, err := engine.CompleteReenrolment(ctx, h.base, se); nse != nil || err != nil || en.Status != "pending" {
		t.Fatalf("completing a pending re-enrolment: %v %+v %v", nse, en, err)
	}
	// The admin may not move the device to another office on the way.
	if _, err := h.srv.Approve(newID, countyapi.ApproveRequest{Office: townB}, "admin"); !errors.Is(err, protocol.ErrInvalidOperation) {
		t.Fatalf("approving into another office: %v", err)
	}
	if _, err := h.srv.Approve(newID, countyapi.ApproveRequest{}, "admin"); err != nil {
		t.Fatal(err)
	}

	nse, en, res, err := engine.CompleteReenrolment(ctx, h.base, se)
	if err != nil || nse == nil || nse.Device().ID != newID || res.Forked != 1 || res.Carried != 2 {
		t.Fatalf("completing: %+v %+v %v", en, res, err)
	}
	restored := &device{t: t, st: st, se: nse, eng: h.engineFor(nse)}
	restored.sync()
	peer.sync()
	restored.sync()
	if restored.digest() != peer.digest() {
		t.Fatal("the re-keyed device and the office's other device differ")
	}
	for _, r := range []store.Ref{aRef, rRef} {
		if _, err := peer.st.Commitment(r); err != nil {
			t.Errorf("%s missing on the office's other device: %v", r, err)
		}
		if _, err := h.srv.Store().Commitment(r); err != nil {
			t.Errorf("%s missing on the county: %v", r, err)
		}
	}
	cs, err := h.srv.Store().Conflicts()
	if err != nil || len(cs) != 1 || cs[0].Ref != ref || len(cs[0].Versions) != 2 {
		t.Fatalf("county conflicts: %+v %v", cs, err)
	}
	// The original machine, still holding the old key, is refused with why.
	if err := a.eng.SyncOnce(ctx); !errors.As(err, &fatal) || fatal.Code != protocol.CodeRevokedDevice || !strings.Contains(fatal.Message, newID.Short()) {
		t.Fatalf("old key after re-enrolment: %v", err)
	}
	if in := openForks(t, h, oldID); len(in) != 0 {
		t.Fatalf("fork incidents left open: %+v", in)
	}
	trail, err := h.srv.Audit()
	if err != nil {
		t.Fatal(err)
	}
	var audited bool
	for _, e := range trail {
		audited = audited || (e.Action == county.AuditReenrol && e.Target == newID.String() && strings.Contains(e.Detail, oldID.String()))
	}
	if !audited {
		t.Fatalf("no re-enrolment in the audit trail: %+v", trail)
	}
}

func openForks(t *testing.T, h *harness, dev protocol.DeviceID) []countyapi.Incident {
	t.Helper()
	all, err := h.srv.Incidents()
	if err != nil {
		t.Fatal(err)
	}
	var out []countyapi.Incident
	for _, in := range all {
		if in.Device == dev && in.Code == protocol.CodeFork && !in.Acknowledged {
			out = append(out, in)
		}
	}
	return out
}

// TestReenrolmentRefusals: a re-enrolment request that is forged, names a
// device the county never enrolled, or asks for another office is refused
// with its code, logged as an incident, and leaves no enrolment behind.
func TestReenrolmentRefusals(t *testing.T) {
	h := newHarness(t)
	a := h.device(townA, domain.RoleStaff)
	old := a.se.Device()
	_, oldKey, _ := ed25519.GenerateKey(nil) // not the device's key
	newPub, newKey, _ := ed25519.GenerateKey(nil)
	in := protocol.EnrolRequest{Key: newPub, Office: old.Office, DeviceName: "新终端", Staff: "王建国", Time: 1}
	inner := in.Sign(newKey)
	stranger := protocol.ReenrolRequest{Enrol: inner, Old: old.Key, From: 1, Time: 1}
	unknown := protocol.ReenrolRequest{Enrol: inner, Old: oldKey.Public().(ed25519.PublicKey), From: 1, Time: 1}
	for _, c := range []struct {
		name string
		body []byte
		code protocol.Code
	}{
		{"signed by a key other than the device's", stranger.Sign(oldKey), protocol.CodeBadSignature},
		{"a device never enrolled here", unknown.Sign(oldKey), protocol.CodeUnknownDevice},
		{"garbage", []byte("JNRE\x01garbage"), protocol.CodeMalformed},
		{"oversized", bytes.Repeat([]byte{1}, 300<<10), protocol.CodeOversize},
	} {
		status, code := postReenrol(t, h, c.body)
		if status != http.StatusBadRequest || code != c.code {
			t.Errorf("%s: %d %q, want 400 %q", c.name, status, code, c.code)
		}
	}
	if all, err := h.srv.Enrolments(true); err != nil || len(all) != 1 {
		t.Fatalf("enrolments after refused requests: %+v %v", all, err)
	}
	incidents, _ := h.srv.Incidents()
	if len(incidents) < 4 {
		t.Errorf("refused requests left %d incidents", len(incidents))
	}
}

func postReenrol(t *testing.T, h *harness, body []byte) (int, protocol.Code) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: protocol.PinnedTLSConfig(h.base.Fingerprint)}}
	resp, err := c.Post(h.base.BaseURL+"/enrol/replace", "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var e struct {
		Code protocol.Code `json:"code"`
	}
	_ = json.Unmarshal(raw, &e)
	return resp.StatusCode, e.Code
}
