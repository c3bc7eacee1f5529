// Package layers holds no code: its test enforces the dependency rules
// between the layers of 践诺 Jiannuo, so that a wrong import fails CI.
//
// The layers, bottom to top (docs/architecture.md draws them):
//
//	domain         rules of commitments, statuses and deadlines (pure Go)
//	auth           keys, passphrases, signatures, devices and roles
//	sync/protocol  the wire format of signed change sets and receipts
//	store          the bbolt database
//	report         statistics, charts and exports over a replica's records
//	sync           the sync engine (client and server side)
//	server         the county and municipal servers
//	demo           the embedded default: a seeded township, a local county
//	app/vm         the desktop view-models (plain Go)
//	app            the Fyne desktop app (top; nothing imports it)
//
// The rules checked, over every package's transitive (non-test) imports, for
// the build of this machine's OS and for Windows:
//
//  1. No package under domain, auth, store, sync or server depends on Fyne
//     (fyne.io/...) or on jiannuo/app. They must build with CGO_ENABLED=0,
//     cross-compile for any OS, and run on a server without a display.
//  2. domain depends on no other layer: not jiannuo/auth, sync, store,
//     server or app.
//  3. sync/protocol depends on neither jiannuo/store, server nor app: both
//     sides of a connection, and the municipal platform verifying records
//     independently, share it without pulling in storage.
//  4. store depends on neither jiannuo/server nor app.
//  5. report depends on none of Fyne, the app, the servers, demo, the
//     command line, or sync beyond sync/protocol: the app, the servers and
//     the command line all use it on a replica's records.
//  6. demo depends on none of Fyne, the app or the command line, which use
//     it; and nothing below it (domain, auth, store, sync, server, report)
//     depends on demo.
//  7. app/vm depends on neither Fyne nor the rest of jiannuo/app, so the
//     view-models are tested without a display.
//  8. app/vm imports no net/http itself: the view-models call the county
//     server through sync/countyapi's client, never HTTP directly.
//
// A rule's folder that has no Go package yet is skipped. A broken build is
// a failure, and so is a missing go command: nothing is skipped silently.
// Each violated rule gives one message naming the imports where the
// trouble starts, not every package that inherits it. To change a rule,
// change the table in layers_test.go and this comment together.
package layers
