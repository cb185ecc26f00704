//go:build linux

package svcmgr

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestRealSystemdUser installs the unit under a real `systemd --user`
// instance and runs it. PID 1 is not systemd on the test machines, and the
// user manager refuses to start unless /run/systemd/system exists, so the
// helper runs in private mount and PID namespaces with a tmpfs on
// /run/systemd, its own /proc, a temp HOME and a private XDG_RUNTIME_DIR.
func TestRealSystemdUser(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("running a private systemd --user instance needs root (CI=true)")
		}
		t.Skip("running a private systemd --user instance needs root")
	}
	if systemdBinary() == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd binary not found (CI=true)")
		}
		t.Skip("systemd binary not found")
	}
	needTool(t, "systemctl")
	runHelper(t, "TestRealSystemdHelper", "real-systemd", syscall.CLONE_NEWNS|syscall.CLONE_NEWPID)
}

func systemdBinary() string {
	for _, p := range []string{"/lib/systemd/systemd", "/usr/lib/systemd/systemd"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// waitFor polls cond until it holds or the deadline passes; it waits for
// processes started by systemd and asserts nothing about speed.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func userctl(t *testing.T, args ...string) string {
	t.Helper()
	out, _ := exec.Command("systemctl", append([]string{"--user"}, args...)...).Output()
	return strings.TrimSpace(string(out))
}

func TestRealSystemdHelper(t *testing.T) {
	isHelper(t, "real-systemd")
	mountPrivate(t, "/run/systemd")
	if err := syscall.Mount("proc", "/proc", "proc", 0, ""); err != nil {
		t.Fatalf("mount /proc: %v", err)
	}
	if err := os.Mkdir("/run/systemd/system", 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	home := filepath.Join(tmp, "home")
	runtimeDir := filepath.Join(tmp, "run")
	for _, d := range []string{home, runtimeDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("HOME", home)
	t.Setenv("XDG_RUNTIME_DIR", runtimeDir)
	unsetenv(t, "XDG_CONFIG_HOME")
	unsetenv(t, "DBUS_SESSION_BUS_ADDRESS")

	logf, err := os.Create(filepath.Join(tmp, "systemd.log"))
	if err != nil {
		t.Fatal(err)
	}
	sd := exec.Command(systemdBinary(), "--user")
	sd.Stdout, sd.Stderr = logf, logf
	if err := sd.Start(); err != nil {
		t.Fatalf("start systemd --user: %v", err)
	}
	t.Cleanup(func() {
		_ = sd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = sd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = sd.Process.Kill()
		}
	})
	waitFor(t, "the systemd --user private socket", 15*time.Second, func() bool {
		return fileExists(filepath.Join(runtimeDir, "systemd", "private"))
	})
	if got := userctl(t, "is-system-running", "--wait"); got != "running" && got != "degraded" {
		log, _ := os.ReadFile(logf.Name())
		t.Fatalf("systemd --user is %q\n%s", got, log)
	}

	chooseSystemd(t)
	daemonDir := filepath.Join(tmp, "daemon")
	if err := os.MkdirAll(daemonDir, 0o755); err != nil {
		t.Fatal(err)
	}
	setMode := func(mode string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(daemonDir, "mode"), []byte(mode), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"env.json", "stopped", "runs"} {
			_ = os.Remove(filepath.Join(daemonDir, f))
		}
	}
	env := map[string]string{
		"SPEC_KITTY_ENABLE_SAAS_SYNC": "1",
		"SPEC_KITTY_HOME":             filepath.Join(home, `state "dir" 100%\x`),
		"SPEC_KITTY_SAAS_URL":         "http://127.0.0.1:9/a%20b?x=$HOME",
		helperEnv:                     "daemon",
		"SVCMGR_DAEMON_DIR":           daemonDir,
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := New(Config{
		Executable: exe, Args: []string{"-test.run=TestRealDaemonHelper"},
		HomeDir: home, UserName: "root", UserID: "0", Env: env,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m := mgr.(*systemdManager)
	status := func(want Status) {
		t.Helper()
		st, err := m.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want.Manager, want.UnitPath = ManagerSystemdUser, m.unitPath
		if diff := cmp.Diff(want, st); diff != "" {
			t.Errorf("status (-want +got):\n%s", diff)
		}
	}
	show := func(prop string) string { return userctl(t, "show", "-p", prop, "--value", unitName) }
	daemonEnv := func() map[string]string {
		b, err := os.ReadFile(filepath.Join(daemonDir, "env.json"))
		if err != nil {
			return nil
		}
		var got map[string]string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		return got
	}

	if _, err := m.Install(ctx); err != nil {
		out, _ := exec.Command("systemctl", "enable", "--user", unitName).CombinedOutput()
		unit, _ := os.ReadFile(m.unitPath)
		t.Fatalf("%v\n%s\n%s", err, out, unit)
	}
	if got := userctl(t, "is-enabled", unitName); got != "enabled" {
		t.Errorf("is-enabled = %q after install", got)
	}
	status(Status{Installed: true, State: StateStopped})

	// Runs with exactly the recorded environment.
	setMode("run")
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the daemon to start", 15*time.Second, func() bool { return daemonEnv() != nil })
	got := daemonEnv()
	delete(got, "pid")
	if diff := cmp.Diff(env, got); diff != "" {
		t.Errorf("daemon environment (-recorded +seen):\n%s", diff)
	}
	status(Status{Installed: true, Running: true, State: StateRunning})

	// Stop sends SIGTERM; exit 0 is a clean stop.
	if err := m.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if !fileExists(filepath.Join(daemonDir, "stopped")) {
		t.Error("the daemon did not see SIGTERM")
	}
	if r := show("Result"); r != "success" {
		t.Errorf("Result after stop = %q", r)
	}
	status(Status{Installed: true, State: StateStopped})

	// Exit 0 on its own (manual policy, gate off) is success: not restarted.
	setMode("exit0")
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the daemon to exit 0", 15*time.Second, func() bool {
		return daemonEnv() != nil && show("ActiveState") != "active" && show("ActiveState") != "activating"
	})
	if s, sub, r := show("ActiveState"), show("SubState"), show("Result"); s != "inactive" || sub != "dead" || r != "success" {
		t.Errorf("after exit 0: %s (%s), result %s; want inactive (dead), success — no restart scheduled", s, sub, r)
	}

	// A failure is restarted after RestartSec.
	setMode("exit1-once")
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the restart after exit 1", 20*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(daemonDir, "runs"))
		return string(b) == "2" && daemonEnv() != nil && show("ActiveState") == "active"
	})
	if n := show("NRestarts"); n != "1" {
		t.Errorf("NRestarts = %s, want 1", n)
	}
	status(Status{Installed: true, Running: true, State: StateRunning})

	if err := m.Uninstall(ctx); err != nil {
		t.Fatal(err)
	}
	if s := show("ActiveState"); s != "inactive" {
		t.Errorf("ActiveState after uninstall = %q", s)
	}
	if got := userctl(t, "is-enabled", unitName); got == "enabled" {
		t.Error("still enabled after uninstall")
	}
	status(Status{State: StateNotInstalled})
}

