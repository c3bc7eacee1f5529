// Package backup reads and writes the backup files of 践诺 Jiannuo: one file
// per backup of a county server, a municipal node or a township device,
// holding a consistent copy of its bbolt replica and, for the servers, the
// identity files (keys, certificate) beside it.
//
// # Basics
//
// Create writes a backup file atomically (a temporary file in the same
// directory, mode 0600, renamed into place only when complete); its fill
// function adds files to an Archive. Verify reads a whole backup file and
// checks every byte before anything is written; Extract then writes its
// files into a new directory, checking them again on the way, and removes
// that directory if anything fails. Kinds (county, municipal, device) are
// part of the file, so a device backup is never restored as a county.
//
// # Format
//
// A backup file is a container (the header and a sequence of chunks)
// around an archive (a manifest and the files). Integers are big-endian.
//
//	header   magic "JNBK" · version 1 · kind byte (1 county, 2 municipal,
//	         3 device) · cipher byte (0 none, 1 argon2id + XChaCha20-Poly1305)
//	         · nonce prefix bytes[15] (random)
//	         · cipher 1 only: argon2id time u32 · memory KiB u32 · threads u8
//	           · salt bytes[16]
//	chunk    length u32 (16 … 65,552) · sealed bytes[length]
//
// Each chunk seals at most 64 KiB of the archive. Chunk i's 24-byte nonce is
// the prefix, i as a u64 and a last-chunk flag byte (1 on the final chunk,
// else 0); its additional data is the whole header. With cipher 1 the
// chunk is XChaCha20-Poly1305 under the key argon2id derives from the
// passphrase and the salt (32 bytes); with cipher 0 it is the plain bytes
// followed by the first 16 bytes of SHA-256("jiannuo/backup/v1 plain\x00"
// ‖ header ‖ nonce ‖ bytes). So with a passphrase a changed, removed,
// repeated or reordered chunk, a changed header and a file cut at any byte
// all fail authentication (this is the STREAM construction); without one
// the same faults are caught as damage, though anyone can forge a plain
// file. Nothing may follow the final chunk.
//
// The archive inside:
//
//	magic "JNAR" · version 1 · manifest: uvarint length (≤ 64 KiB), JSON
//	file     'f' · name: uvarint length (1 … 64), [a-z0-9._-], not "." or ".."
//	         · mode uvarint (permission bits, ≤ 0o777) · size uvarint
//	         (≤ 1 TiB) · size bytes of content
//	end      'e'
//
// # Caveats
//
// A wrong passphrase and an altered first chunk cannot be told apart
// (ErrPassphrase); an altered later chunk is reported as damage
// (ErrDamaged), since the first chunk proved the passphrase. Deriving the
// key costs what auth.DefaultParams costs (64 MiB, a second or so on an old
// machine); a file asking for more than auth.MaxMemoryKiB or auth.MaxTime
// is refused before any work.
package backup
