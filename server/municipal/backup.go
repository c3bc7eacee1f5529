package municipal

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/backup"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// Backups while the node runs (GET /backup on the operators' port): the
// city replica as one read transaction sees it, copied to local disk first
// (store.Snapshot), then streamed with the identity and trust files as a
// backup archive (package backup); jiannuo-server backup -role municipal
// wraps it in the backup file, encrypted there.
//
// The operators' port has no accounts, and the archive holds the node's
// private key, so GET /backup wants the token in ops.token of the data
// directory (0600, made at the node's first start): whoever can read it
// could read node.key beside it anyway. The port listens on loopback by
// default.

const fileOpsToken = "ops.token" // the operators' token for GET /backup (0600)

// backupFiles are the files of a municipal backup, the replica last.
var backupFiles = []string{fileInfo, fileKey, fileTrust, fileDB}

// ensureOpsToken makes the operators' token in dir unless it is there.
func ensureOpsToken(dir string) error {
	path := filepath.Join(dir, fileOpsToken)
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	b := make([]byte, 32)
	rand.Read(b)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := f.WriteString(hex.EncodeToString(b) + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// OpsToken reads the operators' token of the node whose data directory is
// dir, for a command that asks the running node for a backup.
func OpsToken(dir string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(dir, fileOpsToken))
	if err != nil {
		return "", fmt.Errorf("the operators' token (%s) of the node: %w", fileOpsToken, err)
	}
	return strings.TrimSpace(string(raw)), nil
}

var errBackupRunning = errors.New("a backup is being taken; try again when it is done")

// Backup writes the node's data directory to w as a backup archive: a
// consistent copy of the replica, taken while the node runs, and the
// identity and trust files.
func (n *Node) Backup(ctx context.Context, w io.Writer) (backup.Manifest, error) {
	select {
	case n.backups <- struct{}{}:
		defer func() { <-n.backups }()
	default:
		return backup.Manifest{}, errBackupRunning
	}
	m := backup.Manifest{Kind: backup.KindMunicipal.String(), Node: n.id.ID.String(), Name: n.id.Name}
	snap, err := n.st.Snapshot(n.cfg.Dir, func(*bolt.Tx) error {
		m.Created = n.cfg.Now().UTC()
		return nil
	})
	if err != nil {
		return m, fmt.Errorf("copying the replica: %w", err)
	}
	defer os.Remove(snap.Name())
	defer snap.Close()
	if m.Schema, err = n.st.Schema(); err != nil {
		return m, err
	}
	var files []backup.SourceFile
	for _, name := range backupFiles[:len(backupFiles)-1] {
		f := backup.SourceFile{Name: name, Path: filepath.Join(n.cfg.Dir, name), Mode: 0o644}
		switch name {
		case fileTrust:
			f.Path = n.cfg.TrustFile
		case fileKey:
			f.Mode = 0o600
		}
		files = append(files, f)
	}
	size, err := backup.WriteDir(ctx, w, m, files, fileDB, snap)
	if err != nil {
		return m, err
	}
	n.log.Info("backup taken", "bytes", size)
	return m, nil
}

// serveBackup answers GET /backup for the holder of the operators' token.
// Its write deadline moves on with every megabyte sent, like the county's.
func (n *Node) serveBackup(w http.ResponseWriter, r *http.Request) {
	want, err := OpsToken(n.cfg.Dir)
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if err != nil || !ok || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		n.log.Warn("backup refused: no or wrong operators' token", "remote", r.RemoteAddr)
		countyapi.WriteIndentedJSON(w, http.StatusUnauthorized, countyapi.ErrorBody{Code: protocol.CodeNotAuthorized,
			Message: "the operators' token of the node (" + fileOpsToken + " in its data directory) is needed"})
		return
	}
	rc := http.NewResponseController(w)
	pw := &backup.ProgressWriter{W: w, Step: func() { rc.SetWriteDeadline(time.Now().Add(n.cfg.WriteTimeout)) }}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "no-store")
	_, err = n.Backup(r.Context(), pw)
	switch {
	case err == nil:
	case errors.Is(err, errBackupRunning) && pw.N == 0:
		w.Header().Set("Retry-After", "60")
		countyapi.WriteIndentedJSON(w, http.StatusTooManyRequests, countyapi.ErrorBody{Code: protocol.CodeBusy, Message: err.Error()})
	case pw.N == 0:
		n.serverError(w, err)
	default:
		n.log.Error("backup ended early", "sent", pw.N, "err", err)
	}
}

// CheckReport is what Check found in a municipal data directory.
type CheckReport struct {
	Node     string                 `json:"node"`
	Name     string                 `json:"name"`
	Schema   int                    `json:"schema"`
	Digest   string                 `json:"digest"`
	Counties map[office.Code]uint64 `json:"counties"` // cursor of each trusted county
}

// Check checks the data directory of a stopped municipal node: the
// identity and the trust file load, the replica's invariants hold.
func Check(dir string) (CheckReport, error) {
	id, err := LoadIdentity(dir)
	if err != nil {
		return CheckReport{}, err
	}
	rep := CheckReport{Node: id.ID.String(), Name: id.Name, Counties: map[office.Code]uint64{}}
	trust, err := LoadTrust(filepath.Join(dir, fileTrust))
	if err != nil {
		return rep, err
	}
	schema, d, err := store.CheckFile(filepath.Join(dir, fileDB), ensureBuckets, func(tx *bolt.Tx) error {
		for code := range trust {
			rep.Counties[code] = getCursor(tx, code)
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	rep.Schema = schema
	rep.Digest = d.String()
	return rep, nil
}

// Restore restores the municipal backup file at path into the data
// directory dir of a stopped node: it checks the whole file first, then
// extracts it beside dir, checks the result (Check) and only then puts it
// in dir's place (with force a directory holding files is kept aside, see
// backup.Restore; one in use by a running node is refused). The restored
// node pulls each county again from its cursor in the backup.
func Restore(path, dir string, passphrase func() (string, error), force bool) (backup.Restored, CheckReport, error) {
	var rep CheckReport
	r, err := backup.Restore(path, backup.KindMunicipal, passphrase, dir, backup.RestoreOptions{
		Force: force,
		Files: backupFiles,
		Replacing: func(old string) error {
			db := filepath.Join(old, fileDB)
			if _, err := os.Stat(db); errors.Is(err, os.ErrNotExist) {
				return nil
			}
			h, err := bolt.Open(db, 0o600, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
			if err != nil {
				return fmt.Errorf("%s is in use (stop the node first) or unreadable: %w", db, err)
			}
			return h.Close()
		},
		Prepare: func(tmp string, _ backup.Manifest) error {
			var err error
			rep, err = Check(tmp)
			if err != nil {
				return fmt.Errorf("the restored directory does not check: %w", err)
			}
			return ensureOpsToken(tmp)
		},
	})
	return r, rep, err
}
