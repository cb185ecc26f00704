//go:build !windows

package launch

import (
	"os/exec"
	"syscall"
)

// detach puts the daemon in its own session, without a controlling terminal,
// so the terminal's hangup or Ctrl-C does not reach it.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
}
