// Package e2e holds the end-to-end tests of two-way accountability (issue
// #10, docs/supervision.md) across every tier, with real parts only: a
// county server with TLS on 127.0.0.1 and its serf member
// (server/county/countytest), a municipal node pulling it through the
// cluster and serving the public page (server/municipal, server/public),
// township and county-admin devices with their own bbolt files and sync
// engines, driven through the desktop app's view-models (app/vm) as the
// screens drive them, the county admin's API as the server command calls
// it (sync/countyapi), and the public forms posted over HTTP as a browser
// posts them — once by headless Chromium itself.
//
// The package has no code of its own: it sits above every layer, which
// none of server/... may import (internal/layers), so that the township's
// side can be the app's own view-models.
package e2e
