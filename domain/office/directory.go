package office

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Unit is one office in a [Directory]: a division code, its official name
// and the kind of unit it is.
type Unit struct {
	// Code is the unit's statistical division code.
	Code Code `json:"code"`
	// Name is the official name including its suffix, e.g. "赤土店镇".
	Name string `json:"name"`
	// Kind is "镇", "乡" or "街道" for townships; "区", "县" or "市" for
	// counties; "市" for cities; or "" when none applies (provinces,
	// 地区/自治州/盟, 旗, 类似乡级单位). When set, Name ends with it.
	Kind string `json:"kind"`
}

// Level is a shortcut for u.Code.Level().
func (u Unit) Level() Level { return u.Code.Level() }

// String formats the unit as "name (code)" for logs and error messages.
func (u Unit) String() string { return u.Name + " (" + string(u.Code) + ")" }

// kindsByLevel lists the kinds accepted at each level.
var kindsByLevel = map[Level][]string{
	Province: {"", "市"}, // 市 for 直辖市
	City:     {"", "市"},
	County:   {"", "区", "县", "市"},
	Township: {"", "镇", "乡", "街道"},
}

// Limits that keep a hostile or mistaken file from eating memory. The whole
// country has about 40 000 township-level units.
const (
	maxDirectoryBytes = 16 << 20
	maxUnits          = 100_000
	maxNameRunes      = 64
)

// Directory is an immutable tree of units, rooted at one province or city,
// in which every unit's parent is present. It is safe for concurrent use;
// every slice it returns is a fresh copy the caller may keep or modify.
type Directory struct {
	note     string
	units    []Unit       // sorted by code
	folded   []string     // names as Search compares them, see fold
	parent   []int        // index of each unit's parent, -1 for the root
	index    map[Code]int // code -> position in units
	children map[Code][]int
	root     int
}

// file is the on-disk form: either a bare JSON array of units or this
// object.
type file struct {
	Note  string `json:"note"`
	Units []Unit `json:"units"`
}

//go:embed luoyang.json
var luoyangJSON []byte

var luoyang = sync.OnceValue(func() *Directory {
	d, err := ParseDirectory(luoyangJSON)
	if err != nil {
		panic("office: embedded luoyang.json: " + err.Error())
	}
	return d
})

// Luoyang returns the built-in directory of 河南省 > 洛阳市, its 14
// county-level units and their townships and streets. It is parsed once and
// shared. See the package documentation for how current its codes are.
func Luoyang() *Directory { return luoyang() }

// LuoyangJSON returns a copy of the embedded file behind [Luoyang], as a
// template for a replacement file.
func LuoyangJSON() []byte { return bytes.Clone(luoyangJSON) }

// ParseDirectory reads a directory from JSON, either a bare array of
// {"code","name","kind"} objects or {"note": "...", "units": [...]}, so that
// an office can fix or update township codes by editing a file instead of
// waiting for a new build. It is strict, because a silently wrong code
// would file records under the wrong office: unknown fields, trailing data,
// invalid or duplicate codes, empty or padded names, kinds that do not fit
// the level or the name, two siblings with one name, and units whose parent
// is missing are all refused with an error wrapping [ErrBadDirectory]. The
// only unit allowed without its parent is the single root, which must be a
// province or city.
func ParseDirectory(data []byte) (*Directory, error) {
	bad := func(format string, args ...any) (*Directory, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrBadDirectory}, args...)...)
	}
	if len(data) > maxDirectoryBytes {
		return bad("file is %d bytes, limit %d", len(data), maxDirectoryBytes)
	}
	var f file
	trimmed := bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // BOM from Windows editors
	trimmed = bytes.TrimLeft(trimmed, " \t\r\n")
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	var err error
	switch {
	case len(trimmed) == 0:
		return bad("empty file")
	case trimmed[0] == '[':
		err = dec.Decode(&f.Units)
	case trimmed[0] == '{':
		err = dec.Decode(&f)
	default:
		return bad("want a JSON array of units or an object with \"units\"")
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadDirectory, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return bad("unexpected data after the JSON value")
	}
	return build(f.Note, f.Units)
}

