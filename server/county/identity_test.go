package county

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"jiannuo/auth"
	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// testAdminPassword passes auth.ValidatePassphrase.
const testAdminPassword = "栾川县信用办2026"

func testInitConfig() InitConfig {
	return InitConfig{
		County:        office.MustParse("410324"),
		Hosts:         []string{"localhost", "127.0.0.1", "county.example"},
		AdminName:     "zhangwei",
		AdminPassword: testAdminPassword,
		KDF:           auth.TestParams(),
		Logger:        slog.New(slog.DiscardHandler),
	}
}

func TestInitWritesKeysPrivately(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "county-data")
	id, err := Init(dir, testInitConfig())
	if err != nil {
		t.Fatal(err)
	}
	if id.County != "410324" {
		t.Errorf("county = %q", id.County)
	}
	for _, name := range []string{fileKey, fileTLSKey} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s: mode %v, want 0600", name, perm)
		}
	}
	for _, name := range []string{fileInfo, fileTLSCert, fileDB} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("data directory mode %v: readable by others", perm)
	}
}

func TestInitCertificateNamesHosts(t *testing.T) {
	id, err := Init(t.TempDir(), testInitConfig())
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(id.TLS.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(leaf.DNSNames, "county.example") || !slices.Contains(leaf.DNSNames, "localhost") {
		t.Errorf("DNS names %v", leaf.DNSNames)
	}
	if !slices.ContainsFunc(leaf.IPAddresses, func(ip net.IP) bool { return ip.Equal(net.IPv4(127, 0, 0, 1)) }) {
		t.Errorf("IP addresses %v", leaf.IPAddresses)
	}
	if !strings.Contains(leaf.Subject.CommonName, "410324") {
		t.Errorf("common name %q", leaf.Subject.CommonName)
	}
	if time.Until(leaf.NotAfter) < 5*365*24*time.Hour {
		t.Errorf("certificate expires %v: devices pin it, it must last", leaf.NotAfter)
	}
}

func TestInitRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*InitConfig)
		want string
	}{
		{"township code", func(c *InitConfig) { c.County = "410324101" }, "county-level"},
		{"city code", func(c *InitConfig) { c.County = "410300" }, "county-level"},
		{"empty code", func(c *InitConfig) { c.County = "" }, "county-level"},
		{"short password", func(c *InitConfig) { c.AdminPassword = "abc123" }, "admin password"},
		{"repeated password", func(c *InitConfig) { c.AdminPassword = "aaaaaaaaaaaa" }, "admin password"},
		{"no admin name", func(c *InitConfig) { c.AdminName = "" }, "admin name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "county-data")
			cfg := testInitConfig()
			tc.edit(&cfg)
			_, err := Init(dir, cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Init = %v, want an error mentioning %q", err, tc.want)
			}
			if errors.Is(err, ErrInitialised) {
				t.Fatalf("Init = %v, not ErrInitialised", err)
			}
			if tc.name == "short password" || tc.name == "repeated password" {
				if !errors.Is(err, auth.ErrWeakPassphrase) {
					t.Errorf("Init = %v, want auth.ErrWeakPassphrase", err)
				}
			}
			// A refused Init leaves nothing that blocks a correct one.
			if _, err := Init(dir, testInitConfig()); err != nil {
				t.Fatalf("Init after a refused one: %v", err)
			}
		})
	}
}

func TestInitTwiceRefused(t *testing.T) {
	dir := t.TempDir()
	first, err := Init(dir, testInitConfig())
	if err != nil {
		t.Fatal(err)
	}
	cfg := testInitConfig()
	cfg.AdminName = "another"
	if _, err := Init(dir, cfg); !errors.Is(err, ErrInitialised) {
		t.Fatalf("second Init = %v, want ErrInitialised", err)
	}
	// Nothing was overwritten: devices pinned the first identity.
	again, err := LoadIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	if again.Fingerprint != first.Fingerprint || !again.Key.Equal(first.Key) {
		t.Fatal("second Init changed the identity")
	}
}

func TestLoadIdentityRoundTrip(t *testing.T) {
	dir := t.TempDir()
	made, err := Init(dir, testInitConfig())
	if err != nil {
		t.Fatal(err)
	}
	got, err := LoadIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.County != made.County {
		t.Errorf("county %q, want %q", got.County, made.County)
	}
	if !got.Key.Equal(made.Key) {
		t.Error("signing key differs")
	}
	if len(got.TLS.Certificate) == 0 || !slices.Equal(got.TLS.Certificate[0], made.TLS.Certificate[0]) {
		t.Error("TLS certificate differs")
	}
	if got.Fingerprint != made.Fingerprint {
		t.Errorf("fingerprint %s, want %s", got.Fingerprint, made.Fingerprint)
	}
	// The loaded key signs what the county's public key verifies.
	msg := []byte("回执")
	if !ed25519.Verify(made.Key.Public().(ed25519.PublicKey), msg, ed25519.Sign(got.Key, msg)) {
		t.Error("loaded key does not match the public key")
	}
}

func TestLoadIdentityNotInitialised(t *testing.T) {
	_, err := LoadIdentity(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "run init first") {
		t.Fatalf("LoadIdentity of an empty dir = %v", err)
	}
}

func TestFingerprintIsOfCertificateDER(t *testing.T) {
	dir := t.TempDir()
	id, err := Init(dir, testInitConfig())
	if err != nil {
		t.Fatal(err)
	}
	if want := protocol.Fingerprint(id.TLS.Certificate[0]); id.Fingerprint != want {
		t.Errorf("fingerprint %s, want %s", id.Fingerprint, want)
	}
	// The same as computed from the certificate file, which is what an
	// admin command reads when it pins the server.
	raw, err := os.ReadFile(filepath.Join(dir, fileTLSCert))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("%s: no certificate PEM block", fileTLSCert)
	}
	if got := protocol.Fingerprint(block.Bytes); got != id.Fingerprint {
		t.Errorf("fingerprint of %s = %s, want %s", fileTLSCert, got, id.Fingerprint)
	}
	// 32 bytes as colon-separated upper-case pairs.
	if len(id.Fingerprint) != 32*3-1 || strings.ToUpper(id.Fingerprint) != id.Fingerprint {
		t.Errorf("fingerprint %q not in the pinned form", id.Fingerprint)
	}
}
