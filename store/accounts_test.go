package store

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/sync/protocol"
)

const clerkPass = "王芳的口令-2026"

// rawAccount reads an account's stored record as it is on disk.
func rawAccount(t *testing.T, s *Store, name string) account {
	t.Helper()
	var a account
	must(t, s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bAccounts).Get([]byte(name))
		if v == nil {
			return fmt.Errorf("no account %s", name)
		}
		return unmarshal(v, &a)
	}))
	return a
}

func directoryEntry(t *testing.T, s *Store, login string) DirectoryEntry {
	t.Helper()
	all, err := s.Directory("")
	must(t, err)
	for _, e := range all {
		if e.Login == login {
			return e
		}
	}
	t.Fatalf("%s is not in the directory: %+v", login, all)
	return DirectoryEntry{}
}

// TestAccountLifecycle: a leader adds a colleague, who signs in; resets the
// colleague's forgotten passphrase (changed at the next sign-in before
// anything else); renames and promotes; disables the account, which then
// neither signs in nor holds the key. Every change reaches the directory
// with who made it; no secret does.
func TestAccountLifecycle(t *testing.T) {
	r := newReplica(t, township, domain.RoleLeader)
	leader := r.se
	must(t, leader.AddAccount("wangfang", "王芳", domain.RoleStaff, clerkPass))
	// The leader's own account (set up before any change) is announced
	// with the first change.
	if p, _ := r.Pending(); p.PendingOps != 2 {
		t.Fatalf("pending after adding an account: %+v", p)
	}
	if e := directoryEntry(t, r.Store, "user"); !e.Enabled || e.DisplayName != "测试用户" || e.Role != domain.RoleLeader {
		t.Fatalf("the leader in the directory: %+v", e)
	}
	e := directoryEntry(t, r.Store, "wangfang")
	if !e.Added || !e.Enabled || e.DisplayName != "王芳" || e.Role != domain.RoleStaff || e.AddedBy != "user" || len(e.History) != 1 {
		t.Fatalf("the new account in the directory: %+v", e)
	}
	clerk, err := r.SignIn("wangfang", clerkPass)
	must(t, err)
	if clerk.Account().Role != domain.RoleStaff || clerk.MustChangePassphrase() {
		t.Fatalf("clerk's session: %+v", clerk.Account())
	}
	if err := leader.AddAccount("wangfang", "另一个王芳", domain.RoleStaff, clerkPass); !errors.Is(err, ErrAccountExists) {
		t.Fatalf("a login twice: %v", err)
	}

	// The clerk forgot the passphrase: the leader resets it.
	const temp = "临时口令-请尽快修改"
	must(t, leader.ResetPassphrase("wangfang", temp))
	if _, err := r.SignIn("wangfang", clerkPass); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("the forgotten passphrase after the reset: %v", err)
	}
	clerk, err = r.SignIn("wangfang", temp)
	must(t, err)
	if !clerk.MustChangePassphrase() {
		t.Fatal("a reset passphrase need not be changed")
	}
	pending, _ := r.Pending()
	if _, err := clerk.Create(sampleDraft("用临时口令起草")); !errors.Is(err, ErrMustChangePassphrase) {
		t.Fatalf("acting under a reset passphrase: %v", err)
	}
	if err := clerk.ChangePassphrase("猜错的旧口令-2026", "新口令-王芳-2026"); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("change with a wrong old passphrase: %v", err)
	}
	if err := clerk.ChangePassphrase(temp, temp); !errors.Is(err, domain.ErrInvalidValue) {
		t.Fatalf("change to the same passphrase: %v", err)
	}
	if err := clerk.ChangePassphrase(temp, "短"); !errors.Is(err, auth.ErrWeakPassphrase) {
		t.Fatalf("change to a weak passphrase: %v", err)
	}
	if p, _ := r.Pending(); p != pending || !rawAccount(t, r.Store, "wangfang").MustChange {
		t.Fatal("refused changes changed something")
	}
	must(t, clerk.ChangePassphrase(temp, "新口令-王芳-2026"))
	if clerk.MustChangePassphrase() {
		t.Fatal("still must change after changing")
	}
	ref, err := clerk.Create(sampleDraft("王芳起草的承诺"))
	must(t, err)
	if _, err := r.SignIn("wangfang", temp); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("the temporary passphrase after the change: %v", err)
	}
	clerk, err = r.SignIn("wangfang", "新口令-王芳-2026")
	must(t, err)
	if clerk.MustChangePassphrase() {
		t.Fatal("must change again after a change")
	}

	// Renamed and promoted.
	must(t, leader.RenameAccount("wangfang", " 王芳（民政办） "))
	must(t, leader.SetAccountRole("wangfang", domain.RoleLeader))
	before, _ := r.Pending()
	must(t, leader.SetAccountRole("wangfang", domain.RoleLeader)) // nothing to change
	must(t, leader.RenameAccount("wangfang", "王芳（民政办）"))
	if after, _ := r.Pending(); after != before {
		t.Fatal("changes that change nothing were queued")
	}
	if err := leader.SetAccountRole("wangfang", domain.RoleCountyAdmin); !errors.Is(err, domain.ErrNotAllowed) {
		t.Fatalf("a leader made a county admin: %v", err)
	}
	if err := leader.SetAccountRole("user", domain.RoleStaff); !errors.Is(err, domain.ErrNotAllowed) {
		t.Fatalf("a leader demoted themselves: %v", err)
	}
	if err := leader.DisableAccount("user", ""); !errors.Is(err, domain.ErrNotAllowed) {
		t.Fatalf("a leader disabled themselves: %v", err)
	}
	if err := leader.ResetPassphrase("user", temp); !errors.Is(err, domain.ErrNotAllowed) {
		t.Fatalf("a leader reset their own passphrase: %v", err)
	}
	if err := leader.DisableAccount("nobody", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("disabling an unknown account: %v", err)
	}

	// Disabled: kept, but it neither signs in nor unseals the key.
	must(t, leader.DisableAccount("wangfang", "调离本单位"))
	if _, err := r.SignIn("wangfang", "新口令-王芳-2026"); !errors.Is(err, ErrAccountDisabled) {
		t.Fatalf("a disabled account signs in: %v", err)
	}
	a := rawAccount(t, r.Store, "wangfang")
	if !a.Disabled || a.DisabledBy != "user" || a.SealedKey != nil {
		t.Fatalf("disabled account on disk: %+v", a)
	}
	if _, err := auth.OpenKey(a.SealedKey, "新口令-王芳-2026"); err == nil {
		t.Fatal("the disabled account's passphrase still unseals a key")
	}
	for name, err := range map[string]error{
		"disable again": leader.DisableAccount("wangfang", ""),
		"reset":         leader.ResetPassphrase("wangfang", temp),
		"rename":        leader.RenameAccount("wangfang", "王芳"),
	} {
		if !errors.Is(err, ErrAccountDisabled) {
			t.Errorf("%s a disabled account: %v", name, err)
		}
	}
	accts, err := r.Accounts()
	must(t, err)
	if len(accts) != 2 || !accts[1].Disabled || accts[1].Name != "wangfang" || accts[1].DisabledBy != "user" {
		t.Fatalf("accounts after disabling: %+v", accts)
	}

	// The directory tells the whole story, in order; what the account
	// authored still names it.
	e = directoryEntry(t, r.Store, "wangfang")
	if e.Enabled || e.DisplayName != "王芳（民政办）" || e.Role != domain.RoleLeader || e.Resets != 1 || e.ResetBy != "user" ||
		e.DisabledBy != "user" || e.DisabledReason != "调离本单位" {
		t.Fatalf("directory entry at the end: %+v", e)
	}
	var actions []protocol.AccountAction
	for _, h := range e.History {
		actions = append(actions, h.Action)
	}
	if !slices.Equal(actions, []protocol.AccountAction{protocol.AccountAdd, protocol.AccountReset, protocol.AccountRename, protocol.AccountRole,
		protocol.AccountDisable}) {
		t.Fatalf("history: %v", actions)
	}
	c, err := r.Commitment(ref)
	must(t, err)
	people, err := r.People()
	must(t, err)
	if got := people.Who(c.CreatedDevice, c.CreatedBy); got != "王芳（民政办）（wangfang）" {
		t.Fatalf("the author of the draft: %q", got)
	}
	if people.Name(c.CreatedDevice, "nobody") != "nobody" || people.Name(protocol.DeviceID{9}, "wangfang") != "wangfang" {
		t.Fatal("unknown logins and devices are not shown by login")
	}
	// No secret travelled: the change sets hold no passphrase.
	for _, raw := range r.seal(t, 0) {
		for _, secret := range []string{clerkPass, temp, "新口令-王芳-2026", testPass} {
			if bytes.Contains(raw, []byte(secret)) {
				t.Fatalf("a passphrase travels in a change set")
			}
		}
	}
}

