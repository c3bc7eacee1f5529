package auth

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"
)

func TestSuccessorKey(t *testing.T) {
	_, prev, _ := ed25519.GenerateKey(nil)
	_, next, _ := ed25519.GenerateKey(nil)
	_, other, _ := ed25519.GenerateKey(nil)
	sealed, err := SealSuccessor(next, prev)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, next.Seed()) {
		t.Fatal("the new key's seed is in the clear")
	}
	got, err := OpenSuccessor(sealed, prev)
	if err != nil || !bytes.Equal(got, next) {
		t.Fatalf("OpenSuccessor = %x, %v", got, err)
	}
	if _, err := OpenSuccessor(sealed, other); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("opened with another key: %v", err)
	}
	bad := bytes.Clone(sealed)
	bad[len(bad)-1] ^= 1
	if _, err := OpenSuccessor(bad, prev); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("opened an altered key: %v", err)
	}
	if _, err := OpenSuccessor(sealed[:10], prev); !errors.Is(err, ErrMalformedKey) {
		t.Errorf("opened a truncated key: %v", err)
	}
}
