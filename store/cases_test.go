package store

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/sync/protocol"
)

// testKey returns a deterministic ed25519 key for a name.
func testKey(name string) ed25519.PrivateKey {
	s := sha256.Sum256([]byte("jiannuo store test key: " + name))
	return ed25519.NewKeyFromSeed(s[:])
}

// countyServer is a county server's replica, as far as cases go: a store
// with a feed and its own server device, which opens the cases the public
// files.
type countyServer struct {
	*Store
	key  ed25519.PrivateKey // the county key
	node ed25519.PrivateKey // the municipal node that signs intakes
	sg   *ServerSigner
	rec  DeviceRecord
	sets [][]byte // every change set of the server device, in order
}

func newCountyServer(t testing.TB) *countyServer {
	t.Helper()
	path := filepath.Join(t.TempDir(), "county.db")
	s, err := Open(path, &Options{Now: newStepClock().Now, KDF: auth.TestParams(), Logger: quietLogger(), NoSync: true, Feed: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Check(); err != nil {
			t.Errorf("county store invariants at end of test: %v", err)
		}
		s.Close()
	})
	key := testKey("county 410324")
	devKey := protocol.ServerDeviceKey(key)
	sg, err := NewServerSigner(devKey, county)
	if err != nil {
		t.Fatal(err)
	}
	rec := DeviceRecord{ID: sg.Device(), Key: devKey.Public().(ed25519.PublicKey), Office: county, Name: "县级平台", Admin: true}
	if err := s.PutDevice(rec); err != nil {
		t.Fatal(err)
	}
	return &countyServer{Store: s, key: key, node: testKey("municipal node"), sg: sg, rec: rec}
}

// knows registers the replicas' devices with the server and the server's
// device, and the county key, with the replicas.
func (cs *countyServer) knows(t testing.TB, rs ...*replica) {
	t.Helper()
	for _, r := range rs {
		if err := cs.PutDevice(r.se.Device()); err != nil {
			t.Fatal(err)
		}
		if err := r.PutDevice(cs.rec); err != nil {
			t.Fatal(err)
		}
		if err := r.SetSyncSettings(SyncSettings{County: county, CountyKey: cs.key.Public().(ed25519.PublicKey), Enrolled: true}); err != nil {
			t.Fatal(err)
		}
	}
}

// sign has the server device sign ops, applies the change set to the
// server's replica through ApplyBatch and returns it.
func (cs *countyServer) sign(t testing.TB, ops ...protocol.Op) []byte {
	t.Helper()
	c, err := cs.sg.Next(cs.Store, ServerAuthor, ops)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cs.ApplyBatch([][]byte{c.Bytes()}, nil)
	if err != nil || !res[0].Applied() || res[0].Pos == 0 {
		t.Fatalf("server change set: %+v, %v", res, err)
	}
	cs.sets = append(cs.sets, c.Bytes())
	return c.Bytes()
}

