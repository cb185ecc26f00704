//go:build linux

package svcmgr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeSystemctl is put first on PATH: it logs its argv and keeps a little
// state so is-active and list-unit-files answer like systemctl would. A file
// fail-<verb> in its directory makes that verb fail.
const fakeSystemctl = `#!/bin/sh
d="$FAKE_SYSTEMCTL_DIR"
printf '%s\n' "$*" >> "$d/log"
if [ -e "$d/fail-$1" ]; then echo "fake systemctl: $1 failed" >&2; exit 1; fi
case "$1" in
start|restart) echo active > "$d/state" ;;
stop) echo inactive > "$d/state" ;;
enable|daemon-reload) touch "$d/known" ;;
disable) rm -f "$d/known" ;;
is-active)
	s=$(cat "$d/state" 2>/dev/null || echo inactive)
	echo "$s"
	[ "$s" = active ] || exit 3 ;;
list-unit-files)
	if [ -e "$d/known" ]; then printf 'UNIT FILE STATE PRESET\nspec-kitty-sync.service enabled enabled\n\n1 unit files listed.\n'
	else echo "0 unit files listed."; exit 1; fi ;;
esac
exit 0
`

type fakeSystemd struct {
	dir string // FAKE_SYSTEMCTL_DIR
}

// setupFakeSystemd sets HOME, PATH and the detected init (systemd) for one test.
func setupFakeSystemd(t *testing.T, home string) *fakeSystemd {
	t.Helper()
	chooseSystemd(t)
	f := &fakeSystemd{dir: t.TempDir()}
	bin := filepath.Join(f.dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "systemctl"), []byte(fakeSystemctl), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("FAKE_SYSTEMCTL_DIR", f.dir)
	t.Setenv("HOME", home)
	unsetenv(t, "XDG_CONFIG_HOME")
	return f
}

// calls returns and clears the logged systemctl argv.
func (f *fakeSystemd) calls(t *testing.T) []string {
	t.Helper()
	p := filepath.Join(f.dir, "log")
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func (f *fakeSystemd) fail(t *testing.T, verb string, on bool) {
	t.Helper()
	p := filepath.Join(f.dir, "fail-"+verb)
	if on {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	} else if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}

// transcript collects "step / systemctl argv" lines for a golden file.
type transcript struct {
	b    strings.Builder
	f    *fakeSystemd
	repl *strings.Replacer
}

func (tr *transcript) step(t *testing.T, name string, err error) {
	t.Helper()
	fmt.Fprintf(&tr.b, "# %s", name)
	if err != nil {
		fmt.Fprintf(&tr.b, " -> error: %s", tr.repl.Replace(err.Error()))
	}
	tr.b.WriteString("\n")
	for _, c := range tr.f.calls(t) {
		tr.b.WriteString("systemctl " + c + "\n")
	}
}

// verifyUnit runs systemd-analyze verify on a unit file; any stderr output
// fails the test (it exits 0 on some warnings).
func verifyUnit(t *testing.T, path string, user bool) {
	t.Helper()
	sa := needTool(t, "systemd-analyze")
	dir := filepath.Join(t.TempDir(), "verify")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	args := []string{"verify", path}
	if user {
		args = []string{"--user", "verify", path}
	}
	cmd := exec.Command(sa, args...)
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+dir, "SYSTEMD_LOG_COLOR=0")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	err := cmd.Run()
	if err != nil || stderr.Len() > 0 {
		unit, _ := os.ReadFile(path)
		t.Errorf("systemd-analyze %s: %v\n%s\nunit:\n%s", strings.Join(args, " "), err, stderr.Bytes(), unit)
	}
}

// TestSystemdAnalyzeVerify checks every golden unit case, with ExecStart
// pointing at a real file at the same kind of path.
func TestSystemdAnalyzeVerify(t *testing.T) {
	for _, tc := range unitCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := tc.cfg
			cfg.Executable = fakeExe(t, filepath.Join(dir, filepath.Base(filepath.Dir(tc.cfg.Executable))))
			unit, err := SystemdUnit(cfg)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, unitName)
			if err := os.WriteFile(p, []byte(unit), 0o644); err != nil {
				t.Fatal(err)
			}
			verifyUnit(t, p, !cfg.System)
		})
	}
	// The check itself must be able to fail.
	t.Run("detects a broken unit", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), unitName)
		if err := os.WriteFile(p, []byte("[Service]\nExecStart=/bin/true\nEnvironment=A=b c\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(needTool(t, "systemd-analyze"), "verify", p)
		out, _ := cmd.CombinedOutput()
		if !bytes.Contains(out, []byte("Invalid environment assignment")) {
			t.Errorf("systemd-analyze did not flag an unquoted assignment: %s", out)
		}
	})
}

