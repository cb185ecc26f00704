//go:build linux

package svcmgr

import (
	"os"
	"syscall"
	"testing"

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

// chooseSystemd makes detectInit find systemd for the rest of the test:
// PID 1 is not systemd on the test machines. detectInit is process-global:
// tests using it are not parallel.
func chooseSystemd(t *testing.T) {
	t.Helper()
	pretendInit(t, initSystemd)
}

// pretendInit makes detectInit find init for the rest of the test.
func pretendInit(t *testing.T, init string) {
	t.Helper()
	prev := detectInit
	detectInit = func() string { return init }
	t.Cleanup(func() { detectInit = prev })
}

// unsetenv unsets k for the rest of the test (t.Setenv restores it).
func unsetenv(t *testing.T, k string) {
	t.Helper()
	t.Setenv(k, "")
	if err := os.Unsetenv(k); err != nil {
		t.Fatal(err)
	}
}
