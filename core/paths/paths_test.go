package paths

import (
	"os"
	"path/filepath"
	"testing"
)

func TestResolve(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	userHome := func() (string, error) { return "/u/alice", nil }

	h, err := Resolve(getenv, userHome)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join("/u/alice", ".spec-kitty"); h.Dir != want {
		t.Errorf("default home = %q, want %q", h.Dir, want)
	}

	dir := t.TempDir()
	env[HomeEnv] = dir
	h, err = Resolve(getenv, userHome)
	if err != nil {
		t.Fatal(err)
	}
	if h.Dir != dir {
		t.Errorf("home = %q, want %q", h.Dir, dir)
	}
	if h.Config() != filepath.Join(dir, "config.toml") || h.Queue() != filepath.Join(dir, "queue.db") ||
		h.DaemonState() != filepath.Join(dir, "sync-daemon") || h.DaemonLog() != filepath.Join(dir, "logs", "sync-daemon.log") {
		t.Errorf("unexpected file names under %s", dir)
	}
	if _, err := os.Stat(dir + "/config.toml"); !os.IsNotExist(err) {
		t.Errorf("resolve created files")
	}
}

func TestResolveNoHome(t *testing.T) {
	_, err := Resolve(func(string) string { return "" }, func() (string, error) { return "", os.ErrNotExist })
	if err == nil {
		t.Fatal("want an error without any home")
	}
}

func TestEnsureHomeMode(t *testing.T) {
	h := Home{Dir: filepath.Join(t.TempDir(), "h")}
	if err := h.EnsureHome(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(h.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("mode = %v, want 0700", fi.Mode().Perm())
	}
}
