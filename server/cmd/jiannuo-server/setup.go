package main

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"

	"jiannuo/domain/office"
	"jiannuo/server/cluster"
	"jiannuo/server/county"
	"jiannuo/sync/countyapi"
)

func (c *cli) initCmd(fs *flag.FlagSet, args []string) error {
	dir := fs.String("dir", defaultDir, "data directory to create")
	code := fs.String("county", "", "county-level division code, e.g. 410324 for 栾川县 (required)")
	hosts := fs.String("hosts", "localhost,127.0.0.1", "comma-separated DNS names and IP addresses devices use to reach the server")
	admin := fs.String("admin", c.getenv(envAdmin), "name of the first county admin (required; default $"+envAdmin+")")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	role := roleFlag(fs)
	trust := fs.String("trust", "", "municipal: the trust file, county codes to county keys (required with -role municipal)")
	name := fs.String("name", "", "municipal: the node's name, e.g. 市信用平台-1 (required with -role municipal)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := checkRole(*role); err != nil {
		return err
	}
	if *role == roleMunicipal {
		return c.initMunicipal(dirFor(fs, *dir, *role), *trust, *name, *asJSON)
	}
	if *code == "" {
		return usagef("-county is required, e.g. -county 410324")
	}
	cc, err := office.Parse(*code)
	if err != nil {
		return usagef("-county: %v", err)
	}
	if cc.Level() != office.County {
		return usagef("-county %s is a %s code; the county server needs a 6-digit county-level code such as 410324", cc, cc.Level())
	}
	if strings.TrimSpace(*admin) == "" {
		return usagef("-admin NAME is required: the first county admin's login name")
	}
	var hostList []string
	for h := range strings.SplitSeq(*hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hostList = append(hostList, h)
		}
	}
	if len(hostList) == 0 {
		return usagef("-hosts lists no host")
	}
	pass, err := c.password(true)
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	id, err := county.Init(abs, county.InitConfig{County: cc, Hosts: hostList, AdminName: *admin, AdminPassword: pass,
		KDF: c.kdf, Logger: c.log})
	if errors.Is(err, county.ErrInitialised) {
		return fmt.Errorf("%w: %s already holds a county identity; it is never overwritten, since devices pinned it (use another -dir, or restore from a backup)", county.ErrInitialised, abs)
	}
	if err != nil {
		return err
	}
	pub := hex.EncodeToString(id.Key.Public().(ed25519.PublicKey))
	c.log.Info("county server initialised", "county", string(id.County), "dir", abs, "fingerprint", id.Fingerprint)
	if *asJSON {
		return c.printJSON(map[string]any{"county": id.County, "dir": abs, "admin": *admin, "hosts": hostList,
			"fingerprint": id.Fingerprint, "county_key": pub})
	}
	var t table
	t.row("县 county:", officeLabel(id.County))
	t.row("数据目录 data dir:", abs)
	t.row("管理员 admin:", *admin)
	t.row("证书主机 hosts:", strings.Join(hostList, ", "))
	t.row("TLS 指纹 fingerprint:", id.Fingerprint)
	t.row("县公钥 county key:", pub)
	fmt.Fprintln(c.stdout, "县级汇聚服务器已初始化 county server initialised")
	t.write(c.stdout)
	fmt.Fprintf(c.stdout, `
设备注册时核对 TLS 指纹 — devices pin the TLS fingerprint at enrolment: give it to
township staff on paper or read it out by phone; the county key verifies every
receipt and certificate this server signs.
现在备份数据目录 — back up %s now: county.key and tls.key cannot be
recreated; losing them means enrolling every device again.

下一步 next step:
  jiannuo-server serve -dir %s -addr :8443
`, abs, abs)
	return nil
}

func (c *cli) fingerprintCmd(fs *flag.FlagSet, args []string) error {
	dir := fs.String("dir", defaultDir, "data directory made by init")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	fp, err := county.FingerprintOf(*dir)
	if err != nil {
		return err
	}
	if *asJSON {
		return c.printJSON(map[string]string{"fingerprint": fp})
	}
	fmt.Fprintln(c.stdout, fp)
	return nil
}

// countyCaseFlags are serve's flags for the county's case time limits,
// refused with -role municipal.
var countyCaseFlags = []string{"case-ack-days", "case-answer-days", "objection-days"}

