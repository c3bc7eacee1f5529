package vm

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"jiannuo/assets"
	"jiannuo/domain"
	"jiannuo/sync/protocol"
)

var languages = []string{assets.LangZhHans, assets.LangEn}

// catalogues are the translation files, read directly (not through the
// translator, which falls back to Chinese and then to the key).
var catalogues = sync.OnceValue(func() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, lang := range languages {
		data, err := fs.ReadFile(assets.Translations(), lang+".json")
		if err != nil {
			panic(err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(data, &m); err != nil {
			panic(err)
		}
		out[lang] = m
	}
	return out
})

// checkMessage fails the test unless every key of m exists in every
// language and m renders there with exactly the arguments its text asks
// for.
func checkMessage(t testing.TB, m Message) {
	t.Helper()
	if m.IsZero() {
		t.Errorf("empty message")
		return
	}
	for _, lang := range languages {
		cat := catalogues()[lang]
		for _, k := range m.Keys() {
			if _, ok := cat[k]; !ok {
				t.Errorf("%s.json lacks %q", lang, k)
			}
		}
		if got := m.Text(func(k string) string { return cat[k] }); strings.Contains(got, "%!") {
			t.Errorf("%s: %v renders as %q", lang, m, got)
		}
	}
}

var keyLiteral = regexp.MustCompile(`^(ui|error|status|category|role|due|deadline|breachui|caseui)\.[a-z0-9_.]*[a-z0-9_]$`)

// TestEveryKeyExists walks every message key this package can emit: the
// literal keys in its source, and the keys it builds from a status,
// category, role or refusal code.
func TestEveryKeyExists(t *testing.T) {
	var keys []string
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	must(t, err)
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		must(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && keyLiteral.MatchString(s) {
					keys = append(keys, s)
				}
			}
			return true
		})
	}
	if len(keys) < 80 {
		t.Fatalf("found only %d key literals: is the walk broken?", len(keys))
	}
	for _, s := range domain.Statuses() {
		keys = append(keys, StatusMessage(s).Key)
	}
	for _, c := range domain.Categories() {
		keys = append(keys, CategoryMessage(c).Key)
	}
	for _, r := range []domain.Role{domain.RoleStaff, domain.RoleLeader, domain.RoleCountyAdmin} {
		keys = append(keys, RoleMessage(r).Key)
	}
	for _, c := range append(protocol.Codes(), protocol.CodeInternal, "no_such_code") {
		keys = append(keys, CodeMessage(c).Key)
	}
	for _, w := range DueWindows() {
		keys = append(keys, w.Message().Key)
	}
	for _, k := range SortKeys() {
		keys = append(keys, k.Message().Key)
	}
	for s := OfficeStep; s <= DoneStep; s++ {
		keys = append(keys, s.Message().Key)
	}
	for _, k := range domain.CaseKinds() {
		keys = append(keys, CaseKindMessage(k).Key)
		for _, f := range append(domain.CaseFindings(k), "") {
			keys = append(keys, CaseFindingMessage(k, f).Key)
		}
	}
	for _, s := range domain.CaseSources() {
		keys = append(keys, CaseSourceMessage(s).Key)
	}
	for _, s := range domain.CaseStatuses() {
		keys = append(keys, CaseStatusMessage(s).Key)
	}
	for _, s := range append(domain.CaseSteps(), domain.CaseOpened) {
		keys = append(keys, CaseStepMessage(s).Key)
	}
	for _, lang := range languages {
		for _, k := range keys {
			if _, ok := catalogues()[lang][k]; !ok {
				t.Errorf("%s.json lacks %q", lang, k)
			}
		}
	}
	t.Logf("%d keys checked", len(keys))
}
