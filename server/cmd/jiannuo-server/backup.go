package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"jiannuo/backup"
	"jiannuo/domain/office"
	"jiannuo/server/county"
	"jiannuo/server/municipal"
)

// Backups and restores of a county server or a municipal node:
//
//	jiannuo-server backup -o FILE [admin flags]                        (a running county server)
//	jiannuo-server backup -o FILE -role municipal [-ops ADDR] [-dir DIR] (a running municipal node)
//	jiannuo-server restore -i FILE -dir DIR [-force]                  (a stopped server or node)
//	jiannuo-server check [-dir DIR] [-role municipal]                 (a stopped server or node)
//
// The backup passphrase comes from JIANNUO_BACKUP_PASSPHRASE or a prompt,
// never from a flag (it would be in the shell history and the process
// list); -no-passphrase writes an unencrypted backup on purpose.

const envBackupPassphrase = "JIANNUO_BACKUP_PASSPHRASE"

func init() {
	// On the server machine: before the admin commands.
	at := 0
	for i, cmd := range commands {
		if cmd.name == "enrolments" {
			at = i
		}
	}
	commands = slices.Insert(commands, at,
		command{"backup", "-o FILE [-no-passphrase] [-force] [admin flags] | -role municipal -o FILE [-ops ADDR] [-dir DIR]",
			"back up the running county server (or municipal node) into one file, encrypted with a passphrase", (*cli).backupCmd},
		command{"restore", "-i FILE -dir DIR [-force]",
			"restore a backup file into the data directory of a stopped server or node (checked whole before anything is written)", (*cli).restoreCmd},
		command{"check", "[-dir DIR] [-role municipal] [-json]",
			"check the data directory of a stopped server or node: identity, replica invariants, audit trail", (*cli).checkCmd},
	)
}

// backupPassphrase returns the passphrase a new backup is encrypted with:
// from the environment, else typed twice at a prompt. none (-no-passphrase)
// returns "" on purpose.
func (c *cli) backupPassphrase(none bool) (string, error) {
	if none {
		if c.getenv(envBackupPassphrase) != "" {
			return "", usagef("-no-passphrase and %s both given: which one?", envBackupPassphrase)
		}
		return "", nil
	}
	if p := c.getenv(envBackupPassphrase); p != "" {
		return p, nil
	}
	f, ok := c.stdin.(*os.File)
	if !ok || !isTerminal(f) {
		return "", usagef("no backup passphrase: set %s or run on a terminal to be asked for it (or -no-passphrase for an unencrypted backup)", envBackupPassphrase)
	}
	p, err := c.prompt(f, "备份口令 backup passphrase: ")
	if err != nil {
		return "", err
	}
	again, err := c.prompt(f, "再输入一次 again: ")
	if err != nil {
		return "", err
	}
	if again != p {
		return "", errors.New("the two passphrases differ")
	}
	return p, nil
}

// restorePassphrase asks for the passphrase of an encrypted backup being
// read: from the environment, else once at a prompt.
func (c *cli) restorePassphrase() (string, error) {
	if p := c.getenv(envBackupPassphrase); p != "" {
		return p, nil
	}
	f, ok := c.stdin.(*os.File)
	if !ok || !isTerminal(f) {
		return "", usagef("the backup is encrypted: set %s or run on a terminal to be asked for the passphrase", envBackupPassphrase)
	}
	return c.prompt(f, "备份口令 backup passphrase: ")
}

