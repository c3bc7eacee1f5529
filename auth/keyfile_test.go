package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
)

func TestKeyFileRoundTrip(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	path := filepath.Join(t.TempDir(), "server.key")
	if err := WriteKeyFile(path, key); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	got, err := ReadKeyFile(path)
	if err != nil || !got.Equal(key) {
		t.Fatalf("read back: %v", err)
	}
	os.WriteFile(path, []byte("not a key"), 0o600)
	if _, err := ReadKeyFile(path); err == nil {
		t.Fatal("garbage accepted as a key")
	}
}
