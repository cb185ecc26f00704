//go:build linux

package installer_test

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

// TestCopyrightMatchesLicense: the Debian copyright file carries LICENSE.
func TestCopyrightMatchesLicense(t *testing.T) {
	lic := strings.Split(strings.TrimRight(readFile(t, filepath.Join("..", "LICENSE")), "\n"), "\n")[2:]
	var want []string
	for _, l := range lic {
		if l == "" {
			l = "."
		}
		want = append(want, " "+l)
	}
	got := readFile(t, filepath.Join("packaging", "copyright"))
	if !strings.HasSuffix(got, "License: MIT\n"+strings.Join(want, "\n")+"\n") {
		t.Errorf("packaging/copyright does not end with the text of LICENSE:\n%s", got)
	}
}

// buildPackages links both binaries at version v and packages them with
// installer/package.sh into out.
func buildPackages(t *testing.T, root, tmp, v string) (deb, rpm string) {
	t.Helper()
	bin, out := filepath.Join(tmp, "bin-"+v), filepath.Join(tmp, "dist-"+v)
	// No -trimpath, so compiled packages come from the tests' build cache;
	// -ldflags only changes the link.
	runCmd(t, root, []string{"CGO_ENABLED=0", "GOOS=linux"}, "go", "build", "-o", bin+"/",
		"-ldflags", "-X github.com/spec-kitty/spec-kitty-sync/core/version.Version="+v,
		"./cli/cmd/spec-kitty", "./tray/cmd/spec-kitty-tray")
	runCmd(t, root, []string{"SPEC_KITTY_VERSION=" + v}, "sh", "installer/package.sh", "--bin-dir", bin, "--out", out)
	debs, _ := filepath.Glob(filepath.Join(out, "*.deb"))
	rpms, _ := filepath.Glob(filepath.Join(out, "*.rpm"))
	if len(debs) != 1 || len(rpms) != 1 {
		t.Fatalf("want one .deb and one .rpm in %s, got %q %q", out, debs, rpms)
	}
	return debs[0], rpms[0]
}

// manPages lists docs/man as the packages ship it.
func manPages(t *testing.T, prefix string) []string {
	t.Helper()
	pages, _ := filepath.Glob(filepath.Join("..", "docs", "man", "*.1"))
	if len(pages) < 2 {
		t.Fatalf("docs/man holds %d pages", len(pages))
	}
	var out []string
	for _, p := range pages {
		out = append(out, prefix+"/usr/share/man/man1/"+filepath.Base(p)+".gz")
	}
	return out
}

