// Package auth protects the two secrets Jiannuo keeps on a township office's
// disk: user passwords, stored as argon2id hashes, and each office's ed25519
// signing key, sealed under a passphrase.
//
// Everything here is offline and pure Go: no service to call, no cgo.
//
// # Basics
//
// Passwords:
//
//	enc, err := auth.HashPassword(pw, auth.DefaultParams())
//	// store enc (a PHC string) in the user record
//	switch err := auth.VerifyPassword(enc, pw); {
//	case err == nil:
//		if auth.NeedsRehash(enc, auth.DefaultParams()) {
//			enc, _ = auth.HashPassword(pw, auth.DefaultParams()) // store it
//		}
//	case errors.Is(err, auth.ErrWrongPassword):
//		// tell the user
//	default: // errors.Is(err, auth.ErrMalformedHash): corrupt record, log it
//	}
//
// Hashes are PHC strings, "$argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash>",
// with a 16-byte random salt and a 32-byte hash, both in unpadded standard
// base64. Any argon2 tool can check them.
//
// Keys:
//
//	if err := auth.ValidatePassphrase(pass); err != nil { /* show reason */ }
//	sealed, err := auth.SealKey(priv, pass, auth.DefaultParams())
//	priv, err = auth.OpenKey(sealed, pass)
//
// # Sealed key format (JNK1)
//
// A sealed key is exactly [SealedKeySize] (101) bytes, integers big-endian:
//
//	offset size  field
//	     0    4  magic "JNK1" (the "1" is the format version)
//	     4    4  argon2id time (passes), uint32
//	     8    4  argon2id memory in KiB, uint32
//	    12    1  argon2id threads, uint8
//	    13   16  argon2id salt, random
//	    29   24  XChaCha20-Poly1305 nonce, random
//	    53   48  ciphertext of the 32-byte ed25519 seed + 16-byte Poly1305 tag
//
// The AEAD key is argon2id(passphrase, salt, time, memory, threads) with a
// 32-byte output. Bytes 0–52, the header, are the AEAD's additional data, so
// changing the parameters, salt, nonce or magic makes opening fail just like
// a changed ciphertext does. Only the seed is stored; the public half is
// recomputed on opening. A future format gets a new magic ("JNK2") and
// OpenKey keeps reading the old one.
//
// # Caveats
//
//   - Parameters are refused beyond [MaxTime] passes and [MaxMemoryKiB]
//     (1 GiB) when decoding, before any work, so a crafted record cannot
//     exhaust a desktop. Within those limits a hostile record can still cost
//     up to a second or so of CPU per attempt.
//   - [ErrWrongPassphrase] covers both a wrong passphrase and a tampered
//     file: authenticated encryption cannot tell them apart.
//   - Derived keys and temporary copies of secrets are wiped after use, but
//     Go strings (the password arguments) are immutable and the AEAD keeps
//     its own copy of the key until garbage collection; the garbage
//     collector may also have moved secrets before they were wiped. Treat
//     wiping as hygiene, not a guarantee against someone who can read
//     process memory.
//   - Passwords and passphrases are hashed as their exact UTF-8 bytes. No
//     Unicode normalization is done, so the input method must produce the
//     same bytes each time (it does for Chinese characters and ASCII).
//   - [TestParams] exist for tests only; never ship them.
package auth
