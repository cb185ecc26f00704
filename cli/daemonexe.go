package cli

import (
	"os"
	"path/filepath"
	"strings"
)

// ServiceExeName is the Windows GUI-subsystem build of `spec-kitty service
// run` (cli/cmd/spec-kitty-service), shipped next to spec-kitty.exe.
const ServiceExeName = "spec-kitty-service.exe"

// daemonExecutable is the program a per-user Windows logon task should run:
// spec-kitty-service.exe next to the console spec-kitty.exe when it is
// there, so no console window opens at logon; otherwise exe itself. Other
// systems, and the machine-wide Windows service (which has no desktop to
// open a window on), run exe.
func daemonExecutable(goos string, system bool, exe string, exists func(string) bool) string {
	if goos != "windows" || system || !strings.EqualFold(filepath.Ext(exe), ".exe") {
		return exe
	}
	// The path is a Windows one; split it by hand so this also works (and
	// is tested) on other systems.
	i := strings.LastIndexAny(exe, `\/`)
	gui := exe[:i+1] + ServiceExeName
	if exists(gui) {
		return gui
	}
	return exe
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