// TestPackage builds both binaries from ./cli/cmd/spec-kitty and
// ./tray/cmd/spec-kitty-tray, packages them with installer/package.sh and
// inspects the .deb (dpkg-deb) and the .rpm (rpm -qip). As root under
// CI=true it also installs an older .deb, upgrades it to this one, runs it,
// tries the completion and the man page, removes and purges it, and checks
// that the file system is as before. It needs SPEC_KITTY_PACKAGE_TEST=1 (set
// by make test) or CI=true, because it builds the binaries twice and runs
// nfpm.
func TestPackage(t *testing.T) {
	if os.Getenv("SPEC_KITTY_PACKAGE_TEST") != "1" && os.Getenv("CI") != "true" {
		t.Skip("set SPEC_KITTY_PACKAGE_TEST=1 to build and inspect the packages")
	}
	dpkgDeb := needTool(t, "dpkg-deb")
	rpmTool := needTool(t, "rpm")
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	deb, rpm := buildPackages(t, root, tmp, "1.2.3")

	// File list (regular files only; directories come with them).
	var files []string
	for _, line := range strings.Split(runCmd(t, "", nil, dpkgDeb, "-c", deb), "\n") {
		f := strings.Fields(line)
		if len(f) >= 6 && strings.HasPrefix(f[0], "-") {
			files = append(files, f[5])
		}
	}
	slices.Sort(files)
	wantFiles := append([]string{
		"./etc/xdg/autostart/spec-kitty-tray.desktop",
		"./usr/bin/spec-kitty",
		"./usr/bin/spec-kitty-tray",
		"./usr/lib/systemd/user/spec-kitty-sync.service",
		"./usr/share/bash-completion/completions/spec-kitty",
		"./usr/share/doc/spec-kitty/CHANGELOG.md",
		"./usr/share/doc/spec-kitty/LICENSE",
		"./usr/share/doc/spec-kitty/README.md",
		"./usr/share/doc/spec-kitty/copyright",
		"./usr/share/fish/vendor_completions.d/spec-kitty.fish",
		"./usr/share/zsh/vendor-completions/_spec-kitty",
	}, manPages(t, ".")...)
	slices.Sort(wantFiles)
	if diff := cmp.Diff(wantFiles, files); diff != "" {
		t.Errorf("deb files (-want +got):\n%s", diff)
	}
	if got := strings.TrimSpace(runCmd(t, "", nil, dpkgDeb, "-f", deb, "Package", "Version")); got != "Package: spec-kitty\nVersion: 1.2.3" {
		t.Errorf("control fields:\n%s", got)
	}
	// Nothing is a conffile: the autostart entry goes with the package.
	if got := strings.TrimSpace(runCmd(t, "", nil, dpkgDeb, "-I", deb)); strings.Contains(got, "conffiles") {
		t.Errorf("the deb has conffiles:\n%s", got)
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
	if got, want := readFile(t, filepath.Join(x, "usr/share/bash-completion/completions/spec-kitty")), readFile(t, filepath.Join("completions", "spec-kitty.bash")); got != want {
		t.Errorf("packaged bash completion differs from installer/completions/spec-kitty.bash")
	}

	// The rpm, through rpm itself.
	info := runCmd(t, "", nil, rpmTool, "-qip", rpm)
	for _, re := range []string{`(?m)^Name\s*: spec-kitty$`, `(?m)^Version\s*: 1\.2\.3$`, `(?m)^Release\s*: 1$`, `(?m)^Architecture: x86_64$`, `(?m)^License\s*: MIT$`, `(?m)^URL\s*: https://github\.com/spec-kitty/spec-kitty-sync$`, `(?m)^Summary\s*: spec-kitty CLI`} {
		if !regexp.MustCompile(re).MatchString(info) {
			t.Errorf("rpm -qip lacks %s:\n%s", re, info)
		}
	}
	rpmFiles := strings.Fields(runCmd(t, "", nil, rpmTool, "-qlp", rpm))
	wantRPM := append([]string{
		"/etc/xdg/autostart/spec-kitty-tray.desktop",
		"/usr/bin/spec-kitty",
		"/usr/bin/spec-kitty-tray",
		"/usr/lib/systemd/user/spec-kitty-sync.service",
		"/usr/share/bash-completion/completions/spec-kitty",
		"/usr/share/doc/spec-kitty/CHANGELOG.md",
		"/usr/share/doc/spec-kitty/LICENSE",
		"/usr/share/doc/spec-kitty/README.md",
		"/usr/share/fish/vendor_completions.d/spec-kitty.fish",
		"/usr/share/licenses/spec-kitty/LICENSE",
		"/usr/share/zsh/site-functions/_spec-kitty",
	}, manPages(t, "")...)
	slices.Sort(wantRPM)
	slices.Sort(rpmFiles)
	if diff := cmp.Diff(wantRPM, rpmFiles); diff != "" {
		t.Errorf("rpm -qlp (-want +got):\n%s", diff)
	}

	if os.Geteuid() != 0 || os.Getenv("CI") != "true" {
		t.Log("not root with CI=true: skipping dpkg -i / upgrade / -r / -P")
		return
	}
	dpkg := needTool(t, "dpkg")
	if exec.Command(dpkg, "-s", "spec-kitty").Run() == nil {
		t.Fatal("a spec-kitty package is already installed on this machine; refusing to replace it")
	}
	t.Cleanup(func() { _ = exec.Command(dpkg, "-P", "spec-kitty").Run() })
	oldDeb, _ := buildPackages(t, root, tmp, "1.2.2")
	before := fsPaths(t)

	runCmd(t, "", nil, dpkg, "-i", oldDeb)
	if got := runCmd(t, "", nil, "/usr/bin/spec-kitty", "--version"); !strings.HasPrefix(got, "spec-kitty 1.2.2 ") {
		t.Errorf("spec-kitty --version = %q", got)
	}
	runCmd(t, "", nil, dpkg, "-i", deb) // the upgrade
	if got := runCmd(t, "", nil, "/usr/bin/spec-kitty", "--version"); !strings.HasPrefix(got, "spec-kitty 1.2.3 ") {
		t.Errorf("after the upgrade, spec-kitty --version = %q", got)
	}
	if got := runCmd(t, "", nil, "/usr/bin/spec-kitty-tray", "--version"); !strings.HasPrefix(got, "spec-kitty-tray 1.2.3 ") {
		t.Errorf("spec-kitty-tray --version = %q", got)
	}
	if got := runCmd(t, "", nil, "dpkg-query", "-W", "-f", "${Version} ${Status}", "spec-kitty"); got != "1.2.3 install ok installed" {
		t.Errorf("dpkg-query: %q", got)
	}
	// The installed completion works from where bash-completion loads it.
	got := runCmd(t, "", []string{"SPEC_KITTY_ENABLE_SAAS_SYNC="}, "bash", "-c",
		`source /usr/share/bash-completion/completions/spec-kitty && complete -p spec-kitty && COMP_WORDS=(spec-kitty co) COMP_CWORD=1 && _spec_kitty && echo "${COMPREPLY[*]}"`)
	if got != "complete -F _spec_kitty spec-kitty\nconfig completion\n" {
		t.Errorf("installed bash completion: %q", got)
	}
	if got := runCmd(t, "", []string{"MANPAGER=cat", "PAGER=cat"}, "man", "-w", "spec-kitty-config"); strings.TrimSpace(got) != "/usr/share/man/man1/spec-kitty-config.1.gz" {
		t.Errorf("man -w spec-kitty-config = %q", got)
	}

	runCmd(t, "", nil, dpkg, "-r", "spec-kitty")
	if diff := cmp.Diff(before, fsPaths(t)); diff != "" {
		t.Errorf("dpkg -r left files behind or removed others (-before +after):\n%s", diff)
	}
	runCmd(t, "", nil, dpkg, "-P", "spec-kitty")
	runCmd(t, "", nil, dpkg, "-i", deb)
	runCmd(t, "", nil, dpkg, "-P", "spec-kitty")
	if diff := cmp.Diff(before, fsPaths(t)); diff != "" {
		t.Errorf("dpkg -P left files behind or removed others (-before +after):\n%s", diff)
	}
	if exec.Command(dpkg, "-s", "spec-kitty").Run() == nil {
		t.Error("dpkg still knows spec-kitty after purge")
	}
}

// fsPaths lists every path (with its type) under the directories the
// package writes to.
func fsPaths(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, top := range []string{"/etc/xdg", "/usr/bin", "/usr/lib/systemd", "/usr/share/doc", "/usr/share/man/man1", "/usr/share/bash-completion", "/usr/share/zsh", "/usr/share/fish", "/usr/share/licenses"} {
		err := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return nil
				}
				return err
			}
			out = append(out, d.Type().String()+" "+p)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}
