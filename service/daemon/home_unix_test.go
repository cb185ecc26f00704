//go:build unix

package daemon

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSharedHomeIsRefused: a state home other users can write to (a 1777
// directory such as /tmp, or 0775) is refused with an error, left as it
// was, and nothing is created in it.
func TestSharedHomeIsRefused(t *testing.T) {
	for _, mode := range []fs.FileMode{0o777 | fs.ModeSticky, 0o775} {
		t.Run(mode.String(), func(t *testing.T) {
			h := newHarness(t)
			if err := os.MkdirAll(h.home.Dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(h.home.Dir, mode); err != nil {
				t.Fatal(err)
			}
			o := h.opts()
			o.Once = true
			err := Run(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), "shared") || !strings.Contains(err.Error(), "SPEC_KITTY_HOME") {
				t.Errorf("Run = %v, want a refusal naming the fix", err)
			}
			fi, _ := os.Stat(h.home.Dir)
			if fi.Mode().Perm() != mode.Perm() || fi.Mode()&fs.ModeSticky != mode&fs.ModeSticky {
				t.Errorf("home mode changed to %v", fi.Mode())
			}
			if m, _ := filepath.Glob(filepath.Join(h.home.Dir, "sync-daemon*")); len(m) > 0 {
				t.Errorf("daemon files created in a shared home: %v", m)
			}
		})
	}
}
