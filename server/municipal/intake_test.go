package municipal_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/server/municipal"
	"jiannuo/server/public"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// Cases filed on the node's page travel to the county on the upstream
// session, through real county servers and a real municipal node in one
// cluster; the case comes back down the county's feed like any record.

// The filer's contact: it must never be where it must not be.
var filer = protocol.Contact{Name: "欧阳明月", Phone: "+86 139-0000-1234"}

// logBuffer collects a component's logs; slog handlers write from many
// goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

func jpeg(n int, seed byte) []byte {
	b := bytes.Repeat([]byte{seed}, n)
	copy(b, "\xff\xd8\xff\xe0")
	return b
}

// filing is a complaint about ref as the public page hands it to the
// node: everything but the node and the sealed contact filled in.
func filing(ref store.Ref, files ...[]byte) (*protocol.Intake, map[protocol.Hash][]byte) {
	id := protocol.NewEntityID()
	in := &protocol.Intake{ID: id, Kind: domain.CaseComplaint, Office: ref.Office, Commitment: ref.ID,
		Text: "路灯坏了两周没人修。", Filed: time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC).UnixMilli(),
		TrackHash: protocol.TrackHash(id, protocol.NewTrackingCode())}
	in.Number = protocol.CaseNumber(in.Kind, in.Filed, id)
	m := map[protocol.Hash][]byte{}
	for i, data := range files {
		h := protocol.Hash(sha256.Sum256(data))
		in.Attachments = append(in.Attachments, protocol.Attachment{Hash: h, Name: "照片" + string(rune('1'+i)) + ".jpg", MIME: domain.MIMEJPEG, Size: int64(len(data))})
		m[h] = data
	}
	slices.SortFunc(in.Attachments, func(a, b protocol.Attachment) int { return bytes.Compare(a.Hash[:], b.Hash[:]) })
	return in, m
}

// waitIntake waits on the node's status events until its intake is in
// state.
func (m *muniNode) waitIntake(id protocol.EntityID, state string) {
	m.t.Helper()
	m.waitFor("intake "+state, func(municipal.Status) bool {
		st, ok, err := m.n.IntakeState(id)
		return err == nil && ok && st.State == state
	})
}