// TestStaffCannotManageAccounts: a staff member's account changes are
// refused with the receiver's code, and nothing is stored.
func TestStaffCannotManageAccounts(t *testing.T) {
	r := newReplica(t, township, domain.RoleLeader)
	must(t, r.se.AddAccount("wangfang", "王芳", domain.RoleStaff, clerkPass))
	must(t, r.se.AddAccount("chenjing", "陈静", domain.RoleStaff, clerkPass+"2"))
	staff, err := r.SignIn("wangfang", clerkPass)
	must(t, err)
	before, _ := r.Pending()
	d0 := digest(t, r.Store)
	accts0, _ := r.Accounts()
	for name, do := range map[string]func() error{
		"add":      func() error { return staff.AddAccount("lisi", "李四", domain.RoleStaff, clerkPass) },
		"disable":  func() error { return staff.DisableAccount("chenjing", "") },
		"reset":    func() error { return staff.ResetPassphrase("chenjing", "临时口令-请尽快修改") },
		"role":     func() error { return staff.SetAccountRole("chenjing", domain.RoleStaff) },
		"rename":   func() error { return staff.RenameAccount("chenjing", "陈静静") },
		"announce": func() error { _, err := staff.AnnounceAccounts(); return err },
	} {
		err := do()
		if protocol.CodeOf(err) != protocol.CodeNotAuthorized || !errors.Is(err, domain.ErrNotAllowed) {
			t.Errorf("staff %s: %v (code %q)", name, err, protocol.CodeOf(err))
		}
	}
	accts, _ := r.Accounts()
	if after, _ := r.Pending(); after != before || digest(t, r.Store) != d0 || !slices.Equal(accts, accts0) {
		t.Fatal("a refused account change stored something")
	}
	if _, err := r.SignIn("lisi", clerkPass); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("the refused account exists: %v", err)
	}
	// Staff change their own passphrase all the same.
	must(t, staff.ChangePassphrase(clerkPass, "王芳的新口令-2026"))
}

