package report

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// The PDF library (fpdf) embeds TrueType fonts only: it refuses OpenType
// fonts with CFF outlines, and the app's embedded font (assets.FontCJK, a
// Noto Sans SC subset) is CFF. Rather than ship a second 2–3 MB copy of the
// font with TrueType outlines, trueTypeSubset converts, for each document,
// just the glyphs the document uses: CFF's cubic Bézier curves become
// TrueType's quadratic ones (each cubic split until the quadratic is within
// a tenth of a font unit, 1/10,000 em), metrics and the font-wide tables are
// copied. fpdf then subsets that small font again and embeds it with a
// ToUnicode map, so the PDF's text can be searched and extracted.

// ttfTolerance is how far, in font units, a quadratic may stray from the
// cubic it replaces. At 1,000 units per em it is invisible at any size.
const ttfTolerance = 0.1

// errNotSFNT is returned for font data whose table directory cannot be read.
var errNotSFNT = errors.New("report: not an OpenType font")

// trueTypeSubset returns a TrueType font with the glyphs of runes (and
// .notdef) taken from src, an OpenType font with CFF or TrueType outlines.
// missing lists, sorted, the runes src has no glyph for and those outside
// the Basic Multilingual Plane (the cmap format fpdf reads covers only the
// BMP); they are left out of the font.
func trueTypeSubset(src []byte, runes []rune) (ttf []byte, missing []rune, err error) {
	f, err := sfnt.Parse(src)
	if err != nil {
		return nil, nil, err
	}
	tables, err := sfntTables(src)
	if err != nil {
		return nil, nil, err
	}
	for _, t := range []string{"head", "hhea", "OS/2", "post", "name"} {
		if tables[t] == nil {
			return nil, nil, fmt.Errorf("%w: no %s table", errNotSFNT, t)
		}
	}
	if len(tables["head"]) < 54 || len(tables["hhea"]) < 36 || len(tables["post"]) < 16 {
		return nil, nil, fmt.Errorf("%w: short head, hhea or post table", errNotSFNT)
	}
	upem := int(f.UnitsPerEm())
	ppem := fixed.I(upem) // one pixel per font unit

	var buf sfnt.Buffer
	runes = slices.Clone(runes)
	slices.Sort(runes)
	runes = slices.Compact(runes)
	srcGlyphs := []sfnt.GlyphIndex{0} // new glyph ID → source glyph ID
	newID := map[sfnt.GlyphIndex]uint16{0: 0}
	cmap := map[rune]uint16{}
	for _, r := range runes {
		gi, err := f.GlyphIndex(&buf, r)
		if err != nil || gi == 0 || r > 0xFFFF {
			missing = append(missing, r)
			continue
		}
		id, ok := newID[gi]
		if !ok {
			id = uint16(len(srcGlyphs))
			newID[gi] = id
			srcGlyphs = append(srcGlyphs, gi)
		}
		cmap[r] = id
	}
	if len(srcGlyphs) > math.MaxUint16 {
		return nil, nil, fmt.Errorf("%w: too many glyphs", errNotSFNT)
	}

	var glyf, loca, hmtx []byte
	var maxPoints, maxContours int
	for _, gi := range srcGlyphs {
		segs, err := f.LoadGlyph(&buf, gi, ppem, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("glyph %d: %w", gi, err)
		}
		adv, err := f.GlyphAdvance(&buf, gi, ppem, font.HintingNone)
		if err != nil {
			return nil, nil, fmt.Errorf("glyph %d: %w", gi, err)
		}
		contours := quadContours(segs)
		loca = binary.BigEndian.AppendUint32(loca, uint32(len(glyf)))
		data, xMin, points := encodeGlyph(contours)
		glyf = append(glyf, data...)
		for len(glyf)%4 != 0 {
			glyf = append(glyf, 0)
		}
		maxPoints, maxContours = max(maxPoints, points), max(maxContours, len(contours))
		hmtx = binary.BigEndian.AppendUint16(hmtx, uint16(max(0, units(adv))))
		hmtx = binary.BigEndian.AppendUint16(hmtx, uint16(int16(xMin)))
	}
	loca = binary.BigEndian.AppendUint32(loca, uint32(len(glyf)))
	n := len(srcGlyphs)

	head := slices.Clone(tables["head"][:54])
	binary.BigEndian.PutUint32(head[8:], 0)  // checkSumAdjustment, set below
	binary.BigEndian.PutUint16(head[50:], 1) // indexToLocFormat: long offsets
	binary.BigEndian.PutUint16(head[52:], 0) // glyphDataFormat
	hhea := slices.Clone(tables["hhea"][:36])
	binary.BigEndian.PutUint16(hhea[34:], uint16(n)) // numberOfHMetrics: every glyph
	maxp := make([]byte, 32)                         // version 1.0, which TrueType outlines need
	binary.BigEndian.PutUint32(maxp[0:], 0x00010000)
	binary.BigEndian.PutUint16(maxp[4:], uint16(n))
	binary.BigEndian.PutUint16(maxp[6:], uint16(min(maxPoints, math.MaxUint16)))
	binary.BigEndian.PutUint16(maxp[8:], uint16(min(maxContours, math.MaxUint16)))
	binary.BigEndian.PutUint16(maxp[14:], 2) // maxZones
	post := make([]byte, 32)                 // version 3.0: no glyph names
	binary.BigEndian.PutUint32(post[0:], 0x00030000)
	copy(post[4:16], tables["post"][4:16]) // italic angle, underline, fixed pitch

	ttf = assembleSFNT(map[string][]byte{
		"OS/2": tables["OS/2"], "cmap": cmap4(cmap), "glyf": glyf, "head": head, "hhea": hhea,
		"hmtx": hmtx, "loca": loca, "maxp": maxp, "name": tables["name"], "post": post,
	})
	return ttf, missing, nil
}

