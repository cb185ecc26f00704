//go:build linux

package installer_test

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// readSums parses SHA256SUMS into file -> hex digest.
func readSums(t *testing.T, dist string) map[string]string {
	t.Helper()
	sums := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(readFile(t, filepath.Join(dist, "SHA256SUMS"))), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			t.Fatalf("bad SHA256SUMS line %q", line)
		}
		sums[strings.TrimPrefix(f[1], "*")] = f[0]
	}
	return sums
}

// checkManifests parses the Homebrew formula, the Scoop manifest and the
// winget installer manifest in dist and checks every URL and checksum
// against SHA256SUMS; it returns the archives each one names.
func checkManifests(t *testing.T, dist, version, base string) (brew, scoop, winget []string) {
	t.Helper()
	sums := readSums(t, dist)
	checkURL := func(kind, u, sum string) string {
		name, ok := strings.CutPrefix(u, base+"/")
		if !ok {
			t.Errorf("%s: URL %q is not under %q", kind, u, base)
			return ""
		}
		if want, ok := sums[name]; !ok || !strings.EqualFold(want, sum) {
			t.Errorf("%s: %s has checksum %s, SHA256SUMS says %q", kind, name, sum, want)
		}
		return name
	}

	rb := readFile(t, filepath.Join(dist, "spec-kitty.rb"))
	if !strings.Contains(rb, `version "`+version+`"`) || !strings.Contains(rb, "class SpecKitty < Formula") {
		t.Errorf("formula lacks the class or version %s:\n%s", version, rb)
	}
	for _, m := range regexp.MustCompile(`url "([^"]+)"\n\s+sha256 "([0-9a-f]{64})"`).FindAllStringSubmatch(rb, -1) {
		brew = append(brew, checkURL("homebrew", m[1], m[2]))
	}

	if _, err := os.Stat(filepath.Join(dist, "spec-kitty.json")); err == nil {
		var s struct {
			Version      string
			License      string
			Bin          string
			Shortcuts    [][]string
			Architecture map[string]struct {
				URL        string `json:"url"`
				Hash       string `json:"hash"`
				ExtractDir string `json:"extract_dir"`
			}
		}
		if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dist, "spec-kitty.json"))), &s); err != nil {
			t.Fatalf("scoop manifest: %v", err)
		}
		if s.Version != version || s.License != "MIT" || s.Bin != "spec-kitty.exe" || len(s.Shortcuts) != 1 || s.Shortcuts[0][0] != "spec-kitty-tray.exe" {
			t.Errorf("scoop manifest: %+v", s)
		}
		for _, a := range s.Architecture {
			name := checkURL("scoop", a.URL, a.Hash)
			if a.ExtractDir != strings.TrimSuffix(name, ".zip") {
				t.Errorf("scoop: extract_dir %q for %s", a.ExtractDir, name)
			}
			scoop = append(scoop, name)
		}

		var w struct {
			PackageIdentifier string `yaml:"PackageIdentifier"`
			PackageVersion    string `yaml:"PackageVersion"`
			InstallerType     string `yaml:"InstallerType"`
			ManifestType      string `yaml:"ManifestType"`
			Installers        []struct {
				Architecture         string `yaml:"Architecture"`
				InstallerURL         string `yaml:"InstallerUrl"`
				InstallerSha256      string `yaml:"InstallerSha256"`
				NestedInstallerFiles []struct {
					RelativeFilePath     string `yaml:"RelativeFilePath"`
					PortableCommandAlias string `yaml:"PortableCommandAlias"`
				} `yaml:"NestedInstallerFiles"`
			} `yaml:"Installers"`
		}
		if err := yaml.Unmarshal([]byte(readFile(t, filepath.Join(dist, "winget", "SpecKitty.SpecKitty.installer.yaml"))), &w); err != nil {
			t.Fatalf("winget installer manifest: %v", err)
		}
		if w.PackageIdentifier != "SpecKitty.SpecKitty" || w.PackageVersion != version || w.InstallerType != "zip" || w.ManifestType != "installer" {
			t.Errorf("winget manifest: %+v", w)
		}
		for _, in := range w.Installers {
			if in.InstallerSha256 != strings.ToUpper(in.InstallerSha256) {
				t.Errorf("winget: checksum %s not upper case", in.InstallerSha256)
			}
			name := checkURL("winget", in.InstallerURL, in.InstallerSha256)
			if len(in.NestedInstallerFiles) == 0 || in.NestedInstallerFiles[0].RelativeFilePath != strings.TrimSuffix(name, ".zip")+`\spec-kitty.exe` {
				t.Errorf("winget: nested files %+v for %s", in.NestedInstallerFiles, name)
			}
			winget = append(winget, name)
		}
		for _, f := range []string{"SpecKitty.SpecKitty.yaml", "SpecKitty.SpecKitty.locale.en-US.yaml"} {
			var m map[string]any
			if err := yaml.Unmarshal([]byte(readFile(t, filepath.Join(dist, "winget", f))), &m); err != nil || m["PackageVersion"] != version {
				t.Errorf("winget %s: %v %v", f, err, m)
			}
		}
	}
	slices.Sort(brew)
	slices.Sort(scoop)
	slices.Sort(winget)
	return brew, scoop, winget
}

