package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/server/county"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// defaultURL is where the admin commands find the server when they run on
// the server machine itself.
const defaultURL = "https://127.0.0.1:8443"

// adminFlags are the flags every admin command takes.
type adminFlags struct {
	dir         string
	url         string
	fingerprint string
	admin       string
	json        bool
}

func (c *cli) adminFlags(fs *flag.FlagSet) *adminFlags {
	a := &adminFlags{}
	fs.StringVar(&a.dir, "dir", defaultDir, "data directory whose tls.crt is pinned (ignored with -fingerprint)")
	fs.StringVar(&a.url, "url", defaultURL, "the server's address (http:// only for a -insecure-loopback server)")
	fs.StringVar(&a.fingerprint, "fingerprint", "", "the server's TLS fingerprint to pin, when -dir is not at hand")
	fs.StringVar(&a.admin, "admin", c.getenv(envAdmin), "county admin name (default $"+envAdmin+")")
	fs.BoolVar(&a.json, "json", false, "print the server's JSON answer as is")
	return a
}

// client is the admin API client of one command: the shared pinned
// client, the command's context (each call is bounded by the client's
// Timeout), and the server's address for what a failure to reach it means.
type client struct {
	*countyapi.Client
	ctx  context.Context
	base *url.URL
	pass string // the admin's password, for `admins passwd` of their own
}

// client makes the admin API client: it pins the server's certificate by
// fingerprint, exactly as devices do, so no CA is trusted. With -json the
// server's answers, refusals included, go to stdout as they are. Its first
// call signs in (POST /admin/login) and the others carry the session
// token; the session ends when the command does (signOut). The token is
// not cached on disk: the next command signs in again.
func (c *cli) client(a *adminFlags) (*client, error) {
	u, err := url.Parse(strings.TrimRight(a.url, "/"))
	if err != nil || u.Host == "" {
		return nil, usagef("-url %q: want https://HOST:PORT", a.url)
	}
	if strings.TrimSpace(a.admin) == "" {
		return nil, usagef("-admin NAME is required (or set %s)", envAdmin)
	}
	var fp string
	switch u.Scheme {
	case "https":
		if a.fingerprint != "" {
			if fp, err = countyapi.ParseFingerprint(a.fingerprint); err != nil {
				return nil, usagef("-fingerprint: %v", err)
			}
		} else if fp, err = county.FingerprintOf(a.dir); err != nil {
			return nil, fmt.Errorf("%w (or pass -fingerprint)", err)
		}
	case "http":
		if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, usagef("-url %s: plain http only to a loopback address (a -insecure-loopback server); use https", a.url)
		}
	default:
		return nil, usagef("-url %q: want https://HOST:PORT", a.url)
	}
	pass, err := c.password(false)
	if err != nil {
		return nil, err
	}
	cfg := countyapi.DefaultConfig(u.String(), fp)
	cfg.Admin, cfg.Password, cfg.Timeout = a.admin, pass, 30*time.Second
	if a.json {
		cfg.RawAnswer = func(raw []byte) {
			if json.Valid(raw) {
				c.writeRaw(raw)
			}
		}
	}
	ctx := c.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	cl := &client{Client: countyapi.New(cfg), ctx: ctx, base: u, pass: pass}
	c.clients = append(c.clients, cl)
	return cl, nil
}

// signOut ends the sessions the command's clients signed in with: a
// command signs in once (its first admin call) and its session ends with
// it, so no token outlives the command. The server ends one it could not
// be told of by itself (AdminIdleTimeout).
func (c *cli) signOut() {
	for _, cl := range c.clients {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cl.Logout(ctx)
		cancel()
		cl.CloseIdleConnections()
	}
	c.clients = nil
}

// explain says what a call that did not reach the server means at the
// terminal; a refusal by the server says so itself (countyapi.APIError).
func (cl *client) explain(err error) error {
	var ae *countyapi.APIError
	switch {
	case err == nil, errors.As(err, &ae), errors.Is(err, protocol.ErrMalformed):
		return err
	case errors.Is(err, protocol.ErrWrongServer):
		return fmt.Errorf("%s is not the county server you pinned: its certificate does not match the fingerprint (check -dir or -fingerprint): %w", cl.base.Host, err)
	}
	return fmt.Errorf("cannot reach the county server at %s (is it running? see -url): %w", cl.base, err)
}