func (c *cli) backupCmd(fs *flag.FlagSet, args []string) error {
	a := c.adminFlags(fs)
	out := fs.String("o", "", "the backup file to write (required)")
	none := fs.Bool("no-passphrase", false, "write the backup unencrypted (it holds the private keys: keep it somewhere as safe as the server)")
	force := fs.Bool("force", false, "replace an existing file of that name")
	role := roleFlag(fs)
	opsAddr := fs.String("ops", "127.0.0.1:8081", "municipal: the node's operators' address")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := checkRole(*role); err != nil {
		return err
	}
	if *out == "" {
		return usagef("-o FILE is required")
	}
	if _, err := os.Stat(*out); err == nil && !*force {
		return usagef("%s exists: choose another name (one per day, say) or -force to replace it", *out)
	}
	pass, err := c.backupPassphrase(*none)
	if err != nil {
		return err
	}
	kind := backup.KindCounty
	if *role == roleMunicipal {
		kind = backup.KindMunicipal
	}
	opts := backup.WriterOptions{Kind: kind, Passphrase: pass, KDF: c.kdf}
	ctx := c.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	var m backup.Manifest
	if kind == backup.KindMunicipal {
		m, err = c.backupMunicipal(ctx, dirFor(fs, a.dir, *role), *opsAddr, *out, opts)
	} else {
		var cl *client
		if cl, err = c.client(a); err != nil {
			return err
		}
		err = cl.explain(cl.Backup(cl.ctx, func(body io.Reader) error {
			m, err = backup.CreateFrom(*out, opts, body, nil)
			return err
		}))
	}
	if err != nil {
		return err
	}
	fi, err := os.Stat(*out)
	if err != nil {
		return err
	}
	var t table
	t.row("备份文件 file:", *out)
	t.row("大小 size:", fmt.Sprintf("%d bytes", fi.Size()))
	t.row("类型 kind:", m.Kind)
	t.row("时间 taken:", localTime(m.Created))
	if m.County != "" {
		t.row("县 county:", m.County)
		t.row("数据位置 feed head:", fmt.Sprint(m.FeedHead))
	}
	if m.Node != "" {
		t.row("节点 node:", m.Name+" "+m.Node)
	}
	if pass == "" {
		t.row("加密 encrypted:", "否 no — 含私钥，请妥善保管 it holds the private keys: keep it as safe as the server")
	} else {
		t.row("加密 encrypted:", "是 yes (argon2id, XChaCha20-Poly1305) — 口令丢失则无法恢复 without the passphrase it cannot be restored")
	}
	fmt.Fprintln(c.stdout, "备份完成 backup written")
	t.write(c.stdout)
	return nil
}

