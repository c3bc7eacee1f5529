package calendar

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// OverlayFormat is the only overlay "format" value this build understands.
const OverlayFormat = 1

// MaxOverlaySize is the largest overlay file accepted, in bytes. A real year
// takes about 2 KiB; the cap stops a wrong or hostile file early.
const MaxOverlaySize = 1 << 20

// Overlay is a parsed and validated set of whole-year schedules, to be laid
// over a Calendar with WithOverlay. The only ways to obtain a non-empty one
// are ParseOverlay, LoadOverlayFile, Overlay.UnmarshalJSON and
// Calendar.ExportOverlay, so every Overlay value satisfies the format rules.
// The zero Overlay holds no years. Overlays are immutable values.
type Overlay struct {
	source string
	years  []overlayYear // ascending by year
}

type overlayYear struct {
	year     int
	holidays []overlayGroup // sorted by first date, then name
	workdays []overlayGroup
}

type overlayGroup struct {
	name  string
	dates []Date // ascending
}

// Source returns the overlay's "source" field: the notice it transcribes.
func (o Overlay) Source() string { return o.source }

// Years returns the years the overlay defines, ascending (a fresh slice).
func (o Overlay) Years() []int {
	ys := make([]int, len(o.years))
	for i, y := range o.years {
		ys[i] = y.year
	}
	return ys
}

// The JSON shape of an overlay file; see the package documentation.
type rawOverlay struct {
	Format int                `json:"format"`
	Source string             `json:"source"`
	Years  map[string]rawYear `json:"years"`
}

type rawYear struct {
	Holidays []rawGroup `json:"holidays"`
	Workdays []rawGroup `json:"workdays"`
}

type rawGroup struct {
	Name  string   `json:"name"`
	Dates []string `json:"dates"`
}

// ParseOverlay parses and validates an overlay file (format in the package
// documentation). Every error wraps ErrBadOverlay and says where the problem
// is: "line L, col C" where the position is known, and the field path, e.g.
// `years["2028"].workdays[0].dates[1]`. Rules: at most MaxOverlaySize bytes;
// strict JSON with no unknown or repeated keys (exact-case) and nothing after
// the top-level object; "format" must be 1; "source" non-empty; at least one
// year; year keys are four digits; each year lists at least one holiday;
// every group has a name and at least one date; every date is a real date in
// strict YYYY-MM-DD form inside its year key; no date is listed twice, in
// particular not as both holiday and workday; workdays (调休上班) fall on
// Saturdays or Sundays.
//
// The result is canonical: dates sorted within groups, groups sorted by
// their first date, so MarshalJSON output does not depend on input order.
func ParseOverlay(data []byte) (Overlay, error) {
	if len(data) > MaxOverlaySize {
		return Overlay{}, fmt.Errorf("%w: %d bytes exceeds the %d-byte limit", ErrBadOverlay, len(data), MaxOverlaySize)
	}
	pos, err := scanOverlay(data)
	if err != nil {
		return Overlay{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var raw rawOverlay
	if err := dec.Decode(&raw); err != nil {
		// scanOverlay has already refused every shape problem it knows of;
		// this is the backstop the decoder provides.
		return Overlay{}, fmt.Errorf("%w: %v", ErrBadOverlay, err)
	}
	return validate(raw, func(path string) string {
		if off, ok := pos[path]; ok {
			return locate(data, off)
		}
		return ""
	})
}

// LoadOverlayFile reads and parses an overlay file. Files larger than
// MaxOverlaySize are refused without being read whole. Errors from the file
// system are returned as they are (they name the path); parse errors wrap
// ErrBadOverlay, prefixed with the path.
func LoadOverlayFile(path string) (Overlay, error) {
	f, err := os.Open(path)
	if err != nil {
		return Overlay{}, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxOverlaySize+1))
	if err != nil {
		return Overlay{}, err
	}
	o, err := ParseOverlay(data)
	if err != nil {
		return Overlay{}, fmt.Errorf("%s: %w", path, err)
	}
	return o, nil
}

// MarshalJSON writes the overlay in canonical form: compact JSON, keys in the
// documented order, years ascending, groups and dates as ParseOverlay sorts
// them, and both "holidays" and "workdays" always present. ParseOverlay of the
// output gives back an equal Overlay, and marshalling that gives the same
// bytes. The zero Overlay marshals, but does not parse (it has no years).
func (o Overlay) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"format":`)
	b.WriteString(strconv.Itoa(OverlayFormat))
	b.WriteString(`,"source":`)
	writeJSONString(&b, o.source)
	b.WriteString(`,"years":{`)
	for i, y := range o.years {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + strconv.Itoa(y.year) + `":{"holidays":`)
		writeGroups(&b, y.holidays)
		b.WriteString(`,"workdays":`)
		writeGroups(&b, y.workdays)
		b.WriteByte('}')
	}
	b.WriteString(`}}`)
	return b.Bytes(), nil
}

