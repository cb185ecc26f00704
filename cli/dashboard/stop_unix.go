//go:build !windows

package dashboard

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

func isWindows() bool { return false }

// private checks a record file is this user's own and nobody else's to read
// or write: a record another local user could write would let them point
// `spec-kitty dashboard` at their listener.
func private(fi fs.FileInfo) error {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("owned by uid %d, not this user", st.Uid)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("mode %04o: readable or writable by others", fi.Mode().Perm())
	}
	return nil
}
