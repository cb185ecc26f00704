//go:build !windows

package installer_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/xml"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// shells are the POSIX shells the scripts are run with: /bin/sh (dash on
// Debian) and bash.
func shells(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, s := range []string{"/bin/sh", "bash"} {
		if p, err := exec.LookPath(s); err == nil {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		t.Fatal("no POSIX shell found")
	}
	return out
}

// fakeSpecKitty logs its argv and the gate variable, and exits with the
// code in $FAKE_EXIT (default 0). The install scripts only copy and call it.
const fakeSpecKitty = `#!/bin/sh
printf '%s gate=%s\n' "$*" "${SPEC_KITTY_ENABLE_SAAS_SYNC:-}" >> "$FAKE_LOG"
[ -z "${FAKE_STDERR:-}" ] || printf '%s\n' "$FAKE_STDERR" >&2
exit "${FAKE_EXIT:-0}"
`

// world is one test's file system: the snapshotted tree (a home with
// pre-existing content and the install prefix) and, outside it, the
// binaries to install and the fake's log.
type world struct {
	t      *testing.T
	shell  string
	root   string // snapshotted
	home   string
	prefix string
	from   string
	log    string
	env    []string
}

func newWorld(t *testing.T, shell, goos string) *world {
	t.Helper()
	tmp := t.TempDir()
	w := &world{t: t, shell: shell, root: filepath.Join(tmp, "world"), from: filepath.Join(tmp, "from"), log: filepath.Join(tmp, "log")}
	w.home = filepath.Join(w.root, "home")
	w.prefix = filepath.Join(w.root, "opt", "my tools") // a space, and two directories to create
	for _, f := range []struct{ path, data string }{
		{filepath.Join(w.home, ".config", "other.conf"), "keep me\n"},
		{filepath.Join(w.home, ".local", "bin", "other-tool"), "keep me\n"},
		{filepath.Join(w.from, "spec-kitty"), fakeSpecKitty},
		{filepath.Join(w.from, "spec-kitty-tray"), fakeSpecKitty},
	} {
		if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f.path, []byte(f.data), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	w.env = []string{
		"HOME=" + w.home, "PATH=" + os.Getenv("PATH"), "FAKE_LOG=" + w.log,
		"SPEC_KITTY_INSTALL_OS=" + goos, "TMPDIR=" + tmp,
	}
	return w
}

// run runs a script with args; it returns stdout, stderr and the exit code.
func (w *world) run(script string, args ...string) (string, string, int) {
	w.t.Helper()
	cmd := exec.Command(w.shell, append([]string{script}, args...)...)
	cmd.Env = w.env
	cmd.Dir = w.root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

func (w *world) install(args ...string) (string, string, int) {
	w.t.Helper()
	return w.run(filepath.Join(dir(w.t), "install.sh"), append([]string{"--prefix", w.prefix, "--from", w.from}, args...)...)
}

func (w *world) uninstall(args ...string) (string, string, int) {
	w.t.Helper()
	return w.run(filepath.Join(w.prefix, "share", "spec-kitty", "uninstall.sh"), args...)
}

// calls returns the fake spec-kitty's log lines.
func (w *world) calls() []string {
	b, err := os.ReadFile(w.log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// snapshot lists every path under the world with its mode and a content
// hash, so "nothing left behind" and "nothing changed" are exact.
func (w *world) snapshot() map[string]string {
	w.t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(w.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		v := info.Mode().String()
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		m[strings.TrimPrefix(p, w.root)] = v
		return nil
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return m
}

func dir(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestInstallUninstallLeavesNothing: install with every option, check what
// is installed, uninstall, and compare the whole tree with the one before.
func TestInstallUninstallLeavesNothing(t *testing.T) {
	for _, sh := range shells(t) {
		for _, goos := range []string{"Linux", "Darwin"} {
			t.Run(filepath.Base(sh)+"/"+goos, func(t *testing.T) {
				w := newWorld(t, sh, goos)
				before := w.snapshot()

				stdout, stderr, code := w.install("--service", "--tray-autostart")
				if code != 0 {
					t.Fatalf("install exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
				}
				bin := filepath.Join(w.prefix, "bin")
				for _, name := range []string{"spec-kitty", "spec-kitty-tray"} {
					fi, err := os.Stat(filepath.Join(bin, name))
					if err != nil {
						t.Fatal(err)
					}
					if fi.Mode().Perm() != 0o755 || readFile(t, filepath.Join(bin, name)) != fakeSpecKitty {
						t.Errorf("%s: mode %v or content wrong", name, fi.Mode())
					}
				}
				autostart := filepath.Join(w.home, ".config", "autostart", "spec-kitty-tray.desktop")
				wantExec := `Exec="` + bin + `/spec-kitty-tray"`
				if goos == "Darwin" {
					autostart = filepath.Join(w.home, "Library", "LaunchAgents", "spec-kitty-tray.plist")
					wantExec = "<string>" + bin + "/spec-kitty-tray</string>"
				}
				if got := readFile(t, autostart); !strings.Contains(got, wantExec) {
					t.Errorf("%s lacks %s:\n%s", autostart, wantExec, got)
				}
				manifest := readFile(t, filepath.Join(w.prefix, "share", "spec-kitty", "install-manifest"))
				for _, line := range []string{"dir " + filepath.Join(w.root, "opt"), "dir " + w.prefix, "file " + bin + "/spec-kitty", "file " + autostart, "service spec-kitty-sync"} {
					if !strings.Contains(manifest, line+"\n") {
						t.Errorf("manifest lacks %q:\n%s", line, manifest)
					}
				}
				if strings.Contains(manifest, "dir "+w.home+"\n") || strings.Contains(manifest, "other") {
					t.Errorf("manifest claims pre-existing paths:\n%s", manifest)
				}
				if !strings.Contains(stdout, "to undo: sh '"+filepath.Join(w.prefix, "share", "spec-kitty", "uninstall.sh")+"'") {
					t.Errorf("install does not say how to undo it:\n%s", stdout)
				}

				stdout, stderr, code = w.uninstall()
				if code != 0 {
					t.Fatalf("uninstall exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
				}
				if diff := cmp.Diff(before, w.snapshot()); diff != "" {
					t.Errorf("install + uninstall changed the tree (-before +after):\n%s", diff)
				}
				want := []string{"service install gate=", "service uninstall gate=1"}
				if diff := cmp.Diff(want, w.calls()); diff != "" {
					t.Errorf("spec-kitty calls (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestInstallDryRunChangesNothing(t *testing.T) {
	w := newWorld(t, shells(t)[0], "Linux")
	before := w.snapshot()
	stdout, stderr, code := w.install("--service", "--tray-autostart", "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"would create directory " + w.prefix,
		"would install " + filepath.Join(w.prefix, "bin", "spec-kitty"),
		"would write " + filepath.Join(w.home, ".config", "autostart", "spec-kitty-tray.desktop") + ":",
		"would run: " + filepath.Join(w.prefix, "bin", "spec-kitty") + " service install",
		"dry run: nothing was changed",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, stdout)
		}
	}
	if diff := cmp.Diff(before, w.snapshot()); diff != "" {
		t.Errorf("dry run changed the tree (-before +after):\n%s", diff)
	}
	if c := w.calls(); c != nil {
		t.Errorf("dry run ran spec-kitty: %q", c)
	}
}

// A failing `service install` is reported clearly, leaves the binaries and a
// manifest without the service, and uninstall still cleans up.
func TestInstallServiceFailure(t *testing.T) {
	w := newWorld(t, shells(t)[0], "Linux")
	before := w.snapshot()
	w.env = append(w.env, "FAKE_EXIT=3")
	_, stderr, code := w.install("--service")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{
		"install.sh: error: 'spec-kitty service install' failed (exit 3): the binaries are installed, the service is not",
		"install.sh: hint: to undo the install: sh '" + filepath.Join(w.prefix, "share", "spec-kitty", "uninstall.sh") + "'",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	manifest := readFile(t, filepath.Join(w.prefix, "share", "spec-kitty", "install-manifest"))
	if strings.Contains(manifest, "service") {
		t.Errorf("manifest records a service that failed to install:\n%s", manifest)
	}
	if _, stderr, code := w.uninstall(); code != 0 {
		t.Fatalf("uninstall exit %d: %s", code, stderr)
	}
	if diff := cmp.Diff(before, w.snapshot()); diff != "" {
		t.Errorf("tree changed (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"service install gate="}, w.calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

// The hint after a failed `service install` names the real cause: no
// systemd is not the gate's fault.
func TestInstallServiceFailureHint(t *testing.T) {
	tests := []struct {
		name, stderr, want, notWant string
	}{
		{"no systemd", "spec-kitty: error: service manager: no systemd found (service manager detected: unix-systemv); spec-kitty service needs systemd on Linux",
			"install.sh: hint: no systemd found on this machine, so the service cannot be installed here", "needs hosted sync enabled"},
		{"gate off", `spec-kitty: unknown command "service"`,
			"install.sh: hint: the service needs hosted sync enabled (SPEC_KITTY_ENABLE_SAAS_SYNC=1)", "no systemd found on this machine"},
		{"other", "spec-kitty: error: something else",
			"install.sh: hint: fix the error above and run", "needs hosted sync enabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, shells(t)[0], "Linux")
			w.env = append(w.env, "FAKE_EXIT=1", "FAKE_STDERR="+tt.stderr)
			_, stderr, code := w.install("--service")
			if code != 1 {
				t.Fatalf("exit %d, want 1", code)
			}
			if !strings.Contains(stderr, tt.stderr) || !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr lacks %q or %q:\n%s", tt.stderr, tt.want, stderr)
			}
			if strings.Contains(stderr, tt.notWant) {
				t.Errorf("stderr blames %q:\n%s", tt.notWant, stderr)
			}
		})
	}
}

// A failing `service uninstall` removes nothing unless --force.
func TestUninstallServiceFailure(t *testing.T) {
	w := newWorld(t, shells(t)[0], "Linux")
	before := w.snapshot()
	if _, stderr, code := w.install("--service"); code != 0 {
		t.Fatalf("install: %s", stderr)
	}
	installed := w.snapshot()
	w.env = append(w.env, "FAKE_EXIT=1")
	_, stderr, code := w.uninstall()
	if code != 1 || !strings.Contains(stderr, "'spec-kitty service uninstall' failed (exit 1); nothing was removed") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if diff := cmp.Diff(installed, w.snapshot()); diff != "" {
		t.Errorf("failed uninstall removed things (-installed +after):\n%s", diff)
	}
	if _, stderr, code := w.uninstall("--force"); code != 0 {
		t.Fatalf("uninstall --force exit %d: %s", code, stderr)
	}
	if diff := cmp.Diff(before, w.snapshot()); diff != "" {
		t.Errorf("tree changed (-before +after):\n%s", diff)
	}
}

// Installing twice (the second time with more) and uninstalling once leaves
// nothing; the second install keeps the first one's records.
func TestReinstallThenUninstall(t *testing.T) {
	w := newWorld(t, shells(t)[0], "Linux")
	before := w.snapshot()
	if _, stderr, code := w.install(); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := w.install("--tray-autostart"); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := w.uninstall(); code != 0 {
		t.Fatal(stderr)
	}
	if diff := cmp.Diff(before, w.snapshot()); diff != "" {
		t.Errorf("tree changed (-before +after):\n%s", diff)
	}
}

func TestInstallErrors(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		prep     func(w *world)
		wantCode int
		want     string
	}{
		{"unknown option", []string{"--bogus"}, nil, 2, "install.sh: error: unknown option: --bogus"},
		{"missing binary", nil, func(w *world) { os.Remove(filepath.Join(w.from, "spec-kitty")) }, 1, "no spec-kitty binary in "},
		{"tray autostart without tray", []string{"--tray-autostart"}, func(w *world) { os.Remove(filepath.Join(w.from, "spec-kitty-tray")) }, 1, "--tray-autostart given but there is no spec-kitty-tray binary"},
		{"unsupported characters", []string{"--prefix", "/tmp/a$b"}, nil, 2, "contains a character that is not supported"},
		{"unsupported system", nil, func(w *world) { w.env = append(w.env, "SPEC_KITTY_INSTALL_OS=SunOS") }, 1, "unsupported system 'SunOS'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, shells(t)[0], "Linux")
			if tt.prep != nil {
				tt.prep(w)
			}
			before := w.snapshot()
			_, stderr, code := w.install(tt.args...)
			if code != tt.wantCode || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q", code, stderr, tt.wantCode, tt.want)
			}
			if diff := cmp.Diff(before, w.snapshot()); diff != "" {
				t.Errorf("a refused install changed the tree (-before +after):\n%s", diff)
			}
		})
	}
	t.Run("uninstall without manifest", func(t *testing.T) {
		w := newWorld(t, shells(t)[0], "Linux")
		_, stderr, code := w.run(filepath.Join(dir(t), "uninstall.sh"), "--prefix", w.prefix)
		if code != 1 || !strings.Contains(stderr, "no install manifest at "+w.prefix+"/share/spec-kitty/install-manifest") {
			t.Errorf("exit %d, stderr:\n%s", code, stderr)
		}
	})
}

// The packaged autostart entry is what install.sh writes for /usr/bin.
func TestPackagedDesktopEntryMatchesInstallSh(t *testing.T) {
	w := newWorld(t, shells(t)[0], "Linux")
	if _, stderr, code := w.install("--tray-autostart"); code != 0 {
		t.Fatal(stderr)
	}
	got := readFile(t, filepath.Join(w.home, ".config", "autostart", "spec-kitty-tray.desktop"))
	got = strings.ReplaceAll(got, filepath.Join(w.prefix, "bin"), "/usr/bin")
	if diff := cmp.Diff(readFile(t, filepath.Join("packaging", "spec-kitty-tray.desktop")), got); diff != "" {
		t.Errorf("packaging/spec-kitty-tray.desktop differs from install.sh's entry (-packaged +install.sh):\n%s", diff)
	}
}

// The tray's autostart entry records the opt-in and its settings from the
// installing shell, like `spec-kitty service install` does, on both systems.
func TestTrayAutostartRecordsGate(t *testing.T) {
	for _, goos := range []string{"Linux", "Darwin"} {
		t.Run(goos, func(t *testing.T) {
			w := newWorld(t, shells(t)[0], goos)
			home := filepath.Join(w.root, "state")
			w.env = append(w.env, "SPEC_KITTY_ENABLE_SAAS_SYNC=1", "SPEC_KITTY_SAAS_URL=https://sync.example.com", "SPEC_KITTY_HOME="+home)
			if _, stderr, code := w.install("--tray-autostart"); code != 0 {
				t.Fatal(stderr)
			}
			bin := filepath.Join(w.prefix, "bin")
			if goos == "Linux" {
				got := readFile(t, filepath.Join(w.home, ".config", "autostart", "spec-kitty-tray.desktop"))
				want := "Exec=env SPEC_KITTY_ENABLE_SAAS_SYNC=1 SPEC_KITTY_SAAS_URL=https://sync.example.com SPEC_KITTY_HOME=" + home + ` "` + bin + `/spec-kitty-tray"` + "\n"
				if !strings.Contains(got, want) || !strings.Contains(got, "TryExec="+bin+"/spec-kitty-tray\n") {
					t.Errorf("desktop entry lacks %q or TryExec:\n%s", want, got)
				}
				return
			}
			got := readFile(t, filepath.Join(w.home, "Library", "LaunchAgents", "spec-kitty-tray.plist"))
			env := plistEnv(t, got)
			want := map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "SPEC_KITTY_SAAS_URL": "https://sync.example.com", "SPEC_KITTY_HOME": home}
			if diff := cmp.Diff(want, env); diff != "" {
				t.Errorf("plist EnvironmentVariables (-want +got):\n%s\n%s", diff, got)
			}
		})
	}
	t.Run("unrecordable value", func(t *testing.T) {
		w := newWorld(t, shells(t)[0], "Linux")
		w.env = append(w.env, "SPEC_KITTY_HOME=/tmp/a b")
		before := w.snapshot()
		_, stderr, code := w.install("--tray-autostart")
		if code != 2 || !strings.Contains(stderr, "SPEC_KITTY_HOME='/tmp/a b' contains a character that cannot be recorded") {
			t.Errorf("exit %d, stderr:\n%s", code, stderr)
		}
		if diff := cmp.Diff(before, w.snapshot()); diff != "" {
			t.Errorf("a refused install changed the tree:\n%s", diff)
		}
	})
}

// plistEnv parses a LaunchAgent plist (it must be well-formed XML) and
// returns its EnvironmentVariables dict.
func plistEnv(t *testing.T, data string) map[string]string {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(data))
	dec.Strict = true
	var inEnv bool
	depth, envDepth := 0, 0
	var last string
	env := map[string]string{}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("plist is not well-formed XML: %v\n%s", err, data)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			depth++
			if inEnv && tok.Name.Local == "dict" && envDepth == 0 {
				envDepth = depth
			}
		case xml.EndElement:
			if envDepth != 0 && depth == envDepth {
				inEnv, envDepth = false, 0
			}
			depth--
		case xml.CharData:
			s := strings.TrimSpace(string(tok))
			if s == "" {
				continue
			}
			if s == "EnvironmentVariables" {
				inEnv = true
				continue
			}
			if envDepth != 0 {
				if last == "" {
					last = s
				} else {
					env[last] = s
					last = ""
				}
			}
		}
	}
	return env
}

// A macOS tray built without cgo is never installed as the tray.
func TestInstallRefusesStubTray(t *testing.T) {
	stub := "#!/bin/sh\n# stub: built without cgo, no menu bar icon\nexit 1\n"
	t.Run("autostart", func(t *testing.T) {
		w := newWorld(t, shells(t)[0], "Darwin")
		if err := os.WriteFile(filepath.Join(w.from, "spec-kitty-tray"), []byte(stub), 0o755); err != nil {
			t.Fatal(err)
		}
		before := w.snapshot()
		_, stderr, code := w.install("--tray-autostart")
		if code != 1 || !strings.Contains(stderr, "is the stub built without cgo") {
			t.Errorf("exit %d, stderr:\n%s", code, stderr)
		}
		if diff := cmp.Diff(before, w.snapshot()); diff != "" {
			t.Errorf("a refused install changed the tree:\n%s", diff)
		}
	})
	t.Run("plain install", func(t *testing.T) {
		w := newWorld(t, shells(t)[0], "Darwin")
		if err := os.WriteFile(filepath.Join(w.from, "spec-kitty-tray"), []byte(stub), 0o755); err != nil {
			t.Fatal(err)
		}
		stdout, stderr, code := w.install()
		if code != 0 {
			t.Fatal(stderr)
		}
		if !strings.Contains(stdout, "is the stub built without cgo; the tray is not installed") {
			t.Errorf("no note about the stub:\n%s", stdout)
		}
		if _, err := os.Stat(filepath.Join(w.prefix, "bin", "spec-kitty-tray")); err == nil {
			t.Error("the stub tray was installed")
		}
		if _, err := os.Stat(filepath.Join(w.prefix, "bin", "spec-kitty")); err != nil {
			t.Error(err)
		}
	})
	t.Run("linux is not affected", func(t *testing.T) {
		w := newWorld(t, shells(t)[0], "Linux")
		if err := os.WriteFile(filepath.Join(w.from, "spec-kitty-tray"), []byte(stub), 0o755); err != nil {
			t.Fatal(err)
		}
		if _, stderr, code := w.install(); code != 0 {
			t.Fatal(stderr)
		}
		if _, err := os.Stat(filepath.Join(w.prefix, "bin", "spec-kitty-tray")); err != nil {
			t.Error(err)
		}
	})
}

// From a release archive's layout, man pages and completions are installed
// under PREFIX/share and uninstalled with the rest.
func TestInstallManAndCompletions(t *testing.T) {
	w := newWorld(t, shells(t)[0], "Linux")
	for name, data := range map[string]string{
		"man/spec-kitty.1":            ".TH SPEC-KITTY 1\n",
		"man/spec-kitty-config.1":     ".TH SPEC-KITTY-CONFIG 1\n",
		"completions/spec-kitty.bash": "# bash\n",
		"completions/_spec-kitty":     "#compdef spec-kitty\n",
		"completions/spec-kitty.fish": "# fish\n",
		"completions/spec-kitty.ps1":  "# powershell\n",
	} {
		p := filepath.Join(w.from, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before := w.snapshot()
	if _, stderr, code := w.install(); code != 0 {
		t.Fatal(stderr)
	}
	share := filepath.Join(w.prefix, "share")
	for _, p := range []string{"man/man1/spec-kitty.1", "man/man1/spec-kitty-config.1", "bash-completion/completions/spec-kitty", "zsh/site-functions/_spec-kitty", "fish/vendor_completions.d/spec-kitty.fish"} {
		if _, err := os.Stat(filepath.Join(share, p)); err != nil {
			t.Error(err)
		}
	}
	if _, stderr, code := w.uninstall(); code != 0 {
		t.Fatal(stderr)
	}
	if diff := cmp.Diff(before, w.snapshot()); diff != "" {
		t.Errorf("install + uninstall changed the tree (-before +after):\n%s", diff)
	}
}