// systemdLifecycle drives install → status → start → restart → stop →
// reinstall → uninstall against the fake systemctl and returns the
// transcript (the goldens were recorded when kardianos drove systemctl: the
// calls are the same).
func systemdLifecycle(t *testing.T, f *fakeSystemd, cfg Config, lingerDir string) string {
	t.Helper()
	ctx := context.Background()
	mgr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := mgr.(*systemdManager)
	m.lingerDir = lingerDir
	tr := &transcript{f: f, repl: strings.NewReplacer(cfg.HomeDir, "$HOME")}

	// A failed render earlier left an empty unit: it is replaced.
	if err := os.MkdirAll(filepath.Dir(m.unitPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(m.unitPath, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	plan, err := m.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tr.step(t, "plan", nil) // no commands run
	wantPlan := Plan{
		Manager:  m.manager(),
		Remove:   []string{m.unitPath},
		Files:    []File{{Path: m.unitPath, Mode: 0o644, Content: renderSystemd(m.cfg)}},
		Commands: [][]string{m.systemctl("enable", true), m.systemctl("daemon-reload", false)},
		Notes:    plan.Notes,
		Warnings: plan.Warnings,
	}
	if diff := cmp.Diff(wantPlan, plan); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	if b, _ := os.ReadFile(m.unitPath); len(b) != 0 {
		t.Error("Plan changed the unit file")
	}

	warnings, err := m.Install(ctx)
	tr.step(t, "install", err)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(plan.Warnings, warnings); diff != "" {
		t.Errorf("install warnings differ from plan warnings (-plan +install):\n%s", diff)
	}
	got, err := os.ReadFile(m.unitPath)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != plan.Files[0].Content {
		t.Errorf("install wrote\n%s\nplan says\n%s", got, plan.Files[0].Content)
	}
	verifyUnit(t, m.unitPath, !cfg.System)

	status := func(name string, want Status) {
		t.Helper()
		st, err := m.Status(ctx)
		tr.step(t, name, err)
		want.Manager, want.UnitPath = m.manager(), m.unitPath
		if diff := cmp.Diff(want, st); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	status("status after install", Status{Installed: true, State: StateStopped})
	tr.step(t, "start", m.Start(ctx))
	status("status after start", Status{Installed: true, Running: true, State: StateRunning})
	tr.step(t, "restart", m.Restart(ctx))
	tr.step(t, "stop", m.Stop(ctx))
	status("status after stop", Status{Installed: true, State: StateStopped})

	if err := os.WriteFile(filepath.Join(f.dir, "state"), []byte("failed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	status("status when failed", Status{Installed: true, State: StateFailed})

	_, err = m.Install(ctx)
	tr.step(t, "install again (replaces)", err)
	if b, _ := os.ReadFile(m.unitPath); string(b) != plan.Files[0].Content {
		t.Errorf("reinstall wrote\n%s", b)
	}

	tr.step(t, "uninstall", m.Uninstall(ctx))
	if fileExists(m.unitPath) {
		t.Error("unit file left after uninstall")
	}
	status("status after uninstall", Status{State: StateNotInstalled})
	for _, op := range []struct {
		name string
		f    func(context.Context) error
	}{{"start", m.Start}, {"stop", m.Stop}, {"restart", m.Restart}, {"uninstall", m.Uninstall}} {
		err := op.f(ctx)
		tr.step(t, op.name+" when not installed", err)
		if !errors.Is(err, ErrNotInstalled) {
			t.Errorf("%s when not installed: err = %v, want ErrNotInstalled", op.name, err)
		}
	}
	return tr.b.String()
}

func TestSystemdUserLifecycle(t *testing.T) {
	tmp := t.TempDir()
	home := filepath.Join(tmp, "home")
	f := setupFakeSystemd(t, home)
	cfg := Config{
		Executable: fakeExe(t, filepath.Join(home, ".local", "bin")),
		HomeDir:    home, UserName: "kit", UserID: "1000",
		Env: map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "SPEC_KITTY_SAAS_URL": "http://127.0.0.1:9/x"},
	}
	got := systemdLifecycle(t, f, cfg, filepath.Join(tmp, "linger"))
	golden(t, "systemd/user-argv.txt", got)
}

func TestSystemdLingerWarning(t *testing.T) {
	tmp := t.TempDir()
	home := filepath.Join(tmp, "home")
	setupFakeSystemd(t, home)
	linger := filepath.Join(tmp, "linger")
	cfg := Config{Executable: fakeExe(t, tmp), HomeDir: home, UserName: "kit", UserID: "1000", Env: gateEnv}
	mgr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := mgr.(*systemdManager)
	m.lingerDir = linger
	want := []string{"lingering is off for kit: the service runs only while you are logged in; to keep it running without a login session, run: loginctl enable-linger kit"}
	w, err := m.Install(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, w); diff != "" {
		t.Errorf("linger off (-want +got):\n%s", diff)
	}
	if err := os.MkdirAll(linger, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(linger, "kit"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if w, err = m.Install(context.Background()); err != nil || len(w) != 0 {
		t.Errorf("linger on: warnings %q, err %v", w, err)
	}
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(tmp, "elsewhere"))
	if w, _ := m.Install(context.Background()); len(w) != 1 || !strings.Contains(w[0], "XDG_CONFIG_HOME is") {
		t.Errorf("XDG_CONFIG_HOME elsewhere: warnings %q", w)
	}
	// The system variant never warns about lingering.
	if w := (&systemdManager{cfg: Config{System: true}, lingerDir: linger + "-none", getenv: os.Getenv}).warnings(); len(w) != 0 {
		t.Errorf("system warnings %q", w)
	}
}

// A failing systemctl leaves no unit behind, and a failing reinstall puts
// the previous unit back.
func TestSystemdInstallFailureCleansUp(t *testing.T) {
	tmp := t.TempDir()
	home := filepath.Join(tmp, "home")
	f := setupFakeSystemd(t, home)
	cfg := Config{Executable: fakeExe(t, tmp), HomeDir: home, UserName: "kit", UserID: "1000", Env: gateEnv}
	mgr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := mgr.(*systemdManager)
	ctx := context.Background()

	f.fail(t, "enable", true)
	_, err = m.Install(ctx)
	if err == nil || !strings.Contains(err.Error(), "systemctl --user failed") {
		t.Fatalf("err = %v, want a systemctl failure with a hint", err)
	}
	if fileExists(m.unitPath) {
		t.Error("failed install left the unit file")
	}

	f.fail(t, "enable", false)
	if _, err := m.Install(ctx); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(m.unitPath)
	f.fail(t, "daemon-reload", true)
	cfg.Env = map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "SPEC_KITTY_SAAS_URL": "http://127.0.0.1:1"}
	mgr2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mgr2.Install(ctx); err == nil {
		t.Fatal("reinstall with failing daemon-reload succeeded")
	}
	if b, _ := os.ReadFile(m.unitPath); !bytes.Equal(b, old) {
		t.Errorf("failed reinstall did not restore the previous unit; now:\n%s", b)
	}

	// A missing executable is refused before anything is written.
	f.fail(t, "daemon-reload", false)
	cfg.Executable = filepath.Join(tmp, "nope", "spec-kitty")
	mgr3, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mgr3.Install(ctx); err == nil || !strings.Contains(err.Error(), "service executable") {
		t.Errorf("missing executable: err = %v", err)
	}
}

// Without systemd, New refuses instead of falling back to SysV init scripts
// (what kardianos picked when PID 1 is not systemd), naming what it found.
func TestSystemdRequired(t *testing.T) {
	pretendInit(t, "unix-systemv")
	_, err := New(Config{Executable: "/usr/bin/spec-kitty", Env: gateEnv})
	if err == nil || !strings.Contains(err.Error(), "no systemd found (service manager detected: unix-systemv)") {
		t.Fatalf("err = %v", err)
	}
}

// TestDetectInit: on this machine detection names an init system, systemd
// exactly when kardianos' test says so.
func TestDetectInit(t *testing.T) {
	found := detectInit()
	if (found == initSystemd) != isSystemd() || found == "" {
		t.Errorf("detectInit() = %q, isSystemd() = %v", found, isSystemd())
	}
	t.Logf("init system: %s", found)
}

// TestSystemdSystemLifecycle runs the system variant in a private mount
// namespace with a tmpfs on /etc/systemd/system, so the real write
// there touches nothing on the machine.
func TestSystemdSystemLifecycle(t *testing.T) {
	runHelper(t, "TestSystemdSystemHelper", "system", syscall.CLONE_NEWNS)
}

func TestSystemdSystemHelper(t *testing.T) {
	isHelper(t, "system")
	mountPrivate(t, systemUnitDir)
	tmp := t.TempDir()
	home := filepath.Join(tmp, "root")
	f := setupFakeSystemd(t, home)
	cfg := Config{Executable: fakeExe(t, filepath.Join(tmp, "usr", "bin")), System: true, HomeDir: home, UserName: "root", UserID: "0", Env: gateEnv}
	got := systemdLifecycle(t, f, cfg, filepath.Join(tmp, "linger"))
	golden(t, "systemd/system-argv.txt", got)
	if entries, _ := os.ReadDir(systemUnitDir); len(entries) != 0 {
		t.Errorf("left in %s: %v", systemUnitDir, entries)
	}
}
