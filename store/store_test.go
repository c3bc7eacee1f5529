package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/sync/protocol"
)

func TestCommitmentLifecycleKeepsEveryVersion(t *testing.T) {
	r := newReplica(t, township, domain.RoleLeader)
	ref, err := r.se.Create(sampleDraft("独居老人每月走访"))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.se.Edit(ref, domain.FieldTitle, "独居老人每月上门走访"); err != nil {
		t.Fatal(err)
	}
	if err := r.se.Publish(ref); err != nil {
		t.Fatal(err)
	}
	// Published text never changes in place.
	if err := r.se.Edit(ref, domain.FieldText, "改过的文字"); !errors.Is(err, ErrNotEditable) {
		t.Fatalf("edit after publish: got %v, want ErrNotEditable", err)
	}
	if err := r.se.Amend(ref, []Change{{domain.FieldText, "每两周走访一次"}}, " "); !errors.Is(err, domain.ErrReasonRequired) {
		t.Fatalf("amend without reason: got %v", err)
	}
	reason := "县民政局提高走访频次要求"
	if err := r.se.Amend(ref, []Change{{domain.FieldText, "每两周走访一次"}}, reason); err != nil {
		t.Fatal(err)
	}
	c, err := r.Commitment(ref)
	if err != nil {
		t.Fatal(err)
	}
	if c.Text != "每两周走访一次" || c.Status != domain.StatusPublished || c.Version != 2 || c.Title != "独居老人每月上门走访" {
		t.Fatalf("view after amendment: %+v", c)
	}
	texts, err := r.FieldHistory(ref, domain.FieldText)
	if err != nil {
		t.Fatal(err)
	}
	if len(texts) != 2 || texts[0].Value != sampleDraft("").Text || texts[1].Value != "每两周走访一次" || texts[1].Reason != reason || texts[1].Kind != "amend" {
		t.Fatalf("text history: %+v", texts)
	}
	am, err := r.Amendments(ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(am) != 1 || am[0].Reason != reason || am[0].Version != 2 || am[0].Author != "user" {
		t.Fatalf("amendments: %+v", am)
	}
}

func TestRefusedActionsQueueNothing(t *testing.T) {
	leader := newReplica(t, township, domain.RoleLeader)
	ref, err := leader.se.Create(sampleDraft("停车位规划"))
	if err != nil {
		t.Fatal(err)
	}
	if err := leader.se.AddAccount("clerk", "办事员", domain.RoleStaff, "办事员的口令123"); err != nil {
		t.Fatal(err)
	}
	staff, err := leader.SignIn("clerk", "办事员的口令123")
	if err != nil {
		t.Fatal(err)
	}
	before, _ := leader.Pending()
	d0 := digest(t, leader.Store)
	cases := []struct {
		name string
		do   func() error
		want error
	}{
		{"staff publishes", func() error { return staff.Publish(ref) }, domain.ErrNotAllowed},
		{"draft fulfilled", func() error { return leader.se.Transition(ref, domain.StatusFulfilledOnTime, "") }, domain.ErrIllegalTransition},
		{"withdraw without reason", func() error { return leader.se.Withdraw(ref, "  ") }, domain.ErrReasonRequired},
		{"breach by leader", func() error { return leader.se.Transition(ref, domain.StatusBreached, "x") }, domain.ErrIllegalTransition},
		{"staff amends", func() error { return staff.Amend(ref, []Change{{domain.FieldTitle, "x"}}, "r") }, domain.ErrNotAllowed},
		{"bad category", func() error { return leader.se.Edit(ref, domain.FieldCategory, "gambling") }, protocol.ErrInvalidOperation},
		{"empty title", func() error { return leader.se.Edit(ref, domain.FieldTitle, "") }, protocol.ErrInvalidOperation},
		{"edit status", func() error { return leader.se.Edit(ref, domain.FieldStatus, "published") }, domain.ErrInvalidValue},
		{"fulfil a draft", func() error {
			_, err := leader.se.LogFulfilment(ref, EntryInput{Date: calendar.NewDate(2026, 10, 8), Progress: 10})
			return err
		}, ErrNotEditable},
		{"resolve on township device", func() error { return leader.se.Resolve(ref, domain.FieldTitle, "x", "r") }, domain.ErrNotAllowed},
		{"unknown commitment", func() error { return leader.se.Publish(Ref{Office: township, ID: protocol.NewEntityID()}) }, ErrNotFound},
		{"other office", func() error { return leader.se.Publish(Ref{Office: township2, ID: ref.ID}) }, ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	after, _ := leader.Pending()
	if before != after || digest(t, leader.Store) != d0 {
		t.Fatalf("refused actions changed the store: pending %+v -> %+v", before, after)
	}
}

func TestSealApplyReplayIsIdempotent(t *testing.T) {
	a := newReplica(t, township, domain.RoleLeader)
	b := newReplica(t, township, domain.RoleStaff)
	introduce(t, a, b)
	ref, _ := a.se.Create(sampleDraft("就业岗位推荐"))
	if err := a.se.Publish(ref); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := a.se.LogFulfilment(ref, EntryInput{Date: calendar.NewDate(2026, 10, 8+i), Progress: 20 * (i + 1), Note: "已推荐岗位"}); err != nil {
			t.Fatal(err)
		}
	}
	sets := a.seal(t, 0)
	if len(sets) != 1 {
		t.Fatalf("sealed %d change sets, want 1", len(sets))
	}
	if p, _ := a.Pending(); p.PendingOps != 0 || p.OutboxChangeSets != 1 {
		t.Fatalf("after seal: %+v", p)
	}
	deliver(t, b, sets...)
	if digest(t, a.Store) != digest(t, b.Store) {
		t.Fatal("replicas differ after one delivery")
	}
	res, err := b.Apply(sets...)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Code != protocol.CodeReplay {
		t.Fatalf("second delivery: code %q, want replay", res[0].Code)
	}
	c, _ := b.Commitment(ref)
	if c.Entries != 5 || c.Progress != 100 || c.Status != domain.StatusPublished {
		t.Fatalf("view on receiver: %+v", c)
	}
	if err := a.Acknowledge(1, nil); err != nil {
		t.Fatal(err)
	}
	if p, _ := a.Pending(); p.OutboxChangeSets != 0 {
		t.Fatalf("outbox after acknowledgement: %+v", p)
	}
}

func TestRefusedChangeSetStoresNothing(t *testing.T) {
	a := newReplica(t, township, domain.RoleLeader)
	b := newReplica(t, township, domain.RoleLeader)
	stranger := newReplica(t, township2, domain.RoleLeader)
	introduce(t, a, b)
	if err := b.PutDevice(stranger.se.Device()); err != nil {
		t.Fatal(err)
	}
	a.se.Create(sampleDraft("一"))
	a.se.Create(sampleDraft("二"))
	sets := a.seal(t, 0)
	stranger.se.Create(sampleDraft("别处的"))
	strangerSets := stranger.seal(t, 0)

	// A change set claiming a's device but signed by someone else.
	forged := bytes.Clone(sets[0])
	forged[len(forged)-1] ^= 0xff

	// A second change set from a, delivered before the first: a gap.
	a.se.Create(sampleDraft("三"))
	later := a.seal(t, 1)

	d0 := digest(t, b.Store)
	res, err := b.Apply(forged, later[0], []byte("garbage"), sets[0][:len(sets[0])/2])
	if err != nil {
		t.Fatal(err)
	}
	want := []protocol.Code{protocol.CodeBadSignature, protocol.CodeSequenceGap, protocol.CodeMalformed, protocol.CodeMalformed}
	for i, r := range res {
		if r.Code != want[i] {
			t.Errorf("input %d: code %q, want %q (%v)", i, r.Code, want[i], r.Err)
		}
	}
	if digest(t, b.Store) != d0 {
		t.Fatal("refused change sets changed the replica")
	}
	// The stranger's change sets verify (b knows the device) but are of
	// another township: b applies them under that township's key space,
	// never into its own office's records.
	deliver(t, b, strangerSets...)
	all, _ := b.AllCommitments()
	for _, c := range all {
		if c.Office == township {
			t.Fatalf("a township2 change set created a record of %s", township)
		}
	}
}

func TestEvidenceStoredOnce(t *testing.T) {
	r := newReplica(t, township, domain.RoleLeader)
	ref, _ := r.se.Create(sampleDraft("消防通道整治"))
	r.se.Publish(ref)
	photo := bytes.Repeat([]byte{0x89, 'P', 'N', 'G'}, 1000)
	h1, err := r.se.AddEvidence("现场照片.png", "image/png", bytes.NewReader(photo))
	if err != nil {
		t.Fatal(err)
	}
	h2, err := r.se.AddEvidence("现场照片-副本.png", "image/png", bytes.NewReader(photo))
	if err != nil {
		t.Fatal(err)
	}
	if h1 != h2 || h1 != protocol.HashOf(photo) {
		t.Fatal("evidence is not addressed by its SHA-256")
	}
	if _, err := r.se.LogFulfilment(ref, EntryInput{Date: calendar.NewDate(2026, 10, 9), Progress: 50, Evidence: []protocol.Hash{h1}}); err != nil {
		t.Fatal(err)
	}
	var blobs int
	r.db.View(func(tx *bolt.Tx) error { blobs = tx.Bucket(bBlobs).Stats().KeyN; return nil })
	meta, _ := r.EvidenceMeta(h1)
	if blobs != 1 || len(meta) != 2 {
		t.Fatalf("blobs %d (want 1), metadata records %d (want 2)", blobs, len(meta))
	}
	got, err := r.EvidenceContent(h1)
	if err != nil || !bytes.Equal(got, photo) {
		t.Fatalf("content: %v", err)
	}
	big := bytes.NewReader(make([]byte, protocol.MaxEvidenceBytes+1))
	if _, err := r.se.AddEvidence("扫描件.pdf", "application/pdf", big); !errors.Is(err, ErrEvidenceTooLarge) {
		t.Fatalf("oversized evidence: %v", err)
	}
	// The store's sentinels are the protocol's: one errors.Is test and one
	// stable code whichever side found the problem.
	if err := r.PutEvidenceContent(protocol.HashOf([]byte("x")), []byte("y")); !errors.Is(err, ErrEvidenceMismatch) || protocol.CodeOf(err) != protocol.CodeEvidenceMismatch {
		t.Fatalf("mismatched evidence: %v (code %q)", err, protocol.CodeOf(err))
	}
	missing := protocol.HashOf([]byte("never added"))
	if _, err := r.se.LogFulfilment(ref, EntryInput{Date: calendar.NewDate(2026, 10, 9), Evidence: []protocol.Hash{missing}}); !errors.Is(err, ErrNotFound) || protocol.CodeOf(err) != protocol.CodeNotFound {
		t.Fatalf("entry citing unknown evidence: %v (code %q)", err, protocol.CodeOf(err))
	}
}

func TestAccountsAndSealedKey(t *testing.T) {
	r := newReplica(t, township, domain.RoleLeader)
	if _, err := r.SignIn("user", "wrong passphrase"); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	if _, err := r.SignIn("nobody", testPass); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("unknown user: %v", err)
	}
	se, err := r.SignIn("user", testPass)
	if err != nil {
		t.Fatal(err)
	}
	if se.Device().ID != r.se.Device().ID {
		t.Fatal("signed in to another device identity")
	}
	if err := se.AddAccount("weak", "", domain.RoleStaff, "123"); !errors.Is(err, auth.ErrWeakPassphrase) {
		t.Fatalf("weak passphrase accepted: %v", err)
	}
	if err := se.AddAccount("boss", "", domain.RoleCountyAdmin, "另一个长口令abc"); !errors.Is(err, domain.ErrNotAllowed) {
		t.Fatalf("leader created a county admin: %v", err)
	}
	// The private key never sits in the file in the clear.
	data := mustRead(t, r.Path())
	if bytes.Contains(data, se.key.Seed()) {
		t.Fatal("device private key stored unencrypted")
	}
	if !bytes.Contains(data, []byte("$argon2id$")) {
		t.Fatal("password not stored as an argon2id hash")
	}
}

func TestSchemaMigrationAndTooNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	// A file as the very first build left it: no buckets, no schema key.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := Open(path, &Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Schema(); v != SchemaVersion {
		t.Fatalf("schema %d after migration, want %d", v, SchemaVersion)
	}
	s.db.Update(func(tx *bolt.Tx) error { return putU64(tx.Bucket(bMeta), kSchema, SchemaVersion+1) })
	s.Close()
	if _, err := Open(path, &Options{Logger: quietLogger()}); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("opening a newer file: %v", err)
	}
}