func writeGroups(b *bytes.Buffer, gs []overlayGroup) {
	b.WriteByte('[')
	for i, g := range gs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"name":`)
		writeJSONString(b, g.name)
		b.WriteString(`,"dates":[`)
		for j, d := range g.dates {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"` + d.String() + `"`)
		}
		b.WriteString(`]}`)
	}
	b.WriteByte(']')
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s) // a string always marshals
	b.Write(enc)
}

// UnmarshalJSON parses an overlay with exactly the rules of ParseOverlay, so
// an Overlay can be embedded in configuration structs. Positions in error
// messages are relative to the overlay value.
func (o *Overlay) UnmarshalJSON(data []byte) error {
	v, err := ParseOverlay(data)
	if err != nil {
		return err
	}
	*o = v
	return nil
}

// WithOverlay returns a calendar that uses o's schedule for every year o
// defines, replacing that year of c wholesale (built-in holidays of a replaced
// year are forgotten, not merged), and c's schedule for all other years. c is
// not changed. A nil c gives a calendar with only o's years. It may return c
// itself when o has no years.
func (c *Calendar) WithOverlay(o Overlay) *Calendar {
	if len(o.years) == 0 && c != nil {
		return c
	}
	replaced := make(map[int]bool, len(o.years))
	var data []*yearData
	for _, oy := range o.years {
		replaced[oy.year] = true
		var entries []dayEntry
		for _, g := range oy.holidays {
			for _, d := range g.dates {
				entries = append(entries, dayEntry{date: d, holiday: true, name: g.name})
			}
		}
		for _, g := range oy.workdays {
			for _, d := range g.dates {
				entries = append(entries, dayEntry{date: d, name: g.name})
			}
		}
		data = append(data, buildYear(oy.year, entries))
	}
	if c != nil {
		for _, yd := range c.byYear {
			if yd != nil && !replaced[yd.year] {
				data = append(data, yd) // immutable, safe to share
			}
		}
	}
	return newCalendar(data)
}

// ExportOverlay writes the schedule that c holds for the given years as an
// Overlay with the given source, e.g. to re-state a year in full when a new
// notice changes its last days of December (overlays replace whole years),
// or to hand-check the built-in data. Days are grouped by HolidayName; a day
// without a name is grouped under its kind's String. Years not covered give
// an error wrapping ErrYearNotCovered; an empty source or no years give an
// error wrapping ErrBadOverlay.
func (c *Calendar) ExportOverlay(source string, years ...int) (Overlay, error) {
	raw := rawOverlay{Format: OverlayFormat, Source: source, Years: map[string]rawYear{}}
	for _, y := range years {
		yd := c.year(y)
		if yd == nil {
			return Overlay{}, YearNotCoveredError{y}
		}
		var ry rawYear
		hol, work := map[string]int{}, map[string]int{}
		for i, k := range yd.kinds {
			var groups *[]rawGroup
			var index map[string]int
			switch k {
			case Holiday:
				groups, index = &ry.Holidays, hol
			case AdjustedWorkday:
				groups, index = &ry.Workdays, work
			default:
				continue
			}
			name := yd.names[uint16(i)]
			if name == "" {
				name = k.String()
			}
			gi, ok := index[name]
			if !ok {
				gi = len(*groups)
				index[name] = gi
				*groups = append(*groups, rawGroup{Name: name})
			}
			(*groups)[gi].Dates = append((*groups)[gi].Dates, fromDays(yd.first+i).String())
		}
		raw.Years[strconv.Itoa(y)] = ry
	}
	return validate(raw, func(string) string { return "" })
}

