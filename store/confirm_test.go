package store

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"jiannuo/domain"
	"jiannuo/sync/protocol"
)

func TestUnconfirmedAndOpConfirmation(t *testing.T) {
	a := newReplica(t, township, domain.RoleLeader)
	b := newReplica(t, township, domain.RoleLeader)
	introduce(t, a, b)

	r1, err := a.se.Create(sampleDraft("一号"))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := a.se.Create(sampleDraft("二号"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.se.AddEvidence("照片.jpg", "image/jpeg", strings.NewReader("evidence")); err != nil {
		t.Fatal(err)
	}
	un, err := a.Unconfirmed()
	if err != nil {
		t.Fatal(err)
	}
	if len(un) != 2 || !un[r1] || !un[r2] {
		t.Fatalf("pending: unconfirmed = %v, want both commitments", un)
	}
	op1 := protocol.OpID{Device: a.se.Device().ID, Num: 1}
	if c, err := a.OpConfirmation(op1); err != nil || c.Confirmed || c.Seq != 0 {
		t.Fatalf("pending op: %+v, %v", c, err)
	}

	// Sealed into two change sets: still unconfirmed, now in the outbox.
	if _, err := a.se.Seal(2); err != nil {
		t.Fatal(err)
	}
	if un, _ := a.Unconfirmed(); len(un) != 2 {
		t.Fatalf("outbox: unconfirmed = %v", un)
	}
	op3 := protocol.OpID{Device: a.se.Device().ID, Num: 3}
	if c, err := a.OpConfirmation(op3); err != nil || c.Confirmed || c.Seq != 2 {
		t.Fatalf("sealed op 3: %+v, %v", c, err)
	}

	// The county receipts the first change set (ops 1 and 2).
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	rc := (&protocol.Receipt{County: county, Device: a.se.Device().ID, Seq: 1, Pos: 7, Time: 1_790_000_000_000}).Sign(priv)
	if err := a.Acknowledge(1, rc); err != nil {
		t.Fatal(err)
	}
	if un, _ := a.Unconfirmed(); len(un) != 0 {
		t.Fatalf("after receipt: unconfirmed = %v (op 3 is evidence, names no commitment)", un)
	}
	c, err := a.OpConfirmation(op1)
	if err != nil || !c.Confirmed || c.Seq != 1 {
		t.Fatalf("receipted op: %+v, %v", c, err)
	}
	got, err := protocol.OpenReceipt(c.Receipt, pub)
	if err != nil || got.Time != 1_790_000_000_000 {
		t.Fatalf("receipt: %+v, %v", got, err)
	}
	if c, _ := a.OpConfirmation(op3); c.Confirmed {
		t.Fatalf("op 3 confirmed before its change set was receipted")
	}
	if _, err := a.OpConfirmation(protocol.OpID{Device: a.se.Device().ID, Num: 99}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown op: %v", err)
	}

	// Another device's operations reached b through the county: confirmed.
	deliver(t, b, a.seal(t, 0)...)
	if c, err := b.OpConfirmation(op1); err != nil || !c.Confirmed || c.Receipt != nil {
		t.Fatalf("other device's op on b: %+v, %v", c, err)
	}
	if un, _ := b.Unconfirmed(); len(un) != 0 {
		t.Fatalf("b has nothing of its own: %v", un)
	}
}