// backupMunicipal asks the running node on its operators' port for its
// backup archive, with the token of its data directory.
func (c *cli) backupMunicipal(ctx context.Context, dir, ops, out string, opts backup.WriterOptions) (backup.Manifest, error) {
	token, err := municipal.OpsToken(dir)
	if err != nil {
		return backup.Manifest{}, fmt.Errorf("%w (run on the node's machine with -dir of its data directory)", err)
	}
	host, _, err := net.SplitHostPort(ops)
	if err != nil {
		return backup.Manifest{}, usagef("-ops %q: %v", ops, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return backup.Manifest{}, usagef("-ops %s: the operators' port is plain HTTP: ask it for a backup on this machine only (a loopback address)", ops)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+ops+"/backup", nil)
	if err != nil {
		return backup.Manifest{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil, ResponseHeaderTimeout: 30 * time.Minute}}).Do(req)
	if err != nil {
		return backup.Manifest{}, fmt.Errorf("cannot reach the municipal node's operators' port at %s (is it running? see -ops): %w", ops, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return backup.Manifest{}, fmt.Errorf("the node refused (HTTP %d): %s", resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	return backup.CreateFrom(out, opts, resp.Body, nil)
}

func (c *cli) restoreCmd(fs *flag.FlagSet, args []string) error {
	in := fs.String("i", "", "the backup file to restore (required)")
	dir := fs.String("dir", "", "the data directory to restore into (required); it must not exist, be empty, or (-force) is kept aside")
	force := fs.Bool("force", false, "replace a data directory that holds files: it is renamed DIR.before-restore-TIME, not deleted; the server must be stopped")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *in == "" || *dir == "" {
		return usagef("-i FILE and -dir DIR are required")
	}
	h, err := backup.Inspect(*in)
	if err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	pass := func() (string, error) { return c.restorePassphrase() }
	who := "restore"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	var t table
	var result map[string]any
	switch h.Kind {
	case backup.KindCounty:
		res, err := county.Restore(*in, abs, county.RestoreOptions{Passphrase: pass, Force: *force, Who: who, Logger: c.log})
		if err != nil {
			return restoreErr(*in, err)
		}
		result = map[string]any{"kind": "county", "dir": abs, "backup": res.Manifest, "epoch": res.Epoch.String(), "replaced": res.Replaced, "check": res.Check}
		t.row("县 county:", officeLabel(office.Code(res.Check.County)))
		t.row("备份时间 backup taken:", localTime(res.Manifest.Created))
		t.row("数据位置 feed head:", fmt.Sprint(res.Check.FeedHead))
		t.row("新纪元 new epoch:", res.Epoch.String())
		t.row("TLS 指纹 fingerprint:", res.Check.Fingerprint)
	case backup.KindMunicipal:
		res, rep, err := municipal.Restore(*in, abs, pass, *force)
		if err != nil {
			return restoreErr(*in, err)
		}
		result = map[string]any{"kind": "municipal", "dir": abs, "backup": res.Manifest, "replaced": res.Replaced, "check": rep}
		t.row("节点 node:", rep.Name+" "+rep.Node)
		t.row("备份时间 backup taken:", localTime(res.Manifest.Created))
		if res.Replaced != "" {
			t.row("原目录 replaced:", res.Replaced)
		}
	default:
		return fmt.Errorf("%s is a %s backup: restore it in the desktop app (文件 → 从备份恢复 in the first-run wizard)", *in, h.Kind)
	}
	if *asJSON {
		return c.printJSON(result)
	}
	if r, _ := result["replaced"].(string); r != "" && h.Kind == backup.KindCounty {
		t.row("原目录 replaced:", r)
	}
	t.row("数据目录 data dir:", abs)
	fmt.Fprintln(c.stdout, "恢复完成 restored")
	t.write(c.stdout)
	if h.Kind == backup.KindCounty {
		fmt.Fprint(c.stdout, `
下一步 next: 启动服务 start the server (jiannuo-server serve). 各终端重新连接后会自动补交备份之后的记录，
  无需操作；备份之后批准、吊销的终端须重新办理。
  Devices resend on their own what the backup lacks when they reconnect; enrolments approved and
  devices revoked after the backup must be approved or revoked again (see docs/county-server.md).
`)
	}
	return nil
}

// restoreErr says what a refused restore means.
func restoreErr(path string, err error) error {
	switch {
	case errors.Is(err, backup.ErrPassphrase):
		return fmt.Errorf("%s: %w; nothing was written", path, err)
	case errors.Is(err, backup.ErrTruncated), errors.Is(err, backup.ErrDamaged):
		return fmt.Errorf("%s: %w (use another copy); nothing was written", path, err)
	case errors.Is(err, backup.ErrNotEmpty):
		return usagef("%v", err)
	}
	return fmt.Errorf("restoring %s: %w; nothing was written", path, err)
}

func (c *cli) checkCmd(fs *flag.FlagSet, args []string) error {
	dir := fs.String("dir", defaultDir, "data directory of the stopped server or node")
	role := roleFlag(fs)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := checkRole(*role); err != nil {
		return err
	}
	d := dirFor(fs, *dir, *role)
	var t table
	var rep any
	if *role == roleMunicipal {
		r, err := municipal.Check(d)
		if err != nil {
			return fmt.Errorf("%s: %w", d, err)
		}
		rep = r
		t.row("节点 node:", r.Name+" "+r.Node)
		t.row("摘要 digest:", r.Digest)
	} else {
		r, err := county.Check(d)
		if err != nil {
			return fmt.Errorf("%s: %w", d, err)
		}
		rep = r
		t.row("县 county:", r.County)
		t.row("数据位置 feed head:", fmt.Sprint(r.FeedHead))
		t.row("纪元 epoch:", r.Epoch)
		t.row("终端证书 certificates:", fmt.Sprint(r.Devices))
		t.row("审计记录 audit entries:", fmt.Sprint(r.Audit))
		t.row("摘要 digest:", r.Digest)
	}
	if *asJSON {
		return c.printJSON(rep)
	}
	fmt.Fprintln(c.stdout, "检查通过 check passed")
	t.write(c.stdout)
	return nil
}
