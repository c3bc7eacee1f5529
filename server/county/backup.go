package county

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/backup"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// Backups while the server runs and ingests (GET /admin/backup): the
// county replica as one read transaction sees it, copied to a temporary
// file beside it (the writer waits for that local copy at most, never for
// the network: store.Snapshot), then streamed to the admin with the
// identity files as a backup archive (package backup). The admin's
// command wraps it in the backup file, encrypted there with a passphrase
// that never reaches the server. One backup runs at a time; each is
// audited.

// AuditBackup is the audit action of a backup taken through the admin API.
const AuditBackup = "backup"

// Files a county backup holds, in this order: the identity first, the
// replica last. A restore writes exactly these.
var backupFiles = []string{fileInfo, fileKey, fileTLSCert, fileTLSKey, fileDB}

// errBackupRunning refuses a backup while another one runs.
var errBackupRunning = fmt.Errorf("%w: a backup is being taken; try again when it is done", protocol.ErrBusy)

// Backup writes the server's data directory to w as a backup archive: a
// consistent copy of the replica (taken while the server runs) and the
// identity files. who is the admin, for the audit trail. It returns the
// archive's manifest.
func (s *Server) Backup(ctx context.Context, w io.Writer, who string) (backup.Manifest, error) {
	select {
	case s.backups <- struct{}{}:
		defer func() { <-s.backups }()
	default:
		return backup.Manifest{}, errBackupRunning
	}
	m := backup.Manifest{Kind: backup.KindCounty.String(), County: string(s.id.County)}
	snap, err := s.st.Snapshot(s.cfg.Dir, func(tx *bolt.Tx) error {
		m.Created, m.FeedHead = s.cfg.Now().UTC(), store.FeedHeadTx(tx)
		e := getEpoch(tx, kEpoch)
		m.Epoch = e.String()
		return nil
	})
	if err != nil {
		return m, fmt.Errorf("copying the replica: %w", err)
	}
	defer os.Remove(snap.Name())
	defer snap.Close()
	if schema, err := s.st.Schema(); err == nil {
		m.Schema = schema
	}
	err = s.st.Update(func(tx *bolt.Tx) error {
		return putAudit(tx, countyapi.AuditEntry{Time: s.cfg.Now(), Who: who, Action: AuditBackup, Target: m.Epoch,
			Detail: fmt.Sprintf("feed head %d", m.FeedHead)})
	})
	if err != nil {
		return m, err
	}
	var files []backup.SourceFile
	for _, name := range backupFiles[:len(backupFiles)-1] {
		path := filepath.Join(s.cfg.Dir, name)
		fi, err := os.Stat(path)
		if err != nil {
			return m, err
		}
		files = append(files, backup.SourceFile{Name: name, Path: path, Mode: fi.Mode().Perm()})
	}
	size, err := backup.WriteDir(ctx, w, m, files, fileDB, snap)
	if err != nil {
		return m, err
	}
	s.log.Info("backup taken", "admin", who, "feed_head", m.FeedHead, "bytes", size)
	return m, nil
}

// serveBackup answers GET /admin/backup with the backup archive. The
// answer takes as long as the replica is large and the link slow, so its
// write deadline moves on with every megabyte sent: a client that stops
// reading for WriteTimeout is dropped, one that keeps reading is not.
func (s *Server) serveBackup(w http.ResponseWriter, r *http.Request, who string) {
	rc := http.NewResponseController(w)
	pw := &backup.ProgressWriter{W: w, Step: func() { rc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout)) }}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "no-store")
	_, err := s.Backup(r.Context(), pw, who)
	switch {
	case err == nil:
	case errors.Is(err, errBackupRunning) && pw.N == 0:
		w.Header().Set("Retry-After", "60")
		s.writeErr(w, r, http.StatusTooManyRequests, err)
	case pw.N == 0:
		s.writeErr(w, r, http.StatusInternalServerError, err)
	default:
		// The archive is cut short: the client refuses it as incomplete.
		s.log.Error("backup ended early", "admin", who, "sent", pw.N, "err", err)
	}
}

