// Command jiannuo-loadgen simulates township devices against a running
// county server (jiannuo-server serve) and reports how fast it ingests
// their change sets, or holds many devices connected idle so that the
// server's memory per device can be read off.
//
// A throw-away server on this machine:
//
//	export JIANNUO_ADMIN_PASSWORD='一个足够长的管理员口令'
//	jiannuo-server init -county 410324 -admin admin -dir /tmp/county
//	jiannuo-server serve -addr 127.0.0.1:8443 -dir /tmp/county &
//
// Push 50 devices × 10 change sets × 100 operations and wait for every
// receipt (devices are enrolled and approved through the admin API first,
// untimed). The devices write generated Chinese text that compresses as
// real text does (-text hanzi, the default; -seed picks the texts), or the
// few dozen fixed clauses of earlier figures (-text clauses), which
// flatter the wire bytes:
//
//	jiannuo-loadgen -url https://127.0.0.1:8443 -dir /tmp/county -admin admin \
//	    -devices 50 -changesets 10 -ops 100
//
// Hold 2,000 devices connected idle until Ctrl-C (or for -hold) and read
// the server's resident memory meanwhile. Enrolling through the admin API
// grows the server's heap by itself (argon2id), so enrol first, keeping the
// devices' keys, restart the server, read its memory, then connect the same
// devices again:
//
//	jiannuo-loadgen -url https://127.0.0.1:8443 -dir /tmp/county -admin admin -idle 2000 -hold 1s -keys /tmp/keys
//	# restart jiannuo-server serve; ps -o rss= -p PID
//	jiannuo-loadgen -url https://127.0.0.1:8443 -dir /tmp/county -idle 2000 -keys /tmp/keys
//	# ps -o rss= -p PID again; the difference / 2000 is the cost of an idle device
//
// -dir only reads the server certificate (tls.crt) to pin its fingerprint;
// from another machine pass -fingerprint instead (jiannuo-server
// fingerprint prints it). The admin password comes from
// JIANNUO_ADMIN_PASSWORD. Every run makes new devices: the server keeps
// them, so use a throw-away data directory. Approving through the admin
// API costs the server an argon2id hash per device (a fraction of a second
// each with the production cost).
//
// Exit status: 0 when every change set was acknowledged (or every idle
// device connected), 1 otherwise, 2 on a usage error. docs/benchmarks-sync.md
// explains the figures.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr, nil))
}
