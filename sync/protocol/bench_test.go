package protocol_test

import (
	"crypto/ed25519"
	"testing"

	"jiannuo/domain"
	"jiannuo/sync/protocol"
)

// benchSet returns an unsealed 100-operation change set of a township
// leader: twenty commitments, each created, edited, published, fulfilled
// and given evidence.
func benchSet(b *testing.B) (*world, *protocol.ChangeSet) {
	b.Helper()
	w := newWorld(b)
	var ops []protocol.Op
	for i := range 20 {
		c := entityID(byte(i + 1))
		first := uint64(len(ops) + 1)
		ops = append(ops,
			createOp(township, c),
			editOp(township, c, opID(w.town, first)),
			transitionOp(township, c, domain.StatusDraft, domain.StatusPublished, "", opID(w.town, first)),
			fulfilOp(b, township, c, protocol.HashOf(evidenceContent)),
			evidenceOp(township, c),
		)
	}
	cs := &protocol.ChangeSet{Device: w.town.id, Office: township, Author: "李明", AuthorRole: domain.RoleLeader, Seq: 1, Ops: number(1, hlc0, ops...)}
	return w, cs
}

func reportOpsPerSec(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func BenchmarkSeal(b *testing.B) {
	w, cs := benchSet(b)
	if err := cs.Seal(w.town.priv); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(cs.Bytes())))
	b.ReportAllocs()
	for b.Loop() {
		if err := cs.Seal(w.town.priv); err != nil {
			b.Fatal(err)
		}
	}
	reportOpsPerSec(b)
}

func BenchmarkDecode(b *testing.B) {
	w, cs := benchSet(b)
	if err := cs.Seal(w.town.priv); err != nil {
		b.Fatal(err)
	}
	raw := cs.Bytes()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := protocol.Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
	reportOpsPerSec(b)
}

func BenchmarkVerify(b *testing.B) {
	w, cs := benchSet(b)
	if err := cs.Seal(w.town.priv); err != nil {
		b.Fatal(err)
	}
	raw := cs.Bytes()
	chains := memChains{}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := protocol.Verify(raw, w.reg, chains, w.town.id); err != nil {
			b.Fatal(err)
		}
	}
	reportOpsPerSec(b)
}

// BenchmarkEd25519VerifyBaseline is one plain signature check of a 32-byte
// message, the floor under Verify: report Verify as a multiple of it.
func BenchmarkEd25519VerifyBaseline(b *testing.B) {
	priv := ed25519.NewKeyFromSeed(seedFor("baseline"))
	pub := priv.Public().(ed25519.PublicKey)
	msg := make([]byte, 32)
	sig := ed25519.Sign(priv, msg)
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("signature does not verify")
		}
	}
	reportOpsPerSec(b)
}
