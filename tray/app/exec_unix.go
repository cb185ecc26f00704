//go:build !windows

package app

import (
	"os"
	"runtime"
	"syscall"
)

// childAttr: children run in the tray's session.
func childAttr() *syscall.SysProcAttr { return nil }

// interrupt asks a child to stop the way a terminal would.
func interrupt(p *os.Process) error { return p.Signal(os.Interrupt) }

func openCommand(u string) (string, []string) {
	if runtime.GOOS == "darwin" {
		return "open", []string{u}
	}
	return "xdg-open", []string{u}
}