// TestManifests: from a SHA256SUMS over six archives, every manifest names
// the right archives with the right URLs and checksums.
func TestManifests(t *testing.T) {
	dist := t.TempDir()
	version := "1.2.3-rc.1+g0123abc"
	fv := "1.2.3-rc.1_g0123abc"
	var sums strings.Builder
	var all []string
	for _, a := range []string{"linux-amd64.tar.gz", "linux-arm64.tar.gz", "darwin-amd64.tar.gz", "darwin-arm64.tar.gz", "windows-amd64.zip", "windows-arm64.zip"} {
		name := "spec-kitty-" + fv + "-" + a
		all = append(all, name)
		sum := sha256.Sum256([]byte(a))
		sums.WriteString(hex.EncodeToString(sum[:]) + "  " + name + "\n")
	}
	sums.WriteString("0000000000000000000000000000000000000000000000000000000000000000  spec-kitty_1.2.3_amd64.deb\n")
	if err := os.WriteFile(filepath.Join(dist, "SHA256SUMS"), []byte(sums.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	base := "https://example.invalid/v" + version
	runCmd(t, "", nil, "sh", "manifests.sh", "--dist", dist, "--version", version, "--url", base)
	brew, scoop, winget := checkManifests(t, dist, version, base)
	slices.Sort(all)
	if diff := cmp.Diff(all[:4], brew); diff != "" {
		t.Errorf("homebrew archives (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(all[4:], scoop); diff != "" {
		t.Errorf("scoop archives (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(all[4:], winget); diff != "" {
		t.Errorf("winget archives (-want +got):\n%s", diff)
	}
}

// TestRelease runs installer/release.sh for linux/amd64 only (all six
// targets are `make release`) and checks the archive, the packages,
// SHA256SUMS and the formula. Gated like TestPackage.
func TestRelease(t *testing.T) {
	if os.Getenv("SPEC_KITTY_PACKAGE_TEST") != "1" && os.Getenv("CI") != "true" {
		t.Skip("set SPEC_KITTY_PACKAGE_TEST=1 to build a release")
	}
	needTool(t, "dpkg-deb")
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dist := filepath.Join(t.TempDir(), "dist")
	base := "https://example.invalid/dl"
	runCmd(t, root, []string{"SPEC_KITTY_VERSION=1.2.3", "SPEC_KITTY_RELEASE_URL=" + base}, "sh", "installer/release.sh", "--targets", "linux/amd64", "--out", dist)

	sums := readSums(t, dist)
	var names []string
	for name, sum := range sums {
		names = append(names, name)
		data, err := os.ReadFile(filepath.Join(dist, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := sha256.Sum256(data); hex.EncodeToString(got[:]) != sum {
			t.Errorf("SHA256SUMS is wrong for %s", name)
		}
	}
	slices.Sort(names)
	want := []string{"spec-kitty-1.2.3-1.x86_64.rpm", "spec-kitty-1.2.3-linux-amd64.tar.gz", "spec-kitty_1.2.3_amd64.deb"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("SHA256SUMS names (-want +got):\n%s", diff)
	}
	brew, scoop, _ := checkManifests(t, dist, "1.2.3", base)
	if diff := cmp.Diff([]string{"spec-kitty-1.2.3-linux-amd64.tar.gz"}, brew); diff != "" || scoop != nil {
		t.Errorf("manifests: brew %v scoop %v", brew, scoop)
	}

	// The archive: one directory with both binaries, the docs, every man
	// page, every completion and the install scripts.
	f, err := os.Open(filepath.Join(dist, "spec-kitty-1.2.3-linux-amd64.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var entries []string
	modes := map[string]int64{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			entries = append(entries, h.Name)
			modes[h.Name] = h.Mode
		}
	}
	dir := "spec-kitty-1.2.3-linux-amd64/"
	wantEntries := []string{dir + "CHANGELOG.md", dir + "LICENSE", dir + "README.md", dir + "install.sh", dir + "spec-kitty", dir + "spec-kitty-tray", dir + "uninstall.sh"}
	pages, _ := filepath.Glob(filepath.Join(root, "docs", "man", "*.1"))
	for _, p := range pages {
		wantEntries = append(wantEntries, dir+"man/"+filepath.Base(p))
	}
	for _, c := range []string{"_spec-kitty", "spec-kitty.bash", "spec-kitty.fish", "spec-kitty.ps1"} {
		wantEntries = append(wantEntries, dir+"completions/"+c)
	}
	slices.Sort(wantEntries)
	slices.Sort(entries)
	if diff := cmp.Diff(wantEntries, entries); diff != "" {
		t.Errorf("archive entries (-want +got):\n%s", diff)
	}
	for _, b := range []string{"spec-kitty", "spec-kitty-tray"} {
		if modes[dir+b]&0o111 == 0 {
			t.Errorf("%s is not executable in the archive (mode %o)", b, modes[dir+b])
		}
	}
}
