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
//
// resolve follows a link: a package manager's command alias (winget's
// portable links) points at the real spec-kitty.exe, whose directory holds
// spec-kitty-service.exe.
func daemonExecutable(goos string, system bool, exe string, exists func(string) bool, resolve func(string) (string, error)) string {
	if goos != "windows" || system || !strings.EqualFold(filepath.Ext(exe), ".exe") {
		return exe
	}
	candidates := []string{exe}
	if real, err := resolve(exe); err == nil && real != exe {
		candidates = append(candidates, real)
	}
	for _, c := range candidates {
		// The path is a Windows one; split it by hand so this also works
		// (and is tested) on other systems.
		i := strings.LastIndexAny(c, `\/`)
		if gui := c[:i+1] + ServiceExeName; exists(gui) {
			return gui
		}
	}
	return exe
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
