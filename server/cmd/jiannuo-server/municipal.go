package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"jiannuo/domain"
	"jiannuo/server/cluster"
	"jiannuo/server/county"
	"jiannuo/server/municipal"
	"jiannuo/server/public"
	"jiannuo/sync/countyapi"
)

// The municipal role (市信用信息综合平台) and the cluster both roles join.
//
//	jiannuo-server init -role municipal -trust trust.json -name 市信用平台-1 [-dir DIR]
//	jiannuo-server serve -role municipal -join county1:7946 [-http :8080] [-ops 127.0.0.1:8081] [-cluster-addr :7946]
//	    [-disclosure-days 1095] [-after-repair keep|withdraw] [-repair-withdraw-days 30]
//	    [-intake-per-hour 5] [-intake-per-day 20] [-trusted-proxy-header X-Forwarded-For] [-question-key-file FILE]
//	jiannuo-server serve -cluster-addr :7946 -join …        (a county server in the cluster)
//	jiannuo-server trust-entry [-dir DIR]                   (a county's line for the trust file)
//	jiannuo-server upstream add -key HEX -name NAME         (authorise a municipal node)
//	jiannuo-server upstream list

const defaultMunicipalDir = "./municipal-data"

// Roles of -role.
const (
	roleCounty    = "county"
	roleMunicipal = "municipal"
)

func roleFlag(fs *flag.FlagSet) *string {
	return fs.String("role", roleCounty, "county (县级汇聚服务器) or municipal (市信用信息综合平台)")
}

func checkRole(role string) error {
	if role != roleCounty && role != roleMunicipal {
		return usagef("-role %q: want county or municipal", role)
	}
	return nil
}

// dirFor returns -dir, or the municipal default when -dir was not given
// and the role is municipal.
func dirFor(fs *flag.FlagSet, dir, role string) string {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "dir" })
	if !given && role == roleMunicipal {
		return defaultMunicipalDir
	}
	return dir
}