// validate checks the rules of ParseOverlay on decoded JSON and builds the
// canonical Overlay. where returns a "line L, col C: " prefix for a path.
func validate(raw rawOverlay, where func(path string) string) (Overlay, error) {
	bad := func(path, format string, args ...any) error {
		return fmt.Errorf("%w: %s%s: %s", ErrBadOverlay, where(path), path, fmt.Sprintf(format, args...))
	}
	if raw.Format != OverlayFormat {
		return Overlay{}, bad("format", "is %d; this build understands only format %d", raw.Format, OverlayFormat)
	}
	if strings.TrimSpace(raw.Source) == "" {
		return Overlay{}, bad("source", "is missing or empty; name the notice the overlay transcribes")
	}
	if err := checkText(raw.Source); err != "" {
		return Overlay{}, bad("source", "%s", err)
	}
	if len(raw.Years) == 0 {
		return Overlay{}, bad("years", "lists no year")
	}
	keys := make([]string, 0, len(raw.Years))
	for k := range raw.Years {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	o := Overlay{source: raw.Source}
	for _, key := range keys {
		ry := raw.Years[key]
		ypath := "years[" + strconv.Quote(key) + "]"
		if len(key) != 4 || key[0] < '1' || key[0] > '9' {
			return Overlay{}, bad(ypath, "year key must be four digits, e.g. \"2028\"")
		}
		year, ok := digits(key)
		if !ok {
			return Overlay{}, bad(ypath, "year key must be four digits, e.g. \"2028\"")
		}
		if len(ry.Holidays) == 0 {
			return Overlay{}, bad(ypath+".holidays", "lists no holiday; every year has some")
		}
		seen := map[Date]string{} // date -> path where first listed
		oy := overlayYear{year: year}
		for _, part := range []struct {
			field   string
			holiday bool
			in      []rawGroup
			out     *[]overlayGroup
		}{
			{"holidays", true, ry.Holidays, &oy.holidays},
			{"workdays", false, ry.Workdays, &oy.workdays},
		} {
			for gi, rg := range part.in {
				gpath := fmt.Sprintf("%s.%s[%d]", ypath, part.field, gi)
				if strings.TrimSpace(rg.Name) == "" {
					return Overlay{}, bad(gpath+".name", "is missing or empty")
				}
				if err := checkText(rg.Name); err != "" {
					return Overlay{}, bad(gpath+".name", "%s", err)
				}
				if len(rg.Dates) == 0 {
					return Overlay{}, bad(gpath+".dates", "lists no date")
				}
				g := overlayGroup{name: rg.Name, dates: make([]Date, 0, len(rg.Dates))}
				for di, s := range rg.Dates {
					dpath := fmt.Sprintf("%s.dates[%d]", gpath, di)
					d, err := ParseDate(s)
					if err != nil {
						return Overlay{}, bad(dpath, "%q is not a real date in YYYY-MM-DD form", s)
					}
					if d.Year != year {
						return Overlay{}, bad(dpath, "%s is not in %d; list it under its own year", s, year)
					}
					if first, dup := seen[d]; dup {
						if strings.Contains(first, ".holidays[") != part.holiday {
							return Overlay{}, bad(dpath, "%s is listed both as a holiday and as a workday (also at %s)", s, first)
						}
						return Overlay{}, bad(dpath, "%s is listed twice (also at %s)", s, first)
					}
					seen[d] = dpath
					if !part.holiday && !weekendDay(d) {
						return Overlay{}, bad(dpath, "%s is a %s; adjusted workdays (调休上班) must be Saturdays or Sundays", s, d.Weekday())
					}
					g.dates = append(g.dates, d)
				}
				slices.SortFunc(g.dates, Date.Compare)
				*part.out = append(*part.out, g)
			}
			slices.SortStableFunc(*part.out, func(a, b overlayGroup) int {
				if c := a.dates[0].Compare(b.dates[0]); c != 0 {
					return c
				}
				return strings.Compare(a.name, b.name)
			})
		}
		o.years = append(o.years, oy)
	}
	return o, nil
}

// checkText refuses text that would display badly: invalid UTF-8, control
// characters, or more than 200 bytes. It returns "" when s is fine.
func checkText(s string) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	if len(s) > 200 {
		return "is longer than 200 bytes"
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "contains a control character"
		}
	}
	return ""
}

// locate turns a byte offset into a "line L, col C: " prefix (1-based; the
// column counts characters, not bytes, as editors do).
func locate(data []byte, off int64) string {
	if off < 0 {
		off = 0
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
	return fmt.Sprintf("line %d, col %d: ", line, col)
}

// The schema contexts known to scanOverlay: it checks each value's JSON type
// and refuses unknown and repeated keys (exact-case; encoding/json would match
// "Format" to "format") with their position, and remembers where each value
// starts so that later validation errors can name a line.
type scanCtx uint8

const (
	ctxRoot   scanCtx = iota // {"format","source","years"}
	ctxYears                 // {"2028": year, ...}
	ctxYear                  // {"holidays","workdays"}
	ctxGroups                // [group, ...]
	ctxGroup                 // {"name","dates"}
	ctxDates                 // [string, ...]
	ctxString                // a string
	ctxInt                   // an integer
)

// scanOverlay checks the JSON syntax and shape of data token by token and
// returns the start offset of every value by field path. It refuses empty
// input, syntax errors, values of the wrong JSON type, repeated keys, unknown
// keys and trailing data. JSON null is accepted wherever encoding/json
// accepts it (except at the top level); validation then treats it as absent.
func scanOverlay(data []byte) (map[string]int64, error) {
	s := &scanner{data: data, dec: json.NewDecoder(bytes.NewReader(data)), pos: map[string]int64{}}
	s.dec.UseNumber()
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%w: the file is empty", ErrBadOverlay)
	}
	if err := s.value("", ctxRoot); err != nil {
		return nil, err
	}
	start := s.start()
	if _, err := s.dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: %sunexpected data after the top-level object", ErrBadOverlay, locate(data, start))
	}
	return s.pos, nil
}