func TestSetupValidation(t *testing.T) {
	s := openTest(t)
	if _, err := s.Setup(SetupConfig{Office: "41032", Name: "a", Role: domain.RoleStaff, Passphrase: testPass}); err == nil {
		t.Fatal("invalid office accepted")
	}
	if _, err := s.Setup(SetupConfig{Office: township, Admin: true, Name: "a", Role: domain.RoleCountyAdmin, Passphrase: testPass}); err == nil {
		t.Fatal("county-admin device set up for a township")
	}
	if _, err := s.Setup(SetupConfig{Office: township, Name: "a", Role: domain.RoleLeader, Passphrase: testPass}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Setup(SetupConfig{Office: township, Name: "b", Role: domain.RoleLeader, Passphrase: testPass}); !errors.Is(err, ErrAlreadySetUp) {
		t.Fatalf("second setup: %v", err)
	}
}

func TestConflictReconciledByCountyAdmin(t *testing.T) {
	a := newReplica(t, township, domain.RoleLeader)
	b := newReplica(t, township, domain.RoleLeader)
	admin := newReplica(t, county, domain.RoleCountyAdmin)
	introduce(t, a, b, admin)

	ref, _ := a.se.Create(sampleDraft("便民服务窗口延时服务"))
	base := a.seal(t, 0)
	deliver(t, b, base...)
	deliver(t, admin, base...)

	// Both edit the title offline.
	if err := a.se.Edit(ref, domain.FieldTitle, "便民服务窗口周末延时"); err != nil {
		t.Fatal(err)
	}
	if err := b.se.Edit(ref, domain.FieldTitle, "便民窗口中午不休息"); err != nil {
		t.Fatal(err)
	}
	fromA, fromB := a.seal(t, 1), b.seal(t, 0)
	deliver(t, a, fromB...)
	deliver(t, b, fromA...)
	deliver(t, admin, append(fromA, fromB...)...)

	for _, r := range []*replica{a, b, admin} {
		cs, _ := r.Conflicts()
		if len(cs) != 1 || cs[0].Field != domain.FieldTitle || len(cs[0].Versions) != 2 {
			t.Fatalf("conflicts: %+v", cs)
		}
		c, _ := r.Commitment(ref)
		if c.Title != cs[0].Provisional || !c.IsConflicted() {
			t.Fatalf("view does not show the provisional value: %q vs %q", c.Title, cs[0].Provisional)
		}
	}
	if digest(t, a.Store) != digest(t, b.Store) || digest(t, a.Store) != digest(t, admin.Store) {
		t.Fatal("replicas differ while conflicted")
	}
	if err := a.se.Edit(ref, domain.FieldTitle, "第三个标题"); !errors.Is(err, ErrConflicted) {
		t.Fatalf("edit of a conflicted field: %v", err)
	}
	if err := admin.se.Resolve(ref, domain.FieldTitle, "便民服务窗口周末及中午延时", ""); !errors.Is(err, protocol.ErrInvalidOperation) {
		t.Fatalf("resolution without reason: %v", err)
	}
	if err := admin.se.Resolve(ref, domain.FieldTitle, "便民服务窗口周末及中午延时", "两项合并"); err != nil {
		t.Fatal(err)
	}
	decision := admin.seal(t, 0)
	deliver(t, a, decision...)
	deliver(t, b, decision...)
	for _, r := range []*replica{a, b, admin} {
		c, _ := r.Commitment(ref)
		if c.Title != "便民服务窗口周末及中午延时" || c.IsConflicted() {
			t.Fatalf("after resolution: %q conflicted=%v", c.Title, c.Conflicted)
		}
		if cs, _ := r.Conflicts(); len(cs) != 0 {
			t.Fatalf("conflict queue not empty: %+v", cs)
		}
		h, _ := r.FieldHistory(ref, domain.FieldTitle)
		var vals []string
		for _, v := range h {
			vals = append(vals, v.Value)
		}
		if len(h) != 4 || h[3].Reason != "两项合并" || h[3].Kind != "resolve" {
			t.Fatalf("title history keeps %d versions: %v", len(h), strings.Join(vals, " | "))
		}
	}
	if digest(t, a.Store) != digest(t, b.Store) || digest(t, a.Store) != digest(t, admin.Store) {
		t.Fatal("replicas differ after resolution")
	}
	// A township device cannot forge the county's decision.
	head := mustHead(t, a)
	forgedOp := protocol.Op{Num: head.LastOp + 1, HLC: protocol.HLC(1 << 40), Kind: protocol.OpResolve, Office: township, Target: ref.ID,
		Reason: "伪造", Writes: []protocol.FieldWrite{{Field: domain.FieldTitle, Value: "伪造", Base: []protocol.OpID{{Num: 1}, {Num: 2}}}}}
	cs := &protocol.ChangeSet{Device: a.se.Device().ID, Office: township, Author: "user", AuthorRole: domain.RoleLeader,
		Seq: head.Seq + 1, Prev: head.Hash, Ops: []protocol.Op{forgedOp}}
	if err := cs.Seal(a.se.key); err != nil {
		t.Fatal(err)
	}
	d0 := digest(t, b.Store)
	res, _ := b.Apply(cs.Bytes())
	if res[0].Code != protocol.CodeNotAuthorized || digest(t, b.Store) != d0 {
		t.Fatalf("forged resolution: %q", res[0].Code)
	}
}

func mustHead(t *testing.T, r *replica) protocol.Head {
	t.Helper()
	heads, err := r.Heads()
	if err != nil {
		t.Fatal(err)
	}
	return heads[r.se.Device().ID]
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCheckDetectsBrokenInvariants makes sure the checker every test relies
// on notices what it claims to: a state change whose operation is gone, and
// a view that disagrees with its versions.
func TestCheckDetectsBrokenInvariants(t *testing.T) {
	cases := map[string]func(tx *bolt.Tx) error{
		"operation lost": func(tx *bolt.Tx) error {
			k, _ := tx.Bucket(bPending).Cursor().Last()
			return tx.Bucket(bPending).Delete(k)
		},
		"effect lost": func(tx *bolt.Tx) error {
			k, _ := tx.Bucket(bEntries).Cursor().First()
			return tx.Bucket(bEntries).Delete(k)
		},
		"view edited behind the history's back": func(tx *bolt.Tx) error {
			c := tx.Bucket(bCommitments).Cursor()
			k, v := c.First()
			view, err := decodeCommitment(k, v)
			if err != nil {
				return err
			}
			view.Title = "悄悄改过的标题"
			return tx.Bucket(bCommitments).Put(k, encodeCommitment(&view))
		},
	}
	for name, breakIt := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := Open(filepath.Join(t.TempDir(), "x.db"), &Options{KDF: auth.TestParams(), Logger: quietLogger(), NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			se, err := s.Setup(SetupConfig{Office: township, Name: "u", Role: domain.RoleLeader, Passphrase: testPass})
			if err != nil {
				t.Fatal(err)
			}
			ref, _ := se.Create(sampleDraft("检查器测试"))
			se.Publish(ref)
			se.LogFulfilment(ref, EntryInput{Date: calendar.NewDate(2026, 10, 8), Progress: 30})
			if err := s.Check(); err != nil {
				t.Fatalf("healthy store fails the check: %v", err)
			}
			if err := s.db.Update(breakIt); err != nil {
				t.Fatal(err)
			}
			if err := s.Check(); !errors.Is(err, ErrInvariant) {
				t.Fatalf("check missed it: %v", err)
			}
		})
	}
}

// TestGrownFileFillsPages: a replica that records commitments one by one,
// as an office does, leaves the pages of its versions, views and log
// nearly full, not half empty: new commitments' keys arrive in order
// (protocol.NewOrderedEntityID) and bbolt fills such pages before it
// splits them (appendMostly). A file grown this way stays near the size of
// a compacted one (docs/benchmarks-app.md: under 1 KiB an operation at
// 50,000 commitments).
func TestGrownFileFillsPages(t *testing.T) {
	r := newReplica(t, township, domain.RoleLeader)
	for i := range 1500 {
		ref, err := r.se.Create(sampleDraft(fmt.Sprintf("第%d项承诺", i)))
		must(t, err)
		if i%3 == 0 {
			must(t, r.se.Publish(ref))
		}
		if i%50 == 49 {
			r.seal(t, 0)
		}
	}
	err := r.db.View(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bVersions, bCommitments} {
			st := tx.Bucket(name).Stats()
			if fill := float64(st.LeafInuse) / float64(st.LeafAlloc); st.LeafPageN < 20 || fill < 0.8 {
				t.Errorf("bucket %s: %d leaf pages %.0f%% full, want at least 80%%", name, st.LeafPageN, 100*fill)
			}
		}
		return nil
	})
	must(t, err)
}
