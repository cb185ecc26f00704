package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/rollout"
	"github.com/spec-kitty/spec-kitty-sync/service/svcmgr"
)

// TestHostedCommandsRecheckTheGate: every hosted command, reached directly
// (the tree built while the gate was on, the gate off by the time it runs),
// answers with the disabled message and exit 1 before doing anything else —
// defence in depth behind the tree's own gate (CONTRACTS §2).
func TestHostedCommandsRecheckTheGate(t *testing.T) {
	vars := map[string]string{rollout.EnvVar: "1", "SPEC_KITTY_HOME": t.TempDir() + "/home", "SPEC_KITTY_KEYCHAIN": "off"}
	var stdout, stderr bytes.Buffer
	env := &Env{
		Getenv:     func(k string) string { return vars[k] },
		Stdin:      strings.NewReader(""),
		Stdout:     &stdout,
		Stderr:     &stderr,
		Now:        time.Now,
		Dir:        t.TempDir(),
		UserHome:   func() (string, error) { return t.TempDir(), nil },
		Executable: func() (string, error) { return "/nonexistent/spec-kitty", nil },
	}
	hosted := hostedCommands(env)
	vars[rollout.EnvVar] = "" // the gate closes after the tree was built
	var walk func(c *Command)
	walk = func(c *Command) {
		for _, sub := range c.Commands {
			walk(sub)
		}
		if c.Run == nil {
			return
		}
		t.Run(c.Path(), func(t *testing.T) {
			stdout.Reset()
			stderr.Reset()
			code := ExitOK
			if err := c.Run(context.Background(), nil); err != nil {
				code = report(&stderr, err, "")
			}
			if c.Path() == "spec-kitty service run" {
				// The daemon's own contract: exit 0 at once, one line.
				if code != ExitOK || !strings.Contains(stderr.String(), rollout.ServiceRunLine) {
					t.Errorf("exit %d, stderr %q; want exit 0 saying rollout disabled", code, stderr.String())
				}
				return
			}
			want := "spec-kitty: error: " + readiness.DisabledMessage() + "\n"
			if code != ExitFailure || stderr.String() != want {
				t.Errorf("exit %d, stderr %q; want exit 1 and %q", code, stderr.String(), want)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
		})
	}
	for _, c := range hosted {
		walk(c)
	}
}

// TestServiceMainAppliesEnvFile: the Windows launcher applies the task's env
// file — the recorded gate included — before `service run` checks the gate,
// while `spec-kitty service run --env-file` with the gate off still reads
// nothing and prints only "rollout disabled".
func TestServiceMainAppliesEnvFile(t *testing.T) {
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, "config.toml"), []byte("[sync]\nbackground_daemon = \"manual\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "service.env")
	vars := map[string]string{rollout.EnvVar: "1", "SPEC_KITTY_HOME": home, "SPEC_KITTY_KEYCHAIN": "off"}
	if err := os.WriteFile(file, []byte(svcmgr.FormatEnvFile(vars)), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"service", "run", "--env-file", file}
	run := func(main func(context.Context, []string, *Env) int) (int, string) {
		var stdout, stderr bytes.Buffer
		env := &Env{
			Getenv: func(string) string { return "" }, // the user's environment: gate off
			Stdin:  strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Now: time.Now, Dir: t.TempDir(),
			UserHome:   func() (string, error) { return t.TempDir(), nil },
			Executable: func() (string, error) { return "/nonexistent/spec-kitty", nil },
		}
		return main(context.Background(), args, env), stdout.String() + stderr.String()
	}
	if code, out := run(Main); code != ExitOK || strings.TrimSpace(out) != rollout.ServiceRunLine {
		t.Errorf("spec-kitty service run, gate off: exit %d, output %q; want 0 and only %q", code, out, rollout.ServiceRunLine)
	}
	code, out := run(ServiceMain)
	if code != ExitOK || strings.Contains(out, rollout.ServiceRunLine) {
		t.Errorf("spec-kitty-service: exit %d, output %q; want the recorded gate applied (manual policy: exit 0)", code, out)
	}
	if code, _ := run(func(ctx context.Context, _ []string, env *Env) int { return ServiceMain(ctx, []string{"status"}, env) }); code != ExitUsage {
		t.Errorf("spec-kitty-service status: exit %d, want %d", code, ExitUsage)
	}
}
