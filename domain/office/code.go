package office

import (
	"fmt"
	"log/slog"
	"unicode"
	"unicode/utf8"
)

// Code is a statistical division code (统计用区划代码) of a province, city,
// county or township: 6 ASCII digits for the first three levels, 9 for a
// township. Use [Parse] to get one from outside input; the zero value ""
// means "no office". Methods on an invalid Code return zero values rather
// than panicking, because Code is a string type anyone can convert to.
type Code string

// Level is the administrative level a [Code] denotes. The zero value means
// "not a valid code".
type Level uint8

// Levels from the top down.
const (
	Province Level = iota + 1 // 省级, "xx0000"
	City                      // 地级, "xxyy00"
	County                    // 县级, "xxyyzz"
	Township                  // 乡级 (乡、镇、街道), "xxyyzzttt"
)

// String returns the lower-case English name used in logs and messages:
// "province", "city", "county" or "township"; "invalid" for the zero value.
func (l Level) String() string {
	switch l {
	case Province:
		return "province"
	case City:
		return "city"
	case County:
		return "county"
	case Township:
		return "township"
	case 0:
		return "invalid"
	}
	return fmt.Sprintf("Level(%d)", uint8(l))
}

// Parse validates s as a division code. It does not trim or convert
// anything: spaces, full-width digits and 12-digit village codes are
// refused, each with its own reason, so a bad import is caught where it
// happens instead of creating a second spelling of an office.
func Parse(s string) (Code, error) {
	if reason := check(s); reason != "" {
		return "", fmt.Errorf("%w %q: %s", ErrInvalidCode, truncate(s), reason)
	}
	return Code(s), nil
}

// MustParse is [Parse] for constants in code and tests; it panics on an
// invalid code.
func MustParse(s string) Code {
	c, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return c
}

// check returns why s is not a valid code, or "" if it is.
func check(s string) string {
	if s == "" {
		return "empty"
	}
	if !utf8.ValidString(s) {
		return "not valid UTF-8"
	}
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
		case r >= '０' && r <= '９':
			return fmt.Sprintf("full-width digit %q at byte %d; use ASCII digits 0-9", r, i)
		case unicode.IsSpace(r):
			return fmt.Sprintf("whitespace at byte %d; trim input before parsing", i)
		default:
			return fmt.Sprintf("non-digit %q at byte %d", r, i)
		}
	}
	switch len(s) {
	case 6:
		return check6(s)
	case 9:
		if reason := check6(s[:6]); reason != "" {
			return "township code must start with a county code: " + reason
		}
		if s[2:4] == "00" || s[4:6] == "00" {
			return "township code must start with a county code, not a province or city code"
		}
		if s[6:] == "000" {
			return `township digits "000" are not a township`
		}
		return ""
	case 12:
		return "12-digit village-level codes (村级) are not supported; use the 9-digit township prefix"
	case 15:
		return "15 digits looks like a village code with a 3-digit 城乡分类代码 appended; not supported"
	default:
		return fmt.Sprintf("%d digits; want 6 (province, city, county) or 9 (township)", len(s))
	}
}

func check6(s string) string {
	switch {
	case s[:2] == "00":
		return `province digits "00" are not a province`
	case s[2:4] == "00" && s[4:6] != "00":
		return "county digits set under a zero city part"
	}
	return ""
}

func truncate(s string) string {
	const max = 32
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

// Valid reports whether c is a well-formed code of any level.
func (c Code) Valid() bool { return check(string(c)) == "" }

// Level returns the level of c, or 0 if c is invalid.
func (c Code) Level() Level {
	if !c.Valid() {
		return 0
	}
	s := string(c)
	switch {
	case len(s) == 9:
		return Township
	case s[2:] == "0000":
		return Province
	case s[4:] == "00":
		return City
	default:
		return County
	}
}

// Parent returns the code one level up: township → county, county → city
// ("xxyy00"), city → province ("xx0000"), province → "". It is computed from
// the digits alone; whether the parent exists is a question for a
// [Directory]. Invalid codes have no parent.
func (c Code) Parent() Code {
	s := string(c)
	switch c.Level() {
	case Township:
		return Code(s[:6])
	case County:
		return Code(s[:4] + "00")
	case City:
		return Code(s[:2] + "0000")
	}
	return ""
}

// Contains reports whether o is c or lies inside c, for access checks such
// as "may a county user see this township's records". Invalid codes contain
// nothing and are contained in nothing.
func (c Code) Contains(o Code) bool {
	if !c.Valid() {
		return false
	}
	for x := o; x != ""; x = x.Parent() {
		if x == c {
			return true
		}
	}
	return false
}

// InScope reports whether a device enrolled for office own may write a
// record of office o, and so be sent it: a township device its own office
// only, a county-admin device (admin) any office of its county. The writer
// (store), the receiver (protocol.Verify) and the county's feed filter all
// ask this one question, so a record one of them takes the others take too.
func InScope(own Code, admin bool, o Code) bool {
	if admin {
		return own.Contains(o)
	}
	return o == own
}

// County returns the county-level code of a township or county, and "" for
// provinces, cities and invalid codes. Most reports are grouped by county.
func (c Code) County() Code {
	switch c.Level() {
	case Township:
		return Code(string(c)[:6])
	case County:
		return c
	}
	return ""
}

// String returns the code's digits.
func (c Code) String() string { return string(c) }

// LogValue logs the code as a plain string, so structured logs stay
// greppable by code whatever the surrounding type.
func (c Code) LogValue() slog.Value { return slog.StringValue(string(c)) }

// MarshalText refuses to write an invalid code, so a bug cannot put a code
// into a file that the next start would refuse to read. The zero Code
// marshals to empty text, for optional fields.
func (c Code) MarshalText() ([]byte, error) {
	if c == "" {
		return []byte{}, nil
	}
	if _, err := Parse(string(c)); err != nil {
		return nil, err
	}
	return []byte(c), nil
}

// UnmarshalText validates like [Parse]. Empty text decodes to the zero
// Code, so `"office": ""` round-trips for optional fields.
func (c *Code) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*c = ""
		return nil
	}
	v, err := Parse(string(text))
	if err != nil {
		return err
	}
	*c = v
	return nil
}