// holdsNowhere fails the test if any file under dir holds any of the
// strings.
func holdsNowhere(t *testing.T, what, dir string, secrets ...string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s: %s holds %q", what, path, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPublicFilingRoundTrip: a complaint filed with the node, with a photo
// and the filer's name and phone, reaches the county that owns the
// commitment, which opens it once; the case comes back down the county's
// feed to the node's replica, which stays exactly the county's; the
// node fetches the content of every evidence file its replica cites, the
// photo and a township's fulfilment evidence; the county admin reads the
// contact, the township's device opens its own copy; the plaintext is in
// no file of the node and in no log line of the node or the county.
func TestPublicFilingRoundTrip(t *testing.T) {
	var countyLogs, nodeLogs logBuffer
	c := newCountyLogged(t, luanchuan, &countyLogs)
	m := newMunicipal(t, "市信用平台", c)
	m.logs = &nodeLogs
	m.start(c.serfAddr)
	d := c.device(township(luanchuan, 0), domain.RoleLeader)
	ref := d.create("路灯报修三日内修复", domain.WorkdaysDeadline(3))
	d.publish(ref)
	photo := jpeg(150<<10, 'e')
	eh, err := d.se.AddEvidence("修复照片.jpg", domain.MIMEJPEG, bytes.NewReader(photo))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.se.LogFulfilment(ref, store.EntryInput{Date: calendar.NewDate(2026, 11, 5), Progress: 50, Note: "已修复一半", Evidence: []protocol.Hash{eh}}); err != nil {
		t.Fatal(err)
	}
	d.sync()
	m.waitConverged(c)

	in, files := filing(ref, jpeg(70<<10, 'f'))
	if err := m.n.SubmitIntake(context.Background(), in, filer, files); err != nil {
		t.Fatal(err)
	}
	if in.Node != m.n.Identity().ID || len(in.Contact) == 0 {
		t.Fatalf("the intake was not signed and sealed: node %s, contact %d bytes", in.Node, len(in.Contact))
	}
	// Taken again (a form sent twice): nothing changes.
	if err := m.n.SubmitIntake(context.Background(), in, filer, files); err != nil {
		t.Fatal(err)
	}
	m.waitIntake(in.ID, public.IntakeAccepted)
	if id, ok, err := m.n.IntakeByNumber(in.Number); err != nil || !ok || id != in.ID {
		t.Fatalf("by its number: %s %v %v", id, ok, err)
	}
	if _, ok, _ := m.n.IntakeByNumber("TS20261207-00000000"); ok {
		t.Fatal("a number never filed here found")
	}
	st, _, _ := m.n.IntakeState(in.ID)
	if st.Pos == 0 || st.Intake.Number != in.Number {
		t.Fatalf("intake state %+v", st)
	}
	cases, err := c.srv.Store().Cases(store.CaseFilter{})
	if err != nil || len(cases) != 1 || cases[0].ID != in.ID || cases[0].Source != domain.CaseSourcePublic {
		t.Fatalf("county cases %+v %v", cases, err)
	}
	m.waitConverged(c)
	mc, err := m.n.Store().Case(ref.Office, in.ID)
	if err != nil || mc.Number != in.Number || mc.TrackHash == nil || *mc.TrackHash != in.TrackHash {
		t.Fatalf("on the node's replica: %+v %v", mc, err)
	}
	if protocol.CheckTrackingCode(in.ID, "0000-0000-0000", *mc.TrackHash) {
		t.Fatal("any code tracks the case")
	}
	sameAs(t, "the municipal replica", m.n.Store(), union(t, c))

	// Every evidence file the replica cites comes down, checked.
	var photoHash protocol.Hash
	for h := range files {
		photoHash = h
	}
	m.waitFor("the evidence content", func(municipal.Status) bool {
		a, _ := m.n.Store().HasEvidence(eh)
		b, _ := m.n.Store().HasEvidence(photoHash)
		return a && b
	})
	if got, err := m.n.Store().EvidenceContent(eh); err != nil || !bytes.Equal(got, photo) {
		t.Fatalf("fulfilment evidence on the node: %v", err)
	}
	if got, err := m.n.Store().EvidenceContent(photoHash); err != nil || !bytes.Equal(got, files[photoHash]) {
		t.Fatalf("the filed photo on the node: %v", err)
	}
	if got, err := c.srv.Store().EvidenceContent(photoHash); err != nil || !bytes.Equal(got, files[photoHash]) {
		t.Fatalf("the filed photo on the county: %v", err)
	}

	// The county admin reads the contact, on record; the township's
	// device opens its own copy.
	ct, err := c.srv.CaseContact(in.Number, "admin")
	if err != nil || ct.Name != filer.Name || ct.Phone != filer.Phone {
		t.Fatalf("the admin reads %+v %v", ct, err)
	}
	d.sync()
	if got, err := d.se.CaseContact(ref.Office, in.ID); err != nil || got != filer {
		t.Fatalf("the township reads %+v %v", got, err)
	}

	// The plaintext is in no file of the node and no log line.
	m.stop() // its file closed and complete
	holdsNowhere(t, "the municipal node's data", m.dir, filer.Name, filer.Phone)
	for what, logs := range map[string][]byte{"the node's logs": nodeLogs.Bytes(), "the county's logs": countyLogs.Bytes()} {
		if len(logs) == 0 {
			t.Fatalf("%s are empty: not captured", what)
		}
		for _, s := range []string{filer.Name, filer.Phone} {
			if bytes.Contains(logs, []byte(s)) {
				t.Errorf("%s hold %q", what, s)
			}
		}
	}
	if !bytes.Contains(nodeLogs.Bytes(), []byte(in.Number)) {
		t.Error("the node's logs do not name the case it took")
	}
}

// cityWithTownship is a county server with a township's leader device
// and a municipal node pulling it.
func cityWithTownship(t *testing.T) (*countyNode, *muniNode, *device) {
	t.Helper()
	c := newCounty(t, luanchuan)
	m := newMunicipal(t, "市信用平台", c)
	m.start(c.serfAddr)
	return c, m, c.device(township(luanchuan, 0), domain.RoleLeader)
}

// TestFilingWhileCountyDown: a case filed while its county's server is
// down waits on the node and is delivered, once, when the county is back.
func TestFilingWhileCountyDown(t *testing.T) {
	c, m, d := cityWithTownship(t)
	ref := d.create("窗口午间值守", domain.WorkdaysDeadline(5))
	d.publish(ref)
	d.sync()
	m.waitConverged(c)

	c.kill()
	m.waitFor("the county failed", func(s municipal.Status) bool { return countyOf(s, luanchuan).Member == "failed" })
	in, files := filing(ref, jpeg(10<<10, 'g'))
	if err := m.n.SubmitIntake(context.Background(), in, protocol.Contact{}, files); err != nil {
		t.Fatal(err)
	}
	if s := m.n.Status(); countyOf(s, luanchuan).IntakesPending != 1 {
		t.Fatalf("pending intakes %+v", countyOf(s, luanchuan))
	}
	c.start()
	m.waitIntake(in.ID, public.IntakeAccepted)
	m.waitConverged(c)
	for what, st := range map[string]*store.Store{"county": c.srv.Store(), "node": m.n.Store()} {
		if cases, err := st.Cases(store.CaseFilter{}); err != nil || len(cases) != 1 {
			t.Fatalf("%s holds %d cases: %v", what, len(cases), err)
		}
	}
	if s := m.n.Status(); countyOf(s, luanchuan).IntakesPending != 0 {
		t.Fatalf("pending intakes %+v", countyOf(s, luanchuan))
	}
	sameAs(t, "the municipal replica", m.n.Store(), union(t, c))
}

// TestFilingSurvivesNodeRestart: a case filed while the node cannot reach
// the county survives the node's restart and is delivered once after it;
// one the county refuses is kept as refused, with the county's code.
func TestFilingSurvivesNodeRestart(t *testing.T) {
	c, m, d := cityWithTownship(t)
	ref := d.create("窗口午间值守", domain.WorkdaysDeadline(5))
	d.publish(ref)
	draft := d.create("草稿", domain.WorkdaysDeadline(5))
	d.sync()
	m.waitConverged(c)

	m.gate.set(c.addr, true)
	in, files := filing(ref)
	if err := m.n.SubmitIntake(context.Background(), in, filer, files); err != nil {
		t.Fatal(err)
	}
	bad, _ := filing(draft)
	if err := m.n.SubmitIntake(context.Background(), bad, protocol.Contact{}, nil); err != nil {
		t.Fatal(err)
	}
	other, _ := filing(store.Ref{Office: "410325101", ID: ref.ID})
	if err := m.n.SubmitIntake(context.Background(), other, protocol.Contact{}, nil); protocol.CodeOf(err) != protocol.CodeOutOfScope {
		t.Fatalf("a filing no trusted county covers: %v", err)
	}
	m.stop()
	m.gate.set(c.addr, false)
	m.start(c.serfAddr)
	m.waitIntake(in.ID, public.IntakeAccepted)
	m.waitIntake(bad.ID, public.IntakeRefused)
	if st, _, _ := m.n.IntakeState(bad.ID); st.Code != protocol.CodeUnknownRecord {
		t.Fatalf("refused with %s (%s)", st.Code, st.Message)
	}
	if _, ok, _ := m.n.IntakeState(other.ID); ok {
		t.Fatal("a filing refused at the node was kept")
	}
	m.waitConverged(c)
	if cases, err := c.srv.Store().Cases(store.CaseFilter{}); err != nil || len(cases) != 1 || cases[0].ID != in.ID {
		t.Fatalf("county cases %+v %v", cases, err)
	}
	sameAs(t, "the municipal replica", m.n.Store(), union(t, c))
}
