// Command icongen writes the tray's icon PNGs (tray/icon/png) from
// tray/internal/icondraw. Run it with `go generate ./tray/icon` after changing
// a design; tray/icon's tests fail while the files and the designs disagree.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spec-kitty/spec-kitty-sync/tray/internal/icondraw"
)

func main() {
	out := flag.String("out", "png", "directory to write the PNG files to")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "icongen:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, look := range icondraw.Names {
		for _, size := range icondraw.Sizes {
			b, err := icondraw.PNG(look, size)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, icondraw.FileName(look, size)), b, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}
