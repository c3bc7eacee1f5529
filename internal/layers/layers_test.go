package layers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// module is the module path of this repository.
const module = "jiannuo"

// A rule forbids packages under any of the forbidden import-path prefixes,
// except those under an allowed one, to every package under one of the
// from prefixes. Prefixes match whole path elements: "jiannuo/app" covers
// jiannuo/app and jiannuo/app/ui, not jiannuo/apple.
type rule struct {
	name      string
	from      []string
	forbidden []string
	allowed   []string
	// direct applies the rule to the package's own imports only, not to
	// what those import in turn.
	direct bool
}

var rules = []rule{
	{
		name:      "lower layers must not depend on Fyne or the app",
		from:      []string{"jiannuo/domain", "jiannuo/auth", "jiannuo/backup", "jiannuo/store", "jiannuo/sync", "jiannuo/server"},
		forbidden: []string{"fyne.io", "jiannuo/app"},
	},
	{
		name:      "domain depends on no other layer",
		from:      []string{"jiannuo/domain"},
		forbidden: []string{"jiannuo/auth", "jiannuo/sync", "jiannuo/store", "jiannuo/server", "jiannuo/app"},
	},
	{
		name:      "sync/protocol must not depend on store, server or app",
		from:      []string{"jiannuo/sync/protocol"},
		forbidden: []string{"jiannuo/store", "jiannuo/server", "jiannuo/app"},
	},
	{
		name:      "store must not depend on server or app",
		from:      []string{"jiannuo/store"},
		forbidden: []string{"jiannuo/server", "jiannuo/app"},
	},
	{
		// The statistics and exports work on a replica's records, the same
		// for the app, the servers and the command line.
		name:      "report must not depend on Fyne, the app, the servers, demo or the network side of sync",
		from:      []string{"jiannuo/report"},
		forbidden: []string{"fyne.io", "jiannuo/app", "jiannuo/server", "jiannuo/demo", "jiannuo/sync", "jiannuo/internal/cli", "jiannuo/cmd"},
		allowed:   []string{"jiannuo/sync/protocol"},
	},
	{
		name:      "demo must not depend on Fyne, the app or the command line",
		from:      []string{"jiannuo/demo"},
		forbidden: []string{"fyne.io", "jiannuo/app", "jiannuo/internal/cli", "jiannuo/cmd", "jiannuo/server/cmd"},
	},
	{
		// demo builds on the layers below it (a local county server, the
		// sync engine, the store); only the app and the command line use it.
		name:      "nothing below demo depends on it",
		from:      []string{"jiannuo/domain", "jiannuo/auth", "jiannuo/backup", "jiannuo/store", "jiannuo/sync", "jiannuo/server", "jiannuo/report"},
		forbidden: []string{"jiannuo/demo"},
	},
	{
		name:      "app/vm must not depend on Fyne or the app's screens",
		from:      []string{"jiannuo/app/vm"},
		forbidden: []string{"fyne.io", "jiannuo/app"},
		allowed:   []string{"jiannuo/app/vm"},
	},
	{
		// A direct import only: the packages app/vm calls (sync/engine,
		// sync/countyapi) use HTTP below it, which is where it belongs.
		name:      "app/vm speaks no HTTP: the county's API is sync/countyapi's",
		from:      []string{"jiannuo/app/vm"},
		forbidden: []string{"net/http"},
		direct:    true,
	},
}

