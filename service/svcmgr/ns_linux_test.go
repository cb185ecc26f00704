//go:build linux

package svcmgr

import (
	"os"
	"syscall"
	"testing"

	"github.com/kardianos/service"

	"github.com/spec-kitty/spec-kitty-sync/internal/nstest"
)

// helperEnv names the helper a re-executed test binary runs.
const helperEnv = "SVCMGR_TEST_HELPER"

// isHelper reports whether this process is the re-executed helper name;
// helper tests do nothing in a normal run.
func isHelper(t *testing.T, name string) {
	t.Helper()
	if os.Getenv(helperEnv) != name {
		t.Skip("runs only as a re-executed helper")
	}
}

// runHelper re-executes the test binary running only test in fresh Linux
// namespaces (cloneflags CLONE_NEW*), so it can mount over system
// directories without touching the machine. As non-root it adds a user
// namespace mapping the caller to root.
func runHelper(t *testing.T, test, name string, cloneflags uintptr, env ...string) {
	t.Helper()
	var args []string
	if *update {
		args = append(args, "-update")
	}
	out := nstest.Run(t, test, cloneflags, append([]string{helperEnv + "=" + name}, env...), args...)
	if testing.Verbose() {
		t.Logf("helper output:\n%s", out)
	}
}

// mountPrivate makes this mount namespace's mounts private and mounts a
// tmpfs on each dir.
func mountPrivate(t *testing.T, dirs ...string) {
	t.Helper()
	nstest.MakePrivate(t)
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mount("tmpfs", d, "tmpfs", 0, "mode=0755"); err != nil {
			t.Fatalf("mount tmpfs on %s: %v", d, err)
		}
	}
}

// detectedSystemd is kardianos' systemd backend with detection forced on:
// PID 1 is not systemd on the test machines, and kardianos would pick SysV.
type detectedSystemd struct{ service.System }

func (detectedSystemd) Detect() bool { return true }

// chooseSystemd makes kardianos use its systemd backend for the rest of the
// test. ChooseSystem is process-global: tests using it are not parallel.
func chooseSystemd(t *testing.T) {
	t.Helper()
	prev := service.AvailableSystems()
	var sd service.System
	for _, s := range prev {
		if s.String() == kardianosSystemd {
			sd = s
		}
	}
	if sd == nil {
		t.Fatalf("kardianos has no %s backend among %v", kardianosSystemd, prev)
	}
	service.ChooseSystem(detectedSystemd{sd})
	t.Cleanup(func() { service.ChooseSystem(prev...) })
}

// unsetenv unsets k for the rest of the test (t.Setenv restores it).
func unsetenv(t *testing.T, k string) {
	t.Helper()
	t.Setenv(k, "")
	if err := os.Unsetenv(k); err != nil {
		t.Fatal(err)
	}
}
