// Package layers holds no code: its test enforces the dependency rules
// between the layers of 践诺 Jiannuo, so that a wrong import fails CI.
//
// The layers, bottom to top:
//
//	domain         rules of commitments, statuses and deadlines (pure Go)
//	auth           keys, passphrases, signatures, devices and roles
//	sync/protocol  the wire format of signed change sets and receipts
//	store          the bbolt database
//	sync           the sync engine (client and server side)
//	server         the county and municipal servers
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
//  5. app/vm imports no net/http itself: the view-models call the county
//     server through sync/countyapi's client, never HTTP directly.
//
// A rule's folder that has no Go package yet is skipped. To change a rule,
// change the table in layers_test.go and this comment together.
package layers