func (c *cli) writeRaw(raw []byte) error {
	if _, err := c.stdout.Write(raw); err != nil {
		return err
	}
	if !bytes.HasSuffix(raw, []byte("\n")) {
		_, err := io.WriteString(c.stdout, "\n")
		return err
	}
	return nil
}

// parseDevice parses a device ID as typed by an admin who heard it over
// the phone; its check characters catch a misheard character.
func parseDevice(s string) (protocol.DeviceID, error) {
	id, err := protocol.ParseDeviceID(s)
	if err != nil {
		return id, usagef("device ID %q is not valid (a wrong or swapped character?): ask the caller to read it again from their screen", s)
	}
	return id, nil
}

var statusLabels = map[countyapi.EnrolmentStatus]string{
	countyapi.EnrolPending:  "待审核 pending",
	countyapi.EnrolApproved: "已批准 approved",
	countyapi.EnrolRejected: "已拒绝 rejected",
	countyapi.EnrolRevoked:  "已吊销 revoked",
}

func statusLabel(s countyapi.EnrolmentStatus) string {
	if l, ok := statusLabels[s]; ok {
		return l
	}
	return string(s)
}

func localTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func (c *cli) enrolmentsCmd(fs *flag.FlagSet, args []string) error {
	a := c.adminFlags(fs)
	all := fs.Bool("all", false, "list every request with its decision, not only pending ones")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cl, err := c.client(a)
	if err != nil {
		return err
	}
	list, err := cl.Enrolments(cl.ctx, *all)
	if a.json || err != nil {
		return cl.explain(err)
	}
	if len(list) == 0 {
		if *all {
			fmt.Fprintln(c.stdout, "没有注册申请 no enrolment requests")
		} else {
			fmt.Fprintln(c.stdout, "没有待审核的注册申请 no pending enrolment requests")
		}
		return nil
	}
	var t table
	t.row("设备号 DEVICE", "单位 OFFICE", "设备名 NAME", "申请人 STAFF", "状态 STATUS", "申请时间 REQUESTED", "决定 DECIDED")
	for _, e := range list {
		decided := "-"
		if !e.Decided.IsZero() {
			decided = localTime(e.Decided) + " " + e.DecidedBy
			if e.Reason != "" {
				decided += ": " + e.Reason
			}
		}
		o := officeLabel(e.Office)
		if e.Admin {
			o += " (县管理 admin)"
		}
		t.row(e.Device.String(), o, e.DeviceName, e.Staff, statusLabel(e.Status), localTime(e.Requested), decided)
	}
	t.write(c.stdout)
	for _, e := range list {
		if !e.Replaces.IsZero() {
			fmt.Fprintf(c.stdout, "\n%s 重新注册，替换分叉终端 re-enrolment replacing forked device %s:\n"+
				"  县级平台未接收其第 %d 个变更集起的 %d 个变更集，将由新终端重新提交；批准后原终端被吊销。\n"+
				"  the county lacks its %d change sets from %d on; the new device resubmits them; approving revokes the old device.\n",
				e.Device, e.Replaces, e.CarryFrom, e.Carried, e.Carried, e.CarryFrom)
		}
	}
	if !*all {
		fmt.Fprintln(c.stdout, "\n电话核对设备号后批准 — have the caller read their device ID, then: jiannuo-server approve DEVICE")
	}
	return nil
}

func (c *cli) approveCmd(fs *flag.FlagSet, args []string) error {
	a := c.adminFlags(fs)
	officeFlag := fs.String("office", "", "office to bind the device to (default: the one it asked for)")
	adminDev := fs.Bool("admin-device", false, "make it a county-admin device (its office must be the county)")
	pos, err := parse(fs, args, "DEVICE")
	if err != nil {
		return err
	}
	dev, err := parseDevice(pos[0])
	if err != nil {
		return err
	}
	var req countyapi.ApproveRequest
	if *officeFlag != "" {
		if req.Office, err = office.Parse(*officeFlag); err != nil {
			return usagef("-office: %v", err)
		}
	}
	req.Admin = *adminDev
	cl, err := c.client(a)
	if err != nil {
		return err
	}
	if _, err := cl.Approve(cl.ctx, dev, req); a.json || err != nil {
		return cl.explain(err)
	}
	// Read the certificate back the way the device will, and check it.
	st, err := cl.EnrolmentStatus(cl.ctx, dev)
	if err != nil {
		return fmt.Errorf("approved, but reading the certificate back failed: %w", cl.explain(err))
	}
	cert, err := protocol.OpenCertificate(st.Certificate, st.CountyKey)
	if err != nil {
		return fmt.Errorf("approved, but the certificate does not verify: %w", err)
	}
	kind := "乡镇 township"
	if cert.Admin {
		kind = "县管理 county admin"
	}
	fmt.Fprintln(c.stdout, "已批准 approved")
	var t table
	t.row("设备号 device:", cert.Device.String())
	t.row("单位 office:", officeLabel(cert.Office))
	t.row("设备名 name:", cert.Name)
	t.row("类型 kind:", kind)
	t.write(c.stdout)
	fmt.Fprintln(c.stdout, "\n设备下次连接时取得证书 — the device picks up its certificate at its next connection.")
	return nil
}

