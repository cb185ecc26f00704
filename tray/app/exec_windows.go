//go:build windows

package app

import (
	"os"
	"syscall"

	"golang.org/x/sys/windows"
)

// childAttr keeps console children (spec-kitty.exe) from flashing a console
// window: the tray is a GUI program without one.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{HideWindow: true, CreationFlags: windows.CREATE_NO_WINDOW}
}

// interrupt: Windows has no signal to ask a child to stop; kill it.
func interrupt(p *os.Process) error { return p.Kill() }

func openCommand(u string) (string, []string) {
	return "rundll32", []string{"url.dll,FileProtocolHandler", u}
}
