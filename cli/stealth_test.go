package cli

import (
	"strings"
	"testing"

	"github.com/spec-kitty/spec-kitty-sync/cli/internal/stealthtest"
)

// TestGateOffNamesNoHostedSurface is the wording half of the gate-off proof
// (CONTRACTS §2; the no-network half is noproof_test.go): with the gate off,
// every help text of every command and the output of every local command —
// results, warnings and errors alike — is free of the words that name the
// hosted surface (stealthtest.HostedWords, which documents the list). The
// served dashboard pages and assets are checked in cli/dashboard TestGateOff.
func TestGateOffNamesNoHostedSurface(t *testing.T) {
	repo := t.TempDir()
	writeFiles(t, repo, map[string]string{
		".kittify/config.yaml":              "project:\n  slug: x\n",
		"kitty-specs/m/meta.json":           `{"friendly_name": "M"}`,
		"kitty-specs/m/status.events.jsonl": moveLine("01KN2371WNZX28ME4MN97B67PA", "WP01", "claimed", "2026-01-01T00:00:00Z") + "not json\n",
	})
	var runs [][]string
	// Every help text of the gate-off tree, both ways of asking.
	var walk func(c *Command)
	walk = func(c *Command) {
		words := c.pathWords()[1:]
		runs = append(runs, append([]string{"help"}, words...), append(append([]string{}, words...), "--help"))
		for _, sub := range c.Commands {
			walk(sub)
		}
	}
	walk(NewTree(&Env{Getenv: func(string) string { return "" }}))
	runs = append(runs,
		[]string{}, []string{"version"}, []string{"version", "--json"},
		[]string{"status"}, []string{"status", "--json"}, []string{"status", "--mission", "m"}, []string{"status", "--mission", "m", "--json"},
		[]string{"status", "--mission", "nope"}, []string{"status", "emit", "--mission", "m", "WP01", "--to", "in_progress"},
		[]string{"status", "emit", "--mission", "m", "WP01", "--to", "bogus"},
		[]string{"config", "list"}, []string{"config", "list", "--json"}, []string{"config", "get", "sync.server_url"},
		[]string{"config", "get", "bogus"}, []string{"config", "set", "sync.background_daemon", "banana"},
		[]string{"doctor"}, []string{"doctor", "--json"}, []string{"doctor", "--probe"},
		[]string{"dashboard", "--stop"}, []string{"dashboard", "--port", "-1"},
		[]string{"service", "run"}, []string{"service", "run", "--env-file", "/nonexistent"},
		[]string{"bogus"},
	)
	// The hosted groups must look like any unknown command; the name the
	// user typed is echoed, nothing else.
	typed := []string{"tracker", "sync", "auth", "service"}
	for _, g := range typed {
		runs = append(runs, []string{g}, []string{g, "status"}, []string{"help", g})
	}
	// A configuration with a warning and one with an error: their messages
	// are shown with the gate off too.
	warnHome, badHome := t.TempDir(), t.TempDir()
	writeFiles(t, warnHome, map[string]string{"config.toml": "[sync]\nbackground_daemon = \"banana\"\n"})
	writeFiles(t, badHome, map[string]string{"config.toml": "[sync]\nmax_queue_size = 0\n"})
	homes := map[string]string{"": "", "warn-config ": warnHome, "bad-config ": badHome}
	for _, args := range [][]string{{"doctor"}, {"config", "list"}, {"status"}, {"status", "emit", "--mission", "m", "WP02", "--to", "claimed"}} {
		for _, h := range []string{"warn-config ", "bad-config "} {
			runs = append(runs, append([]string{h}, args...))
		}
	}
	for _, args := range runs {
		name := strings.Join(args, " ")
		vars := map[string]string{}
		if len(args) > 0 {
			if h, ok := homes[args[0]]; ok && h != "" {
				vars["SPEC_KITTY_HOME"] = h
				args = args[1:]
			}
		}
		t.Run(name, func(t *testing.T) {
			stdout, stderr, _ := runStatus(t, repo, vars, args...)
			out := stdout + stderr
			if len(args) > 0 {
				for _, g := range typed {
					if args[0] == g || len(args) > 1 && args[0] == "help" && args[1] == g {
						out = strings.ReplaceAll(out, `"`+g+`"`, `"X"`)
						out = strings.ReplaceAll(out, `"`+g+` status"`, `"X"`)
					}
				}
			}
			if words := stealthtest.Find(out); words != nil {
				t.Errorf("spec-kitty %s names the hosted surface with the gate off: %q\n%s", name, words, out)
			}
		})
	}
}