func (c *cli) initMunicipal(dir, trustPath, name string, asJSON bool) error {
	if trustPath == "" {
		return usagef("-trust FILE is required with -role municipal: the county codes and county keys to accept (jiannuo-server trust-entry prints a county's line)")
	}
	if strings.TrimSpace(name) == "" {
		return usagef("-name NAME is required with -role municipal: how county admins will know this node, e.g. 市信用平台-1")
	}
	raw, err := os.ReadFile(trustPath)
	if err != nil {
		return err
	}
	trust, err := municipal.ParseTrust(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", trustPath, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	id, err := municipal.Init(abs, municipal.InitConfig{Name: name, Trust: raw})
	if errors.Is(err, municipal.ErrInitialised) {
		return fmt.Errorf("%w: %s already holds a municipal node identity; it is never overwritten, since counties authorised its key", municipal.ErrInitialised, abs)
	}
	if err != nil {
		return err
	}
	key := hex.EncodeToString(id.PublicKey())
	c.log.Info("municipal node initialised", "name", name, "dir", abs, "node", id.ID)
	if asJSON {
		return c.printJSON(map[string]any{"role": roleMunicipal, "name": name, "dir": abs, "node": id.ID, "key": key, "counties": trust.Counties()})
	}
	var t table
	t.row("节点 node:", name)
	t.row("数据目录 data dir:", abs)
	t.row("节点号 node ID:", id.ID.String())
	t.row("节点公钥 node key:", key)
	var cs []string
	for _, code := range trust.Counties() {
		cs = append(cs, officeLabel(code))
	}
	t.row("信任的县 trusted:", strings.Join(cs, ", "))
	fmt.Fprintln(c.stdout, "市级平台节点已初始化 municipal node initialised")
	t.write(c.stdout)
	fmt.Fprintf(c.stdout, `
请各县管理员授权本节点 — each county admin authorises this node's key:
  jiannuo-server upstream add -key %s -name %s

下一步 next step:
  jiannuo-server serve -role municipal -dir %s -join COUNTY-HOST:7946
`, key, name, abs)
	return nil
}

// clusterFlags are serve's flags for the cluster.
type clusterFlags struct {
	addr, join, advertise, keyFile string
}

func addClusterFlags(fs *flag.FlagSet) *clusterFlags {
	f := &clusterFlags{}
	fs.StringVar(&f.addr, "cluster-addr", "", "serf address for the cluster, host:port (e.g. :7946); empty: a county server stays out of the cluster")
	fs.StringVar(&f.join, "join", "", "comma-separated cluster members to join, host:port (any county or municipal server)")
	fs.StringVar(&f.advertise, "advertise", "", "host municipal nodes use to reach this county server (one of its certificate's -hosts); default: the host of -addr or -cluster-addr")
	fs.StringVar(&f.keyFile, "cluster-key-file", "", "file with a 32-byte key in hex that encrypts the cluster's gossip (the same on every server)")
	return f
}

// clusterConfig makes the cluster member's configuration from the flags.
func (c *cli) clusterConfig(f *clusterFlags, dir string) (cluster.Config, error) {
	cfg := cluster.DefaultConfig()
	cfg.Logger = c.log
	cfg.SnapshotPath = filepath.Join(dir, "serf.snapshot")
	if f.addr != "" {
		host, port, err := net.SplitHostPort(f.addr)
		if err != nil {
			return cfg, usagef("-cluster-addr %q: want host:port, e.g. :7946", f.addr)
		}
		if host == "" {
			host = "0.0.0.0"
		}
		cfg.BindAddr = net.JoinHostPort(host, port)
	}
	for j := range strings.SplitSeq(f.join, ",") {
		if j = strings.TrimSpace(j); j != "" {
			if _, _, err := net.SplitHostPort(j); err != nil {
				j = net.JoinHostPort(j, strconv.Itoa(cluster.DefaultPort))
			}
			cfg.Join = append(cfg.Join, j)
		}
	}
	if f.keyFile != "" {
		raw, err := os.ReadFile(f.keyFile)
		if err != nil {
			return cfg, err
		}
		key, err := hex.DecodeString(strings.TrimSpace(string(raw)))
		if err != nil || len(key) != 32 {
			return cfg, fmt.Errorf("%s: want 64 hex digits (32 bytes), e.g. from `openssl rand -hex 32`", f.keyFile)
		}
		cfg.SecretKey = key
	}
	return cfg, nil
}

// joinCounty puts a serving county server into the cluster and announces
// its feed until ctx ends. It returns a function that leaves the cluster.
func (c *cli) joinCounty(ctx context.Context, f *clusterFlags, dir, httpAddr string, insecure bool, srv *county.Server) (func(), error) {
	cfg, err := c.clusterConfig(f, dir)
	if err != nil {
		return nil, err
	}
	host := f.advertise
	if host == "" {
		host, _, _ = net.SplitHostPort(httpAddr)
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			host = ""
		}
	}
	if host == "" {
		host, _, _ = net.SplitHostPort(f.addr)
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			host = ""
		}
	}
	if host == "" {
		return nil, usagef("-advertise HOST is needed with -cluster-addr when -addr has no host: the name or address municipal nodes use to reach this server (one of the -hosts in its certificate)")
	}
	_, port, _ := net.SplitHostPort(httpAddr)
	scheme := "wss://"
	if insecure {
		scheme = "ws://"
	}
	head, err := srv.Store().FeedHead()
	if err != nil {
		return nil, err
	}
	id := srv.Identity()
	cfg.NodeName = "county-" + string(id.County)
	cfg.Tags = cluster.Tags{Role: cluster.RoleCounty, County: id.County, Upstream: scheme + net.JoinHostPort(host, port) + "/upstream",
		Head: head, Fingerprint: id.Fingerprint}
	m, err := cluster.New(cfg)
	if err != nil {
		return nil, err
	}
	if err := m.Start(); err != nil {
		return nil, err
	}
	go m.Announce(ctx, srv.FeedWaiter, srv.Store().FeedHead)
	c.log.Info("county server in the cluster", "cluster", m.Addr(), "upstream", cfg.Tags.Upstream)
	return func() {
		m.Leave()
		m.Shutdown()
	}, nil
}

