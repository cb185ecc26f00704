// Package icon holds the tray's icon for every look: small PNG files drawn
// once by tray/internal/icongen and committed under png/, embedded here, and
// wrapped as a PNG-in-ICO file for Windows. It does no drawing and no I/O.
package icon

import (
	"embed"
	"encoding/binary"
	"fmt"

	"github.com/spec-kitty/spec-kitty-sync/tray"
)

//go:generate go run ../internal/icongen -out png

//go:embed png/*.png
var files embed.FS

// Sizes are the pixel sizes available for every look.
var Sizes = []int{16, 32, 64}

// TraySize is the size handed to the tray host on Linux and macOS; hosts
// scale it to their panel.
const TraySize = 32

// PNG returns the PNG file of look at size (one of Sizes).
func PNG(look tray.Look, size int) ([]byte, error) {
	b, err := files.ReadFile(fmt.Sprintf("png/%s-%d.png", look, size))
	if err != nil {
		return nil, fmt.Errorf("no %dpx icon for look %q", size, look)
	}
	return b, nil
}

// ICO returns a Windows icon file holding every size of look as PNG images
// (the PNG-compressed ICO entries Windows reads since Vista).
func ICO(look tray.Look) ([]byte, error) {
	var images [][]byte
	for _, s := range Sizes {
		b, err := PNG(look, s)
		if err != nil {
			return nil, err
		}
		images = append(images, b)
	}
	const dirSize, entrySize = 6, 16
	out := make([]byte, dirSize+entrySize*len(images))
	binary.LittleEndian.PutUint16(out[2:], 1) // type: icon
	binary.LittleEndian.PutUint16(out[4:], uint16(len(images)))
	offset := len(out)
	for i, img := range images {
		e := out[dirSize+entrySize*i:]
		e[0], e[1] = byte(Sizes[i]), byte(Sizes[i]) // sizes < 256
		binary.LittleEndian.PutUint16(e[4:], 1)     // colour planes
		binary.LittleEndian.PutUint16(e[6:], 32)    // bits per pixel
		binary.LittleEndian.PutUint32(e[8:], uint32(len(img)))
		binary.LittleEndian.PutUint32(e[12:], uint32(offset))
		offset += len(img)
	}
	for _, img := range images {
		out = append(out, img...)
	}
	return out, nil
}