// layerPatterns are the package patterns the rules apply to: every from
// prefix and what lies below it.
func layerPatterns() []string {
	var out []string
	for _, r := range rules {
		for _, f := range r.from {
			if p := f + "/..."; !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// under reports whether import path p is prefix itself or below it.
func under(p, prefix string) bool {
	return p == prefix || strings.HasPrefix(p, prefix+"/")
}

func underAny(p string, prefixes []string) bool {
	return slices.ContainsFunc(prefixes, func(prefix string) bool { return under(p, prefix) })
}

// applies reports whether the rule restricts package pkg.
func (r rule) applies(pkg string) bool { return underAny(pkg, r.from) }

// forbids reports whether the rule forbids depending on dep.
func (r rule) forbids(dep string) bool {
	return underAny(dep, r.forbidden) && !underAny(dep, r.allowed)
}

// A violation is one dependency of one package that one rule forbids.
type violation struct {
	rule     int // index into rules
	pkg, dep string
}

// violations returns every dependency of pkg that a rule forbids, in the
// order of deps (and of rules for one dependency). deps are pkg's
// transitive imports, as in `go list -deps` or the Deps field of
// `go list -json`.
func violations(pkg string, deps []string) []violation {
	var out []violation
	for _, dep := range deps {
		if dep == pkg {
			continue
		}
		for i, r := range rules {
			if !r.direct && r.applies(pkg) && r.forbids(dep) {
				out = append(out, violation{rule: i, pkg: pkg, dep: dep})
			}
		}
	}
	return out
}

// directViolations returns every import of pkg's own that a direct rule
// forbids; imports is the Imports field of `go list -json`.
func directViolations(pkg string, imports []string) []violation {
	var out []violation
	for _, imp := range imports {
		for i, r := range rules {
			if r.direct && r.applies(pkg) && r.forbids(imp) {
				out = append(out, violation{rule: i, pkg: pkg, dep: imp})
			}
		}
	}
	return out
}

// maxCauses is how many offending imports one message names.
const maxCauses = 3

// summarise turns the violations into one message per violated rule. One
// bad import makes every package that depends on it, transitively, depend on
// everything below the forbidden package (Fyne alone is a few hundred
// packages), so the message names only the imports where the trouble
// starts: a package of this module importing a forbidden one, or importing
// one from outside the module that depends on a forbidden one. pkgs holds
// every listed package by import path, for its imports and dependencies.
func summarise(pkgs map[string]*listedPackage, found []violation) []string {
	var out []string
	for i, r := range rules {
		affected := map[string]bool{}
		for _, v := range found {
			if v.rule == i {
				affected[v.pkg] = true
			}
		}
		if len(affected) == 0 {
			continue
		}
		var causes []string
		seen := map[string]bool{}
		var walk func(pkg string)
		walk = func(pkg string) {
			if seen[pkg] || pkgs[pkg] == nil {
				return
			}
			seen[pkg] = true
			for _, imp := range pkgs[pkg].Imports {
				switch {
				case r.forbids(imp):
					causes = append(causes, pkg+" imports "+imp)
				case pkgs[imp] == nil, r.direct:
				case under(imp, module):
					walk(imp) // the trouble starts further down in this module
				default:
					if j := slices.IndexFunc(pkgs[imp].Deps, r.forbids); j >= 0 {
						causes = append(causes, fmt.Sprintf("%s imports %s, which depends on %s", pkg, imp, pkgs[imp].Deps[j]))
					}
				}
			}
		}
		for _, pkg := range slices.Sorted(maps.Keys(affected)) {
			walk(pkg)
		}
		if len(causes) == 0 { // not expected: go list gave no way through
			for _, v := range found {
				if v.rule == i {
					causes = append(causes, v.pkg+" depends on "+v.dep)
					break
				}
			}
		}
		msg := r.name + ": " + strings.Join(causes[:min(len(causes), maxCauses)], "; ")
		if len(causes) > maxCauses {
			msg += fmt.Sprintf("; and %d more", len(causes)-maxCauses)
		}
		if n := len(affected); n > 1 {
			msg += fmt.Sprintf(" (%d packages affected)", n)
		}
		out = append(out, msg)
	}
	return out
}

// TestDirectViolations: a direct rule looks at a package's own imports,
// not at what they import.
func TestDirectViolations(t *testing.T) {
	deps := []string{"net/http", "jiannuo/sync/countyapi"}
	if got := violations("jiannuo/app/vm", deps); got != nil {
		t.Errorf("net/http through sync/countyapi: %+v", got)
	}
	if got := directViolations("jiannuo/app/vm", []string{"jiannuo/sync/countyapi"}); got != nil {
		t.Errorf("app/vm importing sync/countyapi: %+v", got)
	}
	got := directViolations("jiannuo/app/vm", []string{"net/http"})
	if len(got) != 1 || got[0].dep != "net/http" || !rules[got[0].rule].direct {
		t.Errorf("net/http imported by app/vm: %+v", got)
	}
	if got := directViolations("jiannuo/app", []string{"net/http"}); got != nil {
		t.Errorf("net/http imported by app: %+v", got)
	}
}

func TestViolations(t *testing.T) {
	std := []string{"errors", "fmt", "sync", "go.etcd.io/bbolt", "golang.org/x/crypto/ed25519"}
	for _, tc := range []struct {
		pkg  string
		deps []string
		want []string // forbidden deps expected, in order
	}{
		// Everything allowed.
		{"jiannuo/domain", std, nil},
		{"jiannuo/domain/calendar", append(slices.Clone(std), "jiannuo/domain"), nil},
		{"jiannuo/auth", []string{"jiannuo/domain"}, nil},
		{"jiannuo/sync/protocol", []string{"jiannuo/domain", "jiannuo/auth"}, nil},
		{"jiannuo/store", []string{"jiannuo/domain", "jiannuo/auth", "jiannuo/sync/protocol"}, nil},
		{"jiannuo/sync", []string{"jiannuo/store", "jiannuo/sync/protocol", "github.com/gorilla/websocket"}, nil},
		{"jiannuo/sync/client", []string{"jiannuo/store"}, nil},
		{"jiannuo/server", []string{"jiannuo/store", "jiannuo/sync", "github.com/hashicorp/serf/serf"}, nil},
		{"jiannuo/store", []string{"jiannuo/apple", "jiannuo/serverless", "fyne.iox/not"}, nil},
		// The app and other packages are not restricted here.
		{"jiannuo/app", []string{"fyne.io/fyne/v2", "jiannuo/store", "jiannuo/server"}, nil},
		{"jiannuo/cmd/jiannuo", []string{"fyne.io/fyne/v2", "jiannuo/app"}, nil},
		{"jiannuo/domainx", []string{"jiannuo/store"}, nil},

		// Fyne or the app below the app.
		{"jiannuo/store", append(slices.Clone(std), "fyne.io/fyne/v2", "fyne.io/fyne/v2/widget"),
			[]string{"fyne.io/fyne/v2", "fyne.io/fyne/v2/widget"}},
		{"jiannuo/domain", []string{"fyne.io/systray"}, []string{"fyne.io/systray"}},
		{"jiannuo/auth/keys", []string{"jiannuo/app/ui"}, []string{"jiannuo/app/ui"}},
		{"jiannuo/sync", []string{"jiannuo/app"}, []string{"jiannuo/app"}},
		{"jiannuo/server/county", []string{"fyne.io/fyne/v2/lang"}, []string{"fyne.io/fyne/v2/lang"}},
		// Lower layers importing higher ones.
		{"jiannuo/domain", []string{"jiannuo/auth", "jiannuo/store/bolt", "jiannuo/sync/protocol", "jiannuo/server"},
			[]string{"jiannuo/auth", "jiannuo/store/bolt", "jiannuo/sync/protocol", "jiannuo/server"}},
		{"jiannuo/sync/protocol", []string{"jiannuo/domain", "jiannuo/store"}, []string{"jiannuo/store"}},
		{"jiannuo/sync/protocol/v1", []string{"jiannuo/server/county"}, []string{"jiannuo/server/county"}},
		{"jiannuo/store", []string{"jiannuo/server"}, []string{"jiannuo/server"}},
		{"jiannuo/store/migrate", []string{"jiannuo/sync/protocol", "jiannuo/server/api"}, []string{"jiannuo/server/api"}},
		// A dependency breaking two rules is reported under each.
		{"jiannuo/domain", []string{"jiannuo/app"}, []string{"jiannuo/app", "jiannuo/app"}},

		// report: records and exports, nothing above them.
		{"jiannuo/report", []string{"jiannuo/store", "jiannuo/sync/protocol", "jiannuo/assets", "jiannuo/domain/office"}, nil},
		{"jiannuo/report", []string{"fyne.io/fyne/v2", "jiannuo/app/vm", "jiannuo/server/county", "jiannuo/demo", "jiannuo/sync/engine", "jiannuo/internal/cli"},
			[]string{"fyne.io/fyne/v2", "jiannuo/app/vm", "jiannuo/server/county", "jiannuo/demo", "jiannuo/demo", "jiannuo/sync/engine", "jiannuo/internal/cli"}},
		// demo: above the county server and the sync engine, below the app
		// and the command line.
		{"jiannuo/demo", []string{"jiannuo/server/county", "jiannuo/sync/engine", "jiannuo/store"}, nil},
		{"jiannuo/demo", []string{"fyne.io/fyne/v2", "jiannuo/app", "jiannuo/internal/cli", "jiannuo/server/cmd/jiannuo-server"},
			[]string{"fyne.io/fyne/v2", "jiannuo/app", "jiannuo/internal/cli", "jiannuo/server/cmd/jiannuo-server"}},
		{"jiannuo/server/county", []string{"jiannuo/demo"}, []string{"jiannuo/demo"}},
		// app/vm: plain Go, tested without a display.
		{"jiannuo/app/vm", []string{"jiannuo/store", "jiannuo/report", "jiannuo/sync/engine", "jiannuo/app/vm/internal"}, nil},
		{"jiannuo/app/vm", []string{"fyne.io/fyne/v2", "jiannuo/app", "jiannuo/app/theme"}, []string{"fyne.io/fyne/v2", "jiannuo/app", "jiannuo/app/theme"}},
	} {
		got := violations(tc.pkg, tc.deps)
		if len(got) != len(tc.want) {
			t.Errorf("violations(%s, %v):\n got %+v\nwant %d naming %v", tc.pkg, tc.deps, got, len(tc.want), tc.want)
			continue
		}
		for i, dep := range tc.want {
			if got[i].pkg != tc.pkg || got[i].dep != dep {
				t.Errorf("violations(%s, ...)[%d] = %s depends on %s (%s), want it to name %s", tc.pkg, i, got[i].pkg, got[i].dep, rules[got[i].rule].name, dep)
			}
		}
	}
}

// goBinary finds the go command: the one `go test` puts first on PATH, else
// the one in the GOROOT this test was built with. Without one the rules
// cannot be checked, which is a failure, not a reason to skip.
func goBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no go command on PATH nor at %s: the layer rules cannot be checked", p)
	}
	return p
}

// listedPackage is what `go list -e -deps -json` says about one package.
type listedPackage struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Error      *struct{ Err string }
	DepsErrors []*struct{ Err string }
}