// publicFlags are serve's flags for the municipal node's public page: the
// disclosure of dishonesty records (§四(二)) and the abuse limits of the
// filing forms. Their defaults are domain's and public's.
type publicFlags struct {
	disclosureDays, repairWithdrawDays int
	afterRepair                        string
	perHour, perDay                    int
	proxyHeader, questionKeyFile       string
}

// publicFlagNames are the flags of publicFlags, refused with -role county.
var publicFlagNames = []string{"disclosure-days", "after-repair", "repair-withdraw-days", "intake-per-hour", "intake-per-day", "trusted-proxy-header", "question-key-file"}

func addPublicFlags(fs *flag.FlagSet) *publicFlags {
	f := &publicFlags{}
	fs.IntVar(&f.disclosureDays, "disclosure-days", domain.DefaultDisclosureDays,
		"municipal: days a dishonesty record is published, counted from the day it was recorded (§四(二))")
	fs.StringVar(&f.afterRepair, "after-repair", string(domain.AfterRepairKeep),
		"municipal: after credit repair a record is kept as 已修复 to the end of its period (keep) or taken off -repair-withdraw-days after the repair (withdraw)")
	fs.IntVar(&f.repairWithdrawDays, "repair-withdraw-days", domain.DefaultRepairWithdrawDays,
		"municipal: with -after-repair withdraw, days a repaired record stays published, the day of repair included")
	fs.IntVar(&f.perHour, "intake-per-hour", public.DefaultIntakePerHour, "municipal: complaints and objections taken from one address per hour")
	fs.IntVar(&f.perDay, "intake-per-day", public.DefaultIntakePerDay, "municipal: complaints and objections taken from one address per day")
	fs.StringVar(&f.proxyHeader, "trusted-proxy-header", "",
		"municipal: header a reverse proxy in front of the node sets to the client's address (X-Forwarded-For: its last address; or X-Real-IP); empty: the connection's address, every such header ignored")
	fs.StringVar(&f.questionKeyFile, "question-key-file", "",
		"municipal: file with the key, at least 32 bytes in hex, that signs the forms' questions; nodes behind one load balancer share it (default: a random key at each start)")
	return f
}

// config checks the flags and makes the public page's settings from them.
func (f *publicFlags) config() (public.Config, error) {
	d := domain.Disclosure{Days: f.disclosureDays, AfterRepair: domain.AfterRepair(f.afterRepair), RepairWithdrawDays: f.repairWithdrawDays}
	switch {
	case !d.AfterRepair.Valid():
		return public.Config{}, usagef("-after-repair %q: want keep or withdraw", f.afterRepair)
	case f.disclosureDays < 1 || f.repairWithdrawDays < 1:
		return public.Config{}, usagef("-disclosure-days and -repair-withdraw-days are whole numbers of days, at least 1")
	case f.perHour < 1 || f.perDay < f.perHour:
		return public.Config{}, usagef("-intake-per-hour (%d) is at least 1 and -intake-per-day (%d) at least as many", f.perHour, f.perDay)
	case f.proxyHeader != "" && !headerName(f.proxyHeader):
		return public.Config{}, usagef("-trusted-proxy-header %q is not a header name, e.g. X-Forwarded-For", f.proxyHeader)
	}
	cfg := public.Config{Disclosure: d, IntakePerHour: f.perHour, IntakePerDay: f.perDay, TrustedProxyHeader: f.proxyHeader}
	if f.questionKeyFile != "" {
		raw, err := os.ReadFile(f.questionKeyFile)
		if err != nil {
			return cfg, err
		}
		key, err := hex.DecodeString(strings.TrimSpace(string(raw)))
		if err != nil || len(key) < 32 {
			return cfg, fmt.Errorf("%s: want at least 64 hex digits (32 bytes), e.g. from `openssl rand -hex 32`", f.questionKeyFile)
		}
		cfg.QuestionKey = key
	}
	return cfg, nil
}

