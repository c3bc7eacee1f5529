// Command jiannuo-server is the county aggregation server (县级汇聚服务器)
// of 践诺 Jiannuo and the county admin's command line for it, and, with
// -role municipal, the municipal platform node (市信用信息综合平台).
//
//	jiannuo-server init -county 410324 -hosts localhost,127.0.0.1,county.example -admin NAME
//	jiannuo-server serve -addr :8443 [-cluster-addr :7946 -join HOST:7946,… [-advertise HOST]]
//	jiannuo-server fingerprint
//	jiannuo-server trust-entry
//	jiannuo-server init -role municipal -trust trust.json -name 市信用平台-1
//	jiannuo-server serve -role municipal -join HOST:7946 [-http :8080] [-ops 127.0.0.1:8081]
//	jiannuo-server enrolments [-all]
//	jiannuo-server approve DEVICE [-office CODE] [-admin-device]
//	jiannuo-server reject DEVICE -reason "…"
//	jiannuo-server devices
//	jiannuo-server revoke DEVICE -reason "…"
//	jiannuo-server conflicts
//	jiannuo-server directory [-office CODE]
//	jiannuo-server incidents
//	jiannuo-server upstream add -key HEX -name NAME | upstream list
//	jiannuo-server admins list | add NAME | disable NAME -reason "…" | enable NAME | passwd NAME
//	jiannuo-server admins reset NAME -dir DIR      # server stopped: the recovery credential
//
// init, serve, fingerprint and trust-entry work on the data directory
// (-dir, default ./county-data, or ./municipal-data with -role
// municipal); the other commands talk to a running server through its
// admin API over HTTPS, pinning the certificate found in -dir (or given
// with -url and -fingerprint). The admin password comes from
// JIANNUO_ADMIN_PASSWORD or, on a terminal, a prompt; a command signs in
// with it once and signs out when it ends. A new admin password comes from
// JIANNUO_NEW_ADMIN_PASSWORD or a prompt, never a flag. Exit status: 0 ok,
// 1 error, 2 usage. docs/county-server.md and docs/municipal.md are the
// operators' guides.
package main

import (
	"log/slog"
	"os"
)

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}
