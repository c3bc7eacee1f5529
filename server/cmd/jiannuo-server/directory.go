package main

import (
	"flag"
	"fmt"
	"strconv"

	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/sync/protocol"
)

// directoryCmd lists the people behind the logins of the county's offices
// (GET /admin/directory): the account directory the offices' leaders keep
// with signed account changes.
func (c *cli) directoryCmd(fs *flag.FlagSet, args []string) error {
	a := c.adminFlags(fs)
	o := fs.String("office", "", "a township or the county (default: the whole county)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cl, err := c.client(a)
	if err != nil {
		return err
	}
	dir, err := cl.Directory(cl.ctx, office.Code(*o))
	if a.json || err != nil {
		return cl.explain(err)
	}
	if len(dir) == 0 {
		fmt.Fprintln(c.stdout, "还没有账号记录 no accounts known yet")
		return nil
	}
	var t table
	t.row("单位 OFFICE", "登录名 LOGIN", "姓名 NAME", "角色 ROLE", "状态 STATUS", "新增 ADDED", "重置口令 RESETS", "最近变更 UPDATED")
	for _, e := range dir {
		status := "在用 active"
		switch {
		case !e.Added:
			status = "未知 not added yet"
		case !e.Enabled:
			status = fmt.Sprintf("已停用 disabled %s %s %s", hlcTime(e.DisabledAt), e.DisabledBy, e.DisabledReason)
		}
		added := "-"
		if e.Added {
			added = hlcTime(e.AddedAt) + " " + e.AddedBy
		}
		t.row(officeLabel(e.Office), e.Login, e.Name(), roleLabel(e.Role), status, added, strconv.Itoa(e.Resets), hlcTime(e.UpdatedAt))
	}
	return t.write(c.stdout)
}

func hlcTime(h protocol.HLC) string {
	if h == 0 {
		return "-"
	}
	return localTime(h.Wall())
}

func roleLabel(r domain.Role) string {
	switch r {
	case domain.RoleStaff:
		return "工作人员 staff"
	case domain.RoleLeader:
		return "负责人 leader"
	case domain.RoleCountyAdmin:
		return "县管理员 county admin"
	}
	return string(r)
}