// units rounds a 26.6 value at one pixel per font unit to font units.
func units(v fixed.Int26_6) int { return int(math.Round(float64(v) / 64)) }

// sfntTables reads the table directory of an OpenType font.
func sfntTables(src []byte) (map[string][]byte, error) {
	if len(src) < 12 {
		return nil, errNotSFNT
	}
	n := int(binary.BigEndian.Uint16(src[4:]))
	if len(src) < 12+16*n {
		return nil, errNotSFNT
	}
	out := make(map[string][]byte, n)
	for i := range n {
		rec := src[12+16*i:]
		off, size := binary.BigEndian.Uint32(rec[8:]), binary.BigEndian.Uint32(rec[12:])
		if uint64(off)+uint64(size) > uint64(len(src)) {
			return nil, fmt.Errorf("%w: table %q out of bounds", errNotSFNT, rec[:4])
		}
		out[string(rec[:4])] = src[off : off+size]
	}
	return out, nil
}

// assembleSFNT writes a TrueType font file from its tables, with the
// checksums and head.checkSumAdjustment the format asks for.
func assembleSFNT(tables map[string][]byte) []byte {
	tags := make([]string, 0, len(tables))
	for t := range tables {
		tags = append(tags, t)
	}
	slices.Sort(tags)
	n := len(tags)
	pow := 1
	log := 0
	for pow*2 <= n {
		pow *= 2
		log++
	}
	out := binary.BigEndian.AppendUint32(nil, 0x00010000)
	out = binary.BigEndian.AppendUint16(out, uint16(n))
	out = binary.BigEndian.AppendUint16(out, uint16(pow*16))
	out = binary.BigEndian.AppendUint16(out, uint16(log))
	out = binary.BigEndian.AppendUint16(out, uint16(n*16-pow*16))
	off := 12 + 16*n
	headAt := 0
	for _, t := range tags {
		data := tables[t]
		if t == "head" {
			headAt = off
		}
		out = append(out, t...)
		out = binary.BigEndian.AppendUint32(out, checksum(data))
		out = binary.BigEndian.AppendUint32(out, uint32(off))
		out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
		off += (len(data) + 3) &^ 3
	}
	for _, t := range tags {
		out = append(out, tables[t]...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	binary.BigEndian.PutUint32(out[headAt+8:], 0xB1B0AFBA-checksum(out))
	return out
}

func checksum(b []byte) uint32 {
	var sum uint32
	for i := 0; i < len(b); i += 4 {
		var w [4]byte
		copy(w[:], b[i:])
		sum += binary.BigEndian.Uint32(w[:])
	}
	return sum
}

// cmap4 is a cmap table with one format 4 subtable (Windows, Unicode BMP):
// a segment per run of consecutive characters with consecutive glyph IDs.
func cmap4(m map[rune]uint16) []byte {
	rs := make([]rune, 0, len(m))
	for r := range m {
		rs = append(rs, r)
	}
	slices.Sort(rs)
	type seg struct{ start, end, delta uint16 }
	var segs []seg
	for _, r := range rs {
		g := m[r]
		if k := len(segs) - 1; k >= 0 && uint16(r) == segs[k].end+1 && g == uint16(r)+segs[k].delta {
			segs[k].end = uint16(r)
			continue
		}
		segs = append(segs, seg{uint16(r), uint16(r), g - uint16(r)})
	}
	segs = append(segs, seg{0xFFFF, 0xFFFF, 1}) // the required last segment, to .notdef
	nseg := len(segs)
	pow, log := 1, 0
	for pow*2 <= nseg {
		pow *= 2
		log++
	}
	sub := binary.BigEndian.AppendUint16(nil, 4)
	sub = binary.BigEndian.AppendUint16(sub, uint16(16+8*nseg)) // length
	sub = binary.BigEndian.AppendUint16(sub, 0)                 // language
	sub = binary.BigEndian.AppendUint16(sub, uint16(2*nseg))
	sub = binary.BigEndian.AppendUint16(sub, uint16(2*pow))
	sub = binary.BigEndian.AppendUint16(sub, uint16(log))
	sub = binary.BigEndian.AppendUint16(sub, uint16(2*nseg-2*pow))
	for _, s := range segs {
		sub = binary.BigEndian.AppendUint16(sub, s.end)
	}
	sub = binary.BigEndian.AppendUint16(sub, 0) // reservedPad
	for _, s := range segs {
		sub = binary.BigEndian.AppendUint16(sub, s.start)
	}
	for _, s := range segs {
		sub = binary.BigEndian.AppendUint16(sub, s.delta)
	}
	for range segs {
		sub = binary.BigEndian.AppendUint16(sub, 0) // idRangeOffset: use the delta
	}
	out := binary.BigEndian.AppendUint16(nil, 0) // version
	out = binary.BigEndian.AppendUint16(out, 1)  // one encoding record
	out = binary.BigEndian.AppendUint16(out, 3)  // Windows
	out = binary.BigEndian.AppendUint16(out, 1)  // Unicode BMP
	out = binary.BigEndian.AppendUint32(out, 12)
	return append(out, sub...)
}

// qpoint is a point of a TrueType contour in font units, Y up.
type qpoint struct {
	x, y float64
	on   bool // on the curve; else the control point of a quadratic
}

// quadContours turns an outline (sfnt segments, Y down, 26.6 at one pixel
// per unit) into TrueType contours: lines and quadratics only, each contour
// implicitly closed.
func quadContours(segs sfnt.Segments) [][]qpoint {
	var out [][]qpoint
	var cur []qpoint
	pt := func(p fixed.Point26_6) qpoint { return qpoint{float64(p.X) / 64, -float64(p.Y) / 64, true} }
	flush := func() {
		// TrueType closes a contour by itself: drop a final point that
		// repeats the first.
		if len(cur) > 1 && cur[len(cur)-1] == cur[0] {
			cur = cur[:len(cur)-1]
		}
		if len(cur) > 1 {
			out = append(out, cur)
		}
		cur = nil
	}
	for _, s := range segs {
		switch s.Op {
		case sfnt.SegmentOpMoveTo:
			flush()
			cur = []qpoint{pt(s.Args[0])}
		case sfnt.SegmentOpLineTo:
			cur = append(cur, pt(s.Args[0]))
		case sfnt.SegmentOpQuadTo:
			c := pt(s.Args[0])
			c.on = false
			cur = append(cur, c, pt(s.Args[1]))
		case sfnt.SegmentOpCubeTo:
			if len(cur) == 0 {
				continue
			}
			cur = appendCubic(cur, cur[len(cur)-1], pt(s.Args[0]), pt(s.Args[1]), pt(s.Args[2]))
		}
	}
	flush()
	return out
}

// appendCubic appends quadratics approximating the cubic p0 c1 c2 p3: the
// cubic is cut into n equal parts in t, n chosen so that each part's best
// single quadratic is within ttfTolerance.
func appendCubic(dst []qpoint, p0, c1, c2, p3 qpoint) []qpoint {
	// The distance between a cubic and the quadratic with control point
	// (3(c1+c2) − (p0+p3))/4 is at most √3/36 · |p3 − 3c2 + 3c1 − p0|; a
	// part of 1/n of the curve has that third difference divided by n³.
	dx := p3.x - 3*c2.x + 3*c1.x - p0.x
	dy := p3.y - 3*c2.y + 3*c1.y - p0.y
	errEst := math.Sqrt(3) / 36 * math.Hypot(dx, dy)
	n := max(1, int(math.Ceil(math.Cbrt(errEst/ttfTolerance))))
	n = min(n, 64)
	at := func(t float64) (p, d qpoint) { // point and derivative at t
		mt := 1 - t
		p.x = mt*mt*mt*p0.x + 3*mt*mt*t*c1.x + 3*mt*t*t*c2.x + t*t*t*p3.x
		p.y = mt*mt*mt*p0.y + 3*mt*mt*t*c1.y + 3*mt*t*t*c2.y + t*t*t*p3.y
		d.x = 3*mt*mt*(c1.x-p0.x) + 6*mt*t*(c2.x-c1.x) + 3*t*t*(p3.x-c2.x)
		d.y = 3*mt*mt*(c1.y-p0.y) + 6*mt*t*(c2.y-c1.y) + 3*t*t*(p3.y-c2.y)
		return p, d
	}
	for i := range n {
		t0, t1 := float64(i)/float64(n), float64(i+1)/float64(n)
		a, da := at(t0)
		b, db := at(t1)
		h := (t1 - t0) / 3
		// The part's own cubic control points, from the derivatives.
		q1 := qpoint{x: a.x + h*da.x, y: a.y + h*da.y}
		q2 := qpoint{x: b.x - h*db.x, y: b.y - h*db.y}
		ctrl := qpoint{x: (3*(q1.x+q2.x) - (a.x + b.x)) / 4, y: (3*(q1.y+q2.y) - (a.y + b.y)) / 4}
		end := b
		if i == n-1 {
			end = p3 // exactly, so that the next segment starts where this ends
		}
		end.on = true
		dst = append(dst, ctrl, end)
	}
	return dst
}

// encodeGlyph writes a simple TrueType glyph: its bytes, its xMin (the
// left side bearing) and its number of points. Coordinates are rounded to
// whole font units; points that round onto their predecessor are dropped.
func encodeGlyph(contours [][]qpoint) (data []byte, xMin, points int) {
	type ipt struct {
		x, y int
		on   bool
	}
	var cs [][]ipt
	for _, c := range contours {
		var out []ipt
		for _, p := range c {
			q := ipt{int(math.Round(p.x)), int(math.Round(p.y)), p.on}
			if k := len(out) - 1; k >= 0 && out[k] == q {
				continue
			}
			out = append(out, q)
		}
		if len(out) > 1 && out[len(out)-1].x == out[0].x && out[len(out)-1].y == out[0].y && out[len(out)-1].on == out[0].on {
			out = out[:len(out)-1]
		}
		if len(out) >= 2 {
			cs = append(cs, out)
		}
	}
	if len(cs) == 0 {
		return nil, 0, 0 // an empty glyph (a space): no data at all
	}
	bx0, by0, bx1, by1 := math.MaxInt, math.MaxInt, math.MinInt, math.MinInt
	for _, c := range cs {
		for _, p := range c {
			bx0, by0, bx1, by1 = min(bx0, p.x), min(by0, p.y), max(bx1, p.x), max(by1, p.y)
		}
	}
	data = binary.BigEndian.AppendUint16(nil, uint16(len(cs)))
	for _, v := range []int{bx0, by0, bx1, by1} {
		data = binary.BigEndian.AppendUint16(data, uint16(int16(v)))
	}
	end := -1
	for _, c := range cs {
		end += len(c)
		data = binary.BigEndian.AppendUint16(data, uint16(end))
	}
	data = binary.BigEndian.AppendUint16(data, 0) // no instructions
	const (
		onCurve  = 0x01
		xShort   = 0x02
		yShort   = 0x04
		xSameOrP = 0x10 // short: positive; long: same as before
		ySameOrP = 0x20
	)
	var flags, xs, ys []byte
	px, py := 0, 0
	for _, c := range cs {
		for _, p := range c {
			var fl byte
			if p.on {
				fl |= onCurve
			}
			dx, dy := p.x-px, p.y-py
			px, py = p.x, p.y
			var fx, fy byte
			fx, xs = coordDelta(dx, xShort, xSameOrP, xs)
			fy, ys = coordDelta(dy, yShort, ySameOrP, ys)
			fl |= fx | fy
			flags = append(flags, fl)
		}
	}
	data = append(append(append(data, flags...), xs...), ys...)
	return data, bx0, end + 1
}

// coordDelta encodes one coordinate's change from the previous point: the
// flag bits (short, and same-or-positive) and the bytes appended to buf.
func coordDelta(d int, short, sameOrPositive byte, buf []byte) (byte, []byte) {
	switch {
	case d == 0:
		return sameOrPositive, buf
	case d > -256 && d < 256:
		if d > 0 {
			return short | sameOrPositive, append(buf, byte(d))
		}
		return short, append(buf, byte(-d))
	}
	return 0, binary.BigEndian.AppendUint16(buf, uint16(int16(d)))
}