func build(note string, units []Unit) (*Directory, error) {
	bad := func(format string, args ...any) (*Directory, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrBadDirectory}, args...)...)
	}
	if len(units) == 0 {
		return bad("no units")
	}
	if len(units) > maxUnits {
		return bad("%d units, limit %d", len(units), maxUnits)
	}
	d := &Directory{
		note:     note,
		units:    slices.Clone(units),
		parent:   make([]int, len(units)),
		folded:   make([]string, len(units)),
		index:    make(map[Code]int, len(units)),
		children: make(map[Code][]int),
		root:     -1,
	}
	slices.SortFunc(d.units, func(a, b Unit) int { return strings.Compare(string(a.Code), string(b.Code)) })
	for i, u := range d.units {
		if u.Code == "" {
			return bad("unit %q has no code", u.Name)
		}
		if !u.Code.Valid() {
			return bad("unit %q: invalid code %q", u.Name, u.Code)
		}
		if err := checkName(u.Name); err != "" {
			return bad("%s: name %s", u.Code, err)
		}
		if !slices.Contains(kindsByLevel[u.Level()], u.Kind) {
			return bad("%s: kind %q is not allowed for a %s", u, u.Kind, u.Level())
		}
		if u.Kind != "" && !strings.HasSuffix(u.Name, u.Kind) {
			return bad("%s: name does not end with its kind %q", u, u.Kind)
		}
		if u.Name == u.Kind {
			return bad("%s: name is only the kind", u)
		}
		if i > 0 && d.units[i-1].Code == u.Code {
			return bad("duplicate code %s (%s and %s)", u.Code, d.units[i-1].Name, u.Name)
		}
		d.index[u.Code] = i
		d.folded[i] = fold(u.Name)
	}
	for i, u := range d.units {
		p := u.Code.Parent()
		j, ok := d.index[p]
		if !ok {
			if lv := u.Level(); lv != Province && lv != City {
				return bad("parent %s of %s is missing", p, u)
			}
			if d.root >= 0 {
				return bad("two roots, %s and %s: a directory has exactly one top unit", d.units[d.root], u)
			}
			d.root = i
			d.parent[i] = -1
			d.children[""] = []int{i}
			continue
		}
		for _, k := range d.children[p] {
			if d.units[k].Name == u.Name {
				return bad("%s and %s share a name under %s", d.units[k], u, d.units[j])
			}
		}
		d.parent[i] = j
		d.children[p] = append(d.children[p], i)
	}
	if d.root < 0 {
		// Unreachable: the unit with the shortest code has no parent present.
		return bad("no root unit")
	}
	return d, nil
}

// checkName returns why name is unacceptable, or "".
func checkName(name string) string {
	switch {
	case name == "":
		return "is empty"
	case !utf8.ValidString(name) || strings.ContainsRune(name, utf8.RuneError):
		return "is not valid UTF-8"
	case strings.TrimFunc(name, unicode.IsSpace) != name:
		return fmt.Sprintf("%q has leading or trailing space", name)
	case utf8.RuneCountInString(name) > maxNameRunes:
		return fmt.Sprintf("is longer than %d characters", maxNameRunes)
	case strings.ContainsFunc(name, unicode.IsControl):
		return fmt.Sprintf("%q contains a control character", name)
	case isDigits(fold(name)):
		return fmt.Sprintf("%q is only digits; is it a code in the name column?", name)
	}
	return ""
}

// Note returns the file's "note" field: provenance and caveats of the data.
func (d *Directory) Note() string { return d.note }

// Len returns the number of units.
func (d *Directory) Len() int { return len(d.units) }

// Root returns the top unit (a province or city).
func (d *Directory) Root() Unit { return d.units[d.root] }

// Units returns every unit, sorted by code.
func (d *Directory) Units() []Unit { return slices.Clone(d.units) }

// Lookup returns the unit with code c, so stored codes can be shown with
// their names.
func (d *Directory) Lookup(c Code) (Unit, bool) {
	i, ok := d.index[c]
	if !ok {
		return Unit{}, false
	}
	return d.units[i], true
}

// Children returns the units directly under c, sorted by code, for a
// drill-down picker. Children("") returns the root.
func (d *Directory) Children(c Code) []Unit {
	return d.pick(d.children[c])
}