// TestDirectoryReachesTheCounty: account changes travel in change sets; the
// county-admin replica (as the county server's) shows the person behind
// each author login, and a township replica of another device of the
// office too.
func TestDirectoryReachesTheCounty(t *testing.T) {
	town := newReplica(t, township, domain.RoleLeader)
	other := newReplica(t, township, domain.RoleStaff)
	admin := newReplica(t, county, domain.RoleCountyAdmin)
	introduce(t, town, other, admin)
	must(t, town.se.AddAccount("wangfang", "王芳", domain.RoleStaff, clerkPass))
	clerk, err := town.SignIn("wangfang", clerkPass)
	must(t, err)
	ref, err := clerk.Create(sampleDraft("王芳起草"))
	must(t, err)
	// The county admin's own accounts are its county's.
	must(t, admin.se.AddAccount("deputy", "副主任", domain.RoleCountyAdmin, clerkPass))
	sets := town.seal(t, 0)
	deliver(t, admin, sets...)
	deliver(t, other, sets...)
	for _, r := range []*replica{admin, other} {
		c, err := r.Commitment(ref)
		must(t, err)
		people, err := r.People()
		must(t, err)
		if got := people.Who(c.CreatedDevice, c.CreatedBy); got != "王芳（wangfang）" {
			t.Fatalf("author of the draft: %q", got)
		}
		if got := people.Name(town.se.Device().ID, "user"); got != "测试用户" {
			t.Fatalf("the leader: %q", got)
		}
	}
	dir, err := admin.Directory(county)
	must(t, err)
	var logins []string
	for _, e := range dir {
		logins = append(logins, string(e.Office)+"/"+e.Login)
	}
	if !slices.Equal(logins, []string{"410324/deputy", "410324/user", "410324100/user", "410324100/wangfang"}) {
		t.Fatalf("the county's directory: %v", logins)
	}
	if dir, _ := admin.Directory(township); len(dir) != 2 {
		t.Fatalf("one township's directory: %+v", dir)
	}
	// The township never receives the county's accounts: the admin's
	// account changes are for the county office.
	if dir, _ := other.Directory(""); len(dir) != 2 {
		t.Fatalf("the township's directory: %+v", dir)
	}
	// Check holds the directory to its events.
	checkCatchesForgedView(t, admin.Store, bAccountDir, refKey(accountKey(township, "wangfang")), func(orig []byte) []byte {
		return bytes.Replace(orig, []byte("王芳"), []byte("李四"), 1)
	})
}