// noPackageYet reports whether a go list error only means that a folder has
// no buildable Go files (yet), which the rules treat as no package.
func noPackageYet(msg string) bool {
	return strings.Contains(msg, "no non-test Go files") ||
		strings.Contains(msg, "no Go files") ||
		strings.Contains(msg, "build constraints exclude all Go files")
}

// restricted reports whether any rule applies to pkg.
func restricted(pkg string) bool {
	return slices.ContainsFunc(rules, func(r rule) bool { return r.applies(pkg) })
}

// layerProblems runs `go list` in dir over the packages the rules apply to
// and returns one message per violated rule, plus go list's errors about
// those packages (a package that does not resolve cannot be checked).
// Patterns that match no package are skipped. env is added to the
// environment of go list (e.g. GOOS=windows).
func layerProblems(goBin, dir string, env []string) ([]string, error) {
	args := append([]string{"list", "-e", "-deps", "-json=ImportPath,Imports,Deps,Error,DepsErrors"}, layerPatterns()...)
	cmd := exec.Command(goBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := map[string]*listedPackage{}
	var found []violation
	// One broken package (an import cycle, say) is an error of every
	// package above it too: say it once, counting the others.
	var errs []string
	errPkgs := map[string][]string{}
	listErr := func(pkg, msg string) {
		if errPkgs[msg] == nil {
			errs = append(errs, msg)
		}
		errPkgs[msg] = append(errPkgs[msg], pkg)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := new(listedPackage)
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list: decoding output: %v", err)
		}
		pkgs[p.ImportPath] = p
		if !restricted(p.ImportPath) {
			continue // listed as a dependency only
		}
		if p.Error != nil {
			if noPackageYet(p.Error.Err) {
				continue
			}
			listErr(p.ImportPath, p.Error.Err)
		}
		for _, e := range p.DepsErrors {
			listErr(p.ImportPath, e.Err)
		}
		found = append(found, violations(p.ImportPath, p.Deps)...)
		found = append(found, directViolations(p.ImportPath, p.Imports)...)
	}
	var problems []string
	for _, msg := range errs {
		line := fmt.Sprintf("%s: go list: %s", errPkgs[msg][0], msg)
		if n := len(errPkgs[msg]) - 1; n > 0 {
			line += fmt.Sprintf(" (and %d more packages)", n)
		}
		problems = append(problems, line)
	}
	return append(problems, summarise(pkgs, found)...), nil
}