// Counties returns every county-level unit, sorted by code.
func (d *Directory) Counties() []Unit {
	var out []Unit
	for _, u := range d.units {
		if u.Level() == County {
			out = append(out, u)
		}
	}
	return out
}

// Townships returns the townships and streets of county, sorted by code;
// nil if county is not a county-level code in d.
func (d *Directory) Townships(county Code) []Unit {
	if county.Level() != County {
		return nil
	}
	return d.Children(county)
}

// Path returns the units from the root down to c, e.g. 河南省 > 洛阳市 >
// 栾川县 > 赤土店镇, for breadcrumbs and full addresses; nil if c is not in d.
func (d *Directory) Path(c Code) []Unit {
	i, ok := d.index[c]
	if !ok {
		return nil
	}
	var out []Unit
	for ; i >= 0; i = d.parent[i] {
		out = append(out, d.units[i])
	}
	slices.Reverse(out)
	return out
}

// Search finds units for a picker's search box. The query is split on
// spaces; a term matches a part of a name, and a term of digits also a
// code prefix. Every term must match the unit or one of its ancestors, and
// at least one must match the unit itself, so "嵩县 城关" narrows the six
// 城关镇 to the one in 嵩县, while "栾川" alone finds 栾川县 and 栾川乡
// but not every township of 栾川县. Full-width ASCII and the ideographic
// space that Chinese input methods produce are folded to half-width, and
// ASCII letters to lower case, in queries and names alike. Results come
// best first: exact matches (full name, name without its kind, or full
// code), then prefix matches, then the rest; ties by level from the top,
// then by code. An empty query returns nil.
func (d *Directory) Search(q string) []Unit {
	terms := strings.Fields(fold(q))
	if len(terms) == 0 {
		return nil
	}
	type hit struct {
		i    int
		rank int
	}
	var hits []hit
	for i := range d.units {
		best, own, all := 3, false, true
		for _, t := range terms {
			if r := d.matchRank(i, t); r < 3 {
				own = true
				best = min(best, r)
				continue
			}
			if !d.ancestorMatches(i, t) {
				all = false
				break
			}
		}
		if all && own {
			hits = append(hits, hit{i, best})
		}
	}
	slices.SortStableFunc(hits, func(a, b hit) int {
		if a.rank != b.rank {
			return a.rank - b.rank
		}
		return int(d.units[a.i].Level()) - int(d.units[b.i].Level())
	})
	out := make([]Unit, len(hits))
	for k, h := range hits {
		out[k] = d.units[h.i]
	}
	return out
}

// matchRank returns 0 for an exact match of term on unit i, 1 for a prefix
// match, 2 for a substring match, and 3 for no match.
func (d *Directory) matchRank(i int, term string) int {
	u, name := d.units[i], d.folded[i]
	if isDigits(term) {
		switch {
		case string(u.Code) == term:
			return 0
		case strings.HasPrefix(string(u.Code), term):
			return 1
		}
		// Fall through: a name may contain digits too.
	}
	switch {
	case name == term || (u.Kind != "" && strings.TrimSuffix(name, u.Kind) == term):
		return 0
	case strings.HasPrefix(name, term):
		return 1
	case strings.Contains(name, term):
		return 2
	}
	return 3
}

func (d *Directory) ancestorMatches(i int, term string) bool {
	for j := d.parent[i]; j >= 0; j = d.parent[j] {
		if d.matchRank(j, term) < 3 {
			return true
		}
	}
	return false
}

// fold maps full-width ASCII (digits, letters, punctuation, the
// ideographic space) to half-width, as Chinese input methods often produce
// it, and ASCII letters to lower case. Queries and names are both folded
// before comparison.
func fold(q string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\u3000':
			return ' '
		case r >= '！' && r <= '～':
			r = r - '！' + '!'
		}
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r
	}, q)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func (d *Directory) pick(idx []int) []Unit {
	if len(idx) == 0 {
		return nil
	}
	out := make([]Unit, len(idx))
	for k, i := range idx {
		out[k] = d.units[i]
	}
	return out
}

// MarshalJSON writes the directory in the object form ParseDirectory reads,
// so an edited or merged directory can be saved and loaded again.
func (d *Directory) MarshalJSON() ([]byte, error) {
	return json.Marshal(file{Note: d.note, Units: d.units})
}
