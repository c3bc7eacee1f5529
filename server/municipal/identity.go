package municipal

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// Files in a municipal node's data directory.
const (
	fileInfo  = "municipal.json" // the node's name and creation time
	fileKey   = "node.key"       // its ed25519 key (PKCS#8 PEM, 0600): signs upstream session challenges
	fileTrust = "trust.json"     // county code -> county public key: the trust anchors
	fileDB    = "municipal.db"   // the city replica (package store) and the node's own records

	fileSnapshot = "serf.snapshot" // the cluster member's clocks and known members
)

// ErrInitialised means Init found a node identity in the directory; it is
// never overwritten, since counties authorised its key.
var ErrInitialised = errors.New("municipal node already initialised")

// Identity is who a municipal node is: a name for people and a key the
// county servers have authorised for their upstream feed.
type Identity struct {
	Name string
	Key  ed25519.PrivateKey
	ID   protocol.DeviceID // derived from the key as a device ID is
}

// PublicKey returns the node's public key, what a county admin authorises
// with `jiannuo-server upstream add -key HEX`.
func (id *Identity) PublicKey() ed25519.PublicKey { return id.Key.Public().(ed25519.PublicKey) }

// InitConfig describes a new municipal node.
type InitConfig struct {
	// Name is how county admins know the node, e.g. "市信用平台-1".
	Name string
	// Trust is the content of the trust file (see ParseTrust); Init checks
	// it and keeps a copy in the directory.
	Trust []byte
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Init creates a municipal node's identity in dir: its key, its copy of the
// trust file and its name. It refuses a directory that has one.
func Init(dir string, cfg InitConfig) (*Identity, error) {
	if !domain.NonBlank(cfg.Name) || domain.CheckText("name", cfg.Name, protocol.MaxNameBytes) != nil {
		return nil, fmt.Errorf("node name %q: give a name of at most %d bytes", cfg.Name, protocol.MaxNameBytes)
	}
	if _, err := ParseTrust(cfg.Trust); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
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
	if err := auth.WriteKeyFile(filepath.Join(dir, fileKey), key); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, fileTrust), cfg.Trust, 0o644); err != nil {
		return nil, err
	}
	info, _ := json.MarshalIndent(map[string]string{"name": cfg.Name, "created": cfg.Now().UTC().Format(time.RFC3339)}, "", "  ")
	// Written last: its presence means the directory is complete.
	if err := os.WriteFile(filepath.Join(dir, fileInfo), info, 0o644); err != nil {
		return nil, err
	}
	return LoadIdentity(dir)
}

// LoadIdentity reads the identity Init wrote.
func LoadIdentity(dir string) (*Identity, error) {
	raw, err := os.ReadFile(filepath.Join(dir, fileInfo))
	if err != nil {
		return nil, fmt.Errorf("%s is not an initialised municipal node directory (run init -role municipal first): %w", dir, err)
	}
	var info struct{ Name string }
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, fmt.Errorf("%s: %w", fileInfo, err)
	}
	key, err := auth.ReadKeyFile(filepath.Join(dir, fileKey))
	if err != nil {
		return nil, err
	}
	return &Identity{Name: info.Name, Key: key, ID: protocol.DeviceIDFromKey(key.Public().(ed25519.PublicKey))}, nil
}

// Trust maps each county whose records the node accepts to the county's
// public key (the key that signs its receipts, certificates and
// revocations). It is the node's only trust anchor: counties are discovered
// through the cluster, but gossip is not proof of anything, so a county
// server is believed only when it answers with the key listed here, and
// everything it relays is checked against that key.
type Trust map[office.Code]ed25519.PublicKey

// ErrTrust means a trust file is unusable.
var ErrTrust = errors.New("bad trust file")

// ParseTrust reads a trust file: a JSON object mapping county codes to the
// county keys in hex (64 digits), as `jiannuo-server init` and
// `jiannuo-server identity` print them:
//
//	{
//	  "410324": "5b0c…",
//	  "410325": "e17a…"
//	}
//
// Errors wrap ErrTrust.
func ParseTrust(b []byte) (Trust, error) {
	var raw map[string]string
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTrust, err)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("%w: it trusts no county", ErrTrust)
	}
	t := make(Trust, len(raw))
	seen := map[string]office.Code{}
	for c, h := range raw {
		code, err := office.Parse(c)
		if err != nil || code.Level() != office.County {
			return nil, fmt.Errorf("%w: %q is not a county-level code such as 410324", ErrTrust, c)
		}
		key, err := hex.DecodeString(strings.TrimSpace(h))
		if err != nil || len(key) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: county %s: the key must be 64 hex digits (an ed25519 public key)", ErrTrust, code)
		}
		if other, dup := seen[string(key)]; dup {
			return nil, fmt.Errorf("%w: counties %s and %s have the same key", ErrTrust, other, code)
		}
		seen[string(key)] = code
		t[code] = key
	}
	return t, nil
}

// LoadTrust reads and parses a trust file.
func LoadTrust(path string) (Trust, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseTrust(b)
}

// Counties returns the trusted county codes in order.
func (t Trust) Counties() []office.Code {
	out := make([]office.Code, 0, len(t))
	for c := range t {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// MarshalJSON writes the trust file form.
func (t Trust) MarshalJSON() ([]byte, error) {
	m := make(map[string]string, len(t))
	for c, k := range t {
		m[string(c)] = hex.EncodeToString(k)
	}
	return json.MarshalIndent(m, "", "  ")
}