// checkCatchesForgedView checks that Check finds the derived view at key
// of bucket forged (as forge changes it), and removed while its events
// stay; and that the store is whole again with the view put back.
func checkCatchesForgedView(t *testing.T, s *Store, bucket, key []byte, forge func(orig []byte) []byte) {
	t.Helper()
	var orig []byte
	must(t, s.db.View(func(tx *bolt.Tx) error { orig = bytes.Clone(tx.Bucket(bucket).Get(key)); return nil }))
	must(t, s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put(key, forge(orig)) }))
	if err := s.Check(); !errors.Is(err, ErrInvariant) {
		t.Fatalf("a forged %s record: %v", bucket, err)
	}
	must(t, s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Delete(key) }))
	if err := s.Check(); !errors.Is(err, ErrInvariant) {
		t.Fatalf("events without their %s record: %v", bucket, err)
	}
	must(t, s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put(key, orig) }))
	must(t, s.Check())
}

// TestDirectoryConvergence: two devices of one office change the same
// logins concurrently (the same login added twice, renamed, promoted and
// disabled on either side); in any order of arrival every replica ends
// with the same directory, byte for byte.
func TestDirectoryConvergence(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed*31))
			a := newReplica(t, township, domain.RoleLeader)
			b := newReplica(t, township, domain.RoleLeader)
			late := newReplica(t, township, domain.RoleStaff)
			introduce(t, a, b, late)
			logins := []string{"wangfang", "chenjing", "lisi"}
			for i, r := range []*replica{a, b} {
				for _, l := range logins {
					must(t, r.se.AddAccount(l, fmt.Sprintf("%s-%d", l, i), domain.RoleStaff, clerkPass))
				}
				for range 4 {
					l := logins[rng.IntN(len(logins))]
					switch rng.IntN(3) {
					case 0:
						must(t, r.se.RenameAccount(l, fmt.Sprintf("%s-改名-%d", l, rng.IntN(100))))
					case 1:
						must(t, r.se.SetAccountRole(l, domain.RoleLeader))
					default:
						if err := r.se.DisableAccount(l, "离岗"); err != nil && !errors.Is(err, ErrAccountDisabled) {
							t.Fatal(err)
						}
					}
				}
			}
			sa, sb := a.seal(t, 0), b.seal(t, 0)
			deliver(t, a, sb...)
			deliver(t, b, sa...)
			deliver(t, late, interleave(rng, [][][]byte{sa, sb}, true)...)
			if digest(t, a.Store) != digest(t, b.Store) || digest(t, a.Store) != digest(t, late.Store) {
				t.Fatal("replicas differ after exchanging account changes")
			}
			da, _ := a.Directory("")
			dl, _ := late.Directory("")
			if len(da) != 4 || fmt.Sprint(da) != fmt.Sprint(dl) {
				t.Fatalf("directories differ:\n%+v\n%+v", da, dl)
			}
		})
	}
}

// binarySince is the schema from which a bucket's records are binary.
var binarySince = map[string]byte{
	string(bVersions): 8, string(bCommitments): 8,
	string(bEntries): 9, string(bAmendments): 9, string(bFeed): 9,
}

