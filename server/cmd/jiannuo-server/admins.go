package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"jiannuo/domain"
	"jiannuo/server/county"
	"jiannuo/sync/countyapi"
)

// County admin accounts: `admins list|add|disable|enable|passwd` through
// the admin API of a running server, `admins reset` on the data directory
// of a stopped one with the recovery credential. New passwords come from
// JIANNUO_NEW_ADMIN_PASSWORD or a prompt, never from a flag.

func init() {
	commands = append(commands, command{"admins",
		"list | add NAME | disable NAME -reason TEXT | enable NAME | passwd NAME [admin flags] | reset NAME [-dir DIR] [-recovery NAME]",
		"county admin accounts: list, add, disable, enable, set a password; reset (server STOPPED) with the recovery credential", (*cli).adminsCmd})
}

const adminsUsage = "want list, add NAME, disable NAME, enable NAME, passwd NAME or reset NAME"

func (c *cli) adminsCmd(fs *flag.FlagSet, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			fs.Usage()
			return flag.ErrHelp
		}
		return usagef("%s", adminsUsage)
	}
	sub, args := args[0], args[1:]
	if sub == "reset" {
		return c.adminsResetCmd(fs, args)
	}
	a := c.adminFlags(fs)
	reason := new(string)
	if sub == "disable" {
		reason = fs.String("reason", "", "why the admin is disabled (required; recorded in the audit trail)")
	}
	var positional []string
	switch sub {
	case "list":
	case "add", "disable", "enable", "passwd":
		positional = []string{"NAME"}
	default:
		return usagef("admins %q: %s", sub, adminsUsage)
	}
	pos, err := parse(fs, args, positional...)
	if err != nil {
		return err
	}
	var name, newPass string
	if len(pos) > 0 {
		name = pos[0]
	}
	switch sub {
	case "add":
		if err := countyapi.CheckAdminName(name); err != nil {
			return usagef("admin name %q: %v", name, err)
		}
	case "disable":
		if !domain.NonBlank(*reason) {
			return usagef("-reason is required: disabling an admin is recorded with its reason")
		}
	}
	cl, err := c.client(a)
	if err != nil {
		return err
	}
	if sub == "add" || sub == "passwd" {
		if newPass, err = c.newPassword(); err != nil {
			return err
		}
	}
	var info countyapi.AdminInfo
	switch sub {
	case "list":
		list, err := cl.Admins(cl.ctx)
		if a.json || err != nil {
			return cl.explain(err)
		}
		return c.printAdmins(list)
	case "add":
		info, err = cl.AddAdmin(cl.ctx, name, newPass)
	case "disable":
		info, err = cl.DisableAdmin(cl.ctx, name, *reason)
	case "enable":
		info, err = cl.EnableAdmin(cl.ctx, name)
	case "passwd":
		current := ""
		if name == a.admin {
			current = cl.pass // an admin's own: the password they signed in with, checked again
		}
		info, err = cl.SetAdminPassword(cl.ctx, name, newPass, current)
	}
	if a.json || err != nil {
		return cl.explain(err)
	}
	switch sub {
	case "add":
		fmt.Fprintf(c.stdout, "已添加管理员 added admin %s\n", info.Name)
	case "disable":
		fmt.Fprintf(c.stdout, "已停用 disabled admin %s: they can no longer sign in, and their sessions ended\n", info.Name)
	case "enable":
		fmt.Fprintf(c.stdout, "已启用 enabled admin %s\n", info.Name)
	case "passwd":
		fmt.Fprintf(c.stdout, "已设置密码 password set for %s; their sessions ended\n", info.Name)
	}
	return nil
}

func (c *cli) printAdmins(list []countyapi.AdminInfo) error {
	var t table
	t.row("管理员 ADMIN", "状态 STATE", "创建 CREATED", "密码设置 PASSWORD SET", "停用/启用 CHANGED", "会话 SESSIONS")
	for _, x := range list {
		state := "在用 enabled"
		if x.Disabled {
			state = "已停用 disabled"
		}
		name := x.Name
		if x.Recovery {
			name += " (恢复凭据 recovery)"
		}
		created := localTime(x.Created)
		if x.CreatedBy != "" {
			created += " " + x.CreatedBy
		}
		set := "-"
		if !x.PasswordSet.IsZero() {
			set = localTime(x.PasswordSet) + " " + x.PasswordSetBy
		}
		changed := "-"
		if !x.Changed.IsZero() {
			changed = localTime(x.Changed) + " " + x.ChangedBy
			if x.Reason != "" {
				changed += ": " + x.Reason
			}
		}
		t.row(name, state, created, set, changed, strconv.Itoa(x.Sessions))
	}
	return t.write(c.stdout)
}

// adminsResetCmd is `admins reset NAME` on a stopped server's data
// directory: the recovery credential sets NAME's password and enables it.
func (c *cli) adminsResetCmd(fs *flag.FlagSet, args []string) error {
	dir := fs.String("dir", defaultDir, "the stopped server's data directory")
	recovery := fs.String("recovery", "", "the recovery credential's name (default: the one made by init)")
	pos, err := parse(fs, args, "NAME")
	if err != nil {
		return err
	}
	pass, err := c.secret(envPassword, "recovery credential password", "恢复凭据密码 recovery credential password: ", false)
	if err != nil {
		return err
	}
	newPass, err := c.newPassword()
	if err != nil {
		return err
	}
	cfg := county.DefaultConfig(*dir)
	cfg.Logger, cfg.KDF = c.log, c.kdf
	if err := county.RecoverResetAdmin(cfg, pos[0], *recovery, pass, newPass); err != nil {
		if strings.Contains(err.Error(), "timeout") {
			return fmt.Errorf("the data directory is in use: stop the server first (%w)", err)
		}
		return err
	}
	fmt.Fprintf(c.stdout, "已重置 reset the password of %s with the recovery credential (and enabled it); it takes effect when the server starts.\n", pos[0])
	return nil
}
