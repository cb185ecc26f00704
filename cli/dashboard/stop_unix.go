//go:build !windows

package dashboard

import "syscall"

// Terminate asks the dashboard process pid to stop (SIGTERM: it shuts down
// gracefully and removes its record).
func Terminate(pid int) error { return syscall.Kill(pid, syscall.SIGTERM) }

func isWindows() bool { return false }
