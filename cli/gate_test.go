package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/rollout"
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
				if code != ExitOK || !strings.Contains(stderr.String(), "rollout disabled") {
					t.Errorf("exit %d, stderr %q; want exit 0 saying rollout disabled", code, stderr.String())
				}
				return
			}
			want := "spec-kitty: error: " + rollout.DisabledMessage + "\n"
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
