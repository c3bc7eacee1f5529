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

// ServerDeviceKeyAt returns the key of the server device a county server
// signs with after it was restored from a backup into feed epoch epoch:
// seed = SHA-256("jiannuo/server-device/v1\x00" || the county key's seed
// || epoch). A restored server cannot know which of its own change sets
// it receipted after the backup was taken, so it must not continue that
// chain: it would sign other change sets with numbers the lost ones hold
// (a fork every replica refuses). It signs with a new device instead and
// leaves the old chain to come back whole from the devices that hold it.
// The zero epoch gives ServerDeviceKey's key (a server never restored).
func ServerDeviceKeyAt(county ed25519.PrivateKey, epoch Epoch) ed25519.PrivateKey {
	if epoch.IsZero() {
		return ServerDeviceKey(county)
	}
	seed := sha256.Sum256(append(append([]byte(serverDeviceContext), county.Seed()...), epoch[:]...))
	return ed25519.NewKeyFromSeed(seed[:])
}
