// Command spec-kitty-tray is the desktop tray companion of spec-kitty's
// hosted sync (CONTRACTS.md §11). With the rollout gate off it exits 0 at
// once; without a tray host it exits 1 with one line saying what is missing.
// `spec-kitty-tray --version` prints the version whatever the gate says;
// `--env-file PATH` applies recorded variables first (the Windows Run entry).
//
// Build flags: CGO_ENABLED=0 works for linux and windows; on windows link
// with -ldflags=-H=windowsgui so no console window opens; the macOS menu bar
// icon needs cgo (a CGO_ENABLED=0 darwin build compiles and exits 1).
package main

import (
	"context"
	"fmt"
	"os"
	"runtime"

	"github.com/spec-kitty/spec-kitty-sync/core/version"
	"github.com/spec-kitty/spec-kitty-sync/tray/app"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "--version" {
		// stubNote names the cgo-less macOS build, so installers (and
		// people) can tell it is not a working tray.
		fmt.Printf("spec-kitty-tray %s (%s/%s, %s)%s\n", version.String(), runtime.GOOS, runtime.GOARCH, runtime.Version(), stubNote)
		os.Exit(0)
	}
	if err := envFileArgs(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "spec-kitty-tray: error:", err)
		os.Exit(2)
	}
	os.Exit(app.Main(context.Background(), app.OSEnv()))
}
