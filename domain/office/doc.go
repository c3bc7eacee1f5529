// Package office identifies township offices and the units above them by
// their statistical division codes (统计用区划代码), and provides the
// directory of units that pickers, reports and access checks use.
//
// Records are keyed by code, never by name: names repeat (洛阳 alone has
// six 城关镇) and change with mergers, while a code denotes one unit at
// one time.
//
// # Basics
//
// A [Code] is 6 ASCII digits for a province ("410000"), city ("410300") or
// county ("410324"), and 9 for a township or street ("410324101"): the
// county's code plus 3 digits. Within a county, the statistical standard
// numbers streets (街道) 001–099, towns (镇) 100–199 and townships (乡)
// 200–399; 4xx and above are 类似乡级单位 such as development zones and
// forest farms.
//
//	c, err := office.Parse(input) // errors wrap ErrInvalidCode with the reason
//	c.Level()                     // office.Township
//	c.Parent()                    // "410324"
//	c.County()                    // "410324"
//	office.Code("410300").Contains(c) // true: 洛阳市 contains it
//
// A [Directory] maps codes to [Unit] names and kinds:
//
//	d := office.Luoyang()
//	u, ok := d.Lookup("410324101")         // 赤土店镇
//	d.Path("410324101")                    // 河南省 > 洛阳市 > 栾川县 > 赤土店镇
//	d.Townships("410324")                  // the townships of 栾川县, by code
//	d.Search("嵩县 城关")                   // for a picker's search box
//
// [Luoyang] is built from luoyang.json, embedded at build time. An office
// can load a corrected or newer list with [ParseDirectory] from a file
// instead (format: {"note": "...", "units": [{"code","name","kind"}...]}),
// without a new build; [LuoyangJSON] gives the default as a template.
//
// # Caveats
//
//   - The township codes in luoyang.json were transcribed from the 2023
//     edition of 统计用区划代码 (as of 2023-06-30), not downloaded from the
//     National Bureau of Statistics. Every 3-digit township suffix must be
//     checked against the current edition before codes are relied on in
//     reports, and changes since 2023 are not reflected. Data already
//     stored under a code is not migrated by replacing the file.
//   - The default list has exactly the 14 county-level units named in the
//     project brief. The statistical county-level unit 410371
//     (洛阳高新技术产业开发区, with 瀛洲、辛店、徐家营街道 and 丰李镇) and
//     all 类似乡级单位 (4xx: scenic areas, forest farms, industrial parks)
//     are left out; add them to a replacement file if offices there use the
//     system.
//   - Parse does not trim or convert input. Callers that accept typed codes
//     should trim spaces themselves; full-width digits are refused with a
//     message saying so.
//   - Village-level (12-digit) codes are refused: this package stops at
//     townships.
//   - Search matches code prefixes and Chinese substrings only; there is
//     no pinyin matching.
package office
