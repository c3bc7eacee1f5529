// Command jiannuo-server is the county aggregation server (县级汇聚服务器)
// of 践诺 Jiannuo and the county admin's command line for it.
//
//	jiannuo-server init -county 410324 -hosts localhost,127.0.0.1,county.example -admin NAME
//	jiannuo-server serve -addr :8443
//	jiannuo-server fingerprint
//	jiannuo-server enrolments [-all]
//	jiannuo-server approve DEVICE [-office CODE] [-admin-device]
//	jiannuo-server reject DEVICE -reason "…"
//	jiannuo-server devices
//	jiannuo-server revoke DEVICE -reason "…"
//	jiannuo-server conflicts
//	jiannuo-server incidents
//
// init, serve and fingerprint work on the data directory (-dir, default
// ./county-data); the other commands talk to a running server through its
// admin API over HTTPS, pinning the certificate found in -dir (or given
// with -url and -fingerprint). The admin password comes from
// JIANNUO_ADMIN_PASSWORD or, on a terminal, a prompt. Exit status: 0 ok,
// 1 error, 2 usage. docs/county-server.md is the operator's guide.
package main

import (
	"log/slog"
	"os"
)

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}
