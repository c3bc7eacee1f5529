package report

import (
	"image"
	"image/color"
)

// A tiny bitmap font for the numbers on charts: digits and a few signs, 5×7
// pixels each, drawn at an integer scale. Names of categories and months are
// Chinese and are drawn by the app (with its bundled CJK font) around the
// image, at the positions a Layout gives; numbers are all this package draws.
const (
	glyphW   = 5
	glyphH   = 7
	glyphGap = 1 // pixels between glyphs, before scaling
)

// glyphs maps a character to 7 rows of 5 columns ('#' is ink).
var glyphs = map[rune][glyphH]string{
	'0': {".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."},
	'1': {"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."},
	'2': {".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"},
	'3': {"#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."},
	'4': {"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."},
	'5': {"#####", "#....", "####.", "....#", "....#", "#...#", ".###."},
	'6': {"..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."},
	'7': {"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."},
	'8': {".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."},
	'9': {".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."},
	'.': {".....", ".....", ".....", ".....", ".....", ".##..", ".##.."},
	',': {".....", ".....", ".....", ".....", ".##..", "..#..", ".#..."},
	'%': {"##...", "##..#", "...#.", "..#..", ".#...", "#..##", "...##"},
	'-': {".....", ".....", ".....", ".###.", ".....", ".....", "....."},
	'+': {".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."},
	'/': {".....", "....#", "...#.", "..#..", ".#...", "#....", "....."},
	':': {".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."},
	' ': {".....", ".....", ".....", ".....", ".....", ".....", "....."},
}

// Drawable reports whether every character of s is in the chart font.
func Drawable(s string) bool {
	for _, r := range s {
		if _, ok := glyphs[r]; !ok {
			return false
		}
	}
	return true
}

// textSize returns the pixel size of s at scale (characters the font lacks
// take a space).
func textSize(s string, scale int) image.Point {
	n := 0
	for range s {
		n++
	}
	if n == 0 {
		return image.Point{}
	}
	return image.Pt((n*(glyphW+glyphGap)-glyphGap)*scale, glyphH*scale)
}

// drawText draws s with its top-left corner at p.
func drawText(img *image.RGBA, p image.Point, s string, scale int, c color.Color) {
	src := image.NewUniform(c)
	x := p.X
	for _, r := range s {
		g, ok := glyphs[r]
		if ok {
			for row := 0; row < glyphH; row++ {
				for col := 0; col < glyphW; col++ {
					if g[row][col] == '#' {
						fillRect(img, image.Rect(x+col*scale, p.Y+row*scale, x+(col+1)*scale, p.Y+(row+1)*scale), src)
					}
				}
			}
		}
		x += (glyphW + glyphGap) * scale
	}
}
