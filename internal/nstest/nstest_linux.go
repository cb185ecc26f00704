// Package nstest re-executes a test binary in fresh Linux namespaces, so a
// helper test can mount over directories (a tmpfs over a system directory,
// a small full filesystem) without touching the machine. Tests only.
package nstest

import (
	"bytes"
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// Run re-executes the running test binary to run only the test named test
// (with env added to the environment, args added to the command line) in
// fresh namespaces (cloneflags CLONE_NEW*); as non-root it adds a user
// namespace mapping the caller to root. The helper should make the mounts
// it changes private first (MakePrivate).
//
// When namespaces cannot be created, or the helper skips, t is skipped
// (failed under CI=true, where every test must run); when the helper fails,
// t fails. Run returns the helper's output.
func Run(t *testing.T, test string, cloneflags uintptr, env []string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^" + test + "$", "-test.v", "-test.count=1"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	attr := &syscall.SysProcAttr{Cloneflags: cloneflags, Pdeathsig: syscall.SIGKILL}
	if os.Geteuid() != 0 {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
	}
	cmd.SysProcAttr = attr
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	ci := os.Getenv("CI") == "true"
	if err := cmd.Start(); err != nil {
		if ci {
			t.Fatalf("cannot create namespaces (needed under CI=true): %v", err)
		}
		t.Skipf("cannot create namespaces (needs root or user namespaces): %v", err)
	}
	err := cmd.Wait()
	if bytes.Contains(out.Bytes(), []byte("--- SKIP: "+test)) {
		if ci {
			t.Fatalf("helper %s skipped (not allowed under CI=true):\n%s", test, out.Bytes())
		}
		t.Skipf("helper %s skipped:\n%s", test, out.Bytes())
	}
	if err != nil || !bytes.Contains(out.Bytes(), []byte("--- PASS: "+test)) {
		t.Fatalf("helper %s failed: %v\n%s", test, err, out.Bytes())
	}
	return out.Bytes()
}

// MakePrivate makes every mount of this (fresh) mount namespace private, so
// what the helper mounts stays in it.
func MakePrivate(t *testing.T) {
	t.Helper()
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		t.Fatalf("make mounts private: %v", err)
	}
}
