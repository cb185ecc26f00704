// Package icondraw draws the tray's icons: one coloured disc per look with a
// white (or dark) glyph, anti-aliased by supersampling. It exists so the
// committed PNG files under tray/icon/png can be regenerated (tray/internal/
// icongen) and checked (tray/icon's tests); nothing draws at run time.
package icondraw

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
)

// Sizes are the pixel sizes drawn for every look.
var Sizes = []int{16, 32, 64}

// shape reports whether the point (x, y), in units of the icon's side, is
// inside it.
type shape func(x, y float64) bool

func disc(cx, cy, r float64) shape {
	return func(x, y float64) bool { return (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r }
}

func rect(x0, y0, x1, y1 float64) shape {
	return func(x, y float64) bool { return x >= x0 && x <= x1 && y >= y0 && y <= y1 }
}

// stroke is a segment with round caps of width w.
func stroke(x0, y0, x1, y1, w float64) shape {
	return func(x, y float64) bool {
		dx, dy := x1-x0, y1-y0
		t := ((x-x0)*dx + (y-y0)*dy) / (dx*dx + dy*dy)
		t = math.Max(0, math.Min(1, t))
		px, py := x0+t*dx-x, y0+t*dy-y
		return px*px+py*py <= w*w/4
	}
}

func union(ss ...shape) shape {
	return func(x, y float64) bool {
		for _, s := range ss {
			if s(x, y) {
				return true
			}
		}
		return false
	}
}

type design struct {
	fill, ring, ink color.NRGBA
	glyph           shape
}

var white = color.NRGBA{255, 255, 255, 255}

var designs = map[string]design{
	"ready": {
		fill: color.NRGBA{0x2e, 0x9e, 0x44, 255}, ring: color.NRGBA{0x1d, 0x6b, 0x2d, 255}, ink: white,
		glyph: union(stroke(0.28, 0.52, 0.43, 0.67, 0.12), stroke(0.43, 0.67, 0.72, 0.36, 0.12)),
	},
	"manual": {
		fill: color.NRGBA{0x3a, 0x6f, 0xd8, 255}, ring: color.NRGBA{0x25, 0x4a, 0x96, 255}, ink: white,
		glyph: union(rect(0.33, 0.30, 0.44, 0.70), rect(0.56, 0.30, 0.67, 0.70)),
	},
	"attention": {
		fill: color.NRGBA{0xf2, 0xb1, 0x1f, 255}, ring: color.NRGBA{0xa8, 0x74, 0x00, 255}, ink: color.NRGBA{0x3b, 0x2a, 0x00, 255},
		glyph: union(stroke(0.5, 0.26, 0.5, 0.55, 0.13), disc(0.5, 0.72, 0.075)),
	},
	"error": {
		fill: color.NRGBA{0xd9, 0x3a, 0x3a, 255}, ring: color.NRGBA{0x93, 0x1f, 0x1f, 255}, ink: white,
		glyph: union(stroke(0.34, 0.34, 0.66, 0.66, 0.12), stroke(0.66, 0.34, 0.34, 0.66, 0.12)),
	},
	"stopped": {
		fill: color.NRGBA{0x8a, 0x8f, 0x98, 255}, ring: color.NRGBA{0x5c, 0x60, 0x67, 255}, ink: white,
		glyph: rect(0.34, 0.34, 0.66, 0.66),
	},
}

// Names lists the looks that have a design, in a fixed order.
var Names = []string{"ready", "manual", "attention", "error", "stopped"}

const samples = 4 // per axis

// Draw renders the icon of look at size×size pixels.
func Draw(look string, size int) (*image.NRGBA, error) {
	d, ok := designs[look]
	if !ok {
		return nil, fmt.Errorf("no icon design for look %q", look)
	}
	outer := disc(0.5, 0.5, 0.47)
	inner := disc(0.5, 0.5, 0.47-math.Max(0.06, 1.0/float64(size)))
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for py := range size {
		for px := range size {
			var r, g, b, a float64
			for sy := range samples {
				for sx := range samples {
					x := (float64(px) + (float64(sx)+0.5)/samples) / float64(size)
					y := (float64(py) + (float64(sy)+0.5)/samples) / float64(size)
					var c color.NRGBA
					switch {
					case !outer(x, y):
						continue
					case !inner(x, y):
						c = d.ring
					case d.glyph(x, y):
						c = d.ink
					default:
						c = d.fill
					}
					r += float64(c.R)
					g += float64(c.G)
					b += float64(c.B)
					a++
				}
			}
			if a == 0 {
				continue
			}
			img.SetNRGBA(px, py, color.NRGBA{
				R: uint8(math.Round(r / a)), G: uint8(math.Round(g / a)), B: uint8(math.Round(b / a)),
				A: uint8(math.Round(255 * a / (samples * samples))),
			})
		}
	}
	return img, nil
}

// PNG renders the icon of look at size and encodes it, best compression.
func PNG(look string, size int) ([]byte, error) {
	img, err := Draw(look, size)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode %s icon: %w", look, err)
	}
	return buf.Bytes(), nil
}

// FileName is the name of the committed PNG of look at size.
func FileName(look string, size int) string { return fmt.Sprintf("%s-%d.png", look, size) }