// headerName reports whether s is a plausible HTTP header name: letters,
// digits and hyphens.
func headerName(s string) bool {
	for _, r := range s {
		if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return s != ""
}

// setFlags returns which of names were given on the command line.
func setFlags(fs *flag.FlagSet, names []string) []string {
	var out []string
	fs.Visit(func(f *flag.Flag) {
		if slices.Contains(names, f.Name) {
			out = append(out, "-"+f.Name)
		}
	})
	return out
}

func (c *cli) serveMunicipal(ctx context.Context, dir, httpAddr, opsAddr string, f *clusterFlags, pcfg public.Config) error {
	ccfg, err := c.clusterConfig(f, dir)
	if err != nil {
		return err
	}
	if len(ccfg.Join) == 0 {
		c.log.Warn("no -join given: the node waits for a county server to join it")
	}
	cfg := municipal.DefaultConfig(dir)
	cfg.HTTPAddr, cfg.OpsAddr, cfg.Cluster, cfg.Logger = httpAddr, opsAddr, ccfg, c.log
	cfg.Public = func(n *municipal.Node) http.Handler {
		pcfg.Store, pcfg.Logger, pcfg.Intake, pcfg.MaxStale = n.Store(), c.log, n, public.NodeMaxStale
		return public.New(pcfg)
	}
	n, err := municipal.New(cfg)
	if err != nil {
		return err
	}
	defer func() {
		if err := n.Close(); err != nil {
			c.log.Error("closing the municipal node", "err", err)
		}
	}()
	if c.listening != nil {
		addr, _ := net.ResolveTCPAddr("tcp", n.HTTPAddr())
		c.listening(addr)
	}
	err = n.Serve(ctx)
	if err == nil {
		c.log.Info("municipal node stopped")
	}
	return err
}

func (c *cli) signalContext() (context.Context, context.CancelFunc) {
	if c.ctx != nil {
		return c.ctx, func() {}
	}
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// trustEntryCmd prints a county's line of a municipal trust file.
func (c *cli) trustEntryCmd(fs *flag.FlagSet, args []string) error {
	dir := fs.String("dir", defaultDir, "county data directory made by init")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	id, err := county.LoadIdentity(*dir)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(map[string]string{string(id.County): hex.EncodeToString(id.Key.Public().(ed25519.PublicKey))})
	fmt.Fprintln(c.stdout, string(b))
	return nil
}

// upstreamCmd is `upstream add` and `upstream list`.
func (c *cli) upstreamCmd(fs *flag.FlagSet, args []string) error {
	if len(args) == 0 || (args[0] != "add" && args[0] != "list") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			fs.Usage()
			return flag.ErrHelp
		}
		return usagef("want upstream add or upstream list")
	}
	sub := args[0]
	a := c.adminFlags(fs)
	key := fs.String("key", "", "add: the municipal node's public key, 64 hex digits (printed by its init)")
	name := fs.String("name", "", "add: the node's name, e.g. 市信用平台-1")
	if _, err := parse(fs, args[1:]); err != nil {
		return err
	}
	if sub == "add" {
		k, err := hex.DecodeString(strings.TrimSpace(*key))
		if err != nil || len(k) != ed25519.PublicKeySize {
			return usagef("-key: want the node's 64-hex-digit public key as its init printed it")
		}
		if strings.TrimSpace(*name) == "" {
			return usagef("-name is required: how this county knows the node")
		}
	}
	cl, err := c.client(a)
	if err != nil {
		return err
	}
	if sub == "add" {
		n, err := cl.AuthoriseUpstream(cl.ctx, countyapi.UpstreamRequest{Key: strings.TrimSpace(*key), Name: *name})
		if a.json || err != nil {
			return cl.explain(err)
		}
		fmt.Fprintln(c.stdout, "已授权 authorised — the node may now pull this county's records")
		var t table
		t.row("节点 node:", n.Name)
		t.row("节点号 node ID:", n.ID.String())
		return t.write(c.stdout)
	}
	list, err := cl.Upstreams(cl.ctx)
	if a.json || err != nil {
		return cl.explain(err)
	}
	if len(list) == 0 {
		fmt.Fprintln(c.stdout, "没有已授权的市级节点 no municipal node authorised")
		return nil
	}
	var t table
	t.row("节点 NODE", "节点号 ID", "公钥 KEY", "授权时间 ADDED", "授权人 BY")
	for _, n := range list {
		by := n.AddedBy
		if by == "" {
			by = "-"
		}
		t.row(n.Name, n.ID.String(), n.Key[:16]+"…", localTime(n.Added), by)
	}
	return t.write(c.stdout)
}
