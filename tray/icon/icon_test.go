package icon

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image/color"
	"image/png"
	"slices"
	"testing"

	"github.com/spec-kitty/spec-kitty-sync/tray"
	"github.com/spec-kitty/spec-kitty-sync/tray/internal/icondraw"
)

// TestCommittedIconsMatchDesigns fails when png/ and the designs in
// icondraw disagree: run `go generate ./tray/icon`.
func TestCommittedIconsMatchDesigns(t *testing.T) {
	if !slices.Equal(Sizes, icondraw.Sizes) {
		t.Fatalf("Sizes %v, icondraw.Sizes %v", Sizes, icondraw.Sizes)
	}
	for _, look := range tray.Looks {
		for _, size := range Sizes {
			t.Run(fmt.Sprintf("%s-%d", look, size), func(t *testing.T) {
				got, err := PNG(look, size)
				if err != nil {
					t.Fatal(err)
				}
				want, err := icondraw.Draw(string(look), size)
				if err != nil {
					t.Fatal(err)
				}
				img, err := png.Decode(bytes.NewReader(got))
				if err != nil {
					t.Fatal(err)
				}
				// Pixels, not bytes: the PNG encoder's output may change
				// between Go releases.
				if b := img.Bounds(); b != want.Bounds() {
					t.Fatalf("bounds %v, want %v", b, want.Bounds())
				}
				for y := range size {
					for x := range size {
						if g, w := color.NRGBAModel.Convert(img.At(x, y)), want.NRGBAAt(x, y); g != w {
							t.Fatalf("pixel (%d,%d) is %v, design says %v; run go generate ./tray/icon", x, y, g, w)
						}
					}
				}
				if len(got) > 4096 {
					t.Errorf("%d bytes; icons should stay small", len(got))
				}
			})
		}
	}
}

func TestLooksAreDistinct(t *testing.T) {
	seen := map[string]tray.Look{}
	for _, look := range tray.Looks {
		b, err := PNG(look, TraySize)
		if err != nil {
			t.Fatal(err)
		}
		if other, dup := seen[string(b)]; dup {
			t.Errorf("%s and %s share an icon", look, other)
		}
		seen[string(b)] = look
	}
}

func TestUnknownLook(t *testing.T) {
	if _, err := PNG("banana", 32); err == nil {
		t.Error("PNG of an unknown look: no error")
	}
	if _, err := ICO("banana"); err == nil {
		t.Error("ICO of an unknown look: no error")
	}
	if _, err := PNG(tray.Ready, 48); err == nil {
		t.Error("PNG of an unknown size: no error")
	}
}

// TestICO parses the ICO directory back and decodes every embedded PNG.
func TestICO(t *testing.T) {
	for _, look := range tray.Looks {
		ico, err := ICO(look)
		if err != nil {
			t.Fatal(err)
		}
		le := binary.LittleEndian
		if le.Uint16(ico[0:]) != 0 || le.Uint16(ico[2:]) != 1 || int(le.Uint16(ico[4:])) != len(Sizes) {
			t.Fatalf("%s: bad ICO header % x", look, ico[:6])
		}
		for i, size := range Sizes {
			e := ico[6+16*i:]
			if int(e[0]) != size || int(e[1]) != size || le.Uint16(e[4:]) != 1 || le.Uint16(e[6:]) != 32 {
				t.Fatalf("%s: entry %d % x", look, i, e[:16])
			}
			n, off := le.Uint32(e[8:]), le.Uint32(e[12:])
			img, err := png.Decode(bytes.NewReader(ico[off : off+n]))
			if err != nil {
				t.Fatalf("%s: entry %d: %v", look, i, err)
			}
			if img.Bounds().Dx() != size {
				t.Fatalf("%s: entry %d is %v", look, i, img.Bounds())
			}
		}
	}
}
