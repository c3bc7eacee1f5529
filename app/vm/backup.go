package vm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"jiannuo/auth"
	"jiannuo/backup"
	"jiannuo/store"
)

// Backups of a township device (File → 备份本机数据…): the replica as one
// read transaction sees it, in a backup file encrypted with a passphrase
// of its own (package backup), and a reminder in the status bar when the
// last one is older than the setting. A new machine restores one from the
// first-run wizard (从备份恢复…), then signs in with the accounts the
// backup holds. An old backup — one the device went on from and synced —
// is refused by the county at the first sync as a fork, and the status
// bar offers re-enrolment, which keeps both branches (reenrol.go): a
// restore never forks silently.

// DefaultBackupDays is how many days may pass after the last backup before
// the status bar reminds the user: the setting's default.
const DefaultBackupDays = 7

// deviceBackupFile is the replica's name inside a device backup.
const deviceBackupFile = "device.db"

// BackupFileName is the name the save dialog proposes: the office and the
// date, e.g. 践诺备份-410324101-20261120.jnbk.
func BackupFileName(st *store.Store, now time.Time) string {
	office := ""
	if rec, err := selfRecord(st); err == nil {
		office = "-" + string(rec.Office)
	}
	return "践诺备份" + office + "-" + now.Format("20060102") + ".jnbk"
}

// selfRecord is this device's own record in its replica.
func selfRecord(st *store.Store) (store.DeviceRecord, error) {
	dev, err := st.Device()
	if err != nil {
		return store.DeviceRecord{}, err
	}
	return st.DeviceRecord(dev)
}

// CheckBackupPassphrase checks the passphrase typed twice for a backup.
func CheckBackupPassphrase(p1, p2 string) *Message {
	if err := auth.ValidatePassphrase(p1); err != nil {
		m := Msg("error.weak_passphrase")
		return &m
	}
	if p1 != p2 {
		m := Msg("ui.backup.passphrases_differ")
		return &m
	}
	return nil
}

// BackupDevice writes a backup of the replica st to path, encrypted with
// passphrase (argon2id with kdf; zero means auth.DefaultParams()), and
// records the time for the reminder. The file is written beside path and
// renamed into place when whole, with mode 0600.
func BackupDevice(st *store.Store, path, passphrase string, kdf auth.Params, now time.Time) (backup.Manifest, error) {
	m := backup.Manifest{Created: now.UTC()}
	if rec, err := selfRecord(st); err == nil {
		m.Device, m.Office, m.Name, m.County = rec.ID.String(), string(rec.Office), rec.Name, string(rec.Office.County())
		if heads, err := st.Heads(); err == nil {
			m.Seq = heads[rec.ID].Seq
		}
	}
	m.Schema, _ = st.Schema()
	snap, err := st.Snapshot(filepath.Dir(path), nil)
	if err != nil {
		return m, err
	}
	defer os.Remove(snap.Name())
	defer snap.Close()
	fi, err := snap.Stat()
	if err != nil {
		return m, err
	}
	err = backup.Create(path, backup.WriterOptions{Kind: backup.KindDevice, Passphrase: passphrase, KDF: kdf}, m, func(a *backup.Archive) error {
		return a.Copy(deviceBackupFile, 0o600, fi.Size(), snap)
	})
	if err != nil {
		return m, err
	}
	return m, st.SetLastBackup(now)
}

// BackupReminder is the status bar's reminder: the zero message while the
// last backup (or, before the first, the set-up) is less than days old,
// or when days is 0 (reminders off).
func BackupReminder(st *store.Store, days int, now time.Time) Message {
	if days <= 0 {
		return Message{}
	}
	last, ok, since, err := st.LastBackup()
	if err != nil {
		return Message{}
	}
	from := since
	if ok {
		from = last
	}
	age := int(now.Sub(from).Hours() / 24)
	if from.IsZero() || age < days {
		return Message{}
	}
	if !ok {
		return Msg("ui.backup.reminder_never")
	}
	return Msg("ui.backup.reminder", age)
}

// RestoreDevice restores the device backup file at path as the replica
// file dbPath of a new machine: the file is read and checked whole first,
// then extracted beside dbPath and opened (its invariants checked, a set
// up device in it), and only then put in dbPath's place. An existing
// dbPath must hold no set-up device (the first-run wizard's empty file):
// it is kept aside as dbPath.before-restore-… The caller has closed it.
func RestoreDevice(path string, passphrase func() (string, error), dbPath string, now time.Time) (backup.Manifest, error) {
	dir := filepath.Dir(dbPath)
	if _, err := os.Stat(dbPath); err == nil {
		old, err := store.Open(dbPath, &store.Options{LockTimeout: time.Second})
		if err != nil {
			return backup.Manifest{}, err
		}
		_, derr := old.Device()
		old.Close()
		if derr == nil {
			return backup.Manifest{}, ErrRestoreOverDevice
		}
	}
	target := filepath.Join(dir, fmt.Sprintf(".restore-%d", now.UnixNano()))
	r, err := backup.Restore(path, backup.KindDevice, passphrase, target, backup.RestoreOptions{
		Files: []string{deviceBackupFile},
		Prepare: func(tmp string, _ backup.Manifest) error {
			st, err := store.Open(filepath.Join(tmp, deviceBackupFile), nil)
			if err != nil {
				return fmt.Errorf("%w: %v", backup.ErrDamaged, err)
			}
			defer st.Close()
			if _, err := st.Device(); err != nil {
				return fmt.Errorf("%w: no device set up in it", backup.ErrDamaged)
			}
			if err := st.Check(); err != nil {
				return fmt.Errorf("%w: %v", backup.ErrDamaged, err)
			}
			return nil
		},
	})
	if err != nil {
		return r.Manifest, err
	}
	defer os.RemoveAll(target)
	if _, err := os.Stat(dbPath); err == nil {
		if err := os.Rename(dbPath, dbPath+".before-restore-"+now.Format("20060102-150405")); err != nil {
			return r.Manifest, err
		}
	}
	return r.Manifest, os.Rename(filepath.Join(target, deviceBackupFile), dbPath)
}

// ErrRestoreOverDevice refuses to restore over a replica that holds a set
// up device: its work would be lost.
var ErrRestoreOverDevice = errors.New("this computer already holds a device: a backup is restored only on a new machine")

// BackupErrorMessage says what a failed backup or restore means.
func BackupErrorMessage(err error) Message {
	switch {
	case errors.Is(err, backup.ErrPassphrase):
		return Msg("ui.backup.wrong_passphrase")
	case errors.Is(err, backup.ErrTruncated), errors.Is(err, backup.ErrDamaged):
		return Msg("ui.backup.damaged")
	case errors.Is(err, backup.ErrNotBackup):
		return Msg("ui.backup.not_backup")
	case errors.Is(err, backup.ErrWrongKind):
		return Msg("ui.backup.wrong_kind")
	case errors.Is(err, backup.ErrVersion):
		return Msg("ui.backup.version")
	case errors.Is(err, ErrRestoreOverDevice):
		return Msg("ui.backup.over_device")
	case errors.Is(err, os.ErrPermission):
		return Msg("ui.backup.no_permission")
	}
	if m := ErrorMessage(err); m.Key != "error.unknown" && m.Key != "error.internal" {
		return m
	}
	return Msg("ui.backup.failed", err.Error())
}