func (c *cli) rejectCmd(fs *flag.FlagSet, args []string) error {
	return c.decide(fs, args, "rejection", (*countyapi.Client).Reject, "why the request is rejected (shown to the device)")
}

func (c *cli) revokeCmd(fs *flag.FlagSet, args []string) error {
	return c.decide(fs, args, "revocation", (*countyapi.Client).Revoke, "why the device is revoked (shown to its users)")
}

// decide is reject and revoke: a device and a reason.
func (c *cli) decide(fs *flag.FlagSet, args []string, what string,
	call func(*countyapi.Client, context.Context, protocol.DeviceID, string) error, reasonHelp string) error {
	a := c.adminFlags(fs)
	reason := fs.String("reason", "", reasonHelp+" (required)")
	pos, err := parse(fs, args, "DEVICE")
	if err != nil {
		return err
	}
	dev, err := parseDevice(pos[0])
	if err != nil {
		return err
	}
	if !domain.NonBlank(*reason) {
		return usagef("-reason is required: a %s is recorded with its reason", what)
	}
	cl, err := c.client(a)
	if err != nil {
		return err
	}
	if err := call(cl.Client, cl.ctx, dev, *reason); a.json || err != nil {
		return cl.explain(err)
	}
	var t table
	if what == "rejection" {
		fmt.Fprintln(c.stdout, "已拒绝 rejected")
	} else {
		fmt.Fprintln(c.stdout, "已吊销 revoked — its next connection is refused; what it sent before stays valid")
	}
	t.row("设备号 device:", dev.String())
	t.row("原因 reason:", *reason)
	return t.write(c.stdout)
}

