//go:build windows

package dashboard

import "os"

// Terminate stops the dashboard process pid. Windows has no SIGTERM for a
// console process in another group, so it is killed; the caller removes
// the record.
func Terminate(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

func isWindows() bool { return true }
