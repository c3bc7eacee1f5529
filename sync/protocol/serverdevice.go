package protocol

import (
	"crypto/ed25519"
	"crypto/sha256"
)

// serverDeviceContext separates the server device's seed from every other
// value derived from the county key.
const serverDeviceContext = "jiannuo/server-device/v1\x00"

// ServerDeviceKey returns the key of a county server's own device, the
// county-admin device that signs what the server does by itself (opening a
// case the public filed): seed = SHA-256("jiannuo/server-device/v1\x00" ||
// the county key's seed). It is derived, not stored, so a county server
// restored from a backup of its key signs on with the same device.
func ServerDeviceKey(county ed25519.PrivateKey) ed25519.PrivateKey {
	seed := sha256.Sum256(append([]byte(serverDeviceContext), county.Seed()...))
	return ed25519.NewKeyFromSeed(seed[:])
}
