//go:build unix

package daemon

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// sharedHome refuses a state home other users can write to or do not leave
// to this user (e.g. a 1777 directory like /tmp): tightening such a
// directory's mode would take it from its other users, and anything in it
// could have been planted. The daemon stops with an error instead.
func sharedHome(dir string, fi fs.FileInfo) error {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("state home %s is owned by uid %d, not this user; set %s to a private directory", dir, st.Uid, "SPEC_KITTY_HOME")
	}
	if fi.Mode().Perm()&0o022 != 0 || fi.Mode()&fs.ModeSticky != 0 {
		return fmt.Errorf("state home %s is shared (mode %s): other users can write to it; refusing to run there — set SPEC_KITTY_HOME to a private directory, or `chmod 700 %s` if it is yours alone",
			dir, fi.Mode().String(), dir)
	}
	return nil
}
