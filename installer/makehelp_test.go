//go:build !windows

package installer_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestMakeHelpListsTargets: `make help` prints each documented target's
// name and description (not the Makefile's name).
func TestMakeHelpListsTargets(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	out, err := exec.Command("make", "-s", "-C", "..", "help").CombinedOutput()
	if err != nil {
		t.Fatalf("make help: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for _, want := range []string{"help", "build", "test", "check"} {
		found := false
		for _, l := range lines {
			if f := strings.Fields(l); len(f) > 1 && f[0] == want {
				found = true
			}
		}
		if !found {
			t.Errorf("make help does not list %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "Makefile") {
		t.Errorf("make help prints file names:\n%s", out)
	}
}