// targets are the platforms whose builds are checked: this machine's, and
// Windows, which most township offices run (files may be OS-specific).
func targets() [][]string {
	envs := [][]string{nil}
	if runtime.GOOS != "windows" {
		envs = append(envs, []string{"GOOS=windows", "GOARCH=amd64"})
	}
	return envs
}

// TestLayers checks the real module. A problem found on several platforms
// is reported once, naming them.
func TestLayers(t *testing.T) {
	goBin := goBinary(t)
	var order []string
	platforms := map[string][]string{}
	for _, env := range targets() {
		problems, err := layerProblems(goBin, ".", env)
		if err != nil {
			t.Fatal(err)
		}
		platform := runtime.GOOS + "/" + runtime.GOARCH
		if len(env) > 0 {
			platform = strings.Join(env, " ")
		}
		for _, p := range problems {
			if platforms[p] == nil {
				order = append(order, p)
			}
			platforms[p] = append(platforms[p], platform)
		}
	}
	for _, p := range order {
		t.Errorf("[%s] %s", strings.Join(platforms[p], ", "), p)
	}
}

// TestLayerProblemsFindsViolations runs the same go list machinery on a
// throwaway module in which store imports Fyne (a local stand-in module of
// several packages), domain imports store, app/vm imports a module that
// imports Fyne and report imports a server package, and checks that each
// violated rule gives exactly one message naming the import at fault; and
// that an empty folder and a missing one are skipped.
func TestLayerProblemsFindsViolations(t *testing.T) {
	goBin := goBinary(t)
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module jiannuo\n\ngo 1.22\n\nrequire (\n\tfyne.io/fyne/v2 v2.0.0\n\texample.com/widgets v1.0.0\n)\n\n"+
		"replace fyne.io/fyne/v2 => ./fakefyne\n\nreplace example.com/widgets => ./fakewidgets\n")
	write("fakefyne/go.mod", "module fyne.io/fyne/v2\n\ngo 1.22\n")
	write("fakefyne/widget/widget.go", "package widget\n\nimport (\n\t_ \"fyne.io/fyne/v2/canvas\"\n\t_ \"fyne.io/fyne/v2/theme\"\n)\n\nconst Label = 1\n")
	write("fakefyne/canvas/canvas.go", "package canvas\n\nimport _ \"fyne.io/fyne/v2/theme\"\n")
	write("fakefyne/theme/theme.go", "package theme\n")
	write("domain/domain.go", "package domain\n\nimport _ \"jiannuo/store\"\n")
	write("store/store.go", "package store\n\nimport _ \"fyne.io/fyne/v2/widget\"\n")
	write("sync/protocol/protocol.go", "package protocol\n\nimport _ \"jiannuo/domain/ok\"\n")
	write("domain/ok/ok.go", "package ok\n")
	write("auth/only_test.go", "package auth\n") // test files only: no package yet
	write("fakewidgets/go.mod", "module example.com/widgets\n\ngo 1.22\n\nrequire fyne.io/fyne/v2 v2.0.0\n")
	write("fakewidgets/widgets.go", "package widgets\n\nimport _ \"fyne.io/fyne/v2/canvas\"\n")
	write("app/vm/vm.go", "package vm\n\nimport (\n\t_ \"example.com/widgets\"\n\t_ \"jiannuo/app/vm/fmt\"\n)\n")
	write("app/vm/fmt/fmt.go", "package fmt\n")
	write("report/report.go", "package report\n\nimport _ \"jiannuo/server/county\"\n")
	write("server/county/county.go", "package county\n")
	if err := os.MkdirAll(filepath.Join(dir, "demo"), 0o755); err != nil {
		t.Fatal(err)
	}

	env := []string{"GOWORK=off", "GOFLAGS=-mod=mod", "GOPROXY=off", "GOTOOLCHAIN=local"}
	problems, err := layerProblems(goBin, dir, env)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		// domain -> store -> fyne: the Fyne rule once, where it starts.
		"lower layers must not depend on Fyne or the app: jiannuo/store imports fyne.io/fyne/v2/widget (2 packages affected)",
		"domain depends on no other layer: jiannuo/domain imports jiannuo/store",
		"report must not depend on Fyne, the app, the servers, demo or the network side of sync: jiannuo/report imports jiannuo/server/county",
		"app/vm must not depend on Fyne or the app's screens: jiannuo/app/vm imports example.com/widgets, which depends on fyne.io/fyne/v2/canvas",
	}
	if !slices.Equal(problems, want) {
		t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(problems, "\n  "), strings.Join(want, "\n  "))
	}
}
