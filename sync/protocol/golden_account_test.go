package protocol_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"jiannuo/domain"
	"jiannuo/sync/protocol"
)

// Golden vectors of the account changes (op kind 12): the first change set
// of the township device of the case vectors (seed 60 61 … 7f, office
// 410324100), in which its leader adds two colleagues, renames one,
// resets the other's passphrase, promotes the first and disables the
// second.

const (
	goldenAccounts     = "testdata/changeset-v1-accounts.bin"
	goldenAccountsJSON = "testdata/changeset-v1-accounts.json"
)

type goldenAccount struct {
	Action      string `json:"action"`
	Login       string `json:"login"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
}

func describeAccount(a *protocol.AccountChange) *goldenAccount {
	if a == nil {
		return nil
	}
	return &goldenAccount{Action: string(a.Action), Login: a.Login, DisplayName: a.DisplayName, Role: string(a.Role)}
}

type goldenAccountDoc struct {
	Description string      `json:"description"`
	Device      goldenDev   `json:"device"`
	ChangeSet   goldenCSDoc `json:"change_set"`
}

// goldenAccountDevice is the township device that signs the account
// vectors, as the registry of a receiver knows it.
func goldenAccountDevice() (goldenKey, protocol.DeviceInfo) {
	_, _, town := goldenCaseKeys()
	return town, protocol.DeviceInfo{ID: town.id(), Key: town.pub(), Office: "410324100"}
}

// goldenAccountSet builds the change set.
func goldenAccountSet(tb testing.TB) *protocol.ChangeSet {
	tb.Helper()
	town, info := goldenAccountDevice()
	o := info.Office
	ch := func(a protocol.AccountChange, reason string) protocol.Op {
		return protocol.Op{Kind: protocol.OpAccount, Office: o, Account: &a, Reason: reason}
	}
	ops := []protocol.Op{
		ch(protocol.AccountChange{Action: protocol.AccountAdd, Login: "wangfang", DisplayName: "王芳", Role: domain.RoleStaff}, ""),
		ch(protocol.AccountChange{Action: protocol.AccountAdd, Login: "chenjing", DisplayName: "陈静", Role: domain.RoleStaff}, ""),
		ch(protocol.AccountChange{Action: protocol.AccountRename, Login: "chenjing", DisplayName: "陈静（民政办）"}, ""),
		ch(protocol.AccountChange{Action: protocol.AccountReset, Login: "wangfang"}, ""),
		ch(protocol.AccountChange{Action: protocol.AccountRole, Login: "wangfang", Role: domain.RoleLeader}, "任副镇长"),
		ch(protocol.AccountChange{Action: protocol.AccountDisable, Login: "chenjing"}, "调离本单位"),
	}
	const ms = int64(1772413200000) // 2026-03-02 09:00 CST, as in golden_test.go
	for i := range ops {
		ops[i].Num, ops[i].HLC = uint64(i+1), protocol.MakeHLC(ms+int64(i)*60_000, 0)
	}
	cs := &protocol.ChangeSet{Device: info.ID, Office: o, Author: "zhangli", AuthorRole: domain.RoleLeader, Seq: 1, Ops: ops}
	if err := cs.Seal(town.priv); err != nil {
		tb.Fatal(err)
	}
	return cs
}

func goldenAccountFiles(tb testing.TB) map[string][]byte {
	tb.Helper()
	town, info := goldenAccountDevice()
	cs := goldenAccountSet(tb)
	doc := goldenAccountDoc{
		Description: "Golden vectors of the account changes (op kind 12): change set 1 of the township device 410324100 of " +
			"changeset-v1-cases.json, whose leader adds, renames, resets, promotes and disables accounts. See docs/changeset-format.md; " +
			"regenerate with `go test ./sync/protocol -run Golden -update` only when the format changes on purpose.",
		Device: goldenDev{SeedHex: town.SeedHex, PublicKeyHex: town.PublicKeyHex, ID: info.ID.String(), IDHex: town.IDHex,
			Office: info.Office, Admin: info.Admin},
		ChangeSet: describeSet(filepath.Base(goldenAccounts), cs),
	}
	files := map[string][]byte{
		goldenAccounts:     cs.Bytes(),
		goldenAccountsJSON: marshalGolden(tb, doc),
		"testdata/fuzz/FuzzDecode/golden-accounts": fuzzSeed(cs.Bytes()),
	}
	for _, op := range cs.Ops {
		files[fmt.Sprintf("testdata/fuzz/FuzzDecodeOp/golden-accounts-op%d-%s", op.Num, op.Account.Action)] = fuzzSeed(protocol.AppendOp(nil, &op))
	}
	return files
}

// TestGoldenAccountVectors re-creates the account vectors and compares
// them byte for byte with testdata/ (rewrites them with -update).
func TestGoldenAccountVectors(t *testing.T) { checkGoldenFiles(t, goldenAccountFiles(t)) }

// TestGoldenAccountVectorsVerify reads the files on disk as a verifier in
// another language would: hash, signature, the spec decoder, then the full
// Verify against an empty chain.
func TestGoldenAccountVectorsVerify(t *testing.T) {
	var doc goldenAccountDoc
	readJSON(t, goldenAccountsJSON, &doc)
	d := doc.ChangeSet
	raw, err := os.ReadFile(filepath.Join("testdata", d.File))
	if err != nil {
		t.Fatal(err)
	}
	body, sig := raw[:len(raw)-64], raw[len(raw)-64:]
	h := sha256.Sum256(body)
	msg := append([]byte(signContext), h[:]...)
	pub := ed25519.NewKeyFromSeed(mustHex(t, doc.Device.SeedHex)).Public().(ed25519.PublicKey)
	if hex.EncodeToString(pub) != doc.Device.PublicKeyHex {
		t.Fatal("public key does not belong to the seed")
	}
	if len(raw) != d.Size || hex.EncodeToString(h[:]) != d.HashHex || hex.EncodeToString(msg) != d.SignedMessageHex ||
		hex.EncodeToString(sig) != d.SignatureHex || !ed25519.Verify(pub, msg, sig) {
		t.Fatal("size, hash, signed message or signature wrong")
	}
	got := specDecode(t, body)
	if got.seq != 1 || got.author != "zhangli" || got.role != "leader" || !reflect.DeepEqual(got.ops, specOpsOf(d.Ops)) {
		t.Fatalf("read by the spec decoder, differs from the description:\n got %+v\nwant %+v", got.ops, specOpsOf(d.Ops))
	}
	actions := map[string]bool{}
	for _, op := range got.ops {
		if op.Kind != 12 || op.Target != hex.EncodeToString(make([]byte, 16)) || op.Account == nil {
			t.Fatalf("op %d: kind %d, target %s", op.Num, op.Kind, op.Target)
		}
		actions[op.Account.Action] = true
	}
	for _, a := range []protocol.AccountAction{protocol.AccountAdd, protocol.AccountDisable, protocol.AccountReset, protocol.AccountRole, protocol.AccountRename} {
		if !actions[string(a)] {
			t.Errorf("the vectors lack the action %s", a)
		}
	}
	id := protocol.DeviceIDFromKey(pub)
	reg := memRegistry{id: {ID: id, Key: pub, Office: doc.Device.Office}}
	if _, err := protocol.Verify(raw, reg, memChains{}, id); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	// The same bytes from a device of another township are out of scope.
	reg[id] = protocol.DeviceInfo{ID: id, Key: pub, Office: "410324101"}
	if _, err := protocol.Verify(raw, reg, memChains{}, id); protocol.CodeOf(err) != protocol.CodeOutOfScope {
		t.Fatalf("Verify for another township's device: %v", err)
	}
}