// CheckReport is what Check found in a county data directory.
type CheckReport struct {
	County      string `json:"county"`
	Fingerprint string `json:"fingerprint"`
	Schema      int    `json:"schema"`
	FeedHead    uint64 `json:"feed_head"`
	Epoch       string `json:"epoch"`
	Digest      string `json:"digest"`
	Devices     int    `json:"devices"`
	Audit       int    `json:"audit_entries"`
}

// Check checks the data directory of a stopped county server: the
// identity loads, every certificate in the replica verifies with the
// county key (the key files and the replica belong together), the
// replica's invariants hold (store.Check) and the audit trail is unbroken.
func Check(dir string) (CheckReport, error) {
	id, err := LoadIdentity(dir)
	if err != nil {
		return CheckReport{}, err
	}
	rep := CheckReport{County: string(id.County), Fingerprint: id.Fingerprint}
	pub := id.Key.Public().(ed25519.PublicKey)
	var d protocol.Hash
	rep.Schema, d, err = store.CheckFile(filepath.Join(dir, fileDB), ensureBuckets, func(tx *bolt.Tx) error {
		e := getEpoch(tx, kEpoch)
		rep.Epoch, rep.FeedHead = e.String(), store.FeedHeadTx(tx)
		if err := verifyAuditTx(tx); err != nil {
			return err
		}
		rep.Audit = tx.Bucket(bAudit).Stats().KeyN
		return tx.Bucket(bCerts).ForEach(func(k, v []byte) error {
			c, err := protocol.OpenCertificate(v, pub)
			if err != nil || string(c.Device[:]) != string(k) {
				return fmt.Errorf("the certificate of %x does not verify with the county key in %s: the key files and the replica do not belong together: %v", k, fileKey, err)
			}
			rep.Devices++
			return nil
		})
	})
	if err != nil {
		return rep, err
	}
	rep.Digest = d.String()
	return rep, nil
}

// RestoreOptions configure Restore.
type RestoreOptions struct {
	// Passphrase is asked for an encrypted backup.
	Passphrase func() (string, error)
	// Force replaces a data directory that holds files (kept aside, see
	// backup.Restore); the server must be stopped.
	Force bool
	// Who restored it, for the audit entry.
	Who string
	// Now and Logger as in RestoreConfig.
	Now    func() time.Time
	Logger *slog.Logger
}

// Restored is what Restore did: the backup's contents, where the replaced
// directory went, the new feed epoch and the check of the result.
type Restored struct {
	backup.Restored
	Epoch protocol.Epoch
	Check CheckReport
}

// Restore restores the county backup file at path into the data
// directory dir of a stopped server: it checks the whole file first, then
// extracts it beside dir, checks the result (Check), makes it a new life
// of the feed (MarkRestored: new epoch, new server device, audit entry)
// and only then puts it in dir's place. A directory in use by a running
// server is refused.
func Restore(path, dir string, o RestoreOptions) (Restored, error) {
	var res Restored
	var carried []protocol.Epoch
	r, err := backup.Restore(path, backup.KindCounty, o.Passphrase, dir, backup.RestoreOptions{
		Force: o.Force,
		Now:   o.Now,
		Files: backupFiles,
		Replacing: func(old string) error {
			db := filepath.Join(old, fileDB)
			if _, err := os.Stat(db); errors.Is(err, os.ErrNotExist) {
				return nil
			}
			// Opening it waits for a running server's lock: refused then.
			epochs, err := KnownServerEpochs(db)
			if err != nil {
				return fmt.Errorf("%s is in use (stop the server first) or unreadable: %w", db, err)
			}
			carried = epochs
			return nil
		},
		Prepare: func(tmp string, m backup.Manifest) error {
			if _, err := Check(tmp); err != nil {
				return fmt.Errorf("the restored directory does not check: %w", err)
			}
			var err error
			res.Epoch, err = MarkRestored(tmp, RestoreConfig{Backup: m.Created, Who: o.Who, ServerEpochs: carried, Now: o.Now, Logger: o.Logger})
			if err != nil {
				return err
			}
			res.Check, err = Check(tmp)
			return err
		},
	})
	res.Restored = r
	return res, err
}
