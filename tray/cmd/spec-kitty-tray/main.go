// Command spec-kitty-tray is the desktop tray companion of spec-kitty's
// hosted sync (CONTRACTS.md §11). With the rollout gate off it exits 0 at
// once; without a tray host it exits 1 with one line saying what is missing.
//
// Build flags: CGO_ENABLED=0 works for linux and windows; on windows link
// with -ldflags=-H=windowsgui so no console window opens; the macOS menu bar
// icon needs cgo (a CGO_ENABLED=0 darwin build compiles and exits 1).
package main

import (
	"context"
	"os"

	"github.com/spec-kitty/spec-kitty-sync/tray/app"
)

func main() {
	os.Exit(app.Main(context.Background(), app.OSEnv()))
}