func (c *cli) serveCmd(fs *flag.FlagSet, args []string) error {
	dir := fs.String("dir", defaultDir, "data directory made by init")
	addr := fs.String("addr", ":8443", "address to listen on, host:port")
	insecure := fs.Bool("insecure-loopback", false, "serve plain ws:// and http:// without TLS; only on a loopback address, for development")
	role := roleFlag(fs)
	cf := addClusterFlags(fs)
	httpAddr := fs.String("http", ":8080", "municipal: address of the public page, feed and statistics")
	opsAddr := fs.String("ops", "127.0.0.1:8081", "municipal: address of the operators' status (keep it private)")
	def := county.DefaultConfig(*dir)
	ackDays := fs.Int("case-ack-days", def.CaseAckDays, "working days a township has to acknowledge (受理) a complaint filed by the public")
	answerDays := fs.Int("case-answer-days", def.CaseAnswerDays, "working days a township has to answer (答复) a complaint filed by the public")
	objectionDays := fs.Int("objection-days", def.ObjectionDays, "working days the county has to decide an objection (异议) filed by the public")
	pf := addPublicFlags(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := checkRole(*role); err != nil {
		return err
	}
	ctx, stop := c.signalContext()
	defer stop()
	if *role == roleMunicipal {
		if given := setFlags(fs, countyCaseFlags); len(given) > 0 {
			return usagef("%s: the county servers set their cases' time limits, not the municipal node", strings.Join(given, ", "))
		}
		pcfg, err := pf.config()
		if err != nil {
			return err
		}
		if cf.addr == "" {
			cf.addr = ":" + strconv.Itoa(cluster.DefaultPort)
		}
		return c.serveMunicipal(ctx, dirFor(fs, *dir, *role), *httpAddr, *opsAddr, cf, pcfg)
	}
	if given := setFlags(fs, publicFlagNames); len(given) > 0 {
		return usagef("%s: settings of the municipal node's public page (-role municipal)", strings.Join(given, ", "))
	}
	if *insecure {
		if err := checkLoopback(*addr); err != nil {
			return err
		}
	}
	if cf.addr == "" && (cf.join != "" || cf.advertise != "" || cf.keyFile != "") {
		return usagef("-join, -advertise and -cluster-key-file need -cluster-addr, e.g. -cluster-addr :7946")
	}
	if *ackDays <= 0 || *answerDays <= 0 || *objectionDays <= 0 {
		return usagef("-case-ack-days, -case-answer-days and -objection-days are whole numbers of working days, at least 1")
	}
	if *ackDays > *answerDays {
		return usagef("-case-ack-days (%d) is after -case-answer-days (%d)", *ackDays, *answerDays)
	}
	cfg := county.DefaultConfig(*dir)
	cfg.Insecure = *insecure
	cfg.CaseAckDays, cfg.CaseAnswerDays, cfg.ObjectionDays = *ackDays, *answerDays, *objectionDays
	cfg.Logger, cfg.KDF = c.log, c.kdf
	srv, err := county.New(cfg)
	if err != nil {
		return err
	}
	defer func() {
		if err := srv.Close(); err != nil {
			c.log.Error("closing the county server", "err", err)
		}
	}()
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *addr)
	if err != nil {
		return err
	}
	if cf.addr != "" {
		leave, err := c.joinCounty(ctx, cf, *dir, ln.Addr().String(), *insecure, srv)
		if err != nil {
			ln.Close()
			return err
		}
		defer leave()
	}
	if c.listening != nil {
		c.listening(ln.Addr())
	}
	err = srv.Serve(ctx, ln)
	if err == nil {
		c.log.Info("county server stopped")
	}
	return err
}

// checkLoopback refuses plain-text serving on any address a township
// device on the network could reach: admin passwords and records would
// travel in the clear.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usagef("-addr %q: %v", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	if host == "" {
		host = "every interface"
	}
	return usagef("-insecure-loopback serves without TLS, so only on a loopback address such as 127.0.0.1:8080; -addr %s listens on %s", addr, host)
}

func (c *cli) printJSON(v any) error { return countyapi.PrintJSON(c.stdout, v) }

// officeLabel shows a code with its name from the Luoyang directory,
// e.g. "410324101 赤土店镇".
func officeLabel(o office.Code) string {
	if u, ok := office.Luoyang().Lookup(o); ok {
		return string(o) + " " + u.Name
	}
	return string(o)
}