// fileComplaint does what the county server does with an intake the
// public filed about commitment ref: the case, sealed for the county and
// the office's devices, assigned with the default deadlines.
func (cs *countyServer) fileComplaint(t testing.TB, ref Ref, text string, contact protocol.Contact) (protocol.EntityID, string, []byte) {
	t.Helper()
	id := protocol.NewEntityID()
	code := protocol.NewTrackingCode()
	filed := cs.Now().UnixMilli()
	sealed, err := protocol.SealContact(contact, cs.key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	in := &protocol.Intake{ID: id, Number: protocol.CaseNumber(domain.CaseComplaint, filed, id), Kind: domain.CaseComplaint,
		Office: ref.Office, Commitment: ref.ID, Text: text, TrackHash: protocol.TrackHash(id, code), Contact: sealed, Filed: filed}
	raw := in.Sign(cs.node)
	if _, err := protocol.OpenIntake(raw, cs.node.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
	var recipients []protocol.DeviceInfo
	err = cs.View(func(tx *bolt.Tx) error {
		var err error
		recipients, err = ContactRecipientsTx(tx, ref.Office)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	boxes, err := protocol.SealContacts(contact, cs.key.Public().(ed25519.PublicKey), recipients)
	if err != nil {
		t.Fatal(err)
	}
	day := domain.ChinaDate(filed)
	ack, _ := domain.CaseDeadline(day, domain.DefaultCaseAckDays, calendar.Default())
	answer, _ := domain.CaseDeadline(day, domain.DefaultCaseAnswerDays, calendar.Default())
	return id, code, cs.sign(t, protocol.PublicCaseOps(in, raw, boxes, ack, answer)...)
}

// caseWorld is a township with a leader's and a staff member's replica, a
// county-admin replica and the county server, all introduced, with one
// published commitment everywhere.
type caseWorld struct {
	leader, staff, admin *replica
	server               *countyServer
	ref                  Ref
	// sent holds, per replica, every change set sent to the others.
	sent map[*replica][][]byte
}

func newCaseWorld(t testing.TB) *caseWorld {
	t.Helper()
	w := &caseWorld{leader: newReplica(t, township, domain.RoleLeader), staff: newReplica(t, township, domain.RoleStaff),
		admin: newReplica(t, county, domain.RoleCountyAdmin), server: newCountyServer(t), sent: map[*replica][][]byte{}}
	introduce(t, w.leader, w.staff, w.admin)
	w.server.knows(t, w.leader, w.staff, w.admin)
	ref, err := w.leader.se.Create(sampleDraft("楼道照明每月巡查"))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.leader.se.Publish(ref); err != nil {
		t.Fatal(err)
	}
	w.ref = ref
	w.send(t, w.leader)
	return w
}

// send seals r's pending work and delivers it to every other replica and
// the server.
func (w *caseWorld) send(t testing.TB, r *replica) [][]byte {
	t.Helper()
	sets := r.seal(t, uint64(len(w.sent[r])))
	w.sent[r] = append(w.sent[r], sets...)
	for _, o := range []*replica{w.leader, w.staff, w.admin} {
		if o != r {
			deliver(t, o, sets...)
		}
	}
	deliver(t, &replica{Store: w.server.Store}, sets...)
	return sets
}

// fromServer delivers server change sets to every replica.
func (w *caseWorld) fromServer(t *testing.T, sets ...[]byte) {
	t.Helper()
	for _, r := range []*replica{w.leader, w.staff, w.admin} {
		deliver(t, r, sets...)
	}
}

func mustCase(t *testing.T, s *Store, id protocol.EntityID) Case {
	t.Helper()
	c, err := s.Case(township, id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCaseLifecycle follows a public complaint from the county server to
// the township and back, with a reply sent back once, and an objection,
// on every replica.
func TestCaseLifecycle(t *testing.T) {
	w := newCaseWorld(t)
	contact := protocol.Contact{Name: "张三", Phone: "138 0013 8000"}
	id, code, set := w.server.fileComplaint(t, w.ref, "楼道灯坏了三个月无人修。", contact)
	w.fromServer(t, set)

	everywhere := func(check func(s *Store, c Case)) {
		t.Helper()
		for _, s := range []*Store{w.leader.Store, w.staff.Store, w.admin.Store, w.server.Store} {
			check(s, mustCase(t, s, id))
		}
	}
	filedDay := domain.ChinaDate(mustCase(t, w.server.Store, id).Filed)
	wantAck, _ := domain.CaseDeadline(filedDay, 3, calendar.Default())
	everywhere(func(_ *Store, c Case) {
		if !c.Opened || c.Status != domain.CaseStatusOpen || c.Kind != domain.CaseComplaint || c.Source != domain.CaseSourcePublic ||
			c.Commitment != w.ref || c.AckDue != wantAck.String() || c.AnswerDue == "" || c.OpenedBy != ServerAuthor || len(c.History) != 2 {
			t.Fatalf("opened case: %+v", c)
		}
		if c.TrackHash == nil || !protocol.CheckTrackingCode(id, code, *c.TrackHash) {
			t.Fatal("the tracking code does not check against the case")
		}
	})
	if got, err := w.leader.CaseByNumber(mustCase(t, w.leader.Store, id).Number); err != nil || got.ID != id {
		t.Fatalf("CaseByNumber: %+v, %v", got, err)
	}
	// The contact opens on the township's devices and for the county, and
	// is nowhere in the clear.
	for _, r := range []*replica{w.leader, w.staff} {
		if got, err := r.se.CaseContact(township, id); err != nil || got != contact {
			t.Fatalf("contact on a township device: %+v, %v", got, err)
		}
	}
	if _, err := w.admin.se.CaseContact(township, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("contact on the admin's desktop: %v", err)
	}
	box, err := w.server.CaseContactBox(township, id, protocol.DeviceID{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := protocol.OpenContact(box, w.server.key); err != nil || got != contact {
		t.Fatalf("county's contact: %+v, %v", got, err)
	}
	if raw, err := w.leader.CaseIntake(township, id); err != nil || len(raw) == 0 {
		t.Fatalf("intake: %v", err)
	}

	// Overdue once the acknowledgement deadline has passed.
	c := mustCase(t, w.leader.Store, id)
	if c.Due(wantAck, calendar.Default()).Overdue() || !c.Due(wantAck.AddDays(1), calendar.Default()).AckLate {
		t.Fatalf("due state around %s: %+v", wantAck, c.Due(wantAck.AddDays(1), calendar.Default()))
	}
	if got, _ := w.leader.Cases(CaseFilter{OverdueOn: wantAck.AddDays(1)}); len(got) != 1 {
		t.Fatalf("overdue cases: %d", len(got))
	}

	// The township takes it up, drafts, the leader approves.
	if err := w.staff.se.AcknowledgeCase(township, id); err != nil {
		t.Fatal(err)
	}
	draft, err := w.staff.se.DraftReply(township, id, "已更换灯具。", nil)
	if err != nil {
		t.Fatal(err)
	}
	w.send(t, w.staff)
	if err := w.leader.se.ApproveReply(township, id, draft); err != nil {
		t.Fatal(err)
	}
	w.send(t, w.leader)
	everywhere(func(_ *Store, c Case) {
		if c.Status != domain.CaseStatusReplied || c.Reply == nil || c.Reply.Op != draft || c.Reply.ApprovedBy != "user" || c.Draft != nil || c.PublicReply() != nil {
			t.Fatalf("after approval: %+v", c)
		}
		if c.Due(wantAck.AddDays(60), calendar.Default()).Overdue() {
			t.Fatal("a case awaiting the county is overdue for the township")
		}
	})

	// The county sends it back; the township answers again.
	if _, err := w.admin.se.CaseStep(township, id, CaseStepInput{Step: domain.CaseReturned, Text: "请说明长效机制。"}); err != nil {
		t.Fatal(err)
	}
	w.send(t, w.admin)
	everywhere(func(_ *Store, c Case) {
		if c.Status != domain.CaseStatusAcknowledged || c.Reply != nil || c.ReturnReason != "请说明长效机制。" {
			t.Fatalf("after return: %+v", c)
		}
	})
	ev, err := w.staff.se.AddEvidence("巡查台账.pdf", "application/pdf", bytes.NewReader([]byte("%PDF-1.4 台账")))
	if err != nil {
		t.Fatal(err)
	}
	draft2, err := w.staff.se.DraftReply(township, id, "已更换灯具，并建立每月巡查台账。", []protocol.Hash{ev})
	if err != nil {
		t.Fatal(err)
	}
	w.send(t, w.staff)
	if err := w.leader.se.ApproveReply(township, id, draft2); err != nil {
		t.Fatal(err)
	}
	w.send(t, w.leader)
	if _, err := w.admin.se.CaseStep(township, id, CaseStepInput{Step: domain.CaseAccepted, Finding: domain.FindingUpheld, Text: "反映属实，已整改。"}); err != nil {
		t.Fatal(err)
	}
	w.send(t, w.admin)
	everywhere(func(_ *Store, c Case) {
		if !c.Closed || c.ClosedBy != domain.CaseAccepted || c.Finding != domain.FindingUpheld || c.PublicReply() == nil ||
			c.PublicReply().Op != draft2 || !slices.Equal(c.PublicReply().Evidence, []protocol.Hash{ev}) || c.ReturnReason != "" {
			t.Fatalf("after acceptance: %+v", c)
		}
	})

	// An upheld complaint leads to a dishonesty record, linked to the case.
	rec, err := w.admin.se.RecordDishonesty(w.ref, DishonestyInput{Type: domain.DishonestyBreach, Reason: "经核实未践诺"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.admin.se.CaseStep(township, id, CaseStepInput{Step: domain.CaseLinked, Record: rec}); err != nil {
		t.Fatal(err)
	}
	w.send(t, w.admin)

	// The township objects to the record; the county rejects the objection.
	obj, err := w.leader.se.OpenCase(CaseInput{Kind: domain.CaseObjection, Record: Ref{Office: township, ID: rec}, Text: "系上级调整任务所致。"})
	if err != nil {
		t.Fatal(err)
	}
	w.send(t, w.leader)
	objection := mustCase(t, w.admin.Store, obj)
	if objection.Source != domain.CaseSourceTownship || objection.Record == nil || *objection.Record != rec || objection.Commitment != w.ref ||
		objection.Number[:2] != "YY" {
		t.Fatalf("objection: %+v", objection)
	}
	if _, err := w.admin.se.CaseStep(township, obj, CaseStepInput{Step: domain.CaseAssigned, AnswerDue: calendar.NewDate(2026, 10, 30)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.admin.se.CaseStep(township, obj, CaseStepInput{Step: domain.CaseDecided, Finding: domain.FindingRejected, Text: "记录事实清楚。"}); err != nil {
		t.Fatal(err)
	}
	w.send(t, w.admin)

	// Queries.
	for _, s := range []*Store{w.leader.Store, w.admin.Store, w.server.Store} {
		c := mustCase(t, s, id)
		if !slices.Equal(c.Linked, []protocol.EntityID{rec}) {
			t.Fatalf("linked: %v", c.Linked)
		}
		checks := []struct {
			f    CaseFilter
			want []protocol.EntityID
		}{
			{CaseFilter{}, sortedIDs(id, obj)},
			{CaseFilter{Office: county}, sortedIDs(id, obj)},
			{CaseFilter{Office: township2}, nil},
			{CaseFilter{Commitment: &w.ref}, sortedIDs(id, obj)},
			{CaseFilter{Record: &Ref{Office: township, ID: rec}}, []protocol.EntityID{obj}},
			{CaseFilter{Kind: domain.CaseComplaint}, []protocol.EntityID{id}},
			{CaseFilter{OpenOnly: true}, nil},
			{CaseFilter{Status: domain.CaseStatusClosed}, sortedIDs(id, obj)},
		}
		for _, c := range checks {
			got, err := s.Cases(c.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []protocol.EntityID
			for _, g := range got {
				ids = append(ids, g.ID)
			}
			if !slices.Equal(ids, c.want) {
				t.Errorf("filter %+v: %v, want %v", c.f, ids, c.want)
			}
		}
	}
	if digest(t, w.leader.Store) != digest(t, w.staff.Store) || digest(t, w.leader.Store) != digest(t, w.admin.Store) ||
		digest(t, w.admin.Store) != digest(t, w.server.Store) {
		t.Fatal("replicas holding the same change sets differ")
	}
}

// sortedIDs returns ids in the store's key order (by office, then ID; one
// office here).
func sortedIDs(ids ...protocol.EntityID) []protocol.EntityID {
	out := slices.Clone(ids)
	slices.SortFunc(out, func(a, b protocol.EntityID) int { return bytes.Compare(a[:], b[:]) })
	return out
}

// TestCaseConvergence: replicas that receive the change sets of a case's
// whole life in any order that keeps each device's own order end equal byte
// for byte; steps that arrive before their case are kept and take effect
// when it arrives.
func TestCaseConvergence(t *testing.T) {
	w := newCaseWorld(t)
	id, _, set := w.server.fileComplaint(t, w.ref, "楼道灯坏了。", protocol.Contact{Phone: "13800138000"})
	w.fromServer(t, set)
	steps := []func(){
		func() { must(t, w.staff.se.AcknowledgeCase(township, id)); w.send(t, w.staff) },
		func() {
			d, err := w.staff.se.DraftReply(township, id, "已修复。", nil)
			must(t, err)
			w.send(t, w.staff)
			must(t, w.leader.se.ApproveReply(township, id, d))
			w.send(t, w.leader)
		},
		func() {
			_, err := w.admin.se.CaseStep(township, id, CaseStepInput{Step: domain.CaseReturned, Text: "补充材料。"})
			must(t, err)
			w.send(t, w.admin)
		},
		func() {
			d, err := w.leader.se.DraftReply(township, id, "已修复并建立台账。", nil)
			must(t, err)
			must(t, w.leader.se.ApproveReply(township, id, d))
			w.send(t, w.leader)
		},
		func() {
			_, err := w.admin.se.CaseStep(township, id, CaseStepInput{Step: domain.CaseAccepted, Finding: domain.FindingNotUpheld})
			must(t, err)
			w.send(t, w.admin)
		},
	}
	for _, s := range steps {
		s()
	}
	// A second case the county re-assigns, with a concurrent acknowledgement.
	id2, _, set2 := w.server.fileComplaint(t, w.ref, "走访未落实。", protocol.Contact{})
	w.fromServer(t, set2)
	must(t, w.staff.se.AcknowledgeCase(township, id2))
	ack, ans := calendar.NewDate(2026, 10, 20), calendar.NewDate(2026, 11, 20)
	_, err := w.admin.se.CaseStep(township, id2, CaseStepInput{Step: domain.CaseAssigned, AckDue: ack, AnswerDue: ans})
	must(t, err)
	w.send(t, w.staff)
	w.send(t, w.admin)
	streams := [][][]byte{w.sent[w.leader], w.sent[w.staff], w.sent[w.admin], w.server.sets}

	want := digest(t, w.admin.Store)
	if digest(t, w.server.Store) != want {
		t.Fatal("server and admin replica differ")
	}
	for seed := range uint64(6) {
		rng := rand.New(rand.NewPCG(seed, seed*31))
		fresh := newReplica(t, township, domain.RoleStaff)
		introduce(t, w.leader, w.staff, w.admin, fresh)
		w.server.knows(t, fresh)
		order := interleave(rng, streams, true)
		// Steps of the township first, before the case, at least once.
		if seed == 0 {
			order = slices.Concat(streams[1], streams[0], streams[2], streams[3])
		}
		for i, raw := range order {
			deliver(t, fresh, raw)
			if seed == 0 && i == len(streams[1])-1 {
				if _, err := fresh.Case(township, id); !errors.Is(err, ErrNotFound) {
					t.Fatalf("a case shown before it arrived: %v", err)
				}
				if got, _ := fresh.Cases(CaseFilter{Unopened: true}); len(got) == 0 || got[0].Opened {
					t.Fatalf("steps ahead of their case: %+v", got)
				}
			}
		}
		if got := digest(t, fresh.Store); got != want {
			t.Fatalf("seed %d: digest differs from the admin's", seed)
		}
		c := mustCase(t, fresh.Store, id)
		if !c.Closed || c.Finding != domain.FindingNotUpheld || c.Reply == nil || c.Reply.Text != "已修复并建立台账。" {
			t.Fatalf("seed %d: %+v", seed, c)
		}
		c2 := mustCase(t, fresh.Store, id2)
		if c2.Status != domain.CaseStatusAcknowledged || c2.AckDue != ack.String() || c2.AnswerDue != ans.String() {
			t.Fatalf("seed %d: re-assigned case %+v", seed, c2)
		}
	}
}

// TestCaseSessionRefusals: every action a role or scope does not allow,
// and every step the case's state does not, is refused and changes
// nothing: no state, no queued operation.
func TestCaseSessionRefusals(t *testing.T) {
	w := newCaseWorld(t)
	id, _, set := w.server.fileComplaint(t, w.ref, "楼道灯坏了。", protocol.Contact{})
	w.fromServer(t, set)
	rec, err := w.admin.se.RecordDishonesty(w.ref, DishonestyInput{Type: domain.DishonestyBreach, Reason: "逾期"})
	must(t, err)
	w.send(t, w.admin)
	// A replica of the neighbouring township that holds the case anyway.
	neigh := newReplica(t, township2, domain.RoleLeader)
	introduce(t, neigh, w.leader, w.admin)
	w.server.knows(t, neigh)
	first, _ := w.leader.ChangeSets(w.leader.se.Device().ID, 0, 0)
	deliver(t, neigh, first...)
	deliver(t, neigh, set)
	// A leader's account on the county-admin device.
	must(t, w.admin.se.AddAccount("deputy", "副主任", domain.RoleLeader, testPass))
	deputy, err := w.admin.SignIn("deputy", testPass)
	must(t, err)
	staffDraft, err := w.staff.se.DraftReply(township, id, "草稿。", nil)
	must(t, err)
	must(t, w.leader.se.AcknowledgeCase(township, id))

	other := protocol.OpID{Device: protocol.DeviceID{9}, Num: 1}
	cases := []struct {
		name string
		r    *replica
		se   *Session
		act  func(se *Session) error
		want error
	}{
		{"staff files an objection", w.staff, nil, func(se *Session) error {
			_, err := se.OpenCase(CaseInput{Kind: domain.CaseObjection, Record: Ref{Office: township, ID: rec}, Text: "异议"})
			return err
		}, domain.ErrNotAllowed},
		{"a leader files a complaint", w.leader, nil, func(se *Session) error {
			_, err := se.OpenCase(CaseInput{Kind: domain.CaseComplaint, Commitment: w.ref, Text: "投诉"})
			return err
		}, domain.ErrNotAllowed},
		{"a leader objects with a contact", w.leader, nil, func(se *Session) error {
			_, err := se.OpenCase(CaseInput{Kind: domain.CaseObjection, Record: Ref{Office: township, ID: rec}, Text: "异议",
				Contact: protocol.Contact{Phone: "13800138000"}})
			return err
		}, domain.ErrInvalidValue},
		{"an objection to no record", w.leader, nil, func(se *Session) error {
			_, err := se.OpenCase(CaseInput{Kind: domain.CaseObjection, Record: Ref{Office: township, ID: protocol.NewEntityID()}, Text: "异议"})
			return err
		}, ErrNotFound},
		{"the county's complaint about no commitment", w.admin, nil, func(se *Session) error {
			_, err := se.OpenCase(CaseInput{Kind: domain.CaseComplaint, Commitment: Ref{Office: township, ID: protocol.NewEntityID()}, Text: "投诉"})
			return err
		}, ErrNotFound},
		{"a leader on the county-admin device opens a case", w.admin, deputy, func(se *Session) error {
			_, err := se.OpenCase(CaseInput{Kind: domain.CaseComplaint, Commitment: w.ref, Text: "投诉"})
			return err
		}, domain.ErrNotAllowed},
		{"a leader on the county-admin device acknowledges", w.admin, deputy, func(se *Session) error {
			return se.AcknowledgeCase(township, id)
		}, domain.ErrNotAllowed},
		{"staff approves", w.staff, nil, func(se *Session) error { return se.ApproveReply(township, id, staffDraft) }, domain.ErrNotAllowed},
		{"a leader accepts", w.leader, nil, func(se *Session) error {
			_, err := se.CaseStep(township, id, CaseStepInput{Step: domain.CaseAccepted, Finding: domain.FindingUpheld})
			return err
		}, domain.ErrNotAllowed},
		{"a leader assigns", w.leader, nil, func(se *Session) error {
			_, err := se.CaseStep(township, id, CaseStepInput{Step: domain.CaseAssigned, AckDue: calendar.NewDate(2026, 10, 9), AnswerDue: calendar.NewDate(2026, 10, 30)})
			return err
		}, domain.ErrNotAllowed},
		{"the neighbour acknowledges", neigh, nil, func(se *Session) error { return se.AcknowledgeCase(township, id) }, protocol.ErrOutOfScope},
		{"a step on a case of no such office here", w.leader, nil, func(se *Session) error { return se.AcknowledgeCase(township2, id) }, ErrNotFound},
		{"an unknown step", w.admin, nil, func(se *Session) error {
			_, err := se.CaseStep(township, id, CaseStepInput{Step: "forgiven"})
			return err
		}, domain.ErrInvalidValue},
		{"approving no draft", w.leader, nil, func(se *Session) error { return se.ApproveReply(township, id, other) }, ErrNotFound},
		{"accepting before a reply", w.admin, nil, func(se *Session) error {
			_, err := se.CaseStep(township, id, CaseStepInput{Step: domain.CaseAccepted, Finding: domain.FindingUpheld})
			return err
		}, ErrNotEditable},
		{"returning before a reply", w.admin, nil, func(se *Session) error {
			_, err := se.CaseStep(township, id, CaseStepInput{Step: domain.CaseReturned, Text: "退回"})
			return err
		}, ErrNotEditable},
		{"deciding a complaint", w.admin, nil, func(se *Session) error {
			_, err := se.CaseStep(township, id, CaseStepInput{Step: domain.CaseDecided, Finding: domain.FindingRejected, Text: "驳回"})
			return err
		}, domain.ErrInvalidValue},
		{"assigning a complaint without acknowledgement deadline", w.admin, nil, func(se *Session) error {
			_, err := se.CaseStep(township, id, CaseStepInput{Step: domain.CaseAssigned, AnswerDue: calendar.NewDate(2026, 10, 30)})
			return err
		}, domain.ErrInvalidValue},
		{"a blank reply", w.staff, nil, func(se *Session) error { _, err := se.DraftReply(township, id, " ", nil); return err }, protocol.ErrInvalidOperation},
		{"a reply citing a file not here", w.staff, nil, func(se *Session) error {
			_, err := se.DraftReply(township, id, "答复", []protocol.Hash{{7}})
			return err
		}, ErrNotFound},
		{"linking no record", w.admin, nil, func(se *Session) error {
			_, err := se.CaseStep(township, id, CaseStepInput{Step: domain.CaseLinked, Record: protocol.NewEntityID()})
			return err
		}, ErrNotFound},
		{"acknowledging twice", w.leader, nil, func(se *Session) error { return se.AcknowledgeCase(township, id) }, ErrNotEditable},
	}
	for _, c := range cases {
		if err := refused(t, c.name, c.r, c.se, c.act); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// Once closed, only a link is taken.
	_, err = w.admin.se.CaseStep(township, id, CaseStepInput{Step: domain.CaseWithdrawn, Text: "重复投诉"})
	must(t, err)
	for _, step := range []CaseStepInput{{Step: domain.CaseWithdrawn, Text: "再撤"}, {Step: domain.CaseReturned, Text: "退回"},
		{Step: domain.CaseAssigned, AckDue: calendar.NewDate(2026, 10, 9), AnswerDue: calendar.NewDate(2026, 10, 30)}} {
		d0 := digest(t, w.admin.Store)
		if _, err := w.admin.se.CaseStep(township, id, step); !errors.Is(err, ErrNotEditable) || digest(t, w.admin.Store) != d0 {
			t.Errorf("%s on a closed case: %v", step.Step, err)
		}
	}
	if _, err := w.admin.se.CaseStep(township, id, CaseStepInput{Step: domain.CaseLinked, Record: rec}); err != nil {
		t.Errorf("link on a closed case: %v", err)
	}
}

// TestCaseForgedSteps: steps signed by devices that may not take them are
// refused by the county's replica with their code, and change nothing.
func TestCaseForgedSteps(t *testing.T) {
	w := newCaseWorld(t)
	id, _, set := w.server.fileComplaint(t, w.ref, "楼道灯坏了。", protocol.Contact{})
	w.fromServer(t, set)
	neigh := newReplica(t, township2, domain.RoleLeader)
	w.server.knows(t, neigh)
	forge := func(r *replica, role domain.Role, op protocol.Op) []byte {
		head := mustHead(t, r)
		op.Num, op.HLC = head.LastOp+1, protocol.MakeHLC(1<<42, 0)
		cs := &protocol.ChangeSet{Device: r.se.Device().ID, Office: r.se.Device().Office, Author: "伪造", AuthorRole: role,
			Seq: head.Seq + 1, Prev: head.Hash, Ops: []protocol.Op{op}}
		must(t, cs.Seal(r.se.key))
		return cs.Bytes()
	}
	reply := protocol.Op{Kind: protocol.OpCaseStep, Office: township, Target: w.ref.ID,
		CaseStep: &protocol.CaseStep{Case: id, Step: domain.CaseReply, Text: "冒名答复"}}
	accept := protocol.Op{Kind: protocol.OpCaseStep, Office: township, Target: w.ref.ID,
		CaseStep: &protocol.CaseStep{Case: id, Step: domain.CaseAccepted, Finding: domain.FindingNotUpheld}}
	for _, c := range []struct {
		name string
		raw  []byte
		want protocol.Code
	}{
		{"a reply from another township's device", forge(neigh, domain.RoleLeader, reply), protocol.CodeOutOfScope},
		{"the township accepting its own reply", forge(w.leader, domain.RoleLeader, accept), protocol.CodeNotAuthorized},
	} {
		d0 := digest(t, w.server.Store)
		res, err := w.server.ApplyBatch([][]byte{c.raw}, nil)
		if err != nil || res[0].Code != c.want || digest(t, w.server.Store) != d0 {
			t.Errorf("%s: %+v, %v; want %s", c.name, res, err, c.want)
		}
	}
	opened, err := func() (ok bool, err error) {
		err = w.server.View(func(tx *bolt.Tx) error { ok, err = CaseOpenedTx(tx, township, id); return err })
		return
	}()
	if err != nil || !opened {
		t.Fatalf("CaseOpenedTx of the case: %v, %v", opened, err)
	}
	err = w.server.View(func(tx *bolt.Tx) error {
		ok, err := CaseOpenedTx(tx, township2, id)
		if ok || err != nil {
			return fmt.Errorf("CaseOpenedTx of no case: %v, %v", ok, err)
		}
		return nil
	})
	must(t, err)
}

// TestServerSigner: the county server's device signs change sets that its
// ingest applies like any other, chained, and refuses what a receiver
// would.
func TestServerSigner(t *testing.T) {
	w := newCaseWorld(t)
	cs := w.server
	a, err := cs.sg.Next(cs.Store, ServerAuthor, []protocol.Op{countyCaseOpFor(w.ref)})
	must(t, err)
	if a.Seq != 1 || a.Author != ServerAuthor || a.AuthorRole != domain.RoleCountyAdmin || a.Device != cs.sg.Device() || a.FirstOp() != 1 {
		t.Fatalf("first change set: seq %d author %q role %q", a.Seq, a.Author, a.AuthorRole)
	}
	// Built again before the first is applied, Next gives the same place
	// in the chain; NextAfter continues after the first.
	again, err := cs.sg.Next(cs.Store, ServerAuthor, []protocol.Op{countyCaseOpFor(w.ref)})
	must(t, err)
	if again.Seq != 1 {
		t.Fatalf("Next without applying: seq %d", again.Seq)
	}
	b, err := cs.sg.NextAfter(cs.Store, protocol.Head{Seq: a.Seq, Hash: a.Hash(), LastOp: a.LastOp()}, ServerAuthor, []protocol.Op{countyCaseOpFor(w.ref)})
	must(t, err)
	res, err := cs.ApplyBatch([][]byte{a.Bytes(), b.Bytes()}, nil)
	must(t, err)
	if !res[0].Applied() || !res[1].Applied() || res[1].Pos != res[0].Pos+1 || b.Seq != 2 || b.FirstOp() != 2 || b.Ops[0].HLC <= a.Ops[0].HLC {
		t.Fatalf("results %+v", res)
	}
	if res, _ := cs.ApplyBatch([][]byte{again.Bytes()}, nil); res[0].Code != protocol.CodeFork {
		t.Fatalf("a second change set 1: %+v", res[0])
	}
	c, err := cs.sg.Next(cs.Store, ServerAuthor, []protocol.Op{countyCaseOpFor(w.ref)})
	must(t, err)
	if c.Seq != 3 || c.Prev != b.Hash() {
		t.Fatalf("after applying: seq %d", c.Seq)
	}
	// Township replicas take them (a partial chain of an admin device).
	deliver(t, w.leader, a.Bytes(), b.Bytes())

	// Refusals: what a receiver would refuse.
	bad := countyCaseOpFor(w.ref)
	bad.Case.Text = " "
	other := countyCaseOpFor(Ref{Office: "410325100", ID: w.ref.ID})
	for name, want := range map[string]struct {
		ops  []protocol.Op
		code protocol.Code
	}{
		"an invalid case":           {[]protocol.Op{bad}, protocol.CodeInvalidOperation},
		"a case of another county":  {[]protocol.Op{other}, protocol.CodeOutOfScope},
		"two offices in one change": {[]protocol.Op{countyCaseOpFor(w.ref), countyCaseOpFor(Ref{Office: township2, ID: w.ref.ID})}, protocol.CodeInvalidOperation},
		"nothing":                   {nil, protocol.CodeInvalidOperation},
	} {
		if _, err := cs.sg.Next(cs.Store, ServerAuthor, want.ops); protocol.CodeOf(err) != want.code {
			t.Errorf("%s: %v, want %s", name, err, want.code)
		}
	}
	unknown, err := NewServerSigner(testKey("not enrolled"), county)
	must(t, err)
	if _, err := unknown.Next(cs.Store, ServerAuthor, []protocol.Op{countyCaseOpFor(w.ref)}); !errors.Is(err, protocol.ErrUnknownDevice) {
		t.Errorf("an unregistered device: %v", err)
	}
	if _, err := NewServerSigner(testKey("x"), township); !errors.Is(err, domain.ErrInvalidValue) {
		t.Errorf("a signer for a township: %v", err)
	}
	if _, err := NewServerSigner(nil, county); !errors.Is(err, domain.ErrInvalidValue) {
		t.Errorf("a signer without key: %v", err)
	}
}

// countyCaseOpFor is a complaint the county opens about ref.
func countyCaseOpFor(ref Ref) protocol.Op {
	id := protocol.NewEntityID()
	const filed = int64(1790000000000)
	return protocol.Op{Kind: protocol.OpCase, Office: ref.Office, Target: ref.ID, Case: &protocol.Case{ID: id, Kind: domain.CaseComplaint,
		Source: domain.CaseSourceCounty, Number: protocol.CaseNumber(domain.CaseComplaint, filed, id), Text: "来信反映。", Filed: filed}}
}

// TestCheckCatchesBrokenCase: Check finds a case view that is not what its
// events derive, and an event without a case.
func TestCheckCatchesBrokenCase(t *testing.T) {
	w := newCaseWorld(t)
	id, _, set := w.server.fileComplaint(t, w.ref, "楼道灯坏了。", protocol.Contact{})
	w.fromServer(t, set)
	checkCatchesForgedView(t, w.leader.Store, bCases, refKey(Ref{Office: township, ID: id}), func(orig []byte) []byte {
		var c Case
		must(t, unmarshal(orig, &c))
		c.Status = domain.CaseStatusClosed // a forged case status
		return marshal(c)
	})
}

// TestMigrateSchema4 opens a township replica written by the release before
// cases (schema 4: commitments, a fulfilment with evidence, a dishonesty
// record, an operation still pending), and checks that the migration adds
// the case buckets (and those of the later schemas: the account directory)
// and leaves every byte of the others as it was.
func TestMigrateSchema4(t *testing.T) {
	s := migrateTestFile(t, "testdata/schema4-township.db", 4, "cases", "case_log", "account_dir", "account_log", "urges", "urge_log", "reports", "report_log")
	// The replica works on: its leader signs in and files an objection to
	// the dishonesty record it holds.
	defer s.Close()
	se, err := s.SignIn("leader", testPass)
	must(t, err)
	recs, err := s.DishonestyRecords(DishonestyFilter{})
	if err != nil || len(recs) != 1 || !recs[0].Recorded {
		t.Fatalf("dishonesty records after migration: %+v, %v", recs, err)
	}
	commitments, err := s.AllCommitments()
	if err != nil || len(commitments) != 2 {
		t.Fatalf("commitments after migration: %d, %v", len(commitments), err)
	}
	obj, err := se.OpenCase(CaseInput{Kind: domain.CaseObjection, Record: Ref{Office: recs[0].Office, ID: recs[0].ID}, Text: "申请更正。"})
	must(t, err)
	if c, err := s.Case(township, obj); err != nil || c.Status != domain.CaseStatusOpen {
		t.Fatalf("objection after migration: %+v, %v", c, err)
	}
	if n, err := se.Seal(0); err != nil || n == 0 {
		t.Fatalf("Seal after migration: %d, %v", n, err)
	}
	must(t, s.Check())
}

// dumpAll returns every bucket and key of a bbolt file, read directly.
func dumpAll(t *testing.T, path string) map[string]string {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	must(t, err)
	defer db.Close()
	out := map[string]string{}
	err = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			out["bucket/"+string(name)] = ""
			return b.ForEach(func(k, v []byte) error {
				out[string(name)+"/"+string(k)] = string(v)
				return nil
			})
		})
	})
	must(t, err)
	return out
}

// TestRekeyCarriesCaseApproval: a reply drafted and approved on a device
// that is then re-keyed is carried over with the approval naming the
// reply's new operation, so the case stays replied.
func TestRekeyCarriesCaseApproval(t *testing.T) {
	w := newCaseWorld(t)
	id, _, set := w.server.fileComplaint(t, w.ref, "楼道灯坏了。", protocol.Contact{})
	w.fromServer(t, set)
	r := w.leader
	d, err := r.se.DraftReply(township, id, "已修复。", nil)
	must(t, err)
	must(t, r.se.ApproveReply(township, id, d))
	req, newID, err := r.se.PrepareReenrolment(time.Unix(1790000000, 0))
	must(t, err)
	_, in, err := protocol.OpenReenrolRequest(req)
	must(t, err)
	cert := &protocol.Certificate{Device: newID, Key: in.Key, Office: township, Name: "test", Issued: 1}
	se, res, err := r.se.Rekey(cert, mustHead(t, r).Seq+1)
	must(t, err)
	if res.Carried != 2 {
		t.Fatalf("carried %d operations", res.Carried)
	}
	c := mustCase(t, r.Store, id)
	if c.Status != domain.CaseStatusReplied || c.Reply == nil || c.Reply.Op != (protocol.OpID{Device: newID, Num: 1}) {
		t.Fatalf("after the re-key: %+v", c)
	}
	if _, err := se.Seal(0); err != nil {
		t.Fatal(err)
	}
	must(t, r.Check())
}

// secondOffice gives the county server a second township, township2,
// with a published commitment of its own, and returns it.
func (w *caseWorld) secondOffice(tb testing.TB) Ref {
	tb.Helper()
	neigh := newReplica(tb, township2, domain.RoleLeader)
	introduce(tb, neigh, w.admin)
	w.server.knows(tb, neigh)
	ref, err := neigh.se.Create(sampleDraft("村道路灯维修"))
	must(tb, err)
	must(tb, neigh.se.Publish(ref))
	deliver(tb, &replica{Store: w.server.Store}, neigh.seal(tb, 0)...)
	return ref
}

// TestCaseByNumberAcrossOffices: the tracking page's lookup finds every
// case by its number whatever office it belongs to, and finds nothing for
// a number no case has — one with another case's ID part but another
// date, one of the right form made up, or one not of that form.
func TestCaseByNumberAcrossOffices(t *testing.T) {
	w := newCaseWorld(t)
	ref2 := w.secondOffice(t)

	var refs []Ref // the cases'
	for i := range 6 {
		ref := w.ref
		if i%2 == 1 {
			ref = ref2
		}
		id, _, _ := w.server.fileComplaint(t, ref, fmt.Sprintf("第%d件投诉。", i), protocol.Contact{})
		refs = append(refs, Ref{Office: ref.Office, ID: id})
	}
	var numbers []string
	for _, r := range refs {
		want, err := w.server.Case(r.Office, r.ID)
		must(t, err)
		got, err := w.server.CaseByNumber(want.Number)
		if err != nil || got.ID != r.ID || got.Office != r.Office || len(got.History) == 0 {
			t.Fatalf("CaseByNumber(%s): %+v, %v", want.Number, got, err)
		}
		numbers = append(numbers, want.Number)
	}
	number := numbers[1] // a case of the second office
	for _, wrong := range []string{
		"TS19990101" + number[len(number)-9:],                                // the ID part of a case, another date
		protocol.CaseNumber(domain.CaseComplaint, 1, protocol.NewEntityID()), // made up
		"YY" + number[2:],      // an objection's prefix
		number[:len(number)-1], // cut short
		"",
	} {
		if c, err := w.server.CaseByNumber(wrong); !errors.Is(err, ErrNotFound) {
			t.Fatalf("CaseByNumber(%q): %+v, %v", wrong, c, err)
		}
	}
}

// BenchmarkCaseByNumber measures the tracking page's lookup on a county
// replica holding 2,000 cases of two offices (ns/op, a lookup of a case
// that exists), against the same run's baseline: finding it by reading
// every case, as the lookup did before (scan-ns, x-of-scan).
func BenchmarkCaseByNumber(b *testing.B) {
	w := newCaseWorld(b)
	ref2 := w.secondOffice(b)
	var numbers []string
	for i := range 2000 {
		ref := w.ref
		if i%2 == 1 {
			ref = ref2
		}
		id, _, _ := w.server.fileComplaint(b, ref, fmt.Sprintf("第%d件投诉。", i), protocol.Contact{})
		c, err := w.server.Case(ref.Office, id)
		if err != nil {
			b.Fatal(err)
		}
		numbers = append(numbers, c.Number)
	}
	var scan time.Duration
	b.ResetTimer()
	for i := range b.N {
		n := numbers[i%len(numbers)]
		if _, err := w.server.CaseByNumber(n); err != nil {
			b.Fatal(err)
		}
		if i%100 == 0 { // the baseline is slow: every hundredth lookup
			b.StopTimer()
			t0 := time.Now()
			all, err := w.server.Cases(CaseFilter{})
			if err != nil || !slices.ContainsFunc(all, func(c Case) bool { return c.Number == n }) {
				b.Fatal("the scan did not find the case")
			}
			scan += time.Since(t0)
			b.StartTimer()
		}
	}
	b.StopTimer()
	scanNs := float64(scan.Nanoseconds()) / float64((b.N+99)/100)
	b.ReportMetric(scanNs, "scan-ns")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/scanNs, "x-of-scan")
}