// migrateTestFile opens a copy of a file written by an older release (of
// schema from) and checks that the migration leads to SchemaVersion (9),
// leaves the store whole, changes no byte but the schema number and the
// records a migration re-encodes from JSON (binarySince: each must decode
// to what its JSON said) and adds no bucket but those named. It returns
// the migrated store, open.

func migrateTestFile(t *testing.T, file string, from byte, added ...string) *Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "replica.db")
	must(t, os.WriteFile(path, mustRead(t, file), 0o600))
	before := dumpAll(t, path)
	if v := before["meta/"+string(kSchema)]; v != string([]byte{0, 0, 0, 0, 0, 0, 0, from}) {
		t.Fatalf("%s is not of schema %d: %x", file, from, v)
	}
	open := func() *Store {
		s, err := Open(path, &Options{Now: newStepClock().Now, KDF: auth.TestParams(), Logger: quietLogger(), NoSync: true})
		must(t, err)
		return s
	}
	s := open()
	if v, _ := s.Schema(); v != SchemaVersion || SchemaVersion != 9 {
		t.Fatalf("schema %d after migration", v)
	}
	must(t, s.Check())
	s.Close()
	after := dumpAll(t, path)
	for k, v := range before {
		// Records a migration turned from JSON into binary decode to
		// what their JSON said; every other byte is as it was.
		if bucket, rk, ok := strings.Cut(k, "/"); ok && from < binarySince[bucket] {
			switch bucket {
			case string(bVersions):
				sameRecord(t, []byte(rk), []byte(v), []byte(after[k]), decodeVersion)
			case string(bCommitments):
				sameRecord(t, []byte(rk), []byte(v), []byte(after[k]), decodeCommitment)
			case string(bEntries):
				sameRecord(t, []byte(rk), []byte(v), []byte(after[k]), decodeEntry)
			case string(bAmendments):
				sameRecord(t, []byte(rk), []byte(v), []byte(after[k]), decodeAmendment)
			case string(bFeed):
				sameRecord(t, []byte(rk), []byte(v), []byte(after[k]), decodeFeedEntry)
			}
			continue
		}
		if k != "meta/"+string(kSchema) && after[k] != v {
			t.Errorf("%s changed in the migration", k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok && !slices.Contains(added, strings.TrimPrefix(k, "bucket/")) {
			t.Errorf("%s appeared in the migration", k)
		}
	}
	for _, b := range added {
		if _, ok := after["bucket/"+b]; !ok {
			t.Fatalf("no bucket %s after the migration", b)
		}
	}
	return open()
}

// TestMigrateSchema5 opens a township replica written by the release before
// the account directory (schema 5: a leader and a clerk, an objection, a
// pending draft), and checks that the migration adds the directory's
// buckets (and those of schema 7, the year), changes no other byte, and that
// the device works on: both sign in, the leader's sign-in announces them,
// the clerk's draft seals.
func TestMigrateSchema5(t *testing.T) {
	s := migrateTestFile(t, "testdata/schema5-township.db", 5, "account_dir", "account_log", "urges", "urge_log", "reports", "report_log")
	defer s.Close()
	clerk, err := s.SignIn("clerk", testPass+"-clerk")
	must(t, err)
	if clerk.Account().DisplayName != "办事员小李" || clerk.MustChangePassphrase() {
		t.Fatalf("the clerk after migration: %+v", clerk.Account())
	}
	leader, err := s.SignIn("leader", testPass)
	must(t, err)
	if n, err := leader.AnnounceAccounts(); err != nil || n != 2 {
		t.Fatalf("announcing the accounts from before the directory: %d, %v", n, err)
	}
	if n, err := leader.AnnounceAccounts(); err != nil || n != 0 {
		t.Fatalf("announcing again: %d, %v", n, err)
	}
	people, err := s.People()
	must(t, err)
	if got := people.Name(leader.Device().ID, "clerk"); got != "办事员小李" {
		t.Fatalf("the clerk in the directory: %q", got)
	}
	if n, err := leader.Seal(0); err != nil || n == 0 {
		t.Fatalf("Seal after migration: %d, %v", n, err)
	}
	must(t, s.Check())
}
