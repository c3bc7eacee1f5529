package layers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// layerPatterns are the package patterns the rules apply to.
var layerPatterns = []string{
	module + "/domain/...",
	module + "/auth/...",
	module + "/store/...",
	module + "/sync/...",
	module + "/server/...",
	module + "/app/vm/...",
}

// A rule forbids packages under any of the forbidden import-path prefixes
// to every package under one of the from prefixes. Prefixes match whole
// path elements: "jiannuo/app" covers jiannuo/app and jiannuo/app/ui, not
// jiannuo/apple.
type rule struct {
	name      string
	from      []string
	forbidden []string
	// direct applies the rule to the package's own imports only, not to
	// what those import in turn.
	direct bool
}

var rules = []rule{
	{
		name:      "lower layers must not depend on Fyne or the app",
		from:      []string{"jiannuo/domain", "jiannuo/auth", "jiannuo/store", "jiannuo/sync", "jiannuo/server"},
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
		name:      "app/vm speaks no HTTP: the county's API is sync/countyapi's",
		from:      []string{"jiannuo/app/vm"},
		forbidden: []string{"net/http"},
		direct:    true,
	},
}

// under reports whether import path p is prefix itself or below it.
func under(p, prefix string) bool {
	return p == prefix || strings.HasPrefix(p, prefix+"/")
}

func underAny(p string, prefixes []string) bool {
	return slices.ContainsFunc(prefixes, func(prefix string) bool { return under(p, prefix) })
}

// violations returns one line for each dependency of pkg that a rule forbids,
// in the order of deps, then of imports. deps are pkg's transitive imports,
// as in `go list -deps` or the Deps field of `go list -json`, checked by
// the rules that are not direct; imports are its own (the Imports field),
// checked by the direct ones.
func violations(pkg string, deps, imports []string) []string {
	return append(violationsOf(pkg, deps, false), violationsOf(pkg, imports, true)...)
}

func violationsOf(pkg string, deps []string, direct bool) []string {
	var out []string
	for _, dep := range deps {
		if dep == pkg {
			continue
		}
		for _, r := range rules {
			if r.direct == direct && underAny(pkg, r.from) && underAny(dep, r.forbidden) {
				out = append(out, fmt.Sprintf("%s depends on %s: %s", pkg, dep, r.name))
				break
			}
		}
	}
	return out
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
	} {
		got := violations(tc.pkg, tc.deps, nil)
		if len(got) != len(tc.want) {
			t.Errorf("violations(%s, %v):\n got %q\nwant %d naming %v", tc.pkg, tc.deps, got, len(tc.want), tc.want)
			continue
		}
		for i, dep := range tc.want {
			if !strings.HasPrefix(got[i], tc.pkg+" depends on "+dep+": ") {
				t.Errorf("violations(%s, ...)[%d] = %q, want it to name %s", tc.pkg, i, got[i], dep)
			}
		}
	}
}

// TestDirectViolations: a direct rule looks at a package's own imports,
// not at what they import.
func TestDirectViolations(t *testing.T) {
	deps := []string{"net/http", "jiannuo/sync/countyapi"}
	if got := violations("jiannuo/app/vm", deps, []string{"jiannuo/sync/countyapi"}); got != nil {
		t.Errorf("net/http through sync/countyapi: %q", got)
	}
	got := violations("jiannuo/app/vm", deps, []string{"net/http"})
	if len(got) != 1 || !strings.HasPrefix(got[0], "jiannuo/app/vm depends on net/http: ") {
		t.Errorf("net/http imported by app/vm: %q", got)
	}
	if got := violations("jiannuo/app", nil, []string{"net/http"}); got != nil {
		t.Errorf("net/http imported by app: %q", got)
	}
}

// goBinary finds the go command: the one `go test` puts first on PATH, else
// the one in the GOROOT this test was built with.
func goBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no go command on PATH nor at %s", p)
	}
	return p
}

// listedPackage is what `go list -e -json` says about one package.
type listedPackage struct {
	ImportPath string
	Deps       []string
	Imports    []string
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

// layerProblems runs `go list` in dir for every layer pattern and returns the
// rule violations, plus go list's errors about the packages (a package that
// does not resolve cannot be checked). Patterns that match no package are
// skipped. env is added to the environment of go list (e.g. GOOS=windows).
func layerProblems(goBin, dir string, env []string) ([]string, error) {
	var problems []string
	for _, pattern := range layerPatterns {
		cmd := exec.Command(goBin, "list", "-e", "-json=ImportPath,Deps,Imports,Error,DepsErrors", pattern)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("go list %s: %v\n%s", pattern, err, stderr.String())
		}
		dec := json.NewDecoder(bytes.NewReader(out))
		for {
			var p listedPackage
			if err := dec.Decode(&p); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return nil, fmt.Errorf("go list %s: decoding output: %v", pattern, err)
			}
			if p.Error != nil {
				if noPackageYet(p.Error.Err) {
					continue
				}
				problems = append(problems, fmt.Sprintf("%s: go list: %s", p.ImportPath, p.Error.Err))
			}
			for _, e := range p.DepsErrors {
				problems = append(problems, fmt.Sprintf("%s: go list (dependency): %s", p.ImportPath, e.Err))
			}
			problems = append(problems, violations(p.ImportPath, p.Deps, p.Imports)...)
		}
	}
	return problems, nil
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

// TestLayers checks the real module.
func TestLayers(t *testing.T) {
	goBin := goBinary(t)
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
			t.Errorf("[%s] %s", platform, p)
		}
	}
}

// TestLayerProblemsFindsViolations runs the same go list machinery on a
// throwaway module in which store imports Fyne (a local stand-in module) and
// domain imports store, and checks that both are reported, and that an empty
// folder and a missing one are skipped.
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
	write("go.mod", "module jiannuo\n\ngo 1.22\n\nrequire fyne.io/fyne/v2 v2.0.0\n\nreplace fyne.io/fyne/v2 => ./fakefyne\n")
	write("fakefyne/go.mod", "module fyne.io/fyne/v2\n\ngo 1.22\n")
	write("fakefyne/widget/widget.go", "package widget\n\nconst Label = 1\n")
	write("domain/domain.go", "package domain\n\nimport _ \"jiannuo/store\"\n")
	write("store/store.go", "package store\n\nimport _ \"fyne.io/fyne/v2/widget\"\n")
	write("sync/protocol/protocol.go", "package protocol\n\nimport _ \"jiannuo/domain/ok\"\n")
	write("domain/ok/ok.go", "package ok\n")
	write("auth/only_test.go", "package auth\n") // test files only: no package yet
	if err := os.MkdirAll(filepath.Join(dir, "server"), 0o755); err != nil {
		t.Fatal(err)
	}

	env := []string{"GOWORK=off", "GOFLAGS=-mod=mod", "GOPROXY=off", "GOTOOLCHAIN=local"}
	problems, err := layerProblems(goBin, dir, env)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		// domain -> store -> fyne: both the layer and the Fyne rule.
		"jiannuo/domain depends on fyne.io/fyne/v2/widget: lower layers must not depend on Fyne or the app",
		"jiannuo/domain depends on jiannuo/store: domain depends on no other layer",
		"jiannuo/store depends on fyne.io/fyne/v2/widget: lower layers must not depend on Fyne or the app",
	}
	slices.Sort(problems)
	if !slices.Equal(problems, want) {
		t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(problems, "\n  "), strings.Join(want, "\n  "))
	}
}
