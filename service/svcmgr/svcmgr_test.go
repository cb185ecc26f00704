package svcmgr

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
)

func TestEnvFromGetenv(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		want map[string]string
	}{
		{"nothing set", map[string]string{}, map[string]string{}},
		{"gate only", map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "yes"}, map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "yes"}},
		{"empty values are left out", map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "SPEC_KITTY_SAAS_URL": "", "SPEC_KITTY_HOME": ""},
			map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "1"}},
		{"all three, relative home made absolute", map[string]string{
			"SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "SPEC_KITTY_SAAS_URL": "https://sync.example.com", "SPEC_KITTY_HOME": "kh", "PATH": "/bin"},
			map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "SPEC_KITTY_SAAS_URL": "https://sync.example.com", "SPEC_KITTY_HOME": filepath.Join(wd, "kh")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EnvFromGetenv(func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	got, err := Config{Executable: "/opt//sk/../sk/spec-kitty", HomeDir: "/home/kit", UserName: "kit", UserID: "1000", Env: gateEnv}.withDefaults("linux")
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Executable: "/opt/sk/spec-kitty", Args: []string{"service", "run"}, HomeDir: "/home/kit", UserName: "kit", UserID: "1000", Env: gateEnv}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	sys, err := Config{System: true, Executable: "/usr/bin/spec-kitty", HomeDir: "/root", UserName: "root", UserID: "0", Env: gateEnv}.withDefaults("linux")
	if err != nil {
		t.Fatal(err)
	}
	if got := sys.Env["SPEC_KITTY_HOME"]; got != "/var/lib/spec-kitty" {
		t.Errorf("system home = %q, want /var/lib/spec-kitty", got)
	}
	if _, ok := gateEnv["SPEC_KITTY_HOME"]; ok {
		t.Error("withDefaults modified the caller's Env map")
	}

	cur, err := Config{Executable: "/x/spec-kitty"}.withDefaults("linux")
	if err != nil {
		t.Fatal(err)
	}
	if cur.HomeDir == "" || cur.UserName == "" || cur.UserID == "" {
		t.Errorf("defaults not filled from the current user: %+v", cur)
	}
}

func TestConfigValidation(t *testing.T) {
	base := Config{Executable: "/usr/bin/spec-kitty", HomeDir: "/home/kit", UserName: "kit", UserID: "1000"}
	tests := []struct {
		name    string
		goos    string
		mod     func(*Config)
		wantErr string
	}{
		{"relative executable", "linux", func(c *Config) { c.Executable = "bin/spec-kitty" }, `service executable "bin/spec-kitty": not an absolute path`},
		{"windows path on linux", "linux", func(c *Config) { c.Executable = `C:\x\spec-kitty.exe` }, "not an absolute path"},
		{"windows path on windows", "windows", func(c *Config) { c.Executable = `C:\x\spec-kitty.exe` }, ""},
		{"UNC path on windows", "windows", func(c *Config) { c.Executable = `\\srv\share\spec-kitty.exe` }, ""},
		{"newline in executable", "linux", func(c *Config) { c.Executable = "/a\nb" }, "contains a control character"},
		{"template action in argument", "linux", func(c *Config) { c.Args = []string{"{{Name}}"} }, `contains "{{"`},
		{"bad variable name", "linux", func(c *Config) { c.Env = map[string]string{"A-B": "1"} }, `invalid variable name "A-B"`},
		{"newline in value", "linux", func(c *Config) { c.Env = map[string]string{"SPEC_KITTY_SAAS_URL": "https://x\n"} }, "service environment SPEC_KITTY_SAAS_URL"},
		{"relative home", "linux", func(c *Config) { c.Env = map[string]string{"SPEC_KITTY_HOME": "kh"} }, `SPEC_KITTY_HOME="kh": not an absolute path`},
		{"spaces and percent are fine", "linux", func(c *Config) {
			c.Env = map[string]string{"SPEC_KITTY_HOME": "/home/kit/my state", "SPEC_KITTY_SAAS_URL": "https://x/%41"}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.mod(&c)
			_, err := c.withDefaults(tt.goos)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// Install and Plan refuse to record a definition whose environment does not
// enable the rollout gate (defence in depth; the CLI checks first).
func TestGateOffRefused(t *testing.T) {
	dir := t.TempDir()
	for _, val := range []string{"", "0", "banana"} {
		cfg := Config{Executable: fakeExe(t, dir), HomeDir: dir, UserName: "kit", UserID: "501",
			Env: map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": val}}
		cfg, err := cfg.withDefaults("darwin")
		if err != nil {
			t.Fatal(err)
		}
		managers := map[string]Manager{
			"launchd": newLaunchd(cfg, &recorder{}),
			"task":    newTask(cfg, &recorder{}, filepath.Join),
		}
		for name, m := range managers {
			if _, err := m.Plan(context.Background()); err == nil || err.Error() != readiness.DisabledMessage() {
				t.Errorf("%s Plan with gate %q: err = %v, want the disabled message", name, val, err)
			}
			if _, err := m.Install(context.Background()); err == nil || err.Error() != readiness.DisabledMessage() {
				t.Errorf("%s Install with gate %q: err = %v, want the disabled message", name, val, err)
			}
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Errorf("gate %q: install wrote files: %v", val, entries)
		}
	}
}

func TestWriteFilesUndo(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "a")
	if err := os.WriteFile(existing, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(dir, "sub", "b")
	undo, err := writeFiles([]File{{Path: existing, Mode: 0o644, Content: "new"}, {Path: fresh, Mode: 0o600, Content: "x"}},
		func(p string, d []byte, m os.FileMode) error { return os.WriteFile(p, d, m) })
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(existing); string(b) != "new" {
		t.Fatalf("existing = %q after write", b)
	}
	undo()
	if b, _ := os.ReadFile(existing); string(b) != "old" {
		t.Errorf("existing = %q after undo, want old", b)
	}
	if fileExists(fresh) {
		t.Error("new file survived undo")
	}

	// A failing write undoes the earlier ones.
	boom := errors.New("disk full")
	n := 0
	_, err = writeFiles([]File{{Path: existing, Content: "new"}, {Path: fresh, Content: "x"}},
		func(p string, d []byte, m os.FileMode) error {
			if n++; n == 2 {
				return boom
			}
			return os.WriteFile(p, d, m)
		})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(existing); string(b) != "old" {
		t.Errorf("existing = %q after failed write, want old", b)
	}
}

// execRunner names the command and carries its stderr in errors.
func TestExecRunner(t *testing.T) {
	sh := needTool(t, "sh")
	out, err := execRunner{}.run(context.Background(), []string{sh, "-c", "echo out"})
	if err != nil || out != "out\n" {
		t.Fatalf("run = %q, %v", out, err)
	}
	_, err = execRunner{}.run(context.Background(), []string{sh, "-c", "echo oops >&2; exit 3"})
	if err == nil || err.Error() != sh+` -c "echo oops >&2; exit 3": exit status 3: oops` {
		t.Errorf("err = %v", err)
	}
	_, err = execRunner{}.run(context.Background(), []string{"spec-kitty-no-such-tool"})
	if !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("missing tool: err = %v, want exec.ErrNotFound", err)
	}
}