func (c *cli) devicesCmd(fs *flag.FlagSet, args []string) error {
	a := c.adminFlags(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cl, err := c.client(a)
	if err != nil {
		return err
	}
	list, err := cl.Devices(cl.ctx)
	if a.json || err != nil {
		return cl.explain(err)
	}
	if len(list) == 0 {
		fmt.Fprintln(c.stdout, "还没有已注册的设备 no enrolled devices yet")
		return nil
	}
	var t table
	t.row("设备号 DEVICE", "单位 OFFICE", "设备名 NAME", "类型 KIND", "状态 STATUS", "已收序号 SEQ", "在线 ONLINE",
		"最近同步 LAST SEEN", "版本 VERSION", "待上传 GAP", "原因 REASON")
	for _, d := range list {
		kind, status, online, version := "乡镇 township", "在用 active", "-", "-"
		if d.Admin {
			kind = "县管理 admin"
		}
		if d.Revoked {
			status = "已吊销 revoked"
		}
		if d.Online {
			online = "在线 online"
		}
		if d.Version != "" {
			version = d.Version
		}
		t.row(d.ID.String(), officeLabel(d.Office), d.Name, kind, status, strconv.FormatUint(d.LastSeq, 10), online,
			localTime(d.LastSeen), version, gapText(d), d.Reason)
	}
	return t.write(c.stdout)
}

// gapText is the devices table's GAP: the change sets the device had sealed
// that the county does not hold, and its unsealed operations if any; "-"
// when the device never reported them (an older app, or never connected).
func gapText(d countyapi.DeviceInfo) string {
	if d.Reported.IsZero() {
		return "-"
	}
	s := strconv.FormatUint(d.Gap, 10)
	if d.Unsealed {
		s += fmt.Sprintf(" +%d 未封存 unsealed", d.PendingOps)
	}
	return s
}

func (c *cli) conflictsCmd(fs *flag.FlagSet, args []string) error {
	a := c.adminFlags(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cl, err := c.client(a)
	if err != nil {
		return err
	}
	list, err := cl.Conflicts(cl.ctx)
	if a.json || err != nil {
		return cl.explain(err)
	}
	if len(list) == 0 {
		fmt.Fprintln(c.stdout, "没有待核定的冲突 no conflicts waiting for reconciliation")
		return nil
	}
	var t table
	t.row("单位 OFFICE", "承诺 COMMITMENT", "字段 FIELD", "暂显示 SHOWN", "各方版本 VERSIONS")
	for _, cf := range list {
		var vs []string
		for i, v := range cf.Versions {
			who := v.Author // a server from before the directory names no one
			if i < len(cf.Authors) {
				who = cf.Authors[i]
			}
			vs = append(vs, fmt.Sprintf("%q %s@%s", ellipsis(v.Value, 24), who, v.Op.Device.Short()))
		}
		t.row(officeLabel(cf.Ref.Office), cf.Ref.ID.String()[:12], string(cf.Field), ellipsis(cf.Provisional, 24), strings.Join(vs, " | "))
	}
	if err := t.write(c.stdout); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, "\n在县管理端核定 — reconcile them in the desktop app's county admin mode: the decision is signed there and flows to every device.")
	return nil
}

func (c *cli) incidentsCmd(fs *flag.FlagSet, args []string) error {
	if len(args) > 0 && args[0] == "prune" {
		return c.pruneIncidentsCmd(fs, args[1:])
	}
	a := c.adminFlags(fs)
	limit := fs.Int("limit", 100, "show the newest N incidents (0: all); with -json too")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *limit < 0 {
		return usagef("-limit %d: want 0 (all) or more", *limit)
	}
	// The server answers a page at a time: -json prints the pages read
	// as one array, not each answer as it came.
	asJSON := a.json
	a.json = false
	cl, err := c.client(a)
	if err != nil {
		return err
	}
	var list []countyapi.Incident
	more := false
	for cursor := ""; ; {
		size := 1000
		if *limit > 0 {
			size = min(size, *limit-len(list))
		}
		p, err := cl.Incidents(cl.ctx, size, cursor)
		if err != nil {
			var ae *countyapi.APIError
			if asJSON && errors.As(err, &ae) {
				countyapi.PrintJSON(c.stdout, countyapi.ErrorBody{Code: ae.Code, Message: ae.Message})
			}
			return cl.explain(err)
		}
		list = append(list, p.Incidents...)
		cursor = p.Next
		if cursor == "" || (*limit > 0 && len(list) >= *limit) {
			more = cursor != ""
			break
		}
	}
	if asJSON {
		return countyapi.PrintJSON(c.stdout, list)
	}
	if len(list) == 0 {
		fmt.Fprintln(c.stdout, "没有异常记录 no incidents")
		return nil
	}
	var t table
	t.row("时间 TIME", "次数 COUNT", "最近 LAST", "代码 CODE", "设备 DEVICE", "序号 SEQ", "来源 REMOTE", "说明 MESSAGE")
	for _, in := range list {
		dev, seq, last := "-", "-", "-"
		if !in.Device.IsZero() {
			dev = in.Device.String()
		}
		if in.Seq != 0 {
			seq = strconv.FormatUint(in.Seq, 10)
		}
		if in.Times() > 1 {
			last = localTime(in.Last())
		}
		remote := in.Remote
		if remote == "" {
			remote = "-"
		}
		t.row(localTime(in.Time), strconv.Itoa(in.Times()), last, string(in.Code), dev, seq, remote, ellipsis(in.Message, 120))
	}
	if err := t.write(c.stdout); err != nil {
		return err
	}
	if more {
		fmt.Fprintln(c.stdout, "… 更早的记录未显示 older incidents not shown (-limit 0 shows all)")
	}
	return nil
}

// pruneIncidentsCmd is `incidents prune -before DATE`: the server deletes
// the incidents last seen before the date and audits it.
func (c *cli) pruneIncidentsCmd(fs *flag.FlagSet, args []string) error {
	a := c.adminFlags(fs)
	before := fs.String("before", "", "delete the incidents last seen before this date, 2006-01-02 (China Standard Time); required")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if _, err := countyapi.ParseBefore(*before); err != nil {
		return usagef("-before %q: want a date such as 2026-01-01", *before)
	}
	cl, err := c.client(a)
	if err != nil {
		return err
	}
	n, err := cl.PruneIncidents(cl.ctx, *before)
	if a.json || err != nil {
		return cl.explain(err)
	}
	fmt.Fprintf(c.stdout, "已删除 %d 条 %s 之前的异常记录 deleted %d incidents last seen before %s (recorded in the audit trail)\n", n, *before, n, *before)
	return nil
}
