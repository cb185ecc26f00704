//go:build linux

package installer_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/spec-kitty/spec-kitty-sync/installer"
)

// The committed packaged unit is svcmgr's render (go run ./installer/gen).
func TestPackagedUnitUpToDate(t *testing.T) {
	want, err := installer.PackagedUnit()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, readFile(t, installer.UnitFile)); diff != "" {
		t.Errorf("%s is stale; run: go run ./installer/gen (-render +file):\n%s", installer.UnitFile, diff)
	}
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required (CI=true): %v", name, err)
		}
		t.Skipf("%s not found: %v", name, err)
	}
	return p
}

func runCmd(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.String()
}

// TestPackage builds both binaries from ./cli/cmd/spec-kitty and
// ./tray/cmd/spec-kitty-tray, packages them with installer/package.sh and
// inspects the .deb and .rpm; as root under CI=true it also installs the .deb,
// runs it and removes it. It needs SPEC_KITTY_PACKAGE_TEST=1 (set by make
// test) because it builds the real binaries and runs nfpm.
func TestPackage(t *testing.T) {
	if os.Getenv("SPEC_KITTY_PACKAGE_TEST") != "1" {
		t.Skip("set SPEC_KITTY_PACKAGE_TEST=1 to build and inspect the packages")
	}
	dpkgDeb := needTool(t, "dpkg-deb")
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	bin, out := filepath.Join(tmp, "bin"), filepath.Join(tmp, "dist")
	// No -trimpath, so compiled packages come from the tests' build cache;
	// -ldflags only changes the link.
	runCmd(t, root, []string{"CGO_ENABLED=0", "GOOS=linux"}, "go", "build", "-o", bin+"/",
		"-ldflags", "-X github.com/spec-kitty/spec-kitty-sync/core/version.Version=1.2.3",
		"./cli/cmd/spec-kitty", "./tray/cmd/spec-kitty-tray")
	runCmd(t, root, []string{"SPEC_KITTY_VERSION=1.2.3"}, "sh", "installer/package.sh", "--bin-dir", bin, "--out", out)

	debs, _ := filepath.Glob(filepath.Join(out, "*.deb"))
	rpms, _ := filepath.Glob(filepath.Join(out, "*.rpm"))
	if len(debs) != 1 || len(rpms) != 1 {
		t.Fatalf("want one .deb and one .rpm in %s, got %q %q", out, debs, rpms)
	}
	deb := debs[0]

	// File list (regular files only; directories come with them).
	var files []string
	for _, line := range strings.Split(runCmd(t, "", nil, dpkgDeb, "-c", deb), "\n") {
		f := strings.Fields(line)
		if len(f) >= 6 && strings.HasPrefix(f[0], "-") {
			files = append(files, f[5])
		}
	}
	slices.Sort(files)
	wantFiles := []string{
		"./etc/xdg/autostart/spec-kitty-tray.desktop",
		"./usr/bin/spec-kitty",
		"./usr/bin/spec-kitty-tray",
		"./usr/lib/systemd/user/spec-kitty-sync.service",
		"./usr/share/doc/spec-kitty/README.md",
	}
	if diff := cmp.Diff(wantFiles, files); diff != "" {
		t.Errorf("deb files (-want +got):\n%s", diff)
	}
	if got := strings.TrimSpace(runCmd(t, "", nil, dpkgDeb, "-f", deb, "Package", "Version")); got != "Package: spec-kitty\nVersion: 1.2.3" {
		t.Errorf("control fields:\n%s", got)
	}
	if got := strings.TrimSpace(runCmd(t, "", nil, dpkgDeb, "-I", deb, "conffiles")); got != "/etc/xdg/autostart/spec-kitty-tray.desktop" {
		t.Errorf("conffiles = %q", got)
	}
	x := filepath.Join(tmp, "x")
	runCmd(t, "", nil, dpkgDeb, "-x", deb, x)
	unit, _ := installer.PackagedUnit()
	if got := readFile(t, filepath.Join(x, "usr/lib/systemd/user/spec-kitty-sync.service")); got != unit {
		t.Errorf("packaged unit differs from svcmgr's render:\n%s", got)
	}
	for _, name := range []string{"spec-kitty", "spec-kitty-tray"} {
		fi, err := os.Stat(filepath.Join(x, "usr/bin", name))
		if err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s in the deb: %v %v", name, fi, err)
		}
	}

	// The rpm: lead magic, and the header names every file (rpm stores
	// dirnames and basenames apart; no rpm tool here to list it).
	rpm, err := os.ReadFile(rpms[0])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(rpm, []byte{0xed, 0xab, 0xee, 0xdb}) {
		t.Errorf("%s is not an rpm", rpms[0])
	}
	for _, s := range []string{"/usr/lib/systemd/user/", "spec-kitty-sync.service", "/etc/xdg/autostart/", "spec-kitty-tray.desktop", "/usr/bin/", "spec-kitty-tray", "/usr/share/doc/spec-kitty/"} {
		if !bytes.Contains(rpm, []byte(s)) {
			t.Errorf("rpm header lacks %q", s)
		}
	}

	if os.Geteuid() != 0 || os.Getenv("CI") != "true" {
		t.Log("not root with CI=true: skipping dpkg -i / -r / -P")
		return
	}
	dpkg := needTool(t, "dpkg")
	if exec.Command(dpkg, "-s", "spec-kitty").Run() == nil {
		t.Fatal("a spec-kitty package is already installed on this machine; refusing to replace it")
	}
	t.Cleanup(func() { _ = exec.Command(dpkg, "-P", "spec-kitty").Run() })
	runCmd(t, "", nil, dpkg, "-i", deb)
	if got := runCmd(t, "", nil, "/usr/bin/spec-kitty", "version"); !strings.HasPrefix(got, "spec-kitty 1.2.3 ") {
		t.Errorf("spec-kitty version = %q", got)
	}
	runCmd(t, "", nil, dpkg, "-r", "spec-kitty")
	for _, p := range []string{"/usr/bin/spec-kitty", "/usr/bin/spec-kitty-tray", "/usr/lib/systemd/user/spec-kitty-sync.service", "/usr/share/doc/spec-kitty"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s left after dpkg -r", p)
		}
	}
	// dpkg -r keeps conffiles by design; purge removes them.
	if _, err := os.Stat("/etc/xdg/autostart/spec-kitty-tray.desktop"); err != nil {
		t.Errorf("conffile gone after dpkg -r (expected it kept until purge): %v", err)
	}
	runCmd(t, "", nil, dpkg, "-P", "spec-kitty")
	if _, err := os.Lstat("/etc/xdg/autostart/spec-kitty-tray.desktop"); err == nil {
		t.Error("conffile left after dpkg -P")
	}
	if exec.Command(dpkg, "-s", "spec-kitty").Run() == nil {
		t.Error("dpkg still knows spec-kitty after purge")
	}
}
