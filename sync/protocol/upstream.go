package protocol

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
)

// The upstream session feeds a county's whole feed to a municipal node
// (docs/protocol.md, "Upstream"). Change sets travel with the county's
// receipt for them (FrameUpstreamEntry), so the municipal node checks the
// county's word on each; revocations travel with the feed position at which
// they took effect, which the county signs too, so the municipal node can
// tell a change set accepted before a revocation from one accepted after it
// without trusting the relay.

// revocationAtContext separates these signatures from every other the
// county key makes.
const revocationAtContext = "jiannuo/revocation-at/v1\x00"

func revocationAtMessage(revocation []byte, pos uint64) []byte {
	sum := sha256.Sum256(revocation)
	m := append([]byte(revocationAtContext), sum[:]...)
	return binary.BigEndian.AppendUint64(m, pos)
}

// SignRevocationAt signs with the county key that a revocation (its signed
// document bytes) took effect at feed position pos: every change set of the
// device at or before pos was accepted before it, none after.
func SignRevocationAt(countyKey ed25519.PrivateKey, revocation []byte, pos uint64) []byte {
	return ed25519.Sign(countyKey, revocationAtMessage(revocation, pos))
}

// VerifyRevocationAt checks a SignRevocationAt signature.
func VerifyRevocationAt(countyKey ed25519.PublicKey, revocation []byte, pos uint64, sig []byte) bool {
	return len(countyKey) == ed25519.PublicKeySize && len(sig) == ed25519.SignatureSize &&
		ed25519.Verify(countyKey, revocationAtMessage(revocation, pos), sig)
}
