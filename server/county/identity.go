package county

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"jiannuo/auth"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// Files in a county server's data directory.
const (
	fileInfo    = "county.json" // county code and creation time
	fileKey     = "county.key"  // the county's ed25519 signing key (PKCS#8 PEM, 0600)
	fileTLSCert = "tls.crt"     // the server's TLS certificate (PEM); devices pin its fingerprint
	fileTLSKey  = "tls.key"     // its private key (PKCS#8 PEM, 0600)
	fileDB      = "county.db"   // the county replica (package store) and the server's own records
)

// ErrInitialised means Init found an existing county identity in the
// directory; it never overwrites one, since devices pinned it.
var ErrInitialised = errors.New("county server already initialised")

// Identity is who a county server is: the county it serves, the key that
// signs receipts, certificates and revocations, and its TLS certificate.
type Identity struct {
	County      office.Code
	Key         ed25519.PrivateKey
	TLS         tls.Certificate
	Fingerprint string // of the TLS certificate: what devices pin
}

// InitConfig describes a new county server.
type InitConfig struct {
	// County is the county-level division code, e.g. 410324 for 栾川县.
	County office.Code
	// Hosts are the DNS names and IP addresses devices will use to reach the
	// server; they go into the TLS certificate. Default: localhost, 127.0.0.1.
	Hosts []string
	// AdminName and AdminPassword are the first county-admin credential
	// for the admin API and the server commands.
	AdminName     string
	AdminPassword string
	// KDF are the argon2id parameters for the credential; zero means
	// auth.DefaultParams().
	KDF auth.Params
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives what Init does; nil means slog.Default().
	Logger *slog.Logger
}

// Init creates a county server's identity in dir: its signing key, a
// self-signed TLS certificate, the replica file and the first admin
// credential. It refuses a directory that already has an identity.
func Init(dir string, cfg InitConfig) (*Identity, error) {
	if cfg.County.Level() != office.County {
		return nil, fmt.Errorf("county code %q: need a 6-digit county-level code such as 410324", cfg.County)
	}
	if err := auth.ValidatePassphrase(cfg.AdminPassword); err != nil {
		return nil, fmt.Errorf("admin password: %w", err)
	}
	if err := countyapi.CheckAdminName(cfg.AdminName); err != nil {
		return nil, fmt.Errorf("admin name %q: %w", cfg.AdminName, countyapi.ErrBadAdminName)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if len(cfg.Hosts) == 0 {
		cfg.Hosts = []string{"localhost", "127.0.0.1"}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, fileInfo)); err == nil {
		return nil, fmt.Errorf("%w: %s", ErrInitialised, dir)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	certPEM, keyPEM, err := selfSigned(cfg.County, cfg.Hosts, cfg.Now())
	if err != nil {
		return nil, err
	}
	if err := auth.WriteKeyFile(filepath.Join(dir, fileKey), key); err != nil {
		return nil, err
	}
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{fileTLSCert, certPEM, 0o644},
		{fileTLSKey, keyPEM, 0o600},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return nil, err
		}
	}
	st, err := store.Open(filepath.Join(dir, fileDB), &store.Options{Feed: true, KDF: cfg.KDF, Now: cfg.Now, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	err = addAdmin(st, cfg.AdminName, cfg.AdminPassword, kdfOrDefault(cfg.KDF), true)
	if err == nil {
		_, err = registerServerDevice(st, &Identity{County: cfg.County, Key: key}, cfg.Now())
	}
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	info, _ := json.MarshalIndent(map[string]string{"county": string(cfg.County), "created": cfg.Now().UTC().Format(time.RFC3339)}, "", "  ")
	// Written last: its presence means the directory is complete.
	if err := os.WriteFile(filepath.Join(dir, fileInfo), info, 0o644); err != nil {
		return nil, err
	}
	return LoadIdentity(dir)
}

func kdfOrDefault(p auth.Params) auth.Params {
	if p == (auth.Params{}) {
		return auth.DefaultParams()
	}
	return p
}

// LoadIdentity reads the identity Init wrote.
func LoadIdentity(dir string) (*Identity, error) {
	raw, err := os.ReadFile(filepath.Join(dir, fileInfo))
	if err != nil {
		return nil, fmt.Errorf("%s is not an initialised county server directory (run init first): %w", dir, err)
	}
	var info struct{ County office.Code }
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, fmt.Errorf("%s: %w", fileInfo, err)
	}
	key, err := auth.ReadKeyFile(filepath.Join(dir, fileKey))
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, fileTLSCert), filepath.Join(dir, fileTLSKey))
	if err != nil {
		return nil, err
	}
	return &Identity{County: info.County, Key: key, TLS: cert, Fingerprint: protocol.Fingerprint(cert.Certificate[0])}, nil
}

// FingerprintOf reads the TLS certificate in the data directory dir and
// returns its fingerprint, the one devices pin; it needs no access to the
// private keys, so an admin command or the load generator on the server
// machine can pin the server by its directory.
func FingerprintOf(dir string) (string, error) {
	path := filepath.Join(dir, fileTLSCert)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%s has no %s: not an initialised county data directory (run init, or pass -dir)", dir, fileTLSCert)
	}
	if err != nil {
		return "", err
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "CERTIFICATE" {
		return "", fmt.Errorf("%s: no certificate in it", path)
	}
	return protocol.Fingerprint(block.Bytes), nil
}

// selfSigned makes a TLS certificate for the hosts. Devices do not trust it
// through a CA: they pin its fingerprint at enrolment, read out by the
// county admin, which suits offices with no PKI.
func selfSigned(county office.Code, hosts []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "jiannuo county server " + string(county), Organization: []string{"践诺 " + string(county)}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), nil
}