// TestRealDaemonHelper is the stand-in daemon systemd starts: it records its
// environment and behaves as the mode file says.
func TestRealDaemonHelper(t *testing.T) {
	isHelper(t, "daemon")
	dir := os.Getenv("SVCMGR_DAEMON_DIR")
	mode, _ := os.ReadFile(filepath.Join(dir, "mode"))
	prev, _ := os.ReadFile(filepath.Join(dir, "runs"))
	n, _ := strconv.Atoi(string(prev))
	n++
	if err := os.WriteFile(filepath.Join(dir, "runs"), []byte(strconv.Itoa(n)), 0o644); err != nil {
		os.Exit(2)
	}
	if string(mode) == "exit1-once" && n == 1 {
		os.Exit(1)
	}
	seen := map[string]string{"pid": strconv.Itoa(os.Getpid())}
	for _, k := range []string{"SPEC_KITTY_ENABLE_SAAS_SYNC", "SPEC_KITTY_HOME", "SPEC_KITTY_SAAS_URL", helperEnv, "SVCMGR_DAEMON_DIR"} {
		if v, ok := os.LookupEnv(k); ok {
			seen[k] = v
		}
	}
	b, _ := json.Marshal(seen)
	tmp := filepath.Join(dir, "env.json.tmp")
	if os.WriteFile(tmp, b, 0o644) != nil || os.Rename(tmp, filepath.Join(dir, "env.json")) != nil {
		os.Exit(2)
	}
	if string(mode) == "exit0" {
		os.Exit(0)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	select {
	case <-sig:
		_ = os.WriteFile(filepath.Join(dir, "stopped"), nil, 0o644)
	case <-time.After(2 * time.Minute):
	}
	os.Exit(0)
}
