package main

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedIconIsCurrent fails when assets/icon.png was not regenerated
// after a change to this program (`make icon`). Pixels are compared, not bytes,
// so a change in the PNG encoder between Go versions does not matter.
func TestCommittedIconIsCurrent(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "assets", "icon.png"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	want := Draw()
	if got.Bounds() != want.Bounds() {
		t.Fatalf("assets/icon.png is %v, want %v", got.Bounds(), want.Bounds())
	}
	for y := 0; y < Size; y++ {
		for x := 0; x < Size; x++ {
			gr, gg, gb, ga := got.At(x, y).RGBA()
			wr, wg, wb, wa := want.At(x, y).RGBA()
			if gr != wr || gg != wg || gb != wb || ga != wa {
				t.Fatalf("assets/icon.png differs from Draw() at (%d,%d): run `make icon`", x, y)
			}
		}
	}
}

func TestDrawIsDeterministic(t *testing.T) {
	if !bytes.Equal(Draw().Pix, Draw().Pix) {
		t.Fatal("two draws differ")
	}
}

func TestDrawShape(t *testing.T) {
	img := Draw()
	if img.Bounds() != image.Rect(0, 0, Size, Size) {
		t.Fatalf("bounds %v", img.Bounds())
	}
	for _, tc := range []struct {
		name string
		x, y int
		want [4]uint8
	}{
		{"corner is transparent", 2, 2, [4]uint8{0, 0, 0, 0}},
		{"seal body is red", 100, 400, [4]uint8{sealRed.R, sealRed.G, sealRed.B, 255}},
		{"frame is white", 256, frameInset + frameWidth/2, [4]uint8{255, 255, 255, 255}},
		{"check mark is white", 224, 344, [4]uint8{255, 255, 255, 255}},
	} {
		c := img.NRGBAAt(tc.x, tc.y)
		if got := [4]uint8{c.R, c.G, c.B, c.A}; got != tc.want {
			t.Errorf("%s: pixel (%d,%d) = %v, want %v", tc.name, tc.x, tc.y, got, tc.want)
		}
	}
}

func TestNearSegment(t *testing.T) {
	// Segment from (0,0) to (10,0), width 2.
	for _, tc := range []struct {
		x, y int64
		want bool
	}{
		{5, 2, true}, {5, 3, false}, {-2, 0, true}, {-2, 1, false}, {12, 0, true}, {11, 2, false},
	} {
		if got := nearSegment(tc.x, tc.y, 0, 0, 10, 0, 2); got != tc.want {
			t.Errorf("nearSegment(%d,%d) = %v, want %v", tc.x, tc.y, got, tc.want)
		}
	}
}
