// Command mkicon draws the 践诺 Jiannuo application icon: a red seal (印章)
// as a rounded square with a thin white inner border, stamped with a white
// check mark for a kept promise.
//
// Usage (from the module root; `make icon` does the same):
//
//	go run ./tools/mkicon -o assets/icon.png
//
// The picture is computed with integer arithmetic only (4×4 supersampling for
// anti-aliasing), so every machine and architecture draws the same pixels.
// Standard library only.
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
)

// Size is the width and height of the icon in pixels.
const Size = 512

// Geometry, in pixels of the 512×512 icon.
const (
	sealMargin = 24 // transparent margin around the seal
	sealRadius = 88 // corner radius of the seal

	frameInset  = 50 // distance from the icon edge to the outer edge of the white frame
	frameWidth  = 12 // width of the white frame line
	frameRadius = 56 // corner radius of the frame's outer edge

	checkHalfWidth = 31 // half the stroke width of the check mark
)

// The check mark: a polyline through these points (pixels), round caps and join.
var checkPoints = [][2]int64{{146, 266}, {224, 344}, {368, 176}}

var (
	sealRed = color.NRGBA{R: 0xC4, G: 0x1E, B: 0x24, A: 0xFF} // 朱红, seal ink
	white   = color.NRGBA{R: 0xFF, G: 0xFF, B: 0xFF, A: 0xFF}
)

// sub is the supersampling factor per axis. Coordinates are kept in units of
// 1/(2*sub) pixel so that sample centres are whole numbers.
const (
	sub   = 4
	scale = 2 * sub
)

func main() {
	out := flag.String("o", "assets/icon.png", "output PNG file")
	flag.Parse()
	if err := write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "mkicon:", err)
		os.Exit(1)
	}
}

func write(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(f, Draw()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Draw renders the icon.
func Draw() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, Size, Size))
	for y := 0; y < Size; y++ {
		for x := 0; x < Size; x++ {
			img.SetNRGBA(x, y, pixel(x, y))
		}
	}
	return img
}

// pixel averages sub×sub samples of the shape inside pixel (x, y).
func pixel(x, y int) color.NRGBA {
	var r, g, b, a int64 // premultiplied sums
	for j := 0; j < sub; j++ {
		for i := 0; i < sub; i++ {
			px := int64(x*scale + 2*i + 1)
			py := int64(y*scale + 2*j + 1)
			c, ok := sample(px, py)
			if !ok {
				continue
			}
			r += int64(c.R)
			g += int64(c.G)
			b += int64(c.B)
			a += 255
		}
	}
	if a == 0 {
		return color.NRGBA{}
	}
	n := a / 255 // samples covered
	return color.NRGBA{
		R: uint8((r + n/2) / n),
		G: uint8((g + n/2) / n),
		B: uint8((b + n/2) / n),
		A: uint8((a + sub*sub/2) / (sub * sub)),
	}
}

// sample returns the colour at (px, py), given in 1/scale pixel units, and
// false where the icon is transparent.
func sample(px, py int64) (color.NRGBA, bool) {
	if !inRoundedSquare(px, py, sealMargin, sealRadius) {
		return color.NRGBA{}, false
	}
	inFrame := inRoundedSquare(px, py, frameInset, frameRadius) &&
		!inRoundedSquare(px, py, frameInset+frameWidth, frameRadius-frameWidth)
	if inFrame || onCheck(px, py) {
		return white, true
	}
	return sealRed, true
}

// inRoundedSquare reports whether (px, py) lies inside the square centred on
// the icon, inset by inset pixels from each edge, with corner radius radius.
func inRoundedSquare(px, py int64, inset, radius int64) bool {
	c := int64(Size * scale / 2)
	half := int64(Size/2-inset) * scale
	r := radius * scale
	dx, dy := abs(px-c), abs(py-c)
	if dx > half || dy > half {
		return false
	}
	qx, qy := dx-(half-r), dy-(half-r)
	if qx <= 0 || qy <= 0 {
		return true
	}
	return qx*qx+qy*qy <= r*r
}

// onCheck reports whether (px, py) is within checkHalfWidth of the check mark.
func onCheck(px, py int64) bool {
	w := int64(checkHalfWidth * scale)
	for k := 0; k+1 < len(checkPoints); k++ {
		ax, ay := checkPoints[k][0]*scale, checkPoints[k][1]*scale
		bx, by := checkPoints[k+1][0]*scale, checkPoints[k+1][1]*scale
		if nearSegment(px, py, ax, ay, bx, by, w) {
			return true
		}
	}
	return false
}

// nearSegment reports whether point p is within distance w of segment ab,
// exactly, in integers: with v = p-a, d = b-a, t = v·d / d·d clamped to
// [0, 1], it tests |v - t·d|² <= w².
func nearSegment(px, py, ax, ay, bx, by, w int64) bool {
	vx, vy := px-ax, py-ay
	dx, dy := bx-ax, by-ay
	dot := vx*dx + vy*dy
	l2 := dx*dx + dy*dy
	switch {
	case dot <= 0:
		return vx*vx+vy*vy <= w*w
	case dot >= l2:
		ex, ey := px-bx, py-by
		return ex*ex+ey*ey <= w*w
	default:
		// |v|² - dot²/l2 <= w²  ⇔  |v|²·l2 - dot² <= w²·l2
		return (vx*vx+vy*vy)*l2-dot*dot <= w*w*l2
	}
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