type scanner struct {
	data []byte
	dec  *json.Decoder
	pos  map[string]int64
}

// start returns the offset of the next token: after the decoder's position,
// skipping white space and the separators ':' and ','.
func (s *scanner) start() int64 {
	off := s.dec.InputOffset()
	for off < int64(len(s.data)) {
		switch s.data[off] {
		case ' ', '\t', '\r', '\n', ':', ',':
			off++
			continue
		}
		break
	}
	return off
}

func (s *scanner) token() (json.Token, error) {
	off := s.start()
	t, err := s.dec.Token()
	if err == nil {
		return t, nil
	}
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return nil, fmt.Errorf("%w: %sinvalid JSON: %v", ErrBadOverlay, locate(s.data, se.Offset), err)
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return nil, fmt.Errorf("%w: %sinvalid JSON: unexpected end of file", ErrBadOverlay, locate(s.data, int64(len(s.data))))
	}
	return nil, fmt.Errorf("%w: %sinvalid JSON: %v", ErrBadOverlay, locate(s.data, off), err)
}

// tokenKind names the JSON type of a token, for messages.
func tokenKind(t json.Token) string {
	switch v := t.(type) {
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "number " + v.String()
	case bool:
		return "a boolean"
	}
	return "null"
}

func (s *scanner) value(path string, ctx scanCtx) error {
	off := s.start()
	s.pos[path] = off
	t, err := s.token()
	if err != nil {
		return err
	}
	where := path
	if where == "" {
		where = "top level"
	}
	mismatch := func(want string) error {
		return fmt.Errorf("%w: %s%s: found %s where %s is expected", ErrBadOverlay, locate(s.data, off), where, tokenKind(t), want)
	}
	if t == nil && ctx != ctxRoot {
		return nil // null: treated as absent by validation
	}
	switch ctx {
	case ctxString:
		if _, ok := t.(string); !ok {
			return mismatch("a string")
		}
		return nil
	case ctxInt:
		n, ok := t.(json.Number)
		if !ok {
			return mismatch("an integer")
		}
		if _, err := strconv.Atoi(n.String()); err != nil {
			return mismatch("an integer")
		}
		return nil
	case ctxGroups, ctxDates:
		if t != json.Delim('[') {
			return mismatch("an array")
		}
		elem := ctxString
		if ctx == ctxGroups {
			elem = ctxGroup
		}
		for i := 0; s.dec.More(); i++ {
			if err := s.value(path+"["+strconv.Itoa(i)+"]", elem); err != nil {
				return err
			}
		}
		_, err = s.token() // ']'
		return err
	}
	if t != json.Delim('{') {
		return mismatch("an object")
	}
	seen := map[string]bool{}
	for s.dec.More() {
		koff := s.start()
		kt, err := s.token()
		if err != nil {
			return err
		}
		key, _ := kt.(string) // the decoder only yields string keys here
		child, cpath, ok := descend(ctx, path, key)
		if !ok {
			return fmt.Errorf("%w: %s%s: unknown field %q (allowed: %s)", ErrBadOverlay, locate(s.data, koff), where, key, allowed(ctx))
		}
		if seen[key] {
			return fmt.Errorf("%w: %s%s: key %q appears twice", ErrBadOverlay, locate(s.data, koff), where, key)
		}
		seen[key] = true
		if err := s.value(cpath, child); err != nil {
			return err
		}
	}
	_, err = s.token() // '}'
	return err
}

// descend returns the context and path of key inside an object of context
// ctx at path, or ok == false if the key is not allowed there.
func descend(ctx scanCtx, path, key string) (child scanCtx, cpath string, ok bool) {
	switch ctx {
	case ctxRoot:
		switch key {
		case "format":
			return ctxInt, key, true
		case "source":
			return ctxString, key, true
		case "years":
			return ctxYears, key, true
		}
	case ctxYears:
		return ctxYear, path + "[" + strconv.Quote(key) + "]", true
	case ctxYear:
		if key == "holidays" || key == "workdays" {
			return ctxGroups, path + "." + key, true
		}
	case ctxGroup:
		switch key {
		case "name":
			return ctxString, path + "." + key, true
		case "dates":
			return ctxDates, path + "." + key, true
		}
	}
	return 0, "", false
}

func allowed(ctx scanCtx) string {
	switch ctx {
	case ctxRoot:
		return "format, source, years"
	case ctxYear:
		return "holidays, workdays"
	}
	return "name, dates"
}
